"""Training checkpoints (``best.ckpt`` / ``last.ckpt``) as models: load, rebuild, inspect.

A checkpoint holds ``config``, ``classes``, ``genuine_class``, ``preprocess``, ``architecture``
and the ``model`` state dict. :class:`CheckpointInspector` runs it with the same API as the
ONNX :class:`~craftvision.inspector.Inspector` (raw softmax: a checkpoint has no calibration
temperature and no out-of-distribution guard; those are fitted when it is exported).

Example:
    >>> inspector = CheckpointInspector("runs/fibre/best.ckpt")     # doctest: +SKIP
    >>> inspector.predict("samples/fibre/pashmina_01.png").label     # doctest: +SKIP
    'pashmina'
"""

from __future__ import annotations

import os
import pickle
from pathlib import Path
from typing import Any

import numpy as np
import torch

from craftvision.errors import BundleError
from craftvision.inspector import Inspector, softmax
from craftvision.models.bundle import BundleMetadata
from craftvision.models.factory import create_model
from craftvision.preprocess import PreprocessSpec
from craftvision.suggest import nearest_path
from craftvision.training.trainer import resolve_device

REQUIRED_KEYS = ("config", "classes", "genuine_class", "preprocess", "architecture", "model")


def load_checkpoint(
    path: str | os.PathLike, *, device: str = "cpu"
) -> tuple[dict[str, Any], torch.nn.Module]:
    """The checkpoint's contents and its model (eval mode, on ``device``), validated."""
    source = Path(path)
    if not source.is_file():
        raise BundleError(f"{source}: no such checkpoint.{nearest_path(source)}")
    try:
        state = torch.load(source, map_location="cpu", weights_only=True)
    except (RuntimeError, EOFError, KeyError, ValueError, pickle.UnpicklingError) as err:
        raise BundleError(
            f"{source}: not a torch checkpoint, or a damaged one "
            f"({type(err).__name__}); use the best.ckpt or last.ckpt of a `craftvision train` run"
        ) from err
    missing = [k for k in REQUIRED_KEYS if not isinstance(state, dict) or k not in state]
    if missing:
        raise BundleError(
            f"{source}: not a craftvision checkpoint (missing {', '.join(missing)}); "
            "use the best.ckpt or last.ckpt of a `craftvision train` run"
        )
    spec = PreprocessSpec.from_dict(state["preprocess"])
    model = create_model(
        state["architecture"], num_classes=len(state["classes"]), in_chans=spec.in_chans
    )
    model.load_state_dict(state["model"])
    return state, model.eval().to(resolve_device(device))


def checkpoint_metadata(state: dict[str, Any], name: str) -> BundleMetadata:
    """What a bundle exported from ``state`` would say, before calibration (temperature 1)."""
    config = state["config"]
    return BundleMetadata(
        name=name,
        modality=config.get("modality", "fibre"),
        classes=tuple(state["classes"]),
        genuine_class=state["genuine_class"],
        preprocess=PreprocessSpec.from_dict(state["preprocess"]),
        architecture=state["architecture"],
        threshold=config.get("threshold", BundleMetadata.threshold),
    )


class CheckpointInspector(Inspector):
    """An :class:`Inspector` whose engine is the checkpoint's torch model.

    Args:
        checkpoint: path of a ``.ckpt`` written by ``craftvision train``.
        threshold, batch_size, num_threads: as for :class:`Inspector`.
        device: ``"auto"``, ``"cpu"`` or ``"cuda"``.
    """

    def __init__(
        self,
        checkpoint: str | os.PathLike,
        *,
        threshold: float | None = None,
        device: str = "auto",
        batch_size: int = 32,
        num_threads: int | None = None,
    ) -> None:
        self.path = Path(checkpoint)
        self.state, self.net = load_checkpoint(self.path, device=device)
        self.device = next(self.net.parameters()).device
        metadata = checkpoint_metadata(self.state, self.path.stem)
        self._configure(metadata, threshold, batch_size, num_threads)

    def run(self, batch: np.ndarray, *, alone: bool = True) -> tuple[np.ndarray, None]:
        """Class probabilities (temperature 1) for a preprocessed batch; no OOD scores (torch
        sets its own threads, whether or not the run is ``alone``)."""
        inputs = torch.from_numpy(np.ascontiguousarray(batch, np.float32)).to(self.device)
        with torch.inference_mode():
            logits = self.net(inputs).float().cpu().numpy()
        return softmax(logits, self.metadata.temperature), None
