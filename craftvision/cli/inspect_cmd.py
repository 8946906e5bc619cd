"""``craftvision inspect``: run a bundle over files, folders and globs."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from craftvision.cli.app import err_console
from craftvision.types import InspectionError, Prediction

VERDICT_STYLE = {"genuine": "bold green", "imitation": "bold red", "inconclusive": "yellow"}


def _expand(paths: list[str]) -> tuple[list[Path], list[InspectionError]]:
    from craftvision.errors import ImageReadError
    from craftvision.imageio import iter_image_files

    files: list[Path] = []
    missing: list[InspectionError] = []
    for path in paths:
        try:
            files.extend(iter_image_files([path]))
        except ImageReadError as err:
            missing.append(InspectionError(path=path, error=str(err)))
    return files, missing


def _table(results: list[Prediction | InspectionError]) -> Table:
    table = Table(show_lines=False, header_style="bold")
    for column in ("file", "class", "verdict", "confidence", "p(genuine)"):
        table.add_column(column, justify="right" if column[0] in "cp" else "left")
    for result in results:
        name = Path(result.path).name if result.path else "-"
        if isinstance(result, InspectionError):
            table.add_row(name, "-", "[bold magenta]error[/]", "-", result.error.split(": ", 1)[-1])
            continue
        style = VERDICT_STYLE[result.verdict.value]
        table.add_row(
            name,
            result.label,
            f"[{style}]{result.verdict.value}[/]",
            f"{result.confidence:.3f}",
            f"{result.genuine_probability:.3f}",
        )
    return table


def inspect(
    paths: list[str] = typer.Argument(
        ..., help="Image files, folders (searched recursively) or globs."
    ),
    model: str = typer.Option(
        "fibre",
        "--model",
        "-m",
        help="A shipped model name (see `craftvision models`) or a .onnx bundle.",
    ),
    as_json: bool = typer.Option(
        False, "--json", help="Print JSON Lines (one object per image) instead of a table."
    ),
    out: Path | None = typer.Option(
        None, "--out", "-o", help="Also write the results as JSON Lines to this file."
    ),
    threshold: float | None = typer.Option(
        None, min=0.5, max=1.0, help="Abstain threshold (default: the bundle's own)."
    ),
    batch_size: int = typer.Option(32, min=1, help="Images per inference batch."),
    device: str = typer.Option("auto", help="auto, cpu or cuda."),
) -> None:
    """Inspect images: class, verdict (genuine / imitation / inconclusive), calibrated confidence.

    Bad files are reported as error records and the rest are still inspected; the exit code is 1
    if any file failed.

    Example: `craftvision inspect samples/fibre --out results.jsonl`
    """
    from craftvision.atomic import atomic_write_text
    from craftvision.inspector import Inspector

    inspector = Inspector(model, threshold=threshold, device=device, batch_size=batch_size)
    files, results = _expand(paths)
    interrupted = False
    try:
        if len(files) > batch_size:
            from rich.progress import track

            stream = track(
                inspector.predict_iter(files, on_error="record"),
                total=len(files),
                description="inspecting",
                console=err_console,
                transient=True,
            )
        else:
            stream = inspector.predict_iter(files, on_error="record")
        results.extend(stream)
    except KeyboardInterrupt:
        interrupted = True
    lines = [json.dumps(r.to_dict()) for r in results]
    if as_json:
        sys.stdout.write("".join(line + "\n" for line in lines))
    else:
        Console().print(_table(results))
    if out is not None:
        atomic_write_text(out, "".join(line + "\n" for line in lines))
    failures = sum(isinstance(r, InspectionError) for r in results)
    if interrupted:
        err_console.print(f"interrupted: {len(results)} of {len(files)} image(s) finished")
        raise typer.Exit(130)
    if failures:
        err_console.print(
            f"[bold red]{failures} of {len(results)} input(s) could not be inspected[/]"
        )
        raise typer.Exit(1)
