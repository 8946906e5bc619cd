"""The torch ``Dataset`` over manifest records: read, ``spec.resize``, augment, ``spec.normalize``.

Example:
    >>> from craftvision.preprocess import PreprocessSpec
    >>> ds = ImageDataset(records, ["pashmina", "wool"], PreprocessSpec())   # doctest: +SKIP
    >>> tensor, target = ds[0]                                              # doctest: +SKIP
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
from craftvision.imageio import read_image
from craftvision.preprocess import PreprocessSpec


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
        return self.spec.resize(read_image(record.path))

    def __len__(self) -> int:
        return len(self.records)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, int]:
        record = self.records[index]
        image = self._resized[index] if self._resized is not None else self._load(record)
        if self.augment is not None:
            image = self.augment(image=image)["image"]
        return torch.from_numpy(self.spec.normalize(image)), self.class_index[record.label]

    def unaugmented(self) -> ImageDataset:
        """The same records (and cache) without augmentation, for evaluation passes."""
        plain = copy.copy(self)
        plain.augment = None
        return plain

    def targets(self) -> list[int]:
        """Class index of every record, in order."""
        return [self.class_index[r.label] for r in self.records]


def seed_worker(_: int) -> None:
    """DataLoader ``worker_init_fn``: give each worker's augmentation its own reproducible seed."""
    info = get_worker_info()
    dataset = info.dataset if info is not None else None
    if isinstance(dataset, ImageDataset) and dataset.augment is not None:
        dataset.augment.set_random_seed(torch.initial_seed() % 2**32)
