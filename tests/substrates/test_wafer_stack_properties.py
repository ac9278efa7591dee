"""Random small wafer-level stacks: whenever kisubstrate accepts a board, KiCad's DRC finds nothing.

Two kinds of spec: the example's netlist (die pad map + ball map) with some balls and pads made NC
and random stack / via / heat-layer / mask / active-area choices; and the generated netlist (no ball
map: pad k to an outer ball, thermal balls outside the active area) over random peripheral pads
and ball grids. Every spec is refused with a located reason, reported with violations (``unrouted``
…: nothing written), or clean; a clean one must load in KiCad with 0 errors and 0 unconnected items.
The sample is small and fixed (derandomized) for CI.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import EXAMPLES
from stack_util import family_outcome, kicad_drc, write_result

BALLS = (EXAMPLES / "wafer_stack_balls.csv").read_text()
PADS = (EXAMPLES / "wafer_stack_pads.csv").read_text()
SIGNALS = ["SPI_CS", "SPI_CLK", "SPI_MOSI", "SPI_MISO", "SCL", "SDA", "IRQ", "RESET_N"] + \
    [f"GPIO{k}" for k in range(6)]


@st.composite
def wafer_stacks(draw, folder: Path):
    base = yaml.safe_load((EXAMPLES / "wafer_stack.yaml").read_text())["packages"][0]
    spec = dict(base)
    n_dies = draw(st.integers(2, 4))
    spec["dies"] = [{"name": f"D{k + 1}", "thickness": draw(st.sampled_from([0.05, 0.08, 0.1]))}
                    for k in range(n_dies)]
    heat = draw(st.sampled_from(["gnd", "alu_film", "support", "plain"]))
    if draw(st.booleans()):  # the example's netlist, a few signals dropped (NC ball, pad without net)
        gone = draw(st.lists(st.sampled_from(SIGNALS), max_size=3, unique=True))
        balls, pads = BALLS, PADS
        for net in gone:
            balls = balls.replace(f",{net}\n", ",NC\n")
            pads = pads.replace(f",{net}\n", ",\n")
        tag = "-".join(sorted(gone)) or "all"
        (folder / f"balls-{tag}.csv").write_text(balls)
        (folder / f"pads-{tag}.csv").write_text(pads)
        spec["pads"] = {"map": str(folder / f"pads-{tag}.csv"), "size": draw(st.sampled_from([0.08, 0.1]))}
        spec["terminals"] = dict(base["terminals"], ball_map=str(folder / f"balls-{tag}.csv"),
                                 mask=draw(st.sampled_from(["smd", "nsmd"])))
        spec["active_area"] = [draw(st.sampled_from([0.6, 0.9, 1.1]))] * 2
        spec["power_width"] = draw(st.sampled_from([0.03, 0.04]))
        spec["heat_layer"] = {"gnd": {"net": "GND"}, "plain": {"net": "GND", "thickness": 0.01},
                              "alu_film": {"material": "aluminum", "thin_film": True, "thickness": 0.002,
                                           "net": "GND"},
                              "support": {"thickness": 0.12, "support": True, "net": "GND"}}[heat]
    else:  # generated netlist over a random grid and peripheral pads
        n = draw(st.sampled_from([5, 6, 7]))
        pitch = draw(st.sampled_from([0.4, 0.5]))
        body = round(n * pitch + draw(st.sampled_from([0.4, 0.6])), 3)
        spec.pop("power_width", None)
        spec["body"] = [body, body]
        per_side = draw(st.integers(2, n - 1))
        spec["pads"] = {"peripheral": {"per_side": per_side, "pitch": pitch, "inset": 0.15}, "size": 0.08}
        spec["terminals"] = {"pitch": pitch, "layout": [n, n], "ball_diameter": 0.25 if pitch == 0.4 else 0.3,
                             "mask": draw(st.sampled_from(["smd", "nsmd"]))}
        spec["active_area"] = [draw(st.sampled_from([0.4, 0.8]))] * 2
        spec["heat_layer"] = heat != "plain"
        spec["thermal_balls"] = draw(st.booleans())
    spec["tsv"] = {"drill": 0.02, "pad": draw(st.sampled_from([0.05, 0.06]))}
    return spec


@pytest.mark.kicad
def test_accepted_random_wafer_stacks_are_clean_in_kicad(tmp_path, kicad_cli):
    outcomes: list[str] = []
    clean = []

    @settings(max_examples=8, deadline=None, derandomize=True, database=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
    @given(wafer_stacks(tmp_path))
    def collect(data):
        kind, detail = family_outcome(data, {"unrouted", "unconnected", "copper_island"})
        outcomes.append(kind)
        if kind == "ok":
            clean.append(detail)

    collect()
    assert len(clean) >= 2, outcomes
    for k, result in enumerate(clean):
        report = kicad_drc(kicad_cli, write_result(result, tmp_path / str(k)))
        assert report["violations"] == [] and report["unconnected_items"] == [], \
            (result.name, [(v["type"], v["description"]) for v in report["violations"][:5]])
