import json

import pytest

from craftvision.errors import BundleError
from craftvision.models.bundle import METADATA_KEY, graph_sha256, load_bundle
from craftvision.models.zoo import resolve_model


def test_bundle_roundtrip(brightness_bundle):
    model_bytes, meta = load_bundle(brightness_bundle)
    assert meta.classes == ("pashmina", "wool") and meta.genuine_class == "pashmina"
    assert meta.preprocess.input_size == 32
    assert meta.weights_sha256 == graph_sha256(model_bytes)


def test_altered_weights_are_refused(brightness_bundle):
    data = bytearray(brightness_bundle.read_bytes())
    index = data.find(bytes.fromhex("00008040"))
    assert index > 0
    data[index + 3] ^= 0x01
    brightness_bundle.write_bytes(bytes(data))
    with pytest.raises(BundleError, match="altered"):
        load_bundle(brightness_bundle)


def test_onnx_without_metadata_is_refused(tmp_path, brightness_bundle):
    import onnx

    model = onnx.load(brightness_bundle)
    del model.metadata_props[:]
    plain = tmp_path / "plain.onnx"
    onnx.save(model, plain)
    with pytest.raises(BundleError, match="no craftvision metadata"):
        load_bundle(plain)


def test_invalid_metadata_is_refused(tmp_path, brightness_bundle):
    import onnx

    model = onnx.load(brightness_bundle)
    meta = json.loads(model.metadata_props[0].value)
    meta["genuine_class"] = "cashmere"
    model.metadata_props[0].value = json.dumps(meta)
    broken = tmp_path / "broken.onnx"
    onnx.save(model, broken)
    with pytest.raises(BundleError, match="cashmere"):
        load_bundle(broken)
    assert model.metadata_props[0].key == METADATA_KEY


def test_not_onnx_and_missing(tmp_path):
    junk = tmp_path / "junk.onnx"
    junk.write_bytes(b"\xff\xff\xff\xff not a protobuf")
    with pytest.raises(BundleError, match=r"junk\.onnx"):
        load_bundle(junk)
    with pytest.raises(BundleError, match="no such model bundle"):
        load_bundle(tmp_path / "missing.onnx")


def test_unknown_model_name_suggests_nearest():
    with pytest.raises(BundleError, match="Did you mean 'fibre'"):
        resolve_model("fiber")


def test_older_bundles_read_as_float32_and_unknown_precisions_are_refused(
    tmp_path, brightness_bundle
):
    import onnx

    model = onnx.load(brightness_bundle)
    meta = json.loads(model.metadata_props[0].value)
    del meta["weights_precision"]
    model.metadata_props[0].value = json.dumps(meta)
    older = tmp_path / "older.onnx"
    onnx.save(model, older)
    assert load_bundle(older)[1].weights_precision == "float32"
    meta["weights_precision"] = "fp8"
    model.metadata_props[0].value = json.dumps(meta)
    onnx.save(model, older)
    with pytest.raises(BundleError, match="weights precision 'fp8'"):
        load_bundle(older)
