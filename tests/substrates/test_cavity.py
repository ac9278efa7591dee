"""Cavity package, open variant (``structure: open``, ``data/cavity_open.yaml``): the example builds
clean and routes every die pad, the cavity is a
KiCad object (rule areas, user-layer outline, .kicad_dru, fab note) that KiCad really enforces, each
cavity rule refuses its failing spec, and the footprint matches the substrate's ring lands."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest
import shapely

from conftest import KICAD_MAJOR, run_pcbnew
from kisubstrate.api.footprint import build_footprints
from kisubstrate.api.specs import load_specs
from kisubstrate.api.substrate import SubstrateResult, build_substrate, substrate_files
from kisubstrate.families.cavity import cavity_checks
from kisubstrate.geometry.board import BoardBuilder, concat_tracks, replace_items
from kisubstrate.kicad.board import item_uuid
from kisubstrate.kicad.layers import LayerMap
from stack_util import kicad_drc, write_result

EXAMPLE = Path(__file__).parent / "data" / "cavity_open.yaml"


def example_spec():
    return load_specs([EXAMPLE])[0].spec


def connected(board, net: int) -> bool:
    """Pads, vias and tracks of one net form one connected graph (zones excluded)."""
    parent: dict = {}

    def find(a):
        while parent.setdefault(a, a) != a:
            a = parent[a]
        return a

    def node(x, y, layer):
        return (round(float(x), 6), round(float(y), 6), int(layer))

    p, v, t = board.pads, board.vias, board.tracks
    pads = [node(p.x[i], p.y[i], p.layer[i]) for i in np.flatnonzero(p.net == net)]
    for i in np.flatnonzero(v.net == net):
        for layer in range(int(v.top[i]), int(v.bottom[i])):
            parent[find(node(v.x[i], v.y[i], layer))] = find(node(v.x[i], v.y[i], layer + 1))
    for i in np.flatnonzero(t.net == net):
        parent[find(node(t.x1[i], t.y1[i], t.layer[i]))] = find(node(t.x2[i], t.y2[i], t.layer[i]))
    return len({find(n) for n in pads}) == 1


# ---------------------------------------------------------------------------------------------
def test_example_builds_clean_and_routes_every_die_pad():
    spec = example_spec()
    result = build_substrate(spec)
    assert result.report.ok, result.report.text()
    b = result.board
    assert b.copper == 3 and [LayerMap(3).name(i) for i in range(3)] == ["F.Cu", "In1.Cu", "B.Cu"]
    assert LayerMap(3).placeholder == "In2.Cu"
    owner = np.array(b.pads.owner)
    lands, fingers = np.flatnonzero(owner == "BALLS"), np.flatnonzero(owner == "U1")
    assert len(lands) == 12 * 12 - 8 * 8 == 80 and len(fingers) == 44
    assert set(b.pads.layer[lands].tolist()) == {0} and set(b.pads.layer[fingers].tolist()) == {1}
    holes = np.flatnonzero(b.vias.top == 0)
    thermal = np.flatnonzero(b.vias.top == 1)
    assert len(holes) == 44 and (b.vias.bottom[holes] == 1).all()
    assert len(thermal) == 7 * 7 and (b.vias.bottom[thermal] == 2).all()
    assert np.allclose(b.vias.drill[holes], 0.2) and np.allclose(b.vias.size[holes], 0.4)
    # every die pad: finger -> trace -> sidewall hole -> ring land, one net each
    for i in fingers.tolist():
        net = int(b.pads.net[i])
        assert net and b.nets[net] == f"U1_{b.pads.name[i]}"
        assert connected(b, net)
        assert sum(1 for k in lands if b.pads.net[k] == net) == 1
    # holes sit under ring lands of the same net (via-in-pad), all in the two rows of the ring
    land_at = {(round(float(b.pads.x[k]), 6), round(float(b.pads.y[k]), 6)): int(b.pads.net[k]) for k in lands}
    for k in holes.tolist():
        assert land_at[(round(float(b.vias.x[k]), 6), round(float(b.vias.y[k]), 6))] == int(b.vias.net[k])
        assert max(abs(b.vias.x[k]), abs(b.vias.y[k])) in (pytest.approx(3.6), pytest.approx(4.4))
    # thermal vias, die pad and heat plate share GND
    gnd = b.nets.index("GND")
    assert (b.vias.net[thermal] == gnd).all()
    assert {z.name: z.net for z in b.zones if z.keepout is None} == {"die_pad": gnd, "heat_plate": gnd}


def test_cavity_object_is_written_for_kicad(tmp_path):
    spec = example_spec()
    result = build_substrate(spec)
    files = substrate_files(result)
    name = result.name
    pcb = files[f"{name}.kicad_pcb"]
    # named user layers
    for lid, layer, uname in ((39, "User.1", "Cavity"), (41, "User.2", "Fab.Notes"), (43, "User.3", "Bond.Wires"),
                              (45, "User.4", "Encapsulation")):
        assert f'({lid} "{layer}" user "{uname}")' in pcb
    # spacer and second substrate as sub-layers of dielectric 1
    assert re.search(r'\(layer "dielectric 1" \(type "core"\) \(thickness 0\.1\) \(material "BT"\)[^\n]*'
                     r'addsublayer \(thickness 0\.3\) \(material "FR-4"\)', pcb)
    # rule areas: cavity on F.Cu, wall bands on In1.Cu
    zones = re.findall(r'\t\(zone\n(.*?)\n\t\)', pcb, flags=re.S)
    named = {re.search(r'\(name "([^"]+)"\)', z).group(1): z for z in zones}
    assert '(layer "F.Cu")' in named["cavity"]
    assert "(keepout (tracks not_allowed) (vias not_allowed) (pads not_allowed) (copperpour not_allowed)" \
        in named["cavity"]
    for side in ("top", "right", "bottom", "left"):
        assert '(layer "In1.Cu")' in named[f"cavity_wall_{side}"]
        assert "(tracks allowed) (vias not_allowed) (pads not_allowed)" in named[f"cavity_wall_{side}"]
    # heat plate: B.Cu zone over the body inside the 0.25 mm edge rule (+10 um), bare under a B.Mask opening
    assert re.search(r'\(gr_poly \(pts \(xy 4\.64 -4\.64\)[^\n]*\(fill yes\) \(layer "B\.Mask"\)', pcb)
    assert '(filled_polygon (layer "B.Cu") (pts (xy -4.74 -4.74)' in pcb
    dru = files[f"{name}.kicad_dru"]
    for rule in ("cavity_removed_layers", "cavity_wall_clearance", "sidewall_holes"):
        assert f'(rule "{rule}"' in dru
    assert not re.search(r"\((?:min|max|opt) [0-9.]+\)", dru)  # every number has a unit (silent-drop trap)
    notes = files[f"{name}-fab-notes.txt"]
    assert "depth 0.418 mm" in notes and "second substrate BT 0.1 mm + spacer FR-4 0.3 mm" in notes
    assert "44 plated holes" in notes
    # hand calculation: 49 barrels of 0.2 mm drill, 25 um wall: A = pi/4 (0.2^2 - 0.15^2) = 0.013744 mm^2 each,
    # R = 0.2 mm / (390 W/mK * 49 * A) = 0.761 K/W; laminate 0.4 W/mK over 4.2^2 - 49 pi/4 0.2^2 = 16.10 mm^2
    assert "49 vias 0.76 K/W || laminate 31.1 K/W = 0.74 K/W" in notes
    side = json.loads(files[f"{name}.kisubstrate.json"])
    assert side["cavity"]["removed_copper"] == ["F.Cu"] and side["cavity"]["depth"] == 0.418
    assert [p["role"] for p in side["layers"][1]["plies"]] == ["second substrate", "spacer"]


# -- failing specs: one per cavity rule -------------------------------------------------------
FAILING = {
    "cavity_land_floor": ("fingers: {width: 0.15, length: 0.3, gap: 0.35}",
                          "fingers: {width: 0.15, length: 0.3, gap: 0.8}"),
    "sidewall_hole_wall": ("cavity: {size: [6.4, 6.4]", "cavity: {size: [6.8, 6.8]"),
    "sidewall_hole_outline": ("body: [10.0, 10.0]", "body: [9.4, 9.4]"),
    "die_fits_cavity": ("size: [4.0, 4.0]", "size: [6.2, 6.2]"),
    "encapsulation_cover": ("encapsulation: {height: 0.4,", "encapsulation: {margin: 0.05, height: 0.4,"),
    "cavity_depth": ("    die_attach: 0.025", "    die_attach: 0.08"),
}


@pytest.mark.parametrize("rule", sorted(FAILING))
def test_failing_spec_is_refused(rule, cli_runner, tmp_path):
    old, new = FAILING[rule]
    text = EXAMPLE.read_text()
    assert text.count(old) == 1
    spec = tmp_path / f"{rule}.yaml"
    spec.write_text(text.replace(old, new))
    code, out, _err = cli_runner("substrate", spec, "-o", tmp_path / "out")
    assert code == 1, out
    assert rule in out and not (tmp_path / "out").exists()


def test_failing_messages_name_the_measure():
    spec = example_spec()
    data = spec.model_dump(mode="json", exclude={"terminals"})
    data["dies"][0]["thickness"] = 0.3
    from kisubstrate.api.specs import validate_spec

    tall = validate_spec(data)
    rep = build_substrate(tall).report
    (v,) = [v for v in rep.violations if v.rule == "cavity_depth"]
    assert "die attach 0.025 + die 0.3 + wire loop 0.1 + resin over the loop 0.05 (profile encapsulant_cover) = " \
        "0.475 mm" in v.message and v.required == 0.4


@pytest.mark.parametrize("height, ok", [(0.375, True), (0.374, False)])
def test_resin_covers_the_wire_loop_by_the_profiles_margin(height, ok):
    """attach 0.025 + die 0.2 + loop 0.1 + encapsulant_cover 0.05 = 0.375 mm: 1 um lower is refused."""
    data = example_spec().model_dump(mode="json", exclude={"terminals"})
    data["encapsulation"]["height"] = height
    from kisubstrate.api.specs import validate_spec

    spec = validate_spec(data)
    got = [v for v in cavity_checks(spec, build_substrate(spec).board) if v.rule == "cavity_depth"]
    assert (got == []) == ok


@pytest.mark.parametrize("old,new,field", [
    ("    sidewall:", "    terminals: {pitch: 0.8, layout: [12, 12], ball_diameter: 0.5}\n    sidewall:", "terminals"),
    ("cavity: {size: [6.4, 6.4]", "cavity: {size: [10.4, 6.4]", "smaller than the body"),
    ("heat_plate: {net: GND}\n", "heat_plate: {net: GND}\n    thermal_vias: null\n", "different net"),
])
def test_invalid_input_exits_2(old, new, field, cli_runner, tmp_path):
    text = EXAMPLE.read_text()
    if "thermal_vias: null" in new:
        text = text.replace("    thermal_vias: {pitch: 0.6, drill: 0.2, pad: 0.4, margin: 0.1}\n", "")
    assert text.count(old) == 1
    spec = tmp_path / "bad.yaml"
    spec.write_text(text.replace(old, new))
    code, _out, err = cli_runner("substrate", spec, "-o", tmp_path / "out")
    assert code == 2 and field in err and not (tmp_path / "out").exists()


def test_removed_layer_check_flags_copper_in_the_cavity():
    result = build_substrate(example_spec())
    b = result.board
    extra = BoardBuilder(b.name, copper=3, outline=b.outline)
    extra.track(-1.0, 0.5, 1.0, 0.5, 0.1, layer=0, net=0)  # F.Cu over the die: removed layer
    extra.track(-1.0, 4.7, 1.0, 4.7, 0.1, layer=0, net=0)  # F.Cu on the ring: fine
    extra.track(-1.0, 3.24, 1.0, 3.24, 0.1, layer=0, net=0)  # centre 0.04 outside the wall, 0.05 wide: 0.01 in
    extra.track(-1.0, -3.26, 1.0, -3.26, 0.1, layer=0, net=0)  # edge 0.01 outside the wall: fine
    seeded = replace_items(b, tracks=concat_tracks(b.tracks, extra.build().tracks))
    found = [v for v in cavity_checks(result.spec, seeded, result.spec.substrate_rules())
             if v.rule == "cavity_removed_layer"]
    n = len(b.tracks)
    assert [v.items for v in found] == [(f"track/{n}",), (f"track/{n + 2}",)]


def test_footprint_matches_ring_lands_mirrored():
    """The package mounts cavity-down: seen from the board, the ring lands are mirrored in x."""
    spec = example_spec()
    (fp,) = build_footprints(spec)
    assert fp.report.ok, fp.report.text()
    table = {name: (x, y) for name, x, y, _w, _h in fp.geometry.pad_table()}
    b = build_substrate(spec).board
    lands = {b.pads.name[i]: (float(b.pads.x[i]), float(b.pads.y[i]))
             for i, o in enumerate(b.pads.owner) if o == "BALLS"}
    assert set(table) == set(lands) and len(table) == 80
    for name, (x, y) in lands.items():
        assert table[name] == pytest.approx((-x, y), abs=1e-9)
    # names in the package top view: A1 top-left in the footprint, top-right on the (bottom-view) board
    assert lands["A1"] == (4.4, -4.4) and table["A1"] == pytest.approx((-4.4, -4.4))


# -- KiCad ------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def example_board(tmp_path_factory):
    result = build_substrate(example_spec())
    return result, write_result(result, tmp_path_factory.mktemp("cavity"))


@pytest.mark.kicad
def test_example_passes_kicad_drc(kicad_cli, example_board):
    _result, pcb = example_board
    report = kicad_drc(kicad_cli, pcb)
    assert report["violations"] == [] and report["unconnected_items"] == []


@pytest.mark.kicad
def test_pcbnew_reads_back_cavity(pcbnew_python, example_board):
    result, pcb = example_board
    script = r"""
import json, sys, pcbnew
b = pcbnew.LoadBoard(sys.argv[1])
zones = {}
for z in b.Zones():
    if z.GetIsRuleArea():
        zones[z.GetZoneName()] = {"layers": [pcbnew.BOARD.GetStandardLayerName(l) for l in z.GetLayerSet().Seq()],
            "tracks": z.GetDoNotAllowTracks(), "vias": z.GetDoNotAllowVias(), "pads": z.GetDoNotAllowPads(),
            "pour": (z.GetDoNotAllowZoneFills() if hasattr(z, "GetDoNotAllowZoneFills")  # KiCad 10
                     else z.GetDoNotAllowCopperPour()),
            "box": [round(pcbnew.ToMM(v), 6) for v in (z.GetBoundingBox().GetLeft(), z.GetBoundingBox().GetTop(),
                                                      z.GetBoundingBox().GetRight(), z.GetBoundingBox().GetBottom())]}
user1 = []
for d in b.GetDrawings():
    if d.GetLayer() == b.GetLayerID("User.1") and d.GetClass() != "PCB_TEXT":
        user1.append(sorted([round(pcbnew.ToMM(p.x), 6), round(pcbnew.ToMM(p.y), 6)] for p in d.GetCorners()))
names = {n: b.GetLayerName(b.GetLayerID(n)) for n in ("User.1", "User.2", "In2.Cu")}
texts = [d.GetText() for d in b.GetDrawings() if d.GetClass() == "PCB_TEXT" and d.GetLayer() == b.GetLayerID("User.1")]
print(json.dumps({"zones": zones, "user1": user1, "names": names, "copper": b.GetCopperLayerCount(), "texts": texts}))
"""
    got = run_pcbnew(pcbnew_python, script, str(pcb))
    assert got["copper"] == 4
    assert got["names"] == {"User.1": "Cavity", "User.2": "Fab.Notes", "In2.Cu": "unused"}
    cav = got["zones"]["cavity"]
    assert cav["layers"] == ["F.Cu"] and cav["tracks"] and cav["vias"] and cav["pads"] and cav["pour"]
    assert cav["box"] == [-3.2, -3.2, 3.2, 3.2]
    for side in ("top", "right", "bottom", "left"):
        wall = got["zones"][f"cavity_wall_{side}"]
        assert wall["layers"] == ["In1.Cu"] and not wall["tracks"] and wall["pads"] and wall["vias"]
    assert got["user1"] == [[[-3.2, -3.2], [-3.2, 3.2], [3.2, -3.2], [3.2, 3.2]]]
    assert got["texts"] == ["CAVITY depth 0.418 mm: F.Cu + dielectric 1 removed, floor In1.Cu"]


@pytest.mark.kicad
def test_kicad_flags_a_track_in_the_cavity(kicad_cli, example_board, tmp_path):
    """Proof the generated rules bind: a track on F.Cu inside the cavity is an error for KiCad, through
    the rule area and, with the rule area relaxed, through the .kicad_dru rule alone."""
    result, pcb = example_board
    b = result.board
    extra = BoardBuilder(b.name, copper=3, outline=b.outline)
    nets = list(b.nets) + ["SEED"]
    extra.track(-1.0, 0.5, 1.0, 0.5, 0.1, layer=0, net=len(nets) - 1)
    seeded = replace_items(b, nets=nets, tracks=concat_tracks(b.tracks, extra.build().tracks))
    ours = build_substrate(result.spec, check=False)
    key = f"track/{len(b.tracks)}"
    folder = tmp_path / "seeded"
    out = write_result(SubstrateResult(spec=result.spec, board=seeded, report=ours.report), folder)
    uid = item_uuid(b.name, key)
    assert [v.items for v in cavity_checks(result.spec, seeded, result.spec.substrate_rules())
            if v.rule == "cavity_removed_layer"] == [(key,)]
    report = kicad_drc(kicad_cli, out)
    hits = [v for v in report["violations"] if v["type"] == "items_not_allowed"]
    # KiCad 9 reports the track once; 10 once for the rule area and once for the .kicad_dru rule
    assert [[i["uuid"] for i in v["items"]] for v in hits] == [[uid]] * (2 if KICAD_MAJOR >= 10 else 1)
    if KICAD_MAJOR >= 10:
        assert sum("cavity_removed_layers" in v["description"] for v in hits) == 1, hits
    # relax the rule area: the .kicad_dru rule still forbids it
    text = out.read_text()
    relaxed = text.replace("(keepout (tracks not_allowed) (vias not_allowed) (pads not_allowed) (copperpour "
                           "not_allowed) (footprints allowed))\n\t\t(fill (thermal_gap 0.2) (thermal_bridge_width 0.2))"
                           "\n\t\t(polygon (pts (xy -3.2 -3.2)",
                           "(keepout (tracks allowed) (vias not_allowed) (pads not_allowed) (copperpour "
                           "not_allowed) (footprints allowed))\n\t\t(fill (thermal_gap 0.2) (thermal_bridge_width 0.2))"
                           "\n\t\t(polygon (pts (xy -3.2 -3.2)", 1)
    assert relaxed != text
    out.write_text(relaxed)
    report = kicad_drc(kicad_cli, out)
    hits = [v for v in report["violations"] if v["type"] == "items_not_allowed"]
    assert len(hits) == 1 and "cavity_removed_layers" in hits[0]["description"]
    assert hits[0]["items"][0]["uuid"] == uid
    # and without the rules file nothing forbids it any more (so the rule above was what fired)
    out.with_suffix(".kicad_dru").unlink()
    report = kicad_drc(kicad_cli, out)
    assert not [v for v in report["violations"] if v["type"] == "items_not_allowed"]


@pytest.mark.kicad
def test_kicad_flags_a_land_in_the_wall_clearance(kicad_cli, example_board, tmp_path):
    """A cavity land moved into the wall-clearance band: our cavity_land_floor rule and KiCad (rule areas
    cavity_wall_* / rule cavity_wall_clearance) both flag exactly that pad."""
    import dataclasses

    result, _pcb = example_board
    b = result.board
    i = next(k for k, (o, n) in enumerate(zip(b.pads.owner, b.pads.name)) if o == "U1" and n == "6")
    y = b.pads.y.copy()
    assert y[i] == pytest.approx(-2.5)  # top-edge finger: die edge 2 + gap 0.35 + half length 0.15
    y[i] = -3.02  # its end now 0.03 mm from the wall
    seeded = replace_items(b, pads=dataclasses.replace(b.pads, y=y))
    ours = [v for v in cavity_checks(result.spec, seeded, result.spec.substrate_rules())
            if v.rule == "cavity_land_floor"]
    assert [(v.items, round(v.measured, 6)) for v in ours] == [(("pad/U1.6",), 0.03)]
    out = write_result(SubstrateResult(spec=result.spec, board=seeded, report=result.report), tmp_path)
    report = kicad_drc(kicad_cli, out)
    hits = [v for v in report["violations"] if v["type"] == "items_not_allowed"]
    assert hits and {it["uuid"] for v in hits for it in v["items"]} == {item_uuid(b.name, "pad/U1.6")}


@pytest.mark.kicad
@pytest.mark.parametrize("gap,flagged", [(0.095, True), (0.105, False)])
def test_oval_land_clearance_agrees_with_kicad(kicad_cli, example_board, tmp_path, gap, flagged):
    """Oval bond fingers are checked as exact capsules: 5 um under the 0.1 mm clearance both our check
    and KiCad flag the pair, 5 um over neither does."""
    import dataclasses

    from kisubstrate.rules.board import check_board

    result, _pcb = example_board
    b = result.board
    top = sorted((float(b.pads.x[k]), k) for k, o in enumerate(b.pads.owner)
                 if o == "U1" and b.pads.y[k] == pytest.approx(-2.5))
    (xa, a), (xb, c) = top[0], top[1]
    assert xb - xa == pytest.approx(0.4) and b.pads.w[a] == pytest.approx(0.15)
    x = b.pads.x.copy()
    x[a] = xb - 0.15 - gap  # fingers 0.15 wide: edge gap = gap
    seeded = replace_items(b, pads=dataclasses.replace(b.pads, x=x))
    rules = result.spec.substrate_rules()
    ours = [v for v in check_board(seeded, rules).violations if v.rule == "copper_clearance"]
    keys = (b.pads.key(a), b.pads.key(c))
    if flagged:
        assert [(v.items, round(v.measured, 6)) for v in ours] == [(tuple(sorted(keys)), gap)]
    else:
        assert ours == []
    out = write_result(SubstrateResult(spec=result.spec, board=seeded, report=result.report), tmp_path)
    report = kicad_drc(kicad_cli, out)
    theirs = [{it["uuid"] for it in v["items"]} for v in report["violations"] if v["type"] == "clearance"]
    assert theirs == ([{item_uuid(b.name, k) for k in keys}] if flagged else [])


def test_offset_die_keeps_fingers_at_their_gap():
    from kisubstrate.api.specs import validate_spec

    spec = example_spec()
    data = spec.model_dump(mode="json", exclude={"terminals"})
    data["dies"][0]["position"] = [0.4, -0.3]
    moved = validate_spec(data)
    result = build_substrate(moved)
    assert result.report.ok, result.report.text()
    b = result.board
    edges = {"left": 0.4 - 2.0, "right": 0.4 + 2.0, "top": -0.3 - 2.0, "bottom": -0.3 + 2.0}
    for k in [i for i, o in enumerate(b.pads.owner) if o == "U1"]:
        x, y, w, h = (float(a[k]) for a in (b.pads.x, b.pads.y, b.pads.w, b.pads.h))
        if h > w:  # top / bottom fingers: inner end 0.35 from the die edge
            inner = y + h / 2 if y < -0.3 else y - h / 2
            assert abs(inner - (edges["top"] if y < -0.3 else edges["bottom"])) == pytest.approx(0.35)
        else:
            inner = x + w / 2 if x < 0.4 else x - w / 2
            assert abs(inner - (edges["left"] if x < 0.4 else edges["right"])) == pytest.approx(0.35)


@pytest.mark.kicad
def test_rectangular_cavity_with_uneven_die_edges_is_drc_clean(kicad_cli, tmp_path):
    text = EXAMPLE.read_text()
    for old, new in (("body: [10.0, 10.0]", "body: [12.0, 9.0]"), ("layout: [12, 12]", "layout: [14, 10]"),
                     ("cavity: {size: [6.4, 6.4]", "cavity: {size: [8.0, 4.8]"),
                     ("size: [4.0, 4.0]", "size: [5.0, 2.6]"), ("per_side: 11,", "per_side: [12, 5, 12, 5],"),
                     ("name: CAVITY-80_10.0x10.0mm_Cavity6.4x6.4mm_Die4.0x4.0mm_P0.8mm", "name: CAVITY-RECT")):
        assert text.count(old) == 1, old
        text = text.replace(old, new)
    spec_file = tmp_path / "rect.yaml"
    spec_file.write_text(text)
    result = build_substrate(load_specs([spec_file])[0].spec)
    assert result.report.ok, result.report.text()
    fingers = [i for i, o in enumerate(result.board.pads.owner) if o == "U1"]
    assert len(fingers) == 34 and len(np.flatnonzero(result.board.vias.top == 0)) == 34
    report = kicad_drc(kicad_cli, write_result(result, tmp_path / "out"))
    assert report["violations"] == [] and report["unconnected_items"] == []


@pytest.mark.kicad
def test_rounded_cavity_corners(kicad_cli, tmp_path):
    """A routed cavity with 0.5 mm corner radius: the rule area covers the true rounded outline (edges
    tangent to the arcs), the floor checks use the inscribed outline, and KiCad's DRC is clean."""
    import math

    text = EXAMPLE.read_text().replace("die_clearance: 0.2}", "die_clearance: 0.2, corner_radius: 0.5}")
    spec_file = tmp_path / "round.yaml"
    spec_file.write_text(text)
    result = build_substrate(load_specs([spec_file])[0].spec)
    assert result.report.ok, result.report.text()
    b = result.board
    cav, floor = b.extras.cavity.outline, b.extras.cavity.floor
    # true arc of the top-right corner: centre (2.7, -2.7), radius 0.5
    arc = shapely.MultiPoint([(2.7 + 0.5 * math.cos(a), -2.7 - 0.5 * math.sin(a))
                              for a in np.linspace(0, math.pi / 2, 91)])
    assert cav.buffer(1e-9).covers(arc) and not floor.buffer(-1e-9).covers(arc)
    assert cav.bounds == (-3.2, -3.2, 3.2, 3.2) and len(cav.exterior.coords) > 20
    zones = {z.name: z for z in b.zones}
    assert zones["cavity"].outline.equals(cav)
    band = shapely.union_all([zones[f"cavity_wall_{s}"].outline for s in ("top", "right", "bottom", "left")])
    assert band.area == pytest.approx(cav.area - shapely.buffer(floor, -0.149, join_style="mitre").area, rel=1e-9)
    report = kicad_drc(kicad_cli, write_result(result, tmp_path / "out"))
    assert report["violations"] == [] and report["unconnected_items"] == []
