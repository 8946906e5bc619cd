"""Helpful messages for wrong names: suggest the nearest valid value.

Example:
    >>> did_you_mean("fiber", ["fibre", "weave", "stitch"])
    " Did you mean 'fibre'?"
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable


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
