"""``cache.query_vectors``: many queries' vectors as ``query_vector`` gives each, with one read,
one batched encode of the texts Redis does not hold and one write (offline jobs)."""

from __future__ import annotations

import numpy as np
import pytest

from recommend.serving import cache


def _by_length(calls: list):
    def encode_many(texts):
        calls.append(list(texts))
        return np.stack([np.full(4, len(text), dtype=np.float32) for text in texts])

    return encode_many


def test_cached_vectors_are_read_and_the_misses_encoded_in_one_batch_then_cached(serving_state):
    cached = np.arange(4, dtype=np.float32)
    cache.query_vector(7, "cached query", lambda text: cached)
    calls: list = []

    out = cache.query_vectors(
        7, ["fresh a", "cached query", "fresh bb", "fresh a"], _by_length(calls)
    )

    assert calls == [["fresh a", "fresh bb"]]  # one batch, the cached one and the repeat left out
    assert set(out) == {"fresh a", "cached query", "fresh bb"}
    assert out["cached query"].tolist() == cached.tolist()
    assert out["fresh bb"].tolist() == [8.0] * 4
    vector, was_cached = cache.query_vector(7, "fresh bb", lambda text: pytest.fail("re-encoded"))
    assert was_cached and vector.tolist() == [8.0] * 4  # written where query_vector reads it

    cache.query_vectors(7, ["fresh a", "cached query"], _by_length(calls))
    assert len(calls) == 1  # everything cached now: no encode at all
    cache.query_vectors(7, ["fresh a"], _by_length(calls), vector_space=9)
    assert calls[-1] == ["fresh a"]  # another vector space is another entry
    assert cache.query_vectors(7, [], _by_length(calls)) == {} and len(calls) == 2
