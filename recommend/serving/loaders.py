"""Models held by a serving process: loaded lazily on first use, once per version.

torch and sentence-transformers are imported only inside the loaders (a web process that
never serves a semantic query never imports them). Every loader is keyed by the model
version id, so a promotion (a new active id) loads the new model beside the old one; old
entries are dropped when the cache holds more than a few versions. A quantised (int8) retriever
loads as an ONNX Runtime encoder (``training.ml.onnx_encoder``) under its own id; the index it
is served against is its vector space's (``VersionRef.space_id``).
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Hashable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
from django.conf import settings
from django.core.cache import cache

from platform_core.caches import GenerationalValue, KeyedCache, TimedValue
from recommend.engine.spelling import SpellCorrector
from recommend.selectors import VersionRef
from recommend.serving.pool import submit

logger = logging.getLogger(__name__)

MAX_VERSIONS_PER_KIND = 3
SPELL_CHECK_SECONDS = 60.0


_warming = threading.local()
_on_request: list[str] = []  # models this process loaded while serving a request (not warm-up)


@contextlib.contextmanager
def warming() -> Iterator[None]:
    """Loads inside this block are the process's warm-up (``recommend.serving.warmup``)."""
    _warming.active = True
    try:
        yield
    finally:
        _warming.active = False


def _loaded(what: str) -> None:
    if not getattr(_warming, "active", False):
        _on_request.append(what)


def loads_on_request() -> list[str]:
    """The models this process loaded on a request's path rather than at warm-up: empty on a
    warmed web worker until a promotion brings a new version (``/readyz``'s models check)."""
    return list(_on_request)


def _model_cache(name: str) -> KeyedCache:
    """Loaded models of one kind by version id (the few most recently loaded)."""
    return KeyedCache(name, max_items=MAX_VERSIONS_PER_KIND, loaded_models=True)


def artifact_path(version: VersionRef) -> Path | None:
    if not version.artifact_dir:
        return None
    path = Path(version.artifact_dir)
    return path if path.is_absolute() else Path(settings.ARTIFACTS_DIR) / path


# --------------------------------------------------------------------------- query encoder


def _load_encoder(version: VersionRef) -> Any:
    from training.ml.encoders import BASE_RETRIEVER_ID, load_encoder

    path = artifact_path(version)
    if path is not None and not path.is_dir():
        path = None  # a registered base model has no artifact of its own
    base = version.base or getattr(settings, "DEFAULT_ENCODER", BASE_RETRIEVER_ID)
    # An int8 (ONNX Runtime) child runs as many intra-op threads as torch does when serving.
    threads = (
        max(1, int(getattr(settings, "SERVING_TORCH_THREADS", 1))) if _serving_process else None
    )
    model = load_encoder(path, base=base, device="cpu", threads=threads)
    model.eval()
    _loaded(f"retriever {version.id}")
    return model


_encoders = _model_cache("recommend.encoders")
_serving_process = False
_threads_applied = False


def use_serving_threads() -> None:
    """Mark this process as a server: torch will run ``SERVING_TORCH_THREADS`` intra-op threads
    (default 1) once it computes here.

    One short query gains little from a second thread, and a web server runs several requests
    (and processes) at once: with torch's default of one thread per core, a single query took
    0.5 s instead of 40 ms on a busy 2-core machine. Called by the serving views only, never by
    workers that train; torch is not imported by this call.
    """
    global _serving_process
    _serving_process = True


def _apply_serving_threads() -> None:
    global _threads_applied
    if _serving_process and not _threads_applied:
        import torch

        torch.set_num_threads(max(1, int(getattr(settings, "SERVING_TORCH_THREADS", 1))))
        _threads_applied = True


def encode_query(version: VersionRef, text: str) -> np.ndarray:
    """The L2-normalised embedding of one query under a retriever version."""
    from training.ml.encoders import encode_texts

    _apply_serving_threads()
    model = _encoders.get(version.id, lambda: _load_encoder(version))
    return encode_texts(model, [text], batch_size=1)[0]


def encode_queries(version: VersionRef, texts: list[str], batch_size: int = 64) -> np.ndarray:
    """L2-normalised embeddings of many queries in batches (offline jobs rebuilding lists)."""
    from training.ml.encoders import encode_texts

    model = _encoders.get(version.id, lambda: _load_encoder(version))
    return encode_texts(model, texts, batch_size=batch_size)


def _tokenizer_source(version: VersionRef) -> str:
    from training.ml.encoders import BASE_RETRIEVER_ID, resolve_model_source

    path = artifact_path(version)
    if path is not None and (path / "tokenizer.json").exists():
        return str(path)
    return resolve_model_source(
        version.base or getattr(settings, "DEFAULT_ENCODER", BASE_RETRIEVER_ID)
    )


_known_words = KeyedCache("recommend.known-words", loaded_models=True)  # by tokenizer source


def known_words(version: VersionRef | None) -> frozenset[str]:
    """Words the typo corrector must leave alone: a general English word list
    (``query_correction.general_dictionary``) and the whole words of the retriever's tokenizer
    vocabulary (loaded alone, without weights; once per tokenizer)."""
    from recommend.engine.query_correction import general_dictionary

    if version is None:
        return general_dictionary()
    try:
        source = _tokenizer_source(version)
    except Exception:
        return general_dictionary()
    return _known_words.get(source, lambda: _load_known_words(source))


def _load_known_words(source: str) -> frozenset[str]:
    from recommend.engine.query_correction import dictionary_words, general_dictionary

    try:
        from transformers import AutoTokenizer

        words = dictionary_words(AutoTokenizer.from_pretrained(source).get_vocab())
        _loaded(f"vocabulary {source}")
        return words | general_dictionary()
    except Exception:
        logger.warning(
            "no tokenizer vocabulary at %s: typo correction guards the general word list only",
            source,
            exc_info=True,
        )
        return general_dictionary()


# --------------------------------------------------------------------------- ranker


def _load_ranker(version: VersionRef) -> Any:
    from training.ml.ranker_heads import load_scorer

    path = artifact_path(version)
    if path is None or not (path / "ranker.json").exists():
        logger.warning(
            "ranker version %s has no artifact at %s; serving without it", version.id, path
        )
        return False
    _loaded(f"ranker {version.id}")
    return load_scorer(path)  # single-head (before the heads) or two-headed


_rankers = _model_cache("recommend.rankers")


def ranker_scorer(version: VersionRef | None):
    """The version's numpy scorer, or None (no version, or a broken artifact)."""
    if version is None:
        return None
    scorer = _rankers.get(version.id, lambda: _load_ranker(version))
    return scorer or None


# --------------------------------------------------------------------------- CF


@dataclass
class CFServing:
    """A loaded CF model with the id convention its training used (pks or external ids)."""

    model: Any
    keyed_by_external_id: bool

    def user_key(self, shopper_id: int, shopper_external_id: str) -> Hashable:
        return shopper_external_id if self.keyed_by_external_id else shopper_id


def _load_cf(version: VersionRef) -> Any:
    from training.ml.cf import load_cf_model

    path = artifact_path(version)
    if path is None or not (path / "cf.json").exists():
        logger.warning("cf version %s has no artifact at %s; serving without it", version.id, path)
        return False
    model = load_cf_model(path)
    _loaded(f"cf {version.id}")
    sample = model.item_ids[0] if model.item_ids else 0
    return CFServing(model=model, keyed_by_external_id=isinstance(sample, str))


_cf_models = _model_cache("recommend.cf-models")


def cf_model(version: VersionRef | None) -> CFServing | None:
    if version is None:
        return None
    return _cf_models.get(version.id, lambda: _load_cf(version)) or None


# --------------------------------------------------------------------------- intent


@dataclass(frozen=True)
class IntentResult:
    """A query's intent: the label, its score, where it came from (``model``: a trained
    classifier, ``rules``: the rule-based fallback, ``request``: the ``intent=`` parameter) and,
    for rules, the cue that decided; or no label and the reason why."""

    label: str | None
    score: float | None = None
    reason: str | None = None
    source: str = "model"
    version: int | None = None

    def as_dict(self) -> dict[str, Any]:
        if self.label is None:
            return {"label": None, "reason": self.reason or "no intent classifier"}
        body: dict[str, Any] = {
            "label": self.label,
            "score": round(float(self.score or 0.0), 4),
            "source": self.source,
        }
        if self.version is not None:
            body["version"] = self.version
        if self.reason:
            body["reason"] = self.reason
        return body


class RulesIntent:
    """The rule-based fallback behind an intent version registered as rules (no artifact)."""

    def __init__(self, labels: tuple[str, ...] | None = None) -> None:
        self.labels = labels

    def classify(self, text: str):
        from recommend.engine import intent_rules

        return intent_rules.classify(text, self.labels)


def _load_intent(version: VersionRef) -> Any:
    from recommend.engine.intent_rules import RULES_BASE

    if version.base == RULES_BASE:
        return RulesIntent()
    try:
        from training.ml.classifier import TextClassifier
    except ImportError:
        logger.warning("training.ml.classifier is not available; intent is off")
        return False
    path = artifact_path(version)
    if path is None or not path.is_dir():
        logger.warning("intent version %s has no artifact at %s", version.id, path)
        return False
    try:
        classifier = TextClassifier.load(path, device="cpu")
        _loaded(f"intent {version.id}")
    except Exception:
        logger.exception("intent version %s failed to load", version.id)
        return False
    classifier.trained_labels = _trained_labels(version) or tuple(classifier.labels)
    return classifier


def _trained_labels(version: VersionRef) -> tuple[str, ...]:
    """The labels the version saw examples of (a label of the set with none is never said)."""
    from training.models import ModelVersion

    snapshot = (
        ModelVersion.objects.filter(pk=version.id)
        .values_list("dataset_snapshot", flat=True)
        .first()
    )
    counts = (snapshot or {}).get("label_counts") or {}
    return tuple(label for label, n in counts.items() if n)


_intent_models = _model_cache("recommend.intent-models")


def classify_intent(version: VersionRef | None, text: str) -> IntentResult:
    """The query's intent under the strategy's classifier, or a reason why there is none."""
    if version is None:
        return IntentResult(None, reason="no intent classifier is active for this strategy")
    classifier = _intent_models.get(version.id, lambda: _load_intent(version))
    if not classifier:
        return IntentResult(None, reason=f"intent version {version.id} could not be loaded")
    if isinstance(classifier, RulesIntent):
        decided = classifier.classify(text)
        return IntentResult(
            decided.label,
            score=decided.score,
            reason=decided.reason,
            source="rules",
            version=version.id,
        )
    _apply_serving_threads()
    try:
        label, score = _predict_one(classifier, text)
    except Exception:
        logger.exception("intent classification failed")
        return IntentResult(None, reason="intent classification failed")
    known = getattr(classifier, "trained_labels", None) or getattr(classifier, "labels", None)
    if known:
        from recommend.engine.intent_rules import cue_outside

        cue = cue_outside(text, tuple(known))
        if cue is not None:
            return IntentResult(
                cue.label,
                score=cue.score,
                reason=f"{cue.reason} (a label intent version {version.id} was not trained on)",
                source="rules",
                version=version.id,
            )
    return IntentResult(label, score=score, source="model", version=version.id)


def _predict_one(classifier: Any, text: str) -> tuple[str, float]:
    """Adapt to the classifier's API: ``predict_proba`` (labels + matrix) or ``predict``."""
    if hasattr(classifier, "predict_proba"):
        probs = np.asarray(classifier.predict_proba([text]))[0]
        labels = list(classifier.labels)
        best = int(np.argmax(probs))
        return str(labels[best]), float(probs[best])
    prediction = classifier.predict([text])[0]
    if isinstance(prediction, tuple | list):
        return str(prediction[0]), float(prediction[1])
    if isinstance(prediction, dict):
        return str(prediction["label"]), float(prediction.get("score", 1.0))
    return str(prediction), 1.0


# --------------------------------------------------------------------------- spelling


#: The corrector is checked against the vocabulary at most every SPELL_CHECK_SECONDS, and
#: rebuilt (from Redis, else from the database) when its vocabulary version changed.
_spell_checked = TimedValue("recommend.spelling-checked", SPELL_CHECK_SECONDS, background=submit)
_spell_by_vocabulary = GenerationalValue("recommend.spelling")


def _vocabulary_version() -> str:
    """Changes when the catalogue changes, and once a day (logged queries accumulate)."""
    from django.db.models import Count, Max

    from catalog.models import Product

    stats = Product.objects.filter(active=True).aggregate(n=Count("id"), latest=Max("updated_at"))
    latest = stats["latest"].isoformat() if stats["latest"] else "-"
    return f"{stats['n']}:{latest}:{datetime.now(UTC):%Y-%m-%d}"


def _build_corrector() -> SpellCorrector:
    from django.db.models import Count

    from catalog.models import Brand, Category, Event, Product, SearchLog

    def texts():
        for title, search_text in (
            Product.objects.filter(active=True)
            .values_list("title", "search_text")
            .iterator(chunk_size=5000)
        ):
            yield title
            yield search_text
        yield from Brand.objects.values_list("name", flat=True)
        yield from Category.objects.values_list("name", flat=True)

    extra: dict[str, int] = {}
    logged = (
        SearchLog.objects.filter(result_count__gt=0)
        .values("normalised_query")
        .annotate(n=Count("id"))
        .order_by("-n")[:20000]
    )
    for row in logged:
        extra[row["normalised_query"]] = extra.get(row["normalised_query"], 0) + row["n"]
    searched = (
        Event.objects.filter(type="search")
        .exclude(query="")
        .values("query")
        .annotate(n=Count("id"))
        .order_by("-n")[:20000]
    )
    for row in searched:
        extra[row["query"]] = extra.get(row["query"], 0) + row["n"]
    return SpellCorrector.from_texts(texts(), extra_counts=extra)


def spell_corrector() -> SpellCorrector:
    """The corrector for the current vocabulary: process memory, else Redis, else built."""
    return _spell_checked.get(_current_corrector)


def _current_corrector() -> SpellCorrector:
    version = _vocabulary_version()
    return _spell_by_vocabulary.get(version, lambda: _load_corrector(version))


def _load_corrector(version: str) -> SpellCorrector:
    key = f"recommend:spelling:{version}"
    data = None
    try:
        data = cache.get(key)
    except Exception:
        logger.warning("spelling cache read failed", exc_info=True)
    if data is not None:
        return SpellCorrector.from_dict(data)
    corrector = _build_corrector()
    try:
        cache.set(key, corrector.to_dict(), 24 * 3600)
    except Exception:
        logger.warning("spelling cache write failed", exc_info=True)
    return corrector


# --------------------------------------------------------------------------- answer summaries

_summarisers = KeyedCache("recommend.answer-summarisers", loaded_models=True)  # by generator id


def answer_summariser(source: str):
    """The answers' summariser over the generator ``source`` (AISLE_GENERATOR_MODEL), loaded
    once per process on the first request that asks for a summary; None when none is set."""
    if not source:
        return None
    return _summarisers.get(source, lambda: _load_summariser(source))


def _load_summariser(source: str):
    from django.conf import settings

    from recommend.engine.answer_summary import Summariser
    from training.ml.generator import load_generator

    generator = load_generator(source)
    _loaded(f"generator {source}")
    tokens = settings.ANSWERS_SUMMARY_MAX_TOKENS

    def generate(prompt: str) -> str:
        outs = generator.generate([prompt], max_new_tokens=tokens, max_input_tokens=768)
        return outs[0][0] if outs and outs[0] else ""

    return Summariser(generate)
