"""A CJK-capable font for the PNG charts (Chinese labels instead of empty boxes).

Where a font comes from, first found wins:
1. the PyPI package ``pylopdf-fonts-zh-cn`` (Noto Sans SC Regular, SIL Open Font License 1.1, 8 MB OTF; a
   dependency of Jingong, so a fresh install has it);
2. a system font matplotlib already knows that covers Chinese (Noto Sans CJK SC, Source Han Sans SC, WenQuanYi
   Micro Hei, SimHei, Microsoft YaHei, PingFang SC, ...).

The font is registered with matplotlib's ``font_manager`` when a chart is drawn (never at import time) and used
through the ``fontproperties``/family of the chart's own text, not through global ``rcParams``. With no CJK font
the charts use English labels and :func:`cjk_font` prints one notice line on stderr (once per process).
"""
from __future__ import annotations

import sys
from functools import lru_cache
from pathlib import Path

SYSTEM_FAMILIES = ("Noto Sans CJK SC", "Noto Sans SC", "Source Han Sans SC", "Source Han Sans CN",
                   "WenQuanYi Micro Hei", "WenQuanYi Zen Hei", "SimHei", "Microsoft YaHei", "PingFang SC",
                   "Heiti SC", "Hiragino Sans GB", "Noto Sans CJK JP", "Noto Sans CJK TC")
PROBE = "年化收益率回撤"
NOTICE = ("note: no Chinese-capable font found; PNG charts use English labels "
          "(pip install pylopdf-fonts-zh-cn, or install a CJK system font such as fonts-noto-cjk)")


def packaged_font() -> Path | None:
    """Noto Sans SC from ``pylopdf-fonts-zh-cn`` if installed."""
    try:
        import pylopdf_fonts_zh_cn as pkg
    except ImportError:
        return None
    p = Path(pkg.sans_path())
    return p if p.exists() else None


def _covers(path: str, text: str = PROBE) -> bool:
    try:
        from matplotlib.ft2font import FT2Font

        f = FT2Font(str(path))
        return all(f.get_char_index(ord(ch)) != 0 for ch in text)
    except Exception:   # noqa: BLE001 - an unreadable font file is just not a candidate
        return False


@lru_cache(maxsize=1)
def cjk_font(notice: bool = True):
    """``matplotlib.font_manager.FontProperties`` of a CJK font (registered with ``font_manager``), or None
    (then one notice line on stderr)."""
    from matplotlib import font_manager as fm

    p = packaged_font()
    if p is not None and _covers(str(p)):
        fm.fontManager.addfont(str(p))
        return fm.FontProperties(fname=str(p))
    by_name = {f.name: f.fname for f in fm.fontManager.ttflist}
    for fam in SYSTEM_FAMILIES:
        if fam in by_name and _covers(by_name[fam]):
            return fm.FontProperties(fname=by_name[fam])
    if notice:
        print(NOTICE, file=sys.stderr)
    return None


def label_text(zh: str, en: str, font) -> str:
    """The chart text: ``"中文 English"`` when a CJK font is available, else English."""
    return f"{zh} {en}" if font is not None else en
