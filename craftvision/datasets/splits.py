"""Train/validation/test splits that are stratified by class and grouped by physical sample.

No ``sample_id`` ever lands in two splits, so a model is never tested on another photo of a
sample it trained on.

Example:
    >>> from craftvision.datasets.manifest import Record
    >>> from pathlib import Path
    >>> recs = [Record(Path(f"{i}.png"), "ab"[i % 2], f"s{i // 2}") for i in range(40)]
    >>> splits = split_by_sample(recs, val_fraction=0.2, test_fraction=0.2, seed=0)
    >>> sorted(len(s) for s in (splits.train, splits.val, splits.test))
    [8, 8, 24]
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from craftvision.datasets.manifest import Record


@dataclass(frozen=True)
class Splits:
    """Three disjoint lists of records."""

    train: list[Record]
    val: list[Record]
    test: list[Record]


def split_by_sample(
    records: Sequence[Record],
    *,
    val_fraction: float = 0.15,
    test_fraction: float = 0.15,
    seed: int = 0,
) -> Splits:
    """Assign whole samples to splits, per class, in the given proportions.

    Each class with at least three samples contributes at least one sample to val and to test;
    a sample whose photos carry several labels is stratified by its most common label.
    """
    if not 0 <= val_fraction < 1 or not 0 <= test_fraction < 1 or val_fraction + test_fraction >= 1:
        raise ValueError("val_fraction and test_fraction must be in [0, 1) and sum to less than 1")
    by_sample: dict[str, list[Record]] = defaultdict(list)
    for record in records:
        by_sample[record.sample_id].append(record)
    samples_by_class: dict[str, list[str]] = defaultdict(list)
    for sample_id, members in sorted(by_sample.items()):
        label = Counter(r.label for r in members).most_common(1)[0][0]
        samples_by_class[label].append(sample_id)
    rng = np.random.default_rng(seed)
    parts: dict[str, list[Record]] = {"train": [], "val": [], "test": []}
    for label in sorted(samples_by_class):
        sample_ids = samples_by_class[label]
        order = rng.permutation(len(sample_ids))
        n_test, n_val = _counts(len(sample_ids), val_fraction, test_fraction)
        for rank, index in enumerate(order):
            split = "test" if rank < n_test else "val" if rank < n_test + n_val else "train"
            parts[split].extend(by_sample[sample_ids[index]])
    return Splits(**parts)


def _counts(n_samples: int, val_fraction: float, test_fraction: float) -> tuple[int, int]:
    n_test = round(n_samples * test_fraction)
    n_val = round(n_samples * val_fraction)
    if n_samples >= 3:
        n_test = max(n_test, 1 if test_fraction > 0 else 0)
        n_val = max(n_val, 1 if val_fraction > 0 else 0)
    while n_test + n_val >= n_samples and n_test + n_val > 0:
        if n_val >= n_test:
            n_val -= 1
        else:
            n_test -= 1
    return n_test, n_val
