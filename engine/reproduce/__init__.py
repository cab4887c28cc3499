"""``python -m engine.reproduce REPORT``: each seed report's checkable numbers beside ours.

- :mod:`engine.reproduce.cli`: the command (table, Markdown output, :data:`~engine.reproduce.cli.REPORTS`);
- :mod:`engine.reproduce.checks`: the :class:`~engine.reproduce.checks.Check` row every report's checks return;
- :mod:`engine.reproduce.seed002`: report 002's rows (三维情绪, rotation, crowding). Reports 004 and 000 keep theirs
  beside their signals (:mod:`engine.signals.xinbanjun.reproduce`, :mod:`engine.dashboard.reproduce`).
"""
from __future__ import annotations

import importlib

_WHERE = {"REPORTS": "cli", "main": "cli", "Check": "checks"}

__all__ = sorted(_WHERE)


def __getattr__(name: str):
    if name in _WHERE:
        return getattr(importlib.import_module(f"engine.reproduce.{_WHERE[name]}"), name)
    raise AttributeError(f"module 'engine.reproduce' has no attribute {name!r}")
