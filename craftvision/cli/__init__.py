"""The ``craftvision`` command line: thin verbs over the Python API.

Example:
    $ craftvision inspect samples/fibre --model fibre
    $ craftvision synth fibre --n 200 --out data/fibre --seed 1
    $ craftvision train --data data/fibre --modality fibre --out runs/fibre
"""

from __future__ import annotations

import gc
import sys
from typing import Any

from craftvision.cli.application import app_for, full_app
from craftvision.errors import CraftvisionError


def main() -> None:
    """Console-script entry point: library errors become one red line and exit code 2.

    Whatever the outcome, the heap is frozen on the way out (``gc.freeze``): the interpreter's
    shutdown then skips its garbage-collection passes over every imported module's objects,
    about 50 ms of a one-image ``inspect`` on two cores (``bench/cold_start.py``).
    """
    try:
        app_for(sys.argv[1:])()
    except CraftvisionError as err:
        from rich.markup import escape

        from craftvision.cli.console import err_console

        err_console.print(f"[bold red]error:[/] {escape(str(err))}", highlight=False)
        sys.exit(2)
    finally:
        gc.freeze()


def __getattr__(name: str) -> Any:
    """``craftvision.cli.app`` (the typer app with every verb) is built on first use."""
    if name == "app":
        return full_app()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["app", "main"]
