"""craftvision.measure under bad input and under changes that must not change a measurement.

Skipped where ``craftvision.measure`` is not installed yet.
"""

from __future__ import annotations

import faulthandler

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

pytest.importorskip("craftvision.measure")

from bad_inputs import build_corpus, measure_problems

from craftvision.datasets.synth.fibre import render_fibre
from craftvision.measure import Calibration, measure_fibres


def test_measurements_read_or_name_every_input(tmp_path):
    faulthandler.dump_traceback_later(300, exit=True)  # a hang ends the run with tracebacks
    try:
        assert measure_problems(build_corpus(tmp_path)) == {}
    finally:
        faulthandler.cancel_dump_traceback_later()


POSES = {
    "rotated 180°": lambda image: image[::-1, ::-1],
    "mirrored": lambda image: image[:, ::-1],
    "rotated 90°": np.rot90,
}


@settings(max_examples=8, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    label=st.sampled_from(["pashmina", "wool", "synthetic", "other_animal"]),
    pose=st.sampled_from(sorted(POSES)),
    gain=st.floats(0.5, 1.0),
)
def test_fibre_diameter_does_not_depend_on_pose_or_light(seed, label, pose, gain):
    image, _ = render_fibre(np.random.default_rng(seed), label, um_per_px=0.5, layout="strip")
    calibration = Calibration.from_um_per_px(0.5)
    reference = measure_fibres(image, calibration)
    assume(reference.n_fibres == 1)  # a strip holds one fibre
    moved = np.ascontiguousarray(POSES[pose](image) * gain).astype(np.uint8)
    result = measure_fibres(moved, calibration)
    assert result.n_fibres == 1
    assert result.mean_diameter_um == pytest.approx(reference.mean_diameter_um, rel=0.02)


def test_mirrored_strip_keeps_its_fibre() -> None:
    """Found by the property test above: traced from the mirrored seed, the fibre's last point
    was re-centred a hair past the left border, and the end of the trace was then put where
    the ray met the top edge, thousands of px away, so too few of its sections were clean."""
    image, _ = render_fibre(np.random.default_rng(651), "synthetic", um_per_px=0.5, layout="strip")
    calibration = Calibration.from_um_per_px(0.5)
    reference = measure_fibres(image, calibration)
    mirrored = measure_fibres(np.ascontiguousarray(image[:, ::-1]), calibration)
    assert reference.n_fibres == mirrored.n_fibres == 1
    assert mirrored.mean_diameter_um == pytest.approx(reference.mean_diameter_um, rel=0.02)
    assert mirrored.fibres[0].length_px == pytest.approx(reference.fibres[0].length_px, abs=2)


@pytest.mark.parametrize(
    ("seed", "label"),
    [
        pytest.param(125, "synthetic", id="arc of an air-bubble ring"),
        pytest.param(2167, "other_animal", id="pale fibre with a dark medulla"),
    ],
)
def test_strips_the_property_test_found_read_one_fibre_both_ways(seed: int, label: str) -> None:
    """Found by the property test above, each read differently when mirrored:

    - part of an air-bubble ring, cut off by the strip's edge and by the fibre it crosses,
      turns only 67°, short of the turn that rejects a whole ring, and was taken for a second,
      5.6 µm fibre;
    - a pale fibre's first seed had its axis tilted by an air-bubble ring, and settling on its
      edges with a wide window caught the edges of its dark ladder medulla (22 px of 35), so
      the fibre was traced too narrow and rejected.
    """
    image, truth = render_fibre(np.random.default_rng(seed), label, um_per_px=0.5, layout="strip")
    calibration = Calibration.from_um_per_px(0.5)
    for shown in (image, np.ascontiguousarray(image[:, ::-1])):
        result = measure_fibres(shown, calibration)
        assert result.n_fibres == 1
        assert result.mean_diameter_um == pytest.approx(truth["diameter_um"], abs=0.5)
