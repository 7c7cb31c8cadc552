"""Fine-tuned text classifiers: query intent at serving time, review sentiment in reports.

:func:`train_classifier` fine-tunes ``AutoModelForSequenceClassification`` from a base encoder
(the packaged MiniLM by default) with a compact torch loop (AdamW, linear warmup and decay,
optional inverse-frequency class weights, gradient clipping, autocast on CUDA), reports
progress and checks for cancellation every step, and saves the model, its tokenizer and
``aisle_meta.json`` atomically. :class:`TextClassifier` loads such an artifact and predicts
``(label, probability)`` pairs in batches.
"""

from __future__ import annotations

import logging
import math
import random
import threading
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from training.ml.device import DeviceInfo, autocast_context, peak_memory_mb, pick_device, reset_peak
from training.ml.encoders import (
    BASE_RETRIEVER_ID,
    atomic_artifact_dir,
    pad_batch,
    read_artifact_meta,
    resolve_model_source,
    write_artifact_meta,
)
from training.ml.progress import CancelCheck, ProgressCallback, check_cancel
from training.ml.retriever import decay_param_groups, warmup_linear

logger = logging.getLogger(__name__)

__all__ = ["ClassifierResult", "ClassifierTrainConfig", "TextClassifier", "train_classifier"]


@dataclass
class ClassifierTrainConfig:
    """Settings of one classifier fine-tune (stored with the job and in ``aisle_meta.json``).

    ``labels`` fixes the label order (ids 0..k-1). ``class_weighting`` weights the loss by
    inverse label frequency, so a rare intent is not drowned by "browse". ``task`` is recorded
    in the artifact ("intent", "sentiment", ...).
    """

    base: str = BASE_RETRIEVER_ID
    labels: list[str] = field(default_factory=list)
    epochs: int = 3
    batch_size: int = 32
    lr: float = 5e-5
    warmup_ratio: float = 0.1
    max_seq_len: int = 64
    seed: int = 0
    device: str | None = None
    class_weighting: bool = True
    weight_decay: float = 0.01
    max_grad_norm: float = 1.0
    task: str = "classifier"


@dataclass
class ClassifierResult:
    """What a finished fine-tune produced.

    ``final_loss`` is the mean of the last 20 steps; ``eval_metrics`` (accuracy, macro_f1,
    per-label precision/recall/f1/support) is present when eval data was given.
    """

    out_dir: Path
    steps: int
    final_loss: float
    examples_per_sec: float
    device: str
    peak_memory_mb: float
    seconds: float
    loss_history: list[tuple[int, float]] = field(default_factory=list)
    eval_metrics: dict[str, Any] | None = None
    label_counts: dict[str, int] = field(default_factory=dict)


def train_classifier(
    config: ClassifierTrainConfig,
    texts: Sequence[str],
    labels: Sequence[str],
    out_dir: Path,
    progress_cb: ProgressCallback | None = None,
    should_cancel: CancelCheck | None = None,
    eval_texts: Sequence[str] | None = None,
    eval_labels: Sequence[str] | None = None,
) -> ClassifierResult:
    """Fine-tune a sequence classifier on ``texts`` / ``labels`` and save it to ``out_dir``.

    Every label must be one of ``config.labels``. The artifact is written to
    ``<out_dir>.tmp`` and renamed when complete; cancellation (polled before every step)
    raises :class:`~training.ml.progress.JobCancelled` and leaves nothing on disk.
    """
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    started = time.perf_counter()
    label_ids = _validate(config, texts, labels, eval_texts, eval_labels)
    info = pick_device(config.device)
    random.seed(config.seed)
    np.random.seed(config.seed % 2**32)
    torch.manual_seed(config.seed)
    check_cancel(should_cancel)

    source = resolve_model_source(config.base)
    tokenizer = AutoTokenizer.from_pretrained(source)
    model = AutoModelForSequenceClassification.from_pretrained(
        source,
        num_labels=len(config.labels),
        id2label=dict(enumerate(config.labels)),
        label2id={label: i for i, label in enumerate(config.labels)},
    ).to(info.device)

    counts = Counter(labels)
    weight = None
    if config.class_weighting:
        # n / (k * count): a balanced dataset gets weight 1 for every label.
        weight = torch.tensor(
            [
                len(labels) / (len(config.labels) * counts[label]) if counts[label] else 0.0
                for label in config.labels
            ],
            dtype=torch.float32,
            device=info.device,
        )

    encoded = tokenizer(list(texts), truncation=True, max_length=config.max_seq_len)["input_ids"]
    with_type_ids = "token_type_ids" in tokenizer.model_input_names
    pad_id = tokenizer.pad_token_id or 0
    steps_per_epoch = math.ceil(len(texts) / config.batch_size)
    total_steps = steps_per_epoch * config.epochs

    optimizer = torch.optim.AdamW(
        decay_param_groups(model, config.weight_decay), lr=config.lr, fused=info.is_cuda
    )
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer, warmup_linear(total_steps, config.warmup_ratio)
    )
    scaler = torch.amp.GradScaler("cuda", enabled=info.is_cuda and info.dtype == torch.float16)

    reset_peak(info)
    model.train()
    rng = random.Random(config.seed)
    history: list[tuple[int, float]] = []
    loop_started = time.perf_counter()
    seen = 0
    step = 0
    for epoch in range(1, config.epochs + 1):
        order = list(range(len(texts)))
        rng.shuffle(order)
        for start in range(0, len(order), config.batch_size):
            check_cancel(should_cancel)
            batch = order[start : start + config.batch_size]
            inputs = pad_batch([encoded[i] for i in batch], pad_id, with_type_ids, info.device)
            targets = torch.tensor([label_ids[i] for i in batch], device=info.device)
            with autocast_context(info):
                logits = model(**inputs, return_dict=True).logits
            loss = torch.nn.functional.cross_entropy(logits.float(), targets, weight=weight)
            optimizer.zero_grad(set_to_none=True)
            scaler.scale(loss).backward()
            scaler.unscale_(optimizer)
            torch.nn.utils.clip_grad_norm_(model.parameters(), config.max_grad_norm)
            scaler.step(optimizer)
            scaler.update()
            scheduler.step()

            step += 1
            seen += len(batch)
            loss_value = float(loss.detach())
            history.append((step, loss_value))
            if progress_cb is not None:
                rate = seen / max(time.perf_counter() - loop_started, 1e-9)
                progress_cb(
                    step / total_steps,
                    step,
                    total_steps,
                    loss_value,
                    {"epoch": epoch, "lr": scheduler.get_last_lr()[0], "examples_per_sec": rate},
                )
    train_seconds = time.perf_counter() - loop_started
    peak = peak_memory_mb(info)
    model.eval()

    eval_metrics = None
    if eval_texts:
        classifier = TextClassifier(model, tokenizer, list(config.labels), info, config.max_seq_len)
        predicted = [label for label, _ in classifier.predict(list(eval_texts))]
        eval_metrics = classification_metrics(list(eval_labels or []), predicted, config.labels)

    check_cancel(should_cancel)
    meta = {
        "base": config.base,
        "mode": "full",
        "task": config.task,
        "labels": list(config.labels),
        "max_seq_len": config.max_seq_len,
        "config": {k: v for k, v in asdict(config).items() if k not in ("base", "device")},
        "label_counts": dict(counts),
        "eval_metrics": eval_metrics,
    }
    with atomic_artifact_dir(out_dir) as scratch:
        model.save_pretrained(str(scratch))
        tokenizer.save_pretrained(str(scratch))
        write_artifact_meta(scratch, meta)

    tail = [loss for _, loss in history[-20:]]
    return ClassifierResult(
        out_dir=Path(out_dir),
        steps=step,
        final_loss=float(np.mean(tail)) if tail else float("nan"),
        examples_per_sec=seen / max(train_seconds, 1e-9),
        device=info.device,
        peak_memory_mb=peak,
        seconds=time.perf_counter() - started,
        loss_history=history,
        eval_metrics=eval_metrics,
        label_counts=dict(counts),
    )


class TextClassifier:
    """A loaded classifier artifact: ``predict(texts) -> [(label, probability), ...]``.

    Safe to share between threads of one worker (tokenisation is serialised by a lock; the
    forward pass runs under ``torch.inference_mode``).
    """

    def __init__(
        self,
        model: torch.nn.Module,
        tokenizer: Any,
        labels: list[str],
        device: DeviceInfo,
        max_seq_len: int = 64,
    ) -> None:
        self.model = model
        self.tokenizer = tokenizer
        self.labels = labels
        self.device = device
        self.max_seq_len = max_seq_len
        self._with_type_ids = "token_type_ids" in tokenizer.model_input_names
        self._tokenizer_lock = threading.Lock()

    @classmethod
    def load(
        cls, artifact_dir: str | Path, device: str | DeviceInfo | None = None
    ) -> TextClassifier:
        """Load an artifact written by :func:`train_classifier` onto ``device``."""
        from transformers import AutoModelForSequenceClassification, AutoTokenizer

        info = device if isinstance(device, DeviceInfo) else pick_device(device)
        meta = read_artifact_meta(artifact_dir)
        model = AutoModelForSequenceClassification.from_pretrained(str(artifact_dir)).to(
            info.device
        )
        model.eval()
        tokenizer = AutoTokenizer.from_pretrained(str(artifact_dir))
        id2label = model.config.id2label
        labels = meta.get("labels") or [id2label[i] for i in range(len(id2label))]
        return cls(model, tokenizer, list(labels), info, int(meta.get("max_seq_len", 64)))

    def predict_proba(self, texts: Sequence[str], batch_size: int = 64) -> np.ndarray:
        """Class probabilities, shape (len(texts), len(labels)), in input order."""
        texts = list(texts)
        out = np.zeros((len(texts), len(self.labels)), dtype=np.float32)
        if not texts:
            return out
        with self._tokenizer_lock:
            encoded = self.tokenizer(texts, truncation=True, max_length=self.max_seq_len)[
                "input_ids"
            ]
        # Length-sorted batches carry little padding.
        order = np.argsort([-len(ids) for ids in encoded], kind="stable")
        pad_id = self.tokenizer.pad_token_id or 0
        with torch.inference_mode(), autocast_context(self.device):
            for start in range(0, len(order), batch_size):
                rows = order[start : start + batch_size]
                inputs = pad_batch(
                    [encoded[i] for i in rows], pad_id, self._with_type_ids, self.device.device
                )
                logits = self.model(**inputs, return_dict=True).logits
                out[rows] = torch.softmax(logits.float(), dim=-1).cpu().numpy()
        return out

    def predict(self, texts: Sequence[str], batch_size: int = 64) -> list[tuple[str, float]]:
        """The most probable label of each text and its probability, in input order."""
        probabilities = self.predict_proba(texts, batch_size=batch_size)
        best = probabilities.argmax(axis=1) if len(probabilities) else np.zeros(0, dtype=np.int64)
        return [(self.labels[i], float(probabilities[row, i])) for row, i in enumerate(best)]


def classification_metrics(
    truth: Sequence[str], predicted: Sequence[str], labels: Sequence[str]
) -> dict[str, Any]:
    """Accuracy, macro F1 (over labels seen in truth or predictions) and per-label figures."""
    if len(truth) != len(predicted):
        raise ValueError("truth and predictions differ in length")
    total = len(truth)
    accuracy = sum(t == p for t, p in zip(truth, predicted, strict=True)) / total if total else 0.0
    per_label: dict[str, dict[str, float]] = {}
    for label in labels:
        tp = sum(t == label and p == label for t, p in zip(truth, predicted, strict=True))
        support = sum(t == label for t in truth)
        predicted_count = sum(p == label for p in predicted)
        if support == 0 and predicted_count == 0:
            continue
        precision = tp / predicted_count if predicted_count else 0.0
        recall = tp / support if support else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        per_label[label] = {"precision": precision, "recall": recall, "f1": f1, "support": support}
    macro_f1 = float(np.mean([m["f1"] for m in per_label.values()])) if per_label else 0.0
    return {"accuracy": accuracy, "macro_f1": macro_f1, "n": total, "per_label": per_label}


def _validate(
    config: ClassifierTrainConfig,
    texts: Sequence[str],
    labels: Sequence[str],
    eval_texts: Sequence[str] | None,
    eval_labels: Sequence[str] | None,
) -> list[int]:
    if len(config.labels) < 2 or len(set(config.labels)) != len(config.labels):
        raise ValueError("config.labels needs at least two distinct labels")
    if not texts or len(texts) != len(labels):
        raise ValueError("texts and labels must be non-empty and of equal length")
    if (eval_texts is None) != (eval_labels is None) or (
        eval_texts is not None and eval_labels is not None and len(eval_texts) != len(eval_labels)
    ):
        raise ValueError("eval_texts and eval_labels go together and must be of equal length")
    if config.epochs < 1 or config.batch_size < 1:
        raise ValueError("need epochs >= 1 and batch_size >= 1")
    index = {label: i for i, label in enumerate(config.labels)}
    unknown = sorted(
        {label for label in list(labels) + list(eval_labels or []) if label not in index}
    )
    if unknown:
        raise ValueError(f"labels not in config.labels: {unknown}")
    return [index[label] for label in labels]
