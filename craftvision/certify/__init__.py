"""Certification: GI label QR codes, signed inspection records, reports and the register.

Torch-free. Names are imported on first use, so ``import craftvision.certify`` stays light.

Example:
    >>> from craftvision.certify import Register, certify, generate_keypair, verify
    >>> generate_keypair("keys/lab")                                    # doctest: +SKIP
    >>> record = certify("samples/product", label="label.jpg", lab="LAB-01",
    ...                  operator="A. Bhat", key="keys/lab.pem")       # doctest: +SKIP
    >>> verify(record, public_key="keys/lab.pub.pem").ok                # doctest: +SKIP
    True
    >>> Register("register.sqlite").append(record).seq                  # doctest: +SKIP
    1
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

_LAZY = {
    "LabelIdRule": "craftvision.certify.label",
    "LabelRead": "craftvision.certify.label",
    "read_label": "craftvision.certify.label",
    "generate_keypair": "craftvision.certify.keys",
    "load_private_key": "craftvision.certify.keys",
    "load_public_key": "craftvision.certify.keys",
    "Record": "craftvision.certify.record",
    "Verification": "craftvision.certify.record",
    "certify": "craftvision.certify.record",
    "verify": "craftvision.certify.record",
    "Register": "craftvision.certify.register",
    "write_report": "craftvision.certify.report",
}

__all__ = [
    "LabelIdRule",
    "LabelRead",
    "Record",
    "Register",
    "Verification",
    "certify",
    "generate_keypair",
    "load_private_key",
    "load_public_key",
    "read_label",
    "verify",
    "write_report",
]

if TYPE_CHECKING:
    from craftvision.certify.keys import generate_keypair, load_private_key, load_public_key
    from craftvision.certify.label import LabelIdRule, LabelRead, read_label
    from craftvision.certify.record import Record, Verification, certify, verify
    from craftvision.certify.register import Register
    from craftvision.certify.report import write_report


def __getattr__(name: str) -> Any:
    """Import the public API on first use."""
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'craftvision.certify' has no attribute {name!r}")
