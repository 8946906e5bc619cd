"""Helpful messages for wrong names and paths: suggest the nearest valid value.

Example:
    >>> did_you_mean("fiber", ["fibre", "weave", "stitch"])
    " Did you mean 'fibre'?"
"""

from __future__ import annotations

import difflib
import os
from collections.abc import Iterable
from pathlib import Path


def did_you_mean(value: str, choices: Iterable[str]) -> str:
    """A ``" Did you mean 'x'?"`` suffix, or ``""`` when nothing is close."""
    close = difflib.get_close_matches(value, list(choices), n=1, cutoff=0.5)
    return f" Did you mean {close[0]!r}?" if close else ""


def unknown_choice(kind: str, value: str, choices: Iterable[str]) -> str:
    """Full message for an unknown value, listing the valid ones."""
    options = sorted(choices)
    return (
        f"unknown {kind} {value!r}.{did_you_mean(value, options)} Choose from: {', '.join(options)}"
    )


def nearest_path(path: str | os.PathLike) -> str:
    """A ``" Did you mean 'x'?"`` suffix naming the closest entry of ``path``'s folder, or ``""``.

    Example:
        >>> nearest_path("/no/such/folder")
        ''
    """
    target = Path(path)
    if not target.parent.is_dir():
        return ""
    names = [p.name for p in target.parent.iterdir() if not p.name.startswith(".")]
    close = difflib.get_close_matches(target.name, names, n=1, cutoff=0.5)
    return f" Did you mean {str(target.parent / close[0])!r}?" if close else ""
