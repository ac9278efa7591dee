"""Every family's basic suite, generated from the registry and the bundled examples.

For every family of :func:`kisubstrate.families.registry.families` and every example spec in
``footprints/examples`` holding packages of that family: the packages build and check clean, two
writes give the same bytes, every written footprint and board loads in KiCad (``kicad-cli fp
upgrade``, ``pcbnew``) and every board passes ``kicad-cli pcb drc`` (written for the oracle's release:
KiCad 10's format when the oracle is 10); each golden file in
``tests/families/golden/`` equals what its example writes. A new family module with an example spec
is picked up with no edit here; a family without an example fails ``test_every_family_has_an_example``.

To pin an example's output, copy a written file (``footprints/<family>.pretty/…``, ``substrates/…``;
keep the file name) into ``tests/families/golden/``; ``pytest --update-golden`` rewrites the pinned
files from the current output (and fails asking for a review of the diff).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import yaml

from conftest import run_pcbnew
from kicad_util import parse_mod
from kisubstrate.api.footprint import FootprintResult, build_footprints, footprint_files
from kisubstrate.api.specs import load_specs
from kisubstrate.api.substrate import (
    SubstrateResult,
    build_substrate,
    has_substrate,
    substrate_files,
)
from kisubstrate.families.registry import families
from kisubstrate.kicad.layers import LayerMap
from kisubstrate.kicad.sexpr import find_all, loads
from kisubstrate.model.examples import examples_dir
from stack_util import drc, fp_upgrade

GOLDEN = Path(__file__).resolve().parent / "golden"


def example_families(path: Path) -> set[str]:
    """The ``family:`` values of an example spec's packages (read as YAML, not validated)."""
    doc = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    return {str(p.get("family")) for p in doc.get("packages", []) if isinstance(p, dict)}


def family_examples() -> list[tuple[str, Path]]:
    """(family, example spec) for every registered family and every example holding its packages."""
    examples = {path: example_families(path) for path in sorted(examples_dir().glob("*.yaml"))}
    return [(name, path) for name in sorted(families()) for path, held in examples.items() if name in held]


CASES = family_examples()
IDS = [name if path.stem == name else f"{name}-{path.stem}" for name, path in CASES]


@dataclass
class Built:
    """What one example's packages of one family give: footprints, substrates, the files they write."""

    packages: int = 0
    footprints: list[FootprintResult] = field(default_factory=list)
    substrates: list[SubstrateResult] = field(default_factory=list)
    files: dict[str, bytes] = field(default_factory=dict)  # path relative to the output folder -> bytes


def build(name: str, path: Path, kicad: int = 9) -> Built:
    """Load, build and check the example's packages of family ``name``; render every file they write.

    Footprints (with their 3D models) go to ``footprints/<family>.pretty`` (and ``.3dshapes``), each
    substrate project to ``substrates/<board name>/``; the files are written for KiCad ``kicad``.
    """
    loaded = [ls for ls in load_specs([path]) if ls.spec.family == name]
    assert loaded, f"{path.name} holds no package of family {name}"
    out = Built(packages=len(loaded))
    pretty = Path("footprints") / f"{name}.pretty"
    for ls in loaded:
        results = build_footprints(ls.spec, source=ls.file)
        out.footprints += results
        for file, text in footprint_files(results, pretty, kicad=kicad):
            out.files[file.as_posix()] = text.encode("utf-8")
        if has_substrate(ls.spec):
            result = build_substrate(ls.spec)
            out.substrates.append(result)
            for file, text in substrate_files(result, kicad=kicad).items():
                out.files[f"substrates/{result.name}/{file}"] = text.encode("utf-8")
    return out


def write_tree(files: dict[str, bytes], folder: Path) -> dict[str, bytes]:
    """Write the files under ``folder``; return what is there afterwards (relative path -> bytes)."""
    for rel, data in files.items():
        (folder / rel).parent.mkdir(parents=True, exist_ok=True)
        (folder / rel).write_bytes(data)
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_every_family_has_an_example():
    """A registered family without an example spec would have no basic suite here."""
    covered = {name for name, _ in CASES}
    assert sorted(set(families()) - covered) == [], "families without a packages: entry in footprints/examples"
    for path in sorted(examples_dir().glob("*.yaml")):
        assert example_families(path) <= set(families()), (path.name, example_families(path))


@pytest.mark.parametrize("name,path", CASES, ids=IDS)
def test_example_builds_and_checks_clean(name, path):
    """Every package gives its footprints (if the family draws any) and its substrate (if the family builds
    one), and every check report is clean."""
    fam = families()[name]
    built = build(name, path)
    assert built.packages >= 1
    assert len(built.footprints) >= (built.packages if fam.footprint is not None else 0)
    assert len(built.substrates) == (built.packages if fam.substrate is not None else 0)
    for r in built.footprints:
        assert r.report.ok, r.report.text()
        assert r.geometry.pad_count > 0, r.geometry.name
    for s in built.substrates:
        assert s.report.ok, s.report.text()
        assert len(s.board.pads) > 0 and s.board.copper >= 1, s.name


@pytest.mark.parametrize("name,path", CASES, ids=IDS)
def test_example_output_is_deterministic(name, path, tmp_path):
    """Two builds written into two folders: the same files, byte for byte (footprints, 3D models, boards)."""
    first = write_tree(build(name, path).files, tmp_path / "a")
    second = write_tree(build(name, path).files, tmp_path / "b")
    assert first and sorted(first) == sorted(second)
    assert [f for f in first if first[f] != second[f]] == []
    assert any(f.endswith(".kicad_mod") for f in first) or any(f.endswith(".kicad_pcb") for f in first)


# -- goldens ------------------------------------------------------------------------------------------
_OUTPUTS: dict[int, dict[str, bytes]] = {}


def _written_by_any_example(file_name: str) -> tuple[str, bytes] | None:
    """(case id, bytes) of the example output called ``file_name``, or None."""
    for k, (name, path) in enumerate(CASES):
        if k not in _OUTPUTS:
            _OUTPUTS[k] = build(name, path).files
        for rel, data in _OUTPUTS[k].items():
            if Path(rel).name == file_name:
                return IDS[k], data
    return None


@pytest.mark.parametrize("golden", sorted(p.name for p in GOLDEN.glob("*") if p.is_file()))
def test_example_output_matches_its_golden(golden, request):
    found = _written_by_any_example(golden)
    assert found is not None, f"no example writes {golden}: remove tests/families/golden/{golden} or fix the example"
    case, data = found
    path = GOLDEN / golden
    if request.config.getoption("--update-golden"):
        if path.read_bytes() != data:
            path.write_bytes(data)
            pytest.fail(f"golden {golden} rewritten from {case}: review git diff tests/families/golden")
        return
    assert data == path.read_bytes(), (
        f"{case} no longer writes tests/families/golden/{golden} byte for byte "
        "(if intended: pytest --update-golden, then review git diff tests/families/golden)")


# -- KiCad reads what every example writes --------------------------------------------------------------
PCBNEW_LOAD = r"""
import json, sys, pcbnew
lib, boards = sys.argv[1], json.loads(sys.argv[2])
out = {"footprints": {}, "boards": {}}
if lib:
    for name in json.loads(sys.argv[3]):
        fp = pcbnew.FootprintLoad(lib, name)
        out["footprints"][name] = None if fp is None else len(fp.Pads())
for pcb in boards:
    b = pcbnew.LoadBoard(pcb)
    out["boards"][pcb] = {
        "copper": b.GetCopperLayerCount(),
        "pads": sum(len(fp.Pads()) for fp in b.GetFootprints()),
        "vias": sum(1 for t in b.GetTracks() if t.GetClass() in ("PCB_VIA", "VIA")),
        "tracks": sum(1 for t in b.GetTracks() if t.GetClass() in ("PCB_TRACK", "TRACK")),
        "nets": sum(1 for n in b.GetNetsByNetcode() if n > 0)}
print(json.dumps(out))
"""


@pytest.mark.kicad
@pytest.mark.parametrize("name,path", CASES, ids=IDS)
def test_example_loads_in_kicad(name, path, tmp_path, kicad_cli, pcbnew_python, kicad_target):
    """kicad-cli parses every footprint (fp upgrade), pcbnew loads every footprint and board with the
    pads, vias and tracks we wrote, and every board passes KiCad's DRC (no error, nothing unconnected);
    the files are written for the oracle's release (``--kicad 10`` on KiCad 10)."""
    built = build(name, path, kicad_target)
    write_tree(built.files, tmp_path)
    mods = {Path(f).stem: data.decode("utf-8") for f, data in built.files.items() if f.endswith(".kicad_mod")}
    lib = tmp_path / "footprints" / f"{name}.pretty"
    if mods:
        r = fp_upgrade(kicad_cli, lib, tmp_path / "upgraded.pretty")
        assert r.returncode == 0, r.stderr
        assert sorted(p.stem for p in (tmp_path / "upgraded.pretty").glob("*.kicad_mod")) == sorted(mods)
    boards = {str(tmp_path / "substrates" / s.name / f"{s.name}.kicad_pcb"): s for s in built.substrates}
    got = run_pcbnew(pcbnew_python, PCBNEW_LOAD, str(lib) if mods else "", json.dumps(sorted(boards)),
                     json.dumps(sorted(mods)))
    assert got["footprints"] == {n: len(parse_mod(text).pads) for n, text in mods.items()}
    for pcb, s in boards.items():
        b = s.board
        written_pads = sum(1 for _ in find_all(loads(Path(pcb).read_text(encoding="utf-8")), "pad"))
        assert written_pads >= len(b.pads)  # plus a family's extras (castellations, …)
        assert got["boards"][pcb] == {"copper": LayerMap(b.copper).kicad_count, "pads": written_pads,
                                      "vias": len(b.vias), "tracks": len(b.tracks), "nets": len(b.nets) - 1}, pcb
        rep = drc(kicad_cli, Path(pcb))
        assert rep["errors"] == [] and rep["unconnected"] == 0, (s.name, rep["types"])
