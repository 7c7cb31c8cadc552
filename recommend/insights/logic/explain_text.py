"""One line per served item saying why it is there, from the API's explanation dict (plain
Python: the shopper page's "what this shopper sees")."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def explanation_text(explanation: Mapping[str, Any]) -> str:
    """``"semantic #2, lexical #5 · matched: red, shoes · because you viewed … · rule: boost"``:
    the retrievers that found the item (with their rank), the matched query terms, the
    personalisation sentence, the business rules and the ranker's score."""
    parts: list[str] = []
    found = [
        f"{name} #{hit['rank']}"
        for name, hit in sorted(
            (explanation.get("retrievers") or {}).items(),
            key=lambda kv: (kv[1] or {}).get("rank", 1e9),
        )
        if hit
    ]
    if found:
        parts.append(", ".join(found))
    if explanation.get("source"):
        parts.append(f"source: {explanation['source']}")
    terms = explanation.get("matched_terms") or []
    if terms:
        parts.append("matched: " + ", ".join(map(str, terms)))
    if explanation.get("personalisation"):
        parts.append(str(explanation["personalisation"]))
    for rule in explanation.get("rules") or []:
        if isinstance(rule, Mapping):
            parts.append(f"rule {rule.get('name', '')} ({rule.get('kind', '')})")
        else:
            parts.append(f"rule: {rule}")
    ranker = explanation.get("ranker")
    if ranker:
        parts.append(f"ranker {float(ranker['score']):.3f}")
    return " · ".join(parts) or "—"
