"""Provider adapters on frames shaped exactly like each library's documented output (column names and units from
the installed akshare 1.19 source and docs; tushare/baostock docs). No network: the packages are replaced by
fakes that return those frames."""
import datetime as dt
import types

import numpy as np
import pandas as pd
import pytest

from engine.data import __main__ as data_main
from engine.data.providers import akshare as AK
from engine.data.providers import baostock as BS
from engine.data.providers import tushare as TS
from engine.data.providers.base import ProviderError, optional_import


def hist_sw(symbol="801010", period="day"):
    """index_hist_sw: 代码, 日期 (datetime.date), 收盘, 开盘, 最高, 最低, 成交量 (亿股), 成交额 (亿元)."""
    d = [dt.date(2024, 1, 2), dt.date(2024, 1, 3), dt.date(2024, 1, 4)]
    base = 3000.0 if symbol == "801010" else 4000.0
    return pd.DataFrame({"代码": symbol, "日期": d, "收盘": [base, base + 10, base + 5], "开盘": [base - 5] * 3,
                         "最高": [base + 20] * 3, "最低": [base - 20] * 3, "成交量": [12.5, 13.0, 11.0],
                         "成交额": [150.2, 160.0, 140.0]})


def analysis_sw(symbol="一级行业", start_date="20240102", end_date="20240104"):
    d = [dt.date(2024, 1, 2), dt.date(2024, 1, 3), dt.date(2024, 1, 4)]
    rows = []
    for code, name in (("801010", "农林牧渔"), ("801030", "基础化工"), ("801040", "钢铁")):
        for i, x in enumerate(d):
            rows.append({"指数代码": code, "指数名称": name, "发布日期": x, "收盘指数": 1.0, "成交量": 12.5,
                         "涨跌幅": 0.1, "换手率": 1.25 + i, "市盈率": 20.5, "市净率": 2.1, "均价": 10.0,
                         "成交额占比": 1.5, "流通市值": 8000.0 + i, "平均流通市值": 50.0, "股息率": 1.9})
    return pd.DataFrame(rows)


def fake_ak(**over):
    fns = {"index_hist_sw": hist_sw, "index_analysis_daily_sw": analysis_sw}
    fns.update(over)
    return types.SimpleNamespace(**fns)


def test_sw_l1_units_codes_and_range(monkeypatch):
    monkeypatch.setattr(AK, "_ak", lambda: fake_ak())
    got = AK.sw_l1(pd.Timestamp("2024-01-03"), pd.Timestamp("2024-01-04"), ["801010.SI", "801030.SI"])
    f = got.frame.set_index(["date", "code"]).sort_index()
    r = f.loc[(pd.Timestamp("2024-01-03"), "801010.SI")]
    assert r["close"] == 3010 and r["volume"] == 13.0e8 and r["amount"] == 160.0e8      # 亿股, 亿元
    assert r["turnover"] == 2.25 and r["float_mcap"] == 8001.0e8 and r["pe"] == 20.5 and r["pb"] == 2.1
    assert sorted(f.index.get_level_values("code").unique()) == ["801010.SI", "801030.SI"]     # 801040 not asked
    assert f.index.get_level_values("date").min() == pd.Timestamp("2024-01-03")
    assert [c[0] for c in got.calls] == ["index_hist_sw", "index_hist_sw", "index_analysis_daily_sw"]
    assert got.calls[2][1] == {"symbol": "一级行业", "start_date": "20240103", "end_date": "20240104"}


def test_index_csindex_units(monkeypatch):
    def csindex(symbol, start_date, end_date):
        return pd.DataFrame({"日期": [dt.date(2024, 1, 2)], "指数代码": symbol, "指数中文全称": "沪深300指数",
                             "指数中文简称": "沪深300", "指数英文全称": "CSI 300 Index", "指数英文简称": "CSI 300",
                             "开盘": [3400.0], "最高": [3420.0], "最低": [3380.0], "收盘": [3386.35], "涨跌": [-45.0],
                             "涨跌幅": [-1.3], "成交量": [1134.5], "成交金额": [2047.9], "样本数量": [300],
                             "滚动市盈率": [11.2]})

    monkeypatch.setattr(AK, "_ak", lambda: fake_ak(stock_zh_index_hist_csindex=csindex))
    got = AK.index(pd.Timestamp("2024-01-01"), pd.Timestamp("2024-01-31"), ["sh000300".replace("sh", "") + ".SH"])
    r = got.frame.iloc[0]
    assert r["code"] == "000300.SH" and r["volume"] == 1134.5e6 and r["amount"] == 2047.9e8 and r["pe_ttm"] == 11.2
    assert got.calls == [("stock_zh_index_hist_csindex", {"symbol": "000300", "start_date": "20240101", "end_date": "20240131"})]


def test_sw_membership_maps_to_l1_codes_with_end_dates(monkeypatch):
    def clf():
        return pd.DataFrame({"symbol": ["000001", "600000", "000001"], "start_date": [dt.date(2014, 1, 1), dt.date(2015, 1, 1), dt.date(2021, 7, 30)],
                             "industry_code": ["480301", "480201", "490101"], "update_time": [dt.date(2024, 1, 1)] * 3})

    monkeypatch.setattr(AK, "_ak", lambda: fake_ak(stock_industry_clf_hist_sw=clf))
    t = AK.sw_membership().frame.set_index(["code", "start"])
    assert t.loc[("000001.SZ", pd.Timestamp("2014-01-01")), "industry"] == "801780.SI"      # 48 = 银行
    assert t.loc[("000001.SZ", pd.Timestamp("2014-01-01")), "end"] == pd.Timestamp("2021-07-29")
    assert t.loc[("000001.SZ", pd.Timestamp("2021-07-30")), "industry"] == "801790.SI"      # 49 = 非银金融
    assert pd.isna(t.loc[("600000.SH", pd.Timestamp("2015-01-01")), "end"])


def test_margin_sse_plus_szse_in_yuan(monkeypatch):
    def sse(start_date, end_date):
        return pd.DataFrame({"信用交易日期": ["20240102", "20240103"], "融资余额": [8.0e11, 8.1e11],
                             "融资买入额": [3.0e10, 3.2e10], "融券余量": [1e9, 1e9], "融券余量金额": [4e10, 4.1e10],
                             "融券卖出量": [1e7, 1e7], "融资融券余额": [8.4e11, 8.5e11]})

    def szse(date):
        return pd.DataFrame({"融资买入额": [250.0], "融资余额": [7000.0 if date == "20240102" else 7050.0],
                             "融券卖出量": [0.5], "融券余量": [10.0], "融券余额": [300.0], "融资融券余额": [7300.0]})

    monkeypatch.setattr(AK, "_ak", lambda: fake_ak(stock_margin_sse=sse, stock_margin_szse=szse))
    f = AK.margin(pd.Timestamp("2024-01-02"), pd.Timestamp("2024-01-03")).frame.set_index("date")
    assert f.loc["2024-01-03", "margin_balance"] == 8.1e11 + 7050e8
    assert f.loc["2024-01-03", "margin_buy"] == 3.2e10 + 250e8
    assert f.loc["2024-01-03", "margin_repay"] == pytest.approx((3.2e10 + 250e8) - (8.1e11 + 7050e8 - 8.0e11 - 7000e8))


def test_northbound_net_buy_blank_from_2024_08_19(monkeypatch):
    def hsgt(symbol):
        assert symbol == "北向资金"
        return pd.DataFrame({"日期": [dt.date(2024, 8, 16), dt.date(2024, 8, 19)], "当日成交净买额": [12.3, 0.0],
                             "买入成交额": [600.0, 650.0], "卖出成交额": [587.7, 640.0], "历史累计净买额": [1.8, 1.8],
                             "当日资金流入": [1, 1], "当日余额": [1, 1], "持股市值": [1, 1], "领涨股": ["x", "y"],
                             "领涨股-涨跌幅": [1, 1], "沪深300": [1, 1], "沪深300-涨跌幅": [1, 1], "领涨股-代码": ["a", "b"]})

    monkeypatch.setattr(AK, "_ak", lambda: fake_ak(stock_hsgt_hist_em=hsgt))
    got = AK.northbound(pd.Timestamp("2024-08-01"), pd.Timestamp("2024-08-30"))
    f = got.frame.set_index("date")
    assert f.loc["2024-08-16", "net_buy"] == 12.3e8 and np.isnan(f.loc["2024-08-19", "net_buy"])
    assert f.loc["2024-08-19", "turnover"] == 1290e8 and "stopped publishing" in got.notes[0]


def test_futures_if_main_contract_and_expiry(monkeypatch):
    def futs(start_date, end_date, market):
        rows = [("IF2401", "20240102", 3400, 3401, 100000), ("IF2402", "20240102", 3390, 3391, 40000),
                ("IF2401", "20240118", 3300, 3301, 20000), ("IF2402", "20240118", 3290, 3291, 90000),
                ("IC2401", "20240102", 5400, 5401, 999999)]
        return pd.DataFrame([{"symbol": s, "date": d, "open": c, "high": c, "low": c, "close": c, "volume": 1,
                              "open_interest": oi, "turnover": 1.0, "settle": st, "pre_settle": c, "variety": s[:2]}
                             for s, d, c, st, oi in rows])

    monkeypatch.setattr(AK, "_ak", lambda: fake_ak(get_futures_daily=futs))
    f = AK.futures_if(pd.Timestamp("2024-01-01"), pd.Timestamp("2024-01-31")).frame.set_index("date")
    assert f.loc["2024-01-02", "contract"] == "IF2401" and f.loc["2024-01-18", "contract"] == "IF2402"
    assert f.loc["2024-01-02", "expiry"] == pd.Timestamp("2024-01-19")      # third Friday of January 2024
    assert f.loc["2024-01-18", "expiry"] == pd.Timestamp("2024-02-16")


def test_tushare_moneyflow_units_and_token(monkeypatch):
    monkeypatch.delenv("TUSHARE_TOKEN", raising=False)
    monkeypatch.setattr(TS, "optional_import", lambda m: types.SimpleNamespace(pro_api=lambda t: None))
    with pytest.raises(ProviderError, match="tushare needs a token: set TUSHARE_TOKEN"):
        TS.flows(pd.Timestamp("2024-01-02"), pd.Timestamp("2024-01-02"))

    class Pro:
        def moneyflow(self, trade_date):
            return pd.DataFrame({"ts_code": ["600000.SH", "000001.SZ"], "trade_date": [trade_date] * 2,
                                 "buy_sm_vol": [1, 1], "buy_sm_amount": [100.0, 50.0], "buy_md_amount": [200.0, 25.0],
                                 "buy_lg_amount": [1200.5, 10.0], "sell_lg_amount": [1100.0, 20.0],
                                 "buy_elg_amount": [900.0, 5.0], "sell_elg_amount": [950.0, 1.0], "net_mf_amount": [1.0, 1.0]})

    monkeypatch.setenv("TUSHARE_TOKEN", "x")
    monkeypatch.setattr(TS, "optional_import", lambda m: types.SimpleNamespace(pro_api=lambda t: Pro()))
    got = TS.flows(pd.Timestamp("2024-01-02"), pd.Timestamp("2024-01-02"))
    r = got.frame.iloc[0]
    assert got.kind == "series" and r["date"] == pd.Timestamp("2024-01-02")
    assert r["lg_buy"] == (1200.5 + 10.0) * 1e4 and r["elg_sell"] == 951.0 * 1e4
    assert r["amount"] == (100 + 50 + 200 + 25 + 1200.5 + 10 + 900 + 5) * 1e4


def test_baostock_unadjusted_bars_flags_and_adj_factor(monkeypatch):
    class RS:
        def __init__(self, df):
            self.error_code, self.error_msg, self._df = "0", "", df

        def get_data(self):
            return self._df

    k = pd.DataFrame({"date": ["2024-06-03", "2024-06-04", "2024-06-05"], "code": "sh.600000",
                      "open": ["7.0", "7.1", "6.9"], "high": ["7.2", "7.2", "7.0"], "low": ["6.9", "7.0", "6.8"],
                      "close": ["7.1", "7.0", "6.95"], "volume": ["1000", "0", "1200"], "amount": ["7100.0", "0", "8340.0"],
                      "turn": ["0.1", "", "0.12"], "tradestatus": ["1", "0", "1"], "isST": ["0", "0", "1"]})
    adj = pd.DataFrame({"code": "sh.600000", "dividOperateDate": ["2023-07-20", "2024-06-05"],
                        "foreAdjustFactor": ["0.9", "1.0"], "backAdjustFactor": ["10.0", "10.5"], "adjustFactor": ["10.0", "10.5"]})
    fake = types.SimpleNamespace(login=lambda: None, logout=lambda: None,
                                 query_history_k_data_plus=lambda **kw: RS(k), query_adjust_factor=lambda **kw: RS(adj))
    monkeypatch.setattr(BS, "_bs", lambda: fake)
    f = BS.stocks(pd.Timestamp("2024-06-03"), pd.Timestamp("2024-06-05"), ["600000.SH"]).frame
    assert list(f["suspended"]) == [False, True, False] and list(f["st"]) == [False, False, True]
    assert list(f["adj_factor"]) == [10.0, 10.0, 10.5] and f["amount"].iloc[2] == 8340.0


def test_missing_package_names_the_extra():
    with pytest.raises(ProviderError, match=r'not installed; it is an optional extra: pip install -e "\.\[online\]"'):
        optional_import("no_such_provider_pkg_123")


# --- the fetch command: empty response, missing column, provider raising -> exit 2 and one line

def _fetch_cli(tmp_path, capsys, *extra):
    code = data_main.main(["fetch", "index", "--start", "2024-01-01", "--end", "2024-01-31", "--codes", "000300.SH",
                           "--dir", str(tmp_path / "cache"), *extra])
    cap = capsys.readouterr()
    return code, cap.err.strip().splitlines()


def test_fetch_empty_response(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(AK, "_ak", lambda: fake_ak(stock_zh_index_hist_csindex=lambda **kw: pd.DataFrame()))
    code, err = _fetch_cli(tmp_path, capsys)
    assert code == 2 and len(err) == 1 and "no rows for dataset 'index' between 2024-01-01 and 2024-01-31" in err[0]
    assert not (tmp_path / "cache" / "index" / "CURRENT").exists()


def test_fetch_missing_column(tmp_path, capsys, monkeypatch):
    bad = pd.DataFrame({"日期": [dt.date(2024, 1, 2)], "收盘": [3386.0]})
    monkeypatch.setattr(AK, "_ak", lambda: fake_ak(stock_zh_index_hist_csindex=lambda **kw: bad))
    code, err = _fetch_cli(tmp_path, capsys)
    assert code == 2 and len(err) == 1
    assert "stock_zh_index_hist_csindex: output has no column(s) 开盘, 最高, 最低, 成交量, 成交金额, 滚动市盈率" in err[0]


def test_fetch_provider_raises(tmp_path, capsys, monkeypatch):
    def down(**kw):
        raise ConnectionError("Max retries exceeded with url: /csindex-home/perf/index-perf\nmore lines")

    monkeypatch.setattr(AK, "_ak", lambda: fake_ak(stock_zh_index_hist_csindex=down))
    code, err = _fetch_cli(tmp_path, capsys)
    assert code == 2 and len(err) == 1 and "Traceback" not in "".join(err)
    assert "akshare.stock_zh_index_hist_csindex(symbol='000300', start_date='20240101', end_date='20240131') failed: " \
           "ConnectionError: Max retries exceeded" in err[0] and "the cache is unchanged" in err[0]
