"""Models: the bundle format and the zoo (torch-free), and the timm backbone factory (needs torch).

Example:
    >>> from craftvision.models import available_models, create_model
    >>> net = create_model("mobilenetv3_small_050", num_classes=4)   # doctest: +SKIP
"""

from __future__ import annotations

from typing import Any

from craftvision.models.bundle import BundleMetadata, load_bundle, read_metadata
from craftvision.models.zoo import available_models, model_card, resolve_model

__all__ = [
    "BundleMetadata",
    "available_models",
    "create_model",
    "load_bundle",
    "model_card",
    "read_metadata",
    "resolve_model",
]


def __getattr__(name: str) -> Any:
    if name == "create_model":
        from craftvision.models.factory import create_model

        return create_model
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
