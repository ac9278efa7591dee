"""CLI behaviour: exit codes, determinism (byte-identical re-runs), the overwrite guard, demo.

In-process through ``cli_runner`` for speed; the determinism and demo checks also run the
real ``python -m kisubstrate`` in subprocesses with different hash seeds.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import EXAMPLES, example_files
from kisubstrate.api.outputs import MANIFEST
from kisubstrate.kicad.vrml import model_name
from kisubstrate.model.datafile import data_path
from stack_util import small_buildup

ROOT = Path(__file__).resolve().parents[2]


def tree_bytes(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def tree_stamps(folder: Path) -> dict[str, tuple[int, int]]:
    return {str(p.relative_to(folder)): (p.stat().st_ino, p.stat().st_mtime_ns)
            for p in sorted(folder.rglob("*")) if p.is_file()}


def run_module(*args: str, cwd: Path | None = None, seed: str = "0") -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(ROOT / "generators"), PYTHONHASHSEED=seed)
    env.pop("KISUBSTRATE_DEBUG", None)
    return subprocess.run([sys.executable, "-m", "kisubstrate", *args], capture_output=True, text=True,
                          env=env, cwd=cwd, timeout=300)


GRID_SPECS = [EXAMPLES / f"{f}.yaml" for f in ("bga", "lga", "pga", "wlcsp")]


# -- footprint -----------------------------------------------------------------------------------------
def test_footprint_writes_one_file_per_package(tmp_path, cli_runner):
    out = tmp_path / "Lib.pretty"
    code, stdout, err = cli_runner("footprint", *GRID_SPECS, "-o", out)
    assert (code, err) == (0, "")
    files = sorted(p.name for p in out.glob("*.kicad_mod"))
    assert len(files) == 5  # bga.yaml holds two packages
    assert "BGA-256_14.0x14.0mm_Layout16x16_P0.8mm_Ball0.45mm_Pad0.32mm_NSMD.kicad_mod" in files
    assert stdout.count("wrote ") == 5 and "(256 pads)" in stdout
    assert sorted(json.loads((out / MANIFEST).read_text())) == files


def test_footprint_rerun_is_byte_identical_and_rewrites_nothing(tmp_path, cli_runner):
    out = tmp_path / "Lib.pretty"
    assert cli_runner("footprint", *GRID_SPECS, "-o", out)[0] == 0
    first, stamps = tree_bytes(out), tree_stamps(out)
    assert cli_runner("footprint", *GRID_SPECS, "-o", out)[0] == 0
    assert tree_bytes(out) == first
    assert tree_stamps(out) == stamps, "an unchanged re-run must not touch the files"
    other = tmp_path / "other" / "Lib.pretty"  # same library name: the 3D model paths name it
    assert cli_runner("footprint", *reversed(GRID_SPECS), "-o", other)[0] == 0
    assert tree_bytes(other) == first, "file order on the command line does not change the bytes"


def test_footprint_identical_across_processes_and_hash_seeds(tmp_path):
    outs = []
    for seed in ("1", "12345"):
        out = tmp_path / f"s{seed}" / "Lib.pretty"
        r = run_module("footprint", *map(str, GRID_SPECS), "-o", str(out), seed=seed)
        assert r.returncode == 0, r.stderr
        outs.append(tree_bytes(out))
    assert outs[0] == outs[1]
    text = next(v for k, v in outs[0].items() if k.startswith("PGA")).decode()
    assert "tstamp" not in text and "uuid" not in text  # no timestamps, no random ids


def test_overwrite_guard_and_force(tmp_path, cli_runner):
    spec = EXAMPLES / "lga.yaml"
    out = tmp_path / "Lib.pretty"
    assert cli_runner("footprint", spec, "-o", out)[0] == 0
    (target,) = out.glob("*.kicad_mod")
    original = target.read_bytes()
    edited = original.replace(b'(layer "F.Fab")', b'(layer "F.Fab") ', 1)
    target.write_bytes(edited)

    code, stdout, err = cli_runner("footprint", spec, "-o", out)
    assert code == 2 and stdout == ""
    assert err.startswith("error: not overwriting 1 file(s) changed since kisubstrate wrote them")
    assert str(target) in err and err.rstrip().endswith("use --force")
    assert target.read_bytes() == edited, "the hand edit survives"

    # a refused run writes nothing, not even the new files it would have added
    code, _, _ = cli_runner("footprint", spec, EXAMPLES / "wlcsp.yaml", "-o", out)
    assert code == 2 and len(list(out.glob("*.kicad_mod"))) == 1

    code, stdout, err = cli_runner("footprint", spec, "-o", out, "--force")
    assert (code, err) == (0, "")
    assert target.read_bytes() == original


def test_footprint_json_format(tmp_path, cli_runner):
    code, stdout, err = cli_runner("footprint", EXAMPLES / "wlcsp.yaml", "-o", tmp_path / "L.pretty",
                                   "--format", "json")
    assert (code, err) == (0, "")
    doc = json.loads(stdout)
    assert doc["ok"] is True and doc["packages"][0]["profile"] == "hdi-fine"
    assert doc["packages"][0]["violations"] == []


def test_check_examples_clean(cli_runner):
    code, stdout, err = cli_runner("check", *GRID_SPECS)
    assert (code, err) == (0, "")
    assert stdout.count(": OK (") == 5


def test_check_json_examples(cli_runner):
    code, stdout, _ = cli_runner("check", *example_files(), "--format", "json")
    assert code == 0
    doc = json.loads(stdout)
    assert doc["ok"] is True and all(p["ok"] for p in doc["packages"])
    assert len(doc["packages"]) >= 5


def test_check_writes_nothing(tmp_path, cli_runner):
    before = sorted(Path.cwd().iterdir())
    cli_runner("check", *GRID_SPECS)
    assert sorted(Path.cwd().iterdir()) == before


# -- demo ------------------------------------------------------------------------------------------------
def test_demo_byte_identical_rerun(tmp_path, cli_runner):
    out = tmp_path / "demo"
    code, stdout, err = cli_runner("demo", "-o", out)
    assert (code, err) == (0, ""), err
    first, stamps = tree_bytes(out), tree_stamps(out)
    mods = [k for k in first if k.endswith(".kicad_mod")]
    for family in ("BGA-", "LGA-", "PGA-", "WLCSP-"):
        assert any(Path(m).name.startswith(family) for m in mods), family
    assert stdout.strip().splitlines()[-1].startswith("demo: ")
    # the packages with a ball map (flip-chip) and the substrates have their symbols, naming the demo's footprints
    syms = first["kisubstrate_demo.kicad_sym"].decode()
    assert '(property "Footprint" "kisubstrate_demo:FCBGA-400_17.0x17.0mm_Die5.0x5.0mm_8L_P0.8mm_Footprint"' in syms
    assert '(property "Footprint" "kisubstrate_demo:BUILDUP-196_15.0x15.0mm_Die6.0x6.0mm_6L_P1.0mm_Footprint"' in syms
    for m in mods:
        assert m in stdout
        name = model_name(Path(m).stem)  # every footprint names its STEP model; it and its VRML twin are there
        assert f'(model "${{KIPRJMOD}}/kisubstrate_demo.3dshapes/{name}.step"' in first[m].decode()
        assert first[f"kisubstrate_demo.3dshapes/{name}.step"].startswith(b"ISO-10303-21;")
        assert first[f"kisubstrate_demo.3dshapes/{name}.wrl"].startswith(b"#VRML V2.0")
    code, stdout2, _ = cli_runner("demo", "-o", out)
    assert code == 0 and tree_bytes(out) == first and tree_stamps(out) == stamps
    # a fresh folder through a real process gives the same bytes
    r = run_module("demo", "-o", str(tmp_path / "demo2"), seed="777")
    assert r.returncode == 0, r.stderr
    assert tree_bytes(tmp_path / "demo2") == first


def test_demo_default_folder(tmp_path):
    r = run_module("demo", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "kisubstrate-demo" / "kisubstrate_demo.pretty").is_dir()


def test_demo_respects_the_guard(tmp_path, cli_runner):
    out = tmp_path / "demo"
    assert cli_runner("demo", "-o", out)[0] == 0
    target = next((out / "kisubstrate_demo.pretty").glob("BGA-256*.kicad_mod"))
    target.write_text("(footprint edited)\n")
    code, _, err = cli_runner("demo", "-o", out)
    assert code == 2 and "use --force" in err and target.read_text() == "(footprint edited)\n"
    assert cli_runner("demo", "-o", out, "--force")[0] == 0
    assert target.read_text().startswith('(footprint "BGA-256')


# -- small commands and guards ------------------------------------------------------------------------
def test_version_and_help(cli_runner):
    from kisubstrate import __version__

    code, out, _ = cli_runner("--version")
    assert code == 0 and __version__ in out
    code, out, _ = cli_runner("--help")
    assert code == 0
    for cmd in ("footprint", "check", "demo", "list", "schema"):
        assert cmd in out


def test_list_families(cli_runner):
    code, out, _ = cli_runner("list")
    assert code == 0
    names = [line.split()[0] for line in out.splitlines() if line.strip()]
    assert {"bga", "lga", "pga", "wlcsp"} <= set(names) and names == sorted(names)


def test_schema(cli_runner):
    code, out, _ = cli_runner("schema", "bga")
    assert code == 0
    schema = json.loads(out)
    props = schema["properties"]
    for key in ("body", "pitch", "layout", "ball_diameter", "pad_diameter", "land_rule", "mask", "missing"):
        assert key in props
    assert schema.get("additionalProperties") is False
    code, out, err = cli_runner("schema", "bgaa")
    assert code == 2 and err.startswith("error: unknown family 'bgaa'")


def test_usage_errors_are_exit_2(tmp_path, cli_runner):
    code, _, err = cli_runner("footprint", EXAMPLES / "bga.yaml")  # no -o
    assert code == 2 and "Missing option" in err
    code, _, err = cli_runner("check")  # no spec
    assert code == 2 and "Missing argument" in err
    code, _, err = cli_runner("frobnicate")
    assert code == 2 and "No such command" in err


def test_internal_error_is_reported_without_traceback(tmp_path, cli_runner, monkeypatch):
    import kisubstrate.api.check as api

    def broken(*args, **kwargs):
        raise RuntimeError("simulated bug")

    monkeypatch.delenv("KISUBSTRATE_DEBUG", raising=False)
    monkeypatch.setattr(api, "check_spec", broken)
    code, out, err = cli_runner("check", EXAMPLES / "lga.yaml")
    assert code == 3
    assert err.startswith("internal error: RuntimeError: simulated bug (set KISUBSTRATE_DEBUG=1")
    assert "Traceback" not in out + err
    monkeypatch.setenv("KISUBSTRATE_DEBUG", "1")
    with pytest.raises(RuntimeError):
        cli_runner("check", EXAMPLES / "lga.yaml")


def test_relative_side_files_resolve_from_the_spec_folder(tmp_path, cli_runner, monkeypatch):
    """rules: and ball_map: paths are relative to the spec file, not to the working directory."""
    d = tmp_path / "specs"
    d.mkdir()
    (d / "fab.yaml").write_text("copper_clearance: 0.1\n")
    (d / "nets.csv").write_text("ball,net\nA1,GND\nB2,VCC\n")
    (d / "s.yaml").write_text("packages:\n  - family: bga\n    name: Side\n    body: [5, 5]\n    pitch: 0.8\n"
                              "    layout: [3, 3]\n    ball_diameter: 0.4\n    rules: fab.yaml\n"
                              "    ball_map: nets.csv\n")
    monkeypatch.chdir(tmp_path)
    code, out, err = cli_runner("footprint", "specs/s.yaml", "-o", "Lib.pretty")
    assert (code, err) == (0, ""), err
    assert (tmp_path / "Lib.pretty" / "Side.kicad_mod").is_file()  # ball map found next to the spec
    code, out, _ = cli_runner("check", "specs/s.yaml", "--format", "json")
    assert code == 0 and json.loads(out)["packages"][0]["profile"] == "fab"  # so was the rule profile


def test_unwritable_output_is_a_clean_error(tmp_path, cli_runner):
    """A file where the library folder should be: one message, exit 2, no traceback."""
    (tmp_path / "Lib.pretty").write_text("not a folder\n")
    code, out, err = cli_runner("footprint", EXAMPLES / "lga.yaml", "-o", tmp_path / "Lib.pretty")
    assert code == 2 and out == ""
    assert err.startswith("error: cannot write") and "Traceback" not in err
    assert (tmp_path / "Lib.pretty").read_text() == "not a folder\n"


# -- 3D models of the footprint command (the library export's STEP and VRML writers) --------------
def test_footprint_writes_the_step_and_vrml_models_the_footprint_names(tmp_path, cli_runner):
    out = tmp_path / "proj" / "Lib.pretty"
    code, stdout, err = cli_runner("footprint", EXAMPLES / "lga.yaml", EXAMPLES / "pga.yaml", "-o", out)
    assert (code, err) == (0, ""), err
    mods = sorted(out.glob("*.kicad_mod"))
    assert len(mods) == 2
    for mod in mods:
        name = mod.stem
        wrl = tmp_path / "proj" / "Lib.3dshapes" / f"{name}.wrl"
        assert wrl.read_text().startswith("#VRML V2.0 utf8")
        assert wrl.with_suffix(".step").read_text().startswith("ISO-10303-21;")
        # the path resolves for a project-local library: ${KIPRJMOD} = tmp_path/proj
        assert f'(model "${{KIPRJMOD}}/Lib.3dshapes/{name}.step"' in mod.read_text()
        assert ".wrl" not in mod.read_text()
        assert f"model {wrl.with_suffix('.step')}" in stdout
    # the same bytes as the library export writes for the same footprint and mode
    from kisubstrate.api.footprint import build_footprints
    from kisubstrate.api.specs import load_specs
    from kisubstrate.kicad.vrml import vrml_model

    geom = build_footprints(load_specs([EXAMPLES / "lga.yaml"])[0].spec)[0].geometry
    assert (tmp_path / "proj" / "Lib.3dshapes" / f"{geom.name}.wrl").read_text() == vrml_model(geom)


def test_footprint_models_option_and_no_models(tmp_path, cli_runner):
    out = tmp_path / "Lib.pretty"
    assert cli_runner("footprint", EXAMPLES / "lga.yaml", "-o", out, "--models", "stock", "--kicad", "9")[0] == 0
    (mod,) = out.glob("*.kicad_mod")
    assert f'(model "${{KICAD9_3DMODEL_DIR}}/Lib.3dshapes/{mod.stem}.step"' in mod.read_text()
    ten = tmp_path / "ten" / "Lib.pretty"  # KiCad 10's own path variable
    assert cli_runner("footprint", EXAMPLES / "lga.yaml", "-o", ten, "--models", "stock", "--kicad", "10")[0] == 0
    assert f'(model "${{KICAD10_3DMODEL_DIR}}/Lib.3dshapes/{mod.stem}.step"' in (ten / mod.name).read_text()
    bare = tmp_path / "bare" / "Lib.pretty"
    assert cli_runner("footprint", EXAMPLES / "lga.yaml", "-o", bare, "--no-models")[0] == 0
    (mod,) = bare.glob("*.kicad_mod")
    assert "(model" not in mod.read_text() and not (tmp_path / "bare" / "Lib.3dshapes").exists()
    code, _, err = cli_runner("footprint", EXAMPLES / "lga.yaml", "-o", tmp_path / "x" / "L.pretty",
                              "--models", "nowhere")
    assert code == 2 and "models must be one of" in err and not (tmp_path / "x").exists()


# -- help texts and check --rules ---------------------------------------------------------------------
def test_help_shows_ranges_and_options(cli_runner):
    code, out, _ = cli_runner("panel", "--help")
    assert code == 0 and "1<=x<=50" in out and "1 .. 50" in out and "--no-check" in out and "--format" in out
    code, out, _ = cli_runner("check", "--help")
    assert code == 0 and "--rules PROFILE" in out
    code, out, _ = cli_runner("footprint", "--help")
    assert code == 0 and "--models" in out and "--no-models" in out


def test_check_against_another_profile(tmp_path, cli_runner):
    """wlcsp.yaml (0.2 mm copper gaps) fits its own hdi-fine profile, not a fab that needs 0.25 mm."""
    code, out, _ = cli_runner("check", EXAMPLES / "wlcsp.yaml", "--format", "json")
    assert code == 0 and json.loads(out)["packages"][0]["profile"] == "hdi-fine"
    (tmp_path / "coarse.yaml").write_text("name: coarse\ncopper_clearance: 0.25\n")
    code, out, _ = cli_runner("check", EXAMPLES / "wlcsp.yaml", "--rules", tmp_path / "coarse.yaml",
                              "--format", "json")
    doc = json.loads(out)
    assert code == 1 and doc["ok"] is False and doc["packages"][0]["profile"] == "coarse"
    vs = doc["packages"][0]["violations"]
    assert {v["rule"] for v in vs} == {"copper_clearance"} and len(vs) == 2 * 6 * 5  # every row/column pair
    assert vs[0]["measured"] == pytest.approx(0.2, abs=1e-9) and vs[0]["required"] == 0.25
    code, out, _ = cli_runner("check", EXAMPLES / "wlcsp.yaml", "--rules", "ipc-default")
    assert code == 0  # and the standard profile accepts it too
    code, _, err = cli_runner("check", EXAMPLES / "wlcsp.yaml", "--rules", "no-such-fab")
    assert code == 2 and "no-such-fab" in err


def test_check_substrate_against_another_substrate_profile(tmp_path, cli_runner):
    """A substrate profile checks the substrate boards: the cavity fits substrate-hdi; the PoP's 40 um traces and
    0.15 mm through vias do not (HDI: 100 um lines, 0.2 mm drills); a profile file of substrate keys is a
    substrate profile; the footprints are not checked by it."""
    code, out, _ = cli_runner("check", EXAMPLES / "cavity.yaml", EXAMPLES / "pop.yaml",
                              "--rules", "substrate-hdi", "--format", "json")
    doc = json.loads(out)
    assert code == 1 and [p["profile"] for p in doc["packages"]] == ["substrate-hdi", "substrate-hdi"]
    cav, pop = doc["packages"]
    assert cav["ok"] and not cav["package"].endswith("_Footprint") and not pop["ok"]
    assert {v["rule"] for v in pop["violations"]} >= {"track_width", "via_drill"}
    assert all(v["required"] == pytest.approx(0.1) for v in pop["violations"] if v["rule"] == "track_width")
    prof = tmp_path / "fab.yaml"
    prof.write_text(data_path("rules", "substrate-buildup.yaml").read_text().replace("name: substrate-buildup",
                                                                                  "name: fab"))
    code, out, _ = cli_runner("check", EXAMPLES / "cavity.yaml", "--rules", prof, "--format", "json")
    assert code == 0 and json.loads(out)["packages"][0]["profile"] == "fab"


def test_panel_rows_out_of_range_is_a_usage_error(tmp_path, cli_runner):
    code, _, err = cli_runner("panel", EXAMPLES / "leadframe.yaml", "--rows", "51", "-o", tmp_path / "p")
    assert code == 2 and "51 is not in the range 1<=x<=50" in err and not (tmp_path / "p").exists()


# -- substrate: messages and JSON (substrate review items 16 / 19) ---------------------------------
def test_substrate_errors_name_file_and_package(cli_runner, tmp_path):
    spec = tmp_path / "few.yaml"
    spec.write_text(json.dumps({"packages": [small_buildup(
        dies=[{"size": [3, 3], "pads": {"peripheral": {"per_side": 6, "pitch": 0.3}}}])]}))
    code, _out, err = cli_runner("substrate", spec, "-o", tmp_path / "o")
    assert code == 2 and str(spec) in err and "SMALL" in err and "24 die pads but only 16 balls" in err
    assert not (tmp_path / "o").exists()


def test_no_check_json_prints_only_json(cli_runner, tmp_path):
    spec = tmp_path / "thin.yaml"
    spec.write_text(json.dumps({"packages": [small_buildup(trace_width=0.02)]}))
    code, out, err = cli_runner("substrate", spec, "-o", tmp_path / "o", "--no-check", "--format", "json")
    assert code == 0 and "warning: writing 1 substrate(s)" in err
    doc = json.loads(out)
    assert doc["ok"] is False and {v["rule"] for v in doc["packages"][0]["violations"]} == {"track_width"}


@pytest.mark.parametrize("how", ["no-opencascade", "--no-step"])
def test_footprint_without_opencascade_or_with_no_step_writes_vrml_only(tmp_path, cli_runner, monkeypatch, how):
    """KiCad's own Python (the plugin) or a plain `pip install .`: no STEP, one line saying so, no crash;
    `--no-step` asks for the same without the notice."""
    import kisubstrate.kicad.step as step

    if how == "no-opencascade":
        monkeypatch.setattr(step, "available", lambda: False)
    out = tmp_path / "proj" / "Lib.pretty"
    code, stdout, err = cli_runner("footprint", EXAMPLES / "pga.yaml", "-o", out, *([how] if how[0] == "-" else []))
    assert code == 0 and err.strip() == (step.NO_STEP_NOTICE if how == "no-opencascade" else "")
    (mod,) = out.glob("*.kicad_mod")
    assert f'(model "${{KIPRJMOD}}/Lib.3dshapes/{mod.stem}.wrl"' in mod.read_text()
    models = sorted(p.name for p in (tmp_path / "proj" / "Lib.3dshapes").iterdir() if not p.name.startswith("."))
    assert models == [f"{mod.stem}.wrl"]
