"""Properties over random build-up substrates: a KiCad-DRC-clean board or a clean refusal, never a crash.

KiCad runs are expensive (~1 s each), so the KiCad property draws few examples; the
pure-Python property (refusals name a rule or a field) draws more.
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kisubstrate.api import validate_spec
from kisubstrate.model.errors import SpecError
from kisubstrate.substrate_api import build_substrate
from test_substrate import kicad_drc, write_result

RULE_IDS = {"copper_clearance", "annular_ring", "hole_to_hole", "copper_to_edge", "microvia_aspect_ratio",
            "microvia_depth", "microvia_span", "microvia_stack", "mask_web", "terminal_outside_body",
            "die_outside_body"}
MATERIALS = ["ABF", "BT", "FR-4", "FR-5", "polyimide", "BCB", "PTFE", "epoxy", "ceramic"]


@st.composite
def buildup_specs(draw, thin: bool = False):
    n_cu = draw(st.integers(3, 6))
    layers = []
    for k in range(n_cu):
        layers.append({"copper": draw(st.sampled_from([0.01, 0.012, 0.015, 0.018]))})
        if k < n_cu - 1:
            layers.append({"dielectric": draw(st.sampled_from([0.025, 0.03, 0.035] + ([] if thin else [0.045, 0.06]))),
                           "material": draw(st.sampled_from(MATERIALS))})
    pitch = draw(st.sampled_from([0.65, 0.8, 1.0]))
    cols = draw(st.integers(6, 14))
    rows = draw(st.integers(6, 14))
    body = [round(cols * pitch + draw(st.sampled_from([0.4, 1.0, 2.0])), 3),
            round(rows * pitch + draw(st.sampled_from([0.4, 1.0, 2.0])), 3)]
    die = [round(draw(st.floats(1.5, 0.6 * min(body))), 2)] * 2
    pad_pitch = draw(st.sampled_from([0.15, 0.2, 0.25, 0.3]))
    max_side = max(1, int((die[0] - 0.5) / pad_pitch))
    per_side = draw(st.integers(1, min(max_side, 24)))
    grid = {}
    stagger = draw(st.sampled_from([None, None, "a1", "b1"]))
    if stagger:
        grid["stagger"] = stagger
    rings = draw(st.integers(0, 2))
    if rings and 2 * rings < min(cols, rows):
        grid["perimeter_rings"] = rings
    return {"family": "buildup", "name": "PROP", "body": body, "stackup": {"layers": layers},
            "dies": [{"size": die, "pads": {"peripheral": {"per_side": per_side, "pitch": pad_pitch}}}],
            "terminals": {"pitch": pitch, "layout": [cols, rows], "ball_diameter": round(0.5 * pitch, 3),
                          "land": round(0.45 * pitch, 3), **grid},
            "vias": {"columns": draw(st.sampled_from(["stacked", "staggered"])),
                     "stagger": draw(st.sampled_from([0.0, 0.15]))}}


def outcome(data):
    """('refused', field), ('violations', rules) or ('ok', result)."""
    try:
        spec = validate_spec(data)
        result = build_substrate(spec)
    except SpecError as exc:
        assert str(exc) and exc.reason, "a refusal says why"
        return "refused", exc.field
    if not result.report.ok:
        rules = {v.rule for v in result.report.violations}
        assert rules <= RULE_IDS
        return "violations", rules
    return "ok", result


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(buildup_specs())
def test_random_buildups_never_crash(data):
    kind, detail = outcome(data)
    if kind == "refused":
        assert detail is None or isinstance(detail, str)
    elif kind == "ok":
        b = detail.board
        assert b.copper == len(data["stackup"]["layers"]) // 2 + 1
        assert len(b.nets) - 1 >= 4 * data["dies"][0]["pads"]["peripheral"]["per_side"]


@pytest.mark.kicad
@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                 HealthCheck.function_scoped_fixture])
@given(data=buildup_specs(thin=True))  # thin build-up dielectrics: mostly routable boards
def test_random_clean_buildups_pass_kicad_drc(kicad_cli, tmp_path_factory, data):
    kind, detail = outcome(data)
    if kind != "ok":
        return
    pcb = write_result(detail, tmp_path_factory.mktemp("prop"))
    report = kicad_drc(kicad_cli, pcb)
    assert report["violations"] == [] and report["unconnected_items"] == [], \
        (data, [(v["type"], v["description"]) for v in report["violations"][:5]])
