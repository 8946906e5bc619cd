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


def _scale_option(flag: str, unit: str, per_modality: bool) -> Any:
    about = f"The scale given directly, {unit}"
    if per_modality:
        return typer.Option(None, flag, help=f"{about}: {PER_MODALITY}")
    return typer.Option(None, flag, min=1e-6, help=f"{about}.")


def um_per_px_option(*, per_modality: bool = False) -> Any:
    """``--um-per-px X``: the scale given directly, µm per pixel (``per_modality``: repeatable
    ``[MODALITY=]X`` text, for verbs that see several modalities at once)."""
    return _scale_option("--um-per-px", "µm per pixel", per_modality)


def px_per_mm_option(*, per_modality: bool = False) -> Any:
    """``--px-per-mm X``: the scale given directly, pixels per mm (``per_modality``: as for
    :func:`um_per_px_option`)."""
    return _scale_option("--px-per-mm", "pixels per mm", per_modality)
