"""Evaluation plots (matplotlib, headless): ROC and precision-recall curves, the reliability
diagram, and a contact sheet of images, each written atomically as PNG.

Example:
    >>> plot_reliability(report["calibration"], "reliability.png")   # doctest: +SKIP
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from craftvision.training.plots import plt, save_figure


def plot_roc_pr(
    roc: dict[str, Any] | None,
    pr: dict[str, Any] | None,
    path: str | os.PathLike,
    *,
    positive: str,
) -> Path:
    """ROC (with its ``auc``) and precision-recall curves of ``positive`` (genuine) vs the rest."""
    figure, (roc_axes, pr_axes) = plt.subplots(1, 2, figsize=(9, 4))
    if roc is not None:
        roc_axes.plot(roc["fpr"], roc["tpr"], lw=2, label=f"AUC {roc['auc']:.4f}")
        roc_axes.legend(loc="lower right")
    roc_axes.plot([0, 1], [0, 1], ls="--", c="grey", lw=1)
    roc_axes.set(xlabel="false positive rate", ylabel="true positive rate", title="ROC")
    if pr is not None:
        label = f"AP {pr['average_precision']:.4f}"
        pr_axes.step(pr["recall"], pr["precision"], where="post", lw=2, label=label)
        pr_axes.legend(loc="lower left")
    pr_axes.set(xlabel="recall", ylabel="precision", title="precision-recall", ylim=(0, 1.02))
    for axes in (roc_axes, pr_axes):
        axes.grid(alpha=0.3)
    figure.suptitle(f"{positive} (genuine) vs imitation")
    return save_figure(figure, path)


def plot_reliability(calibration: dict[str, Any], path: str | os.PathLike) -> Path:
    """Reliability diagram: accuracy against confidence per bin, and the images in each bin."""
    bins = calibration["bins"]
    width = 1.0 / calibration["n_bins"]
    lows = [b["low"] for b in bins]
    figure, (axes, counts) = plt.subplots(
        2, 1, figsize=(5, 5.4), sharex=True, gridspec_kw={"height_ratios": [3, 1]}
    )
    axes.bar(lows, [b["accuracy"] for b in bins], width, align="edge", ec="black", label="accuracy")
    axes.bar(
        lows,
        [b["confidence"] - b["accuracy"] for b in bins],
        width,
        bottom=[b["accuracy"] for b in bins],
        align="edge",
        color="tab:red",
        alpha=0.35,
        label="gap to confidence",
    )
    axes.plot([0, 1], [0, 1], ls="--", c="grey", lw=1)
    axes.set(ylabel="accuracy", ylim=(0, 1), title=f"reliability (ECE {calibration['ece']:.4f})")
    axes.legend(loc="upper left")
    counts.bar(lows, [b["count"] for b in bins], width, align="edge", color="grey")
    counts.set(xlabel="confidence", ylabel="images", xlim=(0, 1))
    return save_figure(figure, path)


def plot_contact_sheet(
    images: Sequence[np.ndarray],
    captions: Sequence[str],
    path: str | os.PathLike,
    *,
    title: str,
    columns: int = 4,
) -> Path:
    """A grid of RGB images with a caption under each (an empty list gives a note instead)."""
    rows = max(1, math.ceil(len(images) / columns))
    figure, grid = plt.subplots(rows, columns, figsize=(2.1 * columns, 2.4 * rows), squeeze=False)
    for axes in grid.flat:
        axes.axis("off")
    for axes, image, caption in zip(grid.flat, images, captions, strict=False):
        axes.imshow(image, interpolation="nearest")
        axes.set_title(caption, fontsize=8)
    if not images:
        grid[0, 0].text(0, 0.5, "no mistakes", fontsize=14)
    figure.suptitle(title)
    return save_figure(figure, path)
