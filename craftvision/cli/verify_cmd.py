"""``craftvision verify``: check an inspection record's signature and its photos' hashes."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.console import Console
from rich.markup import escape


def verify(
    record: Path = typer.Argument(..., help="The inspection record (JSON)."),
    public_key: Path = typer.Option(
        ..., "--public-key", "-k", help="The lab's public key (PREFIX.pub.pem)."
    ),
    images: Path | None = typer.Option(
        None, "--images", help="The sample folder: check every photo's SHA-256 too."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object."),
) -> None:
    """Verify a record: canonical form, Ed25519 signature by the given key and, with --images,
    every photo's SHA-256. Exit code 0 only if everything holds, 1 otherwise.

    Example: `craftvision verify record.json --public-key lab01.pub.pem --images samples/product`
    """
    from craftvision.certify.record import verify as verify_record

    result = verify_record(record, public_key=public_key, images=images)
    if as_json:
        typer.echo(json.dumps(result.to_dict()))
    else:
        console = Console(highlight=False)
        for check in result.checks:
            mark = "[green]✔[/]" if check.ok else "[bold red]✘[/]"
            console.print(f"{mark} {escape(check.name)}: {escape(check.detail)}")
        if result.ok:
            console.print(f"[bold green]{escape(str(record))}: verified[/]")
        else:
            failed = ", ".join(check.name for check in result.failures)
            console.print(
                f"[bold red]{escape(str(record))}: FAILED verification ({escape(failed)})[/]"
            )
    if not result.ok:
        raise typer.Exit(1)
