"""craftvision calibrate / measure on the command line, and measurements in sample verdicts."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest
from typer.testing import CliRunner

from craftvision.cli import app
from craftvision.datasets.synth.fibre import render_fibre
from craftvision.datasets.synth.micrometer import render_micrometer
from craftvision.measure import Calibration, measure_sample
from craftvision.sample import aggregate
from craftvision.types import Prediction, Verdict

runner = CliRunner()
SAMPLES = Path(__file__).resolve().parents[1] / "samples"


def _write(path, image):
    cv2.imwrite(str(path), image[..., ::-1] if image.ndim == 3 else image)
    return path


@pytest.fixture(scope="module")
def fibres(tmp_path_factory):
    root = tmp_path_factory.mktemp("fibres")
    truths = []
    for i in range(2):
        image, truth = render_fibre(
            np.random.default_rng(i + 1), "wool", um_per_px=0.5, layout="strip"
        )
        _write(root / f"f{i}.png", image)
        truths.append(truth["diameter_um"])
    return root, truths


def test_calibrate_writes_a_profile(tmp_path):
    image, _ = render_micrometer(np.random.default_rng(0), um_per_px=0.5)
    photo = _write(tmp_path / "micrometer.png", image)
    result = runner.invoke(app, ["calibrate", str(photo), "--division-um", "10"])
    assert result.exit_code == 0, result.output
    assert float(result.stdout.split()[0]) == pytest.approx(0.5, rel=0.01)
    profile = json.loads((tmp_path / "micrometer.calibration.json").read_text())
    assert profile["um_per_px"] == pytest.approx(0.5, rel=0.01)


def test_measure_fibre_json_lines_then_summary(fibres, tmp_path):
    root, truths = fibres
    Calibration.from_um_per_px(0.5).save(tmp_path / "scope.json")
    plot = tmp_path / "hist.png"
    args = ["measure", "fibre", str(root), "--calibration", str(tmp_path / "scope.json")]
    result = runner.invoke(app, [*args, "--json", "--plot", str(plot)])
    assert result.exit_code == 0, result.output
    *images, summary = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r["mean_diameter_um"] for r in images] == pytest.approx(truths, abs=0.5)
    assert summary["summary"] and summary["n_fibres"] == 2
    assert summary["grade"] == "inconclusive"  # two fibres leave the mean too uncertain
    t975 = 12.706  # Student's t, 1 degree of freedom
    assert summary["mean_ci95_um"] == pytest.approx(t975 * summary["sd_um"] / 2**0.5, rel=0.01)
    assert "fibres would decide it" in summary["rule"]
    assert plot.read_bytes().startswith(b"\x89PNG")
    assert "photo" not in result.stderr  # at 0.5 µm/px a 30 µm fibre is 60 px wide


def test_measure_fibre_warns_that_coarse_fibres_may_be_missed_at_a_fine_scale(fibres):
    root, _ = fibres
    result = runner.invoke(app, ["measure", "fibre", str(root), "--um-per-px", "0.25", "--json"])
    assert result.exit_code == 0, result.output
    *images, _ = [json.loads(line) for line in result.stdout.splitlines()]
    assert all("120 px wide" in r["note"] for r in images)
    assert "2 photos (f0.png, f1.png): at 0.25 µm/px a 30 µm fibre is 120 px wide" in " ".join(
        result.stderr.split()
    )


def test_measure_without_calibration_says_how_and_keeps_ratios(fibres):
    root, _ = fibres
    result = runner.invoke(app, ["measure", "fibre", str(root / "f0.png"), "--json"])
    assert result.exit_code == 0
    assert "craftvision calibrate" in result.stderr
    record = json.loads(result.stdout.splitlines()[0])
    assert record["mean_diameter_um"] is None and record["mean_diameter_px"] > 0


def test_measure_reports_bad_files_and_bad_options(fibres, tmp_path):
    root, _ = fibres
    (tmp_path / "broken.png").write_bytes(b"not a png")
    result = runner.invoke(
        app,
        [
            "measure",
            "fibre",
            str(root / "f0.png"),
            str(tmp_path / "broken.png"),
            "--um-per-px",
            "0.5",
        ],
    )
    assert result.exit_code == 1
    assert "broken.png" in result.stderr and "f0.png" in result.stdout
    assert runner.invoke(app, ["measure", "fiber", str(root)]).exit_code == 2
    plot = runner.invoke(app, ["measure", "weave", str(root), "--plot", str(tmp_path / "x.png")])
    assert plot.exit_code != 0
    text = runner.invoke(app, ["measure", "fibre", str(root), "--plot", str(tmp_path / "h.txt")])
    assert text.exit_code != 0 and "writes a .png file" in str(text.exception)
    assert not (tmp_path / "h.txt").exists()
    help_text = runner.invoke(app, ["measure", "--help"]).stdout
    assert "Example" in help_text and "--calibration" in help_text


@pytest.mark.parametrize(
    ("modality", "scale"),
    [("fibre", "--um-per-px=0.5"), ("weave", "--px-per-mm=20"), ("stitch", "--px-per-mm=20")],
)
def test_measure_with_every_photo_unreadable_says_none_was_measured(tmp_path, modality, scale):
    (tmp_path / "broken.png").write_bytes(b"not a png")
    run = runner.invoke(app, ["measure", modality, str(tmp_path / "broken.png"), scale])
    assert run.exit_code == 1 and "broken.png" in run.stderr
    assert "no photo measured" in run.stdout and "-" not in run.stdout.splitlines()[-2]
    assert "None" not in run.stdout and run.stdout.splitlines()[-1].startswith("grade: ")
    as_json = runner.invoke(
        app, ["measure", modality, str(tmp_path / "broken.png"), scale, "--json"]
    )
    summary = json.loads(as_json.stdout.splitlines()[-1])
    assert summary["grade"] == "ungraded" and summary["rule"]


def test_measure_fibre_summary_names_what_one_fibre_or_no_scale_cannot_give(fibres):
    root, _ = fibres
    one = runner.invoke(app, ["measure", "fibre", str(root / "f0.png"), "--um-per-px=0.5"])
    assert one.exit_code == 0, one.output
    summary = one.stdout.split("┘")[-1]
    assert "1 fibre in 1 image(s): mean" in summary and " - " not in summary
    assert "(one fibre: no spread or interval)" in summary
    unscaled = runner.invoke(app, ["measure", "fibre", str(root)])
    assert unscaled.exit_code == 0, unscaled.output
    line = next(x for x in unscaled.stdout.splitlines() if x.startswith("2 fibres"))
    assert "px (95 %)" in line and "over 30" not in unscaled.stdout


def test_measure_says_when_no_fibre_shows_scales(tmp_path):
    image, _ = render_fibre(np.random.default_rng(2), "synthetic", um_per_px=0.5)
    _write(tmp_path / "acrylic.png", image)
    run = runner.invoke(app, ["measure", "fibre", str(tmp_path / "acrylic.png"), "--um-per-px=0.5"])
    assert run.exit_code == 0
    assert "no cuticle scales seen" in run.stdout and "scale interval -" not in run.stdout


def test_measure_says_why_a_field_gave_no_fibre(fibres, tmp_path):
    rng = np.random.default_rng(0)
    empty = _write(
        tmp_path / "empty.png", (200 + 3 * rng.standard_normal((240, 320))).astype(np.uint8)
    )
    root, _ = fibres
    run = runner.invoke(
        app, ["measure", "fibre", str(empty), str(root / "f0.png"), "--um-per-px=0.5"]
    )
    assert run.exit_code == 0, run.output
    said = " ".join(run.stderr.split())
    assert "1 photo (empty.png): no fibre measured: a fibre is measured only where" in said
    assert said.endswith("(as at a shallow crossing), are not measured")
    as_json = runner.invoke(app, ["measure", "fibre", str(empty), str(root / "f0.png"), "--json"])
    blank, found = (json.loads(line) for line in as_json.stdout.splitlines()[:2])
    assert blank["n_fibres"] == 0 and "no fibre measured" in blank["note"]
    assert found["n_fibres"] == 1 and "no fibre measured" not in found["note"]


def test_measure_sample_for_records(fibres):
    root, _ = fibres
    data = measure_sample({"fibre": sorted(root.glob("*.png"))}, Calibration.from_um_per_px(0.5))
    assert len(data["fibre"]["diameters_um"]) == 2 and len(data["fibre"]["images"]) == 2


def _fibre_photo(verdict):
    return Prediction("/s/fibre/a.png", "pashmina", verdict, 0.95, 0.95, {}, "fibre", "fibre")


@pytest.mark.parametrize(
    ("model", "mean", "sd", "verdict", "reason"),
    [
        (Verdict.GENUINE, 21.4, 3.0, Verdict.IMITATION, "mean diameter 21.4 µm > 16 µm GI limit"),
        (Verdict.GENUINE, 16.3, 3.0, Verdict.INCONCLUSIVE, "within the measuring uncertainty"),
        (Verdict.GENUINE, 13.2, 2.0, Verdict.GENUINE, "mean diameter 13.2 µm ≤ 16 µm GI limit"),
        (Verdict.GENUINE, 15.6, 3.0, Verdict.INCONCLUSIVE, "≤ 16 µm GI limit (40 fibres), within"),
        (Verdict.IMITATION, 15.6, 3.0, Verdict.IMITATION, "within the measuring uncertainty"),
    ],
)
def test_sample_reasons_cite_the_fibre_diameter(model, mean, sd, verdict, reason):
    fibre = {"n_fibres": 40, "mean_um": mean, "sd_um": sd}
    result = aggregate({"fibre": [_fibre_photo(model)]}, measurements={"fibre": fibre})
    assert result.verdict is verdict
    assert any(reason in r for r in result.reasons)
    assert result.to_dict()["measurements"]["fibre"]["mean_um"] == mean


@pytest.mark.parametrize(
    ("summary", "reason"),
    [
        (
            {
                "stitches_per_cm": 3.9,
                "stitch_length_cv": 0.024,
                "grade": "machine-regular",
                "rule": "stitch length CV 2.4 % ≤ 8 %: one length repeated",
            },
            "stitch: 3.9 stitches/cm; machine-regular — stitch length CV 2.4 % ≤ 8 %: one length "
            "repeated",
        ),
        (
            {"stitch_length_cv": None, "grade": "ungraded", "rule": "too few lengths"},
            "stitch: ungraded — too few lengths",
        ),
    ],
)
def test_sample_reasons_cite_the_stitch_grade(summary, reason):
    photo = Prediction(
        "/s/stitch/a.png", "sozni_hand", Verdict.GENUINE, 0.9, 0.9, {}, "stitch", "stitch"
    )
    result = aggregate({"stitch": [photo]}, measurements={"stitch": summary})
    assert reason in result.reasons


def test_measure_stitch_says_why_hand_work_has_no_stitches_per_cm_or_length(tmp_path):
    from craftvision.datasets.synth.stitch import draw_construction, render_stitch

    rng = np.random.default_rng(5)
    construction = draw_construction(rng, "sozni_hand", px_per_mm=25.0, stitch_type="satin")
    image, _ = render_stitch(rng, "sozni_hand", px_per_mm=25.0, size=256, construction=construction)
    photo = _write(tmp_path / "sozni.png", image)
    run = runner.invoke(app, ["measure", "stitch", str(photo), "--px-per-mm", "25"])
    assert run.exit_code == 0, run.output
    said = " ".join(run.output.split())
    assert "1 photo (sozni.png): stitches per cm and stitch length withheld: the stitch" in said
    assert "hand-irregular" in run.output
    assert "stitches/cm withheld, length withheld, CV " in run.stdout
    as_json = runner.invoke(app, ["measure", "stitch", str(photo), "--px-per-mm", "25", "--json"])
    record, summary = (json.loads(line) for line in as_json.stdout.splitlines())
    assert record["stitches_per_cm"] is None and summary["stitches_per_cm"] is None
    assert record["stitch_length_mm"] is None and summary["stitch_length_mm"] is None
    assert summary["grade"] == "hand-irregular"


@pytest.mark.parametrize(
    ("modality", "photos", "headings", "keys"),
    [
        ("weave", "weave/jacquard_machine", ("warp", "pitch px"), ("warp_pitch_px",)),
        ("stitch", "stitch/machine_chain", ("pitch", "length"), ("stitch_pitch_px",)),
    ],
)
def test_measure_without_calibration_shows_pitches_in_px(modality, photos, headings, keys):
    run = runner.invoke(app, ["measure", modality, str(SAMPLES / photos)])
    assert run.exit_code == 0, run.output
    table = run.stdout.split("└")[0]
    assert all(heading in table for heading in headings) and "/cm" not in table
    records = [
        json.loads(line)
        for line in runner.invoke(
            app, ["measure", modality, str(SAMPLES / photos), "--json"]
        ).stdout.splitlines()[:-1]
    ]
    for record in records:
        pitch = record[keys[0]]
        assert pitch is not None and f"{pitch:#.3g}".rstrip(".") in table
    summary = run.stdout.splitlines()[-2]
    assert "withheld" in summary and " - " not in summary


def test_measure_table_folds_long_names_and_grades_instead_of_cutting_them(tmp_path):
    from craftvision.datasets.synth.stitch import render_sample

    image, _ = render_sample(np.random.default_rng(2), "machine_chain", 1, px_per_mm=20)[0]
    photo = _write(tmp_path / "sozni-lab-camera-2-shawl-0042-closeup.png", image)
    run = runner.invoke(app, ["measure", "stitch", str(photo), "--px-per-mm", "20"])
    assert run.exit_code == 0, run.output
    assert "…" not in run.output and "0042" in run.output


def test_an_interrupted_measure_reports_what_it_measured(tmp_path, monkeypatch):
    from craftvision.datasets.synth.stitch import render_sample
    from craftvision.measure import batch

    photos = render_sample(np.random.default_rng(2), "machine_chain", 3, px_per_mm=20)
    for i, (image, _) in enumerate(photos):
        _write(tmp_path / f"chain-{i}.png", image)
    measure = batch.MEASURES["stitch"]
    calls = []

    def measure_then_interrupt(*args, **kwargs):
        calls.append(args[0])
        if len(calls) == 2:
            raise KeyboardInterrupt
        return measure(*args, **kwargs)

    monkeypatch.setitem(batch.MEASURES, "stitch", measure_then_interrupt)
    run = runner.invoke(app, ["measure", "stitch", str(tmp_path), "--px-per-mm", "20", "--json"])
    assert run.exit_code == 130
    *records, summary = [json.loads(line) for line in run.stdout.splitlines()]
    assert [r["path"].rsplit("/", 1)[-1] for r in records] == ["chain-0.png"]
    assert summary["n_images"] == 1 and records[0]["stitches_per_cm"] > 0
    assert "interrupted: 1 of 3 photo(s) measured" in " ".join(run.stderr.split())


def test_table_figures_keep_three_significant_digits():
    from craftvision.cli.table import figure

    assert [figure(v) for v in (9.0, 9.684, 0.04306, 0.0, 157.8, 1234.0)] == [
        "9.00",
        "9.68",
        "0.0431",
        "0.00",
        "158",
        "1234",
    ]
    assert (
        figure(None) == "-" and figure(3) == "3" and figure("machine-regular") == "machine-regular"
    )


def test_a_scale_the_photos_cannot_have_been_taken_at_is_refused(tmp_path):
    # A microscope's 0.5 µm per pixel applied to a weave close-up read thousands of threads
    # per cm; the photo is refused with what to do instead.
    from craftvision.errors import CalibrationError
    from craftvision.measure import check_scale, measure_paths

    check_scale("fibre", Calibration.from_um_per_px(0.5))
    check_scale("weave", Calibration.from_px_per_mm(20.0))
    with pytest.raises(CalibrationError, match=r"finer than weave photos .* microscope's scale"):
        check_scale("weave", Calibration.from_um_per_px(0.5))
    with pytest.raises(CalibrationError, match=r"coarser than fibre photos .* close-up camera's"):
        check_scale("fibre", Calibration.from_px_per_mm(20.0))
    (error,) = measure_paths("stitch", [tmp_path / "a.png"], Calibration.from_um_per_px(0.5))
    assert "own calibration" in error.error
    run = runner.invoke(app, ["measure", "weave", str(SAMPLES / "weave"), "--um-per-px", "0.5"])
    assert isinstance(run.exception, CalibrationError) and not run.stdout


def test_scales_are_given_per_modality():
    from craftvision.errors import CalibrationError
    from craftvision.measure import Scales

    scales = Scales.parse(um_per_px=["fibre=0.5"], px_per_mm=["weave=12.3", "20"])
    assert scales.of("fibre").um_per_px == 0.5
    assert scales.of("weave").px_per_mm == pytest.approx(12.3)
    assert scales.of("stitch").px_per_mm == pytest.approx(20.0)
    assert not Scales.parse() and Scales.parse(px_per_mm=["stitch=20"]).of("weave") is None
    with pytest.raises(CalibrationError, match="Did you mean 'fibre'"):
        Scales.parse(um_per_px=["fiber=0.5"])
    with pytest.raises(CalibrationError, match="given already"):
        Scales.parse(um_per_px=["fibre=0.5"], px_per_mm=["fibre=2000"])
    with pytest.raises(CalibrationError, match="wants a number"):
        Scales.parse(px_per_mm=["weave=twelve"])
    with pytest.raises(CalibrationError, match="scale after the '='"):
        Scales.parse(["fibre="])


def test_inspect_measures_each_modality_at_its_own_scale():
    product = ["inspect", "--sample", str(SAMPLES / "product"), "--json"]
    run = runner.invoke(
        app, [*product, "--um-per-px", "fibre=0.5", "--px-per-mm", "weave=12", "--px-per-mm", "20"]
    )
    assert run.exit_code == 0, run.output
    record = json.loads(run.stdout)
    assert set(record["measurements"]) == {"fibre", "weave", "stitch"}
    assert 2 < record["measurements"]["weave"]["threads_per_cm_warp"] < 30
    one_scale = json.loads(runner.invoke(app, [*product, "--um-per-px", "0.5"]).stdout)
    close_ups = [i for i in one_scale["images"] if i["modality"] in ("weave", "stitch")]
    assert close_ups and all("own calibration" in i["measurements"]["error"] for i in close_ups)
    assert "weave" not in one_scale["measurements"] or not one_scale["measurements"]["weave"].get(
        "threads_per_cm_warp"
    )
    refused = one_scale["measurements"]["weave"]
    assert refused["n_images"] == 0 and "own calibration" in refused["note"]
    assert any(
        r.startswith("weave: not measured (") and "own calibration" in r
        for r in one_scale["reasons"]
    )
    coarse = json.loads(runner.invoke(app, [*product, "--px-per-mm", "12"]).stdout)
    assert "coarser than fibre photos" in coarse["measurements"]["fibre"]["note"]
    assert any(
        r.startswith("fibre: no fibre diameter measured (") and "coarser than fibre" in r
        for r in coarse["reasons"]
    )


def test_a_folder_without_images_is_an_error_not_an_empty_result(tmp_path):
    (tmp_path / "notes.txt").write_text("not a photo")
    for verb in (["measure", "fibre"], ["inspect"]):
        run = runner.invoke(app, [*verb, str(tmp_path), "--um-per-px", "0.5"])
        assert run.exit_code == 1, verb
        assert "no images (.bmp, .jpeg, .jpg, .png, .tif, .tiff) in it" in " ".join(
            run.output.split()
        ), verb
