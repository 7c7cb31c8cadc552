"""The demo store is pinned: every part of ``generate_store`` hashes to the value it had
when the generator was split into one module per planting.

The relevance bench, the Academy's lab bars and the baselines are all measured on this
store, so a change to any part of it shifts figures people have written down. If one of
these tests fails, the named part moved: a refactoring must not do that, and a new
planting must draw from its own named stream (``catalog.demo.streams``), never from the
base stream. Change a constant here only for a deliberate, announced change of the
store, with the figures re-measured.

Each part is serialised canonically (JSON, sorted keys, ``repr`` of floats, ``str`` of
Decimals, ISO timestamps) and hashed with SHA-256; lists keep their order.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from decimal import Decimal

import pytest

from catalog.demo import DemoStore, generate_store, generator, write_truth
from catalog.demo.streams import Streams

# the sizes the tests, the simulator and the relevance test use, and the default store
SMALL = {"products": 300, "shoppers": 100, "days": 10, "seed": 7}
RELEVANCE = {"products": 400, "shoppers": 10, "days": 3, "seed": 11}
DEFAULT: dict = {}  # products=5000, shoppers=2000, days=60, seed=42 (demo_store, bench)

PINNED_SMALL: dict[str, str] = {
    "categories": "9903c2263b5a7fbbfdd6eeaae59aa45776a759f4dbfe8b37a7c50df1bfce85ba",
    "brands": "dc4186d07f2c53b1d08ee4a3a4ff1c963a7a22006f66c75f5026e0cd197dcf0c",
    "products": "7f4024afd318ecf9a6e0abead8d6a6160932b71c729459b819b5488337213be0",
    "shoppers": "483455c069befb23d3e74e1b3240c250d9a42ea3d2ca91308a36c1dbdfa3c945",
    "events": "33fc54755ddad8cd3a3a92b41340f30f78bea18206d595ebf80e2517729e0ec7",
    "truth.tastes": "3885f8d202ce97304c51ca689b1574729de3442040ac2e3259e7df0edbc28acc",
    "truth.query_intents": "3d84ecc5d299de1688b390ad0fa790eb937c62aad48376e5f64eb138cc2aded6",
    "truth.review_sentiments": "bf3f7be9878e380d33c0cb31209aa78d6bf1834b6b773f6372cea03dc899bdad",
    "truth.judged_queries": "aedb29f4a7b8d739436ce931f80eb2fce89b2ce333869c4ea955fa1272b33f6d",
    "truth.relevance": "2ce2604c8ff36daed2801e4cebfac18030593ced19c71aca59c6d3150085606f",
}
PINNED_RELEVANCE: dict[str, str] = {
    "categories": "9903c2263b5a7fbbfdd6eeaae59aa45776a759f4dbfe8b37a7c50df1bfce85ba",
    "brands": "dc4186d07f2c53b1d08ee4a3a4ff1c963a7a22006f66c75f5026e0cd197dcf0c",
    "products": "8e1e13bfd633c592562730cf4677f93a88838e4153b0915721109731cffc2665",
    "shoppers": "200c670d1e838ca6de0629c61bf73e3a959758db438f185f038749fabfb2f3e1",
    "events": "09cd3c0ecd35f955fd9ee2f7420db49c26f4703e026c99113f3a789e4cbac655",
    "truth.tastes": "ac5c05255b61ebc8fbbf8d9d1ff24da6edb5eea1ade75746df0181a9ba09dea8",
    "truth.query_intents": "1b0c8be3afa8d864020c657e1b7d64f4569ff9eb46ceb86d8dbf3c95080e9c9b",
    "truth.review_sentiments": "4f53cda18c2baa0c0354bb5f9a3ecbe5ed12ab4d8e11ba873c2f11161202b945",
    "truth.judged_queries": "376006f83f83cbc761d683275076e6aefeb11bc0377cb80fd780db735a6a8d5f",
    "truth.relevance": "cb17a40537024fcdac0f3460f7f79a6f36de9f6f9a3c4a44a3b65351d71de798",
}
PINNED_DEFAULT: dict[str, str] = {
    "categories": "9903c2263b5a7fbbfdd6eeaae59aa45776a759f4dbfe8b37a7c50df1bfce85ba",
    "brands": "dc4186d07f2c53b1d08ee4a3a4ff1c963a7a22006f66c75f5026e0cd197dcf0c",
    "products": "158222d305515a129b35b89b530be9dd508db8f5ee6ae72a4191ad3e5727bf3e",
    "shoppers": "42c49dd40f34417aa0e3b147b0c47c0088c0ee5923d4b4c7af396b656c53d7d6",
    "events": "d2f33a54f4f78589ead6adca62dcc22971c9fecbe691c86cfea320d7d9ca2c29",
    "truth.tastes": "acd74298802a40bdeb679409dc27457e4ac5178dc7e165b4fe9e0c09a6ea7724",
    "truth.query_intents": "4b03e369df1edb7ed5d6d9303d05884e2de86780d42d30560b80103a2167b4a0",
    "truth.review_sentiments": "c7f372076be964f8e368ee4a5b1f3ae921d4d0182221d2310ec58525ccd4def2",
    "truth.judged_queries": "12e30bb9da018367cfa2739c68ffa6b5aae5085a6410a08058592b7bc5aa1703",
    "truth.relevance": "051e14c227dd25c830c0823b95fe1f3222dd409e365e60934e1dc7fabea14022",
}
PINNED_SMALL_FILES: dict[str, str] = {
    "tastes": "12f8cef409834bd23958aef85445499fe66bbfc5128940552da9d6f2fe21e1e8",
    "query_intents": "2f668022a827efa4f8ee18d5b9c28f59b90bae482a2536ee575308c3aa150e4c",
    "review_sentiments": "5e9260798111f97b18b9d9512c14f98d31dbb651ab4ce68ce1ee29fb7e30a7f1",
    "judged_queries": "863397ba8597b9c6c294c6d1fcdf0a30fc2b69de8610c4651e9e0cb585a7c347",
    "relevance": "c14b9c6815bddc1d50e94b04ec297abb5e9c86c498f1c0c9bfd9f6e4f8cf9b9d",
    # the held-out grammar's judged queries (planting "judged_heldout")
    "relevance_heldout": "18528dbfef660b66d5537b20dbcaf384f327cec73188007fbcbf4220e306d2cd",
}


def _plain(value):
    if isinstance(value, Decimal):
        return {"decimal": str(value)}
    if isinstance(value, datetime):
        return {"datetime": value.isoformat()}
    raise TypeError(f"cannot serialise {type(value).__name__}: {value!r}")


def _digest(value) -> str:
    text = json.dumps(value, sort_keys=True, default=_plain, ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def store_digests(store: DemoStore) -> dict[str, str]:
    """SHA-256 per part of ``store`` (truth parts as ``truth.<name>``)."""
    t = store.truth
    return {
        "categories": _digest(store.categories),
        "brands": _digest(store.brands),
        "products": _digest(store.products),
        "shoppers": _digest(store.shoppers),
        "events": _digest(store.events),
        "truth.tastes": _digest(t.tastes),
        "truth.query_intents": _digest(t.query_intents),
        "truth.review_sentiments": _digest(t.review_sentiments),
        "truth.judged_queries": _digest(t.judged_queries),
        "truth.relevance": _digest(t.relevance),
    }


def file_digests(store: DemoStore, directory) -> dict[str, str]:
    """SHA-256 of the bytes of each truth file ``write_truth`` writes."""
    paths = write_truth(store, directory)
    return {name: hashlib.sha256(path.read_bytes()).hexdigest() for name, path in paths.items()}


def assert_pinned(got: dict[str, str], pinned: dict[str, str]) -> None:
    moved = sorted(part for part in pinned if got.get(part) != pinned[part])
    assert set(got) == set(pinned), sorted(set(got) ^ set(pinned))
    assert not moved, f"demo store parts changed: {moved}"


def test_small_store_is_pinned():
    assert_pinned(store_digests(generate_store(**SMALL)), PINNED_SMALL)


def test_small_store_truth_files_are_pinned(tmp_path):
    assert_pinned(file_digests(generate_store(**SMALL), tmp_path), PINNED_SMALL_FILES)


def test_relevance_test_store_is_pinned():
    assert_pinned(store_digests(generate_store(**RELEVANCE)), PINNED_RELEVANCE)


def test_default_catalog_and_judged_truth_are_pinned():
    """The default store's catalog, judged queries and graded relevance (what the relevance
    bench scores) come before any traffic: pinned fast by a store without shoppers."""
    got = store_digests(generate_store(shoppers=0, days=1))
    catalog_parts = ("categories", "brands", "products", "truth.judged_queries", "truth.relevance")
    assert_pinned({k: got[k] for k in catalog_parts}, {k: PINNED_DEFAULT[k] for k in catalog_parts})


@pytest.mark.slow
def test_default_store_is_pinned():
    """The store ``demo_store`` builds and the benches measure (about 10 s)."""
    assert_pinned(store_digests(generate_store(**DEFAULT)), PINNED_DEFAULT)


# --- a new planting moves nothing -------------------------------------------------------


def _plant_dummy(store: DemoStore, streams: Streams) -> dict:
    """Draws heavily from its own streams, as a real planting would."""
    rng, nrng = streams.rng("dummy"), streams.nrng("dummy")
    picks = [rng.choice(store.products)["external_id"] for _ in range(500)]
    return {"picks": picks, "noise": nrng.standard_normal(1000).round(6).tolist()}


def _plant_second(store: DemoStore, streams: Streams) -> list[float]:
    rng = streams.rng("second")
    return [rng.random() for _ in range(len(store.extras["dummy"]["picks"]))]


def test_a_new_planting_leaves_every_base_part_unchanged(monkeypatch):
    monkeypatch.setitem(generator.PLANTINGS, "dummy", _plant_dummy)
    small = generate_store(**SMALL)
    assert_pinned(store_digests(small), PINNED_SMALL)
    assert_pinned(store_digests(generate_store(**RELEVANCE)), PINNED_RELEVANCE)
    assert set(small.extras) == set(generator.PLANTINGS) and "dummy" in small.extras
    assert len(small.extras["dummy"]["picks"]) == 500
    assert generate_store(**SMALL).extras == small.extras  # deterministic too

    # a second planting after it moves neither the base nor the first planting's part
    monkeypatch.setitem(generator.PLANTINGS, "second", _plant_second)
    both = generate_store(**SMALL)
    assert_pinned(store_digests(both), PINNED_SMALL)
    assert both.extras["dummy"] == small.extras["dummy"] and len(both.extras["second"]) == 500


def test_a_planting_cannot_draw_from_the_base_stream(monkeypatch):
    monkeypatch.setitem(generator.PLANTINGS, "greedy", lambda store, streams: streams.base.random())
    with pytest.raises(RuntimeError, match="base random stream is closed"):
        generate_store(**SMALL)


def test_a_planting_cannot_take_a_base_planting_stream(monkeypatch):
    monkeypatch.setitem(generator.PLANTINGS, "judged", lambda store, streams: streams.rng("judged"))
    with pytest.raises(ValueError, match="already taken"):
        generate_store(**SMALL)
