"""Board checks without KiCad: exact capsule distances against shapely, and each substrate-only rule
(microvia aspect ratio / depth / span / stack, mask web, terminals and dies inside the body) firing
by one micrometre and passing by one micrometre."""

from __future__ import annotations

import numpy as np
import pytest
import shapely
from kisubstrate.geometry.board import BoardBuilder
from kisubstrate.geometry.distance import segment_segment_distance
from kisubstrate.model.substrate import Stackup, load_substrate_rules
from kisubstrate.rules.board import check_board
from kisubstrate.rules.capsules import capsule_pairs

RULES = load_substrate_rules("substrate-buildup")


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
    for k, t in enumerate(thick):
        layers += [{"copper": 0.015}, {"dielectric": t}]
    return Stackup.model_validate({"layers": layers + [{"copper": 0.015}]})


def _board(copper=3):
    return BoardBuilder("t", copper=copper, outline=((-3, -3), (3, -3), (3, 3), (-3, 3)))


@pytest.mark.parametrize("dielectric, fails", [(0.045 - 1e-3, False), (0.045 + 1e-3, True)])
def test_microvia_aspect_ratio(dielectric, fails):
    b = _board(2)
    b.via(0, 0, 0.12, 0.06, 0, 1, net=b.net("A"), kind="micro")
    rep = check_board(b.build(), RULES, stackup=_stack(dielectric))  # depth = dielectric + 0.015 foil
    assert ("microvia_aspect_ratio" in {v.rule for v in rep.violations}) is fails


def test_microvia_depth_span_and_stack():
    b = _board(7)
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
    b = _board(2)
    # 0.4 lands with 0.05 NSMD margin: openings 0.5, centres 0.5 + gap apart
    b.pad("BALLS", "A1", 0, 0, 0.4, layer=1, mask=0.05)
    b.pad("BALLS", "A2", 0.5 + gap, 0, 0.4, layer=1, mask=0.05)
    rep = check_board(b.build(), RULES, only=("mask_web",))
    assert bool(rep.violations) is fails


@pytest.mark.parametrize("x, fails", [(2.8 - 1e-3, False), (2.8 + 1e-3, True)])
def test_terminals_inside_body(x, fails):
    b = _board(2)
    b.pad("BALLS", "A1", x, 0, 0.4, layer=1)
    rep = check_board(b.build(), RULES, only=("terminal_outside_body",))
    assert bool(rep.violations) is fails


@pytest.mark.parametrize("x, fails", [(2.795 - 1e-3, False), (2.795 + 1e-3, True)])
def test_copper_to_edge_exact_for_round_pads(x, fails):
    b = _board(2)
    b.pad("BALLS", "A1", x, 0, 0.21, layer=1)  # edge at 3.0, rule 0.1: limit x = 3 - 0.1 - 0.105
    rep = check_board(b.build(), RULES, only=("copper_to_edge",))
    assert bool(rep.violations) is fails


def test_die_pad_map_and_ball_map_nets_are_honoured(tmp_path):
    """A die pad map with nets and a ball map with the same nets: each pad is routed to the ball
    carrying its net, on the trace layer of that ball's ring."""
    from kisubstrate.api.specs import validate_spec
    from kisubstrate.api.substrate import build_substrate

    (tmp_path / "pads.csv").write_text("pad,x,y,net\nP1,-0.8,-0.85,VDD\nP2,0.8,-0.85,IO1\n"
                                       "P3,0.8,0.85,IO2\nP4,-0.8,0.85,GND\n")
    (tmp_path / "balls.csv").write_text("ball,net\nA1,VDD\nA5,IO1\nE5,IO2\nB2,GND\n")
    spec = validate_spec({
        "family": "buildup", "name": "MAPPED", "body": [6, 6],
        "stackup": {"layers": [{"copper": 0.015}, {"dielectric": 0.035}, {"copper": 0.015},
                               {"dielectric": 0.035}, {"copper": 0.015}, {"dielectric": 0.035},
                               {"copper": 0.015}]},
        "dies": [{"size": [2, 2], "pads": {"map": "pads.csv"}}],
        "terminals": {"pitch": 1.0, "layout": [5, 5], "ball_diameter": 0.5, "ball_map": "balls.csv"}},
        base_dir=str(tmp_path))
    result = build_substrate(spec)
    b = result.board
    assert result.report.ok, result.report.text()
    net_of = {b.pads.name[i]: b.nets[int(b.pads.net[i])] for i in range(len(b.pads))}
    assert [net_of[p] for p in ("P1", "P2", "P3", "P4")] == ["VDD", "IO1", "IO2", "GND"]
    assert [net_of[p] for p in ("A1", "A5", "E5", "B2")] == ["VDD", "IO1", "IO2", "GND"]
    # B2 is in ring 1 -> its trace runs on the second trace layer (index 2); A1 in ring 0 -> index 1
    gnd, vdd = b.nets.index("GND"), b.nets.index("VDD")
    assert set(b.tracks.layer[b.tracks.net == gnd].tolist()) == {2}
    assert set(b.tracks.layer[b.tracks.net == vdd].tolist()) == {1}


def test_zone_fill_fractured_like_kicad():
    """A fill with holes becomes one outline with zero-width slits: same area, no interiors."""
    from kisubstrate.kicad.board import _hole_free

    plane = shapely.box(-5, -5, 5, 5).difference(shapely.box(-2, -2, 2, 2)).difference(shapely.box(3, -1, 4, 1))
    rings = _hole_free(plane)
    assert len(rings) == 1
    assert shapely.Polygon(rings[0]).area == pytest.approx(plane.area, abs=1e-9)
    # holes one above the other: the lower hole's slit ends on the upper hole
    stacked = shapely.box(-5, -5, 5, 5).difference(shapely.box(-1, -4, 1, -2)).difference(shapely.box(-1, 2, 1, 4))
    rings = _hole_free(stacked)
    assert len(rings) == 1 and shapely.Polygon(rings[0]).area == pytest.approx(stacked.area)
    assert shapely.Polygon(rings[0]).buffer(0).equals(stacked)


def test_shared_nets_refused_except_the_carrier(tmp_path):
    """GND on several balls: refused naming the net (the router is one pad to one ball), unless GND is
    the carrier net, whose balls are joined by the carrier plane through microvia columns."""
    from kisubstrate.api.specs import validate_spec
    from kisubstrate.api.substrate import build_substrate
    from kisubstrate.model.errors import SpecError

    (tmp_path / "balls.csv").write_text("ball,net\nC1,GND\nC5,GND\nA3,GND\n")
    data = {"family": "buildup", "name": "GNDS", "body": [6, 6],
            "stackup": {"layers": [{"copper": 0.015}, {"dielectric": 0.035}, {"copper": 0.015},
                                   {"dielectric": 0.035}, {"copper": 0.015}]},
            "dies": [{"size": [1.6, 1.6], "pads": {"peripheral": {"per_side": 2, "pitch": 0.4}}}],
            "terminals": {"pitch": 1.0, "layout": [5, 5], "ball_diameter": 0.5, "ball_map": "balls.csv"}}
    with pytest.raises(SpecError, match="net GND joins A3, C1, C5"):
        build_substrate(validate_spec({**data, "carrier": {"net": "CARRIER"}}, base_dir=str(tmp_path)))
    result = build_substrate(validate_spec({**data, "carrier": {"net": "GND", "balls": "none"}},
                                           base_dir=str(tmp_path)))
    assert result.report.ok, result.report.text()
    b = result.board
    gnd = b.nets.index("GND")
    balls = sorted(b.pads.name[i] for i in np.flatnonzero(b.pads.net == gnd))
    assert balls == ["A3", "C1", "C5"]
    assert int((b.vias.net == gnd).sum()) == 3 * 2  # one 2-hop column per GND ball
