"""Procedural close-ups of woven shawls: hand-woven Kani twill tapestry vs jacquard and power-loom.

Every image is computed per pixel from the fabric's construction (DESIGN.md §2): warp and weft
threads at drawn positions, a weave that says which yarn lies on top in each cell, yarns drawn
as shaded round bands (bright crown, dark edges, a shadow where they dive under a crossing
yarn) with twist striations and fibre texture. That per-pixel loop is a numba kernel:
rendering needs ``pip install 'craftvision[synth]'``. The classes differ only in how the cloth
is made:

- ``kani_handwoven``: 2/2 twill; hand irregularity in thread spacing (CV 8-20 %), handspun
  slubs (thickness CV 10-20 %), bowed and skewed wefts, per-thread dye variation; colour areas
  woven with their own wefts that turn back and interlock at every colour boundary (a fine
  toothed, pinched boundary line).
- ``jacquard_machine``: continuous wefts that make the pattern with long weft floats, a motif
  tile repeated exactly, uniform yarn and spacing (CV < 3 %), straight wefts.
- ``powerloom``: plain or twill, machine-perfect periodicity, solid colour, stripes or checks.

Scale, rotation, perspective, lighting, focus, palette (the same Kashmiri colours for every
class), sensor noise and JPEG are drawn independently of the class.

Truth per image: ``px_per_mm`` (and ``um_per_px``), ``threads_per_cm_warp`` / ``_weft``,
``spacing_cv`` and ``thickness_cv`` (coefficients of variation of the thread spacing and yarn
radius actually drawn, warp and weft averaged), ``weave`` (the ground weave), ``kind``
(subtype), ``float_max`` (longest float in view, in threads), ``n_colours`` and ``angle_deg``
(direction of the warps in the image, degrees from the x axis, y down).

Example:
    >>> import numpy as np
    >>> from craftvision.datasets.synth.weave import render_weave
    >>> img, truth = render_weave(np.random.default_rng(0), "kani_handwoven", px_per_mm=20.0)
    >>> img.dtype, img.shape[:2], truth["weave"]
    (dtype('uint8'), (256, 256), 'twill_2_2')
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass, field

import cv2
import numpy as np

from craftvision.datasets.synth import imaging
from craftvision.datasets.synth._jit import compiled

CLASSES = ("kani_handwoven", "jacquard_machine", "powerloom")
GENUINE_CLASS = "kani_handwoven"
KINDS: dict[str, tuple[str, ...]] = {
    "kani_handwoven": ("kani_jamawar", "kani_buta"),
    "jacquard_machine": ("jacquard_brocade", "jacquard_damask"),
    "powerloom": ("powerloom_solid", "powerloom_stripe", "powerloom_check"),
}
WEAVES = ("plain", "twill_2_1", "twill_2_2", "twill_3_1", "satin_5", "satin_8")
TRUTH_COLUMNS = (
    "px_per_mm",
    "threads_per_cm_warp",
    "threads_per_cm_weft",
    "spacing_cv",
    "thickness_cv",
    "weave",
    "kind",
    "float_max",
    "n_colours",
    "angle_deg",
)
PALETTE = imaging.KASHMIRI_PALETTE

# Pixels per thread are kept in this range by drawing the thread count for the camera's scale.
_PITCH_PX = (5.0, 22.0)
_TPC = (8.0, 40.0)
_PX_PER_MM = (5.0, 50.0)
_KIND_WEIGHTS = {
    "kani_handwoven": (0.6, 0.4),
    "jacquard_machine": (0.7, 0.3),
    "powerloom": (0.4, 0.3, 0.3),
}
_SATIN_MOVE = {5: 2, 8: 3}
_FAR = np.float32(1e6)
_GRAIN = 4096
_LUT = 256
# A yarn's width as it dives at a float end (by rise 0-1), and its brightness across (by
# distance from its axis over its radius, 0-2): a round crown, dark at the edges.
_NARROW = 0.55 + 0.45 * np.sqrt(np.linspace(0, 1, _LUT) * (2 - np.linspace(0, 1, _LUT)))
_CROWN = 0.3 + 0.7 * np.sqrt(np.clip(1 - np.linspace(0, 2, _LUT) ** 2, 0, None))
_NARROW, _CROWN = _NARROW.astype(np.float32), _CROWN.astype(np.float32)


@dataclass(frozen=True)
class WeaveConstruction:
    """How one shawl is woven: every close-up of the sample is rendered from this.

    Thread counts are per cm; ``*_cv`` are coefficients of variation (spacing, yarn thickness,
    per-thread dye); ``cover_*`` is yarn diameter over thread spacing; ``bow`` is the weft
    waviness in weft spacings and ``skew_deg`` how far the wefts lean off square; ``twist`` is
    the slope of the fibres on a yarn's surface, ``striation`` and ``hair`` the contrast of its
    twist lines and fibre streaks. ``colours`` are RGB (0-1) with index 0 the ground;
    ``warp_seq`` / ``weft_seq`` repeat colour indices thread by thread (stripes and checks).
    Kani areas are about ``motif_threads`` threads across and leave ``ground_share`` of the
    cloth to the ground colour; ``motif`` is the jacquard pattern tile in thread cells
    (0 = ground, k = colour k; woven as a weft-faced ``motif_satin``-end satin), else None.

    Example:
        >>> c = draw_construction(np.random.default_rng(0), "powerloom", px_per_mm=20.0)
        >>> c.weave in WEAVES, c.spacing_cv < 0.03
        (True, True)
    """

    label: str
    kind: str
    weave: str
    threads_per_cm_warp: float
    threads_per_cm_weft: float
    colours: tuple[tuple[float, float, float], ...]
    warp_seq: tuple[int, ...]
    weft_seq: tuple[int, ...] = (0,)
    spacing_cv: float = 0.0
    thickness_cv: float = 0.02
    cover_warp: float = 0.85
    cover_weft: float = 0.9
    bow: float = 0.0
    skew_deg: float = 0.0
    dye_cv: float = 0.01
    hair: float = 0.15
    twist: float = 0.5
    striation: float = 0.15
    twill_dir: int = 1
    motif_threads: float = 12.0
    ground_share: float = 0.55
    motif_satin: int = 5
    motif: np.ndarray | None = field(default=None, compare=False, repr=False)


def _twill(ii: np.ndarray, jj: np.ndarray, up: int, down: int, direction: int) -> np.ndarray:
    """Warp-on-top mask of an ``up``/``down`` twill (``direction`` +1 or -1 sets the diagonal)."""
    return (ii + direction * jj) % (up + down) < up


def _satin(ii: np.ndarray, jj: np.ndarray, n: int, *, warp_faced: bool) -> np.ndarray:
    """Warp-on-top mask of an ``n``-end satin (a float over ``n - 1``), warp- or weft-faced."""
    binding = (ii - _SATIN_MOVE[n] * jj) % n == 0
    return ~binding if warp_faced else binding


def _weave_mask(name: str, ii: np.ndarray, jj: np.ndarray, c: WeaveConstruction) -> np.ndarray:
    """Warp-on-top mask of a named ground weave at global thread indices ``ii`` x ``jj``."""
    if name == "plain":
        return (ii + jj) % 2 == 0
    if name.startswith("twill_"):
        up, down = (int(k) for k in name[6:].split("_"))
        return _twill(ii, jj, up, down, c.twill_dir)
    return _satin(ii, jj, int(name[6:]), warp_faced=True)


def _pick_colours(rng: np.random.Generator, n: int) -> list[tuple[float, float, float]]:
    """``n`` distinct palette colours, each slightly re-dyed (a per-sample shade)."""
    names = list(PALETTE)
    picks = rng.choice(len(names), n, replace=False)
    shade = rng.uniform(0.9, 1.08, (n, 3))
    return [
        tuple(float(min(1.0, v)) for v in np.array(PALETTE[names[k]]) * s)
        for k, s in zip(picks.tolist(), shade, strict=True)
    ]


def _periodic_noise(rng: np.random.Generator, shape: tuple[int, int], sigma: float) -> np.ndarray:
    """Smooth unit-variance noise that wraps around both axes (for an exactly repeating tile)."""
    tiled = np.tile(rng.standard_normal(shape).astype(np.float32), (3, 3))
    smooth = cv2.GaussianBlur(tiled, (0, 0), sigma)
    h, w = shape
    core = smooth[h : 2 * h, w : 2 * w]
    return (core - core.mean()) / (core.std() + 1e-6)


def _repeat(weave: str) -> int:
    """Threads in one repeat of a named weave."""
    if weave == "plain":
        return 2
    if weave.startswith("twill_"):
        return sum(int(k) for k in weave[6:].split("_"))
    return int(weave[6:])


def _jacquard_motif(rng: np.random.Generator, n_colours: int, unit: int) -> np.ndarray:
    """A motif tile (wefts x warps) of colour ids, often mirror-symmetric (a point-paper design).

    Its sides are multiples of ``unit`` threads, so the weaves inside it repeat with it.
    """
    rows, cols = (unit * max(1, round(int(v) / unit)) for v in rng.integers(14, 34, 2))
    mirror = rng.random() < 0.6
    half = (rows, (cols + 1) // 2) if mirror else (rows, cols)
    shape = _periodic_noise(rng, half, rng.uniform(1.5, 3.0))
    pick = _periodic_noise(rng, half, rng.uniform(2.0, 4.0))
    if mirror:
        shape = np.concatenate([shape, shape[:, ::-1]], axis=1)[:, :cols]
        pick = np.concatenate([pick, pick[:, ::-1]], axis=1)[:, :cols]
    top_level = max(n_colours - 2, 0)
    levels = np.clip(((pick + 1.5) / 3.0 * (n_colours - 1)).astype(np.int32), 0, top_level)
    return np.where(shape > rng.uniform(-0.2, 0.4), levels + 1, 0).astype(np.int32)


def _stripe_seq(rng: np.random.Generator, colours: list[int]) -> tuple[int, ...]:
    """A repeating stripe sequence of colour indices, each stripe 3-16 threads wide."""
    seq: list[int] = []
    for k in colours:
        seq += [k] * int(rng.integers(3, 17))
    return tuple(seq)


def draw_construction(
    rng: np.random.Generator, label: str, *, px_per_mm: float, kind: str | None = None
) -> WeaveConstruction:
    """Draw one shawl's construction for ``label``; thread counts suit the camera's ``px_per_mm``.

    Thread counts are drawn from 8-40 per cm but limited so that a thread spans about 5-22
    pixels at ``px_per_mm`` (where the range allows).

    Example:
        >>> c = draw_construction(np.random.default_rng(1), "kani_handwoven", px_per_mm=15.0)
        >>> c.weave, 0.08 <= c.spacing_cv <= 0.2
        ('twill_2_2', True)
    """
    if label not in KINDS:
        raise ValueError(f"unknown weave class {label!r}; expected one of {', '.join(CLASSES)}")
    if kind is None:
        kind = KINDS[label][int(rng.choice(len(KINDS[label]), p=_KIND_WEIGHTS[label]))]
    elif kind not in KINDS[label]:
        raise ValueError(f"kind {kind!r} is not a {label!r} kind; expected {KINDS[label]}")
    if px_per_mm <= 0:
        raise ValueError(f"px_per_mm must be positive, got {px_per_mm}")
    lo = min(max(_TPC[0], 10 * px_per_mm / _PITCH_PX[1]), _TPC[1])
    hi = max(min(_TPC[1], 10 * px_per_mm / _PITCH_PX[0]), lo)
    warp_tpc = float(np.exp(rng.uniform(math.log(lo), math.log(hi))))
    weft_tpc = float(np.clip(warp_tpc * rng.uniform(0.85, 1.3), lo, hi))
    hand = label == "kani_handwoven"
    common = {
        "label": label,
        "kind": kind,
        "threads_per_cm_warp": round(warp_tpc, 2),
        "threads_per_cm_weft": round(weft_tpc, 2),
        "cover_warp": float(rng.uniform(0.8, 0.98)),
        "cover_weft": float(rng.uniform(0.85, 1.0)),
        "hair": float(rng.uniform(0.1, 0.3)),
        "twist": float(rng.choice((-1.0, 1.0)) * rng.uniform(0.35, 0.8)),
        "striation": float(rng.uniform(0.06, 0.22)),
        "twill_dir": int(rng.choice((-1, 1))),
    }
    if hand:
        n = 1 + int(rng.integers(2, 5)) if kind == "kani_jamawar" else int(rng.integers(2, 4))
        colours = _pick_colours(rng, n)
        warp = 0 if rng.random() < 0.5 else int(rng.integers(0, n))
        return WeaveConstruction(
            weave="twill_2_2",
            colours=tuple(colours),
            warp_seq=(warp,),
            spacing_cv=float(rng.uniform(0.08, 0.2)),
            thickness_cv=float(rng.uniform(0.1, 0.2)),
            bow=float(rng.uniform(0.4, 1.0)),
            skew_deg=float(rng.choice((-1.0, 1.0)) * rng.uniform(1.0, 4.0)),
            dye_cv=float(rng.uniform(0.03, 0.07)),
            motif_threads=float(
                rng.uniform(4.0, 9.0) if kind == "kani_jamawar" else rng.uniform(6, 12)
            ),
            ground_share=float(
                rng.uniform(0.3, 0.5) if kind == "kani_jamawar" else rng.uniform(0.55, 0.7)
            ),
            **common,
        )
    machine = {
        "spacing_cv": float(rng.uniform(0.0, 0.012)),
        "thickness_cv": float(rng.uniform(0.008, 0.025)),
        "dye_cv": float(rng.uniform(0.004, 0.012)),
    }
    if label == "jacquard_machine":
        damask = kind == "jacquard_damask"
        n = 1 if damask else int(rng.integers(2, 5))
        colours = _pick_colours(rng, n)
        warp = 0 if rng.random() < 0.5 else int(rng.integers(0, n))
        length = int(rng.choice((5, 8)))
        grounds = ("satin_5",) if length == 5 else ("twill_2_2", "twill_3_1")
        ground = f"satin_{length}" if damask else str(rng.choice(grounds))
        return WeaveConstruction(
            weave=ground,
            colours=tuple(colours),
            warp_seq=(warp,),
            motif_satin=length,
            motif=_jacquard_motif(rng, n, math.lcm(length, _repeat(ground))),
            **machine,
            **common,
        )
    weave = str(
        rng.choice(("plain", "twill_2_2", "twill_2_1", "twill_3_1"), p=(0.4, 0.3, 0.15, 0.15))
    )
    n = 1 if kind == "powerloom_solid" else int(rng.integers(2, 4))
    colours = _pick_colours(rng, n + 1)
    warp_seq: tuple[int, ...] = (0 if rng.random() < 0.5 else n,)
    weft_seq: tuple[int, ...] = (0,)
    if kind == "powerloom_stripe":
        if rng.random() < 0.5:
            warp_seq = _stripe_seq(rng, list(range(n)))
        else:
            weft_seq = _stripe_seq(rng, list(range(n)))
    elif kind == "powerloom_check":
        warp_seq = _stripe_seq(rng, list(range(n)))
        weft_seq = warp_seq if rng.random() < 0.5 else _stripe_seq(rng, list(range(n)))
    used = sorted(set(warp_seq) | set(weft_seq))
    return WeaveConstruction(
        weave=weave,
        colours=tuple(colours[k] for k in used),
        warp_seq=tuple(used.index(k) for k in warp_seq),
        weft_seq=tuple(used.index(k) for k in weft_seq),
        **machine,
        **common,
    )


@dataclass(frozen=True)
class _Threads:
    """One thread system of an image, along a fabric axis (px).

    ``edges`` bound each thread's cell and ``centres`` are the threads; ``radii`` tabulates
    every thread's radius in ``bin_px`` steps along its length from ``origin`` (a single column
    when it is the same all along); ``offset`` is the global index of the first thread (the
    phase of the weave and motif); ``lookup`` is the cell at every 1/8 px from the first edge
    (faster than a binary search per pixel).
    """

    edges: np.ndarray
    centres: np.ndarray
    radii: np.ndarray
    bin_px: float
    origin: float
    offset: int
    lookup: np.ndarray

    @property
    def spacing_cv(self) -> float:
        gaps = np.diff(self.centres)
        return float(gaps.std() / gaps.mean())

    @property
    def thickness_cv(self) -> float:
        return float(self.radii.std() / self.radii.mean())

    @functools.cached_property
    def pitch(self) -> float:
        return float(np.diff(self.centres).mean())

    def index(self, pos: np.ndarray) -> np.ndarray:
        """The cell holding each position (to 1/8 px)."""
        return self.lookup.take(((pos - self.edges[0]) * np.float32(8)).astype(np.int32))

    def kernel_args(
        self,
    ) -> tuple[np.ndarray, np.float32, np.ndarray, np.ndarray, np.float32, np.float32]:
        """``(lookup, first edge, centres, radii, origin, 1 / bin_px)`` for :func:`_shade_cloth`."""
        return (
            self.lookup,
            self.edges[0],
            self.centres,
            self.radii,
            np.float32(self.origin),
            np.float32(1 / self.bin_px),
        )


def _smooth_rows(rng: np.random.Generator, shape: tuple[int, int], sigma: float) -> np.ndarray:
    """Unit-variance noise smoothed along rows by a Gaussian of ``sigma`` samples."""
    noise = rng.standard_normal(shape).astype(np.float32)
    if sigma > 0.3:
        noise = cv2.GaussianBlur(noise, (0, 0), sigmaX=sigma, sigmaY=1e-3)
    return noise / (noise.std() + 1e-6)


def _threads(
    rng: np.random.Generator,
    span: tuple[float, float],
    along: tuple[float, float],
    pitch: float,
    cover: float,
    c: WeaveConstruction,
    *,
    cv: float,
    period: int,
) -> _Threads:
    """Place the threads crossing ``span`` (px) and tabulate their radius along ``along`` (px).

    Hand-woven spacing mixes white jitter with slow tension zones; machine jitter (tiny) repeats
    every ``period`` threads, so the cloth stays exactly periodic.
    """
    lo, hi = span
    n = math.ceil((hi - lo) / pitch) + 7
    offset = int(rng.integers(0, 100_000))
    if c.label == "kani_handwoven":
        mix = rng.uniform(0.5, 0.85)
        z = mix * rng.standard_normal(n) + math.sqrt(1 - mix * mix) * _smooth_rows(
            rng, (1, n), rng.uniform(2.0, 5.0)
        ).ravel().astype(np.float64)
        steps = np.clip(1 + cv * z / (z.std() + 1e-9), 0.45, 1.8)
        steps /= steps.mean()
    else:
        base = np.clip(1 + cv * rng.standard_normal(period), 0.9, 1.1)
        steps = (base / base.mean())[(offset + np.arange(n)) % period]
    steps *= pitch / steps.mean()
    centres = lo - 3 * pitch + np.concatenate([[0.0], np.cumsum(steps[:-1])])
    edges = np.concatenate([[centres[0] - steps[0] / 2], (centres[1:] + centres[:-1]) / 2])
    edges = np.append(edges, centres[-1] + steps[-1] / 2)
    cv_t = c.thickness_cv
    bin_px = 3.0
    if c.label == "kani_handwoven":
        bins = math.ceil((along[1] - along[0]) / bin_px) + 2
        slub_px = rng.uniform(1.0, 3.0) * pitch
        thickness = (1 + 0.55 * cv_t * rng.standard_normal((n, 1))) * (
            1 + 0.85 * cv_t * _smooth_rows(rng, (n, bins), slub_px / bin_px)
        )
    else:
        thickness = 1 + cv_t * rng.standard_normal((n, 1))
    radii = np.clip(0.5 * cover * pitch * thickness, 1.0, 0.56 * pitch)
    radii = radii.astype(np.float32)
    cells = math.ceil((edges[-1] - edges[0]) * 8) + 2
    # The cell of every 1/8 px from the first edge: how many inner edges lie below it.
    lookup = np.searchsorted(edges[1:-1], edges[0] + (np.arange(cells) + 0.5) / 8)
    return _Threads(
        edges=edges.astype(np.float32),
        centres=centres.astype(np.float32),
        radii=radii,
        bin_px=bin_px,
        origin=along[0],
        offset=offset,
        lookup=lookup,
    )


def _run_bounds(key: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """First and last column of the run of equal values (along each row) holding every cell."""
    cols = key.shape[1]
    idx = np.broadcast_to(np.arange(cols), key.shape)
    starts = np.ones(key.shape, bool)
    starts[:, 1:] = key[:, 1:] != key[:, :-1]
    ends = np.ones(key.shape, bool)
    ends[:, :-1] = starts[:, 1:]
    first = np.maximum.accumulate(np.where(starts, idx, 0), axis=1)
    last = np.minimum.accumulate(np.where(ends, idx, cols - 1)[:, ::-1], axis=1)[:, ::-1]
    return first, last


def _blobs(rng: np.random.Generator, shape: tuple[int, int], sigma: float) -> np.ndarray:
    """Isotropic smooth unit-variance noise with features about ``2 * sigma`` cells across."""
    noise = cv2.GaussianBlur(rng.standard_normal(shape).astype(np.float32), (0, 0), sigma)
    return noise / (noise.std() + 1e-6)


def _kani_regions(
    rng: np.random.Generator, shape: tuple[int, int], c: WeaveConstruction, jj: np.ndarray
) -> np.ndarray:
    """Colour areas of a Kani design in thread cells, toothed where wefts interlock.

    Each area is woven with its own wefts, which turn back at the boundary and loop around
    their neighbours' wefts, so the boundary steps by a warp from one weft to the next.
    """
    sigma = c.motif_threads / 2
    outline = _blobs(rng, shape, sigma) + 0.35 * _blobs(rng, shape, sigma / 3)
    pick = _blobs(rng, shape, 1.5 * sigma)
    n = len(c.colours)
    levels = 1 + np.searchsorted(np.quantile(pick, np.arange(1, n - 1) / (n - 1)), pick)
    regions = np.where(outline > np.quantile(outline, c.ground_share), levels, 0)
    shifted = np.concatenate([regions[:, 1:], regions[:, -1:]], axis=1)
    return np.where((jj % 2 == 1)[:, None], shifted, regions).astype(np.int32)


def _fabric_coords(
    rng: np.random.Generator, c: WeaveConstruction, size: int, pitch_weft: float
) -> tuple[np.ndarray, np.ndarray, float]:
    """Fabric coordinates (u across the warps, v across the wefts; px) of every pixel.

    Any rotation and a slight perspective for every class; hand-woven cloth adds slowly bowed,
    skewed wefts and a little warp waviness. Returns ``(u, v, warp angle in degrees)``.
    """
    # Pixel-centre coordinates from the image centre, as a row (x) and a column (y): every
    # term linear in one of them costs a row, not a pass over the image.
    x = np.arange(size, dtype=np.float32) - np.float32((size - 1) / 2)
    x, y = x[None, :], x[:, None]
    theta = rng.uniform(0, math.pi)
    tilt = rng.uniform(-0.08, 0.08, 2) / size
    w = 1 + np.float32(tilt[0]) * x + np.float32(tilt[1]) * y
    cos, sin = np.float32(math.cos(theta)), np.float32(math.sin(theta))
    u = cos * x + sin * y
    u /= w
    v = cos * y - sin * x
    v /= w
    if c.bow > 0:
        coarse = rng.standard_normal((2, 3, 3)).astype(np.float32)
        amp = np.float32(c.bow * pitch_weft)
        bow = cv2.resize(coarse[0], (size, size), interpolation=cv2.INTER_CUBIC)
        wave = cv2.resize(coarse[1], (size, size), interpolation=cv2.INTER_CUBIC)
        # v += amp * bow + skew * u, and u += 0.3 * amp * wave, without temporaries.
        bow *= amp
        bow += np.multiply(u, np.float32(math.tan(math.radians(c.skew_deg))), out=w)
        v += bow
        wave *= np.float32(0.3) * amp
        u += wave
    return u.ravel(), v.ravel(), (math.degrees(theta) + 90.0) % 180.0


def _cells(
    rng: np.random.Generator, c: WeaveConstruction, warps: _Threads, wefts: _Threads
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per thread cell: warp on top (bool), warp colour per warp, weft colour per cell."""
    ii = warps.offset + np.arange(len(warps.centres))
    jj = wefts.offset + np.arange(len(wefts.centres))
    cols, rows = ii[None, :], jj[:, None]
    warp_colour = np.asarray(c.warp_seq)[ii % len(c.warp_seq)]
    if c.label == "kani_handwoven":
        top = _twill(cols, rows, 2, 2, c.twill_dir)
        weft_colour = _kani_regions(rng, (len(jj), len(ii)), c, jj)
    elif c.motif is not None:
        motif = c.motif[rows % c.motif.shape[0], cols % c.motif.shape[1]]
        floats = _satin(cols, rows, c.motif_satin, warp_faced=False)
        top = np.where(motif > 0, floats, _weave_mask(c.weave, cols, rows, c))
        weft_colour = motif if len(c.colours) > 1 else np.zeros_like(motif)
    else:
        top = np.broadcast_to(_weave_mask(c.weave, cols, rows, c), (len(jj), len(ii)))
        weft_colour = np.broadcast_to(
            np.asarray(c.weft_seq)[jj % len(c.weft_seq)][:, None], top.shape
        )
    return np.ascontiguousarray(top), warp_colour, np.ascontiguousarray(weft_colour)


def _run_edges(
    key: np.ndarray, edges: np.ndarray, *, open_ends: bool = False
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per cell, where its run of equal ``key`` values along the row starts and ends (px).

    ``open_ends`` puts runs that reach the array's border out of reach. Also returns the run
    lengths in cells.
    """
    first, last = _run_bounds(key)
    start, end = edges[first], edges[last + 1]
    if open_ends:
        start = np.where(first > 0, start, -_FAR)
        end = np.where(last < key.shape[1] - 1, end, _FAR)
    flat = (start.astype(np.float32).ravel(), end.astype(np.float32).ravel())
    return *flat, last - first + 1


def _grain_table(rng: np.random.Generator, c: WeaveConstruction, period_px: float) -> np.ndarray:
    """Brightness across a yarn's fibres: twist striations every ``period_px`` plus fibre streaks.

    Sampled 4 per px over 1024 px, wrapping around.
    """
    k = np.arange(_GRAIN, dtype=np.float32)
    cycles = max(1, round(_GRAIN / (4 * period_px)))
    stripes = np.cos(k * np.float32(2 * np.pi * cycles / _GRAIN) + np.float32(rng.uniform(0, 7)))
    streaks = np.roll(_streaks(), int(rng.integers(_GRAIN)))
    return 1 + np.float32(c.striation) * stripes + np.float32(0.5 * c.hair) * streaks


@functools.cache
def _streaks() -> np.ndarray:
    """Fixed unit-variance noise, smooth over 2 samples and wrapping: fibre streaks on a yarn."""
    noise = np.random.default_rng(20240611).standard_normal(_GRAIN).astype(np.float32)
    smooth = cv2.GaussianBlur(np.tile(noise, 3)[None, :], (0, 0), sigmaX=2.0, sigmaY=1e-3)
    core = smooth[0, _GRAIN : 2 * _GRAIN]
    return core / core.std()


@dataclass(frozen=True)
class _Cloth:
    """Everything one image needs per thread and per cell, ready for per-pixel lookups.

    ``cells`` has a row per cell (weft-major): the warp's sign (+1 up, -1 down), the run of
    equal state holding it along the warp and along the weft, and the weft's colour area along
    the weft (px; on cloth other than Kani its edges are out of reach). ``rgb`` holds the RGB
    of each cell's warp and weft, interleaved: ``rgb[:, 2 * cell + 1]`` is the weft's.
    """

    warps: _Threads
    wefts: _Threads
    cells: np.ndarray
    rgb: np.ndarray
    grain_w: np.ndarray
    grain_f: np.ndarray
    twist: float
    hole: float

    def pixels(self, u: np.ndarray, v: np.ndarray, light: np.ndarray, out: np.ndarray) -> None:
        """Write the cloth's exposure (3 x n, 0-255) at fabric coordinates ``u``, ``v`` to ``out``.

        ``light`` is the illumination at each pixel (peak 1). The pixels are shaded by
        :func:`_shade_cloth`; here its constants are worked out in float64 and rounded.
        """
        warps, wefts = self.warps, self.wefts
        interlock = (
            np.float32(1 / (0.45 * warps.pitch) ** 2),
            np.float32(1 / (0.25 * warps.pitch) ** 2),
            np.float32(0.6 * wefts.pitch),
            np.float32(1 / 1.3**2),
        )
        compiled(_shade_cloth)(
            u,
            v,
            light,
            warps.kernel_args(),
            wefts.kernel_args(),
            self.cells,
            self.rgb,
            self.grain_w,
            self.grain_f,
            np.float32(1 / (wefts.pitch / 2)),
            np.float32(1 / (warps.pitch / 2)),
            np.float32(-4 * self.twist),
            np.float32(self.hole),
            interlock,
            out,
        )


def _shade_cloth(
    u: np.ndarray,
    v: np.ndarray,
    light: np.ndarray,
    warps: tuple,
    wefts: tuple,
    cells: np.ndarray,
    rgb: np.ndarray,
    grain_w: np.ndarray,
    grain_f: np.ndarray,
    per_rise_w: np.float32,
    per_rise_f: np.float32,
    slope: np.float32,
    hole: np.float32,
    interlock: tuple,
    out: np.ndarray,
) -> None:
    """Write the exposure of the cloth at fabric coordinates ``u``, ``v`` (px) to ``out`` (3 x n).

    Warps and wefts are two layers of yarns; at every pixel the higher yarn that covers it is
    seen, and where neither does, the dark background (``hole``) shows through the gap. Each
    yarn is a round band (bright crown, dark edges) that rises from the ends of its run over
    half the crossing pitch (``1 / per_rise_*`` px) to the top (a float) or bottom of the
    cloth, so it is darkest where it dives under a crossing yarn; striations and fibre streaks
    (``grain_*``) run across it at ``slope`` (-4 x the twist). ``warps`` and ``wefts`` are
    :meth:`_Threads.kernel_args`; ``cells`` and ``rgb`` are those of :class:`_Cloth`.

    ``interlock`` holds the scales ``(narrowing, loop, loop radius, crease)`` of the Kani
    colour boundaries: a weft thins as it turns back at its colour area's edge, and the
    interlocking loops of the two colours bridge the gap between picks on top of the warp; a
    dark crease marks the line. The values and the arithmetic are float32; table indices
    truncate toward zero.
    """
    lookup_w, start_w, centres_w, radii_w, origin_w, per_bin_w = warps
    lookup_f, start_f, centres_f, radii_f, origin_f, per_bin_f = wefts
    zero, one, eight = np.float32(0.0), np.float32(1.0), np.float32(8.0)

    def layer(
        along: np.float32,
        across: np.float32,
        radius: np.float32,
        start: np.float32,
        end: np.float32,
        per_rise: np.float32,
        sign: np.float32,
        grain: np.ndarray,
    ) -> tuple[np.float32, np.float32, np.float32]:
        """Height, coverage and brightness of a yarn at ``across`` its axis, ``along`` its run."""
        from_start = along - start
        rise = min(max(min(end - along, from_start) * per_rise, zero), one)
        texture = grain[np.int32(from_start * slope + np.float32(4) * across) & (_GRAIN - 1)]
        radius = radius * _NARROW[np.int32(rise * np.float32(_LUT - 1)) & (_LUT - 1)]
        height = rise * sign
        q = abs(across)
        cover = min(max(radius - q + np.float32(0.5), zero), one)
        q = min(q / radius * np.float32((_LUT - 1) / 2), np.float32(_LUT - 1))
        crown = _CROWN[np.int32(q) & (_LUT - 1)]
        shade = (np.float32(0.4) * height + np.float32(0.6)) * texture * crown
        return height + crown * np.float32(0.3), cover, shade

    for p in range(u.shape[0]):
        x, y = u[p], v[p]
        i = lookup_w[np.int32((x - start_w) * eight)]
        j = lookup_f[np.int32((y - start_f) * eight)]
        cell = j * centres_w.shape[0] + i
        sign, run_w0, run_w1, run_f0, run_f1, area0, area1 = cells[cell]
        radius_w = radii_w[i, np.int32((y - origin_w) * per_bin_w) if radii_w.shape[1] > 1 else 0]
        radius_f = radii_f[j, np.int32((x - origin_f) * per_bin_f) if radii_f.shape[1] > 1 else 0]
        crease, lift = one, zero
        gap = min(x - area0, area1 - x)
        gap = -(gap * gap)
        # Skipped where all three exponentials are 0 (float32 exp underflows below -104).
        if gap * min(interlock[0], interlock[3]) > np.float32(-104):
            narrowing, loop_scale, loop_radius, crease_scale = interlock
            radius_f *= one - np.float32(0.45) * np.exp(gap * narrowing)
            loop = np.exp(gap * loop_scale)
            radius_f = max(radius_f, loop * loop_radius)
            crease = np.exp(gap * crease_scale) * np.float32(-0.45) + one
            lift = loop * np.float32(2.5)
        across_w, across_f = x - centres_w[i], y - centres_f[j]
        z_w, cover_w, shade_w = layer(
            y, across_w, radius_w, run_w0, run_w1, per_rise_w, sign, grain_w
        )
        z_f, cover_f, shade_f = layer(
            x, across_f, radius_f, run_f0, run_f1, per_rise_f, -sign, grain_f
        )
        shade_f *= crease
        z_f += lift
        both = cover_w * cover_f
        above = both if z_f > z_w else zero
        seen_w = cover_w - above
        seen_f = cover_f - both + above
        background = (one - cover_w) * (one - cover_f) * hole
        seen = (seen_w * shade_w + seen_f * shade_f + background) * light[p]
        pick = 2 * cell + (1 if seen_f > seen_w else 0)
        for k in range(3):
            out[k, p] = rgb[k, pick] * seen


def _cloth(
    rng: np.random.Generator, c: WeaveConstruction, warps: _Threads, wefts: _Threads
) -> tuple[_Cloth, np.ndarray]:
    """Lay out the cells of one image's cloth; also return the float length (threads) per cell.

    Warps and wefts catch the light differently (sheen: floats along the light look brighter,
    which is what shows a damask's pattern). The colours are exposed as a camera would: white
    balance off by up to 6 % a channel, and the brightness metered on the yarns in view.
    """
    top, warp_colour, weft_colour = _cells(rng, c, warps, wefts)
    nw, nf = len(warps.centres), len(wefts.centres)
    *warp_run, warp_len = _run_edges(top.T, wefts.edges)
    warp_run = [k.reshape(nw, nf).T.ravel() for k in warp_run]
    *weft_run, weft_len = _run_edges(np.where(top, -1, weft_colour), warps.edges)
    floats = np.where(top, warp_len.T, weft_len).ravel()
    area = (np.full(nw * nf, -_FAR), np.full(nw * nf, _FAR))
    if c.label == "kani_handwoven":
        area = _run_edges(weft_colour, warps.edges, open_ends=True)[:2]
    sign = np.where(top, np.float32(1), np.float32(-1)).ravel()
    palette = np.asarray(c.colours, np.float32).T
    gain_w = 1 + c.dye_cv * rng.standard_normal(nw).astype(np.float32)
    gain_f = 1 + c.dye_cv * rng.standard_normal(nf).astype(np.float32)
    hole = rng.uniform(0.02, 0.12)
    weft_rgb = palette[:, weft_colour.ravel()] * np.repeat(gain_f, nw)
    rgb = np.stack([np.tile(palette[:, warp_colour] * gain_w, nf), weft_rgb], axis=2)
    rgb *= 1 + rng.choice((-1, 1)) * rng.uniform(0.1, 0.25) * np.array([1, -1])
    seen = rgb[:, np.arange(nw * nf), (~top).ravel().astype(np.intp)]
    exposure = min(5.0, rng.uniform(0.3, 0.5) / (0.6 * float(seen.mean()) + 1e-3)) * 255
    balance = exposure * (1 + rng.uniform(-0.06, 0.06, (3, 1, 1)))
    cloth = _Cloth(
        warps=warps,
        wefts=wefts,
        cells=np.stack([sign, *warp_run, *weft_run, *area], axis=1),
        rgb=(rgb * balance).astype(np.float32).reshape(3, -1),
        grain_w=_grain_table(rng, c, rng.uniform(0.8, 1.4) * float(warps.radii.mean())),
        grain_f=_grain_table(rng, c, rng.uniform(0.8, 1.4) * float(wefts.radii.mean())),
        twist=c.twist,
        hole=float(hole),
    )
    return cloth, floats


def _photograph(rng: np.random.Generator, img: np.ndarray) -> np.ndarray:
    """Finish the photo of lit planes (3 x H x W, 0-255): focus, sensor noise, file format."""
    out = imaging.develop(
        rng,
        img,
        blur=1.2 * rng.random() ** 2,
        shot=rng.uniform(0.05, 0.6),
        read=rng.uniform(0.5, 3.0),
    )
    if rng.random() < 0.1:
        out = imaging.to_gray(out)
    if rng.random() < 0.15:
        out = imaging.jpeg_roundtrip(out, int(rng.integers(60, 93)))
    return out


def render_weave(
    rng: np.random.Generator,
    label: str,
    *,
    px_per_mm: float,
    size: int = 256,
    construction: WeaveConstruction | None = None,
) -> tuple[np.ndarray, dict]:
    """Render one close-up of woven cloth of class ``label`` and return ``(image, truth)``.

    ``construction`` fixes the shawl (else one is drawn for ``px_per_mm``). The image is
    ``uint8`` HxWx3 RGB (10 % grayscale HxW); ``truth`` holds every name in ``TRUTH_COLUMNS``
    plus ``label`` and ``um_per_px``.

    Example:
        >>> rng = np.random.default_rng(2)
        >>> img, truth = render_weave(rng, "powerloom", px_per_mm=10.0, size=64)
        >>> img.shape[:2], truth["spacing_cv"] < 0.03
        ((64, 64), True)
    """
    if px_per_mm <= 0:
        raise ValueError(f"px_per_mm must be positive, got {px_per_mm}")
    if size < 32:
        raise ValueError(f"size must be at least 32 px, got {size}")
    c = (
        construction
        if construction is not None
        else draw_construction(rng, label, px_per_mm=px_per_mm)
    )
    if c.label != label:
        raise ValueError(f"construction is {c.label!r} but label is {label!r}")
    pitch_w = 10 * px_per_mm / c.threads_per_cm_warp
    pitch_f = 10 * px_per_mm / c.threads_per_cm_weft
    u, v, angle = _fabric_coords(rng, c, size, pitch_f)
    u_span = (float(u.min()), float(u.max()))
    v_span = (float(v.min()), float(v.max()))
    hand = c.label == "kani_handwoven"
    if c.motif is not None:
        period_f, period_w = c.motif.shape
    else:
        period_w = math.lcm(len(c.warp_seq), _repeat(c.weave))
        period_f = math.lcm(len(c.weft_seq), _repeat(c.weave))
    warp_cv = c.spacing_cv * (rng.uniform(0.8, 1.0) if hand else 1.0)
    warps = _threads(rng, u_span, v_span, pitch_w, c.cover_warp, c, cv=warp_cv, period=period_w)
    wefts = _threads(
        rng, v_span, u_span, pitch_f, c.cover_weft, c, cv=c.spacing_cv, period=period_f
    )
    cloth, floats = _cloth(rng, c, warps, wefts)
    seen = wefts.index(v[::7]) * len(warps.centres) + warps.index(u[::7])
    light = imaging.illumination(rng, (size, size)).ravel()
    planes = np.empty((3, size * size), np.float32)
    cloth.pixels(u, v, light, planes)
    image = _photograph(rng, planes.reshape(3, size, size))
    truth = {
        "label": label,
        "um_per_px": float(f"{1000.0 / px_per_mm:.6g}"),
        "px_per_mm": px_per_mm,
        "threads_per_cm_warp": c.threads_per_cm_warp,
        "threads_per_cm_weft": c.threads_per_cm_weft,
        "spacing_cv": round((warps.spacing_cv + wefts.spacing_cv) / 2, 4),
        "thickness_cv": round((warps.thickness_cv + wefts.thickness_cv) / 2, 4),
        "weave": c.weave,
        "kind": c.kind,
        "float_max": int(floats[seen].max()),
        "n_colours": len(c.colours),
        "angle_deg": round(angle, 2),
    }
    return image, truth


def render_sample(
    rng: np.random.Generator,
    label: str,
    n_images: int,
    *,
    px_per_mm: float | None = None,
    size: int = 256,
) -> list[tuple[np.ndarray, dict]]:
    """Render ``n_images`` close-ups of one shawl (one shared construction and camera scale).

    ``px_per_mm=None`` draws the scale for the sample log-uniformly from 5-50 (a phone macro
    lens to a stereo microscope), rounded to 2 decimals so that the manifest holds it exactly.

    Example:
        >>> shots = render_sample(np.random.default_rng(0), "jacquard_machine", 2, size=64)
        >>> len(shots), len({t["threads_per_cm_warp"] for _, t in shots})
        (2, 1)
    """
    if px_per_mm is None:
        lo, hi = (math.log(k) for k in _PX_PER_MM)
        px_per_mm = round(float(np.exp(rng.uniform(lo, hi))), 2)
    construction = draw_construction(rng, label, px_per_mm=px_per_mm)
    return [
        render_weave(rng, label, px_per_mm=px_per_mm, size=size, construction=construction)
        for _ in range(n_images)
    ]
