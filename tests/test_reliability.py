"""Reliability under bad input: every kind of input in :mod:`bad_inputs` goes through
``read_image``, ``Inspector.predict`` (recorded and raising), ``craftvision inspect`` and the
dataset loader, and gets the right image or the documented error naming it: no crash of the
batch, no lost result, no hang (a watchdog ends a stuck run), no memory blow-up."""

from __future__ import annotations

import ast
import faulthandler
import json
import os
import re
import shutil
import tempfile
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import cv2
import numpy as np
import pytest
from bad_inputs import (
    build_corpus,
    cli_problems,
    dataset_problems,
    inspector_problems,
    read_image_problems,
    run_cli,
)
from faults import interrupt_inspect, kill_during_writes

from craftvision import Inspector
from craftvision.datasets.manifest import load_manifest
from craftvision.errors import BundleError, DatasetError, ImageReadError
from craftvision.imageio import read_image

SAMPLES = Path(__file__).resolve().parents[1] / "samples"


@pytest.fixture(autouse=True)
def watchdog():
    """End the whole run with every thread's traceback if a test here hangs for 5 minutes."""
    faulthandler.dump_traceback_later(300, exit=True)
    yield
    faulthandler.cancel_dump_traceback_later()


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory):
    """The corpus folder and its cases."""
    folder = tmp_path_factory.mktemp("corpus")
    return folder, build_corpus(folder)


def test_corpus_has_at_least_30_kinds_of_each_outcome_mix(corpus):
    _, cases = corpus
    kinds = [case.kind for case in cases]
    assert len(kinds) == len(set(kinds))
    assert len(kinds) >= 30
    assert sum(case.readable for case in cases) >= 10
    assert sum(not case.readable for case in cases) >= 20
    assert sum(case.is_path for case in cases) >= 30


def test_read_image_reads_or_names_every_input(corpus):
    _, cases = corpus
    assert read_image_problems(cases) == {}


def test_inspector_never_loses_a_result(corpus, brightness_bundle):
    _, cases = corpus
    assert inspector_problems(cases, Inspector(brightness_bundle, batch_size=4)) == {}


def test_cli_reports_every_file_without_crash_or_network(corpus, brightness_bundle):
    folder, cases = corpus
    inspector = Inspector(brightness_bundle)
    references = {c.kind: inspector.predict(c.expected).probabilities for c in cases if c.readable}
    problems, run = cli_problems(cases, folder, str(brightness_bundle), references)
    assert problems == {}
    assert run.network == ()
    assert run.max_rss_mb < 1024  # a header bomb is refused before any pixel is decoded


def test_dataset_loader_loads_or_names_every_file(tmp_path):
    problems, tried = dataset_problems(tmp_path)
    assert tried >= 30
    assert problems == {}


def test_one_inspector_shared_by_8_threads_matches_sequential_calls():
    rng = np.random.default_rng(7)
    sizes = [(960, 1280), (224, 224), (50, 125), (1, 1), (300, 40)]
    images = [rng.integers(0, 256, (*sizes[i % 5], 3), dtype=np.uint8) for i in range(24)]
    inspector = Inspector.from_pretrained("fibre", batch_size=4, num_threads=2)
    sequential = [inspector.predict(image) for image in images]

    def work(offset: int) -> list:
        order = np.roll(np.arange(len(images)), offset * 3)
        results = inspector.predict([images[i] for i in order])
        return [results[list(order).index(i)] for i in range(len(images))]

    with ThreadPoolExecutor(8) as pool:
        shared = list(pool.map(work, range(8)))
    for results in shared:
        for mine, alone in zip(results, sequential, strict=True):
            assert mine.label == alone.label and mine.verdict == alone.verdict
            assert mine.probabilities == pytest.approx(alone.probabilities, abs=1e-5)
            assert mine.ood_score == pytest.approx(alone.ood_score, rel=1e-5)


def test_cli_inspect_on_samples_needs_no_network_nor_heavy_modules():
    run = run_cli(["inspect", str(SAMPLES / "fibre"), "--json"])
    assert run.returncode == 0, run.stderr
    assert len(run.stdout.splitlines()) == len(list((SAMPLES / "fibre").rglob("*.png")))
    assert run.network == ()
    assert run.heavy_modules == ()


@contextmanager
def unprivileged():
    """Run the block as ``nobody`` where the tests run as root, for whom no file is unreadable."""
    if os.geteuid() != 0:
        yield
        return
    os.setegid(65534)
    os.seteuid(65534)
    try:
        yield
    finally:
        os.seteuid(0)
        os.setegid(0)


def test_an_unreadable_file_is_reported_by_name(brightness_bundle):
    folder = Path(tempfile.mkdtemp())  # under /tmp, where nobody may look up files
    try:
        folder.chmod(0o755)
        locked, good = folder / "locked.png", folder / "good.png"
        for path in (locked, good):
            cv2.imwrite(str(path), np.full((20, 30, 3), 255, np.uint8))
        locked.chmod(0)
        inspector = Inspector(brightness_bundle)
        with unprivileged():
            with pytest.raises(ImageReadError, match=r"locked\.png: permission denied"):
                read_image(locked)
            error, result = inspector.predict([locked, good], on_error="record")
        assert error.path == str(locked) and error.error.endswith("permission denied")
        assert result.verdict.value == "genuine"
    finally:
        shutil.rmtree(folder)


# --- faults -------------------------------------------------------------------------------------


def test_sigkill_inside_atomic_writes_leaves_no_partial_file(tmp_path):
    report = kill_during_writes(tmp_path, kills=2, seed=3, in_write=True)
    assert report.mid_write == report.kills  # each kill left a temp file: it hit a write
    assert report.files_checked >= 3 * report.kills
    assert report.problems == ()


def test_ctrl_c_during_inspect_prints_and_saves_what_it_finished(tmp_path, brightness_bundle):
    folder = tmp_path / "photos"
    folder.mkdir()
    for index in range(20):
        cv2.imwrite(str(folder / f"{index:02d}.png"), np.full((30, 40, 3), index * 12, np.uint8))
    out = tmp_path / "results.jsonl"
    args = ["inspect", str(folder), "missing.png", "--model", str(brightness_bundle)]
    done = interrupt_inspect(
        [*args, "--batch-size", "4", "--json", "--out", str(out)], after_batches=2
    )
    assert done.returncode == 130, done.stderr
    records = [json.loads(line) for line in done.stdout.splitlines()]
    finished = int(re.search(r"interrupted: (\d+) of 20 image", done.stderr).group(1))
    assert finished == 8  # two batches of 4 printed before the Ctrl-C, none after
    assert records[0]["path"] == "missing.png" and "no such file" in records[0]["error"]
    assert [r["path"] for r in records[1:]] == [
        str(folder / f"{i:02d}.png") for i in range(finished)
    ]
    assert all(
        r["verdict"] == ("imitation" if i < 10 else "genuine") for i, r in enumerate(records[1:])
    )
    assert out.read_text().splitlines() == done.stdout.splitlines()


# --- security -----------------------------------------------------------------------------------


def test_bundle_with_altered_graph_is_refused_everywhere(brightness_bundle):
    data = brightness_bundle.read_bytes()
    assert data.count(b"ReduceMean") == 1
    brightness_bundle.write_bytes(data.replace(b"ReduceMean", b"ReduceProd"))  # still valid ONNX
    with pytest.raises(BundleError, match="altered"):
        Inspector(brightness_bundle)
    run = run_cli(["inspect", str(SAMPLES / "fibre"), "--model", str(brightness_bundle)])
    assert run.returncode == 2 and "altered" in run.stderr and "Traceback" not in run.stderr


def test_manifest_links_cannot_escape_the_dataset(tmp_path):
    outside = tmp_path / "outside.png"
    cv2.imwrite(str(outside), np.zeros((8, 8, 3), np.uint8))
    root = tmp_path / "data"
    (root / "wool").mkdir(parents=True)
    cv2.imwrite(str(root / "wool" / "a.png"), np.zeros((8, 8, 3), np.uint8))
    (root / "wool" / "escape.png").symlink_to(outside)
    (root / "manifest.csv").write_text("path,label\nwool/a.png,wool\nwool/escape.png,pashmina\n")
    with pytest.raises(DatasetError, match=r"manifest.csv:3: path 'wool/escape.png' leaves"):
        load_manifest(root)


def test_checkpoints_never_run_pickled_code(tmp_path):
    torch = pytest.importorskip("torch")
    from craftvision.training.checkpoint import load_checkpoint

    marker = tmp_path / "pwned"

    class Payload:
        def __reduce__(self):
            return (Path.touch, (marker,))

    path = tmp_path / "evil.ckpt"
    torch.save({"model": {}, "config": Payload()}, path)
    with pytest.raises(BundleError, match="not a torch checkpoint"):
        load_checkpoint(path)
    assert not marker.exists()


def test_every_torch_load_in_the_library_is_weights_only():
    package = Path(__file__).resolve().parents[1] / "craftvision"
    calls = {}
    for source in package.rglob("*.py"):
        for node in ast.walk(ast.parse(source.read_text(), str(source))):
            if isinstance(node, ast.Call) and ast.unparse(node.func) == "torch.load":
                keywords = {k.arg: ast.unparse(k.value) for k in node.keywords}
                calls[f"{source.name}:{node.lineno}"] = keywords.get("weights_only")
    assert len(calls) >= 3  # checkpoints, resume, --pretrained weights
    assert set(calls.values()) == {"True"}, calls
