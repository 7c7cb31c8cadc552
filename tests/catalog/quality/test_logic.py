"""The plain rules of the data quality checks, on lists (no database)."""

from __future__ import annotations

from catalog.quality import logic


def test_normalised_titles_fold_case_accents_punctuation_and_spacing():
    assert logic.normalise_title("  Crème-Brûlée  TORCH! ") == "creme brulee torch"
    assert logic.normalise_title("ＡＢＣ　１２３") == "abc 123"
    # Other scripts keep their combining marks: these two Hindi words are not one title.
    assert logic.normalise_title("हिन्दी किताब") == "हिन्दी किताब"
    assert logic.normalise_title("हिन्दी") != logic.normalise_title("हन्द")
    groups = logic.duplicate_title_groups(
        [(3, "Blue T-Shirt"), (1, "blue  t shirt"), (2, "Blue shirt"), (4, ""), (5, "")]
    )
    assert groups == [[1, 3]]


def test_near_duplicate_pairs_join_into_groups_without_exact_title_pairs():
    pairs = [(1, 2, 0.99), (2, 1, 0.99), (2, 3, 0.98), (7, 8, 0.995), (9, 10, 0.999)]
    groups = logic.near_duplicate_groups(pairs, exact_groups=[[9, 10]])
    assert groups == [([7, 8], 0.995), ([1, 2, 3], 0.99)]


def test_robust_z_survives_a_zero_mad_and_all_equal_values():
    assert logic.robust_z([5, 5, 5]) == [0.0, 0.0, 0.0]
    z = logic.robust_z([1, 1, 1, 1, 50])  # MAD 0: the mean absolute deviation stands in
    assert z[:4] == [0.0] * 4 and z[4] > 3.5


def test_price_outliers_judge_each_category_on_a_log_scale():
    rows = [(i, 1, 20.0 + i) for i in range(10)] + [(99, 1, 2500.0)]
    rows += [(100 + i, 2, 2000.0 + 50 * i) for i in range(10)]  # dear but coherent
    rows += [(200, 3, 1.0), (201, 3, 900.0)]  # too small to judge
    found = logic.price_outliers(rows, min_category_size=8)
    assert [o.product_id for o in found] == [99]
    assert found[0].category_median == 25.0 and found[0].z > 3.5


def test_bot_shoppers_need_a_far_higher_peak_than_the_store():
    peaks = [(i, 1 + i % 3) for i in range(40)] + [(100, 400), (101, 30)]
    assert [b.shopper_id for b in logic.bot_like_shoppers(peaks)] == [100]
    # Keen shoppers of a store where nobody does much are not bots (min_peak).
    assert logic.bot_like_shoppers([(i, 1) for i in range(40)] + [(100, 20)]) == []


def test_orphan_categories_have_no_active_product_in_their_subtree():
    categories = [(1, "home"), (2, "home/kitchen"), (3, "home/garden"), (4, "toys")]
    assert logic.orphan_categories(categories, used_category_ids=[2]) == [3, 4]
