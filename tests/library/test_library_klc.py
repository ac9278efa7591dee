"""Own KLC checks over the whole committed library (footprints/kisubstrate_Packages).

Names, layers, courtyard (0.05 mm lines on the 0.01 mm grid, offset around body and pads),
silk clear of pads (shapely, exact circles), pin-1 markers, ``pad_prop_bga``, line widths,
Reference / Value / ``${REFERENCE}`` texts, descr / tags / model path, and the 3D model each
footprint names (exists, VRML 2.0 header, geometry, one terminal per pad).

The KLC rules the issue-14 review found broken are checked over the library **and** every
footprint the demo writes (the bundled examples, built as ``kisubstrate demo`` builds them):
F9.1 (a source URL in the description), F9.3 (a STEP model, with its VRML twin, named without
board-only suffixes), F6.3 (exposed pads and thermal vias: ``pad_prop_heatsink``, solid zone
connection), F7.2 (through-hole anchor on pin 1) and square SMD lands only with a reason given.
"""

from __future__ import annotations

import math
import re
from functools import lru_cache
from pathlib import Path

import numpy as np
import pytest
import shapely

from kisubstrate.kicad.vrml import model_name

ROOT = Path(__file__).resolve().parents[2]
LIB_DIR = ROOT / "footprints" / "kisubstrate_Packages"
LIB = "kisubstrate_Packages"
PRETTY = LIB_DIR / f"{LIB}.pretty"

_TOKEN = re.compile(r'\(|\)|"(?:[^"\\]|\\.)*"|[^\s()"]+')


def parse_sexpr(text: str) -> list:
    """Nested lists of an S-expression (strings unquoted, numbers left as text)."""
    stack: list[list] = [[]]
    for tok in _TOKEN.findall(text):
        if tok == "(":
            stack.append([])
        elif tok == ")":
            done = stack.pop()
            stack[-1].append(done)
        else:
            stack[-1].append(tok[1:-1].replace('\\"', '"') if tok.startswith('"') else tok)
    assert len(stack) == 1, "unbalanced parentheses"
    return stack[0][0]


def children(node: list, head: str) -> list[list]:
    """Direct child nodes ``(head …)``."""
    return [c for c in node[1:] if isinstance(c, list) and c and c[0] == head]


def child(node: list, head: str) -> list | None:
    found = children(node, head)
    return found[0] if found else None


def num(node: list | None, i: int = 1) -> float:
    assert node is not None
    return float(node[i])


@lru_cache(maxsize=None)
def library() -> dict[str, list]:
    """Footprint name → parsed tree of every committed footprint."""
    return {p.stem: parse_sexpr(p.read_text(encoding="utf-8")) for p in sorted(PRETTY.glob("*.kicad_mod"))}


def width(node: list) -> float:
    return num(child(child(node, "stroke"), "width"))


def points(node: list) -> list[tuple[float, float]]:
    if node[0] == "fp_line":
        return [(num(child(node, "start")), num(child(node, "start"), 2)),
                (num(child(node, "end")), num(child(node, "end"), 2))]
    if node[0] == "fp_poly":
        return [(float(p[1]), float(p[2])) for p in children(child(node, "pts"), "xy")]
    if node[0] == "fp_circle":
        c = child(node, "center")
        return [(float(c[1]), float(c[2]))]
    raise AssertionError(node[0])


def pads(fp: list) -> list[dict]:
    out = []
    for p in children(fp, "pad"):
        at, size = child(p, "at"), child(p, "size")
        mm = child(p, "solder_mask_margin")
        rr = child(p, "roundrect_rratio")
        zc = child(p, "zone_connect")
        out.append({"name": p[1], "kind": p[2], "shape": p[3], "x": float(at[1]), "y": float(at[2]),
                    "w": float(size[1]), "h": float(size[2]), "layers": tuple(child(p, "layers")[1:]),
                    "props": [c[1] for c in children(p, "property")],
                    "mask": float(mm[1]) if mm else 0.0, "rratio": float(rr[1]) if rr else 0.0,
                    "zone_connect": int(zc[1]) if zc else None})
    return out


def graphics(fp: list, layer: str) -> list[list]:
    return [g for g in fp[1:] if isinstance(g, list) and g and g[0] in ("fp_line", "fp_poly", "fp_circle")
            and child(g, "layer")[1] == layer]


def pad_shape(p: dict, grow: float = 0.0):
    """Copper (+grow) of a pad; circles exact as a shapely point buffer's *circumscribed* polygon."""
    if p["shape"] == "circle":
        r = p["w"] / 2 + grow
        return shapely.Point(p["x"], p["y"]).buffer(r / math.cos(math.pi / 64), quad_segs=16)
    w, h = p["w"] / 2 + grow, p["h"] / 2 + grow
    r = p["rratio"] * min(p["w"], p["h"]) if p["shape"] == "roundrect" else 0.0
    if r > 0:  # rounded corners: the core box grown by the radius (+ grow), corners circumscribed
        core = shapely.box(p["x"] - w + r + grow, p["y"] - h + r + grow, p["x"] + w - r - grow, p["y"] + h - r - grow)
        return core.buffer((r + grow) / math.cos(math.pi / 1024), quad_segs=256)
    return shapely.box(p["x"] - w, p["y"] - h, p["x"] + w, p["y"] + h)


NAME_RE = re.compile(r"^(BGA|WLCSP|LGA|PGA)-(\d+)_\d+(\.\d+)?x\d+(\.\d+)?mm_Layout(\d+)x(\d+)_P\d+(\.\d+)?"
                     r"(x\d+(\.\d+)?)?mm(_[A-Za-z0-9.-]+)*$")
# KLC no-lead names: QFN-32-1EP_5x5mm_P0.5mm_EP3.1x3.1mm[_ThermalVias]; the count is of the leads
NOLEAD_RE = re.compile(r"^(QFN|DFN|SON)-(\d+)-1EP_[\d.]+x[\d.]+mm_P[\d.]+mm_EP[\d.]+x[\d.]+mm(_ThermalVias)?$")
NOLEAD = ("QFN", "DFN", "SON")


def lead_pads(fp: list) -> list[dict]:
    """The numbered lead lands of a no-lead footprint (not the exposed pad, its vias or paste)."""
    pl = pads(fp)
    ep = {p["name"] for p in pl if "pad_prop_heatsink" in p["props"]}
    return [p for p in pl if p["name"] and p["name"] not in ep]


def test_library_is_big_enough_and_covers_the_families():
    lib = library()
    assert len(lib) >= 300
    kinds = {}
    for name in lib:
        kinds.setdefault(name.split("-")[0], []).append(name)
    assert {k: len(v) >= 10 for k, v in kinds.items() if k not in ("SON",)} == \
        {"BGA": True, "WLCSP": True, "LGA": True, "PGA": True, "QFN": True, "DFN": True}
    assert len(kinds["SON"]) >= 4 and sum("PoP-Top-Lands" in n for n in kinds["BGA"]) >= 4
    bga_pitches = {re.search(r"_P([\d.]+)mm", n).group(1) for n in kinds["BGA"]}
    assert {"0.4", "0.5", "0.65", "0.75", "0.8", "1.0", "1.27"} <= bga_pitches
    wl_pitches = {re.search(r"_P([\d.]+)mm", n).group(1) for n in kinds["WLCSP"]}
    assert {"0.35", "0.4", "0.5"} <= wl_pitches


def test_names_files_and_values_agree():
    for name, fp in library().items():
        assert fp[0] == "footprint" and fp[1] == name
        if name.split("-")[0] in NOLEAD:
            m = NOLEAD_RE.match(name)
            assert m, name
            assert int(m.group(2)) == len(lead_pads(fp)), name  # lead count in the name
        else:
            m = NAME_RE.match(name)
            assert m, name
            assert int(m.group(2)) == len(pads(fp)), name  # pin count in the name is the pad count
        assert re.fullmatch(r"[A-Za-z0-9_.+-]+", name)
        props = {p[1]: p for p in children(fp, "property")}
        assert props["Value"][2] == name
        assert props["Reference"][2] == "REF**"
        assert child(props["Reference"], "layer")[1] == "F.SilkS"
        assert child(props["Value"], "layer")[1] == "F.Fab"
        font = child(child(props["Reference"], "effects"), "font")
        assert (num(child(font, "size")), num(child(font, "thickness"))) == (1.0, 0.15)
        user = [t for t in children(fp, "fp_text") if t[1] == "user"]
        assert [t[2] for t in user] == ["${REFERENCE}"], name
        assert child(user[0], "layer")[1] == "F.Fab"
        assert 0.5 <= num(child(child(child(user[0], "effects"), "font"), "size")) <= 1.0
        assert child(fp, "descr")[1] and child(fp, "tags")[1]
        assert child(fp, "embedded_fonts")[1] == "no"
        assert child(fp, "model")[1] == f"${{KIPRJMOD}}/{LIB}.3dshapes/{model_name(name)}.step"


def test_layers_and_pad_properties():
    for name, fp in library().items():
        family = name.split("-")[0]
        layers = {child(g, "layer")[1] for g in fp[1:] if isinstance(g, list) and g[0].startswith("fp_")}
        assert layers == {"F.SilkS", "F.Fab", "F.CrtYd"}, name
        attr = child(fp, "attr")[1]
        if family in NOLEAD:  # leads, the exposed pad (heatsink), paste-only pads, thermal vias + B.Cu pad
            assert attr == "smd", name
            ep = {p["name"] for p in pads(fp) if "pad_prop_heatsink" in p["props"]}
            assert len(ep) == 1, name
            for p in pads(fp):
                if p["name"] in ep:
                    assert (p["kind"], p["layers"]) in {("smd", ("F.Cu", "F.Mask")), ("thru_hole", ("*.Cu",)),
                                                        ("smd", ("B.Cu",))}, (name, p)
                elif p["name"]:
                    assert (p["kind"], p["layers"], p["props"]) == ("smd", ("F.Cu", "F.Mask", "F.Paste"), []), name
                else:
                    assert (p["kind"], p["layers"]) == ("smd", ("F.Paste",)), name
            continue
        for p in pads(fp):
            if family == "PGA":
                assert (attr, p["kind"], p["layers"]) == ("through_hole", "thru_hole", ("*.Cu", "*.Mask"))
                assert p["props"] == []
            else:
                assert (attr, p["kind"], p["layers"]) == ("smd", "smd", ("F.Cu", "F.Mask", "F.Paste")), name
                expected = ["pad_prop_bga"] if family in ("BGA", "WLCSP") else []
                assert p["props"] == expected, (name, p["name"])
        if family == "PGA":  # KLC: THT pin 1 rectangular, the others round
            shapes = [p["shape"] for p in pads(fp)]
            assert shapes[0] == "rect" and set(shapes[1:]) == {"circle"}


def test_line_widths():
    expected = {"F.SilkS": 0.12, "F.Fab": 0.1, "F.CrtYd": 0.05}
    for name, fp in library().items():
        for layer, w in expected.items():
            items = graphics(fp, layer)
            assert items, (name, layer)
            assert {width(g) for g in items} == {w}, (name, layer)


def test_courtyard_on_grid_closed_and_around_body_and_pads():
    for name, fp in library().items():
        crt = graphics(fp, "F.CrtYd")
        assert len(crt) == 1 and crt[0][0] == "fp_poly", name  # one closed outline
        pts = points(crt[0])
        for x, y in pts:
            for v in (x, y):
                assert abs(v * 100 - round(v * 100)) < 1e-6, (name, v)  # 0.01 mm grid
        court = shapely.Polygon(pts)
        body = shapely.Polygon(points([g for g in graphics(fp, "F.Fab") if g[0] == "fp_poly"][0]))
        pl = pads(fp)
        ex0 = min(body.bounds[0], min(p["x"] - p["w"] / 2 for p in pl))
        ey0 = min(body.bounds[1], min(p["y"] - p["h"] / 2 for p in pl))
        ex1 = max(body.bounds[2], max(p["x"] + p["w"] / 2 for p in pl))
        ey1 = max(body.bounds[3], max(p["y"] + p["h"] / 2 for p in pl))
        cx0, cy0, cx1, cy1 = court.bounds
        offsets = [ex0 - cx0, ey0 - cy0, cx1 - ex1, cy1 - ey1]
        family = name.split("-")[0]
        low = {"BGA": 0.5, "WLCSP": 0.15, "LGA": 0.25, "PGA": 0.5, "QFN": 0.25, "DFN": 0.25, "SON": 0.25}[family]
        high = {"BGA": 1.0, "WLCSP": 0.5, "LGA": 0.25, "PGA": 0.5, "QFN": 0.25, "DFN": 0.25, "SON": 0.25}[family]
        assert all(low - 1e-9 <= o <= high + 0.01 + 1e-9 for o in offsets), (name, offsets)


def _silk_clearance(fp: list) -> float:
    found = re.findall(r"profile ([\w-]+)", child(fp, "descr")[1])
    return 0.1 if "hdi-fine" in found else 0.2


def _pad_gaps(geom, pad_list: list[dict]) -> np.ndarray:
    """Exact gaps (mm) from a silk geometry to every pad's copper + positive mask margin."""
    circ = [p for p in pad_list if p["shape"] == "circle"]
    other = [p for p in pad_list if p["shape"] != "circle"]
    gaps = []
    if circ:  # circles exactly: distance to the centre minus the radius
        centres = shapely.points([p["x"] for p in circ], [p["y"] for p in circ])
        radii = np.array([p["w"] / 2 + max(p["mask"], 0.0) for p in circ])
        gaps.append(shapely.distance(geom, centres) - radii)
    if other:
        gaps.append(shapely.distance(geom, [pad_shape(p, grow=max(p["mask"], 0.0)) for p in other]))
    return np.concatenate(gaps)


def test_silk_clear_of_pads_and_mask_openings():
    for name, fp in library().items():
        need = _silk_clearance(fp)
        pad_list = pads(fp)
        for g in graphics(fp, "F.SilkS"):
            pts = points(g)
            if g[0] == "fp_line":
                geom = shapely.LineString(pts)
            elif g[0] == "fp_poly":
                geom = shapely.Polygon(pts)
            else:
                e = child(g, "end")
                geom = shapely.Point(pts[0]).buffer(math.dist(pts[0], (float(e[1]), float(e[2]))) * 1.01)
            gap = float(_pad_gaps(geom, pad_list).min()) - width(g) / 2
            assert gap >= need - 1e-6, (name, g[0], pts[:2], gap)


def test_pin1_markers():
    for name, fp in library().items():
        fab = [g for g in graphics(fp, "F.Fab") if g[0] == "fp_poly"][0]
        pts = points(fab)
        xs, ys = [p[0] for p in pts], [p[1] for p in pts]
        x0, y0 = min(xs), min(ys)
        assert len(pts) == 5 and (x0, y0) not in pts, name  # bevelled top-left corner on F.Fab
        markers = [g for g in graphics(fp, "F.SilkS") if g[0] in ("fp_poly", "fp_circle")]
        assert len(markers) == 1, name
        mx, my = shapely.Polygon(points(markers[0])).centroid.coords[0] if markers[0][0] == "fp_poly" \
            else points(markers[0])[0]
        assert mx < x0 + 0.5 and my < y0 + 0.5 and math.dist((mx, my), (x0, y0)) < 1.0, (name, mx, my)
        first = pads(fp)[0]
        assert first["x"] == min(p["x"] for p in pads(fp) if p["y"] == first["y"])  # pad 1 is top-left
        cx, cy = (x0 + max(xs)) / 2, (y0 + max(ys)) / 2  # body centre (PGA: the anchor is pin 1, F7.2)
        assert first["x"] < cx and first["y"] < cy


# -- 3D models -------------------------------------------------------------------------------------
_VRML_TOKEN = re.compile(r"[{}\[\]]|[^\s{}\[\],]+")


def parse_vrml(text: str) -> dict:
    """Minimal VRML 2.0 reader: balanced nesting, face sets (points, index ranges), DEF/USE."""
    assert text.startswith("#VRML V2.0 utf8\n")
    body = "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("#"))
    toks = _VRML_TOKEN.findall(body)
    depth, defs, uses, sets = [], set(), [], []
    i = 0
    while i < len(toks):
        t = toks[i]
        if t in "{[":
            depth.append(t)
        elif t in "}]":
            assert depth and {"}": "{", "]": "["}[t] == depth.pop(), "unbalanced"
        elif t == "DEF":
            defs.add(toks[i + 1])
        elif t == "USE":
            assert toks[i + 1] in defs, f"USE {toks[i + 1]} before DEF"
            uses.append(toks[i + 1])
        elif t == "point":
            j = toks.index("]", i)
            nums = [float(v) for v in toks[i + 2:j]]
            assert len(nums) % 3 == 0 and nums
            sets.append({"points": [tuple(nums[k:k + 3]) for k in range(0, len(nums), 3)]})
        elif t == "coordIndex":
            j = toks.index("]", i)
            idx = [int(v) for v in toks[i + 2:j]]
            n = len(sets[-1]["points"])
            assert all(-1 <= v < n for v in idx) and idx.count(-1) >= 4
            sets[-1]["faces"] = idx.count(-1)
        i += 1
    assert not depth
    return {"defs": defs, "uses": uses, "sets": sets}


def test_every_model_exists_and_parses():
    for name, fp in library().items():
        path = child(fp, "model")[1].replace("${KIPRJMOD}", str(LIB_DIR))
        assert Path(path).is_file(), path
        model = Path(path).with_suffix(".wrl")  # KiCad's renderer-friendly twin
        assert model.is_file(), path
        vr = parse_vrml(model.read_text(encoding="utf-8"))
        assert all("faces" in s for s in vr["sets"])
        # body box = the F.Fab outline (2.54 mm units, y flipped), one terminal per pad
        fab = [g for g in graphics(fp, "F.Fab") if g[0] == "fp_poly"][0]
        x0, y0, x1, y1 = shapely.Polygon(points(fab)).bounds
        body = vr["sets"][0]["points"]
        bx = [p[0] * 2.54 for p in body]
        by = [p[1] * 2.54 for p in body]
        assert math.isclose(min(bx), x0, abs_tol=1e-3) and math.isclose(max(bx), x1, abs_tol=1e-3)
        assert math.isclose(min(by), -y1, abs_tol=1e-3) and math.isclose(max(by), -y0, abs_tol=1e-3)
        terminals = sum(1 for d in vr["defs"] if d.startswith("T")) + len(vr["uses"])
        if name.split("-")[0] in NOLEAD:  # one per land: leads and exposed pad (not its B.Cu copy under the vias)
            assert terminals == sum(p["kind"] == "smd" and p["layers"] not in (("F.Paste",), ("B.Cu",))
                                    for p in pads(fp)), name
        else:
            assert terminals == len(pads(fp)), name


def test_vrml_reader_rejects_broken_models():
    good = (LIB_DIR / f"{LIB}.3dshapes").glob("*.wrl").__next__().read_text()
    parse_vrml(good)
    with pytest.raises(AssertionError):
        parse_vrml(good.replace("#VRML V2.0 utf8", "#VRML V1.0 ascii", 1))
    with pytest.raises(AssertionError):
        parse_vrml(good.rstrip().rstrip("}"))
    with pytest.raises(AssertionError):
        parse_vrml(good.replace("DEF T0", "DEF X0", 1))


# -- renders ---------------------------------------------------------------------------------------
def test_every_render_is_well_formed_svg_showing_every_pad():
    import xml.etree.ElementTree as ET

    ns = "{http://www.w3.org/2000/svg}"
    renders = LIB_DIR / "renders"
    lib = library()
    assert sorted(p.stem for p in renders.glob("*.svg")) == sorted(lib)
    for name, fp in lib.items():
        root = ET.parse(renders / f"{name}.svg").getroot()
        assert root.tag == f"{ns}svg" and root.find(f"{ns}title") is None  # no dated title
        round_pads = sum(p["shape"] == "circle" for p in pads(fp))
        circles = len(root.findall(f".//{ns}circle"))
        if name.startswith(("BGA", "WLCSP")):
            assert circles == round_pads, name  # one copper disc per ball land
        else:
            assert circles >= round_pads, name


# -- KLC rules over the library and the demo's footprints (issue 14) -------------------------------
@lru_cache(maxsize=None)
def demo() -> dict[str, tuple[list, dict[str, bytes]]]:
    """Footprint name → (parsed tree, model files by name) of every footprint ``kisubstrate demo`` writes."""
    from kisubstrate.api.footprint import build_footprints, footprint_files
    from kisubstrate.api.specs import load_specs

    out: dict[str, tuple[list, dict[str, bytes]]] = {}
    for f in sorted((ROOT / "footprints" / "examples").glob("*.yaml")):
        for ls in load_specs([f]):
            for r in build_footprints(ls.spec, source=ls.file):
                files = dict(footprint_files([r], Path("demo/kisubstrate_demo.pretty")))  # as api/demo.py
                mod = files.pop(Path(f"demo/kisubstrate_demo.pretty/{r.geometry.name}.kicad_mod"))
                out[r.geometry.name] = (parse_sexpr(mod), {p.name: d.encode() for p, d in files.items()})
    return out


def every_footprint():
    """(origin, name, tree) of the library's and the demo's footprints."""
    for name, fp in library().items():
        yield "library", name, fp
    for name, (fp, _) in demo().items():
        yield "demo", name, fp


def test_the_demo_writes_every_family_checked_here():
    names = list(demo())
    assert len(names) >= 15
    for prefix in ("BGA-", "LGA-", "PGA-", "WLCSP-", "QFN-", "DFN-"):
        assert any(n.startswith(prefix) for n in names), prefix
    assert any(n.endswith("_ThermalVias") for n in names)


def test_f9_1_every_description_names_its_source_with_a_url():
    for origin, name, fp in every_footprint():
        descr = child(fp, "descr")[1]
        assert re.search(r"https?://[\w.-]+\.[a-z]{2,}/\S+", descr), (origin, name, descr)


def test_f9_3_every_footprint_names_a_step_model_with_a_vrml_twin():
    for origin, name, fp in every_footprint():
        path = child(fp, "model")[1]
        stem = model_name(name)
        assert stem == name or stem == name.replace("_ThermalVias", ""), name  # only board-only suffixes dropped
        assert path.endswith(f".3dshapes/{stem}.step"), (origin, name, path)
        if origin == "library":
            shapes = LIB_DIR / f"{LIB}.3dshapes"
            data = {p: (shapes / p).read_bytes()[:20] for p in (f"{stem}.step", f"{stem}.wrl")}
        else:
            data = demo()[name][1] or {}
            if not data:  # a _ThermalVias twin: its model files were written with its base footprint
                data = next(files for other, (_, files) in demo().items() if model_name(other) == stem and files)
        assert data[f"{stem}.step"].startswith(b"ISO-10303-21;"), (origin, name)
        assert data[f"{stem}.wrl"].startswith(b"#VRML V2.0 utf8"), (origin, name)


def _heatsink_problems(fp: list) -> list[str]:
    """KLC F6.3 as KiCad's stock QFN-…_ThermalVias footprints do it: every copper pad of an exposed
    pad number (the F.Cu pad, its B.Cu copy, its thermal vias) carries ``pad_prop_heatsink`` and
    connects solid to zones (``zone_connect 2``)."""
    smd = child(fp, "attr")[1] == "smd"
    pl = pads(fp)
    ep_numbers = {p["name"] for p in pl if "pad_prop_heatsink" in p["props"]}
    ep_numbers |= {p["name"] for p in pl if smd and p["kind"] == "thru_hole"}  # thermal vias
    bad = []
    for p in pl:
        copper = any(layer.endswith(".Cu") for layer in p["layers"])
        if p["name"] in ep_numbers and p["name"] and copper:
            if "pad_prop_heatsink" not in p["props"] or p["zone_connect"] != 2:
                bad.append(f"pad {p['name']} {p['kind']} at ({p['x']}, {p['y']}) on {p['layers']}: "
                           f"props {p['props']}, zone_connect {p['zone_connect']}")
    return bad


def test_f6_3_exposed_pads_and_thermal_vias_are_heatsinks_connected_solid():
    checked = 0
    for origin, name, fp in every_footprint():
        assert _heatsink_problems(fp) == [], (origin, name)
        checked += any("pad_prop_heatsink" in p["props"] for p in pads(fp))
    assert checked >= 5  # the demo's QFN / DFN exposed pads, with and without thermal vias


def test_f6_3_check_rejects_a_stock_style_pad_without_the_solid_connection():
    fp = next(fp for n, (fp, _) in demo().items() if n.endswith("_ThermalVias"))
    text = re.sub(r"\(zone_connect 2\)", "", _unparse(fp), count=1)
    assert len(_heatsink_problems(parse_sexpr(text))) == 1
    text = re.sub(r"\(property pad_prop_heatsink\)", "", _unparse(fp), count=1)
    assert len(_heatsink_problems(parse_sexpr(text))) == 1


def _unparse(node) -> str:
    if isinstance(node, list):
        return "(" + " ".join(_unparse(c) for c in node) + ")"
    return node if re.fullmatch(r"[^\s()\"]+", node) and not node.startswith("${") else \
        '"' + node.replace('"', '\\"') + '"'


def test_f7_2_through_hole_footprints_are_anchored_on_pin_1():
    seen = 0
    for origin, name, fp in every_footprint():
        if child(fp, "attr")[1] != "through_hole":
            continue
        first = pads(fp)[0]
        assert first["name"] in ("1", "A1") and (first["x"], first["y"]) == (0.0, 0.0), (origin, name, first)
        assert first["shape"] == "rect"
        seen += 1
    assert seen >= 10


def test_f7_2_pga_origin_center_keeps_the_centre_and_the_model_follows_the_anchor():
    from kisubstrate.api.footprint import build_footprints
    from kisubstrate.kicad.vrml import vrml_model

    spec = {"family": "pga", "body": [10, 10], "pitch": 2.54, "layout": [3, 3], "pin_diameter": 0.46}
    pin1 = build_footprints(spec)[0].geometry
    centre = build_footprints({**spec, "origin": "center"})[0].geometry
    assert pin1.pad_table()[0][1:3] == (0.0, 0.0)
    assert centre.pad_table()[0][1:3] == (-2.54, -2.54)
    assert centre.body.bounds == (-5.0, -5.0, 5.0, 5.0) and pin1.body.bounds == (-2.46, -2.46, 7.54, 7.54)
    # same shapes, moved with the anchor: the model needs no offset
    assert pin1.model.offset == centre.model.offset == (0.0, 0.0, 0.0)
    body = re.search(r"DEF BODY .*?point \[ ([^\]]*) \]", vrml_model(pin1), re.S).group(1)
    xs = [float(v.split()[0]) * 2.54 for v in body.split(",")]
    assert (round(min(xs), 3), round(max(xs), 3)) == (-2.46, 7.54)


def test_square_smd_lands_say_why_they_are_not_roundrect():
    squares = 0
    for origin, name, fp in every_footprint():
        if not name.startswith("LGA"):
            continue
        rect = [p for p in pads(fp) if p["kind"] == "smd" and p["shape"] == "rect"]
        if rect:
            squares += 1
            assert "_SquareLands" in name or "roundrect" in child(fp, "descr")[1], (origin, name)
            assert "roundrect" in child(fp, "descr")[1], (origin, name)
    assert squares >= 10


# -- the generic rules over the demo's footprints too -------------------------------------------
def test_demo_footprints_follow_the_generic_rules():
    """Fields and fonts, layers, line widths, a closed courtyard on the 0.01 mm grid around body and pads,
    silk clear of pads and a pin-1 mark: the same rules as the library, for every footprint the demo writes
    (substrate packages' board-side footprints included)."""
    expected = {"F.SilkS": 0.12, "F.Fab": 0.1, "F.CrtYd": 0.05}
    for name, (fp, _) in demo().items():
        assert fp[0] == "footprint" and fp[1] == name and re.fullmatch(r"[A-Za-z0-9_.+-]+", name), name
        props = {p[1]: p for p in children(fp, "property")}
        assert props["Value"][2] == name and props["Reference"][2] == "REF**", name
        assert child(props["Reference"], "layer")[1] == "F.SilkS" and child(props["Value"], "layer")[1] == "F.Fab"
        font = child(child(props["Reference"], "effects"), "font")
        assert (num(child(font, "size")), num(child(font, "thickness"))) == (1.0, 0.15), name
        user = [t for t in children(fp, "fp_text") if t[1] == "user"]
        assert [t[2] for t in user] == ["${REFERENCE}"] and child(user[0], "layer")[1] == "F.Fab", name
        assert child(fp, "descr")[1] and child(fp, "tags")[1], name
        layers = {child(g, "layer")[1] for g in fp[1:] if isinstance(g, list) and g[0].startswith("fp_")}
        assert layers == {"F.SilkS", "F.Fab", "F.CrtYd"}, name
        for layer, w in expected.items():
            items = graphics(fp, layer)
            assert items and {width(g) for g in items} == {w}, (name, layer)
        crt = graphics(fp, "F.CrtYd")
        assert len(crt) == 1 and crt[0][0] == "fp_poly", name
        pts = points(crt[0])
        assert all(abs(v * 100 - round(v * 100)) < 1e-6 for xy in pts for v in xy), name
        court = shapely.Polygon(pts)
        body = shapely.Polygon(points([g for g in graphics(fp, "F.Fab") if g[0] == "fp_poly"][0]))
        pl = pads(fp)
        assert court.buffer(1e-6).contains(body), name
        assert all(court.buffer(1e-6).contains(pad_shape(p)) for p in pl if p["layers"] != ("F.Paste",)), name
        need = _silk_clearance(fp)
        for g in graphics(fp, "F.SilkS"):
            gp = points(g)
            if g[0] == "fp_line":
                geom = shapely.LineString(gp)
            elif g[0] == "fp_poly":
                geom = shapely.Polygon(gp)
            else:
                e = child(g, "end")
                geom = shapely.Point(gp[0]).buffer(math.dist(gp[0], (float(e[1]), float(e[2]))) * 1.01)
            assert float(_pad_gaps(geom, pl).min()) - width(g) / 2 >= need - 1e-6, (name, g[0], gp[:2])
        marks = [g for g in graphics(fp, "F.SilkS") if g[0] in ("fp_poly", "fp_circle")]
        assert len(marks) >= 1 or any(len(points(g)) >= 3 for g in graphics(fp, "F.SilkS")), name
