"""No-lead keys beyond the plain IPC calculator: lead numbering (start, direction, offset), an exposed
pad off the centre, leads located by the body-to-inside-lead-edge distance, chamfered corner lands,
paste options around thermal vias, a toleranced ``ep_land`` and hyphenated package types; rule
edges at ±1 µm and KiCad reading the chamfered lands back."""

from __future__ import annotations

import math
import re
import subprocess

import numpy as np
import pytest
import shapely
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from conftest import run_pcbnew
from kisubstrate.api.footprint import generate_footprint
from kisubstrate.api.specs import validate_spec
from kisubstrate.families.nolead import FILLETS, lands, paste_around_vias, via_paste_gap
from kisubstrate.model.errors import SpecError
from kisubstrate.model.rules import load_rules

QFN16 = dict(family="qfn", leads=16, pitch=0.5, body=3, lead_width="0.18..0.3", lead_length="0.3..0.5",
             exposed_pad=1.45)
TQFN24 = dict(family="qfn", package_type="TQFN", leads=24, pitch=0.5, body=4, lead_width="0.18..0.23..0.3",
              lead_length="0.45..0.55..0.65", exposed_pad="1.95..2.1..2.25", fillets="pull_back")


def pads(spec: dict, check: bool = True) -> dict[str, list[tuple[float, float, float, float]]]:
    """Copper pads by number: [(x, y, w, h)] (mm)."""
    fp = generate_footprint(spec, check=check).geometry
    out: dict[str, list] = {}
    for g in fp.pads:
        if any(layer.endswith(".Cu") for layer in g.layers):
            for n, x, y in zip(g.names, g.x.tolist(), g.y.tolist()):
                out.setdefault(n, []).append((x, y, g.size[0], g.size[1]))
    return out


# -- numbering ------------------------------------------------------------------------------------
@pytest.mark.parametrize("numbering,pin1,pin2", [
    ({}, (-1, -0.75), (-1, -0.25)),                                   # left side, top first, going down
    ({"direction": "cw"}, (-1, 0.75), (-1, 0.25)),                    # left side, bottom first, going up
    ({"start": "top"}, (0.75, -1), (0.25, -1)),                       # ccw along the top: right to left
    ({"start": "top", "direction": "cw"}, (-0.75, -1), (-0.25, -1)),  # cw along the top: left to right
    ({"start": "bottom"}, (-0.75, 1), (-0.25, 1)),
    ({"start": "right"}, (1, 0.75), (1, 0.25)),
    ({"offset": 1}, (-0.75, -1), (-1, -0.75)),                        # 2, 3, ..., 16, 1: pin 1 last of the walk
    ({"offset": -1}, (-1, -0.25), (-1, 0.25)),                        # 16, 1, 2, ...
])
def test_numbering_places_pin1(numbering, pin1, pin2):
    got = pads({**QFN16, "numbering": numbering})
    c = lands(validate_spec(QFN16))[1].center  # land centre from the package centre (all sides alike here)
    for number, (sx, sy) in (("1", pin1), ("2", pin2)):
        x, y = got[number][0][:2]
        want = (sx * c if abs(sx) == 1 else sx, sy * c if abs(sy) == 1 else sy)
        assert (x, y) == pytest.approx(want, abs=1e-9), (number, numbering)


@settings(max_examples=40, deadline=None)
@given(start=st.sampled_from(["left", "bottom", "right", "top"]), direction=st.sampled_from(["ccw", "cw"]),
       offset=st.integers(-40, 40), per_side=st.tuples(st.integers(1, 5), st.integers(1, 5)))
def test_numbering_is_a_walk_round_the_package(start, direction, offset, per_side):
    """Every number once; consecutive numbers are neighbouring leads (or the two ends of a corner)."""
    spec = dict(family="qfn", leads_per_side=list(per_side), pitch=0.5, body=4, lead_width="0.18..0.3",
                lead_length="0.3..0.5", numbering={"start": start, "direction": direction, "offset": offset})
    got = pads(spec, check=False)
    n = 2 * sum(per_side)
    assert sorted(got, key=int) == [str(i) for i in range(1, n + 1)]
    pts = np.array([got[str(i)][0][:2] for i in range(1, n + 1)])
    angle = np.arctan2(pts[:, 1], pts[:, 0])  # y down: ccw on screen = decreasing angle... of the walk
    step = np.diff(np.unwrap(np.append(angle, angle[0])))
    sign = -1 if direction == "ccw" else 1  # ccw seen from the top with y down turns the angle negative
    assert np.all(sign * step > 0)  # the walk turns one way round the centre, one lap in all
    assert abs(abs(step.sum()) - 2 * math.pi) < 1e-6


def test_son_numbering_cannot_start_on_top():
    with pytest.raises(SpecError, match="numbering"):
        validate_spec(dict(family="son", leads=8, pitch=0.5, body=2, lead_width="0.2..0.3", lead_length="0.3..0.4",
                           numbering={"start": "top"}))


# -- exposed pad off the centre -----------------------------------------------------------------------
def test_ep_offset_moves_pad_vias_and_paste():
    base = {**QFN16, "thermal_vias": {"count": 2, "drill": 0.2}, "ep_paste_grid": [2, 2]}
    a = generate_footprint(base).geometry
    b = generate_footprint({**base, "ep_offset": [0.1, -0.05]}).geometry
    for ga, gb in zip(a.pads, b.pads):
        if ga.names and ga.names[0] in ("17", ""):  # EP, its vias, its B.Cu pad and the paste
            assert np.allclose(gb.x - ga.x, 0.1) and np.allclose(gb.y - ga.y, -0.05), ga.layers


@pytest.mark.parametrize("delta,ok", [(-0.001, True), (0.001, False)])
def test_ep_offset_reaching_the_leads_is_refused(delta, ok):
    # inner lead span 3 - 2 x 0.4 = 2.2 mm; a 1.45 mm pad may move (2.2 - 1.45) / 2 = 0.375 mm
    spec = {**QFN16, "ep_offset": [0.375 + delta, 0]}
    if ok:
        fp = generate_footprint(spec)
        assert fp.report.ok, fp.report.text()
        ep = next(g for g in fp.geometry.pads if g.names == ["17"])
        right = min(x - w / 2 for x, _, w, _ in (p for n, ps in pads(spec).items() if n in "9 10 11 12".split()
                                                  for p in ps))
        # the heel is pulled back to keep the 0.2 mm EP clearance on the near side
        assert right - (float(ep.x[0]) + ep.size[0] / 2) == pytest.approx(0.2, abs=1e-6)
    else:
        with pytest.raises(SpecError, match="ep_offset"):
            validate_spec(spec)


# -- leads located by body edge to inner lead edge ---------------------------------------------------
def test_body_to_inside_lead_edge_equals_lead_length_for_flush_leads():
    a = pads(dict(QFN16, lead_length="0.3..0.5"))
    b = pads({**{k: v for k, v in QFN16.items() if k != "lead_length"}, "body_to_inside_lead_edge": "0.3..0.5"})
    assert a == b


def test_body_to_inside_lead_edge_with_pull_back():
    """S = body − 2·body_to_inside_lead_edge with RMS stacking (the stock TQFN-24 PullBack part)."""
    spec = dict(family="qfn", leads=24, pitch=0.5, body=4, lead_width="0.18..0.25..0.35",
                body_to_inside_lead_edge="0.3..0.35..0.4", pull_back="0..0.15", exposed_pad="2.7..2.8..2.9")
    tb, lr = lands(validate_spec(spec))
    # S = 3.3 ± 0.1414 (RMS of body ±0 and 2 x ±0.05): Smax_rms = 3.3707; G = 3.3707 - 0 - sqrt(.1414² + .1² + .05²)
    heel = FILLETS["pull_back"]["nominal"]["heel"]
    s_rms = math.sqrt(2) * 0.1  # S = 4 - 2 x (0.3 .. 0.4): worst case 3.2 .. 3.4, RMS ±0.0707
    g = 3.4 - (0.2 - s_rms) / 2 - 2 * heel - math.sqrt(s_rms ** 2 + 0.1 ** 2 + 0.05 ** 2)
    assert g == pytest.approx(3.1904, abs=1e-4)
    assert (lr.g, lr.z, tb.g) == pytest.approx((3.2, 4.0, 3.2), abs=1e-9)  # as KiCad's stock part


@pytest.mark.parametrize("spec,field", [
    ({**QFN16, "body_to_inside_lead_edge": 0.4}, "lead_length"),  # both
    ({k: v for k, v in QFN16.items() if k != "lead_length"}, "lead_length"),  # neither
    ({**{k: v for k, v in QFN16.items() if k != "lead_length"}, "body_to_inside_lead_edge": 0.4,
      "lead_center_span": 2.6}, "lead_center_span"),
])
def test_lead_location_keys_exclusive(spec, field):
    with pytest.raises(SpecError) as e:
        validate_spec(spec)
    assert e.value.field == field


# -- chamfered corner lands ---------------------------------------------------------------------------
def test_chamfer_lets_the_rule_check_accept_kicads_part():
    bad = generate_footprint(TQFN24)
    assert {v.rule for v in bad.report.violations} >= {"copper_clearance"}
    assert {tuple(sorted(v.items, key=int)) for v in bad.report.violations if v.rule == "copper_clearance"} == \
        {("1", "24"), ("6", "7"), ("12", "13"), ("18", "19")}
    good = generate_footprint({**TQFN24, "corner_chamfer": 0.18})  # KiCad's chamfer_edge_pins for this part
    assert good.report.ok, good.report.text()
    corner = [g for g in good.geometry.pads if g.chamfer_corners]
    assert sorted(n for g in corner for n in g.names) == sorted("1 6 7 12 13 18 19 24".split())
    assert {g.names[0]: g.chamfer_corners for g in corner}["1"] == ("top_right",)


@pytest.mark.parametrize("delta,fails", [(-0.001, True), (0.001, False)])
def test_chamfer_copper_clearance_edge(delta, fails):
    """The facing chamfers of two corner lands are parallel: gap = g0 + √2·c; 1 µm under / over the rule."""
    geom = generate_footprint(TQFN24, check=False).geometry
    by = {n: (float(g.x[i]), float(g.y[i]), g.size) for g in geom.pads for i, n in enumerate(g.names)}
    (x1, y1, s1), (x24, y24, s24) = by["1"], by["24"]
    ax, ay = x1 + s1[0] / 2, y1 - s1[1] / 2      # pad 1 (left side): top-right corner
    bx, by_ = x24 - s24[0] / 2, y24 + s24[1] / 2  # pad 24 (top side): bottom-left corner
    g0 = ((bx - by_) - (ax - ay)) / math.sqrt(2)
    need = load_rules("ipc-default").copper_clearance
    c = (need - g0 + delta) / math.sqrt(2)
    r = generate_footprint({**TQFN24, "corner_chamfer": round(c, 9)})
    rules = {v.rule for v in r.report.violations}
    assert ("copper_clearance" in rules) == fails, r.report.text()


def test_chamfer_wider_than_the_land_is_refused():
    with pytest.raises(SpecError, match="corner_chamfer"):
        validate_spec({**TQFN24, "corner_chamfer": 0.5})
    with pytest.raises(SpecError, match="corner_chamfer"):
        validate_spec(dict(family="son", leads=8, pitch=0.5, body=2, lead_width="0.2..0.3", lead_length="0.3..0.4",
                           corner_chamfer=0.1))


def test_chamfered_lands_are_written_native_or_custom():
    native = generate_footprint({**QFN16, "corner_chamfer": 0.1}).text()   # 0.1 / 0.25 = 0.4 <= 0.5
    custom = generate_footprint({**TQFN24, "corner_chamfer": 0.18}).text()  # 0.18 / 0.3 = 0.6 > 0.5
    assert native.count("(chamfer_ratio 0.4)") == 8 and "custom" not in native
    assert custom.count("smd custom") == 8 and "(chamfer_ratio" not in custom


# -- paste around thermal vias ------------------------------------------------------------------------
def test_paste_avoid_vias_false_is_the_plain_grid():
    plain = generate_footprint({**QFN16, "ep_paste_grid": [2, 2]}).geometry
    vias = generate_footprint({**QFN16, "ep_paste_grid": [2, 2],
                               "thermal_vias": {"count": 2, "drill": 0.2, "paste_avoid_vias": False}}).geometry
    grid = [g for g in plain.pads if g.layers == ("F.Paste",)]
    over = [g for g in vias.pads if g.layers == ("F.Paste",)]
    assert [(g.size, g.x.tolist(), g.y.tolist()) for g in grid] == [(g.size, g.x.tolist(), g.y.tolist()) for g in over]


@settings(max_examples=60, deadline=None)
@given(ep=st.tuples(st.floats(2, 6), st.floats(2, 6)), n=st.tuples(st.integers(2, 5), st.integers(2, 5)),
       between=st.tuples(st.integers(1, 3), st.integers(1, 3)), coverage=st.floats(0.3, 0.8))
def test_paste_between_vias_keeps_clear_of_every_hole(ep, n, between, coverage):
    """Cell pads (between four vias) are chamfered so that every hole keeps its paste clearance."""
    via_pad, keep = 0.5, 0.2  # 0.2 mm drill + 0.1 mm paste clearance
    pitch = [(e - via_pad) / (k - 1) for e, k in zip(ep, n)]
    # vias 1 mm apart or more, cell pads at least 0.5 mm wide: in denser cells a corner pad can sit so close to a
    # hole that no chamfer clears it, and the spec check refuses the layout (found: EP 3.5 x 3.25, 2 x 3 vias,
    # 3 x 3 pads per cell, 0.46 mm cells)
    assume(all(p >= 1.0 and p / b >= 0.5 for p, b in zip(pitch, between)))
    # KiCad's sizing (pad / (cells x pads) x √coverage) must leave the pads apart (the spec check refuses overlaps)
    assume(all(e / ((k - 1) * b) * math.sqrt(coverage) < p / b for e, k, b, p in zip(ep, n, between, pitch)))
    vias = tuple(np.linspace(-(e - via_pad) / 2, (e - via_pad) / 2, k) for e, k in zip(ep, n))
    groups = paste_around_vias(ep, vias, between=between, rings=(0, 0), coverage=coverage, keep=keep)
    assert sum(len(g) for g in groups) == math.prod((k - 1) * b for k, b in zip(n, between))
    assert via_paste_gap(groups, vias) >= keep - 1e-6
    box = shapely.box(-ep[0] / 2, -ep[1] / 2, ep[0] / 2, ep[1] / 2)
    assert shapely.covers(box.buffer(1e-6), np.concatenate([g.outlines() for g in groups])).all()


@pytest.mark.parametrize("rings,ok", [((1, 1), True), ((3, 3), False)])
def test_paste_rings_too_close_to_the_vias_are_refused(rings, ok):
    spec = {**QFN16, "exposed_pad": 2.0, "lead_length": "0.2..0.3",
            "thermal_vias": {"count": 2, "drill": 0.2, "grid": 1.0, "paste_between_vias": 1,
                             "paste_rings_outside": list(rings), "paste_coverage": 0.8}}
    if ok:
        fp = generate_footprint(spec).geometry
        paste = [g for g in fp.pads if g.layers == ("F.Paste",)]
        assert sum(len(g) for g in paste) == 1 + 2 + 2 + 4  # cell, left/right, top/bottom, corners
    else:
        with pytest.raises(SpecError, match="come .* mm from a via centre"):
            validate_spec(spec)


def test_paste_between_vias_layout_of_kicads_generator():
    """The 16 cell pads of the stock QFN-56 TopTented part, at its places."""
    fp = generate_footprint(dict(family="qfn", leads=56, pitch=0.5, body="8+/-0.1", lead_width="0.18..0.3",
                                 lead_length="0.3..0.5", exposed_pad=[4.5, 5.2],
                                 thermal_vias={"count": 5, "drill": 0.2, "paste_between_vias": 1,
                                               "paste_coverage": 0.6})).geometry
    paste = [g for g in fp.pads if g.layers == ("F.Paste",)]
    xs = sorted({x for g in paste for x in g.x.tolist()})
    ys = sorted({y for g in paste for y in g.y.tolist()})
    assert xs == [-1.5, -0.5, 0.5, 1.5] and ys == [-1.7625, -0.5875, 0.5875, 1.7625]
    assert all(g.chamfer_corners == ("top_left", "top_right", "bottom_left", "bottom_right") for g in paste)


# -- ep_land, package_type ------------------------------------------------------------------------------
def test_toleranced_ep_land_uses_its_nominal():
    r = generate_footprint({**QFN16, "exposed_pad": "1.4..1.6", "ep_land": "1.6 +/- 0.05"})
    assert r.geometry.name == "QFN-16-1EP_3x3mm_P0.5mm_EP1.6x1.6mm"
    assert pads({**QFN16, "exposed_pad": "1.4..1.6", "ep_land": "1.6 +/- 0.05"})["17"][0][2:] == (1.6, 1.6)


@pytest.mark.parametrize("pkg,ok", [("W-PDFN", True), ("X2QFN", True), ("U-DFN2020", True), ("-QFN", False),
                                    ("W--PDFN", False), ("QFN-", False)])
def test_hyphenated_package_type(pkg, ok):
    spec = dict(family="son", package_type=pkg, leads=8, pitch=1.27, body=["6+/-0.1", "5+/-0.1"],
                lead_width="0.35..0.45", lead_length="0.55..0.65", exposed_pad=3)
    if ok:
        assert generate_footprint(spec).geometry.name.startswith(f"{pkg}-8-1EP_6x5mm")
    else:
        with pytest.raises(SpecError, match="package_type"):
            validate_spec(spec)


# -- KiCad reads the chamfered lands back -----------------------------------------------------------------
READ_BACK = r"""
import json, sys, pcbnew
lib = sys.argv[1]
out = {}
for name in sys.argv[2:]:
    fp = pcbnew.FootprintLoad(lib, name)
    pads = {}
    for p in fp.Pads():
        if p.GetNumber() in ("1", "2"):
            poly = p.GetEffectivePolygon(pcbnew.F_Cu, pcbnew.ERROR_INSIDE)
            pads[p.GetNumber()] = [int(p.GetShape(pcbnew.F_Cu)), poly.Area() / 1e12]
    out[name] = {"pads": pads, "custom": int(pcbnew.PAD_SHAPE_CUSTOM),
                 "chamfered": int(pcbnew.PAD_SHAPE_CHAMFERED_RECT)}
print(json.dumps(out))
"""


@pytest.fixture(scope="module")
def chamfer_lib(tmp_path_factory):
    lib = tmp_path_factory.mktemp("chamfer") / "KS_Chamfer.pretty"
    lib.mkdir()
    results = [generate_footprint({**QFN16, "corner_chamfer": 0.1}),
               generate_footprint({**TQFN24, "corner_chamfer": 0.18, "thermal_vias": {"count": 3, "drill": 0.3}})]
    for r in results:
        assert r.report.ok, r.report.text()
        (lib / f"{r.geometry.name}.kicad_mod").write_text(r.text(), encoding="utf-8")
    return lib, results


@pytest.mark.kicad
def test_pcbnew_reads_chamfered_lands(chamfer_lib, pcbnew_python):
    lib, results = chamfer_lib
    got = run_pcbnew(pcbnew_python, READ_BACK, str(lib), *[r.geometry.name for r in results])
    for r, kind in zip(results, ("chamfered", "custom")):
        back = got[r.geometry.name]
        shape1, area1 = back["pads"]["1"]
        shape2, area2 = back["pads"]["2"]
        assert shape1 == back[kind]
        g1 = next(g for g in r.geometry.pads if "1" in g.names)
        leg, radius = g1.chamfer_ratio * min(g1.size), g1.roundrect_ratio * min(g1.size)
        # pad 1 is pad 2 less the corner triangle, which already lacked its rounded corner (a custom
        # pad's stroked outline rounds the chamfer's ends as well: a little more area goes)
        cut = leg * leg / 2 - (1 - math.pi / 4) * radius * radius
        assert area2 - area1 == pytest.approx(cut, rel=0.05 if kind == "chamfered" else 0.2), r.geometry.name


@pytest.mark.kicad
def test_kicad_cli_upgrades_chamfered_lands(chamfer_lib, kicad_cli, tmp_path):
    lib, results = chamfer_lib
    out = tmp_path / "up.pretty"
    r = subprocess.run([kicad_cli, "fp", "upgrade", str(lib), "-o", str(out), "--force"], capture_output=True,
                       text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    for res in results:
        text = (out / f"{res.geometry.name}.kicad_mod").read_text(encoding="utf-8")
        assert text.count('(pad "') == res.geometry.pad_count
        assert text.count("(chamfer top_right)") + text.count("smd custom") >= 1


def test_readme_documents_every_no_lead_key():
    from pathlib import Path

    from kisubstrate.families.nolead import NoLeadSpec, Numbering, ThermalVias

    text = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    section = text[text.index("## No-lead packages"):text.index("## Library for board designers")]
    for model in (NoLeadSpec, ThermalVias, Numbering):
        missing = [k for k in model.model_fields if not re.search(rf"\b{k}\b", section)]
        assert not missing, (model.__name__, missing)
