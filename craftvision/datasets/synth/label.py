"""Photographs of printed QR-code GI labels, for testing and benchmarking the label reader.

A label is a cream card with a border, a title and a QR code (``cv2.QRCodeEncoder``) encoding
a verification URL with the label id. It is laid on a shawl-coloured background and
"photographed": turned by any angle in the image plane, tilted out of the plane by up to
``max_tilt_deg`` (a perspective view), blurred, lit unevenly, given sensor noise and JPEG
artefacts. The truth holds the payload, the label id and the QR's corners in the photo.

Example:
    >>> import numpy as np
    >>> image, truth = render_label_photo(np.random.default_rng(0))
    >>> image.dtype, image.ndim, truth["label_id"].startswith("JK")
    (dtype('uint8'), 3, True)
"""

from __future__ import annotations

import math
from typing import Any

import cv2
import numpy as np

from craftvision.datasets.synth.imaging import KASHMIRI_PALETTE, jpeg_roundtrip

URL_TEMPLATE = "https://gi-label.example.org/verify?id={label_id}"
CRAFTS = ("PASHMINA", "KANI", "SOZNI")


def random_label_id(rng: np.random.Generator) -> str:
    """A label id in the style ``JK-PSH-2024-004217``.

    Example:
        >>> random_label_id(np.random.default_rng(1))[:3]
        'JK-'
    """
    craft = ("PSH", "KNI", "SZN")[int(rng.integers(3))]
    return f"JK-{craft}-{int(rng.integers(2023, 2027))}-{int(rng.integers(0, 10**6)):06d}"


def _qr_modules(payload: str) -> np.ndarray:
    """The QR symbol, one pixel per module, with its 4-module quiet zone (255 white, 0 black)."""
    params = cv2.QRCodeEncoder_Params()
    params.correction_level = cv2.QRCodeEncoder_CORRECT_LEVEL_M
    symbol = cv2.QRCodeEncoder.create(params).encode(payload)
    if symbol.shape[0] < 21:
        raise ValueError(f"cannot encode {payload!r} as a QR code")
    return symbol


def _card(rng: np.random.Generator, payload: str, module_px: int) -> tuple[np.ndarray, np.ndarray]:
    """The flat printed card (RGB) and the QR's corners on it (outer corners of the symbol)."""
    symbol = _qr_modules(payload)
    quiet = 4 * module_px
    qr = cv2.resize(symbol, None, fx=module_px, fy=module_px, interpolation=cv2.INTER_NEAREST)
    side = qr.shape[0]
    margin = int(side * rng.uniform(0.08, 0.2))
    text_h = int(side * rng.uniform(0.25, 0.4))
    h, w = side + 2 * margin + text_h, side + 2 * margin
    paper = np.array([rng.uniform(225, 250), rng.uniform(220, 245), rng.uniform(200, 235)])
    card = np.empty((h, w, 3), np.uint8)
    card[:] = paper.astype(np.uint8)
    ink = tuple(int(v) for v in rng.uniform(20, 70, 3))
    cv2.rectangle(card, (4, 4), (w - 5, h - 5), ink, max(2, module_px // 2))
    top = margin + text_h
    card[top : top + side, margin : margin + side] = np.minimum(qr, paper.max())[..., None]
    card[top : top + side, margin : margin + side][qr == 0] = ink
    scale = text_h / 90.0
    cv2.putText(
        card,
        f"GI {CRAFTS[int(rng.integers(3))]}",
        (margin, margin + int(text_h * 0.6)),
        cv2.FONT_HERSHEY_DUPLEX,
        scale,
        ink,
        max(1, int(2 * scale)),
        cv2.LINE_AA,
    )
    corners = np.array(
        [
            [margin + quiet, top + quiet],
            [margin + side - quiet, top + quiet],
            [margin + side - quiet, top + side - quiet],
            [margin + quiet, top + side - quiet],
        ],
        np.float32,
    )
    return card, corners


def _background(rng: np.random.Generator, shape: tuple[int, int]) -> np.ndarray:
    """A shawl-coloured, softly textured background (RGB float32)."""
    h, w = shape
    names = list(KASHMIRI_PALETTE)
    base = np.array(KASHMIRI_PALETTE[names[int(rng.integers(len(names)))]], np.float32) * 255
    grain = cv2.GaussianBlur(rng.normal(0, 1, (h, w)).astype(np.float32), (0, 0), 2.0)
    stripes = np.sin(np.arange(w, dtype=np.float32) * rng.uniform(0.2, 0.6))[None, :]
    texture = 1 + 0.06 * grain / (grain.std() + 1e-6) + 0.03 * stripes
    return base[None, None, :] * texture[..., None]


def _view_homography(
    rng: np.random.Generator,
    card_shape: tuple[int, int],
    out_shape: tuple[int, int],
    *,
    rotation_deg: float,
    tilt_deg: float,
    fill: float,
) -> np.ndarray:
    """Homography from card pixels to photo pixels: the card turned in plane by
    ``rotation_deg``, tilted by ``tilt_deg`` about a random in-plane axis, seen by a pinhole
    camera, and scaled so its larger side spans ``fill`` of the photo's smaller side."""
    ch, cw = card_shape
    oh, ow = out_shape
    centre = np.array([[1, 0, -cw / 2], [0, 1, -ch / 2], [0, 0, 1]], np.float64)
    theta = math.radians(rotation_deg)
    spin = np.array(
        [[math.cos(theta), -math.sin(theta), 0], [math.sin(theta), math.cos(theta), 0], [0, 0, 1]]
    )
    axis_angle = rng.uniform(0, 2 * math.pi)
    axis = np.array([math.cos(axis_angle), math.sin(axis_angle), 0.0])
    tilt, _ = cv2.Rodrigues(axis * math.radians(tilt_deg))
    focal = max(cw, ch) * rng.uniform(1.5, 3.0)
    distance = focal
    # Card plane point (x, y, 0) -> camera (R @ [x, y, 0] + [0, 0, distance]) -> image.
    camera = np.array([[focal, 0, 0], [0, focal, 0], [0, 0, 1]], np.float64)
    plane = np.column_stack([tilt[:, 0], tilt[:, 1], [0, 0, distance]])
    homography = camera @ plane @ spin @ centre
    corners = np.array([[0, 0], [cw, 0], [cw, ch], [0, ch]], np.float32)[:, None, :]
    seen = cv2.perspectiveTransform(corners, homography)[:, 0, :]
    span = max(np.ptp(seen[:, 0]), np.ptp(seen[:, 1]))
    scale = fill * min(oh, ow) / span
    lo = seen.min(axis=0) * scale
    room = np.array([ow, oh]) - np.ptp(seen, axis=0) * scale
    offset = rng.uniform(0.1, 0.9, 2) * np.maximum(room, 0) - lo
    place = np.array([[scale, 0, offset[0]], [0, scale, offset[1]], [0, 0, 1]])
    return place @ homography


def render_label_photo(
    rng: np.random.Generator,
    *,
    label_id: str | None = None,
    size: tuple[int, int] = (960, 720),
    max_tilt_deg: float = 30.0,
    max_blur_px: float = 2.0,
    noise: float = 8.0,
) -> tuple[np.ndarray, dict[str, Any]]:
    """Render one photo of a GI label; returns ``(uint8 RGB image, truth)``.

    ``size`` is ``(width, height)``. The rotation is uniform over 0-360°, the tilt uniform up
    to ``max_tilt_deg``, the Gaussian blur sigma uniform up to ``max_blur_px`` photo pixels and
    the sensor noise's standard deviation up to ``noise`` grey levels.
    """
    label_id = label_id or random_label_id(rng)
    payload = URL_TEMPLATE.format(label_id=label_id)
    card, qr_corners = _card(rng, payload, module_px=8)
    out_w, out_h = size
    rotation = float(rng.uniform(0, 360))
    tilt = float(rng.uniform(0, max_tilt_deg))
    homography = _view_homography(
        rng,
        card.shape[:2],
        (out_h, out_w),
        rotation_deg=rotation,
        tilt_deg=tilt,
        fill=float(rng.uniform(0.3, 0.8)),
    )
    warped = cv2.warpPerspective(
        card.astype(np.float32), homography, (out_w, out_h), flags=cv2.INTER_AREA
    )
    mask = cv2.warpPerspective(
        np.ones(card.shape[:2], np.float32), homography, (out_w, out_h), flags=cv2.INTER_LINEAR
    )[..., None]
    photo = mask * warped + (1 - mask) * _background(rng, (out_h, out_w))
    yy, xx = np.mgrid[0:out_h, 0:out_w].astype(np.float32)
    gx, gy = rng.uniform(-0.25, 0.25, 2)
    light = 1 + gx * (xx / out_w - 0.5) + gy * (yy / out_h - 0.5)
    photo *= (light * rng.uniform(0.75, 1.05))[..., None]
    blur = float(rng.uniform(0, max_blur_px))
    if blur > 0.3:
        photo = cv2.GaussianBlur(photo, (0, 0), blur)
    photo += rng.normal(0, rng.uniform(0, noise), photo.shape).astype(np.float32)
    image = np.clip(photo, 0, 255).astype(np.uint8)
    image = jpeg_roundtrip(image, int(rng.integers(70, 96)))
    corners = cv2.perspectiveTransform(qr_corners[:, None, :], homography)[:, 0, :]
    truth = {
        "payload": payload,
        "label_id": label_id,
        "rotation_deg": rotation,
        "tilt_deg": tilt,
        "blur_px": blur,
        "qr_corners": corners.round(1).tolist(),
    }
    return image, truth


__all__ = ["URL_TEMPLATE", "random_label_id", "render_label_photo"]
