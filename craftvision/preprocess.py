"""The one preprocessing spec: decided at training time, stored in the bundle, used everywhere.

Training and inference both read photos with :meth:`PreprocessSpec.read` (read and resize), then
call :meth:`PreprocessSpec.normalize` (training puts augmentation between the two, and normalizes
whole batches with its torch twin ``craftvision.datasets.image_dataset.normalize_batch``, which a
test holds equal), so the exported model sees exactly what it was trained on.

Example:
    >>> import numpy as np
    >>> spec = PreprocessSpec(input_size=64)
    >>> strip = np.full((40, 100, 3), 200, np.uint8)      # a narrow fibre strip
    >>> spec(strip).shape                                   # aspect kept, padded to a square
    (3, 64, 64)
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Literal

import cv2
import numpy as np

from craftvision.imageio import ImageSource, read_image

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
LUMA_WEIGHTS = (0.299, 0.587, 0.114)  # ITU-R BT.601: RGB to gray for `channels="gray"`
# Below this detail (grey levels, see :func:`detail_level`) a photo shows nothing to judge.
MIN_DETAIL = 1.5


def detail_level(image: np.ndarray) -> float:
    """How much fine detail an RGB uint8 image shows: the SD (grey levels) of its luma less its
    smooth shading (a Gaussian over a 32nd of its side).

    Blank, black or burnt-out frames show about 1 or less (sensor noise); of 270 renders of
    the three modalities, letterboxed to the shipped models' input sizes, the least showed 3.7
    (a dark embroidery), the medians 11 (fibre) to 40 (weave).

    Example:
        >>> blank = np.full((64, 64, 3), 255, np.uint8)
        >>> ramp = np.tile(np.arange(64, dtype=np.uint8)[:, None, None] * 4, (1, 64, 3))
        >>> detail_level(blank), detail_level(ramp) < MIN_DETAIL
        (0.0, True)
    """
    luma = image.astype(np.float32) @ np.array(LUMA_WEIGHTS, np.float32)
    shading = cv2.GaussianBlur(luma, (0, 0), max(image.shape[:2]) / 32)
    return float(np.std(luma - shading))


@dataclass(frozen=True)
class PreprocessSpec:
    """How an RGB uint8 image becomes the model's float32 input tensor.

    ``resize="letterbox"`` scales the longer side to ``input_size`` keeping the aspect ratio (a
    100x40 strip stays a strip) and pads the rest with the image's median border colour, so the
    padding looks like more background rather than a hard frame.
    """

    input_size: int = 128
    resize_policy: Literal["letterbox"] = "letterbox"
    mean: tuple[float, float, float] = IMAGENET_MEAN
    std: tuple[float, float, float] = IMAGENET_STD
    channels: Literal["rgb", "gray"] = "rgb"

    def __post_init__(self) -> None:
        if self.input_size < 8:
            raise ValueError(f"input_size must be at least 8 pixels, got {self.input_size}")
        if self.resize_policy != "letterbox":
            raise ValueError(f"unknown resize_policy {self.resize_policy!r}; use 'letterbox'")
        if self.channels not in ("rgb", "gray"):
            raise ValueError(f"channels must be 'rgb' or 'gray', got {self.channels!r}")

    @property
    def in_chans(self) -> int:
        """Number of channels of the model input."""
        return 3 if self.channels == "rgb" else 1

    def letterbox_box(self, height: int, width: int) -> tuple[int, int, int, int]:
        """Where a ``height`` x ``width`` image lands in the model input: (top, left, h, w)."""
        scale = self.input_size / max(height, width)
        new_h = max(1, round(height * scale))
        new_w = max(1, round(width * scale))
        return (self.input_size - new_h) // 2, (self.input_size - new_w) // 2, new_h, new_w

    def resize(self, image: np.ndarray) -> np.ndarray:
        """Letterbox an RGB uint8 image (H, W, 3) to (input_size, input_size, 3) uint8."""
        height, width = image.shape[:2]
        top, left, new_h, new_w = self.letterbox_box(height, width)
        shrinking = max(height, width) > self.input_size
        interpolation = cv2.INTER_AREA if shrinking else cv2.INTER_LINEAR
        resized = cv2.resize(image, (new_w, new_h), interpolation=interpolation)
        if new_w == new_h == self.input_size:
            return resized
        border = np.concatenate([image[0], image[-1], image[:, 0], image[:, -1]])
        fill = np.median(border, axis=0).astype(np.uint8)
        canvas = np.empty((self.input_size, self.input_size, 3), np.uint8)
        canvas[:] = fill
        canvas[top : top + new_h, left : left + new_w] = resized
        return canvas

    def normalize(self, image: np.ndarray) -> np.ndarray:
        """Turn a resized RGB uint8 image into the float32 (C, S, S) model input."""
        if self.channels == "gray":
            gray = image.astype(np.float32) * (1.0 / 255.0) @ np.array(LUMA_WEIGHTS, np.float32)
            mean = float(np.mean(self.mean))
            std = float(np.mean(self.std))
            return ((gray - mean) / std)[None]
        # (x / 255 - mean) / std as one multiply-add per channel, read straight from the uint8
        # pixels in channel-first order: a sixth of the time of the step-by-step float arithmetic.
        std = np.asarray(self.std, np.float32)
        scale = (1.0 / (255.0 * std))[:, None, None]
        shift = (-np.asarray(self.mean, np.float32) / std)[:, None, None]
        tensor = np.empty((3, *image.shape[:2]), np.float32)
        np.multiply(image.transpose(2, 0, 1), scale, out=tensor)
        tensor += shift
        return tensor

    def __call__(self, image: np.ndarray) -> np.ndarray:
        """Resize then normalize: the whole inference-time transform."""
        return self.normalize(self.resize(image))

    def read(self, source: ImageSource) -> np.ndarray:
        """Read an image (path, bytes or array) and :meth:`resize` it: how both training and
        inference load a photo. Large JPEGs are decoded at a reduced scale that still leaves
        twice the input size (see ``read_image``'s ``draft_size``)."""
        return self.resize(read_image(source, draft_size=self.input_size))

    def to_dict(self) -> dict[str, Any]:
        """Plain-JSON form stored in bundles and checkpoints."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> PreprocessSpec:
        """Inverse of :meth:`to_dict`; unknown keys are an error."""
        fields = dict(data)
        for key in ("mean", "std"):
            if key in fields:
                fields[key] = tuple(float(v) for v in fields[key])
        return cls(**fields)
