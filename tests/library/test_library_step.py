"""STEP models: KiCad takes them into its STEP export, they match the VRML models, re-runs are byte-identical.

* ``kicad-cli pcb export step`` of a board holding one library footprint (model resolved through
  ``${KIPRJMOD}``, as a board designer uses the library) contains the model's parts (body, pin-1
  mark, balls / pins / lands) and far more geometry than the same board without the model files;
* each STEP model's bounding box (OpenCascade) equals its VRML twin's within 1 µm;
* the writer is deterministic (fixed header, occurrence ids and colours in file order), and one
  terminal solid is written once, placed per pad (a 1000-ball BGA stays well under 1 MB).
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import run_pcbnew

ROOT = Path(__file__).resolve().parents[2]
LIB = "kisubstrate_Packages"
LIB_DIR = ROOT / "footprints" / LIB
SHAPES = LIB_DIR / f"{LIB}.3dshapes"
PICKS = ["BGA-256_14.0x14.0mm_Layout16x16_P0.8mm_Ball0.45mm_Pad0.36mm_NSMD",
         "PGA-144_40.0x40.0mm_Layout15x15_P2.54mm_Pin0.46mm_Drill0.7mm",
         "LGA-100_9.0x9.0mm_Layout10x10_P0.8mm_Pad0.45mm",
         "LGA-49_7.0x7.0mm_Layout7x7_P0.8mm_Pad0.45mm_SquareLands",
         "WLCSP-36_2.4x2.4mm_Layout6x6_P0.4mm_Ball0.25mm_Pad0.2mm_NSMD"]

step = pytest.importorskip("kisubstrate.kicad.step")
if not step.available():
    pytest.skip("OpenCascade (the 'step' extra) is not installed", allow_module_level=True)

BOARD = r"""
import json, sys
import pcbnew
lib, name, out = sys.argv[1:]
board = pcbnew.BOARD()
fp = pcbnew.PCB_IO_KICAD_SEXPR().FootprintLoad(lib, name)
fp.SetPosition(pcbnew.VECTOR2I(0, 0))
fp.SetReference("U1")
board.Add(fp)
edge = pcbnew.PCB_SHAPE(board)
edge.SetShape(pcbnew.SHAPE_T_RECT)
edge.SetLayer(pcbnew.Edge_Cuts)
edge.SetStart(pcbnew.VECTOR2I(pcbnew.FromMM(-30), pcbnew.FromMM(-30)))
edge.SetEnd(pcbnew.VECTOR2I(pcbnew.FromMM(50), pcbnew.FromMM(50)))
board.Add(edge)
board.Save(out)
print(json.dumps([m.m_Filename for m in fp.Models()]))
"""


def _export(kicad_cli: str, board: Path, out: Path) -> str:
    r = subprocess.run([kicad_cli, "pcb", "export", "step", "--force", "-o", str(out), str(board)],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]
    assert out.is_file() and out.stat().st_size > 0, r.stdout[-2000:]  # never trust the exit code alone
    return out.read_text(encoding="latin-1")


def _products(text: str) -> list[str]:
    return re.findall(r"PRODUCT\('([^']*)'", text)


@pytest.mark.kicad
@pytest.mark.parametrize("name", [PICKS[0], PICKS[1]])
def test_kicad_step_export_includes_the_model(kicad_cli, pcbnew_python, tmp_path, name):
    model = step.model_name(name)
    proj = tmp_path / "proj"
    (proj / f"{LIB}.3dshapes").mkdir(parents=True)
    shutil.copy(SHAPES / f"{model}.step", proj / f"{LIB}.3dshapes")
    board = proj / "b.kicad_pcb"
    paths = run_pcbnew(pcbnew_python, BOARD, str(LIB_DIR / f"{LIB}.pretty"), name, str(board))
    assert paths == [f"${{KIPRJMOD}}/{LIB}.3dshapes/{model}.step"]
    with_model = _export(kicad_cli, board, tmp_path / "with.step")
    # the same board with the model file gone: KiCad exports the board alone
    shutil.rmtree(proj / f"{LIB}.3dshapes")
    without = _export(kicad_cli, board, tmp_path / "without.step")
    ours = _products((SHAPES / f"{model}.step").read_text(encoding="ascii"))
    parts = {"body", "pin1"} | ({"ball"} if name.startswith("BGA") else {"pin"})
    assert parts <= set(ours)
    exported = _products(with_model)
    assert parts <= set(exported), exported[:20]
    assert not parts & set(_products(without))
    solids = with_model.count("MANIFOLD_SOLID_BREP")
    assert solids >= without.count("MANIFOLD_SOLID_BREP") + len(parts)
    # the model's geometry came along: the export grows by at least half the model file
    assert len(with_model) - len(without) > 0.5 * (SHAPES / f"{model}.step").stat().st_size


def _vrml_bounds(text: str) -> tuple[float, ...]:
    """(xmin, ymin, zmin, xmax, ymax, zmax) in mm of a VRML model: body, mark and every placed terminal."""
    shapes = {m.group(1): _triples(m.group(2))
              for m in re.finditer(r"DEF (\w+) Shape .*?point \[ ([^\]]*) \]", text, re.S)}
    pts = shapes["BODY"] + shapes["PIN1"]
    for tx, ty, use, define in re.findall(r"Transform \{ translation (\S+) (\S+) 0 children "
                                          r"(?:USE (T\d+)|\[\s*DEF (T\d+))", text):
        pts += [[x + float(tx), y + float(ty), z] for x, y, z in shapes[use or define]]
    xs, ys, zs = zip(*pts)
    return tuple(v * 2.54 for v in (min(xs), min(ys), min(zs), max(xs), max(ys), max(zs)))


def _triples(block: str) -> list[list[float]]:
    nums = [float(v) for v in block.replace(",", " ").split()]
    return [nums[k:k + 3] for k in range(0, len(nums), 3)]


def _step_bounds(path: Path) -> tuple[float, ...]:
    from OCP.Bnd import Bnd_Box
    from OCP.BRepBndLib import BRepBndLib
    from OCP.IFSelect import IFSelect_ReturnStatus
    from OCP.STEPControl import STEPControl_Reader

    reader = STEPControl_Reader()
    assert reader.ReadFile(str(path)) == IFSelect_ReturnStatus.IFSelect_RetDone
    reader.TransferRoots()
    box = Bnd_Box()
    BRepBndLib.AddOptimal_s(reader.OneShape(), box, False, False)
    return (*box.CornerMin().Coord(), *box.CornerMax().Coord())


@pytest.mark.parametrize("name", PICKS)
def test_step_and_vrml_models_have_the_same_bounding_box(name):
    model = step.model_name(name)
    sb = _step_bounds(SHAPES / f"{model}.step")
    vb = _vrml_bounds((SHAPES / f"{model}.wrl").read_text(encoding="utf-8"))
    assert all(abs(a - b) <= 1e-3 for a, b in zip(sb, vb)), (sb, vb)  # 1 µm
    assert sb[2] < 0 if name.startswith("PGA") else sb[2] == pytest.approx(0, abs=1e-6)  # pins below the board


def test_every_footprint_has_a_step_and_a_vrml_model():
    pretty = LIB_DIR / f"{LIB}.pretty"
    names = sorted(p.stem for p in pretty.glob("*.kicad_mod"))
    models = {step.model_name(n) for n in names}
    assert sorted(p.stem for p in SHAPES.glob("*.step")) == sorted(models)
    assert sorted(p.stem for p in SHAPES.glob("*.wrl")) == sorted(models)
    for m in models:
        head = (SHAPES / f"{m}.step").read_bytes()[:400]
        assert head.startswith(b"ISO-10303-21;") and f"FILE_NAME('{m}','{step.FIXED_TIMESTAMP}'".encode() in head


def _bga(n: int):
    from kisubstrate.families.registry import get

    bga = get("bga")
    return bga.footprint(bga.spec.model_validate({"body": [n + 1, n + 1], "pitch": 1.0, "layout": [n, n],
                                                  "ball_diameter": 0.5}))[0]


def test_step_is_byte_identical_on_rerun_and_instances_one_ball():
    geom = _bga(32)
    first = step.step_model(geom)
    assert step.step_model(_bga(3)) != first
    assert step.step_model(geom) == first  # the process-wide counters do not leak into the file
    text = first.decode("ascii")
    assert text.count("MANIFOLD_SOLID_BREP(") == 3  # body, pin-1 mark, one ball
    assert text.count("NEXT_ASSEMBLY_USAGE_OCCURRENCE(") == 2 + 32 * 32
    assert len(first) < 700_000
    assert re.findall(r"FILE_NAME\('([^']*)','([^']*)'", text) == [(geom.name, step.FIXED_TIMESTAMP)]
    assert text.count("COLOUR_RGB(") == 3
    # a subprocess (new memory layout, fresh counters) writes the same bytes
    code = ("import sys; from kisubstrate.families.registry import get; "
            "from kisubstrate.kicad.step import step_model; bga = get('bga'); "
            "g = bga.footprint(bga.spec.model_validate({'body': [33, 33], 'pitch': 1.0, 'layout': [32, 32], "
            "'ball_diameter': 0.5}))[0]; sys.stdout.buffer.write(step_model(g))")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, cwd=ROOT, timeout=120,
                       env={"PYTHONPATH": str(ROOT / "generators"), "PATH": "/usr/bin:/bin"})
    assert r.returncode == 0, r.stderr[-2000:]
    assert r.stdout == first


def test_thermal_via_twins_share_one_model():
    from kisubstrate.api.footprint import build_footprints, footprint_files
    from kisubstrate.api.specs import load_specs

    results = [r for ls in load_specs([ROOT / "footprints" / "examples" / "qfn.yaml"])
               for r in build_footprints(ls.spec)]
    names = [r.geometry.name for r in results]
    twin = next(n for n in names if n.endswith("_ThermalVias"))
    files = dict(footprint_files(results, Path("/x/L.pretty"), step=True))
    base = twin.removesuffix("_ThermalVias")
    assert Path(f"/x/L.3dshapes/{twin}.step") not in files
    assert Path(f"/x/L.3dshapes/{base}.step") in files
    mod = files[Path(f"/x/L.pretty/{twin}.kicad_mod")]
    assert f'(model "${{KIPRJMOD}}/L.3dshapes/{base}.step"' in mod
    geoms = {r.geometry.name: r.geometry for r in results}
    assert step.step_model(geoms[twin]) == step.step_model(geoms[base])
    from kisubstrate.kicad.vrml import vrml_model

    assert vrml_model(geoms[twin]) == vrml_model(geoms[base])
