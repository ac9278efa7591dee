"""Board checks (kisubstrate.rules.board): exact capsule distances against shapely; each substrate-only rule
(microvia aspect ratio / depth / span / stack, mask web, terminals and dies inside the body) firing by one
micrometre and passing by one micrometre; exact distances for rectangular and oval pads and zone fills;
the profile the spec cannot weaken; and KiCad's DRC flagging the very items we flag on seeded violations."""

from __future__ import annotations

import json

import numpy as np
import pytest
import shapely

from conftest import EXAMPLES
from kisubstrate.api.specs import load_specs, validate_spec
from kisubstrate.api.substrate import SubstrateResult, build_substrate, substrate_files
from kisubstrate.geometry.board import (
    BoardBuilder,
    Zone,
    concat_tracks,
    concat_vias,
    replace_items,
)
from kisubstrate.geometry.distance import segment_segment_distance
from kisubstrate.kicad.board import item_uuid
from kisubstrate.model.substrate import Stackup, load_substrate_rules
from kisubstrate.rules.board import check_board
from kisubstrate.rules.capsules import capsule_pairs
from stack_util import drc_types, kicad_drc, small_board, small_buildup, write_result

RULES = load_substrate_rules("substrate-buildup")  # clearance 0.025, mask web 0.05, trace 0.025, microvia 0.06


def example_spec():
    return load_specs([EXAMPLES / "buildup.yaml"])[0].spec


def test_segment_distance_matches_shapely():
    rng = np.random.default_rng(7)
    p = rng.uniform(-1, 1, (8, 5000))
    p[2, :500], p[3, :500] = p[0, :500], p[1, :500]  # some points
    p[6, 250:750], p[7, 250:750] = p[4, 250:750], p[5, 250:750]
    d, _, _ = segment_segment_distance(*p)

    def geom(x1, y1, x2, y2):
        return shapely.Point(x1, y1) if (x1, y1) == (x2, y2) else shapely.LineString([(x1, y1), (x2, y2)])

    ref = np.array([geom(*p[:4, k]).distance(geom(*p[4:, k])) for k in range(p.shape[1])])
    assert np.abs(d - ref).max() < 1e-12


def test_capsule_pairs_equal_brute_force():
    rng = np.random.default_rng(11)
    n = 1500
    ax, ay = rng.uniform(0, 6, n), rng.uniform(0, 6, n)
    length = rng.exponential(1.0, n) * (rng.random(n) < 0.5)
    th = rng.uniform(0, 2 * np.pi, n)
    bx, by = ax + length * np.cos(th), ay + length * np.sin(th)
    r = rng.uniform(0.01, 0.08, n)
    net = rng.integers(0, 20, n)
    i, j, gap, _x, _y = capsule_pairs(ax, ay, bx, by, r, within=0.04, net=net)
    d, _, _ = segment_segment_distance(ax[:, None], ay[:, None], bx[:, None], by[:, None],
                                       ax[None, :], ay[None, :], bx[None, :], by[None, :])
    g = d - r[:, None] - r[None, :]
    want = {(a, b) for a, b in zip(*np.nonzero(g < 0.04)) if a < b and (net[a] != net[b] or net[a] == 0)}
    assert set(zip(i.tolist(), j.tolist())) == want and len(want) > 500
    assert np.allclose(gap, g[i, j])


def _stack(*thick):
    layers = []
    for _k, t in enumerate(thick):
        layers += [{"copper": 0.015}, {"dielectric": t}]
    return Stackup.model_validate({"layers": layers + [{"copper": 0.015}]})


@pytest.mark.parametrize("dielectric, fails", [(0.045 - 1e-3, False), (0.045 + 1e-3, True)])
def test_microvia_aspect_ratio(dielectric, fails):
    b = small_board(2)
    b.via(0, 0, 0.12, 0.06, 0, 1, net=b.net("A"), kind="micro")
    rep = check_board(b.build(), RULES, stackup=_stack(dielectric))  # depth = dielectric + 0.015 foil
    assert ("microvia_aspect_ratio" in {v.rule for v in rep.violations}) is fails


def test_microvia_depth_span_and_stack():
    b = small_board(7)
    n = b.net("A")
    for k in range(6):  # a 6-high stacked column; the profile allows 4
        b.via(0, 0, 0.4, 0.3, k, k + 1, net=n, kind="micro")
    b.via(1, 1, 0.12, 0.06, 0, 2, net=b.net("B"), kind="micro")  # spans two dielectrics
    rep = check_board(b.build(), RULES, stackup=_stack(0.03, 0.03, 0.03, 0.03, 0.03, 0.26))
    rules = sorted(v.rule for v in rep.violations)
    assert rules == ["microvia_depth", "microvia_span", "microvia_stack"]
    stack = next(v for v in rep.violations if v.rule == "microvia_stack")
    assert stack.measured == 6 and stack.required == 4


@pytest.mark.parametrize("gap, fails", [(0.05 + 1e-3, False), (0.05 - 1e-3, True)])
def test_mask_web(gap, fails):
    b = small_board(2)
    # 0.4 lands with 0.05 NSMD margin: openings 0.5, centres 0.5 + gap apart
    b.pad("BALLS", "A1", 0, 0, 0.4, layer=1, mask=0.05)
    b.pad("BALLS", "A2", 0.5 + gap, 0, 0.4, layer=1, mask=0.05)
    rep = check_board(b.build(), RULES, only=("mask_web",))
    assert bool(rep.violations) is fails


@pytest.mark.parametrize("x, fails", [(2.8 - 1e-3, False), (2.8 + 1e-3, True)])
def test_terminals_inside_body(x, fails):
    b = small_board(2)
    b.pad("BALLS", "A1", x, 0, 0.4, layer=1)
    rep = check_board(b.build(), RULES, only=("terminal_outside_body",))
    assert bool(rep.violations) is fails


@pytest.mark.parametrize("x, fails", [(2.795 - 1e-3, False), (2.795 + 1e-3, True)])
def test_copper_to_edge_exact_for_round_pads(x, fails):
    b = small_board(2)
    b.pad("BALLS", "A1", x, 0, 0.21, layer=1)  # edge at 3.0, rule 0.1: limit x = 3 - 0.1 - 0.105
    rep = check_board(b.build(), RULES, only=("copper_to_edge",))
    assert bool(rep.violations) is fails


def test_builder_and_checks_refuse_missing_copper_layers():
    b = small_board(2)
    with pytest.raises(ValueError, match="copper layer 2 outside 0..1"):
        b.track(0, 0, 1, 0, 0.03, layer=2, net=0)
    with pytest.raises(ValueError, match="outside"):
        b.via(0, 0, 0.12, 0.06, 0, 2, net=0, kind="micro")
    b.track(0, 0, 1, 0, 0.03, layer=1, net=b.net("A"))
    g = b.build()
    bad = replace_items(g, tracks=replace_items(g.tracks, layer=np.array([3])))
    rep = check_board(bad, RULES)
    assert [(v.rule, v.items, v.measured) for v in rep.violations] == [("copper_layer", ("track/0",), 3.0)]


# -- mask web of rectangular and oval openings (substrate review item 2) ---------------------------
def test_mask_web_of_rect_pads_is_exact():
    b = small_board(2)
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
    b = small_board(2)
    # ovals 0.2 x 0.6 (long in y), 0.05 mask, side by side 0.35 apart: web 0.35 - 0.2 - 0.1 = 0.05 (ok);
    # end to end 0.75 apart: web 0.75 - 0.6 - 0.1 = 0.05 - 0.01 -> 0.04 (too narrow)
    b.pad("A", "1", 0, 0, 0.2, h=0.6, shape="oval", layer=1, mask=0.05)
    b.pad("A", "2", 0.35, 0, 0.2, h=0.6, shape="oval", layer=1, mask=0.05)
    b.pad("B", "1", -2, 0, 0.2, h=0.6, shape="oval", layer=1, mask=0.05)
    b.pad("B", "2", -2, 0.74, 0.2, h=0.6, shape="oval", layer=1, mask=0.05)
    rep = check_board(b.build(), RULES, only=("mask_web",))
    assert [(v.items, round(v.measured, 9)) for v in rep.violations] == [(("pad/B.1", "pad/B.2"), 0.04)]


# -- exact rect pad clearance, zone-to-zone clearance (substrate review item 13) -------------------
def test_rect_pad_clearance_measured_exactly():
    b = small_board(2)
    b.pad("A", "1", 0, 0, 0.1, h=0.1, shape="rect", layer=0, net=b.net("A"))
    b.pad("A", "2", 0.15, 0, 0.1, h=0.1, shape="rect", layer=0, net=b.net("B"))  # true gap 0.05: ok
    b.pad("C", "1", 1, 0, 0.1, h=0.1, shape="rect", layer=0, net=b.net("C"))
    b.pad("C", "2", 1.12, 0, 0.1, h=0.1, shape="rect", layer=0, net=b.net("D"))  # true gap 0.02
    b.track(1.0, 0.07, 1.5, 0.07, 0.02, layer=0, net=b.net("E"))  # 0.01 above the top edges (y 0.05) of C.1, C.2
    rep = check_board(b.build(), RULES, only=("copper_clearance",))
    got = sorted((v.items, round(v.measured, 9)) for v in rep.violations)
    assert got == [(("pad/C.1", "pad/C.2"), 0.02), (("pad/C.1", "track/0"), 0.01), (("pad/C.2", "track/0"), 0.01)]


def test_zone_fills_of_different_nets_are_checked():
    b = small_board(2)
    a, c = b.net("A"), b.net("B")
    za, zb = shapely.box(-2, -2, 0, 2), shapely.box(0.01, -2, 2, 2)
    b.zones += [Zone("a", (0,), za, a, fill=za), Zone("b", (0,), zb, c, fill=zb),
                Zone("a2", (1,), zb, a, fill=zb), Zone("a3", (1,), za, a, fill=za)]  # same net: no rule
    rep = check_board(b.build(), RULES, only=("copper_clearance",))
    assert [(v.items, v.layer, round(v.measured, 9)) for v in rep.violations] == [(("zone/a", "zone/b"), "L1", 0.01)]


# -- the spec cannot weaken the profile (substrate review item 4) ----------------------------------
def test_spec_cannot_weaken_trace_width_or_microvia_drill():
    spec = validate_spec(small_buildup(trace_width=0.002, vias={"micro": {"drill": 0.05, "pad": 0.12}}))
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


# -- microvia stack labels, rule selection (substrate review item 11 / 12) -------------------------
def _stack4() -> Stackup:
    return Stackup.model_validate({"layers": [{"copper": 0.015}, {"dielectric": 0.035}, {"copper": 0.015},
                                              {"dielectric": 0.035}, {"copper": 0.015}, {"dielectric": 0.035},
                                              {"copper": 0.015}]})


def test_microvia_stack_positions_never_collide():
    # old key x_nm * 2_000_003 + y_nm: (1 nm, 0) and (0, 2.000003 mm) got the same key
    rules = RULES.model_copy(update={"max_stack": 1})
    b = small_board(4)
    b.via(0.000001, 0, 0.12, 0.06, 0, 1, net=b.net("A"), kind="micro")
    b.via(0, 2.000003, 0.12, 0.06, 1, 2, net=b.net("B"), kind="micro")
    rep = check_board(b.build(), rules, stackup=_stack4(), only=("microvia_stack",))
    assert rep.violations == []
    b.via(0.000001, 0, 0.12, 0.06, 1, 2, net=b.net("A"), kind="micro")  # a real stack of 2
    rep = check_board(b.build(), rules, stackup=_stack4(), only=("microvia_stack",))
    assert [(v.rule, v.measured) for v in rep.violations] == [("microvia_stack", 2.0)]


def test_only_selects_each_microvia_rule():
    b = small_board(4)
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


def test_rect_pad_edge_clearance_is_exact():
    # body edge at x = 3, limit 0.1; a 0.1 x 0.4 land (long side parallel to the edge)
    b = small_board(2)
    b.pad("L", "1", 2.8, 0, 0.1, h=0.4, shape="rect", layer=1)  # gap 0.15: ok (circle of r 0.206 was not)
    b.pad("L", "2", 2.87, 1, 0.1, h=0.4, shape="rect", layer=1)  # gap 0.08
    rep = check_board(b.build(), RULES, only=("copper_to_edge",))
    assert [(v.items, round(v.measured, 9)) for v in rep.violations] == [(("pad/L.2",), 0.08)]
    # a non-rectangular body: same answer through the polygon path
    g = replace_items(b.build(), outline=shapely.Polygon([(-3, -3), (3, -3), (3, 3), (-3, 3), (-3.5, 0)]))
    rep = check_board(g, RULES, only=("copper_to_edge",))
    assert [(v.items, round(v.measured, 9)) for v in rep.violations] == [(("pad/L.2",), 0.08)]


# -- KiCad agrees item by item on seeded violations --------------------------------------------------
def seeded_board(result: SubstrateResult):
    """The example plus seeded violations of the four rules KiCad shares with us (few per type)."""
    b = result.board
    nets = list(b.nets)
    extra = BoardBuilder(b.name, copper=b.copper, outline=b.outline)

    def net(name):
        nets.append(name)
        return len(nets) - 1

    # clearance: 3 pairs of parallel tracks 0.02 mm apart (rule 0.025) on L2 under the die
    for k in range(3):
        y = -1.5 + k * 1.0
        extra.track(-1.0, y, 1.0, y, 0.03, layer=1, net=net(f"SEED_CA{k}"))
        extra.track(-1.0, y + 0.05, 1.0, y + 0.05, 0.03, layer=1, net=net(f"SEED_CB{k}"))
    # annular ring: 2 through vias with 0.01 mm ring (rule 0.015), between the balls under the die
    for k in range(2):
        extra.via(0.0 + k * 1.0, 1.5, 0.2, 0.18, 0, b.copper - 1, net=net(f"SEED_AR{k}"), kind="through")
    # hole-to-hole: 2 pairs of same-net through vias 0.18 mm apart (hole gap 0.08 < 0.1)
    for k in range(2):
        n = net(f"SEED_HH{k}")
        extra.via(-2.0 + 4.0 * k, 0.0, 0.2, 0.1, 0, b.copper - 1, net=n, kind="through")
        extra.via(-2.0 + 4.0 * k, 0.18, 0.2, 0.1, 0, b.copper - 1, net=n, kind="through")
    # copper-to-edge: 3 short tracks 0.065 mm from the body edge (rule 0.1) on L2
    for k in range(3):
        extra.track(7.42, -0.2 + k * 0.3, 7.42, -0.1 + k * 0.3, 0.03, layer=1, net=net(f"SEED_E{k}"))
    e = extra.build()
    return replace_items(b, nets=nets, tracks=concat_tracks(b.tracks, e.tracks), vias=concat_vias(b.vias, e.vias))


KICAD_TYPES = {"copper_clearance": "clearance", "annular_ring": "annular_width", "hole_to_hole": "hole_to_hole",
               "copper_to_edge": "copper_edge_clearance"}


@pytest.mark.kicad
def test_seeded_violations_match_kicad(kicad_cli, tmp_path):
    spec = example_spec()
    clean = build_substrate(spec)
    board = seeded_board(clean)
    ours = check_board(board, spec.substrate_rules(), stackup=spec.stackup)
    result = SubstrateResult(spec=spec, board=board, report=ours)
    pcb = write_result(result, tmp_path)
    report = kicad_drc(kicad_cli, pcb)
    assert report["unconnected_items"] == []
    # uuid -> our key for every item of the board
    keys = {}
    for i in range(len(board.pads)):
        keys[item_uuid(board.name, board.pads.key(i))] = board.pads.key(i)
    for i in range(len(board.vias)):
        keys[item_uuid(board.name, board.vias.key(i))] = board.vias.key(i)
    for i in range(len(board.tracks)):
        keys[item_uuid(board.name, board.tracks.key(i))] = board.tracks.key(i)
    for z in board.zones:
        keys[item_uuid(board.name, z.key)] = z.key
    # clearance: the 6 seeded tracks, and the 6 seeded through vias with the 3 plane fills they cross (GND on
    # copper 3, VDD_CORE on 4, VDD_IO on 5; filled before the seeds)
    expected_counts = {"copper_clearance": 6 + 6 + 3, "annular_ring": 2, "hole_to_hole": 4, "copper_to_edge": 3}
    for rule, kicad_type in KICAD_TYPES.items():
        mine = {k for v in ours.violations if v.rule == rule for k in v.items}
        theirs = {keys.get(it["uuid"], it["uuid"]) for v in report["violations"] if v["type"] == kicad_type
                  for it in v["items"]} - {item_uuid(board.name, "edge")}  # KiCad also names the outline
        assert len(mine) == expected_counts[rule], (rule, sorted(mine))
        assert mine == theirs, (rule, sorted(mine ^ theirs))
    # nothing else is an error but KiCad's hole clearance of the seeded through vias to the plane fills they
    # cross (our copper_clearance names the same vias and zones)
    assert set(drc_types(report)) <= set(KICAD_TYPES.values()) | {"hole_clearance"}
    holes = {keys.get(it["uuid"], it["uuid"]) for v in report["violations"] if v["type"] == "hole_clearance"
             for it in v["items"]}
    seeds = {f"via/{k}" for k in range(len(clean.board.vias), len(board.vias))}
    assert holes and holes <= seeds | {z.key for z in board.zones}, sorted(holes)
