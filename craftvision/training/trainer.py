"""The trainer: data → sample-grouped splits → timm model → calibrated, exported bundle.

Every run folder holds ``last.ckpt`` and ``best.ckpt`` (``torch.load(..., weights_only=True)``
loadable), ``history.csv``, ``metrics.json`` (test split), ``confusion_matrix.png``,
``config.yaml`` (the resolved config), ``model.onnx`` (the bundle) and ``model.md`` (its card).

Example:
    >>> result = train(TrainConfig(data="data/fibre", out="runs/fibre"))  # doctest: +SKIP
    >>> result.metrics["balanced_accuracy"]                                # doctest: +SKIP
    0.991
"""

from __future__ import annotations

import csv
import io
import json
import os
import random
from dataclasses import asdict, dataclass, field, fields
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import torch
import yaml
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from torch.utils.data import DataLoader

from craftvision import __version__
from craftvision.atomic import atomic_write_bytes, atomic_write_text
from craftvision.datasets import MODALITIES, load_manifest, split_by_sample
from craftvision.datasets.augment import augmentation_preset
from craftvision.datasets.image_dataset import ImageDataset, seed_worker
from craftvision.datasets.synth import RENDERERS, render_dataset
from craftvision.errors import ConfigError, DatasetError
from craftvision.inspector import softmax
from craftvision.models.bundle import BundleMetadata, read_metadata
from craftvision.models.factory import DEFAULT_ARCHITECTURE, create_model
from craftvision.preprocess import PreprocessSpec
from craftvision.suggest import unknown_choice
from craftvision.training.calibration import fit_temperature
from craftvision.training.card import render_model_card
from craftvision.training.export import export_bundle
from craftvision.training.metrics import classification_metrics
from craftvision.training.ood import GuardedClassifier, fit_guard, pre_logits
from craftvision.training.plots import plot_confusion_matrix

console = Console(stderr=True)
CACHE_BYTES = 3 * 2**30  # decoded training images kept in memory up to this size


@dataclass
class TrainConfig:
    """Everything a run needs; every field is also a ``craftvision train`` option and a YAML key.

    ``train_crop`` trains on random windows of that side cut from the ``image_size`` input (the
    fully convolutional model is still evaluated and exported at ``image_size``): fine thread
    texture keeps its full resolution at a quarter of the training cost.
    ``synth`` (e.g. ``{"n": 4000, "seed": 1}``) renders the training data into ``OUT/data`` first
    when ``data`` is not given, so a recipe file is self-contained.
    """

    data: str | None = None
    modality: str = "fibre"
    out: str = "runs/train"
    model: str = DEFAULT_ARCHITECTURE
    epochs: int = 20
    image_size: int = 128
    train_crop: int | None = None
    channels: str = "rgb"
    batch_size: int = 64
    lr: float = 3e-3
    weight_decay: float = 0.02
    genuine_class: str | None = None
    seed: int = 0
    val_fraction: float = 0.15
    test_fraction: float = 0.15
    patience: int = 5
    workers: int | None = None
    device: str = "auto"
    pretrained: str | None = None
    threshold: float = 0.8
    ood_guard: bool = True
    name: str | None = None
    synth: dict[str, Any] | None = None

    @classmethod
    def from_yaml(cls, path: str | os.PathLike, **overrides: Any) -> TrainConfig:
        """Read a recipe; ``overrides`` (non-None values) win over the file."""
        raw = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
        known = {f.name for f in fields(cls)}
        unknown = [k for k in raw if k not in known]
        if unknown:
            raise ConfigError(f"{path}: {unknown_choice('recipe key', unknown[0], known)}")
        raw.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**raw)


@dataclass
class TrainResult:
    """What a run produced."""

    run_dir: Path
    bundle: Path
    metrics: dict[str, Any]
    temperature: float
    best_epoch: int
    history: list[dict[str, float]] = field(default_factory=list)


def resolve_device(device: str) -> torch.device:
    """``auto`` → CUDA when available, else CPU."""
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and torch."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def save_checkpoint(path: Path, state: dict[str, Any]) -> None:
    """Atomically write a checkpoint loadable with ``torch.load(..., weights_only=True)``."""
    buffer = io.BytesIO()
    torch.save(state, buffer)
    atomic_write_bytes(path, buffer.getvalue())


def _progress() -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=console,
        transient=True,
    )


def _prepare_data(config: TrainConfig, run_dir: Path) -> tuple[str, dict[str, Any] | None]:
    if config.data:
        return config.data, None
    if not config.synth:
        raise DatasetError("no training data: give --data DIR (or `synth:` in the recipe)")
    data_dir = run_dir / "data"
    if not (data_dir / "manifest.csv").is_file():
        n = int(config.synth["n"])
        with _progress() as progress:
            task = progress.add_task(f"rendering {config.modality}", total=n)
            render_dataset(
                config.modality,
                out=data_dir,
                progress=lambda k: progress.advance(task, k),
                **config.synth,
            )
    return str(data_dir), dict(config.synth)


def _genuine_class(config: TrainConfig, classes: tuple[str, ...]) -> str:
    if config.genuine_class:
        if config.genuine_class not in classes:
            raise DatasetError(unknown_choice("genuine class", config.genuine_class, classes))
        return config.genuine_class
    renderer = RENDERERS.get(config.modality)
    if renderer is not None and renderer.genuine_class in classes:
        return renderer.genuine_class
    raise DatasetError(f"say which class is genuine: --genuine-class (one of {', '.join(classes)})")


def _predict(
    model: torch.nn.Module, loader: DataLoader, device: torch.device
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Logits, targets and pre-logit features of every image in ``loader``."""
    model.eval()
    logits, targets, features = [], [], []
    with torch.inference_mode():
        for images, labels in loader:
            pooled = pre_logits(model, images.to(device))
            logits.append(model.get_classifier()(pooled).float().cpu().numpy())
            features.append(pooled.float().cpu().numpy())
            targets.append(labels.numpy())
    return np.concatenate(logits), np.concatenate(targets), np.concatenate(features)


def train(config: TrainConfig) -> TrainResult:
    """Run a whole training job; see the module docstring for what it writes."""
    if config.modality not in MODALITIES:
        raise ConfigError(unknown_choice("modality", config.modality, MODALITIES))
    run_dir = Path(config.out)
    run_dir.mkdir(parents=True, exist_ok=True)
    atomic_write_text(run_dir / "config.yaml", yaml.safe_dump(asdict(config), sort_keys=False))
    seed_everything(config.seed)
    device = resolve_device(config.device)

    data, synth = _prepare_data(config, run_dir)
    manifest = load_manifest(data)
    records = [r for r in manifest.records if r.modality in (None, config.modality)]
    classes = tuple(sorted({r.label for r in records}))
    genuine_class = _genuine_class(config, classes)
    splits = split_by_sample(
        records,
        val_fraction=config.val_fraction,
        test_fraction=config.test_fraction,
        seed=config.seed,
    )
    if not splits.train or not splits.val:
        raise DatasetError(f"{data}: too few samples to split into train and validation sets")
    spec = PreprocessSpec(input_size=config.image_size, channels=config.channels)

    workers = min(4, (os.cpu_count() or 2) // 2) if config.workers is None else config.workers
    cache = len(records) * spec.input_size**2 * 3 <= CACHE_BYTES
    if config.train_crop is not None and not 16 <= config.train_crop <= config.image_size:
        raise ConfigError(
            f"train_crop must be between 16 and image_size ({config.image_size}), "
            f"not {config.train_crop}"
        )
    augment = augmentation_preset(config.modality, seed=config.seed, crop=config.train_crop)
    train_set = ImageDataset(splits.train, classes, spec, augment, cache=cache)
    loader_args = {
        "batch_size": config.batch_size,
        "num_workers": workers,
        "persistent_workers": workers > 0,
        "worker_init_fn": seed_worker,
    }
    train_loader = DataLoader(
        train_set,
        shuffle=True,
        drop_last=len(train_set) > config.batch_size,
        generator=torch.Generator().manual_seed(config.seed),
        **loader_args,
    )
    eval_args = {"batch_size": config.batch_size * 2}
    val_loader = DataLoader(ImageDataset(splits.val, classes, spec, cache=cache), **eval_args)
    test_loader = DataLoader(ImageDataset(splits.test or splits.val, classes, spec), **eval_args)

    model = create_model(
        config.model, num_classes=len(classes), in_chans=spec.in_chans, pretrained=config.pretrained
    ).to(device)
    counts = np.bincount(train_set.targets(), minlength=len(classes)).astype(np.float64)
    weights = torch.tensor(
        counts.sum() / (len(classes) * np.maximum(counts, 1)), dtype=torch.float32
    )
    criterion = torch.nn.CrossEntropyLoss(weight=weights.to(device), label_smoothing=0.05)
    optimizer = torch.optim.AdamW(
        model.parameters(), lr=config.lr, weight_decay=config.weight_decay
    )
    scheduler = torch.optim.lr_scheduler.OneCycleLR(
        optimizer, max_lr=config.lr, total_steps=config.epochs * len(train_loader), pct_start=0.15
    )

    history: list[dict[str, float]] = []
    best_score, best_epoch, stale = -1.0, 0, 0
    checkpoint_info = {
        "config": asdict(config),
        "classes": list(classes),
        "genuine_class": genuine_class,
        "preprocess": spec.to_dict(),
        "architecture": config.model,
    }
    with _progress() as progress:
        for epoch in range(1, config.epochs + 1):
            model.train()
            task = progress.add_task(f"epoch {epoch}/{config.epochs}", total=len(train_loader))
            total_loss = 0.0
            for images, labels in train_loader:
                loss = criterion(model(images.to(device)), labels.to(device))
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
                scheduler.step()
                total_loss += loss.item()
                progress.advance(task)
            progress.remove_task(task)
            logits, targets, _ = _predict(model, val_loader, device)
            val = classification_metrics(targets, softmax(logits), classes, genuine_class)
            row = {
                "epoch": epoch,
                "train_loss": total_loss / max(1, len(train_loader)),
                "val_accuracy": val["accuracy"],
                "val_balanced_accuracy": val["balanced_accuracy"],
                "lr": scheduler.get_last_lr()[0],
            }
            history.append(row)
            console.print(
                f"epoch {epoch:>3}/{config.epochs}  loss {row['train_loss']:.4f}  "
                f"val balanced accuracy {val['balanced_accuracy']:.4f}"
            )
            state = {
                **checkpoint_info,
                "model": model.state_dict(),
                "optimizer": optimizer.state_dict(),
                "scheduler": scheduler.state_dict(),
                "epoch": epoch,
            }
            save_checkpoint(run_dir / "last.ckpt", state)
            if val["balanced_accuracy"] > best_score:
                best_score, best_epoch, stale = val["balanced_accuracy"], epoch, 0
                save_checkpoint(
                    run_dir / "best.ckpt",
                    {**checkpoint_info, "model": model.state_dict(), "epoch": epoch},
                )
            else:
                stale += 1
            _write_history(run_dir / "history.csv", history)
            if stale >= config.patience:
                console.print(f"early stop: no improvement for {config.patience} epochs")
                break

    best = torch.load(run_dir / "best.ckpt", map_location=device, weights_only=True)
    model.load_state_dict(best["model"])
    val_logits, val_targets, val_features = _predict(model, val_loader, device)
    temperature = fit_temperature(val_logits, val_targets)
    test_logits, test_targets, test_features = _predict(model, test_loader, device)
    metrics = classification_metrics(
        test_targets, softmax(test_logits, temperature), classes, genuine_class
    )
    metrics["split"] = "test" if splits.test else "val"
    exported: torch.nn.Module = model
    guard = None
    if config.ood_guard:
        plain_train = DataLoader(train_set.unaugmented(), **eval_args)
        _, train_targets, train_features = _predict(model, plain_train, device)
        guard = fit_guard(train_features, train_targets, val_features)
        metrics["ood_flag_rate"] = float((guard.score(test_features) > guard.threshold).mean())
        exported = GuardedClassifier(model, guard)
    atomic_write_text(run_dir / "metrics.json", json.dumps(metrics, indent=2))
    plot_confusion_matrix(
        metrics["confusion_matrix"],
        classes,
        run_dir / "confusion_matrix.png",
        title=f"{config.modality}: confusion matrix ({metrics['split']} split)",
    )

    metadata = BundleMetadata(
        name=config.name or config.modality,
        modality=config.modality,
        classes=classes,
        genuine_class=genuine_class,
        preprocess=spec,
        architecture=config.model,
        temperature=temperature,
        threshold=config.threshold,
        ood_threshold=None if guard is None else guard.threshold,
        metrics={
            k: metrics[k]
            for k in ("n", "accuracy", "balanced_accuracy", "roc_auc", "per_class", "ood_flag_rate")
            if k in metrics
        },
        data_fingerprint=manifest.fingerprint(),
        library_version=__version__,
        created=datetime.now(UTC).isoformat(timespec="seconds"),
    )
    parity_inputs = np.stack(
        [val_loader.dataset[i][0].numpy() for i in range(min(32, len(splits.val)))]
    )
    export = export_bundle(exported.cpu(), metadata, run_dir / "model.onnx", parity_inputs)
    summary = {
        "data": data,
        "synth": synth,
        "class_counts": manifest.class_counts(),
        "split_sizes": {
            "train": len(splits.train),
            "val": len(splits.val),
            "test": len(splits.test),
        },
    }
    atomic_write_text(run_dir / "model.md", render_model_card(read_metadata(export.path), summary))
    console.print(
        f"test balanced accuracy {metrics['balanced_accuracy']:.4f} · temperature "
        f"{temperature:.3f} · parity max |Δp| {export.max_abs_diff:.1e} · {export.path}"
    )
    return TrainResult(
        run_dir=run_dir,
        bundle=export.path,
        metrics=metrics,
        temperature=temperature,
        best_epoch=best_epoch,
        history=history,
    )


def _write_history(path: Path, history: list[dict[str, float]]) -> None:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(history[0]))
    writer.writeheader()
    writer.writerows(history)
    atomic_write_text(path, buffer.getvalue())
