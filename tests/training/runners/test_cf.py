"""``train_cf`` on a log imported through the real commands, in which each shopper's history is
one contiguous block of time (shoppers arrive one after another, as in a check-in log): the
evaluation must say something (per-shopper split), or fail loudly (global time split)."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from django.conf import settings
from django.core.management import call_command

from training import services
from training.ml.cf import load_cf_model
from training.models import Job, Task

pytestmark = pytest.mark.django_db

GROUPS, PER_GROUP, POPULAR = 8, 12, 6


def write_block_log(folder, shoppers=160, seed=0):
    """Products of 8 taste groups plus 6 best-sellers; shopper ``s`` clicks 8 products of group
    ``s % 8`` and a couple of best-sellers, all within hour ``s`` of the log."""
    rng = np.random.default_rng(seed)
    products = [f"g{g}-{j}" for g in range(GROUPS) for j in range(PER_GROUP)]
    products += [f"pop-{j}" for j in range(POPULAR)]
    with open(folder / "products.csv", "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["external_id", "title", "price"])
        writer.writerows([pid, f"item {pid}", "9.90"] for pid in products)
    start = datetime(2025, 1, 1, tzinfo=UTC)
    with open(folder / "events.csv", "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["event_id", "shopper", "type", "product", "timestamp"])
        for s in range(shoppers):
            group = s % GROUPS
            items = [f"g{group}-{j}" for j in rng.permutation(PER_GROUP)[:8]]
            items += [f"pop-{j}" for j in rng.permutation(POPULAR)[:2]]
            order = rng.permutation(len(items))
            for minute, position in enumerate(order):
                when = start + timedelta(hours=s, minutes=5 * minute)
                writer.writerow(
                    [f"e{s}-{minute}", f"shopper-{s}", "click", items[position], when.isoformat()]
                )
    return folder


@pytest.fixture
def block_log(tmp_path):
    folder = write_block_log(tmp_path)
    quiet = {"stdout": io.StringIO(), "stderr": io.StringIO()}
    call_command("import_catalog", str(folder / "products.csv"), "--no-progress", **quiet)
    call_command("import_events", str(folder / "events.csv"), "--no-progress", **quiet)


def launch(user, **params) -> Job:
    return services.job_run(
        job_id=services.job_launch(kind="train_cf", params=params, user=user).pk
    )


def test_a_log_of_contiguous_shopper_blocks_gets_sane_figures(block_log, operator_user):
    job = launch(operator_user)  # the default protocol: each shopper's latest products held out
    assert job.status == Job.Status.SUCCEEDED, job.error
    version = job.result_version
    m = version.metrics
    assert version.task == Task.CF and m["split"] == {"protocol": "per_user_time", "seed": 42}
    assert m["users"] >= 100 and m["sane"] is True, m["sanity"]
    popularity = m["baseline"]["popularity"]
    assert m["recall@20"] > popularity["recall@20"] > 0 and m["ndcg@20"] > popularity["ndcg@20"]
    assert {"recall@10", "ndcg@10", "coverage"} <= set(m) and 0 < m["coverage"] <= 1
    # Every family was a candidate with its own validation figures, and the choice is the best.
    families = {c["family"] for c in m["candidates"]}
    assert families == {"item_item", "ease", "implicit_mf", "bpr"}
    assert len(m["candidates"]) > len(families)  # a grid, not one configuration per family
    best = max(c["valid"]["ndcg@20"] for c in m["candidates"])
    assert m["models"][m["primary"]]["valid"]["ndcg@20"] == best and m["choice"]
    # Served: the chosen model refitted on all interactions (the held-out ones included).
    model = load_cf_model(settings.ARTIFACTS_DIR / version.artifact_dir)
    assert model.kind == m["primary"] and model.user_items.nnz == 160 * 10
    assert "active_same_split" not in m  # nothing was active to compare with


def test_the_active_versions_recipe_is_measured_on_the_new_jobs_split(block_log, operator_user):
    first = launch(operator_user, search="fixed", models="item_item")
    assert first.result_version.metrics["sane"] and first.activation == "activated"
    # Same data, same split, same recipe: the active version scores exactly what the new one
    # does, so promote_if_better keeps it (scoring its artifact, refitted on the held-out
    # interactions too, would have ranked them as already seen).
    again = launch(operator_user, search="fixed", models="item_item", promote_if_better=True)
    m = again.result_version.metrics
    assert m["active_version"] == first.result_version.pk
    same = m["active_same_split"]
    assert same["ndcg@20"] == m["ndcg@20"] > 0 and same["recall@20"] == m["recall@20"]
    assert again.activation == "kept" and "not better" in again.activation_reason


def test_an_empty_evaluation_set_fails_the_job_and_says_what_to_do(block_log, operator_user):
    job = launch(operator_user, split="global_time")
    assert job.status == Job.Status.FAILED
    assert "no shopper to evaluate with split=global_time" in job.error
    assert "one block of time" in job.error and "split=per_user_time" in job.error
    assert job.result_version is None


def test_a_small_evaluation_is_recorded_as_not_sane_and_warned(block_log, operator_user):
    job = launch(operator_user, split="per_user_random", min_eval_users=1000, search="fixed")
    assert job.status == Job.Status.SUCCEEDED, job.error
    m = job.result_version.metrics
    assert m["sane"] is False and "fewer than 1000" in m["sanity"]
    assert any("NOT SANE" in line for line in job.log.splitlines())
    assert len(m["candidates"]) == 4  # fixed: one configuration per family


def test_unknown_candidate_families_are_refused_at_launch(operator_user):
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError, match="item_item"):
        services.job_launch(kind="train_cf", params={"models": "item_item,lightgcn"}, user=None)


def test_evaluate_scores_a_cf_version_on_its_own_split_not_on_data_it_has_seen(
    block_log, operator_user
):
    """The served model is refitted on everything; the evaluate job must score the version's
    recipe on the split it recorded (scoring the artifact would rank held-out items the model
    has already seen, which are excluded, and say nothing)."""
    version = launch(operator_user).result_version
    evaluation = services.job_run(
        job_id=services.job_launch(
            kind="evaluate", params={"version": version.pk, "device": "cpu"}, user=operator_user
        ).pk
    )
    assert evaluation.status == Job.Status.SUCCEEDED, evaluation.error
    figures = evaluation.metrics["candidate"]
    assert evaluation.metrics["split"] == version.metrics["split"]
    assert figures["ndcg@20"] == pytest.approx(version.metrics["ndcg@20"], abs=1e-4)
    assert figures["recall@20"] == pytest.approx(version.metrics["recall@20"], abs=1e-4)
    assert figures["recall@20"] > 0
    # what the admin reads from it: the list's key metric, the comparison's rows (metrics only)
    from training import selectors

    version.refresh_from_db()
    key = selectors.key_metric(version)
    assert key.evaluated and key.name == "ndcg@20" and key.value == figures["ndcg@20"]
    _, rows = selectors.compare_with_active(version)
    names = {r.name for r in rows}
    assert "evaluation · ndcg@20" in names and "evaluation · recall@20" in names
    assert not any(n.endswith((".k", ".seed", "users")) or "version" in n for n in names)
    assert evaluation.timings["rows"] > 0  # the launch page's estimate scales by these
