"""The admin site and its home dashboard: Aisle's site class is ``admin.site`` (every registration
on it), the app list is grouped by workflow with no model left out, "View site" goes somewhere
real, the tiles show what each role may see, and the page's query count does not grow with the
number of jobs, versions or experiments."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from unittest import mock

import pytest
from django.apps import apps
from django.contrib import admin
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from platform_core.admin_site import dashboard, groups
from platform_core.admin_site.site import AisleAdminSite
from recommend.experiments.models import Experiment, ExperimentVerdict
from tests.factories import (
    JobFactory,
    ModelVersionFactory,
    StrategyFactory,
    VariantFactory,
)
from training.models import Job, Task

pytestmark = pytest.mark.django_db

WORKFLOW = ["Catalog", "Training", "Serving", "Experiments", "Insights", "Academy", "Platform"]


def _sections(page: str) -> list[str]:
    """The workflow groups in the order the home page lists them."""
    found = [(page.find(f'id="{groups.anchor(g.slug)}"'), g.name) for g in groups.GROUPS]
    return [name for at, name in sorted(found) if at >= 0]


# --- the site class ------------------------------------------------------------------------


def test_admin_site_is_aisles_class_and_keeps_every_registration():
    assert isinstance(admin.site, AisleAdminSite)
    registered = {f"{m._meta.app_label}.{m._meta.model_name}" for m in admin.site._registry}
    # ours, django.contrib.auth's, axes', django-otp's and DRF's token admin all landed on it
    for name in (
        "catalog.product",
        "training.job",
        "experiments.experiment",
        "courses.course",
        "auth.group",
        "axes.accessattempt",
        "otp_totp.totpdevice",
        "authtoken.tokenproxy",
    ):
        assert name in registered, name
    # no instance patching any more: the access rules are the class's (admin.site is a lazy
    # proxy: look at the instance behind it)
    instance = getattr(admin.site, "_wrapped", admin.site)
    assert isinstance(instance, AisleAdminSite)
    assert "has_permission" not in vars(instance) and "login_form" not in vars(instance)


# --- grouping ------------------------------------------------------------------------------


def test_every_installed_model_lands_in_a_workflow_group():
    slugs = {g.slug for g in groups.GROUPS}
    for model in apps.get_models(include_auto_created=True):
        group = groups.group_of(model._meta.app_label, model._meta.model_name)
        assert group.slug in slugs, model
    assert groups.group_of("some_new_app", "thing").name == "Platform"
    assert groups.group_of("authtoken", "tokenproxy").name == "Platform"
    assert groups.group_of("catalog", "searchlog").name == "Insights"
    assert groups.group_of("recommend", "strategy").name == "Serving"


def test_grouped_keeps_every_model_and_orders_groups_by_workflow():
    apps_in = [
        {"app_label": "courses", "models": [{"object_name": "Course", "name": "Courses"}]},
        {"app_label": "zzz_plugin", "models": [{"object_name": "Widget", "name": "Widgets"}]},
        {
            "app_label": "catalog",
            "models": [
                {"object_name": "Shopper", "name": "Shoppers"},
                {"object_name": "Event", "name": "Events"},
                {"object_name": "Product", "name": "Products"},
            ],
        },
        {"app_label": "authtoken", "models": [{"object_name": "TokenProxy", "name": "Tokens"}]},
    ]
    out = groups.grouped(apps_in, index_url="/admin/")
    assert [g["name"] for g in out] == ["Catalog", "Insights", "Academy", "Platform"]
    assert [m["name"] for m in out[0]["models"]] == ["Products", "Shoppers"]  # workflow order
    assert {m["name"] for m in out[-1]["models"]} == {"Tokens", "Widgets"}
    assert out[0]["app_url"] == "/admin/#workflow-catalog"
    assert sum(len(g["models"]) for g in out) == 6


def test_superuser_home_lists_groups_in_workflow_order_without_an_auth_token_group(
    client, admin_user
):
    client.force_login(admin_user)
    response = client.get("/admin/")
    page = response.content.decode()
    assert response.status_code == 200
    assert _sections(page) == WORKFLOW
    assert "Auth Token" not in page  # DRF's token admin sits under Platform
    for model, model_admin in admin.site._registry.items():  # every registered model is linked
        if model_admin.has_module_permission(response.wsgi_request):
            info = (model._meta.app_label, model._meta.model_name)
            assert f"/admin/{info[0]}/{info[1]}/" in page, info
    # the per-app pages keep Django's own list
    app_page = client.get("/admin/catalog/").content.decode()
    assert "/admin/catalog/product/" in app_page and "/admin/training/job/" not in app_page


def test_view_site_and_api_docs_go_somewhere_real(client, operator_user):
    client.force_login(operator_user)
    page = client.get("/admin/").content.decode()
    site_url = str(admin.site.site_url)
    assert site_url != "/" and f'href="{site_url}"' in page and 'href="/api/docs/"' in page
    assert client.get(site_url).status_code == 200
    assert client.get("/api/docs/").status_code == 200
    # and on every other admin page too (the header's links)
    job_list = client.get("/admin/training/job/").content.decode()
    assert f'href="{site_url}"' in job_list and 'href="/api/docs/"' in job_list


# --- tiles ---------------------------------------------------------------------------------


def _running_experiment(surface: str, *, verdict: dict | None = None) -> Experiment:
    control = VariantFactory(
        key="control",
        is_control=True,
        strategy=StrategyFactory(surface=surface),
        experiment__surface=surface,
        experiment__name=f"test on {surface}",
    )
    VariantFactory(experiment=control.experiment, key="treatment", strategy=control.strategy)
    experiment = control.experiment
    experiment.status = Experiment.Status.RUNNING
    experiment.started_at = timezone.now() - timedelta(days=2)
    experiment.save()
    if verdict is not None:
        ExperimentVerdict.objects.create(
            experiment=experiment, computed_at=timezone.now() - timedelta(minutes=3), **verdict
        )
    return experiment


def _store(*, jobs: int, surfaces=("search",), versions: bool = True) -> None:
    now = timezone.now()
    if versions:
        ModelVersionFactory(task=Task.RETRIEVER, is_active=True, metrics={"ndcg@10": 0.4123})
        ModelVersionFactory(task=Task.CF, is_active=True, metrics={"ndcg@20": 0.21})
    for i in range(jobs):
        status = (Job.Status.RUNNING, Job.Status.FAILED, Job.Status.SUCCEEDED)[i % 3]
        JobFactory(
            status=status,
            progress=0.5,
            started_at=now - timedelta(minutes=30),
            finished_at=None if status == Job.Status.RUNNING else now - timedelta(hours=1),
        )
    for surface in surfaces:
        _running_experiment(
            surface,
            verdict={
                "outcome": "guardrail breached",
                "sentence": "Sample ratio mismatch.",
                "units": 1200,
                "exposures": 2400,
                "units_required": 800,
                "srm_p_value": 0.00001,
                "srm_mismatch": True,
            },
        )


def test_operator_sees_models_jobs_experiments_and_buffers(client, operator_user):
    _store(
        jobs=6,
    )
    old_failure = JobFactory(
        status=Job.Status.FAILED, finished_at=timezone.now() - timedelta(days=3)
    )
    client.force_login(operator_user)
    response = client.get("/admin/")
    page = response.content.decode()
    tiles = {t.slug: t for t in response.context["tiles"]}
    assert list(tiles) == ["models", "jobs", "experiments", "alerts", "buffers"]

    models = {r.label: r for r in tiles["models"].rows}
    assert models["retriever"].value == "ndcg@10 0.412" and "trained" in models["retriever"].detail
    assert models["intent"].value == "none yet" and models["intent"].detail == "train one"

    jobs = {r.label: r for r in tiles["jobs"].rows}
    assert jobs["running"].value == "2" and jobs["failed in the last 24 h"].value == "2"
    assert jobs["succeeded in the last 24 h"].value == "2"
    # the failed link opens the job list filtered to those two (the older failure is not in it)
    listed = client.get(jobs["failed in the last 24 h"].url)
    assert listed.status_code == 200 and listed.context["cl"].result_count == 2
    assert old_failure not in listed.context["cl"].result_list
    assert client.get(jobs["running"].url).context["cl"].result_count == 2

    (experiment,) = tiles["experiments"].rows
    assert experiment.value == "guardrail breached" and experiment.level == "bad"
    assert "sample ratio mismatch (p = 1e-05)" in experiment.detail
    assert "1200 units (needs 800 per variant)" in experiment.detail
    assert client.get(experiment.url).status_code == 200  # the results page
    assert client.get(tiles["experiments"].url).status_code == 200

    buffers = {r.label for r in tiles["buffers"].rows}
    assert {"searchlog", "exposure"} <= buffers, buffers
    # the traffic tiles read the rollups: one per figure, even on a store with no traffic yet
    assert len(response.context["traffic_tiles"]) == len(dashboard.TRAFFIC_METRICS)
    assert 'id="dashboard-traffic"' in page and 'id="tile-traffic-searches"' in page
    assert 'id="tile-experiments"' in page and "guardrail breached" in page


def test_an_experiment_without_a_cached_verdict_is_not_computed_in_the_request(
    client, operator_user, monkeypatch
):
    from recommend.experiments import selectors

    _running_experiment("search")

    def refuse(*args, **kwargs):
        raise AssertionError("the dashboard computed experiment results in the request")

    monkeypatch.setattr(selectors, "experiment_results", refuse)
    client.force_login(operator_user)
    response = client.get("/admin/")
    tiles = {t.slug: t for t in response.context["tiles"]}
    (row,) = tiles["experiments"].rows
    assert row.value == "results pending" and "beat" in row.detail


def test_analyst_sees_the_tiles_without_launch_links(client, analyst_user):
    _store(
        jobs=3,
    )
    client.force_login(analyst_user)
    response = client.get("/admin/")
    tiles = {t.slug: t for t in response.context["tiles"]}
    assert list(tiles) == ["models", "jobs", "experiments", "alerts", "buffers"]
    intent = next(r for r in tiles["models"].rows if r.label == "intent")
    assert intent.url == "" and intent.detail == ""  # analysts cannot launch a job
    assert "/admin/training/job/launch/" not in response.content.decode()


def test_learner_in_a_lab_sees_only_the_labs_models_and_no_dashboard_data(client, learner_user):
    from courses import services
    from tests.courses.conftest import build_course

    small_course = build_course()

    _store(
        jobs=3,
    )
    lab = small_course.lab
    lab.permissions = ["catalog.view_product", "catalog.view_importrun", "catalog.add_importrun"]
    lab.save()
    services.lab_start(user=learner_user, lab=lab)
    client.force_login(learner_user)
    response = client.get("/admin/")
    page = response.content.decode()
    assert response.status_code == 200
    assert response.context["tiles"] == [] and response.context["traffic_tiles"] is None
    assert _sections(page) == ["Catalog"]
    assert "/admin/catalog/product/" in page
    for hidden in ("/admin/training/", "/admin/experiments/", "test on search", "Buffers"):
        assert hidden not in page, hidden


def test_alerts_tile_shows_the_summary_beat_keeps_without_reading_the_alert_table(
    client, admin_user
):
    from platform_core.alerts import alerts_summary_refresh
    from platform_core.models import Alert, AlertRule

    rule = AlertRule.objects.get(name="search_zero_results")
    now = timezone.now()
    for subject, status in (("search", "open"), ("api", "open"), ("old", "resolved")):
        Alert.objects.create(
            rule=rule,
            subject=subject,
            status=status,
            value=40.0,
            threshold=20.0,
            message=f"zero-result rate 40% on {subject}",
            first_seen_at=now,
            last_seen_at=now,
        )
    client.force_login(admin_user)
    quiet = {t.slug: t for t in client.get("/admin/").context["tiles"]}["alerts"]
    assert quiet.rows[0].value == "0"  # nothing until beat (or an admin action) refreshes it
    alerts_summary_refresh()
    response = client.get("/admin/")
    tile = {t.slug: t for t in response.context["tiles"]}["alerts"]
    assert (tile.rows[0].label, tile.rows[0].value, tile.rows[0].level) == ("open", "2", "bad")
    assert {r.value for r in tile.rows[1:]} == {"search", "api"}
    assert all(r.label == rule.title for r in tile.rows[1:])
    listed = client.get(tile.url)
    assert listed.status_code == 200 and listed.context["cl"].result_count == 2
    assert 'id="tile-alerts"' in response.content.decode()


def test_traffic_tiles_read_the_rollups_of_served_requests_and_events():
    from recommend.analytics import rollups
    from recommend.analytics.models import ServedRequest
    from tests.factories.catalog import EventFactory, ProductFactory, ShopperFactory

    now = timezone.now()
    product = ProductFactory()
    shopper = ShopperFactory()
    for n, shown in enumerate(([product.pk], [], [product.pk], [])):
        ServedRequest.objects.create(
            request_id=f"r{n}",
            endpoint="search",
            surface="search",
            session="s1",
            query=f"query {n}",
            shown=shown,
            result_count=len(shown),
            latency_ms=20.0,
            timings={"total": 20.0},
            timestamp=now - timedelta(hours=2, minutes=n),
        )
    EventFactory(
        type="click",
        product=product,
        shopper=shopper,
        session="s1",
        request_id="r0",
        timestamp=now - timedelta(hours=1),
    )
    rollups.refresh(now=now)
    tiles = {t.slug: t for t in dashboard.traffic_tiles(now)}
    day = {r.label: r.value for r in tiles["traffic-searches"].rows}
    assert day["last 24 h"] == "4" and day["last 30 days"] == "4"
    assert tiles["traffic-zero_result_rate"].rows[0].value == "50.0%"
    # a share of the served searches only (recorded ones carry no result count): its base shows
    assert tiles["traffic-zero_result_rate"].rows[0].detail == "of 4 served"
    assert tiles["traffic-ctr"].rows[0].value == "25.0%"
    assert tiles["traffic-events_ingested"].rows[0].value == "1"
    assert tiles["traffic-latency_p95_ms"].rows[0].value.endswith(" ms")
    assert len(tiles["traffic-searches"].series) == 7 * 24


# --- speed ---------------------------------------------------------------------------------


def _home_queries(client) -> int:
    with CaptureQueriesContext(connection) as captured:
        assert client.get("/admin/").status_code == 200
    return len(captured)


def test_home_query_count_does_not_grow_with_jobs_or_experiments(
    client, operator_user, django_assert_max_num_queries
):
    client.force_login(operator_user)
    _store(
        jobs=3,
    )
    small = _home_queries(client)
    _store(
        jobs=60, surfaces=("recommendations", "similar"), versions=False
    )  # more jobs, versions stay one per task, three experiments
    for task in (Task.INTENT, Task.RANKER, Task.SENTIMENT):
        ModelVersionFactory(task=task, is_active=True, metrics={"macro_f1": 0.8, "ndcg@10": 0.3})
    ModelVersionFactory.create_batch(20, task=Task.RETRIEVER)
    assert Experiment.objects.filter(status="running").count() == 3
    large = _home_queries(client)
    assert large == small, (small, large)
    # 11 for the tiles + 3 × 3 overview queries + 8 sparkline series, none of them per row
    with django_assert_max_num_queries(30):
        client.get("/admin/")


def test_traffic_tiles_from_an_overview_per_window_with_sparklines(client, operator_user):
    start = datetime(2026, 12, 1, tzinfo=UTC)
    overview = {
        "searches": 12840,
        "ctr": 0.3125,
        "add_to_cart_rate": 0.051,
        "purchase_rate": 0.012,
        "zero_result_rate": 0.043,
        "latency_p50_ms": 11.4,
        "latency_p95_ms": 23.6,
        "events_ingested": 98765,
    }
    tiles = dashboard.traffic_tiles_from(
        {"last 24 h": overview, "last 7 days": {**overview, "latency_p95_ms": None}},
        {"ctr": [(start + timedelta(hours=h), 0.3 + h / 100) for h in range(5)]},
    )
    by_slug = {t.slug: t for t in tiles}
    assert len(tiles) == 8 and tiles[0].title == "Searches"
    assert [(r.label, r.value) for r in by_slug["traffic-searches"].rows] == [
        ("last 24 h", "12,840"),
        ("last 7 days", "12,840"),
    ]
    assert by_slug["traffic-ctr"].rows[0].value == "31.2%"
    assert [r.value for r in by_slug["traffic-latency_p95_ms"].rows] == ["24 ms", "—"]
    assert len(by_slug["traffic-ctr"].series) == 5 and by_slug["traffic-searches"].series == ()

    # rendered in the slot: the figure and an inline SVG sparkline
    client.force_login(operator_user)
    with mock.patch.object(dashboard, "traffic_tiles", return_value=tiles):
        page = client.get("/admin/").content.decode()
    assert 'id="tile-traffic-ctr"' in page and "31.2%" in page
    assert '<svg class="aisle-spark"' in page and "Traffic figures" not in page
