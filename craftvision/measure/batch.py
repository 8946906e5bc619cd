"""Measuring many photos at once: per modality, and a whole sample for its inspection record.

Example:
    >>> from craftvision.measure.batch import MEASURES
    >>> sorted(MEASURES)
    ['fibre', 'stitch', 'weave']
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from craftvision.errors import CalibrationError, ConfigError, CraftvisionError
from craftvision.measure.calibration import Calibration, check_scale, resolve_calibration
from craftvision.measure.fibre import (
    FibreImageResult,
    FibreSample,
    measure_fibres,
    summarise_fibres,
)
from craftvision.measure.stitch import StitchResult, StitchSample, measure_stitch
from craftvision.measure.weave import WeaveResult, WeaveSample, measure_weave
from craftvision.suggest import unknown_choice
from craftvision.types import InspectionError

Result = FibreImageResult | WeaveResult | StitchResult
Sample = FibreSample | WeaveSample | StitchSample
MEASURES: dict[str, Callable[..., Result]] = {
    "fibre": measure_fibres,
    "weave": measure_weave,
    "stitch": measure_stitch,
}


def iter_measure_paths(
    modality: str,
    paths: Iterable[str | os.PathLike],
    calibration: Calibration | None = None,
    **options: Any,
) -> Iterator[Result | InspectionError]:
    """Measure every photo of one modality, yielding each result as it is done (for progress,
    and so that an interrupted run keeps what it measured); an unreadable or unmeasurable photo
    yields an :class:`InspectionError` naming it, and the rest are still measured.

    ``options`` go to the modality's measure function (weave: ``warp_angle_deg``). A scale the
    modality's photos cannot have been taken at (see :func:`check_scale`) fails every photo.
    """
    if modality not in MEASURES:
        raise ConfigError(unknown_choice("modality", modality, MEASURES))
    try:
        check_scale(modality, calibration)
    except CalibrationError as err:
        yield from (InspectionError(path=str(path), error=str(err)) for path in paths)
        return
    for path in paths:
        try:
            yield MEASURES[modality](path, calibration, **options)
        except CraftvisionError as err:
            yield InspectionError(path=str(path), error=str(err))


def measure_paths(
    modality: str,
    paths: Iterable[str | os.PathLike],
    calibration: Calibration | None = None,
    **options: Any,
) -> list[Result | InspectionError]:
    """Measure every photo of one modality (see :func:`iter_measure_paths`).

    Example:
        >>> measure_paths("stitch", [])
        []
    """
    return list(iter_measure_paths(modality, paths, calibration, **options))


def summarise(modality: str, results: Iterable[Result | InspectionError]) -> Sample:
    """Pool one modality's measured photos (errors are left out) into its sample figures."""
    measured = [r for r in results if not isinstance(r, InspectionError)]
    if modality == "fibre":
        return summarise_fibres(measured)  # type: ignore[arg-type]
    if modality == "weave":
        return WeaveSample.of(measured)  # type: ignore[arg-type]
    if modality == "stitch":
        return StitchSample.of(measured)  # type: ignore[arg-type]
    raise ConfigError(unknown_choice("modality", modality, MEASURES))


def measure_sample(
    photos: Mapping[str, Sequence[str | os.PathLike]],
    calibration: Calibration | str | os.PathLike | None = None,
) -> dict[str, Any]:
    """Measure one product's photos by modality; JSON-ready summaries with every photo's figures.

    ``calibration`` is a :class:`Calibration` or a profile file. Modalities without a measure
    are skipped.

    Example:
        >>> measure_sample({"fibre": []}, Calibration.from_um_per_px(0.5))["fibre"]["n_fibres"]
        0
    """
    scale = resolve_calibration(calibration)
    out: dict[str, Any] = {}
    for modality, paths in photos.items():
        if modality not in MEASURES:
            continue
        results = measure_paths(modality, paths, scale)
        out[modality] = {
            **summarise(modality, results).to_dict(),
            "images": [
                {**r.to_dict(), "path": Path(r.path).name if r.path else None} for r in results
            ],
        }
    return out
