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
from pathlib import Path
from typing import TYPE_CHECKING, Any

from craftvision.certify.record import sha256_file

if TYPE_CHECKING:
    from craftvision.measure import Calibration


def record_calibration(
    calibration: str | os.PathLike | None,
) -> tuple[Calibration | None, dict[str, Any]]:
    """The loaded profile (None without one) and the record's ``measurements`` header.

    A missing or invalid profile raises :class:`craftvision.measure.calibration.CalibrationError`
    naming the file.
    """
    if calibration is None:
        return None, {
            "calibrated": False,
            "note": "no calibration given: measurements in real units need --calibration FILE",
        }
    from craftvision.measure import load_calibration

    scale = load_calibration(calibration)
    header = {
        "calibrated": True,
        "calibration": {
            "file": Path(calibration).name,
            "sha256": sha256_file(calibration),
            "um_per_px": scale.um_per_px,
            "source": scale.source,
        },
    }
    return scale, header


__all__ = ["record_calibration"]
