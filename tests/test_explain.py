"""``craftvision explain`` and ``inspect --explain``: occlusion (torch-free) and Grad-CAM."""

import json
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
from typer.testing import CliRunner

from craftvision import Inspector, read_image
from craftvision.cli import app
from craftvision.errors import ConfigError
from craftvision.explain import occlusion, save_explanation
from craftvision.models.bundle import BundleMetadata, write_bundle
from craftvision.preprocess import PreprocessSpec

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")
runner = CliRunner(env={"COLUMNS": "250"})  # error panels on one line


@pytest.fixture
def texture_bundle(tmp_path):
    """A bundle that calls a photo 'pashmina' when it has fine texture anywhere: its genuine
    log-odds grow with the mean |Laplacian| of the input, so the textured patch drives it."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    laplacian = np.array([[0, 1, 0], [1, -4, 1], [0, 1, 0]], np.float32)
    initializers = [
        numpy_helper.from_array(np.tile(laplacian, (1, 3, 1, 1)), "kernel"),
        numpy_helper.from_array(np.array([[1.0, -1.0]], np.float32), "weight"),
        numpy_helper.from_array(np.array([-2.0, 2.0], np.float32), "bias"),
    ]
    nodes = [
        helper.make_node("Conv", ["input", "kernel"], ["edges"]),
        helper.make_node("Abs", ["edges"], ["strength"]),
        helper.make_node("ReduceMean", ["strength"], ["pooled"], axes=[1, 2, 3], keepdims=1),
        helper.make_node("Flatten", ["pooled"], ["flat"], axis=1),
        helper.make_node("MatMul", ["flat", "weight"], ["scores"]),
        helper.make_node("Add", ["scores", "bias"], ["logits"]),
    ]
    graph = helper.make_graph(
        nodes,
        "texture",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["batch", 3, 32, 32])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["batch", 2])],
        initializer=initializers,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    metadata = BundleMetadata(
        name="texture",
        modality="fibre",
        classes=("pashmina", "wool"),
        genuine_class="pashmina",
        preprocess=PreprocessSpec(input_size=32),
        architecture="hand-built",
    )
    return write_bundle(model, metadata, tmp_path / "texture.onnx")


def _textured_photo() -> np.ndarray:
    """64x64 flat grey with a fine checkerboard in the top-left 24x24 pixels."""
    photo = np.full((64, 64, 3), 128, np.uint8)
    checker = (np.add.outer(np.arange(24) // 2, np.arange(24) // 2) % 2) * 255
    photo[:24, :24] = checker[:, :, None]
    return photo


def test_occlusion_finds_the_texture_that_drove_the_prediction(texture_bundle, tmp_path):
    photo = _textured_photo()
    explained = occlusion(Inspector(texture_bundle), photo)
    assert explained.predicted == explained.target == "pashmina"
    assert explained.method == "occlusion" and explained.heatmap.shape == (64, 64)
    heat = explained.heatmap
    assert heat.min() >= 0 and heat.max() == pytest.approx(1.0)
    assert heat[:24, :24].mean() > 5 * heat[32:, 32:].mean()
    peak = np.unravel_index(np.argmax(heat), heat.shape)
    assert peak[0] < 28 and peak[1] < 28
    written = save_explanation(photo, explained, tmp_path / "heat.png")
    image = cv2.imread(str(written))
    assert image.shape[0] > 320 and image.shape[1] > 2 * 320  # photo and overlay, enlarged


def test_letterboxed_strips_map_back_to_their_own_pixels(texture_bundle):
    strip = np.full((40, 100, 3), 128, np.uint8)
    strip[:, 60:] = ((np.indices((40, 40)).sum(0) // 8 % 2) * 255)[:, :, None]
    heat = occlusion(Inspector(texture_bundle), strip).heatmap
    assert heat.shape == (40, 100)
    assert heat[:, 64:].mean() > 5 * heat[:, :50].mean()


def test_grad_cam_from_a_checkpoint(tiny_run, bright_dark_dataset):
    from craftvision.training.checkpoint import CheckpointInspector
    from craftvision.training.gradcam import grad_cam

    photo = read_image(next(bright_dark_dataset.rglob("*.png")))
    explained = grad_cam(CheckpointInspector(tiny_run.run_dir / "best.ckpt"), photo)
    assert explained.method == "grad-cam" and explained.heatmap.shape == photo.shape[:2]
    assert explained.heatmap.min() >= 0 and explained.heatmap.max() <= 1
    with pytest.raises(ConfigError, match="Did you mean 'wool'"):
        grad_cam(CheckpointInspector(tiny_run.run_dir / "best.ckpt"), photo, target="wol")


def test_cli_explains_checkpoints_and_bundles(tiny_run, bright_dark_dataset, tmp_path):
    photo = next(bright_dark_dataset.rglob("*.png"))
    out = tmp_path / "cam.png"
    checkpoint = str(tiny_run.run_dir / "best.ckpt")
    result = runner.invoke(app, ["explain", str(photo), "-m", checkpoint, "-o", str(out), "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["method"] == "grad-cam" and out.is_file()
    result = runner.invoke(app, ["explain", str(photo), "-m", str(tiny_run.bundle), "-o", str(out)])
    assert result.exit_code == 0 and "occlusion" in result.stdout
    result = runner.invoke(app, ["explain", str(photo), "-m", checkpoint, "--method", "gradcam"])
    assert result.exit_code == 2 and "Did you mean 'grad-cam'" in result.output
    result = runner.invoke(
        app, ["explain", str(photo), "-m", str(tiny_run.bundle), "--method", "grad-cam"]
    )
    assert result.exit_code == 2 and "occlusion" in result.output
    result = runner.invoke(app, ["explain", str(photo.with_name("O.png")), "-m", checkpoint])
    assert "Did you mean" in str(result.exception)
    result = runner.invoke(app, ["explain", "--help"])
    assert result.exit_code == 0 and "Example" in result.output


def test_explaining_a_bundle_never_imports_torch(texture_bundle, tmp_path):
    photo = tmp_path / "photo.png"
    cv2.imwrite(str(photo), _textured_photo())
    code = (
        "import sys\n"
        "from typer.testing import CliRunner\n"
        "from craftvision.cli import app\n"
        f"args = ['explain', {str(photo)!r}, '-m', {str(texture_bundle)!r}, "
        f"'-o', {str(tmp_path / 'heat.png')!r}]\n"
        "result = CliRunner().invoke(app, args)\n"
        "assert result.exit_code == 0, result.output\n"
        "sys.exit('torch' in sys.modules)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "heat.png").is_file()


def test_inspect_writes_one_heatmap_per_photo(texture_bundle, tmp_path):
    for folder in ("a", "b"):
        (tmp_path / folder).mkdir()
        cv2.imwrite(str(tmp_path / folder / "photo.png"), _textured_photo())
    heatmaps = tmp_path / "heat"
    result = runner.invoke(
        app,
        [
            "inspect",
            str(tmp_path / "a"),
            str(tmp_path / "b"),
            "-m",
            str(texture_bundle),
            "--explain",
            str(heatmaps),
        ],
    )
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in heatmaps.iterdir()) == ["photo-1.heat.png", "photo.heat.png"]


def test_cli_explains_with_the_photos_own_model_and_warns_when_it_is_unlike_them(tmp_path):
    weave = Path(__file__).resolve().parents[1] / "samples/weave/powerloom/weave-s7-00001-0.png"
    out = tmp_path / "heat.png"
    own = runner.invoke(app, ["explain", str(weave), "-o", str(out), "--json"])
    assert own.exit_code == 0, own.output
    record = json.loads(own.stdout)
    assert record["model"] == "weave" and record["predicted"] == "powerloom"
    assert record["out_of_distribution"] is False and out.is_file()
    other = runner.invoke(app, ["explain", str(weave), "-m", "fibre", "-o", str(out)])
    assert other.exit_code == 0, other.output
    assert "unlike the fibre model's training photos" in " ".join(other.stderr.split())
