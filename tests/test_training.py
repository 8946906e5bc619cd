"""End-to-end training on a tiny dataset of 100x40 strips with several photos per sample."""

import json

import cv2
import numpy as np
import pytest
import torch
from conftest import train_tiny

from craftvision import Inspector
from craftvision.datasets import load_manifest, split_by_sample
from craftvision.models.bundle import read_metadata

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")


@pytest.fixture(scope="module")
def strip_dataset(tmp_path_factory, strip_dataset_maker):
    return strip_dataset_maker(tmp_path_factory.mktemp("strips"), samples=16, shots=3)


@pytest.fixture(scope="module")
def trained_run(strip_dataset, tmp_path_factory):
    return train_tiny(strip_dataset, tmp_path_factory.mktemp("run"))


def test_split_has_no_shared_sample(strip_dataset):
    splits = split_by_sample(
        load_manifest(strip_dataset).records, val_fraction=0.25, test_fraction=0.25, seed=0
    )
    groups = [{r.sample_id for r in part} for part in (splits.train, splits.val, splits.test)]
    assert all(groups)
    assert not (groups[0] & groups[1] or groups[0] & groups[2] or groups[1] & groups[2])


def test_run_folder_has_everything(trained_run):
    run = trained_run.run_dir
    for name in (
        "best.ckpt",
        "last.ckpt",
        "metrics.json",
        "confusion_matrix.png",
        "model.onnx",
        "model.md",
        "history.csv",
        "config.yaml",
    ):
        assert (run / name).is_file(), name
    metrics = json.loads((run / "metrics.json").read_text())
    assert {"accuracy", "balanced_accuracy", "roc_auc", "per_class", "confusion_matrix"} <= set(
        metrics
    )
    state = torch.load(run / "last.ckpt", weights_only=True)
    assert state["epoch"] == 2 and state["classes"] == ["pashmina", "wool"]
    assert "optimizer" in state and "scheduler" in state
    assert len(trained_run.history) == 2


def test_bundle_is_self_describing_and_matches_torch(trained_run, strip_dataset):
    meta = read_metadata(trained_run.bundle)
    assert meta.classes == ("pashmina", "wool") and meta.genuine_class == "pashmina"
    assert meta.preprocess.input_size == 32 and meta.temperature == trained_run.temperature
    assert meta.metrics["balanced_accuracy"] == trained_run.metrics["balanced_accuracy"]
    assert len(meta.data_fingerprint) == 64 and len(meta.weights_sha256) == 64

    from craftvision.models.factory import create_model

    state = torch.load(trained_run.run_dir / "best.ckpt", weights_only=True)
    net = create_model(state["architecture"], num_classes=2).eval()
    net.load_state_dict(state["model"])
    files = sorted(strip_dataset.rglob("*.png"))[:5]
    results = Inspector(trained_run.bundle).predict(files)
    batch = np.stack([meta.preprocess(cv2.imread(str(f))[:, :, ::-1]) for f in files])
    with torch.inference_mode():
        expected = torch.softmax(net(torch.from_numpy(batch)) / meta.temperature, dim=1).numpy()
    for result, probs in zip(results, expected, strict=True):
        assert result.path.endswith(".png")
        np.testing.assert_allclose(list(result.probabilities.values()), probs, atol=1e-4)
    assert "Retrain" not in (trained_run.run_dir / "model.md").read_text()


def test_ood_guard_makes_strange_images_inconclusive(trained_run, strip_dataset):
    from craftvision import Verdict

    inspector = Inspector(trained_run.bundle)
    own = inspector.predict(sorted(strip_dataset.rglob("*.png")))
    assert np.mean([p.out_of_distribution for p in own]) <= 0.1
    rng = np.random.default_rng(5)
    y, x = np.mgrid[0:96, 0:96]
    strangers = [
        rng.integers(0, 256, (96, 96, 3), dtype=np.uint8),  # sensor noise
        (((x // 12 + y // 12) % 2) * 255).astype(np.uint8),  # a checkerboard test chart
        np.dstack([x * 2, y * 2, 255 - x - y]).astype(np.uint8),  # a colourful gradient
    ]
    for result in inspector.predict(strangers):
        assert result.out_of_distribution and result.verdict is Verdict.INCONCLUSIVE
        assert result.ood_score > read_metadata(trained_run.bundle).ood_threshold


def test_model_card_lists_the_stages_a_fine_tuned_model_went_through(trained_run, tmp_path):
    from dataclasses import replace

    from craftvision.training.card import render_model_card, training_stages
    from craftvision.training.trainer import TrainConfig

    first = TrainConfig.from_yaml(trained_run.run_dir / "config.yaml")
    second = replace(first, pretrained=str(trained_run.run_dir / "best.ckpt"), epochs=5, lr=1e-4)
    stages = training_stages(second)
    assert [(s["data"], s["image_size"], s["epochs"], s["lr"]) for s in stages] == [
        (first.data, 32, 2, first.lr),
        (first.data, 32, 5, 1e-4),
    ]
    card = render_model_card(read_metadata(trained_run.bundle), {}, stages)
    assert "Trained in 2 stages" in card and "| 2 |" in card
    assert "Training stages" not in render_model_card(read_metadata(trained_run.bundle), {}, [])

    plain_weights = tmp_path / "timm.pth"
    torch.save({"conv.weight": torch.zeros(1)}, plain_weights)
    stages = training_stages(replace(first, pretrained=str(plain_weights)))
    assert stages[0] == {"weights": str(plain_weights)} and len(stages) == 2
