"""Out-of-distribution guard: a feature-space distance carried inside the exported model.

The guard is probabilistic PCA on the classifier's pre-logit features of the training images:
the top-k principal directions are whitened, the rest share one residual variance, and the
score of an image is its squared Mahalanobis distance to the nearest class mean. The threshold
is the 99.5th percentile of the validation scores, so about 1 in 200 in-distribution images is
flagged, while photos unlike anything the model was trained on (a real machine-made fabric, a
blank slide, a weave photo given to the fibre model) score far above it. The exported ONNX
graph outputs ``ood_score`` beside ``logits``; the bundle stores the threshold.

Example:
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> feats = rng.normal(size=(400, 16)); labels = rng.integers(0, 2, 400)
    >>> guard = fit_guard(feats, labels, feats[:100])
    >>> bool(guard.score(feats[:5] + 50).min() > guard.threshold)
    True
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

THRESHOLD_QUANTILE = 0.995


@dataclass(frozen=True)
class FeatureGuard:
    """Fitted guard parameters (numpy) and its threshold."""

    mean: np.ndarray  # (D,)
    components: np.ndarray  # (D, k) principal directions
    scale: np.ndarray  # (k,) 1 / sqrt(eigenvalue)
    class_means: np.ndarray  # (C, k) in whitened coordinates
    residual_variance: float
    threshold: float

    def score(self, features: np.ndarray) -> np.ndarray:
        """Squared Mahalanobis distance of each feature row to the nearest class mean."""
        centred = features - self.mean
        projected = centred @ self.components
        whitened = projected * self.scale
        nearest = ((whitened[:, None, :] - self.class_means[None]) ** 2).sum(-1).min(1)
        residual = ((centred - projected @ self.components.T) ** 2).sum(1)
        return nearest + residual / self.residual_variance


def fit_guard(
    features: np.ndarray, labels: np.ndarray, validation_features: np.ndarray, *, k: int = 32
) -> FeatureGuard:
    """Fit on training features (N, D) and labels; threshold from the validation features."""
    features = features.astype(np.float64)
    mean = features.mean(0)
    centred = features - mean
    _, singular, vt = np.linalg.svd(centred, full_matrices=False)
    variance = singular**2 / max(1, len(features) - 1)
    k = max(1, min(k, len(variance) - 1))
    floor = max(float(variance[0]) * 1e-6, 1e-12)
    components = vt[:k].T
    scale = 1.0 / np.sqrt(np.maximum(variance[:k], floor))
    residual_variance = max(float(variance[k:].mean()) if len(variance) > k else floor, floor)
    whitened = (centred @ components) * scale
    class_means = np.stack([whitened[labels == c].mean(0) for c in np.unique(labels)])
    guard = FeatureGuard(mean, components, scale, class_means, residual_variance, 0.0)
    threshold = float(
        np.quantile(guard.score(validation_features.astype(np.float64)), THRESHOLD_QUANTILE)
    )
    return FeatureGuard(mean, components, scale, class_means, residual_variance, threshold)


def pre_logits(model: torch.nn.Module, images: torch.Tensor) -> torch.Tensor:
    """A timm model's pooled features, just before its classifier."""
    return model.forward_head(model.forward_features(images), pre_logits=True)


class GuardedClassifier(torch.nn.Module):
    """Wrap a timm classifier so that it returns ``(logits, ood_score)`` in one pass."""

    def __init__(self, model: torch.nn.Module, guard: FeatureGuard) -> None:
        super().__init__()
        self.model = model
        for name in ("mean", "components", "scale", "class_means"):
            value = torch.as_tensor(np.asarray(getattr(guard, name)), dtype=torch.float32)
            self.register_buffer(name, value)
        self.residual_variance = float(guard.residual_variance)

    def forward(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        features = pre_logits(self.model, images)
        logits = self.model.get_classifier()(features)
        centred = features - self.mean
        projected = centred @ self.components
        whitened = projected * self.scale
        distances = ((whitened.unsqueeze(1) - self.class_means.unsqueeze(0)) ** 2).sum(-1)
        residual = ((centred - projected @ self.components.T) ** 2).sum(1)
        return logits, distances.min(1).values + residual / self.residual_variance
