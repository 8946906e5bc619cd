"""Temperature scaling (Guo et al., 2017) fitted on validation logits, and the expected
calibration error with its reliability bins, in numpy.

Example:
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> targets = rng.integers(0, 3, 500)
    >>> logits = np.eye(3)[targets] * 12 + rng.normal(0, 4, (500, 3))   # over-confident
    >>> fit_temperature(logits, targets) > 1
    True
"""

from __future__ import annotations

import math

import numpy as np


def negative_log_likelihood(logits: np.ndarray, targets: np.ndarray, temperature: float) -> float:
    """Mean NLL of ``softmax(logits / temperature)`` at the true classes."""
    scaled = logits.astype(np.float64) / temperature
    scaled -= scaled.max(axis=1, keepdims=True)
    log_norm = np.log(np.exp(scaled).sum(axis=1))
    return float((log_norm - scaled[np.arange(len(targets)), targets]).mean())


def fit_temperature(
    logits: np.ndarray, targets: np.ndarray, *, low: float = 0.05, high: float = 20.0
) -> float:
    """The temperature in ``[low, high]`` minimising validation NLL (golden-section search on
    log T; NLL is unimodal in T)."""
    if len(targets) == 0:
        return 1.0
    targets = np.asarray(targets, np.int64)
    a, b = math.log(low), math.log(high)
    ratio = (math.sqrt(5) - 1) / 2
    c, d = b - ratio * (b - a), a + ratio * (b - a)
    f_c = negative_log_likelihood(logits, targets, math.exp(c))
    f_d = negative_log_likelihood(logits, targets, math.exp(d))
    while b - a > 1e-4:
        if f_c < f_d:
            b, d, f_d = d, c, f_c
            c = b - ratio * (b - a)
            f_c = negative_log_likelihood(logits, targets, math.exp(c))
        else:
            a, c, f_c = c, d, f_d
            d = a + ratio * (b - a)
            f_d = negative_log_likelihood(logits, targets, math.exp(d))
    return math.exp((a + b) / 2)


def reliability(
    confidences: np.ndarray, correct: np.ndarray, *, n_bins: int = 15
) -> dict[str, object]:
    """Expected calibration error (Guo et al., 2017) over ``n_bins`` equal-width confidence
    bins, with each non-empty bin's count, mean confidence and accuracy.

    Example:
        >>> r = reliability(np.array([0.9, 0.9, 0.6, 0.6]), np.array([1, 1, 1, 0]))
        >>> round(r["ece"], 3)
        0.1
    """
    confidences = np.asarray(confidences, np.float64)
    correct = np.asarray(correct, np.float64)
    index = np.clip(np.ceil(confidences * n_bins).astype(np.int64) - 1, 0, n_bins - 1)
    bins, ece = [], 0.0
    for b in range(n_bins):
        members = index == b
        count = int(members.sum())
        if not count:
            continue
        confidence, accuracy = float(confidences[members].mean()), float(correct[members].mean())
        ece += count / len(confidences) * abs(accuracy - confidence)
        bins.append(
            {
                "low": b / n_bins,
                "high": (b + 1) / n_bins,
                "count": count,
                "confidence": confidence,
                "accuracy": accuracy,
            }
        )
    return {"ece": ece, "n_bins": n_bins, "bins": bins}
