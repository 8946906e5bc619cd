"""Fibre fineness: every fibre's diameter and cuticle scale spacing, per image and per sample.

:func:`measure_fibres` turns a bright-field micrograph into optical density over its fitted
background (so the light level and vignetting drop out), finds every in-focus fibre and
measures it along its length (see :mod:`craftvision.measure._fibres`): the diameter is the
median of its clean cross-sections, because cuticle scale edges protrude from the shaft over
part of its length. :func:`summarise_fibres` pools the fibres of a sample (one product, many
fields) into the figures a lab reports, and :func:`grade_fineness` applies the rules:

- GI "Kashmir Pashmina": mean diameter ≤ 16 µm;
- US cashmere (cashmere-grade): mean ≤ 19 µm, CV ≤ 24 %, at most 3 % of fibres over 30 µm;
- anything else fails;
- inconclusive where the mean's 95 % confidence interval (Student's t over the fibres
  measured) takes in the 16 or the 19 µm limit, or only one fibre was measured: the rule
  says about how many fibres would decide it (labs measure hundreds per sample).

Example:
    >>> import numpy as np
    >>> from craftvision.datasets.synth.fibre import render_fibre
    >>> from craftvision.measure import Calibration, measure_fibres, summarise_fibres
    >>> img, truth = render_fibre(np.random.default_rng(1), "wool", um_per_px=0.5, layout="strip")
    >>> result = measure_fibres(img, Calibration.from_um_per_px(0.5))
    >>> result.n_fibres, abs(result.mean_diameter_um - truth["diameter_um"]) < 1.0
    (1, True)
    >>> summarise_fibres([result]).grade.grade  # one fibre cannot show a sample's mean
    'inconclusive'
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np

from craftvision.errors import MeasurementError
from craftvision.measure._fibres import (
    MIN_CLEAN_SHARE,
    MIN_CLEAN_WIDTHS,
    FoundFibre,
    find_fibres,
    scale_margins,
)
from craftvision.measure._image import ImageSource, as_gray, load, optical_density, source_path
from craftvision.measure.calibration import HOW_TO_CALIBRATE, Calibration

GI_PASHMINA_MAX_UM = 16.0
US_CASHMERE_MAX_UM = 19.0
US_CASHMERE_MAX_CV_PERCENT = 24.0
US_CASHMERE_MAX_COARSE_PERCENT = 3.0
COARSE_UM = 30.0
MIN_FIBRE_UM = 5.0  # finer than any textile fibre: a calibrated "fibre" this thin is debris
UNCALIBRATED = f"diameters in µm need a calibration: {HOW_TO_CALIBRATE}"
NO_FIBRE = (
    "no fibre measured: a fibre is measured only where its clean cross-sections (sharp, and "
    f"clear of other fibres and debris) run along it for {MIN_CLEAN_WIDTHS:g} of its width or "
    f"more and {100 * MIN_CLEAN_SHARE:g} % of its length in view, so fibres out of focus, or "
    "lying over one another along most of their length (as at a shallow crossing), are not "
    "measured"
)
# Fibres wider than this are found less often: of the bench's renders, 91 % at 40-60 px,
# 82 % at 60-90 px and 67 % over 90 px (97 % under 40 px).
WIDE_PX = 60.0
_MIN_SIDE_PX = 16
# Student's t at 97.5 % for 1-9 degrees of freedom; beyond, its Cornish-Fisher expansion about
# the normal quantile is within 0.003 of it.
_T975 = (12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262)
_Z975 = 1.959964


def _um(value: float | None, um_per_px: float | None) -> float | None:
    return None if value is None or um_per_px is None else value * um_per_px


def _rounded(value: float | None, digits: int = 3) -> float | None:
    return None if value is None else round(float(value), digits)


def mean_uncertainty(sd: float | None, n: int) -> float:
    """Half-width of the 95 % confidence interval of the mean of ``n`` values whose sample SD
    is ``sd`` (Student's t), in the unit of ``sd``; infinite for fewer than two values.

    Example:
        >>> round(mean_uncertainty(3.0, 100), 2), mean_uncertainty(None, 1)
        (0.6, inf)
    """
    if sd is None or n < 2:
        return math.inf
    dof = n - 1
    if dof <= len(_T975):
        t = _T975[dof - 1]
    else:
        z = _Z975
        t = z + (z**3 + z) / (4 * dof) + (5 * z**5 + 16 * z**3 + 3 * z) / (96 * dof**2)
    return t * sd / math.sqrt(n)


@dataclass(frozen=True)
class Fibre:
    """One fibre in a micrograph. Lengths in px; the ``*_um`` properties need a calibration.

    ``diameter_sd_px`` is the spread of its clean cross-sections along its length;
    ``scale_interval_px`` the mean spacing of its cuticle scale margins (None where the fibre
    shows no regular scales, as synthetics do), and ``scale_ratio`` that spacing over the
    diameter, which needs no calibration.

    Example:
        >>> f = Fibre(30.0, 0.8, 200, 256.0, 24.0, 11, (0.0, 5.0), (255.0, 9.0), 0.5)
        >>> f.diameter_um, f.scale_ratio
        (15.0, 0.8)
    """

    diameter_px: float
    diameter_sd_px: float
    n_sections: int
    length_px: float
    scale_interval_px: float | None
    n_scale_margins: int
    start: tuple[float, float]
    end: tuple[float, float]
    um_per_px: float | None = None

    @property
    def diameter_um(self) -> float | None:
        """Diameter in µm (None without a calibration)."""
        return _um(self.diameter_px, self.um_per_px)

    @property
    def scale_interval_um(self) -> float | None:
        """Mean cuticle scale interval in µm (None without scales or a calibration)."""
        return _um(self.scale_interval_px, self.um_per_px)

    @property
    def scale_ratio(self) -> float | None:
        """Scale interval over diameter (scale-free)."""
        if self.scale_interval_px is None:
            return None
        return self.scale_interval_px / self.diameter_px

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict."""
        return {
            "diameter_um": _rounded(self.diameter_um),
            "diameter_px": _rounded(self.diameter_px),
            "diameter_sd_px": _rounded(self.diameter_sd_px),
            "n_sections": self.n_sections,
            "length_px": _rounded(self.length_px, 1),
            "scale_interval_um": _rounded(self.scale_interval_um),
            "scale_interval_px": _rounded(self.scale_interval_px),
            "n_scale_margins": self.n_scale_margins,
            "scale_ratio": _rounded(self.scale_ratio),
            "start": [round(v, 1) for v in self.start],
            "end": [round(v, 1) for v in self.end],
        }


def _mean(values: list[float]) -> float | None:
    return float(np.mean(values)) if values else None


@dataclass(frozen=True)
class FibreImageResult:
    """Every fibre found in one micrograph, and their means.

    Example:
        >>> r = FibreImageResult("a.png", 640, 480, (), None)
        >>> r.to_dict()["mean_diameter_um"] is None, r.note is not None
        (True, True)
    """

    path: str | None
    width: int
    height: int
    fibres: tuple[Fibre, ...]
    um_per_px: float | None

    @property
    def n_fibres(self) -> int:
        """Number of fibres measured."""
        return len(self.fibres)

    @property
    def mean_diameter_px(self) -> float | None:
        """Mean of the fibres' diameters in px (None if no fibre was found)."""
        return _mean([f.diameter_px for f in self.fibres])

    @property
    def mean_diameter_um(self) -> float | None:
        """Mean of the fibres' diameters in µm (None without fibres or a calibration)."""
        return _um(self.mean_diameter_px, self.um_per_px)

    @property
    def mean_scale_interval_um(self) -> float | None:
        """Mean scale interval in µm of the fibres that show scales."""
        intervals = [f.scale_interval_px for f in self.fibres if f.scale_interval_px is not None]
        return _um(_mean(intervals), self.um_per_px)

    @property
    def scale_ratio(self) -> float | None:
        """Mean scale interval over diameter of the fibres that show scales (scale-free)."""
        return _mean([f.scale_ratio for f in self.fibres if f.scale_ratio is not None])

    @property
    def warning(self) -> str | None:
        """What the figures should be read with: that no fibre was measured (``NO_FIBRE``),
        or that coarse fibres may be missed at this scale (see :func:`coarse_fibres_note`)."""
        if not self.fibres:
            return NO_FIBRE
        return None if self.um_per_px is None else coarse_fibres_note(self.um_per_px)

    @property
    def note(self) -> str | None:
        """Why µm figures are missing, and :attr:`warning`."""
        notes = (UNCALIBRATED if self.um_per_px is None else None, self.warning)
        return "; ".join(note for note in notes if note) or None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict; ``mean_diameter_um`` is the image's headline figure."""
        return {
            "path": self.path,
            "modality": "fibre",
            "calibrated": self.um_per_px is not None,
            "um_per_px": self.um_per_px,
            "n_fibres": self.n_fibres,
            "mean_diameter_um": _rounded(self.mean_diameter_um),
            "mean_diameter_px": _rounded(self.mean_diameter_px),
            "mean_scale_interval_um": _rounded(self.mean_scale_interval_um),
            "scale_ratio": _rounded(self.scale_ratio),
            "note": self.note,
            "fibres": [f.to_dict() for f in self.fibres],
        }


def coarse_fibres_note(um_per_px: float) -> str | None:
    """A warning where a ``COARSE_UM`` fibre is wider than ``WIDE_PX`` at this scale: such
    fibres are found less often, so in a blend the coarse ones may be under-counted and the
    mean read low (None where the scale is coarse enough).

    Example:
        >>> coarse_fibres_note(0.5) is None, "coarse fibres" in coarse_fibres_note(0.25)
        (True, True)
    """
    wide = COARSE_UM / um_per_px
    if wide <= WIDE_PX:
        return None
    return (
        f"at {um_per_px:g} µm/px a {COARSE_UM:g} µm fibre is {wide:.0f} px wide, and fibres over "
        f"{WIDE_PX:g} px wide are found less often (82 % at 60-90 px, 67 % beyond, against "
        f"97 % under 40 px): coarse fibres in a blend may be under-counted and the mean read "
        f"low; screen blends at {COARSE_UM / WIDE_PX:g} µm/px or coarser"
    )


def _fibre(od: np.ndarray, found: FoundFibre, um_per_px: float | None) -> Fibre:
    interval, margins = scale_margins(od, found)
    first, last = found.pieces[0][0], found.pieces[-1][0]
    return Fibre(
        diameter_px=found.width,
        diameter_sd_px=float(np.std(found.widths)),
        n_sections=found.n_sections,
        length_px=float(sum(len(p) for p, _, _ in found.pieces)),
        scale_interval_px=interval,
        n_scale_margins=margins,
        start=(float(first[0, 0]), float(first[0, 1])),
        end=(float(last[-1, 0]), float(last[-1, 1])),
        um_per_px=um_per_px,
    )


def measure_fibres(
    source: ImageSource, calibration: Calibration | None = None, *, name: str | None = None
) -> FibreImageResult:
    """Find and measure every in-focus fibre in a bright-field micrograph.

    ``source`` is a path, encoded bytes or an array. Without ``calibration`` only px figures
    and ratios are given (``note`` says how to calibrate). With one, "fibres" finer than
    ``MIN_FIBRE_UM`` are dropped as debris.

    Raises:
        ImageReadError: the image cannot be read.
        MeasurementError: the image is too small to hold a fibre.
    """
    image, label = load(source, name)
    h, w = image.shape[:2]
    if min(h, w) < _MIN_SIDE_PX:
        raise MeasurementError(f"{label}: {w}x{h} px is too small to measure fibres in")
    od, noise = optical_density(as_gray(image))
    um_per_px = calibration.um_per_px if calibration is not None else None
    fibres = [_fibre(od, found, um_per_px) for found in find_fibres(od, noise)]
    if um_per_px is not None:
        fibres = [f for f in fibres if f.diameter_px * um_per_px >= MIN_FIBRE_UM]
    return FibreImageResult(source_path(source, name), w, h, tuple(fibres), um_per_px)


@dataclass(frozen=True)
class FinenessGrade:
    """A fineness grade and the rule that produced it.

    ``grade`` is ``gi_pashmina``, ``cashmere``, ``fails``, ``inconclusive`` (a mean limit within
    the mean's 95 % confidence interval) or ``ungraded`` (no calibration or no fibres);
    ``checks`` holds each rule's pass/fail at the mean measured.

    Example:
        >>> grade_fineness(13.2, 18.0, 0.0, 120).rule
        'meets GI Kashmir Pashmina: mean diameter 13.2 µm ≤ 16 µm'
    """

    grade: str
    rule: str
    checks: dict[str, bool]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict."""
        return {"grade": self.grade, "rule": self.rule, "checks": dict(self.checks)}


def grade_fineness(
    mean_um: float | None, cv_percent: float | None, over_30_percent: float | None, n_fibres: int
) -> FinenessGrade:
    """Grade a sample from its mean diameter, CV and share of coarse fibres (see module doc).

    Example:
        >>> grade = grade_fineness(15.6, 20.0, 0.0, 40)
        >>> grade.grade, grade.rule.split(" (95 %")[0]
        ('inconclusive', 'inconclusive: mean diameter 15.6 ± 1.0 µm')
    """
    if mean_um is None or cv_percent is None or over_30_percent is None or n_fibres == 0:
        why = "no fibres measured" if n_fibres == 0 else "needs a calibration"
        return FinenessGrade("ungraded", f"ungraded: {why}", {})
    gi = mean_um <= GI_PASHMINA_MAX_UM
    us_mean = mean_um <= US_CASHMERE_MAX_UM
    us_cv = cv_percent <= US_CASHMERE_MAX_CV_PERCENT
    us_coarse = over_30_percent <= US_CASHMERE_MAX_COARSE_PERCENT
    checks = {
        "gi_pashmina_mean": gi,
        "us_cashmere_mean": us_mean,
        "us_cashmere_cv": us_cv,
        "us_cashmere_coarse": us_coarse,
    }
    undecided = _undecided(mean_um, cv_percent * mean_um / 100, n_fibres)
    if undecided is not None:
        return FinenessGrade("inconclusive", undecided, checks)
    if gi:
        rule = f"meets GI Kashmir Pashmina: mean diameter {mean_um:.1f} µm ≤ 16 µm"
        return FinenessGrade("gi_pashmina", rule, checks)
    if us_mean and us_cv and us_coarse:
        rule = (
            f"cashmere-grade (US rule): mean {mean_um:.1f} µm ≤ 19 µm, CV {cv_percent:.1f} % "
            f"≤ 24 %, {over_30_percent:.1f} % over 30 µm ≤ 3 %; above the 16 µm GI limit"
        )
        return FinenessGrade("cashmere", rule, checks)
    failed = []
    if not us_mean:
        failed.append(f"mean diameter {mean_um:.1f} µm > 19 µm")
    if not us_cv:
        failed.append(f"CV {cv_percent:.1f} % > 24 %")
    if not us_coarse:
        failed.append(f"{over_30_percent:.1f} % of fibres over 30 µm > 3 %")
    rule = f"fails: {'; '.join(failed)} (US cashmere limits); mean above the 16 µm GI limit"
    return FinenessGrade("fails", rule, checks)


def _undecided(mean_um: float, sd_um: float, n_fibres: int) -> str | None:
    """Why the mean limits cannot be applied (None where they can): one fibre, or a limit
    within the mean's 95 % confidence interval, with about how many fibres would decide it."""
    if n_fibres < 2:
        return (
            "inconclusive: 1 fibre shows nothing of how much the sample's diameters vary; "
            "measure more (labs measure hundreds per sample)"
        )
    margin = mean_uncertainty(sd_um, n_fibres)
    limits = [
        (limit, name)
        for limit, name in ((GI_PASHMINA_MAX_UM, "GI"), (US_CASHMERE_MAX_UM, "US cashmere"))
        if abs(mean_um - limit) <= margin
    ]
    if not limits:
        return None
    named = " and ".join(f"{limit:g} µm {name}" for limit, name in limits)
    rule = (
        f"inconclusive: mean diameter {mean_um:.1f} ± {margin:.1f} µm (95 % confidence over "
        f"{n_fibres} fibres) takes in the {named} limit{'s' if len(limits) > 1 else ''}"
    )
    gap = min(abs(mean_um - limit) for limit, _ in limits)
    if gap == 0:
        return f"{rule}; the mean sits on it"
    needed = max(n_fibres + 1, math.ceil((_Z975 * sd_um / gap) ** 2))
    while mean_uncertainty(sd_um, needed) >= gap:  # t is a little over z
        needed += 1
    return f"{rule}; about {needed} fibres would decide it"


@dataclass(frozen=True)
class FibreSample:
    """The fibres of a sample pooled over its micrographs: the figures a lab reports.

    ``diameters`` are per fibre, in ``unit`` (``µm``, or ``px`` without a calibration, when
    the µm figures and the grade are withheld). ``histogram`` is (bin edges, counts) with 1 µm
    bins. CV is in percent.

    Example:
        >>> s = summarise_fibres([])
        >>> s.n_fibres, s.grade.grade
        (0, 'ungraded')
    """

    n_images: int
    diameters: tuple[float, ...]
    unit: str
    scale_intervals: tuple[float, ...]
    scale_ratios: tuple[float, ...]

    @property
    def n_fibres(self) -> int:
        """Number of fibres measured."""
        return len(self.diameters)

    @property
    def mean(self) -> float | None:
        """Mean diameter (``unit``)."""
        return _mean(list(self.diameters))

    @property
    def sd(self) -> float | None:
        """Standard deviation of the diameters (``unit``; sample SD)."""
        return float(np.std(self.diameters, ddof=1)) if self.n_fibres > 1 else None

    @property
    def mean_uncertainty(self) -> float | None:
        """Half-width of the mean's 95 % confidence interval (``unit``; None under 2 fibres)."""
        margin = mean_uncertainty(self.sd, self.n_fibres)
        return margin if math.isfinite(margin) else None

    @property
    def cv_percent(self) -> float | None:
        """Coefficient of variation of the diameters, percent."""
        return None if self.sd is None or not self.mean else 100 * self.sd / self.mean

    @property
    def over_30_percent(self) -> float | None:
        """Share of fibres coarser than 30 µm, percent (None without a calibration)."""
        if self.unit != "µm" or not self.n_fibres:
            return None
        return 100 * float(np.mean(np.asarray(self.diameters) > COARSE_UM))

    @property
    def histogram(self) -> tuple[list[float], list[int]]:
        """Bin edges (1 ``unit`` wide) and counts of the diameters."""
        if not self.n_fibres:
            return [], []
        lo, hi = math.floor(min(self.diameters)), math.floor(max(self.diameters)) + 1
        counts, edges = np.histogram(self.diameters, bins=np.arange(lo, hi + 1))
        return [float(e) for e in edges], [int(c) for c in counts]

    @property
    def mean_scale_interval(self) -> float | None:
        """Mean cuticle scale interval (``unit``) of the fibres that show scales."""
        return _mean(list(self.scale_intervals))

    @property
    def scale_ratio(self) -> float | None:
        """Mean scale interval over diameter (scale-free)."""
        return _mean(list(self.scale_ratios))

    @property
    def grade(self) -> FinenessGrade:
        """The fineness grade (``ungraded`` without a calibration)."""
        if self.unit != "µm":
            return grade_fineness(None, None, None, self.n_fibres)
        cv = self.cv_percent if self.cv_percent is not None else 0.0
        return grade_fineness(self.mean, cv, self.over_30_percent, self.n_fibres)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict: ``mean_um``, ``diameters_um``, the histogram and the grade."""
        edges, counts = self.histogram
        um = self.unit == "µm"
        return {
            "modality": "fibre",
            "summary": True,
            "calibrated": um,
            "n_images": self.n_images,
            "n_fibres": self.n_fibres,
            "mean_um": _rounded(self.mean) if um else None,
            "sd_um": _rounded(self.sd) if um else None,
            "mean_ci95_um": _rounded(self.mean_uncertainty) if um else None,
            "cv_percent": _rounded(self.cv_percent, 2),
            "over_30um_percent": _rounded(self.over_30_percent, 2),
            "mean_scale_interval_um": _rounded(self.mean_scale_interval) if um else None,
            "scale_ratio": _rounded(self.scale_ratio),
            "diameters_um": [round(d, 3) for d in self.diameters] if um else None,
            "diameters_px": None if um else [round(d, 3) for d in self.diameters],
            "histogram": {f"edges_{'um' if um else 'px'}": edges, "counts": counts},
            **self.grade.to_dict(),
            "note": None if um else UNCALIBRATED,
        }


def summarise_fibres(results: Iterable[FibreImageResult]) -> FibreSample:
    """Pool the fibres of one sample's micrographs (all calibrated, or none).

    Raises:
        MeasurementError: some images are calibrated and others are not.
    """
    results = list(results)
    calibrated = {r.um_per_px is not None for r in results}
    if len(calibrated) > 1:
        raise MeasurementError("cannot pool calibrated and uncalibrated fibre measurements")
    um = calibrated == {True}
    fibres = [(f, r.um_per_px) for r in results for f in r.fibres]
    diameters = [f.diameter_um if um else f.diameter_px for f, _ in fibres]
    intervals = [
        f.scale_interval_um if um else f.scale_interval_px
        for f, _ in fibres
        if f.scale_interval_px is not None
    ]
    ratios = [f.scale_ratio for f, _ in fibres if f.scale_ratio is not None]
    return FibreSample(
        n_images=len(results),
        diameters=tuple(float(d) for d in diameters if d is not None),
        unit="µm" if um else "px",
        scale_intervals=tuple(float(v) for v in intervals if v is not None),
        scale_ratios=tuple(float(v) for v in ratios),
    )
