"""Properties over random cavity packages: a KiCad-DRC-clean board or a clean refusal (an input error naming
a field, or violations of known rules), never a crash; clean boards route every die pad."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from property_util import Share
from stack_util import clean_boards_pass_kicad_drc, die_pads_connected, family_outcome

CAVITY_RULES = {"cavity_land_floor", "sidewall_hole_wall", "sidewall_hole_outline", "die_fits_cavity",
                "encapsulation_cover", "cavity_depth", "cavity_removed_layer", "cavity_hole", "unrouted"}


@st.composite
def cavity_specs(draw):
    pitch = draw(st.sampled_from([0.8, 1.0]))
    rows = draw(st.integers(1, 3))
    n = draw(st.integers(2 * rows + 4, 16))
    body = round(n * pitch + draw(st.sampled_from([0.6, 1.0, 1.6])), 3)
    laminated = draw(st.booleans())
    if laminated:  # holes between the lands: the ring of interstitial points `rows - 1` in from the outermost
        ring_inner = ((n - 2) / 2 - (rows - 1)) * pitch
    else:
        ring_inner = (n - 1 - 2 * (rows - 1)) * pitch / 2  # centre of the innermost hole row
    cav = round(2 * (ring_inner - draw(st.sampled_from([0.5, 0.35, 0.25]))), 3)
    die = round(draw(st.floats(1.0, max(1.1, cav - 0.4))), 2)
    gap = draw(st.sampled_from([0.2, 0.35, 0.6]))
    pad_pitch = draw(st.sampled_from([0.15, 0.2, 0.25]))
    channels = int((min(die + 2 * gap, cav) - 0.5) / (pitch / 2 if rows > 1 else pitch))  # about
    per_side = draw(st.integers(1, max(1, min(16, int((die - 0.3) / pad_pitch), channels))))
    d1 = draw(st.sampled_from([0.5, 0.4, 0.3]))
    return {
        "family": "cavity", "name": "PROP-CAV", "body": [body, body], "rules": "substrate-hdi",
        "structure": "laminated" if laminated else "open",
        "stackup": {"layers": [{"copper": 0.018}, {"dielectric": d1, "material": "BT", **({"plies": [
            {"thickness": 0.1, "role": "second substrate"}, {"thickness": round(d1 - 0.1, 3), "role": "spacer"}]}
            if laminated else {})},
                               {"copper": 0.018}, {"dielectric": 0.2, "material": "BT"}, {"copper": 0.035}]},
        "dies": [{"size": [die, die], "thickness": draw(st.sampled_from([0.1, 0.2])),
                  "position": [draw(st.sampled_from([0.0, 0.3, -0.2])), draw(st.sampled_from([0.0, -0.25]))],
                  "pads": {"peripheral": {"per_side": per_side, "pitch": pad_pitch, "inset": 0.1}, "size": 0.06}}],
        "cavity": {"size": [cav, cav], "corner_radius": draw(st.sampled_from([0.0, 0.3]))},
        "sidewall": {"pitch": pitch, **({} if laminated else {"rows": rows}), "layout": [n, n], "drill": 0.2,
                     "annular_ring": 0.1},
        "lands": {"diameter": round(0.55 * pitch, 3), "ball_diameter": round(0.6 * pitch, 3)},
        "fingers": {"width": 0.15, "length": draw(st.sampled_from([0.2, 0.3])),
                    "gap": gap},
        "thermal_vias": (tv := draw(st.sampled_from([{"pitch": 0.6, "drill": 0.2, "pad": 0.4}, None]))),
        "heat_plate": {"net": "GND" if tv else "HEAT"}, "die_pad": {"net": "GND"},
        "encapsulation": {} if laminated else {"margin": draw(st.sampled_from([None, 1.5, 0.5])), "height": 0.35},
    }


# the property holds vacuously if every spec is refused: of the fixed sample 25 of 40 build clean
# (other random samples of 40: 7 to 16), so at least 15 % must
CAVITIES_BUILT = Share("ok", at_least=0.15)


@CAVITIES_BUILT.required
@settings(max_examples=40, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(cavity_specs())
def test_random_cavities_never_crash(data):
    kind, detail = family_outcome(data, CAVITY_RULES)
    CAVITIES_BUILT.saw(kind)
    if kind == "ok":
        die_pads_connected(detail.board)


@pytest.mark.kicad
def test_random_clean_cavities_pass_kicad_drc(kicad_cli, tmp_path):
    """The first few clean boards of a fixed random sequence: KiCad agrees there is nothing wrong."""
    clean_boards_pass_kicad_drc(kicad_cli, tmp_path, cavity_specs(), CAVITY_RULES)
