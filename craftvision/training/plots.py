"""Training plots (matplotlib, headless), written atomically as PNG.

Example:
    >>> plot_confusion_matrix([[9, 1], [0, 10]], ["pashmina", "wool"], "cm.png")   # doctest: +SKIP
"""

from __future__ import annotations

import io
import os
from collections.abc import Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

from craftvision.atomic import atomic_write_bytes


def save_figure(figure: plt.Figure, path: str | os.PathLike, *, dpi: int = 110) -> Path:
    """Lay out, write atomically as PNG, and close ``figure``."""
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=dpi)
    plt.close(figure)
    return atomic_write_bytes(path, buffer.getvalue())


def plot_confusion_matrix(
    matrix: Sequence[Sequence[int]],
    classes: Sequence[str],
    path: str | os.PathLike,
    *,
    title: str = "",
) -> Path:
    """Confusion matrix with counts and row-normalised shading."""
    counts = [list(row) for row in matrix]
    shares = [[v / max(1, sum(row)) for v in row] for row in counts]
    size = 1.2 + 0.9 * len(classes)
    figure, axes = plt.subplots(figsize=(size + 1.2, size))
    image = axes.imshow(shares, cmap="Blues", vmin=0, vmax=1)
    axes.set_xticks(range(len(classes)), classes, rotation=30, ha="right")
    axes.set_yticks(range(len(classes)), classes)
    axes.set_xlabel("predicted")
    axes.set_ylabel("true")
    axes.set_title(title or "confusion matrix (test split)")
    for row, values in enumerate(counts):
        for col, value in enumerate(values):
            colour = "white" if shares[row][col] > 0.5 else "black"
            axes.text(col, row, str(value), ha="center", va="center", color=colour)
    figure.colorbar(image, ax=axes, fraction=0.046, pad=0.04, label="share of true class")
    return save_figure(figure, path)


def plot_learning_curves(history: Sequence[dict[str, float]], path: str | os.PathLike) -> Path:
    """Training loss and validation (balanced) accuracy per epoch, side by side."""
    epochs = [row["epoch"] for row in history]
    figure, (loss_axes, score_axes) = plt.subplots(1, 2, figsize=(9, 3.4))
    loss_axes.plot(epochs, [row["train_loss"] for row in history], marker="o", ms=3)
    loss_axes.set_title("training loss")
    for key, label in (("val_accuracy", "accuracy"), ("val_balanced_accuracy", "balanced")):
        score_axes.plot(epochs, [row[key] for row in history], marker="o", ms=3, label=label)
    score_axes.set_title("validation")
    score_axes.set_ylim(0, 1.01)
    score_axes.legend(loc="lower right")
    for axes in (loss_axes, score_axes):
        axes.set_xlabel("epoch")
        axes.grid(alpha=0.3)
    return save_figure(figure, path)
