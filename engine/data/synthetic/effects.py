"""Planted effects: the only way the synthetic market gets predictive power (none by default).

``effects`` is a mapping ``{name: strength}``; strength 0 (or no entry) means the effect is absent. Known effects:

``turnover_reversal`` -- "a turnover surge in a downtrend precedes a rebound", planted in the SW L1 industries.
    At the last trading day e of every month m, for each industry k (all computed from the latent industry
    series, which equal the published ``sw_l1`` close/turnover up to price-limit and rounding effects):

    * downtrend:  close[e] / close[e-60] - 1 < 0 (sum of the last 60 daily log returns < 0);
    * surge:      slope_k = OLS slope of y_d on d = 1..n over the n trading days of month m, where
                  y_d = turnover_d / mean(turnover over the 250 trading days before d) (fewer at the start,
                  at least 20); "surge" = slope_k among the ceil(31/2) = 16 largest of the month;
    * if both: every day of month m+1 gets a log-return drift of strength * vol_k / sqrt(n'), where vol_k is the
      standard deviation of k's daily log returns over the 60 days to e and n' is the number of trading days
      of month m+1. So the expected next-month return rises by ``strength`` monthly standard deviations
      (strength 0.5 = half a monthly sd; negative strengths plant the opposite effect).

    The drift also moves every constituent stock (the industry target return carries it), so the effect shows
    in ``sw_l1`` and in cap-weighted baskets of its constituents.

``flow_leads_returns`` -- "main-force inflows lead the 新半军 sector's returns" (panel ``sectors`` and the sector
    ETFs' NAV; seed 004). For each sector with SW L1 parent k, on day t:

    * ``S_t`` = sum over the 20 trading days to t of the net main-force flow of the stocks in industry k on each day
      (``elg_buy + lg_buy - elg_sell - lg_sell``, the published stock flows; missing values count 0);
    * ``vol_t`` = sample sd of the parent's daily log returns over the 60 days to t;
    * the sector's return on day t+1 gets ``strength * vol_t * sign(S_t)`` added (before the first 60 days: 0).

    So a rule that is long when the 20-day flow is positive earns ``strength`` daily sds a day more than one that
    is long when it is negative. Stocks, ``sw_l1`` and the flows themselves are unchanged.
"""
from __future__ import annotations

import difflib
import math
from dataclasses import dataclass, field

import numpy as np

from engine.errors import ConfigError

KNOWN_EFFECTS = {
    "turnover_reversal": "turnover surge in a 60-day downtrend precedes a next-month rebound (SW L1 industries)",
    "flow_leads_returns": "a positive 20-day main-force net flow of the parent industry precedes sector gains "
                          "(新半军 sectors)",
}


@dataclass(frozen=True)
class Effects:
    """Validated planted effects: ``strengths`` maps a known effect name to a finite float."""

    strengths: dict = field(default_factory=dict)

    @classmethod
    def parse(cls, spec) -> "Effects":
        """Accept None, {} or {name: strength}; unknown names and non-numeric strengths raise ConfigError."""
        if spec is None:
            return cls({})
        if isinstance(spec, Effects):
            return spec
        if not isinstance(spec, dict):
            raise ConfigError(
                f"synthetic effects must be a mapping {{name: strength}}, got {type(spec).__name__}; "
                f"known effects: {', '.join(KNOWN_EFFECTS)}"
            )
        out = {}
        for name, val in spec.items():
            if name not in KNOWN_EFFECTS:
                close = difflib.get_close_matches(str(name), KNOWN_EFFECTS, n=1)
                hint = f" (did you mean '{close[0]}'?)" if close else ""
                raise ConfigError(
                    f"synthetic effects: unknown effect '{name}'{hint}; known effects: {', '.join(KNOWN_EFFECTS)}"
                )
            try:
                fval = float(val)
            except (TypeError, ValueError):
                raise ConfigError(f"synthetic effects: strength of '{name}' must be a number, got {val!r}") from None
            if not math.isfinite(fval):
                raise ConfigError(f"synthetic effects: strength of '{name}' must be finite, got {val!r}")
            if fval != 0.0:
                out[name] = fval
        return cls(dict(sorted(out.items())))

    @property
    def active(self) -> bool:
        return bool(self.strengths)

    def canonical(self) -> dict:
        """The effects as a sorted plain dict (for the cache key and dataset meta); {} when none."""
        return dict(self.strengths)

    def industry_drift(self, ell: np.ndarray, turnover: np.ndarray, a: int, b: int, n_next: int) -> np.ndarray:
        """Daily log-return drift per industry for the month after the month of days a..b-1 (arrays up to b)."""
        k = ell.shape[1]
        strength = self.strengths.get("turnover_reversal", 0.0)
        if strength == 0.0 or b < 80:
            return np.zeros(k)
        cond = turnover_reversal_condition(ell, turnover, a, b)
        vol = ell[b - 60 : b].std(axis=0, ddof=1)
        return np.where(cond, strength * vol / np.sqrt(n_next), 0.0)

    def sector_drift(self, mf: dict, ind: np.ndarray, sw_close: np.ndarray):
        """Drift of the 新半军 sector returns for ``flow_leads_returns`` (module doc), or None when absent."""
        strength = self.strengths.get("flow_leads_returns", 0.0)
        if strength == 0.0:
            return None
        from engine.data.synthetic.funds import SECTORS
        from engine.data.synthetic.industries import CODES

        net = mf["elg_buy"] + mf["lg_buy"] - mf["elg_sell"] - mf["lg_sell"]
        parents = [list(CODES).index(p) for _, p, _ in SECTORS]
        return flow_leads_returns_drift(strength, net, ind, parents, sw_close)


def turnover_reversal_condition(ell: np.ndarray, turnover: np.ndarray, a: int, b: int) -> np.ndarray:
    """Bool (K,): 60-day downtrend at day b-1 and month a..b-1 turnover slope among the top half (see module doc)."""
    down = ell[b - 60 : b].sum(axis=0) < 0.0
    csum = np.vstack([np.zeros((1, turnover.shape[1])), np.cumsum(turnover[:b], axis=0)])
    days = np.arange(a, b)
    lo = np.maximum(days - 250, 0)
    base = (csum[days] - csum[lo]) / (days - lo)[:, None]
    if (days - lo).min() < 20:
        return np.zeros(turnover.shape[1], dtype=bool)
    y = turnover[a:b] / base
    d = np.arange(1, b - a + 1, dtype=float)
    dc = d - d.mean()
    slope = (dc[:, None] * (y - y.mean(axis=0))).sum(axis=0) / (dc * dc).sum()
    n_top = int(math.ceil(len(slope) / 2))
    top = np.zeros(len(slope), dtype=bool)
    top[np.argsort(-slope, kind="stable")[:n_top]] = True
    return down & top


def flow_leads_returns_drift(strength: float, net_flow: np.ndarray, ind: np.ndarray, parents, sw_close: np.ndarray,
                             window: int = 20, vol_window: int = 60) -> np.ndarray:
    """(T-1, K) drift of the sectors' simple returns (row i = day i+1) for ``flow_leads_returns`` (module doc).

    ``net_flow`` (T, N) net main-force flow per stock, ``ind`` (T, N) industry index per stock (-1 unlisted),
    ``parents`` the industry index of each sector, ``sw_close`` (T, 31) industry closes."""
    T = net_flow.shape[0]
    nf = np.nan_to_num(net_flow)
    out = np.zeros((T - 1, len(parents)))
    lr = np.diff(np.log(sw_close), axis=0)
    for j, k in enumerate(parents):
        f = np.where(ind == k, nf, 0.0).sum(axis=1)
        c = np.r_[0.0, np.cumsum(f)]
        s = np.full(T, np.nan)
        s[window - 1:] = c[window:] - c[:-window]
        vol = np.full(T, np.nan)
        for t in range(vol_window, T):
            vol[t] = lr[t - vol_window : t, k].std(ddof=1)
        d = strength * vol * np.sign(s)
        out[:, j] = np.nan_to_num(d[:-1])
    return out
