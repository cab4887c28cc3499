"""``python -m engine.signals X --asof D`` for every shipped strategy at three or four dates, one before the data's
last stock listing (a stock listed after D did not exist at D's close: the as-of cut drops it instead of keeping an
all-empty column that the panel check rejects). Synthetic strategies run on the small market (same code path)."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from engine.data.panel import Dataset, Panel
from engine.data.truncate import listed_codes, truncate

ROOT = Path(__file__).resolve().parents[1]
STRATEGIES = sorted(p.name for p in (ROOT / "strategies").glob("*.yaml"))


@pytest.fixture(scope="module")
def last_listing() -> pd.Timestamp:
    from engine.data.synthetic import load_synthetic

    close = load_synthetic(seed=42, size="small").panel("stocks")["close"]
    first = close.apply(lambda s: s.first_valid_index())
    return first.max()


def _dates(name: str, last_listing: pd.Timestamp, cal: pd.DatetimeIndex) -> list[str]:
    """An early date (about a year in), one before the last stock listing, 2023-11-30 and the last day: those
    inside the data's calendar ``cal``."""
    if "weights_file" in name:                          # the weight path covers 2023-11-06..2023-12-01
        return ["2023-11-10", "2023-11-30", "2023-12-29"]
    before = last_listing - pd.Timedelta(days=10)
    picks = [cal[min(250, len(cal) - 1)], before, pd.Timestamp("2023-11-30"), cal[-1]]
    return sorted({f"{d:%Y-%m-%d}" for d in picks if cal[0] < d <= cal[-1]})


def test_there_are_stocks_listing_late(last_listing):
    assert last_listing > pd.Timestamp("2023-12-31")     # so the first date of _dates cuts before a listing


@pytest.mark.parametrize("name", STRATEGIES)
def test_asof_every_strategy(name, last_listing, capsys, tmp_path):
    from engine.signals.__main__ import main

    from engine.config import load_config
    from engine.data.sources import load_dataset
    from engine.pipeline import config_dir
    from engine.signals import REGISTRY

    text = (ROOT / "strategies" / name).read_text(encoding="utf-8")
    extra = ["--set", "data.size=small"] if "source: synthetic" in text else []
    cfg = load_config(ROOT / "strategies" / name, extra[1:])
    ds = load_dataset(cfg.data, config_dir(cfg))
    cal = ds.panel(REGISTRY[cfg.signal.name].universe_for(cfg.signal.params)).dates
    dates = _dates(name, last_listing, cal)
    assert len(dates) >= 3
    for d in dates:
        rc = main([str(ROOT / "strategies" / name), "--asof", d, "--csv", str(tmp_path / d), *extra])
        out, err = capsys.readouterr()
        assert rc == 0, f"{name} --asof {d}: {err}"
        assert "Traceback" not in err
        asof = pd.Timestamp(d)
        head = out.splitlines()[0]
        shown = pd.Timestamp(head.rsplit(" ", 1)[-1])
        assert shown <= asof and (asof - shown).days < 7, head     # the last trading day on or before --asof
        assert list((tmp_path / d).glob("*.csv")), "no table written"


def test_truncate_drops_codes_without_data_up_to_the_cut():
    dates = pd.bdate_range("2024-01-01", periods=6)
    close = pd.DataFrame({"A": [1.0, 1.1, 1.2, 1.3, 1.4, 1.5], "B": [np.nan] * 3 + [2.0, 2.1, 2.2]}, index=dates)
    amount = close * 100
    ds = Dataset(panels={"index": Panel("index", {"close": close[["A"]]}),
                         "stocks": Panel("stocks", {"close": close, "amount": amount})})
    cut = truncate(ds, dates[2])
    st = cut.panel("stocks")
    assert list(st.codes) == ["A"] and list(st["amount"].columns) == ["A"]
    assert st["amount"].index[-1] == dates[2]
    assert list(listed_codes(ds.panel("stocks"), dates[3])) == ["A", "B"]
    later = truncate(ds, dates[4]).panel("stocks")
    assert list(later["amount"].columns) == ["A", "B"] and later["amount"]["B"].notna().sum() == 2
