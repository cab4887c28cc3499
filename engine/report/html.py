"""One self-contained HTML page (``report.html``): sections of tables and interactive plotly charts, offline.

The generic writer for every page (run, sweep, comparison, and any other caller such as a dashboard):

    page = Page("标题 / title", language="both", synthetic=True)
    page.section(("业绩指标", "Performance metrics"), page.table(df), page.figure(traces, layout),
                 page.image(run_dir / "block.png"), page.pre(markdown_text))
    write_page(run_dir / "report.html", page, provenance={...})

Charts are plotly figures written as JSON specs (no plotly Python import). plotly.js (the copy the ``plotly``
package ships, ~4.8 MB) is embedded once per file, gzip-compressed and base64-encoded (~1.9 MB), and unpacked in
the browser with ``DecompressionStream`` (every current browser): a 20-year daily run stays near 2.5 MB. The page
refers to no URL; tables are plain HTML and readable even where the charts cannot render. Date arrays shared by
many traces are stored once (``x: "@dates"``).
"""
from __future__ import annotations

import base64
import gzip
import html as _html
import importlib.util
import json
import math
import os
import re
from pathlib import Path

import numpy as np
import pandas as pd

from engine.report.labels import fmt, kind_of, label

LANGUAGES = ("zh", "en", "both")
SYNTH_TAG = ("模拟数据", "SYNTHETIC")


def plotly_js_path() -> Path | None:
    """The plotly.min.js shipped by the installed ``plotly`` package (found without importing plotly)."""
    spec = importlib.util.find_spec("plotly")
    if spec is None or not spec.submodule_search_locations:
        return None
    p = Path(list(spec.submodule_search_locations)[0]) / "package_data" / "plotly.min.js"
    return p if p.exists() else None


def plotly_js_packed() -> str | None:
    """plotly.min.js gzip-compressed and base64-encoded; cached in ``$JINGONG_CACHE_DIR/plotly/`` (compressing
    costs ~0.5 s) keyed by the file's size and mtime. None if plotly is not installed."""
    src = plotly_js_path()
    if src is None:
        return None
    st = src.stat()
    base = Path(os.environ.get("JINGONG_CACHE_DIR") or Path.home() / ".cache" / "jingong") / "plotly"
    cached = base / f"plotly-{st.st_size}-{int(st.st_mtime)}.js.gz.b64"
    try:
        return cached.read_text(encoding="ascii")
    except OSError:
        pass
    packed = base64.b64encode(gzip.compress(src.read_bytes(), 6, mtime=0)).decode("ascii")
    try:
        base.mkdir(parents=True, exist_ok=True)
        tmp = cached.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(packed, encoding="ascii")
        tmp.replace(cached)
    except OSError:
        pass                      # an unwritable cache only costs time
    return packed


def esc(x) -> str:
    return _html.escape(str(x), quote=True)


def rounded(values, sig: int = 5) -> list:
    """Floats rounded to ``sig`` significant digits for the page (NaN/inf -> null): what keeps the file small.
    Vectorised: ``round(x * 10^e) / 10^e`` with an exact power of ten (or ``round(x / 10^-e) * 10^-e`` for large
    x), so each result is the double nearest the rounded decimal and prints as short as it."""
    a = np.asarray(values, dtype=float).ravel()
    out = np.full(a.shape, np.nan)
    ok = np.isfinite(a)
    nz = ok & (a != 0)
    out[ok & (a == 0)] = 0.0
    if nz.any():
        v = a[nz]
        e = (sig - 1 - np.floor(np.log10(np.abs(v)))).astype(int)
        r = np.empty_like(v)
        pos = e >= 0
        p10 = 10.0 ** np.abs(e)
        r[pos] = np.round(v[pos] * p10[pos]) / p10[pos]
        r[~pos] = np.round(v[~pos] / p10[~pos]) * p10[~pos]
        out[nz] = r
    return [None if x != x else x for x in out.tolist()]


def dates(index) -> list[str]:
    return np.datetime_as_string(pd.DatetimeIndex(index).values.astype("datetime64[D]"), unit="D").tolist()


class Page:
    """A report page being built: ``section(...)`` adds blocks (HTML strings from ``table``/``figure``/``text``);
    ``write(path)`` writes the file. ``language``: zh | en | both (Chinese with English beside; switchable on the
    page). ``synthetic``: every chart and table carries the SYNTHETIC label."""

    def __init__(self, title: str, language: str = "both", synthetic: bool = False, subtitle: str = ""):
        if language not in LANGUAGES:
            raise ValueError(f"language must be one of {LANGUAGES}, got {language!r}")
        self.title, self.language, self.synthetic, self.subtitle = title, language, bool(synthetic), subtitle
        self.sections: list[tuple[str, str, str]] = []
        self.figs: list[dict] = []
        self.shared: dict[str, list] = {}

    # ---------------------------------------------------------------------------------------------- labels
    def lab(self, zh_en) -> str:
        """HTML of a (中文, English) label: both spans, the page's CSS shows the chosen language."""
        if isinstance(zh_en, str):
            return esc(zh_en)
        zh, en = zh_en
        if zh == en:
            return esc(en)
        return f'<span class="zh">{esc(zh)}</span><span class="en">{esc(en)}</span>'

    def txt(self, zh_en) -> str:
        """Plain text of a label in the page's language (for chart titles and axes)."""
        if isinstance(zh_en, str):
            return zh_en
        zh, en = zh_en
        return zh if self.language == "zh" else en if self.language == "en" or zh == en else f"{zh} {en}"

    def key_lab(self, key: str) -> str:
        return self.lab(label(key))

    # ---------------------------------------------------------------------------------------------- blocks
    def share(self, name: str, values: list) -> str:
        """Store an array once (e.g. the dates); traces refer to it as ``"@name"``."""
        self.shared[name] = values
        return "@" + name

    def figure(self, traces: list[dict], layout: dict | None = None, height: int = 380,
               synthetic: bool | None = None, cls: str = "") -> str:
        """A plotly chart: ``traces`` and ``layout`` as in plotly.js. Returns the placeholder HTML."""
        i = len(self.figs)
        lay = {"height": height, "margin": {"l": 60, "r": 20, "t": 40, "b": 40}, "hovermode": "x unified",
               "legend": {"orientation": "h", "y": -0.15}, "template": None,
               "font": {"family": "system-ui, 'Noto Sans CJK SC', 'Microsoft YaHei', sans-serif", "size": 12},
               "plot_bgcolor": "#fff", "paper_bgcolor": "#fff",
               "xaxis": {"gridcolor": "#eee"}, "yaxis": {"gridcolor": "#eee"}}
        if isinstance((layout or {}).get("title"), dict):
            layout["title"] = {"x": 0.0, "xanchor": "left", "font": {"size": 14}, **layout["title"]}
        for k, v in (layout or {}).items():
            lay[k] = {**lay[k], **v} if isinstance(v, dict) and isinstance(lay.get(k), dict) else v
        if self.synthetic if synthetic is None else synthetic:
            lay.setdefault("annotations", []).append(
                {"text": self.txt(SYNTH_TAG), "xref": "paper", "yref": "paper", "x": 1, "y": 1.0,
                 "xanchor": "right", "yanchor": "bottom", "showarrow": False,
                 "font": {"color": "#b00020", "size": 13}})
        self.figs.append({"id": f"fig{i}", "data": traces, "layout": lay})
        return f'<div class="chart {cls}" id="fig{i}" data-chart="{i}"></div>'

    def text(self, s: str) -> str:
        """A paragraph of HTML (escape plain text with :func:`esc` first)."""
        return f"<p>{s}</p>"

    def pre(self, s: str) -> str:
        """Preformatted plain text (escaped), e.g. a terminal table or a Markdown block."""
        return f"<pre>{esc(s)}</pre>"

    def image(self, png, caption=None, synthetic: bool | None = None) -> str:
        """A PNG file (or bytes) embedded as a base64 ``data:`` URI: the page stays one self-contained file."""
        data = png if isinstance(png, (bytes, bytearray)) else Path(png).read_bytes()
        cap = (f"<figcaption>{self.lab(caption) if caption is not None else ''}{self.badge(synthetic)}"
               "</figcaption>") if caption is not None or self.badge(synthetic) else ""
        return (f'<figure class="img"><img alt="" src="data:image/png;base64,'
                f'{base64.b64encode(bytes(data)).decode("ascii")}">{cap}</figure>')

    def badge(self, synthetic: bool | None = None) -> str:
        return (f'<span class="synth">{self.lab(SYNTH_TAG)}</span>'
                if (self.synthetic if synthetic is None else synthetic) else "")

    def table(self, df: pd.DataFrame, caption=None, kinds: dict | None = None, index: bool = True,
              synthetic: bool | None = None, heat: bool = False, cls: str = "") -> str:
        """An HTML table of a frame; numbers formatted by column ``kinds`` (column -> pct|ratio|...), else by the
        column name (:func:`engine.report.labels.kind_of`). Cells carry ``data-value`` (the unformatted number).
        ``heat``: colour numeric cells by sign (red up, green down: the A-share convention)."""
        kinds = kinds or {}
        head = ([esc(df.index.name or "")] if index else []) + [self.col_lab(c) for c in df.columns]
        rows = []
        for idx, r in zip(df.index, df.itertuples(index=False)):
            cells = [f"<th>{esc(_cell_text(idx))}</th>"] if index else []
            for c, v in zip(df.columns, r):
                kind = kinds.get(c) or kind_of(str(c), _py(v))
                cells.append(self.td(_py(v), kind, heat=heat))
            rows.append("<tr>" + "".join(cells) + "</tr>")
        cap = ""
        if caption is not None or self.badge(synthetic):
            cap = f"<caption>{self.lab(caption) if caption is not None else ''}{self.badge(synthetic)}</caption>"
        return (f'<div class="tablewrap"><table class="{cls}">{cap}<thead><tr>'
                + "".join(f"<th>{h}</th>" for h in head) + "</tr></thead><tbody>" + "".join(rows)
                + "</tbody></table></div>")

    def col_lab(self, c) -> str:
        return self.lab(label(str(c))) if isinstance(c, str) else esc(c)

    def td(self, v, kind: str, key: str = "", heat: bool = False) -> str:
        attrs = f' data-key="{esc(key)}"' if key else ""
        style = ""
        if isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v):
            attrs += f' data-value="{v!r}"'
            if heat and kind == "pct" and v != 0:
                a = min(abs(v) / 0.10, 1.0) * 0.55 + 0.08
                style = f' style="background:rgba({"214,39,40" if v > 0 else "44,160,44"},{a:.2f})"'
        return f'<td class="{kind}"{attrs}{style}>{esc(_cell_text(v, kind))}</td>'

    def section(self, heading, *blocks: str, note=None) -> None:
        sid = f"s{len(self.sections)}"
        body = (f'<p class="note">{self.lab(note)}</p>' if note else "") + "".join(b for b in blocks if b)
        self.sections.append((sid, self.lab(heading), body))

    # ---------------------------------------------------------------------------------------------- output
    def render(self, provenance: dict | None = None) -> str:
        packed = plotly_js_packed() if self.figs else None
        data = json.dumps({"shared": self.shared, "figs": self.figs}, ensure_ascii=False, allow_nan=False,
                          separators=(",", ":")).replace("</", "<\\/")
        nav = "".join(f'<a href="#{sid}">{h}</a>' for sid, h, _ in self.sections)
        secs = "".join(f'<section id="{sid}"><h2>{h}</h2>{b}</section>' for sid, h, b in self.sections)
        banner = ""
        if self.synthetic:
            banner = ('<div class="banner">' + self.lab((
                "模拟数据: 信号输入来自模拟的A股市场 (engine/data/synthetic); 这些数字只演示流程, 不构成证据。",
                "SYNTHETIC DATA: the signal inputs come from the simulated A-share market; these numbers "
                "demonstrate the pipeline and are not evidence.")) + "</div>")
        prov = ""
        if provenance:
            prov = (f'<section id="provenance"><h2>{self.lab(label("provenance"))}</h2><details open><summary>'
                    "meta</summary><pre>" + esc(json.dumps(provenance, indent=2, ensure_ascii=False, default=str))
                    + "</pre></details></section>")
        no_js = ("" if packed or not self.figs else
                 '<div class="banner">plotly is not installed: charts are omitted (pip install plotly)</div>')
        on = ' class="on"'
        langs = "".join(f'<button data-lang="{k}"{on if k == self.language else ""}>{t}</button>'
                        for k, t in (("zh", "中文"), ("en", "English"), ("both", "中/EN")))
        parts = {"title": esc(self.title), "subtitle": esc(self.subtitle), "lang": self.language, "langs": langs,
                 "banner": banner + no_js, "nav": nav, "sections": secs, "provenance": prov, "css": _CSS,
                 "js": _JS, "n_figs": str(len(self.figs)), "data": data, "plotly": packed or ""}
        return re.sub(r"\{(\w+)\}", lambda m: parts[m.group(1)], _TEMPLATE)   # one pass: values not rescanned

    def write(self, path, provenance: dict | None = None) -> Path:
        path = Path(path)
        path.write_text(self.render(provenance), encoding="utf-8")
        return path


def write_page(path, page: Page, provenance: dict | None = None) -> Path:
    """Write ``page`` to ``path`` (the generic entry point for any results folder)."""
    return page.write(path, provenance)


def _py(v):
    if isinstance(v, (np.floating,)):
        return float(v)
    if isinstance(v, (np.integer,)):
        return int(v)
    if isinstance(v, pd.Timestamp):
        return f"{v:%Y-%m-%d}"
    return v


def _cell_text(v, kind: str = "text") -> str:
    if isinstance(v, pd.Timestamp):
        return f"{v:%Y-%m-%d}"
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return "" if kind == "blank" else "n/a"
    return fmt(v, kind) if kind != "text" else str(v)


_CSS = """
*{box-sizing:border-box}body{font-family:system-ui,-apple-system,"Segoe UI","Noto Sans CJK SC","Microsoft YaHei",
"PingFang SC",sans-serif;margin:0;color:#222;background:#f6f7f9;font-size:14px}
header{background:#1f2d3d;color:#fff;padding:14px 24px}header h1{margin:0;font-size:20px}
header .sub{opacity:.8;font-size:13px;margin-top:4px}
nav{position:sticky;top:0;background:#fff;border-bottom:1px solid #ddd;padding:6px 24px;z-index:5;
display:flex;flex-wrap:wrap;gap:4px 14px;align-items:center}nav a{color:#1f5fa8;text-decoration:none;font-size:13px}
nav .langs{margin-left:auto}nav button{border:1px solid #ccc;background:#fff;border-radius:3px;cursor:pointer;
font-size:12px;padding:2px 8px}nav button.on{background:#1f5fa8;color:#fff;border-color:#1f5fa8}
main{max-width:1200px;margin:0 auto;padding:8px 24px 40px}
section{background:#fff;border:1px solid #e3e5e8;border-radius:6px;margin:14px 0;padding:10px 16px}
h2{font-size:16px;margin:4px 0 10px;color:#1f2d3d}h3{font-size:14px;margin:14px 0 6px}
.tablewrap{overflow-x:auto;margin:6px 0 12px}table{border-collapse:collapse;font-size:13px}
th,td{padding:3px 8px;border-bottom:1px solid #eee;text-align:right;white-space:nowrap}
thead th{background:#f0f2f5;position:sticky;top:0}tbody th{text-align:left;font-weight:500}
td.text{text-align:left;white-space:normal;max-width:520px;color:#555;font-size:12px}
caption{text-align:left;font-weight:600;padding:4px 0;caption-side:top}
.synth{color:#fff;background:#b00020;border-radius:3px;padding:1px 6px;margin-left:8px;font-size:11px;
font-weight:600}
.banner{background:#fff3f3;border:2px solid #b00020;color:#8a0018;padding:8px 14px;margin:10px 0;border-radius:6px;
font-weight:600}
.note{color:#555;font-size:13px}.chart{width:100%;min-height:120px}pre{font-size:12px;overflow-x:auto}
figure.img{margin:8px 0}figure.img img{max-width:100%;height:auto}
.grid2{display:grid;grid-template-columns:1fr 1fr;gap:12px}
body.lang-both .en{color:#777;margin-left:.4em;font-size:.92em}body.lang-zh .en{display:none}
body.lang-en .zh{display:none}
#jg-errors{color:#b00020;white-space:pre-wrap}
.tablewrap:has(table.lists){max-height:620px;overflow-y:auto}
"""

_JS = r"""
(function(){
  var E=document.getElementById('jg-errors');
  function report(m){E.textContent+=String(m)+"\n";E.setAttribute('data-n',String(+(E.getAttribute('data-n')||0)+1));}
  window.onerror=function(m,s,l,c,e){report(m+(e&&e.stack?" "+e.stack:""));};
  window.addEventListener('unhandledrejection',function(ev){report("unhandled rejection: "+ev.reason);});
  var oe=console.error;console.error=function(){report(Array.prototype.join.call(arguments," "));oe.apply(console,arguments);};
  document.querySelectorAll('nav .langs button').forEach(function(b){b.addEventListener('click',function(){
    document.body.className='lang-'+b.dataset.lang;
    document.querySelectorAll('nav .langs button').forEach(function(o){o.classList.toggle('on',o===b);});});});
  var D=JSON.parse(document.getElementById('jg-data').textContent);
  var packed=document.getElementById('jg-plotly').textContent.trim();
  if(!D.figs.length){document.body.setAttribute('data-charts-rendered','0');return;}
  if(!packed){return;}
  if(typeof DecompressionStream==='undefined'){report('this browser cannot unpack the embedded charts library '+
    '(DecompressionStream missing); the tables are complete');return;}
  var bin=atob(packed),u8=new Uint8Array(bin.length);for(var i=0;i<bin.length;i++)u8[i]=bin.charCodeAt(i);
  new Response(new Blob([u8]).stream().pipeThrough(new DecompressionStream('gzip'))).text().then(function(src){
    var s=document.createElement('script');s.textContent=src;document.head.appendChild(s);
    function res(v){return (typeof v==='string'&&v.charAt(0)==='@')?D.shared[v.slice(1)]:v;}
    var done=0;
    return Promise.all(D.figs.map(function(f){
      f.data.forEach(function(t){['x','y','z','text','customdata'].forEach(function(k){if(k in t)t[k]=res(t[k]);});});
      return Plotly.newPlot(f.id,f.data,f.layout,{displaylogo:false,responsive:true}).then(function(){done++;});
    })).then(function(){document.body.setAttribute('data-charts-rendered',String(done));});
  }).catch(function(e){report(e&&e.stack?e.stack:e);});
})();
"""

_TEMPLATE = """<!DOCTYPE html>
<html lang="zh-CN"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>{title}</title><style>{css}</style></head>
<body class="lang-{lang}" data-charts="{n_figs}">
<header><h1>{title}</h1><div class="sub">{subtitle}</div></header>
<nav>{nav}<span class="langs">{langs}</span></nav>
<main>{banner}<div id="jg-errors"></div>{sections}{provenance}</main>
<script id="jg-data" type="application/json">{data}</script>
<script id="jg-plotly" type="application/octet-stream">{plotly}</script>
<script>{js}</script>
</body></html>
"""
