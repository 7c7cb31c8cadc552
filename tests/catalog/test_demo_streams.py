"""Named random streams of the demo store (``catalog.demo.streams``): each planting's
stream depends on (seed, name) alone."""

from __future__ import annotations

import random

import numpy as np
import pytest

from catalog.demo.streams import Streams


def _draws(rng: random.Random, n: int = 20) -> list[float]:
    return [rng.random() for _ in range(n)]


def test_two_names_give_different_streams():
    streams = Streams(42)
    assert _draws(streams.rng("reviews")) != _draws(streams.rng("coupons"))
    a, b = streams.nrng("reviews").standard_normal(20), streams.nrng("coupons").standard_normal(20)
    assert not np.allclose(a, b)


def test_a_stream_does_not_depend_on_what_else_was_drawn_or_in_which_order():
    alone = _draws(Streams(42).rng("coupons"))
    busy = Streams(42)
    _draws(busy.base, 1000)
    busy.base_np.standard_normal(1000)
    _draws(busy.rng("reviews"), 1000)
    assert _draws(busy.rng("coupons")) == alone
    np_alone = Streams(42).nrng("coupons").integers(0, 10**9, size=20)
    other = Streams(42)
    other.nrng("reviews").integers(0, 10**9, size=1000)
    assert (other.nrng("coupons").integers(0, 10**9, size=20) == np_alone).all()


def test_a_stream_is_reproducible_and_follows_the_seed():
    assert _draws(Streams(7).rng("coupons")) == _draws(Streams(7).rng("coupons"))
    assert _draws(Streams(7).rng("coupons")) != _draws(Streams(8).rng("coupons"))
    one, two = Streams(7).nrng("coupons"), Streams(7).nrng("coupons")
    assert (one.random(20) == two.random(20)).all()


def test_the_base_streams_are_todays_sequential_generators():
    streams = Streams(42)
    assert _draws(streams.base) == _draws(random.Random(42))
    assert (streams.base_np.random(5) == np.random.default_rng(42).random(5)).all()


def test_named_streams_keep_the_seeds_of_the_judged_and_relevance_plantings():
    assert _draws(Streams(42).rng("judged")) == _draws(random.Random("aisle-demo-judged-42"))
    assert _draws(Streams(3).rng("relevance")) == _draws(random.Random("aisle-demo-relevance-3"))


def test_a_name_is_taken_once_and_base_is_not_a_name():
    streams = Streams(1)
    streams.rng("coupons")
    streams.nrng("coupons")  # the numpy stream of the same planting is its own
    with pytest.raises(ValueError, match="already taken"):
        streams.rng("coupons")
    for bad in ("base", ""):
        with pytest.raises(ValueError):
            streams.rng(bad)


def test_sealed_base_streams_refuse_draws():
    streams = Streams(1)
    streams.seal()
    with pytest.raises(RuntimeError):
        streams.base  # noqa: B018
    with pytest.raises(RuntimeError):
        streams.base_np  # noqa: B018
    assert 0 <= streams.rng("coupons").random() < 1
