"""KiCad is the oracle: generated footprints load in pcbnew, parse in kicad-cli, pass KiCad's DRC.

One library holds every bundled example (``footprints/examples/*.yaml``, all families, picked
up automatically) plus extra specs for the features the examples do not show (stagger, x/y
pitch, off-centre, SMD mask, IPC-7351B lands, ball-map CSV, LGA rect / roundrect lands, AA
rows). It is loaded in ONE pcbnew subprocess, upgraded by ONE ``kicad-cli fp upgrade`` and
placed on ONE throw-away board for ``kicad-cli pcb drc``.
"""

from __future__ import annotations

import json
import re
import subprocess

import pytest
from conftest import run_pcbnew
from kicad_util import parse_mod, write_library
from kisubstrate.kicad.sexpr import find_all, loads

pytestmark = pytest.mark.kicad

LIB = "KS_Test"

EXTRA_SPECS = [
    # staggered (checkerboard, A1 populated); nearest balls are diagonal
    {"family": "bga", "name": "Test_BGA_Stagger", "body": [6.0, 6.0], "pitch": 0.5, "layout": [10, 10],
     "ball_diameter": 0.35, "stagger": "a1"},
    # x/y pitch, like the stock BGA-200_10x14.5mm_Layout12x22_P0.8x0.65mm; 22 rows -> AA, AB
    {"family": "bga", "body": [10.0, 14.5], "pitch": [0.8, 0.65], "layout": [12, 22], "ball_diameter": 0.4,
     "pad_diameter": 0.35},
    # off-centre WLCSP grid, B1 stagger phase
    {"family": "wlcsp", "body": [3.14, 3.14], "pitch": 0.4, "layout": [7, 7], "ball_diameter": 0.25,
     "offset": [0.05, -0.03], "missing": ["G7"]},
    # SMD (mask-defined) lands, perimeter rings with a thermal island
    {"family": "bga", "body": [10.0, 10.0], "pitch": 0.8, "layout": [12, 12], "ball_diameter": 0.4,
     "mask": "smd", "perimeter_rings": 3, "center_island": [2, 2]},
    # IPC-7351B table land (non-collapsible), range depopulation
    {"family": "bga", "body": [13.0, 13.0], "pitch": 1.0, "layout": [12, 12], "ball_diameter": 0.6,
     "land_rule": "ipc7351b", "ball_type": "non_collapsible", "missing": ["E5:H8"]},
    # LGA with square and rounded-square lands
    {"family": "lga", "name": "Test_LGA_Rect", "body": [6.0, 6.0], "pitch": 0.65, "layout": [8, 8],
     "pad_diameter": 0.35, "pad_shape": "rect"},
    {"family": "lga", "name": "Test_LGA_RoundRect", "body": [6.0, 6.0], "pitch": 0.65, "layout": [8, 8],
     "pad_diameter": 0.35, "pad_shape": "roundrect"},
    # a big grid: rows run past Y into AA .. AD (JEDEC letters)
    {"family": "bga", "body": [21.0, 21.0], "pitch": 0.8, "layout": [24, 24], "ball_diameter": 0.45,
     "center_void": [8, 8]},
]

BALL_MAP = """\
VDD1,IO1,-,IO2,GND1
IO3,-,-,-,IO4
GND2,IO5,-,IO6,VDD2
"""

PCBNEW_SCRIPT = r"""
import json, sys
import pcbnew
lib, names = sys.argv[1], json.loads(sys.argv[2])
shape = {pcbnew.PAD_SHAPE_CIRCLE: "circle", pcbnew.PAD_SHAPE_RECTANGLE: "rect",
         pcbnew.PAD_SHAPE_ROUNDRECT: "roundrect", pcbnew.PAD_SHAPE_OVAL: "oval"}
kind = {pcbnew.PAD_ATTRIB_SMD: "smd", pcbnew.PAD_ATTRIB_PTH: "thru_hole", pcbnew.PAD_ATTRIB_NPTH: "np_thru_hole"}
out = {}
for name in names:
    fp = pcbnew.FootprintLoad(lib, name)
    if fp is None:
        out[name] = None
        continue
    fp.BuildCourtyardCaches()
    crt = fp.GetCourtyard(pcbnew.F_Cu if False else pcbnew.F_CrtYd)
    pts = []  # the drawn F.CrtYd outline (the cache is deflated by a few um)
    for g in fp.GraphicalItems():
        if g.GetLayer() == pcbnew.F_CrtYd and g.GetClass() == "PCB_SHAPE":
            if g.GetShape() == pcbnew.SHAPE_T_POLY:
                ring = g.GetPolyShape().Outline(0)
                pts += [[ring.CPoint(i).x, ring.CPoint(i).y] for i in range(ring.PointCount())]
            else:
                pts += [[g.GetStart().x, g.GetStart().y], [g.GetEnd().x, g.GetEnd().y]]
    pads = []
    for p in fp.Pads():
        pos, size, drill = p.GetPosition(), p.GetSize(), p.GetDrillSize()
        pads.append([p.GetNumber(), pos.x, pos.y, size.x, size.y, shape.get(p.GetShape(), str(p.GetShape())),
                     kind.get(p.GetAttribute(), str(p.GetAttribute())), drill.x, drill.y,
                     sorted(pcbnew.LayerName(l) for l in p.GetLayerSet().Seq()),
                     p.GetLocalSolderMaskMargin(), p.GetLocalSolderPasteMargin(),
                     p.GetProperty() == pcbnew.PAD_PROP_BGA,
                     round(p.GetRoundRectRadiusRatio(), 6) if p.GetShape() == pcbnew.PAD_SHAPE_ROUNDRECT else None])
    attrs = fp.GetAttributes()
    out[name] = {
        "fpid": fp.GetFPIDAsString(), "ref": fp.GetReference(), "value": fp.GetValue(),
        "smd": bool(attrs & pcbnew.FP_SMD), "tht": bool(attrs & pcbnew.FP_THROUGH_HOLE),
        "descr": fp.GetLibDescription(), "models": [m.m_Filename for m in fp.Models()],
        "courtyards": crt.OutlineCount(), "crtyd_pts": pts,
        "graphic_layers": sorted({pcbnew.LayerName(g.GetLayer()) for g in fp.GraphicalItems()}),
        "pads": pads}
print(json.dumps(out))
"""


def _nm(mm: float) -> int:
    return round(mm * 1e6)


@pytest.fixture(scope="module")
def library(tmp_path_factory):
    """Every example + extra spec, built, checked and written into one .pretty folder."""
    from conftest import example_files
    from kisubstrate.api.footprint import build_footprints
    from kisubstrate.api.specs import load_specs

    work = tmp_path_factory.mktemp("kicad_lib")
    csv = work / "balls.csv"
    csv.write_text(BALL_MAP, encoding="utf-8")
    specs = [ls.spec for ls in load_specs(example_files())]
    families = {s.family for s in specs}
    assert {"bga", "lga", "pga", "wlcsp"} <= families, families
    extra = EXTRA_SPECS + [{"family": "bga", "name": "Test_BGA_BallMap", "body": [4.0, 3.0], "pitch": 0.8,
                            "layout": [5, 3], "ball_diameter": 0.4, "ball_map": str(csv)}]
    results = []
    for spec in specs + extra:
        for r in build_footprints(spec):
            assert r.report.ok, r.report.text()
            results.append(r)
    lib = work / f"{LIB}.pretty"
    by_name = write_library(results, lib)
    return lib, by_name


@pytest.fixture(scope="module")
def loaded(library, pcbnew_python):
    lib, by_name = library
    out = run_pcbnew(pcbnew_python, PCBNEW_SCRIPT, str(lib), json.dumps(sorted(by_name)))
    return out


def _expected_layers(layers: tuple[str, ...]) -> list[str]:
    out = set()
    for layer in layers:
        if layer == "*.Cu":
            out |= {"F.Cu", "B.Cu"} | {f"In{i}.Cu" for i in range(1, 31)}
        elif layer == "*.Mask":
            out |= {"F.Mask", "B.Mask"}
        else:
            out.add(layer)
    return sorted(out)


def test_every_footprint_loads_in_pcbnew_and_pads_equal_the_model(library, loaded):
    lib, by_name = library
    assert set(loaded) == set(by_name)
    total = 0
    for name, r in by_name.items():
        got = loaded[name]
        assert got is not None, f"pcbnew could not load {name}"
        geom = r.geometry
        want = []
        for g in geom.pads:
            props = "pad_prop_bga" in g.properties
            for n, x, y in zip(g.names, g.x.tolist(), g.y.tolist()):
                want.append([n, _nm(x), _nm(y), _nm(g.size[0]), _nm(g.size[1]), g.shape, g.kind,
                             _nm(g.drill or 0), _nm(g.drill or 0), _expected_layers(g.layers),
                             None if g.mask_margin is None else _nm(g.mask_margin),
                             None if g.paste_margin is None else _nm(g.paste_margin), props,
                             g.roundrect_ratio if g.shape == "roundrect" else None])
        pads = got["pads"]
        assert len(pads) == geom.pad_count == len(geom.pad_table())
        for w, p in zip(want, pads):
            assert p[0] == w[0]
            # positions and sizes to 1 nm (KiCad's internal unit)
            assert all(abs(a - b) <= 1 for a, b in zip(p[1:5], w[1:5])), (name, p, w)
            # shape, type, drill, layers, mask / paste margins, pad_prop_bga, corner ratio
            assert p[5:] == w[5:], (name, p, w)
        total += len(pads)
        # footprint-level: attributes, fields, courtyard, drawings, model, description
        assert got["smd"] == (geom.attr == "smd") and got["tht"] == (geom.attr == "through_hole")
        assert got["ref"] == "REF**" and got["value"] == name == got["fpid"]
        assert got["courtyards"] == 1
        xs, ys = [q[0] for q in got["crtyd_pts"]], [q[1] for q in got["crtyd_pts"]]
        assert [min(xs), min(ys), max(xs), max(ys)] == [_nm(v) for v in geom.courtyard.bounds], name
        assert {"F.Silkscreen", "F.Courtyard", "F.Fab"} <= set(got["graphic_layers"])
        assert got["descr"] == geom.description
        assert got["models"] == [geom.model.path]
    print(f"\npcbnew loaded {len(by_name)} footprints, {total} pads equal the model to 1 nm")
    assert total > 1500


def test_bga_specifics_read_back(library, loaded):
    """The features the extra specs exist for, as KiCad sees them."""
    lib, by_name = library
    pads = {name: {p[0]: p for p in v["pads"]} for name, v in loaded.items()}
    # ball map: names from the CSV, holes where '-' stands
    bm = pads["Test_BGA_BallMap"]
    assert sorted(bm) == sorted(["VDD1", "IO1", "IO2", "GND1", "IO3", "IO4", "GND2", "IO5", "IO6", "VDD2"])
    assert bm["IO1"][1:3] == [-800000, -800000] and bm["VDD2"][1:3] == [1600000, 800000]
    # staggered: A1 present, A2 absent, B2 present
    st = pads["Test_BGA_Stagger"]
    assert "A1" in st and "A2" not in st and "B2" in st and len(st) == 50
    # SMD: copper = opening + 2 x 0.05, negative mask margin = mask-defined opening
    smd = next(v for k, v in pads.items() if k.startswith("BGA-") and k.endswith("_SMD"))
    a1 = smd["A1"]
    assert a1[10] == -50000 and a1[3] == _nm(0.32 + 0.1)
    # rows past Y: AA.. in JEDEC order
    big = next(v for k, v in pads.items() if "Layout24x24" in k)
    assert {"Y1", "AA1", "AD24"} <= set(big) and "Z1" not in big and "AE1" not in big
    # x/y pitch: A1 -> A2 is 0.8 mm, A1 -> B1 is 0.65 mm
    xy = next(v for k, v in pads.items() if "P0.8x0.65mm" in k)
    assert xy["A2"][1] - xy["A1"][1] == 800000 and xy["B1"][2] - xy["A1"][2] == 650000
    # off-centre grid: the D4 centre ball sits at the offset
    oc = next(v for k, v in pads.items() if "Offcenter" in k)
    assert oc["D4"][1:3] == [50000, -30000]
    # every BGA / WLCSP ball carries pad_prop_bga, LGA lands do not
    for name, v in loaded.items():
        fam = by_name[name].geometry.family
        assert all(p[12] == (fam in ("bga", "wlcsp")) for p in v["pads"]), name


def test_fp_upgrade_parses_the_whole_library(library, kicad_cli, tmp_path):
    lib, by_name = library
    out = tmp_path / f"{LIB}_upgraded.pretty"  # parent exists, target does not (exit 4 otherwise)
    r = subprocess.run([kicad_cli, "fp", "upgrade", str(lib), "-o", str(out), "--force"],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    files = sorted(out.glob("*.kicad_mod"))
    assert [f.stem for f in files] == sorted(by_name)
    # KiCad's re-saved copy holds the same pads (semantic compare: KiCad adds UUIDs, reorders)
    for f in files:
        mine = parse_mod(by_name[f.stem].text())
        theirs = parse_mod(f.read_text(encoding="utf-8"))
        key = lambda p: (p.number, p.kind, p.shape, round(p.x, 6), round(p.y, 6), round(p.w, 6), round(p.h, 6),
                         p.drill, p.mask_margin, p.props)
        assert sorted(map(key, theirs.pads)) == sorted(map(key, mine.pads)), f.stem
        assert theirs.attr == mine.attr


# -- DRC ---------------------------------------------------------------------------------------
BOARD_HEAD = """(kicad_pcb
	(version 20241229)
	(generator "kisubstrate-test")
	(generator_version "0.1")
	(general
		(thickness 1.6)
		(legacy_teardrops no)
	)
	(paper "A3")
	(layers
		(0 "F.Cu" signal)
		(2 "B.Cu" signal)
		(9 "F.Adhes" user "F.Adhesive")
		(11 "B.Adhes" user "B.Adhesive")
		(13 "F.Paste" user)
		(15 "B.Paste" user)
		(5 "F.SilkS" user "F.Silkscreen")
		(7 "B.SilkS" user "B.Silkscreen")
		(1 "F.Mask" user)
		(3 "B.Mask" user)
		(17 "Dwgs.User" user "User.Drawings")
		(19 "Cmts.User" user "User.Comments")
		(25 "Edge.Cuts" user)
		(27 "Margin" user)
		(31 "F.CrtYd" user "F.Courtyard")
		(29 "B.CrtYd" user "B.Courtyard")
		(35 "F.Fab" user)
		(33 "B.Fab" user)
	)
	(setup
		(pad_to_mask_clearance 0)
		(solder_mask_min_width {mask_web})
		(allow_soldermask_bridges_in_footprints no)
		(tenting front back)
	)
	(net 0 "")
"""

# every check that concerns a footprint's own drawing and copper is an error here
DRC_SEVERITIES = {
    "clearance": "error", "copper_edge_clearance": "error", "courtyards_overlap": "error",
    "missing_courtyard": "error", "malformed_courtyard": "error", "silk_over_copper": "error",
    "silk_overlap": "error", "silk_edge_clearance": "error", "solder_mask_bridge": "error",
    "hole_clearance": "error", "hole_to_hole": "error", "annular_width": "error", "drill_out_of_range": "error",
    "text_height": "error", "text_thickness": "error", "padstack": "error",
    # footprint_type_mismatch stays at KiCad's default: QFNs with thermal vias are SMD parts with
    # PTH via pads, exactly as KiCad's own *_ThermalVias footprints (attr smd) are
    "lib_footprint_mismatch": "error", "lib_footprint_issues": "error",
    # board-level checks with no meaning for a bare footprint test board
    "unconnected_items": "ignore", "footprint_symbol_mismatch": "ignore", "missing_footprint": "ignore",
    "extra_footprint": "ignore", "duplicate_footprints": "ignore", "net_conflict": "ignore",
    "schematic_parity": "ignore",
}


def _board_footprint(text: str, ref: str, at: tuple[float, float], uid: int) -> str:
    """A library footprint as a board item: lib id, position, reference, no version header."""
    lines = text.rstrip("\n").splitlines()
    name = lines[0][len('(footprint "'):-1]
    keep = [ln for ln in lines[1:] if not ln.startswith(("\t(version ", "\t(generator ", "\t(generator_version "))]
    body = "\n".join(keep).replace('(property "Reference" "REF**"', f'(property "Reference" "{ref}"', 1)
    head = (f'\t(footprint "{LIB}:{name}"\n\t\t(layer "F.Cu")\n'
            f'\t\t(uuid "00000000-0000-4000-8000-{uid:012d}")\n\t\t(at {at[0]:g} {at[1]:g})')
    body = "\n".join("\t" + ln for ln in body.splitlines())
    # the footprint's own (layer "F.Cu") line is the first one kept: drop it (already in head)
    body = body.replace('\t\t(layer "F.Cu")\n', "", 1)
    return head + "\n" + body


NETCLASS_DEFAULT = {  # KiCad ignores a partial netclass entry: write every field
    "bus_width": 12, "clearance": 0.2, "diff_pair_gap": 0.25, "diff_pair_via_gap": 0.25, "diff_pair_width": 0.2,
    "line_style": 0, "microvia_diameter": 0.3, "microvia_drill": 0.1, "name": "Default",
    "pcb_color": "rgba(0, 0, 0, 0.000)", "priority": 2147483647, "schematic_color": "rgba(0, 0, 0, 0.000)",
    "track_width": 0.2, "via_diameter": 0.6, "via_drill": 0.3, "wire_width": 6}


def _canaries(by_name: dict) -> list[tuple[str, str, set[str]]]:
    """Deliberately broken footprints (ref, text, DRC types KiCad must report for them).

    They prove the DRC run is sensitive: without them "0 errors" could mean "nothing checked".
    """
    from kisubstrate.api.footprint import build_footprints

    # X1: lands 0.45 mm at 0.5 mm pitch (0.05 mm gap), written despite our own check
    tight = build_footprints({"family": "bga", "name": "Canary_Tight", "body": [3.0, 3.0], "pitch": 0.5,
                              "layout": [4, 4], "ball_diameter": 0.45, "pad_diameter": 0.45,
                              "mask_margin": 0.0})[0]
    assert not tight.report.ok  # our checker refuses it too
    # X2: a library footprint with a silk line drawn across its balls
    base = next(n for n in sorted(by_name) if n.startswith("BGA-256_14.0x14.0mm"))
    silk = by_name[base].text().replace(
        "\t(attr smd)\n", "\t(attr smd)\n\t(fp_line (start -6 -6) (end 6 6) (stroke (width 0.12) (type solid)) "
        "(layer \"F.SilkS\"))\n", 1)
    assert silk != by_name[base].text()
    return [("X1", tight.text(), {"clearance"}),
            ("X2", silk, {"silk_over_copper", "lib_footprint_mismatch"})]


def test_kicad_drc_of_the_placed_footprints(library, kicad_cli, tmp_path):
    """Silk, courtyard, clearance, mask-web and library-consistency checks by KiCad itself.

    Rules relaxed, and why: only board-level checks a footprint cannot fail or pass
    (unconnected items, schematic parity, footprint-symbol links: there is no schematic) are
    ignored. Copper clearance is the smallest profile clearance in the library (0.075 mm,
    hdi-fine for WLCSP) and the mask web the smallest profile web (0.05 mm), so KiCad checks
    every footprint at least as loosely as its own profile demands, never more strictly.
    Minimum hole 0.15 mm (mechanical drill; thermal vias of 0.2 mm are ordinary).
    ``footprint_type_mismatch`` keeps KiCad's default severity (see DRC_SEVERITIES).
    """
    lib, by_name = library
    names = sorted(by_name)
    rules = {n: by_name[n].spec.rule_set() for n in names}
    clearance = min(r.copper_clearance for r in rules.values())
    web = min(r.mask_web for r in rules.values())
    placed = [(f"U{i + 1}", by_name[n].text(), None) for i, n in enumerate(names)] + _canaries(by_name)
    # place the footprints row by row, courtyards 3 mm apart
    items, x, y, row_h = [], 0.0, 0.0, 0.0
    for uid, (ref, text, _) in enumerate(placed, start=1):
        bounds = parse_bounds(text)
        minx, miny, maxx, maxy = bounds
        if x > 120:
            x, y, row_h = 0.0, y + row_h + 3.0, 0.0
        at = (round(x - minx + 2, 3), round(y - miny + 2, 3))
        items.append(_board_footprint(text, ref, at, uid))
        x += maxx - minx + 3.0
        row_h = max(row_h, maxy - miny)
    w, h = 130.0 + 80, y + row_h + 8.0
    edge = (f'\t(gr_rect (start -2 -2) (end {w:g} {h:g}) (stroke (width 0.05) (type default)) (fill no) '
            f'(layer "Edge.Cuts") (uuid "00000000-0000-4000-8000-999999999999"))')
    board = BOARD_HEAD.replace("{mask_web}", f"{web:g}") + "\n".join(items) + "\n" + edge + "\n)\n"
    proj = tmp_path / "drc"
    proj.mkdir()
    (proj / "fp-lib-table").write_text(
        f'(fp_lib_table\n\t(version 7)\n\t(lib (name "{LIB}")(type "KiCad")(uri "{lib}")(options "")(descr ""))\n)\n')
    (proj / "drc.kicad_pro").write_text(json.dumps({
        "board": {"design_settings": {
            "rules": {"min_clearance": clearance, "min_silk_clearance": 0.0, "min_hole_to_hole": 0.25,
                      "min_through_hole_diameter": 0.15, "min_text_height": 0.5, "min_text_thickness": 0.08},
            "rule_severities": DRC_SEVERITIES}},
        "net_settings": {"classes": [{**NETCLASS_DEFAULT, "clearance": clearance}], "meta": {"version": 4}},
        "meta": {"filename": "drc.kicad_pro", "version": 3}}, indent=1))
    pcb = proj / "drc.kicad_pcb"
    pcb.write_text(board, encoding="utf-8")
    report = proj / "drc.json"
    r = subprocess.run([kicad_cli, "pcb", "drc", "--format", "json", "--severity-all", "-o", str(report), str(pcb)],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    data = json.loads(report.read_text())

    def refs(v):
        return {m.group(1) for i in v["items"] for m in [re.search(r"\b([UX]\d+)\b", i["description"])] if m}

    ours = [v for v in data["violations"] if not any(ref.startswith("X") for ref in refs(v))]
    errors = [v for v in ours if v["severity"] == "error"]
    summary = sorted({(v["type"], v["description"]) for v in ours})
    print(f"\nKiCad DRC on {len(names)} placed footprints: {len(errors)} errors, "
          f"{len(ours) - len(errors)} warnings {summary[:8]}")
    assert not errors, json.dumps(errors[:5], indent=1)
    # the canaries: KiCad did check, and reports what we broke
    for ref, _, expected in placed[len(names):]:
        found = {v["type"] for v in data["violations"] if refs(v) == {ref}}
        assert expected <= found, (ref, found)
    # the clearance KiCad applied is ours, not its 0.2 mm default
    clr = next(v for v in data["violations"] if v["type"] == "clearance")
    assert f"clearance {clearance:.4f} mm" in clr["description"], clr["description"]


def parse_bounds(text: str) -> tuple[float, float, float, float]:
    """Bounding box of a footprint's F.CrtYd polygon (mm)."""
    tree = loads(text)
    pts = [(float(xy[1]), float(xy[2])) for poly in find_all(tree, "fp_poly")
           if any(isinstance(i, list) and i[:2] == ["layer", "F.CrtYd"] for i in poly)
           for xy in find_all(poly, "xy")]
    if not pts:  # canaries without a courtyard polygon: use the pads
        pts = [(float(a[1]), float(a[2])) for a in find_all(tree, "at")]
    xs, ys = [p[0] for p in pts], [p[1] for p in pts]
    return min(xs), min(ys), max(xs), max(ys)
