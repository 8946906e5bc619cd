"""Signed inspection records: what they hold, and that any tampering is detected."""

import json
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from craftvision.certify.keys import (
    KeyFileError,
    generate_keypair,
    load_private_key,
    load_public_key,
)
from craftvision.certify.record import Record, RecordError, certify, sign, verify
from craftvision.datasets.synth.label import render_label_photo


@pytest.fixture
def keys(tmp_path):
    return generate_keypair(tmp_path / "keys" / "lab")


@pytest.fixture
def sample(tmp_path):
    """A product folder with two small, bright fibre photos (genuine for the brightness model)."""
    rng = np.random.default_rng(0)
    folder = tmp_path / "product"
    (folder / "fibre").mkdir(parents=True)
    for index in range(2):
        image = rng.integers(200, 256, (8, 12, 3), dtype=np.uint8)
        cv2.imwrite(str(folder / "fibre" / f"field-{index}.png"), image)
    return folder


@pytest.fixture
def record(sample, keys, brightness_bundle, tmp_path):
    return certify(
        sample,
        label="JK-PSH-2024-000123",
        lab="LAB-01",
        operator="A. Bhat",
        key=keys[0],
        models={"fibre": brightness_bundle},
        out=tmp_path / "record.json",
    )


def test_record_holds_what_the_issue_lists(record, sample, brightness_bundle):
    data = record.data
    assert data["label"] == {"id": "JK-PSH-2024-000123", "source": "id"}
    assert (data["lab"], data["operator"]) == ("LAB-01", "A. Bhat")
    assert data["created"].endswith("Z")
    assert [image["file"] for image in data["images"]] == ["fibre/field-0.png", "fibre/field-1.png"]
    first = data["images"][0]
    assert first["modality"] == "fibre"
    assert len(first["sha256"]) == 64
    assert first["result"]["verdict"] == "genuine"
    (bundle,) = data["bundles"]
    assert bundle["name"] == "brightness"
    assert len(bundle["weights_sha256"]) == 64
    assert data["sample"]["verdict"] == "genuine"
    assert data["sample"]["reasons"]
    assert data["measurements"]["calibrated"] is False
    assert data["software"]["craftvision"]
    assert data["signature"]["algorithm"] == "Ed25519"


def test_record_file_is_canonical_json(record, tmp_path):
    raw = (tmp_path / "record.json").read_bytes()
    assert raw == record.to_bytes()
    parsed = json.loads(raw)
    assert (
        raw
        == json.dumps(parsed, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
        + b"\n"
    )


def test_genuine_record_verifies(record, keys, sample, tmp_path):
    result = verify(tmp_path / "record.json", public_key=keys[1], images=sample)
    assert result.ok, result.to_dict()
    assert {check.name for check in result.checks} >= {"format", "signature"}


@pytest.mark.parametrize("mask", [0x01, 0x20, 0x80])
def test_flipping_any_byte_of_the_record_is_detected(record, keys, mask):
    raw = record.to_bytes()
    public = load_public_key(keys[1])
    for position in range(len(raw)):
        tampered = bytearray(raw)
        tampered[position] ^= mask
        result = verify(bytes(tampered), public_key=public)
        assert not result.ok, f"byte {position} ({chr(raw[position])!r}) ^ {mask:#x} undetected"


def test_flipping_any_byte_of_an_image_is_detected(record, keys, sample):
    photo = sample / "fibre" / "field-1.png"
    original = photo.read_bytes()
    public = load_public_key(keys[1])
    for position in range(len(original)):
        tampered = bytearray(original)
        tampered[position] ^= 0x01
        photo.write_bytes(bytes(tampered))
        result = verify(record, public_key=public, images=sample)
        assert [check.name for check in result.failures] == ["image fibre/field-1.png"]
    photo.write_bytes(original)
    assert verify(record, public_key=public, images=sample).ok


def test_missing_and_unlisted_photos_fail(record, keys, sample):
    (sample / "fibre" / "field-0.png").unlink()
    cv2.imwrite(str(sample / "fibre" / "extra.png"), np.zeros((8, 8, 3), np.uint8))
    result = verify(record, public_key=keys[1], images=sample)
    details = " ".join(check.detail for check in result.failures)
    assert "field-0.png: missing" in details
    assert "extra.png" in details


def test_record_signed_by_another_key_is_rejected(record, keys, tmp_path):
    _, other_public = generate_keypair(tmp_path / "other")
    result = verify(record, public_key=other_public)
    assert not result.ok
    assert "not by the expected key" in result.failures[0].detail
    forged = sign(
        {k: v for k, v in record.data.items() if k != "signature"},
        load_private_key(tmp_path / "other.pem"),
    )
    assert verify(forged, public_key=keys[1]).failures[0].name == "signature"
    assert verify(forged).ok  # self-consistent, but not the lab's: only the pinned key catches it


def test_certify_reads_the_label_photo(sample, keys, brightness_bundle, tmp_path):
    image, truth = render_label_photo(np.random.default_rng(3))
    photo = tmp_path / "label.png"
    cv2.imwrite(str(photo), cv2.cvtColor(image, cv2.COLOR_RGB2BGR))
    record = certify(
        sample,
        label=photo,
        lab="LAB-01",
        operator="A. Bhat",
        key=load_private_key(keys[0]),
        models={"fibre": brightness_bundle},
    )
    label = record.data["label"]
    assert (label["id"], label["source"], label["payload"]) == (
        truth["label_id"],
        "photo",
        truth["payload"],
    )
    assert label["photo"]["file"] == "label.png"


def test_certify_refuses_a_missing_label_photo_and_empty_lab(sample, keys, brightness_bundle):
    options = {"operator": "A", "key": keys[0], "models": {"fibre": brightness_bundle}}
    with pytest.raises(RecordError, match="no such label photo"):
        certify(sample, label="labl.jpg", lab="LAB", **options)
    with pytest.raises(ValueError, match="lab must not be empty"):
        certify(sample, label="JK-1", lab=" ", **options)


def test_record_and_key_files_errors_name_the_file(tmp_path, keys):
    with pytest.raises(RecordError, match=r"nothere\.json: no such record file"):
        verify(tmp_path / "nothere.json")
    assert "not a JSON record" in verify(b"\xff{").checks[0].detail
    with pytest.raises(KeyFileError, match="looks like a public key"):
        load_private_key(keys[1])
    with pytest.raises(KeyFileError, match="looks like a private key"):
        load_public_key(keys[0])
    with pytest.raises(KeyFileError, match="already exists"):
        generate_keypair(tmp_path / "keys" / "lab")
    assert keys[0].stat().st_mode & 0o777 == 0o600


def test_record_round_trips(record, tmp_path):
    loaded = Record.load(tmp_path / "record.json")
    assert loaded == record
    assert (loaded.record_id, loaded.label_id, loaded.verdict) == (
        record.record_id,
        "JK-PSH-2024-000123",
        "genuine",
    )


def test_certify_package_never_imports_torch():
    code = (
        "import sys, craftvision.certify as c\n"
        "import craftvision.certify.label, craftvision.certify.record, craftvision.certify.report\n"
        "import craftvision.certify.register, craftvision.certify.keys\n"
        "import craftvision.certify.measurements, craftvision.measure\n"
        "from craftvision.cli import app  # every verb's module\n"
        "assert 'torch' not in sys.modules, 'torch imported'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_label_photo_inside_the_sample_folder_is_checked_not_inspected(
    sample, keys, brightness_bundle
):
    image, _ = render_label_photo(np.random.default_rng(5))
    photo = sample / "label.png"
    cv2.imwrite(str(photo), cv2.cvtColor(image, cv2.COLOR_RGB2BGR))
    record = certify(
        sample,
        label=photo,
        lab="LAB-01",
        operator="A. Bhat",
        key=keys[0],
        models={"fibre": brightness_bundle},
    )
    assert record.data["label"]["photo"]["file"] == "label.png"
    assert all(image["file"] != "label.png" for image in record.data["images"])
    assert verify(record, public_key=keys[1], images=sample).ok
    cv2.imwrite(str(photo), np.zeros((8, 8, 3), np.uint8))
    failed = verify(record, public_key=keys[1], images=sample).failures
    assert [check.name for check in failed] == ["label photo label.png"]


def test_modality_without_a_model_says_how_to_give_one(
    sample, keys, brightness_bundle, monkeypatch
):
    import craftvision.models.zoo as zoo

    monkeypatch.setattr(zoo, "available_models", lambda: {})
    (sample / "weave").mkdir()
    cv2.imwrite(str(sample / "weave" / "w.png"), np.full((8, 8, 3), 128, np.uint8))
    options = {"label": "JK-1", "lab": "LAB", "operator": "A", "key": keys[0]}
    with pytest.raises(ValueError, match=r"--model weave=BUNDLE\.onnx"):
        certify(sample, models={"fibre": brightness_bundle}, **options)


def test_calibrated_certification_carries_measurements(keys, brightness_bundle, tmp_path):
    import shutil

    from craftvision.measure import Calibration

    product = tmp_path / "calibrated"
    shutil.copytree(Path(__file__).parents[1] / "samples" / "product" / "fibre", product / "fibre")
    profile = Calibration.from_um_per_px(0.5).save(tmp_path / "scope.json")
    record = certify(
        product,
        label="JK-PSH-7",
        lab="LAB-01",
        operator="A. Bhat",
        key=keys[0],
        models={"fibre": brightness_bundle},
        calibration=profile,
    )
    measurements = record.data["measurements"]
    assert measurements["calibrated"] is True
    assert measurements["calibration"]["file"] == "scope.json"
    assert measurements["fibre"]["n_images"] == 2
    assert measurements["fibre"]["n_fibres"] > 0
    assert measurements["fibre"]["mean_um"] > 0
    first = record.data["images"][0]
    assert first["result"]["measurements"]["path"] == first["file"]
    assert any("µm" in reason for reason in record.data["sample"]["reasons"])
    assert verify(record, public_key=keys[1], images=product).ok


def test_each_modality_can_carry_its_own_calibration_profile(keys, tmp_path):
    # A microscope's profile for the fibres and a camera's for the weave close-up: one profile
    # for both read the weave at thousands of threads per cm.
    import shutil

    from craftvision.measure import Calibration

    product = tmp_path / "product"
    for modality in ("fibre", "weave"):
        shutil.copytree(
            Path(__file__).parents[1] / "samples" / "product" / modality, product / modality
        )
    scope = Calibration.from_um_per_px(0.5).save(tmp_path / "scope.json")
    camera = Calibration.from_px_per_mm(12.0).save(tmp_path / "camera.json")
    options = {"label": "JK-PSH-7", "lab": "LAB-01", "operator": "A. Bhat", "key": keys[0]}
    record = certify(product, calibration=[str(scope), f"weave={camera}"], **options)
    measurements = record.data["measurements"]
    assert measurements["calibration"]["file"] == "scope.json"
    assert measurements["modality_calibrations"]["weave"]["file"] == "camera.json"
    assert measurements["fibre"]["mean_um"] > 0
    assert 2 < measurements["weave"]["threads_per_cm_warp"] < 30
    one = certify(product, calibration=scope, **options).data
    (weave,) = [i for i in one["images"] if i["modality"] == "weave"]
    assert "own calibration" in weave["result"]["measurements"]["error"]
