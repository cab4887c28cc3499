"""``data.embedded``: embedded real panels added to any source's dataset, with provenance and one-line errors."""
from __future__ import annotations

import subprocess
import sys
import warnings

import pandas as pd
import pytest

from engine.config import load_config
from engine.config_schema import DataConfig
from engine.data.sources import load_dataset
from engine.errors import ConfigError

YAML = "strategies/xinbanjun_defense.yaml"


def _load(cfg: DataConfig):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return load_dataset(cfg)


def test_synthetic_plus_embedded_etf_is_the_real_parquet_beside_the_synthetic_market():
    ds = _load(DataConfig(source="synthetic", size="small", embedded=("etf",)))
    raw = pd.read_parquet("data/embedded/etf_panel_daily.parquet")
    one = raw[raw["symbol"] == "512480.SH"].set_index("date")["close"]
    got = ds.panel("etf")["close"]["512480.SH"].dropna()
    assert len(got) == len(one) and got.index[0] == pd.Timestamp("2019-06-12")
    assert (got.to_numpy() == one.sort_index().to_numpy()).all()
    assert "synthetic" not in str(ds.panel("etf").source) and "synthetic" in str(ds.panel("sectors").source)
    assert set(ds.tables["etf_info"]["code"]) == set(raw["symbol"])
    assert ds.meta["real_panels"] == ["etf"] and ds.synthetic
    assert any("panel 'etf' and table 'etf_info': embedded REAL data" in n for n in ds.meta["notes"])
    assert "etf" not in _load(DataConfig(source="synthetic", size="small")).panels


def test_config_accepts_a_name_or_a_list_and_names_typos():
    assert load_config(YAML, ["data.embedded=etf"]).data.embedded == ("etf",)
    with pytest.raises(ConfigError, match=r"key 'data.embedded': 'etfs' is not an embedded panel \(did you mean 'etf'\?\)"):
        load_config(YAML, ["data.embedded=[etfs]"])
    with pytest.raises(ConfigError, match="named twice"):
        load_config(YAML, ["data.embedded=[etf, etf]"])


def test_a_panel_the_dataset_already_has_is_an_error_not_an_overwrite():
    with pytest.raises(ConfigError, match="the dataset already has panel 'index'; drop 'index' from data.embedded"):
        _load(DataConfig(source="synthetic", size="small", embedded=("index",)))
    with pytest.raises(ConfigError, match="already has panel 'etf'"):
        _load(DataConfig(source="embedded", embedded=("etf",)))


def test_cli_bad_name_exits_2_with_one_line():
    r = subprocess.run([sys.executable, "-m", "engine.run", YAML, "--set", "data.embedded=[etff]"],
                       capture_output=True, text=True)
    assert r.returncode == 2
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and "data.embedded" in lines[0] and "did you mean 'etf'" in lines[0]
