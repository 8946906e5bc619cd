"""Stitch regularity: stitches per cm, stitch length and its CV, and the spread of stitch angles.

A stitch is the thread between two needle holes; stitches per cm are counted along the line of
work: along a row of running, stem, darning, fill or chain stitches, and along the column of
satin stitches, which lie side by side across it.

Embroidery is cut into overlapping tiles, each small enough that its stitches run one way
(designs curve). In each tile the stitch direction is the dominant direction of the thread
edges (the structure tensor) and the thread spacing the strongest period across them; the tile
is turned so the rows of thread stand upright, the rows are found as crests across them in
short strips and followed from strip to strip (so a curving or wavering row is followed), and
along each row a stitch ends where its thread dives into the cloth, a dip of light. The gaps
between ends along a row are the stitch lengths, taken about the commonest length (a missed
end makes a double length, a false one splits a stitch): the median, and the CV from the
interquartile range. The step from one stitch to the next along a row joins a short gap of
ground (darning) to the stitch before it. Where the ends of neighbouring rows line up, the
stitches lie side by side in columns (satin), and the step along the column is the thread
spacing, lengthened where the column's edge slants across the stitches. The angle spread is
the SD of the tiles' stitch directions about their smooth trend.

Limits: rows must be resolved: threads narrower than 3 px (or a satin column's stitches closer
than that) cannot be followed, and the photo is refused; a stem stitch is half hidden under
the next, so its visible length (the step) is measured, not the full stitch; machine satin
zigzags share each needle hole between two stitches, and counting along the column then finds
half of them.

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

import itertools
import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np

from craftvision.errors import MeasurementError
from craftvision.measure._image import ImageSource, as_gray, load, pooled_mean, source_path
from craftvision.measure._threads import band_crests, track, upright
from craftvision.measure.calibration import HOW_TO_CALIBRATE, Calibration

MACHINE_MAX_CV = 0.08  # machines repeat one stitch length within a few percent
HAND_MIN_CV = 0.15  # Sozni stitch lengths vary by 15-30 %
UNCALIBRATED = f"stitch lengths in mm need a calibration: {HOW_TO_CALIBRATE}"
_MIN_SIDE_PX = 48
_MIN_STITCH_PX = 6.0
_MIN_STITCHES = 12  # fewer give no steady figures
_MIN_THREAD_PX = 3.0  # rows of thinner threads cannot be told apart
_ALIGNED = 0.6  # satin: ends of neighbouring stitches within this many thread spacings


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


@dataclass(frozen=True)
class _Tile:
    """What one tile shows: for each row the gaps between its stitch ends in order (px), the
    thread spacing across (px), and for each end the offset along the stitches to the nearest
    end of the neighbouring row (px, signed; NaN where that row has none)."""

    gaps: list[np.ndarray]
    spacing: float
    offsets: np.ndarray


def _tile_stitches(tile: np.ndarray, along: float) -> _Tile | None:
    """Stitch ends in one tile, found along its rows of thread (None: threads too thin).

    The tile is turned so the rows stand upright and cut into strips across them; in each
    strip the rows are the crests across (counted twice, the second time at the first
    count's spacing), and crests are followed from strip to strip as rows, so a row that
    curves or wavers is still followed. Along each row the ends are dips of light.
    """
    spacing = _thread_width(tile, along)
    if spacing < _MIN_THREAD_PX:
        return None
    image = upright(tile, along + math.pi / 2)
    inside = np.isfinite(image)
    shortest = max(_MIN_STITCH_PX, 2 * spacing)
    strip = max(3, round(shortest / 2))
    for _ in range(2):
        strips = band_crests(image, spacing, strip)
        gaps = np.concatenate([np.diff(c) for c in strips])
        gaps = gaps[(gaps > 0.4 * spacing) & (gaps < 1.8 * spacing)]
        if len(gaps) < 4:
            return None
        spacing = float(gaps.mean())
    ids = track(strips, spacing, memory=2)
    # Smooth along the stitches over the twist striations, across over a quarter thread.
    flat = np.where(inside, image, 0).astype(np.float32)
    sigma_x, sigma_y = max(0.5, spacing / 4), max(0.7, 0.6 * spacing)
    weight = cv2.GaussianBlur(inside.astype(np.float32), (0, 0), sigmaX=sigma_x, sigmaY=sigma_y)
    smooth = cv2.GaussianBlur(flat, (0, 0), sigmaX=sigma_x, sigmaY=sigma_y)
    smooth = np.where(inside, smooth / np.maximum(weight, 1e-3), np.nan).astype(np.float32)
    values = smooth[inside]
    depth = 0.15 * float(np.percentile(values, 95) - np.percentile(values, 5))
    rows: dict[int, list[tuple[float, float]]] = {}
    for k, (found, own) in enumerate(zip(strips, ids, strict=True)):
        for x, r in zip(found, own, strict=True):
            rows.setdefault(int(r), []).append((x, (k + 0.5) * strip))
    lines: list[tuple[float, np.ndarray]] = []  # (mean x, end positions along y)
    gaps_along = []
    for points in rows.values():
        if len(points) < 3:
            continue
        xs, ys = np.array(points).T
        y = np.arange(math.ceil(ys[0]), math.floor(ys[-1]) + 1, dtype=np.float32)
        x = np.interp(y, ys, xs).astype(np.float32)
        signal = cv2.remap(
            smooth, x.reshape(1, -1), y.reshape(1, -1), cv2.INTER_LINEAR, borderValue=np.nan
        )[0]
        good = np.isfinite(signal)
        if good.sum() < 3 * shortest:
            continue
        ends = y[good][0] + _ends(signal[good], depth, shortest)
        lines.append((float(xs.mean()), ends))
        gaps_along.append(np.diff(ends))
    lines.sort(key=lambda line: line[0])
    offsets = []
    for (x0, ends0), (x1, ends1) in itertools.pairwise(lines):
        if not len(ends0):
            continue
        if len(ends1) and 0.5 * spacing <= x1 - x0 <= 1.6 * spacing:
            nearest = ends1[np.argmin(np.abs(ends0[:, None] - ends1[None, :]), axis=1)]
            offsets.append(nearest - ends0)
        else:
            offsets.append(np.full(len(ends0), np.nan))
    return _Tile(
        gaps=gaps_along,
        spacing=spacing,
        offsets=np.concatenate(offsets) if offsets else np.empty(0),
    )


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

    ``work`` is how the stitches are laid: ``"rows"`` (each stitch follows the last along a
    line: running, stem, darning, fill and chain stitches) or ``"columns"`` (stitches side by
    side across a band: satin); ``stitch_pitch_px`` is the step from one stitch to the next
    along that line or column, which gives stitches per cm.

    Example:
        >>> r = StitchResult("a.png", 30.0, 0.2, 30.0, "rows", 4.0, 120, 15.0)
        >>> round(r.stitch_length_mm, 2), round(r.stitches_per_cm, 1), r.grade
        (2.0, 5.0, 'hand-irregular')
    """

    path: str | None
    stitch_length_px: float
    stitch_length_cv: float
    stitch_pitch_px: float
    work: str
    angle_sd_deg: float
    n_stitches: int
    px_per_mm: float | None = None

    @property
    def stitch_length_mm(self) -> float | None:
        """Median stitch length in mm (None without a calibration)."""
        return None if self.px_per_mm is None else self.stitch_length_px / self.px_per_mm

    @property
    def stitches_per_cm(self) -> float | None:
        """Stitches per cm along the line or column of work (None without a calibration)."""
        return None if self.px_per_mm is None else 10 * self.px_per_mm / self.stitch_pitch_px

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
            "stitch_pitch_px": r(self.stitch_pitch_px),
            "work": self.work,
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
    angles, centres, tiles = [], [], []
    for y in np.linspace(0, h - tile, 3).astype(int):
        for x in np.linspace(0, w - tile, 3).astype(int):
            part = gray[y : y + tile, x : x + tile]
            along, coherence = _direction(part)
            if coherence < 0.1:
                continue
            angles.append(along)
            centres.append((x + tile / 2, y + tile / 2))
            found = _tile_stitches(part, along)
            if found is not None:
                tiles.append(found)
    rows = [row for t in tiles for row in t.gaps]
    gaps = np.concatenate(rows) if rows else np.empty(0)
    if len(gaps) < _MIN_STITCHES:
        hint = "" if tiles or not angles else f" (threads under {_MIN_THREAD_PX:g} px wide)"
        raise MeasurementError(f"{label}: found too few stitches to measure{hint}")
    # Robust figures: a missed end makes a double length and a false one splits a stitch, so
    # the figures are taken about the commonest length.
    common = _commonest(gaps)
    gaps = gaps[(gaps > 0.5 * common) & (gaps < 1.6 * common)]
    q25, median, q75 = (float(v) for v in np.percentile(gaps, [25, 50, 75]))
    steps = np.concatenate([_steps(row, 0.5 * common) for row in rows])
    step = _commonest(steps)
    steps = steps[(steps > 0.5 * step) & (steps < 1.6 * step)]
    work, pitch = _work(tiles, float(np.median(steps)))
    return StitchResult(
        path=source_path(source, name),
        stitch_length_px=median,
        stitch_length_cv=(q75 - q25) / 1.349 / median,
        stitch_pitch_px=pitch,
        work=work,
        angle_sd_deg=_angle_spread(angles, centres),
        n_stitches=len(gaps),
        px_per_mm=None if calibration is None else calibration.px_per_mm,
    )


def _steps(gaps: np.ndarray, short: float) -> np.ndarray:
    """Steps from one stitch to the next along a row: a gap shorter than ``short`` (the
    ground between darning stitches) joins the stitch before it."""
    out: list[float] = []
    for gap in gaps.tolist():
        if gap < short and out:
            out[-1] += gap
        else:
            out.append(gap)
    return np.array(out)


def _commonest(lengths: np.ndarray) -> float:
    """The commonest of some lengths: the densest 20 % wide span of them (on a log scale)."""
    logs = np.sort(np.log(lengths))
    within = np.searchsorted(logs, logs + math.log(1.2)) - np.arange(len(logs))
    start = int(np.argmax(within))
    return float(np.exp(np.median(logs[start : start + within[start]])))


def _work(tiles: list[_Tile], step: float) -> tuple[str, float]:
    """How the stitches are laid and the step between them along the line of work (px).

    Satin stitches lie side by side, so the ends of neighbouring stitches line up along the
    column's edges; the step along the column is the thread spacing, lengthened where the
    column's edge slants across the stitches. In rows, the ends of neighbouring rows fall
    anywhere (or a fill's fixed offset of a fraction of a stitch), and the step is the
    distance between stitch ends along a row.
    """
    shift = np.concatenate([t.offsets / t.spacing for t in tiles])
    shift = shift[np.isfinite(shift)]
    if len(shift) >= 5 and np.median(np.abs(shift)) < _ALIGNED:
        slant = float(np.median(shift))
        return "columns", float(np.median([t.spacing for t in tiles])) * math.hypot(1, slant)
    return "rows", step


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
