"""Violations and reports: located, measured, comparable; rendered as text or JSON."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field

from kisubstrate.model.units import fmt


@dataclass(frozen=True)
class Violation:
    """One broken rule.

    Attributes:
        rule: rule id, e.g. ``copper_clearance``, ``mask_web``, ``silk_clearance``.
        items: the items involved (ball / pad names, or a graphic's description).
        where: location (mm, KiCad frame) of the closest approach.
        layer: KiCad layer name the rule applies on.
        measured: the measured value (mm).
        required: the rule's limit (mm).
        message: one human sentence.
    """

    rule: str
    items: tuple[str, ...]
    where: tuple[float, float]
    layer: str
    measured: float
    required: float
    message: str = ""

    def line(self) -> str:
        """One text line for terminal reports."""
        items = " - ".join(self.items)
        msg = f"  {self.message}" if self.message else ""
        return (f"{self.rule:<18} {items:<24} at ({fmt(round(self.where[0], 4))}, {fmt(round(self.where[1], 4))}) "
                f"{self.layer:<8} measured {self.measured:.4f} mm, required {self.required:.4f} mm{msg}")


@dataclass
class Report:
    """Violations of one package (or board), with the rule profile used."""

    package: str
    profile: str
    violations: list[Violation] = field(default_factory=list)
    checked: dict[str, int] = field(default_factory=dict)  # rule → items/pairs examined

    @property
    def ok(self) -> bool:
        """True when nothing is violated."""
        return not self.violations

    def extend(self, items: list[Violation]) -> None:
        """Add violations."""
        self.violations.extend(items)

    def sorted(self) -> list[Violation]:
        """Violations in a stable order: rule, then location, then items."""
        return sorted(self.violations, key=lambda v: (v.rule, round(v.where[1], 6), round(v.where[0], 6), v.items))

    def text(self, *, limit: int = 50) -> str:
        """Human report (at most ``limit`` lines per package)."""
        if self.ok:
            return f"{self.package}: OK ({self.profile})"
        rows = self.sorted()
        by_rule: dict[str, int] = {}
        for v in rows:
            by_rule[v.rule] = by_rule.get(v.rule, 0) + 1
        head = (f"{self.package}: {len(rows)} violation(s) of profile {self.profile} ("
                + ", ".join(f"{k} {n}" for k, n in sorted(by_rule.items())) + ")")
        lines = [head] + ["  " + v.line() for v in rows[:limit]]
        if len(rows) > limit:
            lines.append(f"  ... {len(rows) - limit} more (use --format json for all)")
        return "\n".join(lines)

    def as_dict(self) -> dict:
        """JSON-ready dict."""
        return {"package": self.package, "profile": self.profile, "ok": self.ok,
                "violations": [dict(asdict(v), items=list(v.items), where=list(v.where))
                               for v in self.sorted()],
                "checked": self.checked}

    def json(self) -> str:
        """JSON text."""
        return json.dumps(self.as_dict(), indent=2)
