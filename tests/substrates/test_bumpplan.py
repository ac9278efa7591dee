"""Bump plans for flip-chip dies: the sites a plan puts on a die and the nets the balls give them."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from kisubstrate.geometry.bumpplan import assign_plan_nets
from kisubstrate.model.bumpplan import BumpPlan, plan_sites
from kisubstrate.model.errors import SpecError
from kisubstrate.model.loader import validate_model
from kisubstrate.model.substrate import DiePads, DieSpec

PLANES = {"GND", "VDD", "VDDIO"}


def package_balls():
    """A 14 x 14 grid at 1 mm pitch centred on the die: the two outer rings are 96 signals; of the 10 x 10
    centre the left 6 columns are GND (60), the right 4 columns VDD (36) but for VDDIO at their bottom (4)."""
    c, r = np.meshgrid(np.arange(14), np.arange(14))
    c, r = c.ravel(), r.ravel()
    x, y = (c - 6.5) * 1.0, (r - 6.5) * 1.0
    ring = np.minimum(np.minimum(c, 13 - c), np.minimum(r, 13 - r))
    nets = []
    k = 0
    for ci, ri, rg in zip(c, r, ring):
        if rg < 2:
            nets.append(f"S{k:03d}")
            k += 1
        elif ci < 8:
            nets.append("GND")  # columns 2..7: 60 balls, the left of the centre
        elif ri < 11:
            nets.append("VDD")  # columns 8..11, rows 2..10: 36 balls, the right
        else:
            nets.append("VDDIO")  # columns 8..11, row 11: 4 balls, bottom right
    return x, y, nets


@pytest.fixture(scope="module")
def sites():
    return plan_sites(4.2, 4.2, BumpPlan(pitch=0.2), 0.1)


@pytest.fixture(scope="module")
def planned(sites):
    x, y, nets = package_balls()
    return x, y, nets, assign_plan_nets(sites, x, y, nets, PLANES)


# ---------------------------------------------------------------- sites


def test_default_plan_fills_the_die(sites):
    # edge = max(0.2/2, 0.1/2 + 0.05) = 0.1 mm: (4.2 - 0.2) / 0.2 + 1 = 21 bumps a side
    assert sites.layout == (21, 21) and len(sites) == 441
    assert sites.names[:2] == ["A1", "A2"] and sites.names[20] == "A21" and sites.names[21] == "B1"
    assert sites.names[-1] == "AA21"  # JEDEC rows: 20 letters then AA
    assert (float(sites.x[0]), float(sites.y[0])) == (-2.0, -2.0)
    assert (float(sites.x[-1]), float(sites.y[-1])) == (2.0, 2.0)
    assert (float(sites.x[220]), float(sites.y[220])) == (0.0, 0.0) and int(sites.ring[220]) == 10
    assert np.bincount(sites.ring).tolist() == [80 - 8 * k for k in range(10)] + [1]
    assert len(set(sites.names)) == 441


def test_edge_and_layout():
    big = plan_sites(4.2, 4.2, BumpPlan(pitch=0.2), 0.3)  # edge 0.2 mm: 3.8 / 0.2 + 1 = 20
    assert big.layout == (20, 20) and float(big.x[0]) == -1.9
    s = plan_sites(4.0, 3.0, BumpPlan(pitch=0.25, layout=(10, 4)), 0.1)
    assert s.layout == (10, 4) and len(s) == 40
    assert float(s.x[0]) == -1.125 and float(s.y[0]) == -0.375 and s.names[-1] == "D10"
    assert np.bincount(s.ring).tolist() == [24, 16]
    wide = plan_sites(3.0, 1.0, BumpPlan(pitch=0.5, edge=0.25), 0.2)
    assert wide.layout == (6, 2)


def test_a_plan_that_does_not_fit_is_refused():
    with pytest.raises(ValueError, match="22 columns at 0.2 mm pitch need 4.4 mm"):
        plan_sites(4.2, 4.2, BumpPlan(pitch=0.2, layout=(22, 5)), 0.1)
    with pytest.raises(ValueError, match="no bump fits"):
        plan_sites(0.15, 2.0, BumpPlan(pitch=0.2), 0.1)


def test_model_accepts_a_plan_and_refuses_two_kinds():
    pads = DiePads.model_validate({"plan": {"pitch": 0.2}, "size": 0.09})
    assert pads.plan == BumpPlan(pitch=0.2) and pads.area is None
    with pytest.raises(ValidationError, match="exactly one of peripheral, area, map or plan"):
        DiePads.model_validate({"plan": {"pitch": 0.2}, "area": {"pitch": 0.2, "layout": [3, 3]}})
    with pytest.raises(ValidationError):
        DiePads.model_validate({"plan": {"pitch": 0.2, "layout": [0, 3]}})


def test_die_pad_list_of_a_plan_has_sites_without_nets():
    die = DieSpec.model_validate({"size": [4.2, 4.2], "face": "down", "pads": {"plan": {"pitch": 0.2}}})
    pads = die.pad_list()
    assert len(pads) == 441 and {p.net for p in pads} == {""}
    assert (pads[0].name, pads[0].x, pads[0].y) == ("A1", -2.0, -2.0)
    assert (die.board_pads()[0].x, die.board_pads()[0].y) == (2.0, -2.0)  # flipped: mirrored in x


def test_die_with_a_plan_too_large_is_a_located_error():
    with pytest.raises(SpecError) as err:
        validate_model(DieSpec, {"size": [1.0, 1.0], "pads": {"plan": {"pitch": 0.2, "layout": [6, 5]}}})
    assert err.value.field == "pads.plan" and "6 columns" in err.value.reason
    with pytest.raises(SpecError) as err:
        validate_model(DieSpec, {"size": [1.0, 1.0], "pads": {"plan": {"pitch": 0.2, "edge": 0.02}}})
    assert err.value.field == "pads.plan" and "half the 0.1 mm pad" in err.value.reason


# ---------------------------------------------------------------- nets


def test_every_signal_exactly_once_every_plane_at_least_once(planned, sites):
    _, _, nets, got = planned
    assert len(got) == len(sites) and all(got)
    count = Counter(got)
    signals = {n for n in nets if n not in PLANES}
    assert len(signals) == 96
    assert all(count[s] == 1 for s in signals)
    assert set(count) == signals | PLANES and all(count[p] >= 1 for p in PLANES)


def test_signals_take_the_outer_rings(planned, sites):
    _, _, _, got = planned
    is_sig = np.array([n not in PLANES for n in got])
    assert is_sig[sites.ring == 0].all()  # 80 on ring 0
    assert is_sig[sites.ring == 1].sum() == 16  # the other 16 on ring 1 ...
    assert not is_sig[sites.ring >= 2].any()
    spare = [n for n, s, r in zip(got, is_sig, sites.ring) if r == 1 and not s]
    assert set(spare) == {"GND"}  # ... and the rest of ring 1 is ground
    # the 16 spread around ring 1: every side of the ring holds some
    on1 = (sites.ring == 1) & is_sig
    x, y = sites.x[on1], sites.y[on1]
    assert (x < -1.5).any() and (x > 1.5).any() and (y < -1.5).any() and (y > 1.5).any()


def test_signals_keep_their_angular_order(planned, sites):
    bx, by, nets, got = planned
    where = {n: (float(sites.x[i]), float(sites.y[i])) for i, n in enumerate(got)}
    ball_ang, bump_ang = [], []
    for x, y, n in zip(bx, by, nets):
        if n in PLANES:
            continue
        sx, sy = where[n]
        if x < -6:
            assert sx < 0, (n, x, y, sx)  # a ball on the left gets a bump on the left half
        if y > 6:
            assert sy > 0, (n, x, y, sy)
        ball_ang.append(np.arctan2(y, x))
        bump_ang.append(np.arctan2(sy, sx))
    seq = np.array(bump_ang)[np.argsort(ball_ang, kind="stable")]
    # going round the balls, the bumps go round once: at most one wrap-around step back
    assert int((np.diff(np.concatenate([seq, seq[:1]])) < 0).sum()) == 1


def test_core_follows_the_plane_balls(planned, sites):
    _, _, _, got = planned
    core = sites.ring >= 2
    nets = np.array(got, dtype=object)
    count = Counter(nets[core].tolist())
    assert sum(count.values()) == 441 - 152
    assert count["GND"] > count["VDD"] > count["VDDIO"] >= 1
    assert abs(count["GND"] / sum(count.values()) - 0.6) < 0.1
    # GND balls sit left of the centre, VDD right: so do their core bumps
    assert np.mean(sites.x[core & (nets == "GND")]) < 0 < np.mean(sites.x[core & (nets == "VDD")])
    # VDDIO (bottom right balls) ends up bottom right
    vddio = core & (nets == "VDDIO")
    assert (sites.x[vddio] > 0).all() and (sites.y[vddio] > 0).all()


def test_deterministic(planned, sites):
    bx, by, nets, got = planned
    assert assign_plan_nets(sites, bx.copy(), by.copy(), list(nets), set(PLANES)) == got


def test_no_connect_balls_are_ignored_and_a_lone_plane_net_still_gets_a_bump():
    s = plan_sites(1.0, 1.0, BumpPlan(pitch=0.2), 0.1)  # 5 x 5
    x = np.array([-3.0, 3.0, 0.0, 0.5, 0.0, 1.0, -1.0])
    y = np.array([0.0, 0.0, 0.0, 0.5, 3.0, 1.0, 1.0])
    nets = ["A", "B", "VSS", "VSS", "NC", "", "VCORE"]
    got = assign_plan_nets(s, x, y, nets, {"VSS", "VCORE"})
    count = Counter(got)
    assert count["A"] == count["B"] == 1 and count["VCORE"] >= 1 and "NC" not in count and "" not in count
    assert count["VSS"] + count["VCORE"] == 23
    assert float(s.x[got.index("A")]) < 0 < float(s.x[got.index("B")])


def test_ground_is_found_by_name():
    s = plan_sites(1.0, 1.0, BumpPlan(pitch=0.2), 0.1)  # ring 0: 16 sites, 4 signals, 12 spare
    x = np.array([-3.0, 3.0, 0.0, 0.0, 0.1, 0.2, 0.3, 0.0])
    y = np.array([0.0, 0.0, -3.0, 3.0, 0.1, 0.2, 0.3, -0.1])
    nets = ["S1", "S2", "S3", "S4", "VDD", "VDD", "VDD", "VSSA"]
    got = assign_plan_nets(s, x, y, nets, {"VDD", "VSSA"}, signal_rings=1)
    ring0 = [n for n, r in zip(got, s.ring) if r == 0]
    assert Counter(ring0) == Counter({"VSSA": 12, "S1": 1, "S2": 1, "S3": 1, "S4": 1})


def test_too_many_signals_is_an_error():
    s = plan_sites(1.0, 1.0, BumpPlan(pitch=0.2), 0.1)
    nets = [f"S{k}" for k in range(26)] + ["GND"]
    with pytest.raises(SpecError) as err:
        assign_plan_nets(s, np.arange(27.0), np.zeros(27), nets, {"GND"})
    assert err.value.field == "pads.plan"
    assert "26 signal nets" in err.value.reason and "25 sites" in err.value.reason and "pitch" in err.value.reason
    with pytest.raises(SpecError, match=r"17 signal nets .* 16 sites in its 1 outer ring"):
        assign_plan_nets(s, np.arange(18.0), np.zeros(18), nets[:17] + ["GND"], {"GND"}, signal_rings=1)
    with pytest.raises(SpecError, match="24 signal and 2 power/ground nets"):
        assign_plan_nets(s, np.arange(26.0), np.zeros(26), nets[:24] + ["GND", "VDD"], {"GND", "VDD"})
    with pytest.raises(SpecError, match="no power or ground net"):
        assign_plan_nets(s, np.arange(3.0), np.zeros(3), nets[:3], {"GND"})


@st.composite
def small_cases(draw):
    cols, rows = draw(st.integers(1, 7)), draw(st.integers(1, 7))
    n_balls = draw(st.integers(1, 40))
    coords = st.floats(-5, 5, allow_nan=False, allow_infinity=False)
    x = np.array(draw(st.lists(coords, min_size=n_balls, max_size=n_balls)))
    y = np.array(draw(st.lists(coords, min_size=n_balls, max_size=n_balls)))
    pool = [f"S{k}" for k in range(12)] + ["GND", "VDD", "VCC", "NC", ""]
    nets = draw(st.lists(st.sampled_from(pool), min_size=n_balls, max_size=n_balls))
    return cols, rows, x, y, nets


@settings(max_examples=150, deadline=None)
@given(small_cases())
def test_every_site_gets_a_net_and_each_signal_one_bump(case):
    cols, rows, x, y, nets = case
    s = plan_sites(cols * 0.2, rows * 0.2, BumpPlan(pitch=0.2, layout=(cols, rows)), 0.1)
    planes = {"GND", "VDD", "VCC"}
    signals = {n for n in nets if n and n != "NC" and n not in planes}
    used_planes = {n for n in nets if n in planes}
    try:
        got = assign_plan_nets(s, x, y, nets, planes)
    except SpecError as err:
        assert err.field == "pads.plan"
        assert len(signals) + len(used_planes) > len(s) or (not used_planes and len(signals) < len(s))
        return
    assert len(got) == len(s) and all(got)
    count = Counter(got)
    assert all(count[n] == 1 for n in signals)
    assert set(count) == signals | used_planes
    assert assign_plan_nets(s, x, y, nets, planes) == got
