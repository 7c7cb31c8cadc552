"""Reads for serving: strategies, served model versions, rules, the category tree, shoppers.

Everything a request needs besides its own retrieval queries comes from process-local caches:
strategies and rules are keyed by the config generation, model versions by the models
generation (both read with one Redis ``MGET`` per request, :func:`recommend.serving.cache.generations`),
the category tree and brand names by a short time-to-live (``platform_core.caches``). ``resolve_strategy`` is where a
running A/B experiment (``recommend.experiments``) serves a variant's strategy instead.
"""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
from django.core.cache import cache

from catalog.selectors import in_subtree
from platform_core.caches import GenerationalValue, TimedValue
from recommend.engine import intent_actions
from recommend.engine.intent_actions import Behaviour
from recommend.engine.rules import PinRule, ScoreRule
from recommend.engine.synonyms import SynonymIndex, SynonymSet, build_synonym_index
from recommend.engine.text import normalise
from recommend.serving.cache import generations

CATALOG_TTL_SECONDS = 60.0
SLOTS = ("retriever", "ranker", "cf", "intent")
#: ``{surface: (name, description)}`` of the default strategies: the data migration and
#: ``make run``'s bootstrap create them; serving uses these settings unsaved when a surface has
#: no default row (a flushed test database, or an operator who deleted it).
DEFAULT_STRATEGIES = {
    "search": (
        "default-search",
        "Hybrid search: lexical + semantic, RRF, ranker when one is active.",
    ),
    "recommendations": (
        "default-recommendations",
        "CF, profile embedding, interests, bought-together and trending.",
    ),
    "similar": (
        "default-similar",
        "Nearest neighbours of the product's vector, plus CF neighbours.",
    ),
}


# --------------------------------------------------------------------------- value types


@dataclass(frozen=True)
class VersionRef:
    """What serving needs to know about a model version."""

    id: int
    task: str
    name: str
    base: str
    artifact_dir: str
    dimension: int | None
    # The retriever whose stored product vectors this one serves against (a quantised child:
    # its parent's); None: its own. Index lookups use ``space_id``, query encoding ``id``.
    vector_space: int | None = None
    precision: str = "fp32"

    @property
    def space_id(self) -> int:
        return self.vector_space or self.id


@dataclass(frozen=True)
class StrategyConfig:
    """A Strategy row as plain values (safe to share between threads and requests)."""

    id: int
    name: str
    surface: str
    version: int
    pinned: dict[str, int | None]
    use_ranker: bool
    use_intent: bool
    lexical_weight: float
    semantic_weight: float
    rrf_k: int
    semantic_min_score: float
    cf_weight: float
    profile_weight: float
    trending_weight: float
    diversity: str
    max_category_share: float
    mmr_lambda: float
    hide_out_of_stock: bool
    boost_rule_ids: tuple[int, ...] = ()
    interests_weight: float = 1.0
    bought_together_weight: float = 1.0
    exploration_share: float = 0.0
    exploration_max_impressions: int = 200
    intent_acts: bool = True
    intent_behaviours: tuple[tuple[str, Behaviour], ...] = ()
    ranker_objective: str = "purchase"
    ranker_purchase_weight: float = 0.5
    image_weight: float = 0.0

    def cache_token(self) -> list[Any]:
        return [self.id, self.version]

    def behaviour_for(self, label: str | None) -> Behaviour | None:
        """What ``label`` does to results here: the strategy's row, else the default; None when
        intent does not act (switched off, no label, or a label with neither)."""
        if not self.intent_acts or not label:
            return None
        return dict(self.intent_behaviours).get(label) or intent_actions.DEFAULTS.get(label)


@dataclass(frozen=True)
class ServedModels:
    """The versions one strategy serves with right now (None: no such model)."""

    retriever: VersionRef | None = None
    ranker: VersionRef | None = None
    cf: VersionRef | None = None
    intent: VersionRef | None = None

    def ids(self) -> dict[str, int | None]:
        return {slot: getattr(self, slot).id if getattr(self, slot) else None for slot in SLOTS}


@dataclass(frozen=True)
class BoostRuleConfig:
    id: int
    rule: ScoreRule
    surfaces: frozenset[str]
    global_rule: bool


@dataclass
class ServingConfig:
    """Strategies and merchandising rules of one config generation."""

    strategies: dict[int, StrategyConfig]
    defaults: dict[str, int]
    synonyms: SynonymIndex
    pins: list[PinRule]
    boost_rules: list[BoostRuleConfig]

    def score_rules(self, strategy: StrategyConfig) -> list[ScoreRule]:
        """Global rules of the strategy's surface, then the strategy's own, in id order."""
        own = set(strategy.boost_rule_ids)
        return [
            b.rule
            for b in self.boost_rules
            if strategy.surface in b.surfaces and (b.global_rule or b.id in own)
        ]


@dataclass(frozen=True)
class CategoryInfo:
    id: int
    external_id: str
    name: str
    path: str
    ancestors: tuple[int, ...]  # itself first, then its parents up to the root


@dataclass
class CategoryTree:
    by_id: dict[int, CategoryInfo] = field(default_factory=dict)
    by_external: dict[str, CategoryInfo] = field(default_factory=dict)

    def ancestors_of(self, category_id: int) -> tuple[int, ...]:
        """The category and its parents up to the root (empty for an unknown category)."""
        info = self.by_id.get(category_id)
        return info.ancestors if info is not None else ()

    def subtree_ids(self, external_id: str) -> list[int] | None:
        """Ids of the category and its descendants, or None for an unknown category."""
        root = self.by_external.get(external_id)
        if root is None:
            return None
        return [c.id for c in self.by_id.values() if in_subtree(c.path, root.path)]


@dataclass
class ProfileState:
    """A shopper's profile, computed from their events (no wall clock involved); ``version``:
    the shopper's ``profile_version`` it was computed at (-1: none stored)."""

    vector: np.ndarray | None = None
    event_count: int = 0
    recent: list[int] = field(default_factory=list)  # engaged products, most recent first
    recent_purchases: list[int] = field(default_factory=list)
    interests: dict[int, float] = field(default_factory=dict)  # category id -> share
    purchased: set[int] = field(default_factory=set)
    seen: set[int] = field(default_factory=set)
    version: int = -1
    vector_events: int = 0  # how many of the events had a vector under the retriever


@dataclass(frozen=True)
class ShopperRef:
    """A known shopper: database id, external id and the profile version for cache keys."""

    id: int
    external_id: str
    profile_version: int


# --------------------------------------------------------------------------- process caches


_config_cache = GenerationalValue("recommend.serving-config")
_models_cache = GenerationalValue("recommend.served-versions")
_category_cache = TimedValue("recommend.category-tree", CATALOG_TTL_SECONDS)
_brand_cache = TimedValue("recommend.brand-ids", CATALOG_TTL_SECONDS)


# --------------------------------------------------------------------------- strategies


def strategy_config(row) -> StrategyConfig:
    """The serving view of one Strategy row (jobs that replay search with it)."""
    return _strategy_config(row)


def _strategy_config(row) -> StrategyConfig:
    return StrategyConfig(
        id=row.pk,
        name=row.name,
        surface=row.surface,
        version=row.version,
        pinned={
            "retriever": row.retriever_version_id,
            "ranker": row.ranker_version_id,
            "cf": row.cf_version_id,
            "intent": row.intent_version_id,
        },
        use_ranker=row.use_ranker,
        use_intent=row.use_intent,
        lexical_weight=row.lexical_weight,
        semantic_weight=row.semantic_weight,
        rrf_k=row.rrf_k,
        semantic_min_score=row.semantic_min_score,
        cf_weight=row.cf_weight,
        profile_weight=row.profile_weight,
        trending_weight=row.trending_weight,
        diversity=row.diversity,
        max_category_share=row.max_category_share,
        mmr_lambda=row.mmr_lambda,
        hide_out_of_stock=row.hide_out_of_stock,
        boost_rule_ids=tuple(sorted(r.pk for r in row.boost_rules.all())) if row.pk else (),
        interests_weight=row.interests_weight,
        bought_together_weight=row.bought_together_weight,
        exploration_share=row.exploration_share,
        exploration_max_impressions=row.exploration_max_impressions,
        intent_acts=row.intent_acts,
        ranker_objective=row.ranker_objective,
        ranker_purchase_weight=row.ranker_purchase_weight,
        image_weight=row.image_weight,
        intent_behaviours=tuple((b.intent, b.as_behaviour()) for b in row.intent_behaviours.all())
        if row.pk
        else (),
    )


def _build_serving_config() -> ServingConfig:
    from recommend.models import BoostRule, PinnedResult, Strategy
    from recommend.models import SynonymSet as SynonymRow

    strategies = {
        s.pk: _strategy_config(s)
        for s in Strategy.objects.prefetch_related("boost_rules", "intent_behaviours")
    }
    defaults: dict[str, int] = {}
    for pk, surface in Strategy.objects.filter(is_default=True).values_list("pk", "surface"):
        defaults[surface] = pk
    sets = []
    for row in SynonymRow.objects.filter(active=True).order_by("pk"):
        try:
            sets.append(SynonymSet.parse(row.as_rule()))
        except ValueError:
            continue  # an invalid row saved around the admin's validation: skip, never fail serving
    pins = [
        PinRule(name=f"pin #{pk}", query=query, item_id=product_id, position=position)
        for pk, query, product_id, position in PinnedResult.objects.filter(
            active=True, product__active=True
        )
        .order_by("query", "position", "pk")
        .values_list("pk", "query", "product_id", "position")
    ]
    attached = set(Strategy.boost_rules.through.objects.values_list("boostrule_id", flat=True))
    rules = []
    for row in BoostRule.objects.filter(active=True).select_related("brand").order_by("pk"):
        value: Hashable = (
            row.category_id
            if row.field == BoostRule.Field.CATEGORY
            else (row.brand.name if row.brand else "")
        )
        rules.append(
            BoostRuleConfig(
                id=row.pk,
                rule=ScoreRule(
                    name=row.name,
                    field=row.field,
                    value=value,
                    multiplier=max(0.0, row.factor),
                    query=row.query or None,
                ),
                surfaces=frozenset(s.strip() for s in row.surfaces.split(",") if s.strip()),
                global_rule=row.pk not in attached,
            )
        )
    return ServingConfig(
        strategies=strategies,
        defaults=defaults,
        synonyms=build_synonym_index(sets),
        pins=pins,
        boost_rules=rules,
    )


def serving_config(config_generation: int | None = None) -> ServingConfig:
    """Strategies and rules of the current config generation."""
    if config_generation is None:
        config_generation = generations()[1]
    return _config_cache.get(config_generation, _build_serving_config)


def default_strategy(surface: str, *, config_generation: int | None = None) -> StrategyConfig:
    """The surface's default strategy; without a default row, the built-in one (the read path
    never creates rows: ``recommend.services.strategy_ensure_defaults`` does, at bootstrap)."""
    config = serving_config(config_generation)
    pk = config.defaults.get(surface)
    if pk is not None and pk in config.strategies:
        return config.strategies[pk]
    return builtin_strategy(surface)


def builtin_strategy(surface: str) -> StrategyConfig:
    """The default strategy's settings as a new row would have them (id 0: never saved)."""
    from recommend.models import Strategy

    name, description = DEFAULT_STRATEGIES[surface]
    config = _strategy_config(
        Strategy(name=name, surface=surface, description=description, is_default=True)
    )
    return replace(config, id=0)


def resolve_strategy(
    surface: str,
    shopper: ShopperRef | None,
    session: str,
    *,
    external_id: str | None = None,
    config_generation: int | None = None,
) -> tuple[StrategyConfig, str | None]:
    """The strategy that serves this request and the experiment variant key (or None).

    The single hook for experiments: the running experiment on ``surface`` (cached per config
    generation) assigns the shopper's external id (``external_id``, which need not be in the
    database yet, else ``shopper``'s), or ``session`` when anonymous, by a sticky hash, and the
    variant's strategy serves; otherwise (no experiment, holdout, no unit) the default does.
    ``config_generation``: the one the request already read (saves a Redis round trip).
    """
    from recommend.experiments.selectors import variant_for

    if config_generation is None:
        config_generation = generations()[1]
    hit = variant_for(
        surface, shopper, session, config_generation=config_generation, external_id=external_id
    )
    if hit is not None:
        strategy = serving_config(config_generation).strategies.get(hit.variant.strategy_id)
        if strategy is not None:
            return strategy, hit.variant.key
    return default_strategy(surface, config_generation=config_generation), None


# --------------------------------------------------------------------------- model versions


def _version_ref(row: dict) -> VersionRef:
    return VersionRef(
        id=row["id"],
        task=row["task"],
        name=row["name"],
        base=row["base"] or "",
        artifact_dir=row["artifact_dir"] or "",
        dimension=row["dimension"],
        vector_space=row["vector_space_id"],
        precision=row["precision"] or "fp32",
    )


_VERSION_FIELDS = (
    "id",
    "task",
    "name",
    "base",
    "artifact_dir",
    "dimension",
    "status",
    "is_active",
    "vector_space_id",
    "precision",
)


def _build_versions() -> dict[str, Any]:
    from training.models import ModelVersion

    active = {
        row["task"]: _version_ref(row)
        for row in ModelVersion.objects.filter(is_active=True).values(*_VERSION_FIELDS)
    }
    return {"active": active, "pinned": {}}


def active_model(task: str, *, models_generation: int | None = None) -> VersionRef | None:
    """The active version of a task no strategy slot pins (e.g. the support-category
    classifier), from the same per-generation cache as :func:`served_models`."""
    if models_generation is None:
        models_generation = generations()[0]
    return _models_cache.get(models_generation, _build_versions)["active"].get(task)


def served_models(
    strategy: StrategyConfig, *, models_generation: int | None = None
) -> ServedModels:
    """Resolve each slot: the pinned version, else the task's active one, else None; a ranker
    or intent slot the strategy switched off is None."""
    from training.models import ModelVersion

    if models_generation is None:
        models_generation = generations()[0]
    cached = _models_cache.get(models_generation, _build_versions)
    chosen: dict[str, VersionRef | None] = {}
    for slot in SLOTS:
        pinned = strategy.pinned.get(slot)
        if pinned:
            ref = cached["pinned"].get(pinned)
            if ref is None:
                row = ModelVersion.objects.filter(pk=pinned).values(*_VERSION_FIELDS).first()
                ref = _version_ref(row) if row else None
                cached["pinned"][pinned] = ref
            chosen[slot] = ref
        else:
            chosen[slot] = cached["active"].get(slot)
    if not strategy.use_ranker:
        chosen["ranker"] = None
    if not strategy.use_intent:
        chosen["intent"] = None
    return ServedModels(**chosen)


# --------------------------------------------------------------------------- catalogue


def _build_category_tree() -> CategoryTree:
    from catalog.models import Category

    rows = list(Category.objects.values_list("id", "external_id", "name", "path", "parent_id"))
    parents = {pk: parent for pk, _, _, _, parent in rows}
    tree = CategoryTree()
    for pk, external_id, name, path, _parent in rows:
        chain, node, guard = [pk], parents.get(pk), 0
        while node is not None and guard < 50:
            chain.append(node)
            node, guard = parents.get(node), guard + 1
        info = CategoryInfo(
            id=pk,
            external_id=external_id,
            name=name,
            path=path or external_id,
            ancestors=tuple(chain),
        )
        tree.by_id[pk] = info
        tree.by_external[external_id] = info
    return tree


def category_tree() -> CategoryTree:
    return _category_cache.get(_build_category_tree)


def _build_brands() -> dict[str, list[int]]:
    from catalog.models import Brand

    by_name: dict[str, list[int]] = {}
    for pk, name in Brand.objects.values_list("id", "name"):
        by_name.setdefault(normalise(name), []).append(pk)
    return by_name


def brand_ids(name: str) -> list[int]:
    """Ids of the brands with this name (case- and width-insensitive); [] when unknown."""
    return list(_brand_cache.get(_build_brands).get(normalise(name), []))


# --------------------------------------------------------------------------- shoppers


def shopper_ref(external_id: str | None) -> ShopperRef | None:
    """The shopper with this external id, or None (unknown shoppers get cold-start results)."""
    if not external_id:
        return None
    from catalog.models import Shopper

    row = (
        Shopper.objects.filter(external_id=external_id).values_list("id", "profile_version").first()
    )
    if row is None:
        return None
    return ShopperRef(id=row[0], external_id=external_id, profile_version=row[1])


def profile_key(retriever: VersionRef | None, shopper_id: int) -> str:
    return f"recommend:profile:{retriever.space_id if retriever else 0}:{shopper_id}"


def stored_profile(*, shopper_id: int, retriever: VersionRef | None) -> ProfileState:
    """The shopper's profile as event ingestion last stored it
    (``recommend.services.shopper_profiles_refresh``): possibly behind their current
    ``profile_version`` while a refresh is on its way, empty when none is stored."""
    payload = cache.get(profile_key(retriever, shopper_id))
    if payload is None:
        return ProfileState()
    state = ProfileState(**payload)
    if state.vector is not None:
        state.vector = np.frombuffer(state.vector, dtype=np.float32)
    return state


def strategy_by_reference(reference: str, surface: str):
    """The strategy a job names (``strategy=<id or name>``), or the default one of ``surface``
    when ``reference`` is empty; raises ``ValidationError`` with what to do when there is none or
    it serves another surface."""
    from django.core.exceptions import ValidationError

    from recommend.models import Strategy

    if not reference:
        found = Strategy.objects.filter(surface=surface, is_default=True).first()
        if found is None:
            raise ValidationError(
                f"No default {surface} strategy: create one (make run's bootstrap does) or "
                "name one with strategy=<id or name>."
            )
        return found
    found = (
        Strategy.objects.filter(pk=int(reference)).first()
        if reference.isdigit()
        else Strategy.objects.filter(name=reference).first()
    )
    if found is None:
        raise ValidationError({"strategy": [f"No strategy {reference!r}."]})
    if found.surface != surface:
        raise ValidationError(
            {"strategy": [f"{found.name} serves {found.surface}, not {surface}."]}
        )
    return found
