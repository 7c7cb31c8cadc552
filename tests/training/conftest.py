"""Fixtures of the training tests: a tiny BERT written from a config, so the model tests need no
hub and no download (the real packaged MiniLM is for the tests marked ``slow``)."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Sequence
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")

SPECIAL_TOKENS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]


def write_tiny_bert(directory: Path, words: Sequence[str]) -> Path:
    """A 2-layer, 32-dim BERT with seeded weights and a WordPiece tokenizer over the special
    tokens plus ``words``, saved as a Hugging Face directory."""
    import torch
    from transformers import BertConfig, BertModel, BertTokenizer

    vocab = [*SPECIAL_TOKENS, *words]
    directory.mkdir(parents=True)
    (directory / "vocab.txt").write_text("\n".join(vocab) + "\n", encoding="utf-8")
    BertTokenizer(vocab=str(directory / "vocab.txt")).save_pretrained(str(directory))
    torch.manual_seed(0)
    config = BertConfig(
        vocab_size=len(vocab),
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=64,
    )
    BertModel(config).save_pretrained(str(directory))
    return directory


def write_tiny_encoder(
    directory: Path, words: Sequence[str], pooling_mode: str = "mean", normalize: bool = True
) -> Path:
    """The tiny BERT as a SentenceTransformer directory: transformer, pooling, normalisation."""
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.base.modules import Normalize, Transformer
    from sentence_transformers.sentence_transformer.modules import Pooling

    hf_dir = write_tiny_bert(directory.with_name(directory.name + "-hf"), words)
    transformer = Transformer(str(hf_dir))
    modules = [transformer, Pooling(transformer.get_embedding_dimension(), pooling_mode)]
    if normalize:
        modules.append(Normalize())
    SentenceTransformer(modules=modules, device="cpu").save(str(directory))
    shutil.rmtree(hf_dir)
    return directory


@pytest.fixture(scope="session")
def tiny_bert() -> Callable[..., Path]:
    """``tiny_bert(directory, words)`` writes a Hugging Face BERT directory."""
    return write_tiny_bert


@pytest.fixture(scope="session")
def tiny_encoder() -> Callable[..., Path]:
    """``tiny_encoder(directory, words, pooling_mode="mean", normalize=True)`` writes a
    SentenceTransformer directory around the tiny BERT."""
    return write_tiny_encoder
