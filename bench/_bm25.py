"""The plain BM25 baseline of ``bench/relevance.py`` (``bench.relevance.BM25``), in numpy."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

import numpy as np


class BM25:
    """Okapi BM25 over tokenised texts (engine tokenizer + plural stripping), in numpy."""

    def __init__(
        self, ids: Sequence[int], texts: Sequence[str], k1: float = 1.2, b: float = 0.75
    ) -> None:
        from recommend.engine.explain import light_stem
        from recommend.engine.text import tokenize

        self._stem = lambda text: [light_stem(t) for t in tokenize(text)]
        self.ids = list(ids)
        docs = [Counter(self._stem(t)) for t in texts]
        self.vocab = {w: i for i, w in enumerate(sorted({w for d in docs for w in d}))}
        lengths = np.array([sum(d.values()) for d in docs], dtype=np.float64)
        avg = lengths.mean() if len(lengths) else 1.0
        self.tf = np.zeros((len(docs), len(self.vocab)), dtype=np.float32)
        for row, doc in enumerate(docs):
            for word, n in doc.items():
                self.tf[row, self.vocab[word]] = n
        df = (self.tf > 0).sum(axis=0)
        n_docs = len(docs)
        self.idf = np.log(1 + (n_docs - df + 0.5) / (df + 0.5))
        self.norm = k1 * (1 - b + b * lengths / avg)
        self.k1 = k1

    def search(self, query: str, k: int) -> list[int]:
        return [pk for pk, _ in self.search_scored(query, k)]

    def search_scored(self, query: str, k: int) -> list[tuple[int, float]]:
        terms = [self.vocab[w] for w in dict.fromkeys(self._stem(query)) if w in self.vocab]
        if not terms:
            return []
        tf = self.tf[:, terms]
        scores = (self.idf[terms] * tf * (self.k1 + 1) / (tf + self.norm[:, None])).sum(axis=1)
        order = np.argsort(-scores, kind="stable")[:k]
        return [(self.ids[i], float(scores[i])) for i in order if scores[i] > 0]
