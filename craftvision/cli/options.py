"""Options several verbs share: the compute device, and output files checked before any work.

Example:
    >>> def verb(device: str = device_option()) -> None: ...
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

DEVICES = ("auto", "cpu", "cuda")


def _known_device(value: str | None) -> str | None:
    """Refuse a device other than :data:`DEVICES`, suggesting the nearest."""
    if value is None or value in DEVICES:
        return value
    if value.lower() == "gpu":  # the nearest spelling, cpu, is the opposite
        raise typer.BadParameter(
            f"unknown device {value!r}. Did you mean 'cuda' (the GPU)? "
            f"Choose from: {', '.join(DEVICES)}"
        )
    from craftvision.suggest import unknown_choice

    raise typer.BadParameter(unknown_choice("device", value, DEVICES))


def device_option(default: str | None = "auto") -> Any:
    """``--device``: auto, cpu or cuda (``default`` None: the recipe's, else auto)."""
    note = "" if default else " (default auto)"
    return typer.Option(
        default, "--device", help=f"auto, cpu or cuda{note}.", callback=_known_device
    )


def check_output_file(path: Path | None, flag: str, suffix: str | None = None) -> None:
    """Refuse an output file ``path`` that cannot be written, so that no work is lost on it:
    a folder, or a place where no file can be created (missing folders are created on writing);
    and, given a ``suffix``, a name that does not end in it (a PNG written as ``x.jpg``).

    Example:
        >>> check_output_file(Path("/"), "--out")
        Traceback (most recent call last):
        ...
        craftvision.errors.ConfigError: --out /: is a folder; give a file name
    """
    if path is None:
        return
    from craftvision.errors import ConfigError

    if path.is_dir():
        raise ConfigError(f"{flag} {path}: is a folder; give a file name")
    if suffix is not None and path.suffix.lower() != suffix:
        raise ConfigError(f"{flag} {path}: this writes a {suffix} file; give a name ending in it")
    folder = path.parent
    while not folder.exists():
        folder = folder.parent
    if not folder.is_dir():
        raise ConfigError(f"{flag} {path}: {folder} is a file, not a folder")
    import tempfile

    try:
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as err:
        raise ConfigError(
            f"{flag} {path}: cannot create a file in {folder} ({err.strerror})"
        ) from err
