"""How good drafted copy is on products whose real description is known: ROUGE-L against the
real text, and the attribute-consistency rate. Plain Python, no Django."""

from __future__ import annotations

from catalog.copywriting.logic.guardrails import normalise


def rouge_l(candidate: str, reference: str) -> float:
    """ROUGE-L F1 (β = 1) of two texts: the longest common word subsequence over their
    lengths, on normalised words."""
    a, b = normalise(candidate).split(), normalise(reference).split()
    if not a or not b:
        return 0.0
    previous = [0] * (len(b) + 1)
    for word in a:
        current = [0]
        for j, other in enumerate(b, start=1):
            current.append(previous[j - 1] + 1 if word == other else max(previous[j], current[-1]))
        previous = current
    lcs = previous[-1]
    if lcs == 0:
        return 0.0
    precision, recall = lcs / len(a), lcs / len(b)
    return 2 * precision * recall / (precision + recall)
