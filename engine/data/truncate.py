"""Cut a Dataset at a date: what was knowable at the close of ``asof``."""
from __future__ import annotations

import pandas as pd

from engine.data.panel import Dataset, LazyFields, LazyPanels, Panel
from engine.errors import DataError


def truncate(ds: Dataset, asof) -> Dataset:
    t = pd.Timestamp(asof)

    def cut(p: Panel) -> Panel:
        loaders = {f: (lambda f=f: p.fields[f].loc[:t]) for f in p.fields}
        return Panel(p.name, LazyFields(loaders, where=f"{p.source}: panel '{p.name}'"), p.source)

    # keep lazily stored panels lazy: cut each one when (and if) the signal reads it
    panels = LazyPanels({n: (lambda n=n: cut(ds.panels[n])) for n in ds.panels.keys()})
    if "index" in panels and len(panels["index"].dates) == 0:
        raise DataError(f"--asof {t:%Y-%m-%d} is before the first date of the data")
    series = {n: s.loc[:t] for n, s in ds.series.items()}
    return Dataset(panels=panels, series=series, tables=dict(ds.tables), meta=dict(ds.meta), source=ds.source)
