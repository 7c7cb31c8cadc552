"""The operator's flow in the admin alone (Django test client): create an experiment from two
strategies with the calculator, start it, serve traffic, read the results page, ship."""

from __future__ import annotations

import pytest
from django.urls import reverse

from platform_core.models import AuditLog
from recommend.experiments import services
from recommend.experiments.models import Experiment
from recommend.experiments.selectors import clear_running_cache
from recommend.models import Strategy
from tests.factories import ShopperFactory, StrategyFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_running_cache():
    clear_running_cache()
    yield
    clear_running_cache()


def _form(base, other, **over):
    data = {
        "name": "semantic vs default",
        "surface": "search",
        "hypothesis": "Weighting semantic retrieval up finds what shoppers mean.",
        "primary_metric": "ctr",
        "guardrails": ["zero_result_rate", "latency"],
        "guardrail_tolerance": "0",
        "latency_tolerance": "0.5",
        "holdout_percent": "0",
        "baseline_rate": "0.3",
        "minimum_detectable_effect": "0.1",
        "power": "0.8",
        "alpha": "0.05",
        "sequential": "on",
        "cuped_days": "14",
        "variants-TOTAL_FORMS": "2",
        "variants-INITIAL_FORMS": "0",
        "variants-MIN_NUM_FORMS": "2",
        "variants-MAX_NUM_FORMS": "1000",
        "variants-0-key": "control",
        "variants-0-strategy": str(base.pk),
        "variants-0-share": "50",
        "variants-0-is_control": "on",
        "variants-1-key": "treatment",
        "variants-1-strategy": str(other.pk),
        "variants-1-share": "50",
    }
    data.update(over)
    return data


def test_operator_creates_starts_watches_and_ships_in_the_admin(
    client, operator_user, serving_store, storefront
):
    from recommend.services import strategy_ensure_defaults

    strategy_ensure_defaults()  # a transactional test before this one flushed the migration\'s defaults
    base = Strategy.objects.get(surface="search", is_default=True)
    other = StrategyFactory(
        name="semantic-heavy", surface="search", semantic_weight=3.0, lexical_weight=0.5
    )
    client.force_login(operator_user)

    add_url = reverse("admin:experiments_experiment_add")
    page = client.get(add_url)
    assert page.status_code == 200 and b"Sample-size calculator" in page.content
    calc = client.get(
        reverse("admin:experiments_experiment_sample_size"),
        {
            "baseline_rate": "0.3",
            "minimum_detectable_effect": "0.1",
            "power": "0.8",
            "alpha": "0.05",
        },
    )
    assert b"3,763" in calc.content

    # shares that do not add up are refused with the reason
    bad = client.post(add_url, _form(base, other, **{"variants-1-share": "40"}))
    assert bad.status_code == 200 and "must sum to 100% (now 90%" in bad.content.decode()
    assert not Experiment.objects.exists()

    response = client.post(add_url, _form(base, other))
    assert response.status_code == 302, response.content.decode()[-2000:]
    experiment = Experiment.objects.get()
    assert experiment.status == "draft" and experiment.min_sample_size == 3763
    assert (
        experiment.guardrails == ["zero_result_rate", "latency"]
        and experiment.variants.count() == 2
    )

    change = client.get(reverse("admin:experiments_experiment_change", args=[experiment.pk]))
    assert b">Start</button>" in change.content
    client.post(reverse("admin:experiments_experiment_start", args=[experiment.pk]))
    experiment.refresh_from_db()
    assert experiment.status == "running" and experiment.started_by == operator_user

    # storefront traffic: searches by 40 known shoppers, a click on the first result of each
    events = []
    for i in range(40):
        ShopperFactory(external_id=f"s{i}")
        body = storefront.get("/api/v1/search", {"q": "headphones", "shopper": f"s{i}"}).json()
        if body["results"]:
            events.append(
                {
                    "event_id": f"e{i}",
                    "shopper": f"s{i}",
                    "type": "click",
                    "position": 1,
                    "product": body["results"][0]["product"]["id"],
                    "request_id": body["request_id"],
                    "timestamp": body["served_at"],
                }
            )
    assert storefront.post("/api/v1/events", {"events": events}, format="json").status_code == 202
    services.exposures_flush()

    results_url = reverse("admin:experiments_experiment_results", args=[experiment.pk])
    page = client.get(results_url)
    html = page.content.decode()
    assert page.status_code == 200
    for text in (
        "Per variant",
        "click-through rate",
        "Sample ratio (SRM)",
        "Guardrail: zero-result rate",
        "<svg",
        "Cumulative lift",
        "40 exposed units",
    ):
        assert text in html, text
    assert 'http-equiv="refresh"' in html  # the page follows a running experiment

    ship_url = reverse("admin:experiments_experiment_ship", args=[experiment.pk])
    assert client.get(ship_url).status_code == 200
    treatment = experiment.variants.get(key="treatment")
    response = client.post(ship_url, {"variant": treatment.pk})
    assert response.status_code == 302
    experiment.refresh_from_db()
    other.refresh_from_db()
    assert experiment.status == "shipped" and experiment.winner == treatment and other.is_default
    assert "Recorded conclusion" in client.get(results_url).content.decode()
    assert set(
        AuditLog.objects.filter(object_type="experiments.experiment").values_list(
            "action", flat=True
        )
    ) == {"experiment.create", "experiment.start", "experiment.stop", "experiment.ship"}
    # a shipped experiment is read-only and cannot be deleted
    change = client.get(reverse("admin:experiments_experiment_change", args=[experiment.pk]))
    assert b'name="name"' not in change.content and b"Delete" not in change.content


def test_analysts_read_results_but_cannot_start_and_learners_are_kept_out(
    client, operator_user, analyst_user, learner_user, serving_state
):
    from recommend.services import strategy_ensure_defaults

    strategy_ensure_defaults()  # a transactional test before this one flushed the migration\'s defaults
    base = Strategy.objects.get(surface="search", is_default=True)
    other = StrategyFactory(name="other", surface="search")
    experiment = services.experiment_create(
        name="e",
        surface="search",
        hypothesis="h",
        actor=operator_user,
        variants=[
            services.VariantSpec("control", base, 50, True),
            services.VariantSpec("b", other, 50),
        ],
    )
    client.force_login(analyst_user)
    assert (
        client.post(reverse("admin:experiments_experiment_start", args=[experiment.pk])).status_code
        == 403
    )
    assert (
        client.get(
            reverse("admin:experiments_experiment_results", args=[experiment.pk])
        ).status_code
        == 200
    )
    experiment.refresh_from_db()
    assert experiment.status == "draft"

    client.force_login(learner_user)
    response = client.get(reverse("admin:experiments_experiment_results", args=[experiment.pk]))
    assert response.status_code == 302 and "/login/" in response["Location"]


def test_list_action_reports_two_running_on_one_surface(client, operator_user, serving_state):
    from recommend.services import strategy_ensure_defaults

    strategy_ensure_defaults()  # a transactional test before this one flushed the migration\'s defaults
    base = Strategy.objects.get(surface="search", is_default=True)
    made = []
    for name in ("one", "two"):
        other = StrategyFactory(name=f"s-{name}", surface="search")
        made.append(
            services.experiment_create(
                name=name,
                surface="search",
                hypothesis="h",
                actor=operator_user,
                variants=[
                    services.VariantSpec("control", base, 50, True),
                    services.VariantSpec("b", other, 50),
                ],
            )
        )
    client.force_login(operator_user)
    response = client.post(
        reverse("admin:experiments_experiment_changelist"),
        {"action": "start_selected", "_selected_action": [e.pk for e in made]},
        follow=True,
    )
    text = response.content.decode()
    assert "is running" in text and "is already running on the search surface" in text
    assert sorted(Experiment.objects.values_list("status", flat=True)) == ["draft", "running"]

    # saving a running experiment's (read-only) page changes nothing; bulk delete spares it
    running = Experiment.objects.get(status="running")
    ids = list(running.variants.values_list("pk", flat=True))
    form = {
        "variants-TOTAL_FORMS": "2",
        "variants-INITIAL_FORMS": "2",
        "variants-MIN_NUM_FORMS": "2",
        "variants-MAX_NUM_FORMS": "1000",
        "variants-0-id": ids[0],
        "variants-1-id": ids[1],
        "variants-0-experiment": running.pk,
        "variants-1-experiment": running.pk,
    }
    response = client.post(reverse("admin:experiments_experiment_change", args=[running.pk]), form)
    assert response.status_code == 302, response.context["errors"] if response.context else response
    response = client.post(
        reverse("admin:experiments_experiment_changelist"),
        {"action": "delete_selected", "_selected_action": [e.pk for e in made], "post": "yes"},
    )
    assert response.status_code == 403  # Django's delete action refuses: one of them is not a draft
    assert Experiment.objects.count() == 2


def test_experiment_list_keeps_a_fixed_number_of_queries(
    client, operator_user, serving_state, django_assert_max_num_queries
):
    from recommend.services import strategy_ensure_defaults

    strategy_ensure_defaults()  # a transactional test before this one flushed the migration\'s defaults
    base = Strategy.objects.get(surface="search", is_default=True)
    client.force_login(operator_user)

    def make(n):
        for i in range(n):
            other = StrategyFactory(name=f"q-{Experiment.objects.count()}-{i}", surface="search")
            services.experiment_create(
                name=f"list-{Experiment.objects.count()}",
                surface="search",
                hypothesis="h",
                actor=operator_user,
                variants=[
                    services.VariantSpec("control", base, 50, True),
                    services.VariantSpec("b", other, 50),
                ],
            )

    make(2)
    url = reverse("admin:experiments_experiment_changelist")
    with django_assert_max_num_queries(12) as few:
        assert client.get(url).status_code == 200
    make(8)
    with django_assert_max_num_queries(len(few.captured_queries)):
        assert client.get(url).status_code == 200
