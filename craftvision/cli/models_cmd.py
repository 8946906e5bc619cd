"""``craftvision models``: list the shipped reference bundles."""

from __future__ import annotations

import json

import typer
from rich.console import Console

from craftvision.cli.table import folding_table


def models(as_json: bool = typer.Option(False, "--json", help="Print JSON Lines.")) -> None:
    """List shipped models with modality, classes, size and test metrics.

    Columns: MB is the bundle's size; views, the views each photo is scored in (8: the
    dihedral flips and turns of test-time augmentation); bal. acc., the balanced accuracy on
    the held-out test split.

    Example: `craftvision models`
    """
    from craftvision.models import available_models, read_metadata

    rows = []
    for name, path in available_models().items():
        meta = read_metadata(path)
        rows.append(
            {
                "name": name,
                "modality": meta.modality,
                "classes": list(meta.classes),
                "genuine_class": meta.genuine_class,
                "size_mb": round(path.stat().st_size / 1e6, 2),
                "test_balanced_accuracy": meta.metrics.get("balanced_accuracy"),
                "architecture": meta.architecture,
                "test_time_augmentation": meta.test_time_augmentation,
                "weights_precision": meta.weights_precision,
                "path": str(path),
            }
        )
    if as_json:
        typer.echo("\n".join(json.dumps(row) for row in rows))
        return
    columns = (
        "name",
        "modality",
        "classes (genuine first)",
        "MB",
        "weights",
        "views",
        "bal. acc.",
    )
    table = folding_table(columns, right={"MB", "views", "bal. acc."})
    for row in rows:
        classes = [row["genuine_class"]] + [c for c in row["classes"] if c != row["genuine_class"]]
        accuracy = row["test_balanced_accuracy"]
        table.add_row(
            row["name"],
            row["modality"],
            "\n".join(classes),
            f"{row['size_mb']:.1f}",
            row["weights_precision"],
            "8" if row["test_time_augmentation"] == "dihedral" else "1",
            "n/a" if accuracy is None else f"{100 * accuracy:.2f} %",
        )
    Console().print(table)
