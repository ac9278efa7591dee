"""Pictures crop to the board: kicad-cli's board-area SVG page would span the fab notes beside it."""

from __future__ import annotations

import json
import re

import pytest

from conftest import EXAMPLES


@pytest.mark.kicad
def test_layer_and_board_pictures_are_the_board_only(kicad_cli, cli_runner, tmp_path):
    """The cavity example writes its fab notes to the right of a 10 x 10 mm board (User.2) and labels that run
    past the edge (User.1): every SVG is the outline's size (+ its 0.05 mm line), not the notes' span."""
    code, _out, err = cli_runner("substrate", EXAMPLES / "cavity.yaml", "-o", tmp_path / "c")
    assert code == 0, err
    pcb = next((tmp_path / "c").glob("*.kicad_pcb")).read_text()
    notes = [float(x) for x in re.findall(r'\(gr_text "[^"]*" \(at ([-\d.]+) [-\d.]+', pcb)]
    assert max(notes) >= 5.0  # a note starts at the board's right edge: the page would stretch
    info = json.loads(next((tmp_path / "c").glob("*.kisubstrate.json")).read_text())
    xs = [p[0] for p in info["outline"]]
    ys = [p[1] for p in info["outline"]]
    code, _out, err = cli_runner("render", tmp_path / "c", "--no-png")
    assert code == 0, err
    svgs = sorted((tmp_path / "c" / "render").glob("*.svg"))
    board = [p for p in svgs if not p.name.endswith("-stackup.svg")]
    assert len(board) == 4  # F.Cu, In1.Cu, B.Cu and the board
    for p in board:
        w, h = (float(v) for v in re.search(r'width="([\d.]+)mm" height="([\d.]+)mm"', p.read_text()).groups())
        assert w == pytest.approx(max(xs) - min(xs) + 0.05, abs=0.05), p.name
        assert h == pytest.approx(max(ys) - min(ys) + 0.05, abs=0.05), p.name
