"""Read images from files, bytes or arrays as uint8 RGB: the one way craftvision reads images.

:func:`read_image` matches the format by content (PNG, JPEG, TIFF, BMP), refuses decompression
bombs from the header before decoding, applies the orientation tag, and returns ``uint8`` RGB of
shape ``(H, W, 3)``: gray is replicated to three channels, alpha is composited over white
(bright-field micrographs), 16-bit samples are scaled by ``>> 8``. Every input it cannot read
raises :class:`~craftvision.errors.ImageReadError` naming the input and the reason.
:func:`iter_image_files` turns files, folders and glob patterns into a stable list of image paths.

Example:
    >>> import numpy as np
    >>> from craftvision.imageio import read_image
    >>> read_image(np.full((2, 3), 65535, dtype=np.uint16))[0, 0].tolist()
    [255, 255, 255]
    >>> read_image(b"", name="scan.png")
    Traceback (most recent call last):
    ...
    craftvision.errors.ImageReadError: scan.png: data is empty (0 bytes)
"""

from __future__ import annotations

import glob
import os
import stat
import struct
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import NamedTuple

import cv2
import numpy as np

from craftvision.errors import ImageReadError

__all__ = [
    "DEFAULT_MAX_PIXELS",
    "IMAGE_SUFFIXES",
    "MAX_FILE_BYTES",
    "ImageSource",
    "iter_image_files",
    "read_image",
]

DEFAULT_MAX_PIXELS: int = 100_000_000
"""Largest width * height :func:`read_image` decodes by default (about 10k x 10k)."""

MAX_FILE_BYTES: int = 512 * 1024 * 1024
"""Largest encoded file or byte string :func:`read_image` accepts."""

IMAGE_SUFFIXES: frozenset[str] = frozenset({".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp"})
"""File suffixes (lower case) that :func:`iter_image_files` picks up from folders and globs."""

_SUPPORTED = "craftvision reads PNG, JPEG, TIFF and BMP"
_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_TIFF_MAGICS = (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+")
_BMP_HEADER_SIZES = frozenset(struct.pack("<I", size) for size in (12, 40, 52, 56, 64, 108, 124))
# JPEG markers SOF0..SOF15 carry the frame size; C4 (DHT), C8 (JPG) and CC (DAC) do not.
_JPEG_SOF = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}
_JPEG_STANDALONE = frozenset({0x01, *range(0xD0, 0xD8)})
# Scale-down factors of libjpeg's DCT decoding with their IMREAD_REDUCED_* bits (the _GRAYSCALE_
# variants carry the bits alone, to combine with IMREAD_COLOR_RGB), largest first.
_JPEG_REDUCTIONS = (
    (8, cv2.IMREAD_REDUCED_GRAYSCALE_8),
    (4, cv2.IMREAD_REDUCED_GRAYSCALE_4),
    (2, cv2.IMREAD_REDUCED_GRAYSCALE_2),
)
_OTHER_FORMATS = (
    (b"GIF8", "a GIF image"),
    (b"%PDF", "a PDF document"),
    (b"PK\x03\x04", "a ZIP archive"),
    (b"\x1f\x8b", "a gzip archive"),
    (b"8BPS", "a Photoshop document"),
    (b"\x00\x00\x00\x0cjP  ", "a JPEG 2000 image"),
    (b"\xff\x4f\xff\x51", "a JPEG 2000 image"),
    (b"\xff\x0a", "a JPEG XL image"),
    (b"\x00\x00\x00\x0cJXL ", "a JPEG XL image"),
)


ImageSource = str | os.PathLike | bytes | bytearray | memoryview | np.ndarray
"""What :func:`read_image` reads: a path, the encoded file content, or an array."""


class _Header(NamedTuple):
    """What the header says before any pixel is decoded."""

    width: int
    height: int
    orientation: int = 1
    truncated: bool = False
    extra_samples: int = 0  # TIFF ExtraSamples: 1 associated (premultiplied), 2 straight alpha


class _BadData(Exception):
    """Raised by the header parsers; read_image adds the input's name."""


def read_image(
    source: ImageSource,
    *,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    name: str | None = None,
    draft_size: int | None = None,
) -> np.ndarray:
    """Return the image as uint8 RGB, shape (H, W, 3), C-contiguous, in a new array.

    ``source`` is a path, the encoded file content (bytes) or an array (HxW, HxWx1, HxWx3 RGB,
    HxWx4 RGBA; uint8, uint16, bool, other integers within 0..255, or float in [0, 1]).
    Images larger than ``max_pixels`` are refused from their header, before decoding (OpenCV's
    own ``OPENCV_IO_MAX_IMAGE_PIXELS`` limit, 2**30 by default, still applies above that).
    ``name`` replaces the path, ``"<bytes>"`` or ``"<array>"`` in error messages.
    ``draft_size`` says the caller will shrink the image to that many pixels on its longer side:
    a JPEG is then decoded at 1/2, 1/4 or 1/8 scale (libjpeg's DCT scaling, like PIL's
    ``Image.draft``) as long as its longer side stays at least twice ``draft_size``, which is
    two to three times faster for a microscope field and changes the shrunk image by a fraction
    of a grey level.

    Raises:
        ImageReadError: the input is missing, unreadable, not a supported image, truncated,
            too large, or an array of an unsupported shape, dtype or value range.
    """
    if isinstance(source, np.ndarray):
        label = name or "<array>"
        image = _as_rgb8(source, label, max_pixels)
        return image.copy() if np.may_share_memory(image, source) else image
    if isinstance(source, bytes | bytearray | memoryview):
        label = name or "<bytes>"
        data = bytes(source)
        if not data:
            raise ImageReadError(label, "data is empty (0 bytes)")
        if len(data) > MAX_FILE_BYTES:
            raise ImageReadError(
                label, f"data is too large ({len(data):,} bytes; limit {MAX_FILE_BYTES:,})"
            )
    elif isinstance(source, str | os.PathLike):
        label = name or os.fsdecode(os.fspath(source))
        data = _read_file(os.fspath(source), label)
    else:
        label = name or f"<{type(source).__name__}>"
        raise ImageReadError(label, "not an image source; pass a path, bytes or a numpy array")
    return _as_rgb8(_decode(data, label, max_pixels, draft_size), label, max_pixels)


def iter_image_files(paths: Iterable[str | os.PathLike[str]]) -> Iterator[Path]:
    """Expand files, folders and glob patterns into image paths, in a stable order.

    A file is yielded as given, whatever its suffix. Folders are walked recursively in sorted
    order, keeping entries whose suffix is in ``IMAGE_SUFFIXES`` (any case) and skipping hidden
    entries (such as ``.DS_Store`` or ``._scan.png``); glob matches (``**`` included) are filtered
    the same way. Entries named like images that are not readable files (broken or looping
    links, pipes) are yielded too, so that :func:`read_image` reports them instead of them
    vanishing. Each path is yielded once. Every argument is checked before the first path is
    yielded.

    Raises:
        ImageReadError: an argument does not exist and matches no glob, or a folder is unreadable.

    Example:
        >>> from craftvision.imageio import iter_image_files
        >>> [p.name for p in iter_image_files([])]
        []
    """
    if isinstance(paths, str | os.PathLike):
        paths = [paths]
    sources = [_expand(os.fsdecode(os.fspath(p))) for p in paths]
    return _unique(path for source in sources for path in source)


def _read_file(path: str | bytes, label: str) -> bytes:
    """Read a whole file, refusing missing, special, empty and oversized files."""
    try:
        info = os.stat(path)
        if stat.S_ISDIR(info.st_mode):
            raise ImageReadError(label, "is a directory, not an image file")
        if not stat.S_ISREG(info.st_mode):
            raise ImageReadError(label, "not a regular file")
        if info.st_size == 0:
            raise ImageReadError(label, "file is empty (0 bytes)")
        if info.st_size > MAX_FILE_BYTES:
            raise ImageReadError(
                label, f"file is too large ({info.st_size:,} bytes; limit {MAX_FILE_BYTES:,})"
            )
        with open(path, "rb") as file:
            data = file.read(MAX_FILE_BYTES + 1)
    except (FileNotFoundError, NotADirectoryError):
        raise ImageReadError(label, "no such file") from None
    except PermissionError:
        raise ImageReadError(label, "permission denied") from None
    except OSError as err:
        raise ImageReadError(label, f"cannot read file ({err.strerror or err})") from None
    except ValueError as err:
        raise ImageReadError(label, f"invalid path ({err})") from None
    if not data:
        raise ImageReadError(label, "file is empty (0 bytes)")
    if len(data) > MAX_FILE_BYTES:
        raise ImageReadError(label, f"file is too large (limit {MAX_FILE_BYTES:,} bytes)")
    return data


def _decode(data: bytes, label: str, max_pixels: int, draft_size: int | None) -> np.ndarray:
    """Check the header, then decode to an RGB(A) or gray array of the file's own depth."""
    fmt = _sniff(data)
    if fmt is None:
        what = _describe(data)
        if what == "a GIF image":
            raise ImageReadError(label, f"GIF is not a supported format; {_SUPPORTED}")
        raise ImageReadError(
            label, f"not a supported image (content looks like {what}); {_SUPPORTED}"
        )
    try:
        header = _HEADER_PARSERS[fmt](data)
    except (_BadData, struct.error) as err:
        detail = str(err) if isinstance(err, _BadData) else "header ends early"
        raise ImageReadError(label, f"truncated or corrupt {fmt} data ({detail})") from None
    if header.width <= 0 or header.height <= 0:
        raise ImageReadError(
            label, f"corrupt {fmt} data (header declares a {header.width}x{header.height} image)"
        )
    if header.width * header.height > max_pixels:
        raise ImageReadError(
            label,
            f"image is too large: header declares {header.width}x{header.height} = "
            f"{header.width * header.height:,} pixels, limit is {max_pixels:,} (max_pixels)",
        )
    if header.truncated:
        raise ImageReadError(label, f"truncated or corrupt {fmt} data (file ends early)")
    # IMREAD_COLOR_RGB applies JPEG orientation, converts CMYK and decodes straight to RGB;
    # IMREAD_UNCHANGED keeps alpha, 16-bit and float samples (in BGR order; the TIFF decoder
    # applies TIFF orientation itself).
    flags = cv2.IMREAD_UNCHANGED
    if fmt == "JPEG":
        flags = cv2.IMREAD_COLOR_RGB | _jpeg_reduction(header, draft_size)
    try:
        image = cv2.imdecode(np.frombuffer(data, dtype=np.uint8), flags)
    except cv2.error:
        image = None
    if image is None or image.size == 0:
        raise ImageReadError(label, f"truncated or corrupt {fmt} data (OpenCV could not decode it)")
    if fmt != "JPEG" and image.ndim == 3 and image.shape[2] in (3, 4):
        image = _bgr_to_rgb(image)
    if header.extra_samples in (1, 2) and image.dtype == np.uint8 and image.shape[2:] == (4,):
        # OpenCV decodes 8-bit TIFF through libtiff's RGBA interface, which premultiplies alpha.
        image = _premultiplied_over_white(image)
    return _orient(image, header.orientation)


def _jpeg_reduction(header: _Header, draft_size: int | None) -> int:
    """The IMREAD_REDUCED_* bits for the largest JPEG scale-down that keeps the longer side at
    least twice ``draft_size`` (0: decode at full size)."""
    if draft_size is None:
        return 0
    longer = max(header.width, header.height)
    for factor, bits in _JPEG_REDUCTIONS:
        if longer >= 2 * draft_size * factor:
            return bits
    return 0


def _bgr_to_rgb(image: np.ndarray) -> np.ndarray:
    """Swap OpenCV's BGR(A) to RGB(A) into a new C-contiguous array (cvtColor where it can:
    numpy's fancy indexing is several times slower and leaves a strided array)."""
    if image.dtype in (np.uint8, np.uint16, np.float32):
        code = cv2.COLOR_BGR2RGB if image.shape[2] == 3 else cv2.COLOR_BGRA2RGBA
        return cv2.cvtColor(image, code)
    return np.ascontiguousarray(image[..., [2, 1, 0, 3][: image.shape[2]]])


def _premultiplied_over_white(image: np.ndarray) -> np.ndarray:
    """Composite premultiplied 8-bit RGBA over white: colour + (255 - alpha), as RGB."""
    rgb = image[..., :3].astype(np.uint16) + (255 - image[..., 3:]).astype(np.uint16)
    return np.minimum(rgb, 255).astype(np.uint8)


def _sniff(data: bytes) -> str | None:
    """Name the supported format of ``data`` from its magic bytes, or None."""
    if data.startswith(_PNG_SIGNATURE):
        return "PNG"
    if data.startswith(b"\xff\xd8\xff"):
        return "JPEG"
    if data[:4] in _TIFF_MAGICS:
        return "TIFF"
    if data.startswith(b"BM") and data[14:18] in _BMP_HEADER_SIZES:
        return "BMP"
    return None


def _describe(data: bytes) -> str:
    """Say what unsupported content looks like, for the error message."""
    for magic, what in _OTHER_FORMATS:
        if data.startswith(magic):
            return what
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "a WebP image"
    if data[4:8] == b"ftyp":
        return "an HEIF/AVIF image or a video"
    if data[128:132] == b"DICM":
        return "a DICOM file"
    sample = data[:4096]
    text = sample.decode("utf-8", errors="replace")
    if b"\x00" in sample or text.count("\ufffd") > len(text) // 20:
        return "unknown binary data"
    start = text.lstrip().lower()
    if start.startswith(("<!doctype html", "<html")):
        return "HTML"
    if start.startswith(("<?xml", "<svg")):
        return "XML or SVG text"
    return "text"


def _png_header(data: bytes) -> _Header:
    """Read IHDR, then walk the chunks for eXIf orientation and the closing IEND."""
    if data[12:16] != b"IHDR":
        raise _BadData("no IHDR chunk")
    width, height = struct.unpack_from(">II", data, 16)
    orientation, pos = 1, len(_PNG_SIGNATURE)
    while pos + 8 <= len(data):
        length, kind = struct.unpack_from(">I4s", data, pos)
        if kind == b"IEND":
            return _Header(width, height, orientation)
        if kind == b"eXIf":
            orientation = _exif_orientation(data[pos + 8 : pos + 8 + length])
        pos += 12 + length
    return _Header(width, height, orientation, truncated=True)


def _exif_orientation(exif: bytes) -> int:
    """Return the orientation tag of EXIF data, or 1 when it is absent or unreadable."""
    try:
        return _tiff_tags(exif, (274,)).get(274, 1)
    except (_BadData, struct.error):
        return 1


def _jpeg_header(data: bytes) -> _Header:
    """Walk the markers up to the first scan for the frame size; check the EOI marker after it."""
    size, pos = None, 2
    while pos < len(data):
        if data[pos] != 0xFF:
            raise _BadData(f"no marker at byte {pos}")
        while pos < len(data) and data[pos] == 0xFF:
            pos += 1
        if pos >= len(data):
            break
        marker, pos = data[pos], pos + 1
        if marker in _JPEG_STANDALONE:
            continue
        if marker == 0xD9:
            break
        if marker in _JPEG_SOF:
            height, width = struct.unpack_from(">HH", data, pos + 3)
            size = (width, height)
        if marker == 0xDA:
            if size is None:
                raise _BadData("no frame header before the image data")
            # Entropy-coded data escapes 0xFF, so the end marker cannot occur inside it.
            return _Header(*size, truncated=data.rfind(b"\xff\xd9") < pos)
        pos += struct.unpack_from(">H", data, pos)[0]
    if size is None:
        raise _BadData("no frame header")
    return _Header(*size, truncated=True)


def _tiff_header(data: bytes) -> _Header:
    """Read ImageWidth, ImageLength and ExtraSamples from the first IFD."""
    tags = _tiff_tags(data, (256, 257, 338))
    if 256 not in tags or 257 not in tags:
        raise _BadData("no image size in the first directory")
    return _Header(tags[256], tags[257], extra_samples=tags.get(338, 0))


def _bmp_header(data: bytes) -> _Header:
    """Read the size from the BITMAPCOREHEADER or BITMAPINFOHEADER."""
    if struct.unpack_from("<I", data, 14)[0] == 12:
        width, height = struct.unpack_from("<HH", data, 18)
    else:
        width, height = struct.unpack_from("<ii", data, 18)
    return _Header(width, abs(height))


_HEADER_PARSERS = {
    "PNG": _png_header,
    "JPEG": _jpeg_header,
    "TIFF": _tiff_header,
    "BMP": _bmp_header,
}


def _tiff_tags(blob: bytes, wanted: tuple[int, ...]) -> dict[int, int]:
    """Return the single integer values of ``wanted`` tags in the first IFD of TIFF/EXIF data."""
    order = {b"II": "<", b"MM": ">"}.get(blob[:2])
    if order is None:
        raise _BadData("bad byte-order mark")
    if struct.unpack_from(order + "H", blob, 2)[0] == 43:  # BigTIFF
        count_fmt, entry_fmt, entry_size = "Q", "HHQ", 20
        (offset,) = struct.unpack_from(order + "Q", blob, 8)
    else:
        count_fmt, entry_fmt, entry_size = "H", "HHI", 12
        (offset,) = struct.unpack_from(order + "I", blob, 4)
    (count,) = struct.unpack_from(order + count_fmt, blob, offset)
    first = offset + struct.calcsize(count_fmt)
    if first + count * entry_size > len(blob):
        raise _BadData("directory runs past the end of the data")
    value_formats = {1: "B", 3: "H", 4: "I", 16: "Q"}  # BYTE, SHORT, LONG, LONG8
    values = {}
    for entry in range(first, first + count * entry_size, entry_size):
        tag, kind, n = struct.unpack_from(order + entry_fmt, blob, entry)
        if tag in wanted and n >= 1 and kind in value_formats:
            value_at = entry + struct.calcsize(order + entry_fmt)
            values[tag] = struct.unpack_from(order + value_formats[kind], blob, value_at)[0]
    return values


def _orient(image: np.ndarray, orientation: int) -> np.ndarray:
    """Apply an EXIF orientation (1-8) to a decoded image; other values leave it unchanged."""
    if orientation == 2:
        return image[:, ::-1]
    if orientation == 3:
        return image[::-1, ::-1]
    if orientation == 4:
        return image[::-1]
    if orientation == 5:
        return image.swapaxes(0, 1)
    if orientation == 6:
        return np.rot90(image, -1)
    if orientation == 7:
        return image.swapaxes(0, 1)[::-1, ::-1]
    if orientation == 8:
        return np.rot90(image)
    return image


def _as_rgb8(array: np.ndarray, label: str, max_pixels: int) -> np.ndarray:
    """Check an array's shape, dtype and values and convert it to C-contiguous uint8 RGB."""
    if array.dtype.kind not in "biuf":
        raise ImageReadError(
            label, f"unsupported array dtype {array.dtype}; use uint8, uint16, bool or float"
        )
    if array.size == 0:
        raise ImageReadError(label, f"array is empty (shape {array.shape})")
    if array.ndim not in (2, 3):
        raise ImageReadError(label, f"array must be HxW or HxWxC, got shape {array.shape}")
    channels = 1 if array.ndim == 2 else array.shape[2]
    if channels not in (1, 3, 4):
        raise ImageReadError(
            label,
            f"unsupported channel count {channels} (shape {array.shape}); "
            "use 1 (gray), 3 (RGB) or 4 (RGBA)",
        )
    height, width = array.shape[:2]
    if height * width > max_pixels:
        raise ImageReadError(
            label,
            f"image is too large: {width}x{height} = {width * height:,} pixels, "
            f"limit is {max_pixels:,} (max_pixels)",
        )
    pixels = _to_uint8(array, label)
    if channels == 1:
        return np.repeat(pixels.reshape(height, width, 1), 3, axis=2)
    if channels == 4:
        rgb = pixels[..., :3].astype(np.uint16)
        alpha = pixels[..., 3:].astype(np.uint16)
        return ((rgb * alpha + 255 * (255 - alpha) + 127) // 255).astype(np.uint8)
    return np.ascontiguousarray(pixels)


def _to_uint8(array: np.ndarray, label: str) -> np.ndarray:
    """Scale samples to uint8: uint16 by ``>> 8``, float from [0, 1], bool to 0/255."""
    if array.dtype == np.uint8:
        return array
    if array.dtype == np.bool_:
        return array.astype(np.uint8) * np.uint8(255)
    if array.dtype == np.uint16:
        return (array >> 8).astype(np.uint8)
    low, high = array.min(), array.max()
    if array.dtype.kind == "f":
        if not (np.isfinite(low) and np.isfinite(high)):
            raise ImageReadError(label, "array contains NaN or infinite values")
        if low < 0 or high > 1:
            raise ImageReadError(
                label, f"float values must lie in [0, 1], found {low:.4g} to {high:.4g}"
            )
        return np.rint(array * 255).astype(np.uint8)
    if low < 0 or high > 255:
        raise ImageReadError(
            label,
            f"{array.dtype} values must lie in 0..255, found {low} to {high}; "
            "use uint8, uint16 or float in [0, 1]",
        )
    return array.astype(np.uint8)


def _expand(raw: str) -> list[Path] | Iterator[Path]:
    """Resolve one argument of iter_image_files to its paths; raise if it names nothing."""
    path = Path(os.path.expanduser(raw))
    try:
        if path.is_dir():
            return _walk(path)
        if path.exists() or path.is_symlink():
            return [path]
    except OSError:  # such as a name too long for the file system: read_image reports it
        return [path]
    if any(char in raw for char in "*?["):
        matches = sorted(glob.glob(os.path.expanduser(raw), recursive=True))
        if matches:
            return _filter_matches(Path(match) for match in matches)
        raise ImageReadError(raw, "no file or folder matches this pattern")
    raise ImageReadError(raw, "no such file or folder")


def _filter_matches(matches: Iterable[Path]) -> Iterator[Path]:
    """Yield image files among glob matches, walking matched folders."""
    for match in matches:
        if match.is_dir():
            yield from _walk(match)
        elif match.suffix.lower() in IMAGE_SUFFIXES:
            yield match


def _walk(folder: Path, seen: set[tuple[int, int]] | None = None) -> Iterator[Path]:
    """Yield image files under ``folder`` in sorted order, following links but not loops."""
    seen = set() if seen is None else seen
    try:
        info = folder.stat()
        entries = sorted(os.scandir(folder), key=lambda entry: entry.name)
    except OSError as err:
        raise ImageReadError(str(folder), f"cannot list folder ({err.strerror or err})") from None
    if (info.st_dev, info.st_ino) in seen:
        return
    seen.add((info.st_dev, info.st_ino))
    for entry in entries:
        if entry.name.startswith("."):
            continue
        path = folder / entry.name
        if _is_folder(entry):
            yield from _walk(path, seen)
        elif path.suffix.lower() in IMAGE_SUFFIXES:
            yield path


def _is_folder(entry: os.DirEntry) -> bool:
    """Whether a folder entry is (or links to) a folder; False for a link loop."""
    try:
        return entry.is_dir()
    except OSError:
        return False


def _unique(paths: Iterable[Path]) -> Iterator[Path]:
    """Yield each path once, comparing absolute normalised paths."""
    seen: set[str] = set()
    for path in paths:
        key = os.path.normcase(os.path.abspath(path))
        if key not in seen:
            seen.add(key)
            yield path
