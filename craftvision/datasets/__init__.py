"""Datasets: manifests, sample-grouped splits, augmentation presets, renderers, the torch Dataset.

``manifest``, ``splits`` and ``synth`` are torch-free; ``augment`` needs albumentations and
``image_dataset`` needs torch.

Example:
    >>> from craftvision.datasets import load_manifest, split_by_sample
    >>> splits = split_by_sample(load_manifest("data/fibre").records)   # doctest: +SKIP
"""

from craftvision.datasets.manifest import Manifest, Record, load_manifest
from craftvision.datasets.splits import Splits, split_by_sample
from craftvision.types import MODALITIES

__all__ = [
    "MODALITIES",
    "Manifest",
    "Record",
    "Splits",
    "load_manifest",
    "split_by_sample",
]
