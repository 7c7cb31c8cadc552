"""A sentence encoder served by ONNX Runtime: the int8 variant a ``quantize`` job writes.

An artifact holds ``model.onnx`` (the transformer, its ``last_hidden_state`` output), the
tokenizer files and ``aisle_meta.json`` (``mode: "onnx"``). :class:`OnnxEncoder` tokenises with
the Rust tokenizer, sorts the texts by token length into padded batches, runs the session and
mean-pools and L2-normalises in numpy: the vectors of the fp32 pipeline it was exported from
(Transformer -> mean Pooling -> Normalize), up to the quantisation error.

It offers ``encode_normalised`` (what :func:`training.ml.encoders.encode_texts` calls when a model
has it) and ``get_embedding_dimension``. No Django; onnxruntime is imported when one loads.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from training.ml.progress import CancelCheck, ProgressCallback, check_cancel

ONNX_FILE = "model.onnx"
INPUT_NAMES = ("input_ids", "attention_mask", "token_type_ids")


def session_options(threads: int | None) -> Any:
    """ORT options: ``threads`` intra-op threads (None: one per core), sequential execution."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = int(threads or os.cpu_count() or 1)
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    return options


class OnnxEncoder:
    """An ONNX Runtime sentence encoder (see the module docstring)."""

    def __init__(
        self, artifact_dir: str | os.PathLike[str], *, threads: int | None = None, max_length=256
    ) -> None:
        import onnxruntime as ort
        from tokenizers import Tokenizer

        self.artifact_dir = Path(artifact_dir)
        self.session = ort.InferenceSession(
            str(self.artifact_dir / ONNX_FILE),
            session_options(threads),
            providers=["CPUExecutionProvider"],
        )
        self.input_names = [i.name for i in self.session.get_inputs()]
        self.dimension = int(self.session.get_outputs()[0].shape[-1])
        tokenizer = Tokenizer.from_file(str(self.artifact_dir / "tokenizer.json"))
        tokenizer.no_padding()
        tokenizer.enable_truncation(max_length=max_length)
        self.tokenizer = tokenizer

    def get_embedding_dimension(self) -> int:
        return self.dimension

    def eval(self) -> OnnxEncoder:  # the serving loaders call model.eval()
        return self

    def _batch(self, encodings: list[Any]) -> np.ndarray:
        width = max(len(e.ids) for e in encodings)
        ids = np.zeros((len(encodings), width), dtype=np.int64)
        mask = np.zeros_like(ids)
        for row, encoding in enumerate(encodings):
            ids[row, : len(encoding.ids)] = encoding.ids
            mask[row, : len(encoding.ids)] = 1
        feeds = {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
        hidden = self.session.run(None, {n: feeds[n] for n in self.input_names})[0]
        weights = mask[..., None].astype(np.float32)
        pooled = (hidden * weights).sum(axis=1) / np.clip(weights.sum(axis=1), 1e-9, None)
        norms = np.linalg.norm(pooled, axis=1, keepdims=True)
        return (pooled / np.clip(norms, 1e-12, None)).astype(np.float32)

    def encode_normalised(
        self,
        texts: Sequence[str],
        batch_size: int = 64,
        progress_cb: ProgressCallback | None = None,
        should_cancel: CancelCheck | None = None,
    ) -> np.ndarray:
        """L2-normalised float32 vectors of ``texts``, in input order."""
        texts = list(texts)
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        if not texts:
            return out
        encodings = self.tokenizer.encode_batch(texts)
        order = np.argsort(-np.fromiter((len(e.ids) for e in encodings), dtype=np.int64))
        done = 0
        for start in range(0, len(order), batch_size):
            check_cancel(should_cancel)
            rows = order[start : start + batch_size]
            out[rows] = self._batch([encodings[i] for i in rows])
            done += len(rows)
            if progress_cb is not None:
                progress_cb(done / len(texts), done, len(texts), None, {})
        return out
