"""Bump plans for flip-chip dies: a centred bump array sized to the die, its sites and their rings.

A die's ``pads: {plan: {pitch: 0.2}}`` asks for as many bumps at 0.2 mm pitch as fit on the die
with the default edge clearance; ``layout: [cols, rows]`` fixes the array, ``edge`` the distance
from the outer bump centres to the die edge (mm). The sites are named like an area array (row
letters, then column number: ``A1``, ``A2``, …, row A at the top, -y) and carry no nets here;
:func:`kisubstrate.geometry.bumpplan.assign_plan_nets` gives each site a net.

Example:
    >>> s = plan_sites(1.0, 1.0, BumpPlan(pitch=0.2), 0.1)
    >>> len(s.names), s.names[:3], float(s.x[0]), float(s.y[0]), int(s.ring.max())
    (25, ['A1', 'A2', 'A3'], -0.4, -0.4, 2)
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from pydantic import Field, field_validator

from kisubstrate.model.base import GridCount, SpecModel, length
from kisubstrate.model.grid import row_names

MAX_PLAN_SIDE = 2000
"""Most columns or rows of a bump plan."""

MAX_PLAN_BUMPS = 100_000
"""Most bumps of one bump plan (large flip-chip dies carry some tens of thousands)."""

_EPS = 1e-9


class BumpPlan(SpecModel):
    """A planned flip-chip bump array: pitch, optional layout and edge clearance (mm)."""

    pitch: float = length("bump pitch", le=5)
    layout: tuple[GridCount, GridCount] | None = Field(None, description="columns, rows; default as many as fit "
                                                       "on the die")
    edge: float | None = length("outer bump centre to the die edge; default max(pitch/2, pad size/2 + 0.05)",
                                ge=0, le=50, default=None)

    @field_validator("layout")
    @classmethod
    def _layout_range(cls, v: tuple[int, int] | None) -> tuple[int, int] | None:
        if v is not None and not all(1 <= n <= MAX_PLAN_SIDE for n in v):
            raise ValueError(f"columns and rows must be between 1 and {MAX_PLAN_SIDE}")
        return v

    def edge_mm(self, pad: float) -> float:
        """Bump centre to die edge (mm): ``edge``, or max(pitch/2, pad/2 + 0.05) for a pad of diameter ``pad``.

        Example:
            >>> plan = BumpPlan(pitch=0.2)
            >>> plan.edge_mm(0.1), plan.edge_mm(0.3), BumpPlan(pitch=0.2, edge=0.3).edge_mm(0.1)
            (0.1, 0.2, 0.3)
        """
        if self.edge is not None:
            return self.edge
        return round(max(self.pitch / 2, pad / 2 + 0.05), 9)


@dataclass(frozen=True, eq=False)
class Sites:
    """The sites of a bump plan, row by row (row A first, columns left to right).

    Attributes:
        names: site names (``A1``, ``A2``, …), one per site.
        x: x of the site centres relative to the die centre (mm).
        y: y of the site centres relative to the die centre (mm, row A at -y).
        ring: depth from the array's outer edge, 0 = outermost row or column
            (min(col, cols-1-col, row, rows-1-row)).
        layout: columns, rows of the array.
    """

    names: list[str]
    x: np.ndarray
    y: np.ndarray
    ring: np.ndarray
    layout: tuple[int, int]

    def __len__(self) -> int:
        return len(self.names)


def _fitting(side: float, edge: float, pitch: float) -> int:
    """Bumps at ``pitch`` that fit across ``side`` keeping ``edge`` clear at both ends (mm)."""
    span = side - 2 * edge
    return 0 if span < -_EPS else math.floor(span / pitch + _EPS) + 1


def plan_sites(die_w: float, die_h: float, plan: BumpPlan, pad: float) -> Sites:
    """The bump sites of ``plan`` on a ``die_w`` x ``die_h`` die, centred on the die.

    Args:
        die_w: die width along x (mm).
        die_h: die height along y (mm).
        plan: the bump plan (pitch, optional layout and edge, mm).
        pad: bump pad (copper) diameter (mm); sets the default edge clearance.

    Raises:
        ValueError: the layout does not fit on the die, no bump fits, the edge clearance is less
            than half the pad, or the plan has more than :data:`MAX_PLAN_BUMPS` bumps (pydantic
            turns it into a located error).

    Example:
        >>> s = plan_sites(4.2, 4.2, BumpPlan(pitch=0.2), 0.1)
        >>> len(s), s.layout, (float(s.x[-1]), float(s.y[-1])), s.names[-1]
        (441, (21, 21), (2.0, 2.0), 'AA21')
        >>> plan_sites(1.0, 1.0, BumpPlan(pitch=0.2, layout=(6, 5)), 0.1)
        Traceback (most recent call last):
        ...
        ValueError: bump plan: 6 columns at 0.2 mm pitch need 1.2 mm but the die is 1 mm wide (edge 0.1 mm)
    """
    edge = plan.edge_mm(pad)
    if edge + _EPS < pad / 2:
        raise ValueError(f"bump plan: edge {edge:g} mm is less than half the {pad:g} mm pad")
    fit = (_fitting(die_w, edge, plan.pitch), _fitting(die_h, edge, plan.pitch))
    if plan.layout is None:
        if min(fit) < 1:
            raise ValueError(f"bump plan: no bump fits on the {die_w:g} x {die_h:g} mm die with {edge:g} mm "
                             "edge clearance (use a smaller edge or pad, or a larger die)")
        cols, rows = fit
    else:
        cols, rows = plan.layout
        for n, have, side, what in ((cols, fit[0], die_w, "columns"), (rows, fit[1], die_h, "rows")):
            if n > have:
                need = round((n - 1) * plan.pitch + 2 * edge, 9)
                dim = "wide" if what == "columns" else "high"
                raise ValueError(f"bump plan: {n} {what} at {plan.pitch:g} mm pitch need {need:g} mm but the die "
                                 f"is {side:g} mm {dim} (edge {edge:g} mm)")
    if cols * rows > MAX_PLAN_BUMPS:
        raise ValueError(f"bump plan: {cols} x {rows} = {cols * rows} bumps, more than {MAX_PLAN_BUMPS} "
                         "(use a larger pitch or a layout)")
    col, row = np.meshgrid(np.arange(cols), np.arange(rows))
    col, row = col.ravel(), row.ravel()
    x = np.round((col - (cols - 1) / 2) * plan.pitch, 9) + 0.0
    y = np.round((row - (rows - 1) / 2) * plan.pitch, 9) + 0.0
    ring = np.minimum(np.minimum(col, cols - 1 - col), np.minimum(row, rows - 1 - row))
    letters = row_names(rows)
    names = [f"{letters[r]}{c + 1}" for r in range(rows) for c in range(cols)]
    return Sites(names=names, x=x, y=y, ring=ring, layout=(cols, rows))
