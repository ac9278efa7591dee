"""Solder-mask openings of the substrate ball lands come from the ball and the land type (IPC-7095: the
solder-wetted land is 80 % of the ball; SMD: the opening, with the copper larger by the profile's mask
overlap; NSMD: the copper, with the opening larger by the mask margin), in every family that has balls."""

from __future__ import annotations

import numpy as np
import pytest
import yaml

from conftest import EXAMPLES
from kisubstrate.api.specs import load_specs, validate_spec
from kisubstrate.api.substrate import build_substrate

CASES = [  # example, pad owner, the spec's grid of those lands
    ("buildup", "BALLS", lambda s: s.terminals),
    ("flipchip", "BALLS", lambda s: s.terminals),
    ("pop", "BALLS", lambda s: s.terminals),
    ("pop", "POP", lambda s: s.top_lands),
    ("cavity", "BALLS", lambda s: s.terminals),
]


@pytest.mark.parametrize("name, owner, grid", CASES, ids=[f"{c[0]}-{c[1]}" for c in CASES])
def test_example_ball_lands_open_at_80_percent_of_the_ball(name, owner, grid):
    spec = load_specs([EXAMPLES / f"{name}.yaml"])[0].spec
    rules = spec.substrate_rules()
    g = grid(spec)
    b = build_substrate(spec).board
    sel = np.array([o == owner for o in b.pads.owner])
    assert sel.sum() > 50
    copper, margin = b.pads.w[sel], b.pads.mask[sel]
    opening = copper + 2 * margin
    assert g.mask == "smd"
    assert np.allclose(opening, round(0.8 * g.ball_diameter, 6), atol=1e-9), (name, set(opening.round(4)))
    assert np.allclose(copper, round(0.8 * g.ball_diameter + 2 * rules.smd_overlap, 6), atol=1e-9)


@pytest.mark.parametrize("mask, copper, opening", [("smd", 0.4 + 0.1, 0.4), ("nsmd", 0.4, 0.4 + 0.1)])
def test_land_type_decides_which_of_copper_and_opening_is_the_solder_land(mask, copper, opening):
    """The cavity example's 0.5 mm balls on substrate-hdi (overlap and margin 0.05 mm)."""
    pkg = yaml.safe_load((EXAMPLES / "cavity.yaml").read_text())["packages"][0]
    pkg["lands"]["mask"] = mask
    spec = validate_spec(pkg, base_dir=str(EXAMPLES))
    b = build_substrate(spec).board
    sel = np.array([o == "BALLS" for o in b.pads.owner])
    assert np.allclose(b.pads.w[sel], copper) and np.allclose(b.pads.w[sel] + 2 * b.pads.mask[sel], opening)


def test_a_given_solder_land_is_kept():
    """``land`` is the solder-defined diameter: a 0.35 mm SMD opening on 0.5 mm balls, copper 0.45 mm."""
    pkg = yaml.safe_load((EXAMPLES / "cavity.yaml").read_text())["packages"][0]
    pkg["lands"]["diameter"] = 0.35
    b = build_substrate(validate_spec(pkg, base_dir=str(EXAMPLES))).board
    sel = np.array([o == "BALLS" for o in b.pads.owner])
    assert np.allclose(b.pads.w[sel], 0.45) and np.allclose(b.pads.w[sel] + 2 * b.pads.mask[sel], 0.35)
