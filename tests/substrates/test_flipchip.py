"""Flip-chip substrates from a package netlist: every net routed or poured, every ball connected, KiCad agrees.

A small spec (``data/fc_small.yaml``: 100 balls, a 144-bump plan, 8 copper layers) is built once;
the bundled ``flipchip.yaml`` example is covered by ``tests/families/test_every_family.py`` (checks,
determinism, KiCad load and DRC).
"""

from __future__ import annotations

import csv
import io
import json
import shutil
from pathlib import Path

import pytest

from kisubstrate.api.specs import load_specs
from kisubstrate.api.substrate import build_substrate, substrate_files
from kisubstrate.model.errors import SpecError
from kisubstrate.model.netlist import Terminal, build_netlist
from kisubstrate.rules.connectivity import check_connectivity
from stack_util import drc, write_files

DATA = Path(__file__).resolve().parent / "data"
SMALL = DATA / "fc_small.yaml"


@pytest.fixture(scope="module")
def small():
    return build_substrate(load_specs([SMALL])[0].spec)


def ball_nets() -> dict[str, str]:
    rows = list(csv.reader((DATA / "fc_small_balls.csv").open()))[1:]
    return {b: n for b, n in rows}


def test_every_net_is_routed_or_poured_and_the_board_is_clean(small):
    routing = small.board.extras.sidecar["routing"]
    nets = ball_nets()
    signals = {n for n in nets.values() if n not in ("GND", "VDD", "VIO", "NC")}
    assert len(signals) == 52
    assert routing["unrouted"] == []
    assert {n for n, m in routing["nets"].items() if m["kind"] == "signal"} == signals
    assert {n for n, m in routing["nets"].items() if m["kind"] == "plane"} == {"GND", "VDD", "VIO"}
    assert routing["no_connect"] == ["A1", "A10", "K1", "K10"]
    assert small.report.ok, small.report.text()
    assert check_connectivity(small.board) == []


def test_every_ball_but_nc_carries_its_net_and_the_bumps_follow_the_ball_map(small):
    b = small.board
    nets = ball_nets()
    pads = {(o, n): b.nets[int(net)] for o, n, net in zip(b.pads.owner, b.pads.name, b.pads.net)}
    for ball, net in nets.items():
        assert pads[("BALLS", ball)] == ("" if net == "NC" else net), ball
    bumps = [net for (o, _n), net in pads.items() if o == "U1"]
    assert len(bumps) == 144 and "" not in bumps
    for n in set(nets.values()) - {"GND", "VDD", "VIO", "NC"}:
        assert bumps.count(n) == 1, n  # one bump per signal
    assert min(bumps.count(n) for n in ("GND", "VDD", "VIO")) >= 1


def test_measures_per_net_in_the_sidecar_and_the_csv(small):
    routing = small.board.extras.sidecar["routing"]
    sig = {n: m for n, m in routing["nets"].items() if m["kind"] == "signal"}
    assert all(m["length_mm"] > 0.5 and m["vias"] >= 5 for m in sig.values())  # die edge to the ball field
    assert all(abs(sum(m["length_by_layer_mm"].values()) - m["length_mm"]) < 1e-3 for m in sig.values())
    # the trace lengths add up to the copper written
    t = small.board.tracks
    import numpy as np

    total = float(np.hypot(t.x2 - t.x1, t.y2 - t.y1).sum())
    assert abs(total - sum(m["length_mm"] for m in sig.values())) < 0.01
    files = substrate_files(small)
    rows = list(csv.DictReader(io.StringIO(files["FC-SMALL-nets.csv"])))
    assert len(rows) == 55 and {r["kind"] for r in rows} == {"signal", "plane"}
    assert json.loads(files["FC-SMALL.kisubstrate.json"])["routing"]["signal_layers_used"]


@pytest.mark.kicad
def test_small_board_passes_kicad_drc(small, tmp_path, kicad_cli, kicad_target):
    files = substrate_files(small, kicad=kicad_target)
    rep = drc(kicad_cli, write_files(files, tmp_path))
    assert rep["errors"] == [] and rep["unconnected"] == 0, rep["types"]


# -- bad input: one located message, exit 2, nothing written ----------------------------------------
def _variant(tmp_path: Path, spec_edit=None, balls_edit=None) -> Path:
    shutil.copy(DATA / "fc_small_balls.csv", tmp_path / "fc_small_balls.csv")
    text = SMALL.read_text()
    if spec_edit:
        text = spec_edit(text)
    (tmp_path / "fc.yaml").write_text(text)
    if balls_edit:
        p = tmp_path / "fc_small_balls.csv"
        p.write_text(balls_edit(p.read_text()))
    return tmp_path / "fc.yaml"


@pytest.mark.parametrize("spec_edit,balls_edit,words", [
    (lambda t: t.replace("role: plane, nets: [GND]}", "role: plane}", 1), None, ["plane layer needs its net"]),
    (lambda t: t.replace("{copper: 0.015, role: signal}", "{copper: 0.015, role: signal, nets: [GND]}", 1), None,
     ["nets are poured only on a plane or mixed layer"]),
    (None, lambda t: t + "ZZ99,S1\n", ["line 102 names balls that do not exist", "ZZ99"]),
    (None, lambda t: t + "B2,S1\n", ["line 102", "B2 listed twice"]),
    (None, lambda t: t.replace("\nB3,", "\n# a comment line\nB3,") + "B2,S1\n", ["line 103", "B2 listed twice"]),
])
def test_bad_netlists_get_one_located_message(tmp_path, cli_runner, spec_edit, balls_edit, words):
    spec = _variant(tmp_path, spec_edit, balls_edit)
    code, out, err = cli_runner("substrate", spec, "-o", tmp_path / "out")
    assert code == 2, out + err
    assert all(w in err for w in words), err
    assert "Traceback" not in err and not (tmp_path / "out").exists()


def test_a_net_on_one_side_only_is_named_with_its_file_and_line():
    balls = [Terminal("BALLS", "A1", 0.0, 0.0, "GND", "balls.csv", 2), Terminal("BALLS", "A2", 1.0, 0.0, "DQ0",
                                                                              "balls.csv", 3)]
    bumps = [Terminal("U1", "A1", 0.0, 0.0, "GND", "bumps.csv", 2), Terminal("U1", "A2", 0.2, 0.0, "DQ1",
                                                                            "bumps.csv", 3)]
    with pytest.raises(SpecError, match=r"'balls.csv' line 3: net 'DQ0' is on ball A2 but on no die pad"):
        build_netlist(bumps, balls, plane_nets={"GND"})
    with pytest.raises(SpecError, match=r"'bumps.csv' line 3: net 'DQ1' is on die pad U1.A2 but on no ball"):
        build_netlist(bumps, balls[:1], plane_nets={"GND"})
    with pytest.raises(SpecError, match=r"plane net 'VDD' is on no ball and no die pad"):
        build_netlist(bumps[:1], balls[:1], plane_nets={"GND", "VDD"})
    nl = build_netlist(bumps[:1], balls[:1] + [Terminal("BALLS", "A3", 2.0, 0.0, "nc")], plane_nets={"GND"})
    assert nl.no_connect == ("A3",) and [n.name for n in nl.nets] == ["GND"]


def test_layer_roles_are_refused_by_families_that_do_not_route_by_them(tmp_path, cli_runner):
    import shutil

    import yaml

    from kisubstrate.families import registry

    checked = 0
    examples = Path(__file__).resolve().parents[2] / "footprints" / "examples"
    for side in examples.glob("*.csv"):  # the specs' side files (pad and ball maps)
        shutil.copy(side, tmp_path / side.name)
    for example in sorted(examples.glob("*.yaml")):
        data = yaml.safe_load(example.read_text())
        pkg = data["packages"][0]
        if "stackup" not in pkg or registry.get(pkg["family"]).spec.routes_netlist:
            continue
        first = next(lay for lay in pkg["stackup"]["layers"] if "copper" in lay)
        first["role"] = "signal"
        first.pop("nets", None)
        (tmp_path / example.name).write_text(yaml.safe_dump(data))
        code, _out, err = cli_runner("substrate", tmp_path / example.name, "-o", tmp_path / "out")
        # the cavity takes one role (a pour on its land layer) and says which
        expected = "takes one layer role" if pkg["family"] == "cavity" else "does not route by layer roles"
        assert code == 2 and expected in err and "copper layer 1" in err, err
        checked += 1
    assert checked or all(registry.get(f).spec.routes_netlist for f in ("cavity", "pop", "wafer_stack"))


def test_an_unroutable_netlist_is_reported_per_net_and_nothing_is_written(tmp_path, cli_runner):
    """One escape layer and traces too wide to pass between bumps: the inner bump ring cannot escape;
    each such net is named with the reason, exit 1, no board."""
    def one_wide_layer(t: str) -> str:
        gap = "\n        - {dielectric: 0.03}\n        - {copper: 0.015, role: plane"
        t = t.replace("- {copper: 0.015, role: signal}" + gap, "- {copper: 0.015, role: plane, nets: [GND]}" + gap)
        t = t.replace("{copper: 0.015, role: mixed, nets: [GND]}", "{copper: 0.015, role: plane, nets: [GND]}")
        return t.replace("    body: [9.0, 9.0]", "    body: [9.0, 9.0]\n    trace_width: 0.07")
    spec = _variant(tmp_path, one_wide_layer)
    assert spec.read_text().count("role: signal") == 1 and "trace_width: 0.07" in spec.read_text()
    code, out, err = cli_runner("substrate", spec, "-o", tmp_path / "out")
    assert code == 1, out + err
    text = out + err
    assert "unrouted" in text and "not routed: the escape from" in text and "near balls " in text
    assert "escape layers, the stackup gives 1" in text
    assert not list(tmp_path.glob("out/*.kicad_pcb"))


def test_footprint_pads_carry_the_package_length_of_their_ball(small):
    """The board-side footprint from the same spec: each signal ball's pad has KiCad's die_length =
    the routed length of its net in the substrate; plane and NC balls have none."""
    from kisubstrate.api.footprint import build_footprints, footprint_files

    spec = load_specs([SMALL])[0].spec
    [fp] = build_footprints(spec)
    nets = small.board.extras.sidecar["routing"]["nets"]
    by_ball = ball_nets()
    got = {n: float(d) for g in fp.geometry.pads for n, d in zip(g.names, g.die_length)}
    for ball, net in by_ball.items():
        want = nets[net]["length_mm"] if net in nets and nets[net]["kind"] == "signal" else 0.0
        assert got[ball] == pytest.approx(want, abs=1e-6), ball
    text = "".join(t for _f, t in footprint_files([fp], Path("x.pretty")) if _f.suffix == ".kicad_mod")
    assert text.count("(die_length ") == 52


@pytest.mark.kicad
def test_kicad_keeps_the_die_lengths(tmp_path, kicad_cli):
    import subprocess

    from kisubstrate.api.footprint import build_footprints, footprint_files

    [fp] = build_footprints(load_specs([SMALL])[0].spec)
    for f, t in footprint_files([fp], tmp_path / "in.pretty"):
        f.parent.mkdir(parents=True, exist_ok=True)
        f.write_text(t)
    r = subprocess.run([kicad_cli, "fp", "upgrade", "--force", str(tmp_path / "in.pretty"), "-o",
                        str(tmp_path / "out.pretty")], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    [mod] = (tmp_path / "out.pretty").glob("*.kicad_mod")
    assert mod.read_text().count("(die_length ") == 52


def test_a_die_map_net_missing_from_the_ball_map_is_located(tmp_path, cli_runner):
    """The bundled example's bump map with one bump renamed: the net is on the die only (file, line)."""
    ex = Path(__file__).resolve().parents[2] / "footprints" / "examples"
    for name in ("flipchip.yaml", "flipchip_balls.csv"):
        shutil.copy(ex / name, tmp_path / name)
    lines = (ex / "flipchip_bumps.csv").read_text().splitlines()
    k = next(i for i, line in enumerate(lines) if line.endswith(",GPIO7"))
    lines[k] = lines[k].replace(",GPIO7", ",A_GPIO7")  # sorts first: reported before GPIO7 (balls only)
    (tmp_path / "flipchip_bumps.csv").write_text("\n".join(lines) + "\n")
    code, _out, err = cli_runner("substrate", tmp_path / "flipchip.yaml", "-o", tmp_path / "out")
    assert code == 2, err
    assert f"flipchip_bumps.csv' line {k + 1}: net 'A_GPIO7' is on die pad U1." in err, err
    assert not (tmp_path / "out").exists()
