"""``craftvision synth``: render a labelled dataset with the procedural renderers."""

from __future__ import annotations

from pathlib import Path

import typer

from craftvision.cli.console import err_console


def _flag(option: str) -> str:
    """The command-line flag of a renderer option: ``um_per_px`` is ``--um-per-px``."""
    return f"--{option.replace('_', '-')}"


def synth(
    modality: str = typer.Argument(..., help="Which renderer: fibre, weave or stitch."),
    n: int = typer.Option(..., "--n", min=1, help="Number of images."),
    out: Path = typer.Option(..., "--out", "-o", help="Output folder (images + manifest.csv)."),
    seed: int = typer.Option(0, help="Random seed; the same seed gives the same images."),
    um_per_px: float | None = typer.Option(
        None,
        "--um-per-px",
        min=0.05,
        max=5.0,
        help="Fibre: microscope scale in µm per pixel (default: drawn per sample from 0.25–1.0).",
    ),
    px_per_mm: float | None = typer.Option(
        None,
        "--px-per-mm",
        min=1.0,
        max=500.0,
        help="Weave/stitch: camera scale in pixels per mm (default: drawn per sample from 5–50).",
    ),
    size: int = typer.Option(256, min=32, max=4096, help="Side of full-field images in pixels."),
    workers: int | None = typer.Option(None, min=1, help="Processes (default: all cores)."),
) -> None:
    """Render N labelled images and a manifest.csv with ground truth.

    Example: `craftvision synth fibre --n 2000 --out data/fibre --seed 1`

    Example: `craftvision synth weave --n 600 --out data/weave --px-per-mm 20`
    """
    from rich.progress import Progress

    from craftvision.datasets.synth import RENDERERS, render_dataset
    from craftvision.suggest import did_you_mean, unknown_choice

    if modality not in RENDERERS:
        raise typer.BadParameter(
            unknown_choice("modality", modality, RENDERERS), param_hint="MODALITY"
        )
    scale = {"um_per_px": um_per_px, "px_per_mm": px_per_mm}
    options = {"size": size, **{k: v for k, v in scale.items() if v is not None}}
    valid = [_flag(name) for name in RENDERERS[modality].options]
    for flag in map(_flag, options):
        if flag not in valid:
            raise typer.BadParameter(
                f"the {modality} renderer does not take it.{did_you_mean(flag, valid)} "
                f"It takes: {', '.join(valid)}",
                param_hint=flag,
            )
    with Progress(console=err_console, transient=True) as progress:
        task = progress.add_task(f"rendering {modality}", total=n)
        manifest = render_dataset(
            modality,
            n,
            out,
            seed,
            workers=workers,
            progress=lambda k: progress.advance(task, k),
            **options,
        )
    err_console.print(f"wrote {n} {modality} images and {manifest}")
