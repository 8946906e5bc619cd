"""The files of an evaluation report: ``report.json``, ``predictions.csv``, PNG plots and a
one-page, self-contained ``index.html`` (plots inlined as base64), all written atomically.

Example:
    >>> files = write_report(evaluation, "out", root=Path("data"), spec=spec)  # doctest: +SKIP
    >>> sorted(files)  # doctest: +SKIP
    ['confusion_matrix', 'html', 'json', 'predictions', 'reliability', 'roc_pr', 'worst_mistakes']
"""

from __future__ import annotations

import base64
import csv
import html
import io
import json
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from craftvision import __version__
from craftvision.atomic import atomic_write_text
from craftvision.preprocess import PreprocessSpec
from craftvision.training.plots import plot_confusion_matrix
from craftvision.training.report_plots import plot_contact_sheet, plot_reliability, plot_roc_pr

if TYPE_CHECKING:
    from craftvision.training.evaluate import Evaluation

FILES = {
    "json": "report.json",
    "predictions": "predictions.csv",
    "confusion_matrix": "confusion_matrix.png",
    "roc_pr": "roc_pr.png",
    "reliability": "reliability.png",
    "worst_mistakes": "worst_mistakes.png",
    "html": "index.html",
}
PLOTS = ("confusion_matrix", "roc_pr", "reliability", "worst_mistakes")
SAMPLE_ROWS = 20


def _percent(value: float | None) -> str:
    return "n/a" if value is None else f"{100 * value:.2f} %"


def _number(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.4f}"


def headline(evaluation: Evaluation) -> list[tuple[str, str]]:
    """The report's key figures as (name, formatted value), for the HTML page and the CLI."""
    metrics, abstention, samples = evaluation.metrics, evaluation.abstention, evaluation.samples
    pr = evaluation.curves["pr"]
    return [
        ("images", f"{metrics['n']:,}"),
        ("accuracy", _percent(metrics["accuracy"])),
        ("balanced accuracy", _percent(metrics["balanced_accuracy"])),
        ("ROC-AUC (genuine vs imitation)", _number(metrics["roc_auc"])),
        ("average precision (genuine)", _number(pr and pr["average_precision"])),
        ("expected calibration error", _number(evaluation.calibration["ece"])),
        (f"abstain rate at threshold {abstention['threshold']:.2f}", _percent(abstention["rate"])),
        ("verdict accuracy when not abstaining", _percent(abstention["verdict_accuracy"])),
        ("class accuracy when not abstaining", _percent(abstention["class_accuracy"])),
        ("out-of-distribution images", str(abstention["out_of_distribution"])),
        ("samples", str(samples["n"])),
        ("sample verdict accuracy when not abstaining", _percent(samples["verdict_accuracy"])),
    ]


def _table(header: list[str], rows: list[list[Any]]) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(str(cell))}</td>" for cell in row) + "</tr>"
        for row in rows
    )
    return f"<table><tr>{head}</tr>{body}</table>"


def _html(evaluation: Evaluation, images: dict[str, bytes]) -> str:
    per_class = [
        [name, f"{s['precision']:.3f}", f"{s['recall']:.3f}", f"{s['f1']:.3f}", s["support"]]
        for name, s in evaluation.metrics["per_class"].items()
    ]
    samples = [
        [
            s["sample_id"],
            s["label"],
            s["images"],
            _percent(s["image_accuracy"]),
            f"{s['verdict']} {'✓' if s['verdict_correct'] else '✗'}",
        ]
        for s in evaluation.samples["per_sample"][:SAMPLE_ROWS]
    ]
    figures = "".join(
        f'<figure><img alt="{name}" src="data:image/png;base64,'
        f'{base64.b64encode(images[name]).decode()}"></figure>'
        for name in PLOTS
    )
    warnings = "".join(f"<p class=warn>⚠ {html.escape(w)}</p>" for w in evaluation.warnings)
    unreadable = len(evaluation.unreadable)
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<title>craftvision evaluation: {html.escape(evaluation.model)}</title>
<style>
body {{ font: 14px/1.4 system-ui, sans-serif; margin: 1.5em auto; max-width: 1100px; }}
table {{ border-collapse: collapse; margin: 0.5em 1.5em 1em 0; display: inline-table;
  vertical-align: top; }}
td, th {{ border: 1px solid #ccc; padding: 2px 8px; text-align: left; }}
figure {{ display: inline-block; margin: 0.3em; }} img {{ max-width: 100%; }}
.warn {{ color: #a15c00; }} .meta {{ color: #555; }}
</style></head><body>
<h1>Evaluation of <code>{html.escape(evaluation.model)}</code></h1>
<p class=meta>data <code>{html.escape(evaluation.data)}</code> · split {evaluation.split} ·
classes {", ".join(map(html.escape, evaluation.classes))} (genuine:
<b>{html.escape(evaluation.genuine_class)}</b>) · temperature {evaluation.temperature:.3f} ·
{unreadable} unreadable image(s) · craftvision {__version__} ·
{datetime.now(UTC).isoformat(timespec="seconds")}</p>
{warnings}
{_table(["figure", "value"], [list(row) for row in headline(evaluation)])}
{_table(["class", "precision", "recall", "F1", "support"], per_class)}
{figures}
<h2>Samples, worst first</h2>
{_table(["sample", "label", "images", "image accuracy", "sample verdict"], samples)}
<p class=meta>Full figures in report.json; every image's prediction in predictions.csv.</p>
</body></html>
"""


def write_report(
    evaluation: Evaluation, out: str | os.PathLike, *, root: Path, spec: PreprocessSpec
) -> dict[str, str]:
    """Write every report file into ``out``; returns their paths by kind (see ``FILES``).

    ``root`` is the dataset folder the image paths are relative to; ``spec`` letterboxes the
    worst mistakes as the model saw them.
    """
    folder = Path(out)
    files = {kind: str(folder / name) for kind, name in FILES.items()}
    plot_confusion_matrix(
        evaluation.metrics["confusion_matrix"],
        evaluation.classes,
        files["confusion_matrix"],
        title=f"confusion matrix ({evaluation.split})",
    )
    plot_roc_pr(
        evaluation.curves["roc"],
        evaluation.curves["pr"],
        files["roc_pr"],
        positive=evaluation.genuine_class,
    )
    plot_reliability(evaluation.calibration, files["reliability"])
    mistakes = evaluation.worst_mistakes
    plot_contact_sheet(
        [spec.read(root / m["path"]) for m in mistakes],
        [
            f"{Path(m['path']).name}\n{m['label']} → {m['predicted']} ({m['confidence']:.2f})"
            for m in mistakes
        ],
        files["worst_mistakes"],
        title="worst mistakes: true → predicted (confidence)",
    )
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(evaluation.images[0]))
    writer.writeheader()
    writer.writerows(evaluation.images)
    atomic_write_text(files["predictions"], buffer.getvalue())
    document = {**evaluation.to_dict(), "files": files}
    atomic_write_text(files["json"], json.dumps(document, indent=2))
    images = {name: Path(files[name]).read_bytes() for name in PLOTS}
    atomic_write_text(files["html"], _html(evaluation, images))
    return files
