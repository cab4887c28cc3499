"""``--tearsheet quantstats``: a quantstats HTML tearsheet of the strategy's daily returns against the benchmark,
for users who know quantstats. Our returns (net of costs, base day excluded) and our ``periods_per_year`` are
passed; quantstats computes its own statistics with its own conventions (its numbers are not ours).

quantstats is optional (``pip install quantstats``); without it, or when the installed version fails on this
pandas, the run stops before any work with one line naming the problem."""
from __future__ import annotations

from pathlib import Path

from engine.errors import ConfigError


def require_quantstats():
    try:
        import quantstats
    except Exception as exc:   # noqa: BLE001 - ImportError, or its own import failing on this pandas/numpy
        raise ConfigError(f"--tearsheet quantstats: quantstats cannot be imported here ({type(exc).__name__}: "
                          f"{str(exc).splitlines()[0] if str(exc) else ''}); pip install quantstats, or drop "
                          "--tearsheet") from None
    return quantstats


def write_quantstats(run, path: Path) -> Path:
    qs = require_quantstats()
    rs = run.backtest.returns.iloc[1:].rename(run.cfg.name)
    rb = run.benchmark_returns.iloc[1:].rename(run.cfg.benchmark.name)
    ppy = int(run.metrics["conventions"]["periods_per_year"])
    rf = float(run.metrics["conventions"].get("risk_free") or 0.0)
    title = run.cfg.name + ("  [SYNTHETIC signal inputs]" if run.dataset.synthetic else "")
    import logging
    import warnings

    fm_log = logging.getLogger("matplotlib.font_manager")
    level = fm_log.level
    try:
        fm_log.setLevel(logging.ERROR)              # its charts ask for Arial: one warning per text otherwise
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            qs.reports.html(rs, benchmark=rb, rf=rf, periods_per_year=ppy, output=str(path), title=title,
                            download_filename=str(path))
    except Exception as exc:   # noqa: BLE001 - a third-party failure: one line, our files are already written
        raise ConfigError(f"--tearsheet quantstats: quantstats {getattr(qs, '__version__', '?')} failed on these "
                          f"returns ({type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}); the "
                          f"other results are written") from None
    finally:
        fm_log.setLevel(level)
    return path
