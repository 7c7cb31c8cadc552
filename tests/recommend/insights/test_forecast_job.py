"""The ``forecast_demand`` job on a small shop: a steady seller with little stock lands on the
stock-out list, an ample one does not; categories get a backtest; the pages render."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from django.test import Client
from django.urls import reverse

from catalog.models import Event
from platform_core.roles import sync_role_permissions
from recommend.insights.models import DemandForecast, ForecastRun
from tests.factories import UserFactory
from tests.factories.catalog import CategoryFactory, ProductFactory, ShopperFactory
from training import services
from training.models import Job

pytestmark = pytest.mark.django_db

END = datetime(2026, 10, 1, 12, tzinfo=UTC)


@pytest.fixture
def shop():
    rng = np.random.default_rng(2)
    kitchen = CategoryFactory(name="Kitchen")
    short = ProductFactory(category=kitchen, title="Kettle", stock=3)
    ample = ProductFactory(category=kitchen, title="Teapot", stock=500)
    rare = ProductFactory(category=kitchen, title="Whisk", stock=50)
    shopper = ShopperFactory()
    events = []
    for day in range(56):
        at = END - timedelta(days=56 - day)
        weekend = at.weekday() >= 5
        for product, rate in ((short, 2.0 + 2 * weekend), (ample, 3.0), (rare, 0.1)):
            for k in range(rng.poisson(rate)):
                events.append(
                    Event(
                        event_id=f"{product.pk}-{day}-{k}",
                        shopper=shopper,
                        product=product,
                        type="purchase",
                        value=10.0,
                        timestamp=at + timedelta(minutes=k),
                    )
                )
    Event.objects.bulk_create(events)
    return short, ample, rare


def test_forecasts_backtest_and_the_stockout_list(shop):
    short, ample, rare = shop
    job = services.job_run(job_id=services.job_launch(kind="forecast_demand", params={}).pk)
    assert job.status == Job.Status.SUCCEEDED, job.error
    run = ForecastRun.objects.get()
    assert run.horizon_days == 14 and run.metrics["categories"][0]["category"] == "Kitchen"
    assert run.median_mase_category is not None and run.median_mase_naive_category is not None
    rows = {r.product_id: r for r in DemandForecast.objects.filter(kind="product")}
    assert rows[short.pk].runs_out and rows[short.pk].days_of_cover <= 2
    assert not rows[ample.pk].runs_out and rows[ample.pk].method == "ets"
    assert rows[rare.pk].method == "tsb"
    category = DemandForecast.objects.get(kind="category")
    assert category.horizon_total == pytest.approx(
        sum(r.horizon_total for r in rows.values()), rel=0.5
    )
    assert len(category.mean) == len(category.low) == len(category.high) == 14

    sync_role_permissions()
    client = Client()
    client.force_login(UserFactory(username="forecast-analyst", role="analyst"))
    url = reverse("admin:insights_demandforecast_changelist")
    page = client.get(url, {"runs_out__exact": "1"})
    assert page.status_code == 200
    html = page.content.decode()
    assert 'id="forecast-backtest"' in html and "Kettle" in html and "Teapot" not in html
    assert client.get(url, {"kind__exact": "category"}).status_code == 200
