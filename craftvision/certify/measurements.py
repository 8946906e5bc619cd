"""The measurements an inspection record carries: the one place certification calls
:mod:`craftvision.measure`.

Without a calibration the record says so instead of guessing units (DESIGN.md §3). With one,
the record holds the profile's name, SHA-256 and scale, and what
:func:`craftvision.measure.measure_sample` reports for each modality (fibre diameters listed
under ``diameters_um`` become the report's histogram).

Example:
    >>> sample_measurements({"fibre": []}, None)["calibrated"]
    False
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from craftvision.certify.record import sha256_file


def sample_measurements(
    photos: Mapping[str, Sequence[Path]], calibration: str | os.PathLike | None
) -> dict[str, Any]:
    """Measure every photo of a sample, by modality, with the calibration profile file.

    Returns ``{"calibrated": False, "note": ...}`` without a calibration. A missing or invalid
    profile raises :class:`craftvision.measure.calibration.CalibrationError` naming the file.
    """
    if calibration is None:
        return {
            "calibrated": False,
            "note": "no calibration given: measurements in real units need --calibration FILE",
        }
    from craftvision.measure import load_calibration, measure_sample

    scale = load_calibration(calibration)
    return {
        "calibrated": True,
        "calibration": {
            "file": Path(calibration).name,
            "sha256": sha256_file(calibration),
            "um_per_px": scale.um_per_px,
            "source": scale.source,
        },
        **measure_sample(dict(photos), scale),
    }


__all__ = ["sample_measurements"]
