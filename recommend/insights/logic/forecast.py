"""Demand forecast: daily demand per series (a product or a category), weekly seasonality
(m = 7), statsmodels' exponential smoothing for regular series and TSB (Teunter–Syntetos–Babai,
Croston's method with a decaying demand probability) for intermittent ones; a backtest on the
last days with MASE against the seasonal naive forecast, and the stock-out risk.  Plain Python +
numpy + statsmodels, no Django.

A series is **intermittent** when its average demand interval (days per day with demand)
exceeds 1.32 (Syntetos–Boylan); an all-zero series has no MASE (its scale is zero) and is
reported apart.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np

SEASON = 7
ADI_INTERMITTENT = 1.32
Z90 = 1.645  # a two-sided 90 % interval


@dataclass(frozen=True)
class Forecast:
    """``mean``, ``low`` and ``high`` (a 90 % interval) per day of the horizon, and the method."""

    mean: np.ndarray
    low: np.ndarray
    high: np.ndarray
    method: str


def is_intermittent(y: np.ndarray) -> bool:
    demand_days = int(np.count_nonzero(y))
    return demand_days == 0 or len(y) / demand_days > ADI_INTERMITTENT


def seasonal_naive(y: np.ndarray, horizon: int, m: int = SEASON) -> np.ndarray:
    """Each day's forecast is the same weekday's last value."""
    if len(y) < m:
        return np.full(horizon, float(y.mean()) if len(y) else 0.0)
    last = y[-m:]
    return np.array([last[i % m] for i in range(horizon)], dtype=np.float64)


def tsb(y: np.ndarray, horizon: int, alpha: float = 0.1, beta: float = 0.1) -> Forecast:
    """TSB: the demand size smoothed on demand days (alpha), the demand probability every day
    (beta); the forecast is their product, flat.  The interval is a Poisson one around it
    widened by the one-step errors."""
    y = np.asarray(y, dtype=np.float64)
    nonzero = y[y > 0]
    size = float(nonzero[0]) if len(nonzero) else 0.0
    prob = float(np.mean(y > 0)) if len(y) else 0.0
    errors = []
    for value in y:
        errors.append(value - prob * size)
        prob += beta * (float(value > 0) - prob)
        if value > 0:
            size += alpha * (value - size)
    level = prob * size
    sigma = float(np.std(errors)) if errors else 0.0
    mean = np.full(horizon, level)
    return Forecast(
        mean=mean,
        low=np.maximum(0.0, mean - Z90 * sigma),
        high=mean + Z90 * max(sigma, float(np.sqrt(level))),
        method="tsb",
    )


def ets(y: np.ndarray, horizon: int, m: int = SEASON) -> Forecast:
    """Additive-seasonal exponential smoothing (statsmodels' Holt–Winters, no trend, damped
    nothing); without two full seasons, simple exponential smoothing.  Interval from the
    in-sample one-step residuals."""
    from statsmodels.tsa.holtwinters import ExponentialSmoothing

    y = np.asarray(y, dtype=np.float64)
    seasonal = len(y) >= 2 * m
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # convergence chatter on short, flat series
        model = ExponentialSmoothing(
            y,
            trend=None,
            seasonal="add" if seasonal else None,
            seasonal_periods=m if seasonal else None,
            initialization_method="estimated",
        ).fit()
    mean = np.maximum(0.0, np.asarray(model.forecast(horizon), dtype=np.float64))
    sigma = float(np.std(y - model.fittedvalues))
    return Forecast(
        mean=mean,
        low=np.maximum(0.0, mean - Z90 * sigma),
        high=mean + Z90 * sigma,
        method="ets",
    )


def forecast(y: np.ndarray, horizon: int, m: int = SEASON) -> Forecast:
    """ETS for a regular series, TSB for an intermittent one."""
    y = np.asarray(y, dtype=np.float64)
    if not np.any(y):
        zero = np.zeros(horizon)
        return Forecast(mean=zero, low=zero, high=zero, method="zero")
    return tsb(y, horizon) if is_intermittent(y) else ets(y, horizon, m)


def mase(actual: np.ndarray, predicted: np.ndarray, train: np.ndarray, m: int = SEASON):
    """Mean absolute error scaled by the in-sample seasonal naive error; None when that scale
    is zero (an all-zero or perfectly weekly-repeating training series)."""
    train = np.asarray(train, dtype=np.float64)
    if len(train) <= m:
        return None
    scale = float(np.mean(np.abs(train[m:] - train[:-m])))
    if scale == 0:
        return None
    return float(np.mean(np.abs(np.asarray(actual) - np.asarray(predicted)))) / scale


@dataclass(frozen=True)
class Backtest:
    """The last ``horizon`` days held out: MASE of the forecast and of the seasonal naive one
    (None for an all-zero training series), and the method used."""

    mase: float | None
    mase_naive: float | None
    method: str


def backtest(y: np.ndarray, horizon: int = 14, m: int = SEASON) -> Backtest:
    y = np.asarray(y, dtype=np.float64)
    train, test = y[:-horizon], y[-horizon:]
    fc = forecast(train, horizon, m)
    return Backtest(
        mase=mase(test, fc.mean, train, m),
        mase_naive=mase(test, seasonal_naive(train, horizon, m), train, m),
        method=fc.method,
    )


def stockout(stock: float, daily: np.ndarray) -> tuple[float | None, bool]:
    """(days of cover — the day the forecast cumulative demand passes ``stock``, or None when it
    never does within the horizon — and whether it runs out within the horizon)."""
    cumulative = np.cumsum(np.asarray(daily, dtype=np.float64))
    over = np.nonzero(cumulative > stock)[0]
    if len(over) == 0:
        return None, False
    return float(over[0] + 1), True
