"""The keyword-rules classifier behind the rule tables of ``intent_rules`` (query intent) and
``support_rules`` (support categories): an ordered table of (label, cue patterns), the first
label with a cue in the text wins at the table's cue score, else the default label at its
weaker score; the reason names the cue that decided. It stands in for a trained text classifier
when none is active, and is measured beside one (``predict`` has ``TextClassifier.predict``'s
shape). Plain Python, no Django.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class RuleDecision:
    """The label, its score and the cue (matched text) that decided, or the default's reason."""

    label: str
    score: float
    reason: str


class KeywordRules:
    """One rule table, compiled once.

    ``rules``: ``(label, patterns)`` in the order they are tried, patterns searched in the
    lower-cased text with its whitespace collapsed. ``text_name`` names the text in a cue's
    reason ("the query says …"). ``always_tried``: labels tried even when a caller's label set
    leaves them out (see :meth:`classify`).
    """

    def __init__(
        self,
        rules: Sequence[tuple[str, Sequence[str]]],
        *,
        cue_score: float,
        default_label: str,
        default_score: float,
        default_reason: str,
        text_name: str,
        always_tried: Collection[str] = (),
    ) -> None:
        self.cue_score = cue_score
        self.default = RuleDecision(default_label, default_score, default_reason)
        self.text_name = text_name
        self.always_tried = frozenset(always_tried)
        self._compiled = tuple(
            (label, tuple(re.compile(pattern) for pattern in patterns)) for label, patterns in rules
        )

    def classify(self, text: str, labels: Collection[str] | None = None) -> RuleDecision:
        """The label of the first rule with a cue in ``text``, else the default. ``labels``: the
        label set of the classifier the rules stand in for; a rule whose label is not in it is
        skipped unless its label is one of ``always_tried``."""
        words = " ".join((text or "").lower().split())
        for label, patterns in self._compiled:
            if labels is not None and label not in labels and label not in self.always_tried:
                continue
            for pattern in patterns:
                match = pattern.search(words)
                if match:
                    return RuleDecision(
                        label,
                        self.cue_score,
                        f"rules: the {self.text_name} says “{match.group(0)}”",
                    )
        return self.default

    def predict(
        self, texts: Sequence[str], labels: Collection[str] | None = None
    ) -> list[tuple[str, float]]:
        """``[(label, score)]`` per text: the shape of ``TextClassifier.predict``."""
        return [(r.label, r.score) for r in (self.classify(t, labels) for t in texts)]
