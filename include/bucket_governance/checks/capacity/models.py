"""Trend models for one daily series: robust fits, out-of-sample comparison, and a bootstrap band.

Two models are fitted on the recent window and compared out of sample (forecasts from several origins):

* ``linear`` — Theil–Sen line (median of pairwise slopes): one burst day cannot tilt it;
* ``log_linear`` — Theil–Sen line on ``log(y)``: compounding growth (only when every value is > 0).

The naive last-value forecast is scored the same way, as the baseline a model must beat.

The band comes from a sieve bootstrap: the residuals around the trend are modelled as AR(1) (``phi`` from
their lag-1 autocorrelation), replicate series are rebuilt from resampled innovations and refitted, and each
replicate's future is simulated from the last observation. With ``phi`` near 1 (a cumulative counter such
as bytes stored, whose deviations persist) the band widens like a random walk; with ``phi`` near 0
(day-to-day noise around a level) it stays narrow — the same code is right for both kinds of series.

numpy is imported inside functions so importing this module (e.g. by the CLI) stays cheap.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray

    Array = NDArray[np.float64]

ModelName = Literal["linear", "log_linear"]
BOOTSTRAP_REPLICATES = 200
ORIGINS = (0.5, 0.625, 0.75)  # forecast origins for the out-of-sample comparison, as fractions of the window
MIN_TRAIN = 7
MIN_HOLDOUT = 5
MAX_PHI = 0.98  # an exact unit root would make the band explode at long horizons


@dataclass(frozen=True)
class TrendFit:
    """A fitted trend: ``z = intercept + slope * t`` with ``z = y`` (linear) or ``z = log y`` (log-linear)."""

    model: ModelName
    intercept: float
    slope: float
    phi: float
    innovations: Array
    last_t: float
    last_residual: float
    smearing: float = 1.0  # mean of exp(residual): the log model's point forecast is of the mean, not the median

    def transform(self, y: Array) -> Array:
        import numpy as np

        return np.log(y) if self.model == "log_linear" else y

    def untransform(self, z: Array) -> Array:
        import numpy as np

        return np.exp(np.minimum(z, 700.0)) if self.model == "log_linear" else z

    def point_forecast(self, horizons: Array) -> Array:
        """Deterministic forecast: the trend, plus the last residual decaying at ``phi`` per day."""
        z = self.intercept + self.slope * (self.last_t + horizons) + self.last_residual * self.phi**horizons
        return self.untransform(z) * self.smearing


@dataclass(frozen=True)
class Projection:
    """Paths from the last observed day: ``horizons`` (days ahead) and the P10/P50/P90 values at each."""

    fit: TrendFit
    horizons: Array
    p10: Array
    p50: Array
    p90: Array
    quality: dict[str, Any]


def theil_sen(t: Array, y: Array) -> tuple[float, float]:
    """Slope = median of pairwise slopes; intercept = median of ``y - slope * t``."""
    import numpy as np

    slopes, intercepts = theil_sen_batch(t, y[np.newaxis, :])
    return float(slopes[0]), float(intercepts[0])


def theil_sen_batch(t: Array, ys: Array) -> tuple[Array, Array]:
    """Theil–Sen for many series sharing the same ``t`` (rows of ``ys``), vectorised."""
    import numpy as np

    i, j = np.triu_indices(t.size, 1)
    slopes = np.median((ys[:, j] - ys[:, i]) / (t[j] - t[i]), axis=1)
    intercepts = np.median(ys - slopes[:, np.newaxis] * t, axis=1)
    return slopes, intercepts


def fit_trend(t: Array, y: Array, model: ModelName, *, mean_level: bool = False) -> TrendFit:
    """Theil–Sen slope; the level through the median of ``z - slope * t`` (or its mean, see below).

    ``mean_level`` is for daily increments of a counter: what adds up is their mean, and a median level
    would under-project a product that writes in bursts.
    """
    import numpy as np

    z = np.log(y) if model == "log_linear" else y
    slope, intercept = theil_sen(t, z)
    if mean_level:
        intercept = float(np.mean(z - slope * t))
    residuals = z - (intercept + slope * t)
    phi = _ar1_coefficient(residuals)
    innovations = residuals[1:] - phi * residuals[:-1]
    return TrendFit(
        model=model,
        intercept=intercept,
        slope=slope,
        phi=phi,
        innovations=innovations - innovations.mean(),
        last_t=float(t[-1]),
        last_residual=float(residuals[-1]),
        smearing=float(np.mean(np.exp(residuals))) if model == "log_linear" else 1.0,
    )


def _ar1_coefficient(residuals: Array) -> float:
    import numpy as np

    centred = residuals - residuals.mean()
    denominator = float(np.dot(centred, centred))
    if denominator <= 0.0:
        return 0.0
    return float(np.clip(np.dot(centred[1:], centred[:-1]) / denominator, 0.0, MAX_PHI))


def candidate_models(y: Array) -> list[ModelName]:
    import numpy as np

    return ["linear", "log_linear"] if bool(np.all(y > 0)) else ["linear"]


def cross_validate(t: Array, y: Array, *, cumulative: bool) -> tuple[dict[str, float], dict[str, float]]:
    """Out-of-sample errors from several forecast origins (``ORIGINS`` of the window), each to the window's end.

    Returns the models' mean absolute errors on the modelled series (a counter's increments, else the
    series itself — what weighs the models: increments' errors are independent day to day, so they tell
    compounding from a straight line sooner than the cumulative totals do), and every model's and the
    naive last value's mean absolute error on the series itself (what a reader compares).
    """
    import numpy as np

    series_t, series = _modelled(t, y, cumulative)
    offset = 1 if cumulative else 0
    model_errors: dict[str, list[float]] = {}
    y_errors: dict[str, list[float]] = {"naive": []}
    for fraction in ORIGINS:
        cut = max(MIN_TRAIN, round(series.size * fraction))
        if series.size - cut < MIN_HOLDOUT:
            continue
        train_t, train, test_t, test = series_t[:cut], series[:cut], series_t[cut:], series[cut:]
        y_last, y_test = y[cut + offset - 1], y[cut + offset :]
        y_errors["naive"].append(float(np.mean(np.abs(y_test - y_last))))
        for model in candidate_models(train):
            forecast = fit_trend(train_t, train, model, mean_level=cumulative).point_forecast(test_t - train_t[-1])
            model_errors.setdefault(model, []).append(float(np.mean(np.abs(test - forecast))))
            y_forecast = y_last + np.cumsum(np.maximum(forecast, 0.0)) if cumulative else forecast
            y_errors.setdefault(model, []).append(float(np.mean(np.abs(y_test - y_forecast))))
    return _means(model_errors), _means(y_errors)


def _means(errors: dict[str, list[float]]) -> dict[str, float]:
    return {k: sum(v) / len(v) for k, v in errors.items() if v}


def _modelled(t: Array, y: Array, cumulative: bool) -> tuple[Array, Array]:
    """What the trend is fitted to: the series itself, or a counter's daily increments."""
    import numpy as np

    return (t[1:], np.diff(y)) if cumulative else (t, y)


def project(t: Array, y: Array, horizon_days: int, *, cumulative: bool, seed: int = 0) -> Projection:
    """Fit, compare, and project ``horizon_days`` ahead with a P10–P90 band (``t`` in days, ascending).

    A ``cumulative`` series (bytes stored, artifact count) is modelled through its daily increments — its
    future is the last value plus the sum of future increments, each at least zero — so a counter that
    only grows is never projected to shrink, and its band widens as the increments' noise adds up.

    The band mixes both models' bootstrap replicates, in proportion to how well each forecast out of
    sample: a few weeks rarely separate a straight line from slow compounding for sure, and a band that
    pretended to know which one holds would be too narrow a year out.
    """
    import numpy as np

    errors, y_errors = cross_validate(t, y, cumulative=cumulative)
    series_t, series = _modelled(t, y, cumulative)
    weights = model_weights(errors, candidate_models(series))
    rng = np.random.default_rng(seed)
    horizons = np.arange(1, horizon_days + 1, dtype=np.float64)
    fits = {m: fit_trend(series_t, series, m, mean_level=cumulative) for m in weights}
    paths = np.concatenate(
        [
            _bootstrap_paths(fits[m], series_t, series, horizons, rng, mean_level=cumulative, replicates=count)
            for m, count in _replicate_counts(weights).items()
        ]
    )
    # Usage is never negative: a counter only grows, a rate bottoms out at zero.
    paths = y[-1] + np.cumsum(np.maximum(paths, 0.0), axis=1) if cumulative else np.maximum(paths, 0.0)
    p10, p50, p90 = np.percentile(paths, [10, 50, 90], axis=0)
    chosen = max(weights, key=lambda m: weights[m])
    quality = {
        "model": chosen,
        "model_weights": {m: round(w, 3) for m, w in weights.items()},
        "holdout_mae": {k: round(v, 6) for k, v in y_errors.items()},
        "r2": _r2(t, y, fits[chosen], cumulative),
        "phi": fits[chosen].phi,
        "days": int(t.size),
    }
    return Projection(fit=fits[chosen], horizons=horizons, p10=p10, p50=p50, p90=p90, quality=quality)


def model_weights(errors: dict[str, float], candidates: list[ModelName]) -> dict[ModelName, float]:
    """Weights ∝ 1 / out-of-sample MAE, over the models that can fit the whole window."""
    inverse = {m: 1.0 / max(errors.get(m, float("inf")), 1e-12) for m in candidates}
    total = sum(inverse.values())
    if total <= 0.0:  # no model could be scored (e.g. the tail had no valid log fit)
        return {"linear": 1.0}
    return {m: v / total for m, v in inverse.items() if v > 0.0} or {"linear": 1.0}


def _replicate_counts(weights: dict[ModelName, float]) -> dict[ModelName, int]:
    counts = {m: round(w * BOOTSTRAP_REPLICATES) for m, w in weights.items()}
    return {m: c for m, c in counts.items() if c > 0} or {max(weights, key=lambda m: weights[m]): BOOTSTRAP_REPLICATES}


def _bootstrap_paths(
    fit: TrendFit,
    t: Array,
    y: Array,
    horizons: Array,
    rng: np.random.Generator,
    *,
    mean_level: bool,
    replicates: int = BOOTSTRAP_REPLICATES,
) -> Array:
    """Sieve bootstrap: rebuild and refit replicate series, then simulate each one's future (B × H)."""
    import numpy as np

    b = replicates
    z = fit.transform(y)
    trend = fit.intercept + fit.slope * t
    residuals = _ar1_paths(fit.phi, rng.choice(fit.innovations, size=(b, t.size)), start=z[0] - trend[0])
    series = trend + residuals
    slopes, intercepts = theil_sen_batch(t, series)
    if mean_level:
        intercepts = np.mean(series - slopes[:, np.newaxis] * t, axis=1)
    # Each replicate continues from the observed last value, so its future starts where the data ends.
    last_residual = z[-1] - (intercepts + slopes * t[-1])
    future_noise = _ar1_paths(fit.phi, rng.choice(fit.innovations, size=(b, horizons.size)), start=last_residual)
    future = intercepts[:, np.newaxis] + slopes[:, np.newaxis] * (t[-1] + horizons) + future_noise
    return fit.untransform(future)


def _ar1_paths(phi: float, shocks: Array, start: Array | float) -> Array:
    import numpy as np

    out = np.empty_like(shocks)
    previous = np.broadcast_to(np.asarray(start, dtype=np.float64), shocks.shape[:1])
    for k in range(shocks.shape[1]):
        previous = phi * previous + shocks[:, k]
        out[:, k] = previous
    return out


def _r2(t: Array, y: Array, fit: TrendFit, cumulative: bool) -> float:
    """Share of the window's variance the fitted trend explains, in the series' own units."""
    import numpy as np

    if cumulative:
        increments = fit.untransform(fit.intercept + fit.slope * t[1:]) * fit.smearing
        fitted = np.concatenate([[y[0]], y[0] + np.cumsum(np.maximum(increments, 0.0))])
    else:
        fitted = fit.untransform(fit.intercept + fit.slope * t)
    total = float(np.sum((y - y.mean()) ** 2))
    if total <= 0.0:
        return 1.0  # a perfectly flat series is perfectly explained by a flat line
    return float(1.0 - np.sum((y - fitted) ** 2) / total)
