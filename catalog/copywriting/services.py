"""Writes of the copy drafts: storing what the job drafted, and the reviewer's edit, approval
and rejection. Only :func:`draft_approve` writes a product's description, audited, through
:func:`catalog.services.edits.product_save` (which marks the product for re-embedding). A
promotion line (a draft with a ``segment``) is published by its approval alone: it supersedes
the segment's previous approved line of the product and changes no product field."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from catalog.copywriting import selectors
from catalog.copywriting.logic.drafting import Draft
from catalog.copywriting.logic.guardrails import (
    AttributeVocabulary,
    Check,
    DuplicateIndex,
    check_draft,
    passes,
)
from catalog.copywriting.logic.promo_lines import checked_facts, line_settings
from catalog.copywriting.models import CopyDraft, DraftStatus
from catalog.models import Product
from catalog.services.edits import product_save
from platform_core.services import audit_record


@transaction.atomic
def drafts_store(
    *, drafted: Sequence[tuple[Draft, Sequence[Check], str]], job_id: int | None = None
) -> list[CopyDraft]:
    """Store ``(draft, its checks, the text it would replace)`` as pending drafts; an older
    pending draft of the same product and segment is superseded (one waits per product and
    segment; a description's segment is empty)."""
    by_segment: dict[str, list[int]] = {}
    for d, _c, _cur in drafted:
        by_segment.setdefault(d.segment, []).append(d.product_id)
    for segment, product_ids in by_segment.items():
        CopyDraft.objects.filter(
            product_id__in=product_ids, segment=segment, status=DraftStatus.PENDING
        ).update(status=DraftStatus.SUPERSEDED)
    return CopyDraft.objects.bulk_create(
        [
            CopyDraft(
                product_id=d.product_id,
                text=d.text,
                current_text=current,
                drafter=d.drafter,
                segment=d.segment,
                sources=list(d.sources),
                checks=[c.as_dict() for c in checks],
                passes_checks=passes(checks),
                job_id=job_id,
            )
            for d, checks, current in drafted
        ],
        batch_size=1000,
    )


def draft_recheck(*, draft: CopyDraft) -> list[Check]:
    """Run every guardrail on the draft's current text again (after an edit, or a change of
    the banned words) and store the verdicts. Reads the catalogue's values and descriptions."""
    catalogue = list(selectors.product_facts())
    if draft.segment:
        item = next(iter(selectors.priced_facts([draft.product_id])))
        checks = check_draft(
            draft.text,
            checked_facts(item),
            vocabulary=AttributeVocabulary.from_products(catalogue),
            duplicates=None,
            settings=line_settings(selectors.guardrail_settings()),
        )
        draft.checks = [c.as_dict() for c in checks]
        draft.passes_checks = passes(checks)
        return checks
    facts = next(iter(selectors.product_facts([draft.product_id])))
    checks = check_draft(
        draft.text,
        facts,
        vocabulary=AttributeVocabulary.from_products(catalogue),
        duplicates=DuplicateIndex({f.product_id: f.description for f in catalogue}),
        settings=selectors.guardrail_settings(),
    )
    draft.checks = [c.as_dict() for c in checks]
    draft.passes_checks = passes(checks)
    return checks


@transaction.atomic
def draft_edit(*, draft: CopyDraft, text: str, actor) -> CopyDraft:
    """A reviewer's edit of a pending draft: the guardrails run again on the new text."""
    if draft.status != DraftStatus.PENDING:
        raise ValueError(f"Only a pending draft can be edited (this one is {draft.status}).")
    draft.text = text.strip()
    draft.edited = True
    draft_recheck(draft=draft)
    draft.save(update_fields=["text", "edited", "checks", "passes_checks"])
    audit_record(
        actor=actor,
        action="copy_draft.edit",
        obj=draft,
        details={"product": draft.product_id, "passes_checks": draft.passes_checks},
    )
    return draft


@transaction.atomic
def draft_approve(*, draft: CopyDraft, actor) -> CopyDraft:
    """Publish a pending draft: the product's description becomes its text (audited, the
    product marked for re-embedding) and the draft is approved. A draft the guardrails marked
    can be approved one at a time by a person who read the marks (the audit row says so)."""
    draft = CopyDraft.objects.select_for_update().get(pk=draft.pk)
    if draft.status != DraftStatus.PENDING:
        raise ValueError(f"Only a pending draft can be approved (this one is {draft.status}).")
    if draft.segment:
        return _line_approve(draft, actor)
    product = Product.objects.select_for_update().get(pk=draft.product_id)
    previous = product.description
    product.description = draft.text
    product_save(product=product, changed_fields=["description"], actor=actor)
    return _approved(draft, actor, previous_description=previous[:2000])


def _approved(draft: CopyDraft, actor, **details) -> CopyDraft:
    """Mark ``draft`` approved by ``actor`` and audit it with the reviewer's evidence."""
    draft.status = DraftStatus.APPROVED
    draft.reviewed_by = actor if getattr(actor, "pk", None) else None
    draft.reviewed_at = timezone.now()
    draft.save(update_fields=["status", "reviewed_by", "reviewed_at"])
    audit_record(
        actor=actor,
        action="copy_draft.approve",
        obj=draft,
        details={
            "product": draft.product_id,
            "drafter": draft.drafter,
            "passes_checks": draft.passes_checks,
            "failed_checks": [c["name"] for c in draft.failed_checks],
            "edited": draft.edited,
            **details,
        },
    )
    return draft


def _line_approve(draft: CopyDraft, actor) -> CopyDraft:
    """Publish a promotion line: the segment's previous approved line of the product is
    superseded; no product field changes."""
    replaced = list(
        CopyDraft.objects.filter(
            product_id=draft.product_id, segment=draft.segment, status=DraftStatus.APPROVED
        ).values_list("pk", flat=True)
    )
    CopyDraft.objects.filter(pk__in=replaced).update(status=DraftStatus.SUPERSEDED)
    return _approved(draft, actor, segment=draft.segment, replaced_lines=replaced)


@transaction.atomic
def draft_reject(*, draft: CopyDraft, actor) -> CopyDraft:
    """Reject a pending draft; the product keeps its description."""
    if draft.status != DraftStatus.PENDING:
        raise ValueError(f"Only a pending draft can be rejected (this one is {draft.status}).")
    draft.status = DraftStatus.REJECTED
    draft.reviewed_by = actor if getattr(actor, "pk", None) else None
    draft.reviewed_at = timezone.now()
    draft.save(update_fields=["status", "reviewed_by", "reviewed_at"])
    audit_record(
        actor=actor, action="copy_draft.reject", obj=draft, details={"product": draft.product_id}
    )
    return draft


def drafts_bulk_approve(*, drafts: QuerySet | Iterable[CopyDraft], actor) -> tuple[int, int]:
    """Approve the pending drafts among ``drafts`` that pass every check; ``(approved,
    skipped)`` — a marked draft is only ever approved on its own page."""
    approved = skipped = 0
    for draft in drafts:
        if draft.status == DraftStatus.PENDING and draft.passes_checks:
            draft_approve(draft=draft, actor=actor)
            approved += 1
        else:
            skipped += 1
    return approved, skipped


def drafts_bulk_reject(*, drafts: QuerySet | Iterable[CopyDraft], actor) -> int:
    rejected = 0
    for draft in drafts:
        if draft.status == DraftStatus.PENDING:
            draft_reject(draft=draft, actor=actor)
            rejected += 1
    return rejected
