"""Paired comparisons of two rows of ``bench/relevance.py``, query by query."""

from __future__ import annotations


def print_paired(per_query: dict[str, dict[str, float]], better: str, worse: str) -> None:
    """``better`` minus ``worse`` query by query: the paired bootstrap interval of the mean, and
    each query where ``better`` trails (what is left to explain)."""
    from training.ml.metrics import paired_bootstrap

    a, b = per_query.get(better, {}), per_query.get(worse, {})
    queries = sorted(set(a) & set(b))
    if not queries:
        return
    mean, low, high = paired_bootstrap([a[q] for q in queries], [b[q] for q in queries])
    print(
        f"{better} - {worse} ({len(queries)} queries): {mean:+.4f} NDCG@10, 95% paired "
        f"bootstrap [{low:+.4f}, {high:+.4f}]"
    )
    trailing = sorted((a[q] - b[q], q) for q in queries if a[q] < b[q] - 1e-9)
    for diff, query in trailing:
        print(f"  trails by {-diff:.3f}: {query!r} ({a[query]:.3f} vs {b[query]:.3f})")
