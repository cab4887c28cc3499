"""Jingong (金工): backtesting for China A-share broker-research strategies."""

__version__ = "0.1.0"
