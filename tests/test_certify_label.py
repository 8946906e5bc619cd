"""Reading GI labels: QR decoding on rendered label photos and label id parsing."""

import numpy as np
import pytest

from craftvision.certify.label import LabelIdRule, LabelReadError, read_label
from craftvision.datasets.synth.label import render_label_photo


@pytest.mark.parametrize(
    ("payload", "rule", "expected"),
    [
        ("https://gi.example.org/verify?id=JK-PSH-1", LabelIdRule(), "JK-PSH-1"),
        ("https://gi.example.org/verify?lang=en&uid=U%2F7", LabelIdRule(), "U/7"),
        ("https://gi.example.org/labels/JK-KNI-0007/", LabelIdRule(), "JK-KNI-0007"),
        ("  JK-SZN-42 \n", LabelIdRule(), "JK-SZN-42"),
        ("https://x.org/v?id=1&serial=S-9", LabelIdRule(param="serial"), "S-9"),
        ("GI:ABC123 Kashmir", LabelIdRule(pattern=r"GI:(\w+)"), "ABC123"),
        ("a=1;label=Z9;b=2", LabelIdRule(pattern=r"x?label=(?P<id>[^;]+)"), "Z9"),
    ],
)
def test_label_id_rules(payload, rule, expected):
    assert rule.parse(payload) == expected


@pytest.mark.parametrize(
    ("payload", "rule"),
    [
        ("https://gi.example.org/", LabelIdRule()),
        ("https://x.org/v?id=1", LabelIdRule(param="serial")),
        ("no id here", LabelIdRule(pattern=r"GI:(\w+)")),
        ("   ", LabelIdRule()),
        ("bad\x00id", LabelIdRule()),
    ],
)
def test_payload_without_id_is_refused(payload, rule):
    with pytest.raises(LabelReadError):
        rule.parse(payload)


def test_rule_refuses_bad_regex_and_two_rules():
    with pytest.raises(ValueError, match="invalid"):
        LabelIdRule(pattern="(")
    with pytest.raises(ValueError, match="not both"):
        LabelIdRule(pattern="x", param="id")


def test_rendered_label_photos_decode():
    rng = np.random.default_rng(7)
    for _ in range(6):
        image, truth = render_label_photo(rng)
        label = read_label(image)
        assert label.label_id == truth["label_id"]
        assert label.payload == truth["payload"]
        found = np.array(label.corners).mean(axis=0)
        assert np.linalg.norm(found - np.array(truth["qr_corners"]).mean(axis=0)) < 15


def test_photo_without_qr_names_the_file(tmp_path):
    import cv2

    blank = tmp_path / "blank.png"
    cv2.imwrite(str(blank), np.full((120, 160, 3), 200, np.uint8))
    with pytest.raises(LabelReadError, match=r"blank\.png: no QR code"):
        read_label(blank)
