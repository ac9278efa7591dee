"""Wafer-level TSV stack (issue 5): RDL/TSV board, WLCSP footprint, wafer map with hand-counted sites."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import shapely
import yaml

from conftest import EXAMPLES, run_pcbnew
from kisubstrate.api.demo import run_demo
from kisubstrate.api.footprint import build_footprints
from kisubstrate.api.specs import load_specs
from kisubstrate.api.substrate import build_substrate, substrate_files
from kisubstrate.api.wafer import wafer_files
from kisubstrate.families.wafer_stack import WaferStackSpec, spec_wafer_map, wafer_map
from kisubstrate.model.errors import SpecError
from stack_util import PCBNEW_COUNT, drc, fp_upgrade, write_files

EXAMPLE = EXAMPLES / "wafer_stack.yaml"


def example() -> WaferStackSpec:
    return load_specs([EXAMPLE])[0].spec


def load_variant(tmp_path: Path, **changes) -> WaferStackSpec:
    data = yaml.safe_load(EXAMPLE.read_text())["packages"][0]
    data.update(changes)
    f = tmp_path / "ws.yaml"
    f.write_text(yaml.safe_dump({"packages": [data]}))
    return load_specs([f])[0].spec


# -- wafer maps counted by hand -------------------------------------------------------------------------
def test_site_counts_by_hand():
    """20 x 20 mm sites, no street, 150 mm wafer, 3 mm edge exclusion: usable radius 72 mm.

    Street on the centre (cells [20i, 20i+20]): a cell is whole when its far corner
    (20a, 20b), a, b in 1..3, has a² + b² <= (72/20)² = 12.96: (1,1) (1,2) (2,1) (2,2)
    (1,3) (3,1) -> 6 per quadrant, 24 in all.
    Site on the centre (centres 20i, 20j): far corner (20|i| + 10, 20|j| + 10) <= 72:
    (0,0) 1; (±1,0)(0,±1) 4; (±2,0)(0,±2) 4; (±3,0)(0,±3) 4 [70.7]; (±1,±1) 4; (±2,±1)(±1,±2) 8
    [58.3]; (±2,±2) 4 [70.7]; (±3,±1) no [76.2] -> 29.
    Mixed (site in x, street in y): far x in {10, 30, 50, 70}, far y in {20, 40, 60}:
    x 10: 3 y values x 2 signs = 6; x 30: 3 x 2 x 2 = 12; x 50: y 20, 40 -> 2 x 2 x 2 = 8; x 70: none
    -> 26. ``auto`` keeps the best: 29.
    """
    common = dict(site=(20.0, 20.0), street=0.0, diameter=150, edge_exclusion=3.0, notch="none")
    assert wafer_map(**common, align="street").whole == 24
    assert wafer_map(**common, align="site").whole == 29
    assert wafer_map(**common, align="auto").whole == 29
    # the primary flat of a 150 mm wafer (57.5 mm) sits at y = sqrt(75² - 28.75²) = 69.27; with the
    # 3 mm exclusion nothing may pass y = 66.27: of the 29 sites only (0, +3) (y 50..70) crosses it
    flat = wafer_map(**{**common, "notch": "flat"}, align="site")
    assert flat.whole == 28
    lost = ~flat.whole_mask & wafer_map(**common, align="site").whole_mask
    assert list(zip(flat.x[lost].tolist(), flat.y[lost].tolist())) == [(0.0, 60.0)]


def test_notch_by_hand():
    """2 x 2 mm sites, street crossing on the centre, 150 mm wafer, 0.5 mm exclusion: r = 74.5.

    The notch is a 90° V, 1 mm deep: apex (0, 74); with the exclusion its keep-out reaches
    y = 73.5 on the axis and |x| <= (y - 73) + 0.5·√2 at height y. Sites x in [0, 2] (and
    [-2, 0]), y in [72, 74]: far corner hypot(2, 74) = 74.03 <= 74.5, whole without a notch,
    but they touch the keep-out -> 2 sites lost. The next ones (x in [2, 4]) stay clear
    (keep-out half-width at y = 74 is 1.71 < 2).
    """
    common = dict(site=(2.0, 2.0), street=0.0, diameter=150, edge_exclusion=0.5, align="street")
    none, notch = wafer_map(**common, notch="none"), wafer_map(**common, notch="notch")
    assert none.whole - notch.whole == 2
    lost = none.whole_mask & ~notch.whole_mask
    assert sorted(zip(notch.x[lost].tolist(), notch.y[lost].tolist())) == [(-1.0, 73.0), (1.0, 73.0)]


def test_street_and_notch_against_brute_force():
    """Example-sized map: every whole site lies inside the usable disc and clear of the notch (shapely)."""
    m = spec_wafer_map(example())
    assert m.pitch == (3.08, 3.08)
    assert m.whole == 3000
    hx = hy = 1.5
    boxes = shapely.box(m.x - hx, m.y - hy, m.x + hx, m.y + hy)
    r = 100 - 3.0
    far = np.hypot(np.abs(m.x) + hx, np.abs(m.y) + hy)
    inside = far <= r + 1e-9
    notch_keep = shapely.buffer(shapely.Polygon([(0, 99), (3, 102), (-3, 102)]), 3.0)
    clear = ~shapely.intersects(boxes, notch_keep)
    assert np.array_equal(m.whole_mask, inside & clear)
    # streets: neighbouring whole sites are exactly one pitch apart, 0.08 mm of street between them
    xs = np.unique(np.round(m.x[m.whole_mask], 6))
    assert np.allclose(np.diff(xs), 3.08)


def test_sites_larger_than_the_wafer_are_refused(tmp_path):
    with pytest.raises(SpecError) as e:
        load_variant(tmp_path, body=[120.0, 120.0], wafer={"diameter": 150})
    assert "field 'wafer'" in str(e.value) and "does not fit the 150 mm wafer" in str(e.value)


@pytest.mark.parametrize("changes, field, words", [
    ({"terminals": {"pitch": 0.8, "layout": [3, 3], "ball_diameter": 0.4}}, "terminals.pitch", "0.35 .. 0.5"),
    ({"dies": [{"name": "D1"}]}, "dies", "2 .. 8 dies (got 1)"),
    ({"wafer": {"diameter": 250}}, "wafer.diameter", "150"),
    ({"pads": {"peripheral": {"per_side": 7, "pitch": 0.3, "inset": 0.22}, "size": 0.06}}, "pads",
     "outer-ring balls"),
])
def test_bad_stacks_are_refused(tmp_path, changes, field, words):
    with pytest.raises(SpecError) as e:
        load_variant(tmp_path, **changes)
    assert words in str(e.value), str(e.value)
    assert f"field '{field}" in str(e.value), str(e.value)


# -- the package board and footprint -------------------------------------------------------------------
def test_board_layers_tsvs_and_routes():
    spec = example()
    r = build_substrate(spec)
    assert r.report.ok, r.report.text()
    b = r.board
    # RDL, D2 pattern, D2 back, D1 pattern, heat layer
    assert b.copper == 5
    assert [lay.name for lay in spec.stackup.coppers()] == ["RDL", "D2.pattern", "D2.back", "D1.pattern", "HEAT"]
    kinds = list(b.vias.kind)
    assert kinds.count("micro") == 20 and kinds.count("blind") == 20 and kinds.count("through") == 16
    tsv = [i for i, k in enumerate(kinds) if k == "blind"]
    assert set(b.vias.top[tsv].tolist()) == {1} and set(b.vias.bottom[tsv].tolist()) == {3}
    assert len(b.tracks) == 20 and set(b.tracks.layer.tolist()) == {0}
    # every track joins its via to a ball of the same net
    balls = {(round(x, 6), round(y, 6)): int(n) for x, y, n in zip(b.pads.x, b.pads.y, b.pads.net)}
    for x2, y2, n in zip(b.tracks.x2, b.tracks.y2, b.tracks.net):
        assert balls[(round(float(x2), 6), round(float(y2), 6))] == int(n)
    heat = [z for z in b.zones if z.name == "heat"][0]
    assert heat.layers == (4,) and b.nets[heat.net] == "HEAT"
    files = substrate_files(r)
    assert any(k.endswith("-wafer-map.svg") for k in files)


def test_wlcsp_footprint_from_the_grid_builder():
    fp = build_footprints(example())[0]
    assert fp.report.ok
    g = fp.geometry
    assert g.family == "wlcsp" and g.pad_count == 36 and g.name.endswith("_Footprint")
    xs = sorted({round(float(x), 6) for grp in g.pads for x in grp.x})
    assert xs == [-1.0, -0.6, -0.2, 0.2, 0.6, 1.0]


@pytest.mark.kicad
def test_board_loads_in_pcbnew_and_passes_drc(kicad_cli, pcbnew_python, tmp_path):
    pcb = write_files(substrate_files(build_substrate(example())), tmp_path / "ws")
    rep = drc(kicad_cli, pcb)
    assert rep["errors"] == [] and rep["unconnected"] == 0, rep["types"]
    got = run_pcbnew(pcbnew_python, PCBNEW_COUNT, str(pcb))
    assert got["copper"] == 6  # 5 physical layers + KiCad's placeholder (even count)
    assert got["vias"] == 56 and got["via_kinds"] == {"micro": 20, "blind": 20, "through": 16}
    assert got["pads"] == 36 and got["nets"] == 21 and got["zones"] == 1


@pytest.mark.kicad
def test_wafer_map_board_loads_and_passes_drc(kicad_cli, pcbnew_python, tmp_path):
    spec = example()
    pcb = write_files(wafer_files(spec), tmp_path / "wafer")
    rep = drc(kicad_cli, pcb)
    assert rep["errors"] == [] and rep["unconnected"] == 0, rep["types"]
    got = run_pcbnew(pcbnew_python, PCBNEW_COUNT, str(pcb))
    # one Dwgs.User rectangle per whole site
    drawings = got["drawings"].get("Dwgs.User", got["drawings"].get("User.Drawings"))
    assert drawings == spec_wafer_map(spec).whole == 3000


@pytest.mark.kicad
def test_footprint_parses_with_fp_upgrade(kicad_cli, tmp_path):
    lib = tmp_path / "WS.pretty"
    lib.mkdir()
    res = build_footprints(example())[0]
    (lib / f"{res.geometry.name}.kicad_mod").write_text(res.text())
    r = fp_upgrade(kicad_cli, lib, tmp_path / "up.pretty")
    assert r.returncode == 0, r.stderr
    assert [f.stem for f in (tmp_path / "up.pretty").glob("*.kicad_mod")] == [res.geometry.name]


def test_demo_includes_the_issue5_examples(tmp_path):
    files = {p.relative_to(tmp_path).as_posix() for p in run_demo(EXAMPLES, tmp_path, echo=lambda *_: None)}
    assert any(f.startswith("substrates/") and "_Leadframe.kicad_pcb" in f for f in files)
    assert any(f.startswith("substrates/WLCSP-36-2Die-TSV") and f.endswith(".kicad_pcb") for f in files)
    assert "wafers/WLCSP-36-2Die-TSV_3x3mm_P0.4mm_WaferMap.kicad_pcb" in files
    assert "wafers/WLCSP-36-2Die-TSV_3x3mm_P0.4mm_WaferMap.svg" in files
    assert "kisubstrate_demo.pretty/QFN-24-1EP_5x5mm_P0.5mm_EP3.5x3.5mm_ThermalVias_DualDie_StackTop.kicad_mod" \
        in files


def test_wafer_command(cli_runner, tmp_path):
    code, out, err = cli_runner("wafer", EXAMPLE, "-o", tmp_path / "w")
    assert code == 0, err
    assert "3000 whole sites on a 200 mm wafer" in out
    assert (tmp_path / "w" / "WLCSP-36-2Die-TSV_3x3mm_P0.4mm_WaferMap.svg").read_text().startswith("<svg")


@pytest.mark.kicad
def test_three_die_stack_odd_copper_count(kicad_cli, pcbnew_python, tmp_path):
    """Three dies: RDL + 3 x (pattern, back) = 7 copper layers -> 8 KiCad layers with the placeholder."""
    s = load_variant(tmp_path, dies=[{"name": "D1", "thickness": 0.1}, {"name": "D2", "thickness": 0.05},
                                     {"name": "D3", "thickness": 0.05}])
    r = build_substrate(s)
    assert r.report.ok, r.report.text()
    b = r.board
    assert b.copper == 7
    tsv = [i for i, k in enumerate(b.vias.kind) if k == "blind"]
    assert set(b.vias.top[tsv].tolist()) == {1} and set(b.vias.bottom[tsv].tolist()) == {5}  # D3 -> D1 pattern
    pcb = write_files(substrate_files(r), tmp_path / "ws3")
    rep = drc(kicad_cli, pcb)
    assert rep["errors"] == [] and rep["unconnected"] == 0, rep["types"]
    assert run_pcbnew(pcbnew_python, PCBNEW_COUNT, str(pcb))["copper"] == 8


# -- ball-map nets: the footprint takes them, so the board must carry the same ones --------------------
def _ball_map_variant(tmp_path: Path, rows: list[tuple[str, str]]) -> Path:
    (tmp_path / "balls.csv").write_text("ball,net\n" + "".join(f"{b},{n}\n" for b, n in rows))
    data = yaml.safe_load(EXAMPLE.read_text())["packages"][0]
    data["terminals"] = dict(data["terminals"], ball_map="balls.csv")
    f = tmp_path / "ws.yaml"
    f.write_text(yaml.safe_dump({"packages": [data]}))
    return f


def _board_nets(board) -> dict[str, str]:
    return {str(n): board.nets[int(k)] for n, k in zip(board.pads.name, board.pads.net) if int(k)}


def test_ball_map_with_the_boards_nets_builds(tmp_path):
    routed = _board_nets(build_substrate(example()).board)
    # 20 die-pad nets on the outer ring, 16 thermal balls inside
    assert len(routed) == 36 and list(routed.values()).count("HEAT") == 16
    assert sorted(n for n in routed.values() if n != "HEAT") == sorted(f"P{k}" for k in range(1, 21))
    spec = load_specs([_ball_map_variant(tmp_path, sorted(routed.items()))])[0].spec
    r = build_substrate(spec)
    assert r.report.ok, r.report.text()
    assert _board_nets(r.board) == routed
    fp = build_footprints(spec)[0].geometry
    fp_nets = {str(name): net for g in fp.pads if g.nets is not None for name, net in zip(g.names, g.nets) if net}
    assert fp_nets == routed  # the footprint and the board agree ball by ball


def test_ball_map_nets_the_board_cannot_route_are_refused(cli_runner, tmp_path):
    routed = _board_nets(build_substrate(example()).board)
    rows = sorted(routed.items())
    ball = next(b for b, n in rows if n.startswith("P"))
    rows = [(b, "GND" if b == ball else n) for b, n in rows]
    spec = _ball_map_variant(tmp_path, rows)
    code, out, err = cli_runner("substrate", spec, "-o", tmp_path / "out")
    assert code == 2, (out, err)
    assert "field 'terminals.ball_map'" in err and f"ball {ball} has net 'GND'" in err, err
    assert f"net '{routed[ball]}' on the wafer-stack board" in err and "(1 ball(s) differ)" in err, err
    assert not (tmp_path / "out").exists()
