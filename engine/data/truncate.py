"""Cut a Dataset at a date: what was knowable at the close of ``asof``."""
from __future__ import annotations

import pandas as pd

from engine.data.panel import Dataset, Panel
from engine.errors import DataError


def truncate(ds: Dataset, asof) -> Dataset:
    t = pd.Timestamp(asof)
    panels = {n: Panel(p.name, {f: df.loc[:t] for f, df in p.fields.items()}, p.source) for n, p in ds.panels.items()}
    if panels and all(len(p.dates) == 0 for p in panels.values()):
        raise DataError(f"--asof {t:%Y-%m-%d} is before the first date of the data")
    series = {n: s.loc[:t] for n, s in ds.series.items()}
    return Dataset(panels=panels, series=series, tables=dict(ds.tables), meta=dict(ds.meta), source=ds.source)
