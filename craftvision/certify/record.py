"""Signed inspection records: what was inspected, with which models, and what was concluded.

A record is one JSON object in canonical form (sorted keys, no insignificant whitespace, UTF-8,
one trailing newline) holding the record id, the label id, lab, operator, UTC time, every
image's SHA-256, file name and modality, every model bundle's name, version and SHA-256, the
per-image results, the measurements, the sample verdict with its reasons and the software
versions, plus an Ed25519 ``signature`` over the canonical JSON of everything else. Because
the file must *be* the canonical form of its content, and every field is signed, changing any
byte of it is detected by :func:`verify`.

Example:
    >>> from craftvision.certify import certify, verify           # doctest: +SKIP
    >>> record = certify("samples/product", label="JK-PSH-2024-000123", lab="LAB-01",
    ...                  operator="A. Bhat", key="lab.pem", out="record.json")  # doctest: +SKIP
    >>> checked = verify("record.json", public_key="lab.pub.pem", images="s") # doctest: +SKIP
    >>> checked.ok                                                          # doctest: +SKIP
    True
"""

from __future__ import annotations

import hashlib
import json
import os
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from craftvision.certify.keys import key_id, load_private_key, load_public_key, public_key_bytes
from craftvision.errors import ConfigError, CraftvisionError

if TYPE_CHECKING:
    from craftvision.certify.label import LabelIdRule

RECORD_FORMAT = "craftvision.inspection-record/1"
SIGNATURE_ALGORITHM = "Ed25519"
REQUIRED_FIELDS = (
    "format",
    "record_id",
    "label",
    "lab",
    "operator",
    "created",
    "images",
    "bundles",
    "measurements",
    "sample",
    "software",
    "signature",
)


_IMAGE_KEYS = ("file", "modality", "sha256")


class RecordError(CraftvisionError):
    """A record file is missing or unreadable, or a record cannot be made."""


def canonical_json(value: Any) -> bytes:
    """The canonical UTF-8 encoding: sorted keys, ``,``/``:`` separators, no NaN.

    Example:
        >>> canonical_json({"b": 1, "a": "é"})
        b'{"a":"\\xc3\\xa9","b":1}'
    """
    return json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    ).encode("utf-8")


def sha256_file(path: str | os.PathLike) -> str:
    """Hex SHA-256 of a file's bytes, read in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def utc_now() -> str:
    """The current UTC time as ``YYYY-MM-DDTHH:MM:SSZ``."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True)
class Record:
    """A signed inspection record. ``data`` is the whole JSON object, signature included.

    Example:
        >>> record = Record.load("record.json")                    # doctest: +SKIP
        >>> record.label_id, record.verdict                        # doctest: +SKIP
        ('JK-PSH-2024-000123', 'inconclusive')
    """

    data: dict[str, Any]

    @property
    def record_id(self) -> str:
        """The record's UUID."""
        return self.data["record_id"]

    @property
    def label_id(self) -> str:
        """The GI label id the inspection is bound to."""
        return self.data["label"]["id"]

    @property
    def verdict(self) -> str:
        """The sample verdict: ``genuine``, ``imitation`` or ``inconclusive``."""
        return self.data["sample"]["verdict"]

    @property
    def created(self) -> str:
        """UTC time of the inspection, ``YYYY-MM-DDTHH:MM:SSZ``."""
        return self.data["created"]

    def to_bytes(self) -> bytes:
        """The record file's content: canonical JSON and a newline."""
        return canonical_json(self.data) + b"\n"

    @property
    def sha256(self) -> str:
        """SHA-256 of :meth:`to_bytes`: the hash the register chains and the report's QR shows."""
        return hashlib.sha256(self.to_bytes()).hexdigest()

    def save(self, path: str | os.PathLike) -> Path:
        """Write the record atomically."""
        from craftvision.atomic import atomic_write_bytes

        return atomic_write_bytes(path, self.to_bytes())

    @classmethod
    def from_bytes(cls, data: bytes, *, source: str = "<record>") -> Record:
        """Parse a record file's bytes (no checks beyond being a JSON object; see
        :func:`verify`)."""
        try:
            value = json.loads(data.decode("utf-8"))
        except (UnicodeDecodeError, ValueError) as err:
            raise RecordError(f"{source}: not a JSON record ({err})") from err
        if not isinstance(value, dict):
            raise RecordError(f"{source}: not a JSON record (top level is not an object)")
        return cls(value)

    @classmethod
    def load(cls, path: str | os.PathLike) -> Record:
        """Read and parse a record file."""
        return cls.from_bytes(read_record_bytes(path), source=str(path))


def read_record_bytes(path: str | os.PathLike) -> bytes:
    """A record file's bytes; errors name the file and the reason."""
    try:
        return Path(path).read_bytes()
    except FileNotFoundError as err:
        raise RecordError(f"{path}: no such record file") from err
    except OSError as err:
        raise RecordError(f"{path}: cannot read the record ({err.strerror or err})") from err


def signed_message(data: Mapping[str, Any]) -> bytes:
    """The bytes the signature covers: the canonical JSON of the record without ``signature``."""
    return canonical_json({k: v for k, v in data.items() if k != "signature"})


def sign(body: Mapping[str, Any], key: Ed25519PrivateKey) -> Record:
    """Sign a record body (every field but ``signature``) and return the :class:`Record`.

    Example:
        >>> from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
        >>> record = sign({"format": RECORD_FORMAT, "record_id": "r1"},
        ...               Ed25519PrivateKey.generate())
        >>> record.data["signature"]["algorithm"]
        'Ed25519'
    """
    public = key.public_key()
    data = dict(body)
    data["signature"] = {
        "algorithm": SIGNATURE_ALGORITHM,
        "key_id": key_id(public),
        "public_key": public_key_bytes(public).hex(),
        "value": key.sign(signed_message(body)).hex(),
    }
    return Record(data)


def _label(label: str | os.PathLike, rule: LabelIdRule | None, root: Path) -> dict[str, Any]:
    """The record's ``label`` field from a label photo or a label id. A photo inside the sample
    folder ``root`` is named by its path relative to it, so that :func:`verify` checks it."""
    from craftvision.certify.label import check_label_id, read_label
    from craftvision.imageio import IMAGE_SUFFIXES

    path = Path(label)
    if path.is_file():
        read = read_label(path, rule=rule)
        return {
            "id": read.label_id,
            "source": "photo",
            "payload": read.payload,
            "photo": {"file": _relative_name(path, root), "sha256": sha256_file(path)},
        }
    if path.suffix.lower() in IMAGE_SUFFIXES:
        raise RecordError(f"{label}: no such label photo (give a photo or a label id)")
    return {"id": check_label_id(str(label)), "source": "id"}


def _relative_name(path: Path, root: Path) -> str:
    """``path`` relative to ``root`` in POSIX form, or its bare name when outside ``root``."""
    try:
        return path.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        return path.name


def _bundle(modality: str, model: str | os.PathLike | None) -> tuple[Path, dict[str, Any]]:
    """The bundle file for ``modality`` (``model``, or the shipped one when None) and its
    record entry."""
    from craftvision.models.bundle import read_metadata
    from craftvision.models.zoo import available_models, resolve_model

    if model is None:
        shipped = available_models()
        if modality not in shipped:
            raise ConfigError(
                f"no shipped model for the {modality} photos; give one with "
                f"--model {modality}=BUNDLE.onnx (models={{{modality!r}: ...}} in Python)"
            )
        path = shipped[modality]
    else:
        path = resolve_model(model)
    meta = read_metadata(path)
    if meta.modality != modality:
        raise ConfigError(f"{path}: a {meta.modality} model, but it was given {modality} photos")
    return path, {
        "modality": modality,
        "name": meta.name,
        "file": path.name,
        "created": meta.created,
        "library_version": meta.library_version,
        "format_version": meta.format_version,
        "threshold": meta.threshold,
        "weights_sha256": meta.weights_sha256,
        "file_sha256": sha256_file(path),
    }


def _software() -> dict[str, str]:
    import cv2
    import onnxruntime

    from craftvision import __version__

    return {
        "craftvision": __version__,
        "onnxruntime": onnxruntime.__version__,
        "opencv": cv2.__version__,
    }


@dataclass
class _Photos:
    """The sample's photos grouped by modality, with their record-relative names."""

    root: Path
    by_modality: dict[str, list[Path]] = field(default_factory=dict)

    @classmethod
    def find(cls, sample_dir: str | os.PathLike, *, skip: Path | None = None) -> _Photos:
        """Every photo under ``sample_dir`` but ``skip`` (the label photo, if it is there)."""
        from craftvision.imageio import iter_image_files
        from craftvision.sample import modality_of

        root = Path(sample_dir)
        if not root.is_dir():
            raise RecordError(f"{sample_dir}: not a folder of sample photos")
        photos = cls(root)
        for path in iter_image_files([root]):
            if skip is not None and path.resolve() == skip.resolve():
                continue
            photos.by_modality.setdefault(modality_of(path.relative_to(root)), []).append(path)
        if not photos.by_modality:
            raise RecordError(
                f"{sample_dir}: no photos found (put them under fibre/, weave/ or stitch/)"
            )
        return photos

    def name(self, path: Path) -> str:
        return path.relative_to(self.root).as_posix()


def _image_entry(photos: _Photos, path: Path, modality: str, result: Any) -> dict[str, Any]:
    from craftvision.types import InspectionError

    name = photos.name(path)
    if isinstance(result, InspectionError):
        outcome: dict[str, Any] = {"error": result.error.replace(str(path), name)}
    else:
        outcome = result.to_dict()
        outcome.pop("path")
        if isinstance(outcome.get("measurements"), dict) and "path" in outcome["measurements"]:
            outcome["measurements"]["path"] = name
    return {
        "file": name,
        "modality": modality,
        "sha256": sha256_file(path),
        "bytes": path.stat().st_size,
        "result": outcome,
    }


def build_record(
    sample_dir: str | os.PathLike,
    *,
    label: str | os.PathLike,
    lab: str,
    operator: str,
    models: Mapping[str, str | os.PathLike] | None = None,
    threshold: float | None = None,
    calibration: str | os.PathLike | Iterable[str | os.PathLike] | None = None,
    label_rule: LabelIdRule | None = None,
) -> dict[str, Any]:
    """Inspect a sample folder and return the unsigned record body (see :func:`certify`)."""
    from craftvision.certify.measurements import record_calibration
    from craftvision.sample import inspect_sample

    for what, value in (("lab", lab), ("operator", operator)):
        if not value.strip():
            raise ConfigError(f"the {what} must not be empty")
    root = Path(sample_dir)
    label_field = _label(label, label_rule, root)
    photos = _Photos.find(root, skip=Path(label) if label_field["source"] == "photo" else None)
    resolved = {m: _bundle(m, (models or {}).get(m)) for m in sorted(photos.by_modality)}
    scales, measurements = record_calibration(calibration)
    paths = [p for group in photos.by_modality.values() for p in group]
    chosen = {m: path for m, (path, _) in resolved.items()}
    result = inspect_sample(paths, models=chosen, threshold=threshold, calibration=scales)
    by_path = {Path(r.path): r for r in result.images if r.path is not None}
    images = [
        _image_entry(photos, path, modality, by_path[path])
        for modality, group in photos.by_modality.items()
        for path in group
    ]
    summary = result.to_dict()
    measurements.update(result.measurements)
    return {
        "format": RECORD_FORMAT,
        "record_id": str(uuid.uuid4()),
        "label": label_field,
        "lab": lab.strip(),
        "operator": operator.strip(),
        "created": utc_now(),
        "sample": {
            "name": photos.root.resolve().name,
            "verdict": summary["verdict"],
            "reasons": summary["reasons"],
            "modalities": summary["modalities"],
        },
        "images": sorted(images, key=lambda image: image["file"]),
        "bundles": [entry for _, entry in resolved.values()],
        "threshold_override": threshold,
        "measurements": measurements,
        "software": _software(),
    }


def certify(
    sample_dir: str | os.PathLike,
    *,
    label: str | os.PathLike,
    lab: str,
    operator: str,
    key: str | os.PathLike | Ed25519PrivateKey,
    models: Mapping[str, str | os.PathLike] | None = None,
    threshold: float | None = None,
    calibration: str | os.PathLike | Iterable[str | os.PathLike] | None = None,
    label_rule: LabelIdRule | None = None,
    out: str | os.PathLike | None = None,
) -> Record:
    """Inspect every photo of one product and return its signed :class:`Record`.

    ``label`` is a photo of the product's GI label (its QR code is decoded and the id parsed
    with ``label_rule``) or the label id itself. ``models`` maps a modality to a bundle name or
    path (default: the shipped model of each modality). ``calibration`` is a profile file, or
    ``[MODALITY=]FILE`` items giving each modality's photos their own (see
    :func:`craftvision.certify.measurements.record_calibration`). ``out`` also writes the
    record file.

    Example:
        >>> record = certify("samples/product", label="label.jpg", lab="LAB-01",
        ...                  operator="A. Bhat", key="lab.pem")      # doctest: +SKIP
    """
    private = key if isinstance(key, Ed25519PrivateKey) else load_private_key(key)
    body = build_record(
        sample_dir,
        label=label,
        lab=lab,
        operator=operator,
        models=models,
        threshold=threshold,
        calibration=calibration,
        label_rule=label_rule,
    )
    record = sign(body, private)
    if out is not None:
        record.save(out)
    return record


@dataclass(frozen=True)
class Check:
    """One verification step: what was checked, whether it held, and the detail."""

    name: str
    ok: bool
    detail: str

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict."""
        return {"name": self.name, "ok": self.ok, "detail": self.detail}


@dataclass(frozen=True)
class Verification:
    """The outcome of :func:`verify`: every check made, and the record when it could be read."""

    source: str
    checks: list[Check]
    record: Record | None = None

    @property
    def ok(self) -> bool:
        """True only if every check held."""
        return bool(self.checks) and all(check.ok for check in self.checks)

    @property
    def failures(self) -> list[Check]:
        """The checks that failed."""
        return [check for check in self.checks if not check.ok]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict."""
        return {
            "source": self.source,
            "ok": self.ok,
            "record_id": self.record.record_id if self.record else None,
            "checks": [check.to_dict() for check in self.checks],
        }


def _shape_problem(data: dict[str, Any]) -> str | None:
    """What is structurally wrong with a record's fields that code relies on, if anything."""
    strings = ("record_id", "lab", "operator", "created")
    wrong = [name for name in strings if not isinstance(data[name], str)]
    label, sample, images = data["label"], data["sample"], data["images"]
    if not isinstance(label, dict) or not isinstance(label.get("id"), str):
        wrong.append("label.id")
    if not isinstance(sample, dict) or not isinstance(sample.get("verdict"), str):
        wrong.append("sample.verdict")
    elif not isinstance(sample.get("reasons"), list):
        wrong.append("sample.reasons")
    if not isinstance(images, list) or not all(
        isinstance(image, dict) and all(isinstance(image.get(k), str) for k in _IMAGE_KEYS)
        for image in images
    ):
        wrong.append("images")
    for name in ("bundles", "software", "signature", "measurements"):
        if not isinstance(data[name], list if name == "bundles" else dict):
            wrong.append(name)
    return f"malformed field(s): {', '.join(wrong)}" if wrong else None


def _check_form(raw: bytes, source: str) -> tuple[Check, Record | None]:
    try:
        record = Record.from_bytes(raw, source=source)
    except RecordError as err:
        return Check("format", False, str(err).removeprefix(f"{source}: ")), None
    missing = [name for name in REQUIRED_FIELDS if name not in record.data]
    if missing:
        return Check("format", False, f"fields missing: {', '.join(missing)}"), None
    if record.data["format"] != RECORD_FORMAT:
        return Check("format", False, f"unknown record format {record.data['format']!r}"), None
    problem = _shape_problem(record.data)
    if problem is not None:
        return Check("format", False, problem), None
    try:
        canonical = record.to_bytes()
    except (TypeError, ValueError) as err:
        return Check("format", False, f"not canonical JSON ({err})"), None
    if canonical != raw:
        at = next(
            (i for i, (a, b) in enumerate(zip(raw, canonical, strict=False)) if a != b),
            min(len(raw), len(canonical)),
        )
        return (
            Check("format", False, f"not in canonical form (differs at byte {at}): altered"),
            None,
        )
    return Check("format", True, f"canonical {RECORD_FORMAT} record {record.record_id}"), record


def _check_signature(record: Record, public_key: Ed25519PublicKey | None) -> Check:
    signature = record.data["signature"]
    try:
        algorithm = signature["algorithm"]
        embedded = bytes.fromhex(signature["public_key"])
        value = bytes.fromhex(signature["value"])
        embedded_key = Ed25519PublicKey.from_public_bytes(embedded)
        stated_id = signature["key_id"]
    except (TypeError, KeyError, ValueError) as err:
        return Check("signature", False, f"malformed signature field ({err})")
    if algorithm != SIGNATURE_ALGORITHM:
        return Check("signature", False, f"unsupported signature algorithm {algorithm!r}")
    if signature["public_key"] != embedded.hex() or signature["value"] != value.hex():
        return Check("signature", False, "signature field is not in canonical hex: altered")
    if stated_id != key_id(embedded_key):
        return Check("signature", False, "key id does not match the embedded public key")
    if public_key is not None and public_key_bytes(public_key) != embedded:
        return Check(
            "signature",
            False,
            f"signed by key {stated_id}, not by the expected key {key_id(public_key)}",
        )
    try:
        embedded_key.verify(value, signed_message(record.data))
    except InvalidSignature:
        return Check("signature", False, "the signature does not match the content: altered")
    pinned = "the expected key" if public_key is not None else "its embedded key (not pinned)"
    return Check("signature", True, f"valid Ed25519 signature by {pinned} {stated_id}")


def _check_images(record: Record, images: Path) -> list[Check]:
    from craftvision.imageio import iter_image_files

    checks = []
    listed = set()
    photo = record.data["label"].get("photo")
    if isinstance(photo, dict) and (images / str(photo.get("file"))).is_file():
        listed.add(photo["file"])
        ok = sha256_file(images / photo["file"]) == photo.get("sha256")
        detail = "SHA-256 matches" if ok else "SHA-256 does not match: the label photo was replaced"
        checks.append(Check(f"label photo {photo['file']}", ok, detail))
    for entry in record.data["images"]:
        name = entry["file"]
        listed.add(name)
        path = images / name
        if not path.is_file():
            checks.append(Check(f"image {name}", False, f"{path}: missing"))
        elif (digest := sha256_file(path)) != entry["sha256"]:
            checks.append(
                Check(
                    f"image {name}",
                    False,
                    f"{path}: SHA-256 {digest[:12]}… does not match the record's "
                    f"{entry['sha256'][:12]}…: the photo was altered or replaced",
                )
            )
        else:
            checks.append(Check(f"image {name}", True, "SHA-256 matches"))
    extra = sorted(
        p.relative_to(images).as_posix()
        for p in iter_image_files([images])
        if p.relative_to(images).as_posix() not in listed
    )
    if extra:
        checks.append(
            Check(
                "unlisted images",
                False,
                f"{images} holds {len(extra)} photo(s) the record does not list: "
                + ", ".join(extra[:5])
                + (" …" if len(extra) > 5 else ""),
            )
        )
    return checks


def verify(
    record: str | os.PathLike | bytes | Record,
    *,
    public_key: str | os.PathLike | Ed25519PublicKey | None = None,
    images: str | os.PathLike | None = None,
) -> Verification:
    """Check a record: canonical form, signature (by ``public_key`` when given) and, with
    ``images`` (the sample folder), that every photo's SHA-256 matches and none is unlisted.

    Never raises for a tampered record: the failures are in the returned
    :class:`Verification`. A missing record or key file raises a :class:`CraftvisionError`.

    Example:
        >>> result = verify("record.json", public_key="lab.pub.pem")    # doctest: +SKIP
        >>> result.ok, [c.detail for c in result.failures]               # doctest: +SKIP
        (True, [])
    """
    if isinstance(record, Record):
        raw, source = record.to_bytes(), f"record {record.data.get('record_id')}"
    elif isinstance(record, bytes):
        raw, source = record, "<record>"
    else:
        raw, source = read_record_bytes(record), str(record)
    key = load_public_key(public_key) if isinstance(public_key, str | os.PathLike) else public_key
    if images is not None and not Path(images).is_dir():
        raise RecordError(f"{images}: not a folder of sample photos")
    form, parsed = _check_form(raw, source)
    if parsed is None:
        return Verification(source, [form])
    signature = _check_signature(parsed, key)
    checks = [form, signature]
    if images is not None and signature.ok:
        checks.extend(_check_images(parsed, Path(images)))
    elif images is not None:
        checks.append(Check("images", False, "not checked: the record's content is not trusted"))
    return Verification(source, checks, parsed)


__all__ = [
    "RECORD_FORMAT",
    "Check",
    "Record",
    "RecordError",
    "Verification",
    "build_record",
    "canonical_json",
    "certify",
    "sign",
    "verify",
]
