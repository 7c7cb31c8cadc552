"""Model registry: promotion, rollback, the course gate, served versions, commands, audit."""

from __future__ import annotations

import sys
import types

import numpy as np
import pytest
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import IntegrityError, transaction

from courses.gate import CourseGateError
from platform_core.caches import MODELS_GENERATION
from platform_core.models import AuditLog
from tests import factories
from training import selectors, services, vectors
from training.models import ModelVersion, Task

pytestmark = pytest.mark.django_db


def _with_vectors(version: ModelVersion, products) -> ModelVersion:
    rng = np.random.default_rng(version.pk)
    matrix = rng.normal(size=(len(products), 384)).astype(np.float32)
    vectors.write_embeddings(
        version.pk, [p.pk for p in products], matrix, ["0" * 32] * len(products)
    )
    return version


@pytest.fixture
def products(db):
    return factories.ProductFactory.create_batch(3)


def test_promote_then_rollback_follows_the_stack_and_is_audited(operator_user, products):
    first = factories.ModelVersionFactory(task=Task.CF)
    second = factories.ModelVersionFactory(task=Task.CF)
    third = factories.ModelVersionFactory(task=Task.CF)
    assert selectors.active_version(Task.CF) is None

    services.model_promote(version=first, user=operator_user)
    services.model_promote(version=second, user=operator_user)
    services.model_promote(version=third, user=operator_user)
    assert selectors.active_version(Task.CF) == third
    assert ModelVersion.objects.filter(task=Task.CF, is_active=True).count() == 1

    assert services.model_rollback(task=Task.CF, user=operator_user) == second
    assert services.model_rollback(task=Task.CF, user=operator_user) == first
    assert selectors.active_version(Task.CF) == first
    with pytest.raises(ValidationError, match="nothing to roll back to"):
        services.model_rollback(task=Task.CF, user=operator_user)

    actions = list(
        AuditLog.objects.filter(object_type="training.modelversion").values_list("action", "actor")
    )
    assert actions.count(("model.promote", operator_user.pk)) == 3
    assert actions.count(("model.rollback", operator_user.pk)) == 2
    second.refresh_from_db()
    assert second.promoted_by == operator_user and second.promoted_at is not None


def test_one_active_version_per_task_is_enforced_by_the_database():
    factories.ModelVersionFactory(task=Task.INTENT, is_active=True)
    with pytest.raises(IntegrityError), transaction.atomic():
        factories.ModelVersionFactory(task=Task.INTENT, is_active=True)
    factories.ModelVersionFactory(task=Task.SENTIMENT, is_active=True)  # another task: fine


def test_a_retriever_needs_its_product_vectors_before_activation(operator_user, products):
    version = factories.ModelVersionFactory(task=Task.RETRIEVER)
    with pytest.raises(ValidationError, match="no vectors for 3 active product"):
        services.model_promote(version=version, user=operator_user)
    _with_vectors(version, products[:2])
    with pytest.raises(ValidationError, match="no vectors for 1 active product"):
        services.model_promote(version=version, user=operator_user)
    _with_vectors(version, products)
    services.model_promote(version=version, user=operator_user)
    assert selectors.active_version(Task.RETRIEVER) == version


def test_only_ready_versions_can_be_activated(operator_user):
    training = factories.ModelVersionFactory(task=Task.INTENT, status=ModelVersion.Status.TRAINING)
    with pytest.raises(ValidationError, match="only ready versions"):
        services.model_promote(version=training, user=operator_user)
    assert selectors.active_version(Task.INTENT) is None


def test_promotion_bumps_the_serving_cache_generation(
    operator_user, django_capture_on_commit_callbacks
):
    cache.delete(MODELS_GENERATION.key)
    with django_capture_on_commit_callbacks(execute=True):
        services.model_promote(
            version=factories.ModelVersionFactory(task=Task.CF), user=operator_user
        )
    assert cache.get(MODELS_GENERATION.key) == 1
    with django_capture_on_commit_callbacks(execute=True):
        services.model_promote(
            version=factories.ModelVersionFactory(task=Task.CF), user=operator_user
        )
    with django_capture_on_commit_callbacks(execute=True):
        services.model_rollback(task=Task.CF, user=operator_user)
    assert cache.get(MODELS_GENERATION.key) == 3


def test_the_course_gate_blocks_promotion_until_the_course_is_passed(
    operator_user, settings, monkeypatch
):
    settings.PROMOTION_REQUIRED_COURSE = "models-101"
    passed: set[int] = set()
    module = types.ModuleType("courses.selectors")
    module.course_passed = lambda *, user, course_slug: (
        course_slug == "models-101" and user.pk in passed
    )
    if "courses.selectors" in sys.modules:
        monkeypatch.setattr(sys.modules["courses.selectors"], "course_passed", module.course_passed)
    else:
        monkeypatch.setitem(sys.modules, "courses.selectors", module)
    version = factories.ModelVersionFactory(task=Task.CF)

    with pytest.raises(CourseGateError, match="models-101"):
        services.model_promote(version=version, user=operator_user)
    assert selectors.active_version(Task.CF) is None
    with pytest.raises(CommandError, match="models-101"):
        call_command("model_promote", str(version.pk), "--user", operator_user.username)

    passed.add(operator_user.pk)
    services.model_promote(version=version, user=operator_user)
    assert selectors.active_version(Task.CF) == version


def test_model_promote_and_rollback_commands(operator_user, capsys):
    first = factories.ModelVersionFactory(task=Task.SENTIMENT)
    second = factories.ModelVersionFactory(task=Task.SENTIMENT)
    call_command("model_promote", str(first.pk), "--user", operator_user.username)
    call_command("model_promote", str(second.pk), "--user", operator_user.username)
    assert "is now active" in capsys.readouterr().out
    call_command("model_rollback", "sentiment", "--user", operator_user.username)
    assert selectors.active_version(Task.SENTIMENT) == first
    assert "Rolled back" in capsys.readouterr().out
    with pytest.raises(CommandError, match="No user named"):
        call_command("model_promote", str(first.pk), "--user", "nobody")
    with pytest.raises(CommandError, match="already the active"):
        call_command("model_promote", str(first.pk), "--user", operator_user.username)
    audit = AuditLog.objects.filter(action__startswith="model.").order_by("created_at", "id")
    assert [a.actor_name for a in audit] == [operator_user.username] * 3


def test_served_retriever_versions_include_strategy_pins(operator_user, products):
    active = _with_vectors(
        factories.ModelVersionFactory(task=Task.RETRIEVER, is_active=True), products
    )
    pinned = factories.ModelVersionFactory(task=Task.RETRIEVER)
    factories.ModelVersionFactory(task=Task.RETRIEVER)  # neither active nor pinned
    assert [v.pk for v in selectors.served_retriever_versions()] == [active.pk]

    from django.apps import apps

    from recommend import services as recommend_services

    recommend_services.strategy_ensure_defaults()  # a transactional test may have flushed them
    strategy_model = apps.get_model("recommend", "Strategy")
    strategy = strategy_model.objects.first()
    assert strategy is not None, "the recommend migrations create the default strategies"
    strategy_model.objects.filter(pk=strategy.pk).update(retriever_version=pinned)
    assert [v.pk for v in selectors.served_retriever_versions()] == [active.pk, pinned.pk]
    # The pinned version has no vectors: the incremental beat task has work to do.
    assert selectors.products_needing_embedding([pinned.pk])


def test_compare_with_active_lists_metrics_side_by_side():
    factories.ModelVersionFactory(
        task=Task.INTENT, is_active=True, metrics={"accuracy": 0.5, "macro_f1": 0.4}
    )
    candidate = factories.ModelVersionFactory(
        task=Task.INTENT, metrics={"accuracy": 0.75, "valid": {"accuracy": 0.7}}
    )
    active, rows = selectors.compare_with_active(candidate)
    table = {r.name: (r.value, r.active_value, r.delta) for r in rows}
    assert table["accuracy"] == (0.75, 0.5, 0.25)
    assert table["macro_f1"] == (None, 0.4, None)
    assert table["valid.accuracy"] == (0.7, None, None)
    assert active.is_active


def test_compare_uses_the_active_versions_figures_on_the_same_split():
    active = factories.ModelVersionFactory(task=Task.RETRIEVER, is_active=True, metrics={})
    candidate = factories.ModelVersionFactory(
        task=Task.RETRIEVER,
        metrics={
            "ndcg@10": 0.2,
            "active_same_split": {"ndcg@10": 0.15},
            "active_version": active.pk,
        },
    )
    _, rows = selectors.compare_with_active(candidate)
    table = {r.name: (r.value, r.active_value) for r in rows}
    assert table == {"ndcg@10": (0.2, 0.15)}
    assert abs(rows[0].delta - 0.05) < 1e-9
