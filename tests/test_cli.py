"""The command line as a user meets it."""

import gc
import json
import subprocess
import sys

import cv2
import numpy as np
import pytest
from typer.testing import CliRunner

from craftvision.cli import app

runner = CliRunner()


def _folder_with_bad_files(root):
    root.mkdir()
    cv2.imwrite(str(root / "bright.png"), np.full((40, 100, 3), 250, np.uint8))
    cv2.imwrite(str(root / "dark.jpg"), np.zeros((50, 50, 3), np.uint8))
    (root / "empty.png").write_bytes(b"")
    (root / "text.png").write_text("not an image")
    data = (root / "dark.jpg").read_bytes()
    (root / "truncated.jpg").write_bytes(data[: len(data) // 2])
    cv2.imwrite(str(root / "deep16.tif"), np.full((20, 20), 60000, np.uint16))
    cv2.imwrite(str(root / "tiny.png"), np.full((1, 1, 3), 255, np.uint8))
    cv2.imwrite(str(root / "rgba.png"), np.full((30, 30, 4), 255, np.uint8))
    return root


def test_inspect_folder_goes_past_bad_files(brightness_bundle, tmp_path):
    folder = _folder_with_bad_files(tmp_path / "photos")
    out = tmp_path / "results.jsonl"
    result = runner.invoke(
        app,
        ["inspect", str(folder), "--model", str(brightness_bundle), "--json", "--out", str(out)],
    )
    assert result.exit_code == 1
    records = {
        json.loads(line)["path"].rsplit("/", 1)[-1]: json.loads(line)
        for line in result.stdout.splitlines()
    }
    assert set(records) == {
        "bright.png",
        "dark.jpg",
        "empty.png",
        "text.png",
        "truncated.jpg",
        "deep16.tif",
        "tiny.png",
        "rgba.png",
    }
    for bad in ("empty.png", "text.png", "truncated.jpg"):
        assert bad in records[bad]["error"]
    assert records["bright.png"]["verdict"] == "genuine"
    assert records["dark.jpg"]["verdict"] == "imitation"
    assert records["deep16.tif"]["label"] == "pashmina"  # 60000/65535 is bright, not clipped dark
    assert records["rgba.png"]["verdict"] == "genuine"  # alpha over white
    assert {"label", "verdict", "confidence", "probabilities", "path"} <= set(records["tiny.png"])
    assert out.read_text().splitlines() == result.stdout.splitlines()


def test_inspect_piped_prints_tab_separated_lines(brightness_bundle, tmp_path):
    image = tmp_path / "one.png"
    cv2.imwrite(str(image), np.full((20, 20, 3), 250, np.uint8))
    result = runner.invoke(
        app, ["inspect", str(image), str(tmp_path / "nope.png"), "-m", str(brightness_bundle)]
    )
    assert result.exit_code == 1
    header, *rows = [line.split("\t") for line in result.stdout.splitlines()]
    assert header == ["path", "class", "verdict", "confidence", "p_genuine", "error"]
    by_path = {row[0]: row for row in rows}
    assert by_path[str(image)][1:3] == ["pashmina", "genuine"] and by_path[str(image)][-1] == ""
    missing = by_path[str(tmp_path / "nope.png")]
    assert missing[2] == "error" and "nope.png" in missing[-1]


def test_inspect_in_a_terminal_prints_a_table_and_piped_starts_without_rich(
    brightness_bundle, tmp_path
):
    import os

    image = tmp_path / "one.png"
    cv2.imwrite(str(image), np.full((20, 20, 3), 250, np.uint8))
    command = [
        sys.executable,
        "-m",
        "craftvision",
        "inspect",
        str(image),
        "-m",
        str(brightness_bundle),
    ]
    terminal, screen = os.openpty()
    try:
        run = subprocess.run(command, stdout=screen, stderr=subprocess.PIPE, timeout=120)
        shown = os.read(terminal, 65536).decode()
    finally:
        os.close(terminal)
        os.close(screen)
    assert run.returncode == 0, run.stderr
    assert "┃" in shown and "one.png" in shown and "genuine" in shown
    probe = (
        "import sys; sys.argv = ['craftvision', *sys.argv[1:]]\n"
        "from craftvision.cli import main\n"
        "try:\n    main()\nfinally:\n"
        "    sys.stderr.write(' '.join(m for m in ('rich', 'torch') if m in sys.modules))\n"
    )
    piped = subprocess.run(
        [sys.executable, "-c", probe, *command[3:]], capture_output=True, text=True, timeout=120
    )
    assert piped.returncode == 0, piped.stderr
    assert piped.stdout.startswith("path\tclass") and piped.stderr.strip() == ""


def test_wrong_names_suggest_the_nearest():
    result = subprocess.run(
        [sys.executable, "-m", "craftvision", "inspect", "x.png", "--model", "fiber"],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 2 and "unknown model 'fiber'" in result.stderr
    result = runner.invoke(app, ["synth", "fiber", "--n", "1", "--out", "x"])
    assert result.exit_code == 2 and "Did you mean 'fibre'" in result.output


def test_synth_writes_manifest(tmp_path):
    result = runner.invoke(
        app,
        [
            "synth",
            "fibre",
            "--n",
            "6",
            "--out",
            str(tmp_path / "d"),
            "--seed",
            "3",
            "--workers",
            "1",
            "--um-per-px",
            "0.5",
        ],
    )
    assert result.exit_code == 0, result.output
    lines = (tmp_path / "d" / "manifest.csv").read_text().splitlines()
    assert lines[0].startswith("path,label,sample_id,modality,um_per_px") and len(lines) == 7


def test_every_verb_has_help_with_an_example():
    for verb in ("inspect", "synth", "train", "models"):
        result = runner.invoke(app, [verb, "--help"])
        assert result.exit_code == 0 and "Example" in result.output, verb


def test_help_describes_each_argument():
    # click 8.5 keeps a parameter's help on the base class, and typer before 0.26 then drops an
    # argument's help from the panel: `measure --help` listed MODALITY and PATHS bare.
    result = runner.invoke(app, ["measure", "--help"], terminal_width=120)
    assert "What the photos show: fibre, weave or stitch." in result.output
    assert "Image files, folders (recursive) or globs." in result.output


def test_console_script_builds_only_the_verb_it_runs():
    from craftvision.cli.application import VERBS, app_for

    lean = app_for(["inspect", "samples/fibre", "--json"])
    assert [command.name for command in lean.registered_commands] == ["inspect"]
    assert [group.name for group in app_for(["register", "list"]).registered_groups] == ["register"]
    for argv in ([], ["--help"], ["inspct", "x"]):  # help and typos see every verb
        assert app_for(argv) is app
    names = {c.name for c in app.registered_commands} | {g.name for g in app.registered_groups}
    assert names == set(VERBS)


@pytest.fixture
def thawed_heap():
    """``cli.main`` freezes the heap on the way out; thaw it again for the rest of the suite."""
    yield
    gc.unfreeze()


def test_main_freezes_the_heap_on_the_way_out(monkeypatch, thawed_heap):
    from craftvision import cli

    def finish(argv):
        return lambda: sys.exit(0)

    monkeypatch.setattr(cli, "app_for", finish)
    gc.unfreeze()
    with pytest.raises(SystemExit):
        cli.main()
    assert gc.get_freeze_count() > 0


def test_error_lines_keep_square_brackets(monkeypatch, capsys, thawed_heap):
    from craftvision import cli
    from craftvision.errors import ConfigError

    def refuse(argv):
        raise ConfigError("needs numba: pip install 'craftvision[synth]'")

    monkeypatch.setattr(cli, "app_for", refuse)
    with pytest.raises(SystemExit) as stop:
        cli.main()
    assert stop.value.code == 2
    assert "pip install 'craftvision[synth]'" in capsys.readouterr().err
