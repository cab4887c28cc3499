import textwrap

import pytest

from engine.config import config_from_dict, config_hash, load_config, to_yaml
from engine.errors import ConfigError


def write(tmp_path, text, name="s.yaml"):
    p = tmp_path / name
    p.write_text(textwrap.dedent(text), encoding="utf-8")
    return p


BASE = """
name: t
data: {source: embedded, start: 2022-01-01, end: 2023-11-30}
signal: {name: ma_timing, params: {short: 10, long: 30}}
"""


def test_defaults_filled_and_frozen(tmp_path):
    cfg = load_config(write(tmp_path, BASE))
    assert cfg.execution.lag == 1 and cfg.execution.price == "close"
    assert cfg.signal.params == {"panel": "index", "code": "000300.SH", "short": 10, "long": 30}
    assert cfg.data.start == "2022-01-01" and cfg.metrics.periods_per_year == "auto"
    with pytest.raises(Exception):
        cfg.execution.lag = 3  # frozen


def test_unknown_key_did_you_mean_with_line(tmp_path):
    p = write(tmp_path, BASE + "execution: {lag: 1, prize: open}\n")
    with pytest.raises(ConfigError) as e:
        load_config(p)
    msg = str(e.value)
    assert "s.yaml:5" in msg and "execution.prize" in msg and "did you mean 'price'" in msg
    assert "\n" not in msg


def test_unknown_top_level_and_signal_param(tmp_path):
    with pytest.raises(ConfigError, match="did you mean 'metrics'"):
        load_config(write(tmp_path, BASE + "metric: {}\n"))
    with pytest.raises(ConfigError, match="did you mean 'short'"):
        load_config(write(tmp_path, BASE.replace("short: 10", "shrt: 10")))
    with pytest.raises(ConfigError, match="unknown signal 'ma_timng'.*did you mean 'ma_timing'"):
        load_config(write(tmp_path, BASE.replace("name: ma_timing", "name: ma_timng")))


@pytest.mark.parametrize("extra, pattern", [
    ("execution: {lag: -1}\n", "execution.lag.*must be >= 0"),
    ("execution: {lag: one}\n", "execution.lag.*expected an integer"),
    ("execution: {price: vwap}\n", "'vwap' is not allowed"),
    ("costs: {commission: -0.1}\n", "costs.commission.*>= 0"),
    ("costs: {stamp_duty: ashare}\n", "did you mean 'a_share'"),
    ("metrics: {periods_per_year: 0}\n", "metrics.periods_per_year.*positive number"),
])
def test_impossible_values(tmp_path, extra, pattern):
    with pytest.raises(ConfigError, match=pattern):
        load_config(write(tmp_path, BASE + extra))


def test_negative_window_and_end_before_start(tmp_path):
    with pytest.raises(ConfigError, match="signal.params.short.*must be > 0"):
        load_config(write(tmp_path, BASE.replace("short: 10", "short: -5")))
    with pytest.raises(ConfigError, match="end 2021-01-01 is before start 2022-01-01"):
        load_config(write(tmp_path, BASE.replace("end: 2023-11-30", "end: 2021-01-01")))
    with pytest.raises(ConfigError, match="expected a date"):
        load_config(write(tmp_path, BASE.replace("end: 2023-11-30", "end: 2023-13-45")))


def test_set_overrides_are_validated_like_the_file(tmp_path):
    p = write(tmp_path, BASE)
    cfg = load_config(p, ["execution.lag=2", "signal.params.short=5", "costs.stamp_duty=none", "data.end=2023-06-30"])
    assert cfg.execution.lag == 2 and cfg.signal.params["short"] == 5 and cfg.costs.stamp_duty == "none"
    assert cfg.data.end == "2023-06-30"
    with pytest.raises(ConfigError, match="did you mean 'lag'"):
        load_config(p, ["execution.lga=2"])
    with pytest.raises(ConfigError, match="expected key.sub=value"):
        load_config(p, ["execution.lag"])


def test_custom_stamp_schedule_and_roundtrip(tmp_path):
    text = BASE + "costs:\n  stamp_duty:\n    - {from: 2008-09-19, buy: 0.0, sell: 0.001}\n    - {from: 2023-08-28, buy: 0, sell: 0.0005}\n"
    cfg = load_config(write(tmp_path, text))
    assert cfg.costs.stamp_duty[1] == {"from": "2023-08-28", "buy": 0.0, "sell": 0.0005}
    # the resolved config re-loads to the same config (same hash)
    again = load_config(write(tmp_path, to_yaml(cfg), "resolved.yaml"))
    assert config_hash(again) == config_hash(cfg)


def test_missing_file_and_bad_yaml(tmp_path):
    with pytest.raises(ConfigError, match="not found"):
        load_config(tmp_path / "nope.yaml")
    with pytest.raises(ConfigError, match=r"bad.yaml:\d+: not valid YAML"):
        load_config(write(tmp_path, "name: t\nsignal: {name: [\n", "bad.yaml"))


def test_name_required():
    with pytest.raises(ConfigError, match="key 'name'"):
        config_from_dict({"signal": {"name": "hold"}})
