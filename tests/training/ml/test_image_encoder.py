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
