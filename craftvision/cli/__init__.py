"""The ``craftvision`` command line: thin verbs over the Python API.

Example:
    $ craftvision inspect samples/fibre --model fibre
    $ craftvision synth fibre --n 200 --out data/fibre --seed 1
    $ craftvision train --data data/fibre --modality fibre --out runs/fibre
"""

from __future__ import annotations

import sys

from craftvision.cli.app import app, app_for
from craftvision.errors import CraftvisionError


def main() -> None:
    """Console-script entry point: library errors become one red line and exit code 2."""
    try:
        app_for(sys.argv[1:])()
    except CraftvisionError as err:
        from craftvision.cli.app import err_console

        err_console.print(f"[bold red]error:[/] {err}", highlight=False)
        sys.exit(2)


__all__ = ["app", "main"]
