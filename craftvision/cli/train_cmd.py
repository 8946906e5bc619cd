"""``craftvision train``: train a classifier and export a bundle (needs ``craftvision[train]``)."""

from __future__ import annotations

from pathlib import Path

import typer

from craftvision.cli.console import err_console
from craftvision.cli.options import device_option

_DEVICE = device_option(default=None)


def train(
    data: str | None = typer.Option(
        None, help="Dataset: `DIR/<class>/*.png`, a folder with manifest.csv, or a CSV."
    ),
    modality: str | None = typer.Option(None, help="fibre, weave or stitch (default fibre)."),
    out: str | None = typer.Option(None, help="Run folder (default runs/train)."),
    model: str | None = typer.Option(
        None, help="Any timm model name (default craftnet_s, a small fast CNN)."
    ),
    epochs: int | None = typer.Option(
        None, min=1, help="Maximum epochs (default 20; early stopping)."
    ),
    image_size: int | None = typer.Option(
        None, min=16, help="Model input side in pixels (default 128)."
    ),
    train_crop: int | None = typer.Option(
        None,
        min=16,
        help="Train on random windows of this side cut from the input (default: whole input).",
    ),
    batch_size: int | None = typer.Option(None, min=1, help="Batch size (default 64)."),
    lr: float | None = typer.Option(None, help="Peak learning rate (default 3e-3, one-cycle)."),
    genuine_class: str | None = typer.Option(
        None, help="Which class is genuine (default: the modality's)."
    ),
    seed: int | None = typer.Option(None, help="Random seed (default 0)."),
    patience: int | None = typer.Option(
        None, min=1, help="Early-stopping patience in epochs (default 5)."
    ),
    workers: int | None = typer.Option(None, min=0, help="Data-loading processes."),
    device: str | None = _DEVICE,
    pretrained: str | None = typer.Option(
        None, help="Local weights file (state dict or safetensors)."
    ),
    threshold: float | None = typer.Option(
        None, min=0.5, max=1.0, help="Abstain threshold stored in the bundle."
    ),
    tta: str | None = typer.Option(
        None,
        "--tta",
        help="Test-time augmentation built into the bundle: none, or dihedral (average the 8 "
        "rotations and mirror images of each photo; 8x the inference cost). Default none.",
    ),
    tensorboard: bool = typer.Option(
        False, "--tensorboard", help="Also log to RUN/tensorboard (needs tensorboard)."
    ),
    config: Path | None = typer.Option(
        None, "--config", "-c", help="YAML recipe; options given here override it."
    ),
    resume: Path | None = typer.Option(
        None,
        "--resume",
        help="Continue the interrupted run in this folder from its last.ckpt, with its own "
        "config.yaml (only --workers and --device may change).",
    ),
) -> None:
    """Train a classifier on your images and export a calibrated ONNX bundle.

    Writes RUN/best.ckpt, RUN/last.ckpt, RUN/history.csv, RUN/learning_curves.png,
    RUN/metrics.json, RUN/confusion_matrix.png, RUN/config.yaml, RUN/provenance.json,
    RUN/model.onnx and its model card RUN/model.md.

    Example: `craftvision train --data data/fibre --modality fibre --out runs/fibre --epochs 10`

    Recipe: `craftvision train --config recipes/fibre.yaml`; after a crash or Ctrl-C:
    `craftvision train --resume runs/reference/fibre`. On N processes or GPUs:
    `torchrun --nproc_per_node N -m craftvision train --config recipes/fibre.yaml`.
    """
    try:
        from craftvision.training.trainer import RESUMABLE, TrainConfig
        from craftvision.training.trainer import train as run_training
    except ImportError as err:
        err_console.print(
            f"[bold red]error:[/] training needs the train extra ({err.name} is missing): "
            "pip install 'craftvision\\[train]'"
        )
        raise typer.Exit(2) from err
    options = {
        "data": data,
        "modality": modality,
        "out": out,
        "model": model,
        "epochs": epochs,
        "image_size": image_size,
        "train_crop": train_crop,
        "batch_size": batch_size,
        "lr": lr,
        "genuine_class": genuine_class,
        "seed": seed,
        "patience": patience,
        "workers": workers,
        "device": device,
        "pretrained": pretrained,
        "threshold": threshold,
        "test_time_augmentation": tta,
        "tensorboard": tensorboard or None,
    }
    if resume is not None:
        extra = sorted(k for k, v in options.items() if v is not None and k not in RESUMABLE)
        if config is not None or extra:
            raise typer.BadParameter(
                f"a resumed run keeps its own settings; drop {', '.join(extra) or '--config'}",
                param_hint="--resume",
            )
        recipe = resume / "config.yaml"
        if not recipe.is_file():
            raise typer.BadParameter(f"{resume} is not a run folder (no config.yaml)")
        settings = TrainConfig.from_yaml(recipe, **options)
    elif config is not None:
        settings = TrainConfig.from_yaml(config, **options)
    else:
        settings = TrainConfig(**{k: v for k, v in options.items() if v is not None})
    if settings.data is None and settings.synth is None:
        raise typer.BadParameter(
            "give --data DIR (or a --config recipe with a synth: section)", param_hint="--data"
        )
    run_training(settings, resume=resume is not None)
