"""A smaller query encoder distilled from a retriever, into the retriever's own vector space.

The student is the teacher with fewer transformer layers (a chosen subset of the teacher's,
weights copied: by default every other layer), trained so that its L2-normalised embedding of a
text matches the teacher's (mean squared error between the two unit vectors, i.e. 2 - 2 cos).
It is a *query-only* student: product vectors stay the teacher's (no re-embedding) and the
student encodes queries against them, so it must land in the teacher's space — which matching
the teacher's embeddings is exactly. No Django.
"""

from __future__ import annotations

import copy
import math
import random
import time
from collections.abc import Sequence
from typing import Any

import numpy as np

from training.ml.encoders import _max_length, mean_pool_normalise, pad_batch
from training.ml.progress import CancelCheck, ProgressCallback, check_cancel


def layer_count(model: Any) -> int:
    return len(model[0].model.encoder.layer)


def default_layers(total: int, keep: int) -> list[int]:
    """``keep`` of ``total`` layer indices spread evenly, the first and last always kept."""
    keep = max(1, min(int(keep), total))
    if keep == 1:
        return [total - 1]
    return sorted({round(i * (total - 1) / (keep - 1)) for i in range(keep)})


def make_student(teacher: Any, layers: Sequence[int]) -> Any:
    """A copy of the SentenceTransformer ``teacher`` keeping only the transformer ``layers``."""
    import torch

    student = copy.deepcopy(teacher).cpu()
    auto_model = student[0].model
    kept = [auto_model.encoder.layer[i] for i in layers]
    auto_model.encoder.layer = torch.nn.ModuleList(kept)
    auto_model.config.num_hidden_layers = len(kept)
    return student


def distill(
    student: Any,
    texts: Sequence[str],
    targets: np.ndarray,
    *,
    steps: int,
    batch_size: int = 32,
    lr: float = 5e-5,
    seed: int = 42,
    progress_cb: ProgressCallback | None = None,
    should_cancel: CancelCheck | None = None,
) -> dict[str, float]:
    """Train ``student`` for ``steps`` batches to match ``targets`` (the teacher's unit vectors of
    ``texts``); returns the first and last losses and the throughput."""
    import torch

    if not len(texts):
        raise ValueError("nothing to distil on")
    rng = random.Random(seed)
    torch.manual_seed(seed)
    device = next(student.parameters()).device
    target = torch.from_numpy(np.asarray(targets, dtype=np.float32))
    tokenizer = student[0].tokenizer
    token_ids = tokenizer(
        list(texts), truncation=True, max_length=_max_length(student), add_special_tokens=True
    )["input_ids"]
    with_type_ids = "token_type_ids" in tokenizer.model_input_names
    pad_id = tokenizer.pad_token_id or 0
    auto_model = student[0].model
    optimizer = torch.optim.AdamW(
        [p for p in student.parameters() if p.requires_grad], lr=lr, weight_decay=0.01
    )
    order: list[int] = []
    student.train()
    first = last = math.nan
    started = time.perf_counter()
    for step in range(1, steps + 1):
        check_cancel(should_cancel)
        if len(order) < batch_size:
            order += rng.sample(range(len(texts)), len(texts))
        rows, order = order[:batch_size], order[batch_size:]
        inputs = pad_batch([token_ids[i] for i in rows], pad_id, with_type_ids, str(device))
        hidden = auto_model(**inputs, return_dict=True).last_hidden_state
        embedded = mean_pool_normalise(hidden, inputs["attention_mask"])
        loss = torch.nn.functional.mse_loss(embedded, target[rows].to(device)) * embedded.shape[1]
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        last = float(loss.detach())
        if step == 1:
            first = last
        if progress_cb is not None:
            elapsed = time.perf_counter() - started
            progress_cb(
                step / steps,
                step,
                steps,
                last,
                {"examples_per_sec": step * len(rows) / elapsed if elapsed else 0.0},
            )
    student.eval()
    elapsed = time.perf_counter() - started
    return {
        "first_loss": round(first, 5),
        "last_loss": round(last, 5),
        "steps": steps,
        "examples_per_sec": round(steps * batch_size / elapsed, 1) if elapsed else 0.0,
    }
