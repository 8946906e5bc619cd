"""Open whatever a user calls a model: a shipped name, a ``.onnx`` bundle or a checkpoint.

Bundles and shipped names give an ONNX :class:`~craftvision.inspector.Inspector` (torch is never
imported); ``.ckpt`` / ``.pt`` / ``.pth`` files give a torch
:class:`~craftvision.training.checkpoint.CheckpointInspector`.

Example:
    >>> is_checkpoint("runs/fibre/best.ckpt"), is_checkpoint("fibre")
    (True, False)
    >>> type(open_model("fibre")).__name__                 # doctest: +SKIP
    'Inspector'
"""

from __future__ import annotations

import os
from pathlib import Path

from craftvision.errors import BundleError
from craftvision.inspector import Inspector
from craftvision.suggest import nearest_path

CHECKPOINT_SUFFIXES = (".ckpt", ".pt", ".pth")


def is_checkpoint(model: str | os.PathLike) -> bool:
    """Whether ``model`` names a torch checkpoint rather than an ONNX bundle."""
    return Path(model).suffix.lower() in CHECKPOINT_SUFFIXES


def open_model(
    model: str | os.PathLike,
    *,
    threshold: float | None = None,
    device: str = "auto",
    batch_size: int = 32,
) -> Inspector:
    """An inspector over a shipped model name, a bundle path or a training checkpoint."""
    options = {"threshold": threshold, "device": device, "batch_size": batch_size}
    if is_checkpoint(model):
        from craftvision.training.checkpoint import CheckpointInspector

        return CheckpointInspector(model, **options)
    path = Path(model)
    if path.suffix.lower() == ".onnx" and not path.is_file():
        raise BundleError(f"{path}: no such model bundle.{nearest_path(path)}")
    return Inspector(model, **options)
