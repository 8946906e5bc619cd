"""The model bundle: one ``.onnx`` file whose ``metadata_props`` carry everything needed to use it.

Reading is torch-free and onnx-free (onnxruntime exposes ``metadata_props``; the weights hash is
taken over the serialised graph, found by walking the ModelProto's top-level fields). Writing
needs the ``onnx`` package and lives in :func:`write_bundle`.

Example:
    >>> meta = read_metadata("craftvision/models/zoo/fibre.onnx")   # doctest: +SKIP
    >>> meta.modality, meta.genuine_class                            # doctest: +SKIP
    ('fibre', 'pashmina')
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from craftvision.atomic import atomic_write_bytes
from craftvision.errors import BundleError
from craftvision.preprocess import PreprocessSpec

FORMAT_VERSION = 1
METADATA_KEY = "craftvision"
_GRAPH_FIELD = 7  # ModelProto.graph
_METADATA_PROPS_FIELD = 14  # ModelProto.metadata_props
# Views the exported graph averages (see craftvision.models.tta): none, or the 8 orientations.
TEST_TIME_AUGMENTATIONS = ("none", "dihedral")
# Number format of the weights: as trained, or quantised by craftvision.training.quantize.
WEIGHT_PRECISIONS = ("float32", "int8")


@dataclass(frozen=True)
class BundleMetadata:
    """What a bundle says about itself (DESIGN.md §3)."""

    name: str
    modality: str
    classes: tuple[str, ...]
    genuine_class: str
    preprocess: PreprocessSpec
    architecture: str
    temperature: float = 1.0
    threshold: float = 0.8
    ood_threshold: float | None = None
    metrics: dict[str, Any] = field(default_factory=dict)
    data_fingerprint: str = ""
    library_version: str = ""
    weights_sha256: str = ""
    created: str = ""
    test_time_augmentation: str = "none"
    weights_precision: str = "float32"
    format_version: int = FORMAT_VERSION

    def __post_init__(self) -> None:
        if len(self.classes) < 2:
            raise BundleError(f"a bundle needs at least two classes, got {list(self.classes)}")
        if self.genuine_class not in self.classes:
            raise BundleError(
                f"genuine class {self.genuine_class!r} is not one of {list(self.classes)}"
            )
        if not self.temperature > 0:
            raise BundleError(f"temperature must be positive, got {self.temperature}")
        if not 0.5 <= self.threshold <= 1.0:
            raise BundleError(f"threshold must lie in [0.5, 1], got {self.threshold}")
        if self.test_time_augmentation not in TEST_TIME_AUGMENTATIONS:
            raise BundleError(
                f"test-time augmentation {self.test_time_augmentation!r} is not one of "
                f"{list(TEST_TIME_AUGMENTATIONS)}"
            )
        if self.weights_precision not in WEIGHT_PRECISIONS:
            raise BundleError(
                f"weights precision {self.weights_precision!r} is not one of "
                f"{list(WEIGHT_PRECISIONS)}"
            )

    def to_json(self) -> str:
        """Canonical JSON (sorted keys) stored under ``metadata_props['craftvision']``."""
        data = asdict(self)
        data["classes"] = list(self.classes)
        data["preprocess"] = self.preprocess.to_dict()
        return json.dumps(data, sort_keys=True)

    @classmethod
    def from_json(cls, text: str, *, source: str = "bundle") -> BundleMetadata:
        """Parse and validate; any problem raises :class:`BundleError` naming ``source``."""
        try:
            data = json.loads(text)
            version = data.get("format_version")
            if version != FORMAT_VERSION:
                raise BundleError(
                    f"{source}: bundle format version {version} is not supported "
                    f"(this craftvision reads version {FORMAT_VERSION})"
                )
            data["classes"] = tuple(data["classes"])
            data["preprocess"] = PreprocessSpec.from_dict(data["preprocess"])
            return cls(**data)
        except BundleError:
            raise
        except (ValueError, TypeError, KeyError, AttributeError) as err:
            raise BundleError(f"{source}: invalid craftvision metadata ({err})") from err


def _read_varint(buf: bytes, pos: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        if pos >= len(buf):
            raise ValueError("truncated varint")
        byte = buf[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result, pos
        shift += 7


def _top_level_fields(buf: bytes) -> dict[int, list[bytes]]:
    """Length-delimited top-level fields of a protobuf message, by field number."""
    fields: dict[int, list[bytes]] = {}
    pos = 0
    while pos < len(buf):
        key, pos = _read_varint(buf, pos)
        number, wire_type = key >> 3, key & 7
        if wire_type == 0:
            _, pos = _read_varint(buf, pos)
        elif wire_type == 1:
            pos += 8
        elif wire_type == 5:
            pos += 4
        elif wire_type == 2:
            length, pos = _read_varint(buf, pos)
            if pos + length > len(buf):
                raise ValueError("truncated field")
            fields.setdefault(number, []).append(buf[pos : pos + length])
            pos += length
        else:
            raise ValueError(f"unsupported wire type {wire_type}")
    return fields


def graph_sha256(model_bytes: bytes) -> str:
    """SHA-256 of the serialised graph (structure and weights) of an ONNX model."""
    graphs = _top_level_fields(model_bytes).get(_GRAPH_FIELD)
    if not graphs:
        raise ValueError("no graph in the model")
    return hashlib.sha256(graphs[0]).hexdigest()


def _metadata_props(model_bytes: bytes) -> dict[str, str]:
    props = {}
    for entry in _top_level_fields(model_bytes).get(_METADATA_PROPS_FIELD, []):
        kv = _top_level_fields(entry)
        key = kv.get(1, [b""])[0].decode("utf-8")
        props[key] = kv.get(2, [b""])[0].decode("utf-8")
    return props


def load_bundle(path: str | os.PathLike) -> tuple[bytes, BundleMetadata]:
    """Read a bundle file and validate its metadata and weights hash.

    Returns the ONNX bytes (ready for ``onnxruntime.InferenceSession``) and the metadata.
    """
    source = str(path)
    try:
        model_bytes = Path(path).read_bytes()
    except FileNotFoundError as err:
        raise BundleError(f"{source}: no such model bundle") from err
    except OSError as err:
        raise BundleError(f"{source}: cannot read the bundle ({err.strerror or err})") from err
    try:
        props = _metadata_props(model_bytes)
        digest = graph_sha256(model_bytes)
    except (ValueError, UnicodeDecodeError) as err:
        raise BundleError(f"{source}: not an ONNX model ({err})") from err
    if METADATA_KEY not in props:
        raise BundleError(
            f"{source}: this ONNX file has no craftvision metadata; export models with "
            "`craftvision train` or `craftvision export` so that classes, preprocessing and "
            "thresholds travel with the weights"
        )
    metadata = BundleMetadata.from_json(props[METADATA_KEY], source=source)
    if metadata.weights_sha256 != digest:
        raise BundleError(
            f"{source}: weights do not match the recorded SHA-256 "
            f"(recorded {metadata.weights_sha256[:12]}…, found {digest[:12]}…): it was altered"
        )
    return model_bytes, metadata


def read_metadata(path: str | os.PathLike) -> BundleMetadata:
    """Validated metadata of a bundle (see :func:`load_bundle`)."""
    return load_bundle(path)[1]


def write_bundle(onnx_model: Any, metadata: BundleMetadata, path: str | os.PathLike) -> Path:
    """Embed ``metadata`` (with the graph's SHA-256 filled in) into ``onnx_model`` and write it
    atomically to ``path``. ``onnx_model`` is an ``onnx.ModelProto``; needs the ``onnx`` package."""
    del onnx_model.metadata_props[:]
    digest = graph_sha256(onnx_model.SerializeToString())
    stamped = replace(metadata, weights_sha256=digest)
    entry = onnx_model.metadata_props.add()
    entry.key, entry.value = METADATA_KEY, stamped.to_json()
    return atomic_write_bytes(path, onnx_model.SerializeToString())
