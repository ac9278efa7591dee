"""``kisubstrate demo``: every bundled example built, checked and written into one folder.

Footprints go into ``<output>/kisubstrate_demo.pretty`` with their VRML models in
``kisubstrate_demo.3dshapes``, the symbols of the packages with a ball map (and of the substrates,
pins named by their routed nets) into ``kisubstrate_demo.kicad_sym``; substrate projects into
``substrates/<name>/``; wafer maps of ``wafer_stack`` examples into ``wafers/``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable

from kisubstrate.api.footprint import build_footprints, footprint_files
from kisubstrate.api.outputs import OutputPlan
from kisubstrate.api.specs import load_specs
from kisubstrate.api.substrate import build_substrate, has_substrate, substrate_files
from kisubstrate.api.symbols import footprint_symbol, substrate_symbol, symbol_library_text
from kisubstrate.api.wafer import wafer_files
from kisubstrate.families.wafer_stack import spec_wafer_map
from kisubstrate.model.errors import SpecError
from kisubstrate.model.loader import LoadedSpec

LIB = "kisubstrate_demo"
"""Library name of the demo's footprints and symbols."""


def run_demo(examples: Path, output: Path, *, force: bool = False,
             echo: Callable[[str], object] = print, kicad: int = 9) -> list[Path]:
    """Build every ``*.yaml`` in ``examples`` and write all outputs under ``output`` atomically.

    Args:
        examples: folder of example specs (see :func:`kisubstrate.model.examples.examples_dir`).
        output: folder to write into (created).
        force: overwrite files changed since kisubstrate wrote them.
        echo: called with one line per footprint / board / wafer map written.
        kicad: the KiCad release to write for: 9 (format 20241229) or 10 (format 20260206).

    Returns:
        The written files, sorted.

    Raises:
        SpecError: an example violates its rules (nothing is written).
    """
    loaded = load_specs(sorted(Path(examples).glob("*.yaml")))
    plan = OutputPlan()
    lines: list[str] = []
    symbols: list = []
    for ls in loaded:
        lines += _footprints(ls, Path(output), plan, kicad, symbols)
        if has_substrate(ls.spec):
            lines += _substrate(ls, Path(output), plan, kicad, symbols)
        if ls.spec.family == "wafer_stack":
            lines += _wafer(ls, Path(output), plan, kicad)
    text = symbol_library_text(symbols)
    if text is not None:
        path = Path(output) / f"{LIB}.kicad_sym"
        plan.add(path, text)
        lines.append(f"symbols    {path}  ({len({s.name for s in symbols if s is not None})} packages)")
    plan.commit(force=force)
    for line in lines:
        echo(line)
    return sorted(plan.files)


def _footprints(ls: LoadedSpec, out_dir: Path, plan: OutputPlan, kicad: int, symbols: list) -> list[str]:
    lib = out_dir / f"{LIB}.pretty"
    lines = []
    for r in build_footprints(ls.spec, source=ls.file):
        if not r.report.ok:
            raise SpecError("bundled example violates its rules:\n" + r.report.text(), file=ls.file)
        symbols.append(footprint_symbol(r, LIB))
        for file, text in footprint_files([r], lib, kicad=kicad):  # footprint + VRML model, as `kisubstrate footprint`
            plan.add(file, text)
        path = lib / f"{r.geometry.name}.kicad_mod"
        lines.append(f"footprint {r.geometry.family:<10} {path}  ({r.geometry.pad_count} pads)")
    return lines


def _substrate(ls: LoadedSpec, out_dir: Path, plan: OutputPlan, kicad: int, symbols: list) -> list[str]:
    spec = ls.spec
    result = build_substrate(spec)
    if not result.report.ok:
        raise SpecError("bundled example violates its substrate rules:\n" + result.report.text(), file=ls.file)
    symbols.append(substrate_symbol(result, LIB))
    folder = out_dir / "substrates" / result.name
    for fname, text in substrate_files(result, kicad=kicad).items():
        plan.add(folder / fname, text)
    b = result.board
    return [f"substrate {spec.family:<10} {folder / (result.name + '.kicad_pcb')}  ({b.copper} Cu, "
            f"{len(b.pads)} pads, {len(b.vias)} vias, {len(b.tracks)} tracks, {len(b.nets) - 1} nets)"]


def _wafer(ls: LoadedSpec, out_dir: Path, plan: OutputPlan, kicad: int) -> list[str]:
    spec = ls.spec
    folder = out_dir / "wafers"
    files = wafer_files(spec, kicad=kicad)
    for name, text in files.items():
        plan.add(folder / name, text)
    m = spec_wafer_map(spec)
    pcb = next(k for k in files if k.endswith(".kicad_pcb"))
    return [f"wafer map  {spec.wafer.diameter} mm  {folder / pcb}  ({m.whole} whole sites)"]
