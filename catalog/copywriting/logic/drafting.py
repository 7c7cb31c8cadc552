"""The drafters of product descriptions. Plain Python + numpy, no Django.

- :func:`template_draft`, the offline default: composes a description from the product's own
  facts (an opening line from its title, brand and category, and its specifications from its
  attributes) and up to ``borrow`` sentences taken from the store's best-written descriptions
  of similar products — only sentences that mention no value the product does not have (the
  guardrails' attribute check, sentence by sentence), no other brand, and no number of the
  neighbour's. It is labelled ``TEMPLATE_DRAFTER`` wherever it is shown.
- :func:`model_prompt` / :func:`clean_generation`: the prompt a Hugging Face generator
  (``AISLE_GENERATOR_MODEL``) continues, and the tidy-up of what it wrote.
- :func:`nearest_neighbours`: the similar products, by cosine over the encoder's stored vectors.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from catalog.copywriting.logic.guardrails import (
    AttributeVocabulary,
    ProductFacts,
    invented_values,
    normalise,
)

TEMPLATE_DRAFTER = "template-extractive"
MODEL_DRAFTER_PREFIX = "model:"
SENTENCE_RE = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9“\"])")

MODEL_PROMPT = (
    "Write a short, factual product description for an online shop. Mention only the facts "
    "given.\nProduct: {title}\nBrand: {brand}\nCategory: {category}\nAttributes: {attributes}\n"
    "Description:"
)


@dataclass(frozen=True)
class Draft:
    """One drafted description: the product, the text, who wrote it and the neighbours whose
    sentences it borrowed (empty for a model's draft). ``segment`` names the shopper segment
    of a promotion line (:mod:`catalog.copywriting.logic.promo_lines`); empty for a
    description."""

    product_id: int
    text: str
    drafter: str
    sources: tuple[int, ...] = ()
    segment: str = ""


def word_count(text: str) -> int:
    return len(normalise(text).split())


def is_thin(description: str, *, min_words: int) -> bool:
    """A description too short to describe anything (empty included)."""
    return word_count(description or "") < min_words


def writing_score(description: str) -> float:
    """How well-written a description looks, 0..1: several sentences, a body length between
    25 and 150 words, not shouting. The drafter borrows from the best-scored neighbours."""
    words = word_count(description)
    if words == 0:
        return 0.0
    sentences = [s for s in sentences_of(description) if word_count(s) >= 4]
    length = min(1.0, words / 25) if words < 25 else (1.0 if words <= 150 else 150 / words)
    letters = [c for c in description if c.isalpha()]
    shouting = sum(c.isupper() for c in letters) / max(1, len(letters)) > 0.3
    return round(length * min(1.0, len(sentences) / 3) * (0.3 if shouting else 1.0), 4)


def sentences_of(text: str) -> list[str]:
    return [s.strip() for s in SENTENCE_RE.split(text.strip()) if s.strip()]


def _humanise(key: str) -> str:
    return str(key).replace("_", " ").strip()


def specification_line(attributes: Mapping[str, object]) -> str:
    """``Specifications: colour: black; size: M.`` from the product's own attributes (true
    flags become features, false ones are left out)."""
    specs, features = [], []
    for key, value in attributes.items():
        if isinstance(value, bool):
            if value:
                features.append(_humanise(key))
        elif value not in (None, "", []):
            shown = ", ".join(map(str, value)) if isinstance(value, list) else str(value)
            specs.append(f"{_humanise(key)}: {shown}")
    parts = []
    if features:
        parts.append("Features: " + ", ".join(features) + ".")
    if specs:
        parts.append("Specifications: " + "; ".join(specs) + ".")
    return " ".join(parts)


def opening_line(facts: ProductFacts) -> str:
    title = facts.title.strip().rstrip(".")
    where = f" in our {facts.category.lower()} range" if facts.category else ""
    if facts.brand and facts.brand.lower() not in title.lower():
        return f"{title}, by {facts.brand}{where}."
    return f"{title}{where}."


def borrowable_sentences(
    facts: ProductFacts, neighbour: ProductFacts, vocabulary: AttributeVocabulary
) -> list[str]:
    """The neighbour's sentences that could describe ``facts``' product too: no value it lacks
    (numbers included), not the neighbour's specification list, not naming the neighbour."""
    out = []
    own_names = {normalise(facts.title)}
    for sentence in sentences_of(neighbour.description):
        low = normalise(sentence)
        if word_count(sentence) < 5 or low.startswith(("specifications", "features")):
            continue
        if neighbour.brand and normalise(neighbour.brand) in low and neighbour.brand != facts.brand:
            continue
        model = normalise(str(neighbour.attributes.get("model") or ""))
        own_model = normalise(str(facts.attributes.get("model") or ""))
        if model and model in low and model != own_model and model not in own_names:
            continue  # names the neighbour's model
        if invented_values(sentence, facts, vocabulary):
            continue
        out.append(sentence)
    return out


def template_draft(
    facts: ProductFacts,
    neighbours: Sequence[ProductFacts],
    vocabulary: AttributeVocabulary,
    *,
    borrow: int = 2,
) -> Draft:
    """The offline drafter: an opening from the product's own facts, up to ``borrow``
    sentences from its best-written similar products (one per neighbour, never repeated) and
    its specifications."""
    borrowed: list[str] = []
    sources: list[int] = []
    seen: list[set[str]] = []
    for neighbour in neighbours:
        if len(borrowed) >= borrow:
            break
        for sentence in borrowable_sentences(facts, neighbour, vocabulary):
            words = set(normalise(sentence).split())
            if any(len(words & other) > 0.5 * min(len(words), len(other)) for other in seen):
                continue  # says what a borrowed sentence already says
            seen.append(words)
            borrowed.append(sentence)
            sources.append(neighbour.product_id)
            break
    parts = [opening_line(facts), *borrowed, specification_line(facts.attributes)]
    text = " ".join(p for p in parts if p)
    return Draft(facts.product_id, text, TEMPLATE_DRAFTER, tuple(sources))


def model_prompt(facts: ProductFacts) -> str:
    attributes = specification_line(facts.attributes).replace("Specifications: ", "")
    return MODEL_PROMPT.format(
        title=facts.title,
        brand=facts.brand or "-",
        category=facts.category or "-",
        attributes=attributes or "-",
    )


def clean_generation(text: str, *, max_sentences: int = 6) -> str:
    """A generation as copy: its first paragraph, whole sentences only (a cut-off last
    sentence is dropped when there is another), at most ``max_sentences``."""
    paragraph = text.strip().split("\n\n")[0].replace("\n", " ").strip()
    sentences = sentences_of(paragraph)
    if len(sentences) > 1 and not sentences[-1].endswith((".", "!", "?")):
        sentences = sentences[:-1]
    return " ".join(sentences[:max_sentences])


def model_drafter_label(source: str) -> str:
    return f"{MODEL_DRAFTER_PREFIX}{source}"


def nearest_neighbours(
    targets: np.ndarray, candidates: np.ndarray, *, k: int, chunk: int = 1024
) -> list[list[int]]:
    """For each target row, the positions of its ``k`` most cosine-similar candidate rows, most
    similar first (rows need not be normalised)."""
    if len(candidates) == 0 or len(targets) == 0:
        return [[] for _ in range(len(targets))]

    def unit(m: np.ndarray) -> np.ndarray:
        m = np.asarray(m, dtype=np.float32)
        return m / np.maximum(np.linalg.norm(m, axis=1, keepdims=True), 1e-12)

    cand = unit(candidates)
    k = min(k, len(cand))
    out: list[list[int]] = []
    for start in range(0, len(targets), chunk):
        sims = unit(targets[start : start + chunk]) @ cand.T
        top = np.argpartition(-sims, k - 1, axis=1)[:, :k]
        for row, idx in zip(sims, top, strict=True):
            out.append([int(i) for i in idx[np.argsort(-row[idx], kind="stable")]])
    return out
