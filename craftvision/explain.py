"""What drove a prediction: occlusion sensitivity through any :class:`Inspector` (torch-free),
and the heatmap overlays shared with Grad-CAM (:mod:`craftvision.training.gradcam`).

Occlusion blurs one patch of the model input at a time (a blur removes texture such as cuticle
scales or thread twist but keeps colour and layout), runs all the occluded copies in batches
through :meth:`Inspector.run`, and records how much the explained class's log-odds fall. The
heatmap is mapped back from the letterboxed input to the photo's own pixels.

Example:
    >>> from craftvision import Inspector, read_image
    >>> image = read_image("samples/fibre/wool_1.png")                      # doctest: +SKIP
    >>> explanation = occlusion(Inspector("fibre"), image)                  # doctest: +SKIP
    >>> save_explanation(image, explanation, "heat.png")                    # doctest: +SKIP
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from craftvision.atomic import atomic_write_bytes
from craftvision.errors import ConfigError
from craftvision.inspector import Inspector
from craftvision.preprocess import PreprocessSpec
from craftvision.suggest import unknown_choice

MIN_SIDE = 320  # small photos (a 100x40 fibre strip) are enlarged to this in the PNG
MAX_SIDE = 1600  # and large fields reduced to this
CAPTION_HEIGHT = 28


@dataclass(frozen=True)
class Explanation:
    """A heatmap in [0, 1] at the photo's size (H, W), and what it explains."""

    heatmap: np.ndarray
    method: str
    target: str
    target_probability: float
    predicted: str
    confidence: float


def target_index(classes: tuple[str, ...], probabilities: np.ndarray, target: str | None) -> int:
    """The class to explain: ``target`` by name, else the predicted one."""
    if target is None:
        return int(np.argmax(probabilities))
    if target not in classes:
        raise ConfigError(unknown_choice("class", target, classes))
    return classes.index(target)


def _log_odds(probabilities: np.ndarray, index: int) -> np.ndarray:
    """log p(target) - log p(strongest other class), row-wise; it does not saturate near 1."""
    logs = np.log(np.maximum(probabilities, 1e-300))
    others = np.delete(logs, index, axis=1).max(axis=1)
    return logs[:, index] - others


def build_explanation(
    inspector: Inspector,
    image_shape: tuple[int, ...],
    input_heatmap: np.ndarray,
    probabilities: np.ndarray,
    index: int,
    method: str,
) -> Explanation:
    """Package a heatmap over the model input (S, S) as an :class:`Explanation` of the photo."""
    classes = inspector.classes
    best = int(np.argmax(probabilities))
    return Explanation(
        heatmap=to_photo(input_heatmap, inspector.metadata.preprocess, image_shape[:2]),
        method=method,
        target=classes[index],
        target_probability=float(probabilities[index]),
        predicted=classes[best],
        confidence=float(probabilities[best]),
    )


def to_photo(heatmap: np.ndarray, spec: PreprocessSpec, shape: tuple[int, int]) -> np.ndarray:
    """Crop the letterboxed photo's area out of an input-sized heatmap, resize it to the photo,
    and scale it to [0, 1]."""
    top, left, height, width = spec.letterbox_box(*shape)
    crop = np.ascontiguousarray(heatmap[top : top + height, left : left + width], np.float32)
    resized = cv2.resize(crop, (shape[1], shape[0]), interpolation=cv2.INTER_LINEAR)
    resized = np.maximum(resized, 0)
    peak = float(resized.max())
    return resized / peak if peak > 0 else resized


def occlusion(
    inspector: Inspector,
    image: np.ndarray,
    *,
    target: str | None = None,
    patch: int | None = None,
    stride: int | None = None,
) -> Explanation:
    """Occlusion sensitivity of ``image`` (RGB uint8) for ``target`` (default: the predicted
    class). ``patch`` defaults to 1/8 of the input side and ``stride`` to half a patch."""
    spec = inspector.metadata.preprocess
    size = spec.input_size
    patch = patch or max(2, size // 8)
    stride = stride or max(1, patch // 2)
    resized = spec.resize(image)
    tensor = spec.normalize(resized)
    blurred = spec.normalize(cv2.GaussianBlur(resized, (0, 0), sigmaX=patch / 2))
    probabilities = inspector.run(tensor[None])[0][0]
    index = target_index(inspector.classes, probabilities, target)
    reference = _log_odds(probabilities[None], index)[0]
    starts = sorted({*range(0, size - patch + 1, stride), size - patch})
    corners = [(y, x) for y in starts for x in starts]
    heat = np.zeros((size, size), np.float64)
    covered = np.zeros((size, size), np.float64)
    for first in range(0, len(corners), inspector.batch_size):
        chunk = corners[first : first + inspector.batch_size]
        batch = np.repeat(tensor[None], len(chunk), axis=0)
        for row, (y, x) in enumerate(chunk):
            batch[row, :, y : y + patch, x : x + patch] = blurred[:, y : y + patch, x : x + patch]
        drops = reference - _log_odds(inspector.run(batch)[0], index)
        for (y, x), drop in zip(chunk, drops, strict=True):
            heat[y : y + patch, x : x + patch] += max(float(drop), 0.0)
            covered[y : y + patch, x : x + patch] += 1
    smooth = cv2.GaussianBlur((heat / covered).astype(np.float32), (0, 0), sigmaX=stride / 2)
    return build_explanation(inspector, image.shape, smooth, probabilities, index, "occlusion")


def overlay(image: np.ndarray, heatmap: np.ndarray, *, alpha: float = 0.5) -> np.ndarray:
    """The photo with the heatmap blended in (jet colours, hot = drove the prediction)."""
    colours = cv2.applyColorMap(np.uint8(np.round(heatmap * 255)), cv2.COLORMAP_JET)[:, :, ::-1]
    weight = alpha * heatmap[:, :, None]
    return np.uint8(np.round(image * (1 - weight) + colours * weight))


def save_explanation(image: np.ndarray, explained: Explanation, path: str | os.PathLike) -> Path:
    """Write the photo and its overlay side by side under a caption, as PNG (atomically)."""
    scale = min(max(1.0, MIN_SIDE / min(image.shape[:2])), MAX_SIDE / max(image.shape[:2]))
    size = (round(image.shape[1] * scale), round(image.shape[0] * scale))
    photo = cv2.resize(image, size, interpolation=cv2.INTER_LINEAR)
    heat = cv2.resize(explained.heatmap, size, interpolation=cv2.INTER_LINEAR)
    panels = np.concatenate(
        [photo, np.full((size[1], 8, 3), 255, np.uint8), overlay(photo, heat)], 1
    )
    caption = np.full((CAPTION_HEIGHT, panels.shape[1], 3), 255, np.uint8)
    text = (
        f"{explained.method}: {explained.target} ({explained.target_probability:.3f}); "
        f"predicted {explained.predicted} ({explained.confidence:.3f})"
    )
    cv2.putText(caption, text, (6, 19), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (0, 0, 0), 1, cv2.LINE_AA)
    ok, encoded = cv2.imencode(".png", np.concatenate([caption, panels])[:, :, ::-1])
    if not ok:
        raise OSError(f"{path}: could not encode the PNG")
    return atomic_write_bytes(path, encoded.tobytes())
