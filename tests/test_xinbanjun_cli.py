"""python -m engine.signals strategies/xinbanjun.yaml --asof 2022-02-22: the report-style table and the charts."""
from __future__ import annotations

import pandas as pd

from engine.signals.__main__ import main


def test_asof_table_prints_for_2022_02_22(tmp_path, capsys):
    out = tmp_path / "asof"
    assert main(["strategies/xinbanjun.yaml", "--asof", "2022-02-22", "--set", "data.size=small",
                 "--csv", str(out)]) == 0
    text = capsys.readouterr().out
    assert "as of the close of 2022-02-22" in text and "SYNTHETIC DATA" in text
    for s, cn in (("new_energy", "新能源"), ("semiconductor", "半导体"), ("defense", "军工")):
        assert f"{cn} ({s}) as of the close of 2022-02-22" in text
        assert (out / f"xinbanjun_{s}_20220222.png").stat().st_size > 10_000
        tab = pd.read_csv(out / f"asof_{s}_20220222.csv", encoding="utf-8-sig")
        assert {"PE-TTM", "目标仓位"} <= set(tab["指标"])
