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

from kisubstrate.api.project import project_files
from kisubstrate.families.wafer_stack import (
    spec_wafer_map,
    wafer_board,
    wafer_stackup,
    wafer_svg,
)


def wafer_files(spec: Any, *, kicad: int = 9) -> dict[str, str]:
    """File name → text of the wafer map of a ``wafer_stack`` spec (board, project, rules, SVG).

    The board is a bare silicon wafer (:func:`~kisubstrate.families.wafer_stack.wafer_stackup`) with
    the spec's rule profile; the project files come from :func:`kisubstrate.api.project.project_files`.

    Args:
        spec: a validated ``wafer_stack`` spec (wafer diameter, street and edge exclusion in mm).
        kicad: the KiCad release to write for, 9 or 10 (see :func:`kisubstrate.api.project.project_files`).
    """
    m = spec_wafer_map(spec)
    g = wafer_board(spec, m)
    files = project_files(g, wafer_stackup(), spec.substrate_rules(), spec, kicad=kicad)
    files[f"{g.name}.svg"] = wafer_svg(m, spec.resolved_name)
    return files
