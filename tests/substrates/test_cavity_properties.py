"""Properties over random cavity and PoP packages: a KiCad-DRC-clean board or a clean refusal (an input
error naming a field, or violations of known rules), never a crash; clean boards route every die pad."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from kisubstrate.api.footprint import build_footprints
from kisubstrate.api.specs import validate_spec
from kisubstrate.api.substrate import build_substrate, substrate_files
from kisubstrate.model.errors import SpecError
from stack_util import kicad_drc, write_result

BOARD_RULES = {"copper_clearance", "annular_ring", "hole_to_hole", "copper_to_edge", "microvia_aspect_ratio",
               "microvia_depth", "microvia_span", "microvia_stack", "mask_web", "terminal_outside_body",
               "die_outside_body"}
CAVITY_RULES = {"cavity_land_floor", "sidewall_hole_wall", "sidewall_hole_outline", "die_fits_cavity",
                "encapsulation_cover", "cavity_depth", "cavity_removed_layer"}
POP_RULES = {"pop_zstack", "pop_standoff", "pop_via_under_die"}


@st.composite
def cavity_specs(draw):
    pitch = draw(st.sampled_from([0.8, 1.0]))
    rows = draw(st.integers(1, 3))
    n = draw(st.integers(2 * rows + 4, 16))
    body = round(n * pitch + draw(st.sampled_from([0.6, 1.0, 1.6])), 3)
    ring_inner = (n - 1 - 2 * (rows - 1)) * pitch / 2  # centre of the innermost hole row
    cav = round(2 * (ring_inner - draw(st.sampled_from([0.5, 0.35, 0.25]))), 3)
    die = round(draw(st.floats(1.0, max(1.1, cav - 0.4))), 2)
    gap = draw(st.sampled_from([0.2, 0.35, 0.6]))
    pad_pitch = draw(st.sampled_from([0.15, 0.2, 0.25]))
    channels = int((min(die + 2 * gap, cav) - 0.5) / (pitch / 2 if rows > 1 else pitch))  # about
    per_side = draw(st.integers(1, max(1, min(16, int((die - 0.3) / pad_pitch), channels))))
    return {
        "family": "cavity", "name": "PROP-CAV", "body": [body, body], "rules": "substrate-hdi",
        "stackup": {"layers": [{"copper": 0.018}, {"dielectric": draw(st.sampled_from([0.5, 0.4, 0.3])),
                                                   "material": "BT"},
                               {"copper": 0.018}, {"dielectric": 0.2, "material": "BT"}, {"copper": 0.035}]},
        "dies": [{"size": [die, die], "thickness": draw(st.sampled_from([0.1, 0.2])),
                  "position": [draw(st.sampled_from([0.0, 0.3, -0.2])), draw(st.sampled_from([0.0, -0.25]))],
                  "pads": {"peripheral": {"per_side": per_side, "pitch": pad_pitch, "inset": 0.1}, "size": 0.06}}],
        "cavity": {"size": [cav, cav], "corner_radius": draw(st.sampled_from([0.0, 0.3]))},
        "sidewall": {"pitch": pitch, "rows": rows, "layout": [n, n], "drill": 0.2, "annular_ring": 0.1},
        "lands": {"diameter": round(0.55 * pitch, 3), "ball_diameter": round(0.6 * pitch, 3)},
        "fingers": {"width": 0.15, "length": draw(st.sampled_from([0.2, 0.3])),
                    "gap": gap},
        "thermal_vias": (tv := draw(st.sampled_from([{"pitch": 0.6, "drill": 0.2, "pad": 0.4}, None]))),
        "heat_plate": {"net": "GND" if tv else "HEAT"}, "die_pad": {"net": "GND"},
        "encapsulation": {"margin": draw(st.sampled_from([None, 1.5, 0.5])), "height": 0.35},
    }


@st.composite
def pop_specs(draw):
    pitch = draw(st.sampled_from([0.5, 0.65]))
    nt = draw(st.integers(11, 16))
    nb = nt + 2 * draw(st.integers(0, 1))
    rings_t = draw(st.integers(1, 2))
    body = round(nb * pitch + 1.0, 3)
    inner = (nt - 1 - 2 * (rings_t - 1)) * pitch / 2
    d1 = round(draw(st.floats(1.5, max(1.6, 2 * inner - 1.5))), 2)
    d2 = round(draw(st.floats(1.5, d1)), 2)
    m = nt - 2 * (rings_t - 1)  # sites per side of the innermost top ring
    share = (4 * (m - 1) - 12) // 2  # its corners kept for pass-through, the rest split between the chips
    per1 = draw(st.integers(1, max(1, min(int((d1 - 0.3) / 0.3), share // 4))))
    per2 = draw(st.integers(1, max(1, min(int((d2 - 0.3) / 0.3), share // 4))))
    t1, t2 = draw(st.sampled_from([0.05, 0.1])), draw(st.sampled_from([0.05, 0.1]))
    bumps = [0.05, 0.05]
    resin = round(sum(bumps) + t1 + t2 + 0.02 + draw(st.sampled_from([0.0, 0.0, 0.05])), 3)
    return {
        "family": "pop", "name": "PROP-POP", "body": [body, body], "rules": "substrate-buildup",
        "trace_width": 0.04,
        "carriers": [{"core": 0.1}, {"core": 0.05, "material": "polyimide"}],
        "resin": {"thickness": resin}, "bump_heights": bumps,
        "dies": [{"name": "U1", "size": [d1, d1], "thickness": t1, "face": "down",
                  "pads": {"peripheral": {"per_side": per1, "pitch": 0.3}, "size": 0.08}},
                 {"name": "U2", "size": [d2, d2], "thickness": t2,
                  "pads": {"peripheral": {"per_side": per2, "pitch": 0.3}, "size": 0.08}}],
        "vias": {"through": {"drill": 0.12, "pad": 0.24}},
        "terminals": {"pitch": pitch, "layout": [nb, nb], "perimeter_rings": rings_t + 1 + (nb - nt) // 2,
                      "ball_diameter": round(0.5 * pitch, 3), "land": round(0.45 * pitch, 3)},
        "top_lands": {"pitch": pitch, "layout": [nt, nt], "perimeter_rings": rings_t, "land": round(0.45 * pitch, 3),
                      "ball_diameter": round(0.5 * pitch, 3)},
        "top_package": {"standoff": draw(st.sampled_from([0.2, 0.2, 0.05]))},
    }


def outcome(data, family_rules):
    """('refused', field), ('violations', rules) or ('ok', result)."""
    try:
        result = build_substrate(validate_spec(data))
    except SpecError as exc:
        assert str(exc) and exc.reason, "a refusal says why"
        return "refused", exc.field
    if not result.report.ok:
        rules = {v.rule for v in result.report.violations}
        assert rules <= BOARD_RULES | family_rules, rules
        return "violations", rules
    substrate_files(result)  # writing never fails on a clean board
    assert len(build_footprints(result.spec)) == (2 if data["family"] == "pop" else 1)  # footprints build too
    return "ok", result


def die_pads_connected(board) -> None:
    """Every die pad has a net that also reaches a terminal land (pads, vias, tracks as a graph)."""
    owners = set(board.pads.owner) - {"BALLS", "POP"}
    for i in [k for k, o in enumerate(board.pads.owner) if o in owners]:
        net = int(board.pads.net[i])
        assert net
        parent: dict = {}

        def find(a):
            while parent.setdefault(a, a) != a:
                a = parent[a]
            return a

        def node(x, y, layer):
            return (round(float(x), 6), round(float(y), 6), int(layer))

        v, t, p = board.vias, board.tracks, board.pads
        for k in np.flatnonzero(v.net == net):
            for layer in range(int(v.top[k]), int(v.bottom[k])):
                parent[find(node(v.x[k], v.y[k], layer))] = find(node(v.x[k], v.y[k], layer + 1))
        for k in np.flatnonzero(t.net == net):
            parent[find(node(t.x1[k], t.y1[k], t.layer[k]))] = find(node(t.x2[k], t.y2[k], t.layer[k]))
        roots = {find(node(p.x[k], p.y[k], p.layer[k])) for k in np.flatnonzero(p.net == net)}
        assert len(roots) == 1 and sum(1 for k in np.flatnonzero(p.net == net) if p.owner[k] in ("BALLS", "POP")) >= 1


@settings(max_examples=40, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(cavity_specs())
def test_random_cavities_never_crash(data):
    kind, detail = outcome(data, CAVITY_RULES)
    if kind == "ok":
        die_pads_connected(detail.board)


@settings(max_examples=40, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(pop_specs())
def test_random_pops_never_crash(data):
    kind, detail = outcome(data, POP_RULES)
    if kind == "ok":
        die_pads_connected(detail.board)
        assert len(detail.board.vias) == sum(1 for o in detail.board.pads.owner if o == "POP")


def _drc(cli, result, folder):
    return kicad_drc(cli, write_result(result, folder))


@pytest.mark.kicad
@pytest.mark.parametrize("strategy,rules", [(cavity_specs(), CAVITY_RULES), (pop_specs(), POP_RULES)],
                         ids=["cavity", "pop"])
def test_random_clean_boards_pass_kicad_drc(kicad_cli, tmp_path, strategy, rules):
    """The first few clean boards of a fixed random sequence: KiCad agrees there is nothing wrong."""
    clean = []

    @settings(max_examples=30, deadline=None, derandomize=True, database=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
    @given(strategy)
    def collect(data):
        kind, detail = outcome(data, rules)
        if kind == "ok" and len(clean) < 2:
            clean.append(detail)

    collect()
    assert clean, "the strategy should yield clean boards"
    for k, result in enumerate(clean):
        report = _drc(kicad_cli, result, tmp_path / str(k))
        assert report["violations"] == [] and report["unconnected_items"] == [], \
            [(v["type"], v["description"]) for v in report["violations"][:5]]
