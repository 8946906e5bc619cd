"""The torch ``Dataset`` over manifest records: read, ``spec.resize``, augment; then
``spec.normalize`` on whole batches.

Items are resized uint8 images: DataLoader workers only decode and augment, pass a quarter of the
bytes a float image would take, and the float pass runs once per batch in torch
(:func:`normalize_batch`), where the model runs.

Example:
    >>> from craftvision.preprocess import LUMA_WEIGHTS, PreprocessSpec
    >>> ds = ImageDataset(records, ["pashmina", "wool"], PreprocessSpec())   # doctest: +SKIP
    >>> pixels, target = ds[0]                                              # doctest: +SKIP
    >>> model_input = ds.model_input(pixels[None])                          # doctest: +SKIP
"""

from __future__ import annotations

import copy
import os
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

import albumentations as A
import numpy as np
import torch
from torch.utils.data import Dataset, get_worker_info

from craftvision.datasets.manifest import Record
from craftvision.preprocess import LUMA_WEIGHTS, PreprocessSpec


class ImageDataset(Dataset):
    """Images and class indices for training and evaluation.

    With ``cache=True`` every image is decoded and resized once, up front (in threads), and kept
    in memory; DataLoader workers then share the cache and only augment.
    """

    def __init__(
        self,
        records: Sequence[Record],
        classes: Sequence[str],
        spec: PreprocessSpec,
        augment: A.Compose | None = None,
        *,
        cache: bool = False,
    ) -> None:
        self.records = list(records)
        self.class_index = {name: i for i, name in enumerate(classes)}
        self.spec = spec
        self.augment = augment
        self._resized: list[np.ndarray] | None = None
        if cache:
            with ThreadPoolExecutor(os.cpu_count()) as pool:
                self._resized = list(pool.map(self._load, self.records))

    def _load(self, record: Record) -> np.ndarray:
        return self.spec.read(record.path)

    def __len__(self) -> int:
        return len(self.records)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, int]:
        """The resized (and augmented) uint8 (H, W, 3) image and its class index."""
        record = self.records[index]
        image = self._resized[index] if self._resized is not None else self._load(record)
        if self.augment is not None:
            image = self.augment(image=image)["image"]
        return torch.from_numpy(np.ascontiguousarray(image)), self.class_index[record.label]

    def model_input(self, images: torch.Tensor) -> torch.Tensor:
        """A batch of items (N, H, W, 3) uint8 as the model's float32 (N, C, H, W) input."""
        return normalize_batch(images, self.spec)

    def unaugmented(self) -> ImageDataset:
        """The same records (and cache) without augmentation, for evaluation passes."""
        plain = copy.copy(self)
        plain.augment = None
        return plain

    def targets(self) -> list[int]:
        """Class index of every record, in order."""
        return [self.class_index[r.label] for r in self.records]


def normalize_batch(images: torch.Tensor, spec: PreprocessSpec) -> torch.Tensor:
    """:meth:`PreprocessSpec.normalize` of a (N, H, W, 3) uint8 batch, in torch on its device.

    The (N, C, H, W) result keeps the batch's channels-last memory order, the order the trainer
    keeps its model in (convolutions on the CPU run faster in it), so no copy is made.

    Example:
        >>> batch = torch.zeros(2, 8, 8, 3, dtype=torch.uint8)
        >>> normalize_batch(batch, PreprocessSpec(input_size=8)).shape
        torch.Size([2, 3, 8, 8])
    """
    pixels = images.float() * (1.0 / 255.0)
    mean = torch.tensor(spec.mean, dtype=torch.float32, device=images.device)
    std = torch.tensor(spec.std, dtype=torch.float32, device=images.device)
    if spec.channels == "gray":
        luma = torch.tensor(LUMA_WEIGHTS, dtype=torch.float32, device=images.device)
        return ((pixels @ luma - mean.mean()) / std.mean()).unsqueeze(1)
    return ((pixels - mean) / std).permute(0, 3, 1, 2)


def seed_worker(_: int) -> None:
    """DataLoader ``worker_init_fn``: give each worker's augmentation its own reproducible seed."""
    info = get_worker_info()
    dataset = info.dataset if info is not None else None
    if isinstance(dataset, ImageDataset) and dataset.augment is not None:
        dataset.augment.set_random_seed(torch.initial_seed() % 2**32)
