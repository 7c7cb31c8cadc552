"""int8 variants of a sentence encoder for CPU serving, and how fast one query encodes.

Two methods, measured side by side by ``bench/quantize.py``:

- ``onnx`` (what the ``quantize`` job keeps): the transformer exported with
  ``torch.onnx.export`` and its weights quantised by ONNX Runtime's ``quantize_dynamic``
  (int8 weights, per channel; activations quantised on the fly), served by
  :class:`~training.ml.onnx_encoder.OnnxEncoder`;
- ``torch``: ``torch.ao.quantization.quantize_dynamic`` on the Linear layers, in place of the
  transformer of a SentenceTransformer (no artifact of its own: applied when loaded).

Both keep the pooling of the fp32 model, so the child's query vectors live in its parent's
space and it serves against the parent's stored product vectors. No Django.
"""

from __future__ import annotations

import copy
import logging
import os
import shutil
import statistics
import tempfile
import time
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from training.ml.encoders import _max_length, encode_texts, write_artifact_meta
from training.ml.onnx_encoder import INPUT_NAMES, ONNX_FILE

METHODS = ("onnx", "torch")


def _transformer_module(model: Any) -> Any:
    """A module whose forward takes the three input tensors and returns last_hidden_state."""
    import torch

    auto_model = model[0].model

    class HiddenStates(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.inner = auto_model

        def forward(self, input_ids, attention_mask, token_type_ids):
            return self.inner(
                input_ids=input_ids,
                attention_mask=attention_mask,
                token_type_ids=token_type_ids,
                return_dict=True,
            ).last_hidden_state

    return HiddenStates().eval()


def export_onnx(model: Any, path: str | os.PathLike[str]) -> Path:
    """Export the SentenceTransformer's transformer (fp32, dynamic batch and length) to ``path``."""
    import torch

    path = Path(path)
    sample = torch.ones((1, 8), dtype=torch.long)
    axes = {name: {0: "batch", 1: "tokens"} for name in (*INPUT_NAMES, "last_hidden_state")}
    with warnings.catch_warnings(), torch.inference_mode():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            _transformer_module(model).cpu(),
            (sample, sample, torch.zeros_like(sample)),
            str(path),
            input_names=list(INPUT_NAMES),
            output_names=["last_hidden_state"],
            dynamic_axes=axes,
            opset_version=17,
            dynamo=False,
        )
    return path


def quantize_onnx_artifact(
    model: Any,
    out_dir: str | os.PathLike[str],
    *,
    meta: dict[str, Any] | None = None,
    int8: bool = True,
) -> Path:
    """Write an int8 ONNX artifact of ``model`` (a SentenceTransformer) into ``out_dir``:
    ``model.onnx`` with int8 weights, the tokenizer files and ``aisle_meta.json``.
    ``int8=False`` keeps the weights fp32 (the bench's runtime-only row)."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    if not int8:
        export_onnx(model, out / ONNX_FILE)
        model[0].tokenizer.save_pretrained(str(out))
        write_artifact_meta(
            out,
            {"mode": "onnx", "precision": "fp32", "max_length": _max_length(model), **(meta or {})},
        )
        return out
    with tempfile.TemporaryDirectory(prefix="aisle-onnx-") as scratch:
        fp32 = export_onnx(model, Path(scratch) / "fp32.onnx")
        root = logging.getLogger()  # the quantiser logs every node at INFO on the root logger
        level = root.level
        root.setLevel(max(level, logging.WARNING))
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                quantize_dynamic(
                    str(fp32), str(out / ONNX_FILE), weight_type=QuantType.QInt8, per_channel=True
                )
        finally:
            root.setLevel(level)
    model[0].tokenizer.save_pretrained(str(out))
    write_artifact_meta(
        out,
        {
            "mode": "onnx",
            "precision": "int8",
            "method": "onnxruntime.quantization.quantize_dynamic (QInt8, per channel)",
            "max_length": _max_length(model),
            **(meta or {}),
        },
    )
    return out


def torch_dynamic_int8(model: Any) -> Any:
    """A copy of the SentenceTransformer whose transformer's Linear layers are dynamic int8."""
    import torch

    quantised = copy.deepcopy(model).cpu()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        quantised[0].model = torch.ao.quantization.quantize_dynamic(
            quantised[0].model, {torch.nn.Linear}, dtype=torch.qint8
        )
    return quantised.eval()


def artifact_size_mb(path: str | os.PathLike[str]) -> float:
    root = Path(path)
    files = [root] if root.is_file() else [p for p in root.rglob("*") if p.is_file()]
    return round(sum(p.stat().st_size for p in files) / 2**20, 1)


def query_latency_ms(
    encode: Callable[[str], Any], queries: Sequence[str], *, warmup: int = 5, repeat: int = 1
) -> dict[str, float]:
    """Batch-1 encode time per query (p50, p95, mean, in ms) after ``warmup`` calls."""
    queries = list(queries)
    for query in queries[:warmup]:
        encode(query)
    times = []
    for _ in range(repeat):
        for query in queries:
            started = time.perf_counter()
            encode(query)
            times.append((time.perf_counter() - started) * 1000.0)
    if not times:
        return {"p50_ms": 0.0, "p95_ms": 0.0, "mean_ms": 0.0, "n": 0}
    return {
        "p50_ms": round(float(np.percentile(times, 50)), 3),
        "p95_ms": round(float(np.percentile(times, 95)), 3),
        "mean_ms": round(statistics.fmean(times), 3),
        "n": len(times),
    }


def batch1_latency(model: Any, queries: Sequence[str], **kwargs: Any) -> dict[str, float]:
    """:func:`query_latency_ms` of ``encode_texts(model, [q], batch_size=1)``."""
    return query_latency_ms(lambda q: encode_texts(model, [q], batch_size=1), queries, **kwargs)


def interleaved_latency(
    models: dict[str, Any], queries: Sequence[str], *, warmup: int = 5
) -> dict[str, dict[str, float]]:
    """Batch-1 latency of several encoders on the same queries, query by query in turn, so a
    busy spell on a shared machine slows them all alike."""
    names = list(models)
    for name in names:
        for query in list(queries)[:warmup]:
            encode_texts(models[name], [query], batch_size=1)
    times: dict[str, list[float]] = {name: [] for name in names}
    for query in queries:
        for name in names:
            started = time.perf_counter()
            encode_texts(models[name], [query], batch_size=1)
            times[name].append((time.perf_counter() - started) * 1000.0)
    out: dict[str, dict[str, float]] = {}
    for name, values in times.items():
        out[name] = {
            "p50_ms": round(float(np.percentile(values, 50)), 3),
            "p95_ms": round(float(np.percentile(values, 95)), 3),
            "n": len(values),
        }
    return out


def vector_agreement(a: np.ndarray, b: np.ndarray) -> dict[str, float]:
    """Cosine between row-aligned L2-normalised vectors: mean and minimum."""
    if len(a) == 0:
        return {"cosine_mean": 1.0, "cosine_min": 1.0}
    cosines = (np.asarray(a) * np.asarray(b)).sum(axis=1)
    return {
        "cosine_mean": round(float(cosines.mean()), 4),
        "cosine_min": round(float(cosines.min()), 4),
    }


def remove_artifact(path: str | os.PathLike[str]) -> None:
    shutil.rmtree(path, ignore_errors=True)
