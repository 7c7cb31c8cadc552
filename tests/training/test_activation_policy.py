"""The activation policy: a task's first sane version activates itself, later ones are promoted
by an operator or by ``promote_if_better`` on the same split; analysis runs never activate."""

from __future__ import annotations

import pytest
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.core.management import call_command

from courses.gate import CourseGateError
from platform_core.caches import MODELS_GENERATION
from platform_core.models import AuditLog
from tests import factories
from training import selectors, services
from training.activation import ACTIVATE_FIRST, KEEP, PROMOTE, VersionPolicy, decide
from training.jobs import Param, get_job_kind, register_job_kind, validate_params
from training.models import Job, Task

pytestmark = pytest.mark.django_db


def test_the_first_cf_version_of_a_fresh_install_serves_without_an_operator(operator_user):
    factories.build_training_store(per_category=4, shoppers=12, sessions=6)
    call_command(
        "run_job",
        "train_cf",
        "--param",
        "factors=4",
        "--param",
        "iterations=2",
        "--inline",
        "--user",
        operator_user.username,
    )
    job = Job.objects.get()
    assert job.status == Job.Status.SUCCEEDED, job.error
    # The version serves at once when its evaluation is sane (train_cf's own check; a store this
    # small may fail it, and then it must stay inactive and say why): never an operator step.
    sane = job.result_version.metrics.get("sane", True)
    assert (selectors.active_version(Task.CF) == job.result_version) is sane
    assert job.activation == ("activated" if sane else "kept"), job.activation_reason


# --------------------------------------------------------------------------- the pure decision

POLICY = VersionPolicy(metric="score")
SPLIT = {"protocol": "per_user_time", "seed": 42}


def _decide(params=None, metrics=None, active_id=None, active_metrics=None, policy=POLICY):
    return decide(
        policy=policy,
        params=params or {},
        metrics=metrics or {},
        active_id=active_id,
        active_metrics=active_metrics,
    )


def test_decide_activates_the_first_sane_version_and_kinds_without_a_check_count_as_sane():
    assert _decide(metrics={"score": 0.1}).action == ACTIVATE_FIRST
    assert "no sanity check" in _decide(metrics={"score": 0.1}).reason
    insane = _decide(metrics={"sane": False, "sanity": "12 evaluated shoppers (< 100)"})
    assert insane.action == KEEP and "12 evaluated shoppers" in insane.reason
    opted_out = _decide(policy=VersionPolicy(metric="score", activate_first=False))
    assert opted_out.action == KEEP and "never activates by itself" in opted_out.reason
    analysis = _decide(params={"analysis": True}, metrics={"sane": True})
    assert analysis.action == KEEP and "analysis" in analysis.reason


def test_decide_promotes_only_when_asked_and_better_on_the_same_split():
    new = {"score": 0.30, "split": SPLIT}
    old = {"score": 0.20, "split": SPLIT}
    assert "operator promotes" in _decide({}, new, 7, old).reason
    better = _decide({"promote_if_better": True}, new, 7, old)
    assert better.action == PROMOTE and "0.3000 vs 0.2000" in better.reason
    assert (better.candidate, better.baseline) == (0.30, 0.20)
    worse = _decide({"promote_if_better": True}, {**new, "score": 0.2}, 7, old)
    assert worse.action == KEEP and "not better" in worse.reason
    other = _decide({"promote_if_better": True}, new, 7, {**old, "split": {**SPLIT, "seed": 1}})
    assert other.action == KEEP and "different splits" in other.reason
    unrecorded = _decide({"promote_if_better": True}, {"score": 0.3}, 7, old)
    assert unrecorded.action == KEEP and "not both record their split" in unrecorded.reason
    missing = _decide({"promote_if_better": True}, {"other": 1.0, "split": SPLIT}, 7, old)
    assert missing.action == KEEP and "has no score" in missing.reason
    lower = VersionPolicy(metric="loss", higher_is_better=False)
    assert (
        _decide(
            {"promote_if_better": True},
            {"loss": 0.1, "split": SPLIT},
            7,
            {"loss": 0.2, "split": SPLIT},
            policy=lower,
        ).action
        == PROMOTE
    )


def test_decide_prefers_the_active_version_measured_in_the_same_job():
    new = {"score": 0.30, "active_same_split": {"score": 0.35}, "active_version": 7}
    kept = _decide({"promote_if_better": True}, new, 7, {"score": 0.1})
    assert kept.action == KEEP and "measured in this job" in kept.reason
    # figures of another active version than the one measured do not count
    stale = _decide({"promote_if_better": True}, {**new, "active_version": 6}, 7, {"score": 0.1})
    assert stale.action == KEEP and "not measured on this job's split" in stale.reason


# --------------------------------------------------------------------------- through real jobs


def _versioned_runner(ctx):
    p = ctx.params
    version = ctx.create_version(task=p["task"], name=f"score {p['score']}")
    metrics = {"score": p["score"], "split": {"protocol": p["split"], "seed": 42}}
    if p["sane"] != "unset":
        metrics["sane"] = p["sane"] == "yes"
        metrics["sanity"] = "enough examples" if metrics["sane"] else "3 test examples (< 100)"
    ctx.finish(version, metrics)


register_job_kind(
    "test_versioned",
    queue="cpu",
    runner=_versioned_runner,
    help="test: a version with the given score",
    params=[
        Param("score", float, 0.5, "the version's score"),
        Param("split", str, "a", "the split's protocol"),
        Param("sane", str, "unset", "yes, no or unset"),
        Param("task", str, Task.SENTIMENT.value, "the version's task"),
    ],
    versions=VersionPolicy(metric="score"),
    replace=True,
)


def _run(user=None, **params):
    job = services.job_launch(kind="test_versioned", params=params, user=user)
    finished = services.job_run(job_id=job.pk)
    assert finished.status == Job.Status.SUCCEEDED, finished.error
    return finished


def _audits(action):
    return list(AuditLog.objects.filter(action=action).order_by("pk"))


def test_version_producing_kinds_take_the_generic_parameters():
    for name in ("train_cf", "finetune_retriever", "finetune_classifier", "train_ranker"):
        params = validate_params(get_job_kind(name), {"task": "intent"} if "class" in name else {})
        assert params["promote_if_better"] is False and params["analysis"] is False, name
    for name in ("embed_catalog", "evaluate"):
        assert get_job_kind(name).param("promote_if_better") is None
    with pytest.raises(ValidationError, match="analysis run never activates"):
        validate_params(get_job_kind("train_cf"), {"analysis": True, "promote_if_better": True})


def test_the_first_sane_version_activates_and_later_ones_wait_for_an_operator(
    operator_user, django_capture_on_commit_callbacks
):
    cache.delete(MODELS_GENERATION.key)
    with django_capture_on_commit_callbacks(execute=True):
        first = _run(operator_user, score=0.2)
    version = first.result_version
    assert selectors.active_version(Task.SENTIMENT) == version
    assert first.activation == "activated" and "first sane version" in first.activation_reason
    assert "activation policy: activated" in first.log
    assert cache.get(MODELS_GENERATION.key) == 1  # the serving caches see it
    (audit,) = _audits("model.activate_first")
    assert audit.object_id == str(version.pk) and audit.actor is None
    assert audit.details["job"] == first.pk and "first sane version" in audit.details["reason"]

    second = _run(operator_user, score=0.9)
    assert selectors.active_version(Task.SENTIMENT) == version
    assert second.activation == "kept" and "an operator promotes" in second.activation_reason
    assert "promote_if_better off" in second.log
    services.model_promote(version=second.result_version, user=operator_user)
    assert selectors.active_version(Task.SENTIMENT) == second.result_version


def test_an_insane_first_version_stays_inactive_and_the_job_still_succeeds():
    job = _run(sane="no")
    assert selectors.active_version(Task.SENTIMENT) is None
    assert job.activation == "kept" and "3 test examples" in job.activation_reason
    assert _run(sane="yes").activation == "activated"
    assert not _audits("model.promote_if_better")


def test_promote_if_better_promotes_on_the_same_split_only_and_is_audited(operator_user):
    active = _run(score=0.4).result_version
    other_split = _run(operator_user, score=0.9, split="b", promote_if_better=True)
    assert other_split.activation == "kept" and "different splits" in other_split.activation_reason
    assert "different splits" in other_split.log
    worse = _run(operator_user, score=0.3, promote_if_better=True)
    assert worse.activation == "kept" and "not better" in worse.activation_reason
    assert selectors.active_version(Task.SENTIMENT) == active

    better = _run(operator_user, score=0.5, promote_if_better=True)
    assert better.activation == "promoted" and "0.5000 vs 0.4000" in better.activation_reason
    promoted = selectors.active_version(Task.SENTIMENT)
    assert promoted == better.result_version and promoted.previous_active == active
    (audit,) = _audits("model.promote_if_better")
    assert (
        audit.details["launched_by"] == operator_user.pk and audit.details["previous"] == active.pk
    )
    assert (audit.details["value"], audit.details["active_value"]) == (0.5, 0.4)
    assert services.model_rollback(task=Task.SENTIMENT, user=operator_user) == active


def test_a_version_the_registry_refuses_stays_inactive_with_the_reason():
    factories.ProductFactory()  # a retriever needs a vector for every active product first
    job = _run(task=Task.RETRIEVER)
    assert selectors.active_version(Task.RETRIEVER) is None
    assert job.activation == "kept" and "not activatable" in job.activation_reason
    assert "embed_catalog" in job.activation_reason and "not activatable" in job.log


def test_analysis_runs_never_activate_not_even_by_hand(operator_user):
    job = _run(operator_user, analysis=True)
    assert selectors.active_version(Task.SENTIMENT) is None
    assert job.activation == "kept" and "analysis run" in job.activation_reason
    with pytest.raises(ValidationError, match="analysis run"):
        services.model_promote(version=job.result_version, user=operator_user)
    assert not _audits("model.activate_first")


def test_promote_if_better_is_subject_to_the_course_gate(settings, operator_user):
    settings.PROMOTION_REQUIRED_COURSE = "models-101"
    with pytest.raises(CourseGateError):
        services.job_launch(
            kind="test_versioned", params={"promote_if_better": True}, user=operator_user
        )
    assert not Job.objects.exists()
    services.job_launch(kind="test_versioned", params={}, user=operator_user)  # no gate
