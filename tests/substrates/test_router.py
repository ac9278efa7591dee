"""The router's grid, search and net routing: exact clearances (1 µm either side), paths, failures."""

from __future__ import annotations

import numpy as np
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st

from kisubstrate.geometry.board import BoardBuilder
from kisubstrate.geometry.route.grid import BLOCKED, FREE, RouteGrid
from kisubstrate.geometry.route.router import Hop, Routed, Router, Unrouted
from kisubstrate.geometry.route.search import corners, wave_path
from kisubstrate.model.substrate import load_substrate_rules
from kisubstrate.rules.board import check_board

UM = 0.001
W, S = 0.025, 0.025


def grid(layers: int = 1, size: float = 2.0) -> RouteGrid:
    return RouteGrid(shapely.box(-size, -size, size, size), layers=layers, pitch=0.05, width=W, clearance=S,
                     via_pads=(0.12,), edge=0.1)


@pytest.mark.parametrize("delta,free", [(-UM, False), (UM, True)])
def test_cell_next_to_a_via_is_free_exactly_at_the_clearance(delta, free):
    """A trace centre 0.06 + 0.025 + 0.0125 mm from a 0.12 mm via centre clears it: 1 µm nearer does not."""
    g = grid()
    d = 0.12 / 2 + S + W / 2 + delta  # distance of the via centre from cell (20, 22)'s centre
    x = float(g.x(22)) - d
    g.add(0, [x], [0.0], [x], [0.0], [0.06], [3])
    assert (int(g.node[0, 40, 22]) == FREE) == free  # row 40 is y = 0
    assert int(g.node[0, 40, 22]) in (FREE, 3)


@pytest.mark.parametrize("delta,free", [(-UM, False), (UM, True)])
def test_a_move_passing_a_via_is_checked_along_its_segment(delta, free):
    """A vertical move whose midpoint passes a via: the segment distance decides, not the end cells."""
    g = grid()
    cx, cy = float(g.x(22)), (float(g.y(30)) + float(g.y(31))) / 2  # midpoint of the move (30,22)->(31,22)
    d = 0.06 + S + W / 2 + delta
    g.add(0, [cx - d], [cy], [cx - d], [cy], [0.06], [3])
    assert (int(g.move[0, 1, 30, 22]) == FREE) == free  # direction 1 = south


def test_two_nets_near_one_cell_block_it_and_one_net_keeps_it():
    g = grid()
    g.add(0, [0.0], [0.0], [0.0], [0.0], [0.06], [3])
    assert int(g.node[0, 40, 40]) == 3
    g.add(0, [0.05], [0.0], [0.05], [0.0], [0.06], [4])
    assert int(g.node[0, 40, 40]) == BLOCKED
    g.add(0, [0.0], [0.05], [0.0], [0.05], [0.0125], [3])
    assert int(g.node[0, 41, 40]) == BLOCKED  # 4's via is also near it


@settings(max_examples=25, deadline=None)
@given(st.integers(0, 2**32 - 1))
def test_cached_patterns_claim_what_the_exact_distances_claim(seed):
    """On-grid obstacles go through cached stencils; they must equal the exact per-box computation."""
    rng = np.random.default_rng(seed)
    a, b = grid(2), grid(2)
    n = 60
    c = rng.integers(3, 77, size=(n, 2))
    d = rng.integers(-1, 2, size=(n, 2))
    x1, y1 = a.x(c[:, 1]), a.y(c[:, 0])
    x2, y2 = a.x(c[:, 1] + d[:, 1]), a.y(c[:, 0] + d[:, 0])
    r = rng.choice([0.0125, 0.045, 0.06, 0.15], n)
    net = rng.integers(1, 5, n)
    lay = rng.integers(0, 2, n)
    a.add(lay, x1, y1, x2, y2, r, net)
    for L in (0, 1):
        on = lay == L
        b._add_exact(L, x1[on], y1[on], x2[on], y2[on], r[on], net[on])
    assert (a.node == b.node).all() and (a.move == b.move).all() and (a.via == b.via).all()


def test_board_edge_blocks_cells_within_the_edge_clearance():
    g = grid()
    assert int(g.node[0, 0, 40]) == BLOCKED  # on the outline
    assert int(g.node[0, 3, 40]) == FREE  # 0.15 mm inside: 0.1 + 0.0125 clears
    assert int(g.via[0, 0, 3, 40]) == BLOCKED  # a 0.12 via there would reach 0.09 from the edge


def test_wave_path_goes_around_a_wall_and_fails_when_sealed():
    free = np.ones((7, 9), bool)
    free[0:6, 4] = False
    moves = np.ones((4, 7, 9), bool)
    src = np.zeros_like(free)
    dst = np.zeros_like(free)
    src[1, 1], dst[1, 7] = True, True
    path = wave_path(free, moves, src, dst)
    assert path[0] == (1, 1) and path[-1] == (1, 7)
    assert (6, 4) in path and len(path) == 11  # down to the gap, through, up again (diagonals count 1)
    free[6, 4] = False
    assert wave_path(free, moves, src, dst) is None
    assert corners([(0, 0), (1, 1), (2, 2), (2, 3)]) == [(0, 0), (2, 2), (2, 3)]


def _router(copper: int = 2):
    b = BoardBuilder("r", copper=copper, outline=shapely.box(-2, -2, 2, 2))
    g = RouteGrid(b.outline, layers=copper, pitch=0.05, width=W, clearance=S, via_pads=(0.12,), edge=0.1)
    return b, Router(g, b, hops=[Hop(0.12, 0.06, "micro")] * (copper - 1), width=W)


def test_crossing_nets_fail_on_one_layer_with_a_located_reason():
    """Two nets whose straight paths cross on a boxed-in strip: the second cannot pass on that layer."""
    b, r = _router()
    g = r.grid
    # a corridor 0.3 mm high: everything else blocked on layer 0
    rows = np.arange(g.shape[0])
    g.node[0][(np.abs(g.y(rows)) > 0.15), :] = BLOCKED
    a = r.route(b.net("A"), "A", [(-1.5, -0.1, 0)], [(1.5, 0.1, 0)], layers=[0])
    assert isinstance(a, Routed) and a.layer == 0 and a.length > 3.0
    c = r.route(b.net("B"), "B", [(-1.5, 0.1, 0)], [(1.5, -0.1, 0)], layers=[0])
    assert isinstance(c, Unrouted) and "no path on copper 1" in c.reason
    d = r.route(b.net("B"), "B", [(-1.5, 0.1, 0)], [(1.5, -0.1, 0)], layers=[0, 1])
    assert isinstance(d, Routed) and d.layer == 1 and d.vias == 2


def test_routed_copper_passes_the_board_checks():
    """Nets routed side by side at the minimum pitch keep every clearance the rule checks measure."""
    b, r = _router()
    for k in range(6):
        y = -0.5 + 0.2 * k
        res = r.route(b.net(f"N{k}"), f"N{k}", [(-1.2, y, 0)], [(1.2, -y, 1)], layers=[0, 1])
        assert isinstance(res, Routed), res
    rules = load_substrate_rules("substrate-buildup")
    from kisubstrate.model.substrate import Stackup

    st_ = Stackup.model_validate({"layers": [{"copper": 0.015}, {"dielectric": 0.03}, {"copper": 0.015}]})
    report = check_board(b.build(), rules, stackup=st_)
    assert report.ok, report.text()


@pytest.mark.parametrize("delta,bad", [(-UM, True), (UM, False)])
def test_hole_to_hole_between_a_microvia_and_a_core_via_as_kicad_checks_it(delta, bad):
    """A laser microvia beside a mechanical (core) via on a shared copper layer keeps hole_to_hole,
    whatever the nets (KiCad's rule); apart on other layers, or two microvias, they need not."""
    from kisubstrate.model.substrate import Stackup

    rules = load_substrate_rules("substrate-buildup")
    st_ = Stackup.model_validate({"layers": [{"copper": 0.015}, {"dielectric": 0.03}, {"copper": 0.015},
                                             {"dielectric": 0.3}, {"copper": 0.015}, {"dielectric": 0.03},
                                             {"copper": 0.015}]})
    d = 0.075 + 0.03 + rules.hole_to_hole + delta  # centre distance: radii + the rule
    b = BoardBuilder("h", copper=4, outline=shapely.box(-1, -1, 1, 1))
    n = b.net("VDD")
    b.via(0.0, 0.0, 0.3, 0.15, 1, 2, net=n, kind="blind")
    b.via(d, 0.0, 0.12, 0.06, 0, 1, net=n, kind="micro")  # shares copper 2 with the core via
    b.via(-d, 0.0, 0.12, 0.06, 2, 3, net=n, kind="micro")  # shares copper 3
    b.via(0.0, d, 0.12, 0.06, 0, 1, net=n, kind="micro")
    b.via(0.0, d + 0.1, 0.12, 0.06, 0, 1, net=n, kind="micro")  # two microvias 0.1 apart: not compared
    rep = check_board(b.build(), rules, stackup=st_, only=("hole_to_hole",))
    assert len(rep.violations) == (3 if bad else 0), rep.text()


def test_the_router_keeps_drilled_holes_apart():
    b, r = _router(3)
    r.hops = [Hop(0.12, 0.06, "micro"), Hop(0.3, 0.15, "blind")]
    r._kind_index = [r.grid.via_index(0.12), r.grid.via_index(0.12)]
    r.hole_to_hole = 0.1
    r.place_column(r.grid.cell(0.0, 0.0), 1, 2, b.net("A"))  # a "core" via (pad 0.12 to keep the grid simple)
    near = r.grid.cell(0.15, 0.0)
    assert r.column_free(near, 0, 1, b.net("A")) == 0  # a microvia 0.15 away on copper 2: hole too close
    assert r.column_free(r.grid.cell(0.25, 0.0), 0, 1, b.net("A")) is None
    assert r.column_free(r.grid.cell(0.0, 0.0), 0, 1, b.net("A")) is None  # stacked on it: allowed
