"""A progress bar on stderr for verbs that work through many photos.

Its own module, free of rich until a bar is shown, so that a short run starts without it.

Example:
    >>> from craftvision.cli.progress import progress
    >>> with progress(3, "measuring", shown=False) as advance:
    ...     advance()
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable, Iterator


@contextlib.contextmanager
def progress(total: int, label: str, *, shown: bool = True) -> Iterator[Callable[[], None]]:
    """Yield ``advance()`` for a bar over ``total`` items, gone when done (nothing is shown,
    and rich is not imported, unless ``shown`` and stderr is a terminal: a log or a pipe would
    keep the bar's last line)."""
    if not shown or not sys.stderr.isatty():
        yield lambda: None
        return
    from rich.progress import Progress

    from craftvision.cli.console import err_console

    with Progress(console=err_console, transient=True) as bar:
        task = bar.add_task(label, total=total)
        yield lambda: bar.advance(task)
