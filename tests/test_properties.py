"""Property-based tests (hypothesis) of the preprocessing and of the arrays read_image accepts."""

from __future__ import annotations

import cv2
import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from craftvision.imageio import read_image
from craftvision.preprocess import IMAGENET_MEAN, IMAGENET_STD, PreprocessSpec

FAST = settings(max_examples=40, deadline=None)

specs = st.builds(
    PreprocessSpec,
    input_size=st.integers(8, 96),
    channels=st.sampled_from(["rgb", "gray"]),
)
sides = st.integers(1, 160)


@st.composite
def rgb_images(draw: st.DrawFn) -> np.ndarray:
    """uint8 RGB images of any size from 1x1, some flat, some noisy, some long strips."""
    height, width = draw(sides), draw(sides)
    if draw(st.booleans()):
        height, width = (height, width * 50) if draw(st.booleans()) else (height * 50, width)
    seed = draw(st.integers(0, 2**32 - 1))
    return np.random.default_rng(seed).integers(0, 256, (height, width, 3), dtype=np.uint8)


@st.composite
def accepted_arrays(draw: st.DrawFn) -> np.ndarray:
    """Arrays read_image documents as accepted: gray, RGB or RGBA; uint8, uint16, bool, int or
    float in [0, 1]."""
    shape = (draw(sides), draw(sides), *draw(st.sampled_from([(), (1,), (3,), (4,)])))
    kind = draw(st.sampled_from(["u1", "u2", "b", "i8", "f4", "f8"]))
    elements = {
        "u1": st.integers(0, 255),
        "u2": st.integers(0, 65535),
        "b": st.booleans(),
        "i8": st.integers(0, 255),
        "f4": st.floats(0, 1, width=32),
        "f8": st.floats(0, 1),
    }[kind]
    return draw(hnp.arrays(np.dtype(kind), shape, elements=elements))


@FAST
@given(spec=specs, image=rgb_images())
def test_any_image_becomes_a_finite_tensor_of_the_model_input_shape(spec, image):
    tensor = spec(image)
    assert tensor.shape == (spec.in_chans, spec.input_size, spec.input_size)
    assert tensor.dtype == np.float32 and tensor.flags.c_contiguous
    assert np.isfinite(tensor).all()
    mean, std = np.array(IMAGENET_MEAN), np.array(IMAGENET_STD)
    low, high = (-mean / std).min(), ((1 - mean) / std).max()
    assert low - 1e-5 <= tensor.min() and tensor.max() <= high + 1e-5


@FAST
@given(spec=specs, height=st.integers(1, 5000), width=st.integers(1, 5000))
def test_letterbox_keeps_the_aspect_ratio_and_centres_the_image(spec, height, width):
    top, left, new_h, new_w = spec.letterbox_box(height, width)
    size, scale = spec.input_size, spec.input_size / max(height, width)
    assert max(new_h, new_w) == size
    assert abs(new_h - max(1.0, height * scale)) <= 0.5 + 1e-9
    assert abs(new_w - max(1.0, width * scale)) <= 0.5 + 1e-9
    assert top >= 0 and top + new_h <= size and abs((size - new_h) - 2 * top) <= 1
    assert left >= 0 and left + new_w <= size and abs((size - new_w) - 2 * left) <= 1


@FAST
@given(spec=specs, image=rgb_images())
def test_letterbox_places_the_resized_image_on_a_flat_border(spec, image):
    canvas = spec.resize(image)
    top, left, new_h, new_w = spec.letterbox_box(*image.shape[:2])
    inside = canvas[top : top + new_h, left : left + new_w]
    interpolation = cv2.INTER_AREA if max(image.shape[:2]) > spec.input_size else cv2.INTER_LINEAR
    np.testing.assert_array_equal(
        inside, cv2.resize(image, (new_w, new_h), interpolation=interpolation)
    )
    border = np.ones(canvas.shape[:2], bool)
    border[top : top + new_h, left : left + new_w] = False
    if border.any():
        assert len(np.unique(canvas[border], axis=0)) == 1


@FAST
@given(spec=specs, colour=st.tuples(*[st.integers(0, 255)] * 3), height=sides, width=sides)
def test_a_flat_image_gives_a_flat_tensor(spec, colour, height, width):
    tensor = spec(np.full((height, width, 3), colour, np.uint8))
    pixel = np.array(colour, np.float32) / 255
    if spec.channels == "gray":
        gray = np.float32(pixel @ np.array([0.299, 0.587, 0.114], np.float32))
        mean = np.float32(np.mean(IMAGENET_MEAN))
        std = np.float32(np.mean(IMAGENET_STD))
        expected = np.array([(gray - mean) / std])
    else:
        expected = (pixel - np.array(IMAGENET_MEAN)) / np.array(IMAGENET_STD)
    assert np.allclose(tensor, expected[:, None, None], atol=1e-5)


@FAST
@given(array=accepted_arrays(), spec=specs)
def test_every_accepted_array_is_read_and_preprocessed(array, spec):
    image = read_image(array)
    assert image.dtype == np.uint8 and image.shape == (*array.shape[:2], 3)
    assert spec(image).shape == (spec.in_chans, spec.input_size, spec.input_size)
