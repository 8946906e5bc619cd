import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from craftvision import Inspector, Verdict
from craftvision.errors import ImageReadError
from craftvision.types import InspectionError

WHITE = np.full((40, 60, 3), 255, np.uint8)
BLACK = np.zeros((40, 60, 3), np.uint8)
MID = np.full((40, 60, 3), 118, np.uint8)  # ≈ the normalisation mean: logits near 0
WEAVE_PHOTO = Path(__file__).resolve().parents[1] / "samples/weave/powerloom/weave-s7-00001-1.png"


def test_verdicts_follow_threshold(brightness_bundle):
    inspector = Inspector(brightness_bundle)
    white, black, mid = inspector.predict([WHITE, BLACK, MID])
    assert white.label == "pashmina" and white.verdict is Verdict.GENUINE
    assert black.label == "wool" and black.verdict is Verdict.IMITATION
    assert mid.verdict is Verdict.INCONCLUSIVE
    assert abs(sum(white.probabilities.values()) - 1) < 1e-9
    assert white.confidence == pytest.approx(white.genuine_probability)
    light = np.full((40, 60, 3), 150, np.uint8)  # p(genuine) ≈ 0.993
    assert inspector.predict(light).verdict is Verdict.GENUINE
    strict = Inspector(brightness_bundle, threshold=0.999)
    assert strict.predict(light).verdict is Verdict.INCONCLUSIVE


def test_path_bytes_and_array_agree(brightness_bundle, tmp_path):
    image = np.random.default_rng(1).integers(0, 255, (50, 70, 3), dtype=np.uint8)
    path = tmp_path / "x.png"
    cv2.imwrite(str(path), image[:, :, ::-1])
    inspector = Inspector(brightness_bundle)
    from_path = inspector.predict(path)
    from_bytes = inspector.predict(path.read_bytes())
    from_array = inspector.predict(image)
    assert from_path.path == str(path) and from_array.path is None
    assert from_path.probabilities == pytest.approx(from_bytes.probabilities)
    assert from_path.probabilities == pytest.approx(from_array.probabilities)


def test_bad_input_raises_or_is_recorded(brightness_bundle, tmp_path):
    empty = tmp_path / "empty.png"
    empty.write_bytes(b"")
    inspector = Inspector(brightness_bundle, batch_size=2)
    with pytest.raises(ImageReadError, match=r"empty\.png"):
        inspector.predict(empty)
    results = inspector.predict([WHITE, empty, BLACK, WHITE, empty], on_error="record")
    kinds = [type(r).__name__ for r in results]
    assert kinds == ["Prediction", "InspectionError", "Prediction", "Prediction", "InspectionError"]
    assert isinstance(results[1], InspectionError) and "empty.png" in results[1].error
    assert results[2].verdict is Verdict.IMITATION


def test_batching_does_not_change_results(brightness_bundle):
    rng = np.random.default_rng(2)
    images = [rng.integers(0, 255, (30 + i, 40, 3), dtype=np.uint8) for i in range(7)]
    one = Inspector(brightness_bundle, batch_size=1).predict(images)
    many = Inspector(brightness_bundle, batch_size=4).predict(images)
    for a, b in zip(one, many, strict=True):
        assert a.probabilities == pytest.approx(b.probabilities, abs=1e-6)


def test_lone_photos_on_every_core_match_batches_side_by_side():
    """A lone photo runs on all cores, batches side by side on one each: the same figures."""
    rng = np.random.default_rng(3)
    images = [rng.integers(0, 255, (90 + 7 * i, 120, 3), dtype=np.uint8) for i in range(5)]
    inspector = Inspector("fibre", batch_size=2, num_threads=2)
    lone = [inspector.predict(image) for image in images]
    side_by_side = inspector.predict(images)
    sequential = Inspector("fibre", batch_size=2, num_threads=1).predict(images)
    for a, b, c in zip(lone, side_by_side, sequential, strict=True):
        assert a.probabilities == pytest.approx(b.probabilities, abs=1e-5)
        assert a.probabilities == pytest.approx(c.probabilities, abs=1e-5)
        assert a.ood_score == pytest.approx(b.ood_score, rel=1e-4)


def test_inference_path_never_imports_torch(brightness_bundle):
    code = (
        "import sys, numpy as np\n"
        "from craftvision import Inspector\n"
        "import craftvision.inspector, craftvision.cli\n"
        f"Inspector({str(brightness_bundle)!r}).predict(np.zeros((8, 8, 3), np.uint8))\n"
        "heavy = [m for m in ('torch', 'timm', 'albumentations', 'matplotlib', 'numba')\n"
        "         if m in sys.modules]\n"
        "print(heavy)\n"
        "sys.exit(1 if heavy else 0)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr or result.stdout


def test_a_blank_photo_is_out_of_distribution_not_an_imitation(tmp_path):
    from craftvision.preprocess import MIN_DETAIL, detail_level
    from craftvision.sample import inspect_sample

    samples = Path(__file__).resolve().parents[1] / "samples"
    shawl = tmp_path / "shawl" / "weave"
    shawl.mkdir(parents=True)
    (shawl / "weave-1.png").write_bytes((samples / "product/weave/weave-1.png").read_bytes())
    blank = np.full((256, 256, 3), 255, np.uint8)
    cv2.imwrite(str(shawl / "blank.png"), blank)
    inspector = Inspector.from_pretrained("weave")
    assert inspector.metadata.ood_threshold is not None  # the shipped models carry a guard
    flagged, photo = inspector.predict([shawl / "blank.png", shawl / "weave-1.png"])
    assert flagged.out_of_distribution and flagged.verdict is Verdict.INCONCLUSIVE
    assert not photo.out_of_distribution and photo.verdict is Verdict.GENUINE
    assert detail_level(blank) < MIN_DETAIL < detail_level(cv2.imread(str(shawl / "weave-1.png")))
    result = inspect_sample(tmp_path / "shawl")
    assert result.verdict is Verdict.INCONCLUSIVE
    assert "blank.png (unlike the training photos)" in result.reasons[0]


def test_the_inspect_table_says_which_photos_are_unlike_the_training_photos():
    from rich.console import Console

    from craftvision.cli.inspect_cmd import _table

    inspector = Inspector.from_pretrained("weave")
    blank, photo = inspector.predict([np.zeros((200, 200, 3), np.uint8), WEAVE_PHOTO])
    console = Console(width=200, record=True)
    console.print(_table([blank, photo]))
    rows = [line for line in console.export_text().splitlines() if "powerloom" in line]
    assert len(rows) == 2 and "unlike the training photos" in rows[0]
    assert "unlike" not in rows[1]
