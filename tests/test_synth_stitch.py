"""Tests of the embroidery (stitch) renderer and its use through the dataset writer."""

from __future__ import annotations

import csv
import sys
from pathlib import Path

import numpy as np
import pytest

from craftvision.datasets import synth
from craftvision.datasets.synth import _jit, stitch
from craftvision.datasets.synth.stitch import (
    CLASSES,
    STITCH_TYPES,
    TRUTH_COLUMNS,
    draw_construction,
    render_sample,
    render_stitch,
)
from craftvision.errors import ConfigError

REQUIRED = (
    "px_per_mm",
    "stitch_length_mm",
    "stitch_length_cv",
    "stitches_per_cm",
    "stitch_type",
    "kind",
)


def _render(label: str, seed: int, stitch_type: str, px_per_mm: float = 12.0) -> dict:
    rng = np.random.default_rng(seed)
    construction = draw_construction(rng, label, px_per_mm=px_per_mm, stitch_type=stitch_type)
    _, truth = render_stitch(rng, label, px_per_mm=px_per_mm, size=128, construction=construction)
    return truth


def test_contract_constants() -> None:
    assert CLASSES == ("sozni_hand", "machine_embroidery", "machine_chain")
    assert stitch.GENUINE_CLASS == "sozni_hand"
    assert set(REQUIRED) <= set(TRUTH_COLUMNS)
    assert len(set(TRUTH_COLUMNS)) == len(TRUTH_COLUMNS)


def test_same_seed_same_images() -> None:
    one = render_sample(np.random.default_rng(7), "sozni_hand", 2, size=96)
    two = render_sample(np.random.default_rng(7), "sozni_hand", 2, size=96)
    for (img_a, truth_a), (img_b, truth_b) in zip(one, two, strict=True):
        assert np.array_equal(img_a, img_b)
        assert truth_a == truth_b
    other = render_sample(np.random.default_rng(8), "sozni_hand", 2, size=96)
    assert not np.array_equal(one[0][0], other[0][0])


@pytest.mark.parametrize("label", CLASSES)
def test_images_and_truth_columns(label: str) -> None:
    shots = render_sample(np.random.default_rng(1), label, 3, size=96)
    assert len(shots) == 3
    for img, truth in shots:
        assert img.dtype == np.uint8
        assert img.shape in ((96, 96, 3), (96, 96))
        assert 10 < float(img.mean()) < 245 and float(img.std()) > 3
        assert set(TRUTH_COLUMNS) <= set(truth)
        assert truth["label"] == label
        assert truth["stitch_type"] in STITCH_TYPES[label]
        assert 5.0 <= truth["px_per_mm"] <= 50.0
        assert truth["um_per_px"] == pytest.approx(1000.0 / truth["px_per_mm"], rel=1e-9)
        assert truth["um_per_px"] == round(truth["um_per_px"], 2)
        assert truth["stitch_length_mm"] > 0 and truth["stitches_per_cm"] > 0


def test_samples_share_their_construction() -> None:
    shots = render_sample(np.random.default_rng(3), "machine_embroidery", 3, size=96)
    shared = ("stitch_type", "kind", "px_per_mm", "sample_stitch_length_mm", "thread_width_mm")
    for key in (*shared, "n_colours"):
        assert len({truth[key] for _, truth in shots}) == 1, key
    assert not np.array_equal(shots[0][0], shots[1][0])
    fixed = render_sample(np.random.default_rng(3), "machine_chain", 2, px_per_mm=20.0, size=64)
    assert {truth["px_per_mm"] for _, truth in fixed} == {20.0}


@pytest.mark.parametrize(
    ("label", "stitch_type"),
    [(label, kind) for label in CLASSES for kind in STITCH_TYPES[label]],
)
def test_length_regularity_by_class(label: str, stitch_type: str) -> None:
    for seed in range(3):
        truth = _render(label, seed, stitch_type)
        assert truth["stitch_type"] == stitch_type
        if label == "sozni_hand":
            assert 0.15 <= truth["stitch_length_cv"] <= 0.30
            assert truth["angle_sd_deg"] > 1.0
        else:
            assert truth["stitch_length_cv"] < 0.05
            assert truth["angle_sd_deg"] == 0.0


@pytest.mark.parametrize(
    ("label", "stitch_type", "per_length"),
    [
        ("machine_embroidery", "lock_fill", (0.98, 1.02)),
        ("machine_chain", "chain", (0.98, 1.02)),
        ("sozni_hand", "darn", (0.8, 1.0)),
        ("sozni_hand", "stem", (1.5, 2.4)),
    ],
)
def test_stitches_per_cm_follow_stitch_length(
    label: str, stitch_type: str, per_length: tuple[float, float]
) -> None:
    """Running rows: about 10 / length per cm (darn adds gaps; stem steps half a stitch)."""
    for seed in range(2):
        truth = _render(label, seed, stitch_type)
        ratio = truth["stitches_per_cm"] * truth["stitch_length_mm"] / 10.0
        assert per_length[0] <= ratio <= per_length[1]


def test_satin_counts_stitches_along_the_column() -> None:
    truth = _render("sozni_hand", 0, "satin")
    assert truth["stitches_per_cm"] == pytest.approx(10.0 / truth["spacing_mm"])
    assert truth["spacing_mm"] < truth["stitch_length_mm"]


def test_render_dataset_writes_a_stitch_manifest(tmp_path: Path) -> None:
    assert synth.RENDERERS["stitch"].render_sample is stitch.render_sample
    manifest = synth.render_dataset("stitch", 9, tmp_path, seed=2, workers=1, size=64)
    with manifest.open(newline="") as f:
        header = next(csv.reader(f))
        f.seek(0)
        rows = list(csv.DictReader(f))
    assert header == [*synth.BASE_COLUMNS, *TRUTH_COLUMNS]
    assert sorted(r["label"] for r in rows) == sorted(CLASSES * 3)
    for row in rows:
        assert (tmp_path / row["path"]).is_file()
        um_per_px = float(row["um_per_px"])
        assert um_per_px == round(um_per_px, 2)
        assert um_per_px * float(row["px_per_mm"]) == pytest.approx(1000.0, rel=1e-5)
        assert row["stitch_type"] in STITCH_TYPES[row["label"]]


def test_bad_arguments_are_refused() -> None:
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match="sozni_hand"):
        render_sample(rng, "crewel", 1)
    with pytest.raises(ValueError, match="lock_fill"):
        draw_construction(rng, "sozni_hand", stitch_type="lock_fill")
    with pytest.raises(ValueError, match="px_per_mm"):
        render_stitch(rng, "machine_chain", px_per_mm=0.0)
    with pytest.raises(ValueError, match="size"):
        render_stitch(rng, "machine_chain", px_per_mm=10.0, size=16)
    construction = draw_construction(rng, "machine_chain")
    with pytest.raises(ValueError, match="construction"):
        render_stitch(rng, "sozni_hand", px_per_mm=10.0, construction=construction)


def test_rendering_without_numba_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "numba", None)  # ``import numba`` raises ImportError
    _jit.compiled.cache_clear()
    try:
        with pytest.raises(ConfigError, match=r"pip install 'craftvision\[synth\]'"):
            render_stitch(np.random.default_rng(0), "sozni_hand", px_per_mm=12.0, size=64)
    finally:
        _jit.compiled.cache_clear()
