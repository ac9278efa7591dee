"""Build-up family (family: buildup) on the substrate pipeline: the example's vendor-style pinout (power and
ground on many balls through planes, die pads planned from the ball map) connects every ball but the NC ones,
KiCad accepts it (DRC 0 errors / 0 unconnected), applies its rules file and project, reads back the spec and
exports fab files; odd stacks, blind vias through a core, pad maps with nets, the carrier, refusals."""

from __future__ import annotations

import json

import numpy as np
import pytest

from conftest import EXAMPLES, KICAD_MAJOR, run_pcbnew
from kisubstrate.api.specs import load_specs, validate_spec
from kisubstrate.api.substrate import build_substrate, substrate_files
from kisubstrate.families.buildup import terminal_sites
from kisubstrate.kicad.board import item_uuid
from kisubstrate.model.errors import SpecError
from stack_util import drc_types, kicad_drc, small_buildup, write_result

EXAMPLE = EXAMPLES / "buildup.yaml"


def example_spec():
    return load_specs([EXAMPLE])[0].spec


# ---------------------------------------------------------------------------------------------
def ball_map_counts() -> dict[str, int]:
    """Balls per net of the example's pinout (buildup_balls.csv), NC included."""
    nets = [line.split(",")[1] for line in (EXAMPLES / "buildup_balls.csv").read_text().splitlines()[1:]]
    return {n: nets.count(n) for n in set(nets)}


def test_example_connects_every_ball_of_its_pinout():
    """The vendor-style pinout: GND on 69 balls, VDD_CORE on 41, VDD_IO on 20, 62 signals, 4 NC corners;
    every ball but the 4 NC carries its net, the die's 96 pads are planned from the map (62 signals, 34
    power/ground pads interleaved) and every signal is routed on copper 2."""
    spec = example_spec()
    result = build_substrate(spec)
    assert result.report.ok, result.report.text()
    b = result.board
    assert b.copper == 6
    die = np.array([i for i, o in enumerate(b.pads.owner) if o == "U1"])
    balls = np.array([i for i, o in enumerate(b.pads.owner) if o == "BALLS"])
    assert len(die) == 96 and len(balls) == 196
    ball_net = {b.pads.name[i]: b.nets[int(b.pads.net[i])] for i in balls}
    counts = ball_map_counts()
    assert (counts["GND"], counts["VDD_CORE"], counts["VDD_IO"], counts["NC"]) == (69, 41, 20, 4)
    for net in ("GND", "VDD_CORE", "VDD_IO"):
        assert sum(1 for n in ball_net.values() if n == net) == counts[net]
    assert sorted(n for n, net in ball_net.items() if net == "") == ["A1", "A14", "P1", "P14"]  # only NC dead
    pad_net = [b.nets[int(b.pads.net[i])] for i in die]
    signals = sorted(n for n, c in counts.items() if c == 1)
    assert len(signals) == 62 and sorted(n for n in pad_net if n in signals) == signals
    assert {n: pad_net.count(n) for n in ("GND", "VDD_CORE", "VDD_IO")} == {"GND": 17, "VDD_CORE": 9, "VDD_IO": 8}
    # power/ground pads interleaved: going round the die, never more than 2 signal pads in a row
    ang = np.arctan2(b.pads.y[die], b.pads.x[die])
    kinds = [pad_net[k] in signals for k in np.argsort(ang)]
    run = longest = 0
    for sig in kinds + kinds:
        run = run + 1 if sig else 0
        longest = max(longest, run)
    assert longest == 2
    # signals in the angular order of their balls: one cyclic descent only
    where = {n: (b.pads.x[i], b.pads.y[i]) for i in balls for n in [b.nets[int(b.pads.net[i])]] if n in signals}
    ball_ang = [np.arctan2(where[pad_net[k]][1], where[pad_net[k]][0]) for k in np.argsort(ang) if
                pad_net[k] in signals]
    assert sum(1 for x, y in zip(ball_ang, ball_ang[1:] + ball_ang[:1]) if y < x) == 1
    routing = b.extras.sidecar["routing"]
    assert routing["unrouted"] == [] and routing["signal_layers_used"] == ["L2"]
    assert routing["no_connect"] == ["A1", "A14", "P1", "P14"]
    for net in signals:
        m = routing["nets"][net]
        assert m["kind"] == "signal" and set(m["length_by_layer_mm"]) == {"L2"} and 2.5 < m["length_mm"] < 8
        assert m["vias"] == 5  # one microvia from the pad to copper 2, four from copper 2 down to the ball
    assert {n: routing["nets"][n]["layer"] for n in ("GND", "VDD_CORE", "VDD_IO")} == \
        {"GND": "L1,L3", "VDD_CORE": "L4", "VDD_IO": "L5"}
    # only microvias, one dielectric each; zones: the carrier (GND, copper 1), GND, VDD_CORE, VDD_IO planes
    assert set(b.vias.kind) == {"micro"} and (b.vias.bottom - b.vias.top == 1).all()
    assert sorted((z.layers[0], b.nets[z.net]) for z in b.zones if z.keepout is None) == \
        [(0, "GND"), (2, "GND"), (3, "VDD_CORE"), (4, "VDD_IO")]
    carrier = next(z for z in b.zones if z.layers == (0,) and z.keepout is None)
    cavity = next(z for z in b.zones if z.name == "cavity")
    assert cavity.outline.bounds == pytest.approx((-3.1, -3.1, 3.1, 3.1))
    # the body less the 0.1 mm edge pull-back and the cavity: no other net's copper on copper 1 outside the cavity
    assert carrier.fill.intersection(cavity.outline).area == 0
    assert carrier.fill.area == pytest.approx(14.8 ** 2 - 6.2 ** 2, abs=0.01)


def test_routes_are_connected_graphs():
    """Per signal net: die pad → via column → tracks → via column → ball form one connected graph (our own proof)."""
    b = build_substrate(example_spec()).board
    signal = {n for n, m in b.extras.sidecar["routing"]["nets"].items() if m["kind"] == "signal"}
    assert len(signal) == 62
    for net in range(1, len(b.nets)):
        if b.nets[net] not in signal:
            continue
        nodes = {}

        def node(x, y, layer, nodes=nodes):  # this net's nodes and union-find forest (bound per net)
            return nodes.setdefault((round(x, 6), round(y, 6), layer), len(nodes))

        parent = {}

        def find(a, parent=parent):
            while parent.setdefault(a, a) != a:
                a = parent[a]
            return a

        def union(a, c, parent=parent):
            parent[find(a)] = find(c)

        for i in np.flatnonzero(b.pads.net == net):
            find(node(b.pads.x[i], b.pads.y[i], int(b.pads.layer[i])))
        for i in np.flatnonzero(b.vias.net == net):
            for layer in range(int(b.vias.top[i]), int(b.vias.bottom[i])):
                union(node(b.vias.x[i], b.vias.y[i], layer), node(b.vias.x[i], b.vias.y[i], layer + 1))
        for i in np.flatnonzero(b.tracks.net == net):
            t = b.tracks
            union(node(t.x1[i], t.y1[i], int(t.layer[i])), node(t.x2[i], t.y2[i], int(t.layer[i])))
        pads = [node(b.pads.x[i], b.pads.y[i], int(b.pads.layer[i])) for i in np.flatnonzero(b.pads.net == net)]
        assert len(pads) == 2 and find(pads[0]) == find(pads[1]), b.nets[net]


def test_output_is_deterministic():
    spec = example_spec()
    a = substrate_files(build_substrate(spec))
    b = substrate_files(build_substrate(spec))
    assert a == b
    text = a[f"{spec.resolved_name}.kicad_pcb"]
    assert text.count("(uuid ") == len(set(line for line in text.split("(uuid ")[1:]))


def test_footprint_and_substrate_agree_on_balls():
    """Same names, count, A1 corner; substrate coordinates are the package top view (die side up),
    so ball (x, y) on the substrate's B.Cu equals the footprint pad (x, y); seen from below
    (a package 'bottom view') the substrate is mirrored in x."""
    from kisubstrate.api.footprint import build_footprints

    spec = example_spec()
    fp = build_footprints(spec)[0]
    assert fp.report.ok
    table = {name: (x, y) for name, x, y, _w, _h in fp.geometry.pad_table()}
    board = build_substrate(spec).board
    balls = {board.pads.name[i]: (float(board.pads.x[i]), float(board.pads.y[i]))
             for i, o in enumerate(board.pads.owner) if o == "BALLS"}
    assert set(table) == set(balls) and len(balls) == 196
    for name, (x, y) in table.items():
        assert balls[name] == pytest.approx((x, y), abs=1e-9)
    assert table["A1"] == (-6.5, -6.5)  # A1 top-left in the top view
    bottom_view_a1 = (-balls["A1"][0], balls["A1"][1])
    assert bottom_view_a1 == (6.5, -6.5)  # top-right when the package is seen from its ball side
    ball_layer = {int(board.pads.layer[i]) for i, o in enumerate(board.pads.owner) if o == "BALLS"}
    assert ball_layer == {board.copper - 1}
    sites = terminal_sites(spec)
    assert sites.names[0] == "A1" and len(sites.names) == fp.geometry.pad_count
    # each footprint pad carries its ball's routed package length as KiCad's die length (0 on planes and NC)
    nets = board.extras.sidecar["routing"]["nets"]
    net_of = {board.pads.name[i]: board.nets[int(board.pads.net[i])] for i, o in enumerate(board.pads.owner)
              if o == "BALLS"}
    die_length = {n: float(v) for g in fp.geometry.pads for n, v in zip(g.names, g.die_length)}
    for ball, net in net_of.items():
        want = nets[net]["length_mm"] if net in nets and nets[net]["kind"] == "signal" else 0.0
        assert die_length[ball] == pytest.approx(want, abs=1e-9), ball
    assert sum(1 for v in die_length.values() if v > 2.5) == 62
    assert die_length["A2"] == nets["DQ0"]["length_mm"] > 4


def test_cli_exit_codes(cli_runner, tmp_path):
    code, out, _err = cli_runner("substrate", EXAMPLE, "-o", tmp_path / "ok")
    assert code == 0 and "6 Cu" in out and "routed 62 signal net(s) on L2" in out
    assert sorted(p.name.replace(example_spec().resolved_name, "") for p in (tmp_path / "ok").iterdir()
                  if not p.name.startswith(".")) == \
        ["-bumps.csv", "-fab-notes.txt", "-nets.csv", ".kicad_dru", ".kicad_pcb", ".kicad_pro", ".kisubstrate.json",
         "kisubstrate_Substrates.kicad_sym"]  # + the package symbol
    # die pads at 0.14 mm pitch: no room for a microvia (0.12 mm pad) under each with 25 um clearance;
    # every signal is unrouted and named: exit 1, nothing written
    bad = tmp_path / "bad.yaml"
    (tmp_path / "buildup_balls.csv").write_text((EXAMPLES / "buildup_balls.csv").read_text())
    bad.write_text(EXAMPLE.read_text().replace("pitch: 0.2, inset: 0.15", "pitch: 0.14, inset: 0.15")
                   .replace("per_side: 24", "per_side: 20"))
    code, out, _err = cli_runner("substrate", bad, "-o", tmp_path / "bad")
    assert code == 1 and "unrouted 62" in out and not (tmp_path / "bad").exists()
    code, _out, _err = cli_runner("substrate", bad, "-o", tmp_path / "bad", "--no-check")
    assert code == 0 and (tmp_path / "bad").exists()
    # invalid input: exit 2 naming the field
    wrong = tmp_path / "wrong.yaml"
    wrong.write_text(EXAMPLE.read_text().replace("material: ABF", "material: Unobtainium", 1))
    code, _out, err = cli_runner("substrate", wrong, "-o", tmp_path / "wrong")
    assert code == 2 and "Unobtainium" in err and "stackup" in err


# ---------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def example_board(tmp_path_factory):
    spec = example_spec()
    result = build_substrate(spec)
    return result, write_result(result, tmp_path_factory.mktemp("buildup"))


@pytest.mark.kicad
def test_example_passes_kicad_drc(kicad_cli, example_board):
    _result, pcb = example_board
    report = kicad_drc(kicad_cli, pcb)
    assert report["violations"] == [] and report["unconnected_items"] == []
    assert report["kicad_version"].split(".")[0] == str(KICAD_MAJOR)  # the oracle named in the header
    everything = kicad_drc(kicad_cli, pcb, severity="--severity-all")  # not even a warning
    assert everything["violations"] == [], drc_types(everything)


@pytest.mark.kicad
def test_kicad_applies_rules_file_and_project(kicad_cli, example_board, tmp_path):
    """KiCad silently drops a bad .kicad_dru: a canary rule appended to a copy must fire on every track;
    the .kicad_pro must be read too (a raised min clearance → clearance errors)."""
    result, pcb = example_board
    for f in pcb.parent.iterdir():
        if f.suffix in (".kicad_pcb", ".kicad_pro", ".kicad_dru"):
            (tmp_path / f.name).write_text(f.read_text())
    dru = tmp_path / pcb.with_suffix(".kicad_dru").name
    dru.write_text(dru.read_text() + '(rule "canary"\n\t(constraint track_width (min 5mm)))\n')
    report = kicad_drc(kicad_cli, tmp_path / pcb.name)
    # KiCad reports at most 199 violations of one type (seen with KiCad 9.0.8 and 10.0.6)
    assert len(result.board.tracks) > 199 and drc_types(report).get("track_width") == 199
    pro = tmp_path / pcb.with_suffix(".kicad_pro").name
    data = json.loads(pro.read_text())
    assert data["board"]["design_settings"]["rule_severities"]["creepage"] == "ignore"
    # the project file is read: without the rules file, a raised board minimum fires (observed with
    # KiCad 9.0.8: a looser .kicad_dru rule takes precedence over the board minimum when present)
    dru.unlink()
    data["board"]["design_settings"]["rules"]["min_clearance"] = 0.2
    pro.write_text(json.dumps(data))
    report = kicad_drc(kicad_cli, tmp_path / pcb.name)
    assert drc_types(report).get("clearance", 0) > 0


@pytest.mark.kicad
def test_pcbnew_reads_back_the_spec(pcbnew_python, example_board):
    result, pcb = example_board
    spec = result.spec
    script = r"""
import json, sys, pcbnew
b = pcbnew.LoadBoard(sys.argv[1])
ds = b.GetDesignSettings()
pcbnew.SaveBoard(sys.argv[2], b)  # KiCad re-emits the stackup it parsed
vias = {}
for t in b.GetTracks():
    if t.GetClass() == "PCB_VIA":
        key = VIA_KINDS[int(t.GetViaType())]  # conftest.PCBNEW_COMPAT
        vias[key] = vias.get(key, 0) + 1
balls = {}
for fp in b.GetFootprints():
    for p in fp.Pads():
        if fp.GetReference() == "J1":
            balls[p.GetNumber()] = [round(pcbnew.ToMM(p.GetPosition().x), 6), round(pcbnew.ToMM(p.GetPosition().y), 6),
                                    pcbnew.BOARD.GetStandardLayerName(p.GetLayer()) if hasattr(p, "GetLayer") else ""]
nets = sum(1 for n in b.GetNetsByNetcode() if n > 0)
print(json.dumps({"copper": b.GetCopperLayerCount(), "vias": vias, "nets": nets,
                  "balls": balls, "thickness": round(pcbnew.ToMM(ds.GetBoardThickness()), 6)}))
"""
    saved = pcb.parent / "resaved.kicad_pcb"
    got = run_pcbnew(pcbnew_python, script, str(pcb), str(saved))
    from kisubstrate.kicad.sexpr import find_all, loads

    layers = []
    for lay in next(find_all(loads(saved.read_text()), "stackup"))[1:]:
        if not isinstance(lay, list) or lay[0] != "layer":
            continue
        props = {p[0]: p[1] for p in lay[2:] if isinstance(p, list) and len(p) > 1}
        if props.get("type") == "copper":
            layers.append(["copper", float(props["thickness"]), lay[1]])
        elif props.get("type") in ("core", "prepreg"):
            layers.append(["dielectric", float(props["thickness"]), props["material"],
                           float(props["epsilon_r"]), float(props["loss_tangent"])])
    got["layers"] = layers
    assert got["copper"] == spec.stackup.copper_count == 6
    want = []
    ci = 0
    names = ["F.Cu", "In1.Cu", "In2.Cu", "In3.Cu", "In4.Cu", "B.Cu"]
    for lay in spec.stackup.layers:
        if lay.is_copper:
            want.append(["copper", lay.thickness, names[ci]])
            ci += 1
        else:
            m = spec.stackup.material(lay.material)
            want.append(["dielectric", lay.thickness, lay.material, m.epsilon_r, m.loss_tangent])
    assert got["layers"] == want
    assert got["vias"] == {"micro": len(result.board.vias)}
    assert got["nets"] == len(result.board.nets) - 1 == 65  # 62 signals, GND, VDD_CORE, VDD_IO
    sites = terminal_sites(spec)
    assert len(got["balls"]) == len(sites.names)
    for name, x, y in zip(sites.names, sites.x.tolist(), sites.y.tolist()):
        assert got["balls"][name][:2] == pytest.approx([x, y], abs=1e-6)


@pytest.mark.kicad
def test_fab_outputs(kicad_cli, cli_runner, example_board, tmp_path):
    _result, pcb = example_board
    code, out, err = cli_runner("fab", pcb.parent, "-o", tmp_path)
    assert code == 0, err
    folder = tmp_path / pcb.stem
    drills = sorted(p.name.replace(pcb.stem, "") for p in (folder / "drill").glob("*.drl"))
    assert drills == ["-front-in1.drl", "-in1-in2.drl", "-in2-in3.drl", "-in3-in4.drl", "-in4-back.drl", ".drl"]
    gerbers = {p.suffix for p in (folder / "gerber").iterdir()}
    assert {".gtl", ".g1", ".g2", ".g3", ".g4", ".gbl", ".gbrjob"} <= gerbers
    job = json.loads(next((folder / "gerber").glob("*.gbrjob")).read_text())
    materials = {m.get("Material") for m in job["MaterialStackup"] if m.get("Type") == "Dielectric"}
    assert materials == {"ABF"}
    assert (folder / f"{pcb.stem}.xml").stat().st_size > 10_000


@pytest.mark.kicad
def test_render_layers_cross_section_and_markers(kicad_cli, cli_runner, tmp_path):
    """`render` draws every copper layer and the board (kicad-cli SVG), the stackup cross-section,
    and, for a board written with --no-check, red markers at the violations on the layer pictures."""
    bad = tmp_path / "bad.yaml"
    (tmp_path / "buildup_balls.csv").write_text((EXAMPLES / "buildup_balls.csv").read_text())
    bad.write_text(EXAMPLE.read_text().replace("pitch: 0.2, inset: 0.15", "pitch: 0.14, inset: 0.15")
                   .replace("per_side: 24", "per_side: 20"))
    code, _out, _err = cli_runner("substrate", bad, "-o", tmp_path / "b", "--no-check")
    assert code == 0
    info = json.loads(next((tmp_path / "b").glob("*.kisubstrate.json")).read_text())
    n_viol = len(info["report"]["violations"])
    rules = {v["rule"] for v in info["report"]["violations"]}
    assert n_viol == 124 and rules == {"unrouted", "unconnected"}  # 62 signals: not routed, so open
    code, out, err = cli_runner("render", tmp_path / "b", "--no-png")
    assert code == 0, err
    pics = sorted(p.name.rsplit("-", 1)[-1] for p in (tmp_path / "b" / "render").iterdir()
                  if not p.name.startswith("."))
    # written through OutputPlan: manifest present, a hand-edited picture is not overwritten
    assert (tmp_path / "b" / "render" / ".kisubstrate-manifest.json").exists()
    assert pics == ["B_Cu.svg", "F_Cu.svg", "In1_Cu.svg", "In2_Cu.svg", "In3_Cu.svg", "In4_Cu.svg", "board.svg",
                    "stackup.svg", "violations.svg"]
    render = tmp_path / "b" / "render"
    board_svg = next(render.glob("*-board.svg")).read_text()
    assert sum(board_svg.count(f"<title>{rule}") for rule in rules) == n_viol
    stack = next(render.glob("*-stackup.svg")).read_text()
    assert stack.count("ABF prepreg 35.0 µm") == 5 and "micro L1-L2" in stack and "micro L5-L6" in stack
    next(render.glob("*-F_Cu.svg")).write_text("<svg/>")
    code, _out, err = cli_runner("render", tmp_path / "b", "--no-png")
    assert code == 2 and "--force" in err and next(render.glob("*-F_Cu.svg")).read_text() == "<svg/>"
    # a board kicad-cli cannot load: a clear input error (exit 2), not an internal error
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "x.kicad_pcb").write_text("(kicad_pcb (version 20241229) (oops")
    code, _out, err = cli_runner("render", broken, "--no-png")
    assert code == 2 and err.startswith("error: kicad-cli pcb export svg failed") and "internal" not in err


@pytest.mark.kicad
def test_odd_stack_maps_to_even_kicad_board(kicad_cli, tmp_path):
    """3 physical copper layers → 4 KiCad layers with an empty zero-thickness placeholder inside the
    last dielectric; the last hop is a blind via; KiCad's DRC is clean and the total thickness kept."""
    from kisubstrate.api.specs import validate_spec
    from kisubstrate.kicad.sexpr import find_all, loads

    spec = validate_spec({
        "family": "buildup", "name": "ODD3", "body": [6, 6], "carrier": None,
        "stackup": {"layers": [{"copper": 0.015}, {"dielectric": 0.035, "material": "BCB"}, {"copper": 0.015},
                               {"dielectric": 0.04, "material": "polyimide"}, {"copper": 0.015}]},
        "dies": [{"size": [2, 2], "pads": {"peripheral": {"per_side": 4, "pitch": 0.3}}}],
        "terminals": {"pitch": 1.0, "layout": [5, 5], "ball_diameter": 0.5}})
    result = build_substrate(spec)
    assert result.report.ok
    pcb = write_result(result, tmp_path)
    text = pcb.read_text()
    tree = loads(text)
    copper = [x for x in next(find_all(tree, "layers"))[1:] if x[1].endswith(".Cu")]
    assert [c[1] for c in copper] == ["F.Cu", "In1.Cu", "In2.Cu", "B.Cu"] and copper[2][3] == "unused"
    stack = [(lay[1], {p[0]: p[1] for p in lay[2:] if isinstance(p, list)})
             for lay in next(find_all(tree, "stackup"))[1:] if isinstance(lay, list) and lay[0] == "layer"]
    cu_dielectric = [(n, float(p.get("thickness", 0))) for n, p in stack if p.get("type") in ("copper", "prepreg")]
    assert cu_dielectric == [("F.Cu", 0.015), ("dielectric 1", 0.035), ("In1.Cu", 0.015), ("dielectric 2", 0.02),
                             ("In2.Cu", 0.0), ("dielectric 3", 0.02), ("B.Cu", 0.015)]
    vias = [v for v in find_all(tree, "via")]
    spans = {(v[1] if v[1] in ("blind", "micro") else "through", tuple(next(find_all(v, "layers"))[1:]))
             for v in vias}
    assert spans == {("micro", ("F.Cu", "In1.Cu")), ("blind", ("In1.Cu", "B.Cu"))}
    report = kicad_drc(kicad_cli, pcb)
    assert report["violations"] == [] and report["unconnected_items"] == []


def test_demo_list_and_check_include_the_buildup(cli_runner, tmp_path):
    code, out, _err = cli_runner("list")
    assert code == 0 and any(line.split()[:2] == ["buildup", "footprint+substrate"] for line in out.splitlines())
    code, out, err = cli_runner("demo", "-o", tmp_path / "demo")
    assert code == 0, err
    name = example_spec().resolved_name
    folder = tmp_path / "demo" / "substrates" / name
    assert sorted(p.name.replace(name, "") for p in folder.iterdir() if not p.name.startswith(".")) == \
        ["-bumps.csv", "-fab-notes.txt", "-nets.csv", ".kicad_dru", ".kicad_pcb", ".kicad_pro",
         ".kisubstrate.json"]
    assert "substrate buildup" in out and (tmp_path / "demo" / "kisubstrate_demo.pretty" /
                                             f"{name}_Footprint.kicad_mod").exists()
    code, out, _err = cli_runner("check", EXAMPLE, "--format", "json")
    data = json.loads(out)
    assert code == 0 and [p["profile"] for p in data["packages"]] == ["ipc-default", "substrate-buildup"]


@pytest.mark.kicad
def test_microvia_aspect_ratio_enforced_by_kicad_per_layer_pair(kicad_cli, tmp_path):
    """KiCad 9 has no aspect-ratio rule; the .kicad_dru gives each microvia layer pair a minimum hole of
    depth / ratio, so KiCad flags exactly the microvias our IPC-2226 check flags (thick last dielectric).
    The pipeline refuses to route such a stack (exit 2, naming vias.blind), so the example's routed board is
    checked and written against the thickened stack."""
    from kisubstrate.api.substrate import SubstrateResult
    from kisubstrate.rules.board import check_board

    text = EXAMPLE.read_text()
    k = text.rfind("dielectric: 0.035")
    thick = tmp_path / "thick.yaml"
    (tmp_path / "buildup_balls.csv").write_text((EXAMPLES / "buildup_balls.csv").read_text())
    thick.write_text(text[:k] + "dielectric: 0.07" + text[k + len("dielectric: 0.035"):])
    spec = load_specs([thick])[0].spec
    with pytest.raises(SpecError, match="dielectric 5 .* too deep for a 0.06 mm microvia") as exc:
        build_substrate(spec)
    assert exc.value.field == "vias.blind"
    board = build_substrate(example_spec()).board
    report = check_board(board, spec.substrate_rules(), stackup=spec.stackup)
    result = SubstrateResult(spec=spec, board=board, report=report)
    mine = {item_uuid(result.name, k) for v in report.violations for k in v.items}
    assert {v.rule for v in report.violations} == {"microvia_aspect_ratio"} and len(mine) > 50
    kicad = kicad_drc(kicad_cli, write_result(result, tmp_path / "t"))
    theirs = {i["uuid"] for v in kicad["violations"] for i in v["items"]}
    assert drc_types(kicad) == {"microvia_drill_out_of_range": len(mine)} and theirs == mine


@pytest.mark.kicad
def test_core_crossed_by_blind_vias(kicad_cli, tmp_path):
    """A BT core below the trace layers is too thick for a microvia (IPC-2226): with vias.blind the ball
    columns cross it with blind vias; KiCad reads micro + blind vias and reports no errors."""
    from kisubstrate.api.specs import validate_spec

    layers = [{"copper": 0.015}, {"dielectric": 0.035}, {"copper": 0.015}, {"dielectric": 0.035},
              {"copper": 0.015}, {"dielectric": 0.1, "material": "BT", "type": "core"}, {"copper": 0.015}]
    data = {"family": "buildup", "name": "CORE4", "body": [8, 8], "stackup": {"layers": layers},
            "dies": [{"size": [3, 3], "pads": {"peripheral": {"per_side": 10, "pitch": 0.2}}}],
            "terminals": {"pitch": 0.8, "layout": [9, 9], "ball_diameter": 0.45}}
    with pytest.raises(SpecError, match=r"dielectric 3 \(0.115 mm with the copper below\) is too deep") as exc:
        build_substrate(validate_spec(data))
    assert exc.value.field == "vias.blind"
    result = build_substrate(validate_spec({**data, "vias": {"blind": {"drill": 0.1, "pad": 0.25}}}))
    assert result.report.ok, result.report.text()
    v = result.board.vias
    assert {(k, int(t)) for k, t in zip(v.kind, v.top) if k == "blind"} == {("blind", 2)}
    # every ball column crosses the core: 40 die-pad balls, the carrier's balls (the others clear of the cavity)
    balls = [i for i, o in enumerate(result.board.pads.owner) if o == "BALLS"]
    tied = sum(1 for i in balls if result.board.pads.net[i])
    assert sum(k == "blind" for k in v.kind) == tied and tied > 40
    report = kicad_drc(kicad_cli, write_result(result, tmp_path))
    assert report["violations"] == [] and report["unconnected_items"] == []


def test_die_pad_map_and_ball_map_nets_are_honoured(tmp_path):
    """A die pad map with nets always wins; each pad is routed to the ball(s) carrying its net (GND on two
    balls joined by one trace tree); the balls the map does not list go to the carrier."""
    (tmp_path / "pads.csv").write_text("pad,x,y,net\nP1,-0.8,-0.85,VDD\nP2,0.8,-0.85,IO1\n"
                                       "P3,0.8,0.85,IO2\nP4,-0.8,0.85,GND\n")
    (tmp_path / "balls.csv").write_text("ball,net\nA1,VDD\nA7,IO1\nG7,IO2\nB2,GND\nF2,GND\nD1,NC\n")
    spec = validate_spec({
        "family": "buildup", "name": "MAPPED", "body": [8, 8],
        "stackup": {"layers": [{"copper": 0.015}, {"dielectric": 0.035}, {"copper": 0.015},
                               {"dielectric": 0.035}, {"copper": 0.015}, {"dielectric": 0.035},
                               {"copper": 0.015}]},
        "dies": [{"size": [2, 2], "pads": {"map": "pads.csv"}}],
        "terminals": {"pitch": 1.0, "layout": [7, 7], "ball_diameter": 0.5, "ball_map": "balls.csv"}},
        base_dir=str(tmp_path))
    result = build_substrate(spec)
    b = result.board
    assert result.report.ok, result.report.text()
    net_of = {b.pads.name[i]: b.nets[int(b.pads.net[i])] for i in range(len(b.pads))}
    assert [net_of[p] for p in ("P1", "P2", "P3", "P4")] == ["VDD", "IO1", "IO2", "GND"]
    assert [net_of[p] for p in ("A1", "A7", "G7", "B2", "F2", "D1")] == ["VDD", "IO1", "IO2", "GND", "GND", ""]
    routing = b.extras.sidecar["routing"]
    assert sorted(n for n, m in routing["nets"].items() if m["kind"] == "signal") == ["GND", "IO1", "IO2", "VDD"]
    assert routing["nets"]["GND"]["vias"] == 1 + 2 * 2  # pad to copper 2, two ball columns up to it
    # the carrier: the 49 balls less the 6 listed and the 9 under the cavity (grown by a via pad and clearance)
    balls = [i for i, o in enumerate(b.pads.owner) if o == "BALLS"]
    assert sum(1 for i in balls if net_of[b.pads.name[i]] == "CARRIER") == 49 - 6 - 9


def test_power_and_ground_on_many_balls_through_planes(tmp_path):
    """GND on 17 balls and VDD on 8 poured by planes, the die's peripheral pads planned from the map; and a
    net only the carrier pours (GND on copper 1 of a three-layer stack) tied to its balls, not to the die."""
    rows = "ABCDEFG"
    nets = {}
    for r in range(7):
        for c in range(7):
            ring = min(r, c, 6 - r, 6 - c)
            nets[f"{rows[r]}{c + 1}"] = ("GND" if (r + c) % 2 else "VDD") if ring == 1 else \
                ("GND" if ring > 1 else f"S{r}{c}")
    sig = sorted(n for n in set(nets.values()) if n.startswith("S"))
    for n in sig[16:]:  # 16 signals on the outer ring, the rest NC
        nets[next(b for b, v in nets.items() if v == n)] = "NC"
    (tmp_path / "balls.csv").write_text("ball,net\n" + "".join(f"{b},{n}\n" for b, n in nets.items()))
    layers = [{"copper": 0.015}, {"dielectric": 0.035}, {"copper": 0.015, "role": "signal"}, {"dielectric": 0.035},
              {"copper": 0.015, "role": "plane", "nets": ["GND"]}, {"dielectric": 0.035},
              {"copper": 0.015, "role": "plane", "nets": ["VDD"]}, {"dielectric": 0.035}, {"copper": 0.015}]
    data = {"family": "buildup", "name": "PLANES", "body": [8, 8], "stackup": {"layers": layers},
            "dies": [{"size": [2, 2], "pads": {"peripheral": {"per_side": 6, "pitch": 0.25}}}],
            "carrier": {"net": "GND"},
            "terminals": {"pitch": 1.0, "layout": [7, 7], "ball_diameter": 0.5, "ball_map": "balls.csv"}}
    result = build_substrate(validate_spec(data, base_dir=str(tmp_path)))
    assert result.report.ok, result.report.text()
    b = result.board
    ball_net = {b.pads.name[i]: b.nets[int(b.pads.net[i])] for i, o in enumerate(b.pads.owner) if o == "BALLS"}
    pad_net = [b.nets[int(b.pads.net[i])] for i, o in enumerate(b.pads.owner) if o == "U1"]
    assert sum(n == "GND" for n in ball_net.values()) == 8 + 9 and sum(n == "VDD" for n in ball_net.values()) == 8
    assert sorted(n for n, v in ball_net.items() if v == "") == sorted(b for b, v in nets.items() if v == "NC")
    assert len(pad_net) == 24 and sorted(n for n in pad_net if n.startswith("S")) == sig[:16]
    assert pad_net.count("GND") == 4 and pad_net.count("VDD") == 4
    assert b.extras.sidecar["routing"]["nets"]["GND"]["layer"] == "L1,L3"
    # the carrier alone: GND on three balls, the die's pads left unconnected (nothing on the die is GND)
    (tmp_path / "gnd.csv").write_text("ball,net\nC1,GND\nC5,GND\nA3,GND\n")
    small = {"family": "buildup", "name": "GNDS", "body": [6, 6],
             "stackup": {"layers": [{"copper": 0.015}, {"dielectric": 0.035}, {"copper": 0.015},
                                    {"dielectric": 0.035}, {"copper": 0.015}]},
             "dies": [{"size": [1.6, 1.6], "pads": {"peripheral": {"per_side": 2, "pitch": 0.4}}}],
             "carrier": {"net": "GND"},
             "terminals": {"pitch": 1.0, "layout": [5, 5], "ball_diameter": 0.5, "ball_map": "gnd.csv"}}
    result = build_substrate(validate_spec(small, base_dir=str(tmp_path)))
    assert result.report.ok, result.report.text()
    b = result.board
    gnd = b.nets.index("GND")
    assert sorted(b.pads.name[i] for i in np.flatnonzero(b.pads.net == gnd)) == ["A3", "C1", "C5"]
    assert int((b.vias.net == gnd).sum()) == 3 * 2  # one 2-hop column per GND ball, up to the carrier
    with pytest.raises(SpecError, match="carrier.balls: the ball map gives the carrier's net 'GND' its balls"):
        build_substrate(validate_spec({**small, "carrier": {"net": "GND", "balls": ["A1"]}}, base_dir=str(tmp_path)))


def test_a_net_on_a_ball_under_the_die_is_reported_unrouted(tmp_path, cli_runner):
    """A signal whose only ball lies in the die's escape area: a located 'unrouted' violation naming the net
    and why; exit 1, nothing written."""
    (tmp_path / "pads.csv").write_text("pad,x,y,net\nP1,-0.8,-0.85,NX\nP2,0.8,-0.85,IO1\n")
    (tmp_path / "balls.csv").write_text("ball,net\nC3,NX\nA5,IO1\n")
    data = small_buildup(dies=[{"size": [2, 2], "pads": {"map": "pads.csv"}}],
                         terminals={"pitch": 1.0, "layout": [5, 5], "ball_diameter": 0.5, "ball_map": "balls.csv"})
    result = build_substrate(validate_spec(data, base_dir=str(tmp_path)))
    unrouted = [v for v in result.report.violations if v.rule == "unrouted"]
    assert [v.items for v in unrouted] == [("net/NX",)] and "lies in the die's escape area" in unrouted[0].message
    assert unrouted[0].where == (0.0, 0.0)
    import yaml

    (tmp_path / "s.yaml").write_text(yaml.safe_dump({"packages": [data]}))
    code, out, _err = cli_runner("substrate", tmp_path / "s.yaml", "-o", tmp_path / "out")
    assert code == 1 and "net 'NX' not routed" in out and not (tmp_path / "out").exists()


def test_too_few_die_pads_for_the_pinout_is_refused_naming_the_die(tmp_path):
    (tmp_path / "balls.csv").write_text("ball,net\n" + "".join(f"A{c},S{c}\n" for c in range(1, 6)) +
                                        "E1,GND\nE5,VDD\n")
    layers = [{"copper": 0.015}, {"dielectric": 0.035}, {"copper": 0.015}, {"dielectric": 0.035},
              {"copper": 0.015, "role": "plane", "nets": ["GND", "VDD"]}, {"dielectric": 0.035}, {"copper": 0.015}]
    data = small_buildup(stackup={"layers": layers},
                         dies=[{"size": [2, 2], "pads": {"peripheral": {"per_side": [2, 2, 1, 1], "pitch": 0.3}}}],
                         terminals={"pitch": 1.0, "layout": [5, 5], "ball_diameter": 0.5, "ball_map": "balls.csv"})
    with pytest.raises(SpecError, match=r"die U1: the ball map has 5 signal net\(s\) and 2 power/ground net\(s\) "
                                        r"\(GND, VDD\), but the die has 6 pads") as exc:
        build_substrate(validate_spec(data, base_dir=str(tmp_path)))
    assert exc.value.field == "dies.pads"


# ---------------------------------------------------------------------------------------------
# the carrier (metal, thickness, floor, die flush), the column metal and the fab notes: every option reaches
# the outputs or is refused
def carried(carrier: dict | None = None, **extra) -> dict:
    """small_buildup with a GND carrier and a 7 x 7 grid at 0.8 mm (balls left over for the carrier)."""
    return small_buildup(carrier={"net": "GND", **(carrier or {})},
                         terminals={"pitch": 0.8, "layout": [7, 7], "ball_diameter": 0.4}, **extra)


def sidecar_of(result) -> dict:
    return json.loads(substrate_files(result)[f"{result.name}.kisubstrate.json"])


def test_example_fab_notes_on_user2_in_the_notes_file_and_sidecar(example_board):
    """The example's fab notes: carrier (copper, 0.275 mm = 0.05 floor + 0.025 attach + 0.2 die, covering the
    die's passive face and sides, die flush), columns (copper-filled, capped), the stackup; the same lines are
    the text items on User.2 ("Fab.Notes"); the sidecar carries the carrier and column values."""
    from kisubstrate.kicad.sexpr import find_all, loads

    result, pcb = example_board
    lines = (pcb.parent / f"{pcb.stem}-fab-notes.txt").read_text().splitlines()
    notes, protection = lines[:-1], lines[-1]  # the last line: the VIA PROTECTION note every family gets
    assert protection.startswith("VIA PROTECTION: 720 via(s) copper filled and capped (IPC-4761 Type VII)")
    assert notes == [
        "BUILD-UP PACKAGE 15 x 15 mm, 6 copper layers, die side (L1 F.Cu) first; 196 ball sites at 1 mm pitch on "
        "L6 B.Cu.",
        "CARRIER: copper 0.275 mm, net GND, covers the die's passive face and sides (die in a cavity of the carrier):",
        "  floor 0.05 mm of copper under the die's passive face, die attach 0.025 mm; cavity depth 0.225 mm;",
        "  cavity wall 0.1 mm from the die edge (outline on User.1 'Cavity'); L1 F.Cu is the carrier face outside the "
        "cavity.",
        "  die U1 6 x 6 x 0.2 mm face up: face at 0.275 mm = carrier face 0.275 mm, flush within 0.005 mm.",
        "COLUMNS: 292 via columns (210 with microvias stacked, up to 4 high); each microvia filled with copper and "
        "capped (IPC-4761 Type VII);",
        "  at most 4 microvias on each other (profile max_stack); microvia drill 0.06 mm, pad 0.12 mm.",
        "STACKUP (L1 die side first): 0.265 mm without mask, mask 0.02 mm each side, finish ENEPIG:",
        "  L1 F.Cu 'DIE' copper 0.015 mm: carrier face (net GND) + die pads",
        "  dielectric 1 ABF 0.035 mm (prepreg)",
        "  L2 In1.Cu 'SIG' copper 0.015 mm: signal",
        "  dielectric 2 ABF 0.035 mm (prepreg)",
        "  L3 In2.Cu 'GND' copper 0.015 mm: plane GND",
        "  dielectric 3 ABF 0.035 mm (prepreg)",
        "  L4 In3.Cu 'VCORE' copper 0.015 mm: plane VDD_CORE",
        "  dielectric 4 ABF 0.035 mm (prepreg)",
        "  L5 In4.Cu 'VIO' copper 0.015 mm: plane VDD_IO",
        "  dielectric 5 ABF 0.035 mm (prepreg)",
        "  L6 B.Cu 'BALL' copper 0.015 mm: ball lands"]
    tree = loads(pcb.read_text())
    texts = [t[1] for t in find_all(tree, "gr_text") if next(find_all(t, "layer"))[1] == "User.2"]
    assert texts == notes + [protection]  # the VIA PROTECTION line drawn under the family's note
    assert ["41", "User.2", "user", "Fab.Notes"] == [str(x) for x in next(
        lay for lay in next(find_all(tree, "layers"))[1:] if lay[1] == "User.2")]
    info = json.loads(pcb.with_suffix(".kisubstrate.json").read_text())
    assert info["carrier"] == {
        "material": "copper", "net": "GND", "thickness_mm": 0.275, "thickness_given": False, "floor_mm": 0.05,
        "die_attach_mm": 0.025, "cavity_gap_mm": 0.1, "cavity_depth_mm": 0.225, "covers": ["passive face", "sides"],
        "flush_tolerance_mm": 0.005,
        "dies": [{"name": "U1", "thickness_mm": 0.2, "face_mm": 0.275, "step_mm": 0.0, "flush": True}]}
    v = result.board.vias
    assert info["columns"] == {
        "metal": "copper", "columns": 292, "stacked_columns": 210, "tallest": 4, "max_stack": 4, "vias": len(v),
        "filled_and_capped": len(v), "ipc_4761": "VII", "microvia": {"drill_mm": 0.06, "pad_mm": 0.12},
        "blind": None}
    assert len(v) == 720 and len({(x, y) for x, y in zip(v.x.tolist(), v.y.tolist())}) == 292
    assert "carrier copper 0.275 mm, floor 0.05 mm under the die, die face flush within 0.005 mm" in \
        result.board.extras.summary


def test_carrier_and_column_metal_aluminum_is_aluminium_everywhere():
    """The patent's spelling 'aluminum' (any case) is accepted and written 'aluminium': spec, notes, sidecar."""
    spec = validate_spec(carried({"material": "aluminum"}, vias={"column_metal": "Aluminum"}))
    assert (spec.carrier.material, spec.vias.column_metal) == ("aluminium", "aluminium")
    result = build_substrate(spec)
    assert result.report.ok, result.report.text()
    notes = result.board.extras.files["-fab-notes.txt"].splitlines()
    assert notes[1].startswith("CARRIER: aluminium 0.275 mm, net GND, covers the die's passive face and sides")
    assert notes[2] == "  floor 0.05 mm of aluminium under the die's passive face, die attach 0.025 mm; cavity depth " \
                       "0.225 mm;"
    assert notes[5].startswith("COLUMNS: ") and "each microvia filled with aluminium and capped" in notes[5]
    info = sidecar_of(result)
    assert (info["carrier"]["material"], info["columns"]["metal"]) == ("aluminium", "aluminium")
    assert validate_spec(carried({"material": "copper"})).carrier.material == "copper"


@pytest.mark.parametrize("field, data", [
    ("carrier.material", carried({"material": "gold"})),
    ("vias.column_metal", carried(vias={"column_metal": "tungsten"})),
])
def test_a_metal_other_than_copper_or_aluminium_is_refused(field, data):
    with pytest.raises(SpecError, match="not a metal the build-up family builds: copper or aluminium "
                                        r"\(also spelt aluminum\)") as exc:
        validate_spec(data)
    assert exc.value.field == field


def test_carrier_thickness_default_given_and_refused():
    """Default thickness = floor + die attach + the thickest die; a given one is written as given; one that
    leaves no cavity over the floor is refused naming carrier.thickness and the flush value."""
    spec = validate_spec(carried({"floor": 0.08, "die_attach": 0.02}, dies=[
        {"size": [2, 2], "thickness": 0.15, "pads": {"peripheral": {"per_side": 4, "pitch": 0.3}}}]))
    assert spec.carrier_thickness() == 0.25  # 0.08 + 0.02 + 0.15
    assert validate_spec(carried({"thickness": 0.3})).carrier_thickness() == 0.3
    assert validate_spec(small_buildup()).carrier_thickness() is None
    with pytest.raises(SpecError, match=r"carrier thickness 0.05 mm leaves no cavity over its 0.05 mm floor: give a "
                                        r"thickness of floor \+ die attach \+ die \(0.275 mm\)") as exc:
        validate_spec(carried({"thickness": 0.05}))
    assert exc.value.field == "carrier.thickness"


@pytest.mark.parametrize("thickness, step, ok", [
    (0.281, -0.006, False),  # die face 6 um below the carrier face: fails by 1 um
    (0.279, -0.004, True),   # 4 um below: passes by 1 um
    (0.269, 0.006, False),   # 6 um proud of the carrier face: fails by 1 um
    (0.271, 0.004, True),    # 4 um proud: passes by 1 um
    (0.275, 0.0, True),
])
def test_die_face_flush_with_the_carrier_face_within_the_tolerance(thickness, step, ok):
    """attach 0.025 + die 0.2 = 0.225 mm against thickness - floor 0.05, tolerance 0.005 mm: a located
    carrier_flush violation (die centre, layer z) with the step as measured and the tolerance as required."""
    from kisubstrate.families.buildup import carrier_checks

    spec = validate_spec(carried({"thickness": thickness}))
    found = carrier_checks(spec, None)
    result = build_substrate(spec)
    info = sidecar_of(result)
    assert info["carrier"]["dies"][0]["step_mm"] == step and info["carrier"]["dies"][0]["flush"] is ok
    assert info["carrier"]["thickness_mm"] == thickness and info["carrier"]["thickness_given"] is True
    if ok:
        assert found == [] and result.report.ok, result.report.text()
        return
    assert len(found) == 1
    v = found[0]
    assert (v.rule, v.items, v.where, v.layer) == ("carrier_flush", ("die/U1", "carrier"), (0.0, 0.0), "z")
    assert v.measured == pytest.approx(abs(step), abs=1e-12) and v.required == 0.005
    side = "above" if step > 0 else "below"
    assert v.message == (f"die U1 face {side} the carrier face by 0.006 mm: die attach 0.025 + die 0.2 = 0.225 mm "
                         f"against carrier thickness {thickness:g} - floor 0.05 = {thickness - 0.05:.3f} mm (flush "
                         "tolerance 0.005 mm)")
    # the family check runs in build_substrate: the report (and the sidecar) carry it, the notes say so
    assert [r["rule"] for r in info["report"]["violations"]] == ["carrier_flush"]
    die_line = result.board.extras.files["-fab-notes.txt"].splitlines()[4]
    assert die_line == (f"  die U1 2 x 2 x 0.2 mm face up: face at 0.275 mm vs carrier face {thickness:g} mm: "
                        f"NOT flush (step {step:g} mm, tolerance 0.005 mm).")


def test_flush_tolerance_is_a_spec_field_and_the_cli_refuses_to_write(cli_runner, tmp_path):
    """A looser carrier.flush_tolerance accepts the 6 um step; the default refuses it: exit 1, nothing written."""
    from kisubstrate.families.buildup import carrier_checks

    assert carrier_checks(validate_spec(carried({"thickness": 0.281, "flush_tolerance": 0.006})), None) == []
    spec_file = tmp_path / "s.json"
    spec_file.write_text(json.dumps({"packages": [carried({"thickness": 0.281})]}))
    code, out, _err = cli_runner("substrate", spec_file, "-o", tmp_path / "out")
    assert code == 1 and "carrier_flush" in out and "measured 0.0060 mm, required 0.0050 mm" in out
    assert not (tmp_path / "out").exists()


def test_without_a_carrier_the_notes_say_so():
    result = build_substrate(validate_spec(small_buildup()))
    assert result.report.ok, result.report.text()
    notes = result.board.extras.files["-fab-notes.txt"].splitlines()
    assert notes[1] == "CARRIER: none (carrier: null); the die is not in a metal carrier."
    assert notes[2].startswith("COLUMNS: ") and notes[-1] == "  L3 B.Cu copper 0.015 mm: ball lands"
    assert notes[-5] == "  L1 F.Cu copper 0.015 mm: die pads, signal"
    info = sidecar_of(result)
    assert info["carrier"] is None and info["columns"]["metal"] == "copper"
