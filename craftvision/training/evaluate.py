"""Evaluate a bundle or a checkpoint on a labelled dataset.

Accuracy, balanced accuracy, per-class precision/recall/F1 and the confusion matrix; ROC and
precision-recall curves of genuine vs imitation; the expected calibration error and its
reliability diagram; the abstain rate and the accuracy of the verdicts given at the model's
threshold; per-``sample_id`` results; the worst mistakes. With ``out`` it writes
``report.json``, ``predictions.csv``, PNG plots and a self-contained ``index.html``.

Bundles run on onnxruntime and never import torch; checkpoints run on torch, uncalibrated.

Example:
    >>> evaluation = evaluate("fibre", "data/fibre", split="test", out="runs/e")  # doctest: +SKIP
    >>> round(evaluation.metrics["balanced_accuracy"], 3)  # doctest: +SKIP
    0.966
"""

from __future__ import annotations

import os
from collections import defaultdict
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from craftvision.datasets import Record, load_manifest, split_by_sample
from craftvision.errors import ConfigError, DatasetError
from craftvision.inspector import Inspector
from craftvision.sample import aggregate
from craftvision.suggest import unknown_choice
from craftvision.training.calibration import reliability
from craftvision.training.loading import open_model
from craftvision.training.metrics import (
    classification_metrics,
    precision_recall_curve,
    roc_curve,
)
from craftvision.types import InspectionError, Prediction, Verdict

SPLITS = ("all", "test")
WORST_MISTAKES = 16
SPLIT_KEYS = ("val_fraction", "test_fraction", "seed")


@dataclass(frozen=True)
class Evaluation:
    """Everything ``craftvision evaluate`` measured; :meth:`to_dict` is ``report.json``."""

    model: str
    data: str
    split: str
    classes: tuple[str, ...]
    genuine_class: str
    threshold: float
    temperature: float
    metrics: dict[str, Any]
    curves: dict[str, Any]
    calibration: dict[str, Any]
    abstention: dict[str, Any]
    samples: dict[str, Any]
    worst_mistakes: list[dict[str, Any]]
    unreadable: list[dict[str, Any]]
    warnings: list[str]
    images: list[dict[str, Any]] = field(repr=False)
    files: dict[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict without the per-image rows (those go to ``predictions.csv``)."""
        data = asdict(self)
        del data["images"]
        return data


def _training_config(inspector: Inspector) -> dict[str, Any]:
    """The training run's settings: the checkpoint's, or the ``config.yaml`` beside a bundle."""
    state = getattr(inspector, "state", None)
    if state is not None:
        return state["config"]
    recorded = Path(inspector.path).with_name("config.yaml")
    if not recorded.is_file():
        return {}
    import yaml

    return yaml.safe_load(recorded.read_text(encoding="utf-8")) or {}


def _select(
    inspector: Inspector, data: str | os.PathLike, split: str
) -> tuple[list[Record], list[str]]:
    """The records to evaluate, and warnings about how they relate to the training data."""
    if split not in SPLITS:
        raise ConfigError(unknown_choice("split", split, SPLITS))
    meta = inspector.metadata
    manifest = load_manifest(data)
    records = [r for r in manifest.records if r.modality in (None, meta.modality)]
    if not records:
        raise DatasetError(f"{data}: no {meta.modality} images (the model's modality)")
    unknown = sorted({r.label for r in records} - set(meta.classes))
    if unknown:
        raise DatasetError(
            f"{data}: {unknown_choice('class', unknown[0], meta.classes)} (the model's classes)"
        )
    warnings = []
    same_data = bool(meta.data_fingerprint) and manifest.fingerprint == meta.data_fingerprint
    if split == "all":
        if same_data:
            warnings.append(
                "this is the model's own training data: the figures include images it was "
                "trained on; use --split test for its held-out test split"
            )
        return records, warnings
    if meta.data_fingerprint and not same_data:
        warnings.append(
            "these data differ from the model's training data, so this test split is not the "
            "one held out in training"
        )
    config = _training_config(inspector)
    splits = split_by_sample(records, **{k: config[k] for k in SPLIT_KEYS if k in config})
    if not splits.test and not splits.val:
        raise DatasetError(
            f"{data}: the test split holds no images (training holds out whole samples, the "
            "photos sharing a sample_id: a share of each class's, and at least one of a class "
            "with 3 or more); use --split all"
        )
    if not splits.test:
        warnings.append("too few samples for a test split: evaluating the validation split")
    return splits.test or splits.val, warnings


def _abstention(
    predictions: list[Prediction], correct: np.ndarray, is_genuine: np.ndarray, threshold: float
) -> dict[str, Any]:
    """How often the model abstains at ``threshold``, and how right it is when it does not."""
    verdicts = np.array([p.verdict for p in predictions])
    decided = verdicts != Verdict.INCONCLUSIVE
    said_genuine = verdicts[decided] == Verdict.GENUINE
    return {
        "threshold": threshold,
        "rate": float(1 - decided.mean()),
        "abstained": int((~decided).sum()),
        "out_of_distribution": sum(p.out_of_distribution for p in predictions),
        "decided": int(decided.sum()),
        "verdict_accuracy": float((said_genuine == is_genuine[decided]).mean())
        if decided.any()
        else None,
        "class_accuracy": float(correct[decided].mean()) if decided.any() else None,
    }


def _samples(
    records: list[Record], predictions: list[Prediction], correct: np.ndarray, genuine: str
) -> dict[str, Any]:
    """Per-``sample_id`` image accuracy and sample verdict (all its photos together)."""
    members: dict[str, list[int]] = defaultdict(list)
    for row, record in enumerate(records):
        members[record.sample_id].append(row)
    rows = []
    for sample_id, indices in members.items():
        label = records[indices[0]].label
        result = aggregate(
            {predictions[0].modality: [predictions[i] for i in indices]}, sample_id=sample_id
        )
        truth = Verdict.GENUINE if label == genuine else Verdict.IMITATION
        rows.append(
            {
                "sample_id": sample_id,
                "label": label,
                "images": len(indices),
                "image_accuracy": float(correct[indices].mean()),
                "verdict": result.verdict.value,
                "verdict_correct": result.verdict is truth,
            }
        )
    rows.sort(key=lambda r: (r["image_accuracy"], r["sample_id"]))
    decided = [r for r in rows if r["verdict"] != Verdict.INCONCLUSIVE.value]
    return {
        "n": len(rows),
        "all_images_correct": sum(r["image_accuracy"] == 1.0 for r in rows),
        "mean_image_accuracy": float(np.mean([r["image_accuracy"] for r in rows])),
        "abstain_rate": 1 - len(decided) / len(rows),
        "verdict_accuracy": (
            sum(r["verdict_correct"] for r in decided) / len(decided) if decided else None
        ),
        "per_sample": rows,
    }


def evaluate(
    model: str | os.PathLike,
    data: str | os.PathLike,
    *,
    split: str = "all",
    out: str | os.PathLike | None = None,
    threshold: float | None = None,
    device: str = "auto",
    batch_size: int = 32,
) -> Evaluation:
    """Evaluate ``model`` (shipped name, bundle or checkpoint) on the labelled ``data``.

    ``split="test"`` re-creates the training run's sample-grouped test split (with the seed and
    fractions in the checkpoint, or in the ``config.yaml`` beside a bundle); ``"all"`` uses
    every image. With ``out``, the report files are written there (see the module docstring).
    """
    inspector = open_model(model, threshold=threshold, device=device, batch_size=batch_size)
    meta = inspector.metadata
    records, warnings = _select(inspector, data, split)
    results = list(inspector.predict_iter([r.path for r in records], on_error="record"))
    unreadable = [
        {"path": str(r.path), "error": e.error}
        for r, e in zip(records, results, strict=True)
        if isinstance(e, InspectionError)
    ]
    kept = [(r, p) for r, p in zip(records, results, strict=True) if isinstance(p, Prediction)]
    if not kept:
        raise DatasetError(f"{data}: none of the {len(records)} image(s) could be read")
    records = [r for r, _ in kept]
    predictions = [p for _, p in kept]
    classes = meta.classes
    targets = np.array([classes.index(r.label) for r in records])
    probabilities = np.array([[p.probabilities[c] for c in classes] for p in predictions])
    confidence = probabilities.max(axis=1)
    correct = probabilities.argmax(axis=1) == targets
    is_genuine = targets == classes.index(meta.genuine_class)
    genuine_probability = probabilities[:, classes.index(meta.genuine_class)]
    metrics = classification_metrics(targets, probabilities, classes, meta.genuine_class)
    roc = roc_curve(is_genuine, genuine_probability)
    pr = precision_recall_curve(is_genuine, genuine_probability)
    abstention = _abstention(predictions, correct, is_genuine, inspector.threshold)
    root = Path(data) if Path(data).is_dir() else Path(data).parent
    images = [
        {
            "path": os.path.relpath(r.path, root),
            "sample_id": r.sample_id,
            "label": r.label,
            "predicted": p.label,
            "confidence": float(c),
            "genuine_probability": p.genuine_probability,
            "verdict": p.verdict.value,
            "ood_score": p.ood_score,
            "correct": bool(ok),
        }
        for r, p, c, ok in zip(records, predictions, confidence, correct, strict=True)
    ]
    mistakes = sorted((i for i in images if not i["correct"]), key=lambda i: -i["confidence"])
    evaluation = Evaluation(
        model=str(model),
        data=str(data),
        split=split,
        classes=classes,
        genuine_class=meta.genuine_class,
        threshold=inspector.threshold,
        temperature=meta.temperature,
        metrics=metrics,
        curves={
            "roc": None if roc is None else {**roc, "auc": metrics["roc_auc"]},
            "pr": pr,
        },
        calibration=reliability(confidence, correct),
        abstention=abstention,
        samples=_samples(records, predictions, correct, meta.genuine_class),
        worst_mistakes=mistakes[:WORST_MISTAKES],
        unreadable=unreadable,
        warnings=warnings,
        images=images,
    )
    if out is None:
        return evaluation
    from craftvision.training.report import write_report

    return replace(evaluation, files=write_report(evaluation, out, root=root, spec=meta.preprocess))
