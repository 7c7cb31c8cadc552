"""``tune_recommendations`` on a planted log: taste groups that CF learns, and product vectors
that are pure noise (as on a catalogue whose titles mean nothing). The job must switch the
profile source off and keep CF, serving must follow the learned weights, and weights an
operator set must survive a later tune unless it is told to overwrite them."""

from __future__ import annotations

import io

import numpy as np
import pytest
from django.core.management import call_command

from catalog.models import Product
from platform_core.models import AuditLog
from recommend import services as recommend_services
from recommend.models import Strategy, WeightsOrigin
from tests.factories.recommend import write_vectors
from tests.factories.training import ModelVersionFactory
from tests.training.runners.test_cf import write_block_log
from training import services
from training.models import Job

pytestmark = pytest.mark.django_db


@pytest.fixture
def planted(tmp_path, operator_user, serving_state):
    """The block log of test_cf, an active CF model trained on it, and an active retriever
    whose product vectors are random."""
    recommend_services.strategy_ensure_defaults()
    folder = write_block_log(tmp_path)
    quiet = {"stdout": io.StringIO(), "stderr": io.StringIO()}
    call_command("import_catalog", str(folder / "products.csv"), "--no-progress", **quiet)
    call_command("import_events", str(folder / "events.csv"), "--no-progress", **quiet)
    Product.objects.update(stock=5)  # the file has no stock column; served lists hide none
    cf = launch("train_cf", operator_user, search="fixed", models="item_item")
    assert cf.status == Job.Status.SUCCEEDED and cf.activation == "activated", cf.error
    retriever = ModelVersionFactory(task="retriever", is_active=True, dimension=16)
    ids = list(Product.objects.order_by("pk").values_list("pk", flat=True))
    write_vectors(retriever.pk, ids, np.random.default_rng(7).normal(size=(len(ids), 16)))
    return cf.result_version


def launch(kind, user, **params) -> Job:
    return services.job_run(job_id=services.job_launch(kind=kind, params=params, user=user).pk)


def default_strategy() -> Strategy:
    return Strategy.objects.get(surface="recommendations", is_default=True)


def test_noise_profile_is_switched_off_and_cf_kept(planted, operator_user):
    job = launch("tune_recommendations", operator_user)
    assert job.status == Job.Status.SUCCEEDED, job.error
    m = job.metrics
    assert m["weights"]["profile"] == 0.0 and m["weights"]["cf"] > 0
    assert max(m["weights"].values()) == 1.0  # rescaled to the heaviest weight before
    assert m["cf_version"] == planted.pk and m["split"]["protocol"] == "per_user_time"
    assert m["valid"]["learned"] > m["valid"]["before"]  # noise at weight 1 hurt
    assert m["users"] >= 100 and m["tried"] == len(m["candidates"]) > 5
    assert m["written"] is True
    strategy = default_strategy()
    assert strategy.profile_weight == 0.0 and strategy.cf_weight == m["weights"]["cf"]
    assert strategy.weights_set_by == WeightsOrigin.JOB and strategy.weights_job_id == job.pk
    assert strategy.weights_tuned_at is not None
    record = strategy.weights_tuning
    assert record["valid"]["learned"] == m["valid"]["learned"]
    assert record["weights_before"]["profile"] == 1.0
    assert AuditLog.objects.filter(action="strategy.weights_learned").count() == 1
    assert job.result_version is None  # no model version is touched


def served_sources(client, shopper: str) -> set[str]:
    response = client.get("/api/v1/recommendations", {"shopper": shopper, "size": 10})
    assert response.status_code == 200, response.content
    results = response.json()["results"]
    assert len(results) == 10
    return {r["explanation"]["source"] for r in results}


def test_served_recommendations_follow_the_learned_weights(planted, operator_user, storefront):
    recommend_services.aggregates_refresh()
    shoppers = [f"shopper-{s}" for s in range(0, 160, 7)]
    before = set().union(*(served_sources(storefront, s) for s in shoppers))
    assert "profile" in before  # the noise source served items at its default weight
    assert launch("tune_recommendations", operator_user).status == Job.Status.SUCCEEDED
    after = set().union(*(served_sources(storefront, s) for s in shoppers))
    assert "profile" not in after and "cf" in after


def test_operator_weights_survive_a_later_tune_unless_overwritten(planted, operator_user):
    strategy = default_strategy()
    strategy.profile_weight = 0.7
    recommend_services.strategy_save(
        strategy=strategy, actor=operator_user, changed=["profile_weight"]
    )
    strategy.refresh_from_db()
    assert strategy.weights_set_by == WeightsOrigin.OPERATOR
    assert strategy.weights_operator_at is not None
    version = strategy.version

    kept = launch("tune_recommendations", operator_user)
    assert kept.status == Job.Status.SUCCEEDED, kept.error
    assert kept.metrics["written"] is False and "operator" in kept.metrics["outcome"]
    strategy.refresh_from_db()
    assert strategy.profile_weight == 0.7 and strategy.version == version
    assert strategy.weights_set_by == WeightsOrigin.OPERATOR
    assert AuditLog.objects.filter(action="strategy.weights_kept").exists()

    forced = launch("tune_recommendations", operator_user, overwrite_operator_weights=True)
    assert forced.metrics["written"] is True
    strategy.refresh_from_db()
    assert strategy.profile_weight == 0.0 and strategy.weights_set_by == WeightsOrigin.JOB
    assert strategy.version == version + 1


def test_a_report_only_run_writes_nothing_and_sources_it_cannot_build_are_left_alone(
    planted, operator_user
):
    job = launch("tune_recommendations", operator_user, apply=False)
    assert job.status == Job.Status.SUCCEEDED, job.error
    m = job.metrics
    # No purchases in the log: bought-together cannot be built; no categories: nor interests.
    assert "bought_together" in m["skipped"] and "bought_together" not in m["weights"]
    assert m["written"] is False
    assert default_strategy().weights_set_by == WeightsOrigin.DEFAULT


def test_train_cf_chains_the_tuning_after_its_activation(planted, operator_user):
    cf = launch("train_cf", operator_user, search="fixed", models="item_item", tune_fusion=True)
    assert cf.status == Job.Status.SUCCEEDED, cf.error
    follow = Job.objects.get(kind="tune_recommendations")
    assert follow.status == Job.Status.QUEUED and f"#{follow.pk}" in cf.log
    assert follow.created_by == operator_user


def test_an_unknown_strategy_fails_the_job_with_a_clear_message(planted, operator_user):
    job = launch("tune_recommendations", operator_user, strategy="no-such")
    assert job.status == Job.Status.FAILED and "No strategy 'no-such'" in job.error


def test_the_strategy_page_shows_the_provenance_and_an_edit_flips_it_to_operator(
    planted, operator_user, client
):
    from django.urls import reverse

    job = launch("tune_recommendations", operator_user)
    strategy = default_strategy()
    client.force_login(operator_user)
    url = reverse("admin:recommend_strategy_change", args=[strategy.pk])
    page = client.get(url)
    html = page.content.decode()
    assert reverse("admin:training_job_change", args=[job.pk]) in html
    assert "learned by a tuning job" in html
    assert f"{job.metrics['valid']['learned']:.4f} with the learned weights" in html
    assert "profile 0 (1)" in html  # learned (before)
    form = page.context["adminform"].form
    data = {name: value for name, value in form.initial.items() if value is not None}
    data.update({"profile_weight": 0.3, "boost_rules": []})
    for key, value in list(data.items()):
        if isinstance(value, bool) and not value:
            del data[key]
    response = client.post(url, data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    strategy.refresh_from_db()
    assert strategy.profile_weight == 0.3 and strategy.weights_set_by == WeightsOrigin.OPERATOR
    assert strategy.weights_job_id == job.pk  # the tuning's record stays, marked overridden
    assert "set by an operator" in client.get(url).content.decode()
