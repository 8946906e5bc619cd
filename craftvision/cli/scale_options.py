"""The scale options of the verbs that measure (`measure`, `inspect`): a calibration profile,
or the scale given directly.

Example:
    >>> def verb(um_per_px: float | None = um_per_px_option()) -> None: ...
"""

from __future__ import annotations

from typing import Any

import typer


def um_per_px_option() -> Any:
    """``--um-per-px X``: the scale given directly, µm per pixel."""
    return typer.Option(
        None, "--um-per-px", min=1e-6, help="The scale given directly, µm per pixel."
    )


def px_per_mm_option() -> Any:
    """``--px-per-mm X``: the scale given directly, pixels per mm."""
    return typer.Option(
        None, "--px-per-mm", min=1e-6, help="The scale given directly, pixels per mm."
    )
