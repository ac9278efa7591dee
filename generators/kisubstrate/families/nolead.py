"""No-lead packages (``family: qfn`` and ``family: son``): IPC-7351B land calculator.

Lands follow IPC-7351B §3 with RMS tolerance stacking (mm)::

    Zmax = Lmin + 2·Jt + √(CL² + F² + P²)      outer land edge to outer land edge
    Gmin = Smax − 2·Jh − √(CS² + F² + P²)      inner land edge to inner land edge
    X    = Wmin + 2·Js + √(CW² + F² + P²)      land width

with L = lead span (body − 2·pull-back), S = L − 2·lead length (RMS tolerance
√(L_tol² + 2·T_tol²)), W = lead width; Jt/Jh/Js the toe/heel/side goals of Table 3-15
(toe fillet) or Table 3-18 (pull-back leads) for the density level; F and P the
fabrication and placement tolerances of the rule profile. Z, G and X are rounded to
``round_to`` (IPC-7351B round-off 0.05 mm, as KiCad's generator does); the land is
``(Z − G)/2`` long, centred at ``(Z + G)/4``. As in KiCad's generator, the heel is pulled
back when needed so that every land keeps ``ep_lead_clearance`` from the exposed pad.

Pads are numbered counter-clockwise from pin 1 (top of the left side, going down), the
exposed pad is N + 1 with ``pad_prop_heatsink`` and its paste split into a grid of
paste-only pads; optional thermal vias sit inside it.

Example:
    >>> spec = QfnSpec(family="qfn", leads=32, pitch=0.5, body="5 +/- 0.1", lead_width="0.18 .. 0.30",
    ...                lead_length="0.3 .. 0.5", exposed_pad="2.95 .. 3.1 .. 3.25")
    >>> spec.resolved_name
    'QFN-32-1EP_5x5mm_P0.5mm_EP3.1x3.1mm'
    >>> fp = build_nolead(spec)[0]
    >>> fp.pad_table()[0]
    ('1', -2.4375, -1.75, 0.875, 0.25)
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Any, Literal

import numpy as np
import shapely
from pydantic import Field, ValidationInfo, field_validator, model_validator

from kisubstrate import __version__
from kisubstrate.families.registry import Family, register
from kisubstrate.geometry.ir import FootprintGeom, Line, Model3D, PadGroup
from kisubstrate.geometry.outline import (
    courtyard_rect,
    fab_outline,
    fab_reference,
    silk_outline,
)
from kisubstrate.model.base import LeadCount, PackageSpec, PasteCount, SpecModel, ViaCount, length, resolve_rules
from kisubstrate.model.errors import FieldError
from kisubstrate.model.ipc import nolead_fillets
from kisubstrate.model.rules import RuleSet, load_rules
from kisubstrate.model.toleranced import Toleranced
from kisubstrate.model.units import fmt, snap

LIBRARY = "Package_DFN_QFN"

# IPC-7351B goals per density level (mm): data/ipc/ipc7351b-nolead-fillets.yaml (Table 3-15: toe fillet,
# Table 3-18: pull-back leads), read once by kisubstrate.model.ipc
FILLETS: dict[str, dict[str, dict[str, float]]] = {
    kind: {level: getattr(table, level).model_dump() for level in ("least", "nominal", "most")}
    for kind, table in nolead_fillets().tables.items()}
TABLE_NAME = {kind: table.name for kind, table in nolead_fillets().tables.items()}
ROUNDRECT_RATIO = 0.25  # KLC / kicad-footprint-generator: 25 % ...
ROUNDRECT_MAX_RADIUS = 0.25  # ... but at most 0.25 mm
PASTE_PAD_TARGET = 1.5  # auto paste grid: about one paste pad per 1.5 mm of exposed pad
MIN_PASTE_PAD = 0.1
ZONE_SOLID = 2  # KLC F6.3: exposed pad, its B.Cu copy and its thermal vias connect solid to zones


def _pair(v: Any) -> Any:
    """A scalar stands for the same value in x and y."""
    if isinstance(v, (list, tuple)):
        return tuple(v)
    return (v, v)


class ThermalVias(SpecModel):
    """Thermal vias in the exposed pad (tented plated holes, numbered as the exposed pad)."""

    count: tuple[ViaCount, ViaCount] = Field(description="vias in x and y (columns, rows)")
    drill: float = length("via drill diameter", le=2, default=0.2)
    grid: tuple[float, float] | None = Field(None, description="via pitch x, y (mm); default: spread over "
                                             "the exposed pad, outer via pads at its edge",
                                             json_schema_extra={"unit": "mm"})
    paste_via_clearance: float = length("paste kept this far from via holes", ge=0, le=2, default=0.1)
    paste_avoid_vias: bool = Field(True, description="true: paste pads between the via lines, clear of the "
                                   "holes; false: the plain paste grid over the vias (paste_grid)")
    paste_grid: tuple[int, int] | None = Field(
        None, description="paste pads x, y over the exposed pad; with paste_avoid_vias false a plain grid "
        "(default: the spec's ep_paste_grid), with it true split into paste_between_vias per via cell and "
        "paste_rings_outside (as KiCad's generator derives them)")
    paste_between_vias: tuple[int, int] | None = Field(
        None, description="paste pads x, y in each cell between four vias, corners chamfered clear of the "
        "holes (KiCad's paste_between_vias)")
    paste_rings_outside: tuple[int, int] | None = Field(
        None, description="rings of paste pads x, y between the outer vias and the pad edge (KiCad's "
        "paste_rings_outside)")
    paste_coverage: float | None = Field(None, ge=0.2, le=1.0, description="paste area / exposed-pad area with "
                                         "the vias (default: the spec's ep_paste_coverage)")

    @field_validator("count", "grid", "paste_grid", "paste_between_vias", "paste_rings_outside", mode="before")
    @classmethod
    def _pairs(cls, v: Any) -> Any:
        return None if v is None else _pair(v)

    @field_validator("count")
    @classmethod
    def _count_ok(cls, v: tuple[int, int]) -> tuple[int, int]:
        if not all(1 <= n <= 50 for n in v):
            raise ValueError("via count per axis must be 1..50")
        return v

    @field_validator("paste_grid")
    @classmethod
    def _paste_grid_ok(cls, v: tuple[int, int] | None) -> tuple[int, int] | None:
        if v is not None and not all(1 <= n <= 50 for n in v):
            raise ValueError("paste_grid per axis must be 1..50")
        return v

    @field_validator("paste_between_vias", "paste_rings_outside")
    @classmethod
    def _layout_ok(cls, v: tuple[int, int] | None) -> tuple[int, int] | None:
        if v is not None and not all(0 <= n <= 20 for n in v):
            raise ValueError("paste pads per via cell / rings per axis must be 0..20")
        return v

    def paste_layout(self) -> tuple[tuple[int, int], tuple[int, int]] | None:
        """(pads between vias, rings outside) per axis, or None for the default via-avoiding split.

        Given directly, or derived from ``paste_grid`` as KiCad's generator does: ``p // (n − 1)``
        pads per via cell (n vias in the axis) and the rest split into rings on both sides.

        Example:
            >>> ThermalVias(count=(5, 4), paste_grid=(4, 3)).paste_layout()
            ((1, 1), (0, 0))
            >>> ThermalVias(count=4, paste_grid=5).paste_layout()
            ((1, 1), (1, 1))
        """
        if not self.paste_avoid_vias:
            return None
        if self.paste_between_vias is not None or self.paste_rings_outside is not None:
            return self.paste_between_vias or (0, 0), self.paste_rings_outside or (0, 0)
        if self.paste_grid is None:
            return None
        between = tuple(p // (n - 1) if n > 1 else p for p, n in zip(self.paste_grid, self.count))
        rings = tuple((p - (n - 1) * b) // 2 for p, n, b in zip(self.paste_grid, self.count, between))
        return between, rings  # type: ignore[return-value]

    @field_validator("grid")
    @classmethod
    def _grid_ok(cls, v: tuple[float, float] | None) -> tuple[float, float] | None:
        if v is not None and not all(0 < g <= 20 for g in v):
            raise ValueError("via grid must be > 0 and <= 20 mm")
        return v


class Numbering(SpecModel):
    """How the leads are numbered (top view).

    The lead positions are walked from ``start`` in ``direction``: counter-clockwise (``ccw``)
    from the top lead of the left side means down the left side, along the bottom to the right,
    up the right side and along the top to the left. ``offset`` shifts every number along that
    walk: the lead at step k (0 = the first) gets number ``1 + (k + offset) mod N``, so
    ``offset: 1`` numbers the leads 2, 3, …, N, 1 (pin 1 is the last lead of the walk).

    Example:
        >>> Numbering(start="top", direction="cw", offset=1).offset
        1
    """

    start: Literal["left", "bottom", "right", "top"] = Field(
        "left", description="side whose first lead (in the counting direction) starts the count")
    direction: Literal["ccw", "cw"] = Field("ccw", description="counting direction seen from the top: ccw "
                                            "(counter-clockwise, JEDEC) or cw")
    offset: int = Field(0, ge=-1000, le=1000, description="shift of the numbers along the walk (KiCad's "
                        "generator pad_numbers offset): step k gets 1 + (k + offset) mod N")


class NoLeadSpec(PackageSpec):
    """Flat no-lead package (QFN / SON / DFN), all lengths mm.

    Top view, pin 1 top-left::

                 ◄────────────── body x ──────────────►
               ┌◣──────────────────────────────────────┐ ▲
               │   ▯   ▯   ▯   ▯   ▯   ▯   ▯   ▯      │ │   ▯ = lead: width b (lead_width),
           1 ▭ │                                       │ ▭   length L (lead_length) measured
           2 ▭ │      ┌───────────────────────┐        │ ▭   inward from the lead end
           ⋮ ▭ │      │   exposed pad (EP)    │        │ ▭   ◄pitch► between lead centres
             ▭ │      │    exposed_pad x, y    │        │ ▭
             ▭ │      └───────────────────────┘        │ ▭  body y
               │   ▯   ▯   ▯   ▯   ▯   ▯   ▯   ▯      │ │
               └───────────────────────────────────────┘ ▼
                ▲ lead end flush with the body edge, or set back by pull_back

           lead span (lead end to lead end) = body − 2·pull_back
           inner span S                     = lead span − 2·L
           qfn: leads on four sides (leads_per_side = [top/bottom, left/right]; lead_width_tb /
                lead_length_tb when the top/bottom leads differ from the left/right ones);
           son: leads on the left and right sides only.

    Toleranced values accept ``0.25``, ``"0.25 +/- 0.05"``, ``"0.4 +0.1 -0.05"``,
    ``"0.18 .. 0.30"`` or ``"0.18 .. 0.25 .. 0.30"`` (see :mod:`kisubstrate.model.toleranced`).
    """

    family: str
    manufacturer: str | None = Field(None, pattern=r"^[A-Za-z0-9][A-Za-z0-9.\-]*$", max_length=40,
                                     description="name prefix for non-generic parts (KLC), e.g. Texas")
    part_number: str | None = Field(None, pattern=r"^[A-Za-z0-9][A-Za-z0-9.\-]*$", max_length=40,
                                    description="package code after the manufacturer, e.g. RGE0024H")
    package_type: str | None = Field(None, pattern=r"^[A-Za-z][A-Za-z0-9]*(-[A-Za-z0-9]+)*$", max_length=20,
                                     description="name prefix, e.g. QFN, VQFN, DFN, WSON, W-PDFN, X2QFN "
                                     "(default per family)")
    leads: int | None = Field(None, ge=2, le=1000, description="total number of leads (excluding the EP)")
    leads_per_side: tuple[LeadCount, LeadCount] | None = Field(
        None, description="qfn: leads on each of top/bottom and each of left/right; son: per side")
    pitch: float = length("lead pitch (centre to centre)", le=10)
    body: tuple[Toleranced, Toleranced] = Field(description="body size x, y (toleranced; one value = square)")
    lead_width: Toleranced = Field(description="lead (terminal) width b, toleranced")
    lead_length: Toleranced | None = Field(None, description="lead (terminal) length L, toleranced; or give "
                                           "body_to_inside_lead_edge")
    body_to_inside_lead_edge: Toleranced | None = Field(
        None, description="distance from the body edge to the inner (heel) edge of the leads, toleranced, when "
        "the datasheet locates the leads by it instead of a lead length (all sides)")
    lead_width_tb: Toleranced | None = Field(None, description="qfn: width of the top/bottom leads when it "
                                             "differs from lead_width (which then means left/right)")
    lead_length_tb: Toleranced | None = Field(None, description="qfn: length of the top/bottom leads when it "
                                              "differs from lead_length (which then means left/right)")
    pull_back: Toleranced | None = Field(None, description="distance of the lead end from the body edge "
                                         "(pull-back leads, IPC-7351B Table 3-18); absent = flush leads")
    lead_center_span: tuple[Toleranced, Toleranced] | None = Field(
        None, description="centre-to-centre distance of opposite leads [left/right, top/bottom], when the "
        "datasheet locates the leads by it rather than by the body edge")
    exposed_pad: tuple[Toleranced, Toleranced] | None = Field(
        None, description="exposed (thermal) pad size x, y of the package, toleranced")
    ep_land: tuple[Toleranced, Toleranced] | None = Field(
        None, description="board land of the exposed pad x, y (default: the nominal exposed pad); a "
        "toleranced value gives its nominal")
    ep_offset: tuple[float, float] = Field((0.0, 0.0), description="exposed pad centre from the package centre "
                                           "x, y (mm, y down as in KiCad)", json_schema_extra={"unit": "mm"})
    ep_number: int | None = Field(None, ge=1, le=10000, description="pad number of the exposed pad (default N + 1)")
    numbering: Numbering = Field(default_factory=Numbering, description="lead numbering: start side, "
                                 "direction, offset (default pin 1 at the top of the left side, ccw)")
    corner_chamfer: float = length("chamfer leg (mm) on the inner corner of the first and last land of each "
                                   "side of a qfn, towards the neighbouring side (KiCad's chamfer_edge_pins); "
                                   "0 = none", ge=0, le=1, default=0.0)
    ep_paste_grid: tuple[PasteCount, PasteCount] | None = Field(None, description="paste pads on the exposed pad "
                                                  "(x, y); default about one per 1.5 mm")
    ep_paste_coverage: float = Field(0.65, ge=0.2, le=1.0, description="paste area / exposed-pad area "
                                     "(kicad-footprint-generator default 0.65)")
    thermal_vias: ThermalVias | None = Field(None, description="thermal vias in the exposed pad")
    density: Literal["least", "nominal", "most"] = Field(
        "nominal", description="IPC-7351B density level: least (C), nominal (B), most (A)")
    fillets: Literal["auto", "toe", "pull_back"] = Field(
        "auto", description="auto: Table 3-18 when pull_back is given, else Table 3-15")
    pad_size: tuple[float, float] | None = Field(
        None, description="fixed datasheet land [length along the lead, width]; overrides IPC sizes",
        json_schema_extra={"unit": "mm"})
    pad_span: tuple[float, float] | None = Field(
        None, description="with pad_size: land centre to centre across the package [x, y] (default: "
        "outer land edge at the IPC toe)", json_schema_extra={"unit": "mm"})
    ep_lead_clearance: float = length("minimum land-to-exposed-pad gap; the heel is pulled back to keep it "
                                      "(kicad-footprint-generator min_ep_to_pad_clearance)", ge=0, le=2,
                                      default=0.2)
    round_to: float = length("Z, G and X round to this (IPC-7351B round-off)", le=0.1, default=0.05)
    pad_shape: Literal["roundrect", "rect"] = Field("roundrect", description="lead land shape "
                                                    "(roundrect: 25 %, radius <= 0.25 mm)")
    height: float | None = length("package height (3D model)", le=10, default=None)
    rules: str | None = Field(None, description="rule profile name or YAML path (default ipc-default)")
    courtyard: float | None = length("courtyard offset override (default: IPC courtyard excess of the "
                                     "density level)", ge=0, le=10, default=None)

    # -- field coercion ------------------------------------------------------------------------
    @field_validator("body", "exposed_pad", "ep_land", "ep_offset", "pad_span", "ep_paste_grid",
                     "lead_center_span", mode="before")
    @classmethod
    def _xy(cls, v: Any) -> Any:
        if v is None:
            return v
        if isinstance(v, (list, tuple)) and len(v) != 2:
            raise ValueError("give one value (square) or two values [x, y]")
        return _pair(v)

    @field_validator("leads_per_side", mode="before")
    @classmethod
    def _per_side(cls, v: Any) -> Any:
        if v is None or isinstance(v, (list, tuple)):
            return v
        return (v, v)

    @field_validator("rules")
    @classmethod
    def _rules_exist(cls, v: str | None, info: ValidationInfo) -> str | None:
        return resolve_rules(v, info, load_rules)

    # -- derived -----------------------------------------------------------------------------------
    @property
    def sides(self) -> tuple[int, int]:
        """(leads on each of top and bottom, leads on each of left and right)."""
        if self.family == "son":
            if self.leads_per_side is not None:
                return (0, self.leads_per_side[1])
            return (0, (self.leads or 0) // 2)
        if self.leads_per_side is not None:
            return self.leads_per_side
        return ((self.leads or 0) // 4, (self.leads or 0) // 4)

    @property
    def lead_count(self) -> int:
        """Number of leads N (the exposed pad is N + 1)."""
        nx, ny = self.sides
        return 2 * (nx + ny)

    def lead(self, axis: int) -> tuple[Toleranced, Toleranced]:
        """(length, width) of the leads on the left/right sides (axis 0) or top/bottom sides (axis 1).

        With ``body_to_inside_lead_edge`` the length is that distance less the pull-back.
        """
        width = self.lead_width if axis == 0 else self.lead_width_tb or self.lead_width
        if self.lead_length is None:
            assert self.body_to_inside_lead_edge is not None
            b2i = self.body_to_inside_lead_edge
            return (b2i - self.pull_back if self.pull_back is not None else b2i), width
        if axis == 0:
            return self.lead_length, width
        return self.lead_length_tb or self.lead_length, width

    @property
    def fillet_table(self) -> str:
        """``toe`` (Table 3-15) or ``pull_back`` (Table 3-18)."""
        if self.fillets != "auto":
            return self.fillets
        return "pull_back" if self.pull_back is not None else "toe"

    @property
    def ep_land_size(self) -> tuple[float, float] | None:
        """Board land of the exposed pad (mm), or None without an exposed pad."""
        if self.ep_land is not None:  # (floats when a caller builds the model without validation)
            x, y = (float(getattr(v, "nominal", v)) for v in self.ep_land)
            return (x, y)
        if self.exposed_pad is None:
            return None
        return (self.exposed_pad[0].nominal, self.exposed_pad[1].nominal)

    def rule_set(self) -> RuleSet:
        """The rule profile the footprint is checked against."""
        return load_rules(self.rules or "ipc-default")

    def default_name(self) -> str:
        """KLC name, e.g. ``QFN-32-1EP_5x5mm_P0.5mm_EP3.1x3.1mm[_ThermalVias]``."""
        pkg = self.package_type or ("QFN" if self.family == "qfn" else "DFN")
        bx, by = (b.nominal for b in self.body)
        prefix = "".join(f"{v}_" for v in (self.manufacturer, self.part_number) if v)
        name = f"{prefix}{pkg}-{self.lead_count}"
        ep = self.ep_land_size
        name += "-1EP" if ep else ""
        name += f"_{fmt(bx)}x{fmt(by)}mm_P{fmt(self.pitch)}mm"
        if ep:
            name += f"_EP{fmt(ep[0])}x{fmt(ep[1])}mm"
        if self.thermal_vias is not None:
            name += "_ThermalVias"
        return name

    # -- validation of the package as a whole ------------------------------------------------------
    @model_validator(mode="after")
    def _geometry_ok(self) -> "NoLeadSpec":
        # in this order: each step may rely on what the previous ones checked
        self._check_lead_counts()
        self._check_sizes()
        lead, pb = self._check_leads_fit_the_body()
        self._check_exposed_pad(lead, pb)
        self._check_fixed_lands()
        self._check_numbering_and_chamfer()
        return self

    def _check_numbering_and_chamfer(self) -> None:
        """The numbering starts on a side with leads; a corner chamfer fits the corner lands."""
        nx, _ = self.sides
        if not nx and self.numbering.start in ("top", "bottom"):
            raise FieldError("numbering", f"numbering.start '{self.numbering.start}': a SON/DFN has leads on the "
                             "left and right sides only")
        if self.corner_chamfer > 0:
            tb, lr = lands(self)
            for land, what in ((lr, "left/right"), (tb, "top/bottom")):
                width = min(land.x, land.length) if land is not None else 0.0
                if land is not None and self.corner_chamfer > width + 1e-9:
                    raise FieldError("corner_chamfer", f"corner_chamfer {fmt(self.corner_chamfer)} mm is more than "
                                     f"the {what} land width ({fmt(width)} mm)")

    def _check_lead_counts(self) -> None:
        """``leads`` / ``leads_per_side`` consistent with the family (two or four sides)."""
        if self.leads is None and self.leads_per_side is None:
            raise FieldError("leads", "give leads (total) or leads_per_side")
        nx, ny = self.sides
        if self.family == "son":
            if self.leads is not None and self.leads % 2:
                raise FieldError("leads",
                                 f"a SON/DFN has leads on two sides: leads must be even (got {self.leads})")
        else:
            if self.leads_per_side is None and self.leads is not None and self.leads % 4:
                raise FieldError("leads", f"leads {self.leads} do not split over four equal sides; give "
                                 "leads_per_side: [top/bottom, left/right]")
            if self.leads is not None and self.leads_per_side is not None and self.leads != self.lead_count:
                raise FieldError("leads_per_side",
                                 f"leads {self.leads} != 2 x (top/bottom + left/right) of leads_per_side "
                                 f"= {self.lead_count}")
            if min(nx, ny) < 1:
                raise FieldError("leads_per_side",
                                 "a QFN needs at least one lead on every side (use family: son for two sides)")
        if ny < 1:
            raise FieldError("leads", "need at least one lead per side")

    def _check_sizes(self) -> None:
        """Positive sizes, leads narrower than the pitch, a non-negative pull-back."""
        if (self.lead_length is None) == (self.body_to_inside_lead_edge is None):
            raise FieldError("lead_length", "give lead_length or body_to_inside_lead_edge (one of them)")
        if self.body_to_inside_lead_edge is not None:
            for other in ("lead_length_tb", "lead_center_span"):
                if getattr(self, other) is not None:
                    raise FieldError(other, f"{other} does not go with body_to_inside_lead_edge")
            b2i = self.body_to_inside_lead_edge
            if b2i.minimum <= 0:
                raise FieldError("body_to_inside_lead_edge",
                                 f"body_to_inside_lead_edge must be > 0 mm (got {b2i.text()})")
        if self.family == "son" and self.corner_chamfer > 0:
            raise FieldError("corner_chamfer", "corner_chamfer is for qfn corner lands (a SON has no corners "
                             "where two sides meet)")
        if self.family == "son" and (self.lead_width_tb is not None or self.lead_length_tb is not None):
            raise FieldError("lead_width_tb" if self.lead_width_tb is not None else "lead_length_tb",
                             "a SON/DFN has no top/bottom leads")
        for t, what in ((self.lead_width, "lead_width"), (self.lead(0)[0], "lead_length"),
                        (self.lead_width_tb, "lead_width_tb"), (self.lead_length_tb, "lead_length_tb")):
            if t is not None and t.minimum <= 0:
                raise FieldError(what, f"{what} must be > 0 mm (got {t.text()})")
        for b in self.body:
            if b.minimum <= 0:
                raise FieldError("body", f"body must be > 0 mm (got {b.text()})")
        p = self.pitch
        for what, t in (("lead_width", self.lead_width), ("lead_width_tb", self.lead_width_tb)):
            if t is not None and t.maximum >= p:
                raise FieldError(what, f"leads overlap: {what} max {fmt(t.maximum)} mm >= pitch {fmt(p)} mm")
        if self.pull_back is not None and self.pull_back.minimum < 0:
            raise FieldError("pull_back", "pull_back must be >= 0 mm")

    def _check_leads_fit_the_body(self) -> tuple[dict[int, float], float]:
        """The leads as drawn fit the body.

        Returns the nominal lead lengths (0: left/right, 1: top/bottom) and the pull-back, mm.
        """
        nx, ny = self.sides
        p = self.pitch
        # the package as drawn (nominal sizes): datasheet corner leads are often chamfered, so
        # worst-case limits would reject real parts
        pb = self.pull_back.nominal if self.pull_back is not None else 0.0
        bx, by = (t.nominal for t in self.body)
        lead = {k: self.lead(k)[0].nominal for k in (0, 1)}  # 0: left/right leads, 1: top/bottom
        width = {k: self.lead(k)[1].nominal for k in (0, 1)}
        reach = {}  # half-extent of each lead row along its side
        for axis, n, side_len, k in (("x", nx, bx, 1), ("y", ny, by, 0)):
            if n:
                reach[axis] = (n - 1) * p / 2 + width[k] / 2
                if 2 * reach[axis] > side_len + 1e-9:
                    raise FieldError("leads",
                                     f"leads overlap the body corners: {n} leads at pitch {fmt(p)} mm span "
                                     f"{fmt(2 * reach[axis])} mm but the body side is {fmt(side_len)} mm")
        for axis, side_len, k, n in (("x", bx, 0, ny), ("y", by, 1, nx)):
            if n and 2 * (pb + lead[k]) >= side_len:
                what = "lead_length" if k == 0 or self.lead_length_tb is None else "lead_length_tb"
                raise FieldError(what,
                                 f"leads overlap: lead length {fmt(lead[k])} mm from both {axis} sides meets "
                                 f"in the middle of the {fmt(side_len)} mm body")
        if self.lead_center_span is not None:
            if self.pull_back is not None:
                raise FieldError("lead_center_span", "give lead_center_span or pull_back, not both")
            for axis, k, n in (("x", 0, ny), ("y", 1, nx)):
                c = self.lead_center_span[k].nominal
                if n and not lead[k] < c < (bx, by)[k] + lead[k]:
                    raise FieldError("lead_center_span",
                                     f"lead centres {fmt(c)} mm apart in {axis} do not fit leads {fmt(lead[k])} mm "
                                     f"long on a {fmt((bx, by)[k])} mm body")
        if nx and ny:  # corner leads of adjacent sides must not meet
            inner_x = bx / 2 - pb - lead[0]  # where the left/right leads end inside the body
            inner_y = by / 2 - pb - lead[1]
            if reach["y"] > inner_y + 1e-9 and reach["x"] > inner_x + 1e-9:
                raise FieldError("leads",
                                 "leads overlap: the corner leads of adjacent sides meet (reduce lead_length "
                                 "or leads per side)")
        return lead, pb

    def _check_exposed_pad(self, lead: dict[int, float], pb: float) -> None:
        """The exposed pad (and its land and thermal vias) inside the body and clear of the leads."""
        nx, ny = self.sides
        bx, by = (t.nominal for t in self.body)
        if self.exposed_pad is not None:
            for axis, ep, body_t in zip("xy", self.exposed_pad, self.body):
                if ep.minimum <= 0:
                    raise FieldError("exposed_pad", f"exposed_pad must be > 0 mm (got {ep.text()})")
                if ep.nominal >= body_t.nominal:
                    raise FieldError("exposed_pad",
                                     f"exposed pad ({fmt(ep.nominal)} mm in {axis}) is larger than the body "
                                     f"({fmt(body_t.nominal)} mm)")
            inner = {"x": bx - 2 * (pb + lead[0]), "y": by - 2 * (pb + lead[1])}
            for k, (axis, ep, n) in enumerate((("x", self.exposed_pad[0], ny), ("y", self.exposed_pad[1], nx))):
                # an offset pad reaches further towards one side: compare its far edge with the inner lead edge
                reach = ep.nominal + 2 * abs(self.ep_offset[k])
                if n and reach >= inner[axis]:
                    what = "exposed_pad" if not self.ep_offset[k] else "ep_offset"
                    raise FieldError(what,
                                     f"exposed pad ({fmt(ep.nominal)} mm in {axis}, offset "
                                     f"{fmt(self.ep_offset[k])} mm) overlaps the leads (inner lead span "
                                     f"{fmt(inner[axis])} mm)")
        elif self.ep_land is not None or self.thermal_vias is not None or any(self.ep_offset):
            raise FieldError("exposed_pad", "ep_land / ep_offset / thermal_vias need exposed_pad")
        ep = self.ep_land_size
        if ep is not None:
            if self.ep_land is not None and any(t.minimum <= 0 for t in self.ep_land):
                raise FieldError("ep_land", "ep_land must be > 0 mm")
            if not all(0 < e + 2 * abs(o) < t.nominal for e, o, t in zip(ep, self.ep_offset, self.body)):
                raise FieldError("ep_land" if not any(self.ep_offset) else "ep_offset",
                                 f"ep_land {fmt(ep[0])}x{fmt(ep[1])} mm at offset {fmt(self.ep_offset[0])}, "
                                 f"{fmt(self.ep_offset[1])} mm must lie inside the body")
            if self.thermal_vias is not None:
                self._vias_inside(ep)
                self._paste_clear_of_vias(ep)

    def _check_fixed_lands(self) -> None:
        """Datasheet lands (``pad_size`` / ``pad_span``) and the exposed pad's number."""
        p = self.pitch
        ep = self.ep_land_size
        if self.pad_span is not None and self.pad_size is None:
            raise FieldError("pad_span", "pad_span goes with pad_size")
        if self.pad_size is not None and not all(0 < s <= 10 for s in self.pad_size):
            raise FieldError("pad_size", "pad_size values must be > 0 and <= 10 mm")
        if self.pad_size is not None and self.pad_size[1] >= p:
            raise FieldError("pad_size",
                             f"pads overlap: pad_size width {fmt(self.pad_size[1])} mm >= pitch {fmt(p)} mm")
        if self.ep_number is not None and self.ep_number <= self.lead_count and ep is not None:
            raise FieldError("ep_number",
                             f"ep_number {self.ep_number} collides with a lead number (1..{self.lead_count})")

    def _paste_clear_of_vias(self, ep: tuple[float, float]) -> None:
        """Paste pads laid out between / around the vias keep clear of every hole."""
        tv = self.thermal_vias
        assert tv is not None
        layout = tv.paste_layout()
        if layout is None:
            return
        via_pad = tv.drill + 2 * self.rule_set().annular_ring
        vias = via_positions(tv, ep, via_pad)
        keep = tv.drill / 2 + tv.paste_via_clearance
        coverage = tv.paste_coverage if tv.paste_coverage is not None else self.ep_paste_coverage
        groups = paste_around_vias(ep, vias, between=layout[0], rings=layout[1], coverage=coverage, keep=keep)
        outlines = np.concatenate([g.outlines() for g in groups]) if groups else np.zeros(0, dtype=object)
        if len(outlines) and shapely.union_all(outlines).area < shapely.area(outlines).sum() - 1e-9:
            raise FieldError("thermal_vias", f"paste pads between the vias ({layout[0][0]}x{layout[0][1]} per cell, "
                             f"rings {layout[1][0]}x{layout[1][1]}) overlap each other: use fewer pads or a lower "
                             "paste_coverage")
        gap = via_paste_gap(groups, vias)
        if gap < keep - 1e-6:
            raise FieldError("thermal_vias", f"paste pads between the vias ({layout[0][0]}x{layout[0][1]} per cell, "
                             f"rings {layout[1][0]}x{layout[1][1]}) come {fmt(gap)} mm from a via centre; they "
                             f"must keep drill/2 + paste_via_clearance = {fmt(keep)} mm: use fewer rings or pads, "
                             "a lower paste_coverage or another via grid")

    def _vias_inside(self, ep: tuple[float, float]) -> None:
        tv = self.thermal_vias
        assert tv is not None
        rules = self.rule_set()
        ring = tv.drill / 2 + rules.annular_ring
        xs, ys = via_positions(tv, ep, 2 * ring)
        for axis, pos, size in (("x", xs, ep[0]), ("y", ys, ep[1])):
            if len(pos) and float(np.abs(pos).max()) + ring > size / 2 + 1e-9:
                raise FieldError("thermal_vias", f"thermal vias (drill {fmt(tv.drill)} mm + annular ring "
                                 f"{fmt(rules.annular_ring)} mm) do not fit inside the exposed pad in {axis} "
                                 f"({fmt(size)} mm): reduce count or grid")


class QfnSpec(NoLeadSpec):
    """Quad flat no-lead (``family: qfn``): leads on four sides."""

    __doc__ = (__doc__ or "") + "\n\n" + (NoLeadSpec.__doc__ or "")  # followed by the common description
    family: Literal["qfn"] = "qfn"


class SonSpec(NoLeadSpec):
    """Small-outline / dual flat no-lead (``family: son``, DFN): leads on the left and right."""

    __doc__ = (__doc__ or "") + "\n\n" + (NoLeadSpec.__doc__ or "")  # followed by the common description
    family: Literal["son"] = "son"


# ---------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Land:
    """IPC-7351B land of one pair of opposite sides (mm)."""

    z: float  # outer edge to outer edge
    g: float  # inner edge to inner edge
    x: float  # land width
    heel_pulled: float = 0.0  # heel pulled back for the exposed-pad clearance

    @property
    def length(self) -> float:
        """Land length along the lead (mm)."""
        return snap((self.z - self.g) / 2)

    @property
    def center(self) -> float:
        """Distance of the land centre from the package centre (mm)."""
        return snap((self.z + self.g) / 4)


def round_base(value: float, base: float) -> float:
    """Round to a multiple of ``base`` (mm) as kicad-footprint-generator does: ``round(v / base) * base``.

    >>> round_base(5.7291, 0.05), round_base(4.0092, 0.05), round_base(0.2640, 0.05)
    (5.75, 4.0, 0.25)
    """
    return snap(round(value / base) * base)


def ipc_land(body: Toleranced, lead_length: Toleranced, lead_width: Toleranced,
             pull_back: Toleranced | None, goals: dict[str, float], *, fab: float, place: float,
             round_to: float, center_span: Toleranced | None = None,
             inside_edge: Toleranced | None = None) -> Land:
    """Z, G, X (mm) of flat no-lead leads on two opposite sides (IPC-7351B, RMS stacking).

    The leads are located by the body (lead ends at ``body − 2·pull_back``) or, when a
    datasheet gives it, by ``center_span``, the centre-to-centre distance of opposite leads
    (then L = span + length, S = span − length).

    Args:
        body: body size across the two sides (toleranced, mm).
        lead_length: lead (terminal) length L, measured inward from the lead end (toleranced, mm).
        lead_width: lead (terminal) width b (toleranced, mm).
        pull_back: lead end set back from the body edge (toleranced, mm); None = flush.
        goals: IPC-7351B solder-fillet goals ``{"toe", "heel", "side"}`` (mm) of one density level,
            e.g. ``FILLETS["toe"]["nominal"]``.
        fab: fabrication tolerance of the land (mm).
        place: placement tolerance (mm).
        round_to: grid that Z, G and X are rounded to (mm), e.g. 0.05.
        center_span: centre-to-centre distance of opposite leads from a datasheet (toleranced,
            mm); when given it locates the leads instead of ``body`` and ``pull_back``.
        inside_edge: distance from the body edge to the inner lead edge (toleranced, mm); when
            given, S = body − 2·inside_edge and ``lead_length`` is not used.

    Example:
        >>> t = Toleranced.parse
        >>> land = ipc_land(t("5 +/- 0.1"), t("0.3 .. 0.5"), t("0.18 .. 0.3"), None,
        ...                 FILLETS["toe"]["nominal"], fab=0.1, place=0.05, round_to=0.05)
        >>> land.z, land.g, land.x, land.length, land.center
        (5.75, 4.0, 0.25, 0.875, 2.4375)
    """
    if center_span is not None:
        span, inner = center_span + lead_length, center_span - lead_length
    else:
        span = body - 2 * pull_back if pull_back is not None else body  # lead end to lead end
        # S: inner lead edge to inner lead edge
        inner = body - 2 * inside_edge if inside_edge is not None else span - 2 * lead_length
    fp2 = fab ** 2 + place ** 2
    z = span.min_rms + 2 * goals["toe"] + math.sqrt(span.rms ** 2 + fp2)
    g = inner.max_rms - 2 * goals["heel"] - math.sqrt(inner.rms ** 2 + fp2)
    x = lead_width.min_rms + 2 * goals["side"] + math.sqrt(lead_width.rms ** 2 + fp2)
    return Land(round_base(z, round_to), round_base(g, round_to), round_base(x, round_to))


def via_positions(tv: ThermalVias, ep: tuple[float, float], via_pad: float) -> tuple[np.ndarray, np.ndarray]:
    """Via centre coordinates along x and along y (mm), centred on the exposed pad.

    Without a ``grid`` the vias spread over the whole pad, the outer via pads (``via_pad``
    diameter) touching its edge, as KiCad's generator places them.

    Args:
        tv: the thermal vias: ``count`` per axis and optional ``grid`` pitch (mm).
        ep: exposed-pad land size x, y (mm).
        via_pad: via pad diameter (mm; drill + 2 × annular ring) used to spread the vias when
            ``tv.grid`` is None.

    Example:
        >>> xs, ys = via_positions(ThermalVias(count=(4, 1)), (3.1, 3.1), 0.5)
        >>> xs.tolist(), ys.tolist()
        ([-1.3, -0.433333, 0.433333, 1.3], [0.0])
    """
    out = []
    for k in range(2):
        n = tv.count[k]
        if tv.grid is not None:
            pitch = tv.grid[k]
        else:
            pitch = (ep[k] - via_pad) / (n - 1) if n > 1 else 0.0
        out.append(np.array([snap((i - (n - 1) / 2) * pitch) for i in range(n)]))
    return out[0], out[1]


SIDE_NAMES = ("left", "bottom", "right", "top")


def pad_numbers(sides: np.ndarray, numbering: Numbering) -> list[str]:
    """Pad numbers of the leads given in counter-clockwise walk order.

    Args:
        sides: side of each lead (0 left, 1 bottom, 2 right, 3 top) in the counter-clockwise walk
            from the top lead of the left side.
        numbering: start side, direction and offset (:class:`Numbering`).

    Example:
        >>> sides = np.repeat([0, 1, 2, 3], 2)
        >>> pad_numbers(sides, Numbering())
        ['1', '2', '3', '4', '5', '6', '7', '8']
        >>> pad_numbers(sides, Numbering(offset=1))
        ['2', '3', '4', '5', '6', '7', '8', '1']
        >>> pad_numbers(sides, Numbering(start="top", direction="cw"))
        ['8', '7', '6', '5', '4', '3', '2', '1']
    """
    n = len(sides)
    order = np.arange(n) if numbering.direction == "ccw" else np.arange(n)[::-1]
    start = SIDE_NAMES.index(numbering.start)
    first = np.flatnonzero(sides[order] == start)
    if not len(first):
        raise FieldError("numbering", f"numbering starts on the {numbering.start} side, which has no leads")
    walk = np.roll(order, -int(first[0]))  # walk[k] = index (in ccw order) of the lead at step k
    out = np.empty(n, dtype=int)
    out[walk] = 1 + (np.arange(n) + numbering.offset) % n
    return [str(v) for v in out.tolist()]


def lead_pads(x: np.ndarray, y: np.ndarray, sides: np.ndarray, numbers: list[str], lr: tuple[float, float],
              tb: tuple[float, float] | None, *, shape: str, layers: tuple[str, ...],
              chamfer: float = 0.0) -> list[PadGroup]:
    """Pad groups of the lead lands (one per side; chamfered corner lands apart).

    Args:
        x, y: land centres (mm), in counter-clockwise walk order.
        sides: side of each land (0 left, 1 bottom, 2 right, 3 top).
        numbers: pad number of each land.
        lr: left/right land size (length along x, width), mm.
        tb: top/bottom land size (width, length along y), mm; None for a SON.
        shape: ``roundrect`` or ``rect``.
        layers: KiCad layers of the lands.
        chamfer: chamfer leg (mm) on the inner corner of the first and last land of each side,
            towards the neighbouring side (qfn only); 0 = none.

    Example:
        >>> g = lead_pads(np.array([-1.0, -1.0]), np.array([-0.25, 0.25]), np.zeros(2, dtype=int), ["1", "2"],
        ...               (0.8, 0.25), (0.25, 0.8), shape="roundrect", layers=("F.Cu",), chamfer=0.1)
        >>> [(grp.names, grp.chamfer_corners) for grp in g]
        [(['1'], ('top_right',)), (['2'], ('bottom_right',))]
    """
    out: list[PadGroup] = []
    for k in range(4):
        idx = np.flatnonzero(sides == k)
        if not len(idx):
            continue
        size = lr if k in (0, 2) else tb
        assert size is not None
        ratio = _rratio(size) if shape == "roundrect" else 0.0
        corners: dict[int, tuple[str, ...]] = {}
        if chamfer > 0:
            if chamfer > min(size) + 1e-9:
                raise FieldError("corner_chamfer", f"corner_chamfer {fmt(chamfer)} mm is more than the land "
                                 f"width ({fmt(min(size))} mm)")
            along = y[idx] if k in (0, 2) else x[idx]
            ends = (int(idx[np.argmin(along)]), int(idx[np.argmax(along)]))
            for j, end in enumerate(ends):
                corners[end] = corners.get(end, ()) + (_inner_corner(k, j),)
        plain = [i for i in idx.tolist() if i not in corners]
        if plain:
            out.append(PadGroup(names=[numbers[i] for i in plain], x=x[plain], y=y[plain], kind="smd",
                                shape=shape, size=size, layers=layers, roundrect_ratio=ratio))  # type: ignore[arg-type]
        for i, names in sorted(corners.items()):
            out.append(PadGroup(names=[numbers[i]], x=x[[i]], y=y[[i]], kind="smd", shape="roundrect", size=size,
                                layers=layers, roundrect_ratio=ratio, chamfer_ratio=snap(chamfer / min(size)),
                                chamfer_corners=tuple(sorted(set(names), key=CORNER_ORDER.index))))
    return out


CORNER_ORDER = ("top_left", "top_right", "bottom_left", "bottom_right")


def _inner_corner(side: int, end: int) -> str:
    """The land corner facing the package centre at the low (end 0) or high (end 1) end of a side."""
    if side in (0, 2):  # left / right lands: inner end is +x / -x, row runs along y
        return ("top_" if end == 0 else "bottom_") + ("right" if side == 0 else "left")
    return ("top_" if side == 1 else "bottom_") + ("left" if end == 0 else "right")


def _rratio(size: tuple[float, float]) -> float:
    return min(ROUNDRECT_RATIO, ROUNDRECT_MAX_RADIUS / min(size))


def _paste_cells(ep: tuple[float, float], grid: tuple[int, int], vias: tuple[np.ndarray, np.ndarray] | None,
                 keep: float) -> list[list[tuple[float, float]]]:
    """Per axis: (centre, available length) of each paste cell (mm)."""
    axes = []
    for k in range(2):
        half = ep[k] / 2
        if vias is None:
            n = grid[k]
            step = ep[k] / n
            axes.append([((i - (n - 1) / 2) * step, step) for i in range(n)])
            continue
        # with vias: one cell between neighbouring via lines (and the pad edges), minus the keep-out
        lines = [-half] + sorted(vias[k].tolist()) + [half]
        cells = []
        for j, (a, b) in enumerate(zip(lines[:-1], lines[1:])):
            lo = a + (keep if j > 0 else 0.0)
            hi = b - (keep if j < len(lines) - 2 else 0.0)
            if hi - lo >= MIN_PASTE_PAD:
                cells.append(((lo + hi) / 2, hi - lo))
        axes.append(cells)
    return axes


def paste_pads(ep: tuple[float, float], *, coverage: float, grid: tuple[int, int] | None,
               vias: tuple[np.ndarray, np.ndarray] | None = None, keep: float = 0.0) -> list[PadGroup]:
    """Paste-only pads covering ``coverage`` of the exposed pad (less where vias leave no room).

    Without vias the pad is split into ``grid`` cells of ``ep / grid``, each paste pad
    ``√coverage`` of its cell, size and cell pitch rounded to 0.01 mm (as KiCad's generator); with vias
    the cells lie between the via lines and the pad edges, ``keep`` (drill/2 + clearance)
    away from via centres, each pad shrunk by the same factor (down to 0.01 mm).

    Args:
        ep: exposed-pad land size x, y (mm).
        coverage: paste area as a fraction of the exposed-pad area (0 < coverage ≤ 1, e.g. 0.65).
        grid: paste cells in x, y (counts) when there are no vias; None = about one cell per
            1.5 mm of pad (``PASTE_PAD_TARGET``). Ignored with vias.
        vias: via centre coordinates along x and along y (mm, :func:`via_positions`), or None.
        keep: paste keep-out from a via centre line (mm; drill / 2 + paste-to-via clearance).

    Example:
        >>> g = paste_pads((3.1, 3.1), coverage=0.65, grid=(3, 3))[0]
        >>> len(g), g.size, sorted(set(g.x.tolist()))
        (9, (0.83, 0.83), [-1.03, 0.0, 1.03])
    """
    if grid is None:
        grid = tuple(max(1, math.ceil(e / PASTE_PAD_TARGET - 1e-9)) for e in ep)  # type: ignore[assignment]
    cx, cy = _paste_cells(ep, grid, vias, keep)  # type: ignore[arg-type]
    if not cx or not cy:
        return []
    avail = sum(w for _, w in cx) * sum(h for _, h in cy)
    scale = min(1.0, math.sqrt(coverage * ep[0] * ep[1] / avail))
    if vias is None:  # equal cells: one size; the cell pitch rounds to 0.01 mm (KiCad's generator)
        w = max(MIN_PASTE_PAD, round(scale * cx[0][1] / 0.01) * 0.01)
        h = max(MIN_PASTE_PAD, round(scale * cy[0][1] / 0.01) * 0.01)
        pitch = [round(cells[0][1] / 0.01) * 0.01 for cells in (cx, cy)]
        gx, gy = np.meshgrid([snap((i - (len(cx) - 1) / 2) * pitch[0]) for i in range(len(cx))],
                             [snap((i - (len(cy) - 1) / 2) * pitch[1]) for i in range(len(cy))], indexing="ij")
        return [PadGroup(names=[""] * gx.size, x=gx.ravel(), y=gy.ravel(), kind="smd", shape="roundrect",
                         size=(snap(w), snap(h)), layers=("F.Paste",), roundrect_ratio=_rratio((w, h)))]
    # cells between vias differ in size: round down so every pad keeps clear of the vias
    by_size: dict[tuple[float, float], list[tuple[float, float]]] = {}
    for x0, w0 in cx:
        for y0, h0 in cy:
            w = snap(math.floor(scale * w0 / 0.01 + 1e-9) * 0.01)
            h = snap(math.floor(scale * h0 / 0.01 + 1e-9) * 0.01)
            if min(w, h) >= MIN_PASTE_PAD:
                by_size.setdefault((w, h), []).append((snap(x0), snap(y0)))
    out = []
    for size in sorted(by_size):
        pts = np.array(sorted(by_size[size]))
        out.append(PadGroup(names=[""] * len(pts), x=pts[:, 0].copy(), y=pts[:, 1].copy(), kind="smd",
                            shape="roundrect", size=size, layers=("F.Paste",), roundrect_ratio=_rratio(size)))
    return out


def _avoid_leg(half: tuple[float, float], gap: tuple[float, float], keep: float) -> float:
    """Chamfer leg (mm) that keeps a pad corner ``keep`` from a via centre.

    ``half`` is the pad's half size, ``gap`` the via centre's distance from the pad centre per
    axis; the 45° chamfer line then lies ``keep`` from the via centre.
    """
    return max(0.0, half[0] + half[1] - gap[0] - gap[1] + math.sqrt(2) * keep)


def _paste_block(cx: np.ndarray, cy: np.ndarray, count: tuple[int, int], pitch: tuple[float, float],
                 size: tuple[float, float], corners: tuple[str, ...], via: tuple[float, float],
                 keep: float) -> list[PadGroup]:
    """Blocks of count[0] × count[1] paste pads centred at every (cx, cy) (mm).

    The block's corner pads are chamfered at ``corners`` to keep ``keep`` from a via at offset
    ``via`` from a block centre (mm; the blocks are symmetric, so one offset serves them all).
    """
    if not all(count) or not len(cx) or not len(cy):
        return []
    ox = (np.arange(count[0]) - (count[0] - 1) / 2) * pitch[0]
    oy = (np.arange(count[1]) - (count[1] - 1) / 2) * pitch[1]
    # the pad of the first block nearest that via sets the chamfer of every chamfered corner
    near = (float(ox[np.argmin(np.abs(ox - via[0]))]), float(oy[np.argmin(np.abs(oy - via[1]))]))
    # 2 nm more than keep: the pads' centres and sizes snap to KiCad's 1 nm grid after this
    leg = _avoid_leg((size[0] / 2, size[1] / 2), (abs(via[0] - near[0]), abs(via[1] - near[1])), keep + 2e-6)
    size = (snap(size[0]), snap(size[1]))
    ratio = math.ceil(leg / min(size) * 1e6 - 1e-6) / 1e6  # rounded up: the chamfer never shorter than leg
    plain: list[tuple[float, float]] = []
    cut: dict[tuple[str, ...], list[tuple[float, float]]] = {}
    for i, dx in enumerate(ox.tolist()):
        for j, dy in enumerate(oy.tolist()):
            mine = tuple(c for c in corners if (("left" in c and i == 0) or ("right" in c and i == count[0] - 1))
                         and (("top" in c and j == 0) or ("bottom" in c and j == count[1] - 1)))
            for x0 in cx.tolist():
                for y0 in cy.tolist():
                    (cut.setdefault(mine, []) if mine and leg > 0 else plain).append((snap(x0 + dx), snap(y0 + dy)))
    out = []
    for names, pts in [((), plain)] + sorted(cut.items()):
        if not pts:
            continue
        arr = np.array(sorted(pts))
        out.append(PadGroup(names=[""] * len(arr), x=arr[:, 0].copy(), y=arr[:, 1].copy(), kind="smd",
                            shape="roundrect", size=size, layers=("F.Paste",), roundrect_ratio=_rratio(size),
                            chamfer_ratio=ratio if names else 0.0, chamfer_corners=names))
    return out


def paste_around_vias(ep: tuple[float, float], vias: tuple[np.ndarray, np.ndarray], *, between: tuple[int, int],
                      rings: tuple[int, int], coverage: float, keep: float) -> list[PadGroup]:
    """Paste pads between the thermal vias and in rings outside them, corners chamfered clear of the holes.

    Each cell between four neighbouring vias holds ``between`` paste pads (x, y) at the via
    pitch / ``between``; the band between the outer vias and the pad edge holds ``rings``
    rows of pads (x, y). Pads are ``√coverage`` of their share of the pitch (of the pad / inner
    count when there are no rings); every corner that faces a via is chamfered at 45° so that
    it keeps ``keep`` (drill / 2 + paste clearance) from the via centre. This is the layout of
    KiCad's generator (``paste_between_vias``, ``paste_rings_outside``), except that pads which
    that sizing would overlap take ``√coverage`` of their pitch instead.

    Args:
        ep: exposed-pad land size x, y (mm), centred on (0, 0).
        vias: via centre coordinates along x and along y (mm), evenly spaced.
        between: paste pads per via cell in x, y (0 = none).
        rings: paste rings outside the outer vias in x, y (0 = none).
        coverage: paste area fraction that sets the pad size (0 < coverage ≤ 1).
        keep: paste keep-out radius around each via centre (mm).

    Example:
        >>> g = paste_around_vias((6.0, 4.8), (np.linspace(-3, 3, 5), np.linspace(-2.4, 2.4, 4)),
        ...                       between=(1, 1), rings=(0, 0), coverage=0.65, keep=0.265)
        >>> sum(len(p) for p in g), g[0].size
        (12, (1.209339, 1.289961))
    """
    red = math.sqrt(coverage)
    nv = (len(vias[0]), len(vias[1]))
    pitch = tuple(float(v[1] - v[0]) if len(v) > 1 else 0.0 for v in vias)
    first = (float(vias[0].min()), float(vias[1].min()))
    inner_grid = tuple(pitch[k] / between[k] if between[k] else 0.0 for k in range(2))
    if any(rings):
        inner = tuple(inner_grid[k] * red for k in range(2))
    else:  # KiCad's sizing spreads the pad over all cells; where that would overlap, the pitch's share
        inner = tuple((ep[k] / ((nv[k] - 1) * between[k]) * red if between[k] and nv[k] > 1 else 0.0)
                      for k in range(2))
        inner = tuple(v if v < inner_grid[k] else inner_grid[k] * red for k, v in enumerate(inner))
    cells = tuple(np.array([first[k] + (i + 0.5) * pitch[k] for i in range(nv[k] - 1)]) for k in range(2))
    out: list[PadGroup] = []
    all4 = ("top_left", "top_right", "bottom_left", "bottom_right")
    out += _paste_block(cells[0], cells[1], between, inner_grid, inner, all4,  # type: ignore[arg-type]
                        (pitch[0] / 2, pitch[1] / 2), keep)
    if any(rings):
        ring = tuple((ep[k] - (nv[k] - 1) * pitch[k]) / 2 for k in range(2))
        ogrid = tuple(ring[k] / rings[k] if rings[k] else ring[k] for k in range(2))
        outer = (ogrid[0] * red, ogrid[1] * red)
        side_x = first[0] - ring[0] / 2  # centre of the left band; the right one mirrors it
        side_y = first[1] - ring[1] / 2
        if rings[0] and between[1]:
            for x0, corners in ((side_x, ("top_right", "bottom_right")), (-side_x, ("top_left", "bottom_left"))):
                out += _paste_block(np.array([x0]), cells[1], (rings[0], between[1]), (ogrid[0], inner_grid[1]),
                                    (outer[0], inner[1]), corners, (ring[0] / 2, pitch[1] / 2), keep)
        if rings[1] and between[0]:
            for y0, corners in ((side_y, ("bottom_left", "bottom_right")), (-side_y, ("top_left", "top_right"))):
                out += _paste_block(cells[0], np.array([y0]), (between[0], rings[1]), (inner_grid[0], ogrid[1]),
                                    (inner[0], outer[1]), corners, (pitch[0] / 2, ring[1] / 2), keep)
        if all(rings):
            for x0, y0, corner in ((side_x, side_y, "bottom_right"), (side_x, -side_y, "top_right"),
                                   (-side_x, side_y, "bottom_left"), (-side_x, -side_y, "top_left")):
                out += _paste_block(np.array([x0]), np.array([y0]), rings, ogrid, outer,  # type: ignore[arg-type]
                                    (corner,), (ring[0] / 2, ring[1] / 2), keep)
    return out


def via_paste_gap(groups: list[PadGroup], vias: tuple[np.ndarray, np.ndarray]) -> float:
    """Smallest distance (mm) from a via centre to a paste pad outline (inf without pads).

    Example:
        >>> g = paste_pads((2.0, 2.0), coverage=0.5, grid=(1, 1))
        >>> round(via_paste_gap(g, (np.array([0.0]), np.array([0.0]))), 6)
        0.0
    """
    if not groups:
        return math.inf
    outlines = np.concatenate([g.outlines() for g in groups])
    gx, gy = np.meshgrid(vias[0], vias[1], indexing="ij")
    centres = shapely.points(np.stack([gx.ravel(), gy.ravel()], axis=1))
    return float(shapely.distance(outlines[:, None], centres[None, :]).min())


def paste_coverage(ep: tuple[float, float], groups: list[PadGroup]) -> float:
    """Paste area / exposed-pad area (rounded corners counted)."""
    area = 0.0
    for g in groups:
        w, h = g.size
        r = g.roundrect_ratio * min(w, h) if g.shape == "roundrect" else 0.0
        area += len(g) * (w * h - (4 - math.pi) * r * r)
    return area / (ep[0] * ep[1])


def lands(spec: NoLeadSpec) -> tuple[Land | None, Land]:
    """(top/bottom land or None for SON, left/right land) of a spec (mm).

    Leads on the left and right sides span the body in x, top and bottom leads in y. IPC
    lands have their heel pulled back to keep ``ep_lead_clearance`` from the exposed pad
    (KiCad's generator does the same); fixed ``pad_size`` lands are datasheet values and
    are left alone (the copper-clearance check still applies).
    """
    rules = spec.rule_set()
    goals = FILLETS[spec.fillet_table][spec.density]
    fab, place = rules.fab_tolerance, rules.placement_tolerance
    ep = spec.ep_land_size
    nx, _ = spec.sides

    def one(axis: int) -> Land:  # axis 0: left/right leads (x), 1: top/bottom leads (y)
        lead_length, lead_width = spec.lead(axis)
        land = ipc_land(spec.body[axis], lead_length, lead_width, spec.pull_back, goals, fab=fab,
                        place=place, round_to=spec.round_to,
                        center_span=spec.lead_center_span[axis] if spec.lead_center_span else None,
                        inside_edge=spec.body_to_inside_lead_edge)
        if spec.pad_size is not None:
            length, width = spec.pad_size
            center = spec.pad_span[axis] / 2 if spec.pad_span is not None else land.z / 2 - length / 2
            return Land(snap(2 * center + length), snap(2 * center - length), width)
        if ep is not None:
            need = ep[axis] + 2 * abs(spec.ep_offset[axis]) + 2 * spec.ep_lead_clearance
            if land.g < need - 1e-9:
                return Land(land.z, snap(need), land.x, heel_pulled=snap((need - land.g) / 2))
        return land

    return (one(1) if nx else None), one(0)


def build_nolead(spec: NoLeadSpec) -> list[FootprintGeom]:
    """Build the board-side footprint of a QFN / SON package (one footprint)."""
    rules = spec.rule_set()
    nx, ny = spec.sides
    p = spec.pitch
    land_tb, land_lr = lands(spec)
    n = spec.lead_count
    shape = spec.pad_shape
    layers = ("F.Cu", "F.Mask", "F.Paste")
    groups: list[PadGroup] = []

    def row(count: int) -> np.ndarray:
        return np.array([snap((i - (count - 1) / 2) * p) for i in range(count)])

    # lead positions walked counter-clockwise from the top of the left side:
    # left (down), bottom (right), right (up), top (left); side 0..3 = left, bottom, right, top
    ys = row(ny)
    xs = row(nx) if nx else np.zeros(0)
    lr = (snap(land_lr.length), snap(land_lr.x))
    walk_x = [np.full(ny, -land_lr.center)]
    walk_y = [ys]
    walk_side = [np.zeros(ny, dtype=int)]
    if nx:
        assert land_tb is not None
        tb = (snap(land_tb.x), snap(land_tb.length))
        walk_x += [xs, np.full(ny, land_lr.center), xs[::-1]]
        walk_y += [np.full(nx, land_tb.center), ys[::-1], np.full(nx, -land_tb.center)]
        walk_side += [np.full(nx, 1), np.full(ny, 2), np.full(nx, 3)]
    else:
        walk_x.append(np.full(ny, land_lr.center))
        walk_y.append(ys[::-1])
        walk_side.append(np.full(ny, 2))
    px, py, pside = (np.concatenate(a) for a in (walk_x, walk_y, walk_side))
    numbers = pad_numbers(pside, spec.numbering)

    groups += lead_pads(px, py, pside, numbers, lr, tb if nx else None, shape=shape, layers=layers,
                        chamfer=spec.corner_chamfer)

    ep = spec.ep_land_size
    paste: list[PadGroup] = []
    via_info = ""
    ep_name = str(spec.ep_number or n + 1)
    if ep is not None:
        ox, oy = spec.ep_offset
        groups.append(PadGroup(names=[ep_name], x=np.full(1, ox), y=np.full(1, oy), kind="smd", shape="rect",
                               size=(snap(ep[0]), snap(ep[1])), layers=("F.Cu", "F.Mask"),
                               properties=("pad_prop_heatsink",), zone_connect=ZONE_SOLID))
        vias = None
        keep = 0.0
        tv = spec.thermal_vias
        if tv is not None:
            via_pad = snap(tv.drill + 2 * rules.annular_ring)
            vx, vy = via_positions(tv, ep, via_pad)
            vias_xy = (vx, vy)
            gx, gy = np.meshgrid(vx, vy, indexing="ij")
            groups.append(PadGroup(names=[ep_name] * gx.size, x=gx.ravel() + ox, y=gy.ravel() + oy, kind="thru_hole",
                                   shape="circle", size=(via_pad, via_pad), layers=("*.Cu",), drill=tv.drill,
                                   properties=("pad_prop_heatsink",), zone_connect=ZONE_SOLID))
            bottom = (snap(min(ep[0], float(vx.max() - vx.min()) + via_pad)),
                      snap(min(ep[1], float(vy.max() - vy.min()) + via_pad)))
            groups.append(PadGroup(names=[ep_name], x=np.full(1, ox), y=np.full(1, oy), kind="smd", shape="rect",
                                   size=bottom, layers=("B.Cu",), properties=("pad_prop_heatsink",),
                                   zone_connect=ZONE_SOLID))
            if tv.paste_avoid_vias:
                vias = (vx, vy)
                keep = tv.drill / 2 + tv.paste_via_clearance
            via_info = (f"; {gx.size} thermal vias {tv.count[0]}x{tv.count[1]} drill {fmt(tv.drill)} mm "
                        f"(pad {fmt(via_pad)} mm, tented)")
        coverage, grid = spec.ep_paste_coverage, spec.ep_paste_grid
        if tv is not None:
            coverage = tv.paste_coverage if tv.paste_coverage is not None else coverage
            grid = tv.paste_grid if tv.paste_grid is not None else grid
        layout = tv.paste_layout() if tv is not None else None
        if tv is not None and layout is not None:
            paste = paste_around_vias(ep, vias_xy, between=layout[0], rings=layout[1], coverage=coverage,
                                      keep=tv.drill / 2 + tv.paste_via_clearance)
        else:
            paste = paste_pads(ep, coverage=coverage, grid=grid, vias=vias, keep=keep)
        paste = [replace(g, x=g.x + ox, y=g.y + oy) for g in paste] if ox or oy else paste
        groups += paste

    # -- drawings -----------------------------------------------------------------------------------
    body = (spec.body[0].nominal, spec.body[1].nominal)
    bx, by = body[0] / 2, body[1] / 2
    copper = [g for g in groups if "F.Cu" in g.layers or "*.Cu" in g.layers]
    graphics: list = [fab_outline(body, bevel=rules.fab_bevel, width=rules.fab_width)]
    graphics += silk_outline(body, copper, offset=rules.silk_offset, width=rules.silk_width,
                             clearance=rules.silk_clearance, mask_margin=0.0)
    ext = [-bx, -by, bx, by]
    for g in groups:
        hw, hh = g.size[0] / 2, g.size[1] / 2
        ext = [min(ext[0], float(g.x.min()) - hw), min(ext[1], float(g.y.min()) - hh),
               max(ext[2], float(g.x.max()) + hw), max(ext[3], float(g.y.max()) + hh)]
    goals = FILLETS[spec.fillet_table][spec.density]
    offset = spec.courtyard if spec.courtyard is not None else goals["courtyard"]
    crtyd_poly, courtyard = courtyard_rect(tuple(ext), offset=offset, grid=rules.courtyard_grid,  # type: ignore[arg-type]
                                           width=rules.courtyard_width)
    graphics.append(crtyd_poly)
    graphics.append(fab_reference(body))

    # -- provenance ----------------------------------------------------------------------------------
    fab_t, place_t = rules.fab_tolerance, rules.placement_tolerance
    prov: dict[str, str] = {}
    if spec.pad_size is not None:
        prov["land"] = (f"land {fmt(spec.pad_size[0])}x{fmt(spec.pad_size[1])} mm: spec pad_size (datasheet), "
                        + ("spec pad_span" if spec.pad_span is not None else "outer edge at the IPC toe"))
    else:
        prov["land"] = (f"{TABLE_NAME[spec.fillet_table]}, density {spec.density}: toe {fmt(goals['toe'])}, "
                        f"heel {fmt(goals['heel'])}, side {fmt(goals['side'])} mm; RMS stacking with "
                        f"F {fmt(fab_t)}, P {fmt(place_t)} mm (profile {rules.name}); Z/G/X rounded to "
                        f"{fmt(spec.round_to)} mm")
    sizes = [f"left/right land {fmt(land_lr.length)}x{fmt(land_lr.x)} mm (Z {fmt(land_lr.z)}, G {fmt(land_lr.g)})"]
    if land_tb is not None:
        sizes.append(f"top/bottom land {fmt(land_tb.x)}x{fmt(land_tb.length)} mm (Z {fmt(land_tb.z)}, "
                     f"G {fmt(land_tb.g)})")
    pulled = max(land_lr.heel_pulled, land_tb.heel_pulled if land_tb else 0.0)
    if pulled > 0:
        sizes.append(f"heel pulled back {fmt(pulled)} mm for {fmt(spec.ep_lead_clearance)} mm EP clearance")
    prov["sizes"] = ", ".join(sizes)
    if ep is not None:
        cov = paste_coverage(ep, paste)
        prov["ep"] = (f"EP {fmt(ep[0])}x{fmt(ep[1])} mm" + (" (spec ep_land)" if spec.ep_land else "")
                      + f", paste {sum(len(g) for g in paste)} pads, coverage {cov:.0%}{via_info}")
    prov["courtyard"] = (f"courtyard {fmt(offset)} mm on a {fmt(rules.courtyard_grid)} mm grid ("
                         + ("spec" if spec.courtyard is not None else f"IPC-7351B courtyard excess, {spec.density}")
                         + ")")
    name = spec.resolved_name
    pkg = spec.package_type or ("QFN" if spec.family == "qfn" else "DFN")
    if not nx:
        leads = f"{ny} leads per side"
    elif nx == ny:
        leads = f"{nx} leads per side"
    else:
        leads = f"{nx} leads top/bottom, {ny} left/right"
    parts = [f"{pkg}-{n}, {leads}, body {spec.body[0].text()}x{spec.body[1].text()} mm, pitch {fmt(p)} mm, "
             f"lead width {spec.lead_width.text()} mm, "
             + (f"length {spec.lead_length.text()} mm" if spec.lead_length is not None else
                f"body to inner lead edge {spec.body_to_inside_lead_edge.text()} mm")  # type: ignore[union-attr]
             + (f" (top/bottom: width {spec.lead(1)[1].text()} mm, length {spec.lead(1)[0].text()} mm)"
                if spec.lead_width_tb is not None or spec.lead_length_tb is not None else "")
             + (f", pull-back {spec.pull_back.text()} mm" if spec.pull_back is not None else "")
             + (f", lead centre span {spec.lead_center_span[0].text()} mm" if spec.lead_center_span else "")]
    parts += [prov[k] for k in ("land", "sizes", "ep") if k in prov]
    if spec.source:
        parts.append(spec.source)
    parts.append(f"generated by kisubstrate {__version__}")
    cy0, cy1 = courtyard.bounds[1], courtyard.bounds[3]
    # the reference sits above the courtyard and above the silk (a small part's pin-1 mark reaches past it)
    silk_ys = [y for g in graphics if getattr(g, "layer", "") == "F.SilkS"
               for y in ([g.start[1], g.end[1]] if isinstance(g, Line) else [pt[1] for pt in getattr(g, "points", ())])]
    cy0 = min([cy0] + [y - 0.06 for y in silk_ys])  # less half a 0.12 mm silk line
    height = spec.height if spec.height is not None else 0.9
    return [FootprintGeom(
        name=name, family=spec.family, description="; ".join(parts),
        tags=f"{pkg} {'QFN' if spec.family == 'qfn' else 'DFN SON'} NoLead pitch {fmt(p)}mm",
        attr="smd", pads=groups, graphics=graphics, body=shapely.box(-bx, -by, bx, by), courtyard=courtyard,
        reference_at=(0.0, snap(cy0 - 0.75)), value_at=(0.0, snap(cy1 + 0.75)),
        model=Model3D(f"${{KICAD9_3DMODEL_DIR}}/{LIBRARY}.3dshapes/{name}.step"), provenance=prov,
        rules=rules.name, height=height, courtyard_offset=offset, span_z=land_lr.z, span_g=land_lr.g,
    )]


register(Family(name="qfn", spec=QfnSpec, footprint=build_nolead,
                summary="quad flat no-lead footprint (IPC-7351B lands, EP paste grid, thermal vias)"))
register(Family(name="son", spec=SonSpec, footprint=build_nolead,
                summary="SON / DFN dual flat no-lead footprint (IPC-7351B lands, EP, thermal vias)"))
