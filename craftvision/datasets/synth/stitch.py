"""Procedural close-ups of embroidery: hand Sozni vs machine lock-stitch and chain-stitch work.

Every physical parameter comes from DESIGN.md §2. A physical sample (one shawl's embroidery)
fixes the stitch type, the thread (material, width, gloss, twist), the colours and the nominal
stitch length; each image is a different close-up of it at ``px_per_mm`` on a fine twill ground.
Hand Sozni (satin, stem, darn fills) varies stitch length (CV 15-30 %), angle and spacing by
hand in matte silk or wool; machine work repeats exact lengths, angles and spacings in glossy
rayon or polyester (lock-stitch fill and satin) or in rows of interlocking chain loops. Scale,
rotation, curvature, lighting, colours, blur, noise and JPEG are drawn independently of the class.

Stitches are generated row by row in millimetres (vectorised over rows and stitches), then
drawn as capsules of thread: all capsules are scan-converted in order (later stitches on top)
and every covered pixel is shaded from its capsule's cylinder normal (diffuse light,
anisotropic specular sheen, twist striations, fibre streaks, ends diving into the fabric).
Those two per-pixel loops are numba kernels: rendering needs ``pip install 'craftvision[synth]'``.

Example:
    >>> import numpy as np
    >>> from craftvision.datasets.synth.stitch import render_stitch
    >>> img, truth = render_stitch(np.random.default_rng(0), "machine_chain", px_per_mm=12.0)
    >>> img.shape[:2], truth["stitch_type"], truth["stitch_length_cv"] < 0.05
    ((256, 256), 'chain', True)
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import cv2
import numpy as np

from craftvision.datasets.synth import imaging
from craftvision.datasets.synth._jit import compiled

CLASSES = ("sozni_hand", "machine_embroidery", "machine_chain")
GENUINE_CLASS = "sozni_hand"
STITCH_TYPES: dict[str, tuple[str, ...]] = {
    "sozni_hand": ("satin", "stem", "darn"),
    "machine_embroidery": ("lock_fill", "lock_satin"),
    "machine_chain": ("chain",),
}
THREADS: dict[str, tuple[str, ...]] = {
    "sozni_hand": ("silk", "wool"),
    "machine_embroidery": ("rayon", "polyester"),
    "machine_chain": ("rayon", "polyester", "wool", "cotton"),
}
TRUTH_COLUMNS = (
    "px_per_mm",
    "stitch_type",
    "kind",
    "stitch_length_mm",
    "stitch_length_cv",
    "stitches_per_cm",
    "angle_sd_deg",
    "spacing_mm",
    "spacing_cv",
    "thread_width_mm",
    "n_stitches",
    "n_colours",
    "sample_stitch_length_mm",
)
PALETTE = imaging.KASHMIRI_PALETTE
# Muted pashmina / wool shawl grounds.
GROUNDS: dict[str, tuple[float, float, float]] = {
    "natural": (0.78, 0.72, 0.60),
    "off_white": (0.86, 0.83, 0.76),
    "camel": (0.62, 0.50, 0.36),
    "grey": (0.50, 0.49, 0.47),
    "charcoal": (0.19, 0.18, 0.19),
    "maroon": (0.36, 0.13, 0.15),
    "bottle_green": (0.15, 0.25, 0.19),
    "navy": (0.13, 0.15, 0.26),
    "rust": (0.52, 0.29, 0.19),
}
_WEIGHTS = {"sozni_hand": (0.4, 0.3, 0.3), "machine_embroidery": (0.55, 0.45)}
# Nominal stitch (chain: loop) length in mm per stitch type.
_LENGTH_MM = {
    "satin": (2.0, 5.0),
    "stem": (1.5, 3.5),
    "darn": (2.0, 4.5),
    "lock_fill": (2.5, 4.5),
    "lock_satin": (1.5, 4.5),
    "chain": (1.5, 3.0),
}
# Per thread material: width (mm), specular strength and exponent, twist-striation and
# fibre-streak amplitude, diffuse wrap (soft matte fibres scatter light around the thread) and
# cross-section flatness (1 = round; floss spreads flat).
_THREAD_SPECS: dict[str, dict[str, tuple[float, float]]] = {
    "silk": {
        "width": (0.12, 0.25),
        "gloss": (0.03, 0.12),
        "exponent": (5.0, 10.0),
        "twist": (0.10, 0.22),
        "fuzz": (0.05, 0.12),
        "wrap": (0.3, 0.6),
        "flat": (2.0, 3.0),
    },
    "wool": {
        "width": (0.18, 0.30),
        "gloss": (0.0, 0.04),
        "exponent": (3.0, 6.0),
        "twist": (0.15, 0.30),
        "fuzz": (0.12, 0.22),
        "wrap": (0.5, 0.9),
        "flat": (1.3, 1.8),
    },
    "rayon": {
        "width": (0.22, 0.35),
        "gloss": (0.6, 1.1),
        "exponent": (25.0, 60.0),
        "twist": (0.04, 0.12),
        "fuzz": (0.0, 0.04),
        "wrap": (0.0, 0.2),
        "flat": (1.0, 1.4),
    },
    "polyester": {
        "width": (0.22, 0.35),
        "gloss": (0.5, 1.0),
        "exponent": (30.0, 80.0),
        "twist": (0.04, 0.10),
        "fuzz": (0.0, 0.03),
        "wrap": (0.0, 0.2),
        "flat": (1.0, 1.3),
    },
    "cotton": {
        "width": (0.25, 0.40),
        "gloss": (0.02, 0.08),
        "exponent": (4.0, 8.0),
        "twist": (0.15, 0.30),
        "fuzz": (0.08, 0.16),
        "wrap": (0.4, 0.8),
        "flat": (1.3, 1.8),
    },
}
# Machine density: lock-fill rows overlap; a satin column's two zigzag legs share one spacing.
_MACHINE_SPACING = {"lock_fill": (0.75, 0.92), "lock_satin": (1.1, 1.4)}
_HAND_TYPES = frozenset(STITCH_TYPES["sozni_hand"])
_MIN_STITCH_PX = 18.0
_MAX_STITCH_PX = 90.0
_PPM_RANGE = (5.0, 50.0)
_MIN_MEASURED = 100
_LOOP_POINTS = 17
_TWILL_TEXELS = 16
_CHUNK = 16384  # ground pixels textured at once: small enough to stay in cache


@dataclass(frozen=True)
class StitchConstruction:
    """How one physical sample is embroidered; lengths in mm, angles in degrees.

    ``spacing_mm`` is the nominal distance between neighbouring stitches along a satin column
    (satin; lock_satin: between needle points on one side) or between neighbouring rows (stem,
    darn, lock_fill, chain). ``*_cv``, ``angle_sd_deg`` and ``wobble_mm`` (sideways drift of a
    row) are the hand's irregularity, zero for machines. ``gap_mm`` is the ground between darn
    stitches or between machine satin columns; ``advance`` the step of a stem stitch as a
    fraction of its length; ``stagger`` the lock-fill row offset period; ``loop_*`` the chain
    loop's width and its reach past the next needle point. The rest describe the thread's look.

    Example:
        >>> c = draw_construction(np.random.default_rng(0), "sozni_hand", stitch_type="stem")
        >>> c.stitch_type, 0.15 <= c.length_cv <= 0.30
        ('stem', True)
    """

    label: str
    stitch_type: str
    kind: str
    stitch_length_mm: float
    thread_width_mm: float
    spacing_mm: float
    colours: tuple[tuple[float, float, float], ...]
    ground: tuple[float, float, float]
    yarn_mm: float
    length_cv: float = 0.0
    angle_sd_deg: float = 0.0
    spacing_cv: float = 0.0
    width_cv: float = 0.0
    row_cv: float = 0.0
    wobble_mm: float = 0.0
    slant_deg: float = 0.0
    gap_mm: float = 0.0
    advance: float = 1.0
    stagger: int = 1
    loop_width_mm: float = 0.0
    loop_reach: float = 1.0
    serpentine: bool = False
    gloss: float = 0.0
    gloss_exponent: float = 4.0
    twist_amp: float = 0.1
    twist_deg: float = 30.0
    fuzz: float = 0.05
    wrap: float = 0.3
    flat: float = 1.0
    colour_jitter: float = 0.02


def _stitch_length_range(stitch_type: str, px_per_mm: float | None) -> tuple[float, float]:
    lo, hi = _LENGTH_MM[stitch_type]
    if px_per_mm is None:
        return lo, hi
    a, b = max(lo, _MIN_STITCH_PX / px_per_mm), min(hi, _MAX_STITCH_PX / px_per_mm)
    if a <= b:
        return a, b
    edge = lo if _MAX_STITCH_PX / px_per_mm < lo else hi
    return edge, edge


def _colours(rng: np.random.Generator) -> tuple[tuple[tuple[float, float, float], ...], tuple]:
    """A sample's thread colours (1-4 palette dyes with a dye-lot shift) and its ground."""
    names = list(PALETTE)
    picks = rng.choice(len(names), size=int(rng.integers(1, 5)), replace=False)
    colours = []
    for i in picks:
        rgb = np.array(PALETTE[names[i]]) * rng.uniform(0.85, 1.12) + rng.uniform(-0.04, 0.04, 3)
        colours.append(tuple(np.clip(rgb, 0.03, 0.97).tolist()))
    grounds = list(GROUNDS.values())
    ground = np.array(grounds[int(rng.integers(len(grounds)))]) * rng.uniform(0.88, 1.1)
    ground = np.clip(ground + rng.uniform(-0.03, 0.03, 3), 0.05, 0.95)
    return tuple(colours), tuple(ground.tolist())


def draw_construction(
    rng: np.random.Generator,
    label: str,
    *,
    px_per_mm: float | None = None,
    stitch_type: str | None = None,
) -> StitchConstruction:
    """Draw one physical sample's construction for ``label`` (``stitch_type`` else random).

    With ``px_per_mm`` the nominal stitch length is kept 18-90 px long where the stitch type
    allows it.

    Example:
        >>> c = draw_construction(np.random.default_rng(1), "machine_embroidery", px_per_mm=10)
        >>> c.stitch_type in ("lock_fill", "lock_satin"), c.length_cv < 0.05
        (True, True)
    """
    if label not in STITCH_TYPES:
        raise ValueError(f"unknown stitch class {label!r}; expected one of {', '.join(CLASSES)}")
    types = STITCH_TYPES[label]
    if stitch_type is None:
        stitch_type = types[int(rng.choice(len(types), p=_WEIGHTS.get(label, (1.0,))))]
    elif stitch_type not in types:
        raise ValueError(f"stitch type {stitch_type!r} is not a {label!r} type; expected {types}")
    kinds = THREADS[label]
    kind = kinds[int(rng.integers(len(kinds)))]
    spec = {name: float(rng.uniform(lo, hi)) for name, (lo, hi) in _THREAD_SPECS[kind].items()}
    length = float(rng.uniform(*_stitch_length_range(stitch_type, px_per_mm)))
    width = spec["width"]
    colours, ground = _colours(rng)
    common = {
        "label": label,
        "stitch_type": stitch_type,
        "kind": kind,
        "stitch_length_mm": length,
        "thread_width_mm": width,
        "colours": colours,
        "ground": ground,
        "yarn_mm": float(rng.uniform(0.22, 0.45)),
        "gloss": spec["gloss"],
        "gloss_exponent": spec["exponent"],
        "twist_amp": spec["twist"],
        "twist_deg": float(rng.uniform(20.0, 40.0) * rng.choice((-1.0, 1.0))),
        "fuzz": spec["fuzz"],
        "wrap": spec["wrap"],
        "flat": spec["flat"],
    }
    if stitch_type in _HAND_TYPES:
        advance = float(rng.uniform(0.45, 0.6))
        # Stem: consecutive stitches lie side by side, pulled slightly over each other.
        touch = min(0.5, width * rng.uniform(0.7, 0.95) / (advance * length))
        slant = {
            "satin": rng.uniform(-25.0, 25.0),
            "stem": math.degrees(math.asin(touch)),
            "darn": rng.uniform(0.0, 10.0),
        }[stitch_type]
        spacing = {
            "satin": width * rng.uniform(0.75, 1.0),
            "stem": (length * math.sin(math.radians(slant)) + width) * rng.uniform(0.85, 1.05),
            "darn": width * rng.uniform(0.9, 1.2),
        }[stitch_type]
        return StitchConstruction(
            **common,
            spacing_mm=float(spacing),
            length_cv=float(rng.uniform(0.19, 0.26)),
            angle_sd_deg=float(rng.uniform(2.5, 5.0)),
            spacing_cv=float(rng.uniform(0.2, 0.35)),
            width_cv=float(rng.uniform(0.06, 0.15)),
            row_cv=float(rng.uniform(0.12, 0.25)),
            wobble_mm=float(width * rng.uniform(0.4, 1.0)),
            slant_deg=float(slant),
            gap_mm=float(length * rng.uniform(0.06, 0.16)),
            advance=advance,
            colour_jitter=float(rng.uniform(0.03, 0.06)),
        )
    if stitch_type == "chain":
        loop_width = length * rng.uniform(0.38, 0.52)
        return StitchConstruction(
            **common,
            spacing_mm=float((loop_width + width) * rng.uniform(0.9, 1.02)),
            length_cv=float(rng.uniform(0.003, 0.02)),
            loop_width_mm=float(loop_width),
            loop_reach=float(rng.uniform(1.1, 1.2)),
            serpentine=bool(rng.random() < 0.5),
        )
    return StitchConstruction(
        **common,
        spacing_mm=float(width * rng.uniform(*_MACHINE_SPACING[stitch_type])),
        length_cv=float(rng.uniform(0.003, 0.015)),
        slant_deg=float(rng.uniform(-20.0, 20.0) if stitch_type == "lock_satin" else 0.0),
        gap_mm=float(rng.choice((0.0, rng.uniform(0.05, 0.25)))),
        stagger=int(rng.integers(3, 6)),
        serpentine=bool(rng.random() < 0.5),
    )


def draw_px_per_mm(rng: np.random.Generator) -> float:
    """Draw a camera scale, log-uniform over 5-50 px/mm, the same for every class.

    The result is ``1000 / um_per_px`` with ``um_per_px`` rounded to 0.01 µm, so that a
    manifest holds it exactly.

    Example:
        >>> 5.0 <= draw_px_per_mm(np.random.default_rng(3)) <= 50.0
        True
    """
    ppm = math.exp(rng.uniform(math.log(_PPM_RANGE[0]), math.log(_PPM_RANGE[1])))
    return 1000.0 / round(1000.0 / ppm, 2)


@dataclass(frozen=True)
class _Frame:
    """The rows' geometry: straight parallel lines, or concentric arcs of radius ``radius + n``."""

    radius: float | None

    def to_xy(self, s: np.ndarray, d: np.ndarray, n: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Map arc length ``s`` along row ``n`` and a lateral offset ``d`` to design-plane mm."""
        if self.radius is None:
            return s, n + d
        rho = self.radius + n
        phi = s / rho
        r = rho + d
        return r * np.sin(phi), r * np.cos(phi) - self.radius

    def half_length(self, n: np.ndarray, reach: float) -> np.ndarray:
        """Half the arc length of row ``n`` inside the disk of radius ``reach`` (0 if outside)."""
        if self.radius is None:
            return np.sqrt(np.maximum(reach * reach - n * n, 0.0))
        rho = self.radius + n
        cos_phi = (self.radius**2 + rho * rho - reach * reach) / (2 * self.radius * rho)
        return rho * np.arccos(np.clip(cos_phi, -1.0, 1.0))


@dataclass
class _Rows:
    """The rows (satin: columns) of one close-up: offset, colour index, band and direction."""

    n: np.ndarray
    colour: np.ndarray
    band: np.ndarray
    direction: np.ndarray
    half: np.ndarray


def _rows(rng: np.random.Generator, c: StitchConstruction, frame: _Frame, reach: float) -> _Rows:
    """Stack bands of rows across the field; bands abut or leave ground between them."""
    satin = c.stitch_type in ("satin", "lock_satin")
    hand = c.stitch_type in _HAND_TYPES
    pitch = c.stitch_length_mm + (c.gap_mm if c.stitch_type == "lock_satin" else 0.0)
    offsets, colours, bands = [], [], []
    pos = -reach - float(rng.uniform(0.0, c.stitch_length_mm))
    band = 0
    colour = int(rng.integers(len(c.colours)))
    while pos < reach:
        if satin:
            count = int(rng.integers(1, 4))
        else:  # a band one to four stitch lengths wide
            count = max(2, round(c.stitch_length_mm * rng.uniform(1.0, 4.0) / c.spacing_mm))
        for _ in range(count):
            step = pitch if satin else c.spacing_mm
            if hand:
                step *= max(0.4, 1.0 + c.row_cv * rng.standard_normal())
            offsets.append(pos + step / 2)
            colours.append(colour)
            bands.append(band)
            pos += step
        gap = rng.random()
        if gap < 0.12:
            pos += min(c.stitch_length_mm * rng.uniform(1.0, 2.5), 0.25 * reach)
        elif gap < 0.55:
            pos += c.stitch_length_mm * rng.uniform(0.15, 0.8)
        if len(c.colours) > 1:
            colour = (colour + int(rng.integers(1, len(c.colours)))) % len(c.colours)
        band += 1
    n = np.array(offsets)
    direction = np.where(np.arange(len(n)) % 2 == 1, -1.0, 1.0) if c.serpentine else np.ones(len(n))
    half = frame.half_length(n, reach)
    keep = half > 0
    if frame.radius is not None:
        keep &= frame.radius + n > 1.5 * c.stitch_length_mm
    return _Rows(
        n=n[keep],
        colour=np.array(colours)[keep],
        band=np.array(bands)[keep],
        direction=direction[keep],
        half=half[keep],
    )


def _deviates(
    rng: np.random.Generator, shape: tuple[int, int], smooth: float, width: int
) -> np.ndarray:
    """Standardised deviates per stitch; a share ``smooth`` drifts along the row over ``width``."""
    z = rng.standard_normal(shape).astype(np.float32)
    if smooth > 0:
        soft = cv2.blur(rng.standard_normal(shape).astype(np.float32), (width, 1))
        soft /= max(float(soft.std()), 1e-9)
        z = math.sqrt(1 - smooth**2) * z + smooth * soft
    z = np.clip(z, -2.5, 2.5)
    return (z - z.mean()) / max(float(z.std()), 1e-9)


@dataclass
class _Layout:
    """Stitches of one close-up in design-plane mm, in drawing order, and their statistics."""

    a: np.ndarray
    b: np.ndarray
    row: np.ndarray
    advance: np.ndarray
    angle_dev: np.ndarray
    width: np.ndarray
    rgb: np.ndarray


def _wobble(
    rng: np.random.Generator, c: StitchConstruction, n_rows: int
) -> tuple[np.ndarray, np.ndarray] | None:
    """Per-row phases and wavelengths of a hand row's smooth sideways drift (None: machine)."""
    if c.stitch_type not in _HAND_TYPES:
        return None
    lam = c.stitch_length_mm * rng.uniform(2.0, 6.0, (2, n_rows, 1))
    phase = rng.uniform(0, 2 * np.pi, (2, n_rows, 1))
    return lam, phase


def _drift(
    c: StitchConstruction, wobble: tuple[np.ndarray, np.ndarray] | None, s: np.ndarray
) -> np.ndarray | float:
    """Sideways drift of hand rows at arc length ``s`` (0 for machines)."""
    if wobble is None:
        return 0.0
    lam, phase = wobble
    return c.wobble_mm * (
        np.sin(2 * np.pi * s / lam[0] + phase[0]) + 0.5 * np.sin(2 * np.pi * s / lam[1] + phase[1])
    )


def _layout(
    rng: np.random.Generator, c: StitchConstruction, frame: _Frame, reach: float
) -> tuple[_Layout, _Rows]:
    """Generate every stitch of the close-up row by row (vectorised over rows and stitches)."""
    rows = _rows(rng, c, frame, reach)
    n_rows = len(rows.n)
    length = c.stitch_length_mm
    hand = c.stitch_type in _HAND_TYPES
    kind = c.stitch_type
    if kind in ("satin", "lock_satin"):
        step = c.spacing_mm / 2 if kind == "lock_satin" else c.spacing_mm
    elif kind == "stem":
        step = length * c.advance * math.cos(math.radians(c.slant_deg))
    elif kind == "darn":
        step = length * math.cos(math.radians(c.slant_deg)) + c.gap_mm
    else:
        step = length
    count = math.ceil((2 * float(rows.half.max(initial=0.0)) + 2 * step) / (0.8 * step)) + 4
    shape = (n_rows, count)
    z_len = _deviates(rng, shape, 0.6 if kind == "satin" else 0.3, 5)
    lengths = length * (1.0 + c.length_cv * z_len)
    if hand:
        jitter = np.radians(c.angle_sd_deg) * _deviates(rng, shape, 0.75, 7)
    else:
        jitter = np.zeros(shape)
    if kind == "satin":
        adv = c.spacing_mm * np.maximum(0.15, 1.0 + c.spacing_cv * rng.standard_normal(shape))
    elif kind == "stem":
        adv = c.advance * lengths * math.cos(math.radians(c.slant_deg))
        adv *= np.maximum(0.3, 1.0 + 0.15 * rng.standard_normal(shape))
    elif kind == "darn":
        gaps = c.gap_mm * np.maximum(0.2, 1.0 + 0.5 * rng.standard_normal(shape))
        adv = lengths * math.cos(math.radians(c.slant_deg)) + gaps
    elif kind == "lock_satin":
        adv = np.full(shape, step)
    else:
        adv = lengths
    if kind == "lock_fill":
        phase = (np.arange(n_rows) * (c.stagger - 1) % c.stagger) / c.stagger * length
    elif hand:
        phase = rng.uniform(0, 1, n_rows) * step
    else:
        phase = np.zeros(n_rows)
    start = -rows.half[:, None] - phase[:, None] - step + np.cumsum(adv, axis=1) - adv
    wobble = _wobble(rng, c, n_rows)
    n = rows.n[:, None]
    if kind == "lock_satin":
        side = np.where((np.arange(count + 1) + np.arange(n_rows)[:, None]) % 2 == 0, -1.0, 1.0)
        pts = np.concatenate([start, start[:, -1:] + adv[:, -1:]], axis=1)
        tilt = math.tan(math.radians(c.slant_deg))
        s_pts = pts + side * length / 2 * tilt
        d_pts = side * length / 2
        sa, sb = s_pts[:, :-1], s_pts[:, 1:]
        da, db = d_pts[:, :-1], d_pts[:, 1:]
    elif kind == "satin":
        ang = np.radians(c.slant_deg) + jitter
        centre = 0.06 * length * rng.standard_normal(shape) + _drift(c, wobble, start)
        sa = start - lengths / 2 * np.sin(ang)
        sb = start + lengths / 2 * np.sin(ang)
        da = centre - lengths / 2 * np.cos(ang)
        db = centre + lengths / 2 * np.cos(ang)
    else:
        base = math.radians(c.slant_deg)
        ang = base + jitter
        sa = start
        sb = start + lengths * np.cos(ang)
        da = -lengths * math.sin(base) / 2 + _drift(c, wobble, start)
        db = da + lengths * np.sin(ang)
    valid = (start < rows.half[:, None] + step) & (start + adv > -rows.half[:, None] - step)
    direction = rows.direction[:, None]
    ax, ay = frame.to_xy(direction * sa, da * np.ones(shape), n * np.ones(shape))
    bx, by = frame.to_xy(direction * sb, db * np.ones(shape), n * np.ones(shape))
    rgb = np.array(c.colours)[rows.colour]
    shade = 1.0 + c.colour_jitter * rng.standard_normal(shape)
    width = c.thread_width_mm * np.maximum(0.5, 1.0 + c.width_cv * rng.standard_normal(shape))
    row = np.broadcast_to(np.arange(n_rows)[:, None], shape)
    return (
        _Layout(
            a=np.stack([ax[valid], ay[valid]], axis=1),
            b=np.stack([bx[valid], by[valid]], axis=1),
            row=row[valid],
            advance=adv[valid],
            angle_dev=np.degrees(jitter[valid]),
            width=width[valid],
            rgb=rgb[:, None, :].repeat(count, axis=1)[valid] * shade[valid][:, None],
        ),
        rows,
    )


@dataclass
class _Capsules:
    """Thread segments in pixels (float32), in drawing order, with what their shading needs.

    ``dive_a``/``dive_b`` mark ends where the thread enters the fabric (tapered and shaded
    darker); other ends are joints between the segments of a chain loop. ``u0`` is the thread
    length before the segment.
    """

    a: np.ndarray
    b: np.ndarray
    half_width: np.ndarray
    rgb: np.ndarray
    dive_a: np.ndarray
    dive_b: np.ndarray
    u0: np.ndarray
    phase: np.ndarray

    @functools.cached_property
    def length(self) -> np.ndarray:
        """Length of each segment (px)."""
        d = self.b - self.a
        return np.sqrt((d * d).sum(axis=1))

    @functools.cached_property
    def tangent(self) -> np.ndarray:
        """Unit vector from ``a`` to ``b`` (Nx2)."""
        return (self.b - self.a) / np.maximum(self.length, 1e-6)[:, None]

    def select(self, keep: np.ndarray) -> _Capsules:
        """The capsules where ``keep`` is true, in the same order."""
        return _Capsules(**{name: getattr(self, name)[keep] for name in self.__dataclass_fields__})


def _loop_shape(reach: float) -> tuple[np.ndarray, np.ndarray]:
    """A chain loop's outline from its entry point: along (0..reach) and across (-0.5..0.5)."""
    t = np.linspace(0.0, 2 * np.pi, _LOOP_POINTS)
    across = np.sin(t) * np.abs(np.sin(t / 2)) ** 1.2
    return reach * (1 - np.cos(t)) / 2, 0.5 * across / np.abs(across).max()


def _capsules(
    rng: np.random.Generator,
    c: StitchConstruction,
    lay: _Layout,
    to_px: np.ndarray,
    ppm: float,
) -> _Capsules:
    """Turn stitches (mm) into pixel capsules; chain stitches become loops of segments."""
    a = (lay.a @ to_px[:, :2].T + to_px[:, 2]).astype(np.float32)
    b = (lay.b @ to_px[:, :2].T + to_px[:, 2]).astype(np.float32)
    half = (lay.width * ppm / 2).astype(np.float32)
    rgb = lay.rgb.astype(np.float32)
    k = len(a)
    phase = rng.uniform(0, 2 * np.pi, k).astype(np.float32)
    if c.stitch_type != "chain":
        ends = np.ones(k, bool)
        return _Capsules(a, b, half, rgb, ends, ends, np.zeros(k, np.float32), phase)
    along, across = _loop_shape(c.loop_reach)
    e = b - a
    f = np.stack([-e[:, 1], e[:, 0]], axis=1) / np.maximum(
        np.linalg.norm(e, axis=1, keepdims=True), 1e-6
    )
    w = c.loop_width_mm * ppm
    pts = a[:, None] + along[None, :, None] * e[:, None] + w * across[None, :, None] * f[:, None]
    pts = pts.astype(np.float32)
    seg = _LOOP_POINTS - 1
    seg_len = np.linalg.norm(pts[:, 1:] - pts[:, :-1], axis=2)
    position = np.arange(k * seg) % seg
    return _Capsules(
        a=pts[:, :-1].reshape(-1, 2),
        b=pts[:, 1:].reshape(-1, 2),
        half_width=np.repeat(half, seg),
        rgb=np.repeat(rgb, seg, axis=0),
        dive_a=position == 0,
        dive_b=position == seg - 1,
        u0=(np.cumsum(seg_len, axis=1) - seg_len).astype(np.float32).ravel(),
        phase=np.repeat(phase, seg),
    )


def _rasterise(caps: _Capsules, size: int) -> np.ndarray:
    """``size`` x ``size`` map of the topmost capsule per pixel (index + 1; 0 = ground).

    Scan conversion: each capsule's pixel rows get the span of pixel centres in the band around
    its segment, united with a disk at each end where the thread dives (the segment shortened
    so that the rounded end stops where its taper does). Joints get flat ends pushed half a
    width on, which closes the outer wedge of a bend. Capsules are drawn in order, so the
    highest index wins. The spans are filled by :func:`_scan_capsules`.
    """
    h = caps.half_width
    radius = h + np.maximum(np.float32(0.2), 0.5 - h)
    t = caps.tangent
    a = caps.a + np.where(caps.dive_a, 0.7 * h, -0.5 * h)[:, None] * t
    b = caps.b - np.where(caps.dive_b, 0.7 * h, -0.5 * h)[:, None] * t
    tiny = np.float32(1e-6)
    table = np.stack(
        [
            radius,
            *a.T,
            *b.T,
            np.where(np.abs(t[:, 0]) < tiny, tiny, t[:, 0]),
            np.where(np.abs(t[:, 1]) < tiny, tiny, t[:, 1]),
            np.maximum(((b - a) * t).sum(axis=1), 0.0),
            np.where(caps.dive_a, radius, np.nan),
            np.where(caps.dive_b, radius, np.nan),
        ],
        axis=1,
    ).astype(np.float32)
    top = np.zeros((size, size), np.int32)
    compiled(_scan_capsules)(table, top)
    return top


def _scan_capsules(table: np.ndarray, top: np.ndarray) -> None:
    """Draw each capsule of ``table`` into ``top`` (HxW, in place) as its index + 1, in order.

    ``table`` has a row per capsule: radius ``r``, ends ``ax, ay, bx, by``, tangent ``tx, ty``
    (never 0), band length, and the radius of the disk at each end (NaN: a flat joint), all
    float32; the arithmetic runs in float32.
    """
    size = top.shape[0]
    zero, inf = np.float32(0.0), np.float32(np.inf)
    for k in range(table.shape[0]):
        r, ax, ay, bx, by, tx, ty, length, disk_a, disk_b = table[k]
        first = int(min(max(np.ceil(min(ay, by) - r), zero), np.float32(size)))
        last = int(max(min(np.floor(max(ay, by) + r), np.float32(size - 1)), np.float32(-1)))
        for y in range(first, last + 1):
            fy = np.float32(y)
            dy = fy - ay
            # The band: 0 <= along <= length and |across| <= r, each linear in x along the row.
            p, q = ax - dy * ty / tx, ax + (length - dy * ty) / tx
            m, n = ax + (dy * tx - r) / ty, ax + (dy * tx + r) / ty
            left = max(min(p, q), min(m, n))
            right = min(max(p, q), max(m, n))
            if left > right:
                left, right = inf, -inf
            for cx, cy, disk in ((ax, ay, disk_a), (bx, by, disk_b)):
                chord = np.sqrt(disk * disk - (fy - cy) * (fy - cy))  # NaN: no disk here
                left = np.fmin(left, cx - chord)  # fmin and fmax skip a NaN
                right = np.fmax(right, cx + chord)
            start = int(min(max(np.ceil(left), zero), np.float32(size)))
            stop = int(max(min(np.floor(right), np.float32(size - 1)), np.float32(-1)))
            top[y, start : stop + 1] = k + 1


@functools.cache
def _twill_tile(level: int) -> np.ndarray:
    """A 2/2 twill repeat (4x4 yarns, 16 texels per yarn), blurred by 2**(level/2) - 1 texels."""
    n = 4 * _TWILL_TEXELS
    y, x = np.mgrid[0:n, 0:n].astype(np.float32)
    i, j = x // _TWILL_TEXELS, y // _TWILL_TEXELS
    fx = (x % _TWILL_TEXELS + 0.5) / _TWILL_TEXELS
    fy = (y % _TWILL_TEXELS + 0.5) / _TWILL_TEXELS
    step = (i + j) % 4
    warp_up = step < 2
    pos = np.where(warp_up, (step + fy) / 2, (step - 2 + fx) / 2)
    across = np.where(warp_up, fx, fy)
    round_ = np.sqrt(np.clip(1 - (2 * across - 1) ** 2, 0, 1)) ** 0.6
    along = np.sin(np.pi * pos) ** 0.35
    twist = 0.08 * np.cos(2 * np.pi * (np.where(warp_up, y, x) + 0.6 * np.where(warp_up, x, y)) / 6)
    tile = (0.3 + 0.7 * round_ * along) * np.where(warp_up, 1.0, 0.93) * (1 - twist)
    sigma = 2 ** (level / 2) - 1
    if sigma > 0.3:
        tile = cv2.GaussianBlur(np.tile(tile, (3, 3)), (0, 0), sigma)[n : 2 * n, n : 2 * n]
    tile = tile.astype(np.float32)
    tile.flags.writeable = False
    return tile


@functools.cache
def _streak_tile() -> np.ndarray:
    """A fixed 64x64 tile of soft noise, sampled stretched along threads as fibre streaks."""
    rng = np.random.default_rng(20240611)
    tile = cv2.GaussianBlur(rng.random((192, 192)).astype(np.float32), (0, 0), 1.0)[64:128, 64:128]
    tile = (tile - tile.min()) / (tile.max() - tile.min())
    tile.flags.writeable = False
    return tile


def _ground(rng: np.random.Generator, c: StitchConstruction, ppm: float, size: int) -> np.ndarray:
    """The shawl's twill ground as 3xHxW albedo planes (0-1), with yarn-to-yarn variation.

    The twill repeat is sampled at the nearest texel of a copy pre-blurred for the scale.
    """
    texels_per_px = _TWILL_TEXELS / (c.yarn_mm * ppm)
    level = int(np.clip(round(2 * math.log2(max(texels_per_px, 1.0))), 0, 12))
    angle = rng.uniform(0, 2 * np.pi)
    ca, sa = math.cos(angle) * texels_per_px, math.sin(angle) * texels_per_px
    pos = np.arange(size, dtype=np.float32)
    # A large positive origin keeps texel coordinates positive, so truncation floors them.
    u0, v0 = rng.uniform(0, 4 * _TWILL_TEXELS, 2) + 2**20
    yarns = rng.uniform(0.93, 1.07, (2, 64)).astype(np.float32)
    u_col, u_row = np.float32(ca) * pos + np.float32(u0), (np.float32(sa) * pos)[:, None]
    v_col, v_row = np.float32(sa) * pos, (np.float32(ca) * pos + np.float32(v0))[:, None]
    tile = _twill_tile(level).ravel()
    planes = np.empty((3, size, size), np.float32)
    step = max(1, _CHUNK // size)
    for first in range(0, size, step):  # bands of rows that stay in cache
        band = slice(first, first + step)
        iu = (u_col - u_row[band]).astype(np.int32)
        iv = (v_col + v_row[band]).astype(np.int32)
        texture = 0.5 + 0.5 * tile.take(((iv & 63) << 6) | (iu & 63), mode="clip")
        texture *= yarns[0].take((iu >> 4) & 63, mode="clip")
        texture *= yarns[1].take((iv >> 4) & 63, mode="clip")
        for plane, g in zip(planes[:, band], c.ground, strict=True):
            np.multiply(texture, np.float32(g), out=plane)
    return planes


def _shifted(img: np.ndarray, dx: int, dy: int) -> np.ndarray:
    """``img`` moved by whole pixels (dx right, dy down), edges replicated."""
    m = max(abs(dx), abs(dy))
    pad = cv2.copyMakeBorder(img, m, m, m, m, cv2.BORDER_REPLICATE)
    h, w = img.shape
    return pad[m - dy : m - dy + h, m - dx : m - dx + w]


_PROFILE_BINS = 257  # signed distance from a thread's axis, -1..1
_LIGHT_BINS = 32  # component of the light across a thread


def _lighting(
    c: StitchConstruction, light: tuple[float, float, float], ambient: float, relief: float
) -> tuple[np.ndarray, np.ndarray]:
    """Diffuse shade and specular sheen tabulated over (light across thread, signed profile).

    The normal at signed distance ``r`` (in half-widths, scaled by ``relief``) from a thread's
    axis tilts only across the thread, by ``|r|**c.flat`` (a flat floss faces the camera over
    more of its width). Both tables are ``_LIGHT_BINS x _PROFILE_BINS``, row ``j`` for a light
    component ``(2 j / (_LIGHT_BINS - 1) - 1) * |light_xy|`` across the thread.
    """
    lxy = math.hypot(light[0], light[1])
    lz = light[2]
    r = np.linspace(-relief, relief, _PROFILE_BINS, dtype=np.float32)
    normal = np.copysign(np.abs(r) ** np.float32(c.flat), r)
    nz = np.sqrt(1.0 - normal * normal)
    across = normal * np.linspace(-lxy, lxy, _LIGHT_BINS, dtype=np.float32)[:, None]
    diffuse = np.maximum(across + nz * lz + c.wrap, 0.0) / (1 + c.wrap)
    shade = (ambient + (1 - ambient) * diffuse) * (1 - 0.35 * r**4)
    half = math.sqrt(lxy * lxy + (lz + 1.0) ** 2)
    facing = across / half + nz * (lz + 1.0) / half
    # max(facing, 0) ** exponent, with the power (costly) only where it is not 0.
    exponent = np.float32(c.gloss_exponent)
    sheen = np.power(facing, exponent, out=np.zeros_like(facing), where=facing > 0)
    return shade.astype(np.float32).ravel(), (c.gloss * sheen).astype(np.float32).ravel()


@functools.cache
def _wave_lut() -> np.ndarray:
    """``0.5 + 0.5 cos`` over one period in 256 steps (index ``phase * 256 / 2 pi`` & 255)."""
    lut = (0.5 + 0.5 * np.cos(np.arange(256) * (2 * np.pi / 256))).astype(np.float32)
    lut.flags.writeable = False
    return lut


def _shade(
    rng: np.random.Generator,
    c: StitchConstruction,
    caps: _Capsules,
    top: np.ndarray,
    planes: np.ndarray,
    ppm: float,
) -> None:
    """Paint the threads over the ground ``planes`` (3xHxW, in place) where ``top`` has one.

    Each pixel is lit from its capsule's cylinder normal (see :func:`_lighting`): wrapped
    diffuse light, a Blinn-Phong sheen that is strongest across the light, twist striations,
    fibre streaks, and darkening where the thread dives into the fabric. Lighting, cosines and
    streaks come from lookup tables; what is constant along a capsule is tabulated here and the
    pixels are shaded by :func:`_shade_pixels`.
    """
    azimuth = rng.uniform(0, 2 * np.pi)
    lz = rng.uniform(0.55, 0.9)
    lxy = math.sqrt(1 - lz * lz)
    lx, ly = lxy * math.cos(azimuth), lxy * math.sin(azimuth)
    period = rng.uniform(1.8, 2.8)
    # Striations finer than about 3 px blur away instead of aliasing; so does the relief of a
    # thread only a pixel or two wide, which is seen averaged across.
    visible = np.float32(np.clip((period * c.thread_width_mm * ppm / 2 - 2.5) / 3, 0.0, 1.0))
    relief = float(np.clip((c.thread_width_mm * ppm - 1.5) / 2.5, 0.25, 1.0))
    shade_lut, sheen_lut = _lighting(c, (lx, ly, lz), rng.uniform(0.25, 0.4), relief)

    ax, ay = caps.a[:, 0], caps.a[:, 1]
    tx, ty = caps.tangent[:, 0], caps.tangent[:, 1]
    h = caps.half_width
    big = np.float32(1e6)
    stripe = np.float32(256 / period) / h  # striation phase (1/256 turn) per pixel
    streak = 1 / (1.5 * h)  # streak tile texels per pixel along the thread
    table = np.stack(
        [
            ax * tx + ay * ty,
            ay * tx - ax * ty,
            tx,
            ty,
            h,
            1 / h,
            np.where(caps.dive_a, 0.0, -big),
            np.where(caps.dive_b, caps.length, big),
            # Row of the lighting tables for this capsule's light component across it.
            np.rint((ly * tx - lx * ty + lxy) * ((_LIGHT_BINS - 1) / (2 * lxy))) * _PROFILE_BINS
            + (_PROFILE_BINS - 1) / 2,
            stripe,
            caps.u0 * stripe + caps.phase * np.float32(256 / (2 * np.pi)),
            streak,
            caps.u0 * streak + caps.phase * 10,
            *caps.rgb.T,
        ],
        axis=1,
    ).astype(np.float32)
    compiled(_shade_pixels)(
        top,
        table,
        shade_lut,
        sheen_lut,
        _wave_lut(),
        _streak_tile().ravel(),
        planes,
        np.float32(math.tan(math.radians(c.twist_deg))),
        np.float32(c.twist_amp) * visible,
        np.float32(c.fuzz),
        np.float32(0.4) * visible,
    )


def _shade_pixels(
    top: np.ndarray,
    table: np.ndarray,
    shade_lut: np.ndarray,
    sheen_lut: np.ndarray,
    wave_lut: np.ndarray,
    streak_lut: np.ndarray,
    planes: np.ndarray,
    twist: np.float32,
    striation: np.float32,
    fuzz: np.float32,
    glint_striation: np.float32,
) -> None:
    """Shade each pixel of ``planes`` (3xHxW) whose ``top`` (HxW) names a capsule, in place.

    ``table`` has a row per capsule: its axis origin ``cu, cv`` along and across, tangent
    ``tx, ty``, half-width ``h`` and ``1/h``, the ends ``from_a, from_b`` along it (+-1e6 for a
    joint), the centre of its row of the lighting tables ``light``, the striation and streak
    scales and phases ``stripe, base, streak, base2``, and its colour ``r, g, b``. ``twist`` is
    the tangent of the twist angle; ``striation`` and ``glint_striation`` are the depth of the
    striations in the diffuse colour and in the sheen, ``fuzz`` that of the fibre streaks.
    The values and the arithmetic are float32; table indices truncate toward zero.
    """
    one, zero = np.float32(1.0), np.float32(0.0)
    for y in range(top.shape[0]):
        for x in range(top.shape[1]):
            k = top[y, x] - 1
            if k < 0:
                continue
            cu, cv, tx, ty, h, inv_h, from_a, from_b = table[k, :8]
            light, stripe, base, streak, base2, r, g, b = table[k, 8:]
            fx, fy = np.float32(x), np.float32(y)
            u = fx * tx + fy * ty - cu
            v = fy * tx - fx * ty - cv
            q = min(u - from_a, from_b - u) * inv_h  # distance to a diving end / half-width
            taper = min(max(q * np.float32(0.625) + np.float32(0.1875), np.float32(0.0025)), one)
            reach = h * np.sqrt(taper)
            over = u - min(max(u, from_a), from_b)  # beyond a diving end; joints are flat
            dist = np.sqrt(over * over + v * v)
            cover = min(max(reach + np.float32(0.5) - dist, zero), one)
            # Signed distance from the axis in half-widths (round past a diving end).
            profile = np.copysign(min(dist / reach, one), v) * np.float32((_PROFILE_BINS - 1) / 2)
            lit = np.int32(profile + light)
            stripes = wave_lut[np.int32((u + v * twist) * stripe + base) & 255]
            iu = np.int32(u * streak + base2) & 63
            iv = np.int32((v * inv_h + one) * np.float32(6)) & 63
            albedo = (one - striation * stripes) * (one - fuzz * streak_lut[(iv << 6) | iu])
            sink = min(max((np.float32(1.2) - q) * np.float32(0.4545), zero), one)
            shade = shade_lut[lit] * (one - np.float32(0.55) * sink) * albedo
            glint = sheen_lut[lit] * (one - glint_striation * stripes) * (one - sink)
            # Over the ground: under + cover * (diffuse + glint - under).
            for channel, colour in enumerate((r, g, b)):
                under = planes[channel, y, x]
                planes[channel, y, x] = under + (colour * shade + glint - under) * cover


def _view(
    rng: np.random.Generator, ppm: float, size: int, reach: float
) -> tuple[np.ndarray, _Frame]:
    """A random rotation and row curvature: the mm-to-pixel affine map and the row frame."""
    angle = rng.uniform(0, 2 * np.pi)
    ca, sa = math.cos(angle) * ppm, math.sin(angle) * ppm
    centre = (size - 1) / 2
    to_px = np.array([[ca, -sa, centre], [sa, ca, centre]])
    radius = None if rng.random() < 0.5 else reach * float(rng.uniform(1.3, 4.0))
    return to_px, _Frame(radius)


def render_stitch(
    rng: np.random.Generator,
    label: str,
    *,
    px_per_mm: float,
    size: int = 256,
    construction: StitchConstruction | None = None,
) -> tuple[np.ndarray, dict]:
    """Render one embroidery close-up of class ``label`` and return ``(image, truth)``.

    ``construction`` fixes the physical sample (else one is drawn for this scale). The image is
    ``uint8`` HxWx3 RGB (about 10 % HxW grayscale), ``size`` x ``size``. ``truth`` holds every
    name in ``TRUTH_COLUMNS`` plus ``label`` and ``um_per_px``. Stitch statistics are measured
    over the ``n_stitches`` stitches whose midpoint lies in the image (at least the 100 nearest
    its centre): length (needle hole to needle hole; chain: loop pitch) and its CV, stitches
    per cm along the row (satin: along the column), the SD of the hand's angle jitter, and the
    spacing between neighbouring stitches (satin) or rows.

    Example:
        >>> img, truth = render_stitch(np.random.default_rng(4), "sozni_hand", px_per_mm=15.0)
        >>> img.dtype, 0.15 <= truth["stitch_length_cv"] <= 0.30
        (dtype('uint8'), True)
    """
    if px_per_mm <= 0:
        raise ValueError(f"px_per_mm must be positive, got {px_per_mm}")
    if size < 32:
        raise ValueError(f"size must be at least 32 px, got {size}")
    c = draw_construction(rng, label, px_per_mm=px_per_mm) if construction is None else construction
    if c.label != label:
        raise ValueError(f"construction is {c.label!r} but label is {label!r}")
    ppm = float(px_per_mm)
    reach = size / ppm / math.sqrt(2) + 1.5 * c.stitch_length_mm + c.loop_width_mm
    to_px, frame = _view(rng, ppm, size, reach)
    lay, rows = _layout(rng, c, frame, reach)
    caps = _capsules(rng, c, lay, to_px, ppm)
    lo = np.minimum(caps.a, caps.b) - caps.half_width[:, None]
    hi = np.maximum(caps.a, caps.b) + caps.half_width[:, None]
    caps = caps.select(np.all((hi >= -1) & (lo <= size), axis=1))

    top = _rasterise(caps, size)
    planes = _ground(rng, c, ppm, size)
    cover = (top > 0).astype(np.float32)
    h_px = max(1.0, c.thread_width_mm * ppm / 2)
    shadow = cv2.GaussianBlur(cover, (0, 0), 0.9 * h_px)
    dx, dy = np.rint(rng.uniform(-0.8, 0.8, 2) * h_px).astype(int).tolist()
    shadow = _shifted(shadow, dx, dy)
    planes *= 1 - np.float32(rng.uniform(0.45, 0.7)) * shadow
    _shade(rng, c, caps, top, planes, ppm)
    image = _photograph(rng, planes)
    return image, _truth(c, lay, rows, to_px, ppm, size)


def _photograph(rng: np.random.Generator, planes: np.ndarray) -> np.ndarray:
    """Reflected-light photo of 3xHxW albedo planes: light, white balance, blur, noise, JPEG.

    ``planes`` become the exposure (scaled in place).
    """
    light = imaging.illumination(rng, planes.shape[1:])
    level = np.float32(rng.uniform(0.75, 1.0) * 255.0)
    cast = 1.0 + rng.uniform(-0.07, 0.07, 3)
    planes *= light * level
    planes *= cast.astype(np.float32)[:, None, None]
    out = imaging.develop(
        rng,
        planes,
        blur=1.3 * rng.random() ** 2,
        shot=rng.uniform(0.05, 0.5),
        read=rng.uniform(0.5, 3.0),
    )
    if rng.random() < 0.15:
        out = imaging.jpeg_roundtrip(out, int(rng.integers(60, 93)))
    if rng.random() < 0.1:
        out = imaging.to_gray(out)
    return out


def _truth(
    c: StitchConstruction,
    lay: _Layout,
    rows: _Rows,
    to_px: np.ndarray,
    ppm: float,
    size: int,
) -> dict:
    """Stitch statistics over the stitches whose midpoint lies in the image.

    When fewer than ``_MIN_MEASURED`` do, the statistics use that many nearest the centre.
    """
    mid = (lay.a + lay.b) / 2 @ to_px[:, :2].T + to_px[:, 2]
    inside = np.all((mid >= 0) & (mid < size), axis=1)
    measured = inside
    if inside.sum() < _MIN_MEASURED:
        nearest = np.argsort(np.abs(mid - (size - 1) / 2).max(axis=1))[:_MIN_MEASURED]
        measured = np.isin(np.arange(len(mid)), nearest)
    lengths = np.linalg.norm(lay.b - lay.a, axis=1)[measured]
    advance = lay.advance[measured]
    if c.stitch_type in ("satin", "lock_satin"):
        spacing = advance
    else:
        used = np.unique(lay.row[measured])
        neighbours = (np.diff(used) == 1) & (np.diff(rows.band[used]) == 0)
        steps = np.diff(rows.n[used])[neighbours]
        spacing = steps if len(steps) else np.array([c.spacing_mm])
    spacing_mean = float(spacing.mean())
    return {
        "label": c.label,
        "um_per_px": round(1000.0 / ppm, 4),
        "px_per_mm": ppm,
        "stitch_type": c.stitch_type,
        "kind": c.kind,
        "stitch_length_mm": float(lengths.mean()),
        "stitch_length_cv": float(lengths.std() / lengths.mean()),
        "stitches_per_cm": float(10.0 / advance.mean()),
        "angle_sd_deg": float(lay.angle_dev[measured].std()),
        "spacing_mm": spacing_mean,
        "spacing_cv": float(spacing.std() / spacing_mean),
        "thread_width_mm": c.thread_width_mm,
        "n_stitches": int(inside.sum()),
        "n_colours": len(c.colours),
        "sample_stitch_length_mm": c.stitch_length_mm,
    }


def render_sample(
    rng: np.random.Generator,
    label: str,
    n_images: int,
    *,
    px_per_mm: float | None = None,
    size: int = 256,
) -> list[tuple[np.ndarray, dict]]:
    """Render ``n_images`` close-ups of one physical sample (one shared construction and scale).

    ``px_per_mm=None`` draws the scale per sample, log-uniform over 5-50 px/mm for every class;
    the sample's nominal stitch length is then drawn to keep stitches 18-90 px long where its
    stitch type allows it.

    Example:
        >>> shots = render_sample(np.random.default_rng(0), "sozni_hand", 2, size=64)
        >>> len(shots), len({t["sample_stitch_length_mm"] for _, t in shots})
        (2, 1)
    """
    scale = draw_px_per_mm(rng) if px_per_mm is None else float(px_per_mm)
    construction = draw_construction(rng, label, px_per_mm=scale)
    return [
        render_stitch(rng, label, px_per_mm=scale, size=size, construction=construction)
        for _ in range(n_images)
    ]
