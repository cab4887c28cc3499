import pytest

from engine.data.embedded import load_embedded
from engine.errors import DataError
from engine.signals import REGISTRY
from tests.lookahead import assert_no_lookahead

DS = load_embedded()
CLOSE = DS.panel("index")["close"]["000300.SH"]


def params(name, **kw):
    return {**REGISTRY[name].defaults, **kw}


def test_ma_timing_matches_naive_loop():
    w = REGISTRY["ma_timing"].compute(DS, params("ma_timing", short=5, long=20)).weights["000300.SH"].to_numpy()
    c = CLOSE.to_numpy()
    for t in range(len(c)):
        if t < 19:
            assert w[t] == 0.0
            continue
        s = sum(c[t - 4:t + 1]) / 5
        l_ = sum(c[t - 19:t + 1]) / 20
        assert w[t] == (1.0 if s > l_ else 0.0), t


def test_ma_timing_no_lookahead():
    assert_no_lookahead(REGISTRY["ma_timing"].compute, DS, params("ma_timing"), ["2015-06-12", "2023-11-30"])


def test_ma_timing_rejects_short_ge_long():
    from engine.errors import ConfigError
    from engine.signals.basic import ma_timing

    # the signal's validator (the rule below={"short": "long"}), before any data is read
    for short in (60, 20):
        with pytest.raises(ConfigError, match=rf"'signal.params.short': must be smaller than long \(20\), got {short}"):
            ma_timing(DS, params("ma_timing", short=short, long=20))


def test_weights_file_guidance_dates(tmp_path):
    """财信 表1: 100% from 11-06, 50% from 11-16, 0% from 11-28 (guidance dates computed from the previous close):
    decided at the close of the previous trading day."""
    p = tmp_path / "w.csv"
    p.write_text("date,000300.SH\n2023-11-06,100%\n2023-11-16,50%\n2023-11-28,0%\n")
    w = REGISTRY["weights_file"].compute(DS, params("weights_file", path=str(p), timing="guidance")).weights["000300.SH"]
    assert w.loc[:"2023-11-02"].eq(0).all()            # 11-03 (Fri) is the decision day for 11-06
    assert w.loc["2023-11-03"] == 1.0 and w.loc["2023-11-14"] == 1.0 and w.loc["2023-11-15"] == 0.5
    assert w.loc["2023-11-27"] == 0.0 and w.loc["2025-12-31"] == 0.0
    d = REGISTRY["weights_file"].compute(DS, params("weights_file", path=str(p), timing="decided")).weights["000300.SH"]
    assert d.loc["2023-11-03"] == 0.0 and d.loc["2023-11-06"] == 1.0 and d.loc["2023-11-16"] == 0.5


@pytest.mark.parametrize("body, pattern", [
    ("date,000300.SH\n2023-11-06,1.5\n", r"must be in \[0, 1\]"),
    ("date,000999.SH\n2023-11-06,1\n", "codes not in panel 'index': 000999.SH"),
    ("date,000300.SH\n2023-11-06,1\n2023-11-01,1\n", "sorted"),
    ("date,000300.SH\n2023-11-06,abc\n", "'abc' is not a number"),
    ("date,000300.SH\n2030-01-02,1\n", "outside the data"),
    ("day,000300.SH\n2023-11-06,1\n", "needs a 'date' column"),
])
def test_weights_file_errors(tmp_path, body, pattern):
    p = tmp_path / "w.csv"
    p.write_text(body)
    with pytest.raises(DataError, match=pattern):
        REGISTRY["weights_file"].compute(DS, params("weights_file", path=str(p)))


def test_weights_file_long_layout(tmp_path):
    p = tmp_path / "w.csv"
    p.write_text("date,code,weight\n2023-11-06,000300.SH,0.3\n2023-11-10,000300.SH,0.7\n")
    w = REGISTRY["weights_file"].compute(DS, params("weights_file", path=str(p), layout="long")).weights["000300.SH"]
    assert w.loc["2023-11-09"] == 0.3 and w.loc["2023-11-10"] == 0.7 and w.loc["2023-11-03"] == 0.0
