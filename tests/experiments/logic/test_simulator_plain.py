"""The traffic simulator as plain Python, against a fake API: its outcome is a function of its
seed and of what it is served (the fingerprint), and a planted effect raises the planted
variant's click-through rate."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime

import pytest

from catalog.demo import build_index, generate_store
from recommend.experiments.logic.simulator import SimConfig, TrafficSimulator

START = datetime(2026, 11, 2, tzinfo=UTC)


@pytest.fixture(scope="module")
def store():
    demo = generate_store(products=300, shoppers=80, days=5, seed=4)
    return build_index(demo), demo.truth.tastes


class FakeApi:
    """Serves each request a list chosen by a hash of its query (or shopper): deterministic,
    with a variant by shopper; ``twist`` serves one query another list."""

    def __init__(self, index, *, twist: str | None = None) -> None:
        self.ids = [p["external_id"] for p in index.products if p["active"]]
        self.twist = twist
        self.events: list[dict] = []
        self.served: list[tuple[str, str]] = []  # (request id, variant)

    def get(self, path, params, simulated_time):
        key = params.get("q") or f"{path}:{params.get('shopper')}"
        if key == self.twist:
            key += "!"
        seed = int(hashlib.sha256(key.encode()).hexdigest()[:8], 16)
        start = seed % (len(self.ids) - 10)
        variant = (
            "treatment"
            if int(hashlib.sha256(params["shopper"].encode()).hexdigest(), 16) % 2
            else "control"
        )
        request_id = f"r-{simulated_time.timestamp():.3f}-{params['session']}"
        self.served.append((request_id, variant))
        return {
            "results": [{"product": {"id": pid}} for pid in self.ids[start : start + 10]],
            "request_id": request_id,
            "variant": variant,
        }

    def post_events(self, events):
        self.events.extend(events)
        return {"accepted": len(events), "duplicates": 0, "rejected": 0}


def _run(store, api, **overrides):
    index, tastes = store
    config = SimConfig(
        **{
            "shoppers": 60,
            "days": 2,
            "seed": 3,
            "start": START,
            "search_share": 0.7,
            "similar_after_click": 0.2,
            **overrides,
        }
    )
    return TrafficSimulator(config, index, tastes, api).run()


def test_same_seed_and_same_lists_give_the_same_run(store):
    first, second = FakeApi(store[0]), FakeApi(store[0])
    a, b = _run(store, first), _run(store, second)
    assert a.sessions > 50 and a.requests["search"] > 40 and a.accepted > 20
    assert a.fingerprint() == b.fingerprint() and not a.diverging(b)
    assert first.events == second.events  # clicks, carts and purchases, event for event

    other_seed = _run(store, FakeApi(store[0]), seed=4)
    assert other_seed.fingerprint() != a.fingerprint()


def test_a_list_served_differently_shows_up_in_the_fingerprint(store):
    baseline_api = FakeApi(store[0])
    baseline = _run(store, baseline_api)
    query = next(e["query"] for e in baseline_api.events if e.get("query"))
    twisted = _run(store, FakeApi(store[0], twist=query))
    assert twisted.fingerprint() != baseline.fingerprint()
    moved = baseline.diverging(twisted)
    assert moved and len(moved) < baseline.sessions / 4  # only the sessions that searched it


def test_a_planted_effect_raises_the_planted_variants_click_through_rate(store):
    rates = {}
    for plant in (1.0, 1.5):
        api = FakeApi(store[0])
        _run(
            store,
            api,
            days=4,
            search_share=1.0,
            similar_after_click=0.0,
            plant={"treatment": plant},
        )
        clicked = {e["request_id"] for e in api.events if e["type"] == "click"}
        lists = {"control": [0, 0], "treatment": [0, 0]}
        for request_id, variant in api.served:
            lists[variant][0] += request_id in clicked
            lists[variant][1] += 1
        rates[plant] = {k: hits / n for k, (hits, n) in lists.items()}
    # the control arm's shoppers live the very same sessions; the treatment's click far more
    assert rates[1.5]["control"] == rates[1.0]["control"]
    assert rates[1.5]["treatment"] > rates[1.0]["treatment"] * 1.15


class PromoApi(FakeApi):
    """FakeApi plus a promotions slot: shoppers whose hash is even are held out (no promotion);
    the others are shown one product chosen by a hash of the shopper."""

    def __init__(self, index) -> None:
        super().__init__(index)
        self.promoted: list[tuple[str, str]] = []  # (shopper, request id)

    def get(self, path, params, simulated_time):
        if path != "promotions":
            return super().get(path, params, simulated_time)
        digest = int(hashlib.sha256(params["shopper"].encode()).hexdigest(), 16)
        request_id = f"promo-{simulated_time.timestamp():.3f}-{params['session']}"
        self.promoted.append((params["shopper"], request_id))
        if digest % 2 == 0:
            return {"promotion": None, "arm": "control", "request_id": request_id}
        product = {"id": self.ids[digest % len(self.ids)]}
        return {"promotion": {"product": product}, "arm": "treated", "request_id": request_id}


def _session_events(events):
    return [
        {k: v for k, v in e.items() if k != "event_id"}
        for e in events
        if not str(e.get("request_id", "")).startswith("promo-")
    ]


def test_the_promotion_slot_draws_its_own_randomness_and_only_treated_shoppers_react(store):
    baseline = FakeApi(store[0])
    _run(store, baseline, days=3)
    promo = PromoApi(store[0])
    report = _run(store, promo, days=3, promotion_slot="home")
    assert report.requests["promotions"] == report.sessions == len(promo.promoted)
    # the sessions themselves are lived exactly as without the slot
    assert _session_events(promo.events) == _session_events(baseline.events)
    reacted = [e for e in promo.events if str(e.get("request_id", "")).startswith("promo-")]
    assert any(e["type"] == "click" for e in reacted)
    held_out = {
        s for s, _ in promo.promoted if int(hashlib.sha256(s.encode()).hexdigest(), 16) % 2 == 0
    }
    assert held_out and not {e["shopper"] for e in reacted} & held_out
