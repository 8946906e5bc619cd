"""The typer application: registers one verb per module, nothing heavy at import time."""

from __future__ import annotations

import functools
import importlib
from collections.abc import Iterable, Sequence

import typer

from craftvision import __version__

HELP = (
    "Tell genuine Kashmiri handicrafts (Pashmina, Kani, Sozni) from machine imitations.\n\n"
    "Start with `craftvision inspect samples/fibre` to run the shipped fibre model, "
    "`craftvision models` to list shipped models, and `craftvision synth` / "
    "`craftvision train` to retrain on your own photos."
)

# Every verb: its module in craftvision.cli and the attribute there (a typer.Typer attribute is
# a group of sub-commands, anything else one command). Modules import nothing heavy.
VERBS: dict[str, tuple[str, str]] = {
    "inspect": ("inspect_cmd", "inspect"),
    "synth": ("synth_cmd", "synth"),
    "train": ("train_cmd", "train"),
    "models": ("models_cmd", "models"),
    "evaluate": ("evaluate_cmd", "evaluate"),
    "export": ("export_cmd", "export"),
    "explain": ("explain_cmd", "explain"),
    "label": ("label_cmd", "app"),
    "keys": ("keys_cmd", "app"),
    "certify": ("certify_cmd", "certify"),
    "verify": ("verify_cmd", "verify"),
    "report": ("report_cmd", "report"),
    "register": ("register_cmd", "app"),
    "calibrate": ("calibrate_cmd", "calibrate"),
    "measure": ("measure_cmd", "measure"),
}


def _version(value: bool) -> None:
    if value:
        typer.echo(f"craftvision {__version__}")
        raise typer.Exit()


def _root(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version and exit."
    ),
) -> None:
    """craftvision command line."""


def make_app(verbs: Iterable[str] = VERBS) -> typer.Typer:
    """The command line with ``verbs`` (default all of them).

    Typer builds every registered command's options on each call, so the console script
    registers only the verb it runs: a fast start for `craftvision inspect one.jpg`.

    Example:
        >>> [command.name for command in make_app(["inspect"]).registered_commands]
        ['inspect']
    """
    application = typer.Typer(
        name="craftvision",
        help=HELP,
        no_args_is_help=True,
        suggest_commands=False,  # click itself suggests the nearest verb
        pretty_exceptions_enable=False,
        rich_markup_mode="markdown",
        context_settings={"help_option_names": ["-h", "--help"]},
    )
    application.callback()(_root)
    for name in verbs:
        module, attribute = VERBS[name]
        target = getattr(importlib.import_module(f"craftvision.cli.{module}"), attribute)
        if isinstance(target, typer.Typer):
            application.add_typer(target, name=name)
        else:
            application.command(name)(target)
    return application


def app_for(argv: Sequence[str]) -> typer.Typer:
    """The smallest app that runs ``argv``: its verb alone, or all verbs for help and typos."""
    verb = next((arg for arg in argv if not arg.startswith("-")), None)
    return make_app([verb]) if verb in VERBS else full_app()


@functools.cache
def full_app() -> typer.Typer:
    """The command line with every verb, built once on first use."""
    return make_app()
