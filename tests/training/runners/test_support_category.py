"""The support-category classifier: ``train_support_category`` learns the categories from a
small knowledge base and operator labels (the packaged MiniLM), its first version becomes
active, and the answers path returns the category and boosts or restricts answers by it."""

from __future__ import annotations

import pytest

from catalog.knowledge.models import SupportLabel
from catalog.knowledge.services import knowledge_import_file
from recommend.serving import answers
from training import services
from training.models import Job, Task

pytestmark = pytest.mark.django_db

KB = """\
# Returns and refunds
external_id: returns
category: returns

## Return window
You can return most items within 30 days of delivery. Items must be unused and in their
original packaging. Print the return label and drop the parcel at a post office.

## Refunds
The refund is paid to your card within five working days after the returned parcel reaches us.
We email you when the refund is on its way.

# Who pays for a return?
external_id: return-costs
category: returns

Returns are free for orders over 49 EUR. For smaller orders the return label costs 4.95 EUR.
A faulty item can always be sent back for free.

# Shipping and delivery
external_id: shipping
category: shipping

## Delivery times
Standard delivery takes two to four working days. Express orders placed before noon arrive the
next working day.

## Costs
Standard delivery costs 4.95 EUR and is free from 49 EUR. Express delivery costs 9.95 EUR.

# Where is my parcel?
external_id: tracking
category: shipping

We email you a tracking link from the carrier as soon as the parcel leaves our warehouse. If the
tracking has not changed for five days, contact us and we ask the courier.

# Payment methods
external_id: payment
category: payment

We accept Visa, Mastercard and American Express cards, PayPal and Apple Pay. Returning customers
can pay by invoice within 30 days. Cards are charged when the order is dispatched.

# My payment was declined
external_id: declined
category: payment

Check the card number, the expiry date and the security code. Your bank must allow online
purchases. A declined payment is never charged.

# I forgot my password
external_id: password
category: account

Choose Forgot password on the sign-in page and enter your email address. We send a link to set a
new password that is valid for one hour.

# Deleting your account
external_id: delete-account
category: account

Under Account settings choose Delete account. We remove your profile and saved addresses within
30 days. You can also unsubscribe from the newsletter there.

# Warranty and repairs
external_id: warranty
category: product_question

Every product has a two-year guarantee against defects. Many electronics come with a longer
manufacturer warranty; the product description says how long.

# Size guide
external_id: sizes
category: product_question

Measure your chest and waist and compare them with the size table on the product page. Between
two sizes, pick the larger one. Our trainers run true to size.
"""

LABELS = {
    "can I send the shoes back": "returns",
    "how much is postage": "shipping",
    "do you take credit cards": "payment",
    "I cannot log in": "account",
    "does this jacket run small": "product_question",
}


@pytest.fixture
def knowledge_base(serving_state, one_torch_thread):
    report = knowledge_import_file(kind="articles", source=KB.encode(), filename="help.md")
    assert report.ok, report.errors
    for query, category in LABELS.items():
        SupportLabel.objects.create(query=query, category=category)


def train(user, **params) -> Job:
    job = services.job_launch(kind="train_support_category", params=params, user=user)
    return services.job_run(job_id=job.pk)


def test_the_classifier_learns_from_the_knowledge_base_and_operator_labels(
    knowledge_base, operator_user, storefront, django_capture_on_commit_callbacks
):
    # Before any classifier: the keyword rules, labelled as such.
    before = storefront.get("/api/v1/answers", {"q": "when does the parcel arrive"}).json()
    assert before["support_category"]["source"] == "rules"
    assert before["support_category"]["label"] == "shipping"

    with django_capture_on_commit_callbacks(execute=True):  # the promotion's generation bump
        job = train(operator_user)
    assert job.status == Job.Status.SUCCEEDED, job.error
    version = job.result_version
    version.refresh_from_db()
    assert version.task == Task.SUPPORT_CATEGORY and version.is_active  # first sane version
    snapshot = version.dataset_snapshot
    assert snapshot["manual_labels"] == len(LABELS) and snapshot["knowledge_base_examples"] > 30
    assert set(snapshot["label_counts"]) == {
        "returns",
        "shipping",
        "payment",
        "account",
        "product_question",
    }
    metrics = version.metrics
    assert {"keyword_rules", "majority"} <= set(metrics["baselines"])
    assert 0 <= metrics["accuracy"] <= 1 and metrics["test_examples"] > 0

    # The evaluate job scores it on the same texts, next to the keyword rules.
    evaluation = services.job_run(
        job_id=services.job_launch(
            kind="evaluate", params={"version": version.pk}, user=operator_user
        ).pk
    )
    assert evaluation.status == Job.Status.SUCCEEDED, evaluation.error
    assert evaluation.metrics["candidate"]["accuracy"] == metrics["accuracy"]
    assert "keyword_rules" in evaluation.metrics

    # Served on the answers path: the model's category, with its version.
    for question, category in [
        ("do you accept paypal", "payment"),
        ("how do I set a new password", "account"),
        ("my refund has not arrived", "returns"),
    ]:
        body = storefront.get("/api/v1/answers", {"q": question}).json()
        decided = body["support_category"]
        assert decided["source"] == "model" and decided["version"] == version.pk
        assert decided["label"] == category, (question, decided)
        assert body["answers"][0]["category"] == category, (question, body["answers"][0])


def test_a_requested_category_restricts_the_answers(knowledge_base, storefront):
    body = storefront.get(
        "/api/v1/answers", {"q": "how long does it take", "category": "shipping", "size": 5}
    ).json()
    assert body["support_category"] == {
        "label": "shipping",
        "score": 1.0,
        "source": "request",
        "reason": "the category= parameter",
    }
    assert body["answers"] and {a["category"] for a in body["answers"]} == {"shipping"}
    unrestricted = storefront.get(
        "/api/v1/answers", {"q": "how long does it take", "size": 5}
    ).json()
    assert {a["category"] for a in unrestricted["answers"]} - {"shipping"}
    bad = storefront.get("/api/v1/answers", {"q": "refund", "category": "weather"})
    assert bad.status_code == 400 and "category" in bad.json()["error"]["details"]


def test_a_detected_category_lifts_its_passages_over_a_near_tie(settings):
    settings.ANSWERS_CATEGORY_BOOST = 0.0
    ranked = [
        answers.Ranked(1, 0.0164, 0.6, None, ("semantic",)),
        answers.Ranked(2, 0.0161, 0.58, None, ("semantic",)),
        answers.Ranked(3, 0.0100, 0.40, None, ("semantic",)),
    ]
    categories = {1: "shipping", 2: "returns", 3: "returns"}
    sure = answers.support_category.CategoryResult("returns", 0.9, "model")
    order = answers.by_category(ranked, categories, sure, boost=0.25)
    assert [r.passage_id for r in order] == [2, 1, 3]
    unsure = answers.support_category.CategoryResult("returns", 0.05, "model")
    order = answers.by_category(ranked, categories, unsure, boost=0.25)
    assert [r.passage_id for r in order] == [1, 2, 3]
    # the served default (ANSWERS_CATEGORY_BOOST 0) returns the category and keeps the order
    assert answers.by_category(ranked, categories, sure) == ranked
