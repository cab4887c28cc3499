"""The real anchor of the synthetic market: calendar, market factor and market-wide states.

Everything here is a causal function of the real CSI 300 (embedded data): a value dated t uses real data up to
the close of t only, so no synthetic series can carry information about future real returns.
"""
from __future__ import annotations

import zlib
from dataclasses import dataclass

import numpy as np
import pandas as pd

from engine.data.embedded import load_csi300
from engine.kernels.synthetic import ar1_filter


def stream(seed: int, name: str) -> np.random.Generator:
    """An independent random stream for one block: PCG64 seeded by (seed, crc32(name)).

    Adding a new block (a new name) never changes the numbers any other block draws.
    """
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence([int(seed), zlib.crc32(name.encode())])))


def student_t(rng: np.random.Generator, df: float, shape) -> np.ndarray:
    """Student-t shocks rescaled to unit variance (fat tails: excess kurtosis 6/(df-4))."""
    return rng.standard_t(df, size=shape) * np.sqrt((df - 2.0) / df)


def ar1(rng: np.random.Generator, shape, phi: float, sd: float) -> np.ndarray:
    """AR(1) paths along axis 0 with persistence ``phi`` and stationary standard deviation ``sd``.

    Starts in the stationary distribution. Shape (T,) or (T, N).
    """
    eps = rng.standard_normal(shape) * sd * np.sqrt(1.0 - phi * phi)
    eps[0] = rng.standard_normal(shape[1:]) * sd
    out = ar1_filter(eps.reshape(shape[0], -1), float(phi))
    return out.reshape(shape)


def rolling_sum(x: np.ndarray, n: int) -> np.ndarray:
    """Trailing n-day sum along axis 0 (shorter windows at the start)."""
    c = np.cumsum(x, axis=0)
    out = c.copy()
    out[n:] = c[n:] - c[:-n]
    return out


@dataclass(frozen=True)
class Market:
    """Market-wide states on the full real calendar (T days).

    m        real CSI 300 daily log return (0 on the first day)
    sigma    EWMA (lambda 0.94) daily volatility forecast for day t from returns up to t-1
    activity market trading activity: 0.6 * log(real CSI 300 volume / its 250-day EMA), clipped to [-1, 1.2]
    comove   co-movement regime: slow log-AR(1) multiplier of every idiosyncratic volatility (half-life 250 d)
    ret20, ret60, ret120  trailing log returns of the real CSI 300 ending at t
    """

    dates: pd.DatetimeIndex
    csi300: pd.DataFrame
    m: np.ndarray
    sigma: np.ndarray
    activity: np.ndarray
    comove: np.ndarray
    ret20: np.ndarray
    ret60: np.ndarray
    ret120: np.ndarray

    @property
    def n(self) -> int:
        return len(self.dates)

    def month_ids(self) -> np.ndarray:
        """Integer month number (year*12+month) of each day."""
        return (self.dates.year * 12 + self.dates.month).to_numpy()

    def month_ends(self) -> np.ndarray:
        """Day indices of the last trading day of each calendar month."""
        mid = self.month_ids()
        return np.flatnonzero(np.r_[mid[1:] != mid[:-1], True])

    def index_of(self, date) -> int:
        """Index of the first trading day on or after ``date`` (n if after the last day)."""
        return int(self.dates.searchsorted(pd.Timestamp(date)))


def build_market(seed: int) -> Market:
    """Market states from the embedded CSI 300 plus the seeded co-movement regime."""
    df = load_csi300()
    dates = pd.DatetimeIndex(df.index, name="date")
    close = df["close"].to_numpy()
    m = np.r_[0.0, np.diff(np.log(close))]
    var = np.empty_like(m)
    v = 0.015**2
    for t in range(len(m)):
        var[t] = v
        v = 0.94 * v + 0.06 * m[t] * m[t]
    vol = df["volume"].to_numpy()
    ema = pd.Series(vol).ewm(span=250, adjust=False).mean().to_numpy()
    activity = np.clip(0.6 * np.log(vol / ema), -1.0, 1.2)
    rng = stream(seed, "market/comove")
    comove = np.exp(ar1(rng, (len(m),), phi=0.5 ** (1 / 250), sd=0.3))
    return Market(
        dates=dates,
        csi300=df,
        m=m,
        sigma=np.sqrt(var),
        activity=activity,
        comove=comove,
        ret20=rolling_sum(m, 20),
        ret60=rolling_sum(m, 60),
        ret120=rolling_sum(m, 120),
    )
