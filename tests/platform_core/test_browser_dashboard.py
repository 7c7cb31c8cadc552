"""The admin home in a real browser (Playwright driving Debian's Chromium): an operator signs in
through the admin's login form on a seeded store and sees the tiles (active models, jobs, the
running experiment with its cached verdict, open alerts, buffers), the traffic figures read from
the rollups, the alert that a planted zero-result spike raised (tile and banner) and the app list
grouped by workflow; the page loads nothing from outside and breaks no Content-Security-Policy
rule. The screenshot goes to test-artifacts/dashboard/ (docs/images/dashboard.png is a copy,
refreshed by hand: a test run never rewrites tracked files)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone

from tests.browser_pages import signed_in_admin_page
from tests.conftest import CHROMIUM

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "dashboard"

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not CHROMIUM.exists(),
        reason="Debian's Chromium is not installed: apt-get install -y chromium",
    ),
]


def _seed():
    from platform_core.roles import sync_role_permissions
    from recommend.experiments.models import Experiment, ExperimentVerdict
    from tests.factories import (
        JobFactory,
        ModelVersionFactory,
        StrategyFactory,
        UserFactory,
        VariantFactory,
    )
    from training.models import Job, Task

    sync_role_permissions()  # a transactional test before this one flushed the role groups
    UserFactory(username="dash-oper", role="operator")
    now = timezone.now()
    ModelVersionFactory(task=Task.RETRIEVER, is_active=True, metrics={"ndcg@10": 0.4321})
    JobFactory(kind="train_cf", status=Job.Status.RUNNING, progress=0.4, started_at=now)
    JobFactory(status=Job.Status.FAILED, finished_at=now - timedelta(hours=2))
    control = VariantFactory(
        key="control", is_control=True, strategy=StrategyFactory(), experiment__name="hybrid-vs-kw"
    )
    VariantFactory(experiment=control.experiment, key="treatment", strategy=StrategyFactory())
    experiment = control.experiment
    experiment.status = Experiment.Status.RUNNING
    experiment.started_at = now - timedelta(days=1)
    experiment.save()
    _seed_traffic(now)
    ExperimentVerdict.objects.create(
        experiment=experiment,
        computed_at=now - timedelta(minutes=2),
        outcome="winner",
        sentence="The treatment raises CTR by 7.2%.",
        recommended_variant="treatment",
        units=1600,
        exposures=3200,
        srm_p_value=0.59,
        srm_mismatch=False,
    )


def _seed_traffic(now):
    """A day of served searches and clicks (rolled up as beat does) and, in the last ten
    minutes, a zero-result spike in the search log that beat's alert evaluation turns into an
    open alert."""
    from platform_core import tasks
    from recommend.analytics import rollups
    from recommend.analytics.models import ServedRequest
    from tests.factories.catalog import (
        EventFactory,
        ProductFactory,
        SearchLogFactory,
        ShopperFactory,
    )

    products = ProductFactory.create_batch(3)
    shopper = ShopperFactory()
    for n in range(40):
        at = now - timedelta(hours=n % 20, minutes=n)
        shown = [p.pk for p in products] if n % 5 else []
        ServedRequest.objects.create(
            request_id=f"dash-{n}",
            endpoint="search",
            surface="search",
            session=f"s{n}",
            query=f"query {n % 7}",
            shown=shown,
            result_count=len(shown),
            latency_ms=18.0 + n % 9,
            timings={"total": 18.0 + n % 9},
            timestamp=at,
        )
        if n % 3 == 0 and shown:
            EventFactory(
                type="click",
                product=products[0],
                shopper=shopper,
                session=f"s{n}",
                request_id=f"dash-{n}",
                timestamp=at + timedelta(seconds=30),
            )
    rollups.refresh(now=now)
    spike = now - timedelta(minutes=5)
    for i in range(80):  # 30 of 80 searches found nothing: above the 10% default
        SearchLogFactory(
            query=f"spike {i}", shopper=None, result_count=0 if i < 30 else 6, timestamp=spike
        )
    tasks.alerts_evaluate()


@pytest.mark.django_db(transaction=True)
def test_operator_signs_in_and_sees_the_dashboard(browser, live_server):
    _seed()
    base = live_server.url
    context, page, outside = signed_in_admin_page(
        browser, base, "dash-oper", viewport={"width": 1360, "height": 1000}
    )

    tiles = page.locator("#dashboard-tiles .aisle-tile h2")
    assert tiles.all_inner_texts() == [
        "Active models",
        "Jobs",
        "Experiments running",
        "Open alerts",
        "Buffers",
    ]
    alerts = page.locator("#tile-alerts").inner_text()
    # the spike, and the failed job of the seed
    assert "open\t2" in alerts and "Zero-result rate" in alerts, alerts
    assert "A training job failed" in alerts
    banner = page.locator(".aisle-alert-banner").inner_text()
    assert "Zero-result rate" in banner, banner
    searches = page.locator("#tile-traffic-searches").inner_text()
    assert "last 24 h\t40" in searches, searches
    assert page.locator("#tile-traffic-ctr svg.aisle-spark").count() == 1
    models = page.locator("#tile-models").inner_text()
    assert "retriever" in models and "ndcg@10 0.432" in models and "none yet" in models
    jobs = page.locator("#tile-jobs").inner_text()
    assert "running\t1" in jobs and "failed in the last 24 h\t1" in jobs, jobs
    experiments = page.locator("#tile-experiments").inner_text()
    assert "hybrid-vs-kw" in experiments and "winner" in experiments and "SRM ok" in experiments

    sections = [s.title() for s in page.locator(".aisle-group caption").all_inner_texts()]
    assert sections == [
        "Catalog",
        "Training",
        "Serving",
        "Experiments",
        "Insights",
        "Academy",
        "Platform",
    ], sections
    assert "Auth Token" not in page.content()

    # the failed-jobs link opens the filtered job list
    page.locator("#tile-jobs").get_by_role("link", name="failed in the last 24 h").click()
    page.wait_for_url("**/admin/training/job/?*")
    assert "1 job" in page.locator("#changelist").inner_text()

    page.goto(f"{base}/admin/")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "dashboard.png"), full_page=True)
    violations = page.evaluate("window.__csp")
    context.close()
    assert outside == [] and violations == [], (outside, violations)
