"""Real vendor exports: GBK Wind files, folders of per-code files, Wind open = 0, units per code, code aliases,
names; each loads to the same Panel as the clean equivalent (issue 10 item 2)."""
import warnings

import numpy as np
import pandas as pd
import pytest

from engine.config_schema import DataConfig
from engine.data.codes import normalize_code
from engine.data.importers import import_long, import_wide
from engine.data.panel import DataWarning
from engine.data.sources import load_dataset
from engine.errors import DataError

CLEAN = ("code,date,open,high,low,close,volume,amount\n"
         "801010.SI,2023-11-29,3000,3010,2990,3005,1000,5000\n801030.SI,2023-11-29,4000,4020,3990,4010,2000,8000\n"
         "801010.SI,2023-11-30,3005,3020,3000,3015,1100,5500\n801030.SI,2023-11-30,4010,4030,4000,4020,2100,8400\n")


def _clean(tmp_path):
    p = tmp_path / "clean.csv"
    p.write_text(CLEAN)
    return import_long(p, {}, {}, None, "sw_l1")


def _same(a, b, fields=("open", "high", "low", "close", "volume", "amount")):
    for f in fields:
        pd.testing.assert_frame_equal(a[f], b[f], check_freq=False, obj=f)


def test_gbk_wind_file_with_chinese_headers(tmp_path):
    text = ("代码,简称,日期,开盘价,最高价,最低价,收盘价,成交量,成交额\n"
            "801010,农林牧渔,2023-11-29,3000,3010,2990,3005,1000,5000\n801030,基础化工,2023-11-29,4000,4020,3990,4010,2000,8000\n"
            "801010,农林牧渔,2023-11-30,3005,3020,3000,3015,1100,5500\n801030,基础化工,2023-11-30,4010,4030,4000,4020,2100,8400\n"
            "数据来源：Wind,,,,,,,,\n")
    p = tmp_path / "wind.csv"
    p.write_bytes(text.encode("gbk"))
    cols = {"代码": "code", "简称": "name", "日期": "date", "开盘价": "open", "最高价": "high", "最低价": "low",
            "收盘价": "close", "成交量": "volume", "成交额": "amount"}
    names = {}
    panel = import_long(p, cols, {}, None, "sw_l1", names=names)
    _same(panel, _clean(tmp_path))
    assert names == {"801010.SI": "农林牧渔", "801030.SI": "基础化工"}
    # the same through load_dataset: names become the table sw_l1_info
    with pytest.warns(DataWarning, match="no panel 'index'"):
        ds = load_dataset(DataConfig(source="csv", path=str(p), panel="sw_l1", columns=cols))
    assert ds.table("sw_l1_info").set_index("code")["name"]["801030.SI"] == "基础化工"
    # a forced wrong encoding is one line naming the file and the option
    with pytest.raises(DataError, match=r"wind.csv: not valid utf-8 at byte \d+; set data.encoding"):
        import_long(p, cols, {}, None, "sw_l1", encoding="utf-8")
    p.write_bytes(text.encode("gb18030"))
    _same(import_long(p, cols, {}, None, "sw_l1", encoding="gb18030"), _clean(tmp_path))


def test_utf16_with_bom(tmp_path):
    p = tmp_path / "u16.csv"
    p.write_bytes(CLEAN.encode("utf-16"))
    _same(import_long(p, {}, {}, None, "sw_l1"), _clean(tmp_path))


def test_folder_of_per_code_files_code_from_file_name(tmp_path):
    d = tmp_path / "per_code"
    d.mkdir()
    (d / "801010.csv").write_text("date,open,high,low,close,volume,amount\n2023-11-29,3000,3010,2990,3005,1000,5000\n"
                                  "2023-11-30,3005,3020,3000,3015,1100,5500\n")
    (d / "801030.SI.csv").write_text("date,open,high,low,close,volume,amount\n2023-11-29,4000,4020,3990,4010,2000,8000\n"
                                     "2023-11-30,4010,4030,4000,4020,2100,8400\n")
    _same(import_long(d, {}, {}, None, "sw_l1"), _clean(tmp_path))


def test_field_missing_for_one_code_only_fails_when_used(tmp_path):
    d = tmp_path / "per_code"
    d.mkdir()
    (d / "801010.csv").write_text("date,close,amount\n2023-11-29,3005,5000\n2023-11-30,3015,5500\n")
    (d / "801030.csv").write_text("date,close\n2023-11-29,4010\n2023-11-30,4020\n")
    panel = import_long(d, {}, {}, None, "sw_l1")
    assert panel["close"].loc["2023-11-30", "801030.SI"] == 4020
    with pytest.raises(DataError, match="field 'amount': all values are missing for codes 801030.SI"):
        panel["amount"]


def test_wind_open_zero_rows_and_a_close_only_signal(tmp_path):
    """Wind writes open = high = low = 0 on days an index has only a close: read as missing with a named warning;
    ma_timing (close only) runs and gives the same weights as on the clean file."""
    rows = ["代码,日期,开盘价,最高价,最低价,收盘价"]
    clean = ["code,date,close"]
    rng = np.random.default_rng(1)
    dates = pd.bdate_range("2023-01-02", periods=80)
    px = 3000 * np.cumprod(1 + rng.normal(0, 0.01, len(dates)))
    for i, (d, c) in enumerate(zip(dates, px)):
        o = 0 if i < 30 else c
        rows.append(f"000300,{d:%Y-%m-%d},{o},{o},{o},{c:.4f}")
        clean.append(f"000300.SH,{d:%Y-%m-%d},{c:.4f}")
    p = tmp_path / "wind.csv"
    p.write_bytes("\n".join(rows).encode("gbk"))
    q = tmp_path / "clean.csv"
    q.write_text("\n".join(clean))
    cols = {"代码": "code", "日期": "date", "开盘价": "open", "最高价": "high", "最低价": "low", "收盘价": "close"}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataWarning)      # the calendar check: business days are not SSE days
        panel = import_long(p, cols, {}, None, "index")
        with pytest.warns(DataWarning, match="field 'open' is 0 on 30 rows .* Wind writes 0"):
            panel["open"]
        assert panel["open"].iloc[:30].isna().all().all() and panel["close"].notna().all().all()
        from engine.data.panel import Dataset
        from engine.signals import REGISTRY

        prm = {**REGISTRY["ma_timing"].defaults, "short": 5, "long": 20}
        a = REGISTRY["ma_timing"].compute(Dataset(panels={"index": panel}), prm).weights
        b = REGISTRY["ma_timing"].compute(Dataset(panels={"index": import_long(q, {}, {}, None, "index")}), prm).weights
    pd.testing.assert_frame_equal(a, b, check_freq=False)


def test_units_per_code_etf_and_index_in_one_file(tmp_path):
    p = tmp_path / "mixed.csv"
    p.write_text("code,date,close,volume,amount\n510300.SH,2023-11-30,3.5,12000,4200\n000300.SH,2023-11-30,3500,9e9,2e11\n")
    panel = import_long(p, {}, {"volume": {"510300.SH": 100, "*": 1}, "amount": {"510300": 1000}}, None, "index")
    assert panel["volume"].loc["2023-11-30", "510300.SH"] == 1_200_000 and panel["volume"].loc["2023-11-30", "000300.SH"] == 9e9
    assert panel["amount"].loc["2023-11-30", "510300.SH"] == 4_200_000 and panel["amount"].loc["2023-11-30", "000300.SH"] == 2e11
    with pytest.raises(DataError, match=r"data.units.amount names codes not in the data: 510500.SH"):
        import_long(p, {}, {"amount": {"510500.SH": 1000}}, None, "index")


@pytest.mark.parametrize("alias", ["000300.XSHG", "sh000300", "SH000300", "000300", "000300.sh", "sh.000300", "300.0"])
def test_code_aliases_load_the_same_panel(tmp_path, alias):
    p = tmp_path / "a.csv"
    p.write_text(f"code,date,close\n{alias},2023-11-29,3500\n{alias},2023-11-30,3510\n")
    ref = tmp_path / "r.csv"
    ref.write_text("code,date,close\n000300.SH,2023-11-29,3500\n000300.SH,2023-11-30,3510\n")
    _same(import_long(p, {}, {}, None, "index"), import_long(ref, {}, {}, None, "index"), ("close",))


def test_code_normalisation_rules():
    assert normalize_code("801010") == "801010.SI" and normalize_code("000001.XSHE") == "000001.SZ"
    assert normalize_code("sz399001") == "399001.SZ" and normalize_code("600000") == "600000.SH"
    assert normalize_code("510300") == "510300.SH" and normalize_code("159915") == "159915.SZ"
    assert normalize_code("000001", "stocks") == "000001.SZ" and normalize_code("000001", "index") == "000001.SH"
    assert normalize_code("H00300.CSI") == "H00300.CSI"
    with pytest.raises(DataError, match="code '000001' is ambiguous .* write it as 000001.SH or 000001.SZ"):
        normalize_code("000001", "sw_l1")


def test_two_aliases_of_one_code_in_a_file(tmp_path):
    p = tmp_path / "a.csv"
    p.write_text("code,date,close\nsh000300,2023-11-29,3500\n000300.XSHG,2023-11-30,3510\n")
    with pytest.raises(DataError, match="codes 'sh000300' and '000300.XSHG' are the same security 000300.SH"):
        import_long(p, {}, {}, None, "index")


def test_wide_gbk_with_aliases(tmp_path):
    p = tmp_path / "close.csv"
    p.write_bytes("date,801010,801030.SI\n2023-11-29,3005,4010\n2023-11-30,3015,4020\n".encode("gbk"))
    panel = import_wide(p, "close", {}, {}, None, "sw_l1")
    pd.testing.assert_frame_equal(panel["close"], _clean(tmp_path)["close"], check_freq=False)


def test_dataset_folder_codes_normalised_and_dividend_becomes_adj_factor(tmp_path):
    """A dataset directory with bare codes and a dividend field: codes normalised, adj_factor derived on read
    (ex-reference price rule: factor ratio = prev close / (prev close - dividend))."""
    from engine.data.io import read_dataset

    d = tmp_path / "ds" / "panels" / "etf"
    d.mkdir(parents=True)
    (d / "close.csv").write_text("date,510300\n2024-01-02,4.00\n2024-01-03,3.95\n2024-01-04,4.00\n")
    (d / "dividend.csv").write_text("date,510300\n2024-01-02,\n2024-01-03,0.10\n2024-01-04,\n")
    cfg = DataConfig(source="dataset", path=str(tmp_path / "ds"))
    with pytest.warns(DataWarning, match="no panel 'index'"):
        ds = load_dataset(cfg)
    p = ds.panel("etf")
    assert list(p.codes) == ["510300.SH"]
    np.testing.assert_allclose(p["adj_factor"]["510300.SH"].to_numpy(), [1.0, 4.0 / 3.9, 4.0 / 3.9], rtol=1e-15)
    assert read_dataset(tmp_path / "ds").panel("etf")["close"].columns.tolist() == ["510300.SH"]


def test_wide_folder_unused_broken_field_does_not_block(tmp_path):
    d = tmp_path / "wide"
    d.mkdir()
    (d / "close.csv").write_text("date,801010,801030\n2023-11-29,3005,4010\n2023-11-30,3015,4020\n")
    (d / "turnover.csv").write_text("date,801010,801030\n2023-11-29,1.5,N/A\n2023-11-30,1.6,2.6\n")
    panel = import_wide(d, "close", {}, {}, None, "sw_l1")
    assert panel["close"].loc["2023-11-30", "801030.SI"] == 4020
    with pytest.raises(DataError, match=r"turnover.csv: field 'turnover' has a non-numeric value 'N/A' for 801030.SI on 2023-11-29"):
        panel["turnover"]
