"""Classification metrics in numpy: accuracy, balanced accuracy, per-class scores, ROC-AUC, and
the ROC and precision-recall curves of genuine vs imitation.

Example:
    >>> import numpy as np
    >>> probs = np.array([[0.9, 0.1], [0.2, 0.8], [0.6, 0.4]])
    >>> m = classification_metrics(np.array([0, 1, 1]), probs, ["pashmina", "wool"], "pashmina")
    >>> round(m["balanced_accuracy"], 3), m["roc_auc"]
    (0.75, 1.0)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np


def confusion_matrix(targets: np.ndarray, predicted: np.ndarray, n_classes: int) -> np.ndarray:
    """Counts with true classes as rows and predicted classes as columns."""
    matrix = np.zeros((n_classes, n_classes), np.int64)
    np.add.at(matrix, (targets, predicted), 1)
    return matrix


def roc_auc(is_positive: np.ndarray, scores: np.ndarray) -> float | None:
    """Area under the ROC curve via the rank-sum statistic (ties averaged); None if one class."""
    n_pos = int(is_positive.sum())
    n_neg = len(is_positive) - n_pos
    if n_pos == 0 or n_neg == 0:
        return None
    order = np.argsort(scores, kind="mergesort")
    ranks = np.empty(len(scores), np.float64)
    sorted_scores = scores[order]
    start = 0
    while start < len(scores):
        stop = start
        while stop + 1 < len(scores) and sorted_scores[stop + 1] == sorted_scores[start]:
            stop += 1
        ranks[order[start : stop + 1]] = (start + stop) / 2 + 1
        start = stop + 1
    return float((ranks[is_positive].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def classification_metrics(
    targets: np.ndarray, probabilities: np.ndarray, classes: Sequence[str], genuine_class: str
) -> dict[str, Any]:
    """Accuracy, balanced accuracy, per-class precision/recall/F1, confusion matrix, and the
    genuine-vs-imitation ROC-AUC of the genuine class's probability."""
    targets = np.asarray(targets, np.int64)
    predicted = probabilities.argmax(axis=1)
    matrix = confusion_matrix(targets, predicted, len(classes))
    support = matrix.sum(axis=1)
    claimed = matrix.sum(axis=0)
    diagonal = np.diag(matrix).astype(np.float64)
    recall = np.divide(diagonal, support, out=np.zeros_like(diagonal), where=support > 0)
    precision = np.divide(diagonal, claimed, out=np.zeros_like(diagonal), where=claimed > 0)
    f1 = np.divide(
        2 * precision * recall,
        precision + recall,
        out=np.zeros_like(diagonal),
        where=precision + recall > 0,
    )
    genuine = list(classes).index(genuine_class)
    return {
        "n": len(targets),
        "accuracy": float((predicted == targets).mean()) if len(targets) else 0.0,
        "balanced_accuracy": float(recall[support > 0].mean()) if support.any() else 0.0,
        "roc_auc": roc_auc(targets == genuine, probabilities[:, genuine]),
        "per_class": {
            name: {
                "precision": float(precision[i]),
                "recall": float(recall[i]),
                "f1": float(f1[i]),
                "support": int(support[i]),
            }
            for i, name in enumerate(classes)
        },
        "confusion_matrix": matrix.tolist(),
    }


def _ranked_counts(is_positive: np.ndarray, scores: np.ndarray) -> tuple[np.ndarray, ...]:
    """True and false positives at each distinct score, highest first, with the scores."""
    order = np.argsort(-scores, kind="mergesort")
    ranked, positive = scores[order], is_positive[order].astype(np.int64)
    last_of_tie = np.r_[np.flatnonzero(np.diff(ranked)), len(ranked) - 1]
    true_pos = np.cumsum(positive)[last_of_tie]
    false_pos = last_of_tie + 1 - true_pos
    return true_pos, false_pos, ranked[last_of_tie]


def roc_curve(is_positive: np.ndarray, scores: np.ndarray) -> dict[str, list] | None:
    """False- and true-positive rates at every threshold, from (0, 0) to (1, 1); None if one
    class is missing."""
    true_pos, false_pos, thresholds = _ranked_counts(is_positive, scores)
    n_pos, n_neg = true_pos[-1], false_pos[-1]
    if n_pos == 0 or n_neg == 0:
        return None
    return {
        "fpr": [0.0, *(false_pos / n_neg).tolist()],
        "tpr": [0.0, *(true_pos / n_pos).tolist()],
        "thresholds": [None, *thresholds.tolist()],
    }


def precision_recall_curve(is_positive: np.ndarray, scores: np.ndarray) -> dict[str, Any] | None:
    """Precision and recall at every threshold, and the average precision (the step-wise area
    under the curve); None without positives.

    Example:
        >>> curve = precision_recall_curve(np.array([1, 0, 1]), np.array([0.9, 0.8, 0.3]))
        >>> round(curve["average_precision"], 3)
        0.833
    """
    true_pos, false_pos, thresholds = _ranked_counts(is_positive, scores)
    if len(true_pos) == 0 or true_pos[-1] == 0:
        return None
    precision = true_pos / (true_pos + false_pos)
    recall = true_pos / true_pos[-1]
    average_precision = float(np.sum(np.diff(np.r_[0.0, recall]) * precision))
    return {
        "precision": [1.0, *precision.tolist()],
        "recall": [0.0, *recall.tolist()],
        "thresholds": [None, *thresholds.tolist()],
        "average_precision": average_precision,
    }
