"""The scale options of the verbs that measure (`measure`, `inspect`): a calibration profile,
or the scale given directly.

Example:
    >>> def verb(um_per_px: float | None = um_per_px_option()) -> None: ...
"""

from __future__ import annotations

from typing import Any

import typer

PER_MODALITY = (
    "X for every photo, or MODALITY=X for one modality's (repeat for each: a product's fibres "
    "are photographed under a microscope, its weave and embroidery with a camera)."
)


def um_per_px_option(*, per_modality: bool = False) -> Any:
    """``--um-per-px X``: the scale given directly, µm per pixel (``per_modality``: repeatable
    ``[MODALITY=]X`` text, for verbs that see several modalities at once)."""
    about = "The scale given directly, µm per pixel"
    if per_modality:
        return typer.Option(None, "--um-per-px", help=f"{about}: {PER_MODALITY}")
    return typer.Option(None, "--um-per-px", min=1e-6, help=f"{about}.")


def px_per_mm_option(*, per_modality: bool = False) -> Any:
    """``--px-per-mm X``: the scale given directly, pixels per mm (``per_modality``: as for
    :func:`um_per_px_option`)."""
    about = "The scale given directly, pixels per mm"
    if per_modality:
        return typer.Option(None, "--px-per-mm", help=f"{about}: {PER_MODALITY}")
    return typer.Option(None, "--px-per-mm", min=1e-6, help=f"{about}.")
