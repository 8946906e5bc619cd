"""Grad-CAM (Selvaraju et al., 2017) from a checkpoint: the last convolutional feature map,
weighted by the gradient of the explained class's logit, as a heatmap of the photo.

Example:
    >>> from craftvision import read_image
    >>> inspector = CheckpointInspector("runs/fibre/best.ckpt")              # doctest: +SKIP
    >>> explanation = grad_cam(inspector, read_image("fibre.png"))          # doctest: +SKIP
"""

from __future__ import annotations

import cv2
import numpy as np
import torch

from craftvision.errors import ConfigError
from craftvision.explain import Explanation, build_explanation, target_index
from craftvision.inspector import softmax
from craftvision.training.checkpoint import CheckpointInspector


def grad_cam(
    inspector: CheckpointInspector, image: np.ndarray, *, target: str | None = None
) -> Explanation:
    """Grad-CAM of ``image`` (RGB uint8) for ``target`` (default: the predicted class)."""
    spec = inspector.metadata.preprocess
    net = inspector.net
    batch = torch.from_numpy(spec(image))[None].to(inspector.device)
    with torch.enable_grad():
        features = net.forward_features(batch)
        if features.ndim != 4:
            architecture = inspector.metadata.architecture
            raise ConfigError(
                f"Grad-CAM needs a convolutional feature map, and {architecture} gives tokens; "
                "use --method occlusion"
            )
        features.retain_grad()
        logits = net.forward_head(features)
        probabilities = softmax(logits.detach().cpu().numpy(), inspector.metadata.temperature)[0]
        index = target_index(inspector.classes, probabilities, target)
        logits[0, index].backward()
    weights = features.grad.mean(dim=(2, 3), keepdim=True)
    cam = torch.relu((weights * features).sum(dim=1))[0].detach().cpu().numpy()
    size = spec.input_size
    heat = cv2.resize(cam.astype(np.float32), (size, size), interpolation=cv2.INTER_LINEAR)
    return build_explanation(inspector, image.shape, heat, probabilities, index, "grad-cam")
