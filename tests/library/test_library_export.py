"""The library definition and `kisubstrate library`: expansion, errors, outputs, byte-identical
regeneration of the committed library, and KiCad loading every exported footprint."""

from __future__ import annotations

import csv
import filecmp
import re
import subprocess
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import run_pcbnew
from kisubstrate.api.library import (
    LibraryDef,
    compact_svg,
    export_library,
    kicad_version,
)
from kisubstrate.model.errors import SpecError
from property_util import Share

ROOT = Path(__file__).resolve().parents[2]
SPEC = ROOT / "footprints" / "library.yaml"
LIB_DIR = ROOT / "footprints" / "kisubstrate_Packages"
LIB = "kisubstrate_Packages"
REGEN_COMMAND = "kisubstrate library footprints/library.yaml -o footprints/kisubstrate_Packages"


def _small(tmp_path: Path, sections: list, **top) -> Path:
    import yaml

    path = tmp_path / "lib.yaml"
    path.write_text(yaml.safe_dump({"library": "Small_Lib", "sections": sections, **top}))
    return path


BGA_SECTION = {"title": "BGA 1 mm", "family": "bga", "defaults": {"pitch": 1.0, "ball_diameter": 0.5},
               "layout": "fit", "edge": 1.0, "sweep": {"body": [5, 8, 11]},
               "variants": [{}, {"perimeter_rings": 2, "min_layout": 7}]}


# -- the definition ------------------------------------------------------------------------------
def test_sweeps_fit_layouts_bodies_and_filter_variants():
    lib = LibraryDef.from_dict({"library": "L", "sections": [
        BGA_SECTION,
        {"title": "W", "family": "wlcsp", "defaults": {"pitch": 0.4, "ball_diameter": 0.25}, "body": "fit",
         "edge": 0.2, "sweep": {"layout": [[2, 3], 4]}},
        {"title": "LGA", "family": "lga", "layout": "fit", "edge": 0.5,
         "sweep": {"pl": [{"pitch": 1.0, "land_diameter": 0.5}, {"pitch": 0.8, "land_diameter": 0.4}],
                   "body": [4]},
         "variants": [{}, {"pad_shape": "rect", "name_suffix": "_Sq", "parity": "even"}]},
        {"title": "explicit", "family": "pga", "packages": [{"body": [10, 10], "pitch": 2.54, "layout": [3, 3],
                                                             "pin_diameter": 0.46}]}]})
    got = [(lib.sections[s].title, p.get("body"), p.get("layout"), p.get("perimeter_rings"), p.get("pitch"))
           for s, p in lib.packages]
    assert got == [
        ("BGA 1 mm", [5.0, 5.0], [4, 4], None, 1.0),        # (5 - 2 x 1) / 1 + 1 = 4 balls
        ("BGA 1 mm", [8.0, 8.0], [7, 7], None, 1.0),
        ("BGA 1 mm", [8.0, 8.0], [7, 7], 2, 1.0),           # min_layout 7 reached
        ("BGA 1 mm", [11.0, 11.0], [10, 10], None, 1.0),
        ("BGA 1 mm", [11.0, 11.0], [10, 10], 2, 1.0),
        ("W", [0.8, 1.2], [2, 3], None, 0.4),              # body = grid span + 2 x 0.2
        ("W", [1.6, 1.6], [4, 4], None, 0.4),
        ("LGA", [4.0, 4.0], [4, 4], None, 1.0),             # 3 / 1.0 + 1
        ("LGA", [4.0, 4.0], [4, 4], None, 1.0),             # even: the square-land variant
        ("LGA", [4.0, 4.0], [4, 4], None, 0.8),             # 3 / 0.8 -> 3 + 1
        ("LGA", [4.0, 4.0], [4, 4], None, 0.8),
        ("explicit", [10, 10], [3, 3], None, 2.54),
    ]


@pytest.mark.parametrize("data, field, words", [
    ({"library": "L", "sections": [{"title": "x", "sweep": {"body": [5]}}]}, "family", "missing"),
    ({"library": "L", "sections": [{**BGA_SECTION, "edge": -1}]}, "edge", "edge"),
    ({"library": "L", "sections": [{**BGA_SECTION, "colour": 1}]}, None, "unknown section key 'colour'"),
    ({"library": "L", "sections": [{**BGA_SECTION, "sweep": {"body": []}}]}, "sweep", "non-empty"),
    ({"library": "bad name", "sections": [BGA_SECTION]}, "library", "library name"),
    ({"library": "L", "pcm_id": "has_underscore", "sections": [BGA_SECTION]}, "pcm_id", "no underscores"),
    ({"library": "L", "sections": []}, "sections", "non-empty"),
    ({"library": "L", "sections": [{**BGA_SECTION, "defaults": [1]}]}, "defaults", "mapping"),
    ({"library": "L", "sections": [{**BGA_SECTION, "variants": [1]}]}, "variants", "mappings"),
    ({"library": "L", "sections": [{**BGA_SECTION, "layout": "auto"}]}, None, "may only be 'fit'"),
    ({"library": "L", "sections": [BGA_SECTION], "extra": 1}, None, "unknown top-level key 'extra'"),
])
def test_definition_mistakes_are_located(data, field, words):
    with pytest.raises(SpecError) as err:
        LibraryDef.from_dict(data, file="lib.yaml")
    assert err.value.field == field and err.value.file == "lib.yaml"
    assert words in str(err.value)


@pytest.mark.parametrize("section, field, words", [
    ({**BGA_SECTION, "variants": [{"parity": "odd"}, {"parity": "evn"}]}, "variants[1].parity",
     "must be 'even' or 'odd' (got 'evn')"),
    ({**BGA_SECTION, "variants": [{"min_layout": 0}]}, "variants[0].min_layout", "must be >= 1 (got 0)"),
    ({**BGA_SECTION, "variants": [{"name_suffix": "_a b"}]}, "variants[0].name_suffix", "may only use letters"),
    ({**BGA_SECTION, "edge": None}, "edge", "need 'edge'"),
    ({**BGA_SECTION, "edge": "wide"}, "edge", "must be a number (got 'wide')"),
    ({**BGA_SECTION, "sweep": None}, None, "a section needs 'packages' or 'sweep'"),
    ({**BGA_SECTION, "packages": [3]}, "packages", "must be a list of package mappings"),
    ({**BGA_SECTION, "titel": "x"}, None, "unknown section key 'titel' (did you mean 'title'?)"),
    ({**BGA_SECTION, "defaults": {"ball_diameter": 0.5}}, "pitch", "fitting needs 'pitch'"),
    ({**BGA_SECTION, "layout": None, "body": "fit"}, "layout", "'body: fit' needs 'layout'"),
])
def test_bad_library_key_is_one_located_line(tmp_path, cli_runner, section, field, words):
    """The models of kisubstrate.model.library check the definition: one line naming file, section, field."""
    spec = _small(tmp_path, [section])
    with pytest.raises(SpecError) as err:
        LibraryDef.load(spec)
    assert err.value.field == field and err.value.file == str(spec), str(err.value)
    assert err.value.package == "section 'BGA 1 mm'" and words in str(err.value)
    code, out, stderr = cli_runner("library", spec, "-o", tmp_path / "out", "--no-renders", "-q", "-j", "1")
    assert code == 2 and not out and stderr == f"error: {err.value}\n", stderr
    assert not (tmp_path / "out").exists()


def test_model_path_mode_is_checked_with_the_definition():
    from kisubstrate.kicad.paths import MODEL_PRESETS
    from kisubstrate.model.library import MODEL_MODES

    assert MODEL_MODES == tuple(MODEL_PRESETS)
    with pytest.raises(SpecError) as err:
        LibraryDef.from_dict({"library": "L", "models": "nonsense", "sections": [BGA_SECTION]}, file="lib.yaml")
    assert err.value.field == "models" and err.value.file == "lib.yaml" and err.value.package is None
    assert "must be one of project, pcm, stock or a template with {lib} and {name}" in str(err.value)


def test_schema_library_is_a_valid_json_schema_the_shipped_definition_meets(cli_runner):
    import json

    import jsonschema
    import yaml

    code, out, err = cli_runner("schema", "library")
    assert code == 0, err
    schema = json.loads(out)
    jsonschema.Draft202012Validator.check_schema(schema)
    assert set(schema["properties"]) == {"library", "description", "models", "pcm_id", "sections"}
    assert schema["additionalProperties"] is False and schema["required"] == ["library", "sections"]
    section = schema["$defs"]["LibrarySection"]
    assert section["additionalProperties"] is False and section["properties"]["edge"]["unit"] == "mm"
    assert schema["$defs"]["LibraryVariant"]["additionalProperties"] is True  # overlays of package keys
    validator = jsonschema.Draft202012Validator(schema)
    shipped = yaml.safe_load(SPEC.read_text())
    assert validator.is_valid(shipped), next(validator.iter_errors(shipped)).message
    assert not validator.is_valid({**shipped, "colour": 1})
    assert not validator.is_valid({**shipped, "sections": [{**shipped["sections"][0], "layout": "auto"}]})


def test_invalid_package_names_its_section_and_field(tmp_path):
    bad = {**BGA_SECTION, "defaults": {"pitch": 1.0, "ball_diameter": 1.5}}  # ball > pitch
    with pytest.raises(SpecError) as err:
        export_library(_small(tmp_path, [bad]), tmp_path / "out", renders=False, jobs=1)
    assert "section 'BGA 1 mm'" in str(err.value) and "ball_diameter" in str(err.value)
    assert not (tmp_path / "out").exists()


def test_model_path_modes():
    lib = LibraryDef.from_dict({"library": "L", "pcm_id": "com.example.lib", "sections": [BGA_SECTION]})
    assert lib.model_path("F") == "${KIPRJMOD}/L.3dshapes/F.wrl"
    assert lib.model_path("F", "pcm") == "${KICAD9_3RD_PARTY}/3dmodels/com_example_lib/L.3dshapes/F.wrl"
    assert lib.model_path("F", "stock") == "${KICAD9_3DMODEL_DIR}/L.3dshapes/F.wrl"
    assert lib.model_path("F", "${MY_MODELS}/{lib}/{name}.wrl") == "${MY_MODELS}/L/F.wrl"
    assert lib.lib_uri("pcm") == "${KICAD9_3RD_PARTY}/footprints/com_example_lib/L.pretty"
    with pytest.raises(SpecError):
        lib.model_path("F", "nonsense")


# -- the export ----------------------------------------------------------------------------------
def test_export_writes_library_models_catalogue_provenance(tmp_path, cli_runner):
    spec = _small(tmp_path, [BGA_SECTION])
    out = tmp_path / "out"
    code, stdout, _ = cli_runner("library", spec, "-o", out, "--no-renders", "-q", "--models", "pcm", "-j", "2",
                                 "--kicad", "9")
    assert code == 0, stdout
    assert "5 footprints" in stdout and "ms per footprint" in stdout
    mods = sorted((out / "Small_Lib.pretty").glob("*.kicad_mod"))
    wrls = sorted((out / "Small_Lib.3dshapes").glob("*.wrl"))
    steps = sorted((out / "Small_Lib.3dshapes").glob("*.step"))
    assert [p.stem for p in mods] == [p.stem for p in wrls] == [p.stem for p in steps] and len(mods) == 5
    text = mods[0].read_text()
    assert f'(model "${{KICAD9_3RD_PARTY}}/3dmodels/kisubstrate_library/Small_Lib.3dshapes/{mods[0].stem}.step"' \
        in text
    assert '(uri "${KICAD9_3RD_PARTY}/footprints/kisubstrate_library/Small_Lib.pretty")' in \
        (out / "fp-lib-table").read_text()
    rows = list(csv.DictReader((out / "provenance.csv").open()))
    land = [r for r in rows if r["item"] == "land"]
    assert len(land) == 5
    assert {(r["value_mm"], r["rule"], r["factor"].split(",")[0]) for r in land} == \
        {("0.4", "IPC-7352", "0.8 x ball 0.5 mm (collapsible)")}
    assert {r["item"] for r in rows} == {"land", "mask", "courtyard"}
    cat = (out / "catalogue.md").read_text()
    assert cat.count("| `BGA-") == 5 and "## BGA 1 mm" in cat
    # re-run: nothing changes; a removed package's files are pruned
    assert export_library(spec, out, renders=False, jobs=1, models="pcm").changed == []
    smaller = _small(tmp_path, [{**BGA_SECTION, "sweep": {"body": [5, 8]}}])
    res = export_library(smaller, out, renders=False, jobs=1, models="pcm")
    assert sorted(p.name for p in res.removed) == sorted(
        [p.name for p in mods + wrls + steps if "11.0x11.0" in p.name])
    assert len(list((out / "Small_Lib.pretty").glob("*.kicad_mod"))) == 3


def test_violations_write_nothing(tmp_path, cli_runner):
    tight = {**BGA_SECTION, "defaults": {"pitch": 1.0, "ball_diameter": 0.5, "pad_diameter": 0.95}}
    code, stdout, stderr = cli_runner("library", _small(tmp_path, [tight]), "-o", tmp_path / "out",
                                      "--no-renders", "-q")
    assert code == 1
    assert "copper_clearance" in stdout and "nothing written" in stderr
    assert not (tmp_path / "out").exists()
    code, _, stderr = cli_runner("library", tmp_path / "missing.yaml", "-o", tmp_path / "out", "-q")
    assert code == 2 and "file not found" in stderr


def test_compact_svg_is_lossless_for_groups_and_drops_the_date():
    svg = ('<svg>\n<title>SVG Image created as x.svg date 2026/11/22 05:48:14 </title>\n'
           '<g style="fill:#C83434;">\n<circle cx="1" cy="2" r="0.1" />\n</g>\n'
           '<g style="fill:#C83434;">\n<circle cx="3" cy="2" r="0.1" />\n</g>\n'
           '<g style="fill:none;">\n<path d="M1 2\nL3 4\n" />\n</g>\n</svg>\n')
    assert compact_svg(svg) == ('<svg>\n<g style="fill:#C83434;">\n<circle cx="1" cy="2" r="0.1" />\n'
                                '<circle cx="3" cy="2" r="0.1" />\n</g>\n<g style="fill:none;">\n'
                                '<path d="M1 2 L3 4 " />\n</g>\n</svg>\n')


# -- the committed library -----------------------------------------------------------------------
def _tree(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())


@pytest.mark.kicad
def test_regenerating_the_committed_library_changes_no_byte(tmp_path, kicad_cli):
    """CI guard: the committed footprints/kisubstrate_Packages is exactly what the spec makes.

    SVG renders are KiCad's plots: with another KiCad release than the one recorded in the
    catalogue they are compared by name only (every other file still byte for byte).
    """
    out = tmp_path / LIB
    res = export_library(SPEC, out, jobs=2, kicad_cli=kicad_cli)
    assert not res.violations
    new, old = _tree(out), _tree(LIB_DIR)
    assert new == old, f"files differ: run `{REGEN_COMMAND}` and commit (extra {sorted(set(new) ^ set(old))[:5]})"
    recorded = re.search(r"\(KiCad ([^,]+), built-in theme\)", (LIB_DIR / "catalogue.md").read_text()).group(1)
    same_kicad = recorded == kicad_version(kicad_cli)
    byte_compared = [f for f in new if same_kicad or not (f.startswith("renders/") or f.endswith("manifest.json")
                                                         or f == "catalogue.md")]
    _, mismatch, errors = filecmp.cmpfiles(out, LIB_DIR, byte_compared, shallow=False)
    assert not mismatch and not errors, \
        f"{len(mismatch)} file(s) differ, e.g. {mismatch[:3]}: run `{REGEN_COMMAND}` and commit"
    if not same_kicad:
        strip = lambda t: re.sub(r"\(KiCad [^,]+, built-in theme\)", "", t)  # noqa: E731
        assert strip((out / "catalogue.md").read_text()) == strip((LIB_DIR / "catalogue.md").read_text())
    assert len(list((out / "renders").glob("*.svg"))) == len(res.entries) >= 300
    # the catalogue shows every footprint's render
    cat = (out / "catalogue.md").read_text()
    assert all(f'src="renders/{e.name}.svg"' in cat for e in res.entries)


@pytest.mark.kicad
def test_kicad_cli_fp_upgrade_parses_the_library(tmp_path, kicad_cli):
    r = subprocess.run([kicad_cli, "fp", "upgrade", str(LIB_DIR / f"{LIB}.pretty"), "-o", str(tmp_path / "up"),
                        "--force"], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert len(list((tmp_path / "up").glob("*.kicad_mod"))) == \
        len(list((LIB_DIR / f"{LIB}.pretty").glob("*.kicad_mod"))) >= 300


PCBNEW_LOAD_ALL = r"""
import json, os, sys
import pcbnew
lib = sys.argv[1]
out = {}
io = pcbnew.PCB_IO_KICAD_SEXPR()  # one plugin: its library cache parses the folder once
for f in sorted(os.listdir(lib)):
    if not f.endswith(".kicad_mod"):
        continue
    fp = io.FootprintLoad(lib, f[:-len(".kicad_mod")])
    pads = list(fp.Pads())
    out[f[:-len(".kicad_mod")]] = {
        "pads": len(pads), "value": fp.GetValue(),
        "models": [m.m_Filename for m in fp.Models()],
        "bga": sum(p.GetProperty() == pcbnew.PAD_PROP_BGA for p in pads),
        "smd": sum(p.GetAttribute() == pcbnew.PAD_ATTRIB_SMD for p in pads),
        "courtyard": fp.GetCourtyard(pcbnew.F_CrtYd).OutlineCount(),
    }
print(json.dumps(out))
"""


@pytest.mark.kicad
def test_every_footprint_loads_in_pcbnew(pcbnew_python):
    from test_library_klc import library, pads

    from kisubstrate.kicad.vrml import model_name

    got = run_pcbnew(pcbnew_python, PCBNEW_LOAD_ALL, str(LIB_DIR / f"{LIB}.pretty"))
    lib = library()
    assert sorted(got) == sorted(lib) and len(got) >= 300
    for name, info in got.items():
        family = name.split("-")[0]
        mine = pads(lib[name])
        n = len(mine)
        smd = sum(p["kind"] == "smd" for p in mine)  # a no-lead part's thermal vias are plated holes
        assert info["pads"] == n and info["value"] == name
        assert info["models"] == [f"${{KIPRJMOD}}/{LIB}.3dshapes/{model_name(name)}.step"]
        assert info["bga"] == (n if family in ("BGA", "WLCSP") else 0), name
        assert info["smd"] == smd and (smd == (0 if family == "PGA" else n) or "_ThermalVias" in name), name
        assert info["courtyard"] == 1


def test_pcm_tree(tmp_path, cli_runner):
    out = tmp_path / "pcm"
    code, stdout, _ = cli_runner("library", _small(tmp_path, [BGA_SECTION], pcm_id="com.example.bga"), "-o", out,
                                 "--pcm", "-q", "--kicad", "9")
    assert code == 0, stdout
    tree = sorted(str(p.relative_to(out)) for p in out.rglob("*") if p.is_file() and not p.name.startswith("."))
    assert len(tree) == 15 and {t.split("/")[0] for t in tree} == {"footprints", "3dmodels"}
    assert all(t.startswith(("footprints/Small_Lib.pretty/", "3dmodels/Small_Lib.3dshapes/")) for t in tree)
    mod = next((out / "footprints" / "Small_Lib.pretty").glob("*.kicad_mod"))
    assert f'"${{KICAD9_3RD_PARTY}}/3dmodels/com_example_bga/Small_Lib.3dshapes/{mod.stem}.step"' in mod.read_text()
    assert (out / "3dmodels" / "Small_Lib.3dshapes" / f"{mod.stem}.wrl").is_file()
    assert (out / "3dmodels" / "Small_Lib.3dshapes" / f"{mod.stem}.step").is_file()


def test_a_later_family_adds_a_section_qfn_son(tmp_path):
    """QFN / SON (no-lead family) in a library section: sweep + variants, lands in the 3D model."""
    from test_library_klc import children, parse_sexpr, parse_vrml

    qfn = {"title": "QFN 0.5 mm", "family": "qfn",
           "defaults": {"pitch": 0.5, "lead_width": "0.18 .. 0.30", "lead_length": "0.30 .. 0.50"},
           "sweep": {"size": [{"body": "4 +/- 0.1", "leads": 24, "exposed_pad": "2.5 .. 2.6 .. 2.7"},
                              {"body": "5 +/- 0.1", "leads": 32, "exposed_pad": "2.95 .. 3.10 .. 3.25"}]},
           "variants": [{}, {"thermal_vias": {"count": [3, 3], "drill": 0.2, "grid": [0.8, 0.8]}}]}
    son = {"title": "SON", "family": "son",
           "packages": [{"leads": 8, "pitch": 0.5, "body": 2.0, "lead_width": "0.20 .. 0.25 .. 0.30",
                         "lead_length": "0.25 .. 0.35 .. 0.45",
                         "exposed_pad": ["0.5 .. 0.6 .. 0.7", "1.1 .. 1.2 .. 1.3"]}]}
    out = tmp_path / "out"
    res = export_library(_small(tmp_path, [qfn, son]), out, renders=False, jobs=2)
    assert not res.violations and len(res.entries) == 5
    # a _ThermalVias footprint shares its twin's models (the vias are not part of the package)
    models = sorted(p.name for p in (out / "Small_Lib.3dshapes").iterdir() if not p.name.startswith("."))
    assert len(models) == 2 * 3 and not any("ThermalVias" in m for m in models)
    for e in res.entries:
        fp = parse_sexpr(e.kicad_mod)
        copper = [p for p in children(fp, "pad") if p[2] == "smd"
                  and "F.Cu" in children(p, "layers")[0][1:]]  # the EP's B.Cu copy is no package land
        vias = [p for p in children(fp, "pad") if p[2] == "thru_hole"]
        assert bool(vias) == e.name.endswith("_ThermalVias")
        assert f'.3dshapes/{e.model}.step"' in e.kicad_mod and e.model == e.name.replace("_ThermalVias", "")
        vr = parse_vrml((out / "Small_Lib.3dshapes" / f"{e.model}.wrl").read_text())
        terminals = sum(1 for d in vr["defs"] if d.startswith("T")) + len(vr["uses"])
        assert terminals == len(copper), e.name  # leads + EP; no vias, no paste-only pads
    cat = (out / "catalogue.md").read_text()
    assert "## QFN 0.5 mm" in cat and "## SON" in cat


def test_renders_without_kicad_cli_is_a_clean_input_error(tmp_path, cli_runner, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))  # no kicad-cli on PATH
    code, _, stderr = cli_runner("library", _small(tmp_path, [BGA_SECTION]), "-o", tmp_path / "out", "-q", "-j", "1")
    assert code == 2 and "kicad-cli not found" in stderr and "--no-renders" in stderr
    assert not (tmp_path / "out").exists()


@pytest.mark.kicad
def test_re_export_plots_only_changed_footprints(tmp_path, kicad_cli):
    out = tmp_path / "out"
    first = export_library(_small(tmp_path, [BGA_SECTION]), out, jobs=1, kicad_cli=kicad_cli)
    assert first.rendered == 5
    svg = next((out / "renders").glob("*.svg")).read_text()
    assert re.search(r"<!-- kisubstrate render of sha256:[0-9a-f]{64} with KiCad [^ ]+ -->\n$", svg)
    assert export_library(_small(tmp_path, [BGA_SECTION]), out, jobs=1, kicad_cli=kicad_cli).rendered == 0
    # one package changes (ball 0.5 -> 0.55 on the 11 mm body): one new footprint is plotted
    changed = {**BGA_SECTION, "variants": [{}, {"perimeter_rings": 2, "min_layout": 7, "ball_diameter": 0.55}]}
    again = export_library(_small(tmp_path, [changed]), out, jobs=1, kicad_cli=kicad_cli)
    assert again.rendered == 2 and len(again.removed) == 8  # 2 new names; old .kicad_mod/.wrl/.step/.svg pruned
    fresh = tmp_path / "fresh"
    export_library(_small(tmp_path, [changed]), fresh, jobs=1, kicad_cli=kicad_cli)
    assert _tree(out) == _tree(fresh)
    _, mismatch, errors = filecmp.cmpfiles(out, fresh, _tree(fresh), shallow=False)
    assert not mismatch and not errors  # reused renders are the very bytes a fresh export makes


def test_a_render_kicad_cli_did_not_write_is_an_input_error(tmp_path, cli_runner, monkeypatch):
    """KiCad 10's ``fp export svg`` prints "Failed to create file" and exits 0: the export checks the files
    themselves and stops with one message (exit 2), writing nothing."""
    fake = tmp_path / "bin" / "kicad-cli"
    fake.parent.mkdir()
    fake.write_text('#!/bin/sh\nif [ "$1" = version ]; then echo 10.0.6; exit 0; fi\n'
                    'echo "Failed to create file \'x.svg\'" >&2; echo "Error creating svg file" >&2; exit 0\n')
    fake.chmod(0o755)
    spec = _small(tmp_path, [BGA_SECTION])
    with pytest.raises(SpecError, match="wrote no render for .* Error creating svg file") as exc:
        export_library(spec, tmp_path / "out", jobs=1, kicad_cli=str(fake))
    assert exc.value.field == "renders"
    monkeypatch.setenv("PATH", f"{fake.parent}:/usr/bin:/bin")
    code, _out, err = cli_runner("library", spec, "-o", tmp_path / "out2", "-q", "-j", "1")
    assert code == 2 and err.count("\n") == 1 and "wrote no render" in err, err
    assert not (tmp_path / "out2" / "renders").exists()


# vacuous if every combination were skipped: random samples of 200 fit 130 to 152, so at least 40 % must
FITTED = Share("fit", at_least=0.4)


@FITTED.required
@settings(max_examples=200, deadline=None)
@given(body=st.floats(1.0, 60.0), pitch=st.sampled_from([0.35, 0.4, 0.5, 0.65, 0.75, 0.8, 1.0, 1.27, 2.54]),
       edge=st.floats(0.0, 2.0))
def test_layout_fit_is_the_largest_grid_inside_the_edge(body, pitch, edge):
    body = round(body, 2)
    lib = LibraryDef.from_dict({"library": "L", "sections": [
        {"title": "t", "family": "bga", "defaults": {"pitch": pitch, "ball_diameter": 0.2}, "layout": "fit",
         "edge": edge, "sweep": {"body": [body]}}]})
    if not lib.packages:  # fewer than 2 balls fit: the combination is skipped
        assert body - 2 * edge < pitch + 1e-6
        FITTED.saw("skipped")
        return
    FITTED.saw("fit")
    n = lib.packages[0][1]["layout"][0]
    span = (n - 1) * pitch
    assert span / 2 <= body / 2 - edge + 1e-6 * pitch  # outer centres keep the edge
    assert (span + pitch) / 2 > body / 2 - edge - 1e-6 * pitch  # one more column would not
