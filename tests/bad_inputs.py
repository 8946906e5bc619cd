"""A corpus of bad and awkward image inputs, generated at test time, each with what it must give.

Every :class:`Case` is either readable (``expected`` is the RGB image :func:`read_image` must
return, within ``tolerance`` mean absolute difference for lossy formats) or refused
(``expected is None``: an :class:`~craftvision.errors.ImageReadError` that names the input and
whose reason contains ``reason``). :func:`build_corpus` writes the file cases into a folder;
the ``*_problems`` functions run the corpus through one consumer each (``read_image``,
``Inspector``, ``craftvision inspect``, the dataset loader, ``craftvision.measure``) and return
what went wrong, by kind: an empty dict when every result is right.

Example:
    >>> cases = build_corpus(tmp_path)                          # doctest: +SKIP
    >>> len({case.kind for case in cases}) >= 30                # doctest: +SKIP
    True
"""

from __future__ import annotations

import io
import os
import struct
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from PIL import Image, ImageOps

__all__ = [
    "CLI_GUARD",
    "Case",
    "CliRun",
    "Problems",
    "build_corpus",
    "cli_problems",
    "dataset_problems",
    "inspector_problems",
    "measure_problems",
    "read_image_problems",
    "run_cli",
]


@dataclass(frozen=True)
class Case:
    """One kind of input and the result it must give."""

    kind: str
    source: Any
    expected: np.ndarray | None = None
    reason: str = ""
    tolerance: float = 0.0

    @property
    def readable(self) -> bool:
        """Whether the input must be read (else refused)."""
        return self.expected is not None

    @property
    def is_path(self) -> bool:
        """Whether the input is a file-system path (usable by the CLI and the dataset loader)."""
        return isinstance(self.source, Path)

    @property
    def label(self) -> str:
        """How error messages name the input."""
        if isinstance(self.source, Path):
            return os.fsdecode(self.source)
        if isinstance(self.source, np.ndarray):
            return "<array>"
        if isinstance(self.source, bytes | bytearray | memoryview):
            return "<bytes>"
        return f"<{type(self.source).__name__}>"


def pattern(height: int = 48, width: int = 64) -> np.ndarray:
    """RGB image of four flat quadrants (few colours, so palettes are exact; orientation shows)."""
    image = np.empty((height, width, 3), np.uint8)
    image[: height // 2, : width // 2] = (200, 40, 30)
    image[: height // 2, width // 2 :] = (30, 180, 60)
    image[height // 2 :, : width // 2] = (20, 50, 210)
    image[height // 2 :, width // 2 :] = (235, 235, 235)
    return image


def composite_over_white(rgb: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """What read_image makes of straight alpha: the image composited over white, rounded."""
    colour = rgb.astype(np.uint16)
    weight = alpha.astype(np.uint16)[..., None]
    return ((colour * weight + 255 * (255 - weight) + 127) // 255).astype(np.uint8)


def _encode(image: np.ndarray, suffix: str) -> bytes:
    """Encode an RGB(A) or gray array with OpenCV."""
    if image.ndim == 3:
        image = image[..., [2, 1, 0, 3][: image.shape[2]]]
    ok, buffer = cv2.imencode(suffix, image)
    if not ok:
        raise RuntimeError(f"OpenCV cannot encode {suffix}")
    return buffer.tobytes()


def _pil(image: Image.Image, fmt: str, **options: Any) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **options)
    return buffer.getvalue()


def _pil_reference(data: bytes) -> np.ndarray:
    """Decode with Pillow (an independent decoder): orientation applied, alpha over white."""
    image = ImageOps.exif_transpose(Image.open(io.BytesIO(data))).convert("RGBA")
    pixels = np.asarray(image)
    return composite_over_white(pixels[..., :3], pixels[..., 3])


def _png_chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def _png_declaring(width: int, height: int) -> bytes:
    """A PNG whose header declares ``width`` x ``height`` RGB pixels, with one tiny IDAT."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", ihdr)
        + _png_chunk(b"IDAT", zlib.compress(b"\x00" * 64))
        + _png_chunk(b"IEND", b"")
    )


def _jpeg_declaring(width: int, height: int) -> bytes:
    """A JPEG frame header declaring ``width`` x ``height`` and nothing else."""
    sof = struct.pack(">BHHB", 8, height, width, 3) + b"\x01\x11\x00\x02\x11\x00\x03\x11\x00"
    return b"\xff\xd8\xff\xc0" + struct.pack(">H", len(sof) + 2) + sof + b"\xff\xd9"


def _zip_bytes() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("scan.png", _encode(pattern(), ".png"))
    return buffer.getvalue()


def _bmp32(image: np.ndarray) -> bytes:
    """A 32-bit BI_RGB BMP whose fourth byte is 0 (unused, not alpha), bottom-up."""
    height, width = image.shape[:2]
    pad = np.zeros((height, width, 1), np.uint8)
    rows = np.concatenate([image[::-1, :, ::-1], pad], axis=2).tobytes()
    info = struct.pack("<IiiHHIIiiII", 40, width, height, 1, 32, 0, len(rows), 2835, 2835, 0, 0)
    return b"BM" + struct.pack("<IHHI", 54 + len(rows), 0, 0, 54) + info + rows


def _file_cases(folder: Path) -> list[Case]:
    """Inputs that live in files; writes them into ``folder``."""
    base = pattern()
    png = _encode(base, ".png")
    jpeg = _encode(base, ".jpg")
    noisy = np.random.default_rng(0).integers(0, 256, (64, 64, 3), dtype=np.uint8)
    noisy_png, noisy_jpeg = _encode(noisy, ".png"), _encode(noisy, ".jpg")
    alpha = np.full(base.shape[:2], 255, np.uint8)
    alpha[:, :16], alpha[:, 16:32] = 0, 128
    gray = base[..., 0]
    strip = np.repeat(np.linspace(0, 255, 100_000).astype(np.uint8)[None], 10, axis=0)
    pil_base = Image.fromarray(base)
    exif = Image.Exif()
    exif[274] = 6  # rotate 90° clockwise to display
    rotated_jpeg = _pil(pil_base, "JPEG", exif=exif.tobytes(), quality=95)
    exif[274] = 8
    rotated_png = _pil(pil_base, "PNG", exif=exif.tobytes())
    frames = [pil_base, Image.fromarray(base[::-1].copy())]
    gif = _pil(frames[0], "GIF", save_all=True, append_images=frames[1:])
    ok, pages = cv2.imencodemulti(".tiff", [base[..., ::-1].copy(), np.zeros((5, 7, 3), np.uint8)])
    assert ok
    cmyk = _pil(pil_base.convert("CMYK"), "JPEG", quality=95)
    indexed = pil_base.convert("P", palette=Image.Palette.ADAPTIVE)
    palette, palette_clear = _pil(indexed, "PNG"), _pil(indexed, "PNG", transparency=0)
    rgba_tiff = _pil(Image.fromarray(np.dstack([base, alpha])), "TIFF")  # straight alpha
    bad_crc = bytearray(png)
    bad_crc[-20] ^= 0xFF  # inside the IDAT chunk's compressed data

    def put(
        name: str | bytes, data: bytes, kind: str, expected: np.ndarray | None = None, **more: Any
    ) -> Case:
        path = folder / os.fsdecode(name)  # bytes: a name that is not UTF-8
        path.write_bytes(data)
        return Case(kind, path, expected, **more)

    cases = [
        put("zero_bytes.png", b"", "zero_bytes", reason="file is empty"),
        put("truncated.png", noisy_png[: len(noisy_png) // 2], "truncated_png", reason="truncated"),
        put("truncated.jpg", noisy_jpeg[: len(noisy_jpeg) // 2], "truncated_jpeg", reason="trunc"),
        put("header_only.jpg", noisy_jpeg[:10], "jpeg_header_only", reason="truncated or corrupt"),
        put("bad_crc.png", bytes(bad_crc), "png_bad_crc", reason="corrupt PNG data"),
        put("png_named.jpg", png, "png_named_jpg", base),
        put("jpeg_named.png", jpeg, "jpeg_named_png", base, tolerance=3),
        put("text.png", b"fibre,diameter_um\n1,12.5\n", "text_named_png", reason="looks like text"),
        put("page.png", b"<!DOCTYPE html><html></html>", "html_named_png", reason="like HTML"),
        put("archive.png", _zip_bytes(), "zip_named_png", reason="like a ZIP archive"),
        put("doc.jpg", b"%PDF-1.7\n%\xe2\xe3\n", "pdf_named_jpg", reason="like a PDF document"),
        put("deep.png", _encode(base.astype(np.uint16) * 257, ".png"), "png_16bit", base),
        put("deep.tif", _encode(base.astype(np.uint16) * 257, ".tiff"), "tiff_16bit", base),
        put("cmyk.jpg", cmyk, "cmyk_jpeg", _pil_reference(cmyk), tolerance=3),
        put(
            "rgba.png",
            _encode(np.dstack([base, alpha]), ".png"),
            "rgba_png",
            composite_over_white(base, alpha),
        ),
        put(
            "rgba.tif",
            rgba_tiff,
            "rgba_tiff_partial_alpha",
            composite_over_white(base, alpha),
            tolerance=0.5,
        ),
        put(
            "la.png",
            _pil(Image.fromarray(np.dstack([gray, alpha])), "PNG"),
            "la_png",
            composite_over_white(np.dstack([gray] * 3), alpha),
        ),
        put("palette.png", palette, "palette_png", base),
        put(
            "palette_clear.png",
            palette_clear,
            "palette_transparent_png",
            _pil_reference(palette_clear),
        ),
        put("anim.gif", gif, "animated_gif", reason="GIF is not a supported format"),
        put("pages.tif", pages.tobytes(), "multipage_tiff", base),
        put("rotated.jpg", rotated_jpeg, "exif_rotated_jpeg", np.rot90(base, -1), tolerance=3),
        put("rotated.png", rotated_png, "exif_rotated_png", np.rot90(base)),
        put("bmp32.bmp", _bmp32(base), "bmp_32bit_unused_alpha", base),
        put("dot.png", _encode(base[:1, :1], ".png"), "one_pixel", base[:1, :1]),
        put("strip.png", _encode(strip, ".png"), "strip_100000x10", np.dstack([strip] * 3)),
        put(
            "bomb.png",
            _png_declaring(50_000, 50_000),
            "header_50000x50000_png",
            reason="header declares 50000x50000",
        ),
        put(
            "bomb.jpg",
            _jpeg_declaring(50_000, 50_000),
            "header_50000x50000_jpeg",
            reason="header declares 50000x50000",
        ),
        put(
            "hot.tif",
            _pil(Image.fromarray(np.full((4, 4), 4.0, np.float32)), "TIFF"),
            "float_tiff_out_of_range",
            reason="float values must lie in [0, 1]",
        ),
        put(
            "trailing.jpg", jpeg + b"\x00garbage" * 100, "jpeg_trailing_garbage", base, tolerance=3
        ),
        put(b"scan\xff\xfe.png", png, "non_utf8_name", base),
        put(b"cut\xff.png", noisy_png[:40], "non_utf8_name_truncated", reason="truncated"),
    ]
    locked = put("locked.png", png, "no_read_permission", base)
    locked.source.chmod(0)
    if os.geteuid() != 0:  # root reads any file: then the right result is the image itself
        locked = Case(locked.kind, locked.source, reason="permission denied")
    (folder / "folder.png").mkdir()
    fifo = folder / "fifo.png"
    os.mkfifo(fifo)
    (folder / "dangling.png").symlink_to(folder / "nowhere.png")
    (folder / "loop.png").symlink_to(folder / "loop.png")
    return [
        *cases,
        locked,
        Case("directory_named_png", folder / "folder.png", reason="is a directory"),
        Case("fifo_named_png", fifo, reason="not a regular file"),
        Case("dangling_symlink", folder / "dangling.png", reason="no such file"),
        Case("symlink_loop", folder / "loop.png", reason="Too many levels of symbolic links"),
    ]


def _path_only_cases(folder: Path) -> list[Case]:
    """Paths that name nothing readable and are never written."""
    return [
        Case("path_too_long", folder / ("x" * 300 + ".png"), reason="File name too long"),
        Case("parent_is_a_file", folder / "png_named.jpg" / "x.png", reason="no such file"),
        Case("url_as_path", Path("https:/example.org/scan.png"), reason="no such file"),
    ]


def _memory_cases() -> list[Case]:
    """Arrays, bytes and other objects passed in memory."""
    base = pattern()
    nan = base.astype(np.float32) / 255
    nan[3, 4, 1] = np.nan
    inf = base.astype(np.float64) / 255
    inf[0, 0, 0] = np.inf
    return [
        Case("nan_float_array", nan, reason="NaN or infinite"),
        Case("inf_float_array", inf, reason="NaN or infinite"),
        Case("float_array_out_of_range", base.astype(np.float32), reason="must lie in [0, 1]"),
        Case("float16_array", (base / 255).astype(np.float16), base, tolerance=0.5),
        Case("int64_array", base.astype(np.int64), base),
        Case("int64_array_out_of_range", base.astype(np.int64) * 300, reason="must lie in 0..255"),
        Case("bool_array", base[..., 0] > 100, np.dstack([(base[..., 0] > 100) * 255] * 3)),
        Case("complex_array", base.astype(np.complex64), reason="unsupported array dtype"),
        Case("object_array", base.astype(object), reason="unsupported array dtype"),
        Case("array_4d", base[None], reason="must be HxW or HxWxC"),
        Case("array_1d", base.ravel(), reason="must be HxW or HxWxC"),
        Case("empty_array", np.zeros((0, 5, 3), np.uint8), reason="array is empty"),
        Case("two_channel_array", base[..., :2], reason="unsupported channel count 2"),
        Case("strided_flipped_view", base[::-1, ::2], base[::-1, ::2]),
        Case("fortran_order_array", np.asfortranarray(base), base),
        Case(
            "array_over_pixel_limit",
            np.broadcast_to(np.zeros((1, 1, 3), np.uint8), (20_000, 20_000, 3)),
            reason="image is too large",
        ),
        Case("bytearray_source", bytearray(_encode(base, ".png")), base),
        Case("memoryview_source", memoryview(_encode(base, ".png")), base),
        Case("empty_bytes", b"", reason="data is empty"),
        Case("random_bytes", bytes(range(256)) * 8, reason="unknown binary data"),
        Case("none_source", None, reason="not an image source"),
    ]


def build_corpus(folder: Path) -> list[Case]:
    """Write the file inputs into ``folder`` (which must exist) and return every case."""
    return [*_file_cases(folder), *_path_only_cases(folder), *_memory_cases()]


# --- running the corpus through each consumer ---------------------------------------------------

Problems = dict[str, str]
"""What went wrong, by kind of input (and consumer); empty when every result is right."""

CLI_GUARD = """
import atexit, json, resource, sys
network = []
def refuse_network(event, args):
    if event in ("socket.__new__", "socket.connect", "socket.bind", "socket.getaddrinfo"):
        network.append(event)
        raise PermissionError(f"craftvision must not use the network ({event})")
sys.addaudithook(refuse_network)
def report():
    heavy = [m for m in ("torch", "timm", "matplotlib", "albumentations", "numba")
             if m in sys.modules]
    try:  # this process's own peak (ru_maxrss would count the parent it was forked from)
        with open("/proc/self/status") as status:
            rss = next(int(l.split()[1]) for l in status if l.startswith("VmHWM")) / 1024
    except (OSError, StopIteration):
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    report = {"max_rss_mb": rss, "heavy": heavy, "network": network}
    sys.stderr.write("\\ncraftvision-guard: " + json.dumps(report) + "\\n")
atexit.register(report)
sys.argv = ["craftvision", *sys.argv[1:]]
from craftvision.cli import main
main()
"""
"""``python -c CLI_GUARD ARGS`` runs ``craftvision ARGS`` with every socket refused (an audit hook,
which no import-time reference to ``socket.socket`` can bypass) and reports at exit the peak
memory, the heavy modules imported and any network attempt."""


@dataclass(frozen=True)
class CliRun:
    """A finished ``craftvision`` process run under :data:`CLI_GUARD`."""

    returncode: int
    stdout: str
    stderr: str
    max_rss_mb: float
    heavy_modules: tuple[str, ...]
    network: tuple[str, ...]


def run_cli(args: list[str], *, timeout: float = 120) -> CliRun:
    """Run ``craftvision ARGS`` in a new guarded process (a hang fails after ``timeout`` s)."""
    import json
    import subprocess
    import sys

    done = subprocess.run(
        [sys.executable, "-c", CLI_GUARD, *args],
        capture_output=True,
        text=True,
        errors="replace",
        timeout=timeout,
    )
    marker = "craftvision-guard: "
    lines = [line for line in done.stderr.splitlines() if line.startswith(marker)]
    report = json.loads(lines[-1][len(marker) :]) if lines else {}
    return CliRun(
        done.returncode,
        done.stdout,
        done.stderr,
        report.get("max_rss_mb", float("nan")),
        tuple(report.get("heavy", ("<no report>",))),
        tuple(report.get("network", ())),
    )


def _is_file(path: Path) -> bool:
    """``Path.is_file`` that says False for names the file system refuses (too long)."""
    try:
        return path.is_file()
    except OSError:
        return False


def _expected_path(case: Case) -> str | None:
    return os.fsdecode(case.source) if case.is_path else None


def error_problem(case: Case, message: str) -> str | None:
    """What is wrong with the error ``message`` given for ``case``; None if it is the right one."""
    if case.readable:
        return f"refused a readable input: {message}"
    if not message.startswith(f"{case.label}: "):
        return f"the error does not name the input: {message!r}"
    if case.reason not in message:
        return f"the error lacks {case.reason!r}: {message!r}"
    return None


def image_problem(case: Case, outcome: object) -> str | None:
    """What is wrong with ``read_image``'s outcome (an image or the exception raised)."""
    from craftvision.errors import ImageReadError

    if isinstance(outcome, ImageReadError):
        return error_problem(case, str(outcome))
    if isinstance(outcome, BaseException):
        return f"raised {type(outcome).__name__}: {outcome}"
    if not case.readable:
        return "read an input that must be refused"
    assert isinstance(outcome, np.ndarray) and case.expected is not None
    if outcome.dtype != np.uint8 or outcome.shape != case.expected.shape:
        return f"got {outcome.dtype} {outcome.shape}, expected uint8 {case.expected.shape}"
    difference = float(np.abs(outcome.astype(np.int16) - case.expected).mean())
    if difference > case.tolerance:
        return f"pixels differ by {difference:.2f} on average (tolerance {case.tolerance})"
    return None


def result_problem(
    case: Case, result: object, reference: dict[str, float] | None, *, path: str | None
) -> str | None:
    """What is wrong with one inspection result (a Prediction or InspectionError, their JSON
    dict, or an exception): it must carry ``path`` and the reference probabilities, or the
    documented error."""
    from craftvision.errors import ImageReadError

    if isinstance(result, ImageReadError):
        return error_problem(case, str(result))
    if isinstance(result, BaseException):
        return f"raised {type(result).__name__}: {result}"
    if result is None:
        return "no result (lost)"
    record = result if isinstance(result, dict) else result.to_dict()
    if record.get("path") != path:
        return f"result names {record.get('path')!r}, expected {path!r}"
    if "error" in record:
        return error_problem(case, record["error"])
    if reference is None:
        return "inspected an input that must be refused"
    tolerance = 1e-6 if case.tolerance == 0 else 0.05
    worst = max(abs(record["probabilities"][name] - p) for name, p in reference.items())
    if worst > tolerance:
        return f"probabilities differ from the reference image's by {worst:.3g}"
    return None


def _references(cases: list[Case], inspector: Any) -> dict[str, dict[str, float]]:
    """Probabilities the inspector gives the expected image of every readable case."""
    return {
        case.kind: inspector.predict(case.expected).probabilities
        for case in cases
        if case.expected is not None
    }


def read_image_problems(cases: list[Case]) -> Problems:
    """Every case through :func:`read_image`."""
    from craftvision.imageio import read_image

    problems: Problems = {}
    for case in cases:
        try:
            outcome: object = read_image(case.source)
        except Exception as err:
            outcome = err
        if (problem := image_problem(case, outcome)) is not None:
            problems[case.kind] = problem
    return problems


def inspector_problems(cases: list[Case], inspector: Any) -> Problems:
    """Every case through ``Inspector.predict``: all of them in one recorded batch (a good image
    after each, which must not be lost), then one at a time on the raising path."""
    references = _references(cases, inspector)
    good = pattern()
    stream = [item for case in cases for item in (case.source, good)]
    results = inspector.predict(stream, on_error="record")
    problems: Problems = {}
    if len(results) != len(stream):
        problems["<batch>"] = f"{len(results)} results for {len(stream)} inputs"
    for index, case in enumerate(cases):
        mine, neighbour = results[2 * index : 2 * index + 2]
        path = _expected_path(case)
        if problem := result_problem(case, mine, references.get(case.kind), path=path):
            problems[f"{case.kind} (record)"] = problem
        if type(neighbour).__name__ != "Prediction":
            problems[f"{case.kind} (record)"] = f"the next image was lost: {neighbour}"
        try:
            single: object = inspector.predict(case.source)
        except Exception as err:
            single = err
        if problem := result_problem(case, single, references.get(case.kind), path=path):
            problems[f"{case.kind} (raise)"] = problem
    return problems


def cli_problems(
    cases: list[Case], folder: Path, model: str, references: dict[str, dict[str, float]]
) -> tuple[Problems, CliRun]:
    """``craftvision inspect FOLDER --json`` (plus the paths that name nothing in it): every
    file case gets its record, folders named like images are searched, and nothing else."""
    import json

    from craftvision.imageio import IMAGE_SUFFIXES

    # Folders are searched for image suffixes only: pass the other names (and the paths that
    # name nothing) explicitly, as a user would.
    explicit = [
        os.fsdecode(case.source)
        for case in cases
        if case.is_path
        and (case.source.suffix not in IMAGE_SUFFIXES or not os.path.lexists(case.source))
    ]
    run = run_cli(
        ["inspect", str(folder), *explicit, "--json", "--model", model, "--batch-size", "4"]
    )
    records = {}
    for line in run.stdout.splitlines():
        record = json.loads(line)
        records[record["path"]] = record
    problems: Problems = {}
    expected_paths = set()
    for case in (c for c in cases if c.is_path):
        path = os.fsdecode(case.source)
        if os.path.isdir(case.source):
            if any(p.startswith(path + os.sep) for p in records):
                problems[case.kind] = "an empty folder named like an image gave results"
            continue
        expected_paths.add(path)
        record = records.get(path)
        if problem := result_problem(case, record, references.get(case.kind), path=path):
            problems[case.kind] = problem
    if extra := set(records) - expected_paths:
        problems["<extra>"] = f"results for inputs never given: {sorted(extra)}"
    if run.returncode != 1 or "Traceback" in run.stderr:
        problems["<process>"] = f"exit code {run.returncode}: {run.stderr[-2000:]}"
    return problems, run


def dataset_problems(root: Path) -> tuple[Problems, int]:
    """The file cases as a class-folder dataset (``ROOT/wool/<case>``, one good
    ``ROOT/pashmina`` photo) and as one CSV manifest each, through ``load_manifest`` and
    ``ImageDataset``. Returns the problems and how many cases were tried."""
    from craftvision.datasets.image_dataset import ImageDataset
    from craftvision.datasets.manifest import load_manifest
    from craftvision.errors import DatasetError, ImageReadError
    from craftvision.imageio import IMAGE_SUFFIXES
    from craftvision.preprocess import PreprocessSpec

    (root / "wool").mkdir(parents=True)
    (root / "pashmina").mkdir()
    (root / "pashmina" / "good.png").write_bytes(_encode(pattern(), ".png"))
    cases = [case for case in build_corpus(root / "wool") if case.is_path]
    spec = PreprocessSpec(input_size=32)
    problems: Problems = {}

    def check_records(case: Case, manifest: Any, layout: str) -> None:
        records = [r for r in manifest.records if r.path == case.source]
        if len(records) != 1:
            problems[f"{case.kind} ({layout})"] = f"{len(records)} records for the file"
            return
        dataset = ImageDataset(records, manifest.classes, spec)
        try:
            tensor = dataset.model_input(dataset[0][0][None])[0].numpy()
        except ImageReadError as err:
            problem = error_problem(case, str(err))
        except Exception as err:
            problem = f"raised {type(err).__name__}: {err}"
        else:
            if case.expected is None:
                problem = "loaded an input that must be refused"
            else:
                gap = float(np.abs(tensor - spec(case.expected)).mean())
                problem = f"tensor differs by {gap:.3g}" if gap > 0.02 + case.tolerance else None
        if problem is not None:
            problems[f"{case.kind} ({layout})"] = problem

    for index, case in enumerate(cases):
        relative = os.path.relpath(case.source, root)
        try:
            row = relative.encode("utf-8")
        except UnicodeEncodeError:  # a UTF-8 manifest cannot list a non-UTF-8 name
            continue
        csv = root / f"manifest_{index}.csv"
        csv.write_bytes(b"path,label\npashmina/good.png,pashmina\n" + row + b",wool\n")
        try:
            manifest = load_manifest(csv)
        except DatasetError as err:
            if relative not in str(err) or _is_file(case.source):
                problems[f"{case.kind} (csv)"] = f"refused the manifest: {err}"
            continue
        except Exception as err:
            problems[f"{case.kind} (csv)"] = f"raised {type(err).__name__}: {err}"
            continue
        check_records(case, manifest, "csv")
    listed = [c for c in cases if os.path.lexists(c.source) and not os.path.isdir(c.source)]
    special = [c for c in listed if not _is_file(c.source)]
    try:
        load_manifest(root)
        problems["<class folders>"] = "links and pipes named like images were not reported"
    except DatasetError as err:
        for case in special:
            if os.fsdecode(case.source.relative_to(root)) not in str(err):
                problems[f"{case.kind} (class folders)"] = f"not named in: {err}"
    for path in (root / "wool").iterdir():
        if not path.is_dir() and not _is_file(path):
            path.unlink()
    manifest = load_manifest(root)
    for case in listed:
        if case not in special and case.source.suffix in IMAGE_SUFFIXES:
            check_records(case, manifest, "class folders")
    return problems, len(cases)


def measure_problems(cases: list[Case]) -> Problems:
    """Every case through each ``craftvision.measure`` function (fibre, weave, stitch): a
    result, or the documented error naming the file: ``ImageReadError`` for the inputs that
    must be refused, ``MeasurementError`` for a readable image with nothing measurable in it.
    In-memory inputs only need a ``<...>`` placeholder for a name."""
    from craftvision.errors import ImageReadError, MeasurementError
    from craftvision.measure.batch import MEASURES

    problems: Problems = {}
    for modality, measure in MEASURES.items():
        for case in cases:
            key = f"{case.kind} ({modality})"
            try:
                measure(case.source)
            except (ImageReadError, MeasurementError) as err:
                message = str(err)
                if case.is_path and not message.startswith(f"{case.label}: "):
                    problems[key] = f"the error does not name the input: {message!r}"
                elif not case.is_path and not message.startswith("<"):
                    problems[key] = f"odd name for an in-memory input: {message!r}"
                elif isinstance(err, MeasurementError) != case.readable:
                    problems[key] = f"wrong kind of error: {message!r}"
                elif isinstance(err, ImageReadError) and case.reason not in message:
                    problems[key] = f"the error lacks {case.reason!r}: {message!r}"
            except Exception as err:
                problems[key] = f"raised {type(err).__name__}: {err}"
            else:
                if not case.readable:
                    problems[key] = "measured an input that must be refused"
    return problems
