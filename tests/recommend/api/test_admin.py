"""Admin of strategies and merchandising rules: pages, the audited "make default" action,
versioned saves, and an analyst's read-only view."""

from __future__ import annotations

import pytest
from django.urls import reverse

from platform_core.models import AuditLog
from recommend.models import BoostRule, PinnedResult, Strategy, SynonymSet
from tests.factories.catalog import ProductFactory
from tests.factories.recommend import (
    BoostRuleFactory,
    PinnedResultFactory,
    StrategyFactory,
    SynonymSetFactory,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def rows(db):
    from recommend import services

    services.strategy_ensure_defaults()  # a transactional test before this one flushed them
    SynonymSetFactory(terms="tv, television")
    PinnedResultFactory(query="Headphones", product=ProductFactory(external_id="pin-me"))
    BoostRuleFactory(name="push brand")
    return StrategyFactory(name="candidate", surface="search")


@pytest.mark.parametrize("model", [Strategy, SynonymSet, PinnedResult, BoostRule])
def test_changelists_search_and_change_pages_load(
    client, operator_user, rows, model, django_assert_max_num_queries
):
    client.force_login(operator_user)
    url = reverse(f"admin:recommend_{model._meta.model_name}_changelist")
    with django_assert_max_num_queries(15):
        assert client.get(url).status_code == 200
    assert client.get(url, {"q": "a"}).status_code == 200
    obj = model.objects.first()
    assert (
        client.get(
            reverse(f"admin:recommend_{model._meta.model_name}_change", args=[obj.pk])
        ).status_code
        == 200
    )


def test_pins_are_stored_normalised(rows):
    assert PinnedResult.objects.get().query == "headphones"


def test_make_default_action_is_audited_and_keeps_one_default(client, operator_user, rows):
    client.force_login(operator_user)
    old = Strategy.objects.get(surface="search", is_default=True)
    response = client.post(
        reverse("admin:recommend_strategy_changelist"),
        {"action": "make_default", "_selected_action": [rows.pk]},
        follow=True,
    )
    assert response.status_code == 200
    assert list(Strategy.objects.filter(surface="search", is_default=True)) == [rows]
    entry = AuditLog.objects.get(action="strategy.make_default")
    assert entry.object_id == str(rows.pk) and entry.actor == operator_user
    assert entry.details["previous_default"] == [old.name]


def test_two_defaults_per_surface_are_impossible(rows):
    from django.db import IntegrityError, transaction

    with pytest.raises(IntegrityError), transaction.atomic():
        Strategy.objects.filter(pk=rows.pk).update(is_default=True)


def test_saving_a_strategy_in_the_admin_bumps_its_version_and_audits(client, operator_user, rows):
    client.force_login(operator_user)
    url = reverse("admin:recommend_strategy_change", args=[rows.pk])
    form = client.get(url).context["adminform"].form
    data = {name: value for name, value in form.initial.items() if value is not None}
    data.update(
        {"name": "candidate", "surface": "search", "lexical_weight": 2.0, "boost_rules": []}
    )
    # the intent behaviours inline (none on this strategy)
    data.update({"intent_behaviours-TOTAL_FORMS": 0, "intent_behaviours-INITIAL_FORMS": 0})
    for key, value in list(data.items()):
        if isinstance(value, bool) and not value:
            del data[key]
    response = client.post(url, data)
    assert response.status_code == 302, (
        response.context["adminform"].form.errors if response.context else ""
    )
    rows.refresh_from_db()
    assert rows.version == 2 and rows.lexical_weight == 2.0
    assert AuditLog.objects.filter(action="strategy.update", object_id=str(rows.pk)).exists()
    # A fusion weight edited by hand is the operator's: tuning jobs keep it from now on.
    assert rows.weights_set_by == "operator" and rows.weights_operator_at is not None


def test_strategy_page_shows_where_the_weights_come_from(client, operator_user, rows):
    Strategy.objects.filter(pk=rows.pk).update(
        weights_set_by="job",
        weights_tuning={
            "metric": "ndcg@10",
            "source": "judged queries of demo/relevance.csv",
            "valid": {"learned": 0.81, "before": 0.77, "defaults": 0.77},
            "test": {"learned": 0.8, "before": 0.78, "defaults": 0.78},
            "weights": {"lexical": 1.0, "semantic": 0.25, "rrf_k": 10},
        },
    )
    client.force_login(operator_user)
    page = client.get(reverse("admin:recommend_strategy_change", args=[rows.pk])).content.decode()
    assert "Where the fusion weights come from" in page
    assert "judged queries of demo/relevance.csv" in page and "semantic 0.25" in page
    assert "<td>valid</td><td>0.81</td><td>0.77</td>" in page
    listing = client.get(reverse("admin:recommend_strategy_changelist")).content.decode()
    assert "learned by a tuning job" in listing


def test_analyst_can_view_but_not_change(client, analyst_user, rows):
    client.force_login(analyst_user)
    assert client.get(reverse("admin:recommend_strategy_changelist")).status_code == 200
    response = client.post(
        reverse("admin:recommend_strategy_changelist"),
        {"action": "make_default", "_selected_action": [rows.pk]},
    )
    assert not Strategy.objects.get(pk=rows.pk).is_default
    assert response.status_code in (200, 302, 403)
