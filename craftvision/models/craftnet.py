"""``craftnet``: a small plain CNN registered in timm, the default backbone on CPU.

Stride-2 3x3 conv stages with BatchNorm and ReLU, global average pooling and a linear head. It
trains several times faster per epoch-to-accuracy than depthwise mobile nets on a 2-core CPU,
and exposes timm's interface (``forward_features``, ``forward_head(pre_logits=...)``,
``get_classifier``, ``reset_classifier``) so every craftvision tool works with it.

Example:
    >>> import timm, torch
    >>> import craftvision.models.craftnet  # registers the models
    >>> net = timm.create_model("craftnet_s", num_classes=4)
    >>> net(torch.zeros(2, 3, 128, 128)).shape
    torch.Size([2, 4])
"""

from __future__ import annotations

import torch
from timm.models import register_model
from torch import nn

# (out_channels, stride) per conv layer.
_CRAFTNET_S = ((32, 2), (32, 1), (48, 2), (64, 2), (64, 1), (96, 2), (128, 2))


def _conv(in_chans: int, out_chans: int, stride: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(in_chans, out_chans, 3, stride, 1, bias=False),
        nn.BatchNorm2d(out_chans),
        nn.ReLU(inplace=True),
    )


class CraftNet(nn.Module):
    """Plain CNN with timm's classifier interface."""

    def __init__(
        self,
        layers: tuple[tuple[int, int], ...] = _CRAFTNET_S,
        num_classes: int = 1000,
        in_chans: int = 3,
        drop_rate: float = 0.1,
        **_: object,
    ) -> None:
        super().__init__()
        stages, channels = [], in_chans
        for out_chans, stride in layers:
            stages.append(_conv(channels, out_chans, stride))
            channels = out_chans
        self.features = nn.Sequential(*stages)
        self.num_features = self.head_hidden_size = channels
        self.num_classes = num_classes
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.drop = nn.Dropout(drop_rate)
        self.fc = nn.Linear(channels, num_classes) if num_classes else nn.Identity()
        self.pretrained_cfg = {"architecture": "craftnet", "num_classes": num_classes}

    def get_classifier(self) -> nn.Module:
        """The final linear layer."""
        return self.fc

    def reset_classifier(self, num_classes: int, *_: object) -> None:
        """Replace the head for ``num_classes`` outputs."""
        self.num_classes = num_classes
        self.fc = nn.Linear(self.num_features, num_classes) if num_classes else nn.Identity()

    def forward_features(self, images: torch.Tensor) -> torch.Tensor:
        """Feature map before pooling."""
        return self.features(images)

    def forward_head(self, features: torch.Tensor, pre_logits: bool = False) -> torch.Tensor:
        """Pool (and drop out) the feature map; classify unless ``pre_logits``."""
        pooled = self.drop(self.pool(features).flatten(1))
        return pooled if pre_logits else self.fc(pooled)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.forward_head(self.forward_features(images))


@register_model
def craftnet_s(pretrained: bool = False, **kwargs: object) -> CraftNet:
    """craftnet small (~0.2 M parameters); ``pretrained`` must come from a local file."""
    return CraftNet(_CRAFTNET_S, **kwargs)
