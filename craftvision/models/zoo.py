"""The shipped reference bundles, found by name.

Example:
    >>> sorted(available_models())            # doctest: +SKIP
    ['fibre']
    >>> resolve_model("fibre").name           # doctest: +SKIP
    'fibre.onnx'
"""

from __future__ import annotations

import os
from pathlib import Path

from craftvision.errors import BundleError
from craftvision.suggest import unknown_choice

ZOO_DIR = Path(__file__).parent / "zoo"


def available_models() -> dict[str, Path]:
    """Shipped bundle names mapped to their files."""
    return {path.stem: path for path in sorted(ZOO_DIR.glob("*.onnx"))}


def model_card(name: str) -> Path | None:
    """The Markdown model card shipped beside a bundle, if any."""
    card = ZOO_DIR / f"{name}.md"
    return card if card.is_file() else None


def resolve_model(model: str | os.PathLike) -> Path:
    """A shipped model name (``"fibre"``) or a path to a bundle file, as a path."""
    candidate = Path(model)
    if candidate.suffix.lower() == ".onnx" or candidate.exists():
        if not candidate.is_file():
            raise BundleError(f"{candidate}: no such model bundle")
        return candidate
    shipped = available_models()
    if str(model) in shipped:
        return shipped[str(model)]
    raise BundleError(
        unknown_choice("model", str(model), shipped) + " (or give a path to a .onnx bundle)"
    )
