"""Strips and panels (issue 5): units stepped with streets, rails, tooling holes, fiducials and a plating bus."""

from __future__ import annotations

import numpy as np
import pytest

from conftest import EXAMPLES, run_pcbnew
from kisubstrate.api.panel import panel_files, panel_of_spec
from kisubstrate.api.specs import load_specs
from kisubstrate.api.substrate import build_substrate
from kisubstrate.geometry.distance import segment_segment_distance
from kisubstrate.geometry.panel import build_panel
from kisubstrate.model.errors import SpecError
from stack_util import PCBNEW_COUNT, drc, write_files


def spec_of(name: str):
    return load_specs([EXAMPLES / f"{name}.yaml"])[0].spec


@pytest.fixture(scope="module")
def buildup_panel():
    spec = spec_of("buildup")
    panel, report = panel_of_spec(spec, rows=1, columns=2)
    assert report.ok, report.text()
    return spec, panel


def test_panel_geometry_by_hand(buildup_panel):
    spec, panel = buildup_panel
    g = panel.geom
    unit = build_substrate(spec).board
    # 2 units of 15 mm + one 0.3 mm street between, a 0.3 mm street around, 5 mm rails:
    # x: 2*15 + 0.3 + 2*0.3 + 2*5 = 40.9; y: 15 + 2*0.3 + 2*5 = 25.6
    assert panel.size == pytest.approx((40.9, 25.6))
    assert panel.units == 2
    # unit centres at x = -/+ (15 + 0.3) / 2 = 7.65
    owners = [i for i, o in enumerate(g.pads.owner) if o == "BALLS_R1C1"]
    u = [i for i, o in enumerate(unit.pads.owner) if o == "BALLS"]
    assert np.allclose(g.pads.x[owners], unit.pads.x[u] - 7.65)
    # nets: one copy per unit, renamed per unit, plus PLATING
    assert len(g.nets) - 1 == 2 * (len(unit.nets) - 1) + 1
    assert "/R1C2/GND" in g.nets and "PLATING" in g.nets
    # three tooling holes and three fiducials per outer layer, in the rails (2.5 mm from the edge)
    assert sorted(panel.holes) == sorted([(17.95, 10.3, 2.0), (-17.95, 0.0, 2.0), (17.95, 0.0, 2.0)])
    assert len(panel.fiducials) == 6


def test_plating_tails_by_hand(buildup_panel):
    """14 x 14 balls at 1 mm, the example's pinout: 40 signals on the outer ring and 22 on the next, GND,
    VDD_CORE and VDD_IO on many balls. One tail per net: ring-0 lands run straight out (40 signals and GND
    from a ring-0 ball: 41 one-segment tails per unit); ring-1 lands are boxed in by ring 0 and jog 45° by
    half the land spacing (0.5 mm) into the gap between two ring-0 lands, then run out 0.5 mm from their
    tails (22 signals, VDD_CORE and VDD_IO: 24 two-segment tails): 41 + 2 * 24 = 89 tail segments per unit,
    and every one of the 65 nets is tied."""
    spec, panel = buildup_panel
    die_nets = sorted(panel.tied)
    assert len(die_nets) == 65 and panel.untied == []
    assert {"GND", "VDD_CORE", "VDD_IO", "DQ0", "RESET_N"} <= set(die_nets)
    g = panel.geom
    t = g.tracks
    plating = g.nets.index("PLATING")
    bars = np.flatnonzero(t.net == plating)
    # bars on both outer layers: 3 vertical street lines x 1 span + 2 horizontal lines x 2 spans, per layer
    assert len(bars) == 2 * (3 * 1 + 2 * 2)
    unit_die = {g.nets.index(f"/R{1}C{c}/{n}") for c in (1, 2) for n in die_nets}
    tails = np.flatnonzero(np.isin(t.net, list(unit_die)) & (t.width == 0.05) & (t.layer == g.copper - 1))
    assert len(tails) == 2 * (41 + 2 * 24)
    # every tail stops exactly the etch-back gap (= clearance 0.025 mm) short of a bar
    d, _, _ = segment_segment_distance(
        np.repeat(t.x1[tails], len(bars)), np.repeat(t.y1[tails], len(bars)),
        np.repeat(t.x2[tails], len(bars)), np.repeat(t.y2[tails], len(bars)),
        np.tile(t.x1[bars], len(tails)), np.tile(t.y1[bars], len(tails)),
        np.tile(t.x2[bars], len(tails)), np.tile(t.y2[bars], len(tails)))
    gap = d.reshape(len(tails), len(bars)).min(axis=1) - 0.05 / 2 - 0.1 / 2
    per_net: dict[int, float] = {}
    for net, gp in zip(t.net[tails].tolist(), gap.tolist()):
        per_net[net] = min(per_net.get(net, 9.0), gp)
    assert len(per_net) == 2 * 65 and np.allclose(list(per_net.values()), 0.025, atol=1e-6)
    # a jogged tail: ring-1 ball B2 (signal A2) at (-5.5, -5.5) of unit R1C1 (centre x -7.65) leaves towards -x (the
    # first of the tied nearest edges), jogs half a pitch to (-6.0, -6.0) (between A1 and B1), then
    # runs out to x = -(7.5 + (0.3 - 0.1) / 2 - 0.025 - 0.05 / 2) = -7.55 in the unit frame
    b2 = [i for i, (o, n) in enumerate(zip(g.pads.owner, g.pads.name)) if o == "BALLS_R1C1" and n == "B2"][0]
    segs = sorted((float(t.x1[k]), float(t.y1[k]), float(t.x2[k]), float(t.y2[k]))
                  for k in tails if t.net[k] == g.pads.net[b2])
    want = sorted([(-5.5 - 7.65, -5.5, -6.0 - 7.65, -6.0), (-6.0 - 7.65, -6.0, -7.55 - 7.65, -6.0)])
    assert np.allclose(segs, want, atol=1e-6)


def test_bad_panels_are_refused():
    spec = spec_of("buildup")
    unit = build_substrate(spec).board
    rules = spec.substrate_rules()
    with pytest.raises(SpecError, match=r"saw street 0.1 mm cannot hold a 0.1 mm plating bar"):
        build_panel(unit, rules, rows=2, columns=2, street=0.1)
    with pytest.raises(SpecError, match="at least two units"):
        build_panel(unit, rules, rows=1, columns=1)
    with pytest.raises(SpecError, match="rail 2 mm too narrow"):
        build_panel(unit, rules, rows=1, columns=2, rail=2.0)
    with pytest.raises(SpecError, match="etch-back gap 0.01 mm is below"):
        build_panel(unit, rules, rows=1, columns=2, etch_back=0.01)


def test_panel_command(cli_runner, tmp_path):
    code, out, err = cli_runner("panel", EXAMPLES / "leadframe.yaml", "--rows", "1", "--columns", "3",
                                "-o", tmp_path / "p")
    assert code == 0, err
    assert "3 units" in out and "24 plating tails per unit" in out
    assert len(list((tmp_path / "p").glob("*_Panel1x3.kicad_pcb"))) == 1
    code, out, err = cli_runner("panel", EXAMPLES / "buildup.yaml", "--street", "0.05", "-o", tmp_path / "q")
    assert code == 2 and "field 'street'" in err and not (tmp_path / "q").exists()
    code, out, err = cli_runner("panel", EXAMPLES / "qfn.yaml", "-o", tmp_path / "r")
    assert code == 2 and "no substrate families" in err


@pytest.mark.kicad
def test_buildup_panel_loads_in_pcbnew_and_passes_drc(kicad_cli, pcbnew_python, buildup_panel, tmp_path, kicad_target):
    spec, panel = buildup_panel
    pcb = write_files(panel_files(panel, spec, kicad=kicad_target), tmp_path / "panel")  # 10's format on KiCad 10
    rep = drc(kicad_cli, pcb)
    assert rep["errors"] == [] and rep["unconnected"] == 0, rep["types"]
    got = run_pcbnew(pcbnew_python, PCBNEW_COUNT, str(pcb))
    unit = build_substrate(spec).board
    assert got["nets"] == 2 * (len(unit.nets) - 1) + 1
    assert got["pads"] == 2 * len(unit.pads) + 6  # + 3 fiducials per outer layer
    assert got["vias"] == 2 * len(unit.vias) + 4  # + bus corner vias
    assert got["footprints"] == 2 * 2 + 2
    edge = got["drawings"].get("Edge.Cuts")
    assert edge == 1 + 3  # outline + tooling holes


@pytest.mark.kicad
def test_leadframe_and_wafer_stack_strips_pass_drc(kicad_cli, tmp_path, kicad_target):
    for name in ("leadframe", "wafer_stack"):
        spec = spec_of(name)
        panel, report = panel_of_spec(spec, rows=1, columns=3)
        assert report.ok, report.text()
        assert panel.untied == []  # wafer stack: GND (balls and pads via the heat layer) is tied from its zone
        assert name != "wafer_stack" or "GND" in panel.tied
        rep = drc(kicad_cli, write_files(panel_files(panel, spec, kicad=kicad_target), tmp_path / name))
        assert rep["errors"] == [] and rep["unconnected"] == 0, (name, rep["types"])


def test_panel_file_is_deterministic_with_unique_uuids(buildup_panel):
    import re

    spec, panel = buildup_panel
    text = panel_files(panel, spec)[f"{panel.geom.name}.kicad_pcb"]
    uuids = re.findall(r'uuid "([^"]*)"', text)
    assert len(uuids) == len(set(uuids)) > 1000
    again, _ = panel_of_spec(spec, rows=1, columns=2)
    assert panel_files(again, spec) == panel_files(panel, spec)


# -- the panel options model (PanelOptions): one schema for build_panel, the CLI and `schema panel` --------
def test_panel_options_model_drives_the_cli_options():
    """One click option per field, help from the description, default from the model."""
    from kisubstrate.cli.panel import panel_command
    from kisubstrate.model.panel import PanelOptions

    opts = {p.name: p for p in panel_command.params}
    for name, info in PanelOptions.model_fields.items():
        assert name in opts, name
        assert opts[name].help == info.description and opts[name].default == info.default, name
        assert f"--{name.replace('_', '-')}" in opts[name].opts, name
    assert opts["plating"].secondary_opts == ["--no-plating"]
    for name, info in PanelOptions.model_fields.items():  # lengths say their unit
        if info.annotation in (float, float | None):
            assert "(mm" in info.description and info.json_schema_extra == {"unit": "mm"}, name
    # ranges from the model's limits
    schema = PanelOptions.model_json_schema()["properties"]
    assert (opts["rows"].type.min, opts["rows"].type.max) == (schema["rows"]["minimum"], schema["rows"]["maximum"])
    assert (opts["street"].type.min, opts["street"].type.min_open, opts["street"].type.max) == (0, True, 20)
    assert schema["street"]["exclusiveMinimum"] == 0 and schema["street"]["maximum"] == 20


@pytest.mark.parametrize("args, words", [
    (["--rows", "60"], "Invalid value for '--rows': 60 is not in the range 1<=x<=50."),
    (["--street", "0"], "Invalid value for '--street': 0.0 is not in the range 0<x<=20."),
    (["--etch-back", "-0.1"], "Invalid value for '--etch-back': -0.1 is not in the range 0<=x<=5."),
])
def test_panel_option_out_of_the_models_range_is_a_usage_error(cli_runner, tmp_path, args, words):
    """Click checks each option against its field's limits (taken from the model) and names the option."""
    code, out, err = cli_runner("panel", EXAMPLES / "buildup.yaml", *args, "-o", tmp_path / "p")
    assert code == 2 and not out and err.strip().endswith(f"Error: {words}"), err
    assert not (tmp_path / "p").exists()


@pytest.mark.parametrize("args, field, words", [
    (["--rows", "1", "--columns", "1"], "rows", "a panel needs at least two units"),
    (["--name", "a/b"], "name", "may only use letters"),
    (["--street", "0.05"], "street", "saw street 0.05 mm cannot hold a 0.1 mm plating bar"),
    (["--rail", "1"], "rail", "rail 1 mm too narrow"),
])
def test_bad_panel_option_is_one_located_message(cli_runner, tmp_path, args, field, words):
    code, out, err = cli_runner("panel", EXAMPLES / "buildup.yaml", *args, "-o", tmp_path / "p")
    lines = err.strip().splitlines()
    assert code == 2 and len(lines) == 1 and not out, (code, out, err)
    assert lines[0].startswith("error: ") and f"field '{field}': " in lines[0] and words in lines[0], lines
    assert not (tmp_path / "p").exists()


def test_panel_name_names_one_panel(cli_runner, tmp_path):
    code, _, err = cli_runner("panel", EXAMPLES / "buildup.yaml", EXAMPLES / "leadframe.yaml", "--name", "P",
                              "-o", tmp_path / "p")
    assert code == 2 and "field 'name'" in err and "2 substrate packages" in err
    code, out, err = cli_runner("panel", EXAMPLES / "leadframe.yaml", "--name", "Strip_1", "--columns", "3",
                                "--rows", "1", "-o", tmp_path / "q")
    assert code == 0, err
    assert [p.name for p in (tmp_path / "q").glob("*.kicad_pcb")] == ["Strip_1.kicad_pcb"]


def test_build_panel_takes_the_model_or_its_fields():
    from kisubstrate.model.panel import PanelOptions

    spec = spec_of("leadframe")
    unit = build_substrate(spec).board
    rules = spec.substrate_rules()
    a = build_panel(unit, rules, PanelOptions(rows=1, columns=3, street=0.4))
    b = build_panel(unit, rules, rows=1, columns=3, street=0.4)
    assert a.size == b.size and a.geom.name == b.geom.name and a.units == 3
    with pytest.raises(TypeError):
        build_panel(unit, rules, PanelOptions(), rows=1)
    with pytest.raises(SpecError) as e:
        build_panel(unit, rules, rows=2, columns=2, bar_width="wide")
    assert e.value.field == "bar_width" and "must be a number" in str(e.value)


def test_schema_panel_is_a_valid_json_schema(cli_runner):
    import json

    import jsonschema

    from kisubstrate.model.panel import PanelOptions

    code, out, err = cli_runner("schema", "panel")
    assert code == 0, err
    schema = json.loads(out)
    jsonschema.Draft202012Validator.check_schema(schema)
    assert set(schema["properties"]) == set(PanelOptions.model_fields)
    assert schema["additionalProperties"] is False and schema["properties"]["street"]["unit"] == "mm"
    validator = jsonschema.Draft202012Validator(schema)
    assert validator.is_valid(PanelOptions().model_dump())
    assert not validator.is_valid({"rows": 0}) and not validator.is_valid({"street": 0.3, "colour": "red"})
