"""Ball → land (pad) diameter rules, each with the source it comes from.

* ``ipc7352``: IPC-7352 Table 3-11 median (nominal) material level B, as used by
  KiCad's footprint generator since 2025: collapsible ball → land = 0.8 × ball,
  non-collapsible → 1.1 × ball, rounded to 0.01 mm.
* ``ipc7351b``: IPC-7351B Tables 14-5 / 14-6 (land per nominal ball size; nominal,
  max or min column; §14.4.2 asks for the max land), as carried by KiCad's generator
  until March 2025.

Example:
    >>> land_diameter(0.45, rule="ipc7352", ball_type="collapsible").diameter
    0.36
    >>> land_diameter(0.45, rule="ipc7351b", ball_type="collapsible", level="max").diameter
    0.4
"""

from __future__ import annotations

from dataclasses import dataclass

from kisubstrate.model.errors import SpecError

IPC7352_FACTORS = {"collapsible": 0.8, "non_collapsible": 1.1}

# ball Ø: (collapsible nom, max, min), (non-collapsible nom, max, min); None where IPC gives none.
IPC7351B_TABLE: dict[float, tuple[tuple[float, float, float] | None, tuple[float, float, float] | None]] = {
    0.75: ((0.55, 0.60, 0.50), (0.85, 0.90, 0.80)),
    0.65: ((0.50, 0.55, 0.45), None),
    0.60: ((0.45, 0.50, 0.40), (0.70, 0.75, 0.65)),
    0.55: ((0.40, 0.50, 0.40), (0.65, 0.70, 0.60)),
    0.50: ((0.40, 0.45, 0.35), (0.55, 0.60, 0.50)),
    0.45: ((0.35, 0.40, 0.30), (0.50, 0.55, 0.45)),
    0.40: ((0.30, 0.35, 0.25), (0.45, 0.50, 0.40)),
    0.35: ((0.28, 0.33, 0.23), None),
    0.30: ((0.25, 0.25, 0.20), (0.33, 0.38, 0.28)),
    0.25: ((0.20, 0.20, 0.17), (0.28, 0.33, 0.23)),
    0.20: ((0.17, 0.20, 0.14), (0.21, 0.24, 0.18)),
    0.17: ((0.15, 0.18, 0.12), (0.18, 0.21, 0.15)),
    0.15: ((0.13, 0.15, 0.10), (0.16, 0.19, 0.13)),
}
_LEVEL_INDEX = {"nom": 0, "max": 1, "min": 2}


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

    Raises:
        SpecError: the IPC-7351B table has no entry for this ball size / type.
    """
    if rule == "ipc7352":
        factor = IPC7352_FACTORS[ball_type]
        value = round(round(ball * factor / 0.01) * 0.01, 2)
        kind = "collapsible" if ball_type == "collapsible" else "non-collapsible"
        return LandResult(value, "IPC-7352", f"{factor:g} x ball {ball:g} mm ({kind}), rounded to 0.01 mm",
                          "IPC-7352 Table 3-11 median material level B (via KiCad footprint generator)")
    if rule == "ipc7351b":
        key = round(ball, 3)
        entry = IPC7351B_TABLE.get(key)
        column = None if entry is None else entry[0 if ball_type == "collapsible" else 1]
        if column is None:
            sizes = ", ".join(f"{b:g}" for b in sorted(IPC7351B_TABLE)
                              if IPC7351B_TABLE[b][0 if ball_type == "collapsible" else 1])
            raise SpecError(f"IPC-7351B has no {ball_type.replace('_', '-')} land for a {ball:g} mm ball "
                            f"(table sizes: {sizes}); use land_rule: ipc7352 or give pad_diameter",
                            field="ball_diameter")
        value = column[_LEVEL_INDEX[level]]
        return LandResult(value, "IPC-7351B", f"table {level} land for ball {ball:g} mm "
                          f"({ball_type.replace('_', '-')})",
                          "IPC-7351B Tables 14-5/14-6 (via KiCad footprint generator data)")
    raise ValueError(f"unknown land rule {rule}")
