"""Stage micrometer calibration and calibration profiles."""

from __future__ import annotations

import json

import numpy as np
import pytest

from craftvision.datasets.synth.micrometer import render_micrometer
from craftvision.errors import CalibrationError
from craftvision.measure import (
    Calibration,
    calibrate_micrometer,
    load_calibration,
    resolve_calibration,
)


@pytest.mark.parametrize(("seed", "um_per_px"), [(0, 0.3), (1, 0.62), (2, 1.1)])
def test_micrometer_photo_gives_the_scale_within_one_percent(seed, um_per_px):
    image, truth = render_micrometer(np.random.default_rng(seed), um_per_px=um_per_px)
    calibration = calibrate_micrometer(image, division_um=truth["division_um"])
    assert calibration.um_per_px == pytest.approx(um_per_px, rel=0.01)
    assert calibration.source == "stage micrometer"
    assert calibration.n_ticks >= 5


def test_division_scales_the_result():
    image, _ = render_micrometer(np.random.default_rng(3), um_per_px=0.5, division_um=10.0)
    assert calibrate_micrometer(image, 2.0).um_per_px == pytest.approx(0.1, rel=0.01)


def test_profile_round_trip(tmp_path):
    image, _ = render_micrometer(np.random.default_rng(4), um_per_px=0.8)
    calibration = calibrate_micrometer(image)
    path = calibration.save(tmp_path / "scope.json")
    data = json.loads(path.read_text())
    assert data["format"] == "craftvision-calibration" and data["version"] == 1
    assert load_calibration(path) == calibration
    assert resolve_calibration(path) == calibration


def test_blank_photo_is_refused_naming_the_file(tmp_path):
    import cv2

    path = tmp_path / "blank.png"
    cv2.imwrite(str(path), np.full((200, 300), 200, np.uint8))
    with pytest.raises(CalibrationError, match=r"blank\.png: found \d+ ruled lines"):
        calibrate_micrometer(path)


def test_bad_profiles_are_named(tmp_path):
    with pytest.raises(
        CalibrationError, match=r"missing\.json: no such calibration file; to calibrate"
    ):
        load_calibration(tmp_path / "missing.json")
    (tmp_path / "text.json").write_text("not json")
    with pytest.raises(CalibrationError, match=r"text\.json: not a calibration profile"):
        load_calibration(tmp_path / "text.json")
    (tmp_path / "other.json").write_text('{"format": "something else"}')
    with pytest.raises(CalibrationError, match=r"other\.json: not a calibration profile"):
        load_calibration(tmp_path / "other.json")


def test_scales_given_directly():
    assert Calibration.from_px_per_mm(20).um_per_px == 50.0
    assert resolve_calibration(um_per_px=0.5).px_per_mm == 2000.0
    assert resolve_calibration() is None
    with pytest.raises(CalibrationError, match="positive"):
        Calibration.from_um_per_px(0)
    with pytest.raises(CalibrationError, match="give one calibration"):
        resolve_calibration(um_per_px=0.5, px_per_mm=10)
