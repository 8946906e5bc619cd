"""The console that verbs print messages, warnings and progress bars to (stderr).

Its own module, so that importing the command line does not import rich: ``craftvision inspect``
piped into a script prints plain lines and starts without it.

Example:
    >>> from craftvision.cli.console import err_console
    >>> err_console.stderr
    True
"""

from __future__ import annotations

from rich.console import Console

err_console = Console(stderr=True)
