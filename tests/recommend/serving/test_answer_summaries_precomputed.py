"""Summaries of frequent support questions written ahead: ``precompute_answer_summaries`` picks
the most frequent support searches of the log, /api/v1/answers?summary=true then serves them
without a generator call, and a knowledge-base change or another retriever retires them.

The generator is a plain function standing in for the model (as in the summary engine's
tests): what is under test is when it is called, not what a model writes."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from catalog.knowledge.models import AnswerSummary
from catalog.knowledge.services import knowledge_import_file, passages_rebuild
from catalog.models import SearchLog
from platform_core.caches import bump_models_generation
from recommend.engine.answer_summary import Summariser
from recommend.serving import loaders
from tests.factories.training import ModelVersionFactory
from training import services
from training.models import Job

pytestmark = pytest.mark.django_db

KB = """\
# Returns and refunds
external_id: returns
category: returns

The refund is paid to the original payment method within five working days.

# I forgot my password
external_id: password
category: account

Choose Forgot password on the sign-in page; we email a link that is valid for one hour.
"""
GENERATOR = "test-generator"


@pytest.fixture
def generator(serving_state, settings):
    """The generator setting, answered by a function that counts its calls."""
    calls: list[str] = []

    def generate(prompt: str) -> str:
        calls.append(prompt)
        return "See the policy [1]."

    settings.AISLE_GENERATOR_MODEL = GENERATOR
    settings.ANSWERS_SUMMARY_TIMEOUT_MS = 60_000
    loaders._summarisers.put(GENERATOR, Summariser(generate))
    report = knowledge_import_file(kind="articles", source=KB.encode(), filename="help.md")
    assert report.ok, report.errors
    now = timezone.now()
    searches = [("refund", "support")] * 3 + [("forgot password", "support")] * 2
    searches += [("refund policy", "support")] + [("red shoes", "browse")] * 5
    SearchLog.objects.bulk_create(
        SearchLog(
            query=q,
            normalised_query=q,
            intent=intent,
            result_count=3,
            latency_ms=5.0,
            request_id=f"r{n}",
            timestamp=now - timedelta(hours=n),
        )
        for n, (q, intent) in enumerate(searches)
    )
    return calls


def test_frequent_support_questions_are_summarised_ahead_and_served_without_a_call(
    generator, operator_user, storefront
):
    job = services.job_run(
        job_id=services.job_launch(
            kind="precompute_answer_summaries", params={}, user=operator_user
        ).pk
    )
    assert job.status == Job.Status.SUCCEEDED, job.error
    # the two support questions searched at least twice; never the browse one or the single one
    assert job.metrics["questions"] == 2 and job.metrics["written"] == 2
    assert sorted(AnswerSummary.objects.values_list("query", flat=True)) == [
        "forgot password",
        "refund",
    ]
    assert len(generator) == 2

    body = storefront.get("/api/v1/answers", {"q": "Refund", "summary": "true"}).json()
    assert body["summary"]["precomputed"] is True and body["summary"]["status"] == "ok"
    assert body["summary"]["citations"] == [body["answers"][0]["passage"]]
    assert len(generator) == 2, "served without a generator call"

    other = storefront.get("/api/v1/answers", {"q": "refund policy", "summary": "true"}).json()
    assert "precomputed" not in other["summary"] and len(generator) == 3  # not frequent: live

    # A knowledge-base change rebuilds the passages: the summaries written ahead are gone.
    passages_rebuild()
    assert not AnswerSummary.objects.exists()
    live = storefront.get("/api/v1/answers", {"q": "refund", "summary": "true"}).json()
    assert "precomputed" not in live["summary"] and len(generator) == 4


def test_another_retriever_does_not_serve_a_summary_written_for_the_old_one(
    generator, operator_user, storefront
):
    services.job_run(
        job_id=services.job_launch(
            kind="precompute_answer_summaries", params={}, user=operator_user
        ).pk
    )
    assert AnswerSummary.objects.filter(retriever=None).count() == 2
    ModelVersionFactory(task="retriever", is_active=True, name="packaged MiniLM")
    bump_models_generation()
    body = storefront.get("/api/v1/answers", {"q": "refund", "summary": "true"}).json()
    assert "precomputed" not in body["summary"] and len(generator) == 3
