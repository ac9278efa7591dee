"""Regression tests for the substrate-engine review findings (notes/review.md items 1-4, 7, 11-14,
16, 17, 19, 32): each test failed before its fix."""

from __future__ import annotations

import json
import subprocess

import numpy as np
import pytest
import shapely
from kisubstrate.api.specs import validate_spec
from kisubstrate.api.substrate import build_substrate, substrate_files
from kisubstrate.geometry.board import BoardBuilder, Zone, replace_items
from kisubstrate.kicad.sexpr import find_all, loads
from kisubstrate.model.errors import SpecError
from kisubstrate.model.substrate import Stackup, load_substrate_rules
from kisubstrate.model.units import fmt, snap, snap_array, to_nm
from kisubstrate.rules.board import check_board

RULES = load_substrate_rules("substrate-buildup")  # clearance 0.025, mask web 0.05, trace 0.025, microvia 0.06


def _board(copper: int = 2) -> BoardBuilder:
    return BoardBuilder("t", copper=copper, outline=((-3, -3), (3, -3), (3, 3), (-3, 3)))


def _small_buildup(**extra) -> dict:
    return {"family": "buildup", "name": "SMALL", "body": [6, 6],
            "stackup": {"layers": [{"copper": 0.015}, {"dielectric": 0.035}, {"copper": 0.015},
                                   {"dielectric": 0.035}, {"copper": 0.015}]},
            "dies": [{"size": [2, 2], "pads": {"peripheral": {"per_side": 4, "pitch": 0.3}}}],
            "terminals": {"pitch": 1.0, "layout": [5, 5], "ball_diameter": 0.5}, **extra}


# -- item 1: nets on balls without a trace layer -------------------------------------------------------
def test_pad_net_on_an_inner_ball_is_a_spec_error_naming_the_ball(tmp_path):
    (tmp_path / "pads.csv").write_text("pad,x,y,net\nP1,-0.8,-0.85,NX\nP2,0.8,-0.85,IO1\n")
    (tmp_path / "balls.csv").write_text("ball,net\nC3,NX\n")
    data = _small_buildup(dies=[{"size": [2, 2], "pads": {"map": "pads.csv"}}],
                          terminals={"pitch": 1.0, "layout": [5, 5], "ball_diameter": 0.5, "ball_map": "balls.csv"})
    with pytest.raises(SpecError, match=r"P1 \(net NX\) maps to ball C3 in ring 3") as exc:
        build_substrate(validate_spec(data, base_dir=str(tmp_path)))
    assert exc.value.field == "terminals.ball_map"


def test_builder_and_checks_refuse_missing_copper_layers():
    b = _board(2)
    with pytest.raises(ValueError, match="copper layer 2 outside 0..1"):
        b.track(0, 0, 1, 0, 0.03, layer=2, net=0)
    with pytest.raises(ValueError, match="outside"):
        b.via(0, 0, 0.12, 0.06, 0, 2, net=0, kind="micro")
    b.track(0, 0, 1, 0, 0.03, layer=1, net=b.net("A"))
    g = b.build()
    bad = replace_items(g, tracks=replace_items(g.tracks, layer=np.array([3])))
    rep = check_board(bad, RULES)
    assert [(v.rule, v.items, v.measured) for v in rep.violations] == [("copper_layer", ("track/0",), 3.0)]


# -- item 2: mask web of rectangular and oval openings ---------------------------------------------------
def test_mask_web_of_rect_pads_is_exact():
    b = _board(2)
    # two 0.25 x 0.4 rect lands 0.45 apart in y, 0.05 mask: openings overlap by 0.05 mm
    b.pad("L", "1", 0, 0, 0.25, h=0.4, shape="rect", layer=1, mask=0.05)
    b.pad("L", "2", 0, 0.45, 0.25, h=0.4, shape="rect", layer=1, mask=0.05)
    # the same pair 0.65 apart: web 0.65 - 0.4 - 0.1 = 0.15 >= 0.05, but circumscribed circles would overlap
    b.pad("M", "1", 2, 0, 0.25, h=0.4, shape="rect", layer=1, mask=0.05)
    b.pad("M", "2", 2, 0.65, 0.25, h=0.4, shape="rect", layer=1, mask=0.05)
    rep = check_board(b.build(), RULES, only=("mask_web",))
    assert [(v.rule, v.items, round(v.measured, 9)) for v in rep.violations] == \
        [("mask_web", ("pad/L.1", "pad/L.2"), -0.05)]


def test_mask_web_of_oval_pads_uses_the_stadium():
    b = _board(2)
    # ovals 0.2 x 0.6 (long in y), 0.05 mask, side by side 0.35 apart: web 0.35 - 0.2 - 0.1 = 0.05 (ok);
    # end to end 0.75 apart: web 0.75 - 0.6 - 0.1 = 0.05 - 0.01 -> 0.04 (too narrow)
    b.pad("A", "1", 0, 0, 0.2, h=0.6, shape="oval", layer=1, mask=0.05)
    b.pad("A", "2", 0.35, 0, 0.2, h=0.6, shape="oval", layer=1, mask=0.05)
    b.pad("B", "1", -2, 0, 0.2, h=0.6, shape="oval", layer=1, mask=0.05)
    b.pad("B", "2", -2, 0.74, 0.2, h=0.6, shape="oval", layer=1, mask=0.05)
    rep = check_board(b.build(), RULES, only=("mask_web",))
    assert [(v.items, round(v.measured, 9)) for v in rep.violations] == [(("pad/B.1", "pad/B.2"), 0.04)]


# -- item 13: exact rect pad clearance, zone-to-zone clearance ------------------------------------------------
def test_rect_pad_clearance_measured_exactly():
    b = _board(2)
    b.pad("A", "1", 0, 0, 0.1, h=0.1, shape="rect", layer=0, net=b.net("A"))
    b.pad("A", "2", 0.15, 0, 0.1, h=0.1, shape="rect", layer=0, net=b.net("B"))  # true gap 0.05: ok
    b.pad("C", "1", 1, 0, 0.1, h=0.1, shape="rect", layer=0, net=b.net("C"))
    b.pad("C", "2", 1.12, 0, 0.1, h=0.1, shape="rect", layer=0, net=b.net("D"))  # true gap 0.02
    b.track(1.0, 0.07, 1.5, 0.07, 0.02, layer=0, net=b.net("E"))  # 0.01 above the top edges (y 0.05) of C.1, C.2
    rep = check_board(b.build(), RULES, only=("copper_clearance",))
    got = sorted((v.items, round(v.measured, 9)) for v in rep.violations)
    assert got == [(("pad/C.1", "pad/C.2"), 0.02), (("pad/C.1", "track/0"), 0.01), (("pad/C.2", "track/0"), 0.01)]


def test_zone_fills_of_different_nets_are_checked():
    b = _board(2)
    a, c = b.net("A"), b.net("B")
    za, zb = shapely.box(-2, -2, 0, 2), shapely.box(0.01, -2, 2, 2)
    b.zones += [Zone("a", (0,), za, a, fill=za), Zone("b", (0,), zb, c, fill=zb),
                Zone("a2", (1,), zb, a, fill=zb), Zone("a3", (1,), za, a, fill=za)]  # same net: no rule
    rep = check_board(b.build(), RULES, only=("copper_clearance",))
    assert [(v.items, v.layer, round(v.measured, 9)) for v in rep.violations] == [(("zone/a", "zone/b"), "L1", 0.01)]


# -- item 4: the spec cannot weaken the profile ---------------------------------------------------------------
def test_spec_cannot_weaken_trace_width_or_microvia_drill():
    spec = validate_spec(_small_buildup(trace_width=0.002, vias={"micro": {"drill": 0.05, "pad": 0.12}}))
    result = build_substrate(spec)
    rules = {v.rule for v in result.report.violations}
    assert {"track_width", "via_drill"} <= rules
    tw = next(v for v in result.report.violations if v.rule == "track_width")
    assert (tw.measured, tw.required) == (0.002, 0.025)
    files = substrate_files(result)
    pro = json.loads(files["SMALL.kicad_pro"])["board"]["design_settings"]["rules"]
    assert (pro["min_track_width"], pro["min_microvia_drill"], pro["min_microvia_diameter"]) == (0.025, 0.06, 0.12)
    dru = files["SMALL.kicad_dru"]
    assert "(constraint track_width (min 0.025mm))" in dru and "(constraint hole_size (min 0.06mm))" in dru
    assert "0.05mm" not in dru.split('(rule "substrate_clearance"')[0].split("microvia_size")[1]


# -- item 11 / 12: microvia stack labels, rule selection --------------------------------------------------
def _stack4() -> Stackup:
    return Stackup.model_validate({"layers": [{"copper": 0.015}, {"dielectric": 0.035}, {"copper": 0.015},
                                              {"dielectric": 0.035}, {"copper": 0.015}, {"dielectric": 0.035},
                                              {"copper": 0.015}]})


def test_microvia_stack_positions_never_collide():
    # old key x_nm * 2_000_003 + y_nm: (1 nm, 0) and (0, 2.000003 mm) got the same key
    rules = RULES.model_copy(update={"max_stack": 1})
    b = _board(4)
    b.via(0.000001, 0, 0.12, 0.06, 0, 1, net=b.net("A"), kind="micro")
    b.via(0, 2.000003, 0.12, 0.06, 1, 2, net=b.net("B"), kind="micro")
    rep = check_board(b.build(), rules, stackup=_stack4(), only=("microvia_stack",))
    assert rep.violations == []
    b.via(0.000001, 0, 0.12, 0.06, 1, 2, net=b.net("A"), kind="micro")  # a real stack of 2
    rep = check_board(b.build(), rules, stackup=_stack4(), only=("microvia_stack",))
    assert [(v.rule, v.measured) for v in rep.violations] == [("microvia_stack", 2.0)]


def test_only_selects_each_microvia_rule():
    b = _board(4)
    b.via(0, 0, 0.12, 0.06, 0, 2, net=b.net("A"), kind="micro")  # spans two dielectrics
    b.via(1, 1, 0.06, 0.02, 0, 1, net=b.net("B"), kind="micro")  # ratio 0.05 / 0.02 = 2.5
    g, st = b.build(), _stack4()
    assert {v.rule for v in check_board(g, RULES, stackup=st, only=("microvia_stack",)).violations} == set()
    assert [v.rule for v in check_board(g, RULES, stackup=st, only=("microvia_span",)).violations] == ["microvia_span"]
    assert [v.rule for v in check_board(g, RULES, stackup=st, only=("microvia_aspect_ratio",)).violations] == \
        ["microvia_aspect_ratio"]
    deep = RULES.model_copy(update={"microvia_max_depth": 0.04})
    assert [v.rule for v in check_board(g, deep, stackup=st, only=("microvia_depth",)).violations] == \
        ["microvia_depth"]


# -- item 14: one rounding rule, sizes snapped ----------------------------------------------------------------
def test_snap_rounds_half_away_from_zero_everywhere():
    assert (snap(0.0000025), snap(-0.0000025), to_nm(0.0000025), fmt(0.0000025)) == (3e-06, -3e-06, 3, "0.000003")
    assert snap_array(np.array([0.0000025, -0.0000025, 0.0000035])).tolist() == [3e-06, -3e-06, 4e-06]
    assert fmt(0.1234565) == fmt(snap(0.1234565))
    b = _board(2)
    b.pad("A", "1", 0, 0, 0.1000004, h=0.2000006, layer=0, mask=0.0500004)
    b.via(0, 0, 0.1200004, 0.0600006, 0, 1, net=0, kind="micro")
    b.track(0, 0, 1, 0, 0.0250004, layer=1, net=0)
    g = b.build()
    assert (g.pads.w.tolist(), g.pads.h.tolist(), g.pads.mask.tolist()) == ([0.1], [0.200001], [0.05])
    assert (g.vias.size.tolist(), g.vias.drill.tolist(), g.tracks.width.tolist()) == ([0.12], [0.060001], [0.025])
    b.zones.append(Zone("z", (0,), shapely.box(0, 0, 1.0000004, 1.0000006), fill=shapely.box(0, 0, 0.5000004, 1)))
    z = b.build().zones[0]
    assert z.fill.bounds == (0.0, 0.0, 0.5, 1.0)


# -- items 3 / 7 / 30: strings through the board writer ------------------------------------------------------
QUOTED = {"stackup": {"finish": 'EN"EP\\IG', "materials": {'AB"F (x)': {"epsilon_r": 3.3, "loss_tangent": 0.008}},
                      "layers": [{"copper": 0.015, "name": 'DIE "top"'}, {"dielectric": 0.035, "material": 'AB"F (x)'},
                                 {"copper": 0.015, "name": "RDL1"}, {"dielectric": 0.035, "material": 'AB"F (x)'},
                                 {"copper": 0.015}]}}


def test_quotes_in_names_round_trip_through_the_writer():
    result = build_substrate(validate_spec(_small_buildup(**QUOTED)))
    assert result.report.ok, result.report.text()
    tree = loads(substrate_files(result)["SMALL.kicad_pcb"])
    stack = next(find_all(tree, "stackup"))
    mats = {str(m[1]) for m in find_all(stack, "material")}
    assert mats == {'AB"F (x)'}
    assert str(next(find_all(stack, "copper_finish"))[1]) == 'EN"EP\\IG'
    layers = next(find_all(tree, "layers"))
    named = {str(row[1]): str(row[3]) for row in layers[1:] if len(row) > 3 and str(row[2]) == "signal"}
    assert named == {"F.Cu": 'DIE "top"', "In1.Cu": "RDL1", "In2.Cu": "unused"}


@pytest.mark.kicad
def test_kicad_loads_a_board_with_quotes_in_names(kicad_cli, cli_runner, tmp_path):
    result = build_substrate(validate_spec(_small_buildup(**QUOTED)))
    for name, text in substrate_files(result).items():
        (tmp_path / name).write_text(text)
    out = tmp_path / "drc.json"
    r = subprocess.run([kicad_cli, "pcb", "drc", "--format", "json", "--severity-error", "-o", str(out),
                        str(tmp_path / "SMALL.kicad_pcb")], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    report = json.loads(out.read_text())
    assert report["violations"] == [] and report["unconnected_items"] == []
    # render: KiCad names the layer SVG after the sanitised user name; we still find every layer
    code, _out, err = cli_runner("render", tmp_path, "--no-png")
    assert code == 0, err
    pics = sorted(p.name for p in (tmp_path / "render").glob("*.svg"))
    assert pics == ["SMALL-B_Cu.svg", "SMALL-F_Cu.svg", "SMALL-In1_Cu.svg", "SMALL-board.svg", "SMALL-stackup.svg"]
    assert 'AB&quot;F (x) prepreg' in (tmp_path / "render" / "SMALL-stackup.svg").read_text()
    # a stale sidecar (other item counts) is ignored with a warning, not trusted
    side = tmp_path / "SMALL.kisubstrate.json"
    info = json.loads(side.read_text())
    info["counts"]["vias"] += 1
    side.write_text(json.dumps(info))
    code, _out, err = cli_runner("render", tmp_path, "--no-png", "-o", tmp_path / "r2")
    assert code == 0 and "does not describe SMALL.kicad_pcb" in err
    assert sorted(p.name for p in (tmp_path / "r2").glob("*.svg")) == ["SMALL-B_Cu.svg", "SMALL-F_Cu.svg",
                                                                        "SMALL-board.svg"]


# -- items 16 / 19: CLI messages and JSON -------------------------------------------------------------------------
def test_substrate_errors_name_file_and_package(cli_runner, tmp_path):
    spec = tmp_path / "few.yaml"
    spec.write_text(json.dumps({"packages": [_small_buildup(
        dies=[{"size": [3, 3], "pads": {"peripheral": {"per_side": 6, "pitch": 0.3}}}])]}))
    code, _out, err = cli_runner("substrate", spec, "-o", tmp_path / "o")
    assert code == 2 and str(spec) in err and "SMALL" in err and "24 die pads but only 16 balls" in err
    assert not (tmp_path / "o").exists()


def test_no_check_json_prints_only_json(cli_runner, tmp_path):
    spec = tmp_path / "thin.yaml"
    spec.write_text(json.dumps({"packages": [_small_buildup(trace_width=0.02)]}))
    code, out, err = cli_runner("substrate", spec, "-o", tmp_path / "o", "--no-check", "--format", "json")
    assert code == 0 and "warning: writing 1 substrate(s)" in err
    doc = json.loads(out)
    assert doc["ok"] is False and {v["rule"] for v in doc["packages"][0]["violations"]} == {"track_width"}


def test_rect_pad_edge_clearance_is_exact():
    # body edge at x = 3, limit 0.1; a 0.1 x 0.4 land (long side parallel to the edge)
    b = _board(2)
    b.pad("L", "1", 2.8, 0, 0.1, h=0.4, shape="rect", layer=1)  # gap 0.15: ok (circle of r 0.206 was not)
    b.pad("L", "2", 2.87, 1, 0.1, h=0.4, shape="rect", layer=1)  # gap 0.08
    rep = check_board(b.build(), RULES, only=("copper_to_edge",))
    assert [(v.items, round(v.measured, 9)) for v in rep.violations] == [(("pad/L.2",), 0.08)]
    # a non-rectangular body: same answer through the polygon path
    g = replace_items(b.build(), outline=shapely.Polygon([(-3, -3), (3, -3), (3, 3), (-3, 3), (-3.5, 0)]))
    rep = check_board(g, RULES, only=("copper_to_edge",))
    assert [(v.items, round(v.measured, 9)) for v in rep.violations] == [(("pad/L.2",), 0.08)]
