"""The unrouted report names the full ball channel a route stopped in: what it holds and what is needed."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
import shapely

from kisubstrate.geometry.board import BoardBuilder
from kisubstrate.geometry.pipeline import SubstratePipeline
from kisubstrate.geometry.route.router import Unrouted


def _pipeline(via_pad: float, crossing: int) -> SubstratePipeline:
    """Balls A1 (0, 0) and A2 (0.8, 0) at 0.8 mm pitch with a via of ``via_pad`` on copper 2 at each, and
    ``crossing`` traces of distinct nets crossing between them; trace 0.05 mm, clearance 0.05 mm."""
    p = SubstratePipeline.__new__(SubstratePipeline)
    b = BoardBuilder("t", copper=4, outline=shapely.box(-2, -2, 3, 2))
    for x in (0.0, 0.8):
        b.via(x, 0.0, via_pad, 0.05, 0, 2, net=b.net(f"V{x}"), kind="micro")
    for k in range(crossing):
        x = 0.2 + 0.1 * k
        b.track(x, -0.5, x, 0.5, 0.05, layer=1, net=b.net(f"S{k}"))
    p._sites = SimpleNamespace(x=np.array([0.0, 0.8, 0.0]), y=np.array([0.0, 0.0, 0.8]), names=["A1", "A2", "B1"])
    p.spec = SimpleNamespace(terminals=SimpleNamespace(pitch_xy=(0.8, 0.8), land_mm=lambda: 0.4))
    p.s = SimpleNamespace(b=b)
    p.rules = SimpleNamespace(clearance=0.05)
    p.width = 0.05
    return p


@pytest.mark.parametrize("pad, holds", [(0.25, 5), (0.252, 4)])
def test_a_full_channel_is_named_with_its_capacity(pad, holds):
    """0.8 mm between centres minus two 0.25 mm via pads leaves 0.55 mm: (0.55 - 0.05) / (0.05 + 0.05) = 5 traces
    exactly; pads 1 µm larger a side leave 0.548 mm -> 4.98 -> 4 traces. With as many traces crossing as it
    holds, two nets stopped there (from either side of its middle) need holds + 2."""
    p = _pipeline(pad, holds)
    stops = [Unrouted("N1", "no path", 0.4, 0.01, 1), Unrouted("N2", "no path", 0.45, -0.02, 1)]
    assert p._where_stopped(stops) == [f"channel between balls A1–A2 on copper 2 holds {holds} traces, "
                                       f"{holds + 2} needed"] * 2


def test_a_channel_with_room_left_or_a_stop_off_the_channel_names_the_nearest_balls():
    p = _pipeline(0.2, 3)  # holds 5, 3 used: the channel did not stop it
    assert p._where_stopped([Unrouted("N", "no path", 0.4, 0.0, 1)]) == ["near balls A1, A2"]
    p = _pipeline(0.2, 5)
    assert p._where_stopped([Unrouted("N", "no path", -0.3, 0.5, 1)]) == ["near balls B1, A1"]
