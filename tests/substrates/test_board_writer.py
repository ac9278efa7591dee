"""The board IR and its KiCad writer: sizes snapped to the nanometre, names quoted, zone fills
fractured like KiCad's; KiCad loads and renders what we write."""

from __future__ import annotations

import json
import subprocess

import numpy as np
import pytest
import shapely

from kisubstrate.api.specs import validate_spec
from kisubstrate.api.substrate import build_substrate, substrate_files
from kisubstrate.geometry.board import Zone
from kisubstrate.kicad.sexpr import find_all, loads
from kisubstrate.model.units import fmt, snap, snap_array, to_nm
from stack_util import small_board, small_buildup


# -- one rounding rule, sizes snapped (substrate review item 14) -----------------------------------
def test_snap_rounds_half_away_from_zero_everywhere():
    assert (snap(0.0000025), snap(-0.0000025), to_nm(0.0000025), fmt(0.0000025)) == (3e-06, -3e-06, 3, "0.000003")
    assert snap_array(np.array([0.0000025, -0.0000025, 0.0000035])).tolist() == [3e-06, -3e-06, 4e-06]
    assert fmt(0.1234565) == fmt(snap(0.1234565))
    b = small_board(2)
    b.pad("A", "1", 0, 0, 0.1000004, h=0.2000006, layer=0, mask=0.0500004)
    b.via(0, 0, 0.1200004, 0.0600006, 0, 1, net=0, kind="micro")
    b.track(0, 0, 1, 0, 0.0250004, layer=1, net=0)
    g = b.build()
    assert (g.pads.w.tolist(), g.pads.h.tolist(), g.pads.mask.tolist()) == ([0.1], [0.200001], [0.05])
    assert (g.vias.size.tolist(), g.vias.drill.tolist(), g.tracks.width.tolist()) == ([0.12], [0.060001], [0.025])
    b.zones.append(Zone("z", (0,), shapely.box(0, 0, 1.0000004, 1.0000006), fill=shapely.box(0, 0, 0.5000004, 1)))
    z = b.build().zones[0]
    assert z.fill.bounds == (0.0, 0.0, 0.5, 1.0)


# -- strings through the board writer (substrate review items 3 / 7 / 30) --------------------------
QUOTED = {"stackup": {"finish": 'EN"EP\\IG', "materials": {'AB"F (x)': {"epsilon_r": 3.3, "loss_tangent": 0.008}},
                      "layers": [{"copper": 0.015, "name": 'DIE "top"'}, {"dielectric": 0.035, "material": 'AB"F (x)'},
                                 {"copper": 0.015, "name": "RDL1"}, {"dielectric": 0.035, "material": 'AB"F (x)'},
                                 {"copper": 0.015}]}}


def test_quotes_in_names_round_trip_through_the_writer():
    result = build_substrate(validate_spec(small_buildup(**QUOTED)))
    assert result.report.ok, result.report.text()
    tree = loads(substrate_files(result)["SMALL.kicad_pcb"])
    stack = next(find_all(tree, "stackup"))
    mats = {str(m[1]) for m in find_all(stack, "material")}
    assert mats == {'AB"F (x)'}
    assert str(next(find_all(stack, "copper_finish"))[1]) == 'EN"EP\\IG'
    layers = next(find_all(tree, "layers"))
    named = {str(row[1]): str(row[3]) for row in layers[1:] if len(row) > 3 and str(row[2]) == "signal"}
    assert named == {"F.Cu": 'DIE "top"', "In1.Cu": "RDL1", "In2.Cu": "unused"}


@pytest.mark.kicad
def test_kicad_loads_a_board_with_quotes_in_names(kicad_cli, cli_runner, tmp_path):
    result = build_substrate(validate_spec(small_buildup(**QUOTED)))
    for name, text in substrate_files(result).items():
        (tmp_path / name).write_text(text)
    out = tmp_path / "drc.json"
    r = subprocess.run([kicad_cli, "pcb", "drc", "--format", "json", "--severity-error", "-o", str(out),
                        str(tmp_path / "SMALL.kicad_pcb")], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    report = json.loads(out.read_text())
    assert report["violations"] == [] and report["unconnected_items"] == []
    # render: KiCad names the layer SVG after the sanitised user name; we still find every layer
    code, _out, err = cli_runner("render", tmp_path, "--no-png")
    assert code == 0, err
    pics = sorted(p.name for p in (tmp_path / "render").glob("*.svg"))
    assert pics == ["SMALL-B_Cu.svg", "SMALL-F_Cu.svg", "SMALL-In1_Cu.svg", "SMALL-board.svg", "SMALL-stackup.svg"]
    assert 'AB&quot;F (x) prepreg' in (tmp_path / "render" / "SMALL-stackup.svg").read_text()
    # a stale sidecar (other item counts) is ignored with a warning, not trusted
    side = tmp_path / "SMALL.kisubstrate.json"
    info = json.loads(side.read_text())
    info["counts"]["vias"] += 1
    side.write_text(json.dumps(info))
    code, _out, err = cli_runner("render", tmp_path, "--no-png", "-o", tmp_path / "r2")
    assert code == 0 and "does not describe SMALL.kicad_pcb" in err
    assert sorted(p.name for p in (tmp_path / "r2").glob("*.svg")) == ["SMALL-B_Cu.svg", "SMALL-F_Cu.svg",
                                                                        "SMALL-board.svg"]


def test_zone_fill_fractured_like_kicad():
    """A fill with holes becomes one outline with zero-width slits: same area, no interiors."""
    from kisubstrate.kicad.board import _hole_free

    plane = shapely.box(-5, -5, 5, 5).difference(shapely.box(-2, -2, 2, 2)).difference(shapely.box(3, -1, 4, 1))
    rings = _hole_free(plane)
    assert len(rings) == 1
    assert shapely.Polygon(rings[0]).area == pytest.approx(plane.area, abs=1e-9)
    # holes one above the other: the lower hole's slit ends on the upper hole
    stacked = shapely.box(-5, -5, 5, 5).difference(shapely.box(-1, -4, 1, -2)).difference(shapely.box(-1, 2, 1, 4))
    rings = _hole_free(stacked)
    assert len(rings) == 1 and shapely.Polygon(rings[0]).area == pytest.approx(stacked.area)
    assert shapely.Polygon(rings[0]).buffer(0).equals(stacked)


# -- DRC severities pinned (KiCad 10 changed defaults and added checks) ----------------------------
SEVERITIES_OF_A_NEW_BOARD = r"""
import json, os, sys
path = os.path.join(sys.argv[1], "new.kicad_pcb")
pcbnew.SaveBoard(path, pcbnew.NewBoard(path))
data = json.load(open(os.path.join(sys.argv[1], "new.kicad_pro")))
print(json.dumps(data["board"]["design_settings"]["rule_severities"]))
"""


@pytest.mark.kicad
def test_project_pins_every_severity_the_oracle_knows(pcbnew_python, tmp_path):
    """Every DRC check of the oracle KiCad (9 or 10) has its severity in our .kicad_pro, so no check falls back
    to a release's default; the defaults we pin are the oracle's except where KiCad 10 changed them."""
    from conftest import run_pcbnew
    from kisubstrate.kicad.project import KICAD_SEVERITIES, SEVERITY_OVERRIDES

    defaults = run_pcbnew(pcbnew_python, SEVERITIES_OF_A_NEW_BOARD, str(tmp_path))
    assert set(defaults) <= set(KICAD_SEVERITIES), sorted(set(defaults) - set(KICAD_SEVERITIES))
    changed_in_10 = {"pth_inside_courtyard", "npth_inside_courtyard"}
    assert {k: v for k, v in defaults.items() if KICAD_SEVERITIES[k] != v} == \
        {k: "error" for k in changed_in_10 if k in defaults and defaults[k] == "error"}
    files = substrate_files(build_substrate(validate_spec(small_buildup())))
    written = json.loads(next(t for n, t in files.items() if n.endswith(".kicad_pro")))
    severities = written["board"]["design_settings"]["rule_severities"]
    assert severities == dict(sorted({**KICAD_SEVERITIES, **SEVERITY_OVERRIDES}.items()))
    assert severities["pth_inside_courtyard"] == severities["npth_inside_courtyard"] == "ignore"
