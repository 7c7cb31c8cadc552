"""Review-sentiment monitoring, plain Python (no Django): the spike test and the rising phrases.

**Spike test.** A *series* is the daily review count and negative count of one product, brand
or category. On day ``d`` it is compared with its own trailing baseline (the ``window`` days
before ``d``): the baseline share is the series' negatives over its reviews in the window,
shrunk toward the level's pooled share by ``prior_weight`` pseudo-reviews, so that a product
with three earlier reviews is not judged against 0 % or 100 %. A series-day is *tested* when it
has at least ``min_reviews`` reviews; its p-value is the exact one-sided binomial tail
P(X ≥ negatives | reviews, baseline share). Benjamini–Hochberg adjusts the p-values of every
series tested that day (all levels together) into q-values; a series-day with q ≤ ``fdr``, at
least ``min_negatives`` negatives and a share ``min_lift`` above its baseline is a spike (the
floors apply after BH, so the family BH corrects for is every series with the volume). So the expected share of false alarms among a day's spikes stays at ``fdr`` however many
thousands of series are watched.

**Rising phrases.** The n-grams of a product's recent negative reviews scored against the
product's earlier reviews: how many recent negative reviews contain the phrase against the
share of earlier reviews that do, shrunk toward the phrase's share of the store's negative
reviews (an informative prior, as in Monroe et al.'s "fightin' words"), by the same exact
binomial tail.
"""

from __future__ import annotations

import math
import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta


@dataclass(frozen=True)
class SpikeSettings:
    """The spike test's knobs (job parameters)."""

    window_days: int = 28
    min_reviews: int = 5
    min_negatives: int = 3
    min_lift: float = 0.15
    prior_weight: float = 10.0
    fdr: float = 0.05


@dataclass(frozen=True)
class DayCount:
    """One series' reviews and negatives on one day. ``series`` is ``(level, key)``."""

    series: tuple[str, int]
    day: date
    reviews: int
    negatives: int


@dataclass(frozen=True)
class SeriesTest:
    """A tested series-day: its counts, its baseline, the binomial p-value and BH q-value."""

    series: tuple[str, int]
    day: date
    reviews: int
    negatives: int
    baseline_reviews: int
    baseline_negatives: int
    baseline_share: float
    p_value: float
    q_value: float

    @property
    def share(self) -> float:
        return self.negatives / self.reviews if self.reviews else 0.0


def binomial_log_sf(k: int, n: int, p: float) -> float:
    """log P(X ≥ k) for X ~ Binomial(n, p), exact (summed in log space: tiny tails stay right)."""
    if k <= 0 or p >= 1.0:
        return 0.0
    if k > n or p <= 0.0:
        return -math.inf
    log_p, log_q = math.log(p), math.log1p(-p)
    log_n = math.lgamma(n + 1)
    terms = [
        log_n - math.lgamma(i + 1) - math.lgamma(n - i + 1) + i * log_p + (n - i) * log_q
        for i in range(k, n + 1)
    ]
    top = max(terms)
    return min(0.0, top + math.log(sum(math.exp(t - top) for t in terms)))


def binomial_sf(k: int, n: int, p: float) -> float:
    """P(X ≥ k) for X ~ Binomial(n, p)."""
    return math.exp(binomial_log_sf(k, n, p))


def benjamini_hochberg(p_values: Sequence[float]) -> list[float]:
    """BH-adjusted q-values, in input order (monotone, capped at 1)."""
    m = len(p_values)
    if not m:
        return []
    order = sorted(range(m), key=lambda i: p_values[i])
    q = [0.0] * m
    running = 1.0
    for rank in range(m, 0, -1):
        i = order[rank - 1]
        running = min(running, p_values[i] * m / rank)
        q[i] = min(1.0, running)
    return q


def spike_tests(
    counts: Iterable[DayCount], *, day: date, settings: SpikeSettings = SpikeSettings()
) -> list[SeriesTest]:
    """Test every series on ``day`` against its trailing window; BH across all of them.

    ``counts`` holds the series' daily counts for ``day`` and the ``window_days`` before it
    (other days are ignored). Returns the tested series-days, most significant first.
    """
    start = day - timedelta(days=settings.window_days)
    today: dict[tuple[str, int], tuple[int, int]] = {}
    before: dict[tuple[str, int], list[int]] = defaultdict(lambda: [0, 0])
    pooled: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for c in counts:
        if c.day == day:
            today[c.series] = (c.reviews, c.negatives)
        elif start <= c.day < day:
            before[c.series][0] += c.reviews
            before[c.series][1] += c.negatives
            pooled[c.series[0]][0] += c.reviews
            pooled[c.series[0]][1] += c.negatives
    candidates = []
    for series, (n, k) in today.items():
        # the family BH controls: every series with the minimum volume that day, whatever its
        # share (filtering on the outcome before BH would shrink the family and let noise in)
        if n < settings.min_reviews:
            continue
        level_n, level_k = pooled.get(series[0], (0, 0))
        prior = (level_k + 1) / (level_n + 2)  # the level's share (a flat prior with no history)
        bn, bk = before.get(series, (0, 0))
        baseline = (bk + settings.prior_weight * prior) / (bn + settings.prior_weight)
        candidates.append((series, n, k, bn, bk, baseline, binomial_sf(k, n, baseline)))
    q_values = benjamini_hochberg([c[-1] for c in candidates])
    tested = [
        SeriesTest(
            series=series,
            day=day,
            reviews=n,
            negatives=k,
            baseline_reviews=bn,
            baseline_negatives=bk,
            baseline_share=baseline,
            p_value=p,
            q_value=q,
        )
        for (series, n, k, bn, bk, baseline, p), q in zip(candidates, q_values, strict=True)
    ]
    return sorted(tested, key=lambda t: (t.p_value, t.series))


def spikes(
    tested: Iterable[SeriesTest], *, settings: SpikeSettings = SpikeSettings()
) -> list[SeriesTest]:
    """The tested series-days with q ≤ ``fdr`` that also clear the effect-size floors: at least
    ``min_negatives`` negative reviews and a share ``min_lift`` above the baseline."""
    return [
        t
        for t in tested
        if t.q_value <= settings.fdr
        and t.negatives >= settings.min_negatives
        and t.share >= t.baseline_share + settings.min_lift
    ]


# --------------------------------------------------------------------------- rising phrases

_STOPWORD_TEXT = """a an the and or but if then so of to in on at by for with from as is are was were be been
    it its it's this that these those i me my we our you your he she they them their his her
    not no very too just really also than more most much some any all can could would should
    will have has had do does did am get got one"""
STOPWORDS = frozenset(_STOPWORD_TEXT.split())
_WORD = re.compile(r"[a-z0-9']+")


def phrases_of(text: str, *, longest: int = 3) -> set[str]:
    """The distinct 1..``longest``-word phrases of ``text`` (lower case) that neither start nor
    end with a stop word."""
    words = _WORD.findall(text.lower())
    out: set[str] = set()
    for size in range(1, longest + 1):
        for i in range(len(words) - size + 1):
            gram = words[i : i + size]
            if gram[0] in STOPWORDS or gram[-1] in STOPWORDS:
                continue
            out.add(" ".join(gram))
    return out


@dataclass(frozen=True)
class RisingPhrase:
    phrase: str
    recent: int  # recent negative reviews that contain it
    earlier: int  # earlier reviews that contain it
    expected: float  # the share of reviews expected to contain it (the baseline)
    score: float  # -log10 of the binomial p-value of ``recent`` against ``expected``


def review_phrase_counts(texts: Iterable[str]) -> Counter:
    """How many of ``texts`` contain each phrase."""
    return Counter(p for text in texts for p in phrases_of(text))


def rising_phrases(
    recent: Sequence[str],
    earlier: Sequence[str],
    *,
    background: Counter | None = None,
    background_total: int = 0,
    prior_weight: float = 10.0,
    default_share: float = 0.02,
    min_count: int = 2,
    min_score: float = 3.0,
    top: int = 10,
) -> list[RisingPhrase]:
    """The phrases of ``recent`` (the product's recent negative reviews) that are more frequent
    there than in ``earlier`` (the product's earlier reviews).

    Counts are per review (a phrase repeated in one review counts once). A phrase's expected
    share is its share of ``earlier``, shrunk by ``prior_weight`` pseudo-reviews toward its share
    of ``background`` (phrase counts over ``background_total`` reviews, e.g. the store's
    negative reviews; with no background, ``default_share``): a product with few earlier
    reviews is judged against what complaints usually say, so "disappointed" does not rise but
    a new defect does. The score is -log10 of
    the exact binomial tail; a phrase nested in a longer one with the same count is dropped.
    """
    if not recent:
        return []
    n_recent, n_earlier = len(recent), len(earlier)
    recent_counts = review_phrase_counts(recent)
    earlier_counts = review_phrase_counts(earlier)
    background = background or Counter()
    scored = []
    for phrase, r in recent_counts.items():
        if r < min_count:
            continue
        e = earlier_counts.get(phrase, 0)
        # the background share, itself shrunk toward ``default_share`` by 20 pseudo-reviews
        prior = (background.get(phrase, 0) + 20 * default_share) / (background_total + 20)
        expected = (e + prior_weight * prior) / (n_earlier + prior_weight)
        score = -binomial_log_sf(r, n_recent, expected) / math.log(10)
        if score >= min_score:
            scored.append(RisingPhrase(phrase, r, e, round(expected, 4), round(score, 2)))
    scored.sort(key=lambda p: (-p.score, -len(p.phrase), p.phrase))
    kept: list[RisingPhrase] = []
    for p in scored:
        if any(p.phrase in k.phrase and p.recent == k.recent for k in kept):
            continue
        kept = [k for k in kept if not (k.phrase in p.phrase and k.recent == p.recent)]
        kept.append(p)
        if len(kept) >= top:
            break
    return kept
