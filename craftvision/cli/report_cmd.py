"""``craftvision report``: a self-contained HTML (and PDF) report of an inspection record."""

from __future__ import annotations

import json
from pathlib import Path

import typer


def report(
    record: Path = typer.Argument(..., help="The inspection record (JSON)."),
    out: Path | None = typer.Option(
        None, "--out", "-o", help="HTML file (default: the record's name with .html)."
    ),
    images: Path | None = typer.Option(
        None, "--images", help="The sample folder: inline the photos whose hashes match."
    ),
    heatmaps: Path | None = typer.Option(
        None,
        "--heatmaps",
        help="Heatmaps named after the photos, as `craftvision inspect --explain DIR` writes.",
    ),
    public_key: Path | None = typer.Option(
        None, "--public-key", "-k", help="Show whether the record is signed by this key."
    ),
    pdf: bool = typer.Option(
        False, "--pdf", help="Also print a PDF (needs chromium or weasyprint)."
    ),
    qr_template: str | None = typer.Option(
        None,
        "--qr-template",
        help="QR payload from {record_id} and {sha256}, e.g. a lab's verification URL.",
    ),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object."),
) -> None:
    """Write an HTML report of a record: verdict, reasons, photos, heatmaps, measurements,
    models, verification, and a QR code of the record id and hash.

    Example: `craftvision report record.json --images samples/product -k lab01.pub.pem --pdf`
    """
    from craftvision.certify.report import QR_TEMPLATE, write_report

    files = write_report(
        record,
        out or record.with_suffix(".html"),
        images=images,
        heatmaps=heatmaps,
        public_key=public_key,
        pdf=pdf,
        qr_template=qr_template or QR_TEMPLATE,
    )
    if as_json:
        typer.echo(json.dumps(files.to_dict()))
        return
    typer.echo(f"report: {files.html}")
    if files.pdf:
        typer.echo(f"pdf:    {files.pdf}")
    for note in files.notes:
        typer.echo(f"note: {note}")
