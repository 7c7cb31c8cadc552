"""Text classifier fine-tuning and serving (training.ml.classifier) on the tiny BERT of
tests/training/conftest.py.

No database, no hub: the tiny model and its WordPiece vocabulary are written by the test.
"""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np
import pytest

from training.ml.classifier import (
    ClassifierTrainConfig,
    TextClassifier,
    classification_metrics,
    train_classifier,
)
from training.ml.encoders import read_artifact_meta
from training.ml.progress import JobCancelled

LABELS = ["browse", "buy", "review"]
CUES = {"browse": ["show", "ideas"], "buy": ["buy", "order"], "review": ["review", "rating"]}
NOISE = [f"n{i}" for i in range(10)]
WORDS = [*[w for ws in CUES.values() for w in ws], *NOISE]


@pytest.fixture(scope="module")
def tiny_base(tmp_path_factory: pytest.TempPathFactory, tiny_bert) -> Path:
    """The tiny BERT over the cue and noise words, as a Hugging Face directory."""
    return tiny_bert(tmp_path_factory.mktemp("models") / "tiny-bert", WORDS)


def toy_data(count: int, seed: int, skew: bool = False) -> tuple[list[str], list[str]]:
    """Each text holds one cue word of its label among noise words."""
    rng = random.Random(seed)
    weights = [6, 1, 1] if skew else [1, 1, 1]
    labels = rng.choices(LABELS, weights=weights, k=count)
    texts = []
    for label in labels:
        words = [rng.choice(CUES[label]), *rng.sample(NOISE, 3)]
        rng.shuffle(words)
        texts.append(" ".join(words))
    return texts, labels


def config_for(base: Path, **overrides) -> ClassifierTrainConfig:
    settings = {
        "base": str(base),
        "labels": LABELS,
        "epochs": 12,
        "batch_size": 16,
        "lr": 5e-3,
        "device": "cpu",
    }
    settings.update(overrides)
    return ClassifierTrainConfig(**settings)


def test_trains_saves_atomically_and_predicts(tiny_base: Path, tmp_path: Path) -> None:
    texts, labels = toy_data(96, seed=1, skew=True)
    eval_texts, eval_labels = toy_data(60, seed=2)
    out_dir = tmp_path / "intent-v1"
    calls: list[tuple[float, int, int, float | None]] = []
    result = train_classifier(
        config_for(tiny_base, task="intent"),
        texts,
        labels,
        out_dir,
        progress_cb=lambda f, s, t, loss, extra: calls.append((f, s, t, loss)),
        eval_texts=eval_texts,
        eval_labels=eval_labels,
    )

    losses = [loss for _, loss in result.loss_history]
    assert result.steps == 12 * 6 == len(calls)
    assert np.mean(losses[-6:]) < 0.5 * np.mean(losses[:6])
    assert [c[0] for c in calls] == sorted(c[0] for c in calls) and calls[-1][0] == pytest.approx(
        1.0
    )
    assert result.eval_metrics is not None and result.eval_metrics["accuracy"] >= 0.9
    assert result.label_counts["browse"] > result.label_counts["buy"]

    assert not out_dir.with_name("intent-v1.tmp").exists()
    names = {p.name for p in out_dir.iterdir()}
    assert {"config.json", "model.safetensors", "tokenizer.json", "aisle_meta.json"} <= names
    meta = read_artifact_meta(out_dir)
    assert meta["labels"] == LABELS and meta["task"] == "intent" and meta["base"] == str(tiny_base)

    classifier = TextClassifier.load(out_dir, "cpu")
    predictions = classifier.predict(["buy n1 n2", "n3 rating", "show n4", "order"], batch_size=3)
    assert [label for label, _ in predictions] == ["buy", "review", "browse", "buy"]
    assert all(0.0 < score <= 1.0 for _, score in predictions)
    probabilities = classifier.predict_proba(["buy n1 n2", ""])
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, atol=1e-5)
    assert classifier.predict([]) == []


def test_cancel_stops_within_one_step(tiny_base: Path, tmp_path: Path) -> None:
    texts, labels = toy_data(64, seed=3)
    steps: list[int] = []
    with pytest.raises(JobCancelled):
        train_classifier(
            config_for(tiny_base, class_weighting=False),
            texts,
            labels,
            tmp_path / "cancelled",
            progress_cb=lambda f, s, t, loss, extra: steps.append(s),
            should_cancel=lambda: len(steps) >= 2,
        )
    assert steps == [1, 2]
    assert not any(tmp_path.iterdir())


def test_rejects_unknown_labels_and_mismatched_input(tiny_base: Path, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="not in config.labels"):
        train_classifier(config_for(tiny_base), ["buy n1"], ["purchase"], tmp_path / "x")
    with pytest.raises(ValueError):
        train_classifier(config_for(tiny_base), ["buy n1", "show"], ["buy"], tmp_path / "x")
    with pytest.raises(ValueError):
        train_classifier(
            config_for(tiny_base, labels=["only"]), ["buy n1"], ["only"], tmp_path / "x"
        )


def test_classification_metrics() -> None:
    metrics = classification_metrics(
        ["a", "a", "b", "c"], ["a", "b", "b", "c"], ["a", "b", "c", "d"]
    )
    assert metrics["accuracy"] == 0.75 and metrics["n"] == 4
    assert metrics["per_label"]["a"] == {
        "precision": 1.0,
        "recall": 0.5,
        "f1": pytest.approx(2 / 3),
        "support": 1 + 1,
    }
    assert "d" not in metrics["per_label"]
    assert metrics["macro_f1"] == pytest.approx((2 / 3 + 2 / 3 + 1.0) / 3)
