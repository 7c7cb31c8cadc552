"""Label sets of the text classifiers.

The intent labels are read from the optional setting ``TRAINING_INTENT_LABELS`` (a list), so a
shop can add e.g. ``compare`` or ``support``; sentiment labels follow ratings and are fixed.
"""

from __future__ import annotations

from django.conf import settings

DEFAULT_INTENT_LABELS = ("browse", "buy", "review")
SENTIMENT_LABELS = ("negative", "neutral", "positive")


def intent_labels() -> tuple[str, ...]:
    """The intent label set (``TRAINING_INTENT_LABELS`` or browse / buy / review)."""
    return tuple(getattr(settings, "TRAINING_INTENT_LABELS", None) or DEFAULT_INTENT_LABELS)


def sentiment_from_rating(rating: float | None) -> str | None:
    """1–2 stars negative, 3 neutral, 4–5 positive; None for a missing or out-of-range rating."""
    if rating is None or not 1 <= rating <= 5:
        return None
    if rating < 2.5:
        return "negative"
    if rating < 3.5:
        return "neutral"
    return "positive"
