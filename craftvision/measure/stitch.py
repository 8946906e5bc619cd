"""Stitch regularity: stitches per cm, stitch length mean and CV, and the spread of stitch angles.

Embroidery is cut into overlapping tiles, each small enough that its stitches run one way
(designs curve). In each tile the stitch direction is the dominant direction of the thread
edges (the structure tensor) and the thread spacing the strongest period across them; the tile
is turned so the stitches run along its rows, and every row along the crown of a thread is
followed: a stitch ends where its thread dives into the cloth, a dip of light (the thread
darkens there and the shadowed ground shows between stitches). The distances between
consecutive ends along a row are the stitch lengths; the figures are robust ones (median, and
the CV from the interquartile range) because a missed or a false end makes an outlier.
Stitches per cm counts stitches along the rows. The angle spread is the SD of the tiles'
stitch directions about their smooth trend (hand stitches waver; machine stitches keep one
angle).

Limits: a stitch must be resolved (thread a few pixels wide, ends visible); rows of hand
stitches that waver by more than a thread over a stitch length drift onto their neighbours,
and satin stitches side by side are counted along the stitch (their length), not across the
column.

Example:
    >>> import numpy as np
    >>> from craftvision.datasets.synth.stitch import render_sample
    >>> from craftvision.measure import Calibration, measure_stitch
    >>> rng = np.random.default_rng(2)
    >>> img, truth = render_sample(rng, "machine_embroidery", 1, px_per_mm=30)[0]
    >>> measure_stitch(img, Calibration.from_px_per_mm(30)).stitches_per_cm > 0
    True
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np

from craftvision.errors import MeasurementError
from craftvision.measure._image import ImageSource, as_gray, load, pooled_mean, source_path
from craftvision.measure.calibration import HOW_TO_CALIBRATE, Calibration

MACHINE_MAX_CV = 0.08  # machines repeat one stitch length within a few percent
HAND_MIN_CV = 0.15  # Sozni stitch lengths vary by 15-30 %
UNCALIBRATED = f"stitch lengths in mm need a calibration: {HOW_TO_CALIBRATE}"
_MIN_SIDE_PX = 48
_MIN_STITCH_PX = 6.0


def _direction(tile: np.ndarray) -> tuple[float, float]:
    """Stitch direction (radians, along the threads) of a tile and how strongly oriented (0-1)."""
    gx = cv2.Sobel(tile, cv2.CV_32F, 1, 0, ksize=3)
    gy = cv2.Sobel(tile, cv2.CV_32F, 0, 1, ksize=3)
    jxx, jyy, jxy = float((gx * gx).sum()), float((gy * gy).sum()), float((gx * gy).sum())
    across = 0.5 * math.atan2(2 * jxy, jxx - jyy)
    coherence = math.hypot(jxx - jyy, 2 * jxy) / max(jxx + jyy, 1e-9)
    return (across + math.pi / 2) % math.pi, coherence


def _ends(row: np.ndarray, depth: float, shortest: float) -> np.ndarray:
    """Stitch ends along a row that follows the stitches: dips of light at least ``depth``
    below the brightest point within ``shortest`` / 2 on each side, ``shortest`` px apart (the
    thread darkens where it dives into the cloth, and the shadowed ground shows between)."""
    low = np.flatnonzero((row[1:-1] < row[:-2]) & (row[1:-1] <= row[2:])) + 1
    reach = max(2, round(shortest / 2))
    keep = [
        j
        for j in low
        if min(
            row[max(0, j - reach) : j].max(initial=row[j]),
            row[j + 1 : j + 1 + reach].max(initial=row[j]),
        )
        - row[j]
        > depth
    ]
    kept: list[int] = []
    for j in sorted(keep, key=lambda k: row[k]):
        if all(abs(j - k) >= shortest for k in kept):
            kept.append(j)
    return np.sort(np.array(kept, dtype=float))


def _thread_width(tile: np.ndarray, along: float) -> float:
    """Spacing (px) of neighbouring threads: the strongest period across the stitches."""
    h, w = tile.shape
    spec = np.abs(np.fft.rfft2((tile - tile.mean()) * np.outer(np.hanning(h), np.hanning(w))))
    fy = np.fft.fftfreq(h)[:, None]
    fx = np.fft.rfftfreq(w)[None, :]
    across = along + math.pi / 2
    proj = np.abs(fx * math.cos(across) + fy * math.sin(across))
    off = np.abs(fx * math.sin(across) - fy * math.cos(across))
    zone = (off <= 0.25 * proj) & (proj >= 1 / 16) & (proj <= 0.45)
    if not zone.any():
        return 3.0
    f = float(proj[np.unravel_index(int(np.argmax(np.where(zone, spec, 0))), spec.shape)])
    return 1 / f


def _tile_lengths(tile: np.ndarray, along: float) -> np.ndarray:
    """Stitch lengths (px) in one tile: gaps between ends on rows that follow the stitches.

    The tile is turned so the stitches run along its rows; only rows along the crowns of the
    threads (brighter than the tile's median) are followed, not the grooves between them.
    """
    width = _thread_width(tile, along)
    h, w = tile.shape
    side = math.ceil(math.hypot(h, w))
    turn = cv2.getRotationMatrix2D((w / 2, h / 2), math.degrees(along), 1.0)
    turn[:, 2] += (side - w) / 2, (side - h) / 2
    upright = cv2.warpAffine(tile, turn, (side, side), flags=cv2.INTER_LINEAR, borderValue=np.nan)
    inside = np.isfinite(upright)
    # Smooth along the stitches over the twist striations, across over a quarter thread.
    sigma_x, sigma_y = max(0.7, 0.6 * width), max(0.5, width / 4)
    smooth = cv2.GaussianBlur(np.where(inside, upright, 0), (0, 0), sigmaX=sigma_x, sigmaY=sigma_y)
    values = smooth[inside]
    depth = 0.15 * float(np.percentile(values, 95) - np.percentile(values, 5))
    middle = float(np.median(values))
    shortest = max(_MIN_STITCH_PX, 2 * width)
    lengths = []
    for y in range(side):
        cols = np.flatnonzero(inside[y])
        if len(cols) < 3 * shortest:
            continue
        row = smooth[y, cols[0] + 3 : cols[-1] - 2]
        if row.mean() < middle:
            continue
        ends = _ends(row, depth, shortest)
        if len(ends) >= 2:
            lengths.append(np.diff(ends))
    return np.concatenate(lengths) if lengths else np.empty(0)


def regularity_grade(length_cv: float) -> tuple[str, str]:
    """Regularity grade and its rule from the stitch length CV.

    Example:
        >>> regularity_grade(0.02)[0], regularity_grade(0.22)[0]
        ('machine-regular', 'hand-irregular')
    """
    pct = 100 * length_cv
    if length_cv <= MACHINE_MAX_CV:
        return "machine-regular", f"stitch length CV {pct:.1f} % ≤ 8 %: one length repeated"
    if length_cv >= HAND_MIN_CV:
        return "hand-irregular", f"stitch length CV {pct:.1f} % ≥ 15 %: lengths vary by hand"
    return "intermediate", f"stitch length CV {pct:.1f} % between 8 % (machine) and 15 % (hand)"


@dataclass(frozen=True)
class StitchResult:
    """Stitch figures of one close-up of embroidery (lengths in px; ``*_mm`` need a scale).

    Example:
        >>> r = StitchResult("a.png", 30.0, 0.2, 4.0, 120, 15.0)
        >>> round(r.stitch_length_mm, 2), round(r.stitches_per_cm, 1), r.grade
        (2.0, 5.0, 'hand-irregular')
    """

    path: str | None
    stitch_length_px: float
    stitch_length_cv: float
    angle_sd_deg: float
    n_stitches: int
    px_per_mm: float | None = None

    @property
    def stitch_length_mm(self) -> float | None:
        """Mean stitch length in mm (None without a calibration)."""
        return None if self.px_per_mm is None else self.stitch_length_px / self.px_per_mm

    @property
    def stitches_per_cm(self) -> float | None:
        """Stitches per cm along the rows (None without a calibration)."""
        return None if self.px_per_mm is None else 10 * self.px_per_mm / self.stitch_length_px

    @property
    def grade(self) -> str:
        """Regularity grade (see :func:`regularity_grade`)."""
        return regularity_grade(self.stitch_length_cv)[0]

    @property
    def rule(self) -> str:
        """The rule that gave the grade."""
        return regularity_grade(self.stitch_length_cv)[1]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict."""

        def r(v: float | None, k: int = 3) -> float | None:
            return None if v is None else round(v, k)

        return {
            "path": self.path,
            "modality": "stitch",
            "calibrated": self.px_per_mm is not None,
            "px_per_mm": self.px_per_mm,
            "stitches_per_cm": r(self.stitches_per_cm, 2),
            "stitch_length_mm": r(self.stitch_length_mm),
            "stitch_length_px": r(self.stitch_length_px),
            "stitch_length_cv": r(self.stitch_length_cv, 4),
            "angle_sd_deg": r(self.angle_sd_deg, 2),
            "n_stitches": self.n_stitches,
            "grade": self.grade,
            "rule": self.rule,
            "note": None if self.px_per_mm is not None else UNCALIBRATED,
        }


def _angle_spread(angles: list[float], centres: list[tuple[float, float]]) -> float:
    """SD (degrees) of tile directions about a plane fitted over the tiles (a curving design)."""
    if len(angles) < 4:
        return 0.0
    a = np.unwrap(2 * np.asarray(angles)) / 2
    design = np.column_stack([np.ones(len(a)), np.asarray(centres)])
    coef, *_ = np.linalg.lstsq(design, a, rcond=None)
    return float(np.degrees(np.std(a - design @ coef)))


def measure_stitch(
    source: ImageSource, calibration: Calibration | None = None, *, name: str | None = None
) -> StitchResult:
    """Measure stitch length (mean, CV), stitches per cm and angle spread of embroidery.

    Without ``calibration`` lengths stay in px and stitches per cm is withheld; the CV, the
    angle spread and the grade need no scale.

    Raises:
        ImageReadError: the image cannot be read.
        MeasurementError: the image is too small or shows no stitches.
    """
    image, label = load(source, name)
    gray = as_gray(image)
    h, w = gray.shape
    if min(h, w) < _MIN_SIDE_PX:
        raise MeasurementError(f"{label}: {w}x{h} px is too small to measure stitches in")
    tile = max(_MIN_SIDE_PX, min(h, w) // 2)
    angles, centres, lengths = [], [], []
    for y in np.linspace(0, h - tile, 3).astype(int):
        for x in np.linspace(0, w - tile, 3).astype(int):
            part = gray[y : y + tile, x : x + tile]
            along, coherence = _direction(part)
            if coherence < 0.1:
                continue
            angles.append(along)
            centres.append((x + tile / 2, y + tile / 2))
            lengths.append(_tile_lengths(part, along))
    pooled = np.concatenate(lengths) if lengths else np.empty(0)
    if len(pooled) < 5:
        raise MeasurementError(f"{label}: found too few stitches to measure")
    # Robust figures: a missed or a false end makes an outlier length.
    q25, median, q75 = (float(v) for v in np.percentile(pooled, [25, 50, 75]))
    return StitchResult(
        path=source_path(source, name),
        stitch_length_px=median,
        stitch_length_cv=(q75 - q25) / 1.349 / median,
        angle_sd_deg=_angle_spread(angles, centres),
        n_stitches=len(pooled),
        px_per_mm=None if calibration is None else calibration.px_per_mm,
    )


@dataclass(frozen=True)
class StitchSample:
    """The close-ups of one embroidery pooled: means over the images and the grade.

    Example:
        >>> StitchSample.of([]).n_images
        0
    """

    n_images: int
    stitches_per_cm: float | None
    stitch_length_mm: float | None
    stitch_length_cv: float | None
    angle_sd_deg: float | None

    @classmethod
    def of(cls, results: Iterable[StitchResult]) -> StitchSample:
        """Pool per-image results (means over the images)."""
        results = list(results)
        return cls(
            n_images=len(results),
            stitches_per_cm=pooled_mean([r.stitches_per_cm for r in results]),
            stitch_length_mm=pooled_mean([r.stitch_length_mm for r in results]),
            stitch_length_cv=pooled_mean([r.stitch_length_cv for r in results]),
            angle_sd_deg=pooled_mean([r.angle_sd_deg for r in results]),
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict with the regularity grade."""
        cv = self.stitch_length_cv
        grade, rule = regularity_grade(cv) if cv is not None else (None, None)

        def r(v: float | None, k: int = 3) -> float | None:
            return None if v is None else round(v, k)

        return {
            "modality": "stitch",
            "summary": True,
            "n_images": self.n_images,
            "stitches_per_cm": r(self.stitches_per_cm, 2),
            "stitch_length_mm": r(self.stitch_length_mm),
            "stitch_length_cv": r(cv, 4),
            "angle_sd_deg": r(self.angle_sd_deg, 2),
            "grade": grade,
            "rule": rule,
        }
