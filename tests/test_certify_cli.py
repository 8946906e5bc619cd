"""The certification verbs as a lab meets them: keys, label, certify, verify, report, register."""

import json

import cv2
import numpy as np
import pytest
from typer.testing import CliRunner

from craftvision.cli import app
from craftvision.datasets.synth.label import render_label_photo

runner = CliRunner()


@pytest.fixture
def lab(tmp_path, brightness_bundle):
    """A key pair, a product folder, a label photo and a register path."""
    result = runner.invoke(app, ["keys", "generate", "--out", str(tmp_path / "lab"), "--json"])
    assert result.exit_code == 0, result.output
    product = tmp_path / "product"
    (product / "fibre").mkdir(parents=True)
    cv2.imwrite(str(product / "fibre" / "a.png"), np.full((8, 12, 3), 230, np.uint8))
    image, truth = render_label_photo(np.random.default_rng(11))
    photo = tmp_path / "label.jpg"
    cv2.imwrite(str(photo), cv2.cvtColor(image, cv2.COLOR_RGB2BGR))
    return {
        "dir": tmp_path,
        "product": product,
        "photo": photo,
        "label_id": truth["label_id"],
        "bundle": brightness_bundle,
        "db": tmp_path / "register.sqlite",
    }


def _certify(lab, *extra):
    return runner.invoke(
        app,
        [
            "certify",
            str(lab["product"]),
            "--label",
            str(lab["photo"]),
            "--lab",
            "LAB-01",
            "--operator",
            "A. Bhat",
            "--key",
            str(lab["dir"] / "lab.pem"),
            "--model",
            f"fibre={lab['bundle']}",
            "--register",
            str(lab["db"]),
            "--out",
            str(lab["dir"] / "record.json"),
            *extra,
        ],
    )


def test_certify_verify_register_report(lab):
    result = _certify(lab, "--json", "--report", str(lab["dir"] / "record.html"))
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["label_id"] == lab["label_id"]
    assert summary["verdict"] == "genuine"
    assert summary["register"]["seq"] == 1
    assert (lab["dir"] / "record.html").is_file()

    public = str(lab["dir"] / "lab.pub.pem")
    record = str(lab["dir"] / "record.json")
    result = runner.invoke(
        app, ["verify", record, "--public-key", public, "--images", str(lab["product"])]
    )
    assert result.exit_code == 0, result.output
    assert "verified" in result.stdout

    listed = runner.invoke(app, ["register", "list", "--db", str(lab["db"]), "--json"])
    assert [json.loads(line)["label_id"] for line in listed.stdout.splitlines()] == [
        lab["label_id"]
    ]
    shown = runner.invoke(
        app, ["register", "show", summary["record_id"][:8], "--db", str(lab["db"]), "--json"]
    )
    assert shown.stdout.encode() == (lab["dir"] / "record.json").read_bytes()
    checked = runner.invoke(app, ["register", "check", "--db", str(lab["db"]), "-k", public])
    assert checked.exit_code == 0 and "chain and signatures valid" in checked.stdout

    html = runner.invoke(app, ["report", record, "--images", str(lab["product"]), "--json"])
    assert json.loads(html.stdout)["html"].endswith("record.html")


def test_a_missing_calibration_profile_says_how_to_make_one(lab):
    # certify signs a profile's hash into the record, so it takes no scale typed in directly
    result = _certify(lab, "--calibration", str(lab["dir"] / "scope.json"))
    message = str(result.exception)
    assert result.exit_code != 0 and "scope.json: no such calibration file" in message
    assert "craftvision calibrate" in message and "--um-per-px" not in message
    assert not (lab["dir"] / "record.json").exists()


def test_verify_states_what_failed(lab):
    assert _certify(lab, "--no-register").exit_code == 0
    record = lab["dir"] / "record.json"
    record.write_bytes(record.read_bytes().replace(b'"genuine"', b'"GENUINE"', 1))
    cv2.imwrite(str(lab["product"] / "fibre" / "a.png"), np.zeros((8, 12, 3), np.uint8))
    public = str(lab["dir"] / "lab.pub.pem")
    result = runner.invoke(app, ["verify", str(record), "-k", public, "--json"])
    assert result.exit_code == 1
    failed = [c for c in json.loads(result.stdout)["checks"] if not c["ok"]]
    assert failed[0]["name"] == "signature" and "altered" in failed[0]["detail"]
    assert not lab["db"].exists()


def test_verify_with_another_key_fails(lab):
    assert _certify(lab).exit_code == 0
    runner.invoke(app, ["keys", "generate", "--out", str(lab["dir"] / "other")])
    result = runner.invoke(
        app, ["verify", str(lab["dir"] / "record.json"), "-k", str(lab["dir"] / "other.pub.pem")]
    )
    assert result.exit_code == 1
    assert "not by the expected key" in result.stdout


def test_label_read(lab):
    result = runner.invoke(app, ["label", "read", str(lab["photo"]), "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["label_id"] == lab["label_id"]
    result = runner.invoke(app, ["label", "read", str(lab["photo"]), "--id-param", "serial"])
    assert "no URL parameter 'serial'" in str(result.exception)


def test_register_check_fails_on_an_edited_row(lab):
    import sqlite3

    assert _certify(lab).exit_code == 0
    with sqlite3.connect(lab["db"]) as db:
        db.execute("UPDATE records SET verdict = 'imitation'")
    result = runner.invoke(app, ["register", "check", "--db", str(lab["db"]), "--json"])
    assert result.exit_code == 1
    assert any("altered" in p for p in json.loads(result.stdout)["problems"])


@pytest.mark.parametrize(
    "verb",
    [
        ["label", "read"],
        ["keys", "generate"],
        ["certify"],
        ["verify"],
        ["report"],
        ["register", "list"],
        ["register", "show"],
        ["register", "check"],
    ],
)
def test_every_verb_has_help_with_an_example(verb):
    result = runner.invoke(app, [*verb, "--help"])
    assert result.exit_code == 0
    assert "Example" in result.stdout and "craftvision " in result.stdout


def test_errors_name_the_file(tmp_path):
    import os
    import subprocess
    import sys

    result = subprocess.run(
        [sys.executable, "-m", "craftvision", "verify", str(tmp_path / "none.json"), "-k", "x.pem"],
        capture_output=True,
        text=True,
        env={**os.environ, "COLUMNS": "300"},
    )
    assert result.returncode == 2
    assert "none.json: no such record file" in result.stderr
