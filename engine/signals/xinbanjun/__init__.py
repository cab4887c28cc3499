"""新半军 fund-flow and valuation timing (seed report 004).

- :mod:`engine.signals.xinbanjun.signal`: the signal (``SPEC``), its rule and tradable choice;
- :mod:`engine.signals.xinbanjun.indicators`: the indicators (main-force flow, issuance percentile, ETF inflow,
  constrained rolling regressions, PE percentile);
- :mod:`engine.signals.xinbanjun.report`: as-of tables and charts;
- :mod:`engine.signals.xinbanjun.reproduce`: report 004's checkable numbers for ``python -m engine.reproduce 004``.
"""
