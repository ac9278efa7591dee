"""Flip-chip PoP (family: pop): the example builds clean with nets from the maps, KiCad accepts it,
the stack carries resin and adhesive, the z-stack rules refuse their failing specs with the sum in the
message, and both footprints (bottom BGA, PoP top lands) match the substrate."""

from __future__ import annotations

import json
import subprocess
from collections import Counter

import numpy as np
import pytest

from conftest import EXAMPLES, run_pcbnew
from kisubstrate.api.footprint import build_footprints
from kisubstrate.api.specs import load_specs
from kisubstrate.api.substrate import build_substrate, substrate_files
from kisubstrate.families.pop import zstack, zstack_report

EXAMPLE = EXAMPLES / "pop.yaml"


def example_spec():
    return load_specs([EXAMPLE])[0].spec


def by_owner(b, owner):
    return np.flatnonzero(np.array(b.pads.owner) == owner)


def xy(b, i):
    return (round(float(b.pads.x[i]), 6), round(float(b.pads.y[i]), 6))


def copy_maps(folder):
    """The examples' CSV maps beside a spec written to ``folder``."""
    for csv in EXAMPLES.glob("pop*.csv"):
        (folder / csv.name).write_text(csv.read_text())


def test_example_builds_clean_with_nets_from_the_maps():
    """Nets from the package netlist: power and ground on many balls, no dead ball, every signal routed."""
    spec = example_spec()
    result = build_substrate(spec)
    assert result.report.ok, result.report.text()
    b = result.board
    assert b.copper == 4
    top, balls, u1, u2 = (by_owner(b, o) for o in ("POP", "BALLS", "U1", "U2"))
    assert (len(top), len(balls), len(u1), len(u2)) == (104, 17 * 17 - 9 * 9, 64, 24)
    assert [set(b.pads.layer[s].tolist()) for s in (top, u2, u1, balls)] == [{0}, {1}, {2}, {3}]
    # a through via L1-L4 under every top land with a net (100; 4 are NC), above a ball of that net
    through = np.array(b.vias.kind) == "through"
    assert through.sum() == 100 and (b.vias.top[through] == 0).all() and (b.vias.bottom[through] == 3).all()
    ball_net = {xy(b, i): int(b.pads.net[i]) for i in balls}
    via_net = {(round(float(x), 6), round(float(y), 6)): int(n)
               for x, y, n, k in zip(b.vias.x, b.vias.y, b.vias.net, b.vias.kind) if k == "through"}
    for i in top:
        if b.pads.net[i]:
            assert via_net[xy(b, i)] == ball_net[xy(b, i)] == int(b.pads.net[i])
    # the other vias stay in their carrier (L1-L2 or L3-L4), never across the resin
    assert sorted({(int(t), int(u)) for t, u, k in zip(b.vias.top, b.vias.bottom, b.vias.kind)
                   if k != "through"}) == [(0, 1), (2, 3)]
    # VDD_CORE bumps tie down to their L4 pour under chip 1: carrier vias may stand under a die
    under = [k for k in range(len(b.vias)) if b.vias.top[k] == 2 and abs(b.vias.x[k]) < 2.5 and abs(b.vias.y[k]) < 2.5]
    assert len(under) == 8 and {b.nets[b.vias.net[k]] for k in under} == {"VDD_CORE"}
    # power and ground on many balls; 6 NC balls
    per_net = Counter(b.nets[n] for n in b.pads.net[balls])
    assert {n: per_net[n] for n in ("GND", "VDD_CORE", "VDDQ", "VDD2", "")} == \
        {"GND": 76, "VDD_CORE": 30, "VDDQ": 16, "VDD2": 8, "": 6}
    routing = b.extras.sidecar["routing"]
    assert routing["unrouted"] == [] and len(routing["no_connect"]) == 10  # 6 balls, 4 lands
    nets = routing["nets"]
    # the memory bus: DQ from chip 2 on L2, CA from chip 1 on L3, each to its land's via (and the ball below)
    for k in range(16):
        assert nets[f"DQ{k}"]["length_by_layer_mm"].keys() == {"L2"} and nets[f"DQ{k}"]["length_mm"] > 1.0
        assert nets[f"CA{k}"]["length_by_layer_mm"].keys() == {"L3"} and nets[f"CA{k}"]["length_mm"] > 0.5
    for k in range(24):  # chip 1's IO to the free ball rings
        assert nets[f"IO{k}"]["length_by_layer_mm"].keys() == {"L3"} and nets[f"IO{k}"]["vias"] >= 1
    assert {n: nets[n]["layer"] for n in ("GND", "VDD_CORE", "VDDQ", "VDD2")} == \
        {"GND": "L4", "VDD_CORE": "L4", "VDDQ": "L1", "VDD2": "L2"}
    assert sorted((b.nets[z.net], z.layers) for z in b.zones) == [
        ("GND", (3,)), ("VDD2", (1,)), ("VDDQ", (0,)), ("VDD_CORE", (3,))]
    # chip 2's nets come from its bump map; its DQ bumps meet the lands the memory map names alike
    bump_map = dict(line.split(",")[0::3] for line in (EXAMPLES / "pop_u2_bumps.csv").read_text().splitlines()
                    if line[:1].isdigit())
    assert {b.pads.name[i]: b.nets[b.pads.net[i]] for i in u2} == bump_map
    top_map = dict(line.split(",") for line in (EXAMPLES / "pop_top_map.csv").read_text().splitlines()
                   if "," in line and not line.startswith(("#", "ball,")))
    assert {b.pads.name[i]: b.nets[b.pads.net[i]] or "NC" for i in top} == top_map
    land_dq0 = [i for i in top if b.nets[b.pads.net[i]] == "DQ0"]
    dq0 = b.nets.index("DQ0")
    ends = {(round(float(x), 6), round(float(y), 6)) for k in np.flatnonzero(b.tracks.net == dq0)
            for x, y in ((b.tracks.x1[k], b.tracks.y1[k]), (b.tracks.x2[k], b.tracks.y2[k]))}
    assert xy(b, land_dq0[0]) in ends and set(b.tracks.layer[b.tracks.net == dq0].tolist()) == {1}
    csv = substrate_files(result)[f"{result.name}-nets.csv"].splitlines()
    assert csv[0] == "net,kind,layers,length_mm,vias" and len(csv) == 1 + len(nets)


def test_chip1_is_mirrored_face_down():
    """Chip 1 is face down: its pad 1 (top-left edge in its face view) appears at +x in the package top view."""
    spec = example_spec()
    b = build_substrate(spec).board
    u1 = {b.pads.name[i]: xy(b, i) for i in by_owner(b, "U1")}
    face = {p.name: (p.x, p.y) for p in spec.dies[0].pad_list()}
    for name, (x, y) in face.items():
        assert u1[name] == pytest.approx((-x, y))


def test_stack_has_resin_and_adhesive_plies():
    spec = example_spec()
    diel = spec.stackup.dielectrics()
    assert [d.material for d in diel] == ["polyimide", "LM-epoxy", "BT"]
    assert [(p.role, p.material, p.thickness) for p in diel[1].plies] == [
        ("resin (chip 2 level)", "LM-epoxy", 0.16), ("adhesive", "silicone", 0.02),
        ("resin (chip 1 level)", "LM-epoxy", 0.16)]
    from kisubstrate.api.specs import validate_spec

    data = spec.model_dump(mode="json", exclude={"stackup"})
    data["top_lands"]["ball_map"] = str(EXAMPLES / "pop_top_map.csv")
    data["terminals"]["ball_map"] = str(EXAMPLES / "pop_balls.csv")
    data["bump_heights"] = [0.08, 0.04]  # chip 1 level = 0.08 + 0.1; chip 2 level = 0.34 - 0.18 - 0.02
    lopsided = validate_spec(data)
    assert [p.thickness for p in lopsided.stackup.dielectrics()[1].plies] == [0.14, 0.02, 0.18]
    pcb = substrate_files(build_substrate(spec))[f"{spec.resolved_name}.kicad_pcb"]
    assert ('(layer "dielectric 2" (type "prepreg") (thickness 0.16) (material "LM-epoxy") (epsilon_r 3.8) '
            '(loss_tangent 0.02) addsublayer (thickness 0.02) (material "silicone") (epsilon_r 2.68) '
            '(loss_tangent 0.00133) addsublayer (thickness 0.16) (material "LM-epoxy")') in pcb
    z = zstack(spec)
    assert z["stack"] == 0.34 == z["resin"] and z["standoff_need"] == 0.07
    assert zstack_report(spec)[0] == ("Z-STACK: bump 1 0.06 + die U1 0.1 + adhesive 0.02 + die U2 0.1 + bump 2 0.06 "
                                      "= 0.340 mm vs resin 0.34 mm (+/- 0.01): OK")


# -- failing specs ----------------------------------------------------------------------------
@pytest.mark.parametrize("old,new,rule,words", [
    ("resin: {thickness: 0.34", "resin: {thickness: 0.3", "pop_zstack", "too tall: bump 1 0.06 + die U1 0.1 + "
     "adhesive 0.02 + die U2 0.1 + bump 2 0.06 = 0.340 mm vs resin 0.3 mm"),
    ("resin: {thickness: 0.34", "resin: {thickness: 0.4", "pop_zstack", "too short"),
    ("top_package: {standoff: 0.2", "top_package: {standoff: 0.06", "pop_standoff",
     "stand-off 0.06 mm vs mask 0.02 + parts 0 + warpage 0.05 = 0.070 mm"),
    ("size: [5.0, 5.0]", "size: [7.6, 7.6]", "pop_via_under_die", "must run through resin only"),
])
def test_zstack_failing_specs_are_refused(old, new, rule, words, cli_runner, tmp_path):
    text = EXAMPLE.read_text()
    assert text.count(old) == 1
    copy_maps(tmp_path)
    spec = tmp_path / "bad.yaml"
    spec.write_text(text.replace(old, new))
    code, out, _err = cli_runner("substrate", spec, "-o", tmp_path / "out")
    assert code == 1 and rule in out and not (tmp_path / "out").exists()
    rep = build_substrate(load_specs([spec])[0].spec).report
    found = [v for v in rep.violations if v.rule == rule]
    if rule != "pop_via_under_die":  # an oversized die also crowds the fan-out (clearance errors as well)
        assert [v.rule for v in rep.violations] == [rule]
    assert found and words in found[0].message


@pytest.mark.parametrize("old,new,words", [
    ("    carriers:", "    stackup: {layers: []}\n    carriers:", "remove 'stackup'"),
    ("      pitch: 0.65\n      layout: [15, 15]\n      perimeter_rings: 2", "      pitch: 0.6\n      layout: [15, 15]\n"
     "      perimeter_rings: 2", "top land A1 at (-4.2, -4.2) has no bottom ball below it"),
    ("      through: {drill: 0.15, pad: 0.3}", "      micro: {drill: 0.06, pad: 0.12}", "vias.through"),
])
def test_invalid_input_exits_2(old, new, words, cli_runner, tmp_path):
    text = EXAMPLE.read_text()
    assert text.count(old) == 1
    copy_maps(tmp_path)
    spec = tmp_path / "bad.yaml"
    spec.write_text(text.replace(old, new))
    code, _out, err = cli_runner("substrate", spec, "-o", tmp_path / "out")
    assert code == 2 and words in err, err
    assert not (tmp_path / "out").exists()


# -- footprints -------------------------------------------------------------------------------
def test_footprints_match_the_substrate():
    """Bottom BGA: same names/positions as the B.Cu balls (top view, no mirroring). PoP top lands: same
    names, positions and nets as the F.Cu lands the memory package lands on."""
    spec = example_spec()
    bottom, top = build_footprints(spec)
    assert bottom.report.ok and top.report.ok
    assert bottom.geometry.name.endswith("_Footprint") and top.geometry.name.endswith("_PoP-Top-Lands")
    b = build_substrate(spec).board
    for fp, owner, count in ((bottom, "BALLS", 208), (top, "POP", 104)):
        table = {name: (x, y) for name, x, y, _w, _h in fp.geometry.pad_table()}
        sub = {b.pads.name[i]: (float(b.pads.x[i]), float(b.pads.y[i])) for i in by_owner(b, owner)}
        assert set(table) == set(sub) and len(sub) == count
        for name, pos in sub.items():
            assert table[name] == pytest.approx(pos, abs=1e-9)
    assert dict(zip(top.geometry.pads[0].names, top.geometry.pads[0].nets)) == \
        {b.pads.name[i]: b.nets[b.pads.net[i]] or "NC" for i in by_owner(b, "POP")}
    # each bottom pad carries its signal net's routed length in the package as KiCad's die length
    nets = b.extras.sidecar["routing"]["nets"]
    ball_net = {b.pads.name[i]: b.nets[b.pads.net[i]] for i in by_owner(b, "BALLS")}
    die_length = {n: float(v) for g in bottom.geometry.pads for n, v in zip(g.names, g.die_length)}
    for name, net in ball_net.items():
        want = nets[net]["length_mm"] if net and nets[net]["kind"] == "signal" else 0.0
        assert die_length[name] == pytest.approx(want)
    assert die_length[next(n for n, net in ball_net.items() if net == "IO0")] > 1.0
    a1 = {n: (x, y) for n, x, y, _w, _h in bottom.geometry.pad_table()}["A1"]
    assert a1 == (-5.2, -5.2)


# -- KiCad ------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def example_board(tmp_path_factory):
    result = build_substrate(example_spec())
    folder = tmp_path_factory.mktemp("pop")
    for name, text in substrate_files(result).items():
        (folder / name).write_text(text)
    return result, folder / f"{result.name}.kicad_pcb"


@pytest.mark.kicad
def test_example_passes_kicad_drc(kicad_cli, example_board):
    _result, pcb = example_board
    out = pcb.with_suffix(".drc.json")
    r = subprocess.run([kicad_cli, "pcb", "drc", "--format", "json", "--severity-error", "-o", str(out), str(pcb)],
                       capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr
    report = json.loads(out.read_text())
    assert report["violations"] == [] and report["unconnected_items"] == []


@pytest.mark.kicad
def test_pcbnew_reads_back(pcbnew_python, example_board):
    result, pcb = example_board
    script = r"""
import json, sys, pcbnew
b = pcbnew.LoadBoard(sys.argv[1])
vias = [t for t in b.GetTracks() if t.GetClass() == "PCB_VIA"]
kinds = sorted({int(v.GetViaType()) for v in vias})
fps = {fp.GetReference(): [pcbnew.BOARD.GetStandardLayerName(fp.Pads()[0].GetLayerSet().Seq()[0]), len(fp.Pads())]
       for fp in b.GetFootprints()}
nets = {p.GetNetname() for fp in b.GetFootprints() for p in fp.Pads() if fp.GetReference() == "U2"}
print(json.dumps({"copper": b.GetCopperLayerCount(), "vias": len(vias),
                  "through": sum(int(v.GetViaType()) == int(pcbnew.VIATYPE_THROUGH) for v in vias),
                  "fps": fps, "u2nets": sorted(nets), "nets": sum(1 for n in b.GetNetsByNetcode() if n > 0)}))
"""
    got = run_pcbnew(pcbnew_python, script, str(pcb))
    assert got["copper"] == 4 and got["vias"] == 136 and got["through"] == 100
    assert got["fps"] == {"U1": ["In2.Cu", 64], "U2": ["In1.Cu", 24], "POP": ["F.Cu", 104], "J1": ["B.Cu", 208]}
    assert got["u2nets"] == sorted([f"DQ{k}" for k in range(16)] + ["GND", "VDDQ"])
    assert got["nets"] == len(result.board.nets) - 1 == 76


def test_cli_prints_the_zstack(cli_runner, tmp_path):
    code, out, err = cli_runner("substrate", EXAMPLE, EXAMPLES / "cavity.yaml", "-o", tmp_path)
    assert code == 0, err
    assert "Z-STACK: bump 1 0.06 + die U1 0.1 + adhesive 0.02 + die U2 0.1 + bump 2 0.06 = 0.340 mm" in out
    assert "top package stand-off 0.2 mm vs mask 0.02 + parts 0 + warpage 0.05 = 0.070 mm: OK" in out
    assert "cavity 6.4 x 6.4 mm, depth 0.400 mm (resin-filled under the second substrate" in out
    written = sorted(p.name for p in tmp_path.iterdir() if not p.name.startswith("."))
    assert sum(name.endswith("-fab-notes.txt") for name in written) == 2 and len(written) == 13
    assert sum(name.endswith("-nets.csv") for name in written) == 2  # the PoP's and the cavity's routed nets
    assert "kisubstrate_Substrates.kicad_sym" in written  # both packages' symbols, one library


@pytest.mark.parametrize("csv,old,new,words", [
    # top land B2 (DQ10) sits on ball C3 (DQ10): the through via joins them
    ("pop_top_map.csv", "\nB2,DQ10\n", "\nB2,OTHER\n", "pop_top_map.csv' line 20: top land B2 (OTHER) and the ball "
     "below it, C3 (DQ10), carry different nets"),
    ("pop_balls.csv", "\nA1,GND\n", "\nA1,LONELY\n", "pop_balls.csv' line 4: net 'LONELY' is on ball A1 only"),
    ("pop_u2_bumps.csv", "\n17,1.9,1.4,GND\n", "\n17,1.9,1.4,A1_NET\n", "net 'A1_NET' joins U2.17 above the resin to "
     "ball A1 below it"),
])
def test_bad_netlists_exit_2_naming_file_and_line(csv, old, new, words, tmp_path, cli_runner):
    copy_maps(tmp_path)
    if "A1_NET" in new:  # ball A1 (outer ring, under no land) on chip 2's new net
        balls = tmp_path / "pop_balls.csv"
        balls.write_text(balls.read_text().replace("\nA1,GND\n", "\nA1,A1_NET\n"))
    text = (tmp_path / csv).read_text()
    assert text.count(old) == 1
    (tmp_path / csv).write_text(text.replace(old, new))
    (tmp_path / "pop.yaml").write_text(EXAMPLE.read_text())
    code, _out, err = cli_runner("substrate", tmp_path / "pop.yaml", "-o", tmp_path / "out")
    assert code == 2 and words in err and "Traceback" not in err, err
    assert not (tmp_path / "out").exists()


def test_a_ball_map_needs_the_dies_nets(tmp_path, cli_runner):
    copy_maps(tmp_path)
    (tmp_path / "pop.yaml").write_text(EXAMPLE.read_text().replace(
        "          map: pop_u1_bumps.csv", "          peripheral: {per_side: 4, pitch: 0.4, inset: 0.1}"))
    code, _out, err = cli_runner("substrate", tmp_path / "pop.yaml", "-o", tmp_path / "out")
    assert code == 2 and "die U1: with a ball map the package is routed from its netlist" in err, err


# -- side-trace variant (interconnect: side_trace) ---------------------------------------------
SIDE = EXAMPLES / "pop_side_trace.yaml"


def side_spec():
    return load_specs([SIDE])[0].spec


def test_side_trace_joins_each_land_to_its_ball_over_the_edge():
    """No via crosses the resin; every PoP land (L1) and the ball below it (L4) run outward to one
    castellation centred on the outline, all three on one net; chips reach their carrier by blind vias."""
    result = build_substrate(side_spec())
    assert result.report.ok, result.report.text()
    b = result.board
    top, balls = by_owner(b, "POP"), by_owner(b, "BALLS")
    assert (len(top), len(balls)) == (56, 15 * 15 - 9 * 9)
    # carrier vias only: chip 2's routes drop from a land (L1-L2), chip 1's and the balls' rise to L3
    assert set(b.vias.kind) == {"blind"} and len(b.vias) == 88
    assert Counter((int(t), int(u)) for t, u in zip(b.vias.top, b.vias.bottom)) == {(0, 1): 24, (2, 3): 64}
    per_net = Counter(b.nets[n] for n in b.pads.net[balls])
    assert {n: per_net[n] for n in ("GND", "VDD_CORE", "VDDQ", "VDD2", "")} == \
        {"GND": 44, "VDD_CORE": 30, "VDDQ": 8, "VDD2": 8, "": 2}
    routing = b.extras.sidecar["routing"]
    assert routing["unrouted"] == [] and routing["no_connect"] == ["D3", "M13"]
    assert routing["nets"]["VDD2"]["length_mm"] > 8 * 0.65  # on the lands only: joined by traces below the resin
    cs = b.extras.castellated
    assert len(cs) == 56 and all(c.pad == 0.35 and c.drill == 0.2 for c in cs)
    assert all(abs(c.x) == 6.0 or abs(c.y) == 6.0 for c in cs)
    assert [sum(c.side == k for c in cs) for k in range(4)] == [14, 14, 14, 14]
    ball_net = {xy(b, i): int(b.pads.net[i]) for i in balls}
    cast_net = {(c.x, c.y): c.net for c in cs}
    t = b.tracks
    for i in top:
        net, (x, y) = int(b.pads.net[i]), xy(b, i)
        assert net != 0 and ball_net[(x, y)] == net
        for layer in (0, 3):  # one straight trace from the land / ball to 0.121 mm inside the outline
            k = np.flatnonzero((t.net == net) & (t.layer == layer) & np.isclose(t.x1, x) & np.isclose(t.y1, y))
            assert len(k) == 1
            ex, ey = float(t.x2[k[0]]), float(t.y2[k[0]])
            assert max(abs(ex), abs(ey)) == pytest.approx(6.0 - 0.121)
            (cx, cy), = [p for p in cast_net if np.hypot(p[0] - ex, p[1] - ey) < 0.175]
            assert cast_net[(cx, cy)] == net and (cx == x or cy == y)
    notes = substrate_files(result)[f"{result.name}-fab-notes.txt"]
    assert "SIDE TRACES (User.4 Side.Traces): 56 conductive traces" in notes and "THROUGH VIAS" not in notes


def test_side_trace_pitch_too_fine_is_refused(cli_runner, tmp_path):
    copy_maps(tmp_path)
    spec = tmp_path / "bad.yaml"
    text = SIDE.read_text()
    assert text.count("side_trace: {drill: 0.2, pad: 0.35}") == 1
    spec.write_text(text.replace("side_trace: {drill: 0.2, pad: 0.35}", "side_trace: {drill: 0.2, pad: 0.64}"))
    code, out, _err = cli_runner("substrate", spec, "-o", tmp_path / "out")
    assert code == 1 and "pop_side_trace_pitch" in out and not (tmp_path / "out").exists()
    rep = build_substrate(load_specs([spec])[0].spec).report
    assert {v.rule for v in rep.violations} == {"pop_side_trace_pitch"}
    v = rep.violations[0]
    assert v.measured == pytest.approx(0.65) and v.required == pytest.approx(0.665) \
        and "too fine for the edge" in v.message


def test_side_trace_needs_the_lands_on_the_outer_ball_ring(cli_runner, tmp_path):
    copy_maps(tmp_path)
    spec = tmp_path / "bad.yaml"
    spec.write_text(SIDE.read_text().replace("      layout: [15, 15]\n      perimeter_rings: 3",
                                             "      layout: [17, 17]\n      perimeter_rings: 4"))
    code, _out, err = cli_runner("substrate", spec, "-o", tmp_path / "out")
    assert code == 2 and "outermost ball ring" in err and not (tmp_path / "out").exists()


@pytest.fixture(scope="module")
def side_board(tmp_path_factory):
    result = build_substrate(side_spec())
    folder = tmp_path_factory.mktemp("pop_side")
    for name, text in substrate_files(result).items():
        (folder / name).write_text(text)
    return result, folder / f"{result.name}.kicad_pcb"


@pytest.mark.kicad
def test_side_trace_passes_kicad_drc(kicad_cli, side_board):
    """Castellated pads on the outline: KiCad 9 exempts them from edge clearance (no .kicad_dru change)."""
    _result, pcb = side_board
    out = pcb.with_suffix(".drc.json")
    r = subprocess.run([kicad_cli, "pcb", "drc", "--format", "json", "--severity-error", "-o", str(out), str(pcb)],
                       capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr
    report = json.loads(out.read_text())
    assert report["violations"] == [] and report["unconnected_items"] == []


@pytest.mark.kicad
def test_side_trace_pcbnew_reads_back(pcbnew_python, side_board):
    """56 castellated pads on every copper layer on 35 nets; each land's net = its ball's; without the
    edge footprint every land/ball pair falls apart (the edge is the only connection across the resin)."""
    _result, pcb = side_board
    script = r"""
import json, os, sys, pcbnew
b = pcbnew.LoadBoard(sys.argv[1])
fps = {fp.GetReference(): fp for fp in b.GetFootprints()}
edge = list(fps["EDGE"].Pads())
key = lambda p: (p.GetPosition().x, p.GetPosition().y)
balls = {key(p): p.GetNetname() for p in fps["J1"].Pads()}
lands = list(fps["POP"].Pads())
cu = [pcbnew.F_Cu, pcbnew.In1_Cu, pcbnew.In2_Cu, pcbnew.B_Cu]
b.BuildConnectivity()
u0 = b.GetConnectivity().GetUnconnectedCount(False)
b.Remove(fps["EDGE"])
b.BuildConnectivity()
print(json.dumps({"edge": len(edge),
                  "castellated": sum(p.GetProperty() == pcbnew.PAD_PROP_CASTELLATED for p in edge),
                  "all_copper": sum(all(p.IsOnLayer(c) for c in cu) for p in edge),
                  "edge_nets": len({p.GetNetname() for p in edge} & {p.GetNetname() for p in lands}),
                  "same_net": sum(balls[key(p)] == p.GetNetname() != "" for p in lands),
                  "unconnected": u0, "without_edge": b.GetConnectivity().GetUnconnectedCount(False)}))
sys.stdout.flush()
os._exit(0)  # skip SWIG's exit-time leak notice about the connectivity pointer (it prints on stdout)
"""
    got = run_pcbnew(pcbnew_python, script, str(pcb))
    assert got["without_edge"] > 0
    assert got == {"edge": 56, "castellated": 56, "all_copper": 56, "edge_nets": 35, "same_net": 56,
                   "unconnected": 0, "without_edge": got["without_edge"]}


def test_castellation_clearance_check_binds():
    """A track of another net passing 0.01 mm from a castellation (inner layer) is refused by the pre-write check
    (castellations are exempt from copper_to_edge only)."""
    from kisubstrate.families.pop import pop_checks
    from kisubstrate.geometry.board import Tracks, concat_tracks, replace_items

    spec = side_spec()
    b = build_substrate(spec).board
    c = next(c for c in b.extras.castellated if c.x == 6.0)
    other = next(n for n in range(1, len(b.nets)) if n != c.net)
    x = 6.0 - (0.175 + 0.02 + 0.01)  # a vertical In1.Cu track 0.01 mm from the castellation pad
    bad = Tracks(*(np.array([v], float) for v in (x, c.y - 0.3, x, c.y + 0.3, 0.04)), layer=np.array([1]),
                 net=np.array([other]))
    found = [v for v in pop_checks(spec, replace_items(b, tracks=concat_tracks(b.tracks, bad)))
             if v.rule == "pop_castellation_clearance"]
    assert len(found) == 1 and found[0].items == (c.name,) and found[0].measured == pytest.approx(0.01)
    assert not [v for v in pop_checks(spec, b) if v.rule.startswith("pop_castellation")]


def test_a_signal_on_two_lands_is_joined_below_the_resin(tmp_path):
    """A memory signal on two PoP lands (the issue's one open net): the tree below the resin joins the two
    sites (their through vias) on chip 1's layer."""
    copy_maps(tmp_path)
    for csv, old, new in (("pop_top_map.csv", "\nN15,CK_C\n", "\nN15,CK_T\n"),
                          ("pop_balls.csv", "\nP16,CK_C\n", "\nP16,CK_T\n")):
        text = (tmp_path / csv).read_text()
        assert text.count(old) == 1
        (tmp_path / csv).write_text(text.replace(old, new))
    (tmp_path / "pop.yaml").write_text(EXAMPLE.read_text())
    result = build_substrate(load_specs([tmp_path / "pop.yaml"])[0].spec)
    assert result.report.ok, result.report.text()
    ck = result.board.extras.sidecar["routing"]["nets"]["CK_T"]
    assert ck["length_by_layer_mm"].keys() == {"L3"} and ck["length_mm"] >= 2 * 0.65 - 1e-6
    assert ck["vias"] == 2  # the two sites' through vias


# -- claims: bump material, TAB tape, elastic adhesive, low-hygroscopy resin ------------------------
def variant(folder, replacements, source=EXAMPLE):
    """The example with ``replacements`` (old, new; each old once) written to ``folder`` beside its maps."""
    text = source.read_text()
    for old, new in replacements:
        assert text.count(old) == 1, old
        text = text.replace(old, new)
    copy_maps(folder)
    path = folder / "variant.yaml"
    path.write_text(text)
    return path


def refusal(path):
    """The SpecError loading ``path`` raises."""
    from kisubstrate.model.errors import SpecError

    with pytest.raises(SpecError) as info:
        load_specs([path])
    return info.value


@pytest.mark.parametrize("materials,chip,limit,inside", [
    ("[solder, solder]", 0, 0.150, True), ("[solder, solder]", 0, 0.151, False),
    ("[solder, solder]", 1, 0.030, True), ("[solder, solder]", 1, 0.029, False),
    ("[solder, gold]", 1, 0.060, True), ("[solder, gold]", 1, 0.061, False),
    ("[gold, solder]", 0, 0.015, True), ("[gold, solder]", 0, 0.014, False),
])
def test_bump_height_range_by_material_at_its_limits(materials, chip, limit, inside, tmp_path):
    """BUMP_RANGE (solder 30-150 um after reflow, gold stud 15-60 um): each limit in, 1 um beyond it refused,
    naming the field bump_heights[k]."""
    heights = ["0.06", "0.06"]
    heights[chip] = f"{limit:g}"
    path = variant(tmp_path, [("bump_heights: [0.06, 0.06]", f"bump_heights: [{', '.join(heights)}]"),
                              ("bump_materials: [solder, solder]", f"bump_materials: {materials}")])
    if inside:
        spec = load_specs([path])[0].spec
        assert spec.bump_heights[chip] == limit
        return
    err = refusal(path)
    material = materials.strip("[]").split(", ")[chip]
    assert err.field == f"bump_heights[{chip}]"
    assert f"{material} bump height {limit * 1000:g} um is outside the {material} range" in err.reason


def test_gold_stud_bumps_reach_zstack_notes_and_sidecar():
    """The side-trace example's chip 2 has gold studs (0.03 mm as bonded): the z-stack sums that height, the
    fab note says it does not collapse, the sidecar records material, range and collapse."""
    spec = side_spec()
    assert spec.bump_materials == ("solder", "gold") and zstack(spec)["terms"][-1] == ("bump 2", 0.03)
    result = build_substrate(spec)
    assert result.report.ok, result.report.text()
    notes = substrate_files(result)[f"{result.name}-fab-notes.txt"].splitlines()
    assert "BUMPS: chip 1 (U1) solder 0.06 mm after reflow (solder collapses on reflow), range 0.03-0.15 mm; " \
           "chip 2 (U2) gold 0.03 mm as bonded (gold stud, no reflow collapse), range 0.015-0.06 mm." in notes
    assert notes[0].startswith("Z-STACK: bump 1 0.06 + die U1 0.1 + adhesive 0.02 + die U2 0.1 + bump 2 0.03 "
                               "= 0.310 mm vs resin 0.31 mm")
    sidecar = json.loads(substrate_files(result)[f"{result.name}.kisubstrate.json"])
    assert sidecar["materials"]["bumps"] == [
        {"chip": 1, "collapses_on_reflow": True, "die": "U1", "height_mm": 0.06, "material": "solder",
         "range_mm": [0.03, 0.15]},
        {"chip": 2, "collapses_on_reflow": False, "die": "U2", "height_mm": 0.03, "material": "gold",
         "range_mm": [0.015, 0.06]}]


def test_tape_carrier_is_polyimide_tab_tape_in_stackup_notes_and_sidecar(tmp_path, cli_runner):
    """kind: tape with no material is a polyimide TAB tape: polyimide (er 3.5, tand 0.003) in the KiCad stackup
    between the carrier's two copper layers, 'TAB tape' in the fab notes, tab_tape in the sidecar."""
    path = variant(tmp_path, [("{core: 0.1, material: BT, copper: 0.015, kind: substrate}",
                               "{core: 0.1, copper: 0.018, kind: tape}")])
    spec = load_specs([path])[0].spec
    assert [(c.kind, c.material) for c in spec.carriers] == [("tape", "polyimide"), ("tape", "polyimide")]
    code, _out, err = cli_runner("substrate", path, "-o", tmp_path / "out")
    assert code == 0, err
    pcb = (tmp_path / "out" / f"{spec.resolved_name}.kicad_pcb").read_text()
    assert ('(layer "In2.Cu" (type "copper") (thickness 0.018))\n\t\t\t(layer "dielectric 3" (type "core") '
            '(thickness 0.1) (material "polyimide") (epsilon_r 3.5) (loss_tangent 0.003))\n\t\t\t'
            '(layer "B.Cu" (type "copper") (thickness 0.018))') in pcb
    assert ('(layer "dielectric 1" (type "core") (thickness 0.05) (material "polyimide") (epsilon_r 3.5) '
            '(loss_tangent 0.003))') in pcb
    notes = (tmp_path / "out" / f"{spec.resolved_name}-fab-notes.txt").read_text().splitlines()
    assert ("CARRIERS: 1st TAB tape: polyimide film 0.1 mm (er 3.5, tand 0.003), copper 0.018 mm both sides "
            "(L3-L4); 2nd TAB tape: polyimide film 0.05 mm (er 3.5, tand 0.003), copper 0.012 mm both sides "
            "(L1-L2).") in notes
    sidecar = json.loads((tmp_path / "out" / f"{spec.resolved_name}.kisubstrate.json").read_text())
    assert sidecar["materials"]["carriers"][0] == {
        "carrier": 1, "copper_layers": ["L3", "L4"], "copper_mm": 0.018, "core_mm": 0.1, "epsilon_r": 3.5,
        "kind": "tape", "loss_tangent": 0.003, "material": "polyimide", "tab_tape": True}


def test_example_tape_carrier_defaults_to_polyimide():
    """pop.yaml gives its second carrier as kind: tape only; the substrate carrier stays BT."""
    spec = example_spec()
    assert [(c.kind, c.material) for c in spec.carriers] == [("substrate", "BT"), ("tape", "polyimide")]
    notes = substrate_files(build_substrate(spec))[f"{spec.resolved_name}-fab-notes.txt"].splitlines()
    assert ("CARRIERS: 1st substrate: BT core 0.1 mm (er 4.2, tand 0.012), copper 0.015 mm both sides (L3-L4); "
            "2nd TAB tape: polyimide film 0.05 mm (er 3.5, tand 0.003), copper 0.012 mm both sides (L1-L2).") in notes


@pytest.mark.parametrize("material", ["BT", "FR-4", "epoxy"])
def test_tape_carrier_of_another_film_is_refused(material, tmp_path):
    path = variant(tmp_path, [("{core: 0.05, copper: 0.012, kind: tape}",
                               f"{{core: 0.05, material: {material}, copper: 0.012, kind: tape}}")])
    err = refusal(path)
    assert err.field == "carriers[1].material"
    assert err.reason == (f"a tape carrier (TAB) is a polyimide tape with copper: material '{material}' is not a "
                          "tape film (polyimide); use kind: substrate for a rigid core")


def test_elastic_adhesive_and_low_hygroscopy_resin_reach_notes_and_sidecar():
    """pop.yaml claims an elastic adhesive (silicone, 0.003 GPa) and a low-hygroscopy resin (0.2 %)."""
    spec = example_spec()
    result = build_substrate(spec)
    files = substrate_files(result)
    notes = files[f"{result.name}-fab-notes.txt"].splitlines()
    assert "ADHESIVE: silicone 0.02 mm, elastic modulus 0.003 GPa: elastic (claimed; at most 1 GPa)." in notes
    assert "RESIN: LM-epoxy 0.34 mm, water uptake 0.2 %: low hygroscopy (claimed; at most 0.3 %)." in notes
    side = json.loads(files[f"{result.name}.kisubstrate.json"])["materials"]
    assert side["adhesive"] == {"elastic": True, "elastic_max_gpa": 1.0, "elastic_modulus_gpa": 0.003,
                                "epsilon_r": 2.68, "loss_tangent": 0.00133, "material": "silicone",
                                "thickness_mm": 0.02}
    assert side["resin"] == {"epsilon_r": 3.8, "loss_tangent": 0.02, "low_hygroscopy": True,
                             "low_hygroscopy_max_pct": 0.3, "material": "LM-epoxy", "moisture_absorption_pct": 0.2,
                             "thickness_mm": 0.34}
    # unclaimed and unknown in the side-trace example: written as not given
    side_notes = substrate_files(build_substrate(side_spec()))
    text = side_notes[f"{side_spec().resolved_name}-fab-notes.txt"]
    assert "ADHESIVE: DAF 0.02 mm, elastic modulus not given." in text
    assert "RESIN: epoxy 0.31 mm, water uptake not given." in text


@pytest.mark.parametrize("replacements,field,words", [
    ([("material: silicone, elastic: true", "material: DAF, elastic: true")], "adhesive.elastic",
     "material 'DAF' has no elastic_modulus: give it under materials"),
    ([("material: silicone, elastic: true", "material: polyimide, elastic: true")], "adhesive.elastic",
     "material 'polyimide' has elastic_modulus 2.5 GPa: an elastic adhesive needs at most 1 GPa"),
    ([("material: silicone, elastic: true", "material: LM-epoxy, elastic: true"),
      ("moisture_absorption: 0.2,", "moisture_absorption: 0.2, elastic_modulus: 1.001,")], "adhesive.elastic",
     "material 'LM-epoxy' has elastic_modulus 1.001 GPa: an elastic adhesive needs at most 1 GPa"),
    ([("material: LM-epoxy, low_hygroscopy: true", "material: epoxy, low_hygroscopy: true")],
     "resin.low_hygroscopy", "material 'epoxy' has no moisture_absorption"),
    ([("material: LM-epoxy, low_hygroscopy: true", "material: polyimide, low_hygroscopy: true")],
     "resin.low_hygroscopy", "material 'polyimide' has moisture_absorption 2.8 %: a low-hygroscopy resin needs "
     "at most 0.3 %"),
    ([("moisture_absorption: 0.2", "moisture_absorption: 0.301")], "resin.low_hygroscopy",
     "material 'LM-epoxy' has moisture_absorption 0.301 %: a low-hygroscopy resin needs at most 0.3 %"),
])
def test_unmet_material_claims_are_refused(replacements, field, words, tmp_path):
    err = refusal(variant(tmp_path, replacements))
    assert err.field == field and words in err.reason


def test_material_claims_at_the_threshold_are_accepted(tmp_path, cli_runner):
    """Modulus 1 GPa and water uptake 0.3 % meet the claims; without a claim any value (or none) is accepted."""
    path = variant(tmp_path, [("material: silicone, elastic: true", "material: LM-epoxy, elastic: true"),
                              ("moisture_absorption: 0.2,", "moisture_absorption: 0.3, elastic_modulus: 1.0,")])
    spec = load_specs([path])[0].spec
    assert spec.stackup.material("LM-epoxy").elastic_modulus == 1.0
    unclaimed = variant(tmp_path, [("material: silicone, elastic: true", "material: polyimide"),
                                   ("material: LM-epoxy, low_hygroscopy: true", "material: polyimide")])
    assert not load_specs([unclaimed])[0].spec.adhesive.elastic
    code, _out, err = cli_runner("substrate", unclaimed, "-o", tmp_path / "out")
    assert code == 0, err
    notes = next((tmp_path / "out").glob("*-fab-notes.txt")).read_text()
    assert "ADHESIVE: polyimide 0.02 mm, elastic modulus 2.5 GPa." in notes
    assert "RESIN: polyimide 0.34 mm, water uptake 2.8 %." in notes
