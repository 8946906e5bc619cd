"""Export a trained classifier as a craftvision bundle, refusing it unless onnxruntime agrees
with torch (max |Δ probability| ≤ 1e-4 on real inputs, at batch 1 and batch 32); export a
training checkpoint the same way, optionally quantised to int8.

Example:
    >>> report = export_bundle(net, metadata, "model.onnx", parity_inputs)   # doctest: +SKIP
    >>> report.max_abs_diff < 1e-4                                           # doctest: +SKIP
    True
    >>> export_checkpoint("runs/fibre/best.ckpt", int8=True).int8.size_ratio  # doctest: +SKIP
    0.298
"""

from __future__ import annotations

import io
import os
import tempfile
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import onnxruntime as ort
import torch

from craftvision.atomic import atomic_write_text
from craftvision.errors import CraftvisionError, DatasetError
from craftvision.imageio import iter_image_files
from craftvision.inspector import softmax
from craftvision.models.bundle import BundleMetadata, load_bundle, read_metadata, write_bundle
from craftvision.preprocess import PreprocessSpec
from craftvision.training.card import render_model_card, training_stages
from craftvision.training.quantize import MAX_DROP, QuantizationReport, quantize_bundle

PARITY_TOLERANCE = 1e-4
PARITY_BATCH_SIZES = (1, 32)
DEFAULT_OPSET = 17
CALIBRATION_IMAGES = 256


@dataclass(frozen=True)
class ExportReport:
    """Where the bundle went and how closely it matches the torch model (for an int8 bundle:
    the float32 export it was quantised from), and the model card written beside it."""

    path: Path
    max_abs_diff: float
    batch_sizes: tuple[int, ...]
    size_bytes: int
    int8: QuantizationReport | None = None
    card: Path | None = None


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
    opset: int = DEFAULT_OPSET,
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


def _recorded_data(state: dict[str, Any], checkpoint: Path) -> str:
    """Where the checkpoint's run found its data (a recipe's renders live in the run folder)."""
    recorded = state["config"].get("data")
    location = Path(recorded) if recorded else checkpoint.parent / "data"
    if not location.exists():
        raise DatasetError(
            f"{checkpoint}: its training data ({location}) is not there; give the dataset "
            "with --data DIR"
        )
    return str(location)


def _inputs(spec: PreprocessSpec, paths: Sequence[str | os.PathLike]) -> np.ndarray:
    """Preprocessed images, as the bundle will see them."""
    return np.stack([spec.normalize(spec.read(path)) for path in paths])


def export_checkpoint(
    checkpoint: str | os.PathLike,
    path: str | os.PathLike | None = None,
    *,
    data: str | os.PathLike | None = None,
    opset: int = DEFAULT_OPSET,
    int8: bool = False,
    calib_data: str | os.PathLike | None = None,
    max_drop: float = MAX_DROP,
    force: bool = False,
    device: str = "cpu",
    test_time_augmentation: str | None = None,
) -> ExportReport:
    """Export a training checkpoint as a bundle, with its model card beside it (``.md``).

    The run's data (``data``, default: where the checkpoint's run found it) is split as in
    training to fit the calibration temperature and the OOD guard and to measure the test split,
    so the bundle of ``best.ckpt`` is the one the run wrote. ``int8`` quantises it (see
    :func:`~craftvision.training.quantize.quantize_bundle`), calibrated on up to 256 training
    images or on the images under ``calib_data``. ``path`` defaults to the checkpoint's name
    with ``.onnx`` (``.int8.onnx``). ``test_time_augmentation`` overrides the run's setting
    (see :mod:`craftvision.models.tta`).
    """
    # Imported here: the trainer imports this module, and these import the trainer.
    from craftvision.training.checkpoint import load_checkpoint
    from craftvision.training.finalize import bundle_metadata, finalize, load_run_data
    from craftvision.training.trainer import TrainConfig

    source = Path(checkpoint)
    target = Path(path) if path else source.with_suffix(".int8.onnx" if int8 else ".onnx")
    state, model = load_checkpoint(source, device=device)
    known = {f.name for f in fields(TrainConfig)}
    config = TrainConfig(**{k: v for k, v in state["config"].items() if k in known})
    if test_time_augmentation is not None:
        config = replace(config, test_time_augmentation=test_time_augmentation)
    run = load_run_data(
        config,
        str(data) if data else _recorded_data(state, source),
        genuine_class=state["genuine_class"],
        synth=None if data or config.data else config.synth,
    )
    if list(run.classes) != list(state["classes"]):
        raise DatasetError(
            f"{run.data}: classes {list(run.classes)} differ from the checkpoint's "
            f"{list(state['classes'])}; give the run's dataset with --data DIR"
        )
    final = finalize(
        model,
        run,
        batch_size=2 * config.batch_size,
        ood_guard=config.ood_guard,
        test_time_augmentation=config.test_time_augmentation,
    )
    metadata = bundle_metadata(config, run, final)
    exported = final.model.cpu()
    if not int8:
        report = export_bundle(exported, metadata, target, final.parity_inputs, opset=opset)
    else:
        test = run.splits.test or run.splits.val
        train = [r.path for r in run.splits.train]
        calibration = list(iter_image_files([calib_data])) if calib_data else train
        if not calibration:
            raise DatasetError(f"{calib_data}: no images to calibrate the int8 model on")
        step = max(1, len(calibration) // CALIBRATION_IMAGES)
        with tempfile.TemporaryDirectory() as tmp:
            fp32 = export_bundle(
                exported, metadata, Path(tmp) / "fp32.onnx", final.parity_inputs, opset=opset
            )
            quantized = quantize_bundle(
                fp32.path,
                target,
                _inputs(run.spec, calibration[::step][:CALIBRATION_IMAGES]),
                _inputs(run.spec, [r.path for r in test]),
                np.array([run.classes.index(r.label) for r in test]),
                max_drop=max_drop,
                force=force,
            )
        report = replace(fp32, path=target, size_bytes=quantized.int8_bytes, int8=quantized)
    card = render_model_card(read_metadata(target), run.summary(), training_stages(config))
    return replace(report, card=atomic_write_text(target.with_suffix(".md"), card))
