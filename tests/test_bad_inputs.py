"""The bad-input corpus: every case exits with status 2 and ONE line on stderr that names what is wrong (or, for
input that is accepted but suspicious, runs with a ``warning: ...`` line naming it); never a traceback; nothing in
the user's folders changes (the case's own folder and the repository's results/).

Cases call the entry points in-process (``main(argv)``, the same function ``python -m ...`` runs; cheap), so the
whole corpus takes seconds; interpreter-level behaviour (exit status of the real process) is covered by a few
subprocess cases at the end. Each case lists substrings that the message must contain (case-insensitive).
"""
from __future__ import annotations

import hashlib
import socket
import threading
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]

BASE = {
    "name": "t",
    "data": {"source": "embedded", "start": "2023-01-01", "end": "2023-06-30"},
    "benchmark": {"panel": "index", "code": "000300.SH", "name": "CSI 300"},
    "signal": {"name": "ma_timing", "params": {"code": "000300.SH", "short": 5, "long": 20}},
    "costs": {"commission": 0.0003, "min_commission": 5.0, "stamp_duty": "none"},
    "market_rules": {"limits": "off"},
}


def cfg(*edits, **top) -> str:
    """BASE with ``("section.key", value)`` edits (value None deletes) and top-level replacements, as YAML."""
    d = yaml.safe_load(yaml.safe_dump(BASE))
    d.update(top)
    for key, value in edits:
        *path, last = key.split(".")
        node = d
        for p in path:
            node = node.setdefault(p, {})
        if value is None:
            node.pop(last, None)
        else:
            node[last] = value
    return yaml.safe_dump(d, allow_unicode=True, sort_keys=False)


RAW = yaml.safe_dump(BASE, sort_keys=False)
SWEEP = cfg(sweep={"signal.params.short": [5, 10], "signal.params.long": [20, 40]})


@dataclass
class Case:
    id: str
    argv: list                      # "{c}" = the case's config file, "{d}" = its folder, "{x}" = a fresh path
    expect: tuple                   # substrings of the message (case-insensitive)
    files: dict = field(default_factory=dict)     # name -> text or bytes; "c.yaml" is "{c}"
    entry: str = "run"              # run | compare | signals | data
    warn: bool = False              # accepted with a warning (exit 0)
    env: dict = field(default_factory=dict)


def C(id, argv, expect, text=None, **kw):
    files = kw.pop("files", {})
    if text is not None:
        files = {"c.yaml": text, **files}
    return Case(id, argv, tuple(expect) if isinstance(expect, (list, tuple)) else (expect,), files, **kw)


RUN = ["{c}", "--out", "{x}", "--no-chart"]
CSV_CFG = cfg(("data", {"source": "csv", "path": "{d}/d.csv", "panel": "index", "layout": "long"}),
              ("signal.name", "hold"), ("signal.params", {"code": "000300.SH"}))
_ROWS = "".join(f"000300.SH,2023-01-{d:02d},{3900 + d}.5\n" for d in (3, 4, 5, 6, 9, 10))
VENDOR = {   # real export habits: (file bytes, further substrings of the message)
    "gbk-csv": (("代码,日期,收盘价\n" + _ROWS).encode("gbk"), []),                     # Wind/Choice save as GBK
    "dash-missing": (("code,date,close\n" + _ROWS + "000300.SH,2023-01-11,--\n").encode(), ["--"]),  # iFinD/Wind blanks
    "xlsx-as-csv": (b"PK\x03\x04\x14\x00\x06\x00" + b"\x00" * 64, []),                      # an .xlsx renamed
    "header-only": (b"code,date,close\n", []),
    "empty-file": (b"", []),
    "semicolon-separated": (("code;date;close\n" + _ROWS.replace(",", ";")).encode(), []),   # European Excel locale
    "na-close": (("code,date,close\n" + _ROWS + "000300.SH,2023-01-11,N/A\n").encode(), ["2023-01-11"]),
}
GBK_YAML = ("name: t\ndescription: 沪深300 均线择时\n" + RAW.split("\n", 1)[1]).encode("gbk")

CASES = [
    # ------------------------------------------------------------------ the config file itself
    C("missing-config", ["{d}/nope.yaml"], ["nope.yaml", "not found"]),
    C("directory-as-config", ["{d}"], ["is a directory"]),
    C("gbk-yaml", RUN, ["c.yaml", "not utf-8", "gbk"], files={"c.yaml": GBK_YAML}),
    C("utf16-yaml-bom", RUN, ["c.yaml", "utf-16"], files={"c.yaml": RAW.encode("utf-16")}),
    C("utf16be-yaml-bom", RUN, ["c.yaml", "utf-16"], files={"c.yaml": b"\xfe\xff" + RAW.encode("utf-16-be")}),
    C("latin1-yaml", RUN, ["c.yaml", "not utf-8"], files={"c.yaml": "name: caf\xe9\n".encode("latin-1") + RAW.split("\n", 1)[1].encode()}),
    C("empty-yaml", RUN, ["c.yaml", "mapping"], ""),
    C("list-yaml", RUN, ["c.yaml", "mapping"], "- name: t\n- signal: hold\n"),
    C("scalar-yaml", RUN, ["c.yaml", "mapping"], "just a string\n"),
    C("bad-yaml-syntax", RUN, ["c.yaml", "not valid yaml"], "name: t\ndata: {source: embedded\n"),
    C("tab-indent-yaml", RUN, ["c.yaml", "not valid yaml"], "name: t\ndata:\n\tsource: embedded\n"),
    C("duplicate-top-key", RUN, ["c.yaml", "'data'", "twice"], RAW + "data: {source: synthetic}\n"),
    C("duplicate-nested-key", RUN, ["c.yaml", "'commission'", "twice"],
      RAW.replace("  commission: 0.0003\n", "  commission: 0.0003\n  commission: 0.001\n")),
    C("duplicate-param", RUN, ["c.yaml", "'short'", "twice"], RAW.replace("    short: 5\n", "    short: 5\n    short: 10\n")),
    C("unknown-top-key", RUN, ["c.yaml", "sginal", "did you mean 'signal'"], RAW + "sginal: x\n"),
    C("unknown-section-key", RUN, ["execution.lgg", "did you mean 'lag'"], cfg(("execution.lgg", 2))),
    C("unknown-signal", RUN, ["signal.name", "ma_timeing", "did you mean 'ma_timing'"], cfg(("signal.name", "ma_timeing"))),
    C("unknown-signal-param", RUN, ["signal.params.shrot", "did you mean 'short'"], cfg(("signal.params.shrot", 5))),
    C("missing-name", RUN, ["'name'", "required"], cfg(name="")),
    C("name-with-slash", RUN, ["'name'", "slashes"], cfg(name="a/b")),
    C("section-not-mapping", RUN, ["'costs'", "mapping"], cfg(costs=3)),
    C("bad-source", RUN, ["data.source", "did you mean 'embedded'"], cfg(("data.source", "embeded"))),
    C("bad-size", RUN, ["data.size", "not allowed"], cfg(("data.size", "tiny"))),
    # ------------------------------------------------------------------ dates and periods
    C("start-bad-date", RUN, ["data.start", "2015-13-45", "yyyy-mm-dd"], cfg(("data.start", "2015-13-45"))),
    C("start-six-digits", RUN, ["data.start", "201501", "yyyy-mm-dd"], cfg(("data.start", 201501))),
    C("start-slashes", RUN, ["data.start", "2015/01/05", "yyyy-mm-dd"], cfg(("data.start", "2015/01/05"))),
    C("start-float", RUN, ["data.start", "yyyy-mm-dd"], cfg(("data.start", 2015.5))),
    C("end-before-start", RUN, ["data.end", "before start"], cfg(("data.end", "2022-01-01"))),
    C("start-after-data", RUN, ["data.start", "after the last date"], cfg(("data.start", "2030-01-01"), ("data.end", None))),
    C("end-before-data", RUN, ["data.end", "before the first date"], cfg(("data.start", None), ("data.end", "1990-01-01"))),
    C("one-day-period", RUN, ["data.start", "widen"], cfg(("data.start", "2023-03-01"), ("data.end", "2023-03-01"))),
    C("weekend-period", RUN, ["data.start", "0 trading day"], cfg(("data.start", "2023-03-04"), ("data.end", "2023-03-05"))),
    # ------------------------------------------------------------------ costs, execution, rules, metrics
    C("commission-3", RUN, ["costs.commission", "fractions"], cfg(("costs.commission", 3))),
    C("commission-percent", RUN, ["costs.commission", "fractions"], cfg(("costs.commission", 0.3))),
    C("commission-negative", RUN, ["costs.commission", ">= 0"], cfg(("costs.commission", -0.1))),
    C("commission-string", RUN, ["costs.commission", "expected a number"], cfg(("costs.commission", "3bp"))),
    C("commission-high-warns", RUN, ["costs.commission", "unusually high"], cfg(("costs.commission", 0.02)), warn=True),
    C("transfer-fee-huge", RUN, ["costs.transfer_fee", "fractions"], cfg(("costs.transfer_fee", 0.5))),
    C("stamp-duty-percent", RUN, ["costs.stamp_duty", "fractions"], cfg(("costs.stamp_duty", [{"from": "2008-09-19", "sell": 0.5}]))),
    C("slippage-negative", RUN, ["costs.slippage_bps", ">= 0"], cfg(("costs.slippage_bps", -2))),
    C("min-commission-string", RUN, ["costs.min_commission", "expected a number"], cfg(("costs.min_commission", "five"))),
    C("stamp-duty-typo", RUN, ["costs.stamp_duty", "a_share"], cfg(("costs.stamp_duty", "ashare"))),
    C("stamp-duty-unsorted", RUN, ["costs.stamp_duty", "sorted"],
      cfg(("costs.stamp_duty", [{"from": "2023-08-28", "sell": 0.0005}, {"from": "2008-09-19", "sell": 0.001}]))),
    C("stamp-duty-bad-item", RUN, ["costs.stamp_duty", "item 0"], cfg(("costs.stamp_duty", [{"sell": 0.001}]))),
    C("stamp-duty-negative", RUN, ["costs.stamp_duty", "sell"], cfg(("costs.stamp_duty", [{"from": "2008-09-19", "sell": -1}]))),
    C("lag-negative", RUN, ["execution.lag", ">= 0"], cfg(("execution.lag", -1))),
    C("lag-fraction", RUN, ["execution.lag", "integer"], cfg(("execution.lag", 1.5))),
    C("price-typo", RUN, ["execution.price", "did you mean 'open'"], cfg(("execution.price", "opne"))),
    C("open-lag-0", RUN, ["execution.lag", "lag >= 1"], cfg(("execution.price", "open"), ("execution.lag", 0))),
    C("cash-zero", RUN, ["execution.initial_cash", "> 0"], cfg(("execution.initial_cash", 0))),
    C("cash-below-min-commission", RUN, ["execution.initial_cash", "min_commission"], cfg(("execution.initial_cash", 10))),
    C("threshold-above-one", RUN, ["execution.rebalance_threshold"], cfg(("execution.rebalance_threshold", 5))),
    C("limits-yes-no", RUN, ["market_rules.limits", "not allowed"], cfg(("market_rules.limits", "maybe"))),
    C("lot-negative", RUN, ["market_rules.lot_size", ">= 0"], cfg(("market_rules.lot_size", -100))),
    C("suspension-string", RUN, ["market_rules.suspension", "true/false"], cfg(("market_rules.suspension", "sometimes"))),
    C("ppy-zero", RUN, ["metrics.periods_per_year", "positive"], cfg(("metrics.periods_per_year", 0))),
    C("primary-excess-typo", RUN, ["metrics.primary_excess", "did you mean 'geometric'"], cfg(("metrics.primary_excess", "geometic"))),
    C("last-n-days-zero", RUN, ["output.last_n_days", "> 0"], cfg(("output.last_n_days", 0))),
    # ------------------------------------------------------------------ signal parameters against the data
    C("short-ge-long", RUN, ["short", "long"], cfg(("signal.params.short", 60), ("signal.params.long", 20))),
    C("short-zero", RUN, ["signal.params.short", "> 0"], cfg(("signal.params.short", 0))),
    C("short-text", RUN, ["signal.params.short", "integer"], cfg(("signal.params.short", "ten"))),
    C("code-not-in-data", RUN, ["signal.params.code", "000905.SH", "not in panel 'index'"], cfg(("signal.params.code", "000905.SH"))),
    C("hold-code-missing", RUN, ["signal.params.code", "600000.SH"], cfg(("signal.name", "hold"), ("signal.params", {"code": "600000.SH"}))),
    C("window-longer-than-data", RUN, ["signal.params.long", "longer than the data"], cfg(("signal.params.long", 6000)), warn=True),
    C("benchmark-code-missing", RUN, ["benchmark.code", "000905.SH"], cfg(("benchmark.code", "000905.SH"))),
    C("benchmark-panel-missing", RUN, ["panel 'sw_l1'"], cfg(("benchmark.panel", "sw_l1"))),
    C("extra-benchmark-no-signal", RUN, ["extra_benchmarks", "signal"], cfg(extra_benchmarks=[{"name": "x"}])),
    C("extra-benchmark-typo", RUN, ["extra_benchmarks", "did you mean"], cfg(extra_benchmarks=[{"name": "x", "signal": "hodl"}])),
    C("signal-params-list", RUN, ["signal.params", "mapping"], cfg(("signal.params", [1, 2]))),
    # ------------------------------------------------------------------ --set overrides
    C("set-no-equals", ["{c}", "--set", "execution.lag", "--out", "{x}"], ["--set", "key.sub=value"], RAW),
    C("set-empty-key", ["{c}", "--set", "=3", "--out", "{x}"], ["--set", "empty key"], RAW),
    C("set-k-8", ["{c}", "--set", "signal.params.k=8", "--out", "{x}"], ["signal.params.k", "unknown parameter"], RAW),
    C("set-not-section", ["{c}", "--set", "name.x=1", "--out", "{x}"], ["--set", "'name' is not a section"], RAW),
    C("set-size-typo", ["{c}", "--set", "data.size=smal", "--out", "{x}"], ["data.size", "did you mean 'small'"], RAW),
    C("set-duplicate-key", ["{c}", "--set", "costs={commission: 0.001, commission: 0.002}", "--out", "{x}"],
      ["--set costs=", "'commission'", "twice"], RAW),
    C("set-lag-text", ["{c}", "--set", "execution.lag=two", "--out", "{x}"], ["execution.lag", "integer"], RAW),
    # ------------------------------------------------------------------ output locations (checked before computing)
    C("out-proc", ["{c}", "--out", "/proc/jingong-x"], ["--out /proc/jingong-x", "cannot write"], RAW),
    C("out-nonempty", ["{c}", "--out", "{d}"], ["not empty"], RAW),
    C("out-is-file", ["{c}", "--out", "{c}"], ["--out", "is a file"], RAW),
    C("out-under-file", ["{c}", "--out", "{c}/sub"], ["--out", "is a file"], RAW),
    C("results-dir-readonly", ["{c}"], ["output.dir", "cannot write"], cfg(output={"dir": "/proc/jingong-results"})),
    C("cache-dir-unwritable", RUN, ["JINGONG_CACHE_DIR", "cannot write"], RAW, env={"JINGONG_CACHE_DIR": "/proc/jingong-cache"}),
    C("sweep-only-flag", ["{c}", "--workers", "2", "--out", "{x}"], ["--sweep"], RAW),
    C("dry-run-without-sweep", ["{c}", "--dry-run"], ["--sweep"], RAW),
    C("json-with-sweep", ["{c}", "--sweep", "--json"], ["--json"], SWEEP),
    # ------------------------------------------------------------------ sweeps
    C("sweep-out-proc", ["{c}", "--sweep", "--out", "/proc/jingong-x"], ["--out /proc/jingong-x", "cannot write"], SWEEP),
    C("sweep-no-section", ["{c}", "--sweep", "--out", "{x}"], ["sweep", "section"], RAW),
    C("sweep-param-typo", ["{c}", "--sweep", "--out", "{x}"], ["signal.params.shrot", "did you mean 'short'"],
      cfg(sweep={"signal.params.shrot": [5, 10]})),
    C("sweep-section-typo", ["{c}", "--sweep", "--out", "{x}"], ["excution.lag", "did you mean 'execution'"],
      cfg(sweep={"excution.lag": [1, 2]})),
    C("sweep-key-typo", ["{c}", "--sweep", "--out", "{x}"], ["execution.lgg", "did you mean 'lag'"],
      cfg(sweep={"execution.lgg": [1, 2]})),
    C("sweep-not-sweepable", ["{c}", "--sweep", "--out", "{x}"], ["signal.name", "cannot be swept"],
      cfg(sweep={"signal.name": ["hold", "ma_timing"]})),
    C("sweep-above-cap", ["{c}", "--sweep", "--max-combinations", "3"], ["4 combinations", "--max-combinations 4"], SWEEP),
    C("sweep-huge-grid", ["{c}", "--sweep"], ["above the cap", "250,000"],
      cfg(sweep={"signal.params.short": {"start": 1, "stop": 1000, "step": 1},
                 "signal.params.long": {"start": 2, "stop": 1001, "step": 1}})),
    C("sweep-value-invalid-everywhere", ["{c}", "--sweep", "--out", "{x}"], ["execution.lag", "-1"],
      cfg(sweep={"execution.lag": [-1]})),
    C("sweep-overlap-split", ["{c}", "--sweep", "--out", "{x}"], ["sweep.split", "overlap"],
      cfg(("data.start", "2015-01-01"), ("data.end", "2023-06-30"),
          sweep={"signal.params.short": [5, 10],
                 "split": {"in_sample": ["2015-01-01", "2020-12-31"], "out_of_sample": ["2019-01-01", "2023-06-30"]}})),
    C("sweep-split-outside-data", ["{c}", "--sweep", "--out", "{x}"], ["sweep.split.out_of_sample", "inside the data"],
      cfg(sweep={"signal.params.short": [5, 10],
                 "split": {"in_sample": ["2015-01-01", "2020-12-31"], "out_of_sample": ["2021-01-01", "2031-06-30"]}})),
    C("sweep-range-step-0", ["{c}", "--sweep"], ["signal.params.short", "step > 0"],
      cfg(sweep={"signal.params.short": {"start": 5, "stop": 10, "step": 0}})),
    C("sweep-empty-list", ["{c}", "--sweep"], ["signal.params.short", "empty"], cfg(sweep={"signal.params.short": []})),
    C("sweep-duplicate-value", ["{c}", "--sweep"], ["signal.params.short", "twice"], cfg(sweep={"signal.params.short": [5, 5]})),
    C("sweep-rank-by-typo", ["{c}", "--sweep"], ["sweep.rank_by", "did you mean 'sharpe'"],
      cfg(sweep={"signal.params.short": [5, 10], "rank_by": "sharp"})),
    C("sweep-cscv-odd", ["{c}", "--sweep"], ["sweep.cscv_blocks", "even"], cfg(sweep={"signal.params.short": [5, 10], "cscv_blocks": 5})),
    C("sweep-folds-zero", ["{c}", "--sweep"], ["walk_forward.folds"],
      cfg(sweep={"signal.params.short": [5, 10], "split": {"walk_forward": {"folds": 0}}})),
    C("sweep-mode-typo", ["{c}", "--sweep"], ["sweep.mode", "did you mean 'random'"], cfg(sweep={"signal.params.short": [5, 10], "mode": "randm"})),
    C("sweep-random-no-samples", ["{c}", "--sweep"], ["sweep.samples"], cfg(sweep={"signal.params.short": [5, 10], "mode": "random"})),
    C("sweep-window-longer-than-data", ["{c}", "--sweep", "--dry-run"], ["signal.params.long", "6000", "longer than the data"],
      cfg(sweep={"signal.params.long": [20, 6000]}), warn=True),
    C("sweep-code-not-in-data", ["{c}", "--sweep", "--out", "{x}"], ["signal.params.code", "000905.SH"],
      cfg(("signal.params.code", "000905.SH"), sweep={"signal.params.short": [5, 10]})),
    C("sweep-workers-zero", ["{c}", "--sweep", "--workers", "0"], ["--workers"], SWEEP),
    # ------------------------------------------------------------------ compare
    C("compare-out-proc", ["{c}", "{c}", "--out", "/proc/jingong-x"], ["--out /proc/jingong-x", "cannot write"], RAW, entry="compare"),
    C("compare-missing-config", ["{c}", "{d}/nope.yaml", "--out", "{x}"], ["nope.yaml", "not found"], RAW, entry="compare"),
    C("compare-no-overlap", ["{c}", "{d}/b.yaml", "--out", "{x}"], ["do not overlap"], RAW, entry="compare",
      files={"b.yaml": cfg(("data.start", "2015-01-01"), ("data.end", "2015-06-30"), name="b")}),
    C("compare-results-readonly", ["{c}", "{c}"], ["output.dir", "cannot write"], cfg(output={"dir": "/proc/jingong-results"}),
      entry="compare"),
    # ------------------------------------------------------------------ signal tables
    C("signals-csv-proc", ["{c}", "--csv", "/proc/jingong-x"], ["--csv /proc/jingong-x", "cannot write"], RAW, entry="signals"),
    C("signals-asof-text", ["{c}", "--asof", "yesterday"], ["--asof", "yyyy-mm-dd"], RAW, entry="signals"),
    C("signals-asof-outside", ["{c}", "--asof", "1990-01-01"], ["--asof 1990-01-01", "outside the data"], RAW, entry="signals"),
    C("signals-code-missing", ["{c}"], ["signal.params.code", "000905.SH"], cfg(("signal.params.code", "000905.SH")), entry="signals"),
    # ------------------------------------------------------------------ synthetic data tool
    C("synth-out-proc", ["synth", "--out", "/proc/jingong-x", "--size", "small"], ["--out /proc/jingong-x", "cannot write"], entry="data"),
    C("synth-out-nonempty", ["synth", "--out", "{d}", "--size", "small"], ["not empty"], RAW, entry="data"),
    C("synth-effect-format", ["synth", "--out", "{x}", "--effect", "turnover_reversal"], ["--effect", "NAME=STRENGTH"], entry="data"),
    C("synth-effect-number", ["synth", "--out", "{x}", "--effect", "turnover_reversal=big"], ["--effect", "not a number"], entry="data"),
    C("synth-start-after-end", ["synth", "--out", "{x}", "--size", "small", "--start", "2020-01-01", "--end", "2019-01-01"],
      ["after end"], entry="data"),
    # ------------------------------------------------------------------ weights files (vendor/report exports)
    C("weights-file-missing", RUN, ["weights file not found"],
      cfg(("signal.name", "weights_file"), ("signal.params", {"path": "{d}/nope.csv"}))),
    C("weights-above-one", RUN, ["w.csv"],
      cfg(("signal.name", "weights_file"), ("signal.params", {"path": "{d}/w.csv"})),
      files={"w.csv": "date,000300.SH\n2023-02-01,150%\n"}),
    C("weights-unknown-code", RUN, ["w.csv", "000905.SH"],
      cfg(("signal.name", "weights_file"), ("signal.params", {"path": "{d}/w.csv"})),
      files={"w.csv": "date,000905.SH\n2023-02-01,1\n"}),
    C("weights-duplicate-dates", RUN, ["w.csv", "2023-02-01"],
      cfg(("signal.name", "weights_file"), ("signal.params", {"path": "{d}/w.csv"})),
      files={"w.csv": "date,000300.SH\n2023-02-01,1\n2023-02-01,0.5\n"}),
    C("weights-long-missing-column", RUN, ["w.csv", "weight"],
      cfg(("signal.name", "weights_file"), ("signal.params", {"path": "{d}/w.csv", "layout": "long"})),
      files={"w.csv": "date,code,wt\n2023-02-01,000300.SH,1\n"}),
    # ------------------------------------------------------------------ CSV / vendor exports as data
    *[C(f"vendor-{k}", RUN, ["d.csv", *more], CSV_CFG, files={"d.csv": v}) for k, (v, more) in VENDOR.items()],
    C("csv-path-missing", RUN, ["data.path", "nope.csv"],
      cfg(("data", {"source": "csv", "path": "{d}/nope.csv", "panel": "index", "layout": "long"}))),
    C("csv-missing-close", RUN, ["d.csv", "close"],
      cfg(("data", {"source": "csv", "path": "{d}/d.csv", "panel": "index", "layout": "long"})),
      files={"d.csv": "code,date,open\n000300.SH,2023-01-03,1\n000300.SH,2023-01-04,1\n"}),
    C("csv-nonpositive-price", RUN, ["d.csv", "non-positive"],
      cfg(("data", {"source": "csv", "path": "{d}/d.csv", "panel": "index", "layout": "long"})),
      files={"d.csv": "code,date,close\n000300.SH,2023-01-03,1\n000300.SH,2023-01-04,0\n"}),
    C("csv-duplicate-rows", RUN, ["d.csv", "2023-01-04"],
      cfg(("data", {"source": "csv", "path": "{d}/d.csv", "panel": "index", "layout": "long"})),
      files={"d.csv": "code,date,close\n000300.SH,2023-01-03,1\n000300.SH,2023-01-04,2\n000300.SH,2023-01-04,3\n"}),
]


def _snapshot(*dirs: Path) -> dict:
    out = {}
    for d in dirs:
        if d.is_dir():
            for p in sorted(d.rglob("*")):
                out[str(p)] = hashlib.sha256(p.read_bytes()).hexdigest() if p.is_file() else "dir"
    return out


def _entry(name: str):
    if name == "run":
        from engine.run import main
    elif name == "compare":
        from engine.compare import main
    elif name == "signals":
        from engine.signals.__main__ import main
    else:
        from engine.data.__main__ import main
    return main


def test_corpus_is_large_and_ids_unique():
    assert len(CASES) >= 80
    assert len({c.id for c in CASES}) == len(CASES)


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_input(case: Case, tmp_path, capsys, monkeypatch):
    d = tmp_path / "user"
    d.mkdir()
    fresh = tmp_path / "fresh-out"
    sub = {"{c}": str(d / "c.yaml"), "{d}": str(d), "{x}": str(fresh)}

    def fill(s):
        for k, v in sub.items():
            s = s.replace(k, v)
        return s

    for name, content in case.files.items():
        (d / name).write_bytes(content if isinstance(content, bytes) else fill(content).encode("utf-8"))
    for k, v in case.env.items():
        monkeypatch.setenv(k, v)
    before = _snapshot(d, ROOT / "results")
    rc = _entry(case.entry)([fill(a) for a in case.argv])
    out, err = capsys.readouterr()
    assert "Traceback" not in err + out
    lines = [ln for ln in err.splitlines() if ln.strip()]
    if case.warn:
        assert rc == 0, err
        warned = [ln for ln in lines if ln.startswith("warning: ")]
        assert warned, f"no warning line in stderr: {err!r}"
        # the named warning among the run's warning lines (data warnings about other panels may precede it)
        msg = next((ln for ln in warned if case.expect[0].lower() in ln.lower()), warned[0])
    else:
        assert rc == 2, f"exit {rc}; stderr: {err!r}"
        errors = [ln for ln in lines if ln.startswith("error: ")]
        assert len(errors) == 1 and lines[-1] == errors[0], err
        msg = errors[0]
        assert not fresh.exists(), "an output directory was created for a failed command"
    for s in case.expect:
        assert s.lower() in msg.lower(), f"{s!r} not in {msg!r}"
    assert _snapshot(d, ROOT / "results") == before, "the user's folders changed"


def test_yyyymmdd_start_is_accepted_as_a_date():
    from engine.config import config_from_dict

    c = config_from_dict(yaml.safe_load(cfg(("data.start", 20150105), ("data.end", 20151231))))
    assert (c.data.start, c.data.end) == ("2015-01-05", "2015-12-31")


def test_small_synthetic_start_is_clamped_with_a_warning():
    from engine.config import load_config
    from engine.errors import JingongWarning

    with pytest.warns(JingongWarning, match=r"data.start.*2010-01-04.*starts 2010-01-05.*--set data.start"):
        c = load_config(ROOT / "strategies" / "sentiment.yaml", ["data.size=small"])
    assert c.data.start == "2010-01-05"


def _garbage_server():
    """A TCP server on 127.0.0.1 that answers every connection with bytes that are not Dask's protocol."""
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(8)
    srv.settimeout(30)

    def serve():
        try:
            while True:
                conn, _ = srv.accept()
                with conn:
                    conn.sendall(b"HTTP/1.0 200 OK\r\n\r\nnot dask\x00\xff" * 16)
        except OSError:
            return

    threading.Thread(target=serve, daemon=True).start()
    return srv


def test_dask_address_answering_garbage(tmp_path, capsys):
    pytest.importorskip("dask.distributed")
    from engine.run import main

    (tmp_path / "c.yaml").write_text(SWEEP, encoding="utf-8")
    srv = _garbage_server()
    try:
        port = srv.getsockname()[1]
        rc = main([str(tmp_path / "c.yaml"), "--sweep", "--executor", "dask", "--scheduler", f"tcp://127.0.0.1:{port}",
                   "--out", str(tmp_path / "o"), "--no-chart"])
    finally:
        srv.close()
    err = capsys.readouterr().err
    assert rc == 2 and "Traceback" not in err
    line = err.strip().splitlines()[-1]
    assert line.startswith("error: --scheduler tcp://127.0.0.1:") and "not as a Dask scheduler" in line
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize("module,argv,expect", [
    ("engine.run", ["strategies"], "is a directory"),
    ("engine.run", ["strategies/hold.yaml", "--out", "/proc/jingong-x"], "cannot write"),
    ("engine.data", ["synth", "--out", "/proc/jingong-x", "--size", "small"], "cannot write"),
])
def test_real_process_exit_status(module, argv, expect):
    """The interpreter's own exit status and stderr (what a shell script sees)."""
    import os
    import subprocess
    import sys

    r = subprocess.run([sys.executable, "-m", module, *argv], cwd=ROOT, capture_output=True, text=True, timeout=300,
                       env={**os.environ, "MPLBACKEND": "Agg"})
    assert r.returncode == 2 and "Traceback" not in r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and expect in lines[0], r.stderr


@pytest.mark.skipif(not hasattr(__import__("os"), "geteuid") or __import__("os").geteuid() == 0,
                    reason="root writes into read-only directories; the /proc cases above cover it for root")
def test_read_only_results_directory(tmp_path, capsys):
    """A results/ folder without write permission fails before computing, naming output.dir."""
    from engine.run import main

    res = tmp_path / "results"
    res.mkdir()
    res.chmod(0o555)
    (tmp_path / "c.yaml").write_text(cfg(output={"dir": str(res)}), encoding="utf-8")
    try:
        rc = main([str(tmp_path / "c.yaml"), "--no-chart"])
    finally:
        res.chmod(0o755)
    err = capsys.readouterr().err
    assert rc == 2 and "output.dir" in err and "cannot write" in err and not any(res.iterdir())


@pytest.mark.skipif(__import__("sys").platform == "win32", reason="POSIX pipes")
def test_closed_stdout_exits_quietly_after_writing_the_results(tmp_path):
    """``python -m engine.run ... | head -1`` where head has already exited: the first print meets a closed pipe.
    No traceback, the status of a tool killed by SIGPIPE (141), and every results file written (files are written
    before anything is printed). The pipe's read end is closed before the process starts, so the case is exact."""
    import os
    import subprocess
    import sys

    r_fd, w_fd = os.pipe()
    os.close(r_fd)
    try:
        p = subprocess.run([sys.executable, "-m", "engine.run", "strategies/ma_timing.yaml", "--out",
                            str(tmp_path / "o"), "--no-chart"], cwd=ROOT, stdout=w_fd, stderr=subprocess.PIPE,
                           text=True, timeout=300, env={**os.environ, "MPLBACKEND": "Agg"})
    finally:
        os.close(w_fd)
    assert p.returncode == 141 and p.stderr == "", p.stderr[-2000:]
    assert {"metrics.json", "equity.csv", "summary.md", "report.html"} <= {f.name for f in (tmp_path / "o").iterdir()}
