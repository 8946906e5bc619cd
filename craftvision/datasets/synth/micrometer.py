"""Procedural photos of a stage micrometer: the ruled glass slide a lab calibrates its scope with.

A stage micrometer carries a scale of fine lines (typically 1 mm in 100 divisions of 10 µm):
short ticks at every division, longer ones at every fifth and tenth, on a base line. The photo
is taken in transmitted light like a fibre micrograph, so the lines are dark on a bright field,
and goes through the same optics and camera (:func:`imaging.bright_field`): uneven light,
defocus, noise, JPEG. The scale lies at a random angle and position; lines are drawn
anti-aliased at sub-pixel positions, so the truth holds exactly.

Example:
    >>> import numpy as np
    >>> img, truth = render_micrometer(np.random.default_rng(0), um_per_px=0.5)
    >>> img.shape[:2], truth["division_um"], truth["um_per_px"]
    ((480, 640), 10.0, 0.5)
"""

from __future__ import annotations

import math

import cv2
import numpy as np

from craftvision.datasets.synth import imaging

_SUB = 4  # cv2 drawing shift: coordinates in 1/16 px
_LINE_UM = 1.6  # width of a ruled line
_TICK_UM = (18.0, 28.0, 40.0)  # lengths: every division, every fifth, every tenth


def render_micrometer(
    rng: np.random.Generator,
    *,
    um_per_px: float,
    division_um: float = 10.0,
    n_divisions: int = 100,
    size: tuple[int, int] = (480, 640),
    angle_deg: float | None = None,
) -> tuple[np.ndarray, dict]:
    """Render a stage micrometer photo and return ``(image, truth)``.

    ``size`` is (height, width); the scale (``n_divisions`` of ``division_um``) is centred near
    the middle at ``angle_deg`` (else drawn within ±15°) and may run off the field. ``truth``
    holds ``um_per_px``, ``division_um``, ``angle_deg`` and ``n_visible`` (ticks inside).

    Example:
        >>> img, truth = render_micrometer(np.random.default_rng(1), um_per_px=1.0, angle_deg=0)
        >>> truth["n_visible"] > 50
        True
    """
    if um_per_px <= 0 or division_um <= 0:
        raise ValueError("um_per_px and division_um must be positive")
    h, w = size
    angle = math.radians(rng.uniform(-15.0, 15.0) if angle_deg is None else angle_deg)
    along = np.array([math.cos(angle), math.sin(angle)])
    across = np.array([math.sin(angle), -math.cos(angle)])  # ticks rise from the base line
    pitch = division_um / um_per_px
    centre = np.array([w / 2, h / 2]) + rng.uniform(-0.1, 0.1, 2) * (w, h)
    start = centre - along * pitch * n_divisions / 2
    canvas = np.zeros((h, w), np.uint8)
    width = max(1, round(_LINE_UM / um_per_px))
    scale = 1 << _SUB

    def line(a: np.ndarray, b: np.ndarray) -> None:
        pa = tuple(round(v * scale) for v in a)
        pb = tuple(round(v * scale) for v in b)
        cv2.line(canvas, pa, pb, 255, width, cv2.LINE_AA, _SUB)

    line(start, start + along * pitch * n_divisions)
    visible = 0
    for k in range(n_divisions + 1):
        length = _TICK_UM[2 if k % 10 == 0 else 1 if k % 5 == 0 else 0] / um_per_px
        foot = start + along * pitch * k
        line(foot, foot + across * length)
        visible += bool(0 <= foot[0] < w and 0 <= foot[1] < h)
    density = canvas.astype(np.float32) * np.float32(rng.uniform(0.8, 1.6) / 255)
    density += imaging.debris(rng, (h, w), um_per_px, amount=0.3)
    image = imaging.bright_field(rng, density, max_blur_px=min(1.2, 0.35 / um_per_px))
    truth = {
        "um_per_px": um_per_px,
        "division_um": division_um,
        "angle_deg": math.degrees(angle),
        "n_visible": visible,
    }
    return image, truth
