"""Reliability under bad input: every kind of input in :mod:`bad_inputs` goes through
``read_image``, ``Inspector.predict`` (recorded and raising), ``craftvision inspect`` and the
dataset loader, and gets the right image or the documented error naming it: no crash of the
batch, no lost result, no hang (a watchdog ends a stuck run), no memory blow-up."""

from __future__ import annotations

import faulthandler
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

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

from craftvision import Inspector

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
