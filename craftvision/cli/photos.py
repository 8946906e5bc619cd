"""The photos the verbs are given: files, folders (searched recursively) and globs.

Example:
    >>> from craftvision.cli.photos import expand_photos
    >>> expand_photos([])
    ([], [])
"""

from __future__ import annotations

from pathlib import Path

from craftvision.types import InspectionError


def expand_photos(paths: list[str]) -> tuple[list[Path], list[InspectionError]]:
    """Every image file the arguments name, and an error record for each argument that names
    none: one that does not exist, or a folder or glob without a single image in it (an empty
    result would otherwise pass for a clean run)."""
    from craftvision.errors import ImageReadError
    from craftvision.imageio import IMAGE_SUFFIXES, iter_image_files

    files: list[Path] = []
    missing: list[InspectionError] = []
    for path in paths:
        try:
            found = list(iter_image_files([path]))
        except ImageReadError as err:
            missing.append(InspectionError(path=path, error=str(err)))
            continue
        if not found:
            kinds = ", ".join(sorted(IMAGE_SUFFIXES))
            missing.append(InspectionError(path=path, error=f"{path}: no images ({kinds}) in it"))
        files.extend(found)
    return files, missing
