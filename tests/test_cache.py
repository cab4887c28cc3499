"""The parquet cache: incremental fetches (asserted on the adapter calls), atomic writes (a killed fetch leaves the
previous cache readable and unchanged), the manifest matches the data, and `data: {source: cache}` (issue 10
item 1)."""
import hashlib
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from engine.config_schema import DataConfig
from engine.data.cache import data_root, fetch, load_cache, read_entry
from engine.data.providers.base import Fetched
from engine.errors import DataError

ROOT = Path(__file__).resolve().parents[1]
_C = pd.read_csv(ROOT / "data" / "embedded" / "csi300_000300.csv", usecols=["date"], parse_dates=["date"])["date"]
CAL = pd.DatetimeIndex(_C[_C >= "2024-01-01"])          # real SSE trading days of 2024 (to 2025-12-31)


class Recorder:
    """A fake sw_l1 adapter: deterministic bars for every business day asked, and a log of the calls."""

    def __init__(self):
        self.calls = []

    def __call__(self, start, end, codes):
        self.calls.append((start.strftime("%Y-%m-%d"), end.strftime("%Y-%m-%d"), None if codes is None else list(codes)))
        days = CAL[(CAL >= start) & (CAL <= end)]
        rows = []
        for c in codes or ["801010.SI", "801030.SI"]:
            k = int(c[3:6])
            for d in days:
                rows.append({"date": d, "code": c, "close": 1000 + k + d.day_of_year, "amount": 1e9 + d.day_of_year})
        return Fetched("panel", pd.DataFrame(rows), [("fake", {"start": start, "end": end})], {"amount": "yuan"})


def test_second_fetch_requests_only_missing_dates(tmp_path):
    rec = Recorder()
    fetch("sw_l1", "2024-02-01", "2024-03-29", root=tmp_path, provider="akshare", adapter=rec)
    fetch("sw_l1", "2024-01-15", "2024-04-30", root=tmp_path, provider="akshare", adapter=rec)
    assert rec.calls == [("2024-02-01", "2024-03-29", None), ("2024-01-15", "2024-01-31", None),
                         ("2024-03-30", "2024-04-30", None)]
    fetch("sw_l1", "2024-02-01", "2024-04-30", root=tmp_path, provider="akshare", adapter=rec)      # all cached
    assert len(rec.calls) == 3
    # per code: a new code is fetched over the whole range, a known code only outside its coverage
    fetch("sw_l1", "2024-01-15", "2024-05-31", codes=["801010.SI", "801040.SI"], root=tmp_path, provider="akshare", adapter=rec)
    assert sorted(rec.calls[3:]) == [("2024-01-15", "2024-05-31", ["801040.SI"]), ("2024-05-01", "2024-05-31", ["801010.SI"])]
    data, man = read_entry(tmp_path, "sw_l1")
    # the manifest matches the data
    assert man["rows"] == len(data) and man["codes"] == sorted(data["code"].unique())
    assert man["date_range"] == ["2024-01-15", "2024-05-31"]
    cur = (tmp_path / "sw_l1" / (tmp_path / "sw_l1" / "CURRENT").read_text()) / "data.parquet"
    assert man["sha256"] == hashlib.sha256(cur.read_bytes()).hexdigest()
    assert man["coverage"]["801040.SI"] == ["2024-01-15", "2024-05-31"] and man["coverage"]["*"] == ["2024-01-15", "2024-04-30"]
    assert man["coverage"]["801010.SI"] == ["2024-01-15", "2024-05-31"] and man["coverage"]["801030.SI"] == ["2024-01-15", "2024-04-30"]
    # no duplicate (date, code) rows and every business day present once for 801010
    assert not data.duplicated(["date", "code"]).any()
    d10 = pd.DatetimeIndex(data.loc[data["code"] == "801010.SI", "date"])
    assert list(d10) == list(CAL[(CAL >= "2024-01-15") & (CAL <= "2024-05-31")])
    assert len(list((tmp_path / "sw_l1").glob("v*"))) == 1          # old versions removed


def _snapshot(root: Path) -> dict:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(root.rglob("*")) if p.is_file()}


def test_exception_mid_write_keeps_previous_cache(tmp_path, monkeypatch):
    rec = Recorder()
    fetch("sw_l1", "2024-02-01", "2024-03-29", root=tmp_path, provider="akshare", adapter=rec)
    before = _snapshot(tmp_path)
    real = pd.DataFrame.to_parquet

    def dies(self, path, *a, **kw):
        Path(path).write_bytes(b"PAR1 half a file")
        raise KeyboardInterrupt

    monkeypatch.setattr(pd.DataFrame, "to_parquet", dies)
    with pytest.raises(KeyboardInterrupt):
        fetch("sw_l1", "2024-01-02", "2024-06-28", root=tmp_path, provider="akshare", adapter=rec)
    monkeypatch.setattr(pd.DataFrame, "to_parquet", real)
    data, man = read_entry(tmp_path, "sw_l1")
    assert man["date_range"] == ["2024-02-01", "2024-03-29"]
    assert {k: v for k, v in _snapshot(tmp_path).items() if ".tmp-" not in k} == before
    fetch("sw_l1", "2024-01-02", "2024-06-28", root=tmp_path, provider="akshare", adapter=rec)     # recovers
    assert not [p for p in (tmp_path / "sw_l1").iterdir() if ".tmp-" in p.name]


@pytest.mark.parametrize("where", ["parquet", "commit"])
def test_sigkill_mid_fetch_keeps_previous_cache(tmp_path, where):
    """A real kill -9 of the fetching process while it writes the data file, or just before the commit point."""
    rec = Recorder()
    fetch("sw_l1", "2024-02-01", "2024-03-29", root=tmp_path, provider="akshare", adapter=rec)
    before = _snapshot(tmp_path)
    script = textwrap.dedent(f"""
        import os, signal, sys
        from pathlib import Path
        import pandas as pd
        sys.path.insert(0, {str(ROOT)!r})
        from tests.test_cache import Recorder
        from engine.data import cache
        where = {where!r}
        if where == "parquet":
            def dies(self, path, *a, **kw):
                Path(path).write_bytes(b"PAR1 partial")
                os.kill(os.getpid(), signal.SIGKILL)
            pd.DataFrame.to_parquet = dies
        else:
            real = os.replace
            def replace(src, dst):
                if str(dst).endswith("CURRENT"):
                    os.kill(os.getpid(), signal.SIGKILL)
                return real(src, dst)
            cache.os.replace = replace
        cache.fetch("sw_l1", "2024-01-02", "2024-06-28", root={str(tmp_path)!r}, provider="akshare", adapter=Recorder())
    """)
    r = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert r.returncode == -9, r.stderr
    data, man = read_entry(tmp_path, "sw_l1")
    assert man["date_range"] == ["2024-02-01", "2024-03-29"] and man["rows"] == len(data)
    assert {k: v for k, v in _snapshot(tmp_path).items() if ".tmp-" not in k and not k.startswith("sw_l1/v000002")} == before


def test_source_cache_builds_panels_and_names_the_fetch_command(tmp_path):
    rec = Recorder()
    fetch("sw_l1", "2024-02-01", "2024-03-29", root=tmp_path, provider="akshare", adapter=rec)
    ds = load_cache(DataConfig(source="cache", path=str(tmp_path), datasets=("sw_l1",), start="2024-02-05", end="2024-03-01"))
    p = ds.panel("sw_l1")
    assert p["close"].loc["2024-02-05", "801030.SI"] == 1000 + 30 + pd.Timestamp("2024-02-05").day_of_year
    assert not ds.synthetic and "sw_l1/data.parquet" in ds.meta["checksums"]
    with pytest.raises(DataError, match=r"cached for 2024-02-01..2024-03-29, the period needs 2024-01-02..2024-03-01; "
                                        r"run: python -m engine.data fetch sw_l1 --start 2024-01-02 --end 2024-03-29"):
        load_cache(DataConfig(source="cache", path=str(tmp_path), datasets=("sw_l1",), start="2024-01-02", end="2024-03-01"))
    with pytest.raises(DataError, match="dataset 'margin' is not in the cache; run: python -m engine.data fetch margin"):
        load_cache(DataConfig(source="cache", path=str(tmp_path), datasets=("margin",)))


def test_yaml_source_cache_end_to_end(tmp_path, monkeypatch, capsys):
    """A strategy YAML with data.source: cache runs: hold one cached SW L1 index against the embedded CSI 300."""
    rec = Recorder()
    fetch("sw_l1", "2024-01-02", "2024-06-28", root=tmp_path / "c", provider="akshare", adapter=rec)
    monkeypatch.setenv("JINGONG_DATA_DIR", str(tmp_path / "c"))
    y = tmp_path / "s.yaml"
    y.write_text("name: t\ndata: {source: cache, datasets: [sw_l1], start: 2024-02-01, end: 2024-03-29}\n"
                 "signal: {name: hold, params: {panel: sw_l1, code: 801010.SI}}\n"
                 "costs: {commission: 0, min_commission: 0, stamp_duty: none, transfer_fee: 0}\nmarket_rules: {limits: off}\n")
    from engine.run import main

    code = main([str(y), "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert code == 0, err
    # the cache holds no panel 'index': the benchmark comes from the embedded CSI 300, and the command says so in
    # one warning line (engine.errors.run_cli prints data warnings as 'warning: ...')
    assert "warning: " in err and "no panel 'index' in the data" in err and "Warning:" not in err
    m = json.loads(next((tmp_path / "out").rglob("metrics.json")).read_text())
    close = {d: 1000 + 10 + d.day_of_year for d in CAL}
    base = pd.Timestamp("2024-01-31")          # last trading day before data.start: bought at its close, no costs
    assert m["strategy"]["total_return"] == pytest.approx(close[pd.Timestamp("2024-03-29")] / close[base] - 1, rel=1e-12)


def test_empty_cache_and_default_root(tmp_path, monkeypatch):
    monkeypatch.setenv("JINGONG_DATA_DIR", str(tmp_path / "nothing"))
    assert data_root() == tmp_path / "nothing"
    with pytest.raises(DataError, match="the data cache is empty; fetch a dataset first"):
        load_cache(DataConfig(source="cache"))


def test_list_shows_the_cache(tmp_path, capsys):
    from engine.data import __main__ as data_main

    fetch("sw_l1", "2024-02-01", "2024-03-29", root=tmp_path, provider="akshare", adapter=Recorder())
    assert data_main.main(["list", "--dir", str(tmp_path)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == f"cache: {tmp_path}" and out[1].split()[:6] == ["dataset", "provider", "version", "range", "rows", "codes"]
    n = 2 * len(CAL[(CAL >= "2024-02-01") & (CAL <= "2024-03-29")])
    assert out[2].split()[:6] == ["sw_l1", "akshare", out[2].split()[2], "2024-02-01..2024-03-29", str(n), "2"]
