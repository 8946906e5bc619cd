"""Calibrated measurements and grades: fibre fineness, weave density, stitch regularity.

Torch-free (OpenCV and numpy). Every measurement takes a :class:`Calibration` (µm per pixel,
from a stage micrometer photo or given directly); without one, results in real units are
withheld with a note on how to calibrate, and only scale-free ratios are given.

Example:
    >>> from craftvision.measure import Calibration
    >>> Calibration.from_um_per_px(0.5).px_per_mm
    2000.0
"""

from __future__ import annotations

from craftvision.measure.batch import (
    iter_measure_paths,
    measure_paths,
    measure_sample,
    summarise,
)
from craftvision.measure.calibration import (
    HOW_TO_CALIBRATE,
    Calibration,
    Scales,
    calibrate_micrometer,
    check_scale,
    load_calibration,
    resolve_calibration,
)
from craftvision.measure.fibre import (
    Fibre,
    FibreImageResult,
    FibreSample,
    FinenessGrade,
    grade_fineness,
    measure_fibres,
    summarise_fibres,
)
from craftvision.measure.plot import histogram_png, save_histogram
from craftvision.measure.stitch import StitchResult, StitchSample, measure_stitch
from craftvision.measure.weave import WeaveResult, WeaveSample, measure_weave

__all__ = [
    "HOW_TO_CALIBRATE",
    "Calibration",
    "Fibre",
    "FibreImageResult",
    "FibreSample",
    "FinenessGrade",
    "Scales",
    "StitchResult",
    "StitchSample",
    "WeaveResult",
    "WeaveSample",
    "calibrate_micrometer",
    "check_scale",
    "grade_fineness",
    "histogram_png",
    "iter_measure_paths",
    "load_calibration",
    "measure_fibres",
    "measure_paths",
    "measure_sample",
    "measure_stitch",
    "measure_weave",
    "resolve_calibration",
    "save_histogram",
    "summarise",
    "summarise_fibres",
]
