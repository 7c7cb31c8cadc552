"""Training examples of the support-category classifier: the knowledge base labels itself.

Every active article's title, the section names of its passages and each sentence of their
text are examples of the article's category; every product question is a ``product_question``
example; and the operators' labels (``catalog.knowledge.models.SupportLabel``, edited in the
admin) are added on top, winning where a text has both. Texts are normalised as serving
normalises a question; the split is 70/15/15 by text, so a text never lands in two parts.
"""

from __future__ import annotations

import re
from collections import Counter

from catalog.knowledge.models import Article, Passage, ProductQuestion, SupportLabel
from recommend.engine.support_rules import SUPPORT_CATEGORIES
from recommend.engine.text import normalise
from training.datasets import RATIOS, TextExamples
from training.ml.splits import split_by_key

SENTENCE_RE = re.compile(r"(?<=[.!?])\s+")
MIN_WORDS = 3  # a shorter sentence ("Yes.") says nothing about its category


def _add(out: dict[str, str], text: str, category: str) -> None:
    norm = normalise(text, 256)
    if norm and len(norm.split()) >= MIN_WORDS:
        out[norm] = category


def knowledge_base_examples() -> dict[str, str]:
    """``{normalised text: category}`` from the knowledge base's own rows."""
    labels = set(SUPPORT_CATEGORIES)
    out: dict[str, str] = {}
    articles = Article.objects.filter(active=True, category__in=labels)
    for title, category in articles.values_list("title", "category"):
        _add(out, title, category)
    passages = Passage.objects.filter(article__active=True, category__in=labels)
    for heading, text, category in passages.values_list("heading", "text", "category"):
        section = heading.split(" > ")[-1]
        _add(out, section, category)
        for sentence in SENTENCE_RE.split(text):
            _add(out, sentence, category)
    questions = ProductQuestion.objects.filter(active=True)
    for question in questions.values_list("question", flat=True):
        _add(out, question, "product_question")
    return out


def support_category_examples(*, seed: int) -> TextExamples:
    """Knowledge-base examples with the operators' labels over them, split by text."""
    labels = list(SUPPORT_CATEGORIES)
    kb = knowledge_base_examples()
    manual = {
        normalise(q, 256): c
        for q, c in SupportLabel.objects.values_list("query", "category")
        if c in labels and normalise(q, 256)
    }
    items = sorted({**kb, **manual}.items())
    split = split_by_key(items, key_fn=lambda item: item[0], seed=seed, ratios=RATIOS)
    snapshot = {
        "source": "knowledge-base categories with operator labels over them",
        "knowledge_base_examples": len(kb),
        "manual_labels": len(manual),
        "examples": len(items),
        "label_counts": dict(Counter(label for _, label in items)),
        "split": split.summary(),
    }
    return TextExamples(split=split, labels=labels, snapshot=snapshot)
