"""Imaging effects shared by every synthetic modality: light, optics, sensor and file artefacts.

Each function that draws anything takes a ``numpy.random.Generator``, so renders stay
reproducible. Images are float32 arrays in 0..255 until :func:`quantise` turns them into
``uint8``; colour stays planar, ``(3, H, W)`` RGB, until then (numpy is many times faster on
planes than on a trailing axis of 3).

Example:
    >>> import numpy as np
    >>> from craftvision.datasets.synth import imaging
    >>> rng = np.random.default_rng(0)
    >>> density = imaging.debris(rng, (64, 64), um_per_px=0.5)
    >>> img = imaging.bright_field(rng, density, colour=False)
    >>> img.shape, img.dtype
    ((64, 64), dtype('uint8'))
"""

from __future__ import annotations

import math

import cv2
import numpy as np

# Dyed yarn and thread colours (RGB, 0-1) of Kashmiri shawls, shared by every weave and stitch
# class so that colour never gives a class away.
KASHMIRI_PALETTE: dict[str, tuple[float, float, float]] = {
    "madder_red": (0.62, 0.12, 0.10),
    "indigo": (0.12, 0.17, 0.38),
    "saffron": (0.93, 0.60, 0.14),
    "ivory": (0.93, 0.89, 0.77),
    "black": (0.07, 0.07, 0.08),
    "green": (0.17, 0.37, 0.20),
    "walnut": (0.38, 0.23, 0.13),
    "rose": (0.82, 0.40, 0.42),
    "turquoise": (0.16, 0.52, 0.55),
    "maroon": (0.40, 0.07, 0.11),
    "mustard": (0.75, 0.60, 0.20),
    "grey": (0.55, 0.55, 0.52),
}


def illumination(rng: np.random.Generator, shape: tuple[int, int]) -> np.ndarray:
    """Uneven bright-field illumination: off-centre vignetting plus a linear gradient, peak 1.

    Example:
        >>> light = illumination(np.random.default_rng(0), (32, 48))
        >>> light.shape, float(light.max())
        ((32, 48), 1.0)
    """
    h, w = shape
    scale = float(max(h, w))
    x = (np.arange(w, dtype=np.float32) - w / 2) / scale
    y = (np.arange(h, dtype=np.float32) - h / 2) / scale
    cx, cy = rng.uniform(-0.3, 0.3, 2).tolist()
    vignette = rng.uniform(0.1, 0.7)
    gx, gy = rng.uniform(-0.15, 0.15, 2).tolist()
    # 1 - vignette * r**2 + gx * x + gy * y, in place.
    field = (x[None, :] - cx) ** 2 + (y[:, None] - cy) ** 2
    field *= vignette
    np.subtract(1.0, field, out=field)
    field += gx * x[None, :]
    field += gy * y[:, None]
    field /= field.max()
    return field


def debris(
    rng: np.random.Generator, shape: tuple[int, int], um_per_px: float, *, amount: float = 1.0
) -> np.ndarray:
    """Optical density of dust specks, small dark particles and air bubbles (dark rings).

    ``amount`` scales how much debris a field of this size carries on average.

    Example:
        >>> d = debris(np.random.default_rng(1), (64, 64), um_per_px=0.5, amount=3.0)
        >>> d.dtype, d.shape
        (dtype('float32'), (64, 64))
    """
    h, w = shape
    area = h * w / 256.0**2
    dark = np.zeros(shape, np.uint8)
    bright = np.zeros(shape, np.uint8)
    sub = 16  # cv2 sub-pixel drawing: coordinates in 1/16 px

    def px(um: float, lo: float) -> float:
        return max(lo, um / um_per_px)

    for _ in range(rng.poisson(12 * area * amount)):
        centre = (int(rng.uniform(0, w) * sub), int(rng.uniform(0, h) * sub))
        radius = int(px(rng.uniform(0.4, 2.0), 0.6) * sub)
        cv2.circle(dark, centre, radius, int(rng.uniform(60, 220)), -1, cv2.LINE_AA, 4)
    for _ in range(rng.poisson(1.2 * area * amount)):
        n = int(rng.integers(5, 10))
        radius = px(rng.uniform(1.5, 7.0), 1.5)
        ang = np.sort(rng.uniform(0, 2 * np.pi, n))
        rad = radius * rng.uniform(0.5, 1.0, n)
        cx, cy = rng.uniform(0, w), rng.uniform(0, h)
        pts = np.stack([cx + rad * np.cos(ang), cy + rad * np.sin(ang)], axis=1)
        cv2.fillPoly(
            dark, [(pts * sub).astype(np.int32)], int(rng.uniform(120, 255)), cv2.LINE_AA, 4
        )
    for _ in range(rng.poisson(0.25 * area * amount)):
        cx, cy = rng.uniform(0, w), rng.uniform(0, h)
        radius = min(px(rng.uniform(5.0, 40.0), 4.0), max(h, w) / 3)
        thick = max(1, round(radius * rng.uniform(0.06, 0.15)))
        centre = (int(cx * sub), int(cy * sub))
        cv2.circle(
            dark, centre, int(radius * sub), int(rng.uniform(120, 220)), thick, cv2.LINE_AA, 4
        )
        core = int(radius * rng.uniform(0.2, 0.4) * sub)
        cv2.circle(bright, centre, core, int(rng.uniform(10, 40)), -1, cv2.LINE_AA, 4)
    density = dark.astype(np.float32) * (1.2 / 255) - bright.astype(np.float32) * (1 / 255)
    return cv2.GaussianBlur(density, (0, 0), 0.6)


def transmitted_light(
    rng: np.random.Generator, density: np.ndarray, light: np.ndarray, *, colour: bool
) -> np.ndarray:
    """Beer-Lambert exposure of an optical-density map under ``light``, with a slight colour cast.

    The cast (white balance and a faint spectral tint of the specimen) is drawn at random, so it
    carries no information about what was imaged. Returns float HxW, or 3xHxW RGB planes when
    ``colour``.

    Example:
        >>> rng = np.random.default_rng(0)
        >>> img = transmitted_light(rng, np.zeros((8, 8), np.float32), np.ones((8, 8)), colour=True)
        >>> img.shape
        (3, 8, 8)
    """
    level = rng.uniform(0.78, 0.97) * 255.0
    lit = (light * level).astype(np.float32)
    if not colour:
        return lit * cv2.exp(-density)
    tint = 1.0 + rng.uniform(-0.08, 0.08, 3)
    cast = 1.0 + rng.uniform(-0.06, 0.06, 3)
    cast /= cast.max()
    planes = zip(tint.tolist(), cast.tolist(), strict=True)
    return np.stack([cv2.exp(density * -k) * (lit * c) for k, c in planes])


def defocus(img: np.ndarray, sigma: float) -> np.ndarray:
    """Gaussian defocus blur of ``sigma`` pixels of an HxW image or 3xHxW planes (no-op < 0.05).

    Example:
        >>> defocus(np.ones((3, 4, 4), np.float32), 1.0).shape
        (3, 4, 4)
    """
    if sigma < 0.05:
        return img
    if img.ndim == 3:
        out = np.empty_like(img)
        for plane, blurred in zip(img, out, strict=True):
            cv2.GaussianBlur(plane, (0, 0), sigma, dst=blurred)
        return out
    return cv2.GaussianBlur(img, (0, 0), sigma)


def _noise_bytes(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    """Two uniform random bytes per pixel of an image of ``shape``: a ``(2, *shape)`` array.

    Exactly the bytes (and the draw) of ``rng.bytes(2 * size)``, which takes them from
    little-endian uint32 words, without its three copies. PCG64 deals its 32-bit words as the
    low, then the high half of each 64-bit output, so with no half word pending an even count
    of words is read from the raw stream at half the cost.
    """
    length = 2 * math.prod(shape)
    count = (length - 1) // 4 + 1
    bits = rng.bit_generator
    if type(bits) is np.random.PCG64 and count % 2 == 0 and not bits.state["has_uint32"]:
        words = bits.random_raw(count // 2).astype("<u8", copy=False).view("<u4")
    else:
        words = rng.integers(0, 2**32, size=count, dtype=np.uint32).astype("<u4", copy=False)
    return words.view(np.uint8)[:length].reshape(2, *shape)


def _add_noise(
    img: np.ndarray, first: np.ndarray, second: np.ndarray, shot: float, read: float
) -> np.ndarray:
    """``img`` plus the unit noise ``first + second - 255`` scaled to the sensor's deviation."""
    unit = np.add(first, second, dtype=np.int16)
    unit -= 255
    noise = unit.astype(np.float32)
    sd = np.maximum(img, 0.0)
    sd *= shot / 104.5**2
    sd += (read / 104.5) ** 2
    noise *= np.sqrt(sd, out=sd)
    noise += img
    return noise


def sensor_noise(
    rng: np.random.Generator, img: np.ndarray, *, shot: float, read: float
) -> np.ndarray:
    """Poisson-Gaussian sensor noise: variance ``shot * signal + read**2`` (signal in 0..255).

    The unit noise is the sum of two uniform bytes (triangular, near-Gaussian), which is several
    times faster to draw than normal deviates.

    Example:
        >>> noisy = sensor_noise(np.random.default_rng(0), np.full((4, 4), 100.0), shot=0.5, read=1)
        >>> noisy.shape
        (4, 4)
    """
    return _add_noise(img, *_noise_bytes(rng, img.shape), shot, read)


def _to_uint8(img: np.ndarray, *, own: bool = False) -> np.ndarray:
    """Round and clip to ``uint8``, keeping the layout (``own``: ``img`` may be overwritten)."""
    out = np.add(img, 0.5, out=img if own else None)
    return np.clip(out, 0, 255, out=out).astype(np.uint8)


def quantise(img: np.ndarray) -> np.ndarray:
    """Round and clip a float HxW image or 3xHxW planes to ``uint8`` HxW or HxWx3.

    Example:
        >>> quantise(np.array([-3.0, 12.6, 300.0])).tolist()
        [0, 13, 255]
        >>> quantise(np.zeros((3, 2, 5), np.float32)).shape
        (2, 5, 3)
    """
    out = _to_uint8(img)
    return cv2.merge(list(out)) if out.ndim == 3 else out


def develop(
    rng: np.random.Generator, img: np.ndarray, *, blur: float, shot: float, read: float
) -> np.ndarray:
    """``quantise(sensor_noise(rng, defocus(img, blur), shot=shot, read=read))``, plane by plane.

    The same result (and the same draws) with a working set of one plane, which stays in cache.

    Example:
        >>> img = np.full((3, 8, 8), 100.0, np.float32)
        >>> develop(np.random.default_rng(0), img, blur=0.5, shot=0.1, read=1.0).shape
        (8, 8, 3)
    """
    first, second = _noise_bytes(rng, img.shape)
    if img.ndim == 2:
        return _to_uint8(_add_noise(defocus(img, blur), first, second, shot, read), own=True)
    planes = zip(img, first, second, strict=True)
    return cv2.merge(
        [_to_uint8(_add_noise(defocus(p, blur), a, b, shot, read), own=True) for p, a, b in planes]
    )


def jpeg_roundtrip(img: np.ndarray, quality: int) -> np.ndarray:
    """Encode and decode an RGB or grayscale ``uint8`` image as JPEG in memory.

    Example:
        >>> jpeg_roundtrip(np.full((16, 16, 3), 128, np.uint8), 80).shape
        (16, 16, 3)
    """
    colour = img.ndim == 3
    bgr = cv2.cvtColor(img, cv2.COLOR_RGB2BGR) if colour else img
    ok, buf = cv2.imencode(".jpg", bgr, [cv2.IMWRITE_JPEG_QUALITY, int(quality)])
    if not ok:
        raise ValueError("JPEG encoding failed")
    flag = cv2.IMREAD_COLOR if colour else cv2.IMREAD_GRAYSCALE
    out = cv2.imdecode(buf, flag)
    return cv2.cvtColor(out, cv2.COLOR_BGR2RGB) if colour else out


def to_gray(img: np.ndarray) -> np.ndarray:
    """Convert an RGB ``uint8`` image to single-channel grayscale (no-op when already gray).

    Example:
        >>> to_gray(np.zeros((4, 4, 3), np.uint8)).shape
        (4, 4)
    """
    return img if img.ndim == 2 else cv2.cvtColor(img, cv2.COLOR_RGB2GRAY)


def bright_field(
    rng: np.random.Generator,
    density: np.ndarray,
    *,
    colour: bool | None = None,
    max_blur_px: float = 1.0,
) -> np.ndarray:
    """Photograph an optical-density map through a bright-field microscope and camera.

    Draws every nuisance factor at random and independently of the specimen: illumination,
    exposure, contrast, colour cast (or grayscale when ``colour`` is False; None draws it, 70 %
    colour), defocus (up to ``max_blur_px``), sensor noise and, for some images, in-memory JPEG
    compression.
    Returns ``uint8`` HxW (grayscale) or HxWx3 RGB.

    Example:
        >>> img = bright_field(np.random.default_rng(0), np.zeros((32, 32), np.float32))
        >>> img.dtype
        dtype('uint8')
    """
    if colour is None:
        colour = bool(rng.random() < 0.7)
    contrast = np.float32(rng.uniform(0.75, 1.3))
    light = illumination(rng, density.shape)
    img = transmitted_light(rng, density * contrast, light, colour=colour)
    out = develop(
        rng,
        img,
        blur=max_blur_px * rng.random() ** 1.5,
        shot=rng.uniform(0.02, 0.25),
        read=rng.uniform(0.5, 3.0),
    )
    if rng.random() < 0.15:
        out = jpeg_roundtrip(out, int(rng.integers(65, 93)))
    return out
