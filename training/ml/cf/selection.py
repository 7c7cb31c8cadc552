"""Model selection for CF: a small hyper-parameter grid per family (cosine item-kNN, EASE,
implicit ALS, BPR), every candidate fitted on the training part and scored on validation, the
best by validation NDCG@k chosen, then refitted on all interactions for serving.

Each family is fitted as cheaply as the grid allows: item-kNN computes the co-occurrence once
for every (neighbours, shrinkage); EASE the Gram matrix once for every λ; ALS and BPR train
once per (factors, regularisation / learning rate) up to the largest iteration count and are
scored at every iteration count of the grid on the way.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from training.ml.cf.data import Interactions
from training.ml.cf.evaluation import evaluate_cf
from training.ml.cf.factorization import raise_if_cancelled
from training.ml.cf.models import BPRMF, EASE, CFModel, ImplicitMF, ItemItemCF
from training.ml.progress import CancelCheck

FAMILIES = ("item_item", "ease", "implicit_mf", "bpr")


@dataclass
class SearchSpace:
    """The candidates to try, per family."""

    families: Sequence[str] = FAMILIES
    knn: Sequence[tuple[int, float]] = ((50, 0.0),)
    ease_lambdas: Sequence[float] = (100.0,)
    ease_top_n: int = 200
    ease_max_items: int = 8_000
    als: Sequence[tuple[int, float]] = ((64, 0.01),)  # (factors, regularisation)
    als_iterations: Sequence[int] = (15,)
    alpha: float = 1.0
    bpr: Sequence[tuple[int, float]] = ((64, 0.01),)  # (factors, learning rate)
    bpr_iterations: Sequence[int] = (100,)
    bpr_regularization: float = 0.01
    seed: int = 0


def search_space(
    *,
    grid: bool,
    families: Sequence[str] = FAMILIES,
    top_k: int = 50,
    shrink: float = 0.0,
    factors: int = 64,
    iterations: int = 15,
    regularization: float = 0.01,
    alpha: float = 1.0,
    ease_lambda: float = 100.0,
    ease_max_items: int = 8_000,
    seed: int = 0,
) -> SearchSpace:
    """The given values alone (``grid=False``), or a small grid around them: neighbours ×4,
    shrinkage 10 and 100, factors ×2, regularisation ×10, iterations ×2, EASE λ ×5 and BPR
    learning rates 0.01 and 0.05 scored at 50, 100 and 150 epochs (one fit each)."""
    unknown = set(families) - set(FAMILIES)
    if unknown:
        raise ValueError(f"unknown CF families {sorted(unknown)}; known: {', '.join(FAMILIES)}")

    def values(*options: float) -> list:
        return sorted(set(options))

    if not grid:
        return SearchSpace(
            families=tuple(families),
            knn=[(top_k, shrink)],
            ease_lambdas=[ease_lambda],
            ease_max_items=ease_max_items,
            als=[(factors, regularization)],
            als_iterations=[iterations],
            alpha=alpha,
            bpr=[(factors, 0.01)],
            bpr_iterations=[100],
            seed=seed,
        )
    return SearchSpace(
        families=tuple(families),
        knn=[(n, s) for n in values(top_k, 4 * top_k) for s in values(shrink, 10.0, 100.0)],
        ease_lambdas=values(ease_lambda, 5 * ease_lambda),
        ease_max_items=ease_max_items,
        als=[
            (f, r)
            for f in values(factors, 2 * factors)
            for r in values(regularization, 10 * regularization)
        ],
        als_iterations=values(iterations, 2 * iterations),
        alpha=alpha,
        bpr=[(factors, lr) for lr in (0.01, 0.05)],
        bpr_iterations=[50, 100, 150],
        seed=seed,
    )


@dataclass
class Candidate:
    """One fitted configuration and its validation figures. ``seconds``: the time to fit and
    score it; a fit shared by several candidates (a grid's co-occurrence, an ALS run scored at
    several iteration counts) is counted on the first of them."""

    family: str
    params: dict[str, Any]
    valid: dict[str, float] = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def name(self) -> str:
        shown = ", ".join(
            f"{key}={value:g}"
            for key, value in self.params.items()
            if isinstance(value, int | float)
        )
        return f"{self.family}({shown})"

    def as_dict(self) -> dict[str, Any]:
        return {
            "family": self.family,
            "params": self.params,
            "valid": {key: round(value, 4) for key, value in self.valid.items()},
            "seconds": round(self.seconds, 2),
        }


def _fitted(
    family: str,
    space: SearchSpace,
    train: Interactions,
    should_cancel: CancelCheck | None,
) -> Iterator[tuple[dict[str, Any], CFModel]]:
    """Yield ``(params, model)`` for each configuration of one family (shared work done once)."""
    if family == "item_item":
        for model in ItemItemCF.fit_grid(train, space.knn, should_cancel=should_cancel).values():
            yield dict(model.params), model
    elif family == "ease":
        for model in EASE.fit_grid(
            train, space.ease_lambdas, top_n=space.ease_top_n, should_cancel=should_cancel
        ).values():
            yield dict(model.params), model
    elif family == "implicit_mf":
        for factors, regularization in space.als:
            fits = ImplicitMF.fit_checkpoints(
                train,
                factors=factors,
                checkpoints=space.als_iterations,
                regularization=regularization,
                alpha=space.alpha,
                seed=space.seed,
                should_cancel=should_cancel,
            )
            for model in fits.values():
                yield _public(model.params), model
    elif family == "bpr":
        for factors, learning_rate in space.bpr:
            fits = BPRMF.fit_checkpoints(
                train,
                factors=factors,
                checkpoints=space.bpr_iterations,
                learning_rate=learning_rate,
                regularization=space.bpr_regularization,
                seed=space.seed,
                should_cancel=should_cancel,
            )
            for model in fits.values():
                yield dict(model.params), model
    else:
        raise ValueError(f"unknown CF family {family!r}")


def _public(params: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in params.items() if key != "backend"}


def skipped_families(space: SearchSpace, train: Interactions) -> dict[str, str]:
    """Families of the space that will not run on this data, with the reason."""
    skipped = {}
    if "bpr" in space.families:
        try:
            import implicit.cpu.bpr  # noqa: F401
        except ImportError:
            skipped["bpr"] = "the implicit package is not installed (ALS falls back to numpy)"
    if "ease" in space.families and train.n_items > space.ease_max_items:
        skipped["ease"] = (
            f"{train.n_items} items > ease_max_items {space.ease_max_items} (its dense "
            "items × items matrices would not fit the memory and time budget)"
        )
    return skipped


def select(
    space: SearchSpace,
    train: Interactions,
    valid: Interactions,
    *,
    k: int = 20,
    ks: Sequence[int] = (10,),
    max_users: int | None = None,
    on_candidate: Callable[[Candidate], None] | None = None,
    should_cancel: CancelCheck | None = None,
) -> tuple[list[Candidate], Candidate | None, CFModel | None]:
    """Fit and score every candidate on validation; return them all, the best by NDCG@k and
    its model (fitted on ``train``). Ties keep the first candidate (cheaper families first)."""
    skipped = skipped_families(space, train)
    candidates: list[Candidate] = []
    best: Candidate | None = None
    best_model: CFModel | None = None
    key = f"ndcg@{k}"
    for family in space.families:
        if family in skipped:
            continue
        started = time.perf_counter()
        for params, model in _fitted(family, space, train, should_cancel):
            raise_if_cancelled(should_cancel, "CF model selection cancelled")
            candidate = Candidate(family=family, params=params)
            candidate.valid = evaluate_cf(
                model, train, valid, k=k, ks=ks, max_users=max_users, seed=space.seed
            )
            candidate.seconds = time.perf_counter() - started
            candidates.append(candidate)
            if best is None or candidate.valid[key] > best.valid[key]:
                best, best_model = candidate, model
            if on_candidate is not None:
                on_candidate(candidate)
            started = time.perf_counter()
    return candidates, best, best_model


def recorded_recipe(hyperparameters: dict | None) -> Candidate | None:
    """The chosen family and parameters a CF version records (``primary``, ``chosen``), or None
    for a version trained before the recipe was kept."""
    hyper = hyperparameters or {}
    if "primary" not in hyper or "chosen" not in hyper:
        return None
    return Candidate(family=hyper["primary"], params=dict(hyper["chosen"]))


def refit(candidate: Candidate, interactions: Interactions) -> CFModel:
    """The chosen configuration fitted again, on ``interactions`` (all of them, for serving)."""
    p = candidate.params
    if candidate.family == "item_item":
        return ItemItemCF.fit(interactions, top_k=int(p["top_k"]), shrink=float(p["shrink"]))
    if candidate.family == "ease":
        return EASE.fit(interactions, lam=float(p["lambda"]), top_n=int(p["top_n"]))
    if candidate.family == "implicit_mf":
        return ImplicitMF.fit(
            interactions,
            factors=int(p["factors"]),
            iterations=int(p["iterations"]),
            regularization=float(p["regularization"]),
            alpha=float(p["alpha"]),
            seed=int(p["seed"]),
        )
    if candidate.family == "bpr":
        return BPRMF.fit(
            interactions,
            factors=int(p["factors"]),
            iterations=int(p["iterations"]),
            learning_rate=float(p["learning_rate"]),
            regularization=float(p["regularization"]),
            seed=int(p["seed"]),
        )
    raise ValueError(f"unknown CF family {candidate.family!r}")


def candidate_count(space: SearchSpace, train: Interactions) -> int:
    """How many candidates ``select`` will score on this data."""
    sizes = {
        "item_item": len(space.knn),
        "ease": len(space.ease_lambdas),
        "implicit_mf": len(space.als) * len(set(space.als_iterations)),
        "bpr": len(space.bpr) * len(set(space.bpr_iterations)),
    }
    skipped = skipped_families(space, train)
    return sum(sizes[family] for family in space.families if family not in skipped)
