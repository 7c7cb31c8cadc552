"""``run_job train_ranker``: lists from the search log and events, a time split, the ranker
against fusion, and serving with the ranker (its first sane version activates itself)."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.urls import reverse

from catalog.models import Event, SearchLog
from tests.factories.catalog import ShopperFactory
from training import services as training_services
from training.jobs import get_job_kind, validate_params
from training.models import Job, ModelVersion
from training.ranking_data import fusion_baseline, list_metrics

pytestmark = pytest.mark.django_db

QUERIES = {
    "headphones": ["hp-1", "hp-2", "hp-4", "lt-3", "sh-3", "kt-2"],
    "laptop": ["lt-1", "lt-2", "lt-3", "hp-2", "tv-2", "kt-4"],
    "coffee": ["kt-1", "kt-3", "kt-4", "kt-2", "sh-3", "hp-4"],
    "running shoes": ["sh-1", "sh-2", "sh-3", "hp-3", "kt-2", "lt-3"],
}


def test_fusion_baseline_and_list_metrics_by_hand():
    # lexical ranks: 1 -> a, 2 -> b; semantic ranks: 1 -> b, 2 -> c; k = 60
    scores = fusion_baseline(["a", "b", "c"], {"a": 2.0, "b": 1.0}, {"b": 0.9, "c": 0.5, "a": 0.0})
    assert scores == pytest.approx([1 / 61, 1 / 62 + 1 / 61, 1 / 62])
    # two lists: the first ranks its clicked item first, the second last
    metrics = list_metrics(
        [([3.0, 2.0, 1.0], [1, 0, 0], [1, 0, 0]), ([3.0, 2.0, 1.0], [0, 0, 1], [0, 0, 2])], k=10
    )
    # AUC over the 6 items: positives scored 3 and 1, negatives 2, 1, 3, 2 -> (2 + 0.5 + 0 ... ) / 8
    pairs = [(3, 2), (3, 1), (3, 3), (3, 2), (1, 2), (1, 1), (1, 3), (1, 2)]
    expected_auc = sum(1.0 if p > n else 0.5 if p == n else 0.0 for p, n in pairs) / len(pairs)
    assert metrics["auc"] == pytest.approx(expected_auc, abs=1e-4)
    import math

    second = (2**2 - 1) / math.log2(4) / (2**2 - 1)  # the gain-2 item at rank 3
    assert metrics["ndcg@10"] == pytest.approx((1.0 + second) / 2, abs=1e-4)


def test_job_kind_is_registered_with_its_parameters():
    kind = get_job_kind("train_ranker")
    assert kind.queue == "cpu" and kind.runner == "training.runners.ranker.run"
    params = validate_params(kind, {"alpha": "0.5", "epochs": "5"})
    assert params["alpha"] == 0.5 and params["beta"] == 1.0 and params["epochs"] == 5
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError):
        validate_params(kind, {"alpha": 0, "beta": 0})


def _served_history(store, n_lists: int = 160, seed: int = 7) -> None:
    """Search-log rows with the shopper's engagement: shoppers click the cheapest product of a
    list almost always and others rarely, wherever they were shown; fusion ignores price."""
    rng = random.Random(seed)
    start = datetime(2026, 9, 1, tzinfo=UTC)
    shoppers = [ShopperFactory(external_id=f"ranker-shopper-{i}") for i in range(12)]
    prices = {ext: float(p.price) for ext, p in store.products.items()}
    for n in range(n_lists):
        query = rng.choice(list(QUERIES))
        shown = QUERIES[query][:]
        rng.shuffle(shown)
        moment = start + timedelta(hours=n * 3)
        request_id = f"req-ranker-{n}"
        shopper = rng.choice(shoppers)
        SearchLog.objects.create(
            query=query,
            normalised_query=query,
            result_count=len(shown),
            latency_ms=5,
            request_id=request_id,
            shopper=shopper,
            shown_products=shown,
            timestamp=moment,
            strategy="default-search",
        )
        cheapest = min(shown, key=prices.get)
        for position, ext in enumerate(shown, start=1):
            if (ext == cheapest and rng.random() < 0.9) or rng.random() < 0.04:
                for kind in ("click",) + (("purchase",) if rng.random() < 0.3 else ()):
                    Event.objects.create(
                        event_id=f"{request_id}-{ext}-{kind}",
                        shopper=shopper,
                        product=store.products[ext],
                        type=kind,
                        request_id=request_id,
                        query=query,
                        position=position,
                        timestamp=moment + timedelta(seconds=30 + position),
                    )


def test_train_ranker_beats_fusion_and_serves_from_its_first_version(
    storefront, serving_store, operator_user, client, django_capture_on_commit_callbacks
):
    _served_history(serving_store)
    job = training_services.job_launch(
        kind="train_ranker",
        user=operator_user,
        params={"epochs": 60, "min_lists": 30, "learning_rate": 0.05},
    )
    with django_capture_on_commit_callbacks(execute=True):
        finished = training_services.job_run(job_id=job.pk)
    assert finished.status == Job.Status.SUCCEEDED, finished.error
    version = finished.result_version
    assert version.task == "ranker" and version.status == ModelVersion.Status.READY
    metrics = finished.metrics
    assert metrics["sane"] and finished.activation == "activated"  # the first sane ranker serves
    assert metrics["sources"] == {"log": 160} or metrics["sources"].get("log", 0) > 100
    assert metrics["test_lists"] > 10
    assert metrics["auc"] > metrics["fusion_auc"] + 0.1
    assert metrics["ndcg@10"] > metrics["fusion_ndcg@10"]
    assert metrics["feature_weights"]["log_price"] < 0  # it learned "cheaper gets clicked"
    assert metrics["position_feature"] in ("on", "off") and set(metrics["validation_ndcg@10"]) == {
        "on",
        "off",
    }
    assert (
        version.dataset_snapshot["split"]["counts"]["train"]
        > version.dataset_snapshot["split"]["counts"]["test"]
    )

    # two heads (the history has purchases), each scored on the test lists beside today's
    # single-head ranker trained on the same lists
    heads = metrics["heads"]
    assert heads["heads"] == 2 and version.hyperparameters["heads_trained"] == 2
    assert set(heads["model"]["by_objective"]) == {"click", "purchase", "blend"}
    assert metrics["click_auc"] == heads["model"]["click_auc"] > 0.8
    assert heads["single_head"]["click_auc"] > 0.8
    interval = heads["purchase_ndcg_vs_single"]
    assert interval["low"] <= interval["mean"] <= interval["high"]
    assert interval["lists"] == heads["model"]["purchase_lists"] > 0
    # the blend weight the validation lists choose (not the test lists), every weight's figure
    blend = heads["blend_on_valid"]
    assert blend["chosen"] in (0.0, 0.25, 0.5, 0.75, 1.0)
    assert set(blend["ndcg@10_purchases"]) == {"0.0", "0.25", "0.5", "0.75", "1.0"}
    assert blend["ndcg@10_purchases"][str(blend["chosen"])] == max(
        blend["ndcg@10_purchases"].values()
    )
    from training.ml.ranker_heads import TwoHeadScorer, load_scorer

    artifact = Path(settings.ARTIFACTS_DIR) / version.artifact_dir
    assert isinstance(load_scorer(artifact), TwoHeadScorer)
    client.force_login(operator_user)
    html = client.get(
        reverse("admin:training_modelversion_change", args=[version.pk])
    ).content.decode()
    assert "NDCG@10 by purchases, ordered by purchase" in html and "one head, same lists" in html
    assert (
        f"Chosen on the validation lists (NDCG@10 by purchases): purchase weight <strong>{blend['chosen']}</strong>"
        in html
    )

    body = storefront.get("/api/v1/search", {"q": "headphones"}).json()
    assert body["results"] and all(r["explanation"]["ranker"] is not None for r in body["results"])
    ranked_prices = [r["product"]["price"] for r in body["results"]]
    assert ranked_prices[0] == min(ranked_prices)


def _session_history(store, n_searches: int = 60) -> None:
    """No search log: history imported as events (search, then clicks carrying the query)."""
    shopper = ShopperFactory(external_id="importer")
    start = datetime(2026, 9, 1, tzinfo=UTC)
    rng = random.Random(3)
    for n in range(n_searches):
        query = rng.choice(list(QUERIES))
        session = f"sess-{n}"
        moment = start + timedelta(hours=n)
        Event.objects.create(
            event_id=f"s-{n}",
            shopper=shopper,
            type="search",
            query=query,
            session=session,
            timestamp=moment,
        )
        clicked = QUERIES[query][rng.randrange(3)]
        Event.objects.create(
            event_id=f"c-{n}",
            shopper=shopper,
            product=store.products[clicked],
            type="click",
            query=query,
            position=2,
            session=session,
            timestamp=moment + timedelta(seconds=20),
        )


def test_train_ranker_rebuilds_lists_from_search_sessions(serving_store, operator_user):
    _session_history(serving_store)
    job = training_services.job_launch(
        kind="train_ranker",
        user=operator_user,
        params={"epochs": 5, "min_lists": 20, "list_size": 5},
    )
    finished = training_services.job_run(job_id=job.pk)
    assert finished.status == Job.Status.SUCCEEDED, finished.error
    assert finished.metrics["sources"] == {"session": 60}
    # clicks only, no purchase: one (click) head, as before the heads
    assert finished.metrics["heads"]["heads"] == 1
    assert "single_head" not in finished.metrics["heads"]


def test_lists_are_built_with_the_queries_encoded_in_batches_and_come_out_as_one_at_a_time(
    serving_store, monkeypatch
):
    """The queries of rebuilt and served lists are encoded in batches (one query at a time cost
    15x more on a busy host), and the lists, features and fusion baselines are those of the
    one-query-at-a-time path."""
    from recommend import selectors
    from recommend.serving import cache, loaders
    from training.ranking_data import FeatureBuilder, build_dataset

    _session_history(serving_store, n_searches=40)
    _served_history(serving_store, n_lists=12)
    singles: list[str] = []
    batches: list[list[str]] = []
    encode_query, encode_queries = loaders.encode_query, loaders.encode_queries

    def one(version, text):
        singles.append(text)
        return encode_query(version, text)

    def many(version, texts, batch_size=64):
        batches.append(list(texts))
        return encode_queries(version, texts, batch_size)

    monkeypatch.setattr(loaders, "encode_query", one)
    monkeypatch.setattr(loaders, "encode_queries", many)
    models = selectors.served_models(selectors.default_strategy("search"))
    params = {"max_lists": 100, "list_size": 5, "days": None}

    def build():
        return build_dataset(params=params, retriever=models.retriever, cf_version=models.cf)

    batched = build()
    assert {shown.source for shown in batched[0]} == {"log", "session"}
    assert not singles and batches and sum(map(len, batches)) == len(set(QUERIES))

    client = cache.redis_client()
    client.delete(*client.keys("aisle:recommend:qvec:*"))  # encode afresh, as the first time
    monkeypatch.setattr(FeatureBuilder, "prepare_many", lambda self, queries: None)
    one_at_a_time = build()
    assert sorted(singles) == sorted(QUERIES)
    assert batched == one_at_a_time  # (lists, rows by list, fusion baseline by list)


def test_session_lists_keep_only_clicks_todays_retrieval_finds(serving_store):
    """Rebuilt lists draw positives and negatives from the same candidates: a clicked product
    that today's retrieval does not find would enter with low lexical and semantic scores and
    teach the ranker that low relevance is clicked (a ranker trained so on the demo store
    scored NDCG@10 0.298 on its judged queries, against 0.820 once these clicks are left out)."""
    from training.ranking_data import session_lists

    shopper = ShopperFactory(external_id="history")
    products = serving_store.products
    start = datetime(2026, 9, 1, tzinfo=UTC)
    found = [products[e].pk for e in ("hp-1", "hp-2", "hp-4", "lt-3")]
    plan = {"s-both": ["hp-2", "kt-1"], "s-missed": ["kt-1"], "s-none": []}
    for n, (session, clicked) in enumerate(plan.items()):
        moment = start + timedelta(hours=n)
        Event.objects.create(
            event_id=f"q-{session}",
            shopper=shopper,
            type="search",
            query="headphones",
            session=session,
            timestamp=moment,
        )
        for k, external_id in enumerate(clicked):
            Event.objects.create(
                event_id=f"c-{session}-{k}",
                shopper=shopper,
                product=products[external_id],
                type="click",
                query="headphones",
                position=3,
                session=session,
                timestamp=moment + timedelta(seconds=10 + k),
            )
    calls = []

    def retrieve(query, k):
        calls.append(query)
        return found[:k]

    lists = session_lists(
        max_lists=10, since=None, list_size=4, skip_sessions=set(), retrieve=retrieve
    )
    assert len(calls) == 2  # the search nobody clicked after is not rebuilt at all
    assert [shown.list_id for shown in lists] == [
        f"search-{Event.objects.get(event_id='q-s-both').pk}"
    ]
    shown = lists[0]
    assert shown.products[2] == products["hp-2"].pk and products["kt-1"].pk not in shown.products
    assert set(shown.products) == set(found) and shown.engagement == {products["hp-2"].pk: 1.0}


def test_train_ranker_fails_clearly_without_history(serving_store, operator_user):
    job = training_services.job_launch(kind="train_ranker", user=operator_user, params={})
    finished = training_services.job_run(job_id=job.pk)
    assert finished.status == Job.Status.FAILED
    assert "result lists with an engagement" in finished.error
    assert not ModelVersion.objects.filter(task="ranker").exists()
