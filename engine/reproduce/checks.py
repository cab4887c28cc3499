"""The record of one checkable published number (methodology §6), shared by every report's reproduction.

Each seed report has one function ``checks(config_path: str | None = None) -> list[Check]`` that loads the data it
needs (its shipped YAML(s) by default, or the given config) and returns one :class:`Check` per published number.
``python -m engine.reproduce REPORT`` prints them and writes them as Markdown.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Union

INPUT_KINDS = ("real", "proxy", "synthetic", "missing")


@dataclass(frozen=True)
class Check:
    report: str                              # seed report: "002", "004", "000"
    id: str                                  # methodology §6 id: "C1".."C10", "X1", "Z1"
    item: str                                # what the number is, e.g. "CSI 300 annual return 2022-01-01..2023-11-30"
    published: Union[float, str]            # as printed (fractions for percentages: 0.1169 = 11.69%)
    ours: Union[float, str, None]            # None when the inputs are missing
    unit: str = ""                           # "%" (values are fractions), "x", "rank", "" ...
    convention: str = ""                     # how ours was computed (annualisation, window, lag, ...)
    inputs: str = "synthetic"                # one of INPUT_KINDS
    dataset: str = ""                        # the dataset that would supply missing/proxy inputs
    fetch: str = ""                          # the command that fetches it, once it exists
    note: str = ""

    def __post_init__(self):
        if self.inputs not in INPUT_KINDS:
            raise ValueError(f"Check.inputs must be one of {INPUT_KINDS}, got {self.inputs!r}")

    @property
    def diff(self) -> Optional[float]:
        """ours - published when both are numbers, else None."""
        if isinstance(self.ours, (int, float)) and isinstance(self.published, (int, float)):
            return float(self.ours) - float(self.published)
        return None
