"""``kisubstrate pcm``: three PCM zips, metadata valid for KiCad, deterministic archives."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import jsonschema
import pytest

from conftest import require_kicad
from kisubstrate.kicad.pcm import deterministic_zip, rewrite_model_paths

PCM_SCHEMA = Path("/usr/share/kicad/schemas/pcm.v1.schema.json")
API_SCHEMA = Path("/usr/share/kicad/schemas/api.v1.schema.json")


@pytest.fixture(scope="module")
def packages(tmp_path_factory):
    from click.testing import CliRunner

    from kisubstrate.cli import cli

    out = tmp_path_factory.mktemp("pcm")
    result = CliRunner().invoke(cli, ["pcm", "-o", str(out)], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    zips = {p.name.split("-0")[0].split("-Kisubstrate")[0]: p for p in out.glob("*.zip")}
    assert sorted(zips) == ["kisubstrate-library", "kisubstrate-plugin", "kisubstrate-swig-plugin"]
    return out, zips


def _zip(path: Path) -> zipfile.ZipFile:
    return zipfile.ZipFile(io.BytesIO(path.read_bytes()))


def _schema(path: Path) -> dict:
    if not path.is_file():
        require_kicad(f"{path} missing")
    return json.loads(path.read_text())


@pytest.mark.kicad
def test_metadata_valid_against_kicad_pcm_schema(packages):
    _, zips = packages
    schema = _schema(PCM_SCHEMA)
    kinds = {}
    for name, path in zips.items():
        meta = json.loads(_zip(path).read("metadata.json"))
        jsonschema.validate(meta, schema)
        assert meta["$schema"] == "https://go.kicad.org/pcm/schemas/v1"
        assert not any(k.startswith("download") for k in meta)
        kinds[name] = (meta["type"], meta["versions"][0].get("runtime"), meta["identifier"])
    assert kinds == {"kisubstrate-plugin": ("plugin", "ipc", "kisubstrate.plugin"),
                     "kisubstrate-swig-plugin": ("plugin", "swig", "kisubstrate.swig"),
                     "kisubstrate-library": ("library", None, "kisubstrate.library")}


@pytest.mark.kicad
def test_ipc_package_layout_and_plugin_json(packages):
    _, zips = packages
    z = _zip(zips["kisubstrate-plugin"])
    names = z.namelist()
    assert {n.split("/")[0] for n in names} == {"metadata.json", "plugins", "resources"}
    plugin = json.loads(z.read("plugins/plugin.json"))
    jsonschema.validate(plugin, _schema(API_SCHEMA))
    for action in plugin["actions"]:
        assert f"plugins/{action['entrypoint']}" in names
        assert all(f"plugins/{i}" in names for i in action["icons-light"] + action["icons-dark"])
    # the core is vendored; requirements list only what pip must fetch
    assert "plugins/kisubstrate/api/footprint.py" in names and "plugins/kisubstrate/families/registry.py" in names
    assert "plugins/kisubstrate/data/examples/bga.yaml" in names  # the dialog's starting values
    reqs = z.read("plugins/requirements.txt").decode().split("\n")
    assert any(r.startswith("kicad-python") for r in reqs) and any(r.startswith("shapely") for r in reqs)
    assert not any(r.startswith("kisubstrate") for r in reqs)
    assert "plugins/__init__.py" not in names  # a SWIG __init__ here would load a second button


def test_swig_package_is_separate(packages):
    _, zips = packages
    names = _zip(zips["kisubstrate-swig-plugin"]).namelist()
    assert "plugins/__init__.py" in names and "plugins/swig_logic.py" in names
    assert "plugins/plugin.json" not in names


def test_library_package_from_examples(packages):
    from conftest import EXAMPLES
    from kisubstrate.api.footprint import build_footprints
    from kisubstrate.api.specs import load_specs

    _, zips = packages
    names = _zip(zips["kisubstrate-library"]).namelist()
    mods = sorted(n for n in names if n.endswith(".kicad_mod"))
    expected = sorted(f"footprints/Kisubstrate_Packages.pretty/{r.geometry.name}.kicad_mod"
                      for ls in load_specs(sorted(EXAMPLES.glob("*.yaml")))
                      for r in build_footprints(ls.spec) if r.report.ok)
    assert mods == expected and len(mods) >= 4
    # the examples with a ball map ship their symbols, naming the footprints by the PCM nickname
    syms = _zip(zips["kisubstrate-library"]).read("symbols/Kisubstrate_Packages.kicad_sym").decode()
    assert '(property "Footprint" "PCM_Kisubstrate_Packages:FCBGA-400_17.0x17.0mm_Die5.0x5.0mm_8L_P0.8mm_Footprint"' \
        in syms
    assert '"Kisubstrate_Packages:' not in syms


def test_zips_are_deterministic(packages, tmp_path):
    from click.testing import CliRunner

    from kisubstrate.cli import cli

    out, zips = packages
    again = tmp_path / "again"
    assert CliRunner().invoke(cli, ["pcm", "-o", str(again)]).exit_code == 0
    for path in zips.values():
        assert (again / path.name).read_bytes() == path.read_bytes(), path.name
        infos = _zip(path).infolist()
        assert [i.filename for i in infos] == sorted(i.filename for i in infos)
        assert {i.date_time for i in infos} == {(1980, 1, 1, 0, 0, 0)}
        assert {(i.external_attr >> 16) & 0o777 for i in infos} == {0o644}


def test_given_library_with_models(tmp_path):
    from click.testing import CliRunner

    from kisubstrate.cli import cli

    pretty = tmp_path / "My_Lib.pretty"
    pretty.mkdir()
    (pretty / "A.kicad_mod").write_text('(footprint "A"\n\t(model "${KIPRJMOD}/My_Lib.3dshapes/A.wrl")\n)\n')
    shapes = tmp_path / "My_Lib.3dshapes"
    shapes.mkdir()
    (shapes / "A.wrl").write_text("#VRML V2.0 utf8\n")
    r = CliRunner().invoke(cli, ["pcm", "-o", str(tmp_path / "out"), "--library", str(pretty)])
    assert r.exit_code == 0, r.output
    z = _zip(next((tmp_path / "out").glob("kisubstrate-library-My_Lib-*.zip")))
    assert "3dmodels/My_Lib.3dshapes/A.wrl" in z.namelist()
    assert '"${KICAD9_3RD_PARTY}/3dmodels/kisubstrate_library/My_Lib.3dshapes/A.wrl"' in \
        z.read("footprints/My_Lib.pretty/A.kicad_mod").decode()
    bad = CliRunner().invoke(cli, ["pcm", "-o", str(tmp_path / "o2"), "--library", str(tmp_path / "nope")])
    assert bad.exit_code == 2 and "is not a .pretty folder" in bad.output
    assert not (tmp_path / "o2").exists()


def test_deterministic_zip_and_model_rewrite_units():
    a = deterministic_zip({"x/b": b"2", "x/a": b"1"})
    assert a == deterministic_zip({"x/a": b"1", "x/b": b"2"})
    assert rewrite_model_paths('(model "/abs/L.3dshapes/F.step"', "L", "a.b") == \
        '(model "${KICAD9_3RD_PARTY}/3dmodels/a_b/L.3dshapes/F.step"'


@pytest.mark.kicad
def test_library_package_footprints_load_in_kicad(packages, kicad_cli, tmp_path):
    """kicad-cli reads the packaged library: every footprint exports to SVG."""
    import subprocess

    _, zips = packages
    _zip(zips["kisubstrate-library"]).extractall(tmp_path)
    pretty = tmp_path / "footprints" / "Kisubstrate_Packages.pretty"
    (tmp_path / "svg").mkdir()  # KiCad 10's fp export svg does not create it
    r = subprocess.run([kicad_cli, "fp", "export", "svg", str(pretty), "-o", str(tmp_path / "svg")],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    assert len(list((tmp_path / "svg").glob("*.svg"))) == len(list(pretty.glob("*.kicad_mod")))
    # and its symbols: one SVG per symbol with a ball map
    syms = tmp_path / "symbols" / "Kisubstrate_Packages.kicad_sym"
    r = subprocess.run([kicad_cli, "sym", "export", "svg", str(syms), "-o", str(tmp_path / "sym")],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    assert len(list((tmp_path / "sym").glob("*.svg"))) == syms.read_text().count("\n\t(symbol ") >= 3
