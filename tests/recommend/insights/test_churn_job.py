"""The ``churn_risk`` job on a small planted shop: it scores every shopper from the events,
stores the run's windows and evaluation, the reasons and the win-back groups; the admin list and
the win-back page render what it stored, the CSV downloads, and forget removes the shopper."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from django.test import Client
from django.urls import reverse

from catalog.models import Event, Shopper
from catalog.services.privacy import shopper_forget
from platform_core.roles import sync_role_permissions
from recommend import services as recommend_services
from recommend.insights.models import ChurnRun, ChurnScore
from tests.factories import UserFactory
from tests.factories.catalog import CategoryFactory, ProductFactory, ShopperFactory
from training import services
from training.models import Job

pytestmark = pytest.mark.django_db

END = datetime(2026, 10, 1, tzinfo=UTC)


@pytest.fixture
def shop():
    """90 shoppers over 60 days: 60 steady at varied rates, 30 whose visits stop 20–35 days
    before the end; two categories, so two win-back groups."""
    rng = np.random.default_rng(1)
    shoes, bags = CategoryFactory(name="Shoes"), CategoryFactory(name="Bags")
    products = [ProductFactory(category=shoes if i % 2 else bags, price=20) for i in range(6)]
    events = []
    for s in range(90):
        shopper = ShopperFactory(external_id=f"churn-test-{s:03d}")
        rate = float(np.exp(rng.normal(np.log(0.25), 0.7)))
        stop = 60 - rng.uniform(20, 35) if s >= 60 else 99
        favourite = products[s % 2 :: 2]
        for day in range(60):
            if day > stop:
                break
            for v in range(rng.poisson(rate)):
                at = END - timedelta(days=60 - day) + timedelta(hours=float(rng.uniform(0, 23)))
                product = favourite[int(rng.integers(len(favourite)))]
                session = f"{s}-{day}-{v}"
                events.append(
                    Event(
                        event_id=f"{session}-v",
                        shopper=shopper,
                        product=product,
                        type="view",
                        session=session,
                        timestamp=at,
                    )
                )
                if rng.random() < 0.3:
                    events.append(
                        Event(
                            event_id=f"{session}-p",
                            shopper=shopper,
                            product=product,
                            type="purchase",
                            value=20.0,
                            session=session,
                            timestamp=at + timedelta(minutes=2),
                        )
                    )
    Event.objects.bulk_create(events)
    return products


def run_job(**params) -> Job:
    params.setdefault("winback_products", 0)  # no recommendation models in this shop
    job = services.job_launch(kind="churn_risk", params=params)
    return services.job_run(job_id=job.pk)


def client_for(role: str) -> Client:
    sync_role_permissions()
    client = Client()
    client.force_login(UserFactory(username=f"churn-{role}", role=role))
    return client


def test_the_job_scores_every_shopper_with_windows_reasons_and_groups(shop):
    job = run_job(horizon_days=7, winback_min_risk=0.3, winback_per_group=5)
    assert job.status == Job.Status.SUCCEEDED, job.error
    run = ChurnRun.objects.get()
    assert run.job_id == job.pk and run.horizon_days == 7
    assert run.eval_cutoff - run.train_cutoff == timedelta(days=7)
    assert run.end - run.eval_cutoff == timedelta(days=7)
    assert run.auc is not None and run.auc_recency is not None
    assert job.metrics["auc"] == run.auc and run.metrics["calibration"]
    scores = ChurnScore.objects.select_related("shopper")
    assert (
        scores.count()
        == run.shoppers_scored
        == Shopper.objects.filter(events__isnull=False).distinct().count()
    )
    gone = [s for s in scores if int(s.shopper.external_id[-3:]) >= 60]
    steady = [s for s in scores if int(s.shopper.external_id[-3:]) < 60 and s.recency_days < 3]
    assert np.mean([s.risk for s in gone]) > np.mean([s.risk for s in steady]) + 0.3
    assert {s.group for s in scores} == {"top category: Shoes", "top category: Bags"}
    riskiest = scores.first()
    assert riskiest.reasons and riskiest.reasons[0]["text"] and riskiest.value >= 0

    again = run_job(horizon_days=7)
    assert again.status == Job.Status.SUCCEEDED
    assert ChurnScore.objects.values("run").distinct().count() == 1  # the latest run's only


def test_the_pages_state_the_windows_and_the_csv_downloads(shop, serving_state):
    recommend_services.strategy_ensure_defaults()
    recommend_services.aggregates_refresh()  # trending: what the default strategy can serve here
    job = run_job(horizon_days=7, winback_min_risk=0.3, winback_products=3)
    assert job.status == Job.Status.SUCCEEDED
    picked = ChurnScore.objects.filter(in_winback=True)
    assert picked.exists() and all(1 <= len(s.winback_products) <= 3 for s in picked)
    run = ChurnRun.objects.get()
    client = client_for("analyst")
    page = client.get(reverse("admin:insights_churnscore_changelist"))
    assert page.status_code == 200
    html = page.content.decode()
    assert 'id="churn-windows"' in html and f"{run.train_cutoff:%Y-%m-%d %H:%M}" in html
    assert f"{run.auc:.3f}" in html and f"{run.auc_recency:.3f}" in html
    riskiest = ChurnScore.objects.select_related("shopper").first()
    assert riskiest.shopper.external_id in html

    winback = client.get(reverse("admin:insights_churnscore_winback"))
    assert winback.status_code == 200 and "top category: Shoes" in winback.content.decode()
    download = client.get(reverse("admin:insights_churnscore_winback_csv"))
    assert download.status_code == 200
    assert download["Content-Disposition"] == 'attachment; filename="winback.csv"'
    rows = list(csv.DictReader(io.StringIO(download.content.decode())))
    assert rows and {r["group"] for r in rows} <= {"top category: Shoes", "top category: Bags"}
    assert all(float(r["risk"]) >= 0.3 for r in rows)
    assert all(r["products"].split() for r in rows)  # external ids of the products to show

    assert (
        client_for("learner").get(reverse("admin:insights_churnscore_winback_csv")).status_code
        == 403
    )


def test_forget_removes_the_shopper_from_the_churn_tables(shop):
    assert run_job(horizon_days=7).status == Job.Status.SUCCEEDED
    for mode in ("delete", "anonymise"):
        score = ChurnScore.objects.select_related("shopper").order_by("id").first()
        external = score.shopper.external_id
        counts = shopper_forget(external_id=external, mode=mode)
        assert counts["churn_scores"] == 1
        assert not ChurnScore.objects.filter(shopper__external_id=external).exists()
