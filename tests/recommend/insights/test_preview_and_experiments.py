""" "What this shopper sees" is read-only (no search log, exposure, served request or
assignment, even inside a running experiment), and an experiment freezes the segment a shopper
had at first assignment, which filters its results."""

from __future__ import annotations

import pytest
from django.urls import reverse
from django.utils.html import escape

from catalog.models import SearchLog
from recommend import services as recommend_services
from recommend.analytics import services as analytics_services
from recommend.analytics.models import ServedRequest
from recommend.experiments import services as experiment_services
from recommend.experiments.models import Assignment, Exposure
from recommend.experiments.selectors import (
    clear_running_cache,
    experiment_results,
    experiment_segments,
)
from recommend.experiments.services import VariantSpec
from recommend.insights import preview
from recommend.insights.models import Segment, ShopperInsight
from recommend.models import Strategy
from tests.factories import StrategyFactory
from tests.recommend.insights.test_profiles import build_shoppers, run

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_running_cache():
    clear_running_cache()
    yield
    clear_running_cache()


@pytest.fixture
def experiment(serving_store, operator_user):
    """A running search experiment, 50/50 between the default strategy and a copy."""
    base = Strategy.objects.get(surface="search", is_default=True)
    created = experiment_services.experiment_create(
        name="insights-exp",
        surface="search",
        hypothesis="h",
        actor=operator_user,
        salt="salt-insights",
        variants=[
            VariantSpec("control", base, 50, True),
            VariantSpec("treatment", StrategyFactory(name="copy", surface="search"), 50),
        ],
    )
    experiment_services.experiment_start(experiment=created, actor=operator_user)
    clear_running_cache()
    created.refresh_from_db()
    return created


def _flush_all() -> int:
    """Write every buffered row as the beat tasks would; how many rows they took."""
    return (
        recommend_services.searchlogs_flush()
        + analytics_services.served_flush()
        + experiment_services.exposures_flush()
    )


def _rows() -> dict[str, int]:
    return {
        "search logs": SearchLog.objects.count(),
        "served requests": ServedRequest.objects.count(),
        "exposures": Exposure.objects.count(),
        "assignments": Assignment.objects.count(),
    }


def test_searching_as_a_shopper_writes_nothing(serving_store, experiment, storefront):
    build_shoppers(serving_store)
    run(serving_store)
    seen = preview.shopper_preview("cof-0", query="espresso machine")
    assert seen.search and seen.recommendations
    assert all(item["why"] for item in seen.search + seen.recommendations)
    assert seen.search_variant in ("control", "treatment")  # served as the experiment serves them
    assert _flush_all() == 0
    assert _rows() == {"search logs": 0, "served requests": 0, "exposures": 0, "assignments": 0}
    # the same search by the storefront leaves every one of those rows
    assert (
        storefront.get("/api/v1/search", {"q": "espresso machine", "shopper": "cof-0"}).status_code
        == 200
    )
    assert _flush_all() > 0
    assert all(_rows().values()), _rows()


def test_an_assignment_freezes_the_segment_and_results_filter_by_it(
    serving_store, experiment, storefront, client, operator_user
):
    groups = build_shoppers(serving_store)
    run(serving_store)
    for group in groups.values():
        for shopper in group:
            storefront.get("/api/v1/search", {"q": "shoes", "shopper": shopper.external_id})
    _flush_all()
    coffee = ShopperInsight.objects.get(shopper=groups["cof"][0]).segment.name
    running = Segment.objects.get(name__startswith="Running").name
    frozen = Assignment.objects.get(experiment=experiment, unit_id="cof-0")
    assert frozen.segment == coffee
    # the shopper moves to another segment later: the assignment keeps the one they had
    ShopperInsight.objects.filter(shopper=groups["cof"][0]).update(
        segment=Segment.objects.get(name=running)
    )
    storefront.get("/api/v1/search", {"q": "shoes", "shopper": "cof-0"})
    _flush_all()
    frozen.refresh_from_db()
    assert frozen.segment == coffee
    assert len(experiment_segments(experiment)) == 3
    everyone = experiment_results(experiment)
    only_coffee = experiment_results(experiment, segment=coffee)
    assert everyone.units == 18
    assert only_coffee.units == 6
    client.force_login(operator_user)
    url = reverse("admin:experiments_experiment_results", args=[experiment.pk])
    page = client.get(url, {"segment": coffee}).content.decode()
    assert f'<option value="{escape(coffee)}" selected>' in page
    assert f"segment “{escape(coffee)}”" in page  # the title says the results are filtered
