"""``precompute_answer_summaries``: summaries of the most frequent support questions, written
ahead so ``/api/v1/answers?summary=true`` serves them without a generator call."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db.models import Count
from django.utils import timezone

from catalog.knowledge.models import AnswerSummary
from catalog.models import SearchLog
from recommend.engine.answer_summary import Passage
from recommend.selectors import active_model
from recommend.serving import answers, loaders
from training.context import JobContext

#: The generation budget of one question in the job (no shopper waits for it).
JOB_TIMEOUT_S = 300.0


def frequent_support_questions(*, days: int, min_searches: int, top: int) -> list[tuple[str, int]]:
    """``[(normalised question, searches)]``, most frequent first, of searches served with the
    support intent in the last ``days``."""
    since = timezone.now() - timedelta(days=days)
    rows = (
        SearchLog.objects.filter(intent="support", timestamp__gte=since)
        .exclude(normalised_query="")
        .values("normalised_query")
        .annotate(n=Count("id"))
        .filter(n__gte=min_searches)
        .order_by("-n", "normalised_query")[:top]
    )
    return [(row["normalised_query"], row["n"]) for row in rows]


def run(ctx: JobContext) -> None:
    p = ctx.params
    source = settings.AISLE_GENERATOR_MODEL
    if not source:
        raise ValidationError(
            "No generator is configured: set AISLE_GENERATOR_MODEL to summarise answers."
        )
    retriever = active_model("retriever")
    retriever_id = retriever.id if retriever is not None else None
    with ctx.stage("pick questions", 0.0, 0.05):
        questions = frequent_support_questions(
            days=p["days"], min_searches=p["min_searches"], top=p["top"]
        )
        # Summaries of another retriever or generator no longer fit what is served.
        retired, _ = AnswerSummary.objects.exclude(
            retriever_id=retriever_id, generator=source
        ).delete()
        ctx.log(
            f"{len(questions)} support questions searched at least {p['min_searches']} times in "
            f"{p['days']} days; retriever #{retriever_id or '-'}, generator {source}; "
            f"{retired} summaries of another retriever or generator retired"
        )
    summariser = loaders.answer_summariser(source)
    statuses: dict[str, int] = {}
    written = 0
    with ctx.stage("summarise", 0.05, 1.0):
        for number, (question, searches) in enumerate(questions, start=1):
            ctx.check_cancel()
            category = answers.question_category(question)
            found = answers.answers(question, retriever, category=category)
            passages = [Passage(a["passage"], a["heading"], a["text"]) for a in found]
            outcome = summariser.summarise(question, passages, timeout_s=JOB_TIMEOUT_S)
            statuses[outcome.status] = statuses.get(outcome.status, 0) + 1
            if outcome.status == "ok":
                AnswerSummary.objects.update_or_create(
                    query=question,
                    retriever_id=retriever_id,
                    defaults={
                        "generator": source,
                        "passages": [a["passage"] for a in found],
                        "text": outcome.text,
                        "citations": outcome.citations,
                        "searches": searches,
                    },
                )
                written += 1
            ctx.progress(number / len(questions), number, len(questions), None, {})
    ctx.log(f"{written} summaries written; outcomes {statuses}")
    ctx.finish(
        None,
        {
            "questions": len(questions),
            "written": written,
            "outcomes": statuses,
            "retriever": retriever_id,
            "retired": retired,
        },
    )
