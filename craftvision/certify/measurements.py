"""The measurements an inspection record carries: the one place certification calls
:mod:`craftvision.measure`.

Without a calibration the record says so instead of guessing units (DESIGN.md §3). With one,
``craftvision.measure.measure_sample(photos_by_modality, calibration=FILE)`` must return a
JSON-ready dict; fibre diameters listed under a key ending in ``diameters_um`` become the
report's histogram.

Example:
    >>> sample_measurements({"fibre": []}, None)["calibrated"]
    False
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from craftvision.errors import ConfigError


def sample_measurements(
    photos: Mapping[str, Sequence[Path]], calibration: str | os.PathLike | None
) -> dict[str, Any]:
    """Measure every photo of a sample, by modality, with the calibration profile.

    Returns ``{"calibrated": False, "note": ...}`` without a calibration.
    """
    if calibration is None:
        return {
            "calibrated": False,
            "note": "no calibration given: measurements in real units need --calibration FILE",
        }
    try:
        from craftvision.measure import measure_sample
    except ImportError as err:
        raise ConfigError(
            f"{calibration}: measurements need craftvision.measure.measure_sample, which this "
            "installation lacks; certify without --calibration"
        ) from err
    return {"calibrated": True, **measure_sample(dict(photos), calibration=calibration)}


__all__ = ["sample_measurements"]
