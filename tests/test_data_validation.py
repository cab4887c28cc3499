"""Suspicious or broken data (issue 13, data cases): exit 2 with one line, or a named visible warning; and the
adj_factor / dividend / total-return benchmark data contract (issue 10 item 3, data side)."""
import warnings

import numpy as np
import pandas as pd
import pytest

from engine.data.adjust import adjusted_close, dividends_to_factor
from engine.data.embedded import load_csi300
from engine.data.panel import DataWarning
from engine.run import main as run_main

CAL = load_csi300().index            # real SSE trading days


def _yaml(tmp_path, data: str, signal: str = "{name: hold, params: {panel: index, code: 000300.SH}}", extra: str = ""):
    y = tmp_path / "s.yaml"
    y.write_text(f"name: t\ndata: {data}\nsignal: {signal}\n"
                 "costs: {commission: 0.0, min_commission: 0.0, stamp_duty: none, transfer_fee: 0.0}\n"
                 "market_rules: {limits: off}\n" + extra)
    return y


def _run(tmp_path, y, capsys):
    code = run_main([str(y), "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err
    return code, err


def _index_csv(path, n=120, start="2023-01-03", close=None, **cols):
    d = CAL[CAL >= pd.Timestamp(start)][:n]
    c = close if close is not None else 3500 * np.cumprod(1 + np.random.default_rng(0).normal(0, 0.01, n))
    df = pd.DataFrame({"code": "000300.SH", "date": d.strftime("%Y-%m-%d"), "open": c, "high": c * 1.01,
                       "low": c * 0.99, "close": c, "volume": 1e9})
    for k, v in cols.items():
        df[k] = v
    df.to_csv(path, index=False)
    return df


def _one_error_line(code, err, *needles):
    assert code == 2, err
    lines = [ln for ln in err.splitlines() if ln.strip() and "Warning" not in ln and not ln.startswith("  ")]
    assert len(lines) == 1 and "Traceback" not in err, err
    for n in needles:
        assert n in lines[0], lines[0]


def test_empty_dataset_folder_is_an_error_not_the_embedded_csi300(tmp_path, capsys):
    (tmp_path / "ds").mkdir()
    code, err = _run(tmp_path, _yaml(tmp_path, "{source: dataset, path: ds}"), capsys)
    _one_error_line(code, err, "ds: the dataset folder has no panels/", "nothing is read from the embedded data")


def test_header_only_csv(tmp_path, capsys):
    (tmp_path / "d.csv").write_text("code,date,close\n")
    code, err = _run(tmp_path, _yaml(tmp_path, "{source: csv, path: d.csv}"), capsys)
    _one_error_line(code, err, "d.csv: has a header (code, date, close) but no data rows")


def test_high_below_low(tmp_path, capsys):
    df = _index_csv(tmp_path / "d.csv")
    df.loc[5, ["high", "low"]] = [df.loc[5, "close"] * 0.99, df.loc[5, "close"] * 1.01]
    df.to_csv(tmp_path / "d.csv", index=False)
    code, err = _run(tmp_path, _yaml(tmp_path, "{source: csv, path: d.csv}"), capsys)
    _one_error_line(code, err, "high < low on 1 rows", f"000300.SH on {df.loc[5, 'date']}", "swapped")


@pytest.mark.parametrize("bad, needle", [("-5", "field 'volume': 1 negative values"),
                                         ("N/A", "field 'volume' has a non-numeric value 'N/A'")])
def test_negative_or_na_volume(tmp_path, capsys, bad, needle):
    df = _index_csv(tmp_path / "d.csv")
    df["volume"] = df["volume"].astype(object)
    df.loc[7, "volume"] = bad
    df.to_csv(tmp_path / "d.csv", index=False)
    code, err = _run(tmp_path, _yaml(tmp_path, "{source: csv, path: d.csv}"), capsys)
    _one_error_line(code, err, needle, f"000300.SH on {df.loc[7, 'date']}")


def test_hundredfold_spike_warns(tmp_path):
    df = _index_csv(tmp_path / "d.csv")
    c = df["close"].to_numpy().copy()
    c[50] *= 100
    df["close"] = c
    df["high"] = c * 1.01
    df.to_csv(tmp_path / "d.csv", index=False)
    from engine.config import load_config
    from engine.data.sources import load_dataset

    cfg = load_config(_yaml(tmp_path, "{source: csv, path: d.csv}"))
    with pytest.warns(DataWarning, match=rf"2 one-day moves beyond x5 .* 000300.SH on {df.loc[50, 'date']} \(\+9\d\d\d%\)"):
        load_dataset(cfg.data, tmp_path).panel("index")["close"]


def test_sixty_missing_trading_days_warn(tmp_path):
    df = _index_csv(tmp_path / "d.csv", n=200)
    df = df.drop(index=range(70, 130))
    df.to_csv(tmp_path / "d.csv", index=False)
    from engine.data.importers import import_long

    with pytest.warns(DataWarning, match=r"60 SSE trading days between .* have no row \(first: " + df.loc[69, "date"][:4]):
        import_long(tmp_path / "d.csv", {}, {}, None, "index")["close"]


@pytest.mark.parametrize("body, needle", [
    ("date,000300.SH\n", "the weights file has a header but no rows"),
    ("date,000300.SH\n2024-03-01,1\n", "no positive weight on or before data.end 2023-12-29 (first weight on 2024-03-01)"),
])
def test_weights_file_without_usable_rows(tmp_path, capsys, body, needle):
    (tmp_path / "w.csv").write_text(body)
    y = _yaml(tmp_path, "{source: embedded, start: 2023-11-01, end: 2023-12-29}",
              "{name: weights_file, params: {path: w.csv}}")
    code, err = _run(tmp_path, y, capsys)
    _one_error_line(code, err, "w.csv", needle)


def test_code_written_xshg_in_signal_benchmark_and_data(tmp_path, capsys):
    y = _yaml(tmp_path, "{source: embedded, start: 2023-01-03, end: 2023-06-30}",
              "{name: hold, params: {code: 000300.XSHG}}", "benchmark: {panel: index, code: sh000300}\n")
    code, err = _run(tmp_path, y, capsys)
    assert code == 0, err


def test_dividend_to_adj_factor_by_hand():
    """Two ex-dates: 0.10 on day 2 (prev close 4.00), 0.05 on day 4 (prev close 4.20)."""
    idx = pd.DatetimeIndex(pd.to_datetime(["2024-01-02", "2024-01-03", "2024-01-04", "2024-01-05", "2024-01-08"]))
    close = pd.DataFrame({"510300.SH": [4.00, 3.95, 4.10, 4.20, 4.18]}, index=idx)
    div = pd.DataFrame({"510300.SH": [np.nan, 0.10, np.nan, np.nan, 0.05]}, index=idx)
    f = dividends_to_factor(close, div)["510300.SH"].to_numpy()
    f1 = 4.00 / 3.90
    f2 = f1 * 4.20 / 4.15
    np.testing.assert_allclose(f, [1, f1, f1, f1, f2], rtol=1e-15)
    # holding through the first ex-date: adjusted return = close / ex-reference price - 1 = 3.95 / 3.90 - 1
    assert (close["510300.SH"] * f).iloc[1] / (close["510300.SH"] * f).iloc[0] - 1 == pytest.approx(3.95 / 3.90 - 1, rel=1e-14)
    assert close["510300.SH"].iloc[1] / close["510300.SH"].iloc[0] - 1 == pytest.approx(-0.0125)   # raw: the drop
    from engine.errors import DataError

    with pytest.raises(DataError, match="dividend 5.0 for 510300.SH on 2024-01-03 is not below the previous close 4.0"):
        dividends_to_factor(close, div.replace(0.10, 5.0))


def test_dividend_column_in_an_import_becomes_adj_factor_and_total_return_benchmark(tmp_path):
    """An index with a dividend column: the panel gains adj_factor, and the benchmark is labelled and computed as
    total return: (close[t] x f[t]) / (close[t-1] x f[t-1]) - 1."""
    from engine.config import load_config
    from engine.data.sources import load_dataset
    from engine.pipeline import benchmark_label, benchmark_returns

    df = _index_csv(tmp_path / "d.csv", n=30)
    div = np.zeros(30)
    div[10] = 35.0                                 # index points, on the ex-date row
    df["dividend"] = div
    df.to_csv(tmp_path / "d.csv", index=False)
    cfg = load_config(_yaml(tmp_path, "{source: csv, path: d.csv}", extra="benchmark: {panel: index, code: 000300.SH, name: X}\n"))
    ds = load_dataset(cfg.data, tmp_path)
    p = ds.panel("index")
    assert "adj_factor" in p
    c = df["close"].to_numpy()
    r = benchmark_returns(ds, cfg, p.dates)
    assert r.iloc[10] == pytest.approx(c[10] / (c[9] - 35.0) - 1, rel=1e-13)
    assert r.iloc[11] == pytest.approx(c[11] / c[10] - 1, rel=1e-13)
    assert "total return (close x adj_factor)" in benchmark_label(ds, cfg)
    np.testing.assert_allclose(adjusted_close(p)["000300.SH"].pct_change().iloc[1:], r.iloc[1:], rtol=1e-13)


def test_price_plus_dividend_yield_benchmark(tmp_path):
    from engine.config import config_from_dict
    from engine.data.embedded import load_embedded
    from engine.pipeline import benchmark_label, benchmark_returns

    ds = load_embedded()
    idx = ds.panel("index").dates[-10:]
    ds.series["valuation"] = pd.DataFrame({"dividend_yield": np.linspace(0.02, 0.03, 10)}, index=idx)
    cfg = config_from_dict({"name": "t", "signal": {"name": "hold"},
                            "benchmark": {"dividend_yield": "valuation.dividend_yield"}})
    r = benchmark_returns(ds, cfg, idx)
    c = ds.panel("index")["close"]["000300.SH"].loc[idx].to_numpy()
    y = np.linspace(0.02, 0.03, 10)
    # metrics.periods_per_year: auto = trading days per complete calendar year of the benchmark's calendar (a
    # year is complete when the data also has the years before and after it): the embedded CSI 300 runs
    # 2006-2025, so the complete years are 2007..2024
    cal = ds.panel("index").dates
    ppy = ((cal.year >= 2007) & (cal.year <= 2024)).sum() / 18
    np.testing.assert_allclose(r.to_numpy()[1:], c[1:] / c[:-1] - 1 + y[:-1] / ppy, rtol=1e-13)
    assert "price + dividend yield of series valuation.dividend_yield" in benchmark_label(ds, cfg)
    cfg2 = config_from_dict({"name": "t", "signal": {"name": "hold"}, "benchmark": {"kind": "total_return", "code": "000300.SH"}})
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert benchmark_label(ds, cfg2).endswith("total-return index as supplied")


def test_header_only_file_in_a_dataset_folder(tmp_path, capsys):
    d = tmp_path / "ds" / "panels" / "index"
    d.mkdir(parents=True)
    (d / "close.csv").write_text("date,000300.SH\n")
    code, err = _run(tmp_path, _yaml(tmp_path, "{source: dataset, path: ds}"), capsys)
    _one_error_line(code, err, "close.csv: has a header (date, 000300.SH) but no data rows")


@pytest.mark.parametrize("with_dividend", [True, False])
def test_hold_through_ex_date_end_to_end(tmp_path, with_dividend):
    """An ETF CSV with a dividend column, held with zero costs: the ex-date return is close / (prev close -
    dividend) - 1 (the ex-reference price rule); the backtester pays close[t] x (f[t]/f[t-1] - 1) per share into
    cash, which stays cash (hold does not rebalance). Without the column: the raw drop."""
    from engine.config import load_config
    from engine.data.sources import load_dataset
    from engine.pipeline import run_strategy

    d = CAL[CAL >= pd.Timestamp("2024-01-02")][:12]
    close = np.array([4.00, 4.02, 4.05, 4.01, 3.93, 3.95, 3.97, 4.00, 4.02, 4.01, 4.03, 4.05])
    df = pd.DataFrame({"code": "510300.SH", "date": d.strftime("%Y-%m-%d"), "close": close})
    if with_dividend:
        df["dividend"] = [np.nan] * 4 + [0.08] + [np.nan] * 7          # ex-date = row 4
    df.to_csv(tmp_path / "etf.csv", index=False)
    y = _yaml(tmp_path, "{source: csv, path: etf.csv, panel: etf, start: %s, end: %s}" % (d[2].date(), d[-1].date()),
              "{name: hold, params: {panel: etf, code: 510300.SH}}")
    cfg = load_config(y)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataWarning)
        out = run_strategy(cfg, load_dataset(cfg.data, tmp_path))
    r = out.backtest.returns
    assert r.index[0] == d[1]                                          # base day: bought at its close
    exp4 = close[4] / (close[3] - 0.08) - 1 if with_dividend else close[4] / close[3] - 1
    assert r.loc[d[4]] == pytest.approx(exp4, rel=1e-12, abs=1e-15)
    ratio = close[3] / (close[3] - 0.08) if with_dividend else 1.0
    cash = close[4] * (ratio - 1)                                      # per share, paid on the ex-date
    assert r.loc[d[5]] == pytest.approx((close[5] + cash) / (close[4] * ratio) - 1, rel=1e-12)
    total = np.prod(1 + r.to_numpy()) - 1
    assert total == pytest.approx((close[-1] + cash) / close[1] - 1, rel=1e-12)
