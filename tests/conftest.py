"""Shared fixtures: a tiny hand-built bundle whose behaviour is known in advance."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from craftvision.models.bundle import BundleMetadata, write_bundle
from craftvision.preprocess import PreprocessSpec


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
