"""The end of a training run: fit the calibration temperature and the out-of-distribution guard,
measure the test split, and describe the model as bundle metadata.

Shared by the trainer (after its last epoch) and ``craftvision export`` (from a checkpoint), so a
bundle exported later from ``best.ckpt`` is the bundle the run wrote.

Example:
    >>> run = load_run_data(config, "data/fibre", genuine_class="pashmina")   # doctest: +SKIP
    >>> final = finalize(model, run, batch_size=128)                         # doctest: +SKIP
    >>> metadata = bundle_metadata(config, run, final)                       # doctest: +SKIP
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from torch.utils.data import DataLoader

from craftvision import __version__
from craftvision.datasets import Manifest, Splits, load_manifest, split_by_sample
from craftvision.datasets.image_dataset import ImageDataset
from craftvision.datasets.synth import read_synth_record
from craftvision.errors import DatasetError
from craftvision.inspector import softmax
from craftvision.models.bundle import BundleMetadata
from craftvision.models.tta import with_test_time_augmentation
from craftvision.preprocess import PreprocessSpec
from craftvision.suggest import unknown_choice
from craftvision.training.calibration import fit_temperature
from craftvision.training.metrics import classification_metrics
from craftvision.training.ood import FeatureGuard, GuardedClassifier, fit_guard, pre_logits

if TYPE_CHECKING:  # the trainer imports this module
    from craftvision.training.trainer import TrainConfig

BUNDLE_METRICS = ("n", "accuracy", "balanced_accuracy", "roc_auc", "per_class", "ood_flag_rate")
PARITY_IMAGES = 32


@dataclass(frozen=True)
class RunData:
    """A run's dataset, split by physical sample exactly as the trainer split it."""

    data: str
    synth: dict[str, Any] | None
    manifest: Manifest
    classes: tuple[str, ...]
    genuine_class: str
    spec: PreprocessSpec
    splits: Splits

    def datasets(self) -> tuple[ImageDataset, ImageDataset, ImageDataset]:
        """Unaugmented train, validation and test sets (validation when there is no test)."""
        return tuple(
            ImageDataset(records, self.classes, self.spec)
            for records in (self.splits.train, self.splits.val, self.splits.test or self.splits.val)
        )

    def summary(self) -> dict[str, Any]:
        """The data section of the model card."""
        return {
            "data": self.data,
            "synth": self.synth,
            "class_counts": self.manifest.class_counts(),
            "split_sizes": {
                "train": len(self.splits.train),
                "val": len(self.splits.val),
                "test": len(self.splits.test),
            },
        }


def load_run_data(
    config: TrainConfig, data: str, *, genuine_class: str, synth: dict[str, Any] | None = None
) -> RunData:
    """Read ``data`` and split it with the run's seed and fractions. ``synth`` (how the data was
    rendered, for the model card) defaults to the folder's own record, if it was rendered."""
    manifest = load_manifest(data)
    records = [r for r in manifest.records if r.modality in (None, config.modality)]
    classes = tuple(sorted({r.label for r in records}))
    if genuine_class not in classes:
        hint = " (set it with --genuine-class)"
        raise DatasetError(unknown_choice("genuine class", genuine_class, classes) + hint)
    splits = split_by_sample(
        records,
        val_fraction=config.val_fraction,
        test_fraction=config.test_fraction,
        seed=config.seed,
    )
    if not splits.train or not splits.val:
        raise DatasetError(f"{data}: too few samples to split into train and validation sets")
    spec = PreprocessSpec(input_size=config.image_size, channels=config.channels)
    synth = synth or read_synth_record(data)
    return RunData(data, synth, manifest, classes, genuine_class, spec, splits)


def predict_features(
    model: torch.nn.Module, loader: DataLoader, device: torch.device
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Logits, targets and pre-logit features of every image in ``loader`` (over an
    :class:`ImageDataset`, whose uint8 batches it turns into model input)."""
    model.eval()
    logits, targets, features = [], [], []
    with torch.inference_mode():
        for images, labels in loader:
            pooled = pre_logits(model, loader.dataset.model_input(images.to(device)))
            logits.append(model.get_classifier()(pooled).float().cpu().numpy())
            features.append(pooled.float().cpu().numpy())
            targets.append(labels.numpy())
    return np.concatenate(logits), np.concatenate(targets), np.concatenate(features)


@dataclass(frozen=True)
class Finalized:
    """A trained model made ready to export.

    ``model`` is what to export (wrapped in a :class:`GuardedClassifier` when the guard is on);
    ``metrics`` are the calibrated test-split metrics; ``parity_inputs`` are validation images
    for the export's parity check.
    """

    model: torch.nn.Module
    temperature: float
    guard: FeatureGuard | None
    metrics: dict[str, Any]
    parity_inputs: np.ndarray


def finalize(
    model: torch.nn.Module,
    run: RunData,
    *,
    batch_size: int,
    device: torch.device | None = None,
    ood_guard: bool = True,
    test_time_augmentation: str = "none",
    datasets: tuple[ImageDataset, ImageDataset, ImageDataset] | None = None,
) -> Finalized:
    """Wrap ``model`` for ``test_time_augmentation`` (see :mod:`craftvision.models.tta`), then fit
    the temperature on the validation split, the guard on the training split, and measure the
    test split. ``datasets`` (train, val, test) default to :meth:`RunData.datasets`; the training
    set's augmentation is switched off."""
    device = device or next(model.parameters()).device
    model = with_test_time_augmentation(model, test_time_augmentation)
    train_set, val_set, test_set = datasets or run.datasets()
    loader = {"batch_size": batch_size}
    val_logits, val_targets, val_features = predict_features(
        model, DataLoader(val_set, **loader), device
    )
    temperature = fit_temperature(val_logits, val_targets)
    test_logits, test_targets, test_features = predict_features(
        model, DataLoader(test_set, **loader), device
    )
    metrics = classification_metrics(
        test_targets, softmax(test_logits, temperature), run.classes, run.genuine_class
    )
    metrics["split"] = "test" if run.splits.test else "val"
    exported, guard = model, None
    if ood_guard:
        plain_train = DataLoader(train_set.unaugmented(), **loader)
        _, train_targets, train_features = predict_features(model, plain_train, device)
        guard = fit_guard(train_features, train_targets, val_features)
        metrics["ood_flag_rate"] = float((guard.score(test_features) > guard.threshold).mean())
        exported = GuardedClassifier(model, guard)
    parity_images = [val_set[i][0] for i in range(min(PARITY_IMAGES, len(val_set)))]
    parity = np.ascontiguousarray(val_set.model_input(torch.stack(parity_images)).numpy())
    return Finalized(exported, temperature, guard, metrics, parity)


def bundle_metadata(config: TrainConfig, run: RunData, final: Finalized) -> BundleMetadata:
    """The metadata of the bundle of a finalized run."""
    return BundleMetadata(
        name=config.name or config.modality,
        modality=config.modality,
        classes=run.classes,
        genuine_class=run.genuine_class,
        preprocess=run.spec,
        architecture=config.model,
        temperature=final.temperature,
        threshold=config.threshold,
        ood_threshold=None if final.guard is None else final.guard.threshold,
        metrics={k: final.metrics[k] for k in BUNDLE_METRICS if k in final.metrics},
        data_fingerprint=run.manifest.fingerprint,
        library_version=__version__,
        created=datetime.now(UTC).isoformat(timespec="seconds"),
        test_time_augmentation=config.test_time_augmentation,
    )
