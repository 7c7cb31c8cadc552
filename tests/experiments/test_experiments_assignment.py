"""Assignment (sticky, per shopper or anonymous session, holdout), the serving hook, exposures
logged in batches through Redis, concurrency-safe assignment rows, privacy hooks."""

from __future__ import annotations

import threading
from collections import Counter
from datetime import UTC, datetime

import pytest
from django.db import connection

from catalog.models import Shopper
from catalog.services.privacy import shopper_export, shopper_forget
from recommend import selectors
from recommend.experiments import services
from recommend.experiments.models import Assignment, Exposure
from recommend.experiments.selectors import clear_running_cache
from recommend.experiments.services import VariantSpec
from recommend.models import Strategy
from tests.factories import ShopperFactory, StrategyFactory


@pytest.fixture(autouse=True)
def _fresh_running_cache():
    """Running experiments are cached per config generation; a rolled-back test must not
    leave its experiment in this process's cache for the next test."""
    clear_running_cache()
    yield
    clear_running_cache()


def _running(actor, *, holdout=0.0, shares=(50, 50), surface="search", name="exp"):
    from recommend.services import strategy_ensure_defaults

    strategy_ensure_defaults()  # a transactional test before this one flushed the migration\'s defaults
    base = Strategy.objects.get(surface=surface, is_default=True)
    other = StrategyFactory(name=f"{name}-variant", surface=surface, lexical_weight=2.0)
    experiment = services.experiment_create(
        name=name,
        surface=surface,
        hypothesis="h",
        holdout_percent=holdout,
        actor=actor,
        variants=[
            VariantSpec("control", base, shares[0], True),
            VariantSpec("treatment", other, shares[1]),
        ],
    )
    services.experiment_start(experiment=experiment, actor=actor)
    return experiment, base, other


@pytest.mark.django_db
def test_resolve_strategy_serves_the_sticky_variant_and_default_outside(
    operator_user, serving_state
):
    experiment, base, other = _running(operator_user, holdout=20, shares=(40, 40))
    served = Counter()
    for i in range(400):
        shopper = selectors.ShopperRef(id=i + 1, external_id=f"s{i}", profile_version=0)
        strategy, key = selectors.resolve_strategy("search", shopper, "")
        again = selectors.resolve_strategy("search", shopper, "another-session")
        assert (strategy.id, key) == (again[0].id, again[1])  # sticky across sessions and calls
        assert strategy.id == {"control": base.pk, "treatment": other.pk, None: base.pk}[key]
        served[key] += 1
    assert (
        50 < served[None] < 110
        and 120 < served["control"] < 200
        and 120 < served["treatment"] < 200
    )
    # anonymous traffic is assigned by session; no unit at all gets the default
    anon = selectors.resolve_strategy("search", None, "sess-1")
    assert anon == selectors.resolve_strategy("search", None, "sess-1")
    assert selectors.resolve_strategy("search", None, "") == (
        selectors.default_strategy("search"),
        None,
    )
    # other surfaces are untouched, and a stopped experiment serves nobody
    assert selectors.resolve_strategy("recommendations", None, "sess-1")[1] is None
    services.experiment_stop(experiment=experiment, actor=operator_user)
    assert all(selectors.resolve_strategy("search", None, f"x{i}")[1] is None for i in range(20))


@pytest.mark.django_db
def test_search_api_returns_variant_and_request_id_and_logs_exposures_in_batches(
    operator_user, serving_store, storefront
):
    experiment, _, _ = _running(operator_user)
    shopper = ShopperFactory(external_id="alice")
    moment = "2026-03-01T12:00:00+00:00"
    response = storefront.get(
        "/api/v1/search",
        {"q": "headphones", "shopper": "alice"},
        headers={"X-Aisle-Simulated-Time": moment},
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["variant"] in ("control", "treatment") and len(body["request_id"]) >= 16
    anon = storefront.get("/api/v1/search", {"q": "kettle", "session": "anon-1"}).json()
    no_unit = storefront.get("/api/v1/search", {"q": "kettle"}).json()
    assert anon["variant"] in ("control", "treatment") and no_unit["variant"] is None
    trending = storefront.get("/api/v1/trending").json()
    assert trending["variant"] is None  # not an experiment surface

    # nothing is written in the request: the rows wait in Redis for the flush
    assert not Exposure.objects.exists() and services.exposures_pending() == 2
    assert services.exposures_flush() == 2 and services.exposures_flush() == 0
    exposure = Exposure.objects.get(request_id=body["request_id"])
    assert (exposure.experiment_id, exposure.variant.key, exposure.shopper, exposure.unit_id) == (
        experiment.pk,
        body["variant"],
        shopper,
        "alice",
    )
    assert exposure.timestamp == datetime(2026, 3, 1, 12, tzinfo=UTC)  # the simulated clock
    assert exposure.result_count == body["total"] and exposure.latency_ms > 0
    assert Exposure.objects.get(request_id=anon["request_id"]).unit_type == "session"
    assignment = Assignment.objects.get(experiment=experiment, unit_type="shopper", unit_id="alice")
    assert assignment.variant.key == body["variant"]
    # the same shopper again: same variant, one assignment row, a second exposure
    again = storefront.get("/api/v1/search", {"q": "laptop", "shopper": "alice"}).json()
    services.exposures_flush()
    assert again["variant"] == body["variant"]
    assert Assignment.objects.filter(unit_id="alice").count() == 1
    assert Exposure.objects.filter(unit_id="alice").count() == 2


@pytest.mark.django_db
def test_a_shopper_unknown_to_the_database_is_assigned_by_their_id_and_keeps_the_variant(
    operator_user, serving_store, storefront
):
    """The storefront's first request for a new shopper comes before their first event: they
    are assigned by their external id (not by session), keep that variant in a new session
    once their events make them known, and their exposures are linked, exported and forgotten."""
    experiment, _, _ = _running(operator_user)
    product = next(iter(serving_store.products))
    first = storefront.get(
        "/api/v1/search", {"q": "headphones", "shopper": "newcomer", "session": "s-1"}
    ).json()
    assert first["variant"] in ("control", "treatment")
    services.exposures_flush()
    exposure = Exposure.objects.get(request_id=first["request_id"])
    assert (exposure.unit_type, exposure.unit_id, exposure.shopper_id) == (
        "shopper",
        "newcomer",
        None,
    )
    # a session of its own would hash elsewhere for some of these; the id must win every time
    variants = set()
    for n in range(12):
        body = storefront.get(
            "/api/v1/search", {"q": "kettle", "shopper": "newcomer", "session": f"other-{n}"}
        ).json()
        variants.add(body["variant"])
    assert variants == {first["variant"]}

    posted = storefront.post(
        "/api/v1/events",
        {
            "events": [
                {
                    "event_id": "nc-1",
                    "shopper": "newcomer",
                    "type": "click",
                    "product": product,
                    "request_id": first["request_id"],
                    "session": "s-1",
                    "timestamp": datetime.now(UTC).isoformat(),
                }
            ]
        },
        format="json",
    )
    assert posted.status_code == 202, posted.content
    known = storefront.get(
        "/api/v1/search", {"q": "laptop", "shopper": "newcomer", "session": "s-2"}
    ).json()
    assert known["variant"] == first["variant"]
    services.exposures_flush()
    # exposures still queued when the shopper became known are linked to them at the flush
    shopper = Shopper.objects.get(external_id="newcomer")
    linked = Exposure.objects.filter(unit_id="newcomer", shopper=shopper)
    assert (
        linked.count() == 13
        and Exposure.objects.get(request_id=first["request_id"]).shopper_id is None
    )
    assert Assignment.objects.filter(experiment=experiment, unit_id="newcomer").count() == 1

    exported = shopper_export(external_id="newcomer")["experiments"]
    assert len(exported["assignments"]) == 1 and len(exported["exposures"]) == 14
    shopper_forget(external_id="newcomer", mode="delete")
    assert not Exposure.objects.filter(unit_id="newcomer").exists()
    assert not Assignment.objects.filter(unit_id="newcomer").exists()


@pytest.mark.django_db
def test_flush_is_idempotent_and_drops_rows_of_forgotten_shoppers(operator_user, serving_state):
    experiment, _, _ = _running(operator_user)
    kept, gone = ShopperFactory(external_id="kept"), ShopperFactory(external_id="gone")
    for n, shopper in enumerate((kept, gone, kept)):
        ref = selectors.ShopperRef(
            id=shopper.pk, external_id=shopper.external_id, profile_version=0
        )
        hit = selectors.resolve_strategy("search", ref, "")
        assert services.exposure_push(
            surface="search",
            variant_key=hit[1],
            request_id=f"r{n}",
            shopper=ref,
            session="",
            latency_ms=3.0,
            result_count=5,
        )
    gone.delete()
    assert services.exposures_flush() == 3
    assert sorted(Exposure.objects.values_list("request_id", flat=True)) == ["r0", "r2"]
    # a batch re-queued after a failure is written once
    ref = selectors.ShopperRef(id=kept.pk, external_id="kept", profile_version=0)
    key = selectors.resolve_strategy("search", ref, "")[1]
    for _ in range(2):
        services.exposure_push(
            surface="search", variant_key=key, request_id="r0", shopper=ref, session=""
        )
    services.exposures_flush()
    assert Exposure.objects.filter(request_id="r0").count() == 1
    # an unknown variant (the experiment stopped in between) is not queued
    assert not services.exposure_push(
        surface="search", variant_key="nope", request_id="r9", shopper=ref, session=""
    )


@pytest.mark.django_db(transaction=True)
def test_concurrent_first_requests_record_one_assignment(operator_user, serving_state):
    experiment, _, _ = _running(operator_user)
    shopper = ShopperFactory(external_id="racer")
    variant = experiment.variants.get(key="treatment")
    barrier = threading.Barrier(8)
    results, errors = [], []

    def worker():
        try:
            barrier.wait()
            results.append(
                services.assignment_record(
                    experiment=experiment,
                    variant=variant,
                    unit_type="shopper",
                    unit_id="racer",
                    shopper_id=shopper.pk,
                ).pk
            )
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors and len(set(results)) == 1
    assert Assignment.objects.filter(experiment=experiment, unit_id="racer").count() == 1


@pytest.mark.django_db
def test_shopper_export_and_forget_cover_assignments_and_exposures(operator_user, serving_state):
    experiment, _, _ = _running(operator_user)
    shopper = ShopperFactory(external_id="bob")
    ref = selectors.ShopperRef(id=shopper.pk, external_id="bob", profile_version=0)
    key = selectors.resolve_strategy("search", ref, "s1")[1]
    services.exposure_push(
        surface="search", variant_key=key, request_id="rb", shopper=ref, session="s1"
    )
    services.exposures_flush()

    exported = shopper_export(external_id="bob")
    assert exported["experiments"]["assignments"][0]["experiment"] == experiment.name
    assert exported["experiments"]["exposures"][0]["request_id"] == "rb"

    counts = shopper_forget(external_id="bob", mode="anonymise")
    assert counts["experiment_exposures"] == 1 and counts["experiment_assignments"] == 1
    exposure = Exposure.objects.get(request_id="rb")
    assert (
        exposure.unit_id.startswith("anon-") and exposure.session == ""
    )  # counts stay, identity goes
    counts = shopper_forget(external_id=exposure.unit_id, mode="delete")
    assert (
        counts["experiment_exposures"] == 1
        and not Exposure.objects.exists()
        and not Assignment.objects.exists()
    )
