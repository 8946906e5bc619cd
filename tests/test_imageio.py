"""Tests for craftvision.imageio: every input is generated in tmp_path at test time."""

from __future__ import annotations

import io
import struct
import time
import zlib
from pathlib import Path

import cv2
import numpy as np
import pytest

from craftvision import imageio
from craftvision.errors import ImageReadError
from craftvision.imageio import DEFAULT_MAX_PIXELS, IMAGE_SUFFIXES, iter_image_files, read_image


@pytest.fixture
def pil():
    """Pillow's Image module, for inputs OpenCV cannot write (palette, CMYK, EXIF, GIF)."""
    return pytest.importorskip("PIL.Image")


def quadrants(height: int = 40, width: int = 60) -> np.ndarray:
    """An RGB image with four flat coloured quadrants, so orientation and channel order show."""
    image = np.empty((height, width, 3), np.uint8)
    image[: height // 2, : width // 2] = (255, 0, 0)
    image[: height // 2, width // 2 :] = (0, 255, 0)
    image[height // 2 :, : width // 2] = (0, 0, 255)
    image[height // 2 :, width // 2 :] = (255, 255, 255)
    return image


def encode(image: np.ndarray, suffix: str) -> bytes:
    """Encode an RGB(A) or gray array with OpenCV."""
    if image.ndim == 3:
        image = image[..., [2, 1, 0, 3][: image.shape[2]]]
    ok, buffer = cv2.imencode(suffix, image)
    assert ok
    return buffer.tobytes()


def pil_bytes(image, fmt: str, **options) -> bytes:
    """Encode a Pillow image."""
    buffer = io.BytesIO()
    image.save(buffer, fmt, **options)
    return buffer.getvalue()


def write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def refused(source, fragment: str, label: str | None = None, **kwargs) -> ImageReadError:
    """Assert read_image refuses ``source`` with a message naming it and containing ``fragment``."""
    with pytest.raises(ImageReadError) as info:
        read_image(source, **kwargs)
    label = label if label is not None else str(source)
    assert str(info.value).startswith(f"{label}: "), str(info.value)
    assert fragment in info.value.reason, info.value.reason
    return info.value


def png_chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def png_header_only(width: int, height: int) -> bytes:
    """A PNG that declares ``width`` x ``height`` RGB pixels and carries one tiny IDAT."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + png_chunk(b"IHDR", ihdr)
        + png_chunk(b"IDAT", zlib.compress(b"\x00" * 64))
        + png_chunk(b"IEND", b"")
    )


def assert_rgb8(image: np.ndarray, shape: tuple[int, int]) -> None:
    assert image.dtype == np.uint8
    assert image.shape == (*shape, 3)
    assert image.flags.c_contiguous


# --- formats -------------------------------------------------------------------------------


@pytest.mark.parametrize("suffix", [".png", ".tif", ".bmp"])
def test_lossless_formats_round_trip_in_rgb_order(tmp_path, suffix):
    image = quadrants()
    path = write(tmp_path / f"scan{suffix}", encode(image, suffix))
    result = read_image(path)
    assert_rgb8(result, (40, 60))
    np.testing.assert_array_equal(result, image)


def test_jpeg_round_trip_in_rgb_order(tmp_path):
    image = quadrants()
    result = read_image(write(tmp_path / "scan.jpeg", encode(image, ".jpg")))
    assert_rgb8(result, (40, 60))
    assert np.abs(result[5, 5].astype(int) - (255, 0, 0)).max() < 10
    assert np.abs(result[35, 5].astype(int) - (0, 0, 255)).max() < 10


def test_format_is_matched_by_content_not_suffix(tmp_path):
    image = quadrants()
    np.testing.assert_array_equal(
        read_image(write(tmp_path / "a.jpg", encode(image, ".png"))), image
    )
    np.testing.assert_array_equal(
        read_image(write(tmp_path / "b.png", encode(image, ".bmp"))), image
    )
    assert read_image(write(tmp_path / "c.tif", encode(image, ".jpg"))).shape == (40, 60, 3)


@pytest.mark.parametrize("suffix", [".png", ".tif"])
def test_16_bit_is_scaled_by_the_full_range(tmp_path, suffix):
    gray = np.array([[0, 0x00FF, 0x0100, 0x8000, 0xABCD, 0xFFFF]], np.uint16)
    result = read_image(write(tmp_path / f"deep{suffix}", encode(gray, suffix)))
    np.testing.assert_array_equal(result[..., 0], [[0, 0, 1, 128, 0xAB, 255]])
    np.testing.assert_array_equal(result[..., 0], result[..., 2])

    colour = np.zeros((2, 3, 3), np.uint16)
    colour[..., 0] = 0xFF00  # red
    colour[..., 2] = 0x1234  # blue
    result = read_image(write(tmp_path / f"deep_rgb{suffix}", encode(colour, suffix)))
    assert result[0, 0].tolist() == [0xFF, 0, 0x12]


def test_gray_is_replicated_to_three_channels(tmp_path):
    gray = np.arange(12, dtype=np.uint8).reshape(3, 4) * 20
    result = read_image(write(tmp_path / "gray.png", encode(gray, ".png")))
    assert_rgb8(result, (3, 4))
    for channel in range(3):
        np.testing.assert_array_equal(result[..., channel], gray)


def test_alpha_is_composited_over_white(tmp_path):
    rgba = np.zeros((1, 3, 4), np.uint8)
    rgba[0, :, :3] = (200, 0, 0)
    rgba[0, :, 3] = (0, 255, 128)
    result = read_image(write(tmp_path / "alpha.png", encode(rgba, ".png")))
    assert result[0].tolist() == [[255, 255, 255], [200, 0, 0], [227, 127, 127]]


def test_palette_png(tmp_path, pil):
    image = quadrants()
    palette = pil.fromarray(image).convert("P")
    np.testing.assert_array_equal(read_image(pil_bytes(palette, "PNG")), image)
    transparent = read_image(pil_bytes(palette, "PNG", transparency=0))
    assert transparent.shape == (40, 60, 3)


def test_gray_alpha_png_and_rgba_tiff(pil):
    la = pil.fromarray(np.full((2, 2), 50, np.uint8)).convert("LA")
    la.putalpha(0)
    assert read_image(pil_bytes(la, "PNG")).tolist() == [[[255] * 3] * 2] * 2
    rgba = pil.fromarray(np.dstack([np.zeros((2, 2, 3), np.uint8), np.full((2, 2), 255, np.uint8)]))
    assert read_image(pil_bytes(rgba, "TIFF")).max() == 0


def test_cmyk_jpeg(pil):
    rgb = np.zeros((16, 16, 3), np.uint8)
    rgb[:] = (200, 100, 50)
    result = read_image(pil_bytes(pil.fromarray(rgb).convert("CMYK"), "JPEG", quality=95))
    assert np.abs(result.astype(int) - rgb).max() < 8


@pytest.mark.parametrize("orientation", [6, 8, 3])
def test_jpeg_exif_orientation_is_applied(pil, orientation):
    exif = pil.Exif()
    exif[274] = orientation
    data = pil_bytes(pil.fromarray(quadrants()), "JPEG", exif=exif, quality=95)
    result = read_image(data)
    expected = {6: np.rot90(quadrants(), -1), 8: np.rot90(quadrants()), 3: quadrants()[::-1, ::-1]}
    assert result.shape == expected[orientation].shape
    assert np.abs(result.astype(int) - expected[orientation]).mean() < 4


@pytest.mark.parametrize("orientation", [1, 6, 8, 3])
def test_draft_jpeg_keeps_orientation_and_twice_the_size(pil, orientation):
    exif = pil.Exif()
    exif[274] = orientation
    big = cv2.resize(quadrants(), (600, 400), interpolation=cv2.INTER_NEAREST)
    data = pil_bytes(pil.fromarray(big), "JPEG", exif=exif, quality=95)
    full = read_image(data)
    draft = read_image(data, draft_size=70)  # 600 px long side: decoded at 1/4 (150 >= 140)
    assert draft.shape[:2] == (full.shape[0] // 4, full.shape[1] // 4)
    shrunk = cv2.resize(full, draft.shape[1::-1], interpolation=cv2.INTER_AREA)
    assert np.abs(draft.astype(int) - shrunk).mean() < 2


def test_draft_cmyk_jpeg_stays_rgb(pil):
    rgb = np.zeros((256, 256, 3), np.uint8)
    rgb[:] = (200, 100, 50)
    data = pil_bytes(pil.fromarray(rgb).convert("CMYK"), "JPEG", quality=95)
    result = read_image(data, draft_size=32)  # 256 px: decoded at 1/4 (64 >= 2 * 32)
    assert result.shape == (64, 64, 3)
    assert np.abs(result.astype(int) - rgb[:64, :64]).max() < 8


@pytest.mark.parametrize(
    ("draft_size", "shape"),
    [(None, (300, 400)), (150, (300, 400)), (100, (150, 200)), (50, (75, 100)), (10, (38, 50))],
)
def test_draft_size_decodes_jpeg_at_the_smallest_scale_with_twice_the_size(draft_size, shape):
    data = encode(cv2.resize(quadrants(), (400, 300)), ".jpg")
    assert read_image(data, draft_size=draft_size).shape == (*shape, 3)


def test_draft_size_leaves_other_formats_whole():
    image = cv2.resize(quadrants(), (400, 300), interpolation=cv2.INTER_NEAREST)
    np.testing.assert_array_equal(read_image(encode(image, ".png"), draft_size=10), image)


@pytest.mark.parametrize("orientation", range(1, 9))
def test_png_exif_orientation_matches_pillow(pil, orientation):
    from PIL import ImageOps

    exif = pil.Exif()
    exif[274] = orientation
    image = pil.fromarray(quadrants(6, 10))
    image.putpixel((0, 0), (9, 9, 9))
    data = pil_bytes(image, "PNG", exif=exif)
    expected = np.asarray(ImageOps.exif_transpose(pil.open(io.BytesIO(data))))
    np.testing.assert_array_equal(read_image(data), expected)


def test_tiff_orientation_tag_is_applied(pil):
    from PIL import TiffImagePlugin

    tags = TiffImagePlugin.ImageFileDirectory_v2()
    tags[274] = 6
    result = read_image(pil_bytes(pil.fromarray(quadrants()), "TIFF", tiffinfo=tags))
    np.testing.assert_array_equal(result, np.rot90(quadrants(), -1))


def test_multi_page_tiff_returns_first_page(tmp_path):
    pages = [quadrants(), np.zeros((5, 7, 3), np.uint8)]
    ok, buffer = cv2.imencodemulti(".tiff", [page[..., ::-1].copy() for page in pages])
    assert ok
    np.testing.assert_array_equal(read_image(buffer.tobytes()), pages[0])


def test_float_tiff_is_scaled_from_unit_range(tmp_path, pil):
    data = pil_bytes(pil.fromarray(np.full((2, 3), 0.5, np.float32)), "TIFF")
    assert (read_image(data) == 128).all()
    hot = pil_bytes(pil.fromarray(np.full((2, 3), 4.0, np.float32)), "TIFF")
    refused(write(tmp_path / "hot.tif", hot), "float values must lie in [0, 1]")


@pytest.mark.parametrize("suffix", [".png", ".jpg", ".tif", ".bmp"])
def test_1x1_image_is_valid(tmp_path, suffix):
    path = write(tmp_path / f"dot{suffix}", encode(np.full((1, 1, 3), 255, np.uint8), suffix))
    result = read_image(path)
    assert_rgb8(result, (1, 1))
    assert result.min() > 240


# --- bytes and arrays ---------------------------------------------------------------------------


def test_bytes_like_inputs():
    data = encode(quadrants(), ".png")
    for source in (data, bytearray(data), memoryview(data)):
        np.testing.assert_array_equal(read_image(source), quadrants())


@pytest.mark.parametrize(
    ("array", "expected"),
    [
        (np.full((2, 3), 7, np.uint8), 7),
        (np.full((2, 3, 1), 7, np.uint8), 7),
        (np.full((2, 3, 3), 7, np.uint8), 7),
        (np.dstack([np.full((2, 3, 3), 7, np.uint8), np.full((2, 3), 255, np.uint8)]), 7),
        (np.dstack([np.full((2, 3, 3), 7, np.uint8), np.zeros((2, 3), np.uint8)]), 255),
        (np.full((2, 3), 0x07FF, np.uint16), 7),
        (np.full((2, 3, 3), 0.5, np.float32), 128),
        (np.ones((2, 3), np.float64), 255),
        (np.ones((2, 3), np.float16), 255),
        (np.ones((2, 3), bool), 255),
        (np.full((2, 3), 7, np.int64), 7),
    ],
    ids=lambda value: str(getattr(value, "shape", value)) + str(getattr(value, "dtype", "")),
)
def test_array_inputs(array, expected):
    result = read_image(array)
    assert_rgb8(result, (2, 3))
    assert (result == expected).all()


def test_array_rgb_order_kept_and_result_is_a_new_contiguous_array():
    image = quadrants()
    view = np.asfortranarray(image)[:, ::-1]
    result = read_image(view)
    assert result.flags.c_contiguous
    np.testing.assert_array_equal(result, image[:, ::-1])
    same = read_image(image)
    assert same is not image and not np.shares_memory(same, image)


@pytest.mark.parametrize(
    ("array", "fragment"),
    [
        (np.array([[0.1, np.nan]]), "NaN or infinite"),
        (np.array([[0.1, np.inf]], np.float32), "NaN or infinite"),
        (np.array([[0.5, 1.5]]), "float values must lie in [0, 1]"),
        (np.array([[-1, 300]]), "values must lie in 0..255"),
        (np.zeros((0, 5, 3), np.uint8), "array is empty"),
        (np.zeros(5, np.uint8), "must be HxW or HxWxC"),
        (np.zeros((2, 2, 3, 1), np.uint8), "must be HxW or HxWxC"),
        (np.zeros((2, 2, 2), np.uint8), "unsupported channel count 2"),
        (np.zeros((2, 2, 5), np.uint8), "unsupported channel count 5"),
        (np.zeros((2, 2), complex), "unsupported array dtype complex128"),
        (np.zeros((2, 2), object), "unsupported array dtype object"),
        (np.zeros((2, 2), "U3"), "unsupported array dtype"),
    ],
    ids=lambda value: getattr(value, "dtype", value),
)
def test_bad_arrays_are_refused(array, fragment):
    refused(array, fragment, label="<array>")
    refused(array, fragment, label="frame 3", name="frame 3")


def test_unknown_source_type_is_refused():
    refused([[0, 0]], "pass a path, bytes or a numpy array", label="<list>")


# --- bad files ----------------------------------------------------------------------------------


def test_missing_file(tmp_path):
    refused(tmp_path / "nope.png", "no such file")
    refused(str(tmp_path / "nope.png" / "deeper.png"), "no such file")


def test_directory_named_like_an_image(tmp_path):
    folder = tmp_path / "scan.png"
    folder.mkdir()
    refused(folder, "is a directory")


def test_empty_file_and_empty_bytes(tmp_path):
    refused(write(tmp_path / "empty.png", b""), "file is empty (0 bytes)")
    refused(b"", "empty (0 bytes)", label="<bytes>")
    refused(b"", "empty (0 bytes)", label="upload.jpg", name="upload.jpg")


def test_name_replaces_the_path_in_messages(tmp_path):
    refused(tmp_path / "nope.png", "no such file", label="sample 7", name="sample 7")


def test_oversized_file_is_refused_before_reading(tmp_path, monkeypatch):
    monkeypatch.setattr(imageio, "MAX_FILE_BYTES", 100)
    path = write(tmp_path / "big.png", encode(quadrants(), ".png"))
    refused(path, "file is too large")
    refused(path.read_bytes(), "data is too large", label="<bytes>")


def test_permission_denied(tmp_path, monkeypatch):
    path = write(tmp_path / "locked.png", encode(quadrants(), ".png"))

    def deny(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(imageio, "open", deny, raising=False)
    refused(path, "permission denied")


@pytest.mark.parametrize(
    ("content", "looks_like"),
    [
        (b"fibre,diameter_um\n1,12.5\n", "content looks like text"),
        ("Pashmina µm notes\n".encode(), "content looks like text"),
        (b"<!DOCTYPE html><html></html>", "content looks like HTML"),
        (b'<?xml version="1.0"?><svg/>', "content looks like XML or SVG"),
        (b"%PDF-1.7\n", "content looks like a PDF document"),
        (b"PK\x03\x04" + bytes(40), "content looks like a ZIP archive"),
        (b"RIFF\x00\x00\x00\x00WEBPVP8 ", "content looks like a WebP image"),
        (bytes(range(256)) * 4, "content looks like unknown binary data"),
        (b"BM" + bytes(40), "content looks like"),
    ],
)
def test_non_images_renamed_png(tmp_path, content, looks_like):
    error = refused(write(tmp_path / "scan.png", content), looks_like)
    assert error.reason.startswith("not a supported image")
    assert "PNG, JPEG, TIFF and BMP" in error.reason


def test_gif_is_refused(tmp_path, pil):
    frames = [pil.fromarray(quadrants()), pil.fromarray(quadrants()[::-1])]
    data = pil_bytes(frames[0], "GIF", save_all=True, append_images=frames[1:])
    refused(write(tmp_path / "anim.gif", data), "GIF is not a supported format")
    refused(write(tmp_path / "renamed.png", data), "GIF is not a supported format")


def test_truncated_jpeg(tmp_path):
    rng = np.random.default_rng(0)
    data = encode(rng.integers(0, 256, (64, 64, 3), dtype=np.uint8), ".jpg")
    for cut, name in ((len(data) // 2, "half.jpg"), (len(data) - 2, "no_eoi.jpg")):
        refused(write(tmp_path / name, data[:cut]), "truncated or corrupt JPEG data")
    refused(write(tmp_path / "head.jpg", data[:10]), "truncated or corrupt JPEG data")


def test_truncated_png(tmp_path):
    data = encode(np.random.default_rng(0).integers(0, 256, (64, 64, 3), dtype=np.uint8), ".png")
    for cut in (len(data) // 2, len(data) - 12, 20):
        refused(write(tmp_path / f"cut{cut}.png", data[:cut]), "truncated or corrupt PNG data")


@pytest.mark.parametrize("suffix", [".tif", ".bmp"])
def test_truncated_tiff_and_bmp(tmp_path, suffix):
    data = encode(np.random.default_rng(0).integers(0, 256, (64, 64, 3), dtype=np.uint8), suffix)
    fmt = {".tif": "TIFF", ".bmp": "BMP"}[suffix]
    refused(
        write(tmp_path / f"half{suffix}", data[: len(data) // 2]), f"truncated or corrupt {fmt}"
    )
    refused(write(tmp_path / f"head{suffix}", data[:20]), f"truncated or corrupt {fmt}")


def jpeg_declaring(width: int, height: int) -> bytes:
    sof = struct.pack(">BHHB", 8, height, width, 3) + b"\x01\x11\x00\x02\x11\x00\x03\x11\x00"
    return b"\xff\xd8\xff\xc0" + struct.pack(">H", len(sof) + 2) + sof + b"\xff\xd9"


def tiff_declaring(width: int, height: int) -> bytes:
    entries = [(256, 4, 1, width), (257, 4, 1, height), (258, 3, 1, 8)]
    body = struct.pack("<H", len(entries))
    body += b"".join(struct.pack("<HHII", *entry) for entry in entries) + bytes(4)
    return b"II*\x00" + struct.pack("<I", 8) + body


def bmp_declaring(width: int, height: int) -> bytes:
    info = struct.pack("<IiiHHIIiiII", 40, width, -height, 1, 24, 0, 0, 0, 0, 0, 0)
    return b"BM" + struct.pack("<IHHI", 14 + len(info), 0, 0, 14 + len(info)) + info


@pytest.mark.parametrize(
    "make",
    [png_header_only, jpeg_declaring, tiff_declaring, bmp_declaring],
    ids=["png", "jpeg", "tiff", "bmp"],
)
def test_decompression_bomb_is_refused_from_the_header(tmp_path, make):
    path = write(tmp_path / "bomb.img", make(50_000, 50_000))
    start = time.perf_counter()
    error = refused(path, "header declares 50000x50000 = 2,500,000,000 pixels")
    assert time.perf_counter() - start < 0.5
    assert f"limit is {DEFAULT_MAX_PIXELS:,}" in error.reason


def test_png_header_bomb_without_data_is_refused_for_its_size():
    data = b"\x89PNG\r\n\x1a\n" + png_chunk(
        b"IHDR", struct.pack(">IIBBBBB", 50_000, 50_000, 8, 6, 0, 0, 0)
    )
    refused(data, "50000x50000", label="<bytes>")


def test_max_pixels_is_honoured_for_files_and_arrays(tmp_path):
    path = write(tmp_path / "scan.png", encode(quadrants(), ".png"))
    refused(path, "40 = 2,400 pixels, limit is 2,399", max_pixels=2399)
    assert read_image(path, max_pixels=2400).shape == (40, 60, 3)
    refused(quadrants(), "limit is 100", label="<array>", max_pixels=100)


# --- iter_image_files ---------------------------------------------------------------------------


@pytest.fixture
def image_tree(tmp_path):
    files = [
        "b.png",
        "a.JPG",
        "notes.txt",
        "sub/z.TIFF",
        "sub/c.bmp",
        "sub/deeper/d.jpeg",
        "sub/deeper/readme.md",
        "sub/.hidden.png",
        "._a.png",
        ".cache/e.png",
        "other/e.tif",
    ]
    for name in files:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_bytes(b"x")
    (tmp_path / "empty_dir").mkdir()
    return tmp_path


def names(paths, root: Path) -> list[str]:
    return [path.relative_to(root).as_posix() for path in paths]


def test_iter_folder_recursively_sorted_and_filtered(image_tree):
    expected = ["a.JPG", "b.png", "other/e.tif", "sub/c.bmp", "sub/deeper/d.jpeg", "sub/z.TIFF"]
    assert names(iter_image_files([image_tree]), image_tree) == expected
    assert names(iter_image_files(str(image_tree)), image_tree) == expected
    assert all(isinstance(path, Path) for path in iter_image_files([image_tree]))


def test_iter_globs_files_and_dedup(image_tree):
    assert names(iter_image_files([str(image_tree / "sub" / "*")]), image_tree) == [
        "sub/c.bmp",
        "sub/deeper/d.jpeg",
        "sub/z.TIFF",
    ]
    assert names(iter_image_files([str(image_tree / "**" / "*.jp*g")]), image_tree) == [
        "sub/deeper/d.jpeg"
    ]
    mixed = [image_tree / "notes.txt", image_tree / "b.png", str(image_tree / "*.png"), image_tree]
    assert names(iter_image_files(mixed), image_tree) == [
        "notes.txt",
        "b.png",
        "a.JPG",
        "other/e.tif",
        "sub/c.bmp",
        "sub/deeper/d.jpeg",
        "sub/z.TIFF",
    ]


def test_iter_refuses_missing_paths_before_yielding(image_tree):
    missing = str(image_tree / "missing")
    with pytest.raises(ImageReadError, match="missing: no such file or folder"):
        iter_image_files([image_tree, missing])
    with pytest.raises(ImageReadError, match=r"\*\.gif: no file or folder matches"):
        iter_image_files([str(image_tree / "*.gif")])
    assert list(iter_image_files([image_tree / "empty_dir"])) == []


def test_iter_follows_folder_links_without_looping(image_tree):
    (image_tree / "sub" / "loop").symlink_to(image_tree / "sub", target_is_directory=True)
    assert names(iter_image_files([image_tree / "sub"]), image_tree) == [
        "sub/c.bmp",
        "sub/deeper/d.jpeg",
        "sub/z.TIFF",
    ]


def test_image_suffixes_constant():
    assert {".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp"} == IMAGE_SUFFIXES
