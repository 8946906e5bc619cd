"""Export a trained classifier as a craftvision bundle, refusing it unless onnxruntime agrees
with torch (max |Δ probability| ≤ 1e-4 on real inputs, at batch 1 and batch 32).

Example:
    >>> report = export_bundle(net, metadata, "model.onnx", parity_inputs)   # doctest: +SKIP
    >>> report.max_abs_diff < 1e-4                                           # doctest: +SKIP
    True
"""

from __future__ import annotations

import io
import os
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import torch

from craftvision.errors import CraftvisionError
from craftvision.inspector import softmax
from craftvision.models.bundle import BundleMetadata, load_bundle, write_bundle

PARITY_TOLERANCE = 1e-4
PARITY_BATCH_SIZES = (1, 32)


@dataclass(frozen=True)
class ExportReport:
    """Where the bundle went and how closely it matches the torch model."""

    path: Path
    max_abs_diff: float
    batch_sizes: tuple[int, ...]
    size_bytes: int


def _torch_outputs(model: torch.nn.Module, batch: np.ndarray) -> tuple[np.ndarray, ...]:
    with torch.inference_mode():
        outputs = model(torch.from_numpy(batch))
    outputs = outputs if isinstance(outputs, tuple) else (outputs,)
    return tuple(o.numpy() for o in outputs)


def _onnx_bytes(
    model: torch.nn.Module, example: torch.Tensor, output_names: list[str], opset: int
) -> bytes:
    buffer = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            model,
            (example,),
            buffer,
            input_names=["input"],
            output_names=output_names,
            dynamic_axes={name: {0: "batch"} for name in ["input", *output_names]},
            opset_version=opset,
            dynamo=False,
        )
    return buffer.getvalue()


def export_bundle(
    model: torch.nn.Module,
    metadata: BundleMetadata,
    path: str | os.PathLike,
    parity_inputs: np.ndarray,
    *,
    opset: int = 17,
) -> ExportReport:
    """Write ``model`` with ``metadata`` to ``path`` (atomically) after the parity check.

    ``parity_inputs`` are preprocessed real images (N, C, S, S); they are repeated as needed to
    fill each checked batch size. A model returning ``(logits, ood_score)`` (a
    :class:`~craftvision.training.ood.GuardedClassifier`) exports both outputs, and its scores
    must agree to a relative 1e-3.
    """
    model = model.eval().to("cpu")
    inputs = np.ascontiguousarray(parity_inputs, np.float32)
    guarded = len(_torch_outputs(model, inputs[:1])) == 2
    names = ["logits", "ood_score"] if guarded else ["logits"]
    onnx_bytes = _onnx_bytes(model, torch.from_numpy(inputs[:1]), names, opset)
    session = ort.InferenceSession(onnx_bytes, providers=["CPUExecutionProvider"])
    worst = 0.0
    for batch_size in PARITY_BATCH_SIZES:
        batch = np.resize(inputs, (batch_size, *inputs.shape[1:]))
        expected = _torch_outputs(model, batch)
        actual = session.run(None, {"input": batch})
        probs = softmax(expected[0], metadata.temperature)
        worst = max(worst, float(np.abs(softmax(actual[0], metadata.temperature) - probs).max()))
        if guarded and not np.allclose(actual[1], expected[1], rtol=1e-3, atol=1e-3):
            raise CraftvisionError(
                "ONNX export disagrees with the torch model on ood_score; "
                "the bundle was not written"
            )
    if worst > PARITY_TOLERANCE:
        raise CraftvisionError(
            f"ONNX export disagrees with the torch model (max |Δp| = {worst:.2e} > "
            f"{PARITY_TOLERANCE:.0e}); the bundle was not written"
        )
    target = write_bundle(onnx.load_from_string(onnx_bytes), metadata, path)
    load_bundle(target)
    return ExportReport(
        path=target,
        max_abs_diff=worst,
        batch_sizes=PARITY_BATCH_SIZES,
        size_bytes=target.stat().st_size,
    )
