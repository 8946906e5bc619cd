"""``craftvision label read``: decode the QR code on a photographed GI label."""

from __future__ import annotations

import json

import typer

app = typer.Typer(
    help="GI labels: read the QR code on a label photo.\n\n"
    "Example: `craftvision label read label.jpg --json`",
    no_args_is_help=True,
)

ID_PARAM_HELP = "URL query parameter holding the label id (default: id, label, uid, code, …)."
ID_PATTERN_HELP = "Regular expression for the label id (its group 'id', else its first group)."


@app.command("read")
def read(
    photo: str = typer.Argument(..., help="Photo of the GI label (PNG, JPEG, TIFF, BMP)."),
    id_param: str | None = typer.Option(None, "--id-param", help=ID_PARAM_HELP),
    id_pattern: str | None = typer.Option(None, "--id-pattern", help=ID_PATTERN_HELP),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object."),
) -> None:
    """Find and decode the QR code on a label photo and print the label id.

    Example: `craftvision label read label.jpg`

    Example: `craftvision label read label.jpg --id-pattern "GI-(\\d+)" --json`
    """
    from craftvision.certify.label import LabelIdRule, read_label

    label = read_label(photo, rule=LabelIdRule(pattern=id_pattern, param=id_param))
    if as_json:
        typer.echo(json.dumps({"photo": photo, **label.to_dict()}))
        return
    typer.echo(f"label id: {label.label_id}")
    typer.echo(f"payload:  {label.payload}")
