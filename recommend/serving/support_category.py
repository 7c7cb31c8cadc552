"""The support category of a question: which part of the help centre it is about (returns,
shipping, payment, account, product question).

Detected by the active support-category classifier (``train_support_category``), else by the
keyword rules of ``recommend.engine.support_rules`` (labelled ``"source": "rules"``); named by
the request (``category=`` on ``/api/v1/answers``: a help centre's own section) it overrides
both. Only the answers path asks (``/api/v1/answers`` and a search whose intent puts answers
first), so a plain product search never runs this classifier.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from recommend.engine import support_rules
from recommend.selectors import VersionRef, active_model
from recommend.serving import loaders

logger = logging.getLogger(__name__)

TASK = "support_category"
CATEGORIES = support_rules.SUPPORT_CATEGORIES

_models = loaders._model_cache("recommend.support-category-models")


@dataclass(frozen=True)
class CategoryResult:
    """A question's support category: the label, its probability (or the rules' score), where
    it came from (``model``, ``rules`` or ``request``), the version and, for rules, the cue."""

    label: str
    score: float
    source: str
    version: int | None = None
    reason: str | None = None

    def as_dict(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "label": self.label,
            "score": round(float(self.score), 4),
            "source": self.source,
        }
        if self.version is not None:
            body["version"] = self.version
        if self.reason:
            body["reason"] = self.reason
        return body


def requested(label: str) -> CategoryResult:
    """The category a request named: answers are restricted to it."""
    return CategoryResult(label, 1.0, "request", reason="the category= parameter")


def _load(version: VersionRef) -> Any:
    try:
        from training.ml.classifier import TextClassifier
    except ImportError:
        logger.warning("training.ml.classifier is not available; support categories use rules")
        return False
    path = loaders.artifact_path(version)
    if path is None or not path.is_dir():
        logger.warning("support-category version %s has no artifact at %s", version.id, path)
        return False
    try:
        classifier = TextClassifier.load(path, device="cpu")
        loaders._loaded(f"support category {version.id}")
    except Exception:
        logger.exception("support-category version %s failed to load", version.id)
        return False
    return classifier


def _rules(text: str, why: str = "") -> CategoryResult:
    decided = support_rules.classify(text)
    reason = f"{decided.reason}{why}"
    return CategoryResult(decided.label, decided.score, "rules", reason=reason)


def classify(text: str, version: VersionRef | None = None) -> CategoryResult:
    """The question's category under ``version`` (default: the active classifier), else the
    keyword rules."""
    version = version if version is not None else active_model(TASK)
    if version is None:
        return _rules(text, " (no support-category classifier is active)")
    classifier = _models.get(version.id, lambda: _load(version))
    if not classifier:
        return _rules(text, f" (support-category version {version.id} could not be loaded)")
    loaders._apply_serving_threads()
    try:
        label, score = loaders._predict_one(classifier, text)
    except Exception:
        logger.exception("support-category classification failed")
        return _rules(text, " (the classifier failed)")
    return CategoryResult(label, score, "model", version=version.id)
