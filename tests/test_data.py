import csv

import numpy as np
import pandas as pd
import pytest

from engine.config_schema import DataConfig
from engine.data.embedded import CSI300_CSV, load_csi300, load_embedded, verify_checksum
from engine.data.importers import import_long
from engine.data.io import read_dataset, write_dataset
from engine.data.panel import Dataset, Panel, validate_panel
from engine.data.sources import load_dataset
from engine.errors import DataError


def test_embedded_csi300_matches_csv_and_checksum():
    assert verify_checksum()
    df = load_csi300()
    rows = list(csv.DictReader(open(CSI300_CSV, encoding="utf-8")))
    assert len(df) == len(rows) == 4857
    assert df.index[0] == pd.Timestamp("2006-01-06") and df.index[-1] == pd.Timestamp("2025-12-31")
    assert df["close"].iloc[-1] == float(rows[-1]["close"])
    assert (df[["open", "high", "low", "close"]] > 0).all().all()
    assert (df["high"] >= df[["open", "close"]].max(axis=1)).all() and (df["low"] <= df[["open", "close"]].min(axis=1)).all()
    load_embedded().validate()


def _panel(**over):
    idx = pd.bdate_range("2024-01-01", periods=5, name="date")
    close = pd.DataFrame({"A": [1.0, 2, 3, 4, 5], "B": [2.0, 2, 2, 2, 2]}, index=idx)
    fields = {"close": close, "volume": close * 100}
    fields.update(over)
    return Panel("p", fields, source="test.csv")


def test_validator_accepts_good_panel_with_gaps_and_leaves_it_unchanged():
    """Missing days (NaN) are allowed: a stock not yet listed or suspended; validation never edits the data."""
    p = _panel()
    p.fields["close"].iloc[:2, 0] = np.nan
    before = {k: v.copy() for k, v in p.fields.items()}
    assert validate_panel(p, required=["close"]) is None
    for k, v in p.fields.items():
        pd.testing.assert_frame_equal(v, before[k])


@pytest.mark.parametrize("make, pattern", [
    (lambda p: p["close"].iloc[[1, 0, 2, 3, 4]], "not sorted"),
    (lambda p: p["close"].iloc[[0, 0, 2, 3, 4]], "duplicate dates 2024-01-01"),
    (lambda p: p["close"].assign(A=[1.0, -2, 3, 4, 5]), "non-positive prices, e.g. A on 2024-01-02"),
    (lambda p: p["close"].assign(B=np.nan), "all values are missing for codes B"),
    (lambda p: p["close"].rename(columns={"B": "C"}), "codes are not aligned.*extra: C.*missing: B"),
])
def test_validator_errors_name_the_problem(make, pattern):
    p = _panel()
    bad = make(p)
    with pytest.raises(DataError, match=pattern):
        validate_panel(Panel("p", {"volume": p["volume"], "close": bad} if "aligned" in pattern else {"close": bad}, source="test.csv"))


def test_missing_required_field():
    with pytest.raises(DataError, match="missing field 'turnover' that the chosen signal needs"):
        validate_panel(_panel(), required=["turnover"])
    with pytest.raises(DataError, match="no panel 'sw_l1'"):
        Dataset(panels={"p": _panel()}).require(["panel:sw_l1.close"])


def test_import_long_tushare_shape(tmp_path):
    p = tmp_path / "daily.csv"
    p.write_text("ts_code,trade_date,close,vol,amount\n"
                 "600000.SH,20231201,7.10,1000,710\n000001.SZ,20231201,9.00,2000,1800\n"
                 "600000.SH,20231130,7.00,1500,1050\n000001.SZ,20231130,9.10,2500,2275\n", encoding="utf-8")
    panel = import_long(p, {"ts_code": "code", "trade_date": "date", "vol": "volume"}, {"volume": 100, "amount": 1000}, None, "stocks")
    validate_panel(panel)
    assert list(panel.dates) == [pd.Timestamp("2023-11-30"), pd.Timestamp("2023-12-01")]
    assert panel["volume"].loc["2023-11-30", "600000.SH"] == 150000.0       # 1500 手 = 150,000 shares
    assert panel["amount"].loc["2023-12-01", "000001.SZ"] == 1_800_000.0    # 1800 千元
    assert panel["close"].loc["2023-12-01", "600000.SH"] == 7.10


def test_import_long_errors(tmp_path):
    p = tmp_path / "d.csv"
    p.write_text("code,date,close\nA,2023-11-30,1\nA,2023-11-30,2\n")
    with pytest.raises(DataError, match="duplicate row for code A on 2023-11-30"):
        import_long(p, {}, {}, None, "x")
    p.write_text("code,date,close\nA,2023-11-30,abc\n")
    with pytest.raises(DataError, match="non-numeric value 'abc' for A on 2023-11-30"):
        import_long(p, {}, {}, None, "x")["close"]          # fields are converted when first read
    p.write_text("code,day,close\nA,2023-11-30,1\n")
    with pytest.raises(DataError, match="needs a 'date' column"):
        import_long(p, {}, {}, None, "x")


def test_import_wide_directory_and_same_dataset_path(tmp_path):
    d = tmp_path / "wide"
    d.mkdir()
    (d / "close.csv").write_text("date,801010.SI,801030.SI\n2023-11-29,1.0,2.0\n2023-11-30,1.1,2.2\n")
    (d / "turnover.csv").write_text("date,801010.SI,801030.SI\n2023-11-29,1.5,2.5\n2023-11-30,1.6,2.6\n")
    cfg = DataConfig(source="csv", path=str(d), layout="wide", panel="sw_l1")
    ds = load_dataset(cfg)
    assert ds.panel("sw_l1")["turnover"].loc["2023-11-30", "801030.SI"] == 2.6
    assert "index" in ds.panels and not ds.synthetic     # CSI 300 benchmark added from embedded data
    # the same panel written in the dataset layout reads back identically
    out = write_dataset(Dataset(panels={"sw_l1": ds.panel("sw_l1")}, meta={"synthetic": False}), tmp_path / "ds", fmt="csv")
    back = read_dataset(out)
    pd.testing.assert_frame_equal(back.panel("sw_l1")["close"], ds.panel("sw_l1")["close"], check_freq=False)


def test_read_dataset_missing_dir(tmp_path):
    with pytest.raises(DataError, match="does not exist"):
        read_dataset(tmp_path / "nope")


def test_dataset_fields_are_read_lazily_and_validated_on_access(tmp_path):
    """A field nobody reads is never opened (a broken file there does not matter); a field that is read is checked
    against the others and a misaligned one fails with its name."""
    d = tmp_path / "ds" / "panels" / "sw_l1"
    d.mkdir(parents=True)
    (d / "close.csv").write_text("date,801010.SI,801030.SI\n2023-11-29,1.0,2.0\n2023-11-30,1.1,2.2\n")
    (d / "amount.csv").write_text("date,801010.SI,801030.SI\n2023-11-29,5.0,6.0\n2023-11-30,5.5,6.6\n")
    (d / "turnover.csv").write_text("date,801010.SI,801999.SI\n2023-11-29,1.5,2.5\n2023-11-30,1.6,2.6\n")
    (d / "volume.parquet").write_bytes(b"not a parquet file")
    ds = read_dataset(tmp_path / "ds").validate()
    p = ds.panel("sw_l1")
    assert p["amount"].loc["2023-11-30", "801030.SI"] == 6.6 and list(p.codes) == ["801010.SI", "801030.SI"]
    with pytest.raises(DataError, match="field 'turnover': codes are not aligned.*extra: 801999.SI"):
        p["turnover"]
    with pytest.raises(DataError, match="volume.parquet: cannot be read"):
        p["volume"]


def test_dataset_series_and_tables_are_read_on_first_access(tmp_path):
    """read_dataset reads series and tables when first used (a strategy reads the few it needs), and still
    checks them then: a broken file no strategy asks for costs nothing; one that is asked for is a one-line
    DataError naming it; duplicate dates in a series are refused on access, as before on load."""
    from engine.data.io import read_dataset
    from engine.errors import DataError

    (tmp_path / "series").mkdir()
    (tmp_path / "tables").mkdir()
    (tmp_path / "series" / "good.csv").write_text("date,x\n2024-01-02,1\n2024-01-03,2\n", encoding="utf-8")
    (tmp_path / "series" / "dup.csv").write_text("date,x\n2024-01-02,1\n2024-01-02,2\n", encoding="utf-8")
    (tmp_path / "series" / "broken.parquet").write_bytes(b"not a parquet file")
    (tmp_path / "tables" / "info.csv").write_text("code,name\n600000.SH,a\n", encoding="utf-8")
    ds = read_dataset(tmp_path).validate()
    assert sorted(ds.series) == ["broken", "dup", "good"] and "good" in ds.series and len(ds.tables) == 1
    assert ds.series["good"]["x"].tolist() == [1, 2]
    assert ds.tables["info"]["name"].tolist() == ["a"]
    with pytest.raises(DataError, match=r"broken\.parquet: cannot be read"):
        ds.series["broken"]
    with pytest.raises(DataError, match=r"series 'dup': duplicate dates 2024-01-02"):
        ds.get_series("dup")
