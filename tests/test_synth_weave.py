"""Tests of the procedural weave renderer (Kani hand-woven vs jacquard and power-loom)."""

from __future__ import annotations

import csv
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from craftvision.datasets import synth
from craftvision.datasets.synth import _jit, imaging, weave
from craftvision.datasets.synth.weave import (
    CLASSES,
    KINDS,
    TRUTH_COLUMNS,
    WEAVES,
    draw_construction,
    render_sample,
    render_weave,
)
from craftvision.errors import ConfigError


def _gray(img: np.ndarray) -> np.ndarray:
    return (img if img.ndim == 2 else cv2.cvtColor(img, cv2.COLOR_RGB2GRAY)).astype(np.float32)


def _threads_per_cm(img: np.ndarray, across_deg: float, px_per_mm: float) -> float:
    """Thread density from the strongest 2-D FFT peak within 6° of the direction ``across_deg``."""
    gray = _gray(img)
    n = gray.shape[0]
    window = np.hanning(n).astype(np.float32)
    spectrum = np.abs(np.fft.fft2((gray - gray.mean()) * np.outer(window, window)))
    fy, fx = np.meshgrid(np.fft.fftfreq(n), np.fft.fftfreq(n), indexing="ij")
    radius = np.hypot(fx, fy)
    angle = np.degrees(np.arctan2(fy, fx)) % 180
    off = np.abs((angle - across_deg + 90) % 180 - 90)
    spectrum[(off > 6) | (radius < 1 / 30)] = 0
    return float(radius.ravel()[np.argmax(spectrum)] * 10 * px_per_mm)


def test_constants_describe_the_classes() -> None:
    assert CLASSES == ("kani_handwoven", "jacquard_machine", "powerloom")
    assert weave.GENUINE_CLASS == "kani_handwoven"
    assert set(KINDS) == set(CLASSES)
    needed = {"px_per_mm", "threads_per_cm_warp", "threads_per_cm_weft", "spacing_cv"}
    assert needed | {"weave", "kind"} <= set(TRUTH_COLUMNS)


@pytest.mark.parametrize("label", CLASSES)
def test_images_and_truth_are_well_formed(label: str) -> None:
    shots = render_sample(np.random.default_rng(4), label, 3, size=96)
    assert len(shots) == 3
    for img, truth in shots:
        assert img.dtype == np.uint8 and img.shape[:2] == (96, 96)
        assert img.ndim == 2 or img.shape[2] == 3
        assert 20 < float(img.mean()) < 235 and img.std() > 5
        assert set(TRUTH_COLUMNS) <= set(truth)
        assert truth["label"] == label and truth["kind"] in KINDS[label]
        assert truth["weave"] in WEAVES
        assert 5.0 <= truth["px_per_mm"] <= 50.0
        assert truth["um_per_px"] == pytest.approx(1000 / truth["px_per_mm"], rel=1e-5)
        assert float(f"{truth['um_per_px']:.6g}") == truth["um_per_px"]
        for key in ("threads_per_cm_warp", "threads_per_cm_weft"):
            assert 8.0 <= truth[key] <= 40.0
        pitch = 10 * truth["px_per_mm"] / max(truth["threads_per_cm_warp"], 1)
        assert pitch >= 4.5
        assert 0 <= truth["angle_deg"] < 180


def test_same_seed_same_images() -> None:
    one = render_sample(np.random.default_rng(7), "kani_handwoven", 2, size=64)
    two = render_sample(np.random.default_rng(7), "kani_handwoven", 2, size=64)
    for (a, ta), (b, tb) in zip(one, two, strict=True):
        assert np.array_equal(a, b) and ta == tb
    other = render_sample(np.random.default_rng(8), "kani_handwoven", 2, size=64)
    assert not np.array_equal(one[0][0], other[0][0])


@pytest.mark.parametrize(
    "bits", [np.random.PCG64, np.random.PCG64DXSM, np.random.MT19937], ids=lambda b: b.__name__
)
@pytest.mark.parametrize("shape", [(3, 16, 16), (16, 16), (3, 5, 7)])
def test_noise_bytes_are_those_of_rng_bytes(bits, shape) -> None:
    # Read from the raw stream where that is exact; the bytes and the state after must match.
    for warm in (0, 1):  # with and without a pending 32-bit half word
        plain, fast = np.random.Generator(bits(3)), np.random.Generator(bits(3))
        for rng in (plain, fast):
            rng.integers(0, 2**32, size=warm, dtype=np.uint32)
        expected = np.frombuffer(plain.bytes(2 * int(np.prod(shape))), np.uint8)
        assert np.array_equal(imaging._noise_bytes(fast, shape).ravel(), expected)
        assert np.array_equal(plain.integers(0, 2**32, 9), fast.integers(0, 2**32, 9))


@pytest.mark.parametrize("shape", [(3, 16, 16), (16, 16)])
def test_camera_stage_plane_by_plane_matches_the_whole_image_steps(shape) -> None:
    img = np.random.default_rng(0).uniform(-5, 260, shape).astype(np.float32)
    steps, fused = np.random.default_rng(3), np.random.default_rng(3)
    noisy = imaging.sensor_noise(steps, imaging.defocus(img, 0.8), shot=0.3, read=2.0)
    got = imaging.develop(fused, img, blur=0.8, shot=0.3, read=2.0)
    assert np.array_equal(got, imaging.quantise(noisy))
    assert steps.random() == fused.random()


def test_images_of_a_sample_share_its_construction() -> None:
    rng = np.random.default_rng(11)
    for label in CLASSES:
        shots = render_sample(rng, label, 3, size=64)
        for key in ("px_per_mm", "threads_per_cm_warp", "threads_per_cm_weft", "weave", "kind"):
            assert len({t[key] for _, t in shots}) == 1, (label, key)
        assert len({t["angle_deg"] for _, t in shots}) == 3
        assert not np.array_equal(shots[0][0], shots[1][0])


def test_hand_irregularity_is_far_above_machine_regularity() -> None:
    rng = np.random.default_rng(3)
    cv: dict[str, list[float]] = {label: [] for label in CLASSES}
    thickness: dict[str, list[float]] = {label: [] for label in CLASSES}
    floats: dict[str, set[int]] = {label: set() for label in CLASSES}
    for label in CLASSES:
        for _ in range(6):
            _, truth = render_weave(rng, label, px_per_mm=15.0, size=64)
            cv[label].append(truth["spacing_cv"])
            thickness[label].append(truth["thickness_cv"])
            floats[label].add(truth["float_max"])
    assert min(cv["kani_handwoven"]) > 0.06
    assert max(cv["jacquard_machine"] + cv["powerloom"]) < 0.03
    assert min(thickness["kani_handwoven"]) > 0.07
    assert max(thickness["jacquard_machine"] + thickness["powerloom"]) < 0.03
    assert floats["kani_handwoven"] == {2}
    assert min(floats["jacquard_machine"]) >= 4


@pytest.mark.parametrize("label", ["powerloom", "jacquard_machine"])
def test_fft_thread_density_matches_truth(label: str) -> None:
    rng = np.random.default_rng(21)
    for _ in range(3):
        img, truth = render_weave(rng, label, px_per_mm=20.0)
        warp = _threads_per_cm(img, (truth["angle_deg"] + 90) % 180, 20.0)
        weft = _threads_per_cm(img, truth["angle_deg"], 20.0)
        assert warp == pytest.approx(truth["threads_per_cm_warp"], rel=0.1)
        assert weft == pytest.approx(truth["threads_per_cm_weft"], rel=0.1)


def test_machine_cloth_repeats_exactly() -> None:
    rng = np.random.default_rng(5)
    c = draw_construction(rng, "jacquard_machine", px_per_mm=20.0, kind="jacquard_brocade")
    assert c.motif is not None and c.spacing_cv < 0.03
    rows, cols = c.motif.shape
    span = (0.0, 4 * cols * 20.0)
    warps = weave._threads(rng, span, span, 20.0, 0.9, c, cv=c.spacing_cv, period=cols)
    gaps = np.diff(warps.centres)
    assert np.allclose(gaps[cols:], gaps[:-cols], atol=1e-3)
    wefts = weave._threads(rng, span, span, 20.0, 0.9, c, cv=c.spacing_cv, period=rows)
    top, _, colour = weave._cells(rng, c, warps, wefts)
    assert np.array_equal(top[rows:], top[:-rows]) and np.array_equal(top[:, cols:], top[:, :-cols])
    assert np.array_equal(colour[rows:], colour[:-rows])
    assert set(np.unique(c.motif)) == set(range(len(c.colours)))
    damask = draw_construction(rng, "jacquard_machine", px_per_mm=20.0, kind="jacquard_damask")
    assert len(damask.colours) == 1 and set(np.unique(damask.motif)) == {0, 1}


def test_dataset_writer_renders_weave(tmp_path: Path) -> None:
    manifest = synth.render_dataset("weave", 9, tmp_path, seed=2, workers=1, size=64)
    with manifest.open(newline="") as f:
        rows = list(csv.DictReader(f))
    assert list(rows[0]) == [*synth.BASE_COLUMNS, *TRUTH_COLUMNS]
    assert {label: sum(r["label"] == label for r in rows) for label in CLASSES} == dict.fromkeys(
        CLASSES, 3
    )
    for row in rows:
        assert (tmp_path / row["path"]).is_file()
        assert float(row["um_per_px"]) == pytest.approx(1000 / float(row["px_per_mm"]), rel=1e-5)
        assert row["kind"] in KINDS[row["label"]]
    with pytest.raises(ValueError, match="px_per_mm"):
        synth.render_dataset("weave", 3, tmp_path / "bad", px_per_mn=10.0)


def test_bad_arguments_are_refused() -> None:
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match="kani_handwoven"):
        render_weave(rng, "handloom", px_per_mm=10.0)
    with pytest.raises(ValueError, match="kind"):
        draw_construction(rng, "powerloom", px_per_mm=10.0, kind="jacquard_damask")
    with pytest.raises(ValueError, match="px_per_mm"):
        render_weave(rng, "powerloom", px_per_mm=0.0)
    with pytest.raises(ValueError, match="size"):
        render_weave(rng, "powerloom", px_per_mm=10.0, size=16)
    construction = draw_construction(rng, "powerloom", px_per_mm=10.0)
    with pytest.raises(ValueError, match="construction"):
        render_weave(rng, "kani_handwoven", px_per_mm=10.0, construction=construction)


def test_rendering_without_numba_names_the_renderer_and_the_extra(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "numba", None)  # ``import numba`` raises ImportError
    _jit.compiled.cache_clear()
    try:
        with pytest.raises(
            ConfigError, match=r"weave images .* pip install 'craftvision\[synth\]'"
        ):
            render_weave(np.random.default_rng(0), "powerloom", px_per_mm=12.0, size=64)
    finally:
        _jit.compiled.cache_clear()
