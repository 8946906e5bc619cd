"""The fibre diameter histogram as a PNG, drawn with OpenCV (no plotting library needed).

Bars of 1 µm bins, with the limits that grade a sample marked: 16 µm (GI Kashmir Pashmina),
19 µm (US cashmere mean) and 30 µm (coarse fibres, at most 3 % for cashmere).

Example:
    >>> from craftvision.measure.fibre import FibreSample
    >>> sample = FibreSample(1, (12.1, 13.4, 13.9, 15.2), "µm", (), ())
    >>> histogram_png(sample)[:4]
    b'\\x89PNG'
"""

from __future__ import annotations

import os
from pathlib import Path

import cv2
import numpy as np

from craftvision.atomic import atomic_write_bytes
from craftvision.errors import MeasurementError
from craftvision.measure.fibre import (
    COARSE_UM,
    GI_PASHMINA_MAX_UM,
    US_CASHMERE_MAX_UM,
    FibreSample,
)

_W, _H = 800, 480
_LEFT, _RIGHT, _TOP, _BOTTOM = 70, 30, 50, 60
_FONT = cv2.FONT_HERSHEY_SIMPLEX
_INK = (40, 40, 40)
_BAR = (170, 120, 60)
_LIMITS = (
    (GI_PASHMINA_MAX_UM, "GI 16", (60, 150, 60)),
    (US_CASHMERE_MAX_UM, "US 19", (0, 140, 230)),
    (COARSE_UM, "30", (50, 50, 200)),
)


def histogram_png(sample: FibreSample) -> bytes:
    """Encode the sample's diameter histogram as PNG bytes.

    Raises:
        MeasurementError: the sample holds no fibres.
    """
    edges, counts = sample.histogram
    if not counts:
        raise MeasurementError("no fibres measured: nothing to plot")
    unit = "um" if sample.unit == "µm" else "px"
    lo, hi = edges[0], edges[-1]
    if unit == "um":
        lo, hi = min(lo, 10.0), max(hi, COARSE_UM + 2)
    canvas = np.full((_H, _W, 3), 255, np.uint8)
    plot_w, plot_h = _W - _LEFT - _RIGHT, _H - _TOP - _BOTTOM
    top_count = max(counts)

    def x_at(value: float) -> int:
        return int(_LEFT + (value - lo) / (hi - lo) * plot_w)

    def y_at(count: float) -> int:
        return int(_TOP + plot_h - count / top_count * plot_h)

    for left, right, count in zip(edges[:-1], edges[1:], counts, strict=True):
        if count:
            cv2.rectangle(
                canvas, (x_at(left) + 1, y_at(count)), (x_at(right) - 1, y_at(0)), _BAR, -1
            )
    if unit == "um":
        for value, label, colour in _LIMITS:
            x = x_at(value)
            cv2.line(canvas, (x, _TOP), (x, _TOP + plot_h), colour, 2)
            cv2.putText(canvas, label, (x + 4, _TOP + 16), _FONT, 0.5, colour, 1, cv2.LINE_AA)
    cv2.line(canvas, (_LEFT, _TOP + plot_h), (_LEFT + plot_w, _TOP + plot_h), _INK, 1)
    cv2.line(canvas, (_LEFT, _TOP), (_LEFT, _TOP + plot_h), _INK, 1)
    step = max(1, round((hi - lo) / 10))
    for value in np.arange(np.ceil(lo), hi + 1e-9, step):
        x = x_at(float(value))
        cv2.line(canvas, (x, _TOP + plot_h), (x, _TOP + plot_h + 5), _INK, 1)
        cv2.putText(
            canvas, f"{value:g}", (x - 8, _TOP + plot_h + 22), _FONT, 0.45, _INK, 1, cv2.LINE_AA
        )
    for count in np.linspace(0, top_count, min(top_count, 5) + 1):
        y = y_at(float(count))
        cv2.putText(canvas, f"{count:.0f}", (_LEFT - 40, y + 5), _FONT, 0.45, _INK, 1, cv2.LINE_AA)
    cv2.putText(
        canvas,
        f"fibre diameter ({unit})",
        (_LEFT + plot_w // 2 - 80, _H - 15),
        _FONT,
        0.55,
        _INK,
        1,
        cv2.LINE_AA,
    )
    mean, cv = sample.mean, sample.cv_percent
    title = f"n = {sample.n_fibres} fibres   mean {mean:.2f} {unit}"
    if cv is not None:
        title += f"   CV {cv:.1f} %"
    cv2.putText(canvas, title, (_LEFT, 30), _FONT, 0.6, _INK, 1, cv2.LINE_AA)
    ok, data = cv2.imencode(".png", canvas)
    if not ok:
        raise MeasurementError("could not encode the histogram as PNG")
    return data.tobytes()


def save_histogram(sample: FibreSample, path: str | os.PathLike) -> Path:
    """Write the sample's diameter histogram to ``path`` (PNG, atomically)."""
    return atomic_write_bytes(path, histogram_png(sample))
