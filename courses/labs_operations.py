"""Lab checks of the operations course (registered with ``courses.labs.register_check``; the
app config imports this module): the data-value lab and the cockpit's zero-result lab.

Like every check they only read: the learner's jobs and the reports they wrote, the learner's
answer to the lab's question (kept on their lab attempt), the search analytics' rollups, the
audit log of rule changes, and a read-only replay of a search through the live serving path
(``ServingContext.read_only``: no search log, no served request, nothing cached).
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta

from courses.labs import CheckItem, CheckResult, _model, _not_available, register_check

#: the zero-result lab looks for the worst query in the analytics over this window before the
#: learner started (the search analytics' default range)
ZERO_RESULT_WINDOW = timedelta(days=7)
#: the audited rule changes that can fix a query (created or updated in the admin)
FIX_OBJECTS = {"recommend.synonymset": "synonym set", "recommend.pinnedresult": "pinned result"}


def lab_answer(*, user, started_at: datetime) -> str:
    """The learner's answer to the lab's question on the attempt the check runs for."""
    from courses.models import LabAttempt

    attempt = LabAttempt.objects.filter(user=user, started_at=started_at).order_by("-id").first()
    return attempt.answer if attempt is not None else ""


def _words(text: str) -> set[str]:
    return set(re.findall(r"[a-z0-9]+", text.lower()))


def _names(row: dict) -> set[str]:
    """The ways a learner may name a report row: its source name or title, singular or plural."""
    names = set()
    for raw in (row.get("source", ""), row.get("title", "")):
        text = " ".join(re.findall(r"[a-z0-9]+", raw.lower().replace("_", " ")))
        if text:
            names |= {text, text.rstrip("s"), text.replace(" events", "")}
    return names


# --- the data-value lab ------------------------------------------------------------------------------


@register_check("data_value_most_valuable")
def data_value_most_valuable(*, user, started_at: datetime) -> CheckResult:
    """A ``data_value`` job (task cf) the learner launched succeeded and wrote its report, and
    the learner's answer names the report's most valuable source (the measured source whose
    removal costs the key metric most)."""
    Job = _model("training", "Job")
    Report = _model("training", "DataValueReport")
    if Job is None or Report is None:
        return _not_available("Data-value reports")
    jobs = list(
        Job.objects.filter(
            created_by=user, kind="data_value", created_at__gte=started_at, params__task="cf"
        ).order_by("-created_at")
    )
    done = [j for j in jobs if j.status == "succeeded"]
    if done:
        job_item = CheckItem(
            "A data_value job (task cf) you launched succeeded",
            True,
            f"{len(done)} succeeded (latest: job #{done[0].pk}).",
        )
    elif jobs:
        states = ", ".join(f"#{j.pk} {j.status}" for j in jobs[:5])
        job_item = CheckItem(
            "A data_value job (task cf) you launched succeeded",
            False,
            f"Your jobs since the lab started: {states}. Wait for one to finish.",
        )
    else:
        job_item = CheckItem(
            "A data_value job (task cf) you launched succeeded",
            False,
            "No data_value job with task cf launched by you since you started the lab.",
        )
    items = [job_item]
    report = Report.objects.filter(job__in=done).order_by("-created_at", "-id").first()
    items.append(
        CheckItem(
            "Its data-value report exists",
            report is not None,
            f"Report #{report.pk}: {report.metric} {report.baseline:.3f} with every source."
            if report is not None
            else "Needs a succeeded job first (Training → Data-value reports).",
        )
    )
    answer = lab_answer(user=user, started_at=started_at)
    measured = [r for r in (report.ablation if report else []) if not r.get("skipped")]
    if not measured:
        items.append(
            CheckItem(
                "You named the most valuable source",
                False,
                "Needs a report with measured sources first.",
            )
        )
        return CheckResult.from_items(items)
    top = max(measured, key=lambda r: r["change"])
    given = " ".join(re.findall(r"[a-z0-9]+", answer.lower()))
    named = bool(given) and given in _names(top)
    if not answer:
        detail = "Type the source's name in the answer box and run the check again."
    elif named:
        detail = (
            f"Yes: leaving out {top['title']} costs {top['change']:.3f} {report.metric} "
            f"(95 % interval {top['low']:.3f} to {top['high']:.3f})."
        )
    else:
        detail = (
            f"“{answer}” is not the source whose removal costs {report.metric} most in "
            f"report #{report.pk}: read the change column again."
        )
    items.append(CheckItem("You named the most valuable source", named, detail))
    return CheckResult.from_items(items)


# --- the zero-result lab ------------------------------------------------------------------------------


def worst_zero_result_query(*, before: datetime) -> dict | None:
    """The search analytics' first zero-result query over the window before ``before`` (most
    zero-result searches first): what the learner finds on the problem-queries page."""
    from recommend.analytics import selectors

    rows = selectors.problem_queries(before - ZERO_RESULT_WINDOW, before, kind="zero", limit=1)
    return rows[0] if rows else None


def replay_search(query: str) -> tuple[int, int]:
    """Replay ``query`` through the live search now, read-only (no search log, no served
    request, nothing cached), as an anonymous shopper: ``(results, matching)`` — the number of
    results, and how many of the first page match the query's words (a lexical hit, synonyms
    applied) or a pin for it. The encoder alone always finds *something* above the strategy's
    semantic minimum score; those nearest neighbours are not a fix."""
    from django.utils import timezone

    from recommend.serving import search
    from recommend.serving.context import serving_context

    ctx = serving_context(
        "search",
        shopper_external_id=None,
        session="",
        now=timezone.now(),
        simulated=False,
        read_only=True,
    )
    body = search.search(search.SearchParams(q=query[: search.QUERY_MAX_CHARS]), ctx)
    matching = sum(
        1
        for r in body["results"]
        if (r["explanation"]["retrievers"].get("lexical") or r["explanation"]["rules"])
    )
    return int(body["total"]), matching


def _fixes(*, user, started_at: datetime, query: str) -> list[str]:
    """The synonym sets and pinned results the learner created or changed since the lab started
    that are active now and touch ``query`` (a synonym set naming one of its words, a pin for
    the query itself): read from the audit log the rule admins write."""
    AuditLog = _model("platform_core", "AuditLog")
    SynonymSet = _model("recommend", "SynonymSet")
    PinnedResult = _model("recommend", "PinnedResult")
    changed = AuditLog.objects.filter(
        actor=user, created_at__gte=started_at, object_type__in=list(FIX_OBJECTS)
    ).exclude(action__endswith=".delete")
    ids: dict[str, set[int]] = {}
    for object_type, object_id in changed.values_list("object_type", "object_id"):
        if object_id.isdigit():
            ids.setdefault(object_type, set()).add(int(object_id))
    words = _words(query)
    found = []
    for rule in SynonymSet.objects.filter(pk__in=ids.get("recommend.synonymset", ()), active=True):
        if words & _words(f"{rule.sources} {rule.terms}"):
            found.append(f"synonym set “{rule.as_rule()}”")
    pins = PinnedResult.objects.filter(pk__in=ids.get("recommend.pinnedresult", ()), active=True)
    for pin in pins:
        if _words(pin.query) == words:
            found.append(f"pinned result for “{pin.query}”")
    return found


@register_check("zero_result_query_fixed")
def zero_result_query_fixed(*, user, started_at: datetime) -> CheckResult:
    """The worst zero-result query of the search analytics (the 7 days before the lab started),
    fixed by a synonym set (or a pinned result) the learner created or changed since, and the
    fix works: replayed live now, the query finds products that match it (its words, a synonym,
    a pin), so its zero-result rate on replay drops from the analytics' figure to 0 %."""
    if _model("analytics", "QueryRollup") is None or _model("recommend", "SynonymSet") is None:
        return _not_available("Search analytics and synonyms")
    worst = worst_zero_result_query(before=started_at)
    if worst is None:
        return CheckResult.from_items(
            [
                CheckItem(
                    "A zero-result query to fix",
                    False,
                    "The search analytics shows no zero-result search in the 7 days before you "
                    "started the lab: nothing to fix here (the demo store plants some).",
                )
            ]
        )
    query = worst["query"]
    before = worst["zero_result_share"]
    items = [
        CheckItem(
            "The worst zero-result query found",
            True,
            f"“{query}”: {worst['zero_results']} of {worst['searches']} searches found nothing "
            f"({before:.0%}) in the 7 days before you started.",
        )
    ]
    fixes = _fixes(user=user, started_at=started_at, query=query)
    items.append(
        CheckItem(
            f"You fixed “{query}” with a synonym set (or a pinned result)",
            bool(fixes),
            "; ".join(fixes)
            if fixes
            else "No active synonym set naming its words (or pin for it) created or changed by "
            "you since you started the lab.",
        )
    )
    total, matching = replay_search(query)
    if matching:
        detail = (
            f"On replay: {total} results, {matching} of the first page matching “{query}” or "
            f"your fix — the zero-result rate drops from {before:.0%} to 0 %."
        )
    elif total:
        detail = (
            f"On replay: {total} results, but none of the first page matches “{query}” or a "
            "synonym of it: they are only the encoder's nearest products. Shoppers still do not "
            "find what they asked for."
        )
    else:
        detail = f"On replay: still no result ({before:.0%} before): the live search finds nothing."
    items.append(CheckItem("Replayed live now, it finds matching products", bool(matching), detail))
    return CheckResult.from_items(items)


# --- the sentiment-spike lab ----------------------------------------------------------------------

#: the spike the learner looks for: a product's, detected on a day in this window before the check
SPIKE_WINDOW = timedelta(days=7)


@register_check("sentiment_spike_named")
def sentiment_spike_named(*, user, started_at: datetime) -> CheckResult:
    """Reviews have been scored (``score_reviews``, by the learner or by beat) and the learner's
    answer names the product of the most significant product-level spike of the last 7 days
    (lowest q-value, then most negatives): its external id or its name."""
    from django.utils import timezone

    Spike = _model("insights", "SentimentSpike")
    if Spike is None:
        return _not_available("Review sentiment")
    since = (timezone.now() - SPIKE_WINDOW).date()
    spike = (
        Spike.objects.filter(level="product", day__gte=since)
        .order_by("q_value", "-negatives", "-day", "id")
        .first()
    )
    items = [
        CheckItem(
            "A product's negative reviews spiked in the last 7 days",
            spike is not None,
            f"{spike.negatives} of {spike.reviews} reviews negative on {spike.day:%d %b} "
            f"(q = {spike.q_value:.2g})."
            if spike is not None
            else "No product spike detected in the last 7 days: run score_reviews (Training → "
            "Jobs) and look again.",
        )
    ]
    answer = lab_answer(user=user, started_at=started_at)
    if spike is None:
        items.append(CheckItem("You named the product", False, "Needs a detected spike first."))
        return CheckResult.from_items(items)
    external_id = spike.subject.partition(":")[2]
    given = " ".join(answer.lower().split())
    named = bool(given) and given in {external_id.lower(), " ".join(spike.name.lower().split())}
    if not answer:
        detail = "Type the product's id or name in the answer box and run the check again."
    elif named:
        detail = f"Yes: {spike.name} ({external_id})."
    else:
        detail = (
            f"“{answer}” is not the product with the most significant spike of the last 7 days: "
            "open Most negative products this week again."
        )
    items.append(CheckItem("You named the product", named, detail))
    return CheckResult.from_items(items)
