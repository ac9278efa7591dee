"""Issue-5 outputs beyond one substrate board: the wafer map of a ``wafer_stack`` (KiCad board + SVG).

``wafer_files(spec)`` gives the wafer-map project (``<name>_WaferMap.kicad_pcb`` /
``.kicad_pro``); :func:`demo_hook` adds it to ``kisubstrate demo`` next to the package
board, and ``kisubstrate wafer`` (:mod:`kisubstrate.stack_cli`) writes it for any spec.

Example:
    >>> from kisubstrate.api import load_specs
    >>> from kisubstrate.examples import examples_dir
    >>> spec = load_specs([examples_dir() / "wafer_stack.yaml"])[0].spec
    >>> [n.split("_WaferMap")[1] for n in sorted(wafer_files(spec))]
    ['.kicad_dru', '.kicad_pcb', '.kicad_pro', '.svg']
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from kisubstrate.families.wafer_stack import spec_wafer_map, wafer_board, wafer_stackup, wafer_svg
from kisubstrate.kicad.board import write_board
from kisubstrate.kicad.project import write_dru, write_project


def wafer_files(spec: Any) -> dict[str, str]:
    """File name → text of the wafer map of a ``wafer_stack`` spec (board, project, rules, SVG)."""
    m = spec_wafer_map(spec)
    g = wafer_board(spec, m)
    rules = spec.substrate_rules()
    n = g.name
    return {f"{n}.kicad_pcb": write_board(g, wafer_stackup()),
            f"{n}.kicad_pro": write_project(n, rules, width=spec.width(), micro=spec.micro()),
            f"{n}.kicad_dru": write_dru(rules, micro=spec.micro(), width=spec.width()),
            f"{n}.svg": wafer_svg(m, spec.resolved_name)}


def demo_hook(loaded: Any, out_dir: Path, plan: Any) -> list[str]:
    """``api._DEMO_HOOKS`` entry: the wafer map of a bundled ``wafer_stack`` example."""
    spec = loaded.spec
    if getattr(spec, "family", None) != "wafer_stack":
        return []
    folder = Path(out_dir) / "wafers"
    files = wafer_files(spec)
    for name, text in files.items():
        plan.add(folder / name, text)
    m = spec_wafer_map(spec)
    pcb = next(k for k in files if k.endswith(".kicad_pcb"))
    return [f"wafer map  {spec.wafer.diameter} mm  {folder / pcb}  ({m.whole} whole sites)"]


def __getattr__(name: str):
    """``wafer_command`` moved to the front end :mod:`kisubstrate.stack_cli` (this module imports no click)."""
    if name == "wafer_command":
        from kisubstrate.stack_cli import wafer_command

        return wafer_command
    raise AttributeError(name)
