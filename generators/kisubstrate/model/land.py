"""Ball → land (pad) diameter rules, each with the source it comes from.

* ``ipc7352``: IPC-7352 Table 3-11 median (nominal) material level B, as used by
  KiCad's footprint generator since 2025: collapsible ball → land = 0.8 × ball,
  non-collapsible → 1.1 × ball, rounded to 0.01 mm.
* ``ipc7351b``: IPC-7351B Tables 14-5 / 14-6 (land per nominal ball size; nominal,
  max or min column; §14.4.2 asks for the max land), as carried by KiCad's generator
  until March 2025.

The tables are data, ``kisubstrate/data/ipc/ipc7352-bga-lands.yaml`` and
``ipc7351b-bga-lands.yaml`` (read once by :mod:`kisubstrate.model.ipc`).

Example:
    >>> land_diameter(0.45, rule="ipc7352", ball_type="collapsible").diameter
    0.36
    >>> land_diameter(0.45, rule="ipc7351b", ball_type="collapsible", level="max").diameter
    0.4
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from kisubstrate.model.errors import SpecError
from kisubstrate.model.ipc import bga_land_factors, bga_land_table


@dataclass(frozen=True)
class LandResult:
    """A land diameter and where it came from."""

    diameter: float
    rule: str
    factor: str
    source: str

    def describe(self) -> str:
        """One sentence for footprint descriptions and provenance tables."""
        return f"land {self.diameter:g} mm: {self.rule}, {self.factor} ({self.source})"


def land_diameter(ball: float, *, rule: str, ball_type: str, level: str = "max") -> LandResult:
    """Land (copper pad) diameter in mm for a nominal ball diameter in mm.

    Args:
        ball: nominal ball diameter (mm).
        rule: ``ipc7352`` (factor × ball) or ``ipc7351b`` (table lookup).
        ball_type: ``collapsible`` or ``non_collapsible``.
        level: IPC-7351B column, ``nom`` / ``max`` / ``min`` (ignored by ``ipc7352``).

    Raises:
        SpecError: the IPC-7351B table has no entry for this ball size / type.
    """
    if rule == "ipc7352":
        factors = bga_land_factors()
        factor, step = factors.factors[ball_type], factors.round_to  # type: ignore[index]
        digits = max(0, -math.floor(math.log10(step) + 1e-9))  # 0.01 mm -> 2 decimals
        value = round(round(ball * factor / step) * step, digits)
        kind = "collapsible" if ball_type == "collapsible" else "non-collapsible"
        return LandResult(value, factors.name, f"{factor:g} x ball {ball:g} mm ({kind}), rounded to {step:g} mm",
                          factors.source)
    if rule == "ipc7351b":
        table = bga_land_table()
        column = table.collapsible if ball_type == "collapsible" else table.non_collapsible
        entry = column.get(round(ball, 3))
        if entry is None:
            sizes = ", ".join(f"{b:g}" for b in sorted(column))
            raise SpecError(f"IPC-7351B has no {ball_type.replace('_', '-')} land for a {ball:g} mm ball "
                            f"(table sizes: {sizes}); use land_rule: ipc7352 or give pad_diameter",
                            field="ball_diameter")
        value = entry[table.levels.index(level)]  # type: ignore[arg-type]
        return LandResult(value, table.name, f"table {level} land for ball {ball:g} mm "
                          f"({ball_type.replace('_', '-')})", table.source)
    raise ValueError(f"unknown land rule {rule}")
