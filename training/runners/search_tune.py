"""``tune_search``: choose a search strategy's fusion (RRF ``k``, lexical and semantic
weights) on validation queries and record it on the strategy with its figures.

Validation queries are judged ones when the job names a judged CSV (split by query into
validation and test halves with ``seed``), else queries mined from the search log with the
products shoppers engaged with afterwards (the retriever data's validation and test parts).
Each query's lists come from the serving retrievers once (``training.search_fusion_data``);
every setting of the grid is scored offline on the validation queries
(``training.ml.search_fusion``) and the chosen one, the weights before and the defaults are
compared on the test queries. The settings are written to the strategy with that record
(``recommend.services.strategy_set_learned_weights``) unless an operator edited them since and
the job was not launched with ``overwrite_operator_weights``. No model version is created.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError

from recommend.models import Surface
from recommend.selectors import strategy_by_reference
from training import datasets
from training.context import JobContext


def _judgments(ctx: JobContext) -> tuple[str, dict, dict]:
    """``(source, validation judgments, test judgments)``."""
    from training.ml.search_fusion import split_queries

    p = ctx.params
    if p["judged_csv"]:
        judged = datasets.judged_csv(p["judged_csv"])
        judged = {q: g for q, g in judged.items() if any(v > 0 for v in g.values())}
        valid, test = split_queries(list(judged), seed=p["seed"], valid_fraction=0.5)
        return (
            f"judged queries of {p['judged_csv']}",
            {q: judged[q] for q in valid},
            {q: judged[q] for q in test},
        )
    data = datasets.retriever_data(seed=p["seed"], days=p["days"])
    return (
        "queries mined from the search log (engagement after the search)",
        data.judgments("valid"),
        data.judgments("test"),
    )


def _capped(judgments: dict, limit: int, seed: int) -> dict:
    if not limit or len(judgments) <= limit:
        return judgments
    from training.ml.search_fusion import split_queries

    kept, _rest = split_queries(list(judgments), seed=seed, valid_fraction=limit / len(judgments))
    return {q: judgments[q] for q in kept}


def run(ctx: JobContext) -> None:
    from recommend import selectors
    from recommend.models import TUNED_FIELDS, Strategy
    from recommend.services import strategy_set_learned_weights
    from training.ml.search_fusion import FusionSetting, mean_ndcg, tune_search_fusion
    from training.search_fusion_data import search_query_lists

    p = ctx.params
    k = p["k"]
    key = f"ndcg@{k}"
    strategy = strategy_by_reference(p["strategy"], Surface.SEARCH)
    config = selectors.strategy_config(strategy)
    with ctx.stage("read the validation queries", 0.0, 0.05):
        source, valid, test = _judgments(ctx)
        valid = _capped(valid, p["max_queries"], p["seed"])
        test = _capped(test, p["max_queries"], p["seed"])
        if not valid:
            raise ValidationError(
                f"No validation query with a relevant product ({source}): nothing to tune on. "
                "Name a judged CSV (judged_csv=demo/relevance.csv), or wait for searches "
                "followed by clicks."
            )
        ctx.log(f"{source}: {len(valid)} validation and {len(test)} test queries")
    queries = sorted(set(valid) | set(test))
    with ctx.stage("retrieve each query's lexical and semantic lists", 0.05, 0.7):
        lists = search_query_lists(
            queries,
            strategy=config,
            on_query=lambda n: ctx.progress(n / len(queries), n, len(queries), None, {}),
        )
    before = FusionSetting(strategy.rrf_k, strategy.lexical_weight, strategy.semantic_weight)
    defaults = FusionSetting(
        *(
            Strategy._meta.get_field(f).default
            for f in ("rrf_k", "lexical_weight", "semantic_weight")
        )
    )
    valid_lists = {q: lists[q] for q in valid if q in lists}
    test_lists = {q: lists[q] for q in test if q in lists}
    with ctx.stage(f"score the grid on validation {key}", 0.7, 0.95):
        result = tune_search_fusion(
            valid_lists,
            valid,
            # lcb shrinks towards the defaults: what replaces them must be clearly better
            start=defaults if p["selection"] == "lcb" else before,
            k=k,
            on_step=lambda n, total: ctx.progress(n / total, n, total, None, {}),
            should_cancel=ctx.should_cancel,
            select=p["selection"],
        )
    chosen = result.chosen
    if result.reason:
        ctx.log(result.reason)
    figures = {
        "metric": key,
        "k": k,
        "source": source,
        "split": {
            "seed": p["seed"],
            "valid_queries": result.queries,
            "test_queries": len(test_lists),
        },
        "valid": {
            "learned": round(result.ndcg, 4),
            "before": round(mean_ndcg(valid_lists, valid, before, k), 4),
            "defaults": round(mean_ndcg(valid_lists, valid, defaults, k), 4),
        },
        "selection": {
            "method": result.selection,
            "fell_back": result.fell_back,
            "gain": round(result.gain, 4),
            "lower_bound": round(result.lower_bound, 4),
            "reason": result.reason,
        },
        "test": {
            "queries": len(test_lists),
            "learned": round(mean_ndcg(test_lists, test, chosen, k), 4),
            "before": round(mean_ndcg(test_lists, test, before, k), 4),
            "defaults": round(mean_ndcg(test_lists, test, defaults, k), 4),
        },
        "weights": {
            "lexical": chosen.lexical_weight,
            "semantic": chosen.semantic_weight,
            "rrf_k": chosen.rrf_k,
        },
        "retriever_version": getattr(selectors.served_models(config).retriever, "id", None),
        "tried": len(result.tried),
    }
    ctx.log(
        f"chosen k {chosen.rrf_k}, lexical {chosen.lexical_weight:g}, semantic "
        f"{chosen.semantic_weight:g}: validation {key} {result.ndcg:.4f} vs "
        f"{figures['valid']['before']:.4f} before; test {figures['test']['learned']:.4f} vs "
        f"{figures['test']['before']:.4f}"
    )
    written, why = False, "apply=false: settings reported, not written"
    if p["apply"]:
        with ctx.stage("write the settings", 0.95, 1.0):
            written, why = strategy_set_learned_weights(
                strategy_id=strategy.pk,
                weights={n: figures["weights"][n] for n in TUNED_FIELDS["search"]},
                tuning=figures,
                job=ctx.job,
                actor=ctx.user,
                overwrite_operator_weights=p["overwrite_operator_weights"],
            )
    if result.fell_back:
        why = f"the defaults stay ({result.reason}); {why}"
    ctx.log(why)
    ctx.message(why)
    ctx.finish(
        None,
        {
            **figures,
            "strategy": strategy.pk,
            "before": before.as_dict(),
            "written": written,
            "outcome": why,
            "candidates": result.tried,
        },
    )
