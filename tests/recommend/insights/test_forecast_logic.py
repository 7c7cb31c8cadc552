"""The demand-forecast algorithm (no database): TSB on intermittent series, exponential
smoothing on regular weekly ones beating the seasonal naive forecast, MASE undefined for
all-zero series, and the stock-out day."""

from __future__ import annotations

import numpy as np
import pytest

from recommend.insights.logic import forecast as fc


def weekly(seed: int, weeks: int = 8) -> np.ndarray:
    rng = np.random.default_rng(seed)
    pattern = np.array([3.0, 4.0, 4.0, 5.0, 8.0, 12.0, 10.0])
    return rng.poisson(np.tile(pattern, weeks)).astype(float)


def test_intermittent_series_get_tsb_and_regular_ones_exponential_smoothing():
    sparse = np.zeros(56)
    sparse[[3, 17, 30, 44, 50]] = [1, 2, 1, 1, 3]
    assert fc.is_intermittent(sparse) and not fc.is_intermittent(weekly(1))
    f = fc.forecast(sparse, 14)
    assert f.method == "tsb" and len(f.mean) == 14
    assert 0 < f.mean[0] < 1 and (f.low <= f.mean).all() and (f.mean <= f.high).all()
    g = fc.forecast(weekly(1), 14)
    assert g.method == "ets"
    assert g.mean[4] > g.mean[0]  # the weekly peak is forecast on its weekday (day 56 = day 0)
    assert (g.low <= g.mean).all() and (g.mean <= g.high).all()
    assert fc.forecast(np.zeros(30), 7).method == "zero"


def test_smoothing_beats_the_seasonal_naive_forecast_on_noisy_weekly_series():
    results = [fc.backtest(weekly(seed), 14) for seed in range(8)]
    assert all(r.method == "ets" for r in results)
    assert np.median([r.mase for r in results]) < np.median([r.mase_naive for r in results])
    assert np.median([r.mase for r in results]) < 1


def test_mase_is_undefined_for_an_all_zero_training_series():
    assert fc.mase(np.ones(7), np.zeros(7), np.zeros(28)) is None
    assert fc.backtest(np.r_[np.zeros(28), np.ones(14)], 14).mase is None
    assert fc.mase(np.array([2.0]), np.array([1.0]), np.array([0, 0, 0, 0, 0, 0, 0, 2.0])) == (
        pytest.approx(1.0 / 2.0)
    )


def test_stockout_day_is_when_the_cumulative_forecast_passes_the_stock():
    assert fc.stockout(5, np.full(14, 2.0)) == (3.0, True)
    assert fc.stockout(100, np.full(14, 2.0)) == (None, False)
