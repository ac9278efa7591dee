"""Plugin pieces that need no GUI: forms from the spec models, preview, icons, plugin.json, SWIG logic."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import jsonschema
import pytest

from conftest import EXAMPLES, ROOT
from kisubstrate.api.footprint import build_footprints
from kisubstrate.api.specs import load_specs
from kisubstrate.families.registry import families
from kisubstrate.model.errors import SpecError
from kisubstrate.plugin_support import actions
from kisubstrate.plugin_support.form import (
    OMIT,
    first_package,
    form_fields,
    spec_from_texts,
    texts_from_values,
    values_from_texts,
)
from kisubstrate.plugin_support.png import icon_files, png_size
from kisubstrate.plugin_support.preview import BACKGROUND_RGB, HOLE_RGB, PAD_RGB, render

API_SCHEMA = Path("/usr/share/kicad/schemas/api.v1.schema.json")
IPC = ROOT / "plugin" / "ipc"
SWIG = ROOT / "plugin" / "swig"


def _swig_logic():
    spec = importlib.util.spec_from_file_location("kisubstrate_swig_logic_under_test", SWIG / "swig_logic.py")
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod
    spec.loader.exec_module(mod)
    return mod


def _footprint_examples() -> list[Path]:
    out = []
    for path in sorted(EXAMPLES.glob("*.yaml")):
        family, _, _ = first_package(path)
        if families()[family].footprint is not None:
            out.append(path)
    return out


# -- the form is the spec model --------------------------------------------------------------------
@pytest.mark.parametrize("family", sorted(families()))
def test_form_fields_come_from_the_model(family):
    model = families()[family].spec
    schema = model.model_json_schema()
    fields = {f.name: f for f in form_fields(family)}
    assert set(fields) == set(model.model_fields) - {"family"}
    assert {n for n, f in fields.items() if f.required} == set(schema.get("required", [])) - {"family"}
    for name, f in fields.items():
        prop = schema["properties"][name]
        assert f.help == prop.get("description", "")
        assert f.unit == prop.get("unit", "")
        if not f.required:
            assert f.default == model.model_fields[name].get_default(call_default_factory=True)
    order = [f.required for f in form_fields(family)]
    assert order == sorted(order, reverse=True), "required fields come first"


def test_form_limits_units_and_choices_for_bga():
    f = {x.name: x for x in form_fields("bga")}
    assert (f["ball_diameter"].kind, f["ball_diameter"].unit) == ("number", "mm")
    assert (f["ball_diameter"].exclusive_minimum, f["ball_diameter"].maximum) == (0.0, 10)
    assert f["mask"].choices == ("nsmd", "smd") and f["mask"].default == "nsmd"
    assert f["stagger"].choices == ("", "a1", "b1")
    assert (f["layout"].kind, f["layout"].item) == ("pair", "integer")
    assert f["pitch"].kind == "number_or_pair"
    assert "limits: > 0, ≤ 10" in f["ball_diameter"].tooltip()


@pytest.mark.parametrize("path", _footprint_examples(), ids=lambda p: p.stem)
def test_form_texts_give_the_yaml_spec(path):
    """Filling the form with a package's values as text yields exactly the spec the YAML path gives."""
    family, values, base = first_package(path)
    texts = texts_from_values(family, values)
    assert all(isinstance(t, str) for t in texts.values())
    from_form = spec_from_texts(family, texts, base_dir=base)
    from_yaml = load_specs([path])[0].spec
    assert from_form == from_yaml
    assert build_footprints(from_form)[0].text() == build_footprints(from_yaml)[0].text()


def test_form_parse_errors_name_the_field():
    f = {x.name: x for x in form_fields("bga")}
    assert f["height"].parse("  ") is OMIT
    assert f["pitch"].parse("0.8") == 0.8 and f["pitch"].parse("0.8, 1.0") == [0.8, 1.0]
    assert f["layout"].parse("16 x 12") == [16, 12]
    assert f["missing"].parse("A1, B2, C3:D4") == ["A1", "B2", "C3:D4"]
    with pytest.raises(SpecError) as err:
        values_from_texts("bga", {"layout": "16, 1.5"})
    assert err.value.field == "layout" and "'1.5' is not a whole number" in err.value.reason
    with pytest.raises(SpecError) as err:
        spec_from_texts("bga", {"body": "3, 3", "pitch": "1", "layout": "2, 2", "ball_diameter": "0"})
    assert err.value.field == "ball_diameter"


def test_evaluate_reports_check_results_and_errors():
    ok = actions.evaluate("bga", {"body": "3, 3", "pitch": "1", "layout": "2, 2", "ball_diameter": "0.5"})
    assert ok.ok and ok.result.geometry.pad_count == 4 and "all checks pass" in ok.summary()
    bad = actions.evaluate("bga", {"body": "3, 3", "pitch": "1", "layout": "2, 2", "ball_diameter": "x"})
    assert not bad.ok and bad.field == "ball_diameter" and bad.summary() == \
        "Invalid input — ball_diameter: 'x' is not a number"
    # a rule violation: pads too close for the mask web (pad 0.95 mm at 1 mm pitch)
    viol = actions.evaluate("bga", {"body": "3, 3", "pitch": "1", "layout": "2, 2", "ball_diameter": "0.5",
                                    "pad_diameter": "0.95"})
    assert viol.result is not None and not viol.ok and "violation" in viol.summary()


def test_save_to_library_writes_the_cli_bytes(tmp_path, cli_runner):
    """The footprint and its VRML model: the same files, byte for byte, as `kisubstrate footprint`."""
    ev = actions.evaluate("lga", {"body": "4, 4", "pitch": "0.65", "layout": "5, 5", "pad_diameter": "0.35"})
    path = actions.save_to_library(ev.result, tmp_path / "plugin" / "Mine.pretty")
    (tmp_path / "s.yaml").write_text("packages:\n  - family: lga\n    body: [4, 4]\n    pitch: 0.65\n"
                                     "    layout: [5, 5]\n    pad_diameter: 0.35\n")
    assert cli_runner("footprint", tmp_path / "s.yaml", "-o", tmp_path / "cli" / "Mine.pretty")[0] == 0
    name = ev.result.geometry.name
    for rel in (f"Mine.pretty/{name}.kicad_mod", f"Mine.3dshapes/{name}.wrl"):
        assert (tmp_path / "plugin" / rel).read_bytes() == (tmp_path / "cli" / rel).read_bytes(), rel
    assert path == tmp_path / "plugin" / "Mine.pretty" / f"{name}.kicad_mod"
    assert actions.library_model_path(path.parent, name) in path.read_text()
    with pytest.raises(SpecError):
        actions.save_to_library(ev.result, tmp_path / "NotALibrary")


def test_write_substrate_footprint_only_family_is_a_message(tmp_path):
    out = actions.write_substrate({"family": "bga", "body": [3, 3], "pitch": 1, "layout": [2, 2],
                                   "ball_diameter": 0.5}, tmp_path / "sub")
    assert not out.ok and "family 'bga' has no substrate" in out.message
    assert not (tmp_path / "sub").exists()


def test_write_substrate_runs_the_substrate_command(tmp_path):
    subs = actions.substrate_families()
    assert {"buildup", "cavity", "pop"} <= set(subs), subs  # the registered substrate families
    path = next(p for p in sorted(EXAMPLES.glob("*.yaml")) if first_package(p)[0] in subs)
    family, values, base = first_package(path)
    out = actions.write_substrate({"family": family, **values}, tmp_path / "sub", base_dir=base)
    assert out.ok, out.message
    assert any(p.suffix == ".kicad_pcb" for p in out.files)


def test_write_substrate_spec_goes_to_a_temp_dir_and_side_files_still_resolve(tmp_path, monkeypatch):
    """The temporary spec is never written into the user's spec folder; relative ball/bump maps still load."""
    import shutil
    import subprocess

    src = tmp_path / "specs"
    src.mkdir()
    for path in [EXAMPLES / "pop.yaml", *EXAMPLES.glob("pop_*.csv")]:
        shutil.copy(path, src / path.name)
    family, values, _ = first_package(src / "pop.yaml")
    seen: list[list[str]] = []
    real_run = subprocess.run

    def spy(cmd, *args, **kwargs):
        seen.append(list(cmd))
        assert Path(cmd[cmd.index("substrate") + 1]).is_file()  # the spec exists while the command runs
        return real_run(cmd, *args, **kwargs)

    monkeypatch.setattr(subprocess, "run", spy)
    before = sorted(p.name for p in src.iterdir())
    out = actions.write_substrate({"family": family, **values}, tmp_path / "sub", base_dir=str(src))
    assert out.ok, out.message
    (cmd,) = seen
    spec_file = Path(cmd[cmd.index("substrate") + 1])
    assert src not in spec_file.parents and (tmp_path / "sub") not in spec_file.parents
    assert not spec_file.exists() and not spec_file.parent.exists()  # cleaned up with its folder
    assert sorted(p.name for p in src.iterdir()) == before


def test_cli_command_finds_a_python_when_the_executable_is_kicad(tmp_path):
    """Inside KiCad sys.executable can be kicad(.exe): look for python3/python instead."""
    kicad = tmp_path / "bin" / "kicad"
    kicad.parent.mkdir()
    kicad.write_text("#!/bin/sh\nexit 1\n")
    kicad.chmod(0o755)
    cmd = actions.cli_command(str(kicad))
    assert Path(cmd[0]).name.startswith("python") and cmd[1:] == ["-m", "kisubstrate"]
    python3 = kicad.parent / "python3"  # one beside the executable wins
    python3.symlink_to(sys.executable)
    assert actions.cli_command(str(kicad)) == [str(python3), "-m", "kisubstrate"]
    assert actions.cli_command(sys.executable) == [sys.executable, "-m", "kisubstrate"]


# -- preview and icons -------------------------------------------------------------------------------
def test_preview_draws_pads_and_holes_where_they_are():
    pga = build_footprints({"family": "pga", "body": [10, 10], "pitch": 2.54, "layout": [3, 3],
                            "pin_diameter": 0.46})[0].geometry
    pic = render(pga, 200, 160)
    assert pic.pixel_at_mm(0, 0) == HOLE_RGB  # centre pin's drill
    land = pga.pads[1].size[0]
    assert pic.pixel_at_mm(2.54 + 0.45 * land, 0) == PAD_RGB  # its copper ring, right of the hole
    assert pic.pixel_at_mm(1.27, 1.27) == BACKGROUND_RGB  # between pins
    assert pic.rgb.shape == (160, 200, 3)


def test_icons_are_24px_pngs_and_the_committed_files_are_reproducible():
    for name, data in icon_files().items():
        assert png_size(data) == (24, 24)
        assert (IPC / name).read_bytes() == data, f"plugin/ipc/{name} differs from icon_files()"
    assert (SWIG / "icon.png").read_bytes() == icon_files()["icon-footprint.png"]
    assert (SWIG / "icon_dark.png").read_bytes() == icon_files()["icon-footprint-dark.png"]


# -- plugin.json against KiCad's own schema ----------------------------------------------------------
@pytest.mark.kicad
def test_plugin_json_is_valid_for_kicad(kicad_cli):
    if not API_SCHEMA.is_file():
        from conftest import require_kicad

        require_kicad(f"{API_SCHEMA} missing")
    plugin = json.loads((IPC / "plugin.json").read_text())
    jsonschema.validate(plugin, json.loads(API_SCHEMA.read_text()))
    # KiCad 9.0.8 silently ignores a plugin whose identifier has only two dot-separated parts
    assert plugin["identifier"].count(".") >= 2
    for action in plugin["actions"]:
        assert (IPC / action["entrypoint"]).is_file()
        for icon in action["icons-light"] + action["icons-dark"]:
            assert png_size((IPC / icon).read_bytes()) == (24, 24)
        assert action["scopes"] == ["pcb"] and action["show-button"] is True
    reqs = (IPC / "requirements.txt").read_text()
    assert "kisubstrate" in reqs and "kicad-python" in reqs


def test_one_kicad_python_range_everywhere():
    """The IPC plugin's requirements, the PCM zip and the ``plugin`` extra ask for the same kicad-python
    (0.6.0 fails on ``Net(name=…)``; 0.7.1 and 0.8.0 place footprints on KiCad 9.0.8 and 10.0.6)."""
    import re

    from kisubstrate.plugin_support.pcm import KIPY_REQUIREMENT, runtime_requirements

    assert KIPY_REQUIREMENT == "kicad-python>=0.7.1,<0.9"
    assert KIPY_REQUIREMENT in (IPC / "requirements.txt").read_text().splitlines()
    assert KIPY_REQUIREMENT in runtime_requirements()
    extra = re.search(r'^plugin = \[(.*)\]$', (IPC.parents[1] / "pyproject.toml").read_text(), re.M).group(1)
    assert extra == f'"{KIPY_REQUIREMENT}"'


# -- SWIG shim logic (stdlib only) -----------------------------------------------------------------
def test_swig_backend_missing_says_how_to_install(tmp_path):
    logic = _swig_logic()
    env = {"PATH": str(tmp_path), "HOME": str(tmp_path)}
    assert logic.find_backend(env, allow_in_process=False) is None
    assert logic.find_backend({**env, "KISUBSTRATE_CLI": str(tmp_path / "nope")}) is None
    assert "pipx install kisubstrate" in logic.INSTALL_HINT
    fake = tmp_path / "kisubstrate"
    fake.write_text("#!/bin/sh\nexit 0\n")
    fake.chmod(0o755)
    found = logic.find_backend(env, allow_in_process=False)
    assert found is not None and found.command == [str(fake)]


def test_swig_refuses_without_a_board():
    logic = _swig_logic()
    out = logic.run(None, None, spec="x.yaml")
    assert not out.ok and out.message == logic.NO_BOARD


def test_swig_generates_in_process_into_a_library(tmp_path):
    logic = _swig_logic()
    backend = logic.find_backend({"PATH": ""})
    assert backend is not None and backend.kind == "in-process"  # the dev venv imports kisubstrate
    ok, message, names = logic.generate(backend, EXAMPLES / "lga.yaml", tmp_path / "L.pretty")
    assert ok, message
    assert names == [load_specs([EXAMPLES / "lga.yaml"])[0].spec.resolved_name]
    assert (tmp_path / "L.pretty" / f"{names[0]}.kicad_mod").is_file()
