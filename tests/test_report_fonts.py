"""Chinese text in the PNG charts (issue 16 item 2): real glyphs, not the missing-glyph box; English with one
notice when no CJK font exists; no global rcParams change."""
import numpy as np
import pytest

from engine.report import fonts

TEXT = "年化收益率"


def glyph_images(text, fp):
    """Each character drawn alone (Agg, 40 px) as a grey array, with the warnings matplotlib gives for missing
    glyphs silenced (we look at the pixels instead)."""
    import logging
    import warnings

    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    out = []
    logging.getLogger("matplotlib.font_manager").setLevel(logging.ERROR)
    for ch in text:
        fig = Figure(figsize=(0.6, 0.6), dpi=100)
        FigureCanvasAgg(fig)
        fig.text(0.5, 0.5, ch, fontproperties=fp, fontsize=28, ha="center", va="center")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fig.canvas.draw()
        out.append(np.asarray(fig.canvas.buffer_rgba())[..., :3].mean(axis=2))
    return out


def latin_font():
    from matplotlib import font_manager as fm

    return fm.FontProperties(fname=fm.findfont(fm.FontProperties(family="DejaVu Sans"), fallback_to_default=True))


def test_latin_font_draws_boxes():
    """The check's premise: a Latin-only font (DejaVu Sans) draws every one of these characters as the same
    missing-glyph box (identical pixels), which is not blank."""
    imgs = glyph_images(TEXT, latin_font())
    assert all(np.array_equal(imgs[0], im) for im in imgs[1:])
    assert (imgs[0] < 128).sum() > 20


def test_cjk_font_draws_real_glyphs():
    """With the font :func:`cjk_font` finds, the five characters are five different images, none of them the
    Latin font's box, each with ink."""
    fp = fonts.cjk_font()
    if fp is None:
        pytest.skip("no CJK font here: pip install pylopdf-fonts-zh-cn (the 'cjk' extra) to run this check")
    imgs = glyph_images(TEXT, fp)
    box = glyph_images(TEXT[:1], latin_font())[0]
    for i, a in enumerate(imgs):
        assert (a < 128).sum() > 20
        assert not np.array_equal(a, box)
        for b in imgs[i + 1:]:
            assert not np.array_equal(a, b)


def test_chart_labels_chinese_with_font_english_without(tmp_path, monkeypatch, capsys):
    """chart_figure: with a CJK font the axis labels are '中文 English' in that font; with none (no package and no
    system CJK font) they are English and one notice line goes to stderr; rcParams are untouched either way."""
    import matplotlib

    from engine.report.charts import chart_figure
    from tests.test_cli_startup import _fake_run

    before = dict(matplotlib.rcParams)
    fp = fonts.cjk_font()
    run = _fake_run(True)
    if fp is not None:
        fig = chart_figure(run)
        a1, a2 = fig.axes
        assert a1.get_ylabel() == "累计净值 (对数) equity (log)" and a2.get_ylabel() == "回撤 drawdown"
        assert "模拟数据" in a1.get_title() and "[SYNTHETIC signal inputs]" in a1.get_title()
        assert a1.yaxis.label.get_fontproperties().get_file() == fp.get_file()
        fig.savefig(tmp_path / "zh.png", dpi=60)
    fonts.cjk_font.cache_clear()
    monkeypatch.setattr(fonts, "packaged_font", lambda: None)
    monkeypatch.setattr(fonts, "SYSTEM_FAMILIES", ())
    try:
        capsys.readouterr()
        fig = chart_figure(run)
        a1, a2 = fig.axes
        assert a1.get_ylabel() == "equity (log)" and a2.get_ylabel() == "drawdown"
        assert "[SYNTHETIC signal inputs]" in a1.get_title() and "模拟" not in a1.get_title()
        err = capsys.readouterr().err
        assert err.strip() == fonts.NOTICE
    finally:
        fonts.cjk_font.cache_clear()
    assert {k: v for k, v in matplotlib.rcParams.items() if k != "backend"} == \
        {k: v for k, v in before.items() if k != "backend"}
