import numpy as np
import pytest

from craftvision.preprocess import PreprocessSpec


def test_letterbox_keeps_aspect_and_pads_with_background():
    strip = np.full((40, 100, 3), 230, np.uint8)
    strip[15:25] = 60  # a dark fibre band along the strip
    out = PreprocessSpec(input_size=100).resize(strip)
    assert out.shape == (100, 100, 3)
    dark_rows = np.where(out[:, 50, 0] < 100)[0]
    assert 9 <= len(dark_rows) <= 11  # the band is not stretched vertically
    assert out[0, 0, 0] == 230 and out[-1, -1, 0] == 230  # padding looks like background


def test_normalize_shapes_and_values():
    image = np.zeros((16, 16, 3), np.uint8)
    spec = PreprocessSpec(input_size=16)
    tensor = spec(image)
    assert tensor.shape == (3, 16, 16) and tensor.dtype == np.float32
    np.testing.assert_allclose(
        tensor[:, 0, 0], -np.array(spec.mean) / np.array(spec.std), rtol=1e-5
    )
    gray = PreprocessSpec(input_size=16, channels="gray")
    assert gray(image).shape == (1, 16, 16) and gray.in_chans == 1


def test_roundtrip_and_validation():
    spec = PreprocessSpec(input_size=96, channels="gray")
    assert PreprocessSpec.from_dict(spec.to_dict()) == spec
    with pytest.raises(ValueError, match="resize_policy"):
        PreprocessSpec(resize_policy="stretch")
    with pytest.raises(TypeError):
        PreprocessSpec.from_dict({**spec.to_dict(), "bogus": 1})


@pytest.mark.parametrize("shape", [(1, 1, 3), (1, 500, 3), (700, 3, 3), (64, 64, 3)])
def test_any_size_becomes_the_input_size(shape):
    image = np.random.default_rng(0).integers(0, 255, shape, dtype=np.uint8)
    assert PreprocessSpec(input_size=48)(image).shape == (3, 48, 48)


def test_read_of_a_large_jpeg_matches_resizing_the_whole_decode(tmp_path):
    import cv2

    from craftvision.imageio import read_image

    rng = np.random.default_rng(0)
    field = cv2.GaussianBlur(rng.integers(0, 256, (960, 1280, 3), dtype=np.uint8), (0, 0), 3)
    path = tmp_path / "field.jpg"
    cv2.imwrite(str(path), field, [cv2.IMWRITE_JPEG_QUALITY, 90])
    spec = PreprocessSpec(input_size=160)  # decoded at 1/4: 320x240
    read = spec.read(path).astype(int)
    whole = spec.resize(read_image(path)).astype(int)
    assert read.shape == whole.shape == (160, 160, 3)
    assert np.abs(read - whole).mean() < 0.5
    assert np.abs(read - whole).max() <= 3
