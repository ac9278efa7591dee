"""Odd copper stacks: KiCad's extra placeholder copper layer (``unused``) carries nothing in the Gerbers,
for every odd stack we write (cavity, open cavity, a 3-copper build-up, the wafer stack); the real layers
do carry copper."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from conftest import EXAMPLES
from kisubstrate.api.specs import load_specs, validate_spec
from kisubstrate.api.substrate import build_substrate, substrate_files
from kisubstrate.kicad.layers import LayerMap
from stack_util import write_files

ODD3 = {"family": "buildup", "name": "ODD3", "body": [6, 6], "carrier": None,
        "stackup": {"layers": [{"copper": 0.015}, {"dielectric": 0.035, "material": "BCB"}, {"copper": 0.015},
                               {"dielectric": 0.04, "material": "polyimide"}, {"copper": 0.015}]},
        "dies": [{"size": [2, 2], "pads": {"peripheral": {"per_side": 4, "pitch": 0.3}}}],
        "terminals": {"pitch": 1.0, "layout": [5, 5], "ball_diameter": 0.5}}
"""The 3-copper build-up of tests/substrates/test_buildup.py::test_odd_stack_maps_to_even_kicad_board."""


def odd_specs():
    return {"cavity": lambda: load_specs([EXAMPLES / "cavity.yaml"])[0].spec,
            "cavity_open": lambda: load_specs([Path(__file__).parent / "data" / "cavity_open.yaml"])[0].spec,
            "buildup_3cu": lambda: validate_spec(ODD3),
            "wafer_stack": lambda: load_specs([EXAMPLES / "wafer_stack.yaml"])[0].spec}


def _draws(text: str) -> int:
    """Flashes (D03) and draws (D01) of a Gerber file (region outlines are D01 too)."""
    return sum(line.endswith(("D03*", "D01*")) for line in text.splitlines())


@pytest.mark.kicad
@pytest.mark.parametrize("which", sorted(odd_specs()))
def test_placeholder_layer_is_empty_in_the_gerbers(kicad_cli, kicad_target, tmp_path, which):
    result = build_substrate(odd_specs()[which]())
    assert result.report.ok
    b = result.board
    lm = LayerMap(b.copper)
    assert b.copper % 2 == 1 and lm.placeholder is not None
    pcb = write_files(substrate_files(result, kicad=kicad_target), tmp_path / which)
    out = tmp_path / "gbr"
    r = subprocess.run([kicad_cli, "pcb", "export", "gerbers", "-o", str(out), str(pcb)], capture_output=True,
                       text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    gerbers = {p.name: p.read_text() for p in out.iterdir() if p.suffix.startswith(".g") and p.suffix != ".gbrjob"}
    inner = int(lm.placeholder[2:-3])  # In<k>.Cu: KiCad names its Gerber <board>-unused.g<k>
    placeholder = [n for n in gerbers if n.endswith(f"-unused.g{inner}")]
    assert len(placeholder) == 1, sorted(gerbers)
    assert f"%TF.FileFunction,Copper,L{lm.kicad_count - 1},Inr*%" in gerbers[placeholder[0]]
    assert _draws(gerbers[placeholder[0]]) == 0
    # every real copper layer has copper on it (so an empty file is not a failed export)
    copper = [n for n, t in gerbers.items() if "%TF.FileFunction,Copper," in t and n not in placeholder]
    assert len(copper) == b.copper and all(_draws(gerbers[n]) > 0 for n in copper)
