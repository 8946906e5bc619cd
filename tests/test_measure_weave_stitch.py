"""Weave density and regularity; stitch figures."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest

from craftvision.datasets.synth.stitch import draw_construction as draw_stitches
from craftvision.datasets.synth.stitch import draw_px_per_mm, render_stitch
from craftvision.datasets.synth.stitch import render_sample as render_stitches
from craftvision.datasets.synth.weave import render_sample, render_weave
from craftvision.errors import MeasurementError
from craftvision.measure import Calibration, measure_stitch, measure_weave
from craftvision.measure.stitch import (
    ACROSS_COLUMNS,
    LOOSE_ENDS,
    UNGRADED,
    UNRESOLVED,
    UNSTEADY,
    StitchResult,
    StitchSample,
)
from craftvision.measure.stitch import regularity_grade as stitch_grade
from craftvision.measure.weave import regularity_grade as weave_grade

SAMPLES = Path(__file__).resolve().parents[1] / "samples"


def _manifest_row(modality: str, path: str) -> dict[str, str]:
    with open(SAMPLES / modality / "manifest.csv", newline="", encoding="utf-8") as handle:
        return next(row for row in csv.DictReader(handle) if row["path"] == path)


@pytest.mark.parametrize("label", ["powerloom", "jacquard_machine"])
def test_machine_cloth_threads_per_cm_within_three_percent(label):
    image, truth = render_weave(np.random.default_rng(5), label, px_per_mm=20.0, size=256)
    calibration = Calibration.from_px_per_mm(20.0)
    result = measure_weave(image, calibration, warp_angle_deg=truth["angle_deg"])
    assert result.threads_per_cm_warp == pytest.approx(truth["threads_per_cm_warp"], rel=0.03)
    assert result.threads_per_cm_weft == pytest.approx(truth["threads_per_cm_weft"], rel=0.03)


@pytest.mark.parametrize("photo", [0, 1])
def test_threads_are_sought_along_the_warp_angle_given(photo):
    # The shipped powerloom twill at 19.4 px/mm: its diagonal ribs (and a plain weave's reading
    # of the thread pair) outdid the threads, giving 18.9 and 9.4 threads/cm against 27.5 and
    # 25.7, with the warp found 43° from the angle given.
    row = _manifest_row("weave", f"powerloom/weave-s7-00001-{photo}.png")
    result = measure_weave(
        SAMPLES / "weave" / row["path"],
        Calibration.from_px_per_mm(float(row["px_per_mm"])),
        warp_angle_deg=float(row["angle_deg"]),
    )
    assert result.threads_per_cm_warp == pytest.approx(float(row["threads_per_cm_warp"]), rel=0.03)
    assert result.threads_per_cm_weft == pytest.approx(float(row["threads_per_cm_weft"]), rel=0.03)


def test_a_twill_s_thread_pair_is_not_read_as_a_plain_weave_s_diagonals():
    """Without the warp angle, the shipped twill's strongest near-square pair was its threads,
    but their sum and difference are peaks too (the twill's rib lattice), so the pair was read
    as a plain weave's diagonals, and those sums halved back to ribs: 25.8 / 27.5 threads/cm
    read as 18.9 / 18.9. A plain weave's threads are no harmonics."""
    row = _manifest_row("weave", "powerloom/weave-s7-00001-1.png")
    result = measure_weave(
        SAMPLES / "weave" / row["path"], Calibration.from_px_per_mm(float(row["px_per_mm"]))
    )
    found = sorted([result.threads_per_cm_warp, result.threads_per_cm_weft])
    truth = sorted([float(row["threads_per_cm_warp"]), float(row["threads_per_cm_weft"])])
    assert found == pytest.approx(truth, rel=0.03)


def test_no_threads_along_the_warp_angle_given_is_refused_with_what_was_seen():
    photo = SAMPLES / "weave" / "powerloom" / "weave-s7-00001-0.png"
    with pytest.raises(MeasurementError, match=r"warp angle given \(60°\); the strongest"):
        measure_weave(photo, warp_angle_deg=60.0)


def test_a_kani_s_faint_bowed_wefts_are_found_along_the_warp_angle_given():
    """A Kani render at 5.5 px a thread (bench seed 202930074): its bowed wefts smear their
    peak below the 24 strongest, which the twill's lattice fills, and the photo was refused
    (no two thread systems); paired from more peaks along the warp it reads within 1 %."""
    rng = np.random.default_rng(202930074)
    image, truth = render_sample(rng, "kani_handwoven", 1, size=512)[0]
    result = measure_weave(
        image, Calibration.from_px_per_mm(truth["px_per_mm"]), warp_angle_deg=truth["angle_deg"]
    )
    assert result.threads_per_cm_warp == pytest.approx(truth["threads_per_cm_warp"], rel=0.03)
    assert result.threads_per_cm_weft == pytest.approx(truth["threads_per_cm_weft"], rel=0.03)


def test_thread_systems_of_unalike_pitch_are_refused():
    """A Kani render (bench seed 202930011) whose weft peak is too faint to find: its warp was
    paired with a coarse colour-area peak and the weft read 2.1 threads/cm against 12.1."""
    rng = np.random.default_rng(202930011)
    image, truth = render_sample(rng, "kani_handwoven", 1, size=512)[0]
    calibration = Calibration.from_px_per_mm(truth["px_per_mm"])
    with pytest.raises(MeasurementError):
        measure_weave(image, calibration, warp_angle_deg=truth["angle_deg"])
    with pytest.raises(MeasurementError, match="are unalike"):
        measure_weave(image, calibration)


def test_hand_woven_spacing_is_less_regular_than_machine():
    hand, _ = render_weave(np.random.default_rng(1), "kani_handwoven", px_per_mm=20.0, size=512)
    machine, _ = render_weave(np.random.default_rng(13), "powerloom", px_per_mm=20.0, size=256)
    hand_result, machine_result = measure_weave(hand), measure_weave(machine)
    assert machine_result.spacing_cv < 0.03 and machine_result.grade == "machine-regular"
    assert hand_result.spacing_cv > 3 * machine_result.spacing_cv
    assert hand_result.grade == "hand-irregular"


def test_hand_woven_threads_per_cm():
    errors, unmeasured = [], 0
    for seed in range(6):
        image, truth = render_weave(
            np.random.default_rng(seed), "kani_handwoven", px_per_mm=20.0, size=512
        )
        try:
            result = measure_weave(
                image, Calibration.from_px_per_mm(20.0), warp_angle_deg=truth["angle_deg"]
            )
        except MeasurementError:
            unmeasured += 1
            continue
        errors.append(result.threads_per_cm_warp / truth["threads_per_cm_warp"] - 1)
        errors.append(result.threads_per_cm_weft / truth["threads_per_cm_weft"] - 1)
    # The bench's target is 3 % against the density in view; the shawl's nominal density
    # differs from it by a few percent in a hand-woven photo.
    assert unmeasured <= 1
    assert np.median(np.abs(errors)) < 0.04


def test_weave_without_calibration_keeps_ratios():
    image, _ = render_weave(np.random.default_rng(5), "powerloom", px_per_mm=20.0, size=256)
    record = measure_weave(image).to_dict()
    assert record["threads_per_cm_warp"] is None and "craftvision calibrate" in record["note"]
    assert record["warp_pitch_px"] > 0 and record["balance"] > 0 and record["grade"]


def test_grades():
    assert weave_grade(0.01)[0] == "machine-regular"
    assert weave_grade(0.05)[0] == "intermediate"
    assert weave_grade(0.09)[0] == "hand-irregular"
    assert stitch_grade(0.01)[0] == "machine-regular"
    assert stitch_grade(0.25)[0] == "hand-irregular"


def test_stitch_figures_and_units():
    image, _ = render_stitches(np.random.default_rng(2), "machine_embroidery", 1, px_per_mm=30)[0]
    calibrated = measure_stitch(image, Calibration.from_px_per_mm(30)).to_dict()
    assert calibrated["stitches_per_cm"] > 0 and calibrated["stitch_length_mm"] > 0
    plain = measure_stitch(image).to_dict()
    assert plain["stitches_per_cm"] is None and plain["stitch_length_px"] > 0
    assert plain["stitch_length_cv"] == calibrated["stitch_length_cv"]
    assert plain["work"] in ("rows", "columns") and plain["stitch_pitch_px"] > 0


def _close_up(label: str, kind: str, ppm: float, seed: int) -> tuple[np.ndarray, dict]:
    """A 256 px close-up of ``kind`` stitches at ``ppm`` px per mm, and its truth."""
    rng = np.random.default_rng(seed)
    construction = draw_stitches(rng, label, px_per_mm=ppm, stitch_type=kind)
    return render_stitch(rng, label, px_per_mm=ppm, size=256, construction=construction)


@pytest.mark.parametrize("seed", range(3))
def test_machine_fill_stitches_per_cm_and_length_cv(seed):
    image, truth = _close_up("machine_embroidery", "lock_fill", 25.0, seed)
    result = measure_stitch(image, Calibration.from_px_per_mm(25.0))
    assert result.work == "rows"
    assert result.stitches_per_cm == pytest.approx(truth["stitches_per_cm"], rel=0.05)
    assert result.stitch_length_cv == pytest.approx(truth["stitch_length_cv"], abs=0.05)


def _bench_close_up(seed: int, label: str, kind: str) -> tuple[np.ndarray, dict, float]:
    """A 384 px close-up drawn as the bench draws its stitch cases (the scale drawn too), its
    truth and its px per mm."""
    rng = np.random.default_rng(seed)
    ppm = draw_px_per_mm(rng)
    construction = draw_stitches(rng, label, px_per_mm=ppm, stitch_type=kind)
    image, truth = render_stitch(rng, label, px_per_mm=ppm, size=384, construction=construction)
    return image, truth, ppm


def _stitch_errors(label: str, kind: str, ppm: float, seeds: range) -> tuple[list, list, int]:
    """Relative stitches/cm errors (where given), absolute length CV errors and how many
    photos were refused."""
    per_cm, cv, unmeasured = [], [], 0
    for seed in seeds:
        image, truth = _close_up(label, kind, ppm, seed)
        try:
            result = measure_stitch(image, Calibration.from_px_per_mm(ppm))
        except MeasurementError:
            unmeasured += 1
            continue
        if result.stitches_per_cm is not None:
            per_cm.append(result.stitches_per_cm / truth["stitches_per_cm"] - 1)
        cv.append(result.stitch_length_cv - truth["stitch_length_cv"])
    return per_cm, cv, unmeasured


@pytest.mark.parametrize("ppm", [12.0, 30.0])
def test_chain_stitches_per_cm_and_length_cv(ppm):
    # The bench's targets are 5 % and 0.05; a 256 px close-up holds fewer loops, and one of
    # these six is graded intermediate (CV 0.087), which withholds its stitches per cm.
    per_cm, cv, unmeasured = _stitch_errors("machine_chain", "chain", ppm, range(3))
    assert unmeasured == 0 and len(per_cm) >= 2
    assert np.max(np.abs(per_cm)) < 0.05
    assert np.max(np.abs(cv)) < 0.08


def test_long_fill_stitches_are_followed_across_the_photo():
    # Stitches 110-125 px long: only two or three fit along a row of the photo.
    per_cm, cv, unmeasured = _stitch_errors("machine_embroidery", "lock_fill", 45.0, range(4))
    assert unmeasured <= 1
    assert np.max(np.abs(per_cm)) < 0.05
    assert np.max(np.abs(cv)) < 0.05


@pytest.mark.parametrize(
    ("label", "kind"), [("machine_chain", "chain"), ("machine_embroidery", "lock_fill")]
)
def test_machine_rows_give_stitch_length_within_five_percent(label, kind):
    given = 0
    for seed in range(3):
        image, truth = _close_up(label, kind, 30.0, seed)
        result = measure_stitch(image, Calibration.from_px_per_mm(30.0))
        assert (result.stitch_length_mm is None) == (result.stitches_per_cm is None)
        if result.stitch_length_mm is not None:
            given += 1
            assert result.stitch_length_mm == pytest.approx(truth["stitch_length_mm"], rel=0.05)
    assert given >= 2


def test_machine_satin_counts_both_legs_of_the_zigzag():
    # Each needle hole is shared by two stitches: counted at the column's edge, half are missed.
    per_cm, cv, unmeasured = _stitch_errors("machine_embroidery", "lock_satin", 25.0, range(4))
    assert unmeasured == 0
    assert np.max(np.abs(per_cm)) < 0.05
    assert np.max(np.abs(cv)) < 0.05


def test_machine_satin_zigzag_too_fine_to_see_is_counted_at_half_its_pair_spacing():
    # At 12 px/mm the zigzag's threads lie 1.7-2.6 px apart across the column's middle and
    # merge; only its pairs, meeting at the needle holes one spacing apart, are seen. Counted
    # at the pairs' spacing, every figure was half the truth.
    errors, grades, as_rows = [], [], 0
    for seed in range(12):
        image, truth = _close_up("machine_embroidery", "lock_satin", 12.0, seed)
        try:
            result = measure_stitch(image, Calibration.from_px_per_mm(12.0))
        except MeasurementError:
            continue
        grades.append(result.grade)
        assert (result.stitches_per_cm is None) == (result.grade != "machine-regular")
        if result.stitches_per_cm is None:
            continue
        if result.work == "rows":  # satin not seen as columns: a known miss, kept rare
            as_rows += 1
            continue
        errors.append(result.stitches_per_cm / truth["stitches_per_cm"] - 1)
    assert "intermediate" in grades  # misgraded machine work: its figure is withheld
    assert as_rows <= 1 and len(errors) >= 5
    assert np.median(np.abs(errors)) < 0.05 and np.max(np.abs(errors)) < 0.12


def test_satin_column_not_seen_even_across_its_middle_is_not_counted():
    # Threads 7.9 px apart at the column's edge, but no even spacing found across its middle:
    # each crest may be one thread or a zigzag's pair, so no figure is given, and the note says
    # why.
    image, _ = _close_up("machine_embroidery", "lock_satin", 18.0, 5)
    result = measure_stitch(image, Calibration.from_px_per_mm(18.0))
    assert result.grade == "machine-regular" and result.work == "columns"
    assert result.stitches_per_cm is None and result.stitch_length_mm is None
    assert result.withheld == f"{UNRESOLVED}; {ACROSS_COLUMNS}"
    assert "zigzag" in result.to_dict()["note"]


def test_the_reason_for_withholding_follows_the_grade():
    machine = StitchResult("a.png", 30.0, 0.02, None, "columns", 1.0, 80, 15.0)
    intermediate = StitchResult("b.png", 30.0, 0.11, None, "rows", 1.0, 80, 15.0)
    counted = StitchResult("c.png", 30.0, 0.02, 3.0, "columns", 1.0, 80, 15.0)
    column = StitchResult("d.png", None, 0.02, 3.0, "columns", 1.0, 80, 15.0)
    assert machine.withheld == UNRESOLVED and intermediate.withheld == UNSTEADY
    assert counted.withheld is None and counted.to_dict()["note"] is None
    assert column.withheld == ACROSS_COLUMNS and column.stitch_length_mm is None
    assert column.stitches_per_cm == pytest.approx(50.0)


def test_hand_work_withholds_stitches_per_cm_and_length_but_grades_it():
    # Hand lengths varying by 15-30 % leave no steady step between stitches: the steps found
    # were 2-7x too long and the lengths 1.3-2.2x, so both are withheld, with a note, and the
    # length CV and grade are kept.
    image, truth = _close_up("sozni_hand", "satin", 25.0, 5)
    result = measure_stitch(image, Calibration.from_px_per_mm(25.0))
    assert result.grade == "hand-irregular"
    assert result.stitch_length_cv == pytest.approx(truth["stitch_length_cv"], abs=0.05)
    assert result.stitch_pitch_px is None and result.stitches_per_cm is None
    record = result.to_dict()
    assert record["stitches_per_cm"] is None and record["stitch_length_mm"] is None
    assert record["stitch_length_px"] is None
    assert "stitches per cm and stitch length withheld" in record["note"]
    assert "calibration" not in record["note"]


def test_few_lengths_without_a_steady_repeat_are_not_called_machine_regular():
    # A few lengths can agree by chance along hand work; a machine's exact repeat also shows in
    # the light along its stitches. Without that, fewer than 40 lengths leave the work ungraded.
    assert stitch_grade(0.03, 39, 0.05)[0] == "ungraded"
    assert "only 39 lengths" in stitch_grade(0.03, 39, 0.05)[1]
    assert stitch_grade(0.03, 39, 0.5)[0] == "machine-regular"
    assert stitch_grade(0.03, 400, 0.05)[0] == "machine-regular"
    assert stitch_grade(0.22, 39, 0.05)[0] == "hand-irregular"


@pytest.mark.parametrize(("seed", "kind"), [(40015, "stem"), (40208, "darn"), (240079, "stem")])
def test_hand_rows_whose_few_lengths_agree_by_chance_get_no_figures(seed, kind):
    # 34, 12 and 22 lengths found along these hand rows agreed within a CV of 2-5 %, with no
    # steady repeat of light along the stitches: they read machine-regular, at 113, 92 and 90
    # px per stitch against a true 31, 58 and 32.
    image, _, ppm = _bench_close_up(seed, "sozni_hand", kind)
    result = measure_stitch(image, Calibration.from_px_per_mm(ppm))
    assert result.stitch_length_cv <= 0.08 and result.n_stitches < 40
    assert result.grade == "ungraded" and result.withheld == UNGRADED
    assert result.stitches_per_cm is None and result.stitch_length_mm is None
    assert result.to_dict()["repeat_steadiness"] < 0.1


@pytest.mark.parametrize(("seed", "kind"), [(140054, "darn"), (140190, "satin")])
def test_hand_work_whose_lengths_read_close_is_still_graded_by_hand(seed, kind):
    # Hand darning and satin (true CV 0.20 and 0.23) whose lengths found spread by only 12-13 %:
    # graded intermediate, though the light along their stitches shows no steady repeat, as a
    # machine's always would.
    image, _, ppm = _bench_close_up(seed, "sozni_hand", kind)
    result = measure_stitch(image, Calibration.from_px_per_mm(ppm))
    assert 0.08 < result.stitch_length_cv < 0.15 and result.repeat_steadiness < 0.1
    assert result.grade == "hand-irregular" and "no steady repeat" in result.rule


def test_shipped_hand_satin_is_not_graded_machine_regular():
    # Threads 1.7 px apart at 6.46 px/mm: one photo's 38 lengths (the column's edges) agreed
    # within 4 %, and the sample read machine-regular at 8.6 stitches per cm against 39.
    paths = sorted((SAMPLES / "stitch" / "sozni_hand").glob("*.png"))
    results = []
    for path in paths:
        ppm = float(_manifest_row("stitch", f"sozni_hand/{path.name}")["px_per_mm"])
        results.append(measure_stitch(path, Calibration.from_px_per_mm(ppm)))
    assert "machine-regular" not in [r.grade for r in results]
    assert all(r.stitches_per_cm is None for r in results)
    summary = StitchSample.of(results).to_dict()
    assert summary["grade"] == "hand-irregular" and summary["n_graded"] < len(paths)


def test_sample_cv_is_pooled_over_graded_photos():
    graded = StitchResult("a.png", None, 0.2, None, "rows", 1.0, 80, 15.0, 0.02)
    steady = StitchResult("c.png", None, 0.1, None, "rows", 1.0, 80, 15.0, 0.5)
    unsteady = StitchResult("d.png", None, 0.1, None, "rows", 1.0, 80, 15.0, 0.05)
    assert StitchSample.of([steady]).to_dict()["grade"] == "intermediate"
    assert StitchSample.of([unsteady]).to_dict()["grade"] == "hand-irregular"
    ungraded = StitchResult("b.png", None, 0.02, None, "rows", 1.0, 20, 15.0, 0.02)
    summary = StitchSample.of([graded, ungraded]).to_dict()
    assert summary["stitch_length_cv"] == pytest.approx(0.2) and summary["n_graded"] == 1
    assert summary["grade"] == "hand-irregular" and "1 of 2 photos graded" in summary["rule"]
    alone = StitchSample.of([ungraded]).to_dict()
    assert alone["stitch_length_cv"] is None and alone["grade"] == "ungraded"


@pytest.mark.parametrize("seed", [202640009, 202640063])
def test_machine_length_cv_is_the_width_of_its_one_length(seed):
    # Chain loops where split and doubled loops (false and missed ends) spread the lengths
    # found: their interquartile range alone made the CV 0.24-0.29 against a true 0.01-0.02.
    image, truth, ppm = _bench_close_up(seed, "machine_chain", "chain")
    result = measure_stitch(image, Calibration.from_px_per_mm(ppm))
    assert result.stitch_length_cv == pytest.approx(truth["stitch_length_cv"], abs=0.05)
    assert result.grade == "machine-regular"


def test_satin_columns_in_a_dark_and_a_light_thread_are_measured():
    # Maroon and cream columns side by side: against the whole photo's range of light the
    # stitch ends on the maroon thread dipped too little to count, and the photo was refused.
    # On the log of the light a dip is as deep on a dark thread as on a light one.
    image, truth, ppm = _bench_close_up(40072, "machine_embroidery", "lock_satin")
    result = measure_stitch(image, Calibration.from_px_per_mm(ppm))
    assert result.stitches_per_cm == pytest.approx(truth["stitches_per_cm"], rel=0.05)
    assert result.stitch_length_cv == pytest.approx(truth["stitch_length_cv"], abs=0.05)


@pytest.mark.parametrize(("true_cv", "tolerance"), [(0.0, 0.02), (0.05, 0.015)])
def test_the_repeats_width_gives_the_length_cv(true_cv, tolerance):
    # Stitch ends every 30 px along 200 lines: the autocorrelation's peak at the repeat is the
    # zero lag's widened by the spread of the lengths, whatever the ends' shape.
    from craftvision.measure.stitch import _repeat

    rng = np.random.default_rng(0)
    x = np.arange(257)
    lines = []
    for _ in range(200):
        ends = np.cumsum(30 * (1 + true_cv * rng.standard_normal(20))) - rng.uniform(0, 30)
        light = 1 - 0.5 * np.exp(-0.5 * ((x[:, None] - ends[None]) / 2.0) ** 2).sum(axis=1)
        lines.append(light + 0.02 * rng.standard_normal(len(x)))
    repeat = _repeat(np.array(lines, np.float32))
    assert repeat.length == pytest.approx(30, abs=0.3) and repeat.steady > 0.5
    assert repeat.cv == pytest.approx(true_cv, abs=tolerance)


@pytest.mark.parametrize("seed", [40149, 40173])
def test_machine_rows_with_loosely_found_ends_are_machine_regular(seed):
    # Machine fill stitches 88 and 52 px long whose ends were found loosely: the lengths between
    # them spread by 17-23 % and the work was graded hand-irregular. The light along the
    # stitches repeats steadily, and that repeat's width gives the CV.
    image, truth, ppm = _bench_close_up(seed, "machine_embroidery", "lock_fill")
    result = measure_stitch(image, Calibration.from_px_per_mm(ppm))
    assert result.grade == "machine-regular" and result.repeat_steadiness >= 0.3
    assert result.stitch_length_cv == pytest.approx(truth["stitch_length_cv"], abs=0.05)
    assert result.stitches_per_cm == pytest.approx(truth["stitches_per_cm"], rel=0.05)


@pytest.mark.parametrize(
    ("seed", "label", "kind"),
    [(40161, "machine_embroidery", "lock_fill"), (140117, "machine_chain", "chain")],
)
def test_a_sharp_repeat_grades_machine_work_but_gives_no_step(seed, label, kind):
    # Machine fill and chain stitches whose ends were found loosely were graded hand-irregular
    # (lengths spread by 21-27 %). The light along them repeats less steadily than the 0.3 that
    # gives the CV, but its peak is sharp and the commonest length agrees with it, so its width
    # gives the CV; whether that repeat is one stitch is not shown, so no step is given.
    image, truth, ppm = _bench_close_up(seed, label, kind)
    result = measure_stitch(image, Calibration.from_px_per_mm(ppm))
    assert result.grade == "machine-regular" and result.regular_by_repeat_alone
    assert 0.15 <= result.repeat_steadiness < 0.3
    assert result.stitch_length_cv == pytest.approx(truth["stitch_length_cv"], abs=0.05)
    assert result.stitches_per_cm is None and result.withheld == LOOSE_ENDS


def test_hand_length_cv_keeps_its_spread():
    # Hand lengths (CV 0.22) over the same background of split and doubled stitches: no sharp
    # peak, so the CV stays the spread of the lengths rather than a peak's width.
    from craftvision.measure.stitch import _length_cv

    rng = np.random.default_rng(1)
    hand = rng.normal(1.0, 0.22, 400)
    lengths = np.concatenate([hand, rng.uniform(0.5, 1.6, 100)])
    assert _length_cv(lengths[(lengths > 0.5) & (lengths < 1.6)]) > 0.15


def test_shallow_stitch_ends_are_taken_where_the_repeat_is_steady():
    # Fill in cream, maroon and near-black: each colour's stitch ends dip only a little
    # against the photo's whole range of light, but the machine's repeat is steady.
    image, truth, ppm = _bench_close_up(202640073, "machine_embroidery", "lock_fill")
    result = measure_stitch(image[:256, :256], Calibration.from_px_per_mm(ppm))
    assert result.stitches_per_cm == pytest.approx(truth["stitches_per_cm"], rel=0.05)
    assert result.stitch_length_cv == pytest.approx(truth["stitch_length_cv"], abs=0.05)


def test_threads_too_thin_to_follow_are_refused():
    rng = np.random.default_rng(1)
    construction = draw_stitches(rng, "machine_embroidery", px_per_mm=6.0, stitch_type="lock_fill")
    image, _ = render_stitch(
        rng, "machine_embroidery", px_per_mm=6.0, size=256, construction=construction
    )
    with pytest.raises(MeasurementError, match=r"too few stitches.*3 px wide or more"):
        measure_stitch(image, Calibration.from_px_per_mm(6.0))


@pytest.mark.parametrize("measure", [measure_weave, measure_stitch])
def test_tiny_images_are_refused_naming_them(measure):
    with pytest.raises(MeasurementError, match="<array>: 20x20 px is too small"):
        measure(np.zeros((20, 20, 3), np.uint8))
