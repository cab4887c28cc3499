"""Security code aliases -> the project's canonical ``NNNNNN.XX`` codes.

Canonical suffixes: ``.SH`` (Shanghai: stocks, funds, SSE and CSI indices quoted there), ``.SZ`` (Shenzhen),
``.BJ`` (Beijing), ``.SI`` (Shenwan indices), others kept as written (``H00300.CSI``, ``CI005001.WI``).

Accepted aliases: ``000300.XSHG`` / ``000001.XSHE`` (JoinQuant, RiceQuant), ``sh000300`` / ``SH000300`` /
``sz399001`` / ``bj430047`` (akshare, Sina, Tongdaxin), ``SH.000300`` (baostock writes ``sh.000300``), lower
case suffixes, and bare six-digit codes where the exchange follows from the number:

==========================  =======  ===============================================================
first digits                suffix   what
==========================  =======  ===============================================================
60, 68, 90, 50-58, 11       .SH      SSE A/B shares, STAR, SSE funds and ETFs, SSE bonds
00 (in panel ``stocks``)    .SZ      SZSE main board (000001 is Ping An Bank there)
00 (in panel ``index``)     .SH      SSE / CSI indices (000001 SSE Composite, 000300 CSI 300)
001, 002, 003, 30, 20       .SZ      SZSE stocks (SME, ChiNext, B shares)
15, 16, 18, 12              .SZ      SZSE funds and ETFs, bonds
399                         .SZ      SZSE indices
801, 850, 851, 852, 857     .SI      Shenwan industry indices
43, 83, 87, 92              .BJ      BSE stocks
==========================  =======  ===============================================================

A bare ``000xxx`` outside the panels ``index``/``stocks`` is ambiguous (000001 is both Ping An Bank and the SSE
Composite): an error asks for the suffix.
"""
from __future__ import annotations

import re

from engine.errors import DataError

_SUFFIX = {"XSHG": "SH", "XSHE": "SZ", "SH": "SH", "SZ": "SZ", "BJ": "BJ", "SI": "SI", "SS": "SH", "BSE": "BJ"}
_PREFIXED = re.compile(r"^(sh|sz|bj)[.]?(\d{6})$", re.IGNORECASE)
_SUFFIXED = re.compile(r"^(\d{6})\.([A-Za-z]{2,4})$")
_BARE = re.compile(r"^\d{6}$")
_INDEX_PANELS = ("index",)
_STOCK_PANELS = ("stocks",)


def _bare_suffix(code: str, panel: str | None) -> str | None:
    if code.startswith(("801", "850", "851", "852", "857")):
        return "SI"
    if code.startswith("399"):
        return "SZ"
    if code.startswith(("001", "002", "003", "30", "20", "15", "16", "18", "12")):
        return "SZ"
    if code.startswith(("60", "68", "90", "50", "51", "52", "56", "58", "11")):
        return "SH"
    if code.startswith(("43", "83", "87", "92")):
        return "BJ"
    if code.startswith("00"):
        if panel in _INDEX_PANELS:
            return "SH"
        if panel in _STOCK_PANELS:
            return "SZ"
    return None


def normalize_code(raw, panel: str | None = None, where: str = "") -> str:
    """One code in canonical form; ``panel`` disambiguates bare ``000xxx`` codes. DataError if ambiguous."""
    code = str(raw).strip()
    if code.endswith(".0") and code[:-2].isdigit():       # a spreadsheet turned 000300 into 300.0
        code = code[:-2]
    if code.isdigit() and len(code) < 6:                  # ... or dropped the leading zeros
        code = code.zfill(6)
    m = _PREFIXED.match(code)
    if m:
        return f"{m.group(2)}.{m.group(1).upper()}"
    m = _SUFFIXED.match(code)
    if m:
        suf = m.group(2).upper()
        return f"{m.group(1)}.{_SUFFIX.get(suf, suf)}"
    if _BARE.match(code):
        suf = _bare_suffix(code, panel)
        if suf is None:
            at = f"{where}: " if where else ""
            raise DataError(f"{at}code '{code}' is ambiguous without an exchange suffix (e.g. 000001 is both "
                            f"000001.SZ Ping An Bank and 000001.SH the SSE Composite); write it as {code}.SH or "
                            f"{code}.SZ")
        return f"{code}.{suf}"
    return code


def normalize_codes(codes, panel: str | None = None, where: str = "") -> list[str]:
    """Normalise a list of codes; DataError if two aliases land on the same code."""
    out = [normalize_code(c, panel, where) for c in codes]
    seen: dict[str, str] = {}
    for raw, c in zip(codes, out):
        if c in seen and str(seen[c]) != str(raw):
            at = f"{where}: " if where else ""
            raise DataError(f"{at}codes '{seen[c]}' and '{raw}' are the same security {c}; keep one of them")
        seen.setdefault(c, raw)
    return out


# Shenwan level-1 industries (2021 classification): index code -> (name, first two digits of the SW stock
# classification code in stock_industry_clf_hist_sw, e.g. 110101 -> 11 -> 801010.SI)
SW_L1 = {
    "801010.SI": ("农林牧渔", "11"), "801030.SI": ("基础化工", "22"), "801040.SI": ("钢铁", "23"),
    "801050.SI": ("有色金属", "24"), "801080.SI": ("电子", "27"), "801110.SI": ("家用电器", "33"),
    "801120.SI": ("食品饮料", "34"), "801130.SI": ("纺织服饰", "35"), "801140.SI": ("轻工制造", "36"),
    "801150.SI": ("医药生物", "37"), "801160.SI": ("公用事业", "41"), "801170.SI": ("交通运输", "42"),
    "801180.SI": ("房地产", "43"), "801200.SI": ("商贸零售", "45"), "801210.SI": ("社会服务", "46"),
    "801230.SI": ("综合", "51"), "801710.SI": ("建筑材料", "61"), "801720.SI": ("建筑装饰", "62"),
    "801730.SI": ("电力设备", "63"), "801740.SI": ("国防军工", "65"), "801750.SI": ("计算机", "71"),
    "801760.SI": ("传媒", "72"), "801770.SI": ("通信", "73"), "801780.SI": ("银行", "48"),
    "801790.SI": ("非银金融", "49"), "801880.SI": ("汽车", "28"), "801890.SI": ("机械设备", "64"),
    "801950.SI": ("煤炭", "74"), "801960.SI": ("石油石化", "75"), "801970.SI": ("环保", "76"),
    "801980.SI": ("美容护理", "77"),
}
SW_PREFIX_TO_L1 = {prefix: code for code, (_, prefix) in SW_L1.items()}


def to_provider(code: str, style: str) -> str:
    """Canonical code -> a provider's spelling: ``six`` (000300), ``baostock`` (sh.000300)."""
    six, _, suf = code.partition(".")
    if style == "six":
        return six
    if style == "baostock":
        return f"{suf.lower()}.{six}"
    return code
