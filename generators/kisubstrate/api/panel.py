"""Strips and panels of a substrate package: the unit board built and checked, stepped, checked, written.

The panel geometry is :mod:`kisubstrate.geometry.panel`; ``kisubstrate panel`` is the front end.

Example:
    >>> from kisubstrate.api.specs import load_specs
    >>> from kisubstrate.model.examples import examples_dir
    >>> panel, report = panel_of_spec(load_specs([examples_dir() / "leadframe.yaml"])[0].spec, rows=1, columns=2)
    >>> panel.units, report.ok
    (2, True)
"""

from __future__ import annotations

from typing import Any

import numpy as np

from kisubstrate.api.project import project_files
from kisubstrate.api.substrate import build_substrate, has_substrate
from kisubstrate.geometry.distance import point_segment_distance
from kisubstrate.geometry.panel import Panel, build_panel
from kisubstrate.model.errors import SpecError
from kisubstrate.model.panel import PanelOptions, panel_options
from kisubstrate.model.units import fmt, snap
from kisubstrate.rules.board import check_board, copper_items
from kisubstrate.rules.report import Report


def check_tooling_holes(panel: Panel, rules: Any) -> None:
    """Every copper item keeps the copper-to-edge distance from the tooling holes (exact circles)."""
    ax, ay, bx, by, r, *_ = copper_items(panel.geom)
    for hx, hy, d in panel.holes:
        dist = point_segment_distance(np.full(len(ax), hx), np.full(len(ax), hy), ax, ay, bx, by) - r - d / 2
        if len(dist) and float(dist.min()) < rules.copper_to_edge - 1e-6:
            raise SpecError(f"tooling hole at ({fmt(hx)}, {fmt(hy)}) is {fmt(snap(float(dist.min())))} mm from "
                            f"copper (needs {fmt(rules.copper_to_edge)} mm): widen the rail", field="rail")


def panel_files(panel: Panel, spec: Any, *, kicad: int = 9) -> dict[str, str]:
    """File name → text of the panel project (``.kicad_pcb``, ``.kicad_pro``, ``.kicad_dru``).

    See :func:`kisubstrate.api.project.project_files`.

    Args:
        panel: the panel from :func:`panel_of_spec`.
        spec: the unit's validated spec (stackup, rule profile, trace width).
        kicad: the KiCad release to write for, 9 or 10 (see :func:`kisubstrate.api.project.project_files`).
    """
    return project_files(panel.geom, spec.stackup, spec.substrate_rules(), spec, kicad=kicad)


def panel_of_spec(spec: Any, options: PanelOptions | None = None, **fields: Any) -> tuple[Panel, Report]:
    """Build the unit board of ``spec`` (checked), step it into a panel and check the panel.

    Args:
        spec: a validated substrate package spec (a family with a substrate board).
        options: the panel layout (rows, columns, street, rail, ... in mm), see
            :class:`~kisubstrate.model.panel.PanelOptions`.
        fields: instead of ``options``, its fields as keywords (``rows=1, columns=3``).

    Returns:
        The panel and its check report; a unit board that fails its rules gives a panel of 0 units
        and the unit's report.

    Raises:
        SpecError: invalid options (checked before the unit is built) or options the rules refuse.
    """
    opts = panel_options(options, **fields)
    if not has_substrate(spec):
        raise SpecError(f"family '{spec.family}' has no substrate board to panelise", field="family")
    unit = build_substrate(spec)
    if not unit.report.ok:
        return Panel(unit.board, 0, (0.0, 0.0)), unit.report
    rules = spec.substrate_rules()
    panel = build_panel(unit.board, rules, opts)
    check_tooling_holes(panel, rules)
    report = check_board(panel.geom, rules, stackup=spec.stackup)
    return panel, report
