"""Shared fixtures: a tiny hand-built bundle whose behaviour is known in advance, and a tiny
dataset of fibre-like strips for training runs."""

from __future__ import annotations

import os
from pathlib import Path

import cv2
import numpy as np
import pytest
from hypothesis import settings

from craftvision.models.bundle import BundleMetadata, write_bundle
from craftvision.preprocess import PreprocessSpec

# The tests' models are tiny: one thread per process (and per subprocess, which inherits it) is
# as fast, and keeps the suite from thrashing when the machine is busy.
os.environ.setdefault("OMP_NUM_THREADS", "1")

# Property tests draw fresh examples on every local run, to keep finding new failing cases;
# under CI they draw the same ones each time, so a red build is the change's doing.
settings.register_profile("ci", derandomize=True, print_blob=True)
if os.environ.get("CI"):
    settings.load_profile("ci")


def make_brightness_bundle(path: Path, *, gain: float = 4.0, threshold: float = 0.8) -> Path:
    """A two-class bundle: logits = ±gain·mean(input), so bright images are 'genuine'.

    With ImageNet normalisation a white image has a positive mean and a black one a negative
    mean, which makes verdicts predictable without any training.
    """
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    weight = numpy_helper.from_array(np.array([[gain, -gain]], np.float32), "weight")
    nodes = [
        helper.make_node("ReduceMean", ["input"], ["pooled"], axes=[1, 2, 3], keepdims=1),
        helper.make_node("Flatten", ["pooled"], ["flat"], axis=1),
        helper.make_node("MatMul", ["flat", "weight"], ["logits"]),
    ]
    graph = helper.make_graph(
        nodes,
        "brightness",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["batch", 3, 32, 32])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["batch", 2])],
        initializer=[weight],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    metadata = BundleMetadata(
        name="brightness",
        modality="fibre",
        classes=("pashmina", "wool"),
        genuine_class="pashmina",
        preprocess=PreprocessSpec(input_size=32),
        architecture="hand-built",
        threshold=threshold,
    )
    return write_bundle(model, metadata, path)


@pytest.fixture
def brightness_bundle(tmp_path: Path) -> Path:
    """Path of a fresh brightness bundle (see :func:`make_brightness_bundle`)."""
    return make_brightness_bundle(tmp_path / "brightness.onnx")


def _strip(rng: np.random.Generator, label: str) -> np.ndarray:
    image = np.full((40, 100), 220, np.uint8)
    image[14:26] = 90  # a fibre band
    if label == "wool":  # close, dark scale margins
        for x in range(int(rng.integers(0, 6)), 100, 6):
            image[14:26, x] = 40
    image = image.astype(np.int16) + rng.normal(0, 6, image.shape).astype(np.int16)
    return np.clip(image, 0, 255).astype(np.uint8)


def make_strip_dataset(root: Path, *, samples: int, shots: int) -> Path:
    """``samples`` physical samples (pashmina and wool in turn), ``shots`` 100x40 photos each,
    with a ``manifest.csv`` that groups them by ``sample_id``."""
    rng = np.random.default_rng(0)
    rows = ["path,label,sample_id,modality,um_per_px"]
    for sample in range(samples):
        label = ("pashmina", "wool")[sample % 2]
        (root / label).mkdir(exist_ok=True)
        for shot in range(shots):
            name = f"{label}/s{sample}_{shot}.png"
            cv2.imwrite(str(root / name), _strip(rng, label))
            rows.append(f"{name},{label},sample-{sample},fibre,0.5")
    (root / "manifest.csv").write_text("\n".join(rows) + "\n")
    return root


@pytest.fixture(scope="session")
def strip_dataset_maker():
    """:func:`make_strip_dataset`, for tests that need a dataset of their own size."""
    return make_strip_dataset


def make_bright_dark_dataset(root: Path, *, samples: int = 16, shots: int = 3) -> Path:
    """``DIR/<class>/<sample>/*.png``: bright 'pashmina' and dark 'wool' 48x24 photos, which a
    model tells apart after one epoch even through the fibre augmentations."""
    rng = np.random.default_rng(1)
    for sample in range(samples):
        label = ("pashmina", "wool")[sample % 2]
        folder = root / label / f"s{sample:02d}"
        folder.mkdir(parents=True)
        for shot in range(shots):
            level = 200 if label == "pashmina" else 70
            image = level + rng.normal(0, 8, (24, 48))
            cv2.imwrite(str(folder / f"{shot}.png"), np.clip(image, 0, 255).astype(np.uint8))
    return root


@pytest.fixture(scope="session")
def bright_dark_dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 48-photo dataset (see :func:`make_bright_dark_dataset`)."""
    return make_bright_dark_dataset(tmp_path_factory.mktemp("bright_dark"))


def train_tiny(data: Path, out: Path):
    """Train 2 epochs at 32 px on ``data`` into ``out`` (a quarter each for val and test)."""
    from craftvision.training.trainer import TrainConfig, train

    config = TrainConfig(
        data=str(data),
        out=str(out),
        epochs=2,
        image_size=32,
        batch_size=8,
        workers=0,
        seed=0,
        val_fraction=0.25,
        test_fraction=0.25,
    )
    return train(config)


@pytest.fixture(scope="session")
def tiny_run(bright_dark_dataset: Path, tmp_path_factory: pytest.TempPathFactory):
    """A finished 2-epoch training run on :func:`bright_dark_dataset` (32 px input), shared by
    the evaluate, export and explain tests; returns the trainer's ``TrainResult``."""
    return train_tiny(bright_dark_dataset, tmp_path_factory.mktemp("tiny_run"))
