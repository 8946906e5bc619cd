"""Static int8 quantisation of a bundle with onnxruntime (QDQ format, per-channel int8 weights,
uint8 activations), checked on the test split before it is kept. Torch-free.

Activations are unsigned (U8S8): onnxruntime's x86 kernels multiply uint8 by int8 natively
(VPMADDUBSW, VNNI), and on a 2-core Xeon with VNNI the craftnet_s bundles ran 20-30 % faster
than with int8 activations (S8S8) at the same accuracy.

Convolutions and the classifier are quantised, with activation ranges calibrated on training
images; the out-of-distribution guard (the nodes that feed only ``ood_score``) stays float32 so
its distances keep their scale and the bundle's ``ood_threshold`` still applies. The int8 model
is refused when, on the test split, it loses more than ``max_drop`` of balanced accuracy or its
guard flags more than ``max_drop`` more images (a guard fitted on very few images can be thrown
by the quantised features). The metadata is carried over with the int8 model's own test
metrics, and the weights hash is recomputed.

Example:
    >>> report = quantize_bundle("m.onnx", "m.int8.onnx", calib, x_test, y_test)  # doctest: +SKIP
    >>> report.size_ratio <= 0.3, report.accuracy_drop <= 0.01                   # doctest: +SKIP
    (True, True)
"""

from __future__ import annotations

import logging
import os
import tempfile
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import onnx
from onnxruntime.quantization import (
    CalibrationDataReader,
    QuantFormat,
    QuantType,
    quantize_static,
)

from craftvision.errors import CraftvisionError
from craftvision.inspector import Inspector
from craftvision.models.bundle import write_bundle
from craftvision.training.metrics import classification_metrics

MAX_DROP = 0.01  # of balanced accuracy lost, or of test images newly flagged out of distribution
BATCH = 32


@dataclass(frozen=True)
class QuantizationReport:
    """Size and test-split accuracy of the int8 bundle against its float32 source."""

    path: Path
    fp32_bytes: int
    int8_bytes: int
    calibration_images: int
    test_images: int
    fp32_balanced_accuracy: float
    int8_balanced_accuracy: float
    max_probability_diff: float
    fp32_ood_flag_rate: float | None
    int8_ood_flag_rate: float | None

    @property
    def size_ratio(self) -> float:
        """int8 size as a fraction of the float32 size."""
        return self.int8_bytes / self.fp32_bytes

    @property
    def accuracy_drop(self) -> float:
        """Balanced accuracy lost by quantising (negative when it improves)."""
        return self.fp32_balanced_accuracy - self.int8_balanced_accuracy

    @property
    def ood_flag_rise(self) -> float:
        """Share of test images the guard flags in int8 but not in float32 terms (0 without
        a guard)."""
        if self.fp32_ood_flag_rate is None or self.int8_ood_flag_rate is None:
            return 0.0
        return self.int8_ood_flag_rate - self.fp32_ood_flag_rate

    def problems(self, max_drop: float = MAX_DROP) -> list[str]:
        """Why the int8 model is worse than allowed (empty when it is acceptable)."""
        found = []
        if self.accuracy_drop > max_drop:
            found.append(
                f"balanced accuracy {self.int8_balanced_accuracy:.2%} is "
                f"{100 * self.accuracy_drop:.2f} points below float32's "
                f"{self.fp32_balanced_accuracy:.2%}"
            )
        if self.ood_flag_rise > max_drop:
            found.append(
                f"the out-of-distribution guard flags {self.int8_ood_flag_rate:.2%} of them "
                f"instead of {self.fp32_ood_flag_rate:.2%}"
            )
        return found

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict with the derived ratio, drop and rise."""
        data = asdict(self)
        data["path"] = str(self.path)
        derived = ("size_ratio", "accuracy_drop", "ood_flag_rise")
        return {**data, **{name: getattr(self, name) for name in derived}}


def guard_only_nodes(model: onnx.ModelProto) -> list[str]:
    """Names of the nodes that feed ``ood_score`` but not ``logits`` (none without a guard)."""
    producers = {output: node for node in model.graph.node for output in node.output}

    def upstream(tensor: str) -> set[str]:
        seen: set[str] = set()
        stack = [tensor]
        while stack:
            node = producers.get(stack.pop())
            if node is not None and node.name not in seen:
                seen.add(node.name)
                stack.extend(node.input)
        return seen

    outputs = [o.name for o in model.graph.output]
    if "ood_score" not in outputs:
        return []
    return sorted(upstream("ood_score") - upstream(outputs[0]))


class _Batches(CalibrationDataReader):
    """Feeds preprocessed calibration images to onnxruntime's calibrator."""

    def __init__(self, inputs: np.ndarray) -> None:
        self._batches = iter(range(0, len(inputs), BATCH))
        self._inputs = inputs

    def get_next(self) -> dict[str, np.ndarray] | None:
        start = next(self._batches, None)
        return None if start is None else {"input": self._inputs[start : start + BATCH]}


def _scores(inspector: Inspector, inputs: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
    runs = [inspector.run(inputs[i : i + BATCH]) for i in range(0, len(inputs), BATCH)]
    ood = None if runs[0][1] is None else np.concatenate([r[1] for r in runs])
    return np.concatenate([r[0] for r in runs]), ood


def _flag_rate(inspector: Inspector, ood: np.ndarray | None) -> float | None:
    limit = inspector.metadata.ood_threshold
    return None if ood is None or limit is None else float((ood > limit).mean())


def quantize_bundle(
    source: str | os.PathLike,
    path: str | os.PathLike,
    calibration: np.ndarray,
    test_inputs: np.ndarray,
    test_targets: np.ndarray,
    *,
    max_drop: float = MAX_DROP,
    force: bool = False,
) -> QuantizationReport:
    """Quantise the bundle ``source`` to int8 and write it to ``path`` (atomically).

    ``calibration`` and ``test_inputs`` are preprocessed images (N, C, S, S); ``test_targets``
    their class indices. When the int8 model falls short on them (see
    :meth:`QuantizationReport.problems`), nothing is written and :class:`CraftvisionError` is
    raised, unless ``force``.
    """
    fp32 = Inspector(source)
    model = onnx.load(str(fp32.path))
    calibration = np.ascontiguousarray(calibration, np.float32)
    with tempfile.TemporaryDirectory() as tmp:
        quantized = Path(tmp) / "int8.onnx"
        root = logging.getLogger()
        level = root.level
        root.setLevel(logging.ERROR)  # onnxruntime logs advice on the root logger
        try:
            quantize_static(
                str(fp32.path),  # not the ModelProto: quantize_static rewrites it in place
                quantized,
                _Batches(calibration),
                quant_format=QuantFormat.QDQ,
                per_channel=True,
                activation_type=QuantType.QUInt8,
                weight_type=QuantType.QInt8,
                nodes_to_exclude=guard_only_nodes(model),
            )
        finally:
            root.setLevel(level)
        int8_model = onnx.load(str(quantized))
        candidate = Inspector(write_bundle(int8_model, fp32.metadata, Path(tmp) / "bundle.onnx"))
        expected, expected_ood = _scores(fp32, test_inputs)
        actual, actual_ood = _scores(candidate, test_inputs)
        meta = fp32.metadata
        before = classification_metrics(test_targets, expected, meta.classes, meta.genuine_class)
        after = classification_metrics(test_targets, actual, meta.classes, meta.genuine_class)
        after["ood_flag_rate"] = _flag_rate(candidate, actual_ood)
        report = QuantizationReport(
            path=Path(path),
            fp32_bytes=fp32.path.stat().st_size,
            int8_bytes=candidate.path.stat().st_size,
            calibration_images=len(calibration),
            test_images=len(test_targets),
            fp32_balanced_accuracy=before["balanced_accuracy"],
            int8_balanced_accuracy=after["balanced_accuracy"],
            max_probability_diff=float(np.abs(actual - expected).max()),
            fp32_ood_flag_rate=_flag_rate(fp32, expected_ood),
            int8_ood_flag_rate=after["ood_flag_rate"],
        )
        problems = report.problems(max_drop)
        if problems and not force:
            raise CraftvisionError(
                f"int8 model refused: on {report.test_images} test images "
                f"{'; '.join(problems)} (limit {100 * max_drop:.2f} points); nothing was "
                "written (--force keeps it anyway)"
            )
        metrics = {k: after[k] for k in meta.metrics if k in after}
        written = write_bundle(
            int8_model, replace(meta, metrics=metrics, weights_precision="int8"), path
        )
    return replace(report, int8_bytes=written.stat().st_size)
