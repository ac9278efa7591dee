"""Cavity package, the claimed structure (``structure: laminated``, the example ``cavity.yaml``): a second
substrate laminated over the spacer and the resin-filled cavity carries solder lands over the cavity too,
routed on L1 to plated holes through the sidewall, which join the floor pattern (fingers, L2); the die
pad's net (GND) drops through the sidewall to the heat plate. Every land of the pinout is connected."""

from __future__ import annotations

import json
from dataclasses import fields

import numpy as np
import pytest
import shapely
import yaml

from conftest import EXAMPLES, ROOT
from kisubstrate.api.specs import load_specs, validate_spec
from kisubstrate.api.substrate import SubstrateResult, build_substrate, substrate_files
from kisubstrate.families.cavity import cavity_checks, cavity_shapes, finger_positions
from kisubstrate.geometry.board import BoardBuilder, Tracks, concat_vias, replace_items
from kisubstrate.model.errors import SpecError
from kisubstrate.rules.connectivity import check_connectivity
from stack_util import kicad_drc, write_result

EXAMPLE = EXAMPLES / "cavity.yaml"


@pytest.fixture(scope="module")
def example():
    spec = load_specs([EXAMPLE])[0].spec
    return build_substrate(spec)


def _pkg() -> dict:
    return yaml.safe_load(EXAMPLE.read_text())["packages"][0]


def _validate(pkg: dict):
    return validate_spec(pkg, base_dir=str(EXAMPLES))


# -- the example -----------------------------------------------------------------------------------
def test_example_has_lands_over_the_cavity_and_every_land_connected(example):
    assert example.report.ok, example.report.text()
    b = example.board
    lands = np.flatnonzero((b.pads.layer == 0))
    assert len(lands) == 144
    cav = b.extras.cavity.outline
    over = shapely.contains(cav, shapely.points(b.pads.x[lands], b.pads.y[lands]))
    assert int(over.sum()) == 64
    assert (b.pads.net[lands] > 0).all(), "no NC land in the example: every land has a net"
    nets = {b.nets[int(n)] for n in b.pads.net[lands[over]]}
    assert {"GND", "VDD_CORE"} <= nets and any(n.startswith("VCCIO") for n in nets)
    side = b.extras.sidecar
    assert side["cavity"]["structure"] == "laminated" and side["cavity"]["depth"] == 0.4
    assert side["routing"]["unrouted"] == [] and side["routing"]["no_connect"] == []
    assert check_connectivity(b) == []  # every net one piece of copper as KiCad joins it (plate and fills too)
    # and the check sees an open: drop the L1 trace of a land over the cavity
    io = b.nets.index("IO2")
    cut = np.flatnonzero((b.tracks.net == io) & (b.tracks.layer == 0))[:1]
    keep = np.ones(len(b.tracks), bool)
    keep[cut] = False
    opened = replace_items(b, tracks=Tracks(**{f.name: getattr(b.tracks, f.name)[keep] for f in fields(Tracks)}))
    assert [v.rule for v in check_connectivity(opened)] == ["unconnected"]


def test_holes_sit_in_the_sidewall_and_none_over_the_cavity(example):
    b, spec = example.board, example.spec
    v = b.vias
    side_holes = np.flatnonzero(v.top == 0)
    gnd = b.nets.index("GND")
    in_land = np.flatnonzero((b.pads.layer == 0) & (b.pads.net == gnd))
    land_xy = {(round(float(x), 6), round(float(y), 6)) for x, y in zip(b.pads.x[in_land], b.pads.y[in_land])}
    vip = sum((round(float(x), 6), round(float(y), 6)) in land_xy for x, y in zip(v.x[side_holes], v.y[side_holes]))
    assert len(side_holes) == 28 + vip and vip > 40  # a hole per bonded non-GND pad, GND in its sidewall lands
    cav = b.extras.cavity.outline
    pts = shapely.points(v.x[side_holes], v.y[side_holes])
    gap = shapely.distance(pts, cav.exterior) - v.drill[side_holes] / 2
    assert not shapely.contains(cav, pts).any()
    assert gap.min() >= spec.sidewall.wall_margin - 1e-9
    edge = spec.body[0] / 2 - np.maximum(np.abs(v.x[side_holes]), np.abs(v.y[side_holes])) - v.drill[side_holes] / 2
    assert edge.min() >= spec.sidewall.outline_margin - 1e-9
    assert set(v.bottom[side_holes][v.net[side_holes] == gnd].tolist()) == {2}  # GND through to the plate
    assert set(v.bottom[side_holes][v.net[side_holes] != gnd].tolist()) == {1}  # others to the floor


def test_floor_fans_out_without_crossing_and_gnd_is_down_bonded(example):
    b = example.board
    on = b.tracks.layer == 1
    segs = shapely.linestrings(np.c_[b.tracks.x1[on], b.tracks.y1[on], b.tracks.x2[on], b.tracks.y2[on]]
                               .reshape(-1, 2, 2))
    nets = b.tracks.net[on]
    tree = shapely.STRtree(segs)
    a, c = tree.query(segs, predicate="intersects")
    assert not (nets[a] != nets[c]).any(), "floor traces of two nets cross"
    wires = [d for d in b.drawings if d.layer == "User.3"]
    assert len(wires) == 44 and sum("down-bond" in d.label for d in wires) == 16


def test_sidecar_and_nets_csv_measure_both_layers(example, tmp_path):
    nets = example.board.extras.sidecar["routing"]["nets"]
    io = nets["IO0"]
    assert io["vias"] == 1 and io["balls"] == 1
    assert io["length_by_layer_mm"]["L1"] > 0 and io["length_by_layer_mm"]["L2"] > 0
    assert io["length_mm"] == pytest.approx(io["length_by_layer_mm"]["L1"] + io["length_by_layer_mm"]["L2"], abs=1e-3)
    assert nets["VDD_CORE"]["vias"] == 4 and nets["VDD_CORE"]["balls"] == 16
    files = substrate_files(example)
    csv = next(v for k, v in files.items() if str(k).endswith("-nets.csv"))
    assert csv.splitlines()[0] == "net,kind,layers,length_mm,vias" and len(csv.splitlines()) == 1 + len(nets)


def test_fab_notes_describe_the_laminated_structure(example):
    notes = example.board.extras.files["-fab-notes.txt"]
    assert "filled with epoxy resin flush with the spacer" in notes
    assert "laminated over spacer and resin" in notes
    assert f"{int((example.board.vias.top == 0).sum())} plated holes" in notes


def test_output_is_identical_on_rebuild(example):
    again = build_substrate(load_specs([EXAMPLE])[0].spec)
    assert substrate_files(again) == substrate_files(example)


# -- rules -----------------------------------------------------------------------------------------
def test_hole_over_the_cavity_is_flagged_by_us_and_by_kicad(example, kicad_cli, tmp_path):
    """A via from the second substrate into the resin: our cavity_hole rule and KiCad's rule area /
    .kicad_dru rule cavity_no_holes both flag it."""
    b = example.board
    extra = BoardBuilder(b.name, copper=3, outline=b.outline)
    extra.via(0.0, -2.0, 0.4, 0.2, 0, 1, net=b.nets.index("IO0"), kind="blind")
    seeded = replace_items(b, vias=concat_vias(b.vias, extra.build().vias))
    ours = [v for v in cavity_checks(example.spec, seeded) if v.rule == "cavity_hole"]
    assert len(ours) == 1 and ours[0].where == (0.0, -2.0)
    pcb = write_result(SubstrateResult(spec=example.spec, board=seeded, report=example.report), tmp_path)
    rep = kicad_drc(kicad_cli, pcb)
    hits = [v for v in rep["violations"] if "cavity" in v["description"]]
    assert len(hits) == 1, rep["violations"][:3]


def test_example_passes_kicad_drc(example, kicad_cli, tmp_path):
    rep = kicad_drc(kicad_cli, write_result(example, tmp_path))
    assert rep["violations"] == [] and rep["unconnected_items"] == [], rep["violations"][:5]


@pytest.mark.parametrize("spacer, ok", [(0.375, True), (0.374, False)])
def test_spacer_must_hold_die_wire_and_resin_over_the_loop(spacer, ok):
    """attach 0.025 + die 0.2 + loop 0.1 + the profile's encapsulant_cover 0.05 = 0.375 mm under the second
    substrate: 1 um less is refused with the numbers."""
    pkg = _pkg()
    d1 = pkg["stackup"]["layers"][1]
    d1["dielectric"] = round(0.1 + spacer, 6)
    d1["plies"][1]["thickness"] = spacer
    spec = _validate(pkg)
    got = [v for v in cavity_checks(spec, build_substrate(spec).board) if v.rule == "cavity_depth"]
    if ok:
        assert got == []
    else:
        assert len(got) == 1 and "0.375 mm" in got[0].message and "0.374 mm" in got[0].message


@pytest.mark.parametrize("edit, needle", [
    (lambda p: p["sidewall"].update(rows=2), "drop sidewall.rows"),
    (lambda p: p["encapsulation"].update(margin=0.5), "drop encapsulation.margin"),
    (lambda p: p["encapsulation"].update(height=0.3), "encapsulation.height 0.3 mm"),
    (lambda p: p["stackup"]["layers"][1].pop("plies"), "give dielectric 1 as plies"),
    (lambda p: p["lands"].update(rings=2) or p.update(structure="open"), "lands.rings is for the laminated"),
    (lambda p: p.update(thermal_vias=None) or p["heat_plate"].update(net="HEAT"), "die_pad.net"),
])
def test_laminated_refuses_what_it_cannot_build(edit, needle):
    pkg = _pkg()
    edit(pkg)
    with pytest.raises(SpecError, match=needle.replace(".", r"\.")):
        spec = _validate(pkg)
        build_substrate(spec)


def test_too_many_pads_for_the_holes_is_one_located_message():
    pkg = _pkg()
    pkg["dies"][0]["pads"] = {"peripheral": {"per_side": 12, "pitch": 0.25, "inset": 0.12}, "size": 0.08}
    pkg["lands"].pop("ball_map")
    with pytest.raises(SpecError, match=r"12 die pads on the top edge need a sidewall hole each, but only 7 holes"):
        build_substrate(_validate(pkg))


def test_without_a_ball_map_each_hole_takes_its_nearest_land():
    pkg = _pkg()
    pkg["dies"][0]["pads"] = {"peripheral": {"per_side": 7, "pitch": 0.25, "inset": 0.12}, "size": 0.08}
    pkg["lands"].pop("ball_map")
    result = build_substrate(_validate(pkg))
    assert result.report.ok, result.report.text()
    b = result.board
    lands = np.flatnonzero(b.pads.layer == 0)
    names = [b.nets[int(n)] for n in b.pads.net[lands]]
    assert sum(n.startswith("U1_") for n in names) == 28  # one land per die pad
    assert names.count("GND") > 0  # free sidewall lands drop to the heat plate
    assert check_connectivity(b) == []


def test_tight_pads_get_fingers_spread_to_the_finger_pitch():
    """Pads at 0.2 mm: fingers 0.15 wide keep the 0.1 mm clearance (pitch 0.25), centred on the pads."""
    pkg = _pkg()
    pkg["dies"][0]["pads"] = {"peripheral": {"per_side": 5, "pitch": 0.2, "inset": 0.12}, "size": 0.08}
    pkg["lands"].pop("ball_map")
    spec = _validate(pkg)
    pads = spec.dies[0].pad_list()
    top = [p for p in pads if abs(p.y + 1.88) < 1e-9]
    t = finger_positions(spec, {"top": top, "right": [], "bottom": [], "left": []})
    xs = sorted(t[p.name] for p in top)
    assert np.diff(xs) == pytest.approx([0.25] * 4) and np.mean(xs) == pytest.approx(0.0, abs=1e-9)
    assert build_substrate(spec).report.ok


def test_cavity_shapes_used_for_the_rule_area(example):
    zones = {z.name: z for z in example.board.zones}
    assert zones["cavity"].outline.equals(cavity_shapes(example.spec)[1])
    assert zones["cavity"].keepout == {"tracks": True, "vias": False, "pads": True, "copperpour": True,
                                       "footprints": True}
    dru = example.board.extras.dru_extra
    assert '(rule "cavity_no_holes"' in dru and "cavity_removed_layers" not in dru
    assert json.loads(json.dumps(example.board.extras.sidecar["cavity"]))["second_substrate_mm"] == 0.1


def test_footprint_pads_carry_their_package_length(example):
    """Each footprint pad's KiCad die length is its net's routed length on L1 + L2 (GND, joined by the plate: 0)."""
    from kisubstrate.families.cavity import build_footprint

    (fp,) = build_footprint(example.spec)
    nets = example.board.extras.sidecar["routing"]["nets"]
    got = {n: float(d) for g in fp.pads for n, d in zip(g.names, g.die_length)}
    assert len(got) == 144
    bm = example.spec.terminals.ball_map.net_of
    for ball, net in bm.items():
        want = 0.0 if net == "GND" else nets[net]["length_mm"]
        assert got[ball] == pytest.approx(want, abs=1e-9), ball
    assert sum(v > 0 for v in got.values()) == 44


# -- the L1 pour (copper 1 role: mixed) ------------------------------------------------------------
def test_gnd_is_poured_on_the_land_layer(example):
    """``role: mixed, nets: [GND]`` on copper 1: GND fills L1 between the lands and traces, joined to GND copper."""
    b = example.board
    gnd = b.nets.index("GND")
    pours = [z for z in b.zones if z.layers == (0,) and z.keepout is None]
    assert pours and {z.net for z in pours} == {gnd}
    fill = shapely.union_all([z.fill for z in pours])
    side = example.board.extras.sidecar["routing"]
    assert side["pours"] == {"L1": {"GND": round(fill.area, 3)}} and 50 < fill.area < 70
    assert side["nets"]["GND"]["poured_mm2"] == {"L1": round(fill.area, 3)}
    # every piece touches a GND land or hole; other nets' lands lie outside the fill
    land = (b.pads.layer == 0)
    gnd_pts = shapely.points(b.pads.x[land & (b.pads.net == gnd)], b.pads.y[land & (b.pads.net == gnd)])
    for piece in shapely.get_parts(fill):
        assert shapely.intersects(piece, gnd_pts).any() or shapely.intersects(
            piece, shapely.points(b.vias.x[b.vias.net == gnd], b.vias.y[b.vias.net == gnd])).any()
    other = land & (b.pads.net != gnd)
    assert not shapely.intersects(fill, shapely.points(b.pads.x[other], b.pads.y[other])).any()
    assert "F.Cu poured with GND" in example.board.extras.files["-fab-notes.txt"]
    pkg = _pkg()
    for key in ("role", "nets"):
        pkg["stackup"]["layers"][0].pop(key)
    plain = build_substrate(_validate(pkg)).board
    assert not [z for z in plain.zones if z.layers == (0,) and z.keepout is None]
    assert "pours" not in plain.extras.sidecar["routing"]


@pytest.mark.parametrize("edit, needle", [
    (lambda p: p["stackup"]["layers"][2].update(role="mixed", nets=["GND"]), "copper layer 2"),
    (lambda p: p["stackup"]["layers"][0].update(role="plane"), "copper layer 1"),
    (lambda p: p["stackup"]["layers"][0].update(nets=["NOT_A_NET"]), "no land and no sidewall hole"),
])
def test_land_pour_refuses_what_the_family_does_not_draw(edit, needle):
    pkg = _pkg()
    edit(pkg)
    with pytest.raises(SpecError, match=needle):
        build_substrate(_validate(pkg))


def test_open_cavity_takes_no_land_pour():
    spec = yaml.safe_load((ROOT / "tests" / "substrates" / "data" / "cavity_open.yaml").read_text())
    pkg = spec["packages"][0]
    pkg["stackup"]["layers"][0].update(role="mixed", nets=["GND"])
    with pytest.raises(SpecError, match="structure: laminated"):
        _validate(pkg)
