"""Training losses (torch): contrastive retrieval loss and the ranker's click + pairwise loss.

Both compute in float32 whatever dtype the inputs come in, so they behave the same under
mixed precision (bf16/fp16 autocast) as on CPU.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def multiple_negatives_ranking_loss(
    q_emb: torch.Tensor,
    d_emb: torch.Tensor,
    scale: float = 20.0,
    hard_negatives: torch.Tensor | None = None,
) -> torch.Tensor:
    """Multiple-negatives ranking loss with in-batch negatives.

    Row ``i`` of ``q_emb`` (B×D) is paired with row ``i`` of ``d_emb`` (B×D); every other
    document in the batch, plus any ``hard_negatives`` (N×D, appended as extra candidates for
    every query), is a negative. Logits are ``scale * cosine(q, d)``; the loss is the mean
    cross-entropy with the diagonal as the target.
    """
    if q_emb.ndim != 2 or d_emb.ndim != 2 or q_emb.shape != d_emb.shape:
        raise ValueError(f"need two B×D tensors of one shape, got {q_emb.shape}, {d_emb.shape}")
    candidates = d_emb
    if hard_negatives is not None:
        if hard_negatives.ndim != 2 or hard_negatives.shape[1] != d_emb.shape[1]:
            raise ValueError(f"hard_negatives must be N×{d_emb.shape[1]}")
        candidates = torch.cat([d_emb, hard_negatives], dim=0)
    q = F.normalize(q_emb.float(), dim=-1)
    d = F.normalize(candidates.float(), dim=-1)
    logits = scale * q @ d.T
    target = torch.arange(q.shape[0], device=q.device)
    return F.cross_entropy(logits, target)


def ranker_loss(
    scores: torch.Tensor,
    clicks: torch.Tensor,
    list_ids: torch.Tensor,
    engagement: torch.Tensor,
    alpha: float = 1.0,
    beta: float = 1.0,
) -> torch.Tensor:
    """``alpha * BCE(sigmoid(s), click) + beta * mean over P of log(1 + exp(-(s_i - s_j)))``.

    ``P`` holds the ordered pairs (i, j) of items shown in the same list (equal ``list_ids``)
    where ``engagement[i] > engagement[j]``; with no such pair the pairwise term is 0. All
    inputs are 1-d of length N; pairs are enumerated list by list (cost: sum of squared list
    sizes), so a batch can hold many whole lists.
    """
    s = scores.float().reshape(-1)
    y = clicks.float().reshape(-1)
    lists = list_ids.reshape(-1)
    eng = engagement.float().reshape(-1)
    if not (len(s) == len(y) == len(lists) == len(eng)):
        raise ValueError("scores, clicks, list_ids and engagement must have one length")
    if len(s) == 0:
        return s.sum()
    pointwise = F.binary_cross_entropy_with_logits(s, y)
    first, second = _pairs_within_lists(lists)
    keep = eng[first] > eng[second]
    if not bool(keep.any()):
        pairwise = s.sum() * 0.0  # keeps the graph connected for backward()
    else:
        diff = s[first[keep]] - s[second[keep]]
        # softplus(-x) == log(1 + exp(-x)), computed without overflow.
        pairwise = F.softplus(-diff).mean()
    return alpha * pointwise + beta * pairwise


def _pairs_within_lists(list_ids: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Index tensors (i, j) of every ordered pair of items sharing a list id.

    Costs the sum of squared list sizes, not N², so a batch may hold many lists.
    """
    order = torch.argsort(list_ids, stable=True)
    _, sizes = torch.unique_consecutive(list_ids[order], return_counts=True)
    starts = torch.cumsum(sizes, 0) - sizes
    size_of = torch.repeat_interleave(sizes, sizes)  # per sorted item: its list's size
    start_of = torch.repeat_interleave(starts, sizes)  # per sorted item: its list's start
    n = len(order)
    first = torch.repeat_interleave(torch.arange(n, device=order.device), size_of)
    out_start = torch.cumsum(size_of, 0) - size_of
    step = torch.arange(len(first), device=order.device) - torch.repeat_interleave(
        out_start, size_of
    )
    second = torch.repeat_interleave(start_of, size_of) + step
    return order[first], order[second]
