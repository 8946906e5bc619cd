"""The typer application: registers one verb per module, nothing heavy at import time."""

from __future__ import annotations

import typer
from rich.console import Console

from craftvision import __version__

err_console = Console(stderr=True)

app = typer.Typer(
    name="craftvision",
    help=(
        "Tell genuine Kashmiri handicrafts (Pashmina, Kani, Sozni) from machine imitations.\n\n"
        "Start with `craftvision inspect samples/fibre` to run the shipped fibre model, "
        "`craftvision models` to list shipped models, and `craftvision synth` / "
        "`craftvision train` to retrain on your own photos."
    ),
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode="markdown",
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"craftvision {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version and exit."
    ),
) -> None:
    """craftvision command line."""


def _register() -> None:
    from craftvision.cli import inspect_cmd, models_cmd, synth_cmd, train_cmd

    app.command("inspect")(inspect_cmd.inspect)
    app.command("synth")(synth_cmd.synth)
    app.command("train")(train_cmd.train)
    app.command("models")(models_cmd.models)
    _register_research()
    _register_certify()
    _register_measure()


def _register_research() -> None:
    from craftvision.cli import evaluate_cmd, explain_cmd, export_cmd

    app.command("evaluate")(evaluate_cmd.evaluate)
    app.command("export")(export_cmd.export)
    app.command("explain")(explain_cmd.explain)


def _register_certify() -> None:
    from craftvision.cli import (
        certify_cmd,
        keys_cmd,
        label_cmd,
        register_cmd,
        report_cmd,
        verify_cmd,
    )

    app.add_typer(label_cmd.app, name="label")
    app.add_typer(keys_cmd.app, name="keys")
    app.command("certify")(certify_cmd.certify)
    app.command("verify")(verify_cmd.verify)
    app.command("report")(report_cmd.report)
    app.add_typer(register_cmd.app, name="register")


def _register_measure() -> None:
    from craftvision.cli import calibrate_cmd, measure_cmd

    app.command("calibrate")(calibrate_cmd.calibrate)
    app.command("measure")(measure_cmd.measure)


_register()
