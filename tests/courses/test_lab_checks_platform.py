"""The reliability and efficiency labs' checks against recorded platform state, for the wrong
things a learner can do that the end-to-end tests (``test_labs_platform.py``) do not reach:
someone else recovering the dead letters, a child of another retriever, a child beyond the
tolerance, a child someone else promoted, someone else's job. Fast: no job runs here."""

from __future__ import annotations

import pytest
from django.utils import timezone

from courses import services
from platform_core.buffers import redis_client
from recommend.analytics.buffers import SERVED
from tests.courses.conftest import build_course
from tests.factories.catalog import ProductFactory
from tests.factories.training import JobFactory, ModelVersionFactory
from training.models import Job, ModelVersion

pytestmark = pytest.mark.django_db


def _items(result) -> dict[str, bool]:
    return {label: ok for label, ok, _detail in result.items}


@pytest.fixture
def empty_served_buffer():
    client = redis_client()
    client.delete(SERVED.key, SERVED.dead_key)
    yield
    client.delete(SERVED.key, SERVED.dead_key)


def test_dead_letters_recovered_by_someone_else_do_not_pass(
    empty_served_buffer, learner_user, operator_user
):
    """An operator retries the planted rows and the flush stores them: nothing is lost, but the
    learner did not recover them."""
    from recommend.analytics.services import served_flush

    ProductFactory.create_batch(6)
    sc = build_course(slug="reliability-course", check_name="dead_letters_recovered")
    services.lab_start(user=learner_user, lab=sc.lab)
    letters = SERVED.dead_letters()
    assert len(letters) == 3
    assert all("read-only transaction" in letter.error for letter in letters)
    for letter in letters:
        assert SERVED.dead_letter_retry(letter.raw)  # as the operator's Retry does
    served_flush()
    items = _items(services.lab_check(user=learner_user, lab=sc.lab))
    assert items == {
        "None of the 3 rows waits in the served dead letters any more": True,
        "You retried them from the dead-letter page": False,
        "All 3 rows are stored in the served-request log, nothing lost": True,
    }


def _quantize_job(user, child: ModelVersion) -> Job:
    return JobFactory(
        kind="quantize",
        queue="cpu",
        params={"version": None, "k": 10},
        created_by=user,
        status=Job.Status.SUCCEEDED,
        result_version=child,
    )


def _child(parent: ModelVersion, ndcg: float, parent_ndcg: float = 0.8) -> ModelVersion:
    return ModelVersionFactory(
        parent=parent,
        vector_space=parent,
        precision="int8",
        metrics={
            "k": 10,
            "ndcg@10": ndcg,
            "parent_version": parent.pk,
            "parent_same_split": {"ndcg@10": parent_ndcg},
        },
    )


def test_quantized_within_tolerance_refuses_the_wrong_children(learner_user, operator_user):
    active = ModelVersionFactory(is_active=True)
    older = ModelVersionFactory()
    sc = build_course(slug="efficiency-course", check_name="quantized_within_tolerance")
    services.lab_start(user=learner_user, lab=sc.lab)

    # someone else's job does not count
    _quantize_job(operator_user, _child(active, 0.8))
    assert not _items(services.lab_check(user=learner_user, lab=sc.lab))[
        "A quantize job you launched succeeded"
    ]

    # a child of a retriever that is not the active one
    _quantize_job(learner_user, _child(older, 0.8))
    items = _items(services.lab_check(user=learner_user, lab=sc.lab))
    assert items["A quantize job you launched succeeded"]
    assert not items["It quantised the active retriever"]

    # a child of the active one, beyond the 1 % tolerance (2 % below its parent)
    lossy = _child(active, 0.784)
    _quantize_job(learner_user, lossy)
    items = _items(services.lab_check(user=learner_user, lab=sc.lab))
    assert items["It quantised the active retriever"]
    assert not items["Its NDCG@10 is within 1.0% of its parent's (QUANTIZED_NDCG_TOLERANCE)"]

    # within tolerance, but promoted by someone else
    good = _child(active, 0.799)
    _quantize_job(learner_user, good)
    ModelVersion.objects.filter(pk=active.pk).update(is_active=False)
    ModelVersion.objects.filter(pk=good.pk).update(
        is_active=True,
        promoted_by=operator_user,
        promoted_at=timezone.now(),
        previous_active=active,
    )
    result = services.lab_check(user=learner_user, lab=sc.lab)
    items = _items(result)
    assert items["It quantised the active retriever"], result.items
    assert items["Its NDCG@10 is within 1.0% of its parent's (QUANTIZED_NDCG_TOLERANCE)"]
    assert not items["You promoted it and it is the active retriever"]
    assert not result.passed
