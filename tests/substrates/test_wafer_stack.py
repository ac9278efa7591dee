"""Wafer-level TSV stack (issue 5): RDL/TSV board, WLCSP footprint, wafer map with hand-counted sites."""

from __future__ import annotations

import subprocess
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


def example_data() -> dict:
    """The example's package as a dict, its CSV maps given by absolute path."""
    data = yaml.safe_load(EXAMPLE.read_text())["packages"][0]
    data["pads"] = dict(data["pads"], map=str(EXAMPLES / data["pads"]["map"]))
    data["terminals"] = dict(data["terminals"], ball_map=str(EXAMPLES / data["terminals"]["ball_map"]))
    return data


def load_variant(tmp_path: Path, **changes) -> WaferStackSpec:
    data = example_data()
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
    ({"pads": {"peripheral": {"per_side": 7, "pitch": 0.3, "inset": 0.22}, "size": 0.08},
      "terminals": {"pitch": 0.4, "layout": [6, 6], "ball_diameter": 0.25}}, "pads", "outer-ring balls"),
])
def test_bad_stacks_are_refused(tmp_path, changes, field, words):
    with pytest.raises(SpecError) as e:
        load_variant(tmp_path, **changes)
    assert words in str(e.value), str(e.value)
    assert f"field '{field}" in str(e.value), str(e.value)


# -- the package board: the netlist routed on the RDL --------------------------------------------------
def _balls_of(board) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for owner, name, net in zip(board.pads.owner, board.pads.name, board.pads.net):
        if owner == "BALLS":
            out.setdefault(board.nets[int(net)] if int(net) else "NC", []).append(str(name))
    return out


def test_board_layers_tsvs_and_routes():
    spec = example()
    r = build_substrate(spec)
    assert r.report.ok, r.report.text()
    b = r.board
    # RDL, D2 pattern, D2 back, D1 pattern, heat layer
    assert b.copper == 5
    assert [lay.name for lay in spec.stackup.coppers()] == ["RDL", "D2.pattern", "D2.back", "D1.pattern", "HEAT"]
    kinds = list(b.vias.kind)
    # 24 die pads: 20 with a resin via and a TSV to D1's pattern, 4 GND ones a TSV to the GND heat layer;
    # 12 GND balls drop through thermal TSVs
    assert kinds.count("micro") == 20 and kinds.count("blind") == 24 and kinds.count("through") == 12
    tsv = np.array([k == "blind" for k in kinds])
    gnd = b.nets.index("GND") if isinstance(b.nets, list) else next(k for k, v in b.nets.items() if v == "GND")
    assert set(b.vias.top[tsv].tolist()) == {1}
    assert set(b.vias.bottom[tsv & (b.vias.net == gnd)].tolist()) == {4}
    assert set(b.vias.bottom[tsv & (b.vias.net != gnd)].tolist()) == {3}
    assert set(b.tracks.layer.tolist()) == {0}
    # the netlist: power and ground on several balls, no dead ball but the NC ones
    balls = {n: sorted(v) for n, v in _balls_of(b).items()}
    assert len(balls["GND"]) == 12 and len(balls["VDD"]) == 4 and len(balls["VDDIO"]) == 4
    assert balls["NC"] == ["F3", "F4"]
    assert sum(len(v) for n, v in balls.items() if n not in ("GND", "VDD", "VDDIO", "NC")) == 14
    routing = b.extras.sidecar["routing"]
    assert routing["unrouted"] == [] and routing["no_connect"] == ["F3", "F4"]
    nets = routing["nets"]
    assert nets["GND"]["kind"] == "plane" and nets["GND"]["vias"] == 4 + 12 and nets["GND"]["balls"] == 12
    assert nets["VDD"]["kind"] == "power" and nets["VDD"]["balls"] == 4 and nets["VDD"]["length_mm"] > 1.0
    signals = {k: m for k, m in nets.items() if m["kind"] == "signal"}
    assert len(signals) == 14 and all(0.2 < m["length_mm"] < 1.0 for m in signals.values())
    # power on the RDL at power_width, signals at the profile's trace width
    widths = {b.nets[int(n)]: float(w) for n, w in zip(b.tracks.net, b.tracks.width)}
    assert widths["VDD"] == widths["VDDIO"] == 0.04 and widths["SCL"] == 0.015
    heat = [z for z in b.zones if z.name == "heat"][0]
    assert heat.layers == (4,) and b.nets[heat.net] == "GND"
    files = substrate_files(r)
    assert any(k.endswith("-wafer-map.svg") for k in files)
    csv = next(v for k, v in files.items() if k.endswith("-nets.csv"))
    assert csv.splitlines()[0] == "net,kind,layers,length_mm,vias" and len(csv.splitlines()) == 1 + 17


def test_die_pads_are_copper_on_every_die():
    """Die pad k of every die: a 0.08 mm copper pad on each die's pattern layer, on its TSV column."""
    b = build_substrate(example()).board
    die = [i for i, o in enumerate(b.pads.owner) if o in ("D1", "D2")]
    assert len(die) == 48
    assert {(str(b.pads.owner[i]), int(b.pads.layer[i])) for i in die} == {("D2", 1), ("D1", 3)}
    assert {float(b.pads.w[i]) for i in die} == {0.08} and {str(b.pads.shape[i]) for i in die} == {"rect"}
    tsv = {(round(float(x), 6), round(float(y), 6)) for x, y, k in zip(b.vias.x, b.vias.y, b.vias.kind)
           if k == "blind"}
    assert {(round(float(b.pads.x[i]), 6), round(float(b.pads.y[i]), 6)) for i in die} == tsv


def test_wlcsp_footprint_from_the_grid_builder():
    fp = build_footprints(example())[0]
    assert fp.report.ok
    g = fp.geometry
    assert g.family == "wlcsp" and g.pad_count == 36 and g.name.endswith("_Footprint")
    xs = sorted({round(float(x), 6) for grp in g.pads for x in grp.x})
    assert xs == [-1.0, -0.6, -0.2, 0.2, 0.6, 1.0]
    # each land carries its signal's routed RDL length (KiCad die_length); GND, VDD and NC balls none
    die = {n: float(v) for grp in g.pads for n, v in zip(grp.names, grp.die_length)}
    nets = build_substrate(example()).board.extras.sidecar["routing"]["nets"]
    assert die["A2"] == nets["SPI_MISO"]["length_mm"] > 0.2 and die["B1"] == nets["SCL"]["length_mm"] > 0.2
    assert die["A1"] == die["B3"] == die["F3"] == 0.0
    assert sum(v > 0 for v in die.values()) == 14


@pytest.mark.kicad
def test_board_loads_in_pcbnew_and_passes_drc(kicad_cli, pcbnew_python, tmp_path):
    pcb = write_files(substrate_files(build_substrate(example())), tmp_path / "ws")
    rep = drc(kicad_cli, pcb)
    assert rep["errors"] == [] and rep["unconnected"] == 0, rep["types"]
    got = run_pcbnew(pcbnew_python, PCBNEW_COUNT, str(pcb))
    assert got["copper"] == 6  # 5 physical layers + KiCad's placeholder (even count)
    assert got["vias"] == 56 and got["via_kinds"] == {"micro": 20, "blind": 24, "through": 12}
    assert got["pads"] == 36 + 48 and got["nets"] == 17 and got["zones"] == 1


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
    # D3 -> D1 pattern, GND on to the heat layer
    assert set(b.vias.top[tsv].tolist()) == {1} and set(b.vias.bottom[tsv].tolist()) == {5, 6}
    assert {str(b.pads.owner[i]): int(b.pads.layer[i]) for i in range(len(b.pads)) if b.pads.owner[i] != "BALLS"} \
        == {"D3": 1, "D2": 3, "D1": 5}
    pcb = write_files(substrate_files(r), tmp_path / "ws3")
    rep = drc(kicad_cli, pcb)
    assert rep["errors"] == [] and rep["unconnected"] == 0, rep["types"]
    assert run_pcbnew(pcbnew_python, PCBNEW_COUNT, str(pcb))["copper"] == 8


# -- without a netlist: the issue-5 assignment, routed by the same router -------------------------------
def _legacy(tmp_path: Path, **changes) -> WaferStackSpec:
    return load_variant(tmp_path, **{"pads": {"peripheral": {"per_side": 5, "pitch": 0.4, "inset": 0.22}, "size": 0.08},
                                     "terminals": {"pitch": 0.4, "layout": [6, 6], "ball_diameter": 0.25},
                                     "heat_layer": True, "power_width": None, **changes})


def _board_nets(board) -> dict[str, str]:
    return {str(n): board.nets[int(k)] for n, k, o in zip(board.pads.name, board.pads.net, board.pads.owner)
            if int(k) and o == "BALLS"}


def test_without_a_ball_map_pad_k_goes_to_an_outer_ball(tmp_path):
    """20 peripheral pads, nets P1..P20, each on one outer-ring ball by angle; thermal balls only outside
    the active area (given: 0.9 mm, so the 12 balls of ring 1; the 4 centre ones stay unconnected)."""
    r = build_substrate(_legacy(tmp_path))
    assert r.report.ok, r.report.text()
    routed = _board_nets(r.board)
    assert sorted(n for n in routed.values() if n != "HEAT") == sorted(f"P{k}" for k in range(1, 21))
    assert list(routed.values()).count("HEAT") == 12
    # the default active area (inside the pad ring) leaves no room for a thermal TSV
    r = build_substrate(_legacy(tmp_path, active_area=None))
    assert list(_board_nets(r.board).values()).count("HEAT") == 0


@pytest.mark.parametrize("old, new, field, words", [
    ("F3,NC", "F3,EXTRA", "terminals.ball_map", "line 34: net 'EXTRA' is on ball F3 but on no die pad"),
    ("B1,SCL", "B1,NC", "pads.map", "'wafer_stack_pads.csv' line 9: net 'SCL' is on die pad D.8 but on no ball"),
])
def test_nets_on_one_side_only_are_refused(cli_runner, tmp_path, old, new, field, words):
    """A net on balls but no die pad, or on die pads but no ball: one located line, nothing written."""
    (tmp_path / "balls.csv").write_text((EXAMPLES / "wafer_stack_balls.csv").read_text().replace(old, new))
    (tmp_path / "wafer_stack_pads.csv").write_text((EXAMPLES / "wafer_stack_pads.csv").read_text())
    data = yaml.safe_load(EXAMPLE.read_text())["packages"][0]
    data["terminals"] = dict(data["terminals"], ball_map="balls.csv")
    f = tmp_path / "ws.yaml"
    f.write_text(yaml.safe_dump({"packages": [data]}))
    code, out, err = cli_runner("substrate", f, "-o", tmp_path / "out")
    assert code == 2, (out, err)
    assert f"field '{field}'" in err and words in err, err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1 and not (tmp_path / "out").exists()


# -- issue 13: die pads, TSV lands, thermal TSVs, heat layer, mask openings, placeholder -----------------
@pytest.mark.parametrize("key", ["tsv", "resin_via"])
def test_a_via_land_wider_than_the_die_pad_is_refused_by_1um(tmp_path, key):
    """The TSV and the resin via land on the 0.08 mm die pad: 0.081 mm is refused, 0.079 and 0.08 fit."""
    drill = 0.02 if key == "tsv" else 0.04
    with pytest.raises(SpecError) as e:
        load_variant(tmp_path, **{key: {"drill": drill, "pad": 0.081}})
    assert f"field '{key}.pad'" in str(e.value) and "land 0.081 mm does not fit the 0.08 mm die pad" in str(e.value)
    for pad in (0.079, 0.08):
        assert getattr(load_variant(tmp_path, **{key: {"drill": drill, "pad": pad}}), key).pad == pad


def test_thermal_tsv_in_the_active_area_is_refused_by_1um(tmp_path):
    """GND ball C2 sits at (0.6, -0.2) with a 0.05 mm thermal TSV land (substrate-wlp): an active area
    of ±0.576 mm reaches 1 µm into it (refused), ±0.574 mm stays 1 µm clear (built)."""
    with pytest.raises(SpecError) as e:
        build_substrate(load_variant(tmp_path, active_area=[1.152, 1.152]))
    # (the ball map names the ball; the board mirrors columns: C2 is at x = +0.6)
    assert "field 'active_area'" in str(e.value) and "reaches 0.001 mm into the dies' active area" in str(e.value)
    assert "thermal TSV under ball C2" in str(e.value) or "thermal TSV under ball C5" in str(e.value), str(e.value)
    r = build_substrate(load_variant(tmp_path, active_area=[1.148, 1.148]))
    assert r.report.ok, r.report.text()
    assert sum(k == "through" for k in r.board.vias.kind) == 12


def test_default_active_area_is_inside_the_die_pad_ring(tmp_path):
    """No active_area: the area inside the pad ring (pads at ±1.28, 0.08 mm: ±1.24) refuses every
    thermal TSV under the balls, named with its ball-map line."""
    spec = load_variant(tmp_path, active_area=None)
    assert spec.active_rect() == pytest.approx((1.24, 1.24))
    with pytest.raises(SpecError) as e:
        build_substrate(spec)
    assert "field 'terminals.ball_map'" in str(e.value) and "inside the die-pad ring" in str(e.value)
    assert "wafer_stack_balls.csv' line 7: the thermal TSV under ball A6 at (-1, -1) mm" in str(e.value), str(e.value)


def _notes(board) -> str:
    return "\n".join(d.text for d in board.drawings if d.layer == "User.2" and d.text)


@pytest.mark.parametrize("heat, words", [
    ({"material": "aluminum", "thickness": 0.012, "net": "GND"}, "HEAT LAYER: aluminium 0.012 mm, plated sheet"),
    ({"material": "CuMo", "thickness": 0.02, "thin_film": True, "net": "GND"}, "CuMo 0.02 mm, thin film"),
    ({"thickness": 0.1, "support": True, "net": "GND"}, "copper 0.1 mm, plated sheet, support of the stack"),
])
def test_heat_layer_options_reach_stackup_notes_and_sidecar(tmp_path, heat, words):
    spec = load_variant(tmp_path, heat_layer=heat)
    r = build_substrate(spec)
    assert r.report.ok, r.report.text()
    assert spec.stackup.coppers()[-1].copper == heat["thickness"]
    assert words in _notes(r.board)
    side = r.board.extras.sidecar["heat_layer"]
    assert side["thickness_mm"] == heat["thickness"] and side["support"] == heat.get("support", False)
    assert side["material"] == {"aluminum": "aluminium"}.get(heat.get("material", "copper"), heat.get("material",
                                                                                                     "copper"))


@pytest.mark.parametrize("heat, field, words", [
    ({"thin_film": True, "thickness": 0.021}, "heat_layer.thickness", "thin-film heat layer is at most 0.02 mm"),
    ({"support": True, "thickness": 0.099}, "heat_layer.thickness", "at least 0.1 mm thick (got 0.099 mm)"),
    ({"support": True}, "heat_layer.thickness", "at least 0.1 mm thick (got none)"),
    ({"support": True, "thin_film": True, "thickness": 0.1}, "heat_layer.support", "a thin film cannot act"),
])
def test_heat_layer_that_cannot_be_built_is_refused_by_1um(tmp_path, heat, field, words):
    with pytest.raises(SpecError) as e:
        load_variant(tmp_path, heat_layer={**heat, "net": "GND"})
    assert f"field '{field}'" in str(e.value) and words in str(e.value), str(e.value)


def test_heat_layer_true_and_false_keep_working(tmp_path):
    on = build_substrate(_legacy(tmp_path, heat_layer=True)).board
    assert [z.name for z in on.zones] == ["heat"] and on.nets[on.zones[0].net] == "HEAT"
    off = build_substrate(_legacy(tmp_path, heat_layer=False))
    assert off.report.ok and off.board.zones == [] and sum(k == "through" for k in off.board.vias.kind) == 0


@pytest.mark.parametrize("mask, copper, opening", [("smd", 0.25, 0.2), ("nsmd", 0.2, 0.25)])
def test_ball_land_mask_opening_from_the_ball(tmp_path, mask, copper, opening):
    """0.25 mm ball: the solder-wetted diameter is 80 % of it (0.2 mm). SMD: the opening is 0.2 mm on
    a 0.25 mm land (25 µm overlap per side); NSMD: a 0.2 mm land in a 0.25 mm opening (was: 0.1 mm)."""
    spec = load_variant(tmp_path, terminals={**example_data()["terminals"], "mask": mask})
    b = build_substrate(spec).board
    balls = [i for i, o in enumerate(b.pads.owner) if o == "BALLS"]
    assert {float(b.pads.w[i]) for i in balls} == {copper}
    assert {round(float(b.pads.w[i] + 2 * b.pads.mask[i]), 6) for i in balls} == {opening}
    assert b.extras.sidecar["ball_land"] == {"ball_mm": 0.25, "mask": mask, "land_mm": copper, "opening_mm": opening}
    assert f"BALL LANDS: {mask.upper()}, 0.25 mm ball, copper {copper:g} mm, mask opening {opening:g} mm" \
        in _notes(b)


@pytest.mark.kicad
def test_placeholder_layer_is_empty_in_the_gerbers(kicad_cli, tmp_path):
    """5 copper layers -> KiCad's 6 with an empty placeholder: its Gerber has no flash (D03), the
    RDL's has the 36 balls, 20 resin vias and 12 thermal TSVs."""
    pcb = write_files(substrate_files(build_substrate(example())), tmp_path / "ws")
    out = tmp_path / "gbr"
    r = subprocess.run([kicad_cli, "pcb", "export", "gerbers", "-o", str(out), str(pcb)], capture_output=True,
                       text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    placeholder = list(out.glob("*-unused.g*"))
    rdl = list(out.glob("*-RDL.gtl"))
    assert len(placeholder) == 1 and len(rdl) == 1, sorted(p.name for p in out.iterdir())
    assert placeholder[0].read_text().count("D03*") == 0
    assert rdl[0].read_text().count("D03*") == 36 + 20 + 12


def test_options_without_effect_are_refused(tmp_path):
    """thermal_balls: false beside a ball map (its heat-net balls are the thermal balls) and a
    power_width with no power net on the RDL change nothing: refused, located."""
    with pytest.raises(SpecError) as e:
        load_variant(tmp_path, thermal_balls=False)
    assert "field 'thermal_balls'" in str(e.value) and "heat layer's net are the thermal balls" in str(e.value)
    assert load_variant(tmp_path, thermal_balls=True).thermal_balls
    with pytest.raises(SpecError) as e:
        build_substrate(_legacy(tmp_path, power_width=0.04))
    assert "field 'power_width'" in str(e.value) and "no net is routed as power" in str(e.value)
