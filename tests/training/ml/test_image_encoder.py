"""The image tower's pieces (training.ml.image_encoder): the category term's targets (group
centroids in the titles' space) and the mixed-precision choice, which is CUDA's alone."""

from __future__ import annotations

import numpy as np
import torch

from training.ml.image_encoder import (
    cuda_dtype,
    group_centroids,
)


def test_group_centroids_are_normalised_means_in_the_titles_space():
    vectors = np.array([[1.0, 0.0], [0.0, 1.0], [3.0, 4.0]], dtype=np.float32)
    centroids, index = group_centroids(vectors, np.array(["b", "b", "a"]))
    assert index.tolist() == [1, 1, 0]
    np.testing.assert_allclose(centroids, [[0.6, 0.8], [2**-0.5, 2**-0.5]], rtol=1e-6)


def test_mixed_precision_is_for_cuda_only():
    assert cuda_dtype("cpu") is None and cuda_dtype("cpu", torch.bfloat16) is None
    assert cuda_dtype("cuda:0", torch.float32) is None  # float32 asked: no autocast
    assert cuda_dtype("cuda:0", torch.float16) == torch.float16


def _drawing(points, *, colour, angle=0.0, scale=1.0, mirror=False) -> np.ndarray:
    from PIL import Image, ImageDraw

    cos, sin = np.cos(angle) * scale, np.sin(angle) * scale
    placed = [
        (32 + (-x if mirror else x) * cos - y * sin, 32 + (-x if mirror else x) * sin + y * cos)
        for x, y in points
    ]
    image = Image.new("RGB", (64, 64), (244, 244, 240))
    ImageDraw.Draw(image).polygon(placed, fill=colour)
    return np.asarray(image)


def test_hu_moments_survive_pose_and_colour_and_tell_shapes_apart():
    from training.ml.image_encoder import hu_moments, to_tensor

    triangle = [(0, -20), (18, 14), (-12, 16)]
    bar = [(-22, -6), (22, -6), (22, 6), (-22, 6)]
    pictures = np.stack(
        [
            _drawing(triangle, colour=(20, 30, 80)),
            _drawing(triangle, colour=(210, 35, 35), angle=0.7, scale=0.8, mirror=True),
            _drawing(bar, colour=(20, 30, 80)),
        ]
    )
    # the first two carry the shape at 64 px (the higher ones sit near their floor)
    moments = hu_moments(to_tensor(pictures))[:, :2]
    same = float((moments[0] - moments[1]).abs().max())  # another colour, pose, size, mirrored
    other = float((moments[0] - moments[2]).abs().max())  # another shape, same colour
    assert 5 * same < other, (same, other)
