"""The library's exception types: one per kind of failure a user can act on.

Example:
    >>> from craftvision.errors import ImageReadError
    >>> try:
    ...     raise ImageReadError("scan.png", "file is empty (0 bytes)")
    ... except ImageReadError as err:
    ...     print(err)
    scan.png: file is empty (0 bytes)
"""

from __future__ import annotations


class CraftvisionError(Exception):
    """Base class of every error craftvision raises on purpose."""


class ImageReadError(CraftvisionError):
    """An image could not be read; the message names the file and the reason."""

    def __init__(self, source: str, reason: str) -> None:
        super().__init__(f"{source}: {reason}")
        self.source = source
        self.reason = reason


class BundleError(CraftvisionError):
    """A model bundle is missing, unreadable, or carries invalid metadata."""


class DatasetError(CraftvisionError):
    """A dataset folder or manifest is malformed."""


class ConfigError(CraftvisionError, ValueError):
    """An option, recipe key or name is invalid; the message suggests the nearest valid value."""


class CalibrationError(CraftvisionError):
    """A calibration is missing, unreadable, or a stage micrometer photo shows no usable ruling."""


class MeasurementError(CraftvisionError):
    """An image cannot be measured; the message names the file and the reason."""
