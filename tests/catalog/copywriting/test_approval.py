"""The approval queue's writes: approving publishes the draft (the description written, an audit
row, the product marked for re-embedding); rejecting keeps the description; an edit runs the
guardrails again; the bulk approval publishes only the drafts that pass every check; analysts
see the queue but cannot act on it."""

from __future__ import annotations

import pytest
from django.urls import reverse

from catalog.copywriting import services
from catalog.copywriting.logic.drafting import Draft
from catalog.copywriting.logic.guardrails import Check
from catalog.copywriting.models import BannedWord, CopyDraft, DraftStatus
from catalog.models import Product
from platform_core.models import AuditLog
from tests.factories.catalog import ProductFactory

pytestmark = pytest.mark.django_db

OK = [Check(n, True) for n in ("attributes", "banned_words", "length", "duplicate")]
MARKED = [Check("attributes", False, "mentions values the product does not have: red"), *OK[1:]]


def drafts_for(*products_and_checks):
    drafted = [
        (
            Draft(p.pk, f"A steady black kettle for {p.title}.", "template-extractive"),
            checks,
            p.description,
        )
        for p, checks in products_and_checks
    ]
    return services.drafts_store(drafted=drafted)


def test_approve_writes_the_description_audited_and_marks_re_embedding(operator_user):
    product = ProductFactory(description="")
    Product.objects.filter(pk=product.pk).update(needs_embedding=False)
    [draft] = drafts_for((product, OK))
    services.draft_approve(draft=draft, actor=operator_user)
    product.refresh_from_db()
    draft.refresh_from_db()
    assert product.description == draft.text and product.needs_embedding
    assert draft.status == DraftStatus.APPROVED and draft.reviewed_by == operator_user
    audit = AuditLog.objects.get(action="copy_draft.approve")
    assert audit.actor == operator_user and audit.details["product"] == product.pk
    assert audit.details["passes_checks"] is True
    assert AuditLog.objects.filter(action="product.change", object_id=str(product.pk)).exists()
    with pytest.raises(ValueError, match="pending"):
        services.draft_approve(draft=draft, actor=operator_user)


def test_reject_keeps_the_description(operator_user):
    product = ProductFactory(description="old words")
    [draft] = drafts_for((product, OK))
    services.draft_reject(draft=draft, actor=operator_user)
    product.refresh_from_db()
    assert product.description == "old words"
    assert CopyDraft.objects.get().status == DraftStatus.REJECTED
    assert AuditLog.objects.filter(action="copy_draft.reject").count() == 1


def test_an_edit_runs_the_guardrails_again(operator_user):
    product = ProductFactory(
        title="Brisa kettle", description="", attributes={"colour": "black", "type": "kettle"}
    )
    ProductFactory(attributes={"colour": "red", "type": "kettle"})
    BannedWord.objects.create(word="miracle")
    [draft] = drafts_for((product, OK))
    services.draft_edit(
        draft=draft,
        text="A red kettle, a miracle of a black Brisa kettle for every kitchen and every morning.",
        actor=operator_user,
    )
    draft.refresh_from_db()
    failed = {c["name"] for c in draft.failed_checks}
    assert draft.edited and not draft.passes_checks and failed == {"attributes", "banned_words"}
    services.draft_edit(
        draft=draft,
        text="A black Brisa kettle that boils water quickly in every kitchen, every single morning.",
        actor=operator_user,
    )
    draft.refresh_from_db()
    assert draft.passes_checks, draft.checks


def test_bulk_approve_publishes_only_the_passing_drafts(operator_user):
    good, marked = ProductFactory(description=""), ProductFactory(description="")
    drafts_for((good, OK), (marked, MARKED))
    approved, skipped = services.drafts_bulk_approve(
        drafts=CopyDraft.objects.all(), actor=operator_user
    )
    assert (approved, skipped) == (1, 1)
    good.refresh_from_db()
    marked.refresh_from_db()
    assert good.description and marked.description == ""
    assert CopyDraft.objects.get(product=marked).status == DraftStatus.PENDING


def test_the_queue_lists_marks_and_filters(client, operator_user):
    good, marked = ProductFactory(description=""), ProductFactory(description="")
    drafts_for((good, OK), (marked, MARKED))
    client.force_login(operator_user)
    url = reverse("admin:copywriting_copydraft_changelist")
    page = client.get(url).content.decode()
    assert "passes every check" in page and "marked: attributes" in page
    assert "offline template/extractive drafter" in page
    assert f"A steady black kettle for {good.title}." in page  # what a bulk approval publishes
    filtered = client.get(url, {"failed": "attributes"}).content.decode()
    assert marked.external_id in filtered and good.external_id not in filtered
    response = client.post(
        url,
        {"action": "approve_passing", "_selected_action": [d.pk for d in CopyDraft.objects.all()]},
    )
    assert response.status_code == 302
    assert CopyDraft.objects.filter(status=DraftStatus.APPROVED).count() == 1


def test_an_analyst_sees_the_queue_but_cannot_approve(client):
    from tests.factories import UserFactory

    analyst = UserFactory(username="ana", role="analyst")
    product = ProductFactory(description="")
    [draft] = drafts_for((product, OK))
    client.force_login(analyst)
    assert client.get(reverse("admin:copywriting_copydraft_changelist")).status_code == 200
    change = reverse("admin:copywriting_copydraft_change", args=[draft.pk])
    assert client.get(change).status_code == 200
    client.post(change, {"text": draft.text, "_approve": "1"})
    product.refresh_from_db()
    assert product.description == ""
