"""The trainer: data → sample-grouped splits → timm model → calibrated, exported bundle.

Every run folder holds ``last.ckpt`` (weights, optimizer, scheduler, epoch, history and
early-stopping state, from which ``resume=True`` continues) and ``best.ckpt``, both
``torch.load(..., weights_only=True)`` loadable; ``history.csv`` and ``learning_curves.png``;
``metrics.json`` (test split) and ``confusion_matrix.png``; ``config.yaml`` (the resolved
config) and ``provenance.json`` (seed, dataset fingerprint, the serialised augmentation
pipeline, Python, platform and package versions); ``model.onnx`` (the bundle) and ``model.md``
(its card); with ``tensorboard`` also a ``tensorboard/`` event log.

Everything random in an epoch (shuffle order, augmentation, dropout) is seeded from the run's
seed and the epoch number, so the same recipe and seed give the same metrics on the CPU, and a
run killed at any point and resumed ends exactly where an uninterrupted run would.

Under ``torchrun --nproc_per_node N -m craftvision train ...`` each process trains its shard of
every epoch with DistributedDataParallel (gloo on CPU, nccl on GPUs); rank 0 validates, decides
on early stopping and writes every file.

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
import platform
import random
from dataclasses import asdict, dataclass, field, fields
from importlib import metadata
from pathlib import Path
from typing import Any

import albumentations as A
import numpy as np
import torch
import torch.distributed as dist
import yaml
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DataLoader, DistributedSampler

from craftvision.atomic import atomic_write_bytes, atomic_write_text
from craftvision.datasets import MODALITIES
from craftvision.datasets.augment import augmentation_preset
from craftvision.datasets.image_dataset import ImageDataset, seed_worker
from craftvision.datasets.synth import RENDERERS, render_dataset
from craftvision.errors import ConfigError, DatasetError
from craftvision.inspector import softmax
from craftvision.models.bundle import read_metadata
from craftvision.models.factory import DEFAULT_ARCHITECTURE, create_model
from craftvision.models.tta import check_test_time_augmentation
from craftvision.suggest import nearest_path, unknown_choice
from craftvision.training.card import render_model_card, training_stages
from craftvision.training.export import export_bundle
from craftvision.training.finalize import (
    bundle_metadata,
    finalize,
    load_run_data,
    predict_features,
)
from craftvision.training.metrics import classification_metrics
from craftvision.training.plots import plot_confusion_matrix, plot_learning_curves

console = Console(stderr=True)
CACHE_BYTES = 3 * 2**30  # decoded training images kept in memory up to this size


@dataclass
class TrainConfig:
    """Everything a run needs; every field is also a ``craftvision train`` option and a YAML key.

    ``train_crop`` trains on random windows of that side cut from the ``image_size`` input (the
    fully convolutional model is still evaluated and exported at ``image_size``): fine thread
    texture keeps its full resolution at a quarter of the training cost.
    ``test_time_augmentation`` ``"dihedral"`` exports a model that averages the 8 rotations and
    mirror images of each input (8x the inference cost; see :mod:`craftvision.models.tta`).
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
    test_time_augmentation: str = "none"
    tensorboard: bool = False
    name: str | None = None
    synth: dict[str, Any] | None = None

    @classmethod
    def from_yaml(cls, path: str | os.PathLike, **overrides: Any) -> TrainConfig:
        """Read a recipe; ``overrides`` (non-None values) win over the file.

        A missing or unreadable file, invalid YAML or a document that is not a mapping of keys
        to values raises :class:`ConfigError`.
        """
        try:
            raw = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
        except FileNotFoundError as err:
            raise ConfigError(f"{path}: no such recipe file.{nearest_path(path)}") from err
        except (OSError, UnicodeDecodeError) as err:
            raise ConfigError(f"{path}: cannot read the recipe ({err})") from err
        except yaml.YAMLError as err:
            mark = getattr(err, "problem_mark", None)
            where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
            problem = getattr(err, "problem", None) or "cannot be parsed"
            raise ConfigError(f"{path}: not valid YAML{where}: {problem}") from err
        if not isinstance(raw, dict):
            raise ConfigError(f"{path}: a recipe is a mapping of keys to values (key: value)")
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


def resolve_device(device: str, world: World | None = None) -> torch.device:
    """The torch device for ``auto``, ``cpu`` or ``cuda``; in a ``torchrun`` job, this process's.

    ``auto`` is CUDA when every process on this machine can have a GPU of its own, else the CPU.

    Example:
        >>> resolve_device("cpu")
        device(type='cpu')
    """
    world = world or World()
    gpus = torch.cuda.device_count() if torch.cuda.is_available() else 0
    if device == "auto":
        device = "cuda" if gpus >= world.local_size else "cpu"
    if device != "cuda":
        return torch.device(device)
    if gpus < world.local_size:
        found = f"{gpus} GPU{'s' * (gpus != 1)}" if gpus else "no GPU that torch can use"
        per_process = f" for the {world.local_size} processes on it" if world.size > 1 else ""
        raise ConfigError(
            f"device 'cuda' asked for, but this machine has {found}{per_process}; use "
            f"--device cpu or auto{', or torchrun --nproc_per_node ' + str(gpus) if gpus else ''}"
        )
    return torch.device("cuda", world.local_rank) if world.size > 1 else torch.device("cuda")


@dataclass(frozen=True)
class World:
    """This process's place in a ``torchrun`` job (a single process when not distributed)."""

    rank: int = 0
    size: int = 1
    local_rank: int = 0
    local_size: int = 1

    @classmethod
    def from_env(cls) -> World:
        """Read ``RANK``, ``WORLD_SIZE``, ``LOCAL_RANK`` and ``LOCAL_WORLD_SIZE`` as set by
        ``torchrun``."""
        env = os.environ
        return cls(
            int(env.get("RANK", 0)),
            int(env.get("WORLD_SIZE", 1)),
            int(env.get("LOCAL_RANK", 0)),
            int(env.get("LOCAL_WORLD_SIZE", 1)),
        )

    @property
    def main(self) -> bool:
        """Rank 0 evaluates and writes every file."""
        return self.rank == 0

    def barrier(self) -> None:
        """Wait for every process (no-op when alone)."""
        if self.size > 1:
            dist.barrier()

    def broadcast(self, value: Any) -> Any:
        """Rank 0's ``value`` on every process."""
        if self.size == 1:
            return value
        box = [value]
        dist.broadcast_object_list(box, src=0)
        return box[0]


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


def _progress(visible: bool = True) -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=console,
        transient=True,
        disable=not visible,
    )


def _prepare_data(
    config: TrainConfig, run_dir: Path, world: World
) -> tuple[str, dict[str, Any] | None]:
    """The dataset to train on; recipes with ``synth`` render it first (rank 0 only)."""
    if config.data:
        return config.data, None
    if not config.synth:
        raise DatasetError("no training data: give --data DIR (or `synth:` in the recipe)")
    data_dir = run_dir / "data"
    if world.main and not (data_dir / "manifest.csv").is_file():
        n = int(config.synth["n"])
        with _progress() as progress:
            task = progress.add_task(f"rendering {config.modality}", total=n)
            render_dataset(
                config.modality,
                out=data_dir,
                progress=lambda k: progress.advance(task, k),
                **config.synth,
            )
    world.barrier()
    return str(data_dir), dict(config.synth)


def _genuine_class(config: TrainConfig) -> str:
    """The configured genuine class, else the modality's (the renderers' class names)."""
    if config.genuine_class:
        return config.genuine_class
    renderer = RENDERERS.get(config.modality)
    if renderer is None:
        raise DatasetError("say which class is genuine: --genuine-class NAME")
    return renderer.genuine_class


def train(config: TrainConfig, *, resume: bool = False) -> TrainResult | None:
    """Run a whole training job; see the module docstring for what it writes.

    ``resume`` continues the run in ``config.out`` from its ``last.ckpt``. Returns ``None`` on
    the non-zero ranks of a distributed run (rank 0 returns the result).
    """
    if config.modality not in MODALITIES:
        raise ConfigError(unknown_choice("modality", config.modality, MODALITIES))
    if config.train_crop is not None and not 16 <= config.train_crop <= config.image_size:
        raise ConfigError(
            f"train_crop must be between 16 and image_size ({config.image_size}), "
            f"not {config.train_crop}"
        )
    check_test_time_augmentation(config.test_time_augmentation)
    world = World.from_env()
    device = resolve_device(config.device, world)
    gpus = torch.cuda.device_count() if torch.cuda.is_available() else 0
    if world.main and device.type == "cpu" and config.device == "auto" and gpus:
        console.print(
            f"training on the CPU: {world.local_size} processes share this machine's {gpus} "
            f"GPU(s); torchrun --nproc_per_node {gpus} trains on the GPUs"
        )
    started = world.size > 1 and not dist.is_initialized()
    if started:
        dist.init_process_group("nccl" if device.type == "cuda" else "gloo")
    try:
        return _train(config, world, device, resume)
    finally:
        if started:
            dist.destroy_process_group()


def _train(
    config: TrainConfig, world: World, device: torch.device, resume: bool
) -> TrainResult | None:
    run_dir = Path(config.out)
    saved = _resume_state(run_dir, config) if resume else None
    if world.main:
        run_dir.mkdir(parents=True, exist_ok=True)
        atomic_write_text(run_dir / "config.yaml", yaml.safe_dump(asdict(config), sort_keys=False))
    seed_everything(config.seed)
    data, synth = _prepare_data(config, run_dir, world)
    run = load_run_data(config, data, genuine_class=_genuine_class(config), synth=synth)
    classes, spec = run.classes, run.spec
    augment = augmentation_preset(config.modality, seed=config.seed, crop=config.train_crop)
    if world.main:
        provenance = _provenance(config, run.manifest.fingerprint, augment, world, device)
        atomic_write_text(run_dir / "provenance.json", json.dumps(provenance, indent=2))

    workers = min(4, (os.cpu_count() or 2) // 2) if config.workers is None else config.workers
    cache = len(run.manifest.records) * spec.input_size**2 * 3 <= CACHE_BYTES
    train_set = ImageDataset(run.splits.train, classes, spec, augment, cache=cache)
    val_set = ImageDataset(run.splits.val, classes, spec, cache=cache)
    test_set = ImageDataset(run.splits.test or run.splits.val, classes, spec)

    # Channels-last memory order: convolutions train markedly faster in it on the CPU (and with
    # tensor cores on a GPU); the batches arrive in it (see normalize_batch).
    model = create_model(
        config.model, num_classes=len(classes), in_chans=spec.in_chans, pretrained=config.pretrained
    ).to(device, memory_format=torch.channels_last)
    counts = np.bincount(train_set.targets(), minlength=len(classes)).astype(np.float64)
    weights = torch.tensor(
        counts.sum() / (len(classes) * np.maximum(counts, 1)), dtype=torch.float32
    )
    fit = _Fit(
        config=config,
        world=world,
        device=device,
        run_dir=run_dir,
        model=model,
        train_set=train_set,
        workers=workers,
        val_loader=DataLoader(val_set, batch_size=2 * config.batch_size),
        criterion=torch.nn.CrossEntropyLoss(weight=weights.to(device), label_smoothing=0.05),
        checkpoint_info={
            "config": asdict(config),
            "classes": list(classes),
            "genuine_class": run.genuine_class,
            "preprocess": spec.to_dict(),
            "architecture": config.model,
        },
    )
    fit.run(saved)
    if not world.main:
        return None

    # Calibrated on the CPU, in the float32 arithmetic that bundles run in, whatever trained the
    # model: a GPU's TF32 convolutions moved the OOD threshold by 1.4 %, and `craftvision
    # export` (on the CPU) must write the same bundle from best.ckpt as the run did.
    best = torch.load(run_dir / "best.ckpt", map_location="cpu", weights_only=True)
    model = model.cpu()
    model.load_state_dict(best["model"])
    final = finalize(
        model,
        run,
        batch_size=2 * config.batch_size,
        device=torch.device("cpu"),
        ood_guard=config.ood_guard,
        test_time_augmentation=config.test_time_augmentation,
        datasets=(train_set, val_set, test_set),
    )
    atomic_write_text(run_dir / "metrics.json", json.dumps(final.metrics, indent=2))
    plot_confusion_matrix(
        final.metrics["confusion_matrix"],
        classes,
        run_dir / "confusion_matrix.png",
        title=f"{config.modality}: confusion matrix ({final.metrics['split']} split)",
    )
    export = export_bundle(
        final.model,
        bundle_metadata(config, run, final),
        run_dir / "model.onnx",
        final.parity_inputs,
    )
    card = render_model_card(read_metadata(export.path), run.summary(), training_stages(config))
    atomic_write_text(run_dir / "model.md", card)
    console.print(
        f"test balanced accuracy {final.metrics['balanced_accuracy']:.4f} · temperature "
        f"{final.temperature:.3f} · parity max |Δp| {export.max_abs_diff:.1e} · {export.path}"
    )
    return TrainResult(
        run_dir=run_dir,
        bundle=export.path,
        metrics=final.metrics,
        temperature=final.temperature,
        best_epoch=fit.best_epoch,
        history=fit.history,
    )


@dataclass
class _Fit:
    """The epoch loop and its early-stopping state, saved in ``last.ckpt`` after every epoch."""

    config: TrainConfig
    world: World
    device: torch.device
    run_dir: Path
    model: torch.nn.Module
    train_set: ImageDataset
    workers: int
    val_loader: DataLoader
    criterion: torch.nn.Module
    checkpoint_info: dict[str, Any]
    history: list[dict[str, float]] = field(default_factory=list)
    best_score: float = -1.0
    best_epoch: int = 0
    stale: int = 0

    def run(self, saved: dict[str, Any] | None) -> None:
        """Train from epoch 1, or from the epoch after ``saved`` (a ``last.ckpt`` state)."""
        config, world = self.config, self.world
        sampler = (
            DistributedSampler(self.train_set, world.size, world.rank, seed=config.seed)
            if world.size > 1
            else None
        )
        generator = torch.Generator()
        batch_size = max(1, config.batch_size // world.size)
        loader = DataLoader(
            self.train_set,
            batch_size=batch_size,
            shuffle=sampler is None,
            sampler=sampler,
            drop_last=len(self.train_set) > config.batch_size,
            generator=generator,
            num_workers=self.workers,
            worker_init_fn=seed_worker,
        )
        trained = DistributedDataParallel(self.model) if world.size > 1 else self.model
        optimizer = torch.optim.AdamW(
            self.model.parameters(), lr=config.lr, weight_decay=config.weight_decay
        )
        scheduler = torch.optim.lr_scheduler.OneCycleLR(
            optimizer, max_lr=config.lr, total_steps=config.epochs * len(loader), pct_start=0.15
        )
        first = 1
        if saved is not None:
            self.model.load_state_dict(saved["model"])
            optimizer.load_state_dict(saved["optimizer"])
            scheduler.load_state_dict(saved["scheduler"])
            self.history = list(saved["history"])
            self.best_score, self.best_epoch = saved["best_score"], saved["best_epoch"]
            self.stale, first = saved["stale"], saved["epoch"] + 1
            if world.main:
                console.print(f"resuming {self.run_dir} after epoch {saved['epoch']}")
        writer = _tensorboard(self.run_dir) if config.tensorboard and world.main else None
        with _progress(world.main) as progress:
            for epoch in range(first, config.epochs + 1):
                if self.stale >= config.patience:
                    break
                epoch_seed = _epoch_seed(config.seed, epoch)
                torch.manual_seed(epoch_seed)
                generator.manual_seed(epoch_seed)
                if sampler is not None:
                    sampler.set_epoch(epoch)
                if self.train_set.augment is not None:
                    self.train_set.augment.set_random_seed(epoch_seed)
                trained.train()
                task = progress.add_task(f"epoch {epoch}/{config.epochs}", total=len(loader))
                total_loss = 0.0
                for images, labels in loader:
                    outputs = trained(self.train_set.model_input(images.to(self.device)))
                    loss = self.criterion(outputs, labels.to(self.device))
                    optimizer.zero_grad(set_to_none=True)
                    loss.backward()
                    optimizer.step()
                    scheduler.step()
                    total_loss += loss.item()
                    progress.advance(task)
                progress.remove_task(task)
                if world.main:
                    self._end_epoch(epoch, total_loss / max(1, len(loader)), optimizer, scheduler)
                    if writer is not None:
                        for key, value in self.history[-1].items():
                            if key != "epoch":
                                writer.add_scalar(key, value, epoch)
                self.stale = world.broadcast(self.stale)
                if self.stale >= config.patience and world.main:
                    console.print(f"early stop: no improvement for {config.patience} epochs")
        if writer is not None:
            writer.close()
        world.barrier()

    def _end_epoch(
        self,
        epoch: int,
        train_loss: float,
        optimizer: torch.optim.Optimizer,
        scheduler: torch.optim.lr_scheduler.LRScheduler,
    ) -> None:
        """Validate, log, and write ``last.ckpt`` / ``best.ckpt``, history and curves (rank 0)."""
        logits, targets, _ = predict_features(self.model, self.val_loader, self.device)
        classes = self.checkpoint_info["classes"]
        val = classification_metrics(
            targets, softmax(logits), classes, self.checkpoint_info["genuine_class"]
        )
        row = {
            "epoch": epoch,
            "train_loss": train_loss,
            "val_accuracy": val["accuracy"],
            "val_balanced_accuracy": val["balanced_accuracy"],
            "lr": scheduler.get_last_lr()[0],
        }
        self.history.append(row)
        console.print(
            f"epoch {epoch:>3}/{self.config.epochs}  loss {train_loss:.4f}  "
            f"val balanced accuracy {val['balanced_accuracy']:.4f}"
        )
        if val["balanced_accuracy"] > self.best_score:
            self.best_score, self.best_epoch, self.stale = val["balanced_accuracy"], epoch, 0
            save_checkpoint(
                self.run_dir / "best.ckpt",
                {**self.checkpoint_info, "model": self.model.state_dict(), "epoch": epoch},
            )
        else:
            self.stale += 1
        save_checkpoint(
            self.run_dir / "last.ckpt",
            {
                **self.checkpoint_info,
                "model": self.model.state_dict(),
                "optimizer": optimizer.state_dict(),
                "scheduler": scheduler.state_dict(),
                "epoch": epoch,
                "history": self.history,
                "best_score": self.best_score,
                "best_epoch": self.best_epoch,
                "stale": self.stale,
            },
        )
        _write_history(self.run_dir / "history.csv", self.history)
        plot_learning_curves(self.history, self.run_dir / "learning_curves.png")


def _epoch_seed(seed: int, epoch: int) -> int:
    """The seed of everything random in one epoch (shuffle, augmentation, dropout)."""
    return int(np.random.SeedSequence([seed, epoch]).generate_state(1)[0])


# Settings that may differ between an interrupted run and its resumption.
RESUMABLE = frozenset({"workers", "device"})


def _resume_state(run_dir: Path, config: TrainConfig) -> dict[str, Any]:
    path = run_dir / "last.ckpt"
    if not path.is_file():
        raise ConfigError(f"{run_dir}: nothing to resume (no last.ckpt); start it without --resume")
    saved = torch.load(path, map_location="cpu", weights_only=True)
    if "history" not in saved:
        raise ConfigError(f"{path}: written by an older craftvision; it cannot be resumed")
    changed = sorted(
        key
        for key, value in asdict(config).items()
        if key not in RESUMABLE and saved["config"].get(key) != value
    )
    if changed:
        raise ConfigError(
            f"{run_dir}: the run was started with other settings ({', '.join(changed)}); "
            "resume it with its own config.yaml"
        )
    return saved


def _provenance(
    config: TrainConfig,
    data_fingerprint: str,
    augment: A.Compose,
    world: World,
    device: torch.device,
) -> dict[str, Any]:
    """What it takes to reproduce a run: seed, data, augmentation, software and hardware."""
    packages = {}
    for name in _RECORDED_PACKAGES:
        try:
            packages[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            packages[name] = None
    return {
        "seed": config.seed,
        "data_fingerprint": data_fingerprint,
        "augmentation": A.to_dict(augment),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "packages": packages,
        "device": str(device),
        "world_size": world.size,
        "torch_threads": torch.get_num_threads(),
    }


_RECORDED_PACKAGES = (
    "craftvision",
    "torch",
    "torchvision",
    "timm",
    "albumentations",
    "numpy",
    "opencv-python-headless",
    "onnx",
    "onnxruntime",
)


def _tensorboard(run_dir: Path) -> Any:
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError as err:
        raise ConfigError(
            "tensorboard logging needs the tensorboard package: "
            "pip install 'craftvision[tensorboard]'"
        ) from err
    return SummaryWriter(log_dir=str(run_dir / "tensorboard"))


def _write_history(path: Path, history: list[dict[str, float]]) -> None:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(history[0]))
    writer.writeheader()
    writer.writerows(history)
    atomic_write_text(path, buffer.getvalue())
