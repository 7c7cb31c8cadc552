"""Support categories: the label set of the support-category classifier, and the keyword rules
that stand in for it when no classifier is active (and are its baseline in ``bench/answers.py``).

A support question is about one of :data:`SUPPORT_CATEGORIES` (the knowledge base's article
categories, ``catalog.knowledge.models.Category``, less ``other``). The rules look for generic
help-centre words — how shoppers of any shop ask about returns, delivery, paying, their account
— never for what a shop sells; the first category with a cue wins, in the order of
:data:`RULES`. A question with no cue is none of the operational four, so the rules say
``product_question`` with the weaker :data:`DEFAULT_SCORE`. The table is run by
``keyword_rules.KeywordRules``, as the query intents' is. Plain Python, no Django.
"""

from __future__ import annotations

from recommend.engine.keyword_rules import KeywordRules, RuleDecision

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

SUPPORT_RULES = KeywordRules(
    RULES,
    cue_score=CUE_SCORE,
    default_label=DEFAULT_CATEGORY,
    default_score=DEFAULT_SCORE,
    default_reason="rules: no returns, shipping, payment or account cue, so a product question",
    text_name="question",
)


def classify(text: str) -> RuleDecision:
    """The support category the question's words point to (see the module docstring)."""
    return SUPPORT_RULES.classify(text)


def predict(texts: list[str]) -> list[tuple[str, float]]:
    """``[(category, score)]`` per text: the shape of ``TextClassifier.predict``."""
    return SUPPORT_RULES.predict(texts)


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
