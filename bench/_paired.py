"""Paired comparisons of two rows of a bench (``bench/relevance.py``, ``bench/image_search.py``),
query by query."""

from __future__ import annotations


def print_paired(
    per_query: dict[str, dict[str, float]],
    better: str,
    worse: str,
    *,
    metric: str = "NDCG@10",
    show_trailing: int | None = None,
) -> tuple[float, float, float] | None:
    """``better`` minus ``worse`` query by query: the paired bootstrap interval of the mean, and
    each query where ``better`` trails (what is left to explain; the ``show_trailing`` largest
    when given). Returns (mean, low, high), or None when the rows share no query."""
    from training.ml.metrics import paired_bootstrap

    a, b = per_query.get(better, {}), per_query.get(worse, {})
    queries = sorted(set(a) & set(b))
    if not queries:
        return None
    mean, low, high = paired_bootstrap([a[q] for q in queries], [b[q] for q in queries])
    verdict = "above zero" if low > 0 else "below zero" if high < 0 else "contains zero"
    print(
        f"{better} - {worse} ({len(queries)} queries): {mean:+.4f} {metric}, 95% paired "
        f"bootstrap [{low:+.4f}, {high:+.4f}] ({verdict})"
    )
    trailing = sorted((a[q] - b[q], q) for q in queries if a[q] < b[q] - 1e-9)
    if show_trailing is not None:
        if trailing:
            print(f"  trails on {len(trailing)} of {len(queries)}; the {show_trailing} largest:")
        trailing = trailing[:show_trailing]
    for diff, query in trailing:
        print(f"  trails by {-diff:.3f}: {query!r} ({a[query]:.3f} vs {b[query]:.3f})")
    return mean, low, high
