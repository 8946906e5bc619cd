"""Accuracy and speed of ``craftvision.measure`` against the renderers' ground truth.

Prints the acceptance figures of the measurement issue:

- fibre mean diameter per image: median absolute error over renders spanning 0.25-1.0 µm/px
  and 10-40 µm (target ≤ 0.5 µm), with how often the fibre count is right;
- cuticle scale interval: median relative error (target ≤ 10 %), and how many fields of
  synthetic fibres, which have no scales, are given one;
- sample mean over ~200 fibres of one population (target within 0.3 µm);
- weave threads per cm (target within 3 %) against the density in the photo, and against the
  shawl's nominal density, and the spacing CV, by class;
- stitch length CV (target within 0.05), stitches per cm (target within 5 %) and stitch
  length where given, and the angle spread against the truth's, by type; how often machine
  work is graded hand-irregular and hand work machine-regular, and how many are ungraded;
  and, over hand renders whose length CV is drawn over 4-40 %, how far the CV measured follows
  the truth's (its correlation and slope against it);
- calibration from a rendered stage micrometer (target within 1 %);
- time to measure a 1280x960 fibre field on one core (target < 0.5 s).

    python bench/measure_accuracy.py                 # the full figures (several minutes)
    python bench/measure_accuracy.py --quick         # a smaller, faster run
    python bench/measure_accuracy.py --only stitch   # one section (or several) alone
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import math
import time
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor

import cv2
import numpy as np

from craftvision.datasets.synth import fibre as fibre_synth
from craftvision.datasets.synth import stitch as stitch_synth
from craftvision.datasets.synth import weave as weave_synth
from craftvision.datasets.synth.micrometer import render_micrometer
from craftvision.errors import MeasurementError
from craftvision.measure import (
    Calibration,
    StitchResult,
    calibrate_micrometer,
    measure_fibres,
    measure_stitch,
    measure_weave,
)
from craftvision.measure.fibre import mean_uncertainty

FIBRE_LABELS = ("pashmina", "wool", "other_animal", "synthetic")
COLUMN_TYPES = ("satin", "lock_satin")  # stitches side by side; counted along the column
HAND_TYPES = stitch_synth.STITCH_TYPES["sozni_hand"]
STITCH_TYPES = [
    (label, kind) for label, kinds in stitch_synth.STITCH_TYPES.items() for kind in kinds
]


def _init() -> None:
    cv2.setNumThreads(1)


def _fibre_case(seed: int) -> dict:
    """One field: a random kind with its mean diameter drawn over 10-40 µm, a random scale."""
    rng = np.random.default_rng(seed)
    label = FIBRE_LABELS[seed % len(FIBRE_LABELS)]
    pop = fibre_synth.draw_population(rng, label)
    mean = float(rng.uniform(10.0, 40.0))
    pop = dataclasses.replace(
        pop, diameter_um=mean, diameter_sd_um=pop.diameter_sd_um * mean / pop.diameter_um
    )
    um_per_px = float(rng.uniform(0.25, 1.0))
    image, truth = fibre_synth.render_fibre(
        rng, label, um_per_px=um_per_px, size=512, population=pop
    )
    result = measure_fibres(image, Calibration.from_um_per_px(um_per_px))
    intervals = [f.scale_interval_um for f in result.fibres if f.scale_interval_um is not None]
    return {
        "um_per_px": um_per_px,
        "truth": truth["diameter_um"],
        "truth_n": truth["n_fibres"],
        "found": result.n_fibres,
        "mean": result.mean_diameter_um,
        "truth_interval": truth["scale_interval_um"],
        "interval": float(np.mean(intervals)) if intervals else None,
    }


def _sample_case(args: tuple[int, str, float]) -> dict:
    """One physical sample imaged until its fields hold about 200 fibres."""
    seed, label, um_per_px = args
    rng = np.random.default_rng(seed)
    pop = fibre_synth.draw_population(rng, label)
    truth: list[float] = []
    found: list[float] = []
    while len(truth) < 200:
        image, t = fibre_synth.render_fibre(
            rng, label, um_per_px=um_per_px, size=512, population=pop
        )
        truth += t["diameters_um"]
        result = measure_fibres(image, Calibration.from_um_per_px(um_per_px))
        found += [f.diameter_um for f in result.fibres]
    return {
        "label": label,
        "um_per_px": um_per_px,
        "n_truth": len(truth),
        "n_found": len(found),
        "truth": float(np.mean(truth)),
        "mean": float(np.mean(found)),
        "ci95": mean_uncertainty(float(np.std(found, ddof=1)), len(found)),
    }


@contextlib.contextmanager
def _drawn_threads() -> Iterator[dict]:
    """Keep the thread systems and fabric coordinates the weave renderer draws.

    The renderer's truth gives the shawl's nominal threads per cm; a hand-woven photo holds a
    few percent more or fewer (its threads are drawn with slow tension zones, bowed and skewed
    wefts and a slanted camera), so the density in view is computed from what is drawn.
    """
    seen: dict = {"threads": []}
    threads, coords = weave_synth._threads, weave_synth._fabric_coords

    def keep_threads(*args, **kwargs):
        seen["threads"].append(threads(*args, **kwargs))
        return seen["threads"][-1]

    def keep_coords(*args, **kwargs):
        seen["coords"] = coords(*args, **kwargs)
        return seen["coords"]

    weave_synth._threads, weave_synth._fabric_coords = keep_threads, keep_coords
    try:
        yield seen
    finally:
        weave_synth._threads, weave_synth._fabric_coords = threads, coords


def _per_cm_in_view(threads, coord: np.ndarray, size: int, px_per_mm: float) -> float:
    """Threads per cm in the photo: threads crossed per px across them, averaged over pixels."""
    gy, gx = np.gradient(coord.reshape(size, size))
    gaps = np.diff(threads.centres)
    cell = np.clip(threads.index(coord), 0, len(gaps) - 1).reshape(size, size)
    return float(np.mean(np.hypot(gx, gy) / gaps[cell])) * 10 * px_per_mm


def _weave_case(seed: int) -> dict:
    rng = np.random.default_rng(seed)
    label = weave_synth.CLASSES[seed % len(weave_synth.CLASSES)]
    size = 512
    with _drawn_threads() as drawn:
        image, t = weave_synth.render_sample(rng, label, 1, size=size)[0]
    u, v, _ = drawn["coords"]
    ppm = t["px_per_mm"]
    systems = zip(drawn["threads"], (u, v), strict=True)
    in_view = [_per_cm_in_view(threads, coord, size, ppm) for threads, coord in systems]
    try:  # without the warp angle: which system is which is not known, so both are paired
        unaided = measure_weave(image, Calibration.from_px_per_mm(ppm))
        found = sorted([unaided.threads_per_cm_warp, unaided.threads_per_cm_weft])
        unaided_errors = [f / d - 1 for f, d in zip(found, sorted(in_view), strict=True)]
    except MeasurementError:
        unaided_errors = [math.inf, math.inf]
    try:
        r = measure_weave(image, Calibration.from_px_per_mm(ppm), warp_angle_deg=t["angle_deg"])
    except MeasurementError:
        return {"label": label, "failed": True, "unaided_errors": unaided_errors}
    measured = [r.threads_per_cm_warp, r.threads_per_cm_weft]
    nominal = [t["threads_per_cm_warp"], t["threads_per_cm_weft"]]
    return {
        "label": label,
        "failed": False,
        "errors": [m / d - 1 for m, d in zip(measured, in_view, strict=True)],
        "nominal_errors": [m / n - 1 for m, n in zip(measured, nominal, strict=True)],
        "unaided_errors": unaided_errors,
        "cv": r.spacing_cv,
        "truth_cv": t["spacing_cv"],
    }


def _measured_stitch(
    rng: np.random.Generator, label: str, kind: str, cv_range: tuple[float, float] | None = None
) -> tuple[StitchResult | None, dict]:
    """Render one 384 px close-up of ``kind`` (its length CV drawn over ``cv_range`` where
    given) and measure it: the result (None where refused) and the truth."""
    ppm = stitch_synth.draw_px_per_mm(rng)
    construction = stitch_synth.draw_construction(rng, label, px_per_mm=ppm, stitch_type=kind)
    if cv_range is not None:
        construction = dataclasses.replace(construction, length_cv=float(rng.uniform(*cv_range)))
    image, truth = stitch_synth.render_stitch(
        rng, label, px_per_mm=ppm, size=384, construction=construction
    )
    try:
        return measure_stitch(image, Calibration.from_px_per_mm(ppm)), truth
    except MeasurementError:
        return None, truth


def _stitch_case(seed: int) -> dict:
    rng = np.random.default_rng(seed)
    label, kind = STITCH_TYPES[seed % len(STITCH_TYPES)]
    r, t = _measured_stitch(rng, label, kind)
    if r is None:
        return {"type": kind, "failed": True}
    return {
        "type": kind,
        "failed": False,
        "per_cm": math.nan
        if r.stitches_per_cm is None
        else r.stitches_per_cm / t["stitches_per_cm"] - 1,
        "length": math.nan
        if r.stitch_length_mm is None
        else r.stitch_length_mm / t["stitch_length_mm"] - 1,
        "cv": r.stitch_length_cv - t["stitch_length_cv"],
        "grade": r.grade,
        "grade_right": (r.grade == "hand-irregular") == (kind in HAND_TYPES),
        "angle": r.angle_sd_deg,
        "true_angle": t["angle_sd_deg"],
        "work_right": r.work == ("columns" if kind in COLUMN_TYPES else "rows"),
    }


def _hand_cv_case(seed: int) -> dict:
    """One hand photo whose stitch length CV is drawn over 4-40 %, wider than Sozni's 15-30 %,
    to see whether the CV measured follows the truth's or only shows that it is not a machine's.
    """
    rng = np.random.default_rng(seed)
    kind = HAND_TYPES[seed % len(HAND_TYPES)]
    r, t = _measured_stitch(rng, "sozni_hand", kind, cv_range=(0.04, 0.40))
    if r is None:
        return {"type": kind, "failed": True, "truth_cv": t["stitch_length_cv"]}
    return {
        "type": kind,
        "failed": False,
        "truth_cv": t["stitch_length_cv"],
        "cv": r.stitch_length_cv,
    }


def _calibration_case(seed: int) -> float:
    rng = np.random.default_rng(seed)
    um_per_px = float(rng.uniform(0.2, 1.2))
    size = (960, 1280) if seed % 2 else (480, 640)
    image, _ = render_micrometer(rng, um_per_px=um_per_px, size=size)
    return calibrate_micrometer(image, 10.0).um_per_px / um_per_px - 1


def _speed(repeats: int) -> tuple[float, float]:
    """Median CPU and wall seconds to measure a 1280x960 field (4 fibres at 0.5 µm/px)."""
    cpu, wall = [], []
    for seed in range(repeats):
        rng = np.random.default_rng(1000 + seed)
        image, _ = fibre_synth.render_fibre(
            rng, FIBRE_LABELS[seed % 4], um_per_px=0.5, size=1280, layout="field"
        )
        image = np.ascontiguousarray(image[:960])
        c0, w0 = time.process_time(), time.perf_counter()
        measure_fibres(image, Calibration.from_um_per_px(0.5))
        cpu.append(time.process_time() - c0)
        wall.append(time.perf_counter() - w0)
    return float(np.median(cpu)), float(np.median(wall))


def _pct(values: list[float], limit: float) -> str:
    return f"{100 * np.mean(np.abs(values) <= limit):.0f} %"


SECTIONS = ("fibre", "weave", "stitch", "calibration", "speed")


def _report_fibre(fibres: list[dict], pooled: list[dict], figures: dict) -> None:
    """Fibre diameter, scale interval and sample-mean figures."""
    measured = [f for f in fibres if f["mean"] is not None]
    errors = [f["mean"] - f["truth"] for f in measured]
    figures["fibre_images"] = len(fibres)
    figures["fibre_median_abs_error_um"] = float(np.median(np.abs(errors)))
    figures["fibre_bias_um"] = float(np.median(errors))
    figures["fibre_none_found"] = len(fibres) - len(measured)
    figures["fibre_count_right"] = float(np.mean([f["found"] == f["truth_n"] for f in fibres]))
    print(f"fibre diameter, {len(fibres)} fields, 10-40 µm at 0.25-1.0 µm/px:")
    print(
        f"  median |error| {figures['fibre_median_abs_error_um']:.3f} µm (target ≤ 0.5), "
        f"median error {figures['fibre_bias_um']:+.3f} µm, within 0.5 µm {_pct(errors, 0.5)}; "
        f"no fibre found in {figures['fibre_none_found']}; fibre count right in "
        f"{100 * figures['fibre_count_right']:.0f} %"
    )
    for lo, hi in ((0.25, 0.5), (0.5, 0.75), (0.75, 1.0)):
        part = [f["mean"] - f["truth"] for f in measured if lo <= f["um_per_px"] < hi + 1e-9]
        print(
            f"    {lo:.2f}-{hi:.2f} µm/px: median |error| {np.median(np.abs(part)):.3f} µm, "
            f"median {np.median(part):+.3f} µm"
        )
    found_by_width = []
    for lo, hi in ((0, 40), (40, 60), (60, 90), (90, math.inf)):
        part = [f for f in fibres if lo <= f["truth"] / f["um_per_px"] < hi]
        drawn = sum(f["truth_n"] for f in part)
        found = sum(min(f["found"], f["truth_n"]) for f in part)
        figures[f"fibre_found_{lo}_{hi}px"] = found / max(drawn, 1)
        found_by_width.append(f"{lo}-{hi} px {100 * found / max(drawn, 1):.0f} % of {drawn}")
    print(f"  fibres found, by mean width in the field: {', '.join(found_by_width)}")
    scaled = [f for f in fibres if f["truth_interval"] is not None]
    rel = [f["interval"] / f["truth_interval"] - 1 for f in scaled if f["interval"] is not None]
    figures["scale_median_abs_rel_error"] = float(np.median(np.abs(rel))) if rel else None
    figures["scale_coverage"] = len(rel) / max(1, len(scaled))
    print(
        f"scale interval, {len(scaled)} fields with scaled fibres: median |error| "
        f"{100 * figures['scale_median_abs_rel_error']:.1f} % (target ≤ 10 %), within 10 % "
        f"{_pct(rel, 0.10)}, measured in {100 * figures['scale_coverage']:.0f} % of them"
    )
    smooth = [f for f in fibres if f["truth_interval"] is None]
    figures["scale_given_to_smooth_fields"] = sum(f["interval"] is not None for f in smooth)
    print(
        f"  fields of smooth fibres (synthetics, no scales) given a scale interval: "
        f"{figures['scale_given_to_smooth_fields']} of {len(smooth)}"
    )
    figures["samples"] = pooled
    for s in pooled:
        print(
            f"sample mean, {s['label']} at {s['um_per_px']} µm/px: {s['n_found']} fibres measured "
            f"({s['n_truth']} drawn), mean {s['mean']:.2f} µm vs {s['truth']:.2f} µm: "
            f"error {s['mean'] - s['truth']:+.2f} µm (target within 0.3), 95 % interval "
            f"± {s['ci95']:.2f} µm"
        )
    covered = sum(abs(s["mean"] - s["truth"]) <= s["ci95"] for s in pooled)
    print(f"  the true mean lies within the sample's 95 % interval in {covered} of {len(pooled)}")


def _report_weave(weaves: list[dict], figures: dict) -> None:
    """Weave threads per cm and spacing CV by class."""
    for label in weave_synth.CLASSES:
        cases = [w for w in weaves if w["label"] == label]
        ok = [w for w in cases if not w["failed"]]
        errs = [e for w in ok for e in w["errors"]]
        nominal = [e for w in ok for e in w["nominal_errors"]]
        failed = len(cases) - len(ok)
        # An unmeasured photo counts as two systems outside 3 %.
        within = float(np.sum(np.abs(errs) <= 0.03) / (2 * len(cases)))
        unaided = [e for w in cases for e in w["unaided_errors"]]
        unaided_within = float(np.sum(np.abs(unaided) <= 0.03) / (2 * len(cases)))
        cv = np.median([w["cv"] for w in ok])
        true_cv = np.median([w["truth_cv"] for w in ok])
        figures[f"weave_{label}"] = {
            "median_abs_rel_error": float(np.median(np.abs(errs))),
            "within_3pct": within,
            "nominal_median_abs_rel_error": float(np.median(np.abs(nominal))),
            "nominal_within_3pct": float(np.sum(np.abs(nominal) <= 0.03) / (2 * len(cases))),
            "failed": failed,
            "unaided_within_3pct": unaided_within,
            "spacing_cv": float(cv),
            "truth_spacing_cv": float(true_cv),
        }
        print(
            f"weave {label}: threads/cm median |error| {100 * np.median(np.abs(errs)):.2f} %, "
            f"within 3 % {100 * within:.0f} % of {2 * len(cases)} systems ({failed} photos "
            f"unmeasured); against the shawl's nominal density "
            f"{100 * np.median(np.abs(nominal)):.2f} %, within 3 % "
            f"{100 * figures[f'weave_{label}']['nominal_within_3pct']:.0f} %; "
            f"spacing CV {cv:.3f} (truth {true_cv:.3f}); without the warp angle, within 3 % "
            f"{100 * unaided_within:.0f} %"
        )


def _report_stitch(stitches: list[dict], figures: dict) -> None:
    """Stitches per cm (where given: hand work's are withheld) and length CV by stitch type."""
    for _, kind in STITCH_TYPES:
        cases = [s for s in stitches if s["type"] == kind]
        ok = [s for s in cases if not s["failed"]]
        given = np.array([s["per_cm"] for s in ok if math.isfinite(s["per_cm"])])
        lengths = np.array([s["length"] for s in ok if math.isfinite(s["length"])])
        cv = np.array([s["cv"] for s in ok])
        both = sum(abs(s["per_cm"]) <= 0.05 and abs(s["cv"]) <= 0.05 for s in ok)
        figures[f"stitch_{kind}"] = {
            "per_cm_given": len(given),
            "per_cm_median_abs_rel_error": float(np.median(np.abs(given))) if len(given) else None,
            "per_cm_within_5pct": int(np.sum(np.abs(given) <= 0.05)),
            "length_given": len(lengths),
            "length_within_5pct": int(np.sum(np.abs(lengths) <= 0.05)),
            "cv_median_abs_error": float(np.median(np.abs(cv))) if ok else None,
            "both_within": both / len(cases),
            "failed": len(cases) - len(ok),
        }
        if not ok:
            print(f"stitch {kind}: none of {len(cases)} measured")
            continue
        density = (
            f"stitches/cm given for {len(given)}: median |error| "
            f"{100 * np.median(np.abs(given)):.1f} %, within 5 % {_pct(given, 0.05)}"
            if len(given)
            else "stitches/cm withheld for all"
        )
        length = (
            f"length given for {len(lengths)}, within 5 % {_pct(lengths, 0.05)}"
            if len(lengths)
            else "length withheld for all"
        )
        print(
            f"stitch {kind}: {len(ok)} of {len(cases)} measured; {density}; {length}; length CV "
            f"median |error| {np.median(np.abs(cv)):.3f} (within 0.05 {_pct(cv, 0.05)}); grade "
            f"right {100 * np.mean([s['grade_right'] for s in ok]):.0f} %; laid as "
            f"{'columns' if kind in COLUMN_TYPES else 'rows'} seen in "
            f"{100 * np.mean([s['work_right'] for s in ok]):.0f} %; both targets met in "
            f"{100 * figures[f'stitch_{kind}']['both_within']:.0f} % of all; angle SD median "
            f"{np.median([s['angle'] for s in ok]):.2f}° (truth "
            f"{np.median([s['true_angle'] for s in ok]):.2f}°)"
        )
    given = [s for s in stitches if not s["failed"] and math.isfinite(s["per_cm"])]
    right = sum(abs(s["per_cm"]) <= 0.05 for s in given)
    print(
        f"stitch: stitches/cm given for {len(given)} of {len(stitches)} photos, within 5 % in "
        f"{right} ({100 * right / max(len(given), 1):.0f} % of those given)"
    )
    measured = [s for s in stitches if not s["failed"]]
    machine = [s for s in measured if s["type"] not in HAND_TYPES]
    hand = [s for s in measured if s["type"] in HAND_TYPES]
    figures["stitch_machine_graded_hand"] = sum(s["grade"] == "hand-irregular" for s in machine)
    figures["stitch_hand_graded_machine"] = sum(s["grade"] == "machine-regular" for s in hand)
    figures["stitch_ungraded"] = sum(s["grade"] == "ungraded" for s in measured)
    print(
        f"stitch grade: machine work graded hand-irregular in "
        f"{figures['stitch_machine_graded_hand']} of {len(machine)} photos, hand work graded "
        f"machine-regular in {figures['stitch_hand_graded_machine']} of {len(hand)}; "
        f"ungraded (too few lengths, no steady repeat) {figures['stitch_ungraded']}"
    )


def _report_hand_cv(cases: list[dict], figures: dict) -> None:
    """How far the CV measured on hand work follows the truth's over a wide range of CVs."""
    for kind in HAND_TYPES:
        ok = [c for c in cases if c["type"] == kind and not c["failed"]]
        if len(ok) < 3:
            print(f"stitch {kind}, CV drawn over 4-40 %: {len(ok)} measured, too few to compare")
            continue
        truth = np.array([c["truth_cv"] for c in ok])
        found = np.array([c["cv"] for c in ok])
        r = float(np.corrcoef(truth, found)[0, 1])
        slope = float(np.polyfit(truth, found, 1)[0])
        figures[f"stitch_{kind}_wide_cv"] = {"measured": len(ok), "correlation": r, "slope": slope}
        print(
            f"stitch {kind}, CV drawn over 4-40 %: {len(ok)} measured; measured against true CV: "
            f"correlation {r:.2f}, slope {slope:.2f} (1 where the CV is measured); median "
            f"|error| {np.median(np.abs(found - truth)):.3f}"
        )


def _report_calibration(calibrations: list[float], figures: dict) -> None:
    """Stage micrometer calibration error."""
    figures["calibration_max_abs_rel_error"] = float(np.max(np.abs(calibrations)))
    print(
        f"calibration, {len(calibrations)} micrometer photos at 0.2-1.2 µm/px: max |error| "
        f"{100 * figures['calibration_max_abs_rel_error']:.3f} %, median "
        f"{100 * np.median(np.abs(calibrations)):.3f} % (target within 1 %)"
    )


def _report_speed(cpu: float, wall: float, figures: dict) -> None:
    """Time to measure one fibre field."""
    figures["speed_cpu_s"], figures["speed_wall_s"] = cpu, wall
    print(
        f"speed, 1280x960 fibre field on one core: {cpu:.3f} s CPU, {wall:.3f} s wall "
        "(target < 0.5 s)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer renders (a smoke run)")
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--json", type=str, default=None, help="also write the figures here")
    parser.add_argument(
        "--only",
        nargs="+",
        choices=SECTIONS,
        default=SECTIONS,
        metavar="SECTION",
        help=f"run only these sections ({', '.join(SECTIONS)}; default: all)",
    )
    args = parser.parse_args()
    n_fibre, n_weave, n_stitch, n_wide_cv, n_cal, samples = (
        (60, 30, 24, 12, 10, 1) if args.quick else (500, 120, 120, 90, 50, 5)
    )
    seeds = lambda n, k: [args.seed * 100_000 + k * 10_000 + i for i in range(n)]  # noqa: E731
    figures: dict = {}
    _init()
    with ProcessPoolExecutor(args.workers, initializer=_init) as pool:
        if "fibre" in args.only:
            fibres = list(pool.map(_fibre_case, seeds(n_fibre, 1), chunksize=4))
            plan = [
                ("pashmina", 0.5),
                ("wool", 0.5),
                ("pashmina", 0.25),
                ("pashmina", 1.0),
                ("wool", 0.25),  # wool 60-150 px wide: the widest fibres are the hardest to find
            ]
            pooled = list(
                pool.map(
                    _sample_case,
                    [
                        (s, lab, ump)
                        for s, (lab, ump) in zip(seeds(samples, 2), plan[:samples], strict=True)
                    ],
                )
            )
            _report_fibre(fibres, pooled, figures)
        if "weave" in args.only:
            _report_weave(list(pool.map(_weave_case, seeds(n_weave, 3), chunksize=2)), figures)
        if "stitch" in args.only:
            _report_stitch(list(pool.map(_stitch_case, seeds(n_stitch, 4), chunksize=2)), figures)
            wide = list(pool.map(_hand_cv_case, seeds(n_wide_cv, 6), chunksize=2))
            _report_hand_cv(wide, figures)
        if "calibration" in args.only:
            _report_calibration(list(pool.map(_calibration_case, seeds(n_cal, 5))), figures)
    if "speed" in args.only:
        _report_speed(*_speed(3 if args.quick else 7), figures)
    if args.json:
        with open(args.json, "w", encoding="utf-8") as handle:
            json.dump(
                figures,
                handle,
                indent=2,
                default=lambda v: None if v is None or math.isnan(v) else v,
            )


if __name__ == "__main__":
    main()
