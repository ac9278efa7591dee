"""Stacked dual-die leadframe (issue 5): layout board, QFN lands through the no-lead calculator, stacking."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import yaml

from conftest import EXAMPLES, run_pcbnew
from kisubstrate.api.footprint import build_footprints
from kisubstrate.api.specs import load_specs
from kisubstrate.api.substrate import build_substrate, substrate_files
from kisubstrate.families.leadframe import (
    LeadframeSpec,
    lead_lines,
    stack_alignment,
    stack_report,
)
from kisubstrate.families.nolead import QfnSpec, build_nolead
from kisubstrate.model.errors import SpecError
from stack_util import PCBNEW_COUNT, drc, fp_upgrade, write_files

EXAMPLE = EXAMPLES / "leadframe.yaml"


def example() -> LeadframeSpec:
    return load_specs([EXAMPLE])[0].spec


def variant(**changes) -> dict:
    data = yaml.safe_load(EXAMPLE.read_text())["packages"][0]
    data.update(changes)
    return data


def load_variant(tmp_path: Path, **changes) -> LeadframeSpec:
    f = tmp_path / "lf.yaml"
    f.write_text(yaml.safe_dump({"packages": [variant(**changes)]}))
    return load_specs([f])[0].spec


# -- board-side lands: the no-lead calculator, checked by hand -------------------------------------
def test_board_lands_are_the_ipc_calculation_by_hand():
    spec = example()
    fp = build_footprints(spec)[0].geometry
    # IPC-7351B Table 3-15 nominal: Jt 0.3, Jh 0, Js -0.04; F 0.1, P 0.05 (ipc-default); RMS stacking.
    # L = 5 +/- 0.05 (span), T = third 0.4 +/- 0.05, W = 0.25 +/- 0.05 (tolerance = max - min):
    F, P = 0.1, 0.05
    CL, CT, CW = 0.1, 0.1, 0.1
    z = 4.95 + 2 * 0.3 + math.sqrt(CL**2 + F**2 + P**2)                  # 5.70
    cs = math.sqrt(CL**2 + 2 * CT**2)                                     # S = L - 2T, RMS tolerance
    smax_rms = (5.05 - 2 * 0.35) - (CL + 2 * CT - cs) / 2                 # 4.2866
    g = smax_rms - 0 - math.sqrt(cs**2 + F**2 + P**2)                     # 4.0805
    x = 0.20 + 2 * -0.04 + math.sqrt(CW**2 + F**2 + P**2)                 # 0.27
    z, g, x = (round(v / 0.05) * 0.05 for v in (z, g, x))                 # 5.70, 4.10, 0.25
    assert (round(z, 6), round(g, 6), round(x, 6)) == (5.7, 4.1, 0.25)
    length, centre = (z - g) / 2, (z + g) / 4                             # 0.80 long, centred at 2.45
    table: dict = {}
    for n, px, py, w, h in fp.pad_table():
        table.setdefault(n, (px, py, w, h))  # first pad of a number (the EP's copper, not its paste / vias)
    # pin 1 top of the left side; 6 leads per side at 0.5 mm: y = -1.25
    assert table["1"] == pytest.approx((-centre, -1.25, length, x), abs=1e-6)
    assert table["7"] == pytest.approx((-1.25, centre, x, length), abs=1e-6)  # bottom side, left end
    # exposed pad of the flush die 1 (3.5 mm), pad 25, with 3x3 thermal vias and a paste grid
    assert table["25"][2:] == pytest.approx((3.5, 3.5))
    assert fp.name == "QFN-24-1EP_5x5mm_P0.5mm_EP3.5x3.5mm_ThermalVias_DualDie"
    assert sum(1 for g_ in fp.pads if g_.kind == "thru_hole" for _ in g_.names) == 9


def test_board_lands_reuse_the_nolead_calculator():
    """The same package written as a plain qfn spec gives the same pads (one calculator, not two)."""
    spec = example()
    mine = build_footprints(spec)[0].geometry.pad_table()
    qfn = QfnSpec(family="qfn", leads=24, pitch=0.5, body="5 +/- 0.05", lead_width="0.25 +/- 0.05",
                  lead_length="0.40 +/- 0.05", exposed_pad=({"nom": 3.5, "tol": 0.05}, {"nom": 3.5, "tol": 0.05}),
                  ep_paste_grid=(3, 3), thermal_vias={"count": [3, 3], "drill": 0.2, "grid": [1.0, 1.0]})
    assert mine == build_nolead(qfn)[0].pad_table()


def test_stack_top_pattern_is_the_fourth_surfaces():
    spec = example()
    top = build_footprints(spec)[1].geometry
    assert top.name.endswith("_StackTop")
    table = {n: (px, py, w, h) for n, px, py, w, h in top.pad_table()}
    # fourth surface 0.4 mm from the lead end at x = -2.5: centre -2.3, 0.4 x 0.25 (lead width)
    assert table["1"] == pytest.approx((-2.3, -1.25, 0.4, 0.25), abs=1e-6)
    assert table["13"] == pytest.approx((2.3, 1.25, 0.4, 0.25), abs=1e-6)  # right side, bottom end
    assert len(table) == 24  # no exposed pad on top (die 2 not exposed)


# -- stack alignment ---------------------------------------------------------------------------------
def test_stack_alignment_by_hand(tmp_path):
    spec = example()
    a = stack_alignment(spec)
    assert (a.max_along, a.max_across, a.ok) == (0.0, 0.0, True)
    assert a.overlap.min() == pytest.approx(1.0)
    # fourth 0.3 mm: centres 0.2 vs 0.15 from the lead end -> 0.05 along every lead, overlap 0.3 / 0.4
    s = load_variant(tmp_path, fourth=0.3)
    a = stack_alignment(s)
    assert a.max_along == pytest.approx(0.05) and a.max_across == 0.0 and a.ok  # = tolerance: accepted
    assert a.overlap == pytest.approx(np.full(24, 0.75))
    # plus a placement offset of 0.01 mm in x: left leads (u = +x) 0.05 + 0.01, right leads 0.05 - 0.01,
    # top/bottom leads 0.05 along and 0.01 across
    s = LeadframeSpec.model_validate({**variant(fourth=0.3), "stack": {"offset": [0.01, 0], "tolerance": 0.1}})
    a = stack_alignment(s)
    lines = lead_lines(s)
    left, right, vert = lines.ux > 0, lines.ux < 0, lines.ux == 0
    assert a.along[left] == pytest.approx(0.06) and a.along[right] == pytest.approx(0.04)
    assert a.along[vert] == pytest.approx(0.05) and np.abs(a.across[vert]) == pytest.approx(0.01)
    assert "lead" in stack_report(s) and "OK" in stack_report(s)


def test_misaligned_stack_is_refused_with_values(tmp_path):
    with pytest.raises(SpecError) as e:
        load_variant(tmp_path, fourth=0.3, stack={"offset": [0.02, 0], "tolerance": 0.05})
    msg = str(e.value)
    # worst lead: left side, 0.05 + 0.02 = 0.07 mm along the lead
    assert "field 'stack'" in msg and "misaligned" in msg and "0.07 mm along" in msg and "lead 1 " in msg


@pytest.mark.parametrize("changes, field, words", [
    ({"dies": {"first": {"size": 2.0}, "second": {"size": 3.8}}}, "dies.first", "bump lands"),
    ({"dies": {"first": {"size": 4.2}, "second": {"size": 3.8}}}, "dies.first", "exposed lead surfaces"),
    # heights: the two recesses must leave a web; exposed dies flush (0.01 mm); covered dies under 0.05 mm of mould
    ({"step": 0.126}, "step", "leaves a 0.048 mm lead web (least 0.05 mm, min_web): step at most 0.125 mm"),
    ({"bumps": {"material": "solder"}}, "dies.first.thickness", "bump 0.06 + die 0.095 mm = 0.155 mm, "
     "face-A recess (step) 0.125 mm (within 0.01 mm)"),
    ({"bumps": {"material": "gold", "height": 0.041}}, "dies.first.thickness", "= 0.136 mm,"),
    ({"bumps": {"material": "gold", "height": 0.031}}, "dies.second.thickness", "leaves 0.049 mm of mould over"),
    ({"first_bump": 0.42}, "first_bump", "must lie on its surface"),
    ({"fourth": None}, "stack", "needs fourth surfaces"),
    ({"lead_length": 0.42}, "third", "shorter than the lead"),
    ({"lead_width": 0.6}, "lead_width", "pitch"),
])
def test_bad_leadframes_are_refused(tmp_path, changes, field, words):
    with pytest.raises(SpecError) as e:
        load_variant(tmp_path, **changes)
    assert words in str(e.value), str(e.value)
    if field != "lead_width":
        assert f"field '{field}'" in str(e.value), str(e.value)


def test_cli_check_refuses_a_misaligned_stack(cli_runner, tmp_path):
    f = tmp_path / "bad.yaml"
    f.write_text(yaml.safe_dump({"packages": [variant(fourth=0.25)]}))  # 0.075 mm along > 0.05
    code, out, err = cli_runner("check", f)
    assert code == 2 and "0.075 mm along" in err


# -- the leadframe layout board ------------------------------------------------------------------------
def test_layout_board_faces_and_surfaces():
    spec = example()
    r = build_substrate(spec)
    assert r.report.ok, r.report.text()
    b = r.board
    assert b.copper == 2 and len(b.nets) - 1 == 24 and len(b.vias) == 24
    p = b.pads
    face_a = [i for i, o in enumerate(p.owner) if o in ("THIRD", "DIE1_BUMPS")]
    face_b = [i for i, o in enumerate(p.owner) if o in ("FOURTH", "DIE2_BUMPS")]
    assert len(face_a) == len(face_b) == 48  # per lead: exposed surface + bump land
    assert len({p.key(i) for i in range(len(p))}) == len(p) == 96  # unique keys -> unique uuids
    assert set(p.layer[face_a].tolist()) == {1} and set(p.layer[face_b].tolist()) == {0}
    # lead 1: third surface 0.4 x 0.25 centred 0.2 in from x = -2.5; die-1 bump land at 0.85 from the end
    i3 = next(i for i in face_a if p.name[i] == "1" and p.shape[i] == "rect")
    ib = next(i for i in face_a if p.name[i] == "1" and p.shape[i] == "circle")
    assert (p.x[i3], p.y[i3], p.w[i3], p.h[i3]) == pytest.approx((-2.3, -1.25, 0.4, 0.25))
    assert (p.x[ib], p.y[ib], p.w[ib]) == pytest.approx((-1.65, -1.25, 0.12))
    assert np.all(p.mask[face_a] == 0.0)  # protective-layer openings: every exposed surface and land
    names = {d.label for d in b.drawings}
    assert {"die 1 (first surfaces)", "die 2 (second surfaces)", "mould outline"} <= names
    files = substrate_files(r)
    assert any(k.endswith("-stack-alignment.txt") for k in files)


@pytest.mark.kicad
def test_example_loads_in_pcbnew_and_passes_drc(kicad_cli, pcbnew_python, tmp_path):
    r = build_substrate(example())
    pcb = write_files(substrate_files(r), tmp_path / "lf")
    rep = drc(kicad_cli, pcb)
    assert rep["errors"] == [] and rep["unconnected"] == 0, rep["types"]
    got = run_pcbnew(pcbnew_python, PCBNEW_COUNT, str(pcb))
    assert got["copper"] == 2 and got["pads"] == 96 and got["vias"] == 24 and got["nets"] == 24
    assert got["via_kinds"] == {"through": 24}
    pad1 = [q for q in got["pad_at"] if q[0] in ("THIRD", "DIE1_BUMPS") and q[1] == "1"]
    assert sorted((x, y) for _, _, x, y, _ in pad1) == [(-2300000, -1250000), (-1650000, -1250000)]
    assert {q[4] for q in pad1} == {"LEAD1"}


@pytest.mark.kicad
def test_footprints_parse_with_fp_upgrade(kicad_cli, tmp_path):
    lib = tmp_path / "LF.pretty"
    lib.mkdir()
    results = build_footprints(example())
    for res in results:
        assert res.report.ok, res.report.text()
        (lib / f"{res.geometry.name}.kicad_mod").write_text(res.text())
    r = fp_upgrade(kicad_cli, lib, tmp_path / "up.pretty")
    assert r.returncode == 0, r.stderr
    assert sorted(f.stem for f in (tmp_path / "up.pretty").glob("*.kicad_mod")) == sorted(
        res.geometry.name for res in results)


@pytest.mark.kicad
def test_dual_leadframe_son_lands_by_hand(tmp_path, kicad_cli):
    """A SON/DFN-type leadframe: 8 leads at 0.65 mm, body 3 +/- 0.05, third 0.35 +/- 0.05, width 0.25 +/- 0.05.

    Z = 2.95 + 2*0.3 + sqrt(0.1² + 0.1² + 0.05²) = 3.70; S = 2.3 (+0.15 worst, RMS max 2.3866);
    G = 2.3866 - sqrt(0.1732² + 0.1² + 0.05²) = 2.18 -> 2.20 (>= EP 1.8 + 2 * 0.2: no heel pull);
    land 0.75 long centred at 1.475; pin 1 at y = -1.5 * 0.65 = -0.975.
    """
    s = load_variant(tmp_path, layout="dual", leads=8, pitch=0.65, body="3 +/- 0.05", lead_length=0.9,
                     third="0.35 +/- 0.05", fourth=0.35, first_bump=0.7, second_bump=0.6, thermal_vias=None,
                     ep_paste_grid=[1, 2], dies={"first": {"size": [1.8, 2.6], "exposed": True, "thickness": 0.095},
                                                 "second": {"size": [2.0, 2.6], "thickness": 0.045}})
    fps = build_footprints(s)
    assert [f.geometry.name for f in fps] == ["DFN-8-1EP_3x3mm_P0.65mm_EP1.8x2.6mm_DualDie",
                                              "DFN-8-1EP_3x3mm_P0.65mm_EP1.8x2.6mm_DualDie_StackTop"]
    assert fps[0].geometry.pad_table()[0] == pytest.approx(("1", -1.475, -0.975, 0.75, 0.25))
    assert fps[1].geometry.pad_table()[0] == pytest.approx(("1", -1.325, -0.975, 0.35, 0.25))
    r = build_substrate(s)
    assert r.report.ok and len(r.board.nets) - 1 == 8
    rep = drc(kicad_cli, write_files(substrate_files(r), tmp_path / "dual"))
    assert rep["errors"] == [] and rep["unconnected"] == 0, rep["types"]


@pytest.mark.parametrize("changes", [
    {"step": 0.125},                                            # web exactly 0.05 mm
    {"bumps": {"material": "gold", "height": 0.02}},            # die 1 back 0.01 mm proud: flush within 0.01
    {"bumps": {"material": "gold", "height": 0.03}},            # die 2 under exactly 0.05 mm of mould
])
def test_heights_at_their_limits_are_accepted(tmp_path, changes):
    s = load_variant(tmp_path, **changes)
    h = s.heights()
    assert h["web"] >= 0.05 and abs(h["die1_back"]) <= 0.01 + 1e-9 and h["die2_cover"] >= 0.05 - 1e-9


def test_heights_one_micron_past_the_flush_limit_are_refused(tmp_path):
    with pytest.raises(SpecError) as e:
        load_variant(tmp_path, bumps={"material": "gold", "height": 0.019})
    assert "field 'dies.first.thickness'" in str(e.value) and "= 0.114 mm," in str(e.value)


def test_protective_layer_bumps_and_step_reach_the_board(tmp_path):
    """The protective layer is the mask layers' material in KiCad's stackup (not "solder mask"), with its
    thickness; the US spelling is taken; bumps, step and heights are in the fab notes and the sidecar."""
    ti = build_substrate(load_variant(tmp_path, protective="titanium", protective_thickness=None))
    al = build_substrate(load_variant(tmp_path, protective="aluminum", protective_thickness=None))
    sr = build_substrate(load_variant(tmp_path, protective="solder_resist", protective_thickness=None))
    pcb = {k: substrate_files(r)[f"{r.board.name}.kicad_pcb"] for k, r in (("ti", ti), ("al", al), ("sr", sr))}
    assert '(layer "F.Mask" (type "Top Solder Mask") (thickness 0.0005) (material "Titanium"))' in pcb["ti"]
    assert '(layer "B.Mask" (type "Bottom Solder Mask") (thickness 0.001) (material "Aluminium"))' in pcb["al"]
    assert '(layer "F.Mask" (type "Top Solder Mask") (thickness 0.02))' in pcb["sr"]
    notes = substrate_files(ti)[f"{ti.board.name}-fab-notes.txt"]
    assert "Titanium 0.5 um" in notes and "not a solder mask" in notes
    assert "half-etch step 0.125 mm on both faces (lead web 0.05 mm" in notes and "BUMPS: gold 0.03 mm" in notes
    assert ti.board.extras.sidecar["heights"] == {"web": 0.05, "bump": 0.03, "die1_back": 0.0, "die2_cover": 0.05}
    assert "User.2" in {d.layer for d in ti.board.drawings if d.text}
    other = build_substrate(load_variant(tmp_path, protective="titanium", step=0.1, thickness=0.25,
                                         dies={"first": {"size": 3.5, "thickness": 0.07, "exposed": True},
                                               "second": {"size": 3.8, "thickness": 0.02}}))
    assert substrate_files(other)[f"{other.board.name}.kicad_pcb"] != pcb["ti"]


def _half_etch(board, layer: str) -> list:
    import shapely

    return [shapely.Polygon(d.points) for d in board.drawings if d.layer == layer and d.closed and not d.text]


def test_half_etch_step_is_drawn_per_lead():
    """The half-etched (stepped) part of every lead is a closed outline on its face's user layer: face A
    (User.3 "Half.Etch.A") from the third surface's inner end to the tip, face B (User.4 "Half.Etch.B") from
    the fourth's; each outline's area is lead width x step length; in the board file and the sidecar."""
    r = build_substrate(example())
    b = r.board
    leads = lead_lines(example())
    w, length = 0.25, 1.05
    for layer, full in (("User.3", 0.40), ("User.4", 0.40)):
        polys = _half_etch(b, layer)
        assert len(polys) == 24
        assert [round(p.area, 9) for p in polys] == [round(w * (length - full), 9)] * 24 == [0.1625] * 24
        for k, p in enumerate(polys):  # centred on lead k, half-way between the full surface and the tip
            mid = full + (length - full) / 2
            cx, cy = leads.x[k] + leads.ux[k] * mid, leads.y[k] + leads.uy[k] * mid
            assert math.isclose(p.centroid.x, cx, abs_tol=1e-9) and math.isclose(p.centroid.y, cy, abs_tol=1e-9)
    pcb = substrate_files(r)[f"{b.name}.kicad_pcb"]
    assert '(43 "User.3" user "Half.Etch.A")' in pcb and '(45 "User.4" user "Half.Etch.B")' in pcb
    assert pcb.count('(layer "User.3")') == 24 and pcb.count('(layer "User.4")') == 24
    assert b.extras.sidecar["half_etch"] == {"step_mm": 0.125, "leads": 24,
                                             "layers": {"A": "User.3", "B": "User.4"},
                                             "length_mm": {"A": 0.65, "B": 0.65},
                                             "area_mm2": {"A": 3.9, "B": 3.9}}


def test_half_etch_without_fourth_surface_covers_face_b(tmp_path):
    """No fourth surface: face B is recessed over the whole lead (area = width x lead length)."""
    b = build_substrate(load_variant(tmp_path, fourth=None, stack=None)).board
    assert [round(p.area, 9) for p in _half_etch(b, "User.4")] == [round(0.25 * 1.05, 9)] * 24
    assert [round(p.area, 9) for p in _half_etch(b, "User.3")] == [0.1625] * 24


def test_step_changes_only_the_half_etch_layers():
    """The step on the same frame against the frame without its half-etch outlines: the board files differ in
    exactly the Half.Etch layers (their declaration and one outline per lead and face), nothing else.
    (A leadframe without any step is refused: its dies sit in the recesses, ``step`` > 0.)"""
    import dataclasses

    r = build_substrate(example())
    b = r.board
    flat = dataclasses.replace(b, drawings=[d for d in b.drawings if d.layer not in ("User.3", "User.4")],
                               extras=dataclasses.replace(b.extras, user_layers={"User.2": "Fab.Notes"}))
    stepped = substrate_files(r)[f"{b.name}.kicad_pcb"].splitlines()
    plain = substrate_files(dataclasses.replace(r, board=flat))[f"{b.name}.kicad_pcb"].splitlines()
    extra = [x for x in stepped if x not in set(plain)]
    assert not [x for x in plain if x not in set(stepped)]
    assert len(extra) == 2 + 48 and all('"User.3"' in x or '"User.4"' in x for x in extra)


@pytest.mark.parametrize("protective, label", [
    ("titanium", "Titanium protective layer 0.5 µm"), ("aluminum", "Aluminium protective layer 1.0 µm"),
    ("polyimide", "Polyimide protective layer 5.0 µm"), ("solder_resist", "solder mask 20.0 µm")])
def test_cross_section_labels_the_protective_material(tmp_path, protective, label):
    """The cross-section picture names the mask layers by their material (from the sidecar's mask_material):
    a metal or polyimide protective layer is not called "solder mask"."""
    import json

    from kisubstrate.api.render import cross_section_svg

    r = build_substrate(load_variant(tmp_path, protective=protective, protective_thickness=None))
    info = json.loads(substrate_files(r)[f"{r.board.name}.kisubstrate.json"])
    assert info["mask_material"] == {"titanium": "Titanium", "aluminum": "Aluminium", "polyimide": "Polyimide",
                                     "solder_resist": None}[protective]
    svg = cross_section_svg(info)
    assert svg.count(label) == 2  # top and bottom
    assert ("solder mask" in svg) == (protective == "solder_resist")
