"""Support categories: the label set of the support-category classifier, and the keyword rules
that stand in for it when no classifier is active (and are its baseline in ``bench/answers.py``).

A support question is about one of :data:`SUPPORT_CATEGORIES` (the knowledge base's article
categories, ``catalog.knowledge.models.Category``, less ``other``). The rules look for generic
help-centre words — how shoppers of any shop ask about returns, delivery, paying, their account
— never for what a shop sells; the first category with a cue wins, in the order of
:data:`RULES`. A question with no cue is none of the operational four, so the rules say
``product_question`` with the weaker :data:`DEFAULT_SCORE`. Plain Python, no Django.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

SUPPORT_CATEGORIES = ("returns", "shipping", "payment", "account", "product_question")
DEFAULT_CATEGORY = "product_question"
CUE_SCORE = 0.6
DEFAULT_SCORE = 0.3

#: (category, patterns) in the order they are tried.
RULES: tuple[tuple[str, tuple[str, ...]], ...] = (
    (
        "returns",
        (
            r"\breturn(?:s|ed|ing)?\b",
            r"\brefunds?\b|\bmoney back\b",
            r"\bexchanges?\b",
            r"\bsend (?:it|this|something|them) back\b",
            r"\b(?:damaged|broken|faulty|defective)\b",
        ),
    ),
    (
        "shipping",
        (
            r"\b(?:ship|shipped|shipping|delivery|deliver|delivered|dispatch(?:ed)?)\b",
            r"\b(?:track|tracking|parcel|package|courier|carrier|postage)\b",
            r"\bwhere(?:'s| is)? my order\b|\barriv(?:e|es|ed|al)\b",
            r"\baddress\b",
        ),
    ),
    (
        "payment",
        (
            r"\b(?:pay|paying|payment|paid|paypal|invoice|receipt|bill)\b",
            r"\b(?:card|cards|credit|debit|visa|mastercard|charged?)\b",
            r"\b(?:voucher|gift card|discount code|promo code|coupon)\b",
        ),
    ),
    (
        "account",
        (
            r"\b(?:account|password|log ?in|sign ?in|sign up|register|profile)\b",
            r"\b(?:newsletter|unsubscribe|emails?|personal data|privacy)\b",
        ),
    ),
)

_COMPILED = tuple(
    (category, tuple(re.compile(pattern) for pattern in patterns)) for category, patterns in RULES
)


@dataclass(frozen=True)
class RuleCategory:
    """The category, its score and the cue (matched text) that decided, or the default's reason."""

    label: str
    score: float
    reason: str


def classify(text: str) -> RuleCategory:
    """The support category the question's words point to (see the module docstring)."""
    question = " ".join((text or "").lower().split())
    for category, patterns in _COMPILED:
        for pattern in patterns:
            match = pattern.search(question)
            if match:
                return RuleCategory(
                    category, CUE_SCORE, f"rules: the question says “{match.group(0)}”"
                )
    return RuleCategory(
        DEFAULT_CATEGORY,
        DEFAULT_SCORE,
        "rules: no returns, shipping, payment or account cue, so a product question",
    )


def predict(texts: list[str]) -> list[tuple[str, float]]:
    """``[(category, score)]`` per text: the shape of ``TextClassifier.predict``."""
    return [(r.label, r.score) for r in (classify(t) for t in texts)]


def boosted(
    scored: list[tuple[int, float]],
    categories: dict[int, str],
    category: str,
    probability: float,
    *,
    boost: float,
) -> list[tuple[int, float]]:
    """``scored`` (passage id, fused score) re-sorted after multiplying the scores of the
    passages in ``category`` by ``1 + boost * probability``: a confident category lifts its
    passages over near ties from other categories, an unsure one barely moves them."""
    factor = 1.0 + boost * max(0.0, min(1.0, probability))
    out = [(pk, s * factor if categories.get(pk) == category else s) for pk, s in scored]
    return sorted(out, key=lambda item: -item[1])
