"""Classifier backbones over timm; never downloads weights.

Example:
    >>> net = create_model("craftnet_s", num_classes=4, in_chans=3)
    >>> sum(p.numel() for p in net.parameters()) > 0
    True
"""

from __future__ import annotations

import os
from pathlib import Path

import timm
import torch

import craftvision.models.craftnet  # noqa: F401  (registers craftnet_* in timm)
from craftvision.errors import ConfigError
from craftvision.suggest import unknown_choice

DEFAULT_ARCHITECTURE = "craftnet_s"


def create_model(
    name: str = DEFAULT_ARCHITECTURE,
    *,
    num_classes: int,
    in_chans: int = 3,
    pretrained: str | os.PathLike | None = None,
) -> torch.nn.Module:
    """Build any timm architecture with a fresh ``num_classes`` head.

    ``pretrained`` is a local file (a timm-compatible state dict saved by torch, or safetensors);
    its classifier weights are dropped when the class count differs. Nothing is fetched from the
    network.
    """
    if not timm.is_model(name):
        raise ConfigError(unknown_choice("timm model", name, timm.list_models()))
    model = timm.create_model(name, pretrained=False, num_classes=num_classes, in_chans=in_chans)
    if pretrained is not None:
        load_pretrained(model, pretrained)
    return model


def load_pretrained(model: torch.nn.Module, path: str | os.PathLike) -> None:
    """Load local weights into ``model``, skipping tensors whose shapes differ (the new head)."""
    file = Path(path)
    if not file.is_file():
        raise ConfigError(f"{file}: no such weights file")
    if file.suffix == ".safetensors":
        from safetensors.torch import load_file

        state = load_file(str(file))
    else:
        state = torch.load(file, map_location="cpu", weights_only=True)
        state = state.get("state_dict", state.get("model", state))
    own = model.state_dict()
    compatible = {k: v for k, v in state.items() if k in own and own[k].shape == v.shape}
    if not compatible:
        raise ConfigError(f"{file}: no tensor matches the architecture; is it for another model?")
    model.load_state_dict(compatible, strict=False)
