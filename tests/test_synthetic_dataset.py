"""The synthetic dataset as a dataset: layout, validation, determinism, IO round trip, one code path for
synthetic and real data, the CLI and the cache."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from engine.data.io import read_dataset, write_dataset
from engine.data.synthetic import generate, load_synthetic
from engine.data.synthetic.build import cut_window
from engine.errors import ConfigError
from tests.test_synthetic_support import small

ROOT = Path(__file__).resolve().parents[1]

# names exactly as in docs/data.md
PANELS = {
    "index": {"open", "high", "low", "close", "volume"},
    "sw_l1": {"open", "high", "low", "close", "volume", "amount", "turnover", "float_mcap"},
    "stocks": {"open", "high", "low", "close", "volume", "amount", "turnover", "float_shares", "suspended", "limit_up",
               "limit_down", "elg_buy", "elg_sell", "lg_buy", "lg_sell", "margin_balance", "margin_buy", "margin_repay"},
    "citic_l3": {"close"},
    "sectors": {"close", "pe_ttm"},
    "sector_etfs": {"shares", "nav"},
}
SERIES = {
    "flows": {"elg_buy", "elg_sell", "lg_buy", "lg_sell", "amount"},
    "futures_if": {"close", "expiry"},
    "options_50etf": {"put_amount", "call_amount"},
    "margin": {"margin_balance", "margin_buy", "margin_repay", "short_balance", "short_sell"},
    "northbound": {"turnover", "net_buy"},
    "market": {"amount", "float_mcap"},
    "fund_issuance": {"count"},
    "index_enhanced": {"csi500_excess", "csi1000_excess"},
    "futures_ic": {f"{p}_{m}" for p in ("close", "oi", "expiry") for m in ("m0", "m1", "q0", "q1")},
    "futures_im": {f"{p}_{m}" for p in ("close", "oi", "expiry") for m in ("m0", "m1", "q0", "q1")},
}
TABLES = {
    "sw_l1_info": {"code", "name"},
    "stocks_info": {"code", "name", "board", "list_date", "delist_date"},
    "membership": {"code", "industry", "start", "end"},
    "citic_l3_info": {"code", "name", "start", "end"},
    "sector_etfs_info": {"code", "sector"},
}
SW_L1_2021 = {
    "801010.SI": "农林牧渔", "801030.SI": "基础化工", "801040.SI": "钢铁", "801050.SI": "有色金属", "801080.SI": "电子",
    "801110.SI": "家用电器", "801120.SI": "食品饮料", "801130.SI": "纺织服饰", "801140.SI": "轻工制造",
    "801150.SI": "医药生物", "801160.SI": "公用事业", "801170.SI": "交通运输", "801180.SI": "房地产",
    "801200.SI": "商贸零售", "801210.SI": "社会服务", "801230.SI": "综合", "801710.SI": "建筑材料",
    "801720.SI": "建筑装饰", "801730.SI": "电力设备", "801740.SI": "国防军工", "801750.SI": "计算机", "801760.SI": "传媒",
    "801770.SI": "通信", "801780.SI": "银行", "801790.SI": "非银金融", "801880.SI": "汽车", "801890.SI": "机械设备",
    "801950.SI": "煤炭", "801960.SI": "石油石化", "801970.SI": "环保", "801980.SI": "美容护理",
}


def _files(root: Path) -> dict:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_layout_names_and_meta():
    ds = small()
    for name, fields in PANELS.items():
        assert fields <= set(ds.panel(name).fields), name
    for name, cols in SERIES.items():
        assert cols == set(ds.get_series(name).columns), name
    for name, cols in TABLES.items():
        assert cols <= set(ds.table(name).columns), name
    assert ds.synthetic and ds.meta["synthetic"] is True
    assert "SYNTHETIC" in ds.meta["description"]
    gen = ds.meta["generator"]
    assert (gen["seed"], gen["size"], gen["n_stocks"], gen["effects"]) == (42, "small", 120, {})
    assert dict(zip(ds.table("sw_l1_info").code, ds.table("sw_l1_info").name)) == SW_L1_2021
    assert list(ds.panel("sw_l1").codes) == sorted(SW_L1_2021)
    assert len(ds.panel("stocks").codes) == 120 and len(ds.panel("citic_l3").codes) == 60


def test_calendar_is_the_real_csi300_and_index_is_copied():
    from engine.data.embedded import load_csi300

    ds = small()
    real = load_csi300().loc["2010-01-04":"2025-12-31"]
    idx = ds.panel("index")
    for name in ("sw_l1", "stocks", "citic_l3", "sectors", "sector_etfs"):
        assert ds.panel(name).dates.equals(real.index), name
    for f in ("open", "high", "low", "close", "volume"):
        np.testing.assert_array_equal(idx[f]["000300.SH"].to_numpy(), real[f].to_numpy())
    assert ds.meta["real"] == {"index": {"000300.SH": ["open", "high", "low", "close", "volume"]}}


def test_validator_passes():
    small().validate()
    for name, s in small().series.items():
        assert s.index.is_monotonic_increasing and s.index.is_unique, name


@pytest.fixture(scope="module")
def written(tmp_path_factory):
    """small() written once to parquet (shared by the determinism and round-trip tests)."""
    return write_dataset(small(42), tmp_path_factory.mktemp("syn") / "a")


def test_same_seed_byte_identical_files_other_seed_differs(tmp_path, written):
    a = written
    b = write_dataset(generate(42, size="small"), tmp_path / "b")   # a fresh run, not the cached object
    fa, fb = _files(a), _files(b)
    assert fa.keys() == fb.keys() and len(fa) > 40
    assert all(fa[k] == fb[k] for k in fa), [k for k in fa if fa[k] != fb[k]]
    c = write_dataset(cut_window(small(7), pd.Timestamp("2024-01-02"), pd.Timestamp("2024-12-31")), tmp_path / "c")
    d = write_dataset(cut_window(small(42), pd.Timestamp("2024-01-02"), pd.Timestamp("2024-12-31")), tmp_path / "d")
    fc, fd = _files(c), _files(d)
    differ = [k for k in fc if k in fd and fc[k] != fd[k]]
    assert "panels/stocks/close.parquet" in differ and "panels/sw_l1/close.parquet" in differ
    assert "panels/index/open.parquet" in differ  # synthetic broad indices differ; the CSI 300 column does not
    csi = [small(s).panel("index")["close"]["000300.SH"] for s in (7, 42)]
    np.testing.assert_array_equal(csi[0], csi[1])


def test_read_dataset_round_trip_equals_generated(written):
    ds = small()
    back = read_dataset(written)
    assert back.meta == json.loads(json.dumps(ds.meta))
    for name, p in ds.panels.items():
        for f, df in p.fields.items():
            pd.testing.assert_frame_equal(back.panel(name)[f], df)
    for name, s in ds.series.items():
        pd.testing.assert_frame_equal(back.get_series(name), s)
    for name, t in ds.tables.items():
        pd.testing.assert_frame_equal(back.table(name), t)


def _hand_made_real_dataset(root: Path) -> None:
    """A tiny dataset in the real-data layout, written by hand as CSV (with a BOM, as Excel writes)."""
    (root / "panels" / "sw_l1").mkdir(parents=True)
    (root / "panels" / "stocks").mkdir(parents=True)
    (root / "series").mkdir()
    (root / "tables").mkdir()
    days = "2024-01-02,2024-01-03,2024-01-04".split(",")
    w = lambda path, *lines: path.write_text("\n".join(lines) + "\n", encoding="utf-8-sig")  # noqa: E731
    (root / "dataset.json").write_text(json.dumps({"name": "mine", "synthetic": False, "description": "hand-made"}))
    w(root / "panels/sw_l1/close.csv", "date,801780.SI,801750.SI", *(f"{d},{1000 + i},{2000 - i}" for i, d in enumerate(days)))
    w(root / "panels/sw_l1/turnover.csv", "date,801780.SI,801750.SI", *(f"{d},0.3,{2.5 + i}" for i, d in enumerate(days)))
    w(root / "panels/stocks/close.csv", "date,600000.SH,300001.SZ", "2024-01-02,10.00,20.00", "2024-01-03,11.00,",
      "2024-01-04,12.10,24.00")
    w(root / "panels/stocks/suspended.csv", "date,600000.SH,300001.SZ", "2024-01-02,False,False",
      "2024-01-03,False,True", "2024-01-04,False,")
    w(root / "series/flows.csv", "date,elg_buy,elg_sell,lg_buy,lg_sell,amount", *(f"{d},1e9,1.1e9,2e9,1.9e9,1e10" for d in days))
    w(root / "tables/membership.csv", "code,industry,start,end", "600000.SH,801780.SI,1999-11-10,",
      "300001.SZ,801750.SI,2009-10-30,")


def _consumer(ds) -> dict:
    """One downstream computation, written once for both data kinds (what a signal does)."""
    fl = ds.get_series("flows")
    mbr = (fl["elg_buy"] + fl["lg_buy"]) / fl["amount"]
    to = ds.panel("sw_l1")["turnover"]
    mem = ds.table("membership")
    return {"mbr": mbr, "turnover_mean": to.mean(), "members": set(mem["code"]),
            "suspended_dtype": ds.panel("stocks")["suspended"].dtypes.unique().tolist()}


def test_real_layout_and_synthetic_go_through_the_same_code_path(tmp_path):
    _hand_made_real_dataset(tmp_path / "real")
    real = read_dataset(tmp_path / "real").validate()
    mem = cut_window(small(), pd.Timestamp("2025-11-03"), pd.Timestamp("2025-12-31"))
    syn_dir = write_dataset(mem, tmp_path / "syn", fmt="csv")
    syn = read_dataset(syn_dir).validate()
    assert not real.synthetic and syn.synthetic
    for ds in (real, syn):
        out = _consumer(ds)
        assert out["suspended_dtype"] == [np.dtype(bool)]
        assert ds.panel("sw_l1")["close"].index.dtype == ds.panel("stocks")["close"].index.dtype
        assert all(ds.panel("sw_l1")["close"].dtypes == np.float64)
    np.testing.assert_allclose(_consumer(real)["mbr"].to_numpy(), 0.3)
    assert real.panel("stocks")["suspended"].loc["2024-01-04", "300001.SZ"] == False  # noqa: E712  empty -> False
    # the CSV copy of the synthetic data equals the in-memory data (CSV keeps 17 significant digits)
    pd.testing.assert_frame_equal(syn.panel("stocks")["close"], mem.panel("stocks")["close"], check_exact=False,
                                  rtol=1e-15)
    pd.testing.assert_frame_equal(syn.get_series("flows"), mem.get_series("flows"), check_exact=False, rtol=1e-15)


def test_windows_are_views_of_one_world_and_tables_hide_the_future():
    full = small()
    win = generate(42, start="2015-01-05", end="2016-12-30", size="small")
    pd.testing.assert_frame_equal(win.panel("sw_l1")["close"], full.panel("sw_l1")["close"].loc["2015-01-05":"2016-12-30"])
    assert win.meta["generator"]["start"] == "2015-01-05"
    info = win.table("stocks_info")
    assert (info["list_date"] <= pd.Timestamp("2016-12-30")).all()
    assert not (info["delist_date"] > pd.Timestamp("2016-12-30")).any()
    assert not (win.table("membership")["end"] > pd.Timestamp("2016-12-30")).any()
    assert set(info["code"]) == set(win.panel("stocks").codes)


@pytest.mark.parametrize("kwargs, words", [
    ({"size": "smal"}, "did you mean 'small'"),
    ({"seed": -1}, "non-negative integer"),
    ({"start": "2005-01-04"}, "choose start/end inside"),
    ({"start": "2020-01-01", "end": "2019-01-01"}, "after end"),
    ({"effects": {"turnover_reversl": 1}}, "did you mean 'turnover_reversal'"),
    ({"effects": {"turnover_reversal": "big"}}, "must be a number"),
])
def test_bad_parameters_raise_one_line_config_errors(kwargs, words):
    with pytest.raises(ConfigError, match=words) as exc:
        generate(**kwargs)
    assert "\n" not in str(exc.value)


def test_cli_writes_and_refuses_to_overwrite(tmp_path, capsys):
    from engine.data.__main__ import main

    out = tmp_path / "ds"
    assert main(["synth", "--out", str(out), "--size", "small", "--start", "2025-12-01", "--seed", "42"]) == 0
    text = capsys.readouterr().out
    assert "SYNTHETIC" in text and "time:" in text
    back = read_dataset(out)
    assert back.synthetic and back.panel("stocks").dates[0] == pd.Timestamp("2025-12-01")
    want = small().panel("stocks")["close"].loc["2025-12-01":].dropna(axis=1, how="all")
    pd.testing.assert_frame_equal(back.panel("stocks")["close"], want)
    proc = subprocess.run([sys.executable, "-m", "engine.data", "synth", "--out", str(out)], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    assert proc.stderr.strip().count("\n") == 0 and "not empty" in proc.stderr


def test_cache_miss_then_hit_equals_generate(tmp_path, monkeypatch):
    import engine.data.synthetic as syn

    monkeypatch.setenv("JINGONG_CACHE_DIR", str(tmp_path))
    a = load_synthetic(seed=42, size="small", start="2025-06-02", end="2025-12-31")
    entries = [p for p in (tmp_path / "synthetic").iterdir()]
    assert len(entries) == 1 and (entries[0] / "dataset.json").exists()     # no temp dir left behind
    monkeypatch.setattr(syn, "generate", lambda *a, **k: pytest.fail("cache hit must not regenerate"))
    b = load_synthetic(seed=42, size="small", start="2025-01-02", end="2025-12-31")
    want = cut_window(small(), pd.Timestamp("2025-01-02"), pd.Timestamp("2025-12-31"))
    for name, p in want.panels.items():
        for f, df in p.fields.items():
            pd.testing.assert_frame_equal(b.panel(name)[f], df)
    pd.testing.assert_frame_equal(a.get_series("flows"), want.get_series("flows").loc["2025-06-02":])
    assert b.meta["generator"]["start"] == "2025-01-02" and b.synthetic


def test_cache_prunes_least_recently_used_entries(tmp_path, monkeypatch):
    """Only our own entries beyond JINGONG_CACHE_KEEP are removed, oldest first; anything else is left alone."""
    import os
    import time

    from engine.data.synthetic.cache import _prune

    root = tmp_path / "synthetic"
    root.mkdir()
    names = [f"{i:024x}" for i in range(5)]
    for i, n in enumerate(names):
        (root / n).mkdir()
        (root / n / "dataset.json").write_text("{}")
        os.utime(root / n / "dataset.json", (time.time() - 100 + i, time.time() - 100 + i))
    (root / "my_notes").mkdir()                      # not an entry: never touched
    (root / ("f" * 24)).mkdir()                       # no dataset.json: never touched
    monkeypatch.setenv("JINGONG_CACHE_KEEP", "2")
    _prune(root, keep_also=root / names[0])
    left = sorted(p.name for p in root.iterdir())
    assert left == sorted([names[0], names[3], names[4], "my_notes", "f" * 24])
