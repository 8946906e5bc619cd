"""Procedural bright-field micrographs of single fibres: Pashmina, wool, yak/angora, synthetics.

Every physical parameter comes from DESIGN.md §2: diameters in µm (drawn per physical sample as
a mean and a spread), cuticle scale margins per 100 µm with their regularity, obliquity and edge
height, medullas, and the surface of synthetics (pits, striations, a glassy lens line). Bands
are drawn exactly ``diameter_um / um_per_px`` pixels wide; nuisance factors (illumination,
colour cast, blur, noise, debris, JPEG) are drawn independently of the class.

Example:
    >>> import numpy as np
    >>> from craftvision.datasets.synth.fibre import render_fibre
    >>> img, truth = render_fibre(np.random.default_rng(0), "pashmina", um_per_px=0.5)
    >>> img.dtype, truth["fibre_kind"]
    (dtype('uint8'), 'pashmina')
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import cv2
import numpy as np

from craftvision.datasets.synth import imaging

CLASSES = ("pashmina", "wool", "other_animal", "synthetic")
GENUINE_CLASS = "pashmina"
KINDS: dict[str, tuple[str, ...]] = {
    "pashmina": ("pashmina",),
    "wool": ("merino", "medium_wool", "coarse_wool"),
    "other_animal": ("yak", "angora"),
    "synthetic": ("acrylic", "polyester", "viscose"),
}
LAYOUTS = ("field", "strip")
TRUTH_COLUMNS = (
    "diameter_um",
    "scale_interval_um",
    "fibre_kind",
    "layout",
    "n_fibres",
    "n_medullated",
    "sample_diameter_um",
)

_KIND_WEIGHTS = {
    "pashmina": (1.0,),
    "wool": (0.5, 0.3, 0.2),
    "other_animal": (0.55, 0.45),
    "synthetic": (0.35, 0.35, 0.3),
}

# Per kind: (low, high) ranges drawn once per physical sample. Diameters and scale geometry in µm;
# tilt/wobble/bow are slopes relative to the fibre radius, wave the angular frequency of a margin's
# ripple across the band and sharp how zig-zag (vs sinuous) it is; contrast values are optical
# densities.
_SPECS: dict[str, dict[str, tuple[float, float]]] = {
    "pashmina": {
        "diameter": (11.8, 14.2),
        "sd": (2.0, 2.5),
        "interval": (14.0, 17.0),
        "cv": (0.04, 0.08),
        "tilt": (0.0, 0.08),
        "wobble": (0.0, 0.04),
        "bow": (0.06, 0.16),
        "jag": (0.0, 0.05),
        "wave": (2.0, 3.0),
        "sharp": (0.0, 0.0),
        "partial": (0.0, 0.0),
        "line": (0.5, 0.65),
        "contrast": (0.22, 0.32),
        "height": (0.25, 0.35),
        "pigment": (0.0, 0.25),
    },
    "merino": {
        "diameter": (16.5, 21.5),
        "sd": (3.2, 4.2),
        "interval": (8.0, 11.5),
        "cv": (0.25, 0.35),
        "tilt": (0.15, 0.5),
        "wobble": (0.12, 0.25),
        "bow": (0.0, 0.25),
        "jag": (0.6, 1.2),
        "wave": (6.0, 10.0),
        "sharp": (0.7, 1.0),
        "partial": (0.15, 0.35),
        "line": (0.8, 1.1),
        "contrast": (0.3, 0.45),
        "height": (0.7, 0.9),
        "pigment": (0.0, 0.1),
    },
    "medium_wool": {
        "diameter": (22.0, 30.0),
        "sd": (4.5, 6.0),
        "interval": (8.5, 12.0),
        "cv": (0.25, 0.35),
        "tilt": (0.15, 0.45),
        "wobble": (0.1, 0.2),
        "bow": (0.0, 0.25),
        "jag": (0.7, 1.3),
        "wave": (7.0, 11.0),
        "sharp": (0.7, 1.0),
        "partial": (0.2, 0.4),
        "line": (0.8, 1.1),
        "contrast": (0.3, 0.45),
        "height": (0.7, 0.9),
        "pigment": (0.0, 0.1),
    },
    "coarse_wool": {
        "diameter": (30.0, 42.0),
        "sd": (6.0, 8.5),
        "interval": (9.0, 12.0),
        "cv": (0.25, 0.35),
        "tilt": (0.1, 0.35),
        "wobble": (0.08, 0.15),
        "bow": (0.0, 0.2),
        "jag": (0.8, 1.4),
        "wave": (8.0, 12.0),
        "sharp": (0.7, 1.0),
        "partial": (0.25, 0.45),
        "line": (0.8, 1.1),
        "contrast": (0.3, 0.45),
        "height": (0.7, 0.9),
        "pigment": (0.0, 0.15),
    },
    "yak": {
        "diameter": (15.5, 20.0),
        "sd": (3.0, 4.0),
        "interval": (9.5, 12.5),
        "cv": (0.2, 0.28),
        "tilt": (0.15, 0.35),
        "wobble": (0.1, 0.2),
        "bow": (0.0, 0.2),
        "jag": (0.5, 0.9),
        "wave": (2.0, 3.5),
        "sharp": (0.0, 0.3),
        "partial": (0.1, 0.25),
        "line": (0.55, 0.75),
        "contrast": (0.22, 0.32),
        "height": (0.4, 0.55),
        "pigment": (0.35, 1.0),
    },
    "angora": {
        "diameter": (11.5, 14.5),
        "sd": (2.0, 3.0),
        "interval": (8.0, 11.0),
        "cv": (0.15, 0.25),
        "tilt": (0.1, 0.35),
        "wobble": (0.08, 0.18),
        "bow": (0.0, 0.2),
        "jag": (0.3, 0.6),
        "wave": (3.0, 5.0),
        "sharp": (0.2, 0.5),
        "partial": (0.05, 0.2),
        "line": (0.5, 0.65),
        "contrast": (0.16, 0.24),
        "height": (0.3, 0.45),
        "pigment": (0.0, 0.1),
    },
}
_SYNTHETIC_DIAMETER = {"acrylic": (11.0, 24.0), "polyester": (10.0, 22.0), "viscose": (11.0, 22.0)}
_BINS = 128
_FAR = 1e6
_MEDULLA = {"coarse_wool": ("fragmented", 0.6), "medium_wool": ("fragmented", 0.1)}


@dataclass(frozen=True)
class FibrePopulation:
    """The fibres of one physical sample: every image of the sample draws its fibres from here.

    Lengths are in µm; ``scale_*`` fields are None/0 for synthetics, which carry no scales.

    Example:
        >>> pop = draw_population(np.random.default_rng(0), "wool", kind="merino")
        >>> pop.kind, 16.5 <= pop.diameter_um <= 21.5
        ('merino', True)
    """

    label: str
    kind: str
    diameter_um: float
    diameter_sd_um: float
    scale_interval_um: float | None
    scale_cv: float = 0.0
    margin_tilt: float = 0.0
    margin_wobble: float = 0.0
    margin_bow: float = 0.0
    margin_jag_um: float = 0.0
    margin_wave: float = 2.0
    margin_sharp: float = 0.0
    margin_partial: float = 0.0
    margin_line_um: float = 0.5
    margin_contrast: float = 0.0
    scale_height_um: float = 0.0
    medulla: str = "none"
    medulla_fraction: float = 0.0
    pigment: float = 0.0
    body_od: float = 0.2
    edge_od: float = 0.3


def draw_population(
    rng: np.random.Generator, label: str, *, kind: str | None = None
) -> FibrePopulation:
    """Draw one physical sample's fibre population for ``label`` (and ``kind``, else random).

    Example:
        >>> draw_population(np.random.default_rng(0), "synthetic", kind="viscose").scale_interval_um
    """
    if label not in KINDS:
        raise ValueError(f"unknown fibre class {label!r}; expected one of {', '.join(CLASSES)}")
    if kind is None:
        kind = KINDS[label][int(rng.choice(len(KINDS[label]), p=_KIND_WEIGHTS[label]))]
    elif kind not in KINDS[label]:
        raise ValueError(f"kind {kind!r} is not a {label!r} kind; expected {KINDS[label]}")
    body_od = float(rng.uniform(0.12, 0.3))
    edge_od = float(rng.uniform(0.2, 0.45))
    if label == "synthetic":
        diameter = float(rng.uniform(*_SYNTHETIC_DIAMETER[kind]))
        return FibrePopulation(
            label=label,
            kind=kind,
            diameter_um=diameter,
            diameter_sd_um=diameter * float(rng.uniform(0.015, 0.04)),
            scale_interval_um=None,
            body_od=body_od * (0.5 if kind == "polyester" else 1.0),
            edge_od=edge_od * (1.6 if kind == "polyester" else 1.0),
        )
    spec = {name: float(rng.uniform(lo, hi)) for name, (lo, hi) in _SPECS[kind].items()}
    medulla, fraction = ("ladder", 1.0) if kind == "angora" else _MEDULLA.get(kind, ("none", 0.0))
    pigmented = kind == "yak" or (kind == "pashmina" and rng.random() < 0.25)
    return FibrePopulation(
        label=label,
        kind=kind,
        diameter_um=spec["diameter"],
        diameter_sd_um=spec["sd"],
        scale_interval_um=spec["interval"],
        scale_cv=spec["cv"],
        margin_tilt=spec["tilt"],
        margin_wobble=spec["wobble"],
        margin_bow=spec["bow"],
        margin_jag_um=spec["jag"],
        margin_wave=spec["wave"],
        margin_sharp=spec["sharp"],
        margin_partial=spec["partial"],
        margin_line_um=spec["line"],
        margin_contrast=spec["contrast"],
        scale_height_um=spec["height"],
        medulla=medulla,
        medulla_fraction=fraction,
        pigment=spec["pigment"] if pigmented else 0.0,
        body_od=body_od,
        edge_od=edge_od,
    )


@dataclass(frozen=True)
class _Path:
    """A fibre's centre line: through (cx, cy) at ``angle``, bent by a gentle sine (pixels)."""

    cx: float
    cy: float
    angle: float
    bend: float = 0.0
    wavenumber: float = 0.0
    phase: float = 0.0


@functools.lru_cache(maxsize=16)
def _grid(h: int, w: int) -> tuple[np.ndarray, np.ndarray]:
    """Flattened pixel-centre coordinates (x, y) of an h x w image, shared read-only."""
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    xx, yy = xx.ravel(), yy.ravel()
    xx.flags.writeable = yy.flags.writeable = False
    return xx, yy


@functools.cache
def _speck_tile() -> np.ndarray:
    """A fixed 128x128 texture of soft dots at 0.25 µm per texel (granules, pits, delustrant)."""
    rng = np.random.default_rng(20240601)
    tile = np.zeros((128, 128), np.float32)
    ys, xs = rng.integers(0, 128, (2, 140))
    np.add.at(tile, (ys, xs), rng.uniform(0.5, 1.0, 140).astype(np.float32))
    tile = cv2.GaussianBlur(np.tile(tile, (3, 3)), (0, 0), 1.6)[128:256, 128:256]
    return tile / tile.max()


def _draw_one(
    density: np.ndarray,
    rng: np.random.Generator,
    pop: FibrePopulation,
    path: _Path,
    diameter_um: float,
    um_per_px: float,
    *,
    detail: bool = True,
) -> tuple[float | None, bool]:
    """Add one fibre's optical density to ``density`` in place.

    Returns the fibre's true mean scale interval (µm, None without scales) and whether it has a
    medulla. ``detail=False`` draws only the band (for out-of-focus fibres).
    """
    h, w = density.shape
    r = float(diameter_um / um_per_px / 2)
    height_px = pop.scale_height_um / um_per_px if detail else 0.0
    reach_max = r + height_px + 1.5
    xx, yy = _grid(h, w)
    cx, cy, bend, wavenumber, phase = (
        float(value) for value in (path.cx, path.cy, path.bend, path.wavenumber, path.phase)
    )
    ca, sa = math.cos(path.angle), math.sin(path.angle)
    t = (yy - cy) * ca - (xx - cx) * sa
    idx = np.flatnonzero(np.abs(t) < abs(bend) + reach_max)
    u = (xx[idx] - cx) * ca + (yy[idx] - cy) * sa
    arg = wavenumber * u + phase
    slope = bend * wavenumber * np.cos(arg)
    v = (t[idx] - bend * np.sin(arg)) / np.sqrt(1 + slope * slope)
    keep = np.abs(v) < reach_max
    idx, u, v = idx[keep], u[keep], v[keep]
    if idx.size == 0:
        return None, False
    av = np.abs(v)
    xa = np.minimum(av / r, 1.0)
    thick = np.sqrt(1.0 - xa * xa)
    edge_px = max(0.8, 0.9 / um_per_px)
    body = pop.body_od * math.sqrt(diameter_um / 15.0) * (1.0 + 1.5 * pop.pigment)
    dens = body * thick
    reach: float | np.ndarray = r
    interval = None
    medullated = False
    if detail:
        half = math.hypot(h, w) / 2 + abs(path.cx - w / 2) + abs(path.cy - h / 2) + 4 * r
        xs = np.clip(v / r, -1.0, 1.0)
        if pop.scale_interval_um is not None:
            dens_scales, tooth, interval = _scales(rng, pop, u, xs, thick, r, half, um_per_px)
            dens += dens_scales
            reach = r + tooth
        if pop.medulla != "none" and rng.random() < pop.medulla_fraction:
            dens += _medulla(rng, pop, u, xs, r, half)
            medullated = True
        dens += _surface(rng, pop, u, xs, v, r, um_per_px)
    dens += pop.edge_od * np.exp(-((np.maximum(reach - av, 0.0) / edge_px) ** 2))
    alpha = np.clip(reach - av + 0.5, 0.0, 1.0)
    density.reshape(-1)[idx] += alpha * dens
    return interval, medullated


def _ripple(theta: np.ndarray, sharp: float) -> np.ndarray:
    """A periodic ripple of unit amplitude: a sine blended with a zig-zag by ``sharp`` (0-1)."""
    wave = np.sin(theta)
    return (1 - sharp) * wave + sharp * (2 / np.pi) * np.arcsin(wave)


def _scales(
    rng: np.random.Generator,
    pop: FibrePopulation,
    u: np.ndarray,
    xs: np.ndarray,
    thick: np.ndarray,
    r: float,
    half: float,
    um_per_px: float,
) -> tuple[np.ndarray, np.ndarray, float]:
    """Cuticle scale margins: their optical density, the edge protrusion (px) and mean interval."""
    mean_px = pop.scale_interval_um * (1 + 0.06 * rng.standard_normal()) / um_per_px
    n = int(2 * half / (mean_px * 0.3)) + 8
    steps = mean_px * np.clip(1 + pop.scale_cv * rng.standard_normal(n), 0.3, None)
    margins = -half + np.cumsum(steps)
    margins = margins[: max(8, int(np.searchsorted(margins, half)) + 3)]
    k = len(margins)
    direction = 1.0 if rng.random() < 0.5 else -1.0
    interval_um = _interval_in_view(margins, direction * u[np.abs(xs) < 0.5]) * um_per_px
    tilt = pop.margin_tilt * (1.0 if rng.random() < 0.5 else -1.0)
    limit = 1.2 * mean_px / max(r, 1.0)
    wobble = np.clip(pop.margin_wobble * rng.standard_normal(k), -limit, limit)
    bow = pop.margin_bow * direction * rng.uniform(0.5, 1.0, k)
    jag = pop.margin_jag_um / um_per_px * rng.uniform(0.3, 1.0, k)
    partial = rng.random(k) < pop.margin_partial
    cut = rng.uniform(-0.6, 0.6, k)
    side = rng.random(k) < 0.5
    lo = np.where(partial & side, cut, -2.0)
    hi = np.where(partial & ~side, cut, 2.0)

    # Each margin's position across the band, tabulated at _BINS points of x = v / r in [-1, 1];
    # two sentinel rows at each end stand for "no margin" and spare index clipping below.
    xb = np.linspace(-1.0, 1.0, _BINS)
    f = pop.margin_wave
    jag_phase = rng.uniform(0, 2 * np.pi, k)[:, None]
    wave = _ripple(f * xb + jag_phase, pop.margin_sharp)
    wave += 0.5 * _ripple(2.7 * f * xb - jag_phase, pop.margin_sharp)
    table = margins[:, None] + (wobble * r)[:, None] * xb + (bow * r)[:, None] * (xb * xb - 0.5)
    table += jag[:, None] * wave
    table[(xb < lo[:, None]) | (xb > hi[:, None])] = _FAR
    sentinel = np.full((2, _BINS), _FAR)
    table = np.concatenate([-sentinel, table, sentinel]).astype(np.float32).ravel()

    warped = direction * u - tilt * r * xs
    col = np.rint((xs + 1.0) * ((_BINS - 1) / 2)).astype(np.intp)
    base = (np.searchsorted(margins, warped) + 2) * _BINS + col
    nearest = np.full(u.shape, _FAR, np.float32)
    prev = nearest.copy()
    nxt = nearest.copy()
    for j in (-2, -1, 0, 1, 2):
        d = warped - table[base + j * _BINS]
        ahead = d < 0
        np.minimum(nearest, np.abs(d), out=nearest)
        np.minimum(prev, np.where(ahead, _FAR, d), out=prev)
        np.minimum(nxt, np.where(ahead, -d, _FAR), out=nxt)
    phase = prev / (prev + nxt)
    sigma = max(0.7, pop.margin_line_um / um_per_px / 2.355)
    line = np.exp(-0.5 * (nearest / sigma) ** 2)
    dens = pop.margin_contrast * line * (0.55 + 0.45 * thick)
    dens += 0.35 * pop.margin_contrast * np.clip(1.0 - phase, 0.0, 1.0) * thick
    tooth = pop.scale_height_um / um_per_px * np.clip(1.0 - phase / 0.3, 0.0, 1.0)
    return dens, tooth, interval_um


def _interval_in_view(margins: np.ndarray, axis: np.ndarray) -> float:
    """The mean gap between neighbouring margins whose both ends cross the fibre in the image.

    ``axis`` holds the margins' coordinate at the image's pixels on the fibre's axis. A field
    shows a chord of a fibre drawn far longer, so the truth is what the photo shows; with no
    gap in view it is the mean over all drawn.

    Example:
        >>> _interval_in_view(np.array([0.0, 10.0, 30.0, 40.0]), np.array([5.0, 42.0]))
        15.0
    """
    gaps = np.diff(margins)
    if axis.size:
        seen = (margins[:-1] >= axis.min()) & (margins[1:] <= axis.max())
        if seen.any():
            gaps = gaps[seen]
    return float(gaps.mean())


def _medulla(
    rng: np.random.Generator,
    pop: FibrePopulation,
    u: np.ndarray,
    xs: np.ndarray,
    r: float,
    half: float,
) -> np.ndarray:
    """A medulla along the fibre centre: fragmented (coarse wool) or a regular ladder (angora)."""
    length = int(2 * half) + 2
    along = np.zeros(length, np.float32)
    pos = 0.0
    if pop.medulla == "ladder":
        width = rng.uniform(0.45, 0.65)
        period = 2 * r * rng.uniform(0.35, 0.6)
        septum = rng.uniform(0.22, 0.35)
        while pos < length:
            step = period * rng.uniform(0.9, 1.1)
            a, b = int(pos + septum * step / 2), int(pos + step * (1 - septum / 2))
            along[a : max(a + 1, b)] = 1.0
            pos += step
        strength = rng.uniform(0.6, 1.0)
        smooth = 3
    else:
        width = rng.uniform(0.2, 0.4)
        on = rng.random() < 0.5
        while pos < length:
            step = 2 * r * (rng.uniform(1.0, 6.0) if on else rng.uniform(0.3, 3.0))
            if on:
                along[int(pos) : int(pos + step) + 1] = rng.uniform(0.5, 1.0)
            pos += step
            on = not on
        strength = rng.uniform(0.4, 0.75)
        smooth = max(3, int(0.6 * r))
    along = np.convolve(along, np.full(smooth, 1 / smooth, np.float32), mode="same")
    at = np.clip((u + half).astype(np.int64), 0, length - 1)
    across = np.clip((width * along[at] - np.abs(xs)) * r + 0.5, 0.0, 1.0)
    return strength * across * np.sqrt(along[at])


def _surface(
    rng: np.random.Generator,
    pop: FibrePopulation,
    u: np.ndarray,
    xs: np.ndarray,
    v: np.ndarray,
    r: float,
    um_per_px: float,
) -> np.ndarray:
    """Surface features: pigment granules (streaks along the fibre), acrylic pits and bean groove,
    viscose striations, the glassy lens line of polyester/nylon."""
    tile = _speck_tile()
    texel = um_per_px / 0.25
    oy, ox = rng.integers(0, 128, 2)

    def specks(zoom: float, stretch: float = 1.0) -> np.ndarray:
        iu = (u * texel * zoom / stretch + ox).astype(np.int64) % 128
        iv = (v * texel * zoom + oy).astype(np.int64) % 128
        return tile[iv, iu]

    dens = np.zeros(u.shape, np.float32)
    if pop.pigment > 0:
        dens += 0.9 * pop.pigment * specks(1.6, stretch=2.5)
    if pop.kind == "acrylic":
        groove = rng.choice((-1.0, 1.0)) * rng.uniform(0.2, 0.5)
        dens += rng.uniform(0.08, 0.18) * np.exp(-(((xs - groove) / 0.12) ** 2))
        dens += rng.uniform(0.25, 0.45) * specks(0.8)
    elif pop.kind == "viscose":
        for pos in np.sort(rng.uniform(-0.85, 0.85, int(rng.integers(3, 8)))):
            dens += rng.uniform(0.08, 0.22) * np.exp(-(((xs - pos) * r / 0.9) ** 2))
    elif pop.kind == "polyester":
        dens -= rng.uniform(0.25, 0.45) * np.exp(-((xs / 0.18) ** 2))
        if rng.random() < 0.5:
            dens += rng.uniform(0.15, 0.3) * specks(2.5)
    return dens


def _fibre_diameters(rng: np.random.Generator, pop: FibrePopulation, n: int) -> np.ndarray:
    d = pop.diameter_um + pop.diameter_sd_um * rng.standard_normal(n)
    return np.clip(d, max(7.0, 0.6 * pop.diameter_um), 1.8 * pop.diameter_um)


def _strip(
    rng: np.random.Generator, pop: FibrePopulation, um_per_px: float
) -> tuple[np.ndarray, list[float], list[float | None], int]:
    (diameter,) = _fibre_diameters(rng, pop, 1)
    d_px = diameter / um_per_px
    h = int(np.clip(round(d_px * rng.uniform(2.0, 3.0)), 40, 96))
    h = max(h, math.ceil(1.3 * d_px + 6))
    w = int(np.clip(round(h * rng.uniform(3.0, 6.0)), 100, 320))
    w = max(w, 2 * h)
    angle = math.radians(rng.uniform(-1.0, 1.0))
    room = max(0.0, (h - d_px) / 2 - 3 - abs(math.tan(angle)) * w / 2)
    path = _Path(w / 2, h / 2 + rng.uniform(-room, room), angle)
    density = np.zeros((h, w), np.float32)
    interval, medullated = _draw_one(density, rng, pop, path, diameter, um_per_px)
    density += imaging.debris(rng, (h, w), um_per_px, amount=0.5)
    return density, [float(diameter)], [interval], int(medullated)


def _field(
    rng: np.random.Generator, pop: FibrePopulation, um_per_px: float, size: int
) -> tuple[np.ndarray, list[float], list[float | None], int]:
    density = np.zeros((size, size), np.float32)
    n_back = int(rng.choice(4, p=(0.45, 0.3, 0.15, 0.1)))
    if n_back:
        low = max(16, size // 4)
        back = np.zeros((low, low), np.float32)
        factor = size / low
        for diameter in _fibre_diameters(rng, pop, n_back):
            path = _Path(*rng.uniform(0, low, 2).tolist(), rng.uniform(0, np.pi))
            _draw_one(back, rng, pop, path, diameter, um_per_px * factor, detail=False)
        back = cv2.GaussianBlur(back, (0, 0), rng.uniform(1.0, 2.5))
        back = cv2.resize(back, (size, size), interpolation=cv2.INTER_LINEAR)
        density += back * np.float32(rng.uniform(0.3, 0.6))
    mean_px = pop.diameter_um / um_per_px
    most = max(1, min(4, int(size / (1.6 * mean_px))))
    n = min(most, int(rng.choice(4, p=(0.35, 0.3, 0.2, 0.15))) + 1)
    diameters = _fibre_diameters(rng, pop, n)
    intervals: list[float | None] = []
    medullated = 0
    for diameter in diameters:
        r = diameter / um_per_px / 2
        wavelength = size * rng.uniform(1.5, 4.0)
        k = 2 * np.pi / wavelength
        bend = min(size * rng.uniform(0.0, 0.08), 0.1 / (k * k * max(r, 1.0)))
        cx, cy = (rng.uniform(0.15, 0.85, 2) * size).tolist()
        path = _Path(cx, cy, rng.uniform(0, np.pi), bend, k, rng.uniform(0, 2 * np.pi))
        interval, has_medulla = _draw_one(density, rng, pop, path, diameter, um_per_px)
        intervals.append(interval)
        medullated += int(has_medulla)
    density += imaging.debris(rng, (size, size), um_per_px)
    return density, [float(d) for d in diameters], intervals, medullated


def render_fibre(
    rng: np.random.Generator,
    label: str,
    *,
    um_per_px: float,
    size: int = 256,
    population: FibrePopulation | None = None,
    layout: str | None = None,
) -> tuple[np.ndarray, dict]:
    """Render one fibre micrograph of class ``label`` and return ``(image, truth)``.

    ``population`` fixes the physical sample (else one is drawn); ``layout`` is ``"field"``
    (size x size, 1-4 fibres) or ``"strip"`` (one straightened horizontal fibre), else drawn
    70/30. The image is ``uint8`` HxW (grayscale) or HxWx3 RGB. ``truth`` holds every name in
    ``TRUTH_COLUMNS`` plus ``label``, ``um_per_px`` and ``diameters_um`` (one per in-focus fibre).
    ``scale_interval_um`` is the mean over the scaled fibres of each one's mean gap between
    neighbouring cuticle margins that both cross it in the photo.

    Example:
        >>> rng = np.random.default_rng(3)
        >>> img, truth = render_fibre(rng, "wool", um_per_px=0.5, layout="strip")
        >>> truth["layout"], truth["n_fibres"], img.shape[0] < img.shape[1]
        ('strip', 1, True)
    """
    if um_per_px <= 0:
        raise ValueError(f"um_per_px must be positive, got {um_per_px}")
    if size < 32:
        raise ValueError(f"size must be at least 32 px, got {size}")
    pop = population if population is not None else draw_population(rng, label)
    if pop.label != label:
        raise ValueError(f"population is {pop.label!r} but label is {label!r}")
    if layout is None:
        layout = "field" if rng.random() < 0.7 else "strip"
    if layout == "field":
        density, diameters, intervals, medullated = _field(rng, pop, um_per_px, size)
    elif layout == "strip":
        density, diameters, intervals, medullated = _strip(rng, pop, um_per_px)
    else:
        raise ValueError(f"unknown layout {layout!r}; expected one of {', '.join(LAYOUTS)}")
    image = imaging.bright_field(rng, density, max_blur_px=min(1.2, 0.35 / um_per_px))
    scaled = [i for i in intervals if i is not None]
    truth = {
        "label": label,
        "um_per_px": um_per_px,
        "diameter_um": float(np.mean(diameters)),
        "scale_interval_um": float(np.mean(scaled)) if scaled else None,
        "fibre_kind": pop.kind,
        "layout": layout,
        "n_fibres": len(diameters),
        "n_medullated": medullated,
        "sample_diameter_um": pop.diameter_um,
        "diameters_um": diameters,
    }
    return image, truth


def render_sample(
    rng: np.random.Generator,
    label: str,
    n_images: int,
    *,
    um_per_px: float | None = None,
    size: int = 256,
) -> list[tuple[np.ndarray, dict]]:
    """Render ``n_images`` micrographs of one physical sample (one shared fibre population).

    ``um_per_px=None`` draws the microscope's scale for the sample uniformly from 0.25-1.0
    (rounded to 4 decimals, so that the manifest holds it exactly).

    Example:
        >>> shots = render_sample(np.random.default_rng(0), "synthetic", 2, um_per_px=0.5)
        >>> len(shots), {t["fibre_kind"] for _, t in shots} <= set(KINDS["synthetic"])
        (2, True)
    """
    pop = draw_population(rng, label)
    scale = round(float(rng.uniform(0.25, 1.0)), 4) if um_per_px is None else float(um_per_px)
    return [
        render_fibre(rng, label, um_per_px=scale, size=size, population=pop)
        for _ in range(n_images)
    ]
