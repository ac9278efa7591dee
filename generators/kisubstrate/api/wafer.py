"""The wafer map of a ``wafer_stack`` package (KiCad board + SVG): ``kisubstrate wafer`` and the demo.

``wafer_files(spec)`` gives the wafer-map project (``<name>_WaferMap.kicad_pcb`` /
``.kicad_pro`` / ``.kicad_dru``) and an SVG.

Example:
    >>> from kisubstrate.api.specs import load_specs
    >>> from kisubstrate.model.examples import examples_dir
    >>> spec = load_specs([examples_dir() / "wafer_stack.yaml"])[0].spec
    >>> [n.split("_WaferMap")[1] for n in sorted(wafer_files(spec))]
    ['.kicad_dru', '.kicad_pcb', '.kicad_pro', '.svg']
"""

from __future__ import annotations

from typing import Any

from kisubstrate.families.wafer_stack import (
    spec_wafer_map,
    wafer_board,
    wafer_stackup,
    wafer_svg,
)
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
