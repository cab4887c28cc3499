"""The weekly fund-behaviour dashboard of seed report 000 (中泰证券 负债行为跟踪; methodology §5).

``python -m engine.dashboard --week YYYY-MM-DD [CONFIG]`` builds the week's four blocks from a dataset (the
synthetic market by default, labelled as such; any strategy YAML's ``data:`` section otherwise):

* :mod:`~engine.dashboard.leverage`   杠杆资金: margin share, balance, both denominators, index / bucket /
  industry net buying, popular stocks' leverage (margin data T+1: "as of Thursday");
* :mod:`~engine.dashboard.quant`      量化资金: index-enhanced funds' excess, IC / IM basis and open interest;
* :mod:`~engine.dashboard.mainforce`  主力资金: main-force net flow by index and industry, streaks;
* :mod:`~engine.dashboard.northbound` 北向资金: turnover, share, heavy-holdings basket.

:mod:`~engine.dashboard.series` turns the market-level numbers into weekly series (for timing rules),
:mod:`~engine.dashboard.reproduce` holds the §6 Z1 checks, :mod:`~engine.dashboard.render` the output.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from engine.dashboard.common import Block, DashboardParams, Week, make_week, week_calendar

BLOCKS = ("leverage", "quant", "mainforce", "northbound")


@dataclass
class Dashboard:
    week: Week
    params: DashboardParams
    blocks: list = field(default_factory=list)
    synthetic: bool = False
    source: str = ""

    def block(self, key: str) -> Block:
        return next(b for b in self.blocks if b.key == key)


def build_dashboard(ds, week, params: DashboardParams | None = None, blocks=BLOCKS) -> Dashboard:
    """All blocks of the week containing ``week`` (a date) from dataset ``ds``; DataError (one line) on missing
    inputs or a week without data."""
    from engine.dashboard import leverage, mainforce, northbound, quant

    p = params or DashboardParams()
    wk = make_week(week_calendar(ds), week, p.margin_lag, source=ds.source)
    builders = {"leverage": leverage.build, "quant": quant.build, "mainforce": mainforce.build,
                "northbound": northbound.build}
    dash = Dashboard(wk, p, synthetic=ds.synthetic, source=ds.source)
    for key in blocks:
        dash.blocks.append(builders[key](ds, wk, p))
    return dash


__all__ = ["BLOCKS", "Dashboard", "DashboardParams", "build_dashboard"]
