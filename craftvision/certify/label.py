"""Read the QR code on a photographed GI label and parse the label id from its payload.

Decoding tries OpenCV's QR detector on the photo as it is, then the ArUco-based detector, then
a few preprocessed views (resized, sharpened, contrast-equalised, binarised, turned by 45°)
until one decodes. The label id is parsed from the payload by a :class:`LabelIdRule`: a regular
expression, a URL query parameter, or by default the first of the usual id parameters, else the
URL's last path segment, else the plain text.

Example:
    >>> LabelIdRule().parse("https://gi.example.org/verify?id=JK-PSH-2024-000123")
    'JK-PSH-2024-000123'
    >>> LabelIdRule().parse("https://gi.example.org/label/JK-KNI-0007/")
    'JK-KNI-0007'
    >>> LabelIdRule(pattern=r"GI:(\\w+)").parse("GI:ABC123 Kashmir")
    'ABC123'
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from urllib.parse import parse_qs, unquote, urlsplit

import cv2
import numpy as np

from craftvision.errors import ConfigError, CraftvisionError

DEFAULT_ID_PARAMS = ("id", "label", "label_id", "labelid", "uid", "code", "gi", "qr")
MAX_ID_LENGTH = 200
_WORK_SIDE = 1600  # photos larger than this are also tried downscaled to it


class LabelReadError(CraftvisionError):
    """No QR code could be found or decoded, or no label id parsed from it."""


@dataclass(frozen=True)
class LabelIdRule:
    """How to find the label id in a QR payload.

    ``pattern``: a regular expression searched in the payload; the id is its group ``id`` if
    it has one, else its first group, else the whole match. ``param``: a URL query parameter.
    With neither, the first of :data:`DEFAULT_ID_PARAMS` present in a URL's query is used, else
    the URL's last path segment, else the stripped payload itself.

    Example:
        >>> LabelIdRule(param="serial").parse("https://x.org/v?id=1&serial=S-9")
        'S-9'
    """

    pattern: str | None = None
    param: str | None = None

    def __post_init__(self) -> None:
        if self.pattern is not None and self.param is not None:
            raise ConfigError("give either a label id pattern or a URL parameter, not both")
        if self.pattern is not None:
            try:
                re.compile(self.pattern)
            except re.error as err:
                raise ConfigError(f"label id pattern {self.pattern!r} is invalid: {err}") from err

    def parse(self, payload: str) -> str:
        """The label id in ``payload``; raises :class:`LabelReadError` if there is none."""
        text = payload.strip()
        if self.pattern is not None:
            match = re.search(self.pattern, text)
            if match is None:
                raise LabelReadError(
                    f"QR payload {text!r} does not match the id pattern {self.pattern!r}"
                )
            if "id" in match.re.groupindex:
                found = match.group("id")
            else:
                found = match.group(1) if match.re.groups else match.group(0)
            return check_label_id(found or "")
        url = urlsplit(text)
        is_url = bool(url.scheme and url.netloc)
        if self.param is not None:
            values = parse_qs(url.query).get(self.param) if is_url else None
            if not values:
                raise LabelReadError(f"QR payload {text!r} has no URL parameter {self.param!r}")
            return check_label_id(values[0])
        if not is_url:
            return check_label_id(text)
        query = parse_qs(url.query)
        for name in DEFAULT_ID_PARAMS:
            if query.get(name):
                return check_label_id(query[name][0])
        segments = [unquote(s) for s in url.path.split("/") if s]
        if not segments:
            raise LabelReadError(
                f"QR payload {text!r} is a URL with no id parameter and no path; "
                "give the rule with --id-param or --id-pattern"
            )
        return check_label_id(segments[-1])


def check_label_id(label_id: str) -> str:
    """Return ``label_id`` stripped, refusing empty, overlong or non-printable ids.

    Example:
        >>> check_label_id("  JK-PSH-1 ")
        'JK-PSH-1'
    """
    cleaned = label_id.strip()
    if not cleaned:
        raise LabelReadError("the label id is empty")
    if len(cleaned) > MAX_ID_LENGTH:
        raise LabelReadError(f"the label id is longer than {MAX_ID_LENGTH} characters")
    if not cleaned.isprintable():
        raise LabelReadError(f"the label id {cleaned!r} has non-printable characters")
    return cleaned


@dataclass(frozen=True)
class LabelRead:
    """A decoded label: the QR payload, the parsed id, where the QR was, and how it was read."""

    payload: str
    label_id: str
    corners: list[list[float]]
    method: str

    def to_dict(self) -> dict:
        """JSON-ready dict."""
        return {
            "payload": self.payload,
            "label_id": self.label_id,
            "corners": self.corners,
            "method": self.method,
        }


def _resized(gray: np.ndarray, side: int) -> np.ndarray:
    scale = side / max(gray.shape)
    interpolation = cv2.INTER_AREA if scale < 1 else cv2.INTER_CUBIC
    return cv2.resize(gray, None, fx=scale, fy=scale, interpolation=interpolation)


def _sharpened(gray: np.ndarray) -> np.ndarray:
    return cv2.addWeighted(gray, 2.0, cv2.GaussianBlur(gray, (0, 0), 2.0), -1.0, 0)


def _equalised(gray: np.ndarray) -> np.ndarray:
    return cv2.createCLAHE(clipLimit=3.0, tileGridSize=(8, 8)).apply(gray)


def _otsu(gray: np.ndarray) -> np.ndarray:
    blurred = cv2.GaussianBlur(gray, (0, 0), 1.0)
    return cv2.threshold(blurred, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)[1]


def _adaptive(gray: np.ndarray) -> np.ndarray:
    block = max(15, (min(gray.shape) // 20) | 1)
    return cv2.adaptiveThreshold(
        gray, 255, cv2.ADAPTIVE_THRESH_GAUSSIAN_C, cv2.THRESH_BINARY, block, 5
    )


def _turned(gray: np.ndarray, angle: float) -> tuple[np.ndarray, np.ndarray]:
    """``gray`` turned by ``angle`` degrees on an enlarged canvas, and the inverse affine map."""
    h, w = gray.shape
    side = int(np.ceil(np.hypot(h, w)))
    matrix = cv2.getRotationMatrix2D((w / 2, h / 2), angle, 1.0)
    matrix[:, 2] += [(side - w) / 2, (side - h) / 2]
    turned = cv2.warpAffine(gray, matrix, (side, side), borderValue=int(np.median(gray)))
    return turned, cv2.invertAffineTransform(matrix)


# Each view: (name, function of the gray photo -> (view, affine map from view to photo pixels)).
View = Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]]


def _scaled_view(transform: Callable[[np.ndarray], np.ndarray], side: int | None) -> View:
    def view(gray: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        small = gray if side is None else _resized(gray, side)
        scale = gray.shape[1] / small.shape[1]
        return transform(small), np.array([[scale, 0, 0], [0, scale, 0]], np.float64)

    return view


def _turned_view(angle: float) -> View:
    def view(gray: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        small = _resized(gray, min(max(gray.shape), _WORK_SIDE))
        turned, back = _turned(_sharpened(small), angle)
        scale = gray.shape[1] / small.shape[1]
        return turned, back * scale

    return view


def _busy_regions(gray: np.ndarray, limit: int = 3) -> list[tuple[int, int, int, int]]:
    """Boxes ``(x, y, w, h)`` around the densest patches of edges (a QR code is one), largest
    first, each with a margin."""
    scale = min(1.0, 800 / max(gray.shape))
    small = cv2.resize(gray, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    edges = cv2.morphologyEx(small, cv2.MORPH_GRADIENT, np.ones((3, 3), np.uint8))
    window = max(9, min(small.shape) // 25)
    density = cv2.blur(edges.astype(np.float32), (window, window))
    mask = (density > max(20.0, 0.5 * float(density.max()))).astype(np.uint8)
    _, _, stats, _ = cv2.connectedComponentsWithStats(mask)
    order = np.argsort(-stats[1:, cv2.CC_STAT_AREA])[:limit] + 1
    boxes = []
    for index in order:
        x, y, w, h = (stats[index, :4] / scale).astype(int).tolist()
        pad = int(0.25 * max(w, h))
        x0, y0 = max(0, x - pad), max(0, y - pad)
        x1, y1 = min(gray.shape[1], x + w + pad), min(gray.shape[0], y + h + pad)
        if min(x1 - x0, y1 - y0) >= 21:
            boxes.append((x0, y0, x1 - x0, y1 - y0))
    return boxes


def _crop_view(
    box: tuple[int, int, int, int], transform: Callable[[np.ndarray], np.ndarray]
) -> View:
    """The region ``box`` enlarged so its longer side is about 1000 pixels (at most 4x)."""

    def view(gray: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        x, y, w, h = box
        factor = float(np.clip(1000 / max(w, h), 1.0, 4.0))
        crop = cv2.resize(
            gray[y : y + h, x : x + w], None, fx=factor, fy=factor, interpolation=cv2.INTER_CUBIC
        )
        return transform(crop), np.array([[1 / factor, 0, x], [0, 1 / factor, y]], np.float64)

    return view


def _views(gray: np.ndarray) -> Iterator[tuple[str, View]]:
    long_side = max(gray.shape)
    yield "original", _scaled_view(lambda g: g, None)
    if long_side > _WORK_SIDE:
        yield "downscaled", _scaled_view(lambda g: g, _WORK_SIDE)
    work = min(long_side, _WORK_SIDE)
    yield "sharpened", _scaled_view(_sharpened, work)
    for index, box in enumerate(_busy_regions(gray)):
        yield f"region{index}", _crop_view(box, lambda g: g)
        yield f"region{index}-sharpened", _crop_view(box, _sharpened)
        yield f"region{index}-otsu", _crop_view(box, _otsu)
    yield "equalised", _scaled_view(_equalised, work)
    yield "adaptive", _scaled_view(_adaptive, work)
    yield "turned45", _turned_view(45.0)


def _detectors() -> Iterator[tuple[str, cv2.QRCodeDetector]]:
    yield "qr", cv2.QRCodeDetector()
    if hasattr(cv2, "QRCodeDetectorAruco"):
        yield "aruco", cv2.QRCodeDetectorAruco()


def _decode(detector: cv2.QRCodeDetector, image: np.ndarray) -> tuple[str, np.ndarray] | None:
    try:
        payload, points, _ = detector.detectAndDecode(image)
    except cv2.error:
        return None
    if payload and points is not None:
        return payload, points.reshape(-1, 2).astype(np.float64)
    return None


def decode_qr(image: np.ndarray) -> tuple[str, list[list[float]], str]:
    """Find and decode one QR code in an RGB or gray ``uint8`` image.

    Returns ``(payload, corners in image pixels, method)``; raises :class:`LabelReadError`
    when no view of the image decodes.
    """
    gray = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY) if image.ndim == 3 else image
    detectors = list(_detectors())
    for view_name, view in _views(gray):
        shown, to_photo = view(gray)
        for detector_name, detector in detectors:
            found = _decode(detector, shown)
            if found is None:
                continue
            payload, points = found
            corners = cv2.transform(points[None], to_photo)[0]
            return payload, corners.round(1).tolist(), f"{detector_name}/{view_name}"
    raise LabelReadError("no QR code could be found and decoded")


def read_label(
    photo: str | os.PathLike | bytes | np.ndarray,
    *,
    rule: LabelIdRule | None = None,
) -> LabelRead:
    """Decode the QR code on a photographed GI label and parse its label id.

    Raises :class:`LabelReadError` (naming the photo) when no QR code decodes or the payload
    holds no id, and :class:`~craftvision.errors.ImageReadError` when the photo is unreadable.

    Example:
        >>> label = read_label("label.jpg")                   # doctest: +SKIP
        >>> label.label_id                                    # doctest: +SKIP
        'JK-PSH-2024-004217'
    """
    from craftvision.imageio import read_image

    name = "<array>" if isinstance(photo, np.ndarray) else "<bytes>"
    if isinstance(photo, str | os.PathLike):
        name = os.fspath(photo)
    image = read_image(photo)
    try:
        payload, corners, method = decode_qr(image)
        label_id = (rule or LabelIdRule()).parse(payload)
    except LabelReadError as err:
        hint = (
            "; photograph the label straight on, in focus and filling more of the frame"
            if "no QR code" in str(err)
            else ""
        )
        raise LabelReadError(f"{name}: {err}{hint}") from err
    return LabelRead(payload=payload, label_id=label_id, corners=corners, method=method)


__all__ = [
    "DEFAULT_ID_PARAMS",
    "LabelIdRule",
    "LabelRead",
    "LabelReadError",
    "check_label_id",
    "decode_qr",
    "read_label",
]
