"""Cut a Dataset at a date: what was knowable at the close of ``asof``.

Every panel, series and dated table keeps only rows up to ``asof``. A code with no data at all up to ``asof`` (a
stock that lists later, or one whose history starts after the cut) did not exist yet for an investor at that
close, so it is dropped from its panel rather than kept as an all-empty column (which panel validation rightly
rejects). Which codes had data is decided on one reference field per panel (``close`` when present, else the
first price-like field), so the lazily stored panels stay lazy: a field is read and cut only when a signal reads it.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from engine.data.panel import FLAG_FIELDS, Dataset, LazyFields, LazyPanels, Panel
from engine.errors import DataError


def _reference_field(p: Panel) -> str:
    names = list(p.fields.keys())
    for f in ("close", *names):
        if f in names and f not in FLAG_FIELDS:
            return f
    return names[0]


def listed_codes(p: Panel, t: pd.Timestamp) -> pd.Index:
    """Codes of panel ``p`` with at least one value in its reference field on or before ``t``."""
    ref = p.fields[_reference_field(p)].loc[:t]
    if not len(ref):
        return ref.columns
    vals = ref.to_numpy(dtype=float, na_value=np.nan)
    return ref.columns[~np.isnan(vals).all(axis=0)]


def truncate(ds: Dataset, asof) -> Dataset:
    t = pd.Timestamp(asof)

    def cut(p: Panel) -> Panel:
        keep: dict = {}

        def codes() -> pd.Index:
            if "codes" not in keep:
                keep["codes"] = listed_codes(p, t)
            return keep["codes"]

        loaders = {f: (lambda f=f: p.fields[f].loc[:t, codes()]) for f in p.fields}
        return Panel(p.name, LazyFields(loaders, where=f"{p.source}: panel '{p.name}' cut at --asof {t:%Y-%m-%d}"),
                     p.source)

    # keep lazily stored panels lazy: cut each one when (and if) the signal reads it
    panels = LazyPanels({n: (lambda n=n: cut(ds.panels[n])) for n in ds.panels.keys()})
    if "index" in panels and len(panels["index"].dates) == 0:
        raise DataError(f"--asof {t:%Y-%m-%d} is before the first date of the data")
    series = {n: s.loc[:t] for n, s in ds.series.items()}
    meta = {**ds.meta, "asof": f"{t:%Y-%m-%d}"}     # signals reading files of their own (weights_file) cut them too
    return Dataset(panels=panels, series=series, tables=dict(ds.tables), meta=meta, source=ds.source)
