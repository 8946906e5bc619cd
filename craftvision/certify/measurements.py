"""The calibration an inspection record is measured with.

Measuring is :func:`craftvision.sample.inspect_sample`'s job (given a calibration it measures
every photo, and the sample verdict's reasons cite the figures), so that ``certify`` and
``inspect --sample`` agree. This module loads the profile before anything is inspected, and
states in the record which profile it was; without one, the record says that measurements in
real units were not taken instead of guessing (DESIGN.md §3).

Example:
    >>> record_calibration(None)[1]["calibrated"]
    False
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from craftvision.certify.record import sha256_file

if TYPE_CHECKING:
    from craftvision.measure import Scales


def record_calibration(
    calibration: str | os.PathLike | Iterable[str | os.PathLike] | None,
) -> tuple[Scales | None, dict[str, Any]]:
    """The loaded profiles (None without one) and the record's ``measurements`` header.

    ``calibration`` is a profile file or ``[MODALITY=]FILE`` items (a product's fibres are
    photographed under a microscope, its weave and embroidery with a camera): the header's
    ``calibration`` names the profile for every modality not named, and
    ``modality_calibrations`` the others'. A missing or invalid profile raises
    :class:`craftvision.measure.calibration.CalibrationError` naming the file.
    """
    items = (
        []
        if calibration is None
        else [calibration]
        if isinstance(calibration, str | os.PathLike)
        else list(calibration)
    )
    if not items:
        return None, {
            "calibrated": False,
            "note": "no calibration given: measurements in real units need --calibration FILE",
        }
    from craftvision.measure import Scales
    from craftvision.measure.calibration import for_modality

    scales = Scales.parse(items)
    header: dict[str, Any] = {"calibrated": True}
    for item in items:
        modality, path = for_modality("--calibration", item)
        scale = scales.default if modality is None else scales.by_modality[modality]
        entry = {
            "file": Path(path).name,
            "sha256": sha256_file(path),
            "um_per_px": scale.um_per_px,
            "source": scale.source,
        }
        if modality is None:
            header["calibration"] = entry
        else:
            header.setdefault("modality_calibrations", {})[modality] = entry
    return scales, header


__all__ = ["record_calibration"]
