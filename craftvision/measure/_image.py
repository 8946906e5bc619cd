"""Shared image helpers of the measurements: reading, grey levels, sampling and peak refinement.

Example:
    >>> import numpy as np
    >>> gray = as_gray(np.full((4, 5, 3), 200, np.uint8))
    >>> gray.shape, gray.dtype
    ((4, 5), dtype('float32'))
"""

from __future__ import annotations

import math
import os
from pathlib import Path

import cv2
import numpy as np

from craftvision.imageio import read_image

ImageSource = str | os.PathLike | bytes | np.ndarray


def load(source: ImageSource, name: str | None = None) -> tuple[np.ndarray, str]:
    """Read ``source`` as uint8 RGB and return it with the name to use in messages.

    Example:
        >>> load(np.zeros((2, 2), np.uint8))[1]
        '<array>'
    """
    if isinstance(source, str | os.PathLike):
        label = name or str(Path(source))
    else:
        label = name or ("<bytes>" if isinstance(source, bytes) else "<array>")
    return read_image(source, name=label), label


def source_path(source: ImageSource, name: str | None = None) -> str | None:
    """The path to report for ``source``: its file path or ``name``, else None.

    Example:
        >>> source_path("a/b.png"), source_path(np.zeros((2, 2))), source_path(b"x", "up.png")
        ('a/b.png', None, 'up.png')
    """
    if name is not None:
        return name
    return str(Path(source)) if isinstance(source, str | os.PathLike) else None


def as_gray(image: np.ndarray) -> np.ndarray:
    """The mean of the colour channels as float32 (equal weights keep sensor noise lowest).

    Example:
        >>> as_gray(np.array([[[30, 60, 90]]], np.uint8)).tolist()
        [[60.0]]
    """
    if image.ndim == 2:
        return image.astype(np.float32)
    return cv2.transform(image.astype(np.float32), np.full((1, 3), 1 / 3, np.float32))


def noise_sd(gray: np.ndarray) -> float:
    """Per-pixel noise SD of an image, from the spread of differences between neighbours."""
    step = max(1, round(math.sqrt(gray.size / 200_000)))  # a sparse grid is plenty
    diff = (gray[::step, 1::step] - gray[::step, :-1:step]).ravel()
    return 1.4826 * float(np.median(np.abs(diff - np.median(diff)))) / math.sqrt(2)


def optical_density(gray: np.ndarray) -> tuple[np.ndarray, float]:
    """Optical density over a fitted smooth background, and its per-pixel noise SD.

    The background is a smooth surface (vignetting and a tilt of the illumination) fitted to a
    reduced copy, first to its frame (mostly background even where a fibre fills a narrow
    strip), then to the whole copy, each time refitted to the pixels ever closer to the last
    fit, so that neither dark fibres nor their bright lens lines pull it away. A second fit
    starts from the light's upper envelope instead, and the one that leaves more of the copy
    on the background is kept (of the bench's 500 fields, those where no fibre was found fell
    from 33 to 18: wide fibres across the frame of a strongly vignetted field).

    Example:
        >>> od, noise = optical_density(np.full((40, 60), 200, np.float32))
        >>> float(abs(od).max()) < 1e-3
        True
    """
    h, w = gray.shape
    factor = max(1, round(max(h, w) / 96))
    sw, sh = max(8, w // factor), max(8, h // factor)
    soft = cv2.GaussianBlur(gray, (0, 0), 1.0)  # noise SD / 3.5
    small = cv2.resize(soft, (sw, sh), interpolation=cv2.INTER_AREA).ravel().astype(np.float64)
    ys, xs = np.mgrid[0:sh, 0:sw].astype(np.float64)
    xs = (xs.ravel() + 0.5) / sw * 2 - 1
    ys = (ys.ravel() + 0.5) / sh * 2 - 1
    # Vignetting curves the light along the long side; across a narrow strip (one side at least
    # twice the other) it barely changes, and a curve there could mimic the fibre that fills the
    # strip (coarse fibres filling three quarters of 2:1 strips were lost so).
    terms = [np.ones_like(xs), xs, ys, xs * xs, xs * ys, ys * ys]
    wide, tall = 2 * w > h, 2 * h > w
    used = [True, True, True, wide, wide and tall, tall]
    design = np.stack(
        [term if on else np.zeros_like(xs) for term, on in zip(terms, used, strict=True)], axis=1
    )
    grid = np.zeros((sh, sw), bool)
    grid[[0, -1], :] = grid[:, [0, -1]] = True
    frame = grid.ravel()
    level = float(np.median(small[frame]))
    tol = max(3 * noise_sd(gray) / (3.5 * factor), 0.01 * level, 0.5)
    everywhere = np.ones_like(frame)
    # First the frame alone (mostly background even where a fibre fills a strip), then the
    # whole image; each refit keeps the pixels near the last fit, within a tolerance that
    # shrinks to the noise.
    coef = np.array([level, 0, 0, 0, 0, 0], np.float64)
    coef = _refit(small, design, frame, coef, max(0.2 * level, tol), tol)
    from_frame = _refit(small, design, everywhere, coef, max(0.05 * level, tol), tol)
    # Also from the light's upper envelope (dark fibres closed over): where wide fibres cross
    # the frame of a strongly vignetted field, the frame's fit can settle on them. The fit
    # that leaves more of the image on the background is kept.
    reach = max(3, round(0.35 * min(sw, sh))) | 1
    envelope = cv2.morphologyEx(
        small.reshape(sh, sw).astype(np.float32), cv2.MORPH_CLOSE, np.ones((reach, reach))
    ).ravel()
    coef, *_ = np.linalg.lstsq(design, envelope, rcond=None)
    from_envelope = _refit(small, design, everywhere, coef, max(0.2 * level, tol), tol)
    coef = max(
        (from_frame, from_envelope),
        key=lambda c: int((np.abs(small - design @ c) < tol).sum()),
    )
    fx = ((np.arange(w) + 0.5) / w * 2 - 1).astype(np.float32)[None, :]
    fy = ((np.arange(h) + 0.5) / h * 2 - 1).astype(np.float32)[:, None]
    c = coef.astype(np.float32)
    background = c[0] + c[1] * fx + c[2] * fy + c[3] * fx * fx + c[4] * fx * fy + c[5] * fy * fy
    od = cv2.log(np.maximum(background, 1.0)) - cv2.log(np.maximum(gray, 1.0))
    return od, max(noise_sd(od), 1e-3)


def _refit(
    values: np.ndarray,
    design: np.ndarray,
    region: np.ndarray,
    coef: np.ndarray,
    start: float,
    tol: float,
) -> np.ndarray:
    """Least-squares refits of a smooth surface to the ``region`` pixels within a bound of the
    last fit, the bound shrinking from ``start`` to ``tol``."""
    for bound in np.geomspace(start, tol, 6):
        keep = region & (np.abs(values - design @ coef) < bound)
        if keep.sum() < 12:
            break
        coef, *_ = np.linalg.lstsq(design[keep], values[keep], rcond=None)
    return coef


def pooled_mean(values: list[float | None]) -> float | None:
    """Mean over a sample's images; ``None`` unless every image gave a value.

    Example:
        >>> pooled_mean([1.0, 3.0]), pooled_mean([1.0, None])
        (2.0, None)
    """
    known = [v for v in values if v is not None]
    return float(np.mean(known)) if known and len(known) == len(values) else None
