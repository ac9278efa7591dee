"""Flip-chip PoP (family: pop): the example builds clean with nets from the maps, KiCad accepts it,
the stack carries resin and adhesive, the z-stack rules refuse their failing specs with the sum in the
message, and both footprints (bottom BGA, PoP top lands) match the substrate."""

from __future__ import annotations

import json
import subprocess

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


def test_example_builds_clean_with_nets_from_the_maps():
    spec = example_spec()
    result = build_substrate(spec)
    assert result.report.ok, result.report.text()
    b = result.board
    assert b.copper == 4
    top, balls, u1, u2 = (by_owner(b, o) for o in ("POP", "BALLS", "U1", "U2"))
    assert (len(top), len(balls), len(u1), len(u2)) == (104, 17 * 17 - 9 * 9, 16, 16)
    assert [set(b.pads.layer[s].tolist()) for s in (top, u2, u1, balls)] == [{0}, {1}, {2}, {3}]
    # one through via L1-L4 under every top land, above a ball, all three on one net
    assert len(b.vias) == 104 and set(b.vias.kind) == {"through"}
    assert (b.vias.top == 0).all() and (b.vias.bottom == 3).all()
    ball_net = {xy(b, i): int(b.pads.net[i]) for i in balls}
    via_net = {(round(float(x), 6), round(float(y), 6)): int(n) for x, y, n in zip(b.vias.x, b.vias.y, b.vias.net)}
    for i in top:
        assert via_net[xy(b, i)] == ball_net[xy(b, i)] == int(b.pads.net[i]) != 0
    # nets: chip 2 from its bump map (DQ0..15), chip 1 from the memory map (CA0..15), the rest from the map
    assert sorted(b.nets[n] for n in b.pads.net[u2]) == sorted(f"DQ{k}" for k in range(16))
    assert sorted(b.nets[n] for n in b.pads.net[u1]) == sorted(f"CA{k}" for k in range(16))
    top_map = dict(line.split(",") for line in (EXAMPLES / "pop_top_map.csv").read_text().splitlines()[2:])
    assert {b.pads.name[i]: b.nets[b.pads.net[i]] for i in top} == top_map
    # U2's bump 1 is DQ0 in the die pad map; its trace ends at the land the memory map calls DQ0
    land_dq0 = [i for i in top if b.nets[b.pads.net[i]] == "DQ0"]
    assert len(land_dq0) == 1
    dq0 = b.nets.index("DQ0")
    ends = {(round(float(x), 6), round(float(y), 6)) for k in np.flatnonzero(b.tracks.net == dq0)
            for x, y in ((b.tracks.x1[k], b.tracks.y1[k]), (b.tracks.x2[k], b.tracks.y2[k]))}
    assert xy(b, land_dq0[0]) in ends and set(b.tracks.layer[b.tracks.net == dq0].tolist()) == {1}


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
    assert [d.material for d in diel] == ["polyimide", "epoxy", "BT"]
    assert [(p.role, p.material, p.thickness) for p in diel[1].plies] == [
        ("resin (chip 2 level)", "epoxy", 0.16), ("adhesive", "DAF", 0.02), ("resin (chip 1 level)", "epoxy", 0.16)]
    from kisubstrate.api.specs import validate_spec

    data = spec.model_dump(mode="json", exclude={"stackup"})
    data["top_lands"]["ball_map"] = None
    data["bump_heights"] = [0.08, 0.04]  # chip 1 level = 0.08 + 0.1; chip 2 level = 0.34 - 0.18 - 0.02
    lopsided = validate_spec(data)
    assert [p.thickness for p in lopsided.stackup.dielectrics()[1].plies] == [0.14, 0.02, 0.18]
    pcb = substrate_files(build_substrate(spec))[f"{spec.resolved_name}.kicad_pcb"]
    assert ('(layer "dielectric 2" (type "prepreg") (thickness 0.16) (material "epoxy") (epsilon_r 3.8) '
            '(loss_tangent 0.02) addsublayer (thickness 0.02) (material "DAF") (epsilon_r 3.5) (loss_tangent 0.01) '
            'addsublayer (thickness 0.16) (material "epoxy")') in pcb
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
    for csv in ("pop_u2_bumps.csv", "pop_top_map.csv"):
        (tmp_path / csv).write_text((EXAMPLES / csv).read_text())
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
    ("      layout: [15, 15]", "      layout: [14, 14]", "no bottom ball below"),
    ("      through: {drill: 0.15, pad: 0.3}", "      micro: {drill: 0.06, pad: 0.12}", "vias.through"),
])
def test_invalid_input_exits_2(old, new, words, cli_runner, tmp_path):
    text = EXAMPLE.read_text()
    assert text.count(old) == 1
    for csv in ("pop_u2_bumps.csv", "pop_top_map.csv"):
        (tmp_path / csv).write_text((EXAMPLES / csv).read_text())
    if "[14, 14]" in new:  # the memory map names 15 x 15 sites: leave it out
        text = text.replace("      ball_map: pop_top_map.csv\n", "")
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
        {b.pads.name[i]: b.nets[b.pads.net[i]] for i in by_owner(b, "POP")}
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
                  "through": kinds == [int(pcbnew.VIATYPE_THROUGH)],
                  "fps": fps, "u2nets": sorted(nets), "nets": sum(1 for n in b.GetNetsByNetcode() if n > 0)}))
"""
    got = run_pcbnew(pcbnew_python, script, str(pcb))
    assert got["copper"] == 4 and got["vias"] == 104 and got["through"]
    assert got["fps"] == {"U1": ["In2.Cu", 16], "U2": ["In1.Cu", 16], "POP": ["F.Cu", 104], "J1": ["B.Cu", 208]}
    assert got["u2nets"] == sorted(f"DQ{k}" for k in range(16))
    assert got["nets"] == len(result.board.nets) - 1 == 104


def test_cli_prints_the_zstack(cli_runner, tmp_path):
    code, out, err = cli_runner("substrate", EXAMPLE, EXAMPLES / "cavity.yaml", "-o", tmp_path)
    assert code == 0, err
    assert "Z-STACK: bump 1 0.06 + die U1 0.1 + adhesive 0.02 + die U2 0.1 + bump 2 0.06 = 0.340 mm" in out
    assert "top package stand-off 0.2 mm vs mask 0.02 + parts 0 + warpage 0.05 = 0.070 mm: OK" in out
    assert "cavity 6.4 x 6.4 mm, depth 0.418 mm" in out
    written = sorted(p.name for p in tmp_path.iterdir() if not p.name.startswith("."))
    assert sum(name.endswith("-fab-notes.txt") for name in written) == 2 and len(written) == 11
    assert "kisubstrate_Substrates.kicad_sym" in written  # both packages' symbols, one library


def test_ball_map_nets_reach_the_top_lands_and_conflicts_are_refused(tmp_path, cli_runner):
    """Without a memory map, the bottom ball map names the pass-through nets; a top-land map that
    disagrees on the same via is an input error (exit 2)."""
    for csv in ("pop_u2_bumps.csv",):
        (tmp_path / csv).write_text((EXAMPLES / csv).read_text())
    text = EXAMPLE.read_text().replace("      ball_map: pop_top_map.csv\n", "")
    # top land B2 is on the outer PoP ring (a pass-through via, no chip on it)
    spec0 = load_specs([EXAMPLE])[0].spec
    b0 = build_substrate(spec0).board
    top = {b0.pads.name[i]: xy(b0, i) for i in by_owner(b0, "POP")}
    balls = {xy(b0, i): b0.pads.name[i] for i in by_owner(b0, "BALLS")}
    ball_b2 = balls[top["B2"]]  # the ball below it has another name (the bottom grid is larger)
    (tmp_path / "balls.csv").write_text(f"ball,net\n{ball_b2},VDDQ_B2\n")
    spec = tmp_path / "ok.yaml"
    spec.write_text(text.replace("      mask: smd\n    top_lands:", "      mask: smd\n      ball_map: balls.csv\n"
                                 "    top_lands:", 1))
    b = build_substrate(load_specs([spec])[0].spec).board
    land = [i for i in by_owner(b, "POP") if b.pads.name[i] == "B2"][0]
    assert b.nets[b.pads.net[land]] == "VDDQ_B2"
    (tmp_path / "top.csv").write_text("ball,net\nB2,OTHER\n")
    bad = tmp_path / "bad.yaml"
    bad.write_text(spec.read_text().replace("      mask: smd\n    top_package", "      mask: smd\n"
                                            "      ball_map: top.csv\n    top_package"))
    assert bad.read_text().count("top.csv") == 1
    code, _out, err = cli_runner("substrate", bad, "-o", tmp_path / "out")
    assert code == 2 and "VDDQ_B2" in err and "OTHER" in err


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
    assert set(b.vias.kind) == {"blind"} and len(b.vias) == 32
    assert sorted({(int(t), int(u)) for t, u in zip(b.vias.top, b.vias.bottom)}) == [(0, 1), (2, 3)]
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
    (tmp_path / "pop_u2_bumps.csv").write_text((EXAMPLES / "pop_u2_bumps.csv").read_text())
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
    (tmp_path / "pop_u2_bumps.csv").write_text((EXAMPLES / "pop_u2_bumps.csv").read_text())
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
    """56 castellated pads on every copper layer; each land's net = its ball's; without the edge
    footprint every land/ball pair falls apart (the edge is the only connection)."""
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
    assert got == {"edge": 56, "castellated": 56, "all_copper": 56, "edge_nets": 56, "same_net": 56,
                   "unconnected": 0, "without_edge": 56}


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
