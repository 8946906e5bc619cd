"""Calibration: how many µm one pixel spans, from a stage micrometer photo or given directly.

A stage micrometer is a slide ruled with fine lines a known distance apart (typically 10 µm).
:func:`calibrate_micrometer` finds the ruling's direction from the image's edges (the ticks
outnumber the base line), projects the rows that hold the ticks onto that direction, finds
every tick to sub-pixel precision and fits their positions against their division numbers, so
a missed or extra tick cannot bias the result. The result is kept as a small JSON profile that
every measurement takes with ``--calibration FILE``.

Example:
    >>> import numpy as np, tempfile, pathlib
    >>> from craftvision.datasets.synth.micrometer import render_micrometer
    >>> img, truth = render_micrometer(np.random.default_rng(0), um_per_px=0.5)
    >>> cal = calibrate_micrometer(img, division_um=10.0)
    >>> abs(cal.um_per_px / 0.5 - 1) < 0.01
    True
    >>> path = cal.save(pathlib.Path(tempfile.mkdtemp()) / "scope.json")
    >>> load_calibration(path).um_per_px == cal.um_per_px
    True
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from craftvision.atomic import atomic_write_text
from craftvision.errors import CalibrationError
from craftvision.measure._image import ImageSource, as_gray, load, optical_density
from craftvision.suggest import unknown_choice

PROFILE_FORMAT = "craftvision-calibration"
PROFILE_VERSION = 1
HOW_TO_PROFILE = (
    "to calibrate, photograph a stage micrometer with the same objective and camera, run "
    "`craftvision calibrate MICROMETER.png --division-um 10 --out scope.json`, then pass "
    "--calibration scope.json"
)
# For the commands that also take the scale directly (measure, inspect); certify takes a profile.
HOW_TO_CALIBRATE = (
    f"{HOW_TO_PROFILE} (or give the scale directly with --um-per-px X / --px-per-mm X)"
)
# µm per pixel at which each modality's photos can be measured: a fibre 10-40 µm across is a
# few px wide only under a microscope (finer than 5 µm per pixel), and a weave or embroidery
# close-up holds a dozen threads or stitches only from a camera or macro lens (1-200 px per mm).
SCALE_RANGES_UM_PER_PX = {"fibre": (0.02, 5.0), "weave": (5.0, 1000.0), "stitch": (5.0, 1000.0)}
_MIN_TICKS = 5


@dataclass(frozen=True)
class Calibration:
    """The size of one pixel and where that figure came from.

    ``source`` is ``"stage micrometer"`` (then ``division_um``, ``n_ticks`` and
    ``residual_px``, the RMS distance of the ticks from the fitted ruling, say how) or
    ``"given"``.

    Example:
        >>> Calibration.from_px_per_mm(20.0).um_per_px
        50.0
    """

    um_per_px: float
    source: str = "given"
    division_um: float | None = None
    n_ticks: int | None = None
    residual_px: float | None = None
    image: str | None = None
    created: str | None = None

    def __post_init__(self) -> None:
        if not (math.isfinite(self.um_per_px) and self.um_per_px > 0):
            raise CalibrationError(f"µm per pixel must be a positive number, got {self.um_per_px}")

    @classmethod
    def from_um_per_px(cls, um_per_px: float) -> Calibration:
        """A calibration given as µm per pixel (a microscope's known scale)."""
        return cls(float(um_per_px))

    @classmethod
    def from_px_per_mm(cls, px_per_mm: float) -> Calibration:
        """A calibration given as pixels per mm (a camera over cloth with a ruler in view)."""
        if not (math.isfinite(px_per_mm) and px_per_mm > 0):
            raise CalibrationError(f"pixels per mm must be a positive number, got {px_per_mm}")
        return cls(1000.0 / float(px_per_mm))

    @property
    def px_per_mm(self) -> float:
        """Pixels per millimetre."""
        return 1000.0 / self.um_per_px

    def to_dict(self) -> dict[str, Any]:
        """The profile as saved: JSON-ready, with its format name and version."""
        data = {k: v for k, v in asdict(self).items() if v is not None}
        return {"format": PROFILE_FORMAT, "version": PROFILE_VERSION, **data}

    def save(self, path: str | os.PathLike) -> Path:
        """Write the profile to ``path`` (atomically) and return the path."""
        return atomic_write_text(path, json.dumps(self.to_dict(), indent=2) + "\n")


def load_calibration(path: str | os.PathLike) -> Calibration:
    """Read a calibration profile written by :meth:`Calibration.save` / ``craftvision calibrate``.

    Raises:
        CalibrationError: the file is missing, not JSON, or not a calibration profile.
    """
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise CalibrationError(f"{path}: no such calibration file; {HOW_TO_PROFILE}") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise CalibrationError(f"{path}: not a calibration profile ({err})") from None
    if not isinstance(data, dict) or data.get("format") != PROFILE_FORMAT:
        raise CalibrationError(
            f"{path}: not a calibration profile (no 'format': {PROFILE_FORMAT!r})"
        )
    if data.get("version") != PROFILE_VERSION:
        raise CalibrationError(
            f"{path}: calibration profile version {data.get('version')!r} is not supported"
        )
    fields = set(Calibration.__dataclass_fields__)
    try:
        return Calibration(**{k: v for k, v in data.items() if k in fields})
    except TypeError as err:
        raise CalibrationError(f"{path}: incomplete calibration profile ({err})") from None


def for_modality(flag: str, item: str | os.PathLike) -> tuple[str | None, str]:
    """Split a command line's ``[MODALITY=]VALUE`` item (None: for every modality).

    Example:
        >>> for_modality("--px-per-mm", "weave=12.3"), for_modality("--calibration", "s.json")
        (('weave', '12.3'), (None, 's.json'))
    """
    name, equals, value = str(item).partition("=")
    if not equals:
        return None, str(item)
    if name not in SCALE_RANGES_UM_PER_PX:
        raise CalibrationError(
            f"{flag} {item}: {unknown_choice('modality', name, SCALE_RANGES_UM_PER_PX)}"
        )
    if not value:
        raise CalibrationError(f"{flag} {item}: give the {name} photos' scale after the '='")
    return name, value


@dataclass(frozen=True)
class Scales:
    """The scale of each modality's photos, for a product photographed with more than one set
    of optics: its fibres under a microscope, its weave and embroidery with a camera.
    ``default`` serves the modalities not named in ``by_modality``.

    Example:
        >>> scales = Scales.parse(um_per_px=["fibre=0.5"], px_per_mm=["20"])
        >>> scales.of("fibre").um_per_px, scales.of("weave").px_per_mm
        (0.5, 20.0)
    """

    default: Calibration | None = None
    by_modality: Mapping[str, Calibration] = field(default_factory=dict)

    def of(self, modality: str) -> Calibration | None:
        """The scale of ``modality``'s photos (None: not given)."""
        return self.by_modality.get(modality, self.default)

    def __bool__(self) -> bool:
        return self.default is not None or bool(self.by_modality)

    @classmethod
    def parse(
        cls,
        calibrations: Iterable[str | os.PathLike] = (),
        *,
        um_per_px: Iterable[str] = (),
        px_per_mm: Iterable[str] = (),
    ) -> Scales:
        """Scales from the command line's ``[MODALITY=]VALUE`` items: a profile file, µm per
        pixel or pixels per mm; one without a modality serves every modality not named."""

        def number(flag: str, text: str) -> float:
            try:
                return float(text)
            except ValueError:
                raise CalibrationError(f"{flag} wants a number, got {text!r}") from None

        given: dict[str | None, Calibration] = {}
        forms = (
            ("--calibration", calibrations, load_calibration),
            ("--um-per-px", um_per_px, lambda t: Calibration(number("--um-per-px", t))),
            (
                "--px-per-mm",
                px_per_mm,
                lambda t: Calibration.from_px_per_mm(number("--px-per-mm", t)),
            ),
        )
        for flag, items, make in forms:
            for item in items:
                modality, value = for_modality(flag, item)
                if modality in given:
                    whose = f"{modality} photos" if modality else "all photos"
                    raise CalibrationError(f"{flag} {item}: a scale for {whose} was given already")
                given[modality] = make(value)
        default = given.pop(None, None)
        return cls(default, {k: v for k, v in given.items() if k is not None})


def check_scale(modality: str, calibration: Calibration | None) -> None:
    """Refuse a scale that ``modality``'s photos cannot have been taken at: a microscope's
    scale given for close-ups, or a camera's for micrographs (one profile for a whole product
    would read a close-up's threads per cm hundreds of times too high).

    Example:
        >>> check_scale("fibre", Calibration.from_um_per_px(0.5))
        >>> check_scale("weave", Calibration.from_um_per_px(0.5))
        Traceback (most recent call last):
        ...
        craftvision.errors.CalibrationError: 0.5 µm per pixel (2000 px per mm) is finer than \
weave photos are taken at (5-1000 µm per pixel, 1-200 px per mm), a fibre microscope's scale: \
give them their own calibration
    """
    if calibration is None or modality not in SCALE_RANGES_UM_PER_PX:
        return
    lo, hi = SCALE_RANGES_UM_PER_PX[modality]
    um_per_px = calibration.um_per_px
    if lo <= um_per_px <= hi:
        return
    fits = [m for m, (a, b) in SCALE_RANGES_UM_PER_PX.items() if a <= um_per_px <= b]
    whose = ""
    if "fibre" in fits:
        whose = ", a fibre microscope's scale"
    elif fits:
        whose = ", a close-up camera's scale"
    raise CalibrationError(
        f"{um_per_px:g} µm per pixel ({calibration.px_per_mm:g} px per mm) is "
        f"{'finer' if um_per_px < lo else 'coarser'} than {modality} photos are taken at "
        f"({lo:g}-{hi:g} µm per pixel, {1000 / hi:g}-{1000 / lo:g} px per mm){whose}: give them "
        "their own calibration"
    )


def resolve_calibration(
    calibration: Calibration | str | os.PathLike | None = None,
    *,
    um_per_px: float | None = None,
    px_per_mm: float | None = None,
) -> Calibration | None:
    """One calibration from whichever form was given: a profile (object or file) or a scale.

    Example:
        >>> resolve_calibration(px_per_mm=10.0).um_per_px
        100.0
        >>> resolve_calibration() is None
        True
    """
    given = [v is not None for v in (calibration, um_per_px, px_per_mm)]
    if sum(given) > 1:
        raise CalibrationError("give one calibration: a profile, µm per pixel or pixels per mm")
    if um_per_px is not None:
        return Calibration.from_um_per_px(um_per_px)
    if px_per_mm is not None:
        return Calibration.from_px_per_mm(px_per_mm)
    if calibration is None or isinstance(calibration, Calibration):
        return calibration
    return load_calibration(calibration)


def _ruling_angle(od: np.ndarray) -> float:
    """Direction (radians) across the ticks: the dominant edge direction, ticks being many.

    An error of a degree changes the pitch found by 0.02 %; it only blurs the tick profile.
    """
    gx = cv2.Sobel(od, cv2.CV_32F, 1, 0, ksize=3)
    gy = cv2.Sobel(od, cv2.CV_32F, 0, 1, ksize=3)
    jxx, jyy, jxy = float((gx * gx).sum()), float((gy * gy).sum()), float((gx * gy).sum())
    return 0.5 * math.atan2(2 * jxy, jxx - jyy)


def _tick_profile(od: np.ndarray, angle: float) -> np.ndarray:
    """The image turned so the ticks stand upright, averaged over the rows that hold ticks."""
    h, w = od.shape
    side = math.ceil(math.hypot(h, w))
    turn = cv2.getRotationMatrix2D((w / 2, h / 2), math.degrees(angle), 1.0)
    turn[:, 2] += (side - w) / 2, (side - h) / 2
    upright = cv2.warpAffine(od, turn, (side, side), flags=cv2.INTER_LINEAR, borderValue=np.nan)
    inside = np.isfinite(upright)
    flat = np.where(inside, upright, 0.0)
    alternation = (np.diff(flat, axis=1) ** 2 * (inside[:, 1:] & inside[:, :-1])).sum(axis=1)
    rows = alternation >= 0.7 * alternation.max()  # rows across every tick
    counts = inside[rows].sum(axis=0)
    profile = flat[rows].sum(axis=0) / np.maximum(counts, 1)
    return np.where(counts >= 0.5 * rows.sum(), profile, np.nan)


def _tick_centres(profile: np.ndarray) -> np.ndarray:
    """Sub-pixel centres of the dark ticks along a profile (intensity-weighted centroids)."""
    valid = np.isfinite(profile)
    p = np.where(valid, profile, np.nanmedian(profile))
    base = float(np.median(p[valid]))
    spread = 1.4826 * float(np.median(np.abs(p[valid] - base))) + 1e-6
    level = base + 0.3 * (float(np.percentile(p[valid], 99)) - base)
    above = (p > max(level, base + 4 * spread)) & valid
    edges = np.flatnonzero(np.diff(np.concatenate([[0], above.astype(np.int8), [0]])))
    centres = []
    for a, b in zip(edges[::2], edges[1::2], strict=True):
        lo, hi = max(a - 1, 0), min(b + 1, len(p))
        if lo == 0 or hi == len(p) or not valid[lo:hi].all():
            continue  # cut by the edge of the photo
        weight = p[lo:hi] - base
        centres.append(float((np.arange(lo, hi) * weight).sum() / weight.sum()))
    return np.array(centres)


def _fit_ruling(centres: np.ndarray) -> tuple[float, float, int]:
    """Pitch (px) of evenly spaced ticks, RMS residual (px) and ticks used; robust to misses."""
    pitch = float(np.median(np.diff(centres)))
    keep = np.ones(len(centres), bool)
    residual = math.inf
    for _ in range(4):
        index = np.round((centres - centres[keep][0]) / pitch)
        design = np.stack([np.ones(keep.sum()), index[keep]], axis=1)
        (offset, pitch), *_ = np.linalg.lstsq(design, centres[keep], rcond=None)
        error = centres - (offset + pitch * index)
        residual = float(np.sqrt(np.mean(error[keep] ** 2)))
        keep = np.abs(error) < max(3 * residual, 0.05 * pitch)
        if keep.sum() < _MIN_TICKS:
            break
    return float(pitch), residual, int(keep.sum())


def calibrate_micrometer(
    source: ImageSource, division_um: float = 10.0, *, name: str | None = None
) -> Calibration:
    """Measure µm per pixel from a photo of a stage micrometer ruled every ``division_um`` µm.

    Raises:
        CalibrationError: no regular ruling of at least five ticks is found; the message names
            the file.
    """
    if not (math.isfinite(division_um) and division_um > 0):
        raise CalibrationError(f"the division must be a positive number of µm, got {division_um}")
    image, label = load(source, name)
    od, _ = optical_density(as_gray(image))
    if float(np.percentile(od, 99.5)) < -float(np.percentile(od, 0.5)):
        od = -od  # bright lines on a dark field
    angle = _ruling_angle(od)
    centres = _tick_centres(_tick_profile(od, angle))
    if len(centres) < _MIN_TICKS:
        raise CalibrationError(
            f"{label}: found {len(centres)} ruled lines, need at least {_MIN_TICKS}; "
            "is this a sharp photo of a stage micrometer's scale?"
        )
    pitch, residual, used = _fit_ruling(centres)
    if used < _MIN_TICKS or residual > 0.1 * pitch:
        raise CalibrationError(
            f"{label}: the ruled lines are not evenly spaced (RMS {residual:.2f} px on a "
            f"{pitch:.2f} px pitch); is this a stage micrometer?"
        )
    return Calibration(
        um_per_px=division_um / pitch,
        source="stage micrometer",
        division_um=float(division_um),
        n_ticks=used,
        residual_px=round(residual, 4),
        image=Path(label).name,
        created=datetime.now(UTC).isoformat(timespec="seconds"),
    )
