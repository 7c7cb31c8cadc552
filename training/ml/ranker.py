"""Learning-to-rank over the search/recommendation features.

Training (torch, imported inside ``train_ranker``) minimises ``losses.ranker_loss``:
α·BCE on clicks plus β·pairwise logistic loss between items of one list with different
engagement. Serving needs numpy only: ``RankerScorer`` holds the standardisation and the
layer weights, and saves them as ``ranker.npz`` + ``ranker.json`` (no pickle).

``position`` (1-based place in the list the shopper saw) is a feature in training so that the
model explains clicks caused by placement with that feature instead of crediting the others
(position-bias correction). At serving every candidate gets ``position = 1``: the scores say
how each item would do at the top.
"""

from __future__ import annotations

import json
from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from training.ml import metrics
from training.ml.progress import CancelCheck, JobCancelled, ProgressCallback

FEATURES: tuple[str, ...] = (
    "lexical_score",
    "semantic_score",
    "profile_similarity",
    "cf_score",
    "popularity",
    "log_price",
    "position",
)
POSITION = "position"
SERVING_POSITION = 1.0
FORMAT_VERSION = 1
#: The definition of the ``lexical_score`` feature the training lists carry
#: (``training.ranking_data`` through ``PostgresLexicalIndex.scores``): the served scoring,
#: BM25F (``bm25`` before it was served). Saved with the scorer so serving computes the feature
#: the same way; artifacts saved before it was recorded were trained on PostgreSQL's
#: ``ts_rank_cd``, and are served with it.
LEXICAL_SCORE = "bm25f"
LEXICAL_SCORE_BEFORE_RECORDED = "ts_rank_cd"


@dataclass(frozen=True)
class RankerRow:
    """One shown item: the list (request) it was shown in, its features and what happened."""

    list_id: Hashable
    features: Mapping[str, float]
    click: float
    engagement: float


@dataclass
class RankerConfig:
    """Hyper-parameters; ``model`` is ``"linear"`` or ``"mlp"`` (one hidden ReLU layer)."""

    model: str = "linear"
    hidden: int = 16
    epochs: int = 30
    learning_rate: float = 0.05
    weight_decay: float = 0.0
    alpha: float = 1.0
    beta: float = 1.0
    lists_per_batch: int = 64
    seed: int = 0
    device: str = "cpu"
    features: tuple[str, ...] = FEATURES
    # torch intra-op threads while training (None: leave torch's setting). The model is tiny:
    # thread hand-offs cost more than they save, and on a busy 2-core host 2 threads were
    # measured 100x slower than 1. torch's setting is process-wide; it is restored afterwards.
    num_threads: int | None = 1


def _field(row: Any, name: str) -> Any:
    return row[name] if isinstance(row, Mapping) else getattr(row, name)


def feature_matrix(
    feature_dicts: Iterable[Mapping[str, float]], features: Sequence[str] = FEATURES
) -> np.ndarray:
    """Stack feature dicts into an N×F float32 matrix in ``features`` order.

    A missing feature is 0 (e.g. no CF score for a new shopper), a missing position is 1.
    """
    defaults = [SERVING_POSITION if name == POSITION else 0.0 for name in features]
    rows = [
        [
            default if (value := d.get(name)) is None else float(value)
            for name, default in zip(features, defaults, strict=True)
        ]
        for d in feature_dicts
    ]
    return np.asarray(rows, dtype=np.float32).reshape(len(rows), len(features))


class RankerScorer:
    """Numpy-only scorer for serving: standardise, then the linear or MLP layers."""

    def __init__(
        self,
        features: Sequence[str],
        mean: np.ndarray,
        std: np.ndarray,
        layers: Sequence[tuple[np.ndarray, np.ndarray]],
        model: str = "linear",
        serving_position: float = SERVING_POSITION,
        lexical_score: str = LEXICAL_SCORE,
    ) -> None:
        self.features = tuple(features)
        self.lexical_score = lexical_score
        self.mean = np.asarray(mean, dtype=np.float32)
        self.std = np.asarray(std, dtype=np.float32)
        self.layers = [
            (np.asarray(w, dtype=np.float32), np.asarray(b, dtype=np.float32)) for w, b in layers
        ]
        self.model = model
        self.serving_position = serving_position

    def score(self, feature_matrix: np.ndarray, fix_position: bool = True) -> np.ndarray:
        """Scores (logits) for an N×F matrix in ``self.features`` order.

        With ``fix_position`` (serving), the position column is set to ``serving_position``
        first; pass False to reproduce the training-time scores.
        """
        x = np.asarray(feature_matrix, dtype=np.float32)
        if x.ndim != 2 or x.shape[1] != len(self.features):
            raise ValueError(f"expected an N×{len(self.features)} matrix, got {x.shape}")
        if fix_position and POSITION in self.features:
            x = x.copy()
            x[:, self.features.index(POSITION)] = self.serving_position
        h = (x - self.mean) / self.std
        for i, (w, b) in enumerate(self.layers):
            h = h @ w.T + b
            if i < len(self.layers) - 1:
                h = np.maximum(h, 0.0)
        return h.reshape(-1)

    def score_features(
        self, feature_dicts: Iterable[Mapping[str, float]], fix_position: bool = True
    ) -> np.ndarray:
        """``score`` for feature dicts (missing features as in ``feature_matrix``)."""
        return self.score(feature_matrix(feature_dicts, self.features), fix_position)

    def feature_weights(self) -> dict[str, float] | None:
        """For a linear model, the weight of each standardised feature; else None."""
        if len(self.layers) != 1:
            return None
        return {name: float(w) for name, w in zip(self.features, self.layers[0][0][0], strict=True)}

    def save(self, directory: str | Path) -> Path:
        """Write ``ranker.npz`` (mean, std, layer weights) and ``ranker.json`` (config)."""
        path = Path(directory)
        path.mkdir(parents=True, exist_ok=True)
        arrays: dict[str, np.ndarray] = {"mean": self.mean, "std": self.std}
        for i, (w, b) in enumerate(self.layers):
            arrays[f"layer{i}_weight"] = w
            arrays[f"layer{i}_bias"] = b
        np.savez(path / "ranker.npz", **arrays)
        config = {
            "format_version": FORMAT_VERSION,
            "model": self.model,
            "features": list(self.features),
            "layers": len(self.layers),
            "serving_position": self.serving_position,
            "lexical_score": self.lexical_score,
        }
        (path / "ranker.json").write_text(json.dumps(config, indent=2))
        return path

    @classmethod
    def load(cls, directory: str | Path) -> RankerScorer:
        """Read a scorer written by ``save``."""
        path = Path(directory)
        config = json.loads((path / "ranker.json").read_text())
        with np.load(path / "ranker.npz", allow_pickle=False) as arrays:
            layers = [
                (arrays[f"layer{i}_weight"], arrays[f"layer{i}_bias"])
                for i in range(config["layers"])
            ]
            return cls(
                config["features"],
                arrays["mean"],
                arrays["std"],
                layers,
                model=config["model"],
                serving_position=config["serving_position"],
                lexical_score=config.get("lexical_score", LEXICAL_SCORE_BEFORE_RECORDED),
            )


@dataclass
class RankerResult:
    """What training produced: parameters as numpy arrays, metrics, a ready scorer, history."""

    weights: dict[str, np.ndarray]
    metrics: dict[str, Any]
    scorer: RankerScorer
    history: list[dict[str, float]] = field(default_factory=list)

    def save(self, directory: str | Path) -> Path:
        """Save the scorer (see ``RankerScorer.save``)."""
        return self.scorer.save(directory)


@dataclass
class _Arrays:
    x: np.ndarray
    clicks: np.ndarray
    engagement: np.ndarray
    list_codes: np.ndarray
    lists: list[np.ndarray]


def _arrays(rows: Sequence[Any], features: Sequence[str]) -> _Arrays:
    codes: dict[Hashable, int] = {}
    list_codes = np.asarray(
        [codes.setdefault(_field(row, "list_id"), len(codes)) for row in rows], dtype=np.int64
    )
    order = np.argsort(list_codes, kind="stable")
    bounds = np.flatnonzero(np.diff(list_codes[order])) + 1
    return _Arrays(
        x=feature_matrix((_field(row, "features") for row in rows), features),
        clicks=np.asarray([float(_field(row, "click")) for row in rows], dtype=np.float32),
        engagement=np.asarray([float(_field(row, "engagement")) for row in rows], np.float32),
        list_codes=list_codes,
        lists=np.split(order, bounds) if len(rows) else [],
    )


def evaluate_ranker(
    scorer: RankerScorer, rows: Sequence[Any], k: int = 10, fix_position: bool = True
) -> dict[str, float]:
    """Offline metrics with serving scores: click AUC and NDCG@k with engagement as gain.

    NDCG is averaged over lists with any engagement; AUC is left out when clicks are all of
    one class.
    """
    data = _arrays(rows, scorer.features)
    scores = scorer.score(data.x, fix_position=fix_position)
    result: dict[str, float] = {"rows": float(len(rows)), "lists": float(len(data.lists))}
    if 0 < data.clicks.sum() < len(data.clicks):
        result["auc"] = metrics.auc(scores.tolist(), (data.clicks > 0).tolist())
    ndcgs = []
    for members in data.lists:
        gains = {int(i): float(data.engagement[i]) for i in members if data.engagement[i] > 0}
        if gains:
            ranked = [int(i) for i in members[np.argsort(-scores[members], kind="stable")]]
            ndcgs.append(metrics.ndcg_at_k(ranked, gains, k))
    result[f"ndcg@{k}"] = float(np.mean(ndcgs)) if ndcgs else 0.0
    return result


def _raise_if_cancelled(should_cancel: CancelCheck | None, message: str) -> None:
    if should_cancel is not None and should_cancel():
        raise JobCancelled(message)


def train_over_lists(
    torch,
    optimiser,
    query_lists: Sequence[np.ndarray],
    batch_loss,
    *,
    epochs: int,
    lists_per_batch: int,
    seed: int,
    device,
    progress_cb: ProgressCallback | None,
    should_cancel: CancelCheck | None,
) -> tuple[int, list[dict[str, float]]]:
    """The rankers' training loop: ``epochs`` passes over the query lists in a seeded order,
    ``lists_per_batch`` whole lists per step, ``batch_loss(row index tensor)`` minimised by
    ``optimiser``; progress per step, cancel between steps. ``(steps, per-epoch mean loss)``."""
    rng = np.random.default_rng(seed)
    n_lists = len(query_lists)
    batches_per_epoch = max(1, -(-n_lists // lists_per_batch))
    total_steps = batches_per_epoch * epochs
    history: list[dict[str, float]] = []
    step = 0
    for epoch in range(epochs):
        order = rng.permutation(n_lists)
        epoch_loss = 0.0
        for start in range(0, n_lists, lists_per_batch):
            _raise_if_cancelled(should_cancel, f"ranker training cancelled at step {step}")
            chosen = [query_lists[i] for i in order[start : start + lists_per_batch]]
            index = torch.from_numpy(np.concatenate(chosen)).to(device)
            optimiser.zero_grad()
            loss = batch_loss(index)
            loss.backward()
            optimiser.step()
            step += 1
            value = float(loss.detach())
            epoch_loss += value
            if progress_cb is not None:
                progress_cb(step / total_steps, step, total_steps, value, {"epoch": epoch})
        history.append({"epoch": float(epoch), "loss": epoch_loss / batches_per_epoch})
    return step, history


def train_ranker(
    rows: Sequence[Any],
    config: RankerConfig | None = None,
    progress_cb: ProgressCallback | None = None,
    should_cancel: CancelCheck | None = None,
    valid_rows: Sequence[Any] | None = None,
) -> RankerResult:
    """Fit the ranker on rows (``RankerRow`` or mappings with the same fields).

    Features are standardised with the training mean/std (stored in the scorer). Batches hold
    whole lists, so every within-list pair is seen. Reports progress and checks cancellation
    once per optimiser step. Metrics: initial and final training loss and validation loss (with
    the logged positions), ``train_*`` / ``valid_*`` from ``evaluate_ranker`` (serving scores,
    position fixed at 1), the config, and for a linear model the standardised feature weights.
    """
    import torch

    config = config or RankerConfig()
    previous_threads = torch.get_num_threads()
    if config.num_threads is not None:
        torch.set_num_threads(config.num_threads)
    try:
        return _train_ranker(rows, config, progress_cb, should_cancel, valid_rows)
    finally:
        torch.set_num_threads(previous_threads)


def _train_ranker(
    rows: Sequence[Any],
    config: RankerConfig,
    progress_cb: ProgressCallback | None,
    should_cancel: CancelCheck | None,
    valid_rows: Sequence[Any] | None,
) -> RankerResult:
    import torch

    from training.ml.losses import ranker_loss

    if config.model not in ("linear", "mlp"):
        raise ValueError(f"unknown ranker model {config.model!r}")
    if not rows:
        raise ValueError("no training rows")
    data = _arrays(rows, config.features)
    mean = data.x.mean(axis=0)
    std = data.x.std(axis=0)
    std[std < 1e-6] = 1.0
    device = torch.device(config.device)

    def tensors(d: _Arrays) -> tuple[torch.Tensor, ...]:
        return (
            torch.from_numpy((d.x - mean) / std).to(device),
            torch.from_numpy(d.clicks).to(device),
            torch.from_numpy(d.list_codes).to(device),
            torch.from_numpy(d.engagement).to(device),
        )

    x, clicks, lists, engagement = tensors(data)
    n_features = len(config.features)
    # A private RNG stream: reproducible by seed without touching the process's global RNG.
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(config.seed)
        if config.model == "linear":
            net = torch.nn.Sequential(torch.nn.Linear(n_features, 1))
        else:
            net = torch.nn.Sequential(
                torch.nn.Linear(n_features, config.hidden),
                torch.nn.ReLU(),
                torch.nn.Linear(config.hidden, 1),
            )
    net.to(device)
    optimiser = torch.optim.Adam(
        net.parameters(), lr=config.learning_rate, weight_decay=config.weight_decay
    )

    def full_loss(xt: torch.Tensor, ct: torch.Tensor, lt: torch.Tensor, et: torch.Tensor) -> float:
        with torch.no_grad():
            return float(ranker_loss(net(xt).squeeze(-1), ct, lt, et, config.alpha, config.beta))

    initial_loss = full_loss(x, clicks, lists, engagement)
    step, history = train_over_lists(
        torch,
        optimiser,
        data.lists,
        lambda index: ranker_loss(
            net(x[index]).squeeze(-1),
            clicks[index],
            lists[index],
            engagement[index],
            config.alpha,
            config.beta,
        ),
        epochs=config.epochs,
        lists_per_batch=config.lists_per_batch,
        seed=config.seed,
        device=device,
        progress_cb=progress_cb,
        should_cancel=should_cancel,
    )

    net.eval()
    weights = {name: p.detach().cpu().numpy().copy() for name, p in net.state_dict().items()}
    linear_layers = [m for m in net if isinstance(m, torch.nn.Linear)]
    scorer = RankerScorer(
        config.features,
        mean,
        std,
        [
            (m.weight.detach().cpu().numpy().copy(), m.bias.detach().cpu().numpy().copy())
            for m in linear_layers
        ],
        model=config.model,
    )
    result_metrics: dict[str, Any] = {
        "initial_train_loss": initial_loss,
        "train_loss": full_loss(x, clicks, lists, engagement),
        "steps": step,
        "config": {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(config).items()},
    }
    result_metrics.update({f"train_{k}": v for k, v in evaluate_ranker(scorer, rows).items()})
    if valid_rows:
        valid = _arrays(valid_rows, config.features)
        result_metrics["valid_loss"] = full_loss(*tensors(valid))
        result_metrics.update(
            {f"valid_{k}": v for k, v in evaluate_ranker(scorer, valid_rows).items()}
        )
    feature_weights = scorer.feature_weights()
    if feature_weights is not None:
        result_metrics["feature_weights"] = feature_weights
    return RankerResult(weights=weights, metrics=result_metrics, scorer=scorer, history=history)
