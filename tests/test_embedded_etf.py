"""The embedded real ETF panel and strategies that trade the panel they name (issue 10 items 4 and 5)."""
import csv
import json
import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from engine.config import config_from_dict, load_config
from engine.data.embedded import CSI300_CSV, ETF_PARQUET, load_embedded, verify_checksum
from engine.data.sources import load_dataset
from engine.pipeline import config_dir, run_strategy

ROOT = Path(__file__).resolve().parents[1]
SRC = pd.read_parquet(ETF_PARQUET)          # the vendored file as published (long, lots and 千元)


def _src(code: str, col: str) -> pd.Series:
    s = SRC[SRC.symbol == code].set_index("date")[col]
    s.index = pd.DatetimeIndex(s.index)
    return s


def _csi300_close() -> dict:
    with open(CSI300_CSV, newline="") as fh:
        return {r["date"]: float(r["close"]) for r in csv.DictReader(fh)}


def test_checksums_license_and_provenance_are_shipped():
    assert verify_checksum()
    emb = ROOT / "data" / "embedded"
    assert "MIT License" in (emb / "LICENSE-etf-panel.txt").read_text()
    readme = (emb / "README.md").read_text()
    assert "844673a97da3cebbc07148596f4e5bfb204372ed" in readme and "etf_panel_daily.parquet" in readme


def test_etf_panel_units_and_no_turnover():
    p = load_embedded().panel("etf")
    assert len(p.codes) == 30 and "510300.SH" in p.codes
    assert p.dates[0] == pd.Timestamp("2018-01-02") and p.dates[-1] == pd.Timestamp("2026-06-05")
    # source turnover is all zero: dropped, never read as zeros
    assert (SRC["turnover"] == 0).all() and "turnover" not in p
    d = pd.Timestamp("2023-11-30")
    assert p["volume"].at[d, "510300.SH"] == _src("510300.SH", "volume")[d] * 100      # lots -> units
    assert p["amount"].at[d, "510300.SH"] == _src("510300.SH", "amount")[d] * 1000     # 千元 -> yuan
    assert p["close"].at[d, "510300.SH"] == _src("510300.SH", "close")[d]              # raw price, unchanged
    # a fund listed later is empty before its first day, not zero
    first = _src("516160.SH", "close").index[0]
    assert first == pd.Timestamp("2021-02-04") and p["close"]["516160.SH"].loc[:"2021-02-03"].isna().all()
    info = load_embedded().table("etf_info").set_index("code")["name"]
    assert info["510300.SH"] == "CSI300 ETF"


def test_hold_510300_cli_excess_is_raw_ratio_minus_fees(tmp_path):
    """README-style command; the excess, hand-computed: buy floor(cash / (P0 x 1.0002) / 100) lots-of-100 at the
    base close (2018-01-03), pay 2 bp commission (min 5 CNY), hold raw prices to 2025-12-31; the benchmark is the
    CSI 300 price index from its own panel."""
    out = tmp_path / "r"
    r = subprocess.run([sys.executable, "-m", "engine.run", "strategies/hold_510300.yaml", "--out", str(out)],
                       cwd=ROOT, capture_output=True, text=True, timeout=600, env={**os.environ, "MPLBACKEND": "Agg"})
    assert r.returncode == 0, r.stderr
    m = json.loads(next(out.rglob("metrics.json")).read_text())
    etf = _src("510300.SH", "close")
    p0, pt = etf[pd.Timestamp("2018-01-03")], etf[pd.Timestamp("2025-12-31")]
    idx = _csi300_close()
    i0, it = idx["2018-01-03"], idx["2025-12-31"]
    shares = math.floor(1e7 / (p0 * 1.0002) / 100) * 100
    fee = max(5.0, shares * p0 * 0.0002)
    value_t = 1e7 - shares * p0 - fee + shares * pt
    assert m["strategy"]["total_return"] == pytest.approx(value_t / 1e7 - 1, rel=1e-12)
    assert m["benchmark"]["total_return"] == pytest.approx(it / i0 - 1, rel=1e-12)
    assert m["excess"]["total_excess_geometric"] == pytest.approx((value_t / 1e7) / (it / i0) - 1, rel=1e-10)
    # the same number as the ETF's raw return ratio to the index, less what the fees and the odd lot cost
    raw_ratio = (pt / p0) / (it / i0) - 1
    assert m["excess"]["total_excess_geometric"] < raw_ratio
    assert raw_ratio - m["excess"]["total_excess_geometric"] < 3e-4


def _cfg(params, signal="hold", **data):
    raw = {"name": "t", "data": {"source": "embedded", "start": "2019-01-02", "end": "2019-12-31", **data},
           "signal": {"name": signal, "params": params},
           "costs": {"commission": 0.0, "min_commission": 0.0, "stamp_duty": "none", "transfer_fee": 0.0},
           "market_rules": {"limits": "off"}}
    return config_from_dict(raw, source=str(ROOT / "strategies" / "x.yaml"))


def test_ma_timing_trades_the_panel_it_names():
    """ma_timing on the ETF: zero-cost daily returns are the ETF's own close-to-close returns while held."""
    cfg = _cfg({"panel": "etf", "code": "510500.SH", "short": 5, "long": 20}, signal="ma_timing")
    out = run_strategy(cfg, load_dataset(cfg.data, None))
    assert list(out.backtest.positions.columns) == ["510500.SH"]
    px = _src("510500.SH", "close").loc[out.backtest.returns.index]
    held = out.backtest.weights_held["510500.SH"].shift(1).fillna(0) > 0
    exp = (px / px.shift(1) - 1)[held]
    np.testing.assert_allclose(out.backtest.returns[held].to_numpy(), exp.to_numpy(), rtol=0, atol=1e-13)
    assert held.sum() > 50


def test_weights_file_on_etf_panel_and_path_beside_the_yaml(tmp_path, monkeypatch):
    folder = tmp_path / "mystrat"
    folder.mkdir()
    (folder / "w.csv").write_text("date,510300.SH,518880.SH\n2019-03-01,50%,50%\n2019-09-02,0,1\n")
    (folder / "s.yaml").write_text(
        "name: w\ndata: {source: embedded, start: 2019-01-02, end: 2019-12-31}\n"
        "signal: {name: weights_file, params: {panel: etf, path: w.csv}}\n")
    monkeypatch.chdir(tmp_path)                     # not the YAML's folder
    cfg = load_config(folder / "s.yaml")
    assert Path(cfg.signal.params["path"]) == folder / "w.csv"
    out = run_strategy(cfg, load_dataset(cfg.data, config_dir(cfg)))
    last = out.backtest.weights_held.iloc[-1]
    assert last["518880.SH"] > 0.99 and last.get("510300.SH", 0.0) == 0.0


def test_hold_unknown_code_in_named_panel_is_one_line():
    cfg = _cfg({"panel": "etf", "code": "000300.SH"})
    from engine.errors import ConfigError

    with pytest.raises(ConfigError, match=r"key 'signal.params.code': '000300.SH' is not in panel 'etf' .*"
                                          r"did you mean '510300.SH'"):
        run_strategy(cfg, load_dataset(cfg.data, None))


def test_index_membership_point_in_time_counts():
    """Exactly 300 / 500 members with the rule start <= d < removed (checked on three dates), and codes in the
    project's form. The CSI 500 history is known to be wrong before 2024 (see data/embedded/README.md): stocks
    also in the CSI 300 (the two are disjoint by rule), all 500 first rows dated 2007-01-15."""
    from engine.data.embedded import index_membership, members_on

    for d in ("2015-06-30", "2020-06-30", "2025-06-30"):
        assert len(members_on(d, "000300.SH")) == 300 and len(members_on(d, "000905.SH")) == 500
    assert not set(members_on("2024-06-28", "000300.SH")) & set(members_on("2024-06-28", "000905.SH"))
    assert len(set(members_on("2015-06-30", "000300.SH")) & set(members_on("2015-06-30", "000905.SH"))) > 0  # the defect
    t = index_membership()
    assert t["code"].str.fullmatch(r"\d{6}\.(SH|SZ)").all()
    assert "index_membership" in load_embedded().tables and "600519.SH" in members_on("2024-01-02")
