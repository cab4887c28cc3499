"""Shared, cached synthetic datasets for the tests/test_synthetic_*.py files (no tests here).

Every dataset is generated once per test session at the 'small' size (~1-2 s each). Tests must not mutate them.
"""
from __future__ import annotations

import functools

from engine.data.synthetic import generate

STRENGTH = 0.3


@functools.lru_cache(maxsize=None)
def small(seed: int = 42, strength: float = 0.0):
    """The small synthetic market (120 stocks, 60 sub-industries, 2010-01-04..2025-12-31)."""
    return generate(seed, size="small", effects={"turnover_reversal": strength} if strength else None)
