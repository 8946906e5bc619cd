"""The console that verbs print messages, warnings and progress bars to (stderr).

Its own module, so that importing the command line does not import rich: ``craftvision inspect``
piped into a script prints plain lines and starts without it.

Example:
    >>> from craftvision.cli.console import err_console
    >>> err_console.stderr
    True
"""

from __future__ import annotations

import sys

from rich.console import Console

# Into a log or a pipe, a message stays on one line for grep, not folded at 80 columns.
err_console = Console(stderr=True, soft_wrap=not sys.stderr.isatty())
