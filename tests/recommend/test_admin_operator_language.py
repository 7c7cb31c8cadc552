"""Issue 13 §4: strategies say the truth about their models and name their fields in words;
boost / pin rules pick categories, brands and products with autocomplete, surfaces from a list."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from recommend.models import BoostRule, Strategy
from tests.factories.catalog import BrandFactory, CategoryFactory, ProductFactory
from tests.factories.recommend import StrategyFactory
from tests.factories.training import ModelVersionFactory
from training.models import Task

pytestmark = pytest.mark.django_db


@pytest.fixture
def operator_client(client, operator_user):
    client.force_login(operator_user)
    return client


def _row(html: str, name: str) -> str:
    return re.search(rf"<tr[^>]*>(?:(?!</tr>).)*?>{name}</a>.*?</tr>", html, re.S).group(0)


def test_the_models_column_says_active_only_when_a_model_is_active(operator_client):
    retriever = ModelVersionFactory(task=Task.RETRIEVER, is_active=True)
    cf = ModelVersionFactory(task=Task.CF)
    StrategyFactory(name="plain")
    StrategyFactory(name="pinned cf, no ranker", cf_version=cf, use_ranker=False)
    url = reverse("admin:recommend_strategy_changelist")
    html = operator_client.get(url).content.decode()
    plain = _row(html, "plain")
    assert f"retriever: active #{retriever.pk}" in plain
    assert "intent: none yet — train one" in plain and "intent: active" not in plain
    assert "cf: none yet — train one" in plain
    other = _row(html, "pinned cf, no ranker")
    assert f"cf: #{cf.pk}" in other and "ranker: off" in other

    intent = ModelVersionFactory(task=Task.INTENT, is_active=True)
    assert f"intent: active #{intent.pk}" in _row(
        operator_client.get(url).content.decode(), "plain"
    )


def test_strategy_fields_are_written_out_and_an_empty_slot_says_there_is_nothing_to_follow(
    operator_client,
):
    strategy = StrategyFactory(name="labelled")
    html = operator_client.get(
        reverse("admin:recommend_strategy_change", args=[strategy.pk])
    ).content.decode()
    assert re.search(r">Reciprocal rank fusion k:?</label>", html)
    assert re.search(r">CF weight:?</label>", html)
    assert re.search(r">Semantic \(embedding\) weight:?</label>", html)
    assert ">Rrf k" not in html and ">Cf weight" not in html
    assert "Empty: follow the active intent model — none yet — train one." in html
    # labels live in the admin form: the model (and its migrations) keep their field names
    assert Strategy._meta.get_field("rrf_k").verbose_name == "rrf k"


def test_boost_rules_pick_targets_with_autocomplete_and_surfaces_from_a_list(
    operator_client,
):
    brand = BrandFactory(name="Acme Audio")
    BrandFactory(name="Other")
    CategoryFactory(name="Headphones")
    add = reverse("admin:recommend_boostrule_add")
    html = operator_client.get(add).content.decode()
    for field in ("category", "brand"):
        select = re.search(rf'<select name="{field}"[^>]*>', html).group(0)
        assert "admin-autocomplete" in select
    assert html.count('name="surfaces"') == 3 and 'type="checkbox"' in html
    found = operator_client.get(
        reverse("admin:autocomplete"),
        {
            "app_label": "recommend",
            "model_name": "boostrule",
            "field_name": "brand",
            "term": "acme",
        },
    ).json()
    assert [r["text"] for r in found["results"]] == ["Acme Audio"]

    resp = operator_client.post(
        add,
        {
            "name": "push acme",
            "field": "brand",
            "brand": brand.pk,
            "factor": "2",
            "query": "",
            "surfaces": ["similar", "search"],
            "active": "on",
        },
    )
    assert resp.status_code == 302, resp.content.decode()[:2000]
    rule = BoostRule.objects.get()
    assert rule.surfaces == "search,similar"
    html = operator_client.get(
        reverse("admin:recommend_boostrule_change", args=[rule.pk])
    ).content.decode()
    assert re.search(r'value="search"[^>]*checked', html) and not re.search(
        r'value="recommendations"[^>]*checked', html
    )
    none = operator_client.post(
        add, {"name": "x", "field": "brand", "brand": brand.pk, "factor": "2"}
    )
    assert none.status_code == 200 and BoostRule.objects.count() == 1


def test_pinned_results_pick_the_product_with_autocomplete(operator_client):
    ProductFactory(title="Studio headphones")
    ProductFactory(title="Garden hose")
    html = operator_client.get(reverse("admin:recommend_pinnedresult_add")).content.decode()
    assert "admin-autocomplete" in re.search(r'<select name="product"[^>]*>', html).group(0)
    found = operator_client.get(
        reverse("admin:autocomplete"),
        {
            "app_label": "recommend",
            "model_name": "pinnedresult",
            "field_name": "product",
            "term": "studio",
        },
    ).json()
    texts = [r["text"] for r in found["results"]]
    assert len(texts) == 1 and "Studio headphones" in texts[0]
