"""One deliberately failing spec per footprint rule: fails by 1 µm, passes with 1 µm to spare.

Every rule of ``kisubstrate.rules.footprint`` gets a fixture built from a spec (with a rule
profile written next to it) or, where a spec cannot express the mistake (silk drawn by hand,
a courtyard drawn too small), from the geometry IR. Each asserts the rule id, the two items,
the location and the measured / required values, and that the same fixture with 1 µm to
spare is clean — which only holds when circles are measured exactly (a polygonised circle
reads ~1–2 µm too large at these sizes).
"""

from __future__ import annotations

import dataclasses
import json
import math
from pathlib import Path

import numpy as np
import pytest
import shapely
from kisubstrate.api.footprint import build_footprints
from kisubstrate.api.specs import load_specs
from kisubstrate.geometry.ir import Circle, FootprintGeom, Line, PadGroup
from kisubstrate.model.rules import RuleSet, load_rules
from kisubstrate.rules.footprint import check_footprint

# every rule off except the one under test (so each fixture fails for exactly one reason)
LOOSE = {"copper_clearance": 0, "mask_web": 0, "mask_margin": 0, "mask_registration": 0, "smd_overlap": 0,
         "silk_clearance": 0, "annular_ring": 0, "hole_to_hole": 0}


def write_case(tmp: Path, package: dict, **rules: float) -> Path:
    """A spec file with one package checked against a profile = LOOSE + ``rules``."""
    profile = {"name": "fixture", **LOOSE, **rules}
    (tmp / "fab.yaml").write_text("".join(f"{k}: {v}\n" for k, v in profile.items()))
    lines = ["packages:", "  - rules: fab.yaml"] + [f"    {k}: {json.dumps(v)}" for k, v in package.items()]
    path = tmp / "spec.yaml"
    path.write_text("\n".join(lines) + "\n")
    return path


def check_json(cli_runner, spec: Path) -> tuple[int, dict]:
    code, out, err = cli_runner("check", spec, "--format", "json")
    assert "Traceback" not in out + err
    return code, json.loads(out)


def violations(doc: dict) -> list[dict]:
    (pkg,) = doc["packages"]
    return pkg["violations"]


def find(vs: list[dict], *items: str) -> dict:
    hit = [v for v in vs if tuple(v["items"]) == items]
    assert len(hit) == 1, (items, vs)
    return hit[0]


def grid3(**extra) -> dict:
    """A 3x3 BGA at 0.8 mm pitch (pads at x, y in {-0.8, 0, 0.8})."""
    return {"family": "bga", "body": [5, 5], "pitch": 0.8, "layout": [3, 3], "ball_diameter": 0.4,
            "mask_margin": 0, **extra}


# -- copper_clearance ------------------------------------------------------------------------------
@pytest.mark.parametrize("pad, fails", [(0.701, True), (0.699, False)])
def test_copper_clearance_round_orthogonal(tmp_path, cli_runner, pad, fails):
    code, doc = check_json(cli_runner, write_case(tmp_path, grid3(pad_diameter=pad), copper_clearance=0.1))
    vs = violations(doc)
    if not fails:
        assert (code, doc["ok"], vs) == (0, True, [])
        return
    assert code == 1 and doc["ok"] is False and doc["packages"][0]["ok"] is False
    assert {v["rule"] for v in vs} == {"copper_clearance"} and len(vs) == 12  # 6 row + 6 column neighbours
    v = find(vs, "A1", "A2")
    assert v["where"] == [-0.4, -0.8] and v["layer"] == "F.Cu"
    assert v["measured"] == pytest.approx(0.099, abs=1e-9) and v["required"] == 0.1
    assert find(vs, "B2", "C2")["where"] == [0.0, 0.4]


@pytest.mark.parametrize("pad, fails", [(0.700001, True), (0.7, False)])
def test_one_tolerance_one_nanometre_under_the_limit_fails(tmp_path, pad, fails):
    """The footprint checks compare with the one tolerance units.TOL (1 pm): 1 nm under the limit fails."""
    import kisubstrate.rules.footprint as rf
    from kisubstrate.model.units import NM, TOL

    assert rf.EPS is TOL and TOL < NM / 100
    fp, rules = _geom(tmp_path, grid3(pad_diameter=pad), copper_clearance=0.1)
    report = check_footprint(fp, rules)
    assert report.ok is not fails and len(report.violations) == (12 if fails else 0)


@pytest.mark.parametrize("pad, fails", [(0.901, True), (0.899, False)])
def test_copper_clearance_round_diagonal(tmp_path, cli_runner, pad, fails):
    """Staggered 0.6 x 0.8 grid: nearest neighbours on the 3-4-5 diagonal, 1.0 mm apart.

    At 53° a 32-gon circumscribing a 0.45 mm radius pad reads 0.7 µm too large per pad, so
    the passing case only passes with exact circle arithmetic.
    """
    spec = grid3(pitch=[0.6, 0.8], stagger="a1", ball_diameter=0.5, pad_diameter=pad)
    code, doc = check_json(cli_runner, write_case(tmp_path, spec, copper_clearance=0.1))
    vs = violations(doc)
    if not fails:
        assert (code, vs) == (0, [])
        return
    assert code == 1
    assert sorted(tuple(v["items"]) for v in vs) == [("A1", "B2"), ("A3", "B2"), ("B2", "C1"), ("B2", "C3")]
    v = find(vs, "A1", "B2")
    assert v["rule"] == "copper_clearance"
    assert v["where"] == pytest.approx([-0.3, -0.4], abs=1e-6)
    assert v["measured"] == pytest.approx(0.099, abs=1e-6) and v["required"] == 0.1


@pytest.mark.parametrize("shape", ["rect", "roundrect"])
@pytest.mark.parametrize("pad, fails", [(0.701, True), (0.699, False)])
def test_copper_clearance_lga_rect_pads(tmp_path, cli_runner, shape, pad, fails):
    spec = {"family": "lga", "body": [5, 5], "pitch": 0.8, "layout": [3, 3], "pad_diameter": pad,
            "pad_shape": shape, "mask_margin": 0}
    code, doc = check_json(cli_runner, write_case(tmp_path, spec, copper_clearance=0.1))
    vs = violations(doc)
    if not fails:
        assert (code, vs) == (0, [])
        return
    assert code == 1 and len(vs) == 12 and {v["rule"] for v in vs} == {"copper_clearance"}
    v = find(vs, "A1", "A2")
    assert v["measured"] == pytest.approx(0.099, abs=1e-9) and v["required"] == 0.1
    # the closest approach lies between the facing sides (x = -0.4), somewhere along them
    assert v["where"][0] == pytest.approx(-0.4, abs=1e-6)
    assert -0.8 - pad / 2 - 1e-6 <= v["where"][1] <= -0.8 + pad / 2 + 1e-6


# -- mask_web ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("margin, fails", [(0.1005, True), (0.0995, False)])
def test_mask_web_nsmd(tmp_path, cli_runner, margin, fails):
    """Openings 0.5 + 2 x margin at 0.8 mm pitch: web 0.099 / 0.101 against 0.1."""
    code, doc = check_json(cli_runner, write_case(tmp_path, grid3(pad_diameter=0.5, mask_margin=margin),
                                                  mask_web=0.1))
    vs = violations(doc)
    if not fails:
        assert (code, vs) == (0, [])
        return
    assert code == 1 and len(vs) == 12 and {v["rule"] for v in vs} == {"mask_web"}
    v = find(vs, "B1", "B2")
    assert v["layer"] == "F.Mask" and v["where"] == [-0.4, 0.0]
    assert v["measured"] == pytest.approx(0.099, abs=1e-9) and v["required"] == 0.1


@pytest.mark.parametrize("pad, fails", [(0.701, True), (0.699, False)])
def test_mask_web_smd(tmp_path, cli_runner, pad, fails):
    """SMD: the opening is the land itself (copper 0.02 larger per side): web = pitch - land."""
    spec = grid3(pad_diameter=pad, mask="smd")
    del spec["mask_margin"]
    code, doc = check_json(cli_runner, write_case(tmp_path, spec, mask_web=0.1, smd_overlap=0.02))
    vs = violations(doc)
    if not fails:
        assert (code, vs) == (0, [])
        return
    assert code == 1 and len(vs) == 12 and {v["rule"] for v in vs} == {"mask_web"}
    v = find(vs, "C2", "C3")
    assert v["where"] == [0.4, 0.8] and v["measured"] == pytest.approx(0.099, abs=1e-9)


# -- mask_registration ---------------------------------------------------------------------------------
@pytest.mark.parametrize("margin, fails", [(0.024, True), (0.026, False)])
def test_mask_registration(tmp_path, cli_runner, margin, fails):
    code, doc = check_json(cli_runner, write_case(tmp_path, grid3(pad_diameter=0.4, mask_margin=margin),
                                                  mask_registration=0.025))
    vs = violations(doc)
    if not fails:
        assert (code, vs) == (0, [])
        return
    assert code == 1
    (v,) = vs
    assert v["rule"] == "mask_registration" and v["items"] == ["A1", "+8 pads"]
    assert v["where"] == [-0.8, -0.8] and v["layer"] == "F.Mask"
    assert v["measured"] == pytest.approx(0.024, abs=1e-9) and v["required"] == 0.025


# -- annular_ring and hole_to_hole (PGA) -----------------------------------------------------------------
def pga(**extra) -> dict:
    return {"family": "pga", "body": [10, 10], "pitch": 2.54, "layout": [3, 3], "pin_diameter": 0.46,
            "mask_margin": 0, **extra}


@pytest.mark.parametrize("pad, fails", [(0.998, True), (1.002, False)])
def test_annular_ring(tmp_path, cli_runner, pad, fails):
    """Drill 0.7: ring (pad - drill) / 2 = 0.149 / 0.151 against 0.15 (square pin 1 and round pins)."""
    code, doc = check_json(cli_runner, write_case(tmp_path, pga(drill=0.7, pad_diameter=pad), annular_ring=0.15))
    vs = violations(doc)
    if not fails:
        assert (code, vs) == (0, [])
        return
    assert code == 1 and {v["rule"] for v in vs} == {"annular_ring"}
    # one per padstack: the square pin 1 alone, the 8 round pins together
    assert sorted(v["items"] for v in vs) == [["A1", "its drill"], ["A2", "+7 pads"]]
    v = next(v for v in vs if v["items"][0] == "A2")
    assert v["where"] == [2.54, 0.0] and v["layer"] == "*.Cu"  # anchor on A1 (KLC F7.2)
    assert v["measured"] == pytest.approx(0.149, abs=1e-9) and v["required"] == 0.15


@pytest.mark.parametrize("drill, fails", [(0.751, True), (0.749, False)])
def test_hole_to_hole(tmp_path, cli_runner, drill, fails):
    """1.0 mm pitch: drill edges 1.0 - drill apart against 0.25."""
    spec = pga(pitch=1.0, body=[4, 4], drill=drill, pad_diameter=round(drill + 0.002, 6))
    code, doc = check_json(cli_runner, write_case(tmp_path, spec, hole_to_hole=0.25))
    vs = violations(doc)
    if not fails:
        assert (code, vs) == (0, [])
        return
    assert code == 1 and len(vs) == 12 and {v["rule"] for v in vs} == {"hole_to_hole"}
    v = find(vs, "A1", "A2")
    assert v["where"] == [0.5, 0.0] and v["layer"] == "drill"  # anchor on A1 (KLC F7.2)
    assert v["measured"] == pytest.approx(0.249, abs=1e-9) and v["required"] == 0.25


# -- silk_clearance (hand-drawn silk: the generator's own silk is clipped clear of pads) -------------------
def _geom(tmp: Path, package: dict, **rules: float) -> tuple[FootprintGeom, RuleSet]:
    (ls,) = load_specs([write_case(tmp, package, **rules)])
    (res,) = build_footprints(ls.spec, check=False)
    return res.geometry, ls.spec.rule_set()


def _with_graphic(fp: FootprintGeom, g) -> tuple[FootprintGeom, int]:
    return dataclasses.replace(fp, graphics=[*fp.graphics, g]), len(fp.graphics)


@pytest.mark.parametrize("margin", [0.0, 0.05])
@pytest.mark.parametrize("spare", [-0.001, 0.001])
def test_silk_clearance_orthogonal(tmp_path, margin, spare):
    """A silk line above A1 at (pad radius + mask margin + half width + 0.2 + spare) from its centre."""
    fp, rules = _geom(tmp_path, grid3(pad_diameter=0.4, mask_margin=margin), silk_clearance=0.2)
    assert check_footprint(fp, rules).ok
    y = -0.8 - (0.2 + margin + 0.06 + 0.2 + spare)
    fp, k = _with_graphic(fp, Line((-0.9, y), (-0.7, y), "F.SilkS", 0.12))
    report = check_footprint(fp, rules)
    if spare > 0:
        assert report.ok, report.text()
        return
    (v,) = report.violations
    assert (v.rule, v.items, v.layer) == ("silk_clearance", (f"silk line {k}", "A1"), "F.SilkS")
    assert v.where == pytest.approx((-0.8, y), abs=1e-9)
    assert v.measured == pytest.approx(0.199, abs=1e-9) and v.required == 0.2


@pytest.mark.parametrize("spare", [-0.001, 0.001])
def test_silk_clearance_diagonal(tmp_path, spare):
    """A silk line at 45° tangent-near pad C3 (exact distance: no polygon of the round pad)."""
    fp, rules = _geom(tmp_path, grid3(pad_diameter=0.4), silk_clearance=0.2)
    d = 0.2 + 0.06 + 0.2 + spare  # centre to line centre
    u = np.array([1.0, 1.0]) / math.sqrt(2)  # normal of the line, pointing away from the grid
    foot = np.array([0.8, 0.8]) + d * u
    t = np.array([1.0, -1.0]) / math.sqrt(2)
    a, b = foot - 0.1 * t, foot + 0.1 * t
    fp, k = _with_graphic(fp, Line(tuple(a), tuple(b), "F.SilkS", 0.12))
    report = check_footprint(fp, rules)
    if spare > 0:
        assert report.ok, report.text()
        return
    (v,) = report.violations
    assert v.rule == "silk_clearance" and v.items == (f"silk line {k}", "C3")
    assert v.where == pytest.approx(tuple(foot), abs=1e-6)
    assert v.measured == pytest.approx(0.199, abs=1e-6) and v.required == 0.2


# -- courtyard (drawn by hand: the generator's courtyard is computed from the pads) ----------------------
@pytest.mark.parametrize("spare", [-0.001, 0.001])
def test_courtyard_pads(tmp_path, spare):
    """Body 2 x 2, pads 0.5 at ±0.8: copper reaches x = 1.05, beyond the body; courtyard edge at 1.05 + spare."""
    fp, rules = _geom(tmp_path, grid3(body=[2, 2], pad_diameter=0.5))
    fp = dataclasses.replace(fp, courtyard=shapely.box(-1.3, -1.3, 1.05 + spare, 1.3))
    report = check_footprint(fp, rules)
    if spare > 0:
        assert report.ok, report.text()
        return
    vs = report.sorted()
    assert [v.items for v in vs] == [("A3", "courtyard"), ("B3", "courtyard"), ("C3", "courtyard")]
    assert all(v.rule == "courtyard" and v.layer == "F.CrtYd" for v in vs)
    assert [v.where for v in vs] == [(0.8, -0.8), (0.8, 0.0), (0.8, 0.8)]
    assert vs[0].measured == pytest.approx(-0.001, abs=1e-9) and vs[0].required == 0.0


@pytest.mark.parametrize("spare", [-0.001, 0.001])
def test_courtyard_body(tmp_path, spare):
    fp, rules = _geom(tmp_path, grid3(pad_diameter=0.4))  # body 5 x 5, pads well inside
    fp = dataclasses.replace(fp, courtyard=shapely.box(-2.6, -2.5 - spare, 2.6, 2.6))
    report = check_footprint(fp, rules)
    if spare > 0:
        assert report.ok, report.text()
        return
    (v,) = report.violations
    assert (v.rule, v.items) == ("courtyard", ("body", "courtyard"))
    assert v.measured == pytest.approx(-0.001, abs=1e-9) and v.required == 0.0


# -- IR-level exactness at the worst angle for polygons ------------------------------------------------
@pytest.mark.parametrize("spare", [-0.001, 0.001])
def test_round_pads_at_polygon_vertex_angle(spare):
    """Two round pads along 5.625° (a 32-gon's vertex direction, where it reads 0.5 % too large)."""
    r = 0.3
    gap = 0.1 + spare
    ang = math.pi / 32
    dist = 2 * r + gap
    pads = PadGroup(names=["1", "2"], x=np.array([0.0, dist * math.cos(ang)]), y=np.array([0.0, dist * math.sin(ang)]),
                    kind="smd", shape="circle", size=(2 * r, 2 * r), layers=("F.Cu",))
    fp = FootprintGeom(name="T", family="test", description="", tags="", attr="smd", pads=[pads], graphics=[],
                       body=shapely.box(-1, -1, 2, 2), courtyard=shapely.box(-2, -2, 3, 3),
                       reference_at=(0, 0), value_at=(0, 0))
    rules = RuleSet(**{**LOOSE, "copper_clearance": 0.1})
    report = check_footprint(fp, rules)
    if spare > 0:
        assert report.ok, report.text()
        return
    (v,) = report.violations
    assert v.items == ("1", "2") and v.measured == pytest.approx(0.099, abs=1e-9)


# -- CLI behaviour on violations ----------------------------------------------------------------------
def test_footprint_writes_nothing_on_violation_and_no_check_writes(tmp_path, cli_runner):
    spec = write_case(tmp_path, grid3(pad_diameter=0.701, name="Tight"), copper_clearance=0.1)
    out = tmp_path / "Lib.pretty"
    code, stdout, err = cli_runner("footprint", spec, "-o", out)
    assert code == 1 and not out.exists()
    assert "Tight: 12 violation(s) of profile fixture (copper_clearance 12)" in stdout
    assert "copper_clearance   A1 - A2" in stdout and "measured 0.0990 mm, required 0.1000 mm" in stdout
    assert "nothing written" in err
    code, stdout, err = cli_runner("footprint", spec, "-o", out, "--no-check")
    assert code == 0
    assert err.startswith("warning: writing 1 package(s) with rule violations (--no-check)")
    assert (out / "Tight.kicad_mod").is_file()


def test_check_json_structure(tmp_path, cli_runner):
    spec = write_case(tmp_path, grid3(pad_diameter=0.701, name="Tight"), copper_clearance=0.1)
    code, doc = check_json(cli_runner, spec)
    assert code == 1
    assert set(doc) == {"ok", "packages"} and doc["ok"] is False
    (pkg,) = doc["packages"]
    assert set(pkg) == {"package", "profile", "ok", "violations", "checked"}
    assert (pkg["package"], pkg["profile"], pkg["ok"]) == ("Tight", "fixture", False)
    assert set(pkg["checked"]) >= {"copper_clearance", "mask", "silk_clearance", "courtyard", "holes"}
    for v in pkg["violations"]:
        assert set(v) == {"rule", "items", "where", "layer", "measured", "required", "message"}
        assert len(v["items"]) == 2 and len(v["where"]) == 2
    # sorted: rule, then y, then x
    keys = [(v["rule"], v["where"][1], v["where"][0]) for v in pkg["violations"]]
    assert keys == sorted(keys)


def test_check_clean_exit_0(tmp_path, cli_runner):
    code, out, err = cli_runner("check", write_case(tmp_path, grid3(pad_diameter=0.5, name="Fine")))
    assert (code, out.strip(), err) == (0, "Fine: OK (fixture)", "")


def test_profile_values_are_what_the_fixtures_use(tmp_path):
    (tmp_path / "fab.yaml").write_text("copper_clearance: 0.1\n")
    rules = load_rules(str(tmp_path / "fab.yaml"))
    assert rules.copper_clearance == 0.1 and rules.name == "fab"


def test_profile_edits_are_seen_by_a_long_lived_process(tmp_path):
    """Profiles are cached per file version, so the plugin sees an edited profile without a restart."""
    path = tmp_path / "fab.yaml"
    path.write_text("copper_clearance: 0.1\n")
    assert load_rules(str(path)).copper_clearance == 0.1
    path.write_text("copper_clearance: 0.125\n")
    assert load_rules(str(path)).copper_clearance == 0.125


def test_substrate_profile_edits_are_seen_by_a_long_lived_process(tmp_path):
    """Substrate profiles go through the same loader: cached per file version, an edit is re-read."""
    import yaml
    from kisubstrate.model.substrate import load_substrate_rules

    base = load_substrate_rules("substrate-buildup")
    assert load_substrate_rules("substrate-buildup") is base  # cached while the file is unchanged
    path = tmp_path / "fab.yaml"
    path.write_text(yaml.safe_dump({**base.model_dump(exclude={"name"}), "clearance": 0.025}))
    first = load_substrate_rules(str(path))
    assert (first.clearance, first.name) == (0.025, "fab")
    path.write_text(yaml.safe_dump({**base.model_dump(exclude={"name"}), "clearance": 0.0375}))
    assert load_substrate_rules(str(path)).clearance == 0.0375
    # a relative path resolves from base_dir, as for footprint profiles
    assert load_substrate_rules("fab.yaml", base_dir=str(tmp_path)).clearance == 0.0375


@pytest.mark.parametrize("text, words", [
    ("clearance: [0.1\n", "is not valid YAML at line 2"),
    ("- 0.1\n", "must be a mapping"),
    ("clearence: 0.1\n", "rule 'clearence': unknown key (did you mean 'clearance'?)"),
])
def test_both_profile_kinds_share_one_loader_and_its_messages(tmp_path, text, words):
    from kisubstrate.model.errors import SpecError
    from kisubstrate.model.substrate import load_substrate_rules

    path = tmp_path / "fab.yaml"
    path.write_text(text)
    for load, noun in ((load_rules, "rule profile"), (load_substrate_rules, "substrate rule profile")):
        with pytest.raises(SpecError) as e:
            load(str(path))
        assert e.value.field == "rules" and e.value.file == str(path), str(e.value)
        if "rule '" not in words:
            assert f"{noun} {words}" in str(e.value)
    assert words in str(e.value)  # the substrate model's own key names
    with pytest.raises(SpecError) as e:
        load_substrate_rules(str(tmp_path / "missing.yaml"))
    assert "cannot read substrate rule profile: No such file" in str(e.value) and e.value.field == "rules"
    with pytest.raises(SpecError) as e:
        load_substrate_rules("substrate-buildp")
    assert "unknown substrate rule profile 'substrate-buildp' (shipped: substrate-buildup, substrate-hdi, substrate-wlp;" \
        in str(e.value)


@pytest.mark.parametrize("pad, fails", [(0.326, True), (0.324, False)])
def test_wlcsp_with_the_shipped_hdi_profile(tmp_path, cli_runner, pad, fails):
    """The shipped hdi-fine profile (copper 0.075, web 0.05, registration 0.0125) at 0.4 mm pitch.

    Pad 0.326: copper gap 0.074, and the NSMD margin cannot shrink below the registration
    limit 0.0125, so the web is 0.4 - 0.326 - 0.025 = 0.049. Pad 0.324: gap 0.076, margin
    fitted to 0.013, web exactly 0.05 — clean.
    """
    spec = tmp_path / "w.yaml"
    spec.write_text("packages:\n  - family: wlcsp\n    body: [2.6, 2.6]\n    pitch: 0.4\n    layout: [6, 6]\n"
                    f"    ball_diameter: 0.25\n    pad_diameter: {pad}\n")
    code, doc = check_json(cli_runner, spec)
    (pkg,) = doc["packages"]
    assert pkg["profile"] == "hdi-fine"
    if not fails:
        assert (code, pkg["violations"]) == (0, [])
        return
    vs = pkg["violations"]
    assert code == 1
    by_rule = {r: [v for v in vs if v["rule"] == r] for r in ("copper_clearance", "mask_web")}
    assert {v["rule"] for v in vs} == set(by_rule) and all(len(x) == 60 for x in by_rule.values())
    cu = find(by_rule["copper_clearance"], "A1", "B1")
    assert cu["where"] == [-1.0, -0.8] and cu["measured"] == pytest.approx(0.074, abs=1e-9)
    assert cu["required"] == 0.075
    web = find(by_rule["mask_web"], "F5", "F6")
    assert web["where"] == [0.8, 1.0] and web["measured"] == pytest.approx(0.049, abs=1e-9)
    assert web["required"] == 0.05


@pytest.mark.parametrize("spare", [-0.001, 0.001])
@pytest.mark.parametrize("fill", [False, True])
def test_silk_circle_around_a_pad_exact(spare, fill):
    """A silk circle round pad 1, off-centre towards a vertex direction of a 32-gon (where an outside
    polygon reads 0.5 % of R too far). Ring: gap = R - |c - p| - r - half; a filled disc covers the pad."""
    r, half, off = 0.2, 0.06, 0.3
    radius = off + r + half + 0.2 + spare
    pads = PadGroup(names=["1"], x=np.array([0.0]), y=np.array([0.0]), kind="smd", shape="circle",
                    size=(2 * r, 2 * r), layers=("F.Cu",))
    fp = FootprintGeom(name="T", family="test", description="", tags="", attr="smd", pads=[pads],
                       graphics=[Circle((-off, 0.0), radius, "F.SilkS", 2 * half, fill=fill)],
                       body=shapely.box(-2, -2, 2, 2), courtyard=shapely.box(-3, -3, 3, 3),
                       reference_at=(0, 0), value_at=(0, 0))
    report = check_footprint(fp, RuleSet(**{**LOOSE, "silk_clearance": 0.2}))
    if spare > 0 and not fill:
        assert report.ok, report.text()
        return
    (v,) = report.violations
    assert (v.rule, v.items) == ("silk_clearance", ("silk circle 0", "1"))
    if fill:  # the pad lies inside the disc: negative, by how deep the pad's far side is in it
        assert v.measured == pytest.approx(off - r - radius - half, abs=1e-9)
        return
    assert v.where == pytest.approx((-off + radius, 0.0), abs=1e-9)
    assert v.measured == pytest.approx(0.199, abs=1e-9) and v.required == 0.2
