"""Lab checks of the operations course's platform modules (registered with
``courses.labs.register_check``; the app config imports this module): recovering the dead
letters (reliability), quantising the active retriever (efficiency) and reviewing drafted copy.

Two of these labs plant something on the learner's store when the lab starts
(``courses.labs.SETUPS``): served-request rows in the ``served`` buffer's dead-letter list, and
a drafted description the guardrails mark. Each planting is recorded in the audit log
(``academy.lab_plant`` on the lab attempt, by the system), which is where the check finds what
was planted; leaving the lab takes back what is still there (``courses.labs.TEARDOWNS``). The
checks themselves only read.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from courses.labs import (
    SETUPS,
    TEARDOWNS,
    CheckItem,
    CheckResult,
    _jobs,
    _model,
    _not_available,
    register_check,
)

PLANT_ACTION = "academy.lab_plant"


def _attempt(*, user, started_at: datetime):
    from courses.models import LabAttempt

    return LabAttempt.objects.filter(user=user, started_at=started_at).order_by("-id").first()


def _record_plant(*, attempt, details: dict) -> None:
    from platform_core.services import audit_record

    audit_record(
        actor=None,
        action=PLANT_ACTION,
        obj=attempt,
        details={"user": attempt.user_id, "lab": attempt.lab.slug, **details},
    )


def planted(*, user, started_at: datetime) -> dict:
    """What the lab planted for the attempt the check runs for (the audit row's details)."""
    AuditLog = _model("platform_core", "AuditLog")
    attempt = _attempt(user=user, started_at=started_at)
    if attempt is None:
        return {}
    row = (
        AuditLog.objects.filter(
            action=PLANT_ACTION, object_type="courses.labattempt", object_id=str(attempt.pk)
        )
        .order_by("-id")
        .first()
    )
    return dict(row.details) if row is not None else {}


# --- the reliability lab: recover the dead letters ---------------------------------------------------

#: how many served-request rows the lab dead-letters, and the error they carry (PostgreSQL's own
#: message for a write in a read-only transaction: the database refused writes for a while)
DEAD_LETTER_ROWS = 3
DEAD_LETTER_ERROR = (
    "OperationalError: cannot execute INSERT in a read-only transaction "
    "(the database was read-only during a maintenance window, since ended)"
)
#: how far back from the tail of the buffer the check looks for rows queued again
PENDING_TAIL = 2000


def _search_strategy_name() -> str:
    Strategy = _model("recommend", "Strategy")
    found = Strategy.objects.filter(surface="search", is_default=True).first()
    return found.name if found is not None else "default-search"


def plant_dead_letters(*, user, attempt) -> None:
    """Dead-letter ``DEAD_LETTER_ROWS`` served searches of the learner's store (real products,
    a session of the lab's own) with a transient error whose cause is gone: retried, they land."""
    from django.utils import timezone

    from recommend.analytics.buffers import SERVED
    from recommend.engine.text import normalise

    Product = _model("catalog", "Product")
    products = list(
        Product.objects.filter(active=True)
        .exclude(category__isnull=True)
        .order_by("id")
        .values("external_id", "title", "category_id")[:400]
    )
    if not products:
        return
    step = max(1, len(products) // DEAD_LETTER_ROWS)
    chosen = [products[(attempt.pk + i * step) % len(products)] for i in range(DEAD_LETTER_ROWS)]
    strategy = _search_strategy_name()
    now = timezone.now()
    request_ids = []
    for n, product in enumerate(chosen):
        same = [p["external_id"] for p in products if p["category_id"] == product["category_id"]]
        shown = [product["external_id"]] + [e for e in same if e != product["external_id"]][:4]
        request_id = f"academy-lab-{attempt.pk}-{n}-{uuid.uuid4().hex[:12]}"
        row = {
            "request_id": request_id,
            "endpoint": "search",
            "surface": "search",
            "strategy": strategy,
            "variant": "",
            "shopper_id": None,
            "session": f"academy-lab-{attempt.pk}",
            "query": normalise(product["title"], 500),
            "shown": shown,
            "result_count": len(shown),
            "latency_ms": 14.0 + n,
            "timings": {"total": 14.0 + n},
            "cache_hit": False,
            "timestamp": (now - timedelta(minutes=20 - n)).isoformat(),
        }
        SERVED.dead_letter_add(row, DEAD_LETTER_ERROR)
        request_ids.append(request_id)
    _record_plant(
        attempt=attempt,
        details={"buffer": SERVED.name, "request_ids": request_ids, "session": row["session"]},
    )


def _dead_letter_ids(buffer, wanted: set[str]) -> dict[str, str]:
    """The planted request ids still in ``buffer``'s dead-letter list → their raw entry."""
    return {
        letter.request_id: letter.raw
        for letter in buffer.dead_letters(limit=100_000)
        if letter.request_id in wanted
    }


def _pending_ids(buffer, wanted: set[str]) -> set[str]:
    """The planted request ids queued again at the tail of the buffer (retried, not flushed)."""
    import json

    from platform_core.buffers import redis_client

    found = set()
    for raw in redis_client().lrange(buffer.key, -PENDING_TAIL, -1):
        try:
            request_id = str(json.loads(raw).get("request_id") or "")
        except (ValueError, AttributeError):
            continue
        if request_id in wanted:
            found.add(request_id)
    return found


def remove_dead_letters(*, user, attempt) -> None:
    """Leaving the lab: discard the planted rows still in the dead-letter list."""
    from platform_core import buffers

    details = planted(user=user, started_at=attempt.started_at)
    buffer = buffers.REGISTRY.get(details.get("buffer", ""))
    if buffer is None:
        return
    for raw in _dead_letter_ids(buffer, set(details.get("request_ids") or ())).values():
        buffer.dead_letter_discard(raw)


@register_check("dead_letters_recovered")
def dead_letters_recovered(*, user, started_at: datetime) -> CheckResult:
    """The served-request rows the lab dead-lettered when it started were retried by the
    learner (Platform → Dead letters, audited), are out of the dead-letter list, and every one
    is stored in the served-request log once, as it was queued: nothing lost."""
    from platform_core import buffers

    ServedRequest = _model("analytics", "ServedRequest")
    AuditLog = _model("platform_core", "AuditLog")
    details = planted(user=user, started_at=started_at)
    buffer = buffers.REGISTRY.get(details.get("buffer", ""))
    ids = list(details.get("request_ids") or ())
    if ServedRequest is None or buffer is None or not ids:
        return CheckResult.from_items(
            [
                CheckItem(
                    "The lab's dead letters were planted",
                    False,
                    "Nothing was planted for this attempt (the store has no active products?): "
                    "leave the lab and start it again.",
                )
            ]
        )
    wanted = set(ids)
    dead = _dead_letter_ids(buffer, wanted)
    items = [
        CheckItem(
            f"None of the {len(ids)} rows waits in the {buffer.name} dead letters any more",
            not dead,
            f"{len(dead)} of {len(ids)} still there: open Platform → Dead letters, read the "
            "error, and retry them once its cause is gone."
            if dead
            else "The list no longer holds them.",
        )
    ]
    retries = AuditLog.objects.filter(
        actor=user, action="dead_letter.retry", created_at__gte=started_at
    )
    retried = sum(int((r.details or {}).get("rows") or 0) for r in retries)
    discarded = AuditLog.objects.filter(
        actor=user, action="dead_letter.discard", created_at__gte=started_at
    ).exists()
    items.append(
        CheckItem(
            "You retried them from the dead-letter page",
            retried >= len(ids),
            f"{retried} row(s) retried by you since you started the lab."
            if retried
            else "No retry by you since you started the lab.",
        )
    )
    stored = {
        r.request_id: r
        for r in ServedRequest.objects.filter(request_id__in=ids).only(
            "request_id", "shown", "query", "session"
        )
    }
    intact = [
        rid
        for rid, r in stored.items()
        if r.session == details.get("session") and len(r.shown) > 0 and all(r.shown)
    ]
    missing = [rid for rid in ids if rid not in stored]
    pending = _pending_ids(buffer, set(missing))
    lost = [rid for rid in missing if rid not in pending and rid not in dead]
    if not missing and len(intact) == len(ids):
        detail = (
            f"All {len(ids)} are in the served-request log (session {details.get('session')}), "
            "each once, with the products they showed."
        )
    elif lost:
        detail = (
            f"{len(lost)} row(s) are in neither the log, the buffer nor the dead letters: lost"
            + (" (you discarded dead letters: a discarded row is gone)." if discarded else ".")
            + " Leave the lab and start it again."
        )
    elif pending:
        detail = (
            f"{len(pending)} row(s) are queued again and wait for the next flush (every 5 "
            "seconds): run the check again in a moment."
        )
    else:
        detail = f"{len(stored)} of {len(ids)} stored so far."
    items.append(
        CheckItem(
            f"All {len(ids)} rows are stored in the served-request log, nothing lost",
            not missing and len(intact) == len(ids),
            detail,
        )
    )
    return CheckResult.from_items(items)


SETUPS["dead_letters_recovered"] = plant_dead_letters
TEARDOWNS["dead_letters_recovered"] = remove_dead_letters


# --- the efficiency lab: quantise the active retriever -------------------------------------------


def _child_items(child, *, user, started_at: datetime) -> list[CheckItem]:
    from training import selectors as training_selectors
    from training.activation import parent_tolerance_check
    from training.services import parent_tolerance

    parent = child.parent
    # The retriever the child replaced when it was promoted; before that, the active one now.
    if child.promoted_at is not None:
        replaced = child.previous_active_id
    else:
        active = training_selectors.active_version("retriever")
        replaced = active.pk if active is not None else None
    items = [
        CheckItem(
            "It quantised the active retriever",
            parent is not None and parent.pk == replaced,
            f"Version #{child.pk} is the int8 child of #{parent.pk} “{parent.name}”"
            + (
                "."
                if parent.pk == replaced
                else f", but the active retriever was #{replaced}: quantise the active one "
                "(leave Retriever version empty)."
            )
            if parent is not None
            else f"Version #{child.pk} records no parent.",
        )
    ]
    tolerance = parent_tolerance()
    within, why = parent_tolerance_check(child.metrics or {}, tolerance)
    items.append(
        CheckItem(
            f"Its NDCG@10 is within {tolerance:.1%} of its parent's (QUANTIZED_NDCG_TOLERANCE)",
            within,
            f"Version #{child.pk}: {why}.",
        )
    )
    promoted = (
        child.promoted_by_id == user.pk
        and child.promoted_at is not None
        and child.promoted_at >= started_at
    )
    if promoted and child.is_active:
        detail = f"Version #{child.pk} serves the search now (promoted {child.promoted_at:%H:%M})."
    elif promoted:
        detail = f"You promoted #{child.pk}, but another version is active now."
    else:
        detail = (
            f"Not promoted by you yet: open version #{child.pk} (Training → Model versions) "
            "and press Promote."
        )
    items.append(
        CheckItem(
            "You promoted it and it is the active retriever", promoted and child.is_active, detail
        )
    )
    return items


@register_check("quantized_within_tolerance")
def quantized_within_tolerance(*, user, started_at: datetime) -> CheckResult:
    """A ``quantize`` job the learner launched succeeded; its int8 child is a child of the
    retriever that was active, its NDCG@10 (measured by the job beside its parent's, on the
    same queries) stays within ``QUANTIZED_NDCG_TOLERANCE`` of the parent's, and the learner
    promoted it: it is the active retriever."""
    if _model("training", "Job") is None:
        return _not_available("Training jobs")
    jobs = list(_jobs(user=user, started_at=started_at, kind="quantize"))
    done = [j for j in jobs if j.status == "succeeded" and j.result_version_id]
    if done:
        first = CheckItem(
            "A quantize job you launched succeeded",
            True,
            f"{len(done)} succeeded (latest: job #{done[0].pk}, version #{done[0].result_version_id}).",
        )
    elif jobs:
        states = ", ".join(f"#{j.pk} {j.status}" for j in jobs[:5])
        first = CheckItem(
            "A quantize job you launched succeeded",
            False,
            f"Your jobs since the lab started: {states}. Wait for one to finish.",
        )
    else:
        first = CheckItem(
            "A quantize job you launched succeeded",
            False,
            "No quantize job launched by you since you started the lab (Training → Jobs → "
            "Launch a job → Quantise a retriever (int8)).",
        )
    if not done:
        return CheckResult.from_items(
            [
                first,
                CheckItem(
                    "Its quality is within tolerance, and you promoted it",
                    False,
                    "Needs a succeeded job first.",
                ),
            ]
        )
    # the child that meets the most requirements (the latest on a tie)
    best = max(
        (
            _child_items(j.result_version, user=user, started_at=started_at)
            for j in done  # newest first: max keeps the first of equals
        ),
        key=lambda items: sum(i.ok for i in items),
    )
    return CheckResult.from_items([first, *best])


# --- the drafted-copy lab: review the approval queue ----------------------------------------------

#: who wrote the planted draft, as the queue shows it (honest: the lab, not a drafter)
PLANTED_DRAFTER = "academy-lab"
#: the claims the planted draft makes, tried in turn until one is a value the product lacks
PLANTED_CLAIMS = ("solid oak", "pure cashmere", "titanium", "genuine leather", "bamboo")


def plant_bad_draft(*, user, attempt) -> None:
    """A pending draft for one well-described product (the job never drafts for it) that
    claims a material the product does not have; the real guardrails mark it."""
    from catalog.copywriting import services as copy_services
    from catalog.copywriting.logic.drafting import Draft, is_thin
    from catalog.copywriting.models import CopyDraft, DraftStatus

    Product = _model("catalog", "Product")
    pending = CopyDraft.objects.filter(status=DraftStatus.PENDING).values("product_id")
    candidates = (
        Product.objects.filter(active=True)
        .exclude(pk__in=pending)
        .exclude(description="")
        .order_by("id")
        .only("id", "title", "description")
    )
    product = None
    for offset, candidate in enumerate(candidates[:200]):
        if offset >= attempt.pk % 50 and not is_thin(candidate.description, min_words=30):
            product = candidate
            break
    if product is None:
        return
    for claim in PLANTED_CLAIMS:
        text = (
            f"Meet the {product.title}: made of {claim}, finished by hand and built to last "
            "for years, with a lifetime warranty."
        )
        (draft,) = copy_services.drafts_store(
            drafted=[(Draft(product.pk, text, PLANTED_DRAFTER), [], product.description)]
        )
        copy_services.draft_recheck(draft=draft)
        draft.save(update_fields=["checks", "passes_checks"])
        if not draft.passes_checks:
            break
        draft.delete()  # the product has this material after all: try another claim
    else:
        return
    _record_plant(attempt=attempt, details={"draft": draft.pk, "product": product.pk})


def remove_bad_draft(*, user, attempt) -> None:
    """Leaving the lab: the planted draft, if still pending, is withdrawn (superseded)."""
    from catalog.copywriting.models import CopyDraft, DraftStatus

    draft_id = planted(user=user, started_at=attempt.started_at).get("draft")
    if draft_id:
        CopyDraft.objects.filter(pk=draft_id, status=DraftStatus.PENDING).update(
            status=DraftStatus.SUPERSEDED
        )


@register_check("copy_drafts_reviewed")
def copy_drafts_reviewed(*, user, started_at: datetime) -> CheckResult:
    """A ``generate_copy`` job the learner launched succeeded; every draft of it that passes
    every guardrail was reviewed by the learner, at least one approved (published); the draft
    the lab planted (marked by the guardrails) was rejected by the learner; and no draft the
    guardrails mark was approved by the learner."""
    CopyDraft = _model("copywriting", "CopyDraft")
    if CopyDraft is None or _model("training", "Job") is None:
        return _not_available("Drafted copy")
    jobs = list(_jobs(user=user, started_at=started_at, kind="generate_copy"))
    done = [j for j in jobs if j.status == "succeeded"]
    drafts = list(
        CopyDraft.objects.filter(job_id__in=[j.pk for j in done])
        .exclude(status="superseded")
        .select_related("product")
    )
    if done:
        first = CheckItem(
            "A generate_copy job you launched succeeded",
            True,
            f"Job #{done[0].pk}: {len(drafts)} draft(s) in the queue from your jobs.",
        )
    elif jobs:
        states = ", ".join(f"#{j.pk} {j.status}" for j in jobs[:5])
        first = CheckItem(
            "A generate_copy job you launched succeeded",
            False,
            f"Your jobs since the lab started: {states}. Wait for one to finish.",
        )
    else:
        first = CheckItem(
            "A generate_copy job you launched succeeded",
            False,
            "No generate_copy job launched by you since you started the lab (Training → Jobs → "
            "Launch a job → Draft product descriptions).",
        )
    items = [first]
    passing = [d for d in drafts if d.passes_checks]
    waiting = [d for d in passing if d.status == "pending"]
    approved = [d for d in passing if d.status == "approved" and d.reviewed_by_id == user.pk]
    if not done:
        detail = "Needs a succeeded job first."
    elif not passing:
        detail = "Your job wrote no draft that passes every check: run it again."
    elif waiting:
        detail = (
            f"{len(waiting)} of {len(passing)} passing draft(s) still wait for review (e.g. "
            f"{waiting[0].product.title}): approve them (the bulk action publishes only "
            "passing drafts), or reject one you would not publish."
        )
    elif not approved:
        detail = "None approved: a passing draft you agree with should be published."
    else:
        detail = f"{len(approved)} published by you, {len(passing) - len(approved)} rejected."
    items.append(
        CheckItem(
            "You reviewed your job's drafts that pass every check, and approved them",
            bool(passing) and not waiting and bool(approved),
            detail,
        )
    )
    draft_id = planted(user=user, started_at=started_at).get("draft")
    bad = CopyDraft.objects.filter(pk=draft_id).select_related("product").first()
    if bad is None:
        items.append(
            CheckItem(
                "You rejected the draft the guardrails marked",
                False,
                "The lab planted no draft for this attempt: leave the lab and start it again.",
            )
        )
    else:
        marks = ", ".join(c.get("name", "") for c in bad.failed_checks) or "none"
        if bad.status == "rejected" and bad.reviewed_by_id == user.pk:
            detail = f"Rejected: the draft for {bad.product.title} (marked: {marks})."
        elif bad.status == "approved":
            detail = (
                f"You published the draft for {bad.product.title} although the guardrails "
                f"marked it ({marks}): its description now claims what the product is not. The "
                "audit log keeps the previous description."
            )
        else:
            detail = (
                f"The draft for {bad.product.title} is {bad.get_status_display()}: filter the "
                "queue by guardrails, read its marks and reject it."
            )
        items.append(
            CheckItem(
                "You rejected the draft the guardrails marked",
                bad.status == "rejected" and bad.reviewed_by_id == user.pk,
                detail,
            )
        )
    marked = list(
        CopyDraft.objects.filter(
            reviewed_by=user, reviewed_at__gte=started_at, status="approved", passes_checks=False
        ).select_related("product")[:5]
    )
    items.append(
        CheckItem(
            "No draft the guardrails marked was published by you",
            not marked,
            "; ".join(f"#{d.pk} {d.product.title}" for d in marked) + " — published while marked."
            if marked
            else "None.",
        )
    )
    return CheckResult.from_items(items)


SETUPS["copy_drafts_reviewed"] = plant_bad_draft
TEARDOWNS["copy_drafts_reviewed"] = remove_bad_draft
