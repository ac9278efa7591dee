"""Die pad nets planned from a ball map (geometry/padnets.py) and the build-up carrier's cavity edge."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kisubstrate.geometry.padnets import assign_pad_nets, power_sequence
from kisubstrate.model.errors import SpecError


def ring_pads(n: int, r: float = 1.0):
    ang = np.linspace(-np.pi, np.pi, n, endpoint=False) + 0.01
    return r * np.cos(ang), r * np.sin(ang)


def test_power_sequence_interleaves_ground_with_the_rails():
    seq = power_sequence(8, {"GND": 40, "VDD_CORE": 20, "VDD_IO": 10})
    assert seq == ["VDD_CORE", "GND", "VDD_IO", "GND", "VDD_CORE", "GND", "VDD_IO", "GND"]
    # every net at least once even when the slots are few; ground alone or rails alone: round-robin
    assert sorted(power_sequence(3, {"GND": 9, "VDD": 5, "VIO": 1})) == ["GND", "VDD", "VIO"]
    assert power_sequence(3, {"VSS": 2}) == ["VSS"] * 3
    assert power_sequence(4, {"VDD": 2, "VIO": 5}) == ["VIO", "VDD", "VIO", "VDD"]


def test_signals_one_pad_each_in_ball_order_and_planes_spread():
    px, py = ring_pads(12)
    bang = np.linspace(-np.pi, np.pi, 6, endpoint=False) + 0.3
    bx, by = np.r_[5 * np.cos(bang), 0.0, 0.5, 0.0], np.r_[5 * np.sin(bang), 0.0, 0.0, 0.5]
    names = ["D0", "D1", "D2", "D3", "D4", "D5", "GND", "VDD", "NC"]
    nets = assign_pad_nets(px, py, (0.0, 0.0), bx, by, names, {"GND", "VDD"})
    assert sorted(n for n in nets if n.startswith("D")) == names[:6]
    assert nets.count("GND") == 3 and nets.count("VDD") == 3 and "NC" not in nets
    # going round the die: signal, plane, signal, plane ...; signals in the order of their balls
    assert [n.startswith("D") for n in nets] == [True, False] * 6
    order = [n for n in nets if n.startswith("D")]
    k = order.index("D0")
    assert order[k:] + order[:k] == names[:6]


def test_too_few_pads_is_refused_naming_the_die_and_counts():
    px, py = ring_pads(4)
    with pytest.raises(SpecError, match=r"die U7: the ball map has 3 signal net\(s\) and 2 power/ground net\(s\) "
                                        r"\(GND, VDD\), but the die has 4 pads") as exc:
        assign_pad_nets(px, py, (0.0, 0.0), np.arange(5.0), np.zeros(5), ["A", "B", "C", "GND", "VDD"],
                        {"GND", "VDD"}, die="U7")
    assert exc.value.field == "dies.pads"
    # four pads, one fewer than needed, are refused above; five, exactly enough, give every net one pad
    px, py = ring_pads(5)
    nets = assign_pad_nets(px, py, (0.0, 0.0), np.arange(5.0) + 2, np.zeros(5), ["A", "B", "C", "GND", "VDD"],
                           {"GND", "VDD"})
    assert sorted(nets) == ["A", "B", "C", "GND", "VDD"]


@settings(max_examples=60, deadline=None)
@given(n_pads=st.integers(4, 80), data=st.data())
def test_planned_pads_keep_the_angular_order_of_the_balls(n_pads, data):
    """Any pinout that fits: every signal on exactly one pad, every plane net on at least one, and the signal
    pads taken round the die meet their balls in angular order (one wrap-around only)."""
    n_planes = data.draw(st.integers(0, min(3, n_pads // 2)))
    n_sig = data.draw(st.integers(0, n_pads - n_planes))
    ang = np.array(data.draw(st.lists(st.floats(-3.1, 3.1), min_size=n_sig + 2 * n_planes,
                                      max_size=n_sig + 2 * n_planes, unique=True)))
    r = np.array(data.draw(st.lists(st.floats(3, 9), min_size=len(ang), max_size=len(ang))))
    planes = ["GND", "VDD", "VIO"][:n_planes]
    names = [f"S{k}" for k in range(n_sig)] + planes + planes
    px, py = ring_pads(n_pads)
    nets = assign_pad_nets(px, py, (0.0, 0.0), r * np.cos(ang), r * np.sin(ang), names, set(planes))
    sig = [n for n in nets if n.startswith("S")]
    assert sorted(sig) == sorted(names[:n_sig]) and all(p in nets for p in planes)
    assert nets.count("") == (n_pads - n_sig if not planes else 0)
    ball_ang = {f"S{k}": ang[k] for k in range(n_sig)}
    seq = [ball_ang[n] for n in sig]
    assert sum(1 for a, b in zip(seq, seq[1:] + seq[:1]) if b < a) <= 1


@pytest.mark.parametrize("delta, over", [(-0.001, True), (0.001, False)])
def test_a_carrier_ball_column_clears_the_cavity_by_its_pad_and_clearance(delta, over):
    """A ball column 1 um inside the reach of the cavity (micro pad / 2 + clearance = 0.06 + 0.025 from the
    cavity edge) is over it; 1 um outside is not."""
    from kisubstrate.api.specs import validate_spec
    from kisubstrate.families.buildup import over_cavity

    spec = validate_spec({"family": "buildup", "name": "C", "body": [8, 8],
                          "stackup": {"layers": [{"copper": 0.015}, {"dielectric": 0.035}, {"copper": 0.015},
                                                 {"dielectric": 0.035}, {"copper": 0.015}]},
                          "dies": [{"size": [2, 2], "pads": {"peripheral": {"per_side": 4, "pitch": 0.3}}}],
                          "carrier": {"net": "GND", "cavity_gap": 0.1},
                          "terminals": {"pitch": 1.0, "layout": [7, 7], "ball_diameter": 0.5}})
    edge = 1.0 + 0.1 + 0.12 / 2 + 0.025
    assert bool(over_cavity(spec, np.array([edge + delta]), np.array([0.0]))[0]) is over
