"""Contrastive fine-tuning of the retriever encoder on query -> engaged-product pairs.

A compact torch loop over the SentenceTransformer's underlying transformer: mean pooling,
L2-normalised embeddings, multiple-negatives ranking loss (in-batch negatives, optional hard
negatives, scale 20), AdamW with linear warmup and decay, gradient clipping, autocast on CUDA.
Batches avoid putting the same product twice in one batch wherever the data allows it: a
duplicate positive would be scored as a negative of itself.

Two modes: ``full`` trains every weight and saves a SentenceTransformer directory; ``lora``
trains a peft LoRA adapter on the attention projections and saves only the adapter plus
``aisle_meta.json`` naming the base id (never its path), so the artifact stays valid wherever
the base lives. Progress is reported and cancellation checked once per optimizer step.
"""

from __future__ import annotations

import logging
import math
import random
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import torch

from training.ml.device import DeviceInfo, autocast_context, peak_memory_mb, pick_device, reset_peak
from training.ml.encoders import (
    ADAPTER_CONFIG_FILE,
    BASE_RETRIEVER_ID,
    atomic_artifact_dir,
    attach_lora_adapter,
    load_encoder,
    mean_pool_normalise,
    pad_batch,
    read_artifact_meta,
    resolve_model_source,
    write_artifact_meta,
)
from training.ml.progress import CancelCheck, ProgressCallback, check_cancel

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

logger = logging.getLogger(__name__)

__all__ = [
    "Pair",
    "RetrieverTrainConfig",
    "TrainResult",
    "decay_param_groups",
    "train_retriever",
    "warmup_linear",
]

Pair = tuple[str, str] | tuple[str, str, str]

DEFAULT_LR = {"full": 2e-5, "lora": 2e-4}


@dataclass
class RetrieverTrainConfig:
    """Settings of one retriever fine-tune (stored with the job and in ``aisle_meta.json``).

    ``init_artifact_dir`` continues from an earlier fine-tuned version: a full artifact (full
    mode only) or a LoRA artifact (full mode trains the merged weights; LoRA mode keeps
    training the same adapter, which must have been trained on the same ``base``).
    ``lr`` None means the mode's usual rate (2e-5 full, 2e-4 LoRA). ``hard_negatives`` uses
    the third element of the pairs that have one as an extra candidate for every query.
    ``device`` is a :func:`~training.ml.device.pick_device` preference.
    """

    base: str = BASE_RETRIEVER_ID
    init_artifact_dir: str | None = None
    mode: Literal["full", "lora"] = "full"
    lora_r: int = 8
    lora_alpha: int = 16
    lora_targets: tuple[str, ...] = ("query", "key", "value")
    lora_dropout: float = 0.1
    epochs: int = 1
    batch_size: int = 64
    lr: float | None = None
    warmup_ratio: float = 0.1
    max_seq_len: int = 64
    seed: int = 0
    hard_negatives: bool = False
    device: str | None = None
    scale: float = 20.0
    weight_decay: float = 0.01
    max_grad_norm: float = 1.0


@dataclass
class TrainResult:
    """What a finished fine-tune produced; ``final_loss`` is the mean of the last 20 steps."""

    out_dir: Path | None
    steps: int
    final_loss: float
    pairs_per_sec: float
    device: str
    peak_memory_mb: float
    seconds: float
    loss_history: list[tuple[int, float]] = field(default_factory=list)
    trainable_params: int = 0
    total_params: int = 0
    #: the trained model itself when nothing was saved (``out_dir`` None: an analysis run)
    model: Any = None


def train_retriever(
    config: RetrieverTrainConfig,
    pairs: Sequence[Pair],
    out_dir: Path | None,
    progress_cb: ProgressCallback | None = None,
    should_cancel: CancelCheck | None = None,
) -> TrainResult:
    """Fine-tune the retriever on ``(query, positive[, negative])`` pairs; save to ``out_dir``
    (``None``: save nothing and return the trained model in ``TrainResult.model``, for
    analysis runs that score the model and throw it away).

    The artifact is written to ``<out_dir>.tmp`` and renamed to ``out_dir`` when complete.
    ``progress_cb`` receives ``(step / total_steps, step, total_steps, loss, extra)`` after
    every step (extra: epoch, lr, pairs_per_sec); ``should_cancel`` is polled before every
    step and raises :class:`~training.ml.progress.JobCancelled`, leaving nothing on disk.
    """
    started = time.perf_counter()
    _validate(config, pairs)
    info = pick_device(config.device)
    _seed_everything(config.seed)
    check_cancel(should_cancel)

    model = _load_trainable(config, info)
    encoder = model[0].model
    tokenizer = model[0].tokenizer
    trainable = [p for p in encoder.parameters() if p.requires_grad]
    trainable_count = sum(p.numel() for p in trainable)
    total_count = sum(p.numel() for p in encoder.parameters())
    logger.info(
        "retriever fine-tune: %s mode, %d pairs, %d/%d trainable parameters, %s",
        config.mode,
        len(pairs),
        trainable_count,
        total_count,
        info.name,
    )

    use_negatives = config.hard_negatives and any(len(p) > 2 for p in pairs)
    if config.hard_negatives and not use_negatives:
        logger.warning("hard_negatives requested but no pair carries a negative: in-batch only")
    token_ids = _pretokenize(tokenizer, pairs, config.max_seq_len, use_negatives)
    with_type_ids = "token_type_ids" in tokenizer.model_input_names
    pad_id = tokenizer.pad_token_id or 0

    rng = random.Random(config.seed)
    positives = [p[1] for p in pairs]
    schedule = [
        _no_duplicate_batches(positives, config.batch_size, rng) for _ in range(config.epochs)
    ]
    total_steps = sum(len(epoch) for epoch in schedule)

    optimizer = _adamw(encoder, config, info)
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer, warmup_linear(total_steps, config.warmup_ratio)
    )
    scaler = torch.amp.GradScaler("cuda", enabled=info.is_cuda and info.dtype == torch.float16)

    def embed(texts: list[str]) -> torch.Tensor:
        inputs = pad_batch([token_ids[t] for t in texts], pad_id, with_type_ids, info.device)
        with autocast_context(info):
            hidden = encoder(**inputs, return_dict=True).last_hidden_state
        return mean_pool_normalise(hidden, inputs["attention_mask"])

    reset_peak(info)
    encoder.train()
    loop_started = time.perf_counter()
    history: list[tuple[int, float]] = []
    pairs_seen = 0
    step = 0
    for epoch, batches in enumerate(schedule, start=1):
        for batch in batches:
            check_cancel(should_cancel)
            queries = [pairs[i][0] for i in batch]
            candidates = [pairs[i][1] for i in batch]
            if use_negatives:
                candidates += [pairs[i][2] for i in batch if len(pairs[i]) > 2]
            q = embed(queries)
            c = embed(candidates)
            loss = _mnrl(q, c, config.scale)
            optimizer.zero_grad(set_to_none=True)
            scaler.scale(loss).backward()
            scaler.unscale_(optimizer)
            torch.nn.utils.clip_grad_norm_(trainable, config.max_grad_norm)
            scaler.step(optimizer)
            scaler.update()
            scheduler.step()

            step += 1
            pairs_seen += len(batch)
            loss_value = float(loss.detach())
            history.append((step, loss_value))
            rate = pairs_seen / max(time.perf_counter() - loop_started, 1e-9)
            if progress_cb is not None:
                progress_cb(
                    step / total_steps,
                    step,
                    total_steps,
                    loss_value,
                    {"epoch": epoch, "lr": scheduler.get_last_lr()[0], "pairs_per_sec": rate},
                )
    train_seconds = time.perf_counter() - loop_started
    peak = peak_memory_mb(info)

    check_cancel(should_cancel)
    encoder.eval()
    meta = {
        "base": config.base,
        "mode": config.mode,
        "task": "retriever",
        "config": {
            k: v
            for k, v in asdict(config).items()
            if k not in ("base", "init_artifact_dir", "device")
        },
        "continued_from_artifact": config.init_artifact_dir is not None,
        "steps": step,
        "pairs": len(pairs),
    }
    if out_dir is not None:
        with atomic_artifact_dir(out_dir) as scratch:
            if config.mode == "lora":
                _save_lora(encoder, scratch, config.base)
            else:
                model.save(str(scratch), create_model_card=False)
            write_artifact_meta(scratch, meta)

    tail = [loss for _, loss in history[-20:]]
    return TrainResult(
        out_dir=Path(out_dir) if out_dir is not None else None,
        steps=step,
        final_loss=float(np.mean(tail)) if tail else float("nan"),
        pairs_per_sec=pairs_seen / max(train_seconds, 1e-9),
        device=info.device,
        peak_memory_mb=peak,
        seconds=time.perf_counter() - started,
        loss_history=history,
        trainable_params=trainable_count,
        total_params=total_count,
        model=model if out_dir is None else None,
    )


# --------------------------------------------------------------------------- setup


def _validate(config: RetrieverTrainConfig, pairs: Sequence[Pair]) -> None:
    if config.mode not in ("full", "lora"):
        raise ValueError(f"mode must be 'full' or 'lora', not {config.mode!r}")
    if config.epochs < 1 or config.batch_size < 2:
        raise ValueError("need epochs >= 1 and batch_size >= 2 (in-batch negatives)")
    if len(pairs) < 2:
        raise ValueError("need at least two pairs: each query's negatives are the other positives")
    for pair in pairs:
        if len(pair) not in (2, 3):
            raise ValueError(
                f"a pair is (query, positive) or (query, positive, negative), got {pair!r}"
            )


def _seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def _load_trainable(config: RetrieverTrainConfig, info: DeviceInfo) -> SentenceTransformer:
    """The model to train: base or init artifact, wrapped in a LoRA adapter in LoRA mode."""
    init = Path(config.init_artifact_dir) if config.init_artifact_dir else None
    init_meta = read_artifact_meta(init) if init else {}
    init_is_lora = init is not None and (
        init_meta.get("mode") == "lora" or (init / ADAPTER_CONFIG_FILE).exists()
    )
    if config.mode == "full":
        # A LoRA init is merged into the base weights by load_encoder; full training goes on.
        model = load_encoder(str(init) if init else None, config.base, info)
        # peft freezes the base weights when it wraps them, and a merged model keeps them frozen.
        for param in model.parameters():
            param.requires_grad_(True)
        return model

    from peft import LoraConfig, get_peft_model

    model = load_encoder(None, config.base, "cpu")
    if init is not None:
        if not init_is_lora:
            raise ValueError("LoRA mode continues only from a LoRA artifact; use mode='full'")
        recorded = init_meta.get("base")
        if recorded and resolve_model_source(recorded) != resolve_model_source(config.base):
            raise ValueError(f"the LoRA artifact was trained on {recorded!r}, not {config.base!r}")
        attach_lora_adapter(model, init, trainable=True)
    else:
        lora = LoraConfig(
            r=config.lora_r,
            lora_alpha=config.lora_alpha,
            lora_dropout=config.lora_dropout,
            target_modules=list(config.lora_targets),
            bias="none",
        )
        model[0].model = get_peft_model(model[0].model, lora)
    return model.to(info.device)


def _adamw(
    encoder: torch.nn.Module, config: RetrieverTrainConfig, info: DeviceInfo
) -> torch.optim.Optimizer:
    lr = config.lr if config.lr is not None else DEFAULT_LR[config.mode]
    return torch.optim.AdamW(
        decay_param_groups(encoder, config.weight_decay), lr=lr, fused=info.is_cuda
    )


def decay_param_groups(module: torch.nn.Module, weight_decay: float) -> list[dict[str, Any]]:
    """AdamW groups over the trainable parameters: weights decayed, biases and LayerNorm not."""
    decay, no_decay = [], []
    for name, param in module.named_parameters():
        if param.requires_grad:
            (no_decay if param.ndim < 2 or "LayerNorm" in name else decay).append(param)
    groups = [
        {"params": decay, "weight_decay": weight_decay},
        {"params": no_decay, "weight_decay": 0.0},
    ]
    return [group for group in groups if group["params"]]


def warmup_linear(total_steps: int, warmup_ratio: float) -> Callable[[int], float]:
    """``LambdaLR`` multiplier: linear warmup over ``warmup_ratio`` of the steps, then linear decay."""
    warmup = min(total_steps, math.ceil(total_steps * warmup_ratio)) if warmup_ratio > 0 else 0

    def multiplier(step: int) -> float:
        if step < warmup:
            return (step + 1) / warmup
        return max(0.0, (total_steps - step) / max(1, total_steps - warmup))

    return multiplier


# --------------------------------------------------------------------------- batches


def _no_duplicate_batches(
    keys: Sequence[str], batch_size: int, rng: random.Random
) -> list[list[int]]:
    """Shuffle ``range(len(keys))`` into batches in which no key appears twice, where possible.

    Items are ordered by occurrence round (every key's first occurrence, then every second
    occurrence, ...), which confines duplicates to batches that straddle two rounds; those are
    repaired by swapping with other batches. Duplicates remain only where a key is too
    frequent to spread (more occurrences than batches). A lone trailing item joins the batch
    before it. Batch order is shuffled.
    """
    order = list(range(len(keys)))
    rng.shuffle(order)
    seen: Counter[str] = Counter()
    ranked: list[tuple[int, int, int]] = []
    for position, index in enumerate(order):
        ranked.append((seen[keys[index]], position, index))
        seen[keys[index]] += 1
    ranked.sort()
    sequence = [index for _, _, index in ranked]
    batches = [sequence[i : i + batch_size] for i in range(0, len(sequence), batch_size)]
    if len(batches) > 1 and len(batches[-1]) < 2:
        batches[-2].extend(batches.pop())
    _repair_duplicates(batches, keys, rng)
    rng.shuffle(batches)
    return batches


def _repair_duplicates(
    batches: list[list[int]], keys: Sequence[str], rng: random.Random, tries: int = 32
) -> None:
    """Swap duplicate items into batches that lack their key, taking back an item that fits."""
    if len(batches) < 2:
        return
    counts = [Counter(keys[i] for i in batch) for batch in batches]
    for here, batch in enumerate(batches):
        for slot in range(len(batch)):
            key = keys[batch[slot]]
            if counts[here][key] < 2:
                continue
            for _ in range(tries):
                there = rng.randrange(len(batches))
                if there == here or counts[there][key]:
                    continue
                other_slot = rng.randrange(len(batches[there]))
                other_key = keys[batches[there][other_slot]]
                if counts[here][other_key]:
                    continue
                batch[slot], batches[there][other_slot] = batches[there][other_slot], batch[slot]
                counts[here][key] -= 1
                counts[here][other_key] += 1
                counts[there][other_key] -= 1
                counts[there][key] += 1
                break


# --------------------------------------------------------------------------- tensors


def _pretokenize(
    tokenizer: Any, pairs: Sequence[Pair], max_len: int, with_negatives: bool
) -> dict[str, list[int]]:
    """Token ids of every distinct text, tokenised once (epochs and repeats reuse them)."""
    texts: dict[str, None] = {}
    for pair in pairs:
        texts[pair[0]] = None
        texts[pair[1]] = None
        if with_negatives and len(pair) > 2:
            texts[pair[2]] = None
    unique = list(texts)
    encoded = tokenizer(unique, truncation=True, max_length=max_len, add_special_tokens=True)
    return dict(zip(unique, encoded["input_ids"], strict=True))


def _mnrl(queries: torch.Tensor, candidates: torch.Tensor, scale: float) -> torch.Tensor:
    """Multiple-negatives ranking loss: candidate i is query i's positive, all others negatives."""
    scores = scale * queries @ candidates.T
    labels = torch.arange(len(queries), device=queries.device)
    return torch.nn.functional.cross_entropy(scores, labels)


# --------------------------------------------------------------------------- saving


def _save_lora(encoder: torch.nn.Module, directory: Path, base_id: str) -> None:
    """Save the adapter alone, with the base recorded as its id and no local path anywhere."""
    import json

    encoder.save_pretrained(str(directory))
    config_path = directory / ADAPTER_CONFIG_FILE
    adapter_config = json.loads(config_path.read_text(encoding="utf-8"))
    adapter_config["base_model_name_or_path"] = base_id
    config_path.write_text(
        json.dumps(adapter_config, indent=2, sort_keys=True) + "\n", encoding="utf-8"
    )
    # peft's generated model card repeats the absolute base path in its front matter.
    (directory / "README.md").unlink(missing_ok=True)
