import cv2
import numpy as np
import pytest
import torch

from craftvision.datasets import load_manifest, split_by_sample
from craftvision.datasets.image_dataset import ImageDataset
from craftvision.errors import DatasetError
from craftvision.imageio import read_image
from craftvision.preprocess import PreprocessSpec


def _image(path, value=128):
    path.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(path), np.full((8, 8, 3), value, np.uint8))


def test_class_folders_with_sample_subfolders(tmp_path):
    _image(tmp_path / "pashmina" / "shawl1" / "a.png")
    _image(tmp_path / "pashmina" / "shawl1" / "b.png")
    _image(tmp_path / "wool" / "c.jpg")
    (tmp_path / "wool" / "notes.txt").write_text("not an image")
    manifest = load_manifest(tmp_path)
    assert manifest.classes == ("pashmina", "wool")
    samples = {r.path.name: r.sample_id for r in manifest.records}
    assert samples == {"a.png": "pashmina/shawl1", "b.png": "pashmina/shawl1", "c.jpg": "wool/c"}
    assert len(manifest.fingerprint) == 64


def test_csv_manifest_and_folder_manifest(tmp_path):
    _image(tmp_path / "img" / "1.png")
    _image(tmp_path / "img" / "2.png", 30)
    (tmp_path / "manifest.csv").write_text(
        "path,label,sample_id,um_per_px\nimg/1.png,pashmina,s1,0.5\nimg/2.png,wool,s2,\n"
    )
    for source in (tmp_path, tmp_path / "manifest.csv"):
        manifest = load_manifest(source)
        assert [r.label for r in manifest.records] == ["pashmina", "wool"]
        assert manifest.records[0].um_per_px == 0.5 and manifest.records[1].um_per_px is None


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("path,label\n../outside.png,wool\nimg/1.png,pashmina\n", "leaves the dataset folder"),
        ("path,label\n/etc/passwd,wool\nimg/1.png,pashmina\n", "leaves the dataset folder"),
        ("path\nimg/1.png\n", "missing column"),
        ("path,label\nimg/missing.png,wool\nimg/1.png,pashmina\n", "do not exist"),
        ("path,label\nimg/1.png,pashmina\n", "at least two classes"),
    ],
)
def test_bad_manifests_are_explained(tmp_path, content, message):
    _image(tmp_path / "img" / "1.png")
    _image(tmp_path.parent / "outside.png")
    (tmp_path / "manifest.csv").write_text(content)
    with pytest.raises(DatasetError, match=message):
        load_manifest(tmp_path)


def test_missing_or_empty_dataset(tmp_path):
    with pytest.raises(DatasetError, match="no such dataset"):
        load_manifest(tmp_path / "nope")
    with pytest.raises(DatasetError, match="no images found"):
        load_manifest(tmp_path)


def test_splits_never_share_a_sample_and_keep_every_class():
    from craftvision.datasets.manifest import Record

    rng = np.random.default_rng(0)
    records = []
    for sample in range(60):
        label = ["pashmina", "wool", "synthetic"][sample % 3] if sample < 54 else "yak"
        for shot in range(int(rng.integers(1, 5))):
            records.append(Record(path=f"{sample}-{shot}.png", label=label, sample_id=f"s{sample}"))
    splits = split_by_sample(records, val_fraction=0.2, test_fraction=0.2, seed=3)
    owners = {}
    for name in ("train", "val", "test"):
        part = getattr(splits, name)
        assert {r.label for r in part} == {"pashmina", "wool", "synthetic", "yak"}
        for record in part:
            assert owners.setdefault(record.sample_id, name) == name
    assert sum(map(len, (splits.train, splits.val, splits.test))) == len(records)
    again = split_by_sample(records, val_fraction=0.2, test_fraction=0.2, seed=3)
    assert again == splits


@pytest.mark.parametrize("channels", ["rgb", "gray"])
def test_batches_normalise_as_the_inference_spec_does(tmp_path, channels):
    """Training items are uint8; the batch normalisation in torch gives the model exactly the
    input the torch-free inference path (``spec.normalize``) gives it."""
    rng = np.random.default_rng(0)
    for index in range(3):
        folder = tmp_path / ("pashmina" if index % 2 else "wool")
        folder.mkdir(exist_ok=True)
        cv2.imwrite(str(folder / f"{index}.png"), rng.integers(0, 256, (40, 30, 3), np.uint8))
    manifest = load_manifest(tmp_path)
    spec = PreprocessSpec(input_size=16, channels=channels)
    dataset = ImageDataset(manifest.records, manifest.classes, spec)
    pixels = torch.stack([dataset[i][0] for i in range(len(dataset))])
    assert pixels.dtype == torch.uint8 and pixels.shape == (3, 16, 16, 3)
    expected = np.stack([spec(read_image(r.path)) for r in manifest.records])
    np.testing.assert_allclose(dataset.model_input(pixels).numpy(), expected, atol=1e-6)
