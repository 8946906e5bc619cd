"""Stitch regularity: stitches per cm, stitch length and its CV, and the spread of stitch angles.

A stitch is the thread between two needle holes; stitches per cm are counted along the line of
work: along a row of running, stem, darning, fill or chain stitches, and along the column of
satin stitches, which lie side by side across it.

Stitch ends are found along lines traced over the whole photo along the local stitch direction
(the structure tensor's, averaged over about two thread spacings), so that curving rows and
stitches longer than a third of the photo are followed. The commonest repeat of light along the
lines (their mean autocorrelation) sets the scale: a stitch ends where its thread dives into
the cloth, a dip of light, and dips are taken at least half a repeat apart on profiles smoothed
over a twelfth of it, so that twist striations do not split stitches; where too few dips are
deep against the photo's whole range of light (threads in several colours) but the repeat is
steady, as a machine's is, shallower ones are taken if their gaps agree with it; and where
neither these lines nor the rows tracked in tiles (below) give enough ends, the lines are read
again on the log of the light, where a dip is as deep on a dark thread as on a light one (of
1,200 renders, 46 refused before were measured so; of the 11 of them given stitches per cm, 8
were within 5 %). The gaps
between ends along a line are the stitch lengths, taken about the commonest length (a missed
end makes a double length, a false one splits a stitch): the median, and the CV from the
interquartile range; where the lengths make one sharp peak (CV under 5 %, fitted as a Gaussian
over an even background of split and doubled stitches), a machine's one length, the peak's
width gives the CV instead, which those stitches would widen. Where the light along the lines
repeats steadily (its autocorrelation at the repeat 0.3 or more of that at no lag, as in 236 of
317 machine renders and 3 of 295 hand ones), the CV is the smaller of that and the spread of
lengths that the repeat's peak implies (the zero lag's width, widened by it), which does not
depend on finding each end: ends found loosely along machine rows had spread their lengths by
15-25 % (of 720 renders, machine photos graded hand-irregular fell from 54 to 40, their length
CV's median error from 0.013-0.030 to 0.010-0.023, and 28 more were given stitches per cm, 20
of them within 5 %). Where it repeats less steadily (0.15 or more) but sharply (the repeat's own
CV under 6 %) at the commonest length found, the repeat's CV counts too, but as the ends found
do not show that repeat to be one stitch, work graded machine-regular only so is given no step
(of 720 renders, 8 machine photos graded hand-irregular or intermediate were so graded
machine-regular and no hand photo moved; in 6 of the 8 the repeat was a thread's twist or a
fill's stagger, not a stitch). The step from one stitch to the next along a row joins a short
gap of ground (darning) to the stitch before it.

The photo is also cut into tiles, in each of which the rows of thread are found as crests
across the stitches and followed. The stitches lie side by side in columns (satin) where the
ends of neighbouring rows line up, or where, at the scale of a stitch, the light along the
stitches keeps much of its swing when averaged across them over two stitch lengths along some
line slanting by up to 35° from square (the column's edge, where the ends of side-by-side
stitches meet; rows that end at random average it away), which also gives the edge's slant. The
step along the column is then the thread spacing across the middle of the stitches, lengthened
where the column's edge slants across them. The middle counts: a machine satin zigzag shares
each needle hole between two stitches, so its threads meet in pairs at the column's edges (one
thread spacing apart) and lie evenly at half that spacing across the middle; there crests are
sought at half the spacing. Where they lie closer than about 3.5 px they merge and are never
found, and the step is half the spacing between the pairs; where the middle is wider but not
found even, whether each crest is one thread or a pair is not known, and stitches per cm are
withheld. These tracked rows also give the stitch lengths where the traced
lines show no steady repeat. The angle spread is the SD of the tiles' stitch directions about
their smooth trend: how steady the direction of the work is from one part of the photo to
another. It does not resolve one stitch's slant against its neighbours': a hand's per-stitch
spread (3.5-4° in the bench's renders) averages away within a tile and reads 0.3-0.5°, as
machine work does.

Stitches per cm are given for work graded machine-regular (length CV 8 % or less) alone: hand
lengths that vary by 15-30 % leave no steady repeat along the rows, and the steps found between
their ends were 2-7 times too long in most of the bench's hand renders, and of 720 further
renders the 62 graded intermediate (CV 8-15 %) were within 5 % in 14. A few lengths can
agree by chance along hand work, so a CV of 8 % or less from fewer than 40 lengths counts as
machine-regular only where the light along the stitches also repeats steadily, as a machine's
exact repeat makes it; else the work is ungraded (of 720 renders, this took 12 of the 19 hand
photos that had read machine-regular, whose steps were 0.94-10.3 times the truth, and 4 of the
209 machine photos given right figures). Elsewhere the step and stitches per cm are
``None``, with a note saying why. The stitch length is given only where
the stitches per cm are, along rows: along hand rows stitch ends are often missed (of 720
renders, the median lengths found were 1.3-2.2 times the truth, within 5 % in 4-9 %), and
along a satin column the ends found are its edges (lock satin lengths within 5 % in 16 %),
while machine rows' lengths were within 5 % in 96-99 % where stitches per cm were given. The
length CV, the angle spread and the grade are always given.

Limits: threads narrower than 3 px (or a satin column's stitches closer than that, as in most
hand satin below about 20 px/mm) cannot be told apart, and without a steady repeat along the
stitches the photo is refused; a stem row steps forward by about half a stitch along a row that
slants across the stitches, but lines along the stitches see whole stitches, so stem is counted
at half or less of its stitches per cm; a hand darning row's irregular stitches and random
offsets from row to row often leave no repeat along the lines, and then a longer one is taken;
a hand satin or darning stitch's ragged ends are often missed; where a satin column is not seen
as one (its ends not found to line up, as happens to stitches so long that a tile holds only a
column or two), it is counted along the stitches. A hand satin column's threads lie unevenly
and overlap, and their crests across the column merge where they lie closer than about 4 px, so
such a column is counted at a half to a tenth of its stitches per cm where its threads are 1-3
px apart, and even wider ones only within 10-25 %; along the stitches its lengths run from one
column's edge to the next, ground between them included, so satin lengths come out long and
their CV loose.

Hand length CVs are not measured: where the work is not machine-regular, the CV given is the
spread of the gaps between the ends found, and those gaps are seldom single stitches. It shows
that no one length repeats, which is what the grade reads, but not how much the stitches' own
lengths vary: over 240 hand renders whose CVs were drawn over 4-40 % (Sozni's are 15-30 %), its
correlation with the truth was 0.03-0.09 for each stitch type, and 26 of the 31 whose lengths
varied by under 8 % were still graded hand-irregular (their angles, spacing and ragged ends vary
by hand). Over Sozni's own narrow range it comes within 0.05 of the truth about half the time,
by being near 20 % rather than by following it.

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
from craftvision.measure._threads import band_crests, crests, track, upright
from craftvision.measure.calibration import HOW_TO_CALIBRATE, Calibration

MACHINE_MAX_CV = 0.08  # machines repeat one stitch length within a few percent
HAND_MIN_CV = 0.15  # Sozni stitch lengths vary by 15-30 %
UNCALIBRATED = f"stitch lengths in mm need a calibration: {HOW_TO_CALIBRATE}"
UNSTEADY = (
    "stitches per cm and stitch length withheld: the stitch lengths are not machine-regular (CV "
    "over 8 %), which leaves no steady step from one stitch to the next to count by, and along "
    "such rows stitch ends are often missed, so the lengths between the ends found run long; "
    "the length CV given is the spread of those lengths, which shows that no one length repeats "
    "but is not the stitches' own CV"
)
UNRESOLVED = (
    "stitches per cm withheld: the satin column's threads were not found evenly spaced across its "
    "middle, so whether each thread seen is one stitch or a zigzag's pair is not known"
)
UNGRADED = (
    "stitches per cm and stitch length withheld: the work is not shown to be machine-regular "
    "(too few stitch lengths and no steady repeat), so the step between the ends found may "
    "not be one stitch"
)
LOOSE_ENDS = (
    "stitches per cm and stitch length withheld: the lengths read machine-regular only from how "
    "sharply the light along the stitches repeats, not from the ends found, so that repeat may "
    "be a thread's twist or a fill's stagger rather than one stitch"
)
ACROSS_COLUMNS = (
    "stitch length withheld: along a satin column's stitches the ends found are the column's "
    "edges, and the gaps between them take in the ground between columns"
)
_MIN_SIDE_PX = 48
_MIN_STITCH_PX = 6.0
_MIN_STITCHES = 12  # fewer give no steady figures
_MIN_THREAD_PX = 3.0  # rows of thinner threads cannot be told apart
_MERGED_PX = 3.5  # a zigzag's threads closer than this across the middle of a column merge
_ALIGNED = 0.6  # satin: ends of neighbouring stitches within this many thread spacings
# Satin: the share of the light's swing at the scale of a stitch along the stitches that is
# kept when averaged across them over two stitch lengths, along the best line tried (column
# edges slant across the stitches by up to _EDGE_TILTS); where rows lie side by side with
# their ends at random, averaging keeps 1-20 % of it.
_COHERENT = 0.25
_EDGE_TILTS = np.radians(np.arange(-35.0, 36.0, 5.0))  # column edges tried, from square
_SEED_STEP = 16  # px between the seeds of the lines traced along the stitches
_REACH = 128  # px traced from each seed both ways
# Stitch ends are dips of light this deep (shares of the photo's light range); the shallower
# ones only where the repeat is steady (a machine's) and their commonest gap is within
# _AGREE of it.
_DEPTHS = (0.06, 0.015)
_STEADY = 0.2  # autocorrelation at the repeat, as a share of that at no lag
_AGREE = 0.05
# Lengths are kept within this span about the commonest (shares of it).
_WINDOW = (0.5, 1.6)
_SHARP = 0.05  # a peak of lengths this narrow (CV) is one length repeated: a machine's
# Fewer lengths than this call a low CV machine-regular only with a steady repeat behind them.
_FEW_LENGTHS = 40
_STEADY_REPEAT = 0.1
# A repeat this steady is a machine's (of 720 renders, 3 of 295 hand photos reached it, and 236
# of 317 machine ones); its ends may still be found loosely, widening the lengths between
# them, and the CV is then the smaller of theirs and the repeat's own (see :func:`_repeat`).
_STEADY_CV = 0.3
# A less steady repeat gives the CV too where it is sharp (its own CV a machine's) and the
# commonest length agrees with it within _AGREE; no step is then given (see the module doc).
_STEADY_SHARP = 0.15
_SHARP_REPEAT = 0.06


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
    thread spacing across (px), for each end the offset along the stitches to the nearest end
    of the neighbouring row (px, signed; NaN where that row has none), and the upright tile
    with the height (px) of its strips across the stitches."""

    gaps: list[np.ndarray]
    spacing: float
    offsets: np.ndarray
    upright: np.ndarray
    strip: int


def _tile_stitches(image: np.ndarray, spacing: float) -> _Tile | None:
    """Stitch ends in one tile turned so its rows of thread stand upright (``image``, NaN
    outside), whose threads lie ``spacing`` px apart (None: threads too thin).

    The tile is cut into strips across the rows; in each strip the rows are the crests across
    (counted twice, the second time at the first count's spacing), and crests are followed
    from strip to strip as rows, so a row that curves or wavers is still followed. Along each
    row the ends are dips of light.
    """
    if spacing < _MIN_THREAD_PX:
        return None
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
        upright=image,
        strip=strip,
    )


def _middle_spacing(image: np.ndarray, spacing: float, strip: int) -> float | None:
    """Spacing (px) of the threads across the middle of the stitches of an upright tile, where
    they lie evenly at half the thread spacing (None where they do not).

    A machine satin zigzag shares each needle hole between two stitches, so its threads meet
    in pairs at the column's edges and lie evenly at half the spacing across its middle. Crests
    are sought at half the spacing in strips across the stitches; where a share of the strips
    shows them evenly that far apart, that is the spacing along the column.
    """
    even, counted = [], 0
    for top in range(0, image.shape[0] - strip + 1, strip):
        rows = image[top : top + strip]
        cols = np.flatnonzero(np.isfinite(rows).all(axis=0))
        if len(cols) < 4 * spacing:
            continue
        gaps = np.diff(crests(rows[:, cols[0] : cols[-1] + 1].mean(axis=0), spacing / 2))
        if len(gaps) < 4:
            continue
        counted += 1
        q25, median, q75 = np.percentile(gaps, [25, 50, 75])
        if 0.35 * spacing <= median <= 0.65 * spacing and q75 - q25 < 0.3 * median:
            even.append(median)
    return float(np.median(even)) if counted and len(even) >= 0.2 * counted else None


def _lined_up(image: np.ndarray, length: float) -> tuple[float, float]:
    """How far the stitch ends line up across the stitches of an upright image (0-1), and the
    slant of the line they make (tangent, shift along the stitches per px across; NaN where
    none of the slants tried is the best).

    The light along the stitches is taken at the scale of a stitch (smoothed over a tenth of
    ``length``, less its drift over half of it) and averaged across them, in blocks two
    stitches wide, along lines slanting by each of ``_EDGE_TILTS``: the share of its variance
    the averages keep along the best lines is near 1 where the ends of side-by-side stitches
    line up along the column's edges (satin) and small where neighbouring rows end at random.
    """
    detail = _smooth_along(image.T, max(1.0, length / 10)) - _smooth_along(image.T, length / 2)
    detail = detail.T
    h, w = detail.shape
    kept = []
    for tilt in np.tan(_EDGE_TILTS):
        shear = np.float32([[1, 0, 0], [tilt, 1, -tilt * w / 2]])
        turned = cv2.warpAffine(detail, shear, (w, h), flags=cv2.INTER_LINEAR, borderValue=np.nan)
        kept.append(_kept(turned, min(w, round(2 * length)), length))
    k = int(np.argmax(kept))
    if not 0 < k < len(kept) - 1:  # no best slant within those tried
        return kept[k], math.nan
    a, b, c = kept[k - 1], kept[k], kept[k + 1]  # a parabola through the best three
    bend = a - 2 * b + c
    step = 0.5 * (a - c) / bend if bend < 0 else 0.0
    angle = float(_EDGE_TILTS[k]) + step * float(_EDGE_TILTS[1] - _EDGE_TILTS[0])
    return kept[k], -math.tan(angle)


def _kept(image: np.ndarray, block: int, length: float) -> float:
    """Share of the variance along the columns of ``image`` (NaN outside) that their means
    over blocks ``block`` px wide keep, over the rows at least 60 % inside (and the columns
    with two such rows) in blocks with at least ``length`` such rows (0 where there are none).
    """
    h, n = image.shape[0], image.shape[1] // block
    parts = image[:, : n * block].reshape(h, n, block).transpose(1, 0, 2)  # block, row, column
    inside = np.isfinite(parts)
    inside &= (inside.mean(axis=2) >= 0.6)[:, :, None]
    inside &= (inside.sum(axis=1) >= 2)[:, None, :]
    rows, columns = inside.any(axis=2), inside.any(axis=1)
    use = (rows.sum(axis=1) >= length) & columns.any(axis=1)
    if not use.any():
        return 0.0
    inside, rows, columns = inside[use], rows[use], columns[use]
    values = np.where(inside, parts[use], 0.0)
    means = values.sum(axis=2) / np.maximum(inside.sum(axis=2), 1)
    centre = (means * rows).sum(axis=1, keepdims=True) / rows.sum(axis=1, keepdims=True)
    averaged = ((means - centre) ** 2 * rows).sum(axis=1) / rows.sum(axis=1)
    counts = np.maximum(inside.sum(axis=1), 1)
    level = values.sum(axis=1) / counts
    spread = ((values - level[:, None, :]) ** 2 * inside).sum(axis=1) / counts
    single = (spread * columns).sum(axis=1) / columns.sum(axis=1)
    return float(averaged.sum() / single.sum()) if single.sum() > 0 else 0.0


def _direction_field(gray: np.ndarray, spacing: float) -> tuple[np.ndarray, np.ndarray]:
    """The stitch direction at every pixel as a doubled angle (cos 2a, sin 2a), from the
    structure tensor averaged over about two thread spacings."""
    soft = cv2.GaussianBlur(gray, (0, 0), max(0.7, spacing / 4))
    gx = cv2.Sobel(soft, cv2.CV_32F, 1, 0, ksize=3)
    gy = cv2.Sobel(soft, cv2.CV_32F, 0, 1, ksize=3)
    sigma = max(5.0, 2.0 * spacing)
    jxx, jyy, jxy = (cv2.GaussianBlur(g, (0, 0), sigma) for g in (gx * gx, gy * gy, gx * gy))
    norm = np.maximum(np.hypot(jxx - jyy, 2 * jxy), 1e-9)
    # Along the threads is across the dominant gradient: the doubled angle turns by pi.
    return (-(jxx - jyy) / norm).astype(np.float32), (-2 * jxy / norm).astype(np.float32)


def _angles_at(field: tuple[np.ndarray, np.ndarray], x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Stitch direction (radians, modulo pi) at points, interpolated as a doubled angle."""
    mx, my = x.reshape(1, -1).astype(np.float32), y.reshape(1, -1).astype(np.float32)
    cos2, sin2 = (
        cv2.remap(f, mx, my, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)[0] for f in field
    )
    return np.arctan2(sin2, cos2) / 2


def _streamlines(
    field: tuple[np.ndarray, np.ndarray], shape: tuple[int, int]
) -> tuple[np.ndarray, np.ndarray]:
    """Lines traced along the stitch direction from a grid of seeds, 1 px a step, up to
    ``_REACH`` px each way: x and y (lines x steps, NaN past the photo's edge)."""
    h, w = shape
    ys, xs = np.mgrid[_SEED_STEP // 2 : h : _SEED_STEP, _SEED_STEP // 2 : w : _SEED_STEP]
    x0, y0 = xs.ravel().astype(np.float32), ys.ravel().astype(np.float32)
    line_x = np.full((len(x0), 2 * _REACH + 1), np.nan, np.float32)
    line_y = np.full_like(line_x, np.nan)
    line_x[:, _REACH], line_y[:, _REACH] = x0, y0
    start = _angles_at(field, x0, y0)
    for sign in (1, -1):
        x, y = x0.copy(), y0.copy()
        dx, dy = sign * np.cos(start), sign * np.sin(start)
        inside = np.ones(len(x0), bool)
        for k in range(1, _REACH + 1):
            angle = _angles_at(field, x, y)
            ux, uy = np.cos(angle), np.sin(angle)
            turn = np.where(ux * dx + uy * dy < 0, -1.0, 1.0)  # keep going the same way
            dx, dy = ux * turn, uy * turn
            x, y = (x + dx).astype(np.float32), (y + dy).astype(np.float32)
            inside &= (x >= 0) & (x <= w - 1) & (y >= 0) & (y <= h - 1)
            line_x[:, _REACH + sign * k] = np.where(inside, x, np.nan)
            line_y[:, _REACH + sign * k] = np.where(inside, y, np.nan)
    return line_x, line_y


def _profiles(
    gray: np.ndarray, line_x: np.ndarray, line_y: np.ndarray, spacing: float
) -> np.ndarray:
    """Light along each line, averaged across over two thirds of a thread (NaN outside)."""
    smooth = cv2.GaussianBlur(gray, (0, 0), max(0.7, spacing / 4))
    tx, ty = np.gradient(line_x, axis=1), np.gradient(line_y, axis=1)
    norm = np.maximum(np.hypot(tx, ty), 1e-6)
    nx, ny = -ty / norm, tx / norm
    offsets = (-spacing / 3, 0.0, spacing / 3)
    total = np.zeros(line_x.shape, np.float32)
    for off in offsets:
        mx = (line_x + off * nx).astype(np.float32)
        my = (line_y + off * ny).astype(np.float32)
        total += cv2.remap(smooth, mx, my, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    profiles = total / len(offsets)
    profiles[~np.isfinite(line_x)] = np.nan
    return profiles


def _smooth_along(profiles: np.ndarray, sigma: float) -> np.ndarray:
    """Profiles smoothed along the lines (Gaussian ``sigma`` px), NaN kept outside."""
    valid = np.isfinite(profiles)
    filled = np.where(valid, profiles, 0).astype(np.float32)
    weight = cv2.GaussianBlur(valid.astype(np.float32), (0, 0), sigmaX=sigma, sigmaY=0.01)
    smooth = cv2.GaussianBlur(filled, (0, 0), sigmaX=sigma, sigmaY=0.01)
    return np.where(valid, smooth / np.maximum(weight, 1e-3), np.nan).astype(np.float32)


@dataclass(frozen=True)
class _Repeat:
    """The commonest repeat of light along the lines: its ``length`` (px), how ``steady`` it is
    (the autocorrelation there as a share of that at no lag) and the ``cv`` of the lengths
    that its peak's width implies (NaN where the peak is too flat to measure)."""

    length: float
    steady: float
    cv: float


def _peak_width(corr: np.ndarray, lag: int) -> float:
    """Gaussian SD (px) of the autocorrelation's peak at ``lag``, from a parabola fitted to its
    logarithm over two lags each side (NaN where that is not a peak)."""
    around = np.arange(lag - 2, lag + 3)
    if around[-1] >= len(corr):
        return math.nan
    values = corr[np.abs(around)]
    if np.any(values <= 0):
        return math.nan
    bend = np.polyfit(around - lag, np.log(values), 2)[0]
    return math.sqrt(-0.5 / bend) if bend < 0 else math.nan


def _repeat(profiles: np.ndarray) -> _Repeat | None:
    """The commonest repeat along the lines: the strongest peak of their mean autocorrelation
    past its first dip, after taking off light that drifts slowly.

    Its width is the zero lag's (the shape of one stitch end) widened by the spread of the
    lengths, so their CV is the difference of the two widths' squares, rooted, over the repeat;
    it does not depend on finding each end.
    """
    valid = np.isfinite(profiles)
    detail = profiles - _smooth_along(profiles, profiles.shape[1] / 6)
    detail = np.where(valid, detail, 0).astype(np.float32)
    lags = profiles.shape[1] // 2
    # Zero padding to a power of two past the lags of interest keeps them from wrapping round.
    n = 1 << (profiles.shape[1] + lags - 1).bit_length()
    spectrum = np.fft.rfft(detail, n, axis=1)
    counts = np.fft.rfft(valid.astype(np.float32), n, axis=1)
    power = np.fft.irfft((spectrum * spectrum.conj()).real.sum(axis=0), n)[:lags]
    pairs = np.fft.irfft((counts * counts.conj()).real.sum(axis=0), n)[:lags]
    corr = power / np.maximum(pairs, 1.0)
    rising = np.flatnonzero((corr[1:-1] > corr[:-2]) & (corr[1:-1] >= corr[2:])) + 1
    falling = np.flatnonzero((corr[1:-1] < corr[:-2]) & (corr[1:-1] <= corr[2:])) + 1
    if not len(falling):
        return None
    peaks = rising[(rising > falling[0]) & (rising >= _MIN_STITCH_PX)]
    if not len(peaks):
        return None
    k = int(peaks[np.argmax(corr[peaks])])
    a, b, c = corr[k - 1], corr[k], corr[k + 1]
    bend = a - 2 * b + c
    length = float(k + (0.5 * (a - c) / bend if bend < 0 else 0.0))
    spread = _peak_width(corr, k) ** 2 - _peak_width(corr, 0) ** 2
    return _Repeat(length, float(b / max(corr[0], 1e-9)), math.sqrt(max(spread, 0.0)) / length)


def _dips(profiles: np.ndarray, shortest: float, depth: float) -> tuple[np.ndarray, np.ndarray]:
    """Stitch ends along the lines: minima of light at least ``depth`` below the brightest
    point within ``shortest`` / 2 on each side, and the lowest within ``shortest``.

    Returns each end's line and sub-pixel position along it.
    """
    valid = np.isfinite(profiles)
    low = np.where(valid, profiles, -np.inf).astype(np.float32)
    high = np.where(valid, profiles, np.inf).astype(np.float32)
    reach = max(2, round(shortest / 2))
    side = np.ones((1, reach), np.uint8)
    border = {"borderType": cv2.BORDER_CONSTANT, "borderValue": -np.inf}
    before = cv2.dilate(low, side, anchor=(reach - 1, 0), **border)
    after = cv2.dilate(low, side, anchor=(0, 0), **border)
    before = np.pad(before[:, :-1], ((0, 0), (1, 0)), constant_values=-np.inf)
    after = np.pad(after[:, 1:], ((0, 0), (0, 1)), constant_values=-np.inf)
    near = max(1, int(shortest) - 1)
    lowest = cv2.erode(
        high,
        np.ones((1, 2 * near + 1), np.uint8),
        borderType=cv2.BORDER_CONSTANT,
        borderValue=np.inf,
    )
    whole = cv2.erode(
        valid.astype(np.uint8),
        np.ones((1, 2 * reach + 1), np.uint8),
        borderType=cv2.BORDER_CONSTANT,
        borderValue=0,
    )
    found = (whole > 0) & (high <= lowest) & (np.minimum(before, after) - high > depth)
    line, at = np.nonzero(found)
    a, b, c = profiles[line, at - 1], profiles[line, at], profiles[line, at + 1]
    bend = a - 2 * b + c
    shift = np.where(bend > 0, 0.5 * (a - c) / np.where(bend > 0, bend, 1.0), 0.0)
    return line, at + np.clip(shift, -0.5, 0.5)


def _traced_gaps(gray: np.ndarray, spacing: float) -> tuple[list[np.ndarray], _Repeat | None]:
    """Gaps between stitch ends (px) along lines traced along the stitches over the photo, per
    line, and the repeat of light along them (None where there is none).

    The lines follow the local stitch direction, so curving rows are followed; the commonest
    repeat of light along them sets the scale, and the ends are found at that scale (dips at
    least half a repeat apart, on profiles smoothed over a twelfth of it), so that twist
    striations and the ground's texture do not split stitches. Where too few ends are deep
    enough but the repeat is steady, shallower dips are taken if their gaps agree with it.
    """
    line_x, line_y = _streamlines(_direction_field(gray, spacing), gray.shape)
    profiles = _profiles(gray, line_x, line_y, spacing)
    found = _repeat(profiles)
    if found is None:
        return [], None
    repeat, strength = found.length, found.steady
    values = profiles[np.isfinite(profiles)]
    spread = float(np.percentile(values, 95) - np.percentile(values, 5))
    smooth = _smooth_along(profiles, max(0.7, 0.08 * repeat))

    def gaps_at(depth: float) -> tuple[np.ndarray, np.ndarray]:
        """Gaps between dips ``depth`` (a share of the light's range) deep, and their lines."""
        line, at = _dips(smooth, 0.55 * repeat, depth * spread)
        # Two ends of equal light within half a repeat are one flat-bottomed dip.
        gaps = np.diff(at)
        keep = (line[1:] == line[:-1]) & (gaps >= 0.5 * repeat)
        return gaps[keep], line[1:][keep]

    gaps, owner = gaps_at(_DEPTHS[0])
    if len(gaps) < _MIN_STITCHES and strength >= _STEADY:
        shallow, shallow_owner = gaps_at(_DEPTHS[1])
        if len(shallow) >= _MIN_STITCHES and abs(_commonest(shallow) / repeat - 1) <= _AGREE:
            gaps, owner = shallow, shallow_owner
    return [gaps[owner == k] for k in np.unique(owner)], found


def regularity_grade(
    length_cv: float, n_lengths: int | None = None, steadiness: float | None = None
) -> tuple[str, str]:
    """Regularity grade and its rule from the stitch length CV.

    A CV of 8 % or less from fewer than ``_FEW_LENGTHS`` lengths counts as machine-regular only
    where the light along the stitches repeats steadily (``steadiness``, the autocorrelation
    at the repeat as a share of that at no lag, at least ``_STEADY_REPEAT``): a machine repeats
    one stitch exactly, while a few lengths found along hand work can agree by chance (of 720
    renders, 19 of 360 hand photos read machine-regular; 12 of them lack both). Else the work
    is ``ungraded``. A CV between 8 and 15 % with no steady repeat is hand work's: a machine's
    exact repeat shows in the light even where its ends are found loosely (of 720 renders, 40
    hand and 12 machine photos fell between; 28 and 3 of them without a steady repeat).

    Example:
        >>> regularity_grade(0.02)[0], regularity_grade(0.22)[0]
        ('machine-regular', 'hand-irregular')
        >>> regularity_grade(0.02, n_lengths=30, steadiness=0.01)[0]
        'ungraded'
        >>> regularity_grade(0.11, steadiness=0.02)[0], regularity_grade(0.11, steadiness=0.5)[0]
        ('hand-irregular', 'intermediate')
    """
    pct = 100 * length_cv
    if length_cv <= MACHINE_MAX_CV:
        thin = n_lengths is not None and n_lengths < _FEW_LENGTHS
        if thin and steadiness is not None and steadiness < _STEADY_REPEAT:
            return "ungraded", (
                f"stitch length CV {pct:.1f} %, but from only {n_lengths} lengths and with no "
                "steady repeat of light along the stitches: too little to call machine-regular"
            )
        return "machine-regular", f"stitch length CV {pct:.1f} % ≤ 8 %: one length repeated"
    if length_cv >= HAND_MIN_CV:
        return "hand-irregular", f"stitch length CV {pct:.1f} % ≥ 15 %: lengths vary by hand"
    if steadiness is not None and steadiness < _STEADY_REPEAT:
        return "hand-irregular", (
            f"stitch length CV {pct:.1f} % over 8 %, with no steady repeat of light along the "
            "stitches: lengths vary by hand"
        )
    return "intermediate", f"stitch length CV {pct:.1f} % between 8 % (machine) and 15 % (hand)"


@dataclass(frozen=True)
class StitchResult:
    """Stitch figures of one close-up of embroidery (lengths in px; ``*_mm`` need a scale).

    ``work`` is how the stitches are laid: ``"rows"`` (each stitch follows the last along a
    line: running, stem, darning, fill and chain stitches) or ``"columns"`` (stitches side by
    side across a band: satin); ``stitch_pitch_px`` is the step from one stitch to the next
    along that line or column, which gives stitches per cm (``None`` where it is withheld:
    see :attr:`withheld`). ``repeat_steadiness`` is how steadily the light along the stitches
    repeats (the autocorrelation at the repeat as a share of that at no lag: mostly under 0.2 for
    hand work, 0.3 or more for most machine work), which the grade reads as well as the CV.

    Example:
        >>> r = StitchResult("a.png", 30.0, 0.02, 30.0, "rows", 0.5, 120, 15.0)
        >>> round(r.stitch_length_mm, 2), round(r.stitches_per_cm, 1), r.grade
        (2.0, 5.0, 'machine-regular')
        >>> StitchResult("b.png", 30.0, 0.2, None, "rows", 4.0, 120, 15.0).stitches_per_cm
    """

    path: str | None
    stitch_length_px: float | None
    stitch_length_cv: float
    stitch_pitch_px: float | None
    work: str
    angle_sd_deg: float
    n_stitches: int
    px_per_mm: float | None = None
    repeat_steadiness: float | None = None
    regular_by_repeat_alone: bool = False

    @property
    def stitch_length_mm(self) -> float | None:
        """Median stitch length in mm (None without a calibration or where it is withheld)."""
        if self.px_per_mm is None or self.stitch_length_px is None:
            return None
        return self.stitch_length_px / self.px_per_mm

    @property
    def stitches_per_cm(self) -> float | None:
        """Stitches per cm along the line or column of work (None without a calibration, or
        for hand work without a steady step)."""
        if self.px_per_mm is None or self.stitch_pitch_px is None:
            return None
        return 10 * self.px_per_mm / self.stitch_pitch_px

    @property
    def withheld(self) -> str | None:
        """Why stitches per cm or the stitch length are withheld (None where both are given):
        ``UNSTEADY`` for work whose CV is not machine-regular, ``UNGRADED`` for work left
        ungraded and ``LOOSE_ENDS`` for work read machine-regular from its repeat alone (all
        three withhold both), else ``UNRESOLVED`` where a satin column's step is not known and
        ``ACROSS_COLUMNS`` for the length of a column's stitches."""
        if self.stitch_pitch_px is None and self.stitch_length_cv > MACHINE_MAX_CV:
            return UNSTEADY
        if self.grade == "ungraded":
            return UNGRADED
        if self.regular_by_repeat_alone:
            return LOOSE_ENDS
        notes = (
            (UNRESOLVED, self.stitch_pitch_px is None),
            (ACROSS_COLUMNS, self.stitch_length_px is None),
        )
        return "; ".join(note for note, applies in notes if applies) or None

    @property
    def grade(self) -> str:
        """Regularity grade (see :func:`regularity_grade`)."""
        return self._graded[0]

    @property
    def rule(self) -> str:
        """The rule that gave the grade."""
        return self._graded[1]

    @property
    def _graded(self) -> tuple[str, str]:
        return regularity_grade(self.stitch_length_cv, self.n_stitches, self.repeat_steadiness)

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
            "repeat_steadiness": r(self.repeat_steadiness),
            "grade": self.grade,
            "rule": self.rule,
            "note": "; ".join(
                note
                for note, applies in (
                    (UNCALIBRATED, self.px_per_mm is None),
                    (self.withheld, self.withheld is not None),
                )
                if applies
            )
            or None,
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
    angles, centres, spacings, tiles, corners = [], [], [], [], []
    for y in np.linspace(0, h - tile, 3).astype(int):
        for x in np.linspace(0, w - tile, 3).astype(int):
            part = gray[y : y + tile, x : x + tile]
            along, coherence = _direction(part)
            if coherence < 0.1:
                continue
            angles.append(along)
            centres.append((x + tile / 2, y + tile / 2))
            spacings.append(_thread_width(part, along))
            if x in (0, w - tile) and y in (0, h - tile):  # rows tracked in the four corners
                corners.append(upright(part, along + math.pi / 2))
                found = _tile_stitches(corners[-1], spacings[-1])
                if found is not None:
                    tiles.append(found)
    spacing = float(np.median(spacings)) if spacings else None
    # Stitch ends along the traced lines; where too few, along the rows tracked in the tiles
    # (no steady repeat along the lines); where still too few, along the lines on the log of
    # the light, 4 grey levels up from black so that a near-black thread's noise does not
    # swamp it. Each is tried only where the one before falls short.
    traced, repeat = _traced_gaps(gray, spacing) if spacing is not None else ([], None)
    steadiness = 0.0 if repeat is None else repeat.steady
    finders = (
        lambda: traced,
        lambda: [row for t in tiles for row in t.gaps],
        lambda: _traced_gaps(np.log(gray + 4.0), spacing)[0] if spacing is not None else [],
    )
    for find in finders:
        rows = find()
        gaps = np.concatenate(rows) if rows else np.empty(0)
        if len(gaps) >= _MIN_STITCHES:
            break
    else:
        hint = "" if tiles or not angles else f" (threads under {_MIN_THREAD_PX:g} px wide)"
        raise MeasurementError(
            f"{label}: found too few stitches to measure{hint}; photograph the work with its "
            f"threads {_MIN_THREAD_PX:g} px wide or more and a dozen stitches or more in view"
        )
    # Robust figures: a missed end makes a double length and a false one splits a stitch, so
    # the figures are taken about the commonest length.
    common, gaps = _about_commonest(gaps)
    median = float(np.median(gaps))
    steps = np.concatenate([_steps(row, 0.5 * common) for row in rows])
    _, steps = _about_commonest(steps)
    lined = np.array([_lined_up(part, common) for part in corners]).reshape(-1, 2)
    work, pitch = _work(tiles, float(np.median(steps)), lined)
    length_cv = _length_cv(gaps / common)
    if repeat is not None and repeat.steady >= _STEADY_CV and math.isfinite(repeat.cv):
        length_cv = min(length_cv, repeat.cv)
    regular = regularity_grade(length_cv, len(gaps), steadiness)[0] == "machine-regular"
    sharp = (
        repeat is not None
        and repeat.steady >= _STEADY_SHARP
        and repeat.cv < _SHARP_REPEAT
        and abs(common / repeat.length - 1) <= _AGREE
    )
    if sharp:
        length_cv = min(length_cv, repeat.cv)
    by_repeat = not regular and regularity_grade(length_cv, len(gaps), steadiness)[0] == (
        "machine-regular"
    )
    if not regular:
        pitch = None
    return StitchResult(
        path=source_path(source, name),
        stitch_length_px=median if work == "rows" and pitch is not None else None,
        stitch_length_cv=length_cv,
        stitch_pitch_px=pitch,
        work=work,
        angle_sd_deg=_angle_spread(angles, centres),
        n_stitches=len(gaps),
        px_per_mm=None if calibration is None else calibration.px_per_mm,
        repeat_steadiness=steadiness,
        regular_by_repeat_alone=by_repeat,
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


def _length_cv(ratios: np.ndarray) -> float:
    """CV of stitch lengths given as shares of the commonest length (all within ``_WINDOW``).

    Hand lengths spread widely, and their CV comes from the interquartile range. A machine
    repeats one length, which makes a sharp peak over a thin background of split and doubled
    stitches (false and missed ends) that would widen the interquartile range; where the peak
    fitted over an even background (:func:`_peak_cv`) is sharper than ``_SHARP``, it gives
    the CV.

    Example:
        >>> rng = np.random.default_rng(0)
        >>> lengths = np.concatenate([rng.normal(1, 0.01, 300), rng.uniform(0.5, 1.6, 200)])
        >>> round(_length_cv(lengths), 2)
        0.01
    """
    q25, median, q75 = np.percentile(ratios, [25, 50, 75])
    peak = _peak_cv(ratios, float(median), float(q75 - q25) / 1.349)
    return peak if peak < _SHARP else float((q75 - q25) / 1.349 / median)


def _peak_cv(ratios: np.ndarray, centre: float, spread: float, rounds: int = 50) -> float:
    """CV of the Gaussian peak in a mixture with an even background over ``_WINDOW``, fitted
    by expectation-maximisation from a peak at ``centre`` with SD ``spread``."""
    background = 1 / (_WINDOW[1] - _WINDOW[0])
    mean, sd, share = centre, max(spread, 0.005), 0.5
    for _ in range(rounds):
        density = share * np.exp(-0.5 * ((ratios - mean) / sd) ** 2) / (sd * math.sqrt(2 * math.pi))
        weight = density / (density + (1 - share) * background)
        total = max(float(weight.sum()), 1e-9)
        share = float(weight.mean())
        mean = float((weight * ratios).sum()) / total
        sd = max(math.sqrt(float((weight * (ratios - mean) ** 2).sum()) / total), 0.003)
    return sd / mean


def _about_commonest(lengths: np.ndarray) -> tuple[float, np.ndarray]:
    """The commonest length and the lengths within ``_WINDOW`` of it."""
    common = _commonest(lengths)
    return common, lengths[(lengths > _WINDOW[0] * common) & (lengths < _WINDOW[1] * common)]


def _commonest(lengths: np.ndarray) -> float:
    """The commonest of some lengths: the densest 20 % wide span of them (on a log scale)."""
    logs = np.sort(np.log(lengths))
    within = np.searchsorted(logs, logs + math.log(1.2)) - np.arange(len(logs))
    start = int(np.argmax(within))
    return float(np.exp(np.median(logs[start : start + within[start]])))


def _work(tiles: list[_Tile], step: float, lined: np.ndarray) -> tuple[str, float | None]:
    """How the stitches are laid and the step between them along the line of work (px).

    Satin stitches lie side by side, so the ends of neighbouring stitches line up along the
    column's edges: neighbouring tracked rows end within ``_ALIGNED`` thread spacings of each
    other, or, at the scale of a stitch, the ends line up across the stitches (``lined``: per
    part of the photo, how far and the slant of that line; see :func:`_lined_up`). The step
    along the column is the thread spacing across its middle in the tiles where it is even
    (see :func:`_middle_spacing`), else half the tracked rows' spacing where that half is too
    close to be seen (a machine's zigzag; None where it is not), lengthened where the column's
    edge slants across the stitches. In rows, the ends of neighbouring rows fall
    anywhere (or a fill's fixed offset of a fraction of a stitch), and the step is the distance
    between stitch ends along a row.
    """
    shift = np.concatenate([t.offsets / t.spacing for t in tiles] + [np.empty(0)])
    shift = shift[np.isfinite(shift)]
    if len(shift) >= 5 and np.median(np.abs(shift)) < _ALIGNED:
        slant = float(np.median(shift))
    elif len(lined) and np.median(lined[:, 0]) >= _COHERENT and tiles:
        found = np.abs(lined[np.isfinite(lined[:, 1]), 1])
        slant = float(np.median(found)) if len(found) else 0.0
    else:
        return "rows", step
    middle = [_middle_spacing(t.upright, t.spacing, t.strip) for t in tiles]
    even = [m for m in middle if m is not None]
    spacing = float(np.median([t.spacing for t in tiles]))
    if even:
        spacing = float(np.median(even))
    elif spacing / 2 < _MERGED_PX:
        spacing /= 2
    else:
        return "columns", None
    return "columns", spacing * math.hypot(1, slant)


@dataclass(frozen=True)
class StitchSample:
    """The close-ups of one embroidery pooled: means over the images and the grade.

    Example:
        >>> StitchSample.of([]).n_images
        0
    """

    n_images: int
    n_graded: int
    stitches_per_cm: float | None
    stitch_length_mm: float | None
    stitch_length_cv: float | None
    angle_sd_deg: float | None
    repeat_steadiness: float | None = None

    @classmethod
    def of(cls, results: Iterable[StitchResult]) -> StitchSample:
        """Pool per-image results (means over the images; the length CV over the graded ones,
        since an ungraded photo's CV rests on too few lengths)."""
        results = list(results)
        graded = [r for r in results if r.grade != "ungraded"]
        return cls(
            n_images=len(results),
            n_graded=len(graded),
            stitches_per_cm=pooled_mean([r.stitches_per_cm for r in results]),
            stitch_length_mm=pooled_mean([r.stitch_length_mm for r in results]),
            stitch_length_cv=pooled_mean([r.stitch_length_cv for r in graded]),
            angle_sd_deg=pooled_mean([r.angle_sd_deg for r in results]),
            repeat_steadiness=pooled_mean([r.repeat_steadiness for r in graded]),
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict with the regularity grade."""
        cv = self.stitch_length_cv
        grade, rule = (
            regularity_grade(cv, steadiness=self.repeat_steadiness)
            if cv is not None
            else ("ungraded", "no photo measured")
        )
        if cv is None and self.n_images:
            rule = "no photo gave enough stitch lengths to grade"
        elif self.n_graded < self.n_images:
            rule = f"{rule} (the CV of the {self.n_graded} of {self.n_images} photos graded)"

        def r(v: float | None, k: int = 3) -> float | None:
            return None if v is None else round(v, k)

        return {
            "modality": "stitch",
            "summary": True,
            "n_images": self.n_images,
            "n_graded": self.n_graded,
            "stitches_per_cm": r(self.stitches_per_cm, 2),
            "stitch_length_mm": r(self.stitch_length_mm),
            "stitch_length_cv": r(cv, 4),
            "angle_sd_deg": r(self.angle_sd_deg, 2),
            "repeat_steadiness": r(self.repeat_steadiness),
            "grade": grade,
            "rule": rule,
        }
