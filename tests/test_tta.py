"""Test-time augmentation: the 8 views are averaged inside the model and the exported bundle."""

import numpy as np
import pytest
import timm
import torch
from typer.testing import CliRunner

import craftvision.models.craftnet  # noqa: F401  (registers craftnet_s)
from craftvision import Inspector, read_image
from craftvision.cli import app
from craftvision.errors import BundleError, ConfigError
from craftvision.models.bundle import BundleMetadata, read_metadata
from craftvision.models.tta import with_test_time_augmentation
from craftvision.preprocess import PreprocessSpec
from craftvision.training.trainer import TrainConfig, train

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")
runner = CliRunner()


def _orientations(images: torch.Tensor) -> list[torch.Tensor]:
    turns = [torch.rot90(images, k, dims=(2, 3)) for k in range(4)]
    return turns + [t.flip(2) for t in turns]


def test_dihedral_model_gives_one_answer_for_every_orientation():
    torch.manual_seed(0)
    backbone = timm.create_model("craftnet_s", num_classes=3).double().eval()
    model = with_test_time_augmentation(backbone, "dihedral").eval()
    images = torch.rand(3, 3, 48, 48, dtype=torch.float64)
    images[:, :, :12, :24] += 2.0  # a bright patch in one corner: no symmetry
    with torch.inference_mode():
        outputs = [model(view) for view in _orientations(images)]
        plain = [backbone(view) for view in _orientations(images)]
    for output in outputs:
        assert torch.allclose(output, outputs[0], rtol=0, atol=1e-9)
    assert max(float((p - plain[0]).abs().max()) for p in plain) > 1e-5  # the backbone alone is not
    # A linear head: the logits are the mean of the 8 views' logits.
    assert torch.allclose(outputs[0], torch.stack(plain).mean(0), rtol=0, atol=1e-9)
    assert model.forward_head(model.forward_features(images), pre_logits=True).shape == (3, 128)


def test_no_augmentation_is_the_model_itself_and_unknown_names_are_refused():
    backbone = timm.create_model("craftnet_s", num_classes=2)
    assert with_test_time_augmentation(backbone, "none") is backbone
    with pytest.raises(ConfigError, match="Did you mean 'dihedral'"):
        with_test_time_augmentation(backbone, "dihedal")
    spec = PreprocessSpec(input_size=32)
    with pytest.raises(BundleError, match="test-time augmentation 'rot4'"):
        BundleMetadata("m", "fibre", ("a", "b"), "a", spec, "x", test_time_augmentation="rot4")


def test_unknown_augmentation_is_refused_before_any_training(tmp_path):
    config = TrainConfig(data=str(tmp_path), out=str(tmp_path / "run"), test_time_augmentation="8")
    with pytest.raises(ConfigError, match="test-time augmentation"):
        train(config)
    assert not (tmp_path / "run").exists()


def test_exported_dihedral_bundle_is_orientation_invariant(tiny_run, bright_dark_dataset, tmp_path):
    bundle = tmp_path / "tta.onnx"
    checkpoint = str(tiny_run.run_dir / "best.ckpt")
    result = runner.invoke(app, ["export", checkpoint, "-o", str(bundle), "--tta", "dihedral"])
    assert result.exit_code == 0, result.output
    meta = read_metadata(bundle)
    assert meta.test_time_augmentation == "dihedral"
    assert read_metadata(tiny_run.bundle).test_time_augmentation == "none"
    assert "dihedral" in (tmp_path / "tta.md").read_text()
    photo = read_image(sorted(bright_dark_dataset.rglob("*.png"))[0])
    inspector = Inspector(bundle)
    upright, turned = inspector.predict([photo, np.ascontiguousarray(np.rot90(photo))])
    assert upright.probabilities == pytest.approx(turned.probabilities, abs=1e-4)
