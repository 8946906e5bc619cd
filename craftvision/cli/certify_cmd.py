"""``craftvision certify``: inspect one product, sign the inspection record, register it."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.console import Console
from rich.markup import escape

from craftvision.cli.label_cmd import ID_PARAM_HELP, ID_PATTERN_HELP

VERDICT_STYLE = {"genuine": "bold green", "imitation": "bold red", "inconclusive": "yellow"}


def _models(pairs: list[str]) -> dict[str, str]:
    """``["fibre=lab.onnx"]`` → ``{"fibre": "lab.onnx"}``."""
    from craftvision.errors import ConfigError
    from craftvision.suggest import unknown_choice
    from craftvision.types import MODALITIES

    chosen = {}
    for pair in pairs:
        modality, sep, model = pair.partition("=")
        if not sep or not model:
            raise ConfigError(f"--model {pair!r}: write MODALITY=BUNDLE, e.g. fibre=lab.onnx")
        if modality not in MODALITIES:
            raise ConfigError(
                f"--model {pair!r}: " + unknown_choice("modality", modality, MODALITIES)
            )
        chosen[modality] = model
    return chosen


def certify(
    sample_dir: Path = typer.Argument(
        ..., help="The product's photo folder (photos under fibre/, weave/, stitch/)."
    ),
    label: str = typer.Option(
        ..., "--label", "-l", help="Photo of the product's GI label (its QR is decoded), or its id."
    ),
    lab: str = typer.Option(..., "--lab", help="The certifying lab's id."),
    operator: str = typer.Option(..., "--operator", help="Who ran the inspection."),
    key: Path = typer.Option(..., "--key", "-k", help="The lab's private key (PREFIX.pem)."),
    calibration: list[str] = typer.Option(
        [],
        "--calibration",
        help="Calibration profile: adds measurements in real units. FILE for every photo, or "
        "MODALITY=FILE for one modality's (repeat for each: fibres are photographed under a "
        "microscope, weave and embroidery with a camera).",
    ),
    out: Path | None = typer.Option(
        None,
        "--out",
        "-o",
        help="Record file (default: record-RECORD_ID.json in the current folder).",
    ),
    register: Path | None = typer.Option(
        None,
        "--register",
        help="Register to append to (default: $CRAFTVISION_REGISTER or the platform data folder).",
    ),
    no_register: bool = typer.Option(False, "--no-register", help="Do not append to a register."),
    report: Path | None = typer.Option(None, "--report", help="Also write an HTML report here."),
    pdf: bool = typer.Option(False, "--pdf", help="With --report, also print it to PDF."),
    model: list[str] = typer.Option(
        [], "--model", "-m", help="MODALITY=BUNDLE to use instead of the shipped model (repeat)."
    ),
    threshold: float | None = typer.Option(
        None, min=0.5, max=1.0, help="Abstain threshold (default: each bundle's own)."
    ),
    id_param: str | None = typer.Option(None, "--id-param", help=ID_PARAM_HELP),
    id_pattern: str | None = typer.Option(None, "--id-pattern", help=ID_PATTERN_HELP),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON summary object."),
) -> None:
    """Inspect every photo of one product and write its signed inspection record.

    The record binds the label id to the photos' SHA-256, the models' SHA-256, every result
    and the sample verdict, signed with the lab's Ed25519 key, and is appended to the
    inspection register.

    Example: `craftvision certify samples/product --label label.jpg --lab LAB-01
    --operator "A. Bhat" --key keys/lab01.pem --out record.json --report record.html`
    """
    from craftvision.certify.keys import load_private_key
    from craftvision.certify.label import LabelIdRule
    from craftvision.certify.record import certify as certify_sample

    rule = LabelIdRule(pattern=id_pattern, param=id_param)
    private = load_private_key(key)
    book = None
    if not no_register:
        from craftvision.certify.register import Register

        book = Register(register)
    record = certify_sample(
        sample_dir,
        label=label,
        lab=lab,
        operator=operator,
        key=private,
        models=_models(model),
        threshold=threshold,
        calibration=calibration,
        label_rule=rule,
    )
    path = record.save(out or Path(f"record-{record.record_id}.json"))
    summary = {
        "record": str(path),
        "record_id": record.record_id,
        "label_id": record.label_id,
        "verdict": record.verdict,
        "reasons": record.data["sample"]["reasons"],
        "sha256": record.sha256,
        "register": None,
        "report": None,
    }
    if book is not None:
        entry = book.append(record)
        summary["register"] = {"path": str(book.path), "seq": entry.seq, "row_hash": entry.row_hash}
    if report is not None:
        from craftvision.certify.report import write_report

        files = write_report(
            record, report, images=sample_dir, public_key=private.public_key(), pdf=pdf
        )
        summary["report"] = files.to_dict()
    if as_json:
        typer.echo(json.dumps(summary))
        return
    console = Console(highlight=False)
    style = VERDICT_STYLE.get(record.verdict, "bold")
    console.print(f"label {escape(record.label_id)}: [{style}]{record.verdict}[/]")
    for reason in summary["reasons"]:
        console.print(f"  • {escape(reason)}")
    console.print(f"record {record.record_id} written to {escape(str(path))}")
    if summary["register"]:
        console.print(f"registered as row {summary['register']['seq']} of {escape(str(book.path))}")
    if summary["report"]:
        console.print(f"report: {escape(summary['report']['html'])}")
        for note in summary["report"]["notes"]:
            console.print(f"  note: {escape(note)}", style="dim")
        if summary["report"]["pdf"]:
            console.print(f"pdf: {escape(summary['report']['pdf'])}")
