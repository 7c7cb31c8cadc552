"""Which campaign product fits a shopper best, whether the shopper is held out, and the plain
product line a promotion shows (plain Python).

The fit is the serving path's own evidence for the shopper, restricted to the campaign's
products and fused by reciprocal rank fusion with the strategy's weights: the CF model's score,
the cosine of the shopper's profile vector with the product's vector, the shopper's interest in
the product's category, and popularity (decayed engagement) as the tie-breaker and the whole
answer for a shopper without history.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from recommend.engine.fusion import reciprocal_rank_fusion
from recommend.experiments.logic.assignment import assign

__all__ = ["Fit", "CONTROL", "TREATED", "arm_of", "best_fit", "plain_line"]

CONTROL = "control"
TREATED = "treated"
#: the source names and what each says about the pick (the response's ``reason``)
REASONS = {
    "cf": "shoppers with similar taste liked it",
    "profile": "like what you looked at",
    "interests": "from a category you browse",
    "popular": "popular right now",
}


@dataclass(frozen=True)
class Fit:
    product_id: int
    score: float
    reason: str
    personalised: bool


def arm_of(salt: str, unit_id: str, control_percent: float) -> str:
    """``"control"`` or ``"treated"``: the experiments' deterministic bucket hash of (campaign
    salt, shopper), the bottom ``control_percent`` of buckets held out."""
    return (
        TREATED
        if assign(salt, unit_id, [(TREATED, 100.0 - control_percent)], control_percent)
        else CONTROL
    )


def _ranked(scores: Mapping[int, float]) -> list[tuple[int, float]]:
    return sorted(((pk, s) for pk, s in scores.items() if s > 0), key=lambda p: (-p[1], p[0]))


def best_fit(
    candidates: Sequence[int],
    *,
    cf: Mapping[int, float] | None = None,
    profile: Mapping[int, float] | None = None,
    interests: Mapping[int, float] | None = None,
    popular: Mapping[int, float] | None = None,
    weights: Mapping[str, float] | None = None,
) -> Fit | None:
    """The best of ``candidates`` (product ids) by the fused signals; None when there is none.
    ``interests`` is the shopper's interest share per candidate (of its category). Without any
    signal the lowest id wins, so the answer is always deterministic."""
    if not candidates:
        return None
    allowed = set(candidates)
    signals = {
        "cf": cf or {},
        "profile": profile or {},
        "interests": interests or {},
        "popular": popular or {},
    }
    ranked = {
        name: [(pk, s) for pk, s in _ranked(scores) if pk in allowed]
        for name, scores in signals.items()
    }
    ranked["popular"] = ranked["popular"] + [
        (pk, 0.0) for pk in sorted(allowed) if pk not in dict(ranked["popular"])
    ]
    fused = reciprocal_rank_fusion(ranked, {"popular": 0.25, **(weights or {})})
    if not fused:
        return None
    top = fused[0]
    personal = [n for n in ("cf", "profile", "interests") if n in top.sources]
    best = min(personal, key=lambda n: top.sources[n][0]) if personal else "popular"
    return Fit(
        product_id=int(top.id),
        score=float(top.score),
        reason=REASONS[best],
        personalised=bool(personal),
    )


def plain_line(
    *, title: str, brand: str | None, category: str | None, price: float, currency: str
) -> str:
    """A short line built from the product's own fields only (nothing invented)."""
    parts = [p for p in (brand, category) if p]
    where = " · ".join(parts)
    price_text = f"{price:,.2f} {currency}".strip()
    return f"{title} — {where}, {price_text}" if where else f"{title} — {price_text}"
