"""craftvision: tell genuine Kashmiri handicrafts from machine imitations, and grade them.

Example:
    >>> from craftvision import Inspector
    >>> inspector = Inspector.from_pretrained("fibre")                 # doctest: +SKIP
    >>> inspector.predict("samples/fibre/pashmina_1.png").verdict     # doctest: +SKIP
    <Verdict.GENUINE: 'genuine'>
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

# Nothing in craftvision reaches the network at run time: albumentations would ask PyPI for a
# newer release every time it is imported (0.5 s, or a 2 s timeout offline) unless told not to.
os.environ.setdefault("NO_ALBUMENTATIONS_UPDATE", "1")

__version__ = "0.1.0"

__all__ = [
    "ImageReadError",
    "InspectionError",
    "Inspector",
    "Prediction",
    "PreprocessSpec",
    "SampleResult",
    "Verdict",
    "__version__",
    "inspect_sample",
    "read_image",
]

_LAZY = {
    "Inspector": "craftvision.inspector",
    "read_image": "craftvision.imageio",
    "PreprocessSpec": "craftvision.preprocess",
    "Prediction": "craftvision.types",
    "InspectionError": "craftvision.types",
    "Verdict": "craftvision.types",
    "ImageReadError": "craftvision.errors",
    "inspect_sample": "craftvision.sample",
    "SampleResult": "craftvision.sample",
}

if TYPE_CHECKING:
    from craftvision.errors import ImageReadError
    from craftvision.imageio import read_image
    from craftvision.inspector import Inspector
    from craftvision.preprocess import PreprocessSpec
    from craftvision.sample import SampleResult, inspect_sample
    from craftvision.types import InspectionError, Prediction, Verdict


def __getattr__(name: str) -> Any:
    """Import the public API on first use, so ``import craftvision`` (and the CLI) start fast."""
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'craftvision' has no attribute {name!r}")
