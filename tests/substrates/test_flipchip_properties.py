"""Random small flip-chip specs: whenever kisubstrate accepts a board, KiCad's DRC finds nothing.

The sample is small and fixed (derandomized) for CI; ``benchmarks/bench_route.py`` runs big boards.
Every spec is refused with a located reason, reported with violations (``unrouted``, ``unconnected``
…: nothing written), or clean; a clean one must load in KiCad with 0 errors and 0 unconnected items.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from stack_util import family_outcome, kicad_drc, write_result

ROWS = "ABCDEFGHJKLMNPRTUVWY"


def pinout(n: int, core: int, gnd_every: int) -> str:
    lines, k = ["ball,net"], 0
    lo = (n - core) // 2
    for r in range(n):
        for c in range(n):
            inner = lo <= r < lo + core and lo <= c < lo + core
            ring = lo - 1 <= r <= lo + core and lo - 1 <= c <= lo + core
            if inner:
                net = "GND" if (r + c) % 2 else "VDD"
            elif ring:
                net = "GND" if (r + c) % 3 == 0 else "VIO"
            elif (r * n + c) % gnd_every == 2:
                net = "GND"
            else:
                net, k = f"S{k}", k + 1
            lines.append(f"{ROWS[r]}{c + 1},{net}")
    return "\n".join(lines) + "\n"


@st.composite
def flipchip_specs(draw, folder: Path):
    n = draw(st.sampled_from([8, 10, 12]))
    core = draw(st.sampled_from([2, 4]))
    die = draw(st.sampled_from([2.0, 2.4, 3.0]))
    csv = folder / f"balls-{n}-{core}-{die}.csv"
    csv.write_text(pinout(n, core, draw(st.sampled_from([4, 5, 7]))))
    width = draw(st.sampled_from([None, 0.025, 0.03]))
    layers = [{"copper": 0.015, "role": "signal"}, {"dielectric": 0.03},
              {"copper": 0.015, "role": "mixed", "nets": ["GND"]}, {"dielectric": 0.03},
              {"copper": 0.015, "role": "signal"}, {"dielectric": 0.03},
              {"copper": 0.015, "role": "plane", "nets": ["VDD", "VIO"]}, {"dielectric": 0.3, "material": "BT"},
              {"copper": 0.015, "role": "plane", "nets": ["GND"]}, {"dielectric": 0.03},
              {"copper": 0.015, "role": "plane", "nets": ["VDD", "VIO"]}, {"dielectric": 0.03},
              {"copper": 0.015}]
    spec = {"family": "flipchip", "name": f"FC-{n}-{core}-{die}", "body": [n * 0.8 + 1.0] * 2,
            "stackup": {"layers": layers},
            "dies": [{"size": [die, die], "face": "down", "pads": {"plan": {"pitch": 0.2}, "size": 0.09}}],
            "terminals": {"pitch": 0.8, "layout": [n, n], "ball_diameter": 0.4, "land": 0.32, "ball_map": str(csv)},
            "vias": {"micro": {"drill": 0.06, "pad": 0.12}, "blind": {"drill": 0.15, "pad": 0.3}}}
    if width is not None:
        spec["trace_width"] = width
    return spec


@pytest.mark.kicad
def test_accepted_random_flipchips_are_clean_in_kicad(tmp_path, kicad_cli):
    outcomes: list[str] = []
    clean = []

    @settings(max_examples=6, deadline=None, derandomize=True, database=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
    @given(flipchip_specs(tmp_path))
    def collect(data):
        kind, detail = family_outcome(data, {"unrouted", "unconnected", "copper_island"})
        outcomes.append(kind)
        if kind == "ok":
            clean.append(detail)

    collect()
    assert clean, outcomes
    for k, result in enumerate(clean):
        report = kicad_drc(kicad_cli, write_result(result, tmp_path / str(k)))
        assert report["violations"] == [] and report["unconnected_items"] == [], \
            (result.name, [(v["type"], v["description"]) for v in report["violations"][:5]])
