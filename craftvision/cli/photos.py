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


AUTO = "auto"  # --model auto: each photo's modality folder picks the shipped model
DEFAULT_MODEL = "fibre"  # the shipped model for a photo outside a modality folder


def model_for(path: Path, model: str) -> str | None:
    """``--model auto`` picks the shipped model of the photo's modality folder (None if none);
    any other ``model`` is taken as given.

    Example:
        >>> model_for(Path("shawl/weave/a.png"), AUTO), model_for(Path("a.png"), AUTO)
        ('weave', None)
    """
    if model != AUTO:
        return model
    from craftvision.errors import ConfigError
    from craftvision.sample import modality_of

    try:
        return modality_of(path)
    except ConfigError:
        return None
