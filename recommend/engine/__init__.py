"""Search and recommendation algorithms in plain Python (numpy, scipy, rapidfuzz; no Django).

Modules follow the search request flow: ``text`` (normalise, tokenise) -> ``spelling`` ->
``synonyms`` -> ``retrieval`` (index protocols, exact scan, HNSW plan) -> ``fusion`` (RRF) ->
``rules`` -> ``diversity`` -> ``explain``; plus ``facets``, ``profiles`` (shopper taste vectors)
and ``cooccurrence`` (bought together, trending) for recommendations. Django code calls these
with plain values; nothing here touches the database.
"""
