"""Datasets as manifests: a class-folder tree, a folder with ``manifest.csv``, or a CSV file.

A manifest has ``path,label`` (required) and ``sample_id,modality,um_per_px`` (optional) columns;
paths are relative to the manifest and may not leave its folder. In a class-folder tree
``DIR/<class>/*.png`` every file is its own physical sample, and ``DIR/<class>/<sample>/*.png``
groups a sample's photos under its folder name.

Example:
    >>> manifest = load_manifest("data/fibre")              # doctest: +SKIP
    >>> manifest.classes, len(manifest.records)              # doctest: +SKIP
    (('other_animal', 'pashmina', 'synthetic', 'wool'), 2000)
"""

from __future__ import annotations

import csv
import hashlib
import math
import os
from collections import Counter
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from craftvision.errors import DatasetError
from craftvision.imageio import IMAGE_SUFFIXES
from craftvision.suggest import nearest_path

MANIFEST_NAME = "manifest.csv"
REQUIRED_COLUMNS = ("path", "label")


@dataclass(frozen=True)
class Record:
    """One image of a dataset; ``path`` is absolute, ``sample_id`` names its physical sample."""

    path: Path
    label: str
    sample_id: str
    modality: str | None = None
    um_per_px: float | None = None


@dataclass(frozen=True)
class Manifest:
    """A dataset's images and its sorted class names."""

    root: Path
    records: tuple[Record, ...]

    @property
    def classes(self) -> tuple[str, ...]:
        """Sorted class names present in the records."""
        return tuple(sorted({r.label for r in self.records}))

    def class_counts(self) -> dict[str, int]:
        """Images per class."""
        return dict(sorted(Counter(r.label for r in self.records).items()))

    @cached_property
    def fingerprint(self) -> str:
        """SHA-256 over every image's relative path, label, sample and content (read once)."""
        digest = hashlib.sha256()
        for record in sorted(self.records, key=lambda r: r.path):
            rel = record.path.relative_to(self.root).as_posix()
            text = f"{rel}\0{record.label}\0{record.sample_id}\0"
            digest.update(text.encode("utf-8", "surrogateescape"))  # non-UTF-8 file names
            digest.update(hashlib.sha256(record.path.read_bytes()).digest())
        return digest.hexdigest()


def load_manifest(data: str | os.PathLike) -> Manifest:
    """Read any of the three dataset layouts; problems raise :class:`DatasetError`."""
    location = Path(data)
    if location.is_file():
        return _read_csv(location)
    if not location.is_dir():
        raise DatasetError(
            f"{location}: no such dataset folder or manifest file.{nearest_path(location)}"
        )
    if (location / MANIFEST_NAME).is_file():
        return _read_csv(location / MANIFEST_NAME)
    return _read_class_folders(location)


def _confined(root: Path, relative: str, line: int, manifest: Path) -> Path:
    candidate = Path(relative)
    try:
        resolved = (root / candidate).resolve()
    except (RuntimeError, OSError) as err:  # a symlink loop (RuntimeError before Python 3.13)
        raise DatasetError(f"{manifest}:{line}: cannot resolve path {relative!r} ({err})") from None
    if candidate.is_absolute() or not resolved.is_relative_to(root.resolve()):
        raise DatasetError(
            f"{manifest}:{line}: path {relative!r} leaves the dataset folder {root}; "
            "manifest paths must be relative and stay inside it"
        )
    return root / candidate


def _read_csv(manifest: Path) -> Manifest:
    root = manifest.parent
    try:
        with manifest.open(newline="", encoding="utf-8") as handle:
            reader = csv.DictReader(handle)
            missing = [c for c in REQUIRED_COLUMNS if c not in (reader.fieldnames or [])]
            if missing:
                raise DatasetError(
                    f"{manifest}: missing column(s) {', '.join(missing)}; a manifest needs "
                    f"'path,label' and may add 'sample_id,modality,um_per_px'"
                )
            rows = list(reader)
    except (OSError, UnicodeDecodeError, csv.Error) as err:
        raise DatasetError(f"{manifest}: cannot read the manifest ({err})") from err
    records = []
    missing_files = []
    for line, row in enumerate(rows, start=2):
        relative, label = (row.get("path") or "").strip(), (row.get("label") or "").strip()
        if not relative or not label:
            raise DatasetError(f"{manifest}:{line}: empty path or label")
        path = _confined(root, relative, line, manifest)
        if not _is_file(path):
            missing_files.append(relative)
        um_per_px = _scale(row.get("um_per_px"), line, manifest)
        records.append(
            Record(
                path=path,
                label=label,
                sample_id=(row.get("sample_id") or "").strip() or relative,
                modality=(row.get("modality") or "").strip() or None,
                um_per_px=um_per_px,
            )
        )
    if missing_files:
        shown = ", ".join(missing_files[:5]) + (" …" if len(missing_files) > 5 else "")
        raise DatasetError(
            f"{manifest}: {len(missing_files)} listed file(s) do not exist or are not regular "
            f"files: {shown}"
        )
    return _checked(Manifest(root=root, records=tuple(records)), manifest)


def _is_file(path: Path) -> bool:
    """Whether ``path`` is a regular file; False also for names the file system refuses."""
    try:
        return path.is_file()
    except OSError:  # such as a name too long
        return False


def _scale(value: str | None, line: int, manifest: Path) -> float | None:
    """The ``um_per_px`` column: empty, or a positive finite number."""
    text = (value or "").strip()
    if not text:
        return None
    try:
        scale = float(text)
    except ValueError:
        scale = math.nan
    if not (math.isfinite(scale) and scale > 0):
        raise DatasetError(f"{manifest}:{line}: um_per_px {text!r} is not a positive number")
    return scale


def _read_class_folders(root: Path) -> Manifest:
    records = []
    broken = []
    for class_dir in sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")):
        for path in sorted(class_dir.rglob("*")):
            if path.suffix.lower() not in IMAGE_SUFFIXES or path.is_dir():
                continue
            if not path.is_file():  # a broken or looping link, a pipe: never silently dropped
                broken.append(str(path.relative_to(root)))
                continue
            relative = path.relative_to(class_dir)
            sample = relative.parts[0] if len(relative.parts) > 1 else relative.stem
            records.append(
                Record(path=path, label=class_dir.name, sample_id=f"{class_dir.name}/{sample}")
            )
    if broken:
        shown = ", ".join(broken[:5]) + (" …" if len(broken) > 5 else "")
        raise DatasetError(
            f"{root}: {len(broken)} entry(ies) named like images are not readable files "
            f"(broken links, pipes): {shown}"
        )
    if not records:
        raise DatasetError(
            f"{root}: no images found; expected {root}/<class>/*.png (or .jpg, .tif, .bmp), "
            f"a {MANIFEST_NAME} in the folder, or a CSV manifest file"
        )
    return _checked(Manifest(root=root, records=tuple(records)), root)


def _checked(manifest: Manifest, source: Path) -> Manifest:
    if len(manifest.classes) < 2:
        raise DatasetError(
            f"{source}: a classifier needs at least two classes, found {list(manifest.classes)}"
        )
    return manifest
