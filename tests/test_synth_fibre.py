"""Tests of the fibre renderer and the synthetic dataset writer."""

from __future__ import annotations

import csv
from pathlib import Path

import cv2
import numpy as np
import pytest

from craftvision.datasets.synth import RENDERERS, render_dataset
from craftvision.datasets.synth.fibre import (
    CLASSES,
    KINDS,
    TRUTH_COLUMNS,
    draw_population,
    render_fibre,
)


def _rows(manifest: Path) -> list[dict[str, str]]:
    with manifest.open(newline="") as f:
        return list(csv.DictReader(f))


@pytest.fixture(scope="module")
def small_set(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("fibre")
    return render_dataset("fibre", 24, out, seed=5, workers=1, size=128)


def test_registry_describes_fibre() -> None:
    renderer = RENDERERS["fibre"]
    assert renderer.classes == CLASSES
    assert renderer.genuine_class == "pashmina"
    assert renderer.truth_columns == TRUTH_COLUMNS


def test_same_seed_same_bytes_for_any_worker_count(tmp_path: Path) -> None:
    done: list[int] = []
    one = render_dataset("fibre", 12, tmp_path / "a", seed=3, workers=1, size=96)
    two = render_dataset(
        "fibre", 12, tmp_path / "b", seed=3, workers=2, size=96, progress=done.append
    )
    assert sum(done) == 12
    assert one.read_bytes() == two.read_bytes()
    for row in _rows(one):
        assert (one.parent / row["path"]).read_bytes() == (two.parent / row["path"]).read_bytes()
    other = render_dataset("fibre", 12, tmp_path / "c", seed=4, workers=1, size=96)
    assert other.read_bytes() != one.read_bytes()


def test_manifest_columns_and_relative_paths(small_set: Path) -> None:
    with small_set.open(newline="") as f:
        header = next(csv.reader(f))
    assert header == ["path", "label", "sample_id", "modality", "um_per_px", *TRUTH_COLUMNS]
    rows = _rows(small_set)
    assert len(rows) == 24
    for row in rows:
        rel = Path(row["path"])
        assert not rel.is_absolute() and "\\" not in row["path"]
        assert rel.parts[0] == row["label"]
        assert (small_set.parent / rel).is_file()
        assert 0.25 <= float(row["um_per_px"]) <= 1.0
        assert row["fibre_kind"] in KINDS[row["label"]]
        assert int(row["n_fibres"]) >= 1
    assert not list(small_set.parent.glob("*.tmp"))


def test_classes_balanced_and_samples_hold_one_population(small_set: Path) -> None:
    rows = _rows(small_set)
    counts = {label: sum(r["label"] == label for r in rows) for label in CLASSES}
    assert counts == dict.fromkeys(CLASSES, 6)
    samples: dict[str, list[dict[str, str]]] = {}
    for row in rows:
        samples.setdefault(row["sample_id"], []).append(row)
    assert len(samples) < len(rows)
    for members in samples.values():
        assert 1 <= len(members) <= 4
        for key in ("label", "fibre_kind", "um_per_px", "sample_diameter_um"):
            assert len({m[key] for m in members}) == 1, key


def test_both_layouts_and_file_kinds_appear(tmp_path: Path) -> None:
    rows = _rows(render_dataset("fibre", 40, tmp_path, seed=0, workers=1, size=64))
    assert {r["layout"] for r in rows} == {"field", "strip"}
    assert {Path(r["path"]).suffix for r in rows} == {".png", ".jpg"}
    channels = set()
    for row in rows:
        img = cv2.imread(str(tmp_path / row["path"]), cv2.IMREAD_UNCHANGED)
        assert img is not None and img.dtype == np.uint8
        channels.add(1 if img.ndim == 2 else img.shape[2])
        if row["layout"] == "field":
            assert img.shape[:2] == (64, 64)
        else:
            assert img.shape[1] > img.shape[0] >= 40
    assert channels == {1, 3}


def test_render_fibre_returns_sane_image() -> None:
    rng = np.random.default_rng(0)
    img, truth = render_fibre(rng, "wool", um_per_px=0.5, size=96, layout="field")
    assert img.dtype == np.uint8 and img.shape[:2] == (96, 96)
    assert img.ndim == 2 or img.shape[2] == 3
    assert 60 < float(img.mean()) < 250 and img.std() > 3
    assert set(TRUTH_COLUMNS) <= set(truth)
    assert truth["diameter_um"] == pytest.approx(np.mean(truth["diameters_um"]))


@pytest.mark.parametrize("um_per_px", [0.3, 0.8])
def test_strip_band_width_matches_true_diameter(um_per_px: float) -> None:
    rng = np.random.default_rng(1)
    pop = draw_population(rng, "pashmina")
    img, truth = render_fibre(rng, "pashmina", um_per_px=um_per_px, population=pop, layout="strip")
    gray = img if img.ndim == 2 else cv2.cvtColor(img, cv2.COLOR_RGB2GRAY)
    profile = np.median(gray.astype(np.float32), axis=1)
    background = np.median(np.r_[profile[:3], profile[-3:]])
    inside = profile < background - 0.5 * (background - profile.min())
    expected = truth["diameter_um"] / um_per_px
    assert abs(int(inside.sum()) - expected) <= max(2.0, 0.1 * expected)


def test_synthetics_have_no_scales_and_uniform_diameter() -> None:
    rng = np.random.default_rng(2)
    for _ in range(4):
        _, truth = render_fibre(rng, "synthetic", um_per_px=0.6, size=96)
        assert truth["scale_interval_um"] is None
        assert truth["fibre_kind"] in KINDS["synthetic"]
    pop = draw_population(rng, "synthetic")
    assert pop.diameter_sd_um / pop.diameter_um < 0.05
    pashmina = draw_population(rng, "pashmina")
    assert 14.0 <= pashmina.scale_interval_um <= 17.0
    _, truth = render_fibre(rng, "pashmina", um_per_px=0.6, size=96, population=pashmina)
    assert truth["scale_interval_um"] == pytest.approx(pashmina.scale_interval_um, rel=0.25)


def test_bad_arguments_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="fibre"):
        render_dataset("fibr", 4, tmp_path)
    with pytest.raises(ValueError, match="size"):
        render_dataset("fibre", 4, tmp_path, colour=True)
    with pytest.raises(ValueError, match="wool"):
        render_fibre(np.random.default_rng(0), "cotton", um_per_px=0.5)


def test_rendered_folder_says_how_it_was_rendered_and_its_model_card_warns(
    small_set: Path,
) -> None:
    from craftvision.datasets.synth import read_synth_record
    from craftvision.training.card import render_model_card
    from craftvision.training.finalize import load_run_data
    from craftvision.training.trainer import TrainConfig

    record = read_synth_record(small_set.parent)
    assert record is not None and record["modality"] == "fibre" and record["n"] == 24
    assert read_synth_record(small_set) == record  # the manifest's folder
    config = TrainConfig(val_fraction=0.25, test_fraction=0.25)
    run = load_run_data(config, str(small_set.parent), genuine_class="pashmina")
    assert run.summary()["synth"] == record
    photos = small_set.parent / "pashmina"
    assert read_synth_record(photos) is None  # no record: photographs, no warning
    assert "Trained on procedural renders" in render_model_card(_metadata(run), run.summary())


def _metadata(run):
    from craftvision.models.bundle import BundleMetadata

    return BundleMetadata("m", "fibre", run.classes, run.genuine_class, run.spec, "craftnet_s")
