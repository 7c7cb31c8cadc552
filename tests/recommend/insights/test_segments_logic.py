"""Segments' plain-Python logic: k by silhouette, names from the categories a cluster leans to."""

from __future__ import annotations

import numpy as np

from recommend.insights.logic import segments
from recommend.insights.logic.explain_text import explanation_text


def _blobs(centres: int, per: int, dim: int = 16, seed: int = 3) -> np.ndarray:
    rng = np.random.default_rng(seed)
    axes = np.eye(dim)[:centres]
    return np.vstack([axis + 0.05 * rng.standard_normal((per, dim)) for axis in axes])


def test_k_is_chosen_by_silhouette():
    found = segments.cluster_profiles(_blobs(4, 30), k_min=2, k_max=7)
    assert found.k == 4
    assert found.silhouette == max(found.scores.values()) > 0.5
    assert len(set(found.labels[:30].tolist())) == 1  # one blob, one cluster
    assert sorted(found.scores) == [2, 3, 4, 5, 6, 7]


def test_too_few_profiles_make_one_segment():
    found = segments.cluster_profiles(np.eye(2))
    assert found.k == 1 and found.labels.tolist() == [0, 0]


def test_segments_are_named_after_what_they_lean_to_not_what_everyone_likes():
    # everyone likes "Basics"; cluster 0 leans to Coffee, cluster 1 to Running
    interests = [{"Basics": 0.5, "Coffee": 0.4, "Running": 0.1}] * 3 + [
        {"Basics": 0.5, "Running": 0.45, "Coffee": 0.05}
    ] * 2
    out = segments.summarise_segments([0, 0, 0, 1, 1], interests, [1, 0, 0, 1, 1])
    assert [s.name.split(" & ")[0] for s in out] == ["Coffee", "Running"]
    assert [s.size for s in out] == [3, 2]
    assert out[0].conversion_rate == 1 / 3 and out[1].conversion_rate == 1.0
    assert len({s.name for s in out}) == 2


def test_interest_change_pairs_now_with_before():
    rows = segments.interest_change({"a": 0.7, "b": 0.3}, {"b": 0.6, "c": 0.4})
    assert rows[0] == ("a", 0.7, 0.0, 0.7)
    assert ("c", 0.0, 0.4, -0.4) in rows


def test_explanation_text_names_retrievers_terms_and_personalisation():
    text = explanation_text(
        {
            "retrievers": {
                "lexical": {"rank": 3, "score": 1.0},
                "semantic": {"rank": 1, "score": 0.8},
            },
            "matched_terms": ["espresso"],
            "personalisation": "because you viewed a grinder",
            "rules": [{"name": "summer", "kind": "boost"}],
            "ranker": {"score": 0.42},
        }
    )
    assert text == (
        "semantic #1, lexical #3 · matched: espresso · because you viewed a grinder · "
        "rule summer (boost) · ranker 0.420"
    )
