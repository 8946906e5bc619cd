"""``craftvision evaluate``: measure a bundle or checkpoint on labelled images, with a report."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.console import Console

from craftvision.cli.console import err_console
from craftvision.cli.options import device_option
from craftvision.cli.table import folding_table

_DEVICE = device_option()


def evaluate(
    model: str = typer.Option(
        ...,
        "--model",
        "-m",
        help="A shipped model name (see `craftvision models`), a .onnx bundle, or a .ckpt "
        "checkpoint (needs the train extra).",
    ),
    data: str = typer.Option(
        ...,
        "--data",
        "-d",
        help="Labelled images: `DIR/<class>/*.png`, a folder with manifest.csv, or a CSV.",
    ),
    out: Path = typer.Option(
        Path("runs/evaluate"), "--out", "-o", help="Report folder (report.json, PNGs, index.html)."
    ),
    split: str = typer.Option(
        "all",
        help="`all` images, or the training run's held-out `test` split (same seed and "
        "fractions as the run).",
    ),
    threshold: float | None = typer.Option(
        None, min=0.5, max=1.0, help="Abstain threshold (default: the model's own)."
    ),
    batch_size: int = typer.Option(32, min=1, help="Images per inference batch."),
    device: str = _DEVICE,
    as_json: bool = typer.Option(False, "--json", help="Print the report as one JSON object."),
) -> None:
    """Evaluate a model on labelled images and write a report (JSON, PNG plots, HTML page).

    Accuracy, balanced accuracy, per-class precision/recall/F1, ROC and PR curves of genuine vs
    imitation, calibration (ECE and a reliability diagram), the abstain rate and the accuracy of
    the verdicts given, per-sample results and a contact sheet of the worst mistakes.

    Example: `craftvision evaluate --model runs/fibre/model.onnx --data data/fibre --split test`
    """
    from craftvision.suggest import unknown_choice
    from craftvision.training.evaluate import SPLITS
    from craftvision.training.evaluate import evaluate as run_evaluation
    from craftvision.training.report import headline

    if split not in SPLITS:
        raise typer.BadParameter(unknown_choice("split", split, SPLITS), param_hint="--split")
    evaluation = run_evaluation(
        model,
        data,
        split=split,
        out=out,
        threshold=threshold,
        device=device,
        batch_size=batch_size,
    )
    if as_json:
        typer.echo(json.dumps(evaluation.to_dict()))
        return
    for warning in evaluation.warnings:
        err_console.print(f"[yellow]warning:[/] {warning}", highlight=False)
    if evaluation.unreadable:
        err_console.print(f"{len(evaluation.unreadable)} unreadable image(s) left out")
    table = folding_table(
        ("figure", "value"), right={"value"}, title=f"{model} on {data} ({split})"
    )
    for name, value in headline(evaluation):
        table.add_row(name, value)
    console = Console()
    console.print(table)
    console.print(f"report: {evaluation.files['html']}", highlight=False)
