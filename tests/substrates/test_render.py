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
        # the outline and its 0.05 mm line (KiCad 10 crops to the line's centre: 0.07 mm less)
        assert w == pytest.approx(max(xs) - min(xs) + 0.05, abs=0.1), p.name
        assert h == pytest.approx(max(ys) - min(ys) + 0.05, abs=0.1), p.name


def _info(stacked: bool) -> dict:
    cu = {"kind": "copper", "thickness": 0.015}
    diel = {"kind": "dielectric", "thickness": 0.03, "material": "ABF", "type": "prepreg", "epsilon_r": 3.3,
            "loss_tangent": 0.008}
    layers = []
    for k in range(4):
        layers += [dict(cu, kicad=f"L{k}.Cu", name=f"SIG{k}")] + ([diel] if k < 3 else [])
    spans = [{"kind": "micro", "top": k, "bottom": k + 1, "stacked": stacked and k > 0} for k in range(3)]
    return {"name": "X" * 120, "finish": "ENEPIG", "mask_thickness": 0.02, "layers": layers, "via_spans": spans}


def test_cross_section_draws_stacked_microvias_stacked_and_keeps_labels_apart():
    """Three microvias on one centre are one column; staggered ones three; labels of 15 µm layers do not overlap;
    a 120-character name fits the picture."""
    from kisubstrate.api.render import cross_section_svg

    def columns(svg: str) -> set[str]:
        return set(re.findall(r'<path d="M([\d.]+),[^"]*Z"', svg))

    stacked, staggered = cross_section_svg(_info(True)), cross_section_svg(_info(False))
    assert len(columns(stacked)) == 1 and len(columns(staggered)) == 3
    assert "micro L2-L3 (stacked)" in stacked and "(stacked)" not in staggered
    ys = [float(y) for y in re.findall(r'<text x="[\d.]+" y="([\d.]+)">(?!vias)', stacked)]
    assert len(ys) == 9 and all(b - a >= 14 - 1e-9 for a, b in zip(ys, ys[1:]))
    width = float(re.search(r'<svg [^>]*width="(\d+)"', stacked).group(1))
    assert width >= 40 + len("X" * 120 + ": stackup to scale") * 8.6
