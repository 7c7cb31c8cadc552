"""The churn pages' work does not grow with the number of shoppers they list: the same number of
queries (the list's paged query joins nothing) and, on the win-back page (up to groups × ``winback_per_group`` shoppers, 800 with 40
top categories), the same number of template nodes rendered for 3 or 30 shoppers per group.
Rendering each row cell by cell in the template language made that page the slowest Insights
page at 1M events (bench/insights_churn_forecast.py); its rows are now one ``format_html_join``."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from unittest import mock

import pytest
from django.db import connection
from django.template.base import Node
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from catalog.models import Shopper
from platform_core.roles import sync_role_permissions
from recommend.insights.models import ChurnRun, ChurnScore
from tests.factories import UserFactory
from tests.factories.catalog import ProductFactory

pytestmark = pytest.mark.django_db

END = datetime(2026, 10, 1, tzinfo=UTC)
GROUPS = ("top category: Shoes", "segment <b>bold</b> & co")


def plant_scores(per_group: int) -> None:
    """A run and ``per_group`` win-back shoppers in each of two groups, each with products."""
    ChurnScore.objects.all().delete()
    run = ChurnRun.objects.create(
        horizon_days=14,
        train_cutoff=END - timedelta(days=28),
        eval_cutoff=END - timedelta(days=14),
        end=END,
        shoppers_scored=2 * per_group,
        metrics={"auc": 0.8, "auc_recency": 0.7, "calibration": []},
    )
    products = [ProductFactory(title=f"Kettle <{i}>") for i in range(3)]
    start = Shopper.objects.count()
    shoppers = Shopper.objects.bulk_create(
        Shopper(external_id=f"winback-{start + i:04d}") for i in range(2 * per_group)
    )
    ChurnScore.objects.bulk_create(
        ChurnScore(
            run=run,
            shopper=shopper,
            risk=0.5 + 0.4 * i / len(shoppers),
            value=12.5,
            recency_days=9.4,
            visits=2,
            reasons=[{"text": "last visit 9 days ago (median 3)"}],
            group=GROUPS[i % 2],
            in_winback=True,
            winback_products=[p.pk for p in products],
        )
        for i, shopper in enumerate(shoppers)
    )


def page_work(client: Client, url: str):
    """The response, the queries it ran (their SQL) and the template nodes it rendered."""
    nodes = 0
    render = Node.render_annotated

    def counted(self, context):
        nonlocal nodes
        nodes += 1
        return render(self, context)

    with (
        mock.patch.object(Node, "render_annotated", counted),
        CaptureQueriesContext(connection) as queries,
    ):
        response = client.get(url)
    assert response.status_code == 200
    return response, [q["sql"] for q in queries.captured_queries], nodes


@pytest.fixture
def analyst() -> Client:
    sync_role_permissions()
    client = Client()
    client.force_login(UserFactory(username="churn-pages-analyst", role="analyst"))
    return client


def test_the_winback_page_renders_a_fixed_amount_of_template_work_per_group(analyst):
    url = reverse("admin:insights_churnscore_winback")
    plant_scores(3)
    analyst.get(url)  # warm the per-process caches (site context, permissions)
    _, small_queries, small_nodes = page_work(analyst, url)
    plant_scores(30)
    response, big_queries, big_nodes = page_work(analyst, url)
    assert len(big_queries) == len(small_queries)
    assert big_nodes == small_nodes

    html = response.content.decode()
    for score in ChurnScore.objects.select_related("shopper"):
        link = reverse("admin:catalog_shopper_change", args=[score.shopper_id])
        assert f'<a href="{link}">{score.shopper.external_id}</a>' in html
    assert "segment &lt;b&gt;bold&lt;/b&gt; &amp; co <span" in html  # escaped, as before
    assert "<td>89%</td><td>12.50</td><td>9.4</td>" in html.replace("\n", "").replace(" ", "")
    assert "Kettle &lt;0&gt; (" in html and "<b>" not in html.split('id="content-main"')[1]
    assert html.count('class="aisle-full-width aisle-compare winback-group"') == 2


def test_the_churn_list_pages_without_joining_the_rows_before_the_page(analyst):
    url = reverse("admin:insights_churnscore_changelist")
    plant_scores(3)
    analyst.get(url)
    _, small_queries, _ = page_work(analyst, url)
    plant_scores(60)
    response, big_queries, _ = page_work(analyst, url)
    assert len(big_queries) == len(small_queries)
    html = response.content.decode()
    assert html.count('/change/">winback-') == 100  # a full page of shopper links

    # page 2 is an OFFSET: the paged query reads the score table alone (a join there walks every
    # shopper before the page: 23k of them on the last page at 1M events); the page's shoppers
    # come in one more query by primary key
    response, queries, _ = page_work(analyst, f"{url}?p=2")
    paged = [q for q in queries if "OFFSET" in q and '"insights_churnscore"' in q]
    assert len(paged) == 1 and "JOIN" not in paged[0]
    assert response.content.decode().count('/change/">winback-') == 20
    assert any("catalog_shopper" in q and " IN (" in q for q in queries), [
        q[:300] for q in queries if "catalog_shopper" in q
    ]
