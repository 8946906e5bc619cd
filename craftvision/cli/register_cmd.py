"""``craftvision register``: list, show and check the inspection register."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.console import Console
from rich.markup import escape

from craftvision.cli.console import err_console
from craftvision.cli.options import check_output_file
from craftvision.cli.table import folding_table

if TYPE_CHECKING:
    from craftvision.certify.register import Register

app = typer.Typer(
    help="The inspection register: every certified record, in a tamper-evident hash chain.\n\n"
    "Example: `craftvision register list --label JK-PSH-2024-000123`",
    no_args_is_help=True,
)

DB_HELP = "Register file (default: $CRAFTVISION_REGISTER or the platform data folder)."


# --register, as `certify` names it; --db as well, as it was first named.
_REGISTER = typer.Option(None, "--register", "--db", help=DB_HELP)


def _open(db: Path | None) -> Register:
    """The register to read: a missing file is refused, never created."""
    from craftvision.certify.register import Register

    return Register(db, create=False)


@app.command("list")
def list_records(
    label: str | None = typer.Option(None, "--label", help="Only this label id's records."),
    since: str | None = typer.Option(
        None, "--since", help="Only records inspected at or after this date (YYYY-MM-DD, UTC)."
    ),
    db: Path | None = _REGISTER,
    as_json: bool = typer.Option(False, "--json", help="Print JSON Lines, one row per record."),
) -> None:
    """List registered records, oldest first.

    Example: `craftvision register list --label JK-PSH-2024-000123 --since 2025-01-01`
    """
    with _open(db) as book:
        entries = book.list(label=label, since=since)
    if as_json:
        for entry in entries:
            typer.echo(json.dumps(entry.to_dict()))
        return
    table = folding_table(
        ("#", "record id", "label", "verdict", "inspected (UTC)", "lab", "operator")
    )
    for e in entries:
        table.add_row(str(e.seq), e.record_id, e.label_id, e.verdict, e.created, e.lab, e.operator)
    Console().print(table)
    err_console.print(f"{len(entries)} record(s)", style="dim")


@app.command("show")
def show(
    record_id: str = typer.Argument(..., help="A record id (a unique prefix is enough)."),
    db: Path | None = _REGISTER,
    out: Path | None = typer.Option(None, "--out", "-o", help="Also write the record file here."),
    as_json: bool = typer.Option(False, "--json", help="Print the record file's JSON."),
) -> None:
    """Show one registered record.

    Example: `craftvision register show 3f2a9c1e --out record.json`
    """
    check_output_file(out, "--out")
    with _open(db) as book:
        entry, record = book.show(record_id)
    if out is not None:
        record.save(out)
    if as_json:
        typer.echo(record.to_bytes().decode("utf-8"), nl=False)
        return
    err_console.print(
        f"row {entry.seq}, appended {entry.appended} (UTC), row hash {entry.row_hash}",
        highlight=False,
    )
    sys.stdout.write(json.dumps(record.data, indent=2, ensure_ascii=False, sort_keys=True) + "\n")


@app.command("check")
def check(
    public_key: list[Path] = typer.Option(
        [], "--public-key", "-k", help="A trusted lab key; every record must be signed by one."
    ),
    db: Path | None = _REGISTER,
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object."),
) -> None:
    """Check the whole register: the hash chain, every record's hash and every signature.
    Exit code 0 only if everything holds, 1 otherwise.

    Example: `craftvision register check --public-key keys/lab01.pub.pem`
    """
    from craftvision.certify.keys import load_public_key

    keys = [load_public_key(path) for path in public_key]
    with _open(db) as book:
        result = book.check(public_keys=keys or None)
    if as_json:
        typer.echo(json.dumps(result.to_dict()))
    else:
        console = Console(highlight=False)
        for problem in result.problems:
            console.print(f"[bold red]✘[/] {escape(problem)}")
        if result.ok:
            console.print(
                f"[bold green]{escape(result.path)}: {result.rows} record(s), chain and "
                f"signatures valid[/]; head hash {result.head}"
            )
        else:
            console.print(
                f"[bold red]{escape(result.path)}: {len(result.problems)} problem(s) in "
                f"{result.rows} record(s)[/]"
            )
    if not result.ok:
        raise typer.Exit(1)
