"""Encoders, device helpers and progress plumbing (training.ml.encoders/device/progress).

Fast tests use the tiny BERT of tests/training/conftest.py over the words below;
the one slow test uses the packaged all-MiniLM-L6-v2. No database, no hub.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pytest

from training.ml.device import autocast_context, peak_memory_mb, pick_device, reset_peak
from training.ml.encoders import (
    BASE_RETRIEVER_ID,
    PACKAGED_MINILM_ALIAS,
    _fast_path_supported,
    atomic_artifact_dir,
    encode_texts,
    load_encoder,
    product_text,
    resolve_model_source,
    text_hash,
)
from training.ml.progress import JobCancelled, Throttled, check_cancel

WORDS = [
    "red",
    "blue",
    "shoe",
    "shoes",
    "mug",
    "lamp",
    "tent",
    "acme",
    "globex",
    "cheap",
    "steel",
    "big",
]
SUBWORDS = ["##s", "##er"]


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory: pytest.TempPathFactory, tiny_encoder):
    directory = tiny_encoder(tmp_path_factory.mktemp("enc") / "tiny", [*WORDS, *SUBWORDS])
    return load_encoder(None, str(directory), "cpu")


def sample_texts(count: int) -> list[str]:
    rng = np.random.default_rng(0)
    texts = [" ".join(rng.choice(WORDS, size=int(rng.integers(1, 9)))) for _ in range(count)]
    # Empty, unknown words, sub-words, a text longer than max_seq_length (64), duplicates.
    return [*texts, "", "zzz qqq", "redder shoes", " ".join(["lamp"] * 200), texts[0], texts[1]]


# --------------------------------------------------------------------------- encode_texts


@pytest.mark.parametrize("batch_size", [1, 3, 128])
def test_encode_texts_matches_model_encode_in_input_order(tiny_model, batch_size: int) -> None:
    assert _fast_path_supported(tiny_model)
    texts = sample_texts(60)
    expected = tiny_model.encode(texts, normalize_embeddings=True)
    got = encode_texts(tiny_model, texts, batch_size=batch_size)
    assert got.dtype == np.float32 and got.shape == expected.shape
    assert (got * expected).sum(axis=1).min() > 0.999
    np.testing.assert_allclose(np.linalg.norm(got, axis=1), 1.0, atol=1e-5)


def test_a_served_query_walks_no_modules_and_starts_no_thread(tiny_model, monkeypatch) -> None:
    """One query through an eval-mode encoder (the serving path) neither re-runs ``eval()``
    (a walk over every module) nor starts a tokenizer thread; a training-mode model is put in
    eval mode for the call and back after."""
    import threading

    from training.ml import encoders

    started: list[str] = []
    real_start = threading.Thread.start

    def start(thread):
        started.append(thread.name)
        real_start(thread)

    tiny_model.eval()
    expected = encode_texts(tiny_model, ["red shoes"], batch_size=1)
    walks: list[bool] = []
    real_train = type(tiny_model).train
    monkeypatch.setattr(
        type(tiny_model),
        "train",
        lambda self, mode=True: walks.append(mode) or real_train(self, mode),
    )
    monkeypatch.setattr(threading.Thread, "start", start)
    got = encode_texts(tiny_model, ["red shoes"], batch_size=1)
    assert walks == [] and not [n for n in started if n.startswith("aisle-tokenize")]
    np.testing.assert_allclose(got, expected, atol=1e-6)

    tiny_model.train()
    walks.clear()
    encodings = encoders.encode_texts(tiny_model, ["red shoes"], batch_size=1)
    assert walks == [False, True] and tiny_model.training  # eval() for the call, then back
    np.testing.assert_allclose(encodings, expected, atol=1e-6)
    tiny_model.eval()


def test_encode_texts_empty_input(tiny_model) -> None:
    assert encode_texts(tiny_model, []).shape == (0, 32)


def test_encode_texts_reports_progress_and_cancels(tiny_model) -> None:
    texts = sample_texts(50)
    calls: list[tuple[float, int, int]] = []
    encode_texts(
        tiny_model,
        texts,
        batch_size=4,
        progress_cb=lambda f, s, t, loss, extra: calls.append((f, s, t)),
    )
    fractions = [c[0] for c in calls]
    assert fractions == sorted(fractions) and fractions[-1] == pytest.approx(1.0)
    assert calls[-1][1:] == (len(texts), len(texts))

    seen: list[int] = []
    with pytest.raises(JobCancelled):
        encode_texts(
            tiny_model,
            texts,
            batch_size=4,
            progress_cb=lambda f, s, t, loss, extra: seen.append(s),
            should_cancel=lambda: len(seen) >= 2,
        )
    assert len(seen) == 2


def test_encode_texts_falls_back_for_other_pipelines(tmp_path: Path, tiny_encoder) -> None:
    directory = tiny_encoder(
        tmp_path / "cls", [*WORDS, *SUBWORDS], pooling_mode="cls", normalize=False
    )
    model = load_encoder(None, str(directory), "cpu")
    assert not _fast_path_supported(model)
    texts = sample_texts(20)
    expected = model.encode(texts, normalize_embeddings=True)
    got = encode_texts(model, texts, batch_size=8)
    assert (got * expected).sum(axis=1).min() > 0.999


# --------------------------------------------------------------------------- sources and artifacts


def test_resolve_model_source() -> None:
    packaged = resolve_model_source(BASE_RETRIEVER_ID)
    assert packaged == resolve_model_source(PACKAGED_MINILM_ALIAS)
    assert (Path(packaged) / "modules.json").exists()
    assert resolve_model_source("/models/my-encoder") == "/models/my-encoder"
    assert resolve_model_source("BAAI/bge-small-en-v1.5") == "BAAI/bge-small-en-v1.5"


def test_load_encoder_rejects_missing_artifact(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        load_encoder(str(tmp_path / "nope"), None, "cpu")


def test_atomic_artifact_dir(tmp_path: Path) -> None:
    out_dir = tmp_path / "v1.2"
    with pytest.raises(RuntimeError), atomic_artifact_dir(out_dir) as scratch:
        assert scratch.name == "v1.2.tmp"
        (scratch / "half").write_text("x")
        raise RuntimeError("crash while saving")
    assert not out_dir.exists() and not (tmp_path / "v1.2.tmp").exists()

    with atomic_artifact_dir(out_dir) as scratch:
        (scratch / "weights").write_text("first")
        assert not out_dir.exists()
    with atomic_artifact_dir(out_dir) as scratch:
        (scratch / "weights").write_text("second")
        assert (out_dir / "weights").read_text() == "first"  # readers see the old one meanwhile
    assert (out_dir / "weights").read_text() == "second"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["v1.2"]


# --------------------------------------------------------------------------- product text


def test_product_text_order_and_cleaning() -> None:
    text = product_text(
        "Trail Runner 2", "Acme", "Shoes > Running", "<p>Light &amp; fast.</p>\n\n Grippy  sole"
    )
    assert text == "Trail Runner 2 | Acme | Shoes > Running | Light & fast. Grippy sole"
    assert product_text("Acme Trail Runner", "acme", None, "") == "Acme Trail Runner"
    assert product_text("Mug", None, "Kitchen", None) == "Mug | Kitchen"


def test_product_text_truncates_description_at_a_word() -> None:
    text = product_text("Lamp", "Globex", "Home", "bright " * 200, max_chars=60)
    assert len(text) <= 60 and text.startswith("Lamp | Globex | Home | bright")
    assert text.endswith("bright")


def test_text_hash() -> None:
    digest = text_hash("Mug | Kitchen")
    assert digest == hashlib.sha256(b"Mug | Kitchen").hexdigest()[:32]
    assert len(digest) == 32 and digest != text_hash("Mug | Kitchen ")


# --------------------------------------------------------------------------- device and progress


def test_cpu_device_helpers() -> None:
    import torch

    info = pick_device("cpu")
    assert info.device == "cpu" and info.dtype is None and not info.is_cuda
    with autocast_context(info):
        assert (torch.ones(2) * 2).dtype == torch.float32
    reset_peak(info)
    assert peak_memory_mb(info) > 0
    if not torch.cuda.is_available():
        assert pick_device("cuda").device == "cpu"
        assert pick_device(None).device == "cpu"
    with pytest.raises(ValueError):
        pick_device("tpu")


def test_check_cancel() -> None:
    check_cancel(None)
    check_cancel(lambda: False)
    with pytest.raises(JobCancelled):
        check_cancel(lambda: True)


def test_throttled_limits_calls_but_keeps_first_and_final() -> None:
    now = [0.0]
    calls: list[int] = []
    throttled = Throttled(
        lambda f, s, t, loss, extra: calls.append(s), min_interval=5.0, clock=lambda: now[0]
    )
    for step in range(1, 11):
        now[0] = step * 1.0
        throttled(step / 10, step, 10, 0.5, {})
    assert calls == [1, 6, 10]

    held: list[int] = []
    throttled = Throttled(
        lambda f, s, t, loss, extra: held.append(s), min_interval=5.0, clock=lambda: now[0]
    )
    throttled(0.1, 1, 10, None, {})
    throttled(0.2, 2, 10, None, {})
    throttled.flush()
    throttled.flush()
    assert held == [1, 2]


# --------------------------------------------------------------------------- real model


@pytest.mark.slow
def test_real_minilm_encode_texts_matches_model_encode() -> None:
    model = load_encoder(None, BASE_RETRIEVER_ID, "cpu")
    brands = ["Acme", "Globex", "Initech", "Northwind", "Contoso"]
    things = [
        "running shoes",
        "ceramic coffee mug",
        "two-person tent",
        "wireless headphones",
        "desk lamp",
    ]
    texts = [f"{b} {t} size {i}" for i, (b, t) in enumerate((b, t) for b in brands for t in things)]
    texts += [
        product_text(t.title(), b, "Catalog", "A long description. " * 60)
        for b, t in zip(brands, things, strict=True)
    ]
    texts += ["", "ÉLAN Café crème", "red"]
    texts = (texts * 2)[:50]
    expected = model.encode(texts, normalize_embeddings=True)
    got = encode_texts(model, texts, batch_size=16)
    assert got.shape == (50, 384)
    assert (got * expected).sum(axis=1).min() > 0.999
