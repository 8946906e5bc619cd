"""``craftvision evaluate``: metrics, curves, calibration, abstentions, samples and the report."""

import csv
import json
import re
import subprocess
import sys

import numpy as np
import pytest
from typer.testing import CliRunner

from craftvision.cli import app
from craftvision.errors import BundleError, ConfigError, DatasetError
from craftvision.models.bundle import read_metadata
from craftvision.training.calibration import reliability
from craftvision.training.evaluate import evaluate
from craftvision.training.metrics import precision_recall_curve, roc_auc, roc_curve

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")
runner = CliRunner(env={"COLUMNS": "250"})  # error panels on one line


def test_curves_agree_with_the_rank_statistics():
    rng = np.random.default_rng(0)
    positive = rng.random(300) < 0.4
    scores = np.round(rng.random(300) + positive * 0.4, 1)  # many ties
    roc = roc_curve(positive, scores)
    assert roc["fpr"][0] == roc["tpr"][0] == 0 and roc["fpr"][-1] == roc["tpr"][-1] == 1
    assert np.trapezoid(roc["tpr"], roc["fpr"]) == pytest.approx(roc_auc(positive, scores))
    pr = precision_recall_curve(positive, scores)
    assert pr["recall"][-1] == 1 and pr["precision"][-1] == pytest.approx(positive.mean())
    assert 0 < pr["average_precision"] < 1
    perfect = precision_recall_curve(np.array([1, 1, 0]), np.array([0.9, 0.8, 0.1]))
    assert perfect["average_precision"] == 1
    assert roc_curve(np.ones(3, bool), np.arange(3.0)) is None


def test_expected_calibration_error():
    confidences = np.array([0.95] * 20 + [0.65] * 20)
    correct = np.array([1] * 19 + [0] + [1] * 13 + [0] * 7)
    result = reliability(confidences, correct, n_bins=10)
    assert [b["count"] for b in result["bins"]] == [20, 20]
    assert result["ece"] == pytest.approx(0.0, abs=1e-9)  # both bins are exactly calibrated
    assert reliability(np.full(10, 0.9), np.zeros(10))["ece"] == pytest.approx(0.9)


def test_bundle_report_reproduces_the_runs_test_split(tiny_run, bright_dark_dataset, tmp_path):
    out = tmp_path / "report"
    evaluation = evaluate(tiny_run.bundle, bright_dark_dataset, split="test", out=out)
    recorded = read_metadata(tiny_run.bundle).metrics
    assert evaluation.metrics["n"] == recorded["n"] == 12
    assert evaluation.metrics["balanced_accuracy"] == recorded["balanced_accuracy"]
    assert evaluation.samples["n"] == 4 and not evaluation.warnings
    assert evaluation.temperature == tiny_run.temperature
    abstention = evaluation.abstention
    assert abstention["abstained"] + abstention["decided"] == 12
    assert abstention["rate"] == pytest.approx(abstention["abstained"] / 12)
    document = json.loads((out / "report.json").read_text())
    assert {"metrics", "curves", "calibration", "abstention", "samples", "worst_mistakes"} <= set(
        document
    )
    assert document["curves"]["roc"]["auc"] == recorded["roc_auc"]
    assert 0 <= document["calibration"]["ece"] <= 1
    with open(out / "predictions.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 12 and {r["label"] for r in rows} == {"pashmina", "wool"}
    page = (out / "index.html").read_text()
    assert page.count("data:image/png;base64,") == 4 and 'src="http' not in page
    for name in ("confusion_matrix", "roc_pr", "reliability", "worst_mistakes"):
        assert (out / f"{name}.png").read_bytes()[:4] == b"\x89PNG"


def test_checkpoint_evaluates_like_its_bundle(tiny_run, bright_dark_dataset):
    from_bundle = evaluate(tiny_run.bundle, bright_dark_dataset)
    from_checkpoint = evaluate(tiny_run.run_dir / "best.ckpt", bright_dark_dataset)
    assert from_checkpoint.metrics["n"] == from_bundle.metrics["n"] == 48
    assert from_checkpoint.metrics["accuracy"] == from_bundle.metrics["accuracy"]
    assert from_checkpoint.temperature == 1.0
    assert "own training data" in from_bundle.warnings[0]  # same data fingerprint


def test_bundle_evaluation_never_imports_torch(tiny_run, bright_dark_dataset, tmp_path):
    code = (
        "import sys\n"
        "from craftvision.training.evaluate import evaluate\n"
        f"evaluate({str(tiny_run.bundle)!r}, {str(bright_dark_dataset)!r}, "
        f"out={str(tmp_path / 'r')!r})\n"
        "sys.exit('torch' in sys.modules or 'timm' in sys.modules)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def test_wrong_values_suggest_the_nearest(tiny_run, bright_dark_dataset, tmp_path):
    with pytest.raises(ConfigError, match="Did you mean 'test'"):
        evaluate(tiny_run.bundle, bright_dark_dataset, split="tset")
    with pytest.raises(DatasetError, match=re.escape(f"Did you mean '{bright_dark_dataset}'")):
        evaluate(tiny_run.bundle, f"{bright_dark_dataset}x")
    with pytest.raises(BundleError, match="Did you mean 'fibre'"):
        evaluate("fiber", bright_dark_dataset)
    with pytest.raises(BundleError, match=r"Did you mean .*best\.ckpt"):
        evaluate(tiny_run.run_dir / "bset.ckpt", bright_dark_dataset)
    misspelt = tmp_path / "misspelt"
    (misspelt / "pashmna").mkdir(parents=True)
    (misspelt / "wool").mkdir()
    for label in ("pashmna", "wool"):
        source = next((bright_dark_dataset / label.replace("mna", "mina")).rglob("*.png"))
        (misspelt / label / "a.png").write_bytes(source.read_bytes())
    with pytest.raises(DatasetError, match=r"unknown class 'pashmna'\. Did you mean 'pashmina'"):
        evaluate(tiny_run.bundle, misspelt)


def test_cli_prints_a_summary_or_json(tiny_run, bright_dark_dataset, tmp_path):
    common = ["evaluate", "-m", str(tiny_run.bundle), "-d", str(bright_dark_dataset)]
    result = runner.invoke(app, [*common, "-o", str(tmp_path / "a"), "--split", "test"])
    assert result.exit_code == 0, result.output
    assert "balanced accuracy" in result.stdout and "index.html" in result.stdout
    result = runner.invoke(app, [*common, "-o", str(tmp_path / "b"), "--json"])
    assert json.loads(result.stdout)["metrics"]["n"] == 48
    result = runner.invoke(app, [*common, "--split", "tset"])
    assert result.exit_code == 2 and "Did you mean 'test'" in result.output
    result = runner.invoke(app, ["evaluate", "--help"])
    assert result.exit_code == 0 and "Example" in result.output
