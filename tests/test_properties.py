"""Property-based tests (hypothesis) of the preprocessing and of the measurement helpers."""

from __future__ import annotations

import cv2
import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from craftvision.imageio import read_image
from craftvision.measure._image import as_gray, parabolic_offset, sample
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


# --- measurement helpers ------------------------------------------------------------------------


@FAST
@given(
    vertex=st.floats(-0.5, 0.5),
    curvature=st.floats(0.01, 100),
    peak=st.floats(-1e3, 1e3),
    sign=st.sampled_from([1.0, -1.0]),
)
def test_parabolic_offset_finds_the_vertex_of_any_parabola(vertex, curvature, peak, sign):
    def value(x: float) -> float:
        return peak - sign * curvature * (x - vertex) ** 2

    left, mid, right = (np.array(value(x)) for x in (-1.0, 0.0, 1.0))
    assert abs(float(parabolic_offset(left, mid, right)) - vertex) < 1e-6


@FAST
@given(values=st.lists(st.floats(-1e3, 1e3), min_size=3, max_size=3))
def test_parabolic_offset_is_bounded_and_finite(values):
    offset = float(parabolic_offset(*(np.array(v) for v in values)))
    assert -0.5 <= offset <= 0.5


@FAST
@given(
    seed=st.integers(0, 2**32 - 1),
    height=st.integers(2, 40),
    width=st.integers(2, 40),
    shift=st.tuples(st.integers(-5, 5), st.integers(-5, 5)),
)
def test_sampling_is_exact_on_pixels_and_moves_with_the_image(seed, height, width, shift):
    image = np.random.default_rng(seed).random((height, width)).astype(np.float32)
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
    np.testing.assert_allclose(sample(image, xs, ys), image, atol=1e-5)
    dx, dy = shift
    moved = np.roll(image, (dy, dx), axis=(0, 1))
    inside = (xs + dx >= 0) & (xs + dx <= width - 1) & (ys + dy >= 0) & (ys + dy <= height - 1)
    np.testing.assert_allclose(sample(moved, xs + dx, ys + dy)[inside], image[inside], atol=1e-5)
    halfway = sample(image, xs[:, :-1] + 0.5, ys[:, :-1])
    np.testing.assert_allclose(halfway, (image[:, :-1] + image[:, 1:]) / 2, atol=1e-4)


@FAST
@given(image=rgb_images())
def test_grey_level_is_the_channel_mean(image):
    gray = as_gray(image)
    assert gray.shape == image.shape[:2] and gray.dtype == np.float32
    np.testing.assert_allclose(gray, image.mean(axis=2), atol=1e-3)
