"""A new user's mistakes on the command line: each gets a clear error and a non-zero exit code,
never a traceback, and nothing is created or lost."""

import json
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
from test_certify_register import make_record
from typer.testing import CliRunner

from craftvision.certify.register import Register
from craftvision.cli import app
from craftvision.errors import CraftvisionError

runner = CliRunner()


def _error(result) -> str:
    """The message a user sees: a library error (the console script prints it as one red line
    and exits 2) or click's usage error (exit 2); fails the test on anything else."""
    if isinstance(result.exception, CraftvisionError):
        return str(result.exception)
    assert result.exit_code == 2 and isinstance(result.exception, SystemExit), result.exception
    return " ".join(result.output.replace("│", " ").split())


@pytest.mark.parametrize("flag", ["--register", "--db"])  # as certify names it, and as it was
@pytest.mark.parametrize("verb", [["list"], ["show", "r-1"], ["check"], ["check", "--json"]])
def test_reading_a_missing_register_is_refused_and_creates_nothing(tmp_path, verb, flag):
    db = tmp_path / "x" / "none.sqlite"
    result = runner.invoke(app, ["register", *verb, flag, str(db)])
    assert result.exit_code != 0
    assert f"{db}: no such register file" in _error(result)
    assert list(tmp_path.iterdir()) == []


def test_the_console_script_says_so_in_one_line(tmp_path):
    db = tmp_path / "x" / "none.sqlite"
    command = [sys.executable, "-m", "craftvision", "register", "check", "--db", str(db)]
    run = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert run.returncode == 2 and run.stdout == "" and "Traceback" not in run.stderr
    # Into a pipe the message is one line however long (rich folded it at 80 columns).
    assert len(run.stderr) > 100 and run.stderr.count("\n") == 1
    assert run.stderr.startswith(f"error: {db}: no such register file")
    assert list(tmp_path.iterdir()) == []


def test_register_show_prints_json_a_script_can_read(tmp_path):
    db = tmp_path / "register.sqlite"
    record = make_record("r-1")
    with Register(db) as book:
        book.append(record)
    result = runner.invoke(app, ["register", "show", "r-1", "--db", str(db)])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == record.data  # no hex string broken at 80 columns
    assert "row 1" in result.stderr


@pytest.fixture
def photo(tmp_path):
    path = tmp_path / "photo.png"
    cv2.imwrite(str(path), np.full((20, 20, 3), 250, np.uint8))
    return path


@pytest.mark.parametrize("where", ["a folder", "under a file", "in /proc"])
def test_inspect_refuses_an_unwritable_out_before_inspecting(
    brightness_bundle, photo, tmp_path, monkeypatch, where
):
    (tmp_path / "notes.txt").write_text("a file, not a folder")
    out = {
        "a folder": tmp_path,
        "under a file": tmp_path / "notes.txt" / "results.jsonl",
        "in /proc": Path("/proc/x.jsonl"),
    }[where]
    if not out.parent.is_dir() and where == "in /proc":
        pytest.skip("no /proc here")
    from craftvision.cli import inspect_cmd

    def never(*args, **kwargs):
        raise AssertionError("inspected before checking --out")

    monkeypatch.setattr(inspect_cmd, "_inspect_files", never)
    result = runner.invoke(
        app, ["inspect", str(photo), "-m", str(brightness_bundle), "-o", str(out)]
    )
    assert result.exit_code != 0
    assert _error(result).startswith(f"--out {out}: ")


def test_register_show_refuses_a_folder_as_out(tmp_path):
    db = tmp_path / "register.sqlite"
    with Register(db) as book:
        book.append(make_record("r-1"))
    result = runner.invoke(app, ["register", "show", "r-1", "--db", str(db), "-o", str(tmp_path)])
    assert _error(result) == f"--out {tmp_path}: is a folder; give a file name"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (None, "no such recipe file"),
        ("data: [oops\n", "not valid YAML at line 2, column 1"),
        ("- data\n", "a recipe is a mapping of keys to values"),
    ],
)
def test_train_explains_a_bad_recipe(tmp_path, text, expected):
    pytest.importorskip("torch")
    recipe = tmp_path / "recipe.yaml"
    if text is not None:
        recipe.write_text(text)
    result = runner.invoke(app, ["train", "--config", str(recipe)])
    assert result.exit_code != 0
    message = _error(result)
    assert message.startswith(f"{recipe}: {expected}") and "\n" not in message


@pytest.mark.parametrize(
    ("verb", "value", "nearest"),
    [
        (["inspect", "x.png"], "gpu", "cuda"),
        (["inspect", "x.png"], "foo", None),
        (["evaluate", "-m", "fibre", "-d", "x"], "cud", "cuda"),
        (["train"], "cpus", "cpu"),
    ],
)
def test_an_unknown_device_is_refused_with_the_nearest(verb, value, nearest):
    result = runner.invoke(app, [*verb, "--device", value])
    message = _error(result)
    assert f"unknown device '{value}'" in message and "Choose from: auto, cpu, cuda" in message
    assert (f"Did you mean '{nearest}'" in message) if nearest else ("Did you mean" not in message)


@pytest.mark.parametrize("verb", ["train", "evaluate"])
def test_help_shows_the_dataset_layout(verb):
    result = runner.invoke(app, [verb, "--help"], terminal_width=200)
    assert result.exit_code == 0 and "DIR/<class>/*.png" in result.output


def test_evaluate_says_when_the_test_split_is_empty(brightness_bundle, tmp_path):
    data = tmp_path / "data"
    for label, grey in (("pashmina", 250), ("wool", 10)):
        (data / label).mkdir(parents=True)
        for k in range(2):  # two samples a class: too few to hold one out for testing
            cv2.imwrite(str(data / label / f"{k}.png"), np.full((20, 20, 3), grey, np.uint8))
    report = tmp_path / "report"
    command = ["evaluate", "-m", str(brightness_bundle), "-d", str(data), "--out", str(report)]
    result = runner.invoke(app, [*command, "--split", "test"])
    message = _error(result)
    assert "the test split holds no images" in message and "--split all" in message
    assert "could be read" not in message


@pytest.mark.parametrize(
    ("modality", "flag", "nearest", "valid"),
    [
        ("fibre", "--px-per-mm", "--um-per-px", "--um-per-px, --size"),
        ("weave", "--um-per-px", "--px-per-mm", "--px-per-mm, --size"),
    ],
)
def test_synth_names_the_options_a_renderer_takes(tmp_path, modality, flag, nearest, valid):
    out = tmp_path / "data"
    result = runner.invoke(app, ["synth", modality, "--n", "2", "--out", str(out), flag, "2"])
    message = _error(result)
    assert f"Invalid value for {flag}: the {modality} renderer does not take it" in message
    assert f"Did you mean '{nearest}'? It takes: {valid}" in message
    assert not out.exists()


def test_explain_checks_its_device_and_out_before_any_work(tmp_path):
    photo = str(
        Path(__file__).resolve().parents[1] / "samples/weave/powerloom/weave-s7-00001-0.png"
    )
    assert "Did you mean 'cuda'" in _error(
        runner.invoke(app, ["explain", photo, "--device", "gpu"])
    )
    folder = runner.invoke(app, ["explain", photo, "-o", str(tmp_path)])
    assert "is a folder" in _error(folder) and list(tmp_path.iterdir()) == []
    jpeg = runner.invoke(app, ["explain", photo, "-o", str(tmp_path / "heat.jpg")])
    assert "writes a .png file" in _error(jpeg) and list(tmp_path.iterdir()) == []
