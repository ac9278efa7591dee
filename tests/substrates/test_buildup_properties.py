"""Properties over random build-up substrates: a KiCad-DRC-clean board or a clean refusal, never a crash.

KiCad runs are expensive (~1 s each), so the KiCad property draws few examples; the
pure-Python property (refusals name a rule or a field) draws more.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from kisubstrate.api.specs import validate_spec
from kisubstrate.api.substrate import build_substrate, substrate_files
from kisubstrate.kicad.sexpr import find_all, loads
from kisubstrate.model.errors import SpecError
from kisubstrate.model.grid import row_names
from property_util import Share
from stack_util import kicad_drc, write_result

RULE_IDS = {"copper_clearance", "annular_ring", "hole_to_hole", "copper_to_edge", "microvia_aspect_ratio",
            "microvia_depth", "microvia_span", "microvia_stack", "mask_web", "terminal_outside_body",
            "die_outside_body", "track_width", "via_drill", "via_diameter", "unrouted", "unconnected"}
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
                          "land": round(0.45 * pitch, 3), **grid}}


@st.composite
def mapped_buildup_specs(draw):
    """A build-up spec with a die pad map (some pads with nets) and a ball map giving those nets to
    drawn balls, anywhere on the grid (inner balls without a trace layer must be refused by name).

    Returns (spec data, {file name: CSV text}); the caller writes the files next to the spec.
    """
    data = draw(buildup_specs(thin=True))
    die = data["dies"][0]["size"][0]
    per = data["dies"][0]["pads"]["peripheral"]
    pitch, n = per["pitch"], per["per_side"]
    half = die / 2 - 0.15
    start = -(n - 1) * pitch / 2
    pads = []
    for k in range(n):
        t = round(start + k * pitch, 4)
        pads += [(f"T{k}", t, -half), (f"R{k}", half, t), (f"B{k}", -t, half), (f"L{k}", -half, -t)]
    k_nets = draw(st.integers(1, min(6, len(pads))))
    with_net = draw(st.lists(st.integers(0, len(pads) - 1), min_size=k_nets, max_size=k_nets, unique=True))
    cols, rows = data["terminals"]["layout"]
    balls = draw(st.lists(st.tuples(st.integers(0, rows - 1), st.integers(0, cols - 1)), min_size=k_nets,
                          max_size=k_nets, unique=True))
    letters = row_names(rows)
    net_of = {pads[i][0]: f"N{j}" for j, i in enumerate(with_net)}
    pad_csv = "pad,x,y,net\n" + "".join(f"{name},{x},{y},{net_of.get(name, '')}\n" for name, x, y in pads)
    ball_csv = "ball,net\n" + "".join(f"{letters[r]}{c + 1},N{j}\n" for j, (r, c) in enumerate(balls))
    data["dies"][0]["pads"] = {"map": "pads.csv"}
    data["terminals"].pop("stagger", None)  # every drawn (row, column) is a site
    data["terminals"].pop("perimeter_rings", None)
    data["terminals"]["ball_map"] = "balls.csv"
    return data, {"pads.csv": pad_csv, "balls.csv": ball_csv}


def outcome(data, base_dir: str | None = None):
    """('refused', field), ('violations', rules) or ('ok', result); every built board is written
    (all project files rendered, the board parsed back with the item counts of the geometry)."""
    try:
        spec = validate_spec(data, base_dir=base_dir) if base_dir else validate_spec(data)
        result = build_substrate(spec)
    except SpecError as exc:
        assert str(exc) and exc.reason, "a refusal says why"
        return "refused", exc.field
    files = substrate_files(result)
    assert sorted(files) == sorted(f"{result.name}{s}" for s in (".kicad_pcb", ".kicad_pro", ".kicad_dru",
                                                                 ".kisubstrate.json", "-nets.csv", "-bumps.csv",
                                                                 "-fab-notes.txt"))
    tree = loads(files[f"{result.name}.kicad_pcb"])
    b = result.board
    assert (sum(1 for _ in find_all(tree, "via")), sum(1 for _ in find_all(tree, "segment"))) == \
        (len(b.vias), len(b.tracks))
    if not result.report.ok:
        rules = {v.rule for v in result.report.violations}
        assert rules <= RULE_IDS
        return "violations", rules
    return "ok", result


# each property below holds vacuously if every spec is refused, so each requires a share of clean builds:
# random samples of 60 build 5 to 30 clean (30 runs), so at least 2 of 60 must (a random, not a fixed sample)
BUILDUPS_BUILT = Share("ok", at_least=0.03)


@BUILDUPS_BUILT.required
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(buildup_specs())
def test_random_buildups_never_crash(data):
    kind, detail = outcome(data)
    BUILDUPS_BUILT.saw(kind)
    if kind == "refused":
        assert detail in {None, "stackup.layers", "terminals", "dies", "carrier.balls", "carrier.net",
                          "terminals.ball_map"} or \
            detail.startswith(("dies", "terminals", "stackup", "vias", "body")), detail
    elif kind == "ok":
        b = detail.board
        assert b.copper == len(data["stackup"]["layers"]) // 2 + 1
        assert len(b.nets) - 1 >= 4 * data["dies"][0]["pads"]["peripheral"]["per_side"]


@settings(max_examples=1, derandomize=True, database=None, phases=[Phase.generate], deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(st.lists(buildup_specs(thin=True), min_size=24, max_size=24))
def test_a_fixed_sample_of_thin_buildups_is_mostly_routable(batch):
    """A fixed (derandomised) sample: at least a third of thin build-ups reach 'ok' (about 60 % do),
    so the properties above are not vacuously true on refusals."""
    kinds = [outcome(d)[0] for d in batch]
    assert kinds.count("ok") >= len(batch) // 3, kinds


# random samples of 25 mapped specs build 1 to 11 clean (most draw a ball the router cannot reach, or route
# too close): too few for a share of a random sample, so the sample is fixed (derandomised); it builds 2 of 25
# clean, and at least 1 must
MAPPED_BUILT = Share("ok", at_least=0.04)


@MAPPED_BUILT.required
@settings(max_examples=25, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(mapped_buildup_specs())
def test_net_mapped_buildups_route_each_net_to_its_ball(case):
    """Pads with nets go to the ball carrying the net, or the build is refused naming the field."""
    data, csvs = case
    with tempfile.TemporaryDirectory() as tmp:
        for name, text in csvs.items():
            (Path(tmp) / name).write_text(text)
        kind, detail = outcome(data, base_dir=tmp)
    MAPPED_BUILT.saw(kind)
    if kind == "refused":
        assert detail is not None, "a refusal of a mapped spec names its field"
        return
    if kind == "ok":
        b = detail.board
        net_of = {(b.pads.owner[i], b.pads.name[i]): b.nets[int(b.pads.net[i])] for i in range(len(b.pads))}
        want = {}
        for line in csvs["balls.csv"].splitlines()[1:]:
            ball, net = line.split(",")
            want[ball] = net
        for ball, net in want.items():
            assert net_of[("BALLS", ball)] == net
            pad = [p for (o, p), n in net_of.items() if n == net and o == "U1"]
            assert len(pad) == 1, (net, pad)
            assert int(np.count_nonzero(b.tracks.net == b.nets.index(net))) >= 1


# a fixed (derandomised) sample of 8 thin build-ups, 2 of them clean (random samples: 3 to 7): KiCad checks
# at least 1
CLEAN_FOR_KICAD = Share("ok", at_least=0.125)


@pytest.mark.kicad
@CLEAN_FOR_KICAD.required
@settings(max_examples=8, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(data=buildup_specs(thin=True))  # thin build-up dielectrics: mostly routable boards
def test_random_clean_buildups_pass_kicad_drc(kicad_cli, tmp_path_factory, data):
    kind, detail = outcome(data)
    CLEAN_FOR_KICAD.saw(kind)
    if kind != "ok":
        return
    pcb = write_result(detail, tmp_path_factory.mktemp("prop"))
    report = kicad_drc(kicad_cli, pcb)
    assert report["violations"] == [] and report["unconnected_items"] == [], \
        (data, [(v["type"], v["description"]) for v in report["violations"][:5]])


@st.composite
def netlist_buildup_specs(draw):
    """A build-up spec with a pinout: GND and VDD on many balls (planes on copper 3 / 4 and the carrier),
    signals on balls clear of the die, a few NC; the die's peripheral pads planned from it.

    Returns (spec data, {file name: CSV text}).
    """
    pitch = draw(st.sampled_from([0.8, 1.0]))
    n = draw(st.integers(7, 11))
    body = round(n * pitch + draw(st.sampled_from([0.6, 1.0])), 3)
    die = round(draw(st.floats(1.2, 0.4 * n * pitch)), 2)
    pad_pitch = draw(st.sampled_from([0.2, 0.25, 0.3]))
    per_side = draw(st.integers(2, max(2, min(16, int((die - 0.4) / pad_pitch)))))
    letters = row_names(n)
    half = (n - 1) / 2
    clear, inner = [], []
    for r in range(n):
        for c in range(n):
            x, y = (c - half) * pitch, (r - half) * pitch
            (clear if max(abs(x), abs(y)) > die / 2 + 0.5 else inner).append(f"{letters[r]}{c + 1}")
    n_sig = draw(st.integers(1, max(1, min(4 * per_side - 2, len(clear) - 2))))
    order = draw(st.permutations(clear))
    nets = {b: f"SIG{k}" for k, b in enumerate(order[:n_sig])}
    rest = list(order[n_sig:]) + inner
    rest.sort()
    kinds = draw(st.lists(st.sampled_from(["GND", "GND", "VDD", "NC"]), min_size=len(rest), max_size=len(rest)))
    nets.update(zip(rest, kinds))
    for must in ("GND", "VDD"):  # both rails on at least one ball
        if must not in nets.values():
            nets[rest[0 if must == "GND" else -1]] = must
    if "GND" not in nets.values():
        return draw(netlist_buildup_specs())
    signal_layers = draw(st.integers(1, 2))
    layers = [{"copper": 0.015}]
    for role in ["signal"] * signal_layers + ["GND", "VDD"]:
        layers.append({"dielectric": 0.03, "material": "ABF"})
        layers.append({"copper": 0.015, "role": "signal"} if role == "signal" else
                      {"copper": 0.015, "role": "plane", "nets": [role]})
    layers += [{"dielectric": 0.03, "material": "ABF"}, {"copper": 0.015}]
    data = {"family": "buildup", "name": "NETS", "body": [body, body], "stackup": {"layers": layers},
            "dies": [{"size": [die, die], "pads": {"peripheral": {"per_side": per_side, "pitch": pad_pitch}}}],
            "carrier": {"net": "GND"},
            "terminals": {"pitch": pitch, "layout": [n, n], "ball_diameter": round(0.5 * pitch, 3),
                          "land": round(0.45 * pitch, 3), "ball_map": "balls.csv"}}
    return data, {"balls.csv": "ball,net\n" + "".join(f"{b},{v}\n" for b, v in sorted(nets.items()))}


# a fixed (derandomised) sample of 6 pinouts: KiCad checks every one that builds clean, at least 2
NETLISTS_CLEAN = Share("ok", at_least=0.3)


@pytest.mark.kicad
@NETLISTS_CLEAN.required
@settings(max_examples=6, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(case=netlist_buildup_specs())
def test_random_pinouts_connect_every_ball_and_pass_kicad_drc(kicad_cli, tmp_path_factory, case):
    """Whenever a pinout builds clean, every ball not marked NC carries its net and KiCad's DRC finds 0 errors
    and 0 unconnected items; otherwise the refusal names a field or a rule."""
    data, csvs = case
    with tempfile.TemporaryDirectory() as tmp:
        for name, text in csvs.items():
            (Path(tmp) / name).write_text(text)
        kind, detail = outcome(data, base_dir=tmp)
    NETLISTS_CLEAN.saw(kind)
    if kind == "refused":
        assert detail is not None
        return
    if kind != "ok":
        return
    b = detail.board
    want = dict(line.split(",") for line in csvs["balls.csv"].splitlines()[1:])
    got = {b.pads.name[i]: b.nets[int(b.pads.net[i])] for i, o in enumerate(b.pads.owner) if o == "BALLS"}
    assert {k: v for k, v in got.items() if v} == {k: v for k, v in want.items() if v != "NC"}
    pcb = write_result(detail, tmp_path_factory.mktemp("nets"))
    report = kicad_drc(kicad_cli, pcb)
    assert report["violations"] == [] and report["unconnected_items"] == [], \
        (data, csvs, [(v["type"], v["description"]) for v in report["violations"][:5]])
