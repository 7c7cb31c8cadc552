"""The two-headed ranker: a click head and a purchase head on shared features (plain Python +
torch inside ``train_two_headed``; serving needs numpy only).

The heads follow ESMM (Ma et al., *Entire Space Multi-Task Model*, SIGIR 2018):

- the click head gives ``pCTR = σ(c(x))``;
- the conversion head gives ``pCVR = σ(v(x))``, the chance of a purchase *given a click*;
- the purchase score is ``pCTCVR = pCTR · pCVR``, the chance that a shown item is bought.

Both are trained over **every shown item** — ``BCE(pCTR, click) + BCE(pCTCVR, purchase)`` — so
neither head is trained on another population than the one it scores at serving. Training the
purchase head on clicked items only (the other choice the issue names) would fit it on the
few items shoppers clicked and then apply it to every candidate (sample selection bias), and it
would learn from clicked items alone (a few hundred rows on the demo store). ``pCVR`` is never
supervised directly: it is what makes ``pCTR · pCVR`` fit the purchases, so a signal that moves
purchases but not clicks (a price shoppers buy at, not just look at) lands in the conversion
head instead of being averaged into one engagement level.

Each head keeps today's pairwise term as well (``training.ml.losses.ranker_loss``): the click
head against the engagement levels (as the single-head ranker), the purchase score against
purchases within a list, so that both orders — not only the probabilities — are learned.

Serving combines the heads by the strategy's objective (``combined_log_score``):
``score = pCTR · pCVR^w``, ``w = 0`` ranks by clicks, ``w = 1`` by purchases (pCTCVR), anything
between is a blend. A single-head artifact (``RankerScorer``) keeps loading and serving: it
has a click head only, and every objective serves it (:func:`load_scorer`).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from training.ml import metrics
from training.ml.progress import CancelCheck, ProgressCallback
from training.ml.ranker import (
    LEXICAL_SCORE,
    POSITION,
    SERVING_POSITION,
    RankerConfig,
    RankerScorer,
    _Arrays,
    _arrays,
    feature_matrix,
    train_over_lists,
)

FORMAT_VERSION = 2
HEADS = ("click", "purchase")
#: How the strategy combines the heads (``recommend.models.Strategy.ranker_objective``).
OBJECTIVES = ("click", "purchase", "blend")
DEFAULT_OBJECTIVE = "purchase"
#: What the conversion head's BCE is fitted on (``TwoHeadConfig.conversion``).
CONVERSIONS = ("esmm", "clicked")
#: The purchase weights ``w`` a validation period chooses from (``choose_blend``).
BLEND_GRID = (0.0, 0.25, 0.5, 0.75, 1.0)
#: The engagement level of a purchase (``training.ranking_data.ENGAGEMENT``).
PURCHASE_LEVEL = 3.0


def purchase_weight(objective: str, blend_weight: float = 0.5) -> float:
    """The exponent ``w`` of ``pCVR`` in ``pCTR · pCVR^w`` for an objective."""
    if objective == "click":
        return 0.0
    if objective == "purchase":
        return 1.0
    if objective == "blend":
        return float(min(max(blend_weight, 0.0), 1.0))
    raise ValueError(f"unknown ranker objective {objective!r} (one of {', '.join(OBJECTIVES)})")


def _log_sigmoid(x: np.ndarray) -> np.ndarray:
    return -np.logaddexp(0.0, -x)


@dataclass
class TwoHeadConfig(RankerConfig):
    """``RankerConfig`` plus the weight of the purchase terms (``gamma``: the pCTCVR BCE and the
    purchase pairwise term; 0 leaves the conversion head untrained), the weight of a purchased
    row in that BCE (``purchase_weight``: purchases are rare — about 1 shown item in 80 on the
    demo store — and unweighted the BCE is mostly the unbought items), and what the conversion
    head's BCE is fitted on (``conversion``): ``"esmm"``, pCTCVR over every shown item, or
    ``"clicked"``, pCVR over clicked items only (the classic CVR model; for comparison)."""

    gamma: float = 1.0
    purchase_level: float = PURCHASE_LEVEL
    purchase_weight: float = 1.0
    conversion: str = "esmm"


class TwoHeadScorer:
    """Numpy scorer of a two-headed ranker: standardise, the shared layers (none for the linear
    model: the heads share the standardised features), then the click and conversion heads.

    ``score`` is the log of ``pCTR · pCVR^w`` for the scorer's ``objective`` (a log
    probability: the higher the better), so it stands in wherever a ``RankerScorer`` scores
    (offline metrics, the data-value retrains); ``heads`` gives both logits."""

    heads_available = HEADS

    def __init__(
        self,
        features: Sequence[str],
        mean: np.ndarray,
        std: np.ndarray,
        shared: Sequence[tuple[np.ndarray, np.ndarray]],
        click_head: tuple[np.ndarray, np.ndarray],
        purchase_head: tuple[np.ndarray, np.ndarray],
        model: str = "linear",
        serving_position: float = SERVING_POSITION,
        lexical_score: str = LEXICAL_SCORE,
        objective: str = DEFAULT_OBJECTIVE,
        blend_weight: float = 0.5,
    ) -> None:
        self.features = tuple(features)
        self.mean = np.asarray(mean, dtype=np.float32)
        self.std = np.asarray(std, dtype=np.float32)

        def as_pair(layer):
            return (np.asarray(layer[0], dtype=np.float32), np.asarray(layer[1], dtype=np.float32))

        self.shared = [as_pair(layer) for layer in shared]
        self.click_head = as_pair(click_head)
        self.purchase_head = as_pair(purchase_head)
        self.model = model
        self.serving_position = serving_position
        self.lexical_score = lexical_score
        purchase_weight(objective, blend_weight)  # validates
        self.objective = objective
        self.blend_weight = blend_weight

    def _hidden(self, feature_matrix_: np.ndarray, fix_position: bool) -> np.ndarray:
        x = np.asarray(feature_matrix_, dtype=np.float32)
        if x.ndim != 2 or x.shape[1] != len(self.features):
            raise ValueError(f"expected an N×{len(self.features)} matrix, got {x.shape}")
        if fix_position and POSITION in self.features:
            x = x.copy()
            x[:, self.features.index(POSITION)] = self.serving_position
        h = (x - self.mean) / self.std
        for w, b in self.shared:
            h = np.maximum(h @ w.T + b, 0.0)
        return h

    def heads(
        self, feature_matrix_: np.ndarray, fix_position: bool = True
    ) -> dict[str, np.ndarray]:
        """``{"click": logit of pCTR, "conversion": logit of pCVR}`` for an N×F matrix."""
        h = self._hidden(feature_matrix_, fix_position)
        (wc, bc), (wv, bv) = self.click_head, self.purchase_head
        return {"click": (h @ wc.T + bc).reshape(-1), "conversion": (h @ wv.T + bv).reshape(-1)}

    def log_score(
        self,
        feature_matrix_: np.ndarray,
        fix_position: bool = True,
        objective: str | None = None,
        blend_weight: float | None = None,
    ) -> np.ndarray:
        """``log(pCTR · pCVR^w)`` per row (``w`` from the objective: see the module doc)."""
        w = purchase_weight(
            objective or self.objective,
            self.blend_weight if blend_weight is None else blend_weight,
        )
        logits = self.heads(feature_matrix_, fix_position)
        return _log_sigmoid(logits["click"]) + w * _log_sigmoid(logits["conversion"])

    def score(self, feature_matrix_: np.ndarray, fix_position: bool = True) -> np.ndarray:
        """``log_score`` with the scorer's own objective (``RankerScorer.score``'s contract:
        higher ranks first)."""
        return self.log_score(feature_matrix_, fix_position)

    def score_features(
        self, feature_dicts: Iterable[Mapping[str, float]], fix_position: bool = True
    ) -> np.ndarray:
        return self.score(feature_matrix(feature_dicts, self.features), fix_position)

    def with_objective(self, objective: str, blend_weight: float = 0.5) -> TwoHeadScorer:
        """The same weights scoring by another objective."""
        return TwoHeadScorer(
            self.features,
            self.mean,
            self.std,
            self.shared,
            self.click_head,
            self.purchase_head,
            model=self.model,
            serving_position=self.serving_position,
            lexical_score=self.lexical_score,
            objective=objective,
            blend_weight=blend_weight,
        )

    def feature_weights(self) -> dict[str, float] | None:
        """For a linear model, the click head's weight of each standardised feature."""
        if self.shared:
            return None
        return {n: float(w) for n, w in zip(self.features, self.click_head[0][0], strict=True)}

    def head_weights(self) -> dict[str, dict[str, float]] | None:
        """For a linear model, each head's standardised feature weights."""
        if self.shared:
            return None
        return {
            head: {n: float(w) for n, w in zip(self.features, layer[0][0], strict=True)}
            for head, layer in (("click", self.click_head), ("conversion", self.purchase_head))
        }

    def save(self, directory: str | Path) -> Path:
        """``ranker.npz`` + ``ranker.json`` (``"heads": ["click", "purchase"]``), no pickle."""
        path = Path(directory)
        path.mkdir(parents=True, exist_ok=True)
        arrays: dict[str, np.ndarray] = {"mean": self.mean, "std": self.std}
        for i, (w, b) in enumerate(self.shared):
            arrays[f"shared{i}_weight"], arrays[f"shared{i}_bias"] = w, b
        arrays["click_weight"], arrays["click_bias"] = self.click_head
        arrays["purchase_weight"], arrays["purchase_bias"] = self.purchase_head
        np.savez(path / "ranker.npz", **arrays)
        config = {
            "format_version": FORMAT_VERSION,
            "heads": list(HEADS),
            "combination": "esmm: purchase score = pCTR * pCVR",
            "model": self.model,
            "features": list(self.features),
            "shared_layers": len(self.shared),
            "serving_position": self.serving_position,
            "lexical_score": self.lexical_score,
            "objective": self.objective,
            "blend_weight": self.blend_weight,
        }
        (path / "ranker.json").write_text(json.dumps(config, indent=2))
        return path

    @classmethod
    def load(cls, directory: str | Path) -> TwoHeadScorer:
        path = Path(directory)
        config = json.loads((path / "ranker.json").read_text())
        with np.load(path / "ranker.npz", allow_pickle=False) as arrays:
            return cls(
                config["features"],
                arrays["mean"],
                arrays["std"],
                [
                    (arrays[f"shared{i}_weight"], arrays[f"shared{i}_bias"])
                    for i in range(config["shared_layers"])
                ],
                (arrays["click_weight"], arrays["click_bias"]),
                (arrays["purchase_weight"], arrays["purchase_bias"]),
                model=config["model"],
                serving_position=config["serving_position"],
                lexical_score=config.get("lexical_score", LEXICAL_SCORE),
                objective=config.get("objective", DEFAULT_OBJECTIVE),
                blend_weight=config.get("blend_weight", 0.5),
            )


def load_scorer(directory: str | Path) -> RankerScorer | TwoHeadScorer:
    """Either kind of ranker artifact: two-headed when its ``ranker.json`` names heads, else the
    single-head ``RankerScorer`` every version before the heads saved."""
    config = json.loads((Path(directory) / "ranker.json").read_text())
    if config.get("heads"):
        return TwoHeadScorer.load(directory)
    return RankerScorer.load(directory)


def serving_log_scores(
    scorer: RankerScorer | TwoHeadScorer,
    feature_dicts: Sequence[Mapping[str, float]],
    objective: str = DEFAULT_OBJECTIVE,
    blend_weight: float = 0.5,
) -> np.ndarray:
    """Log scores at serving (position fixed): a two-headed scorer by the objective, a
    single-head one by its only head (``log σ(score)``) whatever the objective."""
    x = feature_matrix(feature_dicts, scorer.features)
    if isinstance(scorer, TwoHeadScorer):
        return scorer.log_score(x, True, objective, blend_weight)
    return _log_sigmoid(scorer.score(x, fix_position=True))


# --------------------------------------------------------------------------- evaluation


def purchase_labels(rows_or_engagement, level: float = PURCHASE_LEVEL) -> np.ndarray:
    """1.0 where the engagement reached a purchase."""
    return (np.asarray(rows_or_engagement, dtype=np.float32) >= level).astype(np.float32)


def list_ndcg(scores: np.ndarray, gains: np.ndarray, lists: Sequence[np.ndarray], k: int = 10):
    """NDCG@k of each list with any gain (in the order of ``lists``; lists without one are
    skipped), ranking by ``scores``."""
    out = []
    for members in lists:
        positive = {int(i): float(gains[i]) for i in members if gains[i] > 0}
        if positive:
            ranked = [int(i) for i in members[np.argsort(-scores[members], kind="stable")]]
            out.append(metrics.ndcg_at_k(ranked, positive, k))
    return out


def evaluate_heads(
    scorer: RankerScorer | TwoHeadScorer,
    rows: Sequence[Any],
    k: int = 10,
    objectives: Sequence[str] = OBJECTIVES,
    blend_weight: float = 0.5,
) -> dict[str, Any]:
    """Serving-score metrics of either kind of ranker, the same for both so they compare:

    - ``click_auc``: the click score (the click head; a single-head ranker's only score) against
      clicks, over every shown item;
    - ``purchase_auc``: the purchase score (pCTCVR; a single-head ranker's only score) against
      purchases, over every shown item;
    - ``ndcg@k_purchases``: NDCG@k with purchases as the gain, over the lists with a purchase,
      per objective (``by_objective``) and for the scorer's own;
    - ``ndcg@k``: NDCG@k with the engagement levels as the gain (``evaluate_ranker``'s);
    - ``purchase_lists``: how many lists the purchase NDCG averages.
    """
    data: _Arrays = _arrays(rows, scorer.features)
    purchases = purchase_labels(data.engagement)
    out: dict[str, Any] = {"rows": len(rows), "lists": len(data.lists)}
    two = isinstance(scorer, TwoHeadScorer)

    def scores_for(objective: str) -> np.ndarray:
        if two:
            return scorer.log_score(data.x, True, objective, blend_weight)
        return scorer.score(data.x, fix_position=True)

    click_scores, purchase_scores = scores_for("click"), scores_for("purchase")
    if 0 < data.clicks.sum() < len(data.clicks):
        out["click_auc"] = metrics.auc(click_scores.tolist(), (data.clicks > 0).tolist())
    if 0 < purchases.sum() < len(purchases):
        out["purchase_auc"] = metrics.auc(purchase_scores.tolist(), (purchases > 0).tolist())
    by_objective = {}
    for objective in objectives if two else ("click",):
        per_list = list_ndcg(scores_for(objective), purchases, data.lists, k)
        by_objective[objective] = float(np.mean(per_list)) if per_list else 0.0
    out["by_objective"] = by_objective
    own = scorer.score(data.x, fix_position=True)
    per_list = list_ndcg(own, purchases, data.lists, k)
    out[f"ndcg@{k}_purchases"] = float(np.mean(per_list)) if per_list else 0.0
    out["purchase_lists"] = len(per_list)
    engagement = list_ndcg(own, data.engagement, data.lists, k)
    out[f"ndcg@{k}"] = float(np.mean(engagement)) if engagement else 0.0
    return out


def purchase_ndcg_per_list(
    scorer: RankerScorer | TwoHeadScorer, rows: Sequence[Any], k: int = 10
) -> list[float]:
    """NDCG@k by purchases of each list with a purchase (serving scores; for paired bootstraps
    between rankers scored on the same rows)."""
    data = _arrays(rows, scorer.features)
    own = scorer.score(data.x, fix_position=True)
    return list_ndcg(own, purchase_labels(data.engagement), data.lists, k)


def choose_blend(
    scorer: TwoHeadScorer,
    valid_rows: Sequence[Any],
    grid: Sequence[float] = BLEND_GRID,
    k: int = 10,
) -> tuple[float | None, dict[float, float]]:
    """The purchase weight ``w`` of ``pCTR · pCVR^w`` with the best NDCG@k by purchases on
    validation lists (never the test lists), and the figure of every ``w`` tried; ties go to the
    larger ``w`` (the purchase objective). ``(None, {})`` without a validation purchase."""
    data = _arrays(valid_rows, scorer.features)
    purchases = purchase_labels(data.engagement)
    figures: dict[float, float] = {}
    for w in grid:
        per_list = list_ndcg(scorer.log_score(data.x, True, "blend", w), purchases, data.lists, k)
        if not per_list:
            return None, {}
        figures[float(w)] = float(np.mean(per_list))
    return max(figures, key=lambda w: (figures[w], w)), figures


# --------------------------------------------------------------------------- training


@dataclass
class TwoHeadResult:
    """What training produced: the scorer, metrics, the loss per epoch."""

    metrics: dict[str, Any]
    scorer: TwoHeadScorer
    history: list[dict[str, float]] = field(default_factory=list)

    def save(self, directory: str | Path) -> Path:
        return self.scorer.save(directory)


def train_two_headed(
    rows: Sequence[Any],
    config: TwoHeadConfig | None = None,
    progress_cb: ProgressCallback | None = None,
    should_cancel: CancelCheck | None = None,
    valid_rows: Sequence[Any] | None = None,
) -> TwoHeadResult:
    """Fit the click and purchase heads on rows (``RankerRow`` or mappings with its fields; a
    purchase is an engagement of at least ``config.purchase_level``). Batches hold whole
    lists; progress and cancellation once per optimiser step, as ``train_ranker``."""
    import torch

    config = config or TwoHeadConfig()
    previous_threads = torch.get_num_threads()
    if config.num_threads is not None:
        torch.set_num_threads(config.num_threads)
    try:
        return _train(rows, config, progress_cb, should_cancel, valid_rows)
    finally:
        torch.set_num_threads(previous_threads)


def _loss(torch, click_logit, conv_logit, clicks, purchases, lists, engagement, config):
    """α·BCE(pCTR, click) + β·pairwise(click by engagement)
    + γ·(BCE(pCTCVR, purchase) + β·pairwise(pCTCVR by purchase)); a purchased row weighs
    ``purchase_weight`` in the BCE, which is over clicked rows only (of pCVR) for
    ``conversion="clicked"``."""
    from training.ml.losses import ranker_loss

    click_part = ranker_loss(click_logit, clicks, lists, engagement, config.alpha, config.beta)
    if config.gamma == 0:
        return click_part
    log_sigmoid = torch.nn.functional.logsigmoid
    log_p = torch.clamp(log_sigmoid(click_logit) + log_sigmoid(conv_logit), max=-1e-6)
    weight = 1.0 + (config.purchase_weight - 1.0) * purchases
    if config.conversion == "clicked":
        clicked = clicks > 0
        per_row = torch.nn.functional.binary_cross_entropy_with_logits(
            conv_logit, purchases, reduction="none"
        )
        bce = (per_row * weight * clicked).sum() / clicked.sum().clamp(min=1)
    else:
        log_not_p = torch.log(-torch.expm1(log_p))  # log(1 - p), stable for p near 0 and 1
        bce = -(weight * (purchases * log_p + (1 - purchases) * log_not_p)).mean()
    # The pairwise term only (alpha 0): the purchase score above the unbought items of its list.
    pairwise = ranker_loss(log_p, purchases, lists, purchases, 0.0, config.beta)
    return click_part + config.gamma * (bce + pairwise)


def _train(rows, config: TwoHeadConfig, progress_cb, should_cancel, valid_rows) -> TwoHeadResult:
    import torch

    if config.model not in ("linear", "mlp"):
        raise ValueError(f"unknown ranker model {config.model!r}")
    if config.conversion not in CONVERSIONS:
        raise ValueError(f"unknown conversion fit {config.conversion!r}")
    if not rows:
        raise ValueError("no training rows")
    data = _arrays(rows, config.features)
    mean = data.x.mean(axis=0)
    std = data.x.std(axis=0)
    std[std < 1e-6] = 1.0
    device = torch.device(config.device)

    def tensors(d: _Arrays) -> tuple:
        return (
            torch.from_numpy((d.x - mean) / std).to(device),
            torch.from_numpy(d.clicks).to(device),
            torch.from_numpy(purchase_labels(d.engagement, config.purchase_level)).to(device),
            torch.from_numpy(d.list_codes).to(device),
            torch.from_numpy(d.engagement).to(device),
        )

    x, clicks, purchases, lists, engagement = tensors(data)
    n_features = len(config.features)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(config.seed)
        width = n_features if config.model == "linear" else config.hidden
        shared = (
            torch.nn.Sequential()
            if config.model == "linear"
            else torch.nn.Sequential(torch.nn.Linear(n_features, config.hidden), torch.nn.ReLU())
        )
        click_head = torch.nn.Linear(width, 1)
        conv_head = torch.nn.Linear(width, 1)
    modules = torch.nn.ModuleList([shared, click_head, conv_head]).to(device)
    optimiser = torch.optim.Adam(
        modules.parameters(), lr=config.learning_rate, weight_decay=config.weight_decay
    )

    def forward(xt):
        h = shared(xt)
        return click_head(h).squeeze(-1), conv_head(h).squeeze(-1)

    def full_loss(xt, ct, pt, lt, et) -> float:
        with torch.no_grad():
            return float(_loss(torch, *forward(xt), ct, pt, lt, et, config))

    initial_loss = full_loss(x, clicks, purchases, lists, engagement)
    step, history = train_over_lists(
        torch,
        optimiser,
        data.lists,
        lambda index: _loss(
            torch,
            *forward(x[index]),
            clicks[index],
            purchases[index],
            lists[index],
            engagement[index],
            config,
        ),
        epochs=config.epochs,
        lists_per_batch=config.lists_per_batch,
        seed=config.seed,
        device=device,
        progress_cb=progress_cb,
        should_cancel=should_cancel,
    )

    def numpy_layer(layer) -> tuple[np.ndarray, np.ndarray]:
        return (
            layer.weight.detach().cpu().numpy().copy(),
            layer.bias.detach().cpu().numpy().copy(),
        )

    scorer = TwoHeadScorer(
        config.features,
        mean,
        std,
        [numpy_layer(m) for m in shared if isinstance(m, torch.nn.Linear)],
        numpy_layer(click_head),
        numpy_layer(conv_head),
        model=config.model,
    )
    result_metrics: dict[str, Any] = {
        "initial_train_loss": initial_loss,
        "train_loss": full_loss(x, clicks, purchases, lists, engagement),
        "steps": step,
        "train_purchases": int(purchases.sum()),
        "config": {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(config).items()},
    }
    if valid_rows:
        result_metrics["valid_loss"] = full_loss(*tensors(_arrays(valid_rows, config.features)))
    weights = scorer.head_weights()
    if weights is not None:
        result_metrics["head_weights"] = weights
        result_metrics["feature_weights"] = weights["click"]
    return TwoHeadResult(metrics=result_metrics, scorer=scorer, history=history)
