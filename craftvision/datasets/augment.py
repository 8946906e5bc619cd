"""Albumentations presets per modality, applied between ``spec.resize`` and ``spec.normalize``.

Fibre micrographs have no preferred orientation and their colour carries no class information
(a dyed imitation must not be spotted by hue), so the fibre preset rotates freely and changes
brightness, contrast, blur, noise and compression but never hue. Weave and stitch photos get
camera-pose, lighting and focus changes that keep the thread geometry intact.

Example:
    >>> import numpy as np
    >>> augment = augmentation_preset("fibre", seed=0)
    >>> augment(image=np.zeros((64, 64, 3), np.uint8))["image"].shape
    (64, 64, 3)
"""

from __future__ import annotations

from collections.abc import Callable

import albumentations as A
import cv2

from craftvision.errors import ConfigError
from craftvision.suggest import unknown_choice


def _fibre() -> list[A.BasicTransform]:
    return [
        A.RandomRotate90(p=1.0),
        A.Affine(rotate=(-180, 180), scale=(0.9, 1.1), border_mode=cv2.BORDER_REFLECT_101, p=0.7),
        A.HorizontalFlip(p=0.5),
        A.VerticalFlip(p=0.5),
        A.OneOf([A.GaussianBlur(blur_limit=(3, 5)), A.Defocus(radius=(1, 2))], p=0.25),
        A.RandomBrightnessContrast(brightness_limit=0.2, contrast_limit=0.25, p=0.7),
        A.RandomGamma(gamma_limit=(80, 120), p=0.3),
        A.GaussNoise(std_range=(0.01, 0.05), p=0.4),
        A.ImageCompression(quality_range=(60, 95), p=0.3),
    ]


def _textile() -> list[A.BasicTransform]:
    """Weave and stitch close-ups: camera pose, lighting and focus change; the geometry of the
    threads does not (no elastic or grid distortion, which would fake hand irregularity)."""
    return [
        A.RandomRotate90(p=1.0),
        A.HorizontalFlip(p=0.5),
        A.Affine(rotate=(-30, 30), scale=(0.8, 1.25), border_mode=cv2.BORDER_REFLECT_101, p=0.7),
        A.Perspective(scale=(0.02, 0.06), border_mode=cv2.BORDER_REFLECT_101, p=0.3),
        A.OneOf([A.GaussianBlur(blur_limit=(3, 5)), A.MotionBlur(blur_limit=(3, 5))], p=0.25),
        A.RandomBrightnessContrast(brightness_limit=0.25, contrast_limit=0.25, p=0.7),
        A.HueSaturationValue(hue_shift_limit=8, sat_shift_limit=20, val_shift_limit=0, p=0.3),
        A.RandomGamma(gamma_limit=(80, 120), p=0.3),
        A.GaussNoise(std_range=(0.01, 0.05), p=0.4),
        A.ImageCompression(quality_range=(60, 95), p=0.3),
    ]


PRESETS: dict[str, Callable[[], list[A.BasicTransform]]] = {
    "fibre": _fibre,
    "weave": _textile,
    "stitch": _textile,
}


def augmentation_preset(
    modality: str, *, seed: int | None = None, crop: int | None = None
) -> A.Compose:
    """The training augmentation pipeline for ``modality``, seeded for reproducibility.

    ``crop`` first cuts a random ``crop`` x ``crop`` window at full resolution, so a model can
    train on small windows of fine texture and still be evaluated on the whole input.
    """
    if modality not in PRESETS:
        raise ConfigError(unknown_choice("modality", modality, PRESETS))
    window = [A.RandomCrop(crop, crop, pad_if_needed=True, p=1.0)] if crop else []
    return A.Compose(window + PRESETS[modality](), seed=seed)
