"""The rule-based intent fallback: what a query's own words say about the shopper's intent.

Used when no trained intent classifier is active (a fresh install whose search log is too thin
for weak labels, see ``training.bootstrap_intent``), and always labelled as rules in the API
(``"source": "rules"`` with the cue that decided). Any catalogue: the cues are about *how* a
shopper asks, never about what a shop sells. First match wins, in this order:

- **support** — the shopper needs help, not a product: order tracking, returns and refunds,
  delivery, payment, account and contact questions ("where is my order", "return policy");
- **review** — the shopper is researching: reviews, ratings, comparisons, "best …", "… vs …",
  "is it worth it";
- **buy** — the shopper is ready to purchase: price words ("cheap", "under 50", "deal", "sale"),
  availability ("in stock", "next day") and purchase verbs ("buy", "order");
- **browse** — none of the above: a plain product search explores what the shop has.

A matched cue scores :data:`CUE_SCORE`, the browse default :data:`DEFAULT_SCORE` (a weaker
claim). The table is run by ``keyword_rules.KeywordRules``, as the support categories' is.
Plain Python, no Django.
"""

from __future__ import annotations

from recommend.engine.keyword_rules import KeywordRules, RuleDecision

#: The ``base`` of the intent model version that stands for these rules (no artifact).
RULES_BASE = "aisle:intent-rules"
CUE_SCORE = 0.7
DEFAULT_SCORE = 0.4
DEFAULT_LABEL = "browse"

#: (label, [(pattern, cue shown in the reason)]) in the order they are tried.
RULES: tuple[tuple[str, tuple[str, ...]], ...] = (
    (
        "support",
        (
            r"\bwhere(?:'s| is)? my\b",
            r"\btrack(?:ing)?\b.*\border\b|\border\b.*\btrack(?:ing)?\b",
            r"\border (?:status|number|history)\b",
            r"\bmy (?:order|orders|account|refund|parcel|package|delivery)\b",
            r"\b(?:return|returns|refund|refunds|exchange) (?:policy|label|process|form)\b",
            r"\bhow (?:do|can|to) i (?:return|cancel|track|change|reset|contact|pay|get a refund)\b",
            r"\b(?:cancel|cancell?ing|cancellation)\b.*\border\b",
            r"\b(?:shipping|delivery) (?:policy|cost|costs|time|times|options|info)\b",
            r"\b(?:reset|forgot|change) (?:my )?password\b",
            r"\b(?:customer service|contact us|opening hours|store hours|gift card balance)\b",
            r"\b(?:payment (?:failed|declined|methods?)|invoice|receipt)\b",
            r"\bwarranty (?:claim|policy)\b",
        ),
    ),
    (
        "review",
        (
            r"\breviews?\b",
            r"\bratings?\b|\brated\b",
            r"\b(?:compare|comparison)\b",
            r"\bvs\.?\b|\bversus\b",
            r"\bbest\b",
            r"\bworth it\b|\bis it (?:good|worth)\b",
            r"\b(?:pros and cons|recommended|opinions?|testimonials?)\b",
        ),
    ),
    (
        "buy",
        (
            r"\bbuy\b|\bpurchase\b|\border now\b",
            r"\b(?:cheap|cheapest|affordable|budget|bargain|discount|deals?|sale|offer|clearance)\b",
            r"\b(?:under|below|less than|up to|max)\s*[$€£]?\s*\d+",
            r"[$€£]\s*\d+",
            r"\bprice\b|\bprices\b|\bcost\b",
            r"\b(?:in stock|available now|next day|same day|free shipping|free delivery)\b",
            r"\bcoupon\b|\bpromo\b",
        ),
    ),
)

INTENT_RULES = KeywordRules(
    RULES,
    cue_score=CUE_SCORE,
    default_label=DEFAULT_LABEL,
    default_score=DEFAULT_SCORE,
    default_reason="rules: no buy, review or support cue, so a plain product search (browse)",
    text_name="query",
    # the answers block reads support whatever the classifier's labels are
    always_tried=("support",),
)


def classify(text: str, labels: tuple[str, ...] | None = None) -> RuleDecision:
    """The intent the query's words point to (see the module docstring).

    ``labels``: the shop's label set; a rule whose label is not in it is skipped, except
    ``support``, which the answers block reads whatever the classifier's labels are.
    """
    return INTENT_RULES.classify(text, labels)


def predict(texts: list[str], labels: tuple[str, ...] | None = None) -> list[tuple[str, float]]:
    """``[(label, score)]`` per text: the shape of ``TextClassifier.predict``."""
    return INTENT_RULES.predict(texts, labels)


def cue_outside(text: str, labels: tuple[str, ...] | list[str]) -> RuleDecision | None:
    """The rules' decision when the query carries a cue for a label a trained classifier does
    not know (e.g. support, or review when the search log's weak labels had none), else None:
    a classifier can never say a label it was not trained on, the cue still holds."""
    decided = classify(text)
    if decided.score < CUE_SCORE or decided.label in labels:
        return None
    return decided
