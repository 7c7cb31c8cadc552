"""The knowledge-base planting: the demo shop's help centre, product Q&A, support searches in
its traffic and judged support questions in its hidden truth.

- **Articles** (policies and FAQs): returns, shipping, payment, account and product questions,
  consistent with the catalogue (its departments, the countries its shoppers live in, the
  warranty years its descriptions promise). The figures a policy states (return window,
  free-shipping threshold, delivery days, …) are drawn once per store.
- **Product Q&A**: a question and answer about a sample of products, answered from the
  product's own attributes and description.
- **Support searches**: shoppers typing help-centre keywords into the shop's search box
  ("return policy", "track my order"), spread over the window: the traffic the ``support``
  intent is for.
- **Judged support questions** (truth, held out): questions written in other words than the
  articles' titles and the planted searches, each with the article or Q&A pair that answers
  it. They never occur in the traffic or the knowledge base.

Draws only from its own stream (``streams.rng("knowledge")``): the base store and every other
planting stay as they were. Plain Python, no Django.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from catalog.demo import vocab
from catalog.demo.store import DemoStore
from catalog.demo.streams import Streams

NAME = "knowledge"
#: support searches planted per base event, and their bounds
SUPPORT_SEARCH_SHARE = 1 / 250
SUPPORT_SEARCHES = (10, 600)
QA_PRODUCTS = (5, 40)

# Keywords shoppers type into the search box (the planted traffic; never judged).
SUPPORT_SEARCH_QUERIES = (
    "return policy",
    "returns",
    "refund",
    "track my order",
    "where is my order",
    "delivery time",
    "shipping costs",
    "payment methods",
    "pay by invoice",
    "reset password",
    "delete account",
    "size guide",
    "warranty",
    "gift card",
    "contact customer service",
)


def _policy(rng) -> dict:
    """The figures the shop's policies state (one draw per store)."""
    return {
        "return_days": rng.choice((14, 30, 30, 60)),
        "refund_days": rng.choice((3, 5, 7)),
        "free_shipping": rng.choice((29, 39, 49, 59)),
        "standard_fee": rng.choice(("3.95", "4.95", "5.95")),
        "express_fee": rng.choice(("7.95", "9.95", "12.95")),
        "standard_days": rng.choice(("2–4", "3–5", "1–3")),
        "cutoff": rng.choice(("12:00", "14:00", "16:00")),
        "invoice_days": rng.choice((14, 30)),
        "damage_hours": rng.choice((48, 72)),
        "change_minutes": rng.choice((30, 60)),
        "gift_card_years": rng.choice((2, 3)),
        "deletion_days": rng.choice((14, 30)),
    }


def _articles(p: dict, store: DemoStore) -> list[dict]:
    departments = {c["external_id"]: c["name"] for c in store.categories if not c["parent"]}
    dept_names = [departments[d["id"]] for d in vocab.DEPARTMENTS if d["id"] in departments]
    countries = ", ".join(sorted({s.get("country") or "" for s in store.shoppers} - {""}))
    no_return = [n for n in dept_names if n in ("Beauty", "Grocery")]
    no_return_text = (
        f"Opened {' and '.join(no_return)} products cannot be returned for hygiene and food "
        "safety reasons, unless they arrived damaged."
        if no_return
        else "Personalised items cannot be returned."
    )
    fashion = "Fashion" in dept_names
    return [
        {
            "external_id": "policy-returns",
            "title": "Returns and refunds",
            "kind": "policy",
            "category": "returns",
            "body": (
                "## Return window\n"
                f"You can return most items within {p['return_days']} days of delivery. Items must "
                "be unused and in their original packaging, with all tags and accessories.\n\n"
                "## Starting a return\n"
                "Sign in, open Orders, pick the order and choose Return items. Print the return "
                "label we email you, pack the items and drop the parcel at any post office or "
                "parcel shop.\n\n"
                "## Refunds\n"
                f"Your refund is paid to the original payment method within {p['refund_days']} "
                "working days after the parcel reaches our warehouse. We email you when it is on "
                "its way.\n\n"
                "## Items that cannot be returned\n"
                f"{no_return_text} Gift cards cannot be returned either."
            ),
        },
        {
            "external_id": "faq-return-costs",
            "title": "Who pays for return shipping?",
            "kind": "faq",
            "category": "returns",
            "body": (
                f"Returns are free for orders over {p['free_shipping']} EUR. For smaller orders we "
                f"deduct {p['standard_fee']} EUR for the return label from your refund. If the "
                "item was faulty or we sent the wrong one, the return is always free."
            ),
        },
        {
            "external_id": "faq-damaged",
            "title": "My order arrived damaged or faulty",
            "kind": "faq",
            "category": "returns",
            "body": (
                f"Please tell us within {p['damage_hours']} hours of delivery and send a photo of "
                "the damage and of the box. We send a replacement free of charge or refund you in "
                "full, as you prefer. Items under 20 EUR do not need to be sent back."
            ),
        },
        {
            "external_id": "policy-shipping",
            "title": "Shipping and delivery",
            "kind": "policy",
            "category": "shipping",
            "body": (
                "## Delivery times\n"
                f"Standard delivery takes {p['standard_days']} working days. Express orders placed "
                f"before {p['cutoff']} on a working day arrive the next working day.\n\n"
                "## Costs\n"
                f"Standard delivery costs {p['standard_fee']} EUR and is free from "
                f"{p['free_shipping']} EUR. Express delivery costs {p['express_fee']} EUR.\n\n"
                "## Where we deliver\n"
                f"We deliver to these countries: {countries or 'across the EU'}. We cannot deliver "
                "to parcel lockers for bulky items."
            ),
        },
        {
            "external_id": "faq-tracking",
            "title": "Where is my order?",
            "kind": "faq",
            "category": "shipping",
            "body": (
                "As soon as your parcel leaves our warehouse we email you a tracking link from the "
                "carrier. You can also follow it under Orders in your account. If the tracking has "
                "not changed for five working days, contact us and we will open an investigation "
                "with the carrier."
            ),
        },
        {
            "external_id": "faq-change-address",
            "title": "Changing the delivery address",
            "kind": "faq",
            "category": "shipping",
            "body": (
                f"You can change the address within {p['change_minutes']} minutes of ordering, "
                "under Orders in your account. Once the parcel is dispatched, use the carrier's "
                "redirect option in the tracking email to send it to a neighbour or a parcel shop."
            ),
        },
        {
            "external_id": "faq-split-delivery",
            "title": "Part of my order is missing",
            "kind": "faq",
            "category": "shipping",
            "body": (
                "Orders with items from different warehouses arrive in several parcels, each with "
                "its own tracking link. Check your order page for the parcels still on their way "
                "before contacting us."
            ),
        },
        {
            "external_id": "policy-payment",
            "title": "Payment methods",
            "kind": "policy",
            "category": "payment",
            "body": (
                "## Accepted methods\n"
                "We accept Visa, Mastercard and American Express cards, PayPal, Apple Pay and "
                "gift cards.\n\n"
                "## Pay later by invoice\n"
                f"Returning customers can pay by invoice within {p['invoice_days']} days of "
                "delivery, subject to a credit check.\n\n"
                "## When you are charged\n"
                "Cards are authorised when you order and charged when the parcel is dispatched."
            ),
        },
        {
            "external_id": "faq-payment-declined",
            "title": "My payment was declined",
            "kind": "faq",
            "category": "payment",
            "body": (
                "Check the card number, expiry date and security code, and that your bank allows "
                "online purchases. 3-D Secure confirmation must be completed in your banking app "
                "within five minutes. A declined attempt is never charged; any reservation is "
                "released by your bank within a few days."
            ),
        },
        {
            "external_id": "faq-invoice",
            "title": "Getting an invoice or receipt",
            "kind": "faq",
            "category": "payment",
            "body": (
                "The VAT invoice is attached to the dispatch email as a PDF. You can download it "
                "again any time under Orders in your account. Businesses can add their VAT number "
                "at checkout."
            ),
        },
        {
            "external_id": "faq-gift-cards",
            "title": "Gift cards and discount codes",
            "kind": "faq",
            "category": "payment",
            "body": (
                f"Gift cards are valid for {p['gift_card_years']} years and can pay for part or all "
                "of an order. One discount code can be used per order; enter it at checkout before "
                "paying. Codes cannot be added to an order after it was placed."
            ),
        },
        {
            "external_id": "faq-password",
            "title": "I forgot my password",
            "kind": "faq",
            "category": "account",
            "body": (
                "Choose Forgot password on the sign-in page and enter your email address. We send "
                "a link that is valid for one hour. If the email does not arrive, check your spam "
                "folder."
            ),
        },
        {
            "external_id": "faq-delete-account",
            "title": "Deleting your account and data",
            "kind": "faq",
            "category": "account",
            "body": (
                "Under Account settings choose Delete account. We remove your profile, addresses "
                f"and saved lists within {p['deletion_days']} days; invoices are kept for as long "
                "as tax law requires. You can also ask us for a copy of your personal data."
            ),
        },
        {
            "external_id": "faq-newsletter",
            "title": "Unsubscribing from emails",
            "kind": "faq",
            "category": "account",
            "body": (
                "Every newsletter has an unsubscribe link at the bottom. You can also switch off "
                "marketing emails under Account settings, Notifications. Order and delivery emails "
                "are always sent."
            ),
        },
        {
            "external_id": "faq-guest-checkout",
            "title": "Ordering without an account",
            "kind": "faq",
            "category": "account",
            "body": (
                "You can check out as a guest with just your email address. To follow the order "
                "later, use the link in the confirmation email. You can create an account from "
                "that email afterwards to keep the order history."
            ),
        },
        {
            "external_id": "policy-warranty",
            "title": "Warranty and repairs",
            "kind": "policy",
            "category": "product_question",
            "body": (
                "## Legal guarantee\n"
                "Every product has the two-year legal guarantee against defects.\n\n"
                "## Manufacturer warranty\n"
                "Many Electronics and Home & Kitchen products come with a longer manufacturer "
                "warranty of two, three or five years; the product description says how long. "
                "Keep your invoice as proof of purchase.\n\n"
                "## Making a claim\n"
                "Contact us with the order number and a description of the fault. We arrange the "
                "repair, a replacement or a refund."
            ),
        },
        *(
            [
                {
                    "external_id": "guide-sizes",
                    "title": "Fashion size guide",
                    "kind": "article",
                    "category": "product_question",
                    "body": (
                        "Measure your chest, waist and hips with a soft tape and compare them with "
                        "the size table on the product page. Between two sizes, pick the larger "
                        "one for a relaxed fit. Shoe sizes are EU sizes; our trainers run true to "
                        "size. Exchanging for another size is free."
                    ),
                }
            ]
            if fashion
            else []
        ),
        {
            "external_id": "faq-restock",
            "title": "Out of stock items",
            "kind": "faq",
            "category": "product_question",
            "body": (
                "When an item is sold out, choose Notify me on its page and we email you as soon as "
                "it is back. Most items are restocked within two weeks; we cannot reserve items or "
                "take back orders."
            ),
        },
    ]


# Held-out support questions: (question, the article that answers it). Worded unlike the
# articles' titles and unlike the planted searches.
JUDGED_QUESTIONS: dict[str, tuple[str, ...]] = {
    "policy-returns": (
        "how many days do I have to send something back",
        "can I still give back a jacket I bought a few weeks ago",
        "when will I get my money back after sending the parcel",
        "I want to hand back something I ordered, what are the steps",
    ),
    "faq-return-costs": (
        "is sending an item back free of charge",
        "do I need to pay for the label when I send things back",
    ),
    "faq-damaged": (
        "the box came broken and the item is cracked",
        "what should I do if the thing I received does not work",
    ),
    "policy-shipping": (
        "how long until my parcel gets here",
        "can I get it tomorrow if I order now",
        "how much is postage",
    ),
    "faq-tracking": (
        "my package has not arrived yet, how can I follow it",
        "is there a link to see where the parcel is",
    ),
    "faq-change-address": (
        "I typed the wrong street, can it go to another place",
        "send my parcel to my office instead of home",
    ),
    "faq-split-delivery": (
        "only one of the two things I bought came",
        "received a box but something is not in it",
    ),
    "policy-payment": (
        "can I use apple pay or paypal",
        "do you take credit cards",
        "can I buy now and settle the bill later",
    ),
    "faq-payment-declined": (
        "my card keeps getting rejected at checkout",
        "the bank refused the transaction",
    ),
    "faq-invoice": (
        "I need a VAT receipt for my company",
        "where can I download the bill for my purchase",
    ),
    "faq-gift-cards": (
        "how long is a voucher valid",
        "can I combine two promo codes",
    ),
    "faq-password": (
        "I cannot log in because I do not remember my login details",
        "how do I set a new sign in password",
    ),
    "faq-delete-account": (
        "please remove all my personal information",
        "how do I close my profile for good",
    ),
    "faq-newsletter": (
        "stop sending me marketing mails",
        "too many promotional emails, how do I opt out",
    ),
    "faq-guest-checkout": (
        "do I have to register to buy something",
        "can I purchase without signing up",
    ),
    "policy-warranty": (
        "my headphones broke after a year, are they covered",
        "how long is the guarantee on electronics",
    ),
    "guide-sizes": (
        "which size should I pick if I am between two",
        "do the trainers fit small or large",
    ),
    "faq-restock": (
        "the item is sold out, when will it be available again",
        "can you tell me when this comes back",
    ),
}
JUDGED_PER_ARTICLE = 2


def _product_qa(rng, store: DemoStore) -> tuple[list[dict], list[dict]]:
    """Q&A pairs about a sample of products, and one judged question per pair."""
    with_attrs = [p for p in store.products if p.get("attributes") and p.get("active", True)]
    if not with_attrs:
        return [], []
    n = max(QA_PRODUCTS[0], min(QA_PRODUCTS[1], len(with_attrs) // 50))
    chosen = rng.sample(with_attrs, min(n, len(with_attrs)))
    pairs: list[dict] = []
    judged: list[dict] = []
    for number, product in enumerate(chosen, start=1):
        attrs = {
            k: v
            for k, v in sorted(product["attributes"].items())
            if k not in ("type", "model") and isinstance(v, str | int | float)
        }
        if not attrs:
            continue
        key = rng.choice(sorted(attrs))
        value = attrs[key]
        label = key.replace("_", " ")
        kind = product["attributes"].get("type") or "item"
        external_id = f"qa-{number:03d}"
        pairs.append(
            {
                "external_id": external_id,
                "product": product["external_id"],
                "question": f"What is the {label} of the {product['title']}?",
                "answer": f"The {label} of this {kind} is {value}. {product.get('description', '')}"[
                    :600
                ],
            }
        )
        brand = product.get("brand") or ""
        model = product["attributes"].get("model") or ""
        judged.append(
            {
                "question": f"{label} of {brand} {model} {kind}".strip(),
                "answer": external_id,
                "type": "product_question",
                "category": "product_question",
            }
        )
    return pairs, judged


def _support_searches(rng, store: DemoStore) -> list[dict]:
    if not store.events or not store.shoppers:
        return []
    first = min(e["timestamp"] for e in store.events).astimezone(UTC)
    last = max(e["timestamp"] for e in store.events).astimezone(UTC)
    span = (last - first).total_seconds()
    n = int(len(store.events) * SUPPORT_SEARCH_SHARE)
    n = max(SUPPORT_SEARCHES[0], min(SUPPORT_SEARCHES[1], n))
    events = []
    for number in range(1, n + 1):
        when = first + timedelta(seconds=span * rng.random())
        events.append(
            {
                "event_id": f"demo-support-{number}",
                "shopper": rng.choice(store.shoppers)["external_id"],
                "type": "search",
                "product": "",
                "timestamp": when,
                "query": rng.choice(SUPPORT_SEARCH_QUERIES),
                "position": None,
                "value": None,
                "review": "",
                "session": f"demo-support-{number}",
                "request_id": "",
            }
        )
    events.sort(key=lambda e: (e["timestamp"], e["event_id"]))
    return events


def plant(store: DemoStore, streams: Streams) -> dict:
    """Articles, product Q&A, support search events and the judged support questions."""
    rng = streams.rng(NAME)
    policy = _policy(rng)
    articles = _articles(policy, store)
    updated = (
        max(e["timestamp"] for e in store.events).astimezone(UTC)
        if store.events
        else datetime(2026, 11, 1, tzinfo=UTC)
    ).replace(hour=0, minute=0, second=0, microsecond=0)
    for article in articles:
        article["source"] = f"https://shop.example/help/{article['external_id']}"
        article["updated"] = updated - timedelta(days=rng.randint(1, 200))
    known = {a["external_id"] for a in articles}
    judged = []
    for article_id, pool in JUDGED_QUESTIONS.items():
        if article_id not in known:
            continue
        category = next(a["category"] for a in articles if a["external_id"] == article_id)
        for question in rng.sample(pool, min(JUDGED_PER_ARTICLE, len(pool))):
            judged.append(
                {
                    "question": question,
                    "answer": article_id,
                    "type": "article",
                    "category": category,
                }
            )
    pairs, judged_qa = _product_qa(rng, store)
    for pair in pairs:
        pair["source"] = "shop.example product Q&A"
        pair["updated"] = updated - timedelta(days=rng.randint(1, 60))
    events = _support_searches(rng, store)
    truth = {
        "policy": policy,
        "judged_questions": judged + judged_qa,
        "support_search_queries": list(SUPPORT_SEARCH_QUERIES),
        "planted_support_searches": len(events),
        "note": "judged questions are held out: they never occur in the traffic or the "
        "knowledge base; 'answer' is the external id of the article or product Q&A pair",
    }
    return {"articles": articles, "product_qa": pairs, "events": events, "truth": truth}
