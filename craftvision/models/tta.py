"""Test-time augmentation inside the model: the classifier sees each input in the 8 orientations
of the square (4 quarter turns, each also mirrored) and averages its pooled features, so a linear
head's logits are the mean of the 8 views' logits.

Fibres, threads and stitches have no preferred orientation in a photo, and the models are trained
on every rotation and flip, so the average of the views is a steadier estimate than any one of
them. The views are part of the exported ONNX graph: every runtime that runs the bundle gets
them, and the temperature, the out-of-distribution guard and the test metrics are all fitted and
measured on the averaged model.

Example:
    >>> import timm, torch
    >>> import craftvision.models.craftnet  # registers craftnet_s
    >>> backbone = timm.create_model("craftnet_s", num_classes=3)
    >>> net = with_test_time_augmentation(backbone, "dihedral")
    >>> x = torch.rand(2, 3, 64, 64)
    >>> torch.allclose(net.eval()(x), net(torch.rot90(x, 1, dims=(2, 3))), atol=1e-5)
    True
"""

from __future__ import annotations

import torch

from craftvision.errors import ConfigError
from craftvision.models.bundle import TEST_TIME_AUGMENTATIONS
from craftvision.suggest import unknown_choice

VIEWS = 8


class DihedralViews(torch.nn.Module):
    """A timm classifier averaged over the 8 rotations and mirror images of its (square) input.

    Exposes the timm interface the rest of craftvision uses (``forward_features``,
    ``forward_head(pre_logits=...)``, ``get_classifier``).
    """

    def __init__(self, model: torch.nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward_features(self, images: torch.Tensor) -> torch.Tensor:
        """The backbone's feature maps of all 8 views, stacked view by view along the batch.

        The views are the image and its transpose, each as is and flipped vertically,
        horizontally and both ways (flips and transposes export to ONNX; rotations do not).
        """
        views = []
        for image in (images, images.transpose(2, 3)):
            views += [image, image.flip(2), image.flip(3), image.flip(2, 3)]
        return self.model.forward_features(torch.cat(views))

    def forward_head(self, features: torch.Tensor, pre_logits: bool = False) -> torch.Tensor:
        """Pool each view, average the views, then classify (unless ``pre_logits``)."""
        pooled = self.model.forward_head(features, pre_logits=True)
        pooled = pooled.reshape(VIEWS, -1, pooled.shape[-1]).mean(0)
        return pooled if pre_logits else self.model.get_classifier()(pooled)

    def get_classifier(self) -> torch.nn.Module:
        return self.model.get_classifier()

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.forward_head(self.forward_features(images))


def check_test_time_augmentation(name: str) -> None:
    """Refuse an unknown test-time augmentation, suggesting the nearest one."""
    if name not in TEST_TIME_AUGMENTATIONS:
        raise ConfigError(unknown_choice("test-time augmentation", name, TEST_TIME_AUGMENTATIONS))


def with_test_time_augmentation(model: torch.nn.Module, name: str) -> torch.nn.Module:
    """``model`` wrapped for test-time augmentation ``name`` (``"none"`` returns it as is)."""
    check_test_time_augmentation(name)
    return model if name == "none" else DihedralViews(model)
