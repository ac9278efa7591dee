"""A board designer's project with the committed library: KiCad's DRC (``kicad-cli pcb drc``)
finds the library through the shipped ``fp-lib-table`` row (no ``lib_footprint_issues``), the
placed footprints match it (no ``lib_footprint_mismatch``), and KiCad's own silk / courtyard /
clearance checks pass on one footprint of every library section."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from collections import Counter
from pathlib import Path

import pytest

from conftest import run_pcbnew

ROOT = Path(__file__).resolve().parents[2]
LIB = "kisubstrate_Packages"
LIB_DIR = ROOT / "footprints" / LIB

PLACE = r"""
import json, sys
import pcbnew
lib, pretty, out, *names = sys.argv[1:]
io = pcbnew.PCB_IO_KICAD_SEXPR()
board = pcbnew.BOARD()
# the finest pitch in the library (0.35 mm WLCSP, 0.4 mm SMD BGA) needs an HDI clearance
board.GetDesignSettings().m_NetSettings.GetDefaultNetclass().SetClearance(pcbnew.FromMM(0.1))
x = 0.0
for i, name in enumerate(names):
    fp = io.FootprintLoad(pretty, name)
    fp.SetFPID(pcbnew.LIB_ID(lib, name))
    fp.SetReference(f"U{i + 1}")
    w = pcbnew.ToMM(fp.GetBoundingBox(False).GetWidth())
    fp.SetPosition(pcbnew.VECTOR2I(pcbnew.FromMM(x + w / 2), 0))
    board.Add(fp)
    x += w + 5
edge = pcbnew.PCB_SHAPE(board)
edge.SetShape(pcbnew.SHAPE_T_RECT)
edge.SetStart(pcbnew.VECTOR2I(pcbnew.FromMM(-5), pcbnew.FromMM(-40)))
edge.SetEnd(pcbnew.VECTOR2I(pcbnew.FromMM(x), pcbnew.FromMM(40)))
edge.SetLayer(pcbnew.Edge_Cuts)
edge.SetWidth(pcbnew.FromMM(0.1))
board.Add(edge)
board.Save(out)
print(json.dumps(len(board.GetFootprints())))
"""


def _first_of_each_section() -> list[str]:
    text = (LIB_DIR / "catalogue.md").read_text()
    sections = text.split("\n## ")[2:]  # after the title block and the contents
    return [re.search(r"\| `([^`]+)` \|", s).group(1) for s in sections]


def _drc(kicad_cli: str, board: Path) -> Counter:
    report = board.with_suffix(".json")
    r = subprocess.run([kicad_cli, "pcb", "drc", "--format", "json", "--severity-all", "-o", str(report),
                        str(board)], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    data = json.loads(report.read_text())
    return Counter(v["type"] for v in data["violations"])


@pytest.mark.kicad
def test_project_with_the_library_is_drc_clean(tmp_path, kicad_cli, pcbnew_python):
    names = _first_of_each_section()
    assert len(names) >= 12
    for part in (f"{LIB}.pretty", f"{LIB}.3dshapes"):
        shutil.copytree(LIB_DIR / part, tmp_path / part)
    shutil.copy(LIB_DIR / "fp-lib-table", tmp_path)  # the shipped row, as the README says
    board = tmp_path / "designer.kicad_pcb"
    placed = run_pcbnew(pcbnew_python, PLACE, LIB, str(tmp_path / f"{LIB}.pretty"), str(board), *names)
    assert placed == len(names)
    assert _drc(kicad_cli, board) == Counter()
    # the oracle can fail: without the table row KiCad cannot find the library ...
    (tmp_path / "fp-lib-table").rename(tmp_path / "fp-lib-table.off")
    assert _drc(kicad_cli, board)["lib_footprint_issues"] == len(names)
    (tmp_path / "fp-lib-table.off").rename(tmp_path / "fp-lib-table")
    # ... and a library footprint that differs from the placed one is reported
    mod = tmp_path / f"{LIB}.pretty" / f"{names[0]}.kicad_mod"
    text = mod.read_text()
    pad = text.index("(pad ")
    size = re.compile(r"\(size ([\d.]+) ([\d.]+)\)").search(text, pad)  # first pad's copper
    mod.write_text(text[:size.start()] + f"(size {float(size.group(1)) + 0.02:g} {size.group(2)})"
                   + text[size.end():])
    assert _drc(kicad_cli, board)["lib_footprint_mismatch"] == 1
