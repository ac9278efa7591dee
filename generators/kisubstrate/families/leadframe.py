"""Stacked dual-die leadframe package (``family: leadframe``): stepped leads, two flip-chip dies, stacking.

Cross-section of one lead (package mounted on the board, board below)::

              fourth ┌──────┐         second (bump land ○ for die 2)
     face B  ────────┘      └────────────○─────────┐   ◄ die 2 (bond pads down) sits on the
    (top, F.Cu)      │ lead │                      │     second surfaces, inside the mould
     face A  ────────┐      ┌────────────○─────────┘   ◄ die 1 (flip chip) hangs on the first
  (board, B.Cu) third└──────┘         first              surfaces; its back face is flush with
             ▲ lead end at the body edge                  the third surfaces (exposed pad)
             ◄─ third ─►  (exposed: the QFN terminal)

* **third** surface: face A, outermost, exposed by the encapsulant; its length from the
  lead end is the QFN/SON terminal length ``L`` the board lands are computed from;
* **first** surface: face A, set inward (half-etched, under the mould), bump land of die 1;
* **second** surface: face B, opposite the first, bump land of die 2;
* **fourth** surface: face B, outermost (optional), exposed on top: the third surfaces of
  an identical package stacked on top land on it.

Outputs: the leadframe layout as a two-copper KiCad board (face B = ``F.Cu``, face A =
``B.Cu``; each lead a net; surfaces as exposed pads, bump lands with protective-layer
openings on the mask layers, a plated through via standing for the lead metal that joins
both faces, die outlines on the Fab layers, the mould outline on ``Dwgs.User``); the
board-side QFN/SON footprint (IPC-7351B lands by the no-lead calculator of
:mod:`kisubstrate.families.nolead`, exposed pad for the flush die 1 with paste grid and
thermal vias); the top-side land pattern of the fourth surfaces (``…_StackTop``); and a
stack-alignment check (third surfaces of the upper package over the fourth surfaces of
the lower one) that refuses misaligned stacks with the measured offsets.

Example:
    >>> spec = LeadframeSpec.model_validate({
    ...     "family": "leadframe", "leads": 16, "pitch": 0.5, "body": 4.0, "lead_width": "0.25 +/- 0.05",
    ...     "lead_length": 1.0, "third": "0.4 +/- 0.05", "fourth": 0.4, "first_bump": 0.8,
    ...     "second_bump": 0.7, "dies": {"first": {"size": 2.6, "exposed": True}, "second": {"size": 2.8}}})
    >>> spec.resolved_name
    'QFN-16-1EP_4x4mm_P0.5mm_EP2.6x2.6mm_DualDie'
    >>> a = stack_alignment(spec)
    >>> a.max_along, a.max_across, a.ok
    (0.0, 0.0, True)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import shapely
from pydantic import Field, ValidationInfo, field_validator, model_validator

from kisubstrate.families.cavity import note_drawings
from kisubstrate.families.nolead import QfnSpec, SonSpec, ThermalVias, build_nolead
from kisubstrate.families.registry import Family, register
from kisubstrate.geometry.board import BoardBuilder, BoardExtras, BoardGeom, Drawing
from kisubstrate.model.base import LeadCount, PackageSpec, PasteCount, SpecModel, length, resolve_rules
from kisubstrate.model.errors import FieldError
from kisubstrate.model.substrate import (
    Stackup,
    SubstrateRuleAccess,
    load_substrate_rules,
)
from kisubstrate.model.toleranced import Toleranced
from kisubstrate.model.units import fmt, snap

FLUSH_TOLERANCE = 0.01
"""Largest step (mm) between surfaces called flush: die back and lead face (grinding and bond-height spread)."""
PROTECTIVE = ("polyimide", "titanium", "aluminium", "solder_resist")
PROTECTIVE_THICKNESS = {"polyimide": 0.005, "titanium": 0.0005, "aluminium": 0.001, "solder_resist": 0.02}
"""Typical protective-layer thickness (mm): spin-coated polyimide 5 µm, sputtered Ti 0.5 µm / Al 1 µm, LPI
solder resist 20 µm (leadframe pre-mould coatings; override with ``protective_thickness``)."""
PROTECTIVE_NAME = {"polyimide": "Polyimide", "titanium": "Titanium", "aluminium": "Aluminium",
                   "solder_resist": "LPI solder resist"}
BUMP_HEIGHT = {"gold": 0.03, "solder": 0.06, "copper_pillar": 0.045}
"""Typical bump height after bonding (mm): coined gold stud 30 µm, solder flip-chip bump 60 µm, Cu pillar with
solder cap 45 µm (override with ``bumps.height``)."""


def _pair(v: Any) -> Any:
    if isinstance(v, (list, tuple)):
        if len(v) != 2:
            raise ValueError("give one value (square) or two values [x, y]")
        return tuple(v)
    return (v, v)


class LeadframeDie(SpecModel):
    """One die of the stack (centred on the body)."""

    size: tuple[float, float] = Field(description="die x, y (one value = square)", json_schema_extra={"unit": "mm"})
    tolerance: float = length("die size tolerance (+/-), for the exposed pad", ge=0, le=1, default=0.05)
    thickness: float | None = length("die thickness; default: what its recess takes (flush when exposed, under "
                                     "the profile's encapsulant cover otherwise)", le=2, default=None)
    exposed: bool = Field(False, description="outer face left bare by the mould: die 1 -> board-side exposed "
                          "pad, die 2 -> top-side exposed pad")

    @field_validator("size", mode="before")
    @classmethod
    def _xy(cls, v: Any) -> Any:
        return _pair(v)

    @field_validator("size")
    @classmethod
    def _positive(cls, v: tuple[float, float]) -> tuple[float, float]:
        if not all(0 < s <= 50 for s in v):
            raise ValueError("die sides must be > 0 and <= 50 mm")
        return v


class LeadframeBumps(SpecModel):
    """The dies' flip-chip bumps on the first / second surfaces."""

    material: Literal["gold", "solder", "copper_pillar"] = Field(
        "gold", description="gold stud (thermocompression / thermosonic), solder, or copper pillar")
    height: float | None = length("bump height after bonding (default by material: gold 0.03, solder 0.06, "
                                  "copper_pillar 0.045)", le=0.3, default=None)

    def height_mm(self) -> float:
        """Bonded bump height (mm)."""
        return self.height if self.height is not None else BUMP_HEIGHT[self.material]


class LeadframeDies(SpecModel):
    """Die 1 bumped to the first surfaces (board side), die 2 bumped to the second surfaces."""

    first: LeadframeDie
    second: LeadframeDie


class StackCheck(SpecModel):
    """How an identical package stacked on top is placed, and what misalignment is accepted."""

    offset: tuple[float, float] = Field((0.0, 0.0), description="placement offset of the upper package "
                                        "(x, y) relative to the lower", json_schema_extra={"unit": "mm"})
    tolerance: float = length("largest accepted centre offset between a third surface of the upper package "
                              "and the fourth surface under it, along and across the lead", ge=0, le=1,
                              default=0.05)


class LeadframeSpec(SubstrateRuleAccess, PackageSpec):
    """Stacked dual-die leadframe package; lengths along a lead are measured inward from the lead end (mm)."""

    family: Literal["leadframe"] = "leadframe"
    layout: Literal["quad", "dual"] = Field("quad", description="leads on four sides (QFN) or two (SON)")
    leads: int | None = Field(None, ge=2, le=400, description="total number of leads")
    leads_per_side: tuple[LeadCount, LeadCount] | None = Field(None, description="quad: [top/bottom, left/right]; "
                                                   "dual: [0, per side]")
    pitch: float = length("lead pitch", le=5)
    body: tuple[Toleranced, Toleranced] = Field(description="mould body x, y, toleranced (one value = square)")
    lead_width: Toleranced = Field(description="lead width, toleranced")
    lead_length: float = length("whole lead length from the lead end to its inner tip", le=20)
    third: Toleranced = Field(description="length of the third (exposed, board-side) surface from the lead "
                              "end: the terminal length of the board lands")
    fourth: Toleranced | None = Field(None, description="length of the fourth (exposed, top) surface from "
                                      "the lead end; null = no stacking surface")
    first_bump: float = length("centre of the die-1 bump land on the first surface, from the lead end", le=20)
    second_bump: float = length("centre of the die-2 bump land on the second surface, from the lead end", le=20)
    bump_land: float = length("bump land diameter", le=1, default=0.12)
    protective: Literal["polyimide", "titanium", "aluminium", "solder_resist"] = Field(
        "polyimide", description="protective layer on the covered rest of each surface (aluminum = aluminium)")
    protective_thickness: float | None = length("protective layer thickness (default by material: polyimide "
                                                "0.005, titanium 0.0005, aluminium 0.001, solder_resist 0.02)",
                                                le=0.1, default=None)
    bumps: LeadframeBumps = Field(default_factory=LeadframeBumps, description="the dies' bumps")
    opening_margin: float = length("protective-layer opening beyond each bump land / surface", ge=0, le=0.2,
                                   default=0.0)
    thickness: float = length("leadframe thickness", le=1, default=0.3)
    step: float | None = length("half-etch step between the third and first (fourth and second) surfaces: the "
                                "depth of each face's recess that a die (+ bumps) sits in; default: the deepest "
                                "that leaves min_web", le=1, default=None)
    min_web: float = length("least lead metal left between the two half-etched recesses (thickness - 2 x step)",
                            le=1, default=0.05)
    frame: float = length("leadframe margin around the mould outline on the layout board", le=5, default=0.3)
    dies: LeadframeDies
    stack: StackCheck | None = Field(default_factory=StackCheck, description="stacking check; null for none")
    density: Literal["least", "nominal", "most"] = Field("nominal", description="IPC-7351B density level")
    ep_paste_grid: tuple[PasteCount, PasteCount] | None = Field(None, description="paste pads on the exposed pad "
                                                                    "(x, y)")
    ep_paste_coverage: float = Field(0.65, ge=0.2, le=1.0, description="paste / exposed-pad area")
    thermal_vias: ThermalVias | None = Field(None, description="thermal vias in the exposed pad")
    rules: str = Field("substrate-buildup", description="substrate rule profile of the layout board")
    footprint_rules: str = Field("ipc-default", description="rule profile of the footprints")

    @field_validator("body", mode="before")
    @classmethod
    def _body_xy(cls, v: Any) -> Any:
        return _pair(v)

    @field_validator("protective", mode="before")
    @classmethod
    def _us_spelling(cls, v: Any) -> Any:
        return "aluminium" if v == "aluminum" else v

    @field_validator("ep_paste_grid", mode="before")
    @classmethod
    def _grid_xy(cls, v: Any) -> Any:
        return None if v is None else _pair(v)

    @field_validator("rules")
    @classmethod
    def _rules_exist(cls, v: str, info: ValidationInfo) -> str:
        return resolve_rules(v, info, load_substrate_rules)

    @field_validator("footprint_rules")
    @classmethod
    def _footprint_rules_exist(cls, v: str, info: ValidationInfo) -> str:
        from kisubstrate.model.rules import load_rules

        return resolve_rules(v, info, load_rules, "footprint_rules")

    # -- derived ---------------------------------------------------------------------------------
    def nolead(self, *, top: bool = False) -> QfnSpec | SonSpec:
        """The no-lead spec of the board-side lands (third surfaces), or with ``top`` of the fourth surfaces.

        The board side goes through the IPC-7351B calculator; the top side uses the fourth
        surfaces as fixed lands (``pad_size`` / ``pad_span``): that is where the upper
        package's third surfaces sit.
        """
        fam = "qfn" if self.layout == "quad" else "son"
        data: dict[str, Any] = dict(family=fam, pitch=self.pitch, body=self.body, lead_width=self.lead_width,
                                    lead_length=self.third, density=self.density, rules=self.footprint_rules,
                                    source=self.source, height=round(self.thickness + 0.2, 3))
        if self.leads_per_side is not None:
            data["leads_per_side"] = self.leads_per_side
        if self.leads is not None:
            data["leads"] = self.leads
        die = self.dies.second if top else self.dies.first
        if die.exposed:
            data["exposed_pad"] = tuple({"nom": s, "tol": die.tolerance} for s in die.size)
            if not top:
                data.update(thermal_vias=self.thermal_vias, ep_paste_grid=self.ep_paste_grid,
                            ep_paste_coverage=self.ep_paste_coverage)
        if top:
            assert self.fourth is not None
            t4 = self.fourth.nominal
            data.update(pad_size=(t4, self.lead_width.nominal),
                        pad_span=(self.body[0].nominal - t4, self.body[1].nominal - t4),
                        name=f"{self.resolved_name}_StackTop")
        else:
            data["name"] = self.resolved_name
        return (QfnSpec if fam == "qfn" else SonSpec).model_validate(data)

    def default_name(self) -> str:
        """The KLC no-lead name of the package + ``_DualDie``."""
        fam = "qfn" if self.layout == "quad" else "son"
        probe: dict[str, Any] = dict(family=fam, pitch=self.pitch, body=self.body, lead_width=self.lead_width,
                                     lead_length=self.third, leads=self.leads, leads_per_side=self.leads_per_side)
        if self.dies.first.exposed:
            probe["ep_land"] = self.dies.first.size
            probe["exposed_pad"] = self.dies.first.size
        base = (QfnSpec if fam == "qfn" else SonSpec).model_construct(**probe)
        name = base.default_name()
        return name + ("_ThermalVias" if self.thermal_vias is not None else "") + "_DualDie"

    def heights(self) -> dict[str, float]:
        """The z budget of the stack (mm): web, each die + bump against its recess, mould cover over die 2.

        Face A (board side) is z = 0, face B z = ``thickness``. The first and second surfaces are
        recessed by ``step`` from their faces, so the lead web between them is ``thickness − 2·step``.
        Die 1 hangs on its bumps in the face-A recess (back face at ``step − bump − die``; 0 = flush
        with the third surfaces); die 2 stands on its bumps in the face-B recess, its back face
        ``step − bump − die`` below the fourth surfaces (the mould's top face when stacking).

        Example:
            >>> s = LeadframeSpec.model_validate({"family": "leadframe", "leads": 16, "pitch": 0.5, "body": 4.0,
            ...     "lead_width": "0.25 +/- 0.05", "lead_length": 1.0, "third": "0.4 +/- 0.05", "fourth": 0.4,
            ...     "first_bump": 0.8, "second_bump": 0.7, "thickness": 0.3, "step": 0.125,
            ...     "dies": {"first": {"size": 2.6, "exposed": True, "thickness": 0.095},
            ...              "second": {"size": 2.8, "thickness": 0.045}}})
            >>> s.heights()
            {'web': 0.05, 'bump': 0.03, 'die1_back': 0.0, 'die2_cover': 0.05}
        """
        bump, step = self.bumps.height_mm(), self.step_mm()
        return {"web": snap(self.thickness - 2 * step), "bump": bump,
                "die1_back": snap(step - bump - self.die_thickness("first")),
                "die2_cover": snap(step - bump - self.die_thickness("second"))}

    def step_mm(self) -> float:
        """The half-etch step (mm): the spec's, else ``(thickness − min_web) / 2``."""
        return self.step if self.step is not None else snap((self.thickness - self.min_web) / 2)

    def die_thickness(self, which: Literal["first", "second"]) -> float:
        """A die's thickness (mm): the spec's, else what its recess takes (flush if exposed, else under the cover)."""
        die = getattr(self.dies, which)
        if die.thickness is not None:
            return die.thickness
        room = self.step_mm() - self.bumps.height_mm()
        return snap(room if die.exposed else room - load_substrate_rules(self.rules).encapsulant_cover)

    def _heights(self) -> None:
        """Refuse a stack that cannot be built (numbers in the message); see :meth:`heights`."""
        h = self.heights()
        tol, step = FLUSH_TOLERANCE, self.step_mm()
        if h["web"] < self.min_web - 1e-9:
            raise FieldError("step", f"half-etch step {fmt(step)} mm on both faces of a {fmt(self.thickness)} mm "
                             f"frame leaves a {fmt(h['web'])} mm lead web (least {fmt(self.min_web)} mm, min_web): "
                             f"step at most {fmt(snap((self.thickness - self.min_web) / 2))} mm")
        cover = load_substrate_rules(self.rules).encapsulant_cover
        for which, k, key, surface, face in (("first", 1, "die1_back", "third", "A"),
                                             ("second", 2, "die2_cover", "fourth", "B")):
            if which == "second" and self.fourth is None:
                return
            die, t = getattr(self.dies, which), self.die_thickness(which)
            field = f"dies.{which}.thickness"
            if t <= 0:
                raise FieldError(field, f"no room for die {k}: the {fmt(step)} mm face-{face} recess minus the "
                                 f"{fmt(h['bump'])} mm bumps" + ("" if die.exposed else " and the mould cover")
                                 + " leaves nothing; give a thicker frame or a deeper step")
            total = f"bump {fmt(h['bump'])} + die {fmt(t)} mm"
            if die.exposed and abs(h[key]) > tol + 1e-9:
                raise FieldError(field, f"exposed die {k} must be flush with the {surface} surfaces: {total} = "
                                 f"{fmt(snap(h['bump'] + t))} mm, face-{face} recess (step) {fmt(step)} mm "
                                 f"(within {fmt(tol)} mm)")
            if not die.exposed and h[key] < cover - 1e-9:
                where = "under its back" if k == 1 else "over its back"
                raise FieldError(field, f"die {k} in the {fmt(step)} mm face-{face} recess: {total} leaves "
                                 f"{fmt(h[key])} mm of mould {where} (least {fmt(cover)} mm, encapsulant_cover)")

    def notes(self) -> list[str]:
        """Fabrication-note lines: frame, half-etch, protective layer, bumps and the z budget (mm)."""
        h = self.heights()
        prot, step = self.protective_mm(), self.step_mm()
        t1, t2 = self.die_thickness("first"), self.die_thickness("second")
        return [f"LEADFRAME {fmt(self.thickness)} mm, half-etch step {fmt(step)} mm on both faces "
                f"(lead web {fmt(h['web'])} mm under the bump lands)",
                f"PROTECTIVE LAYER on the covered surfaces: {PROTECTIVE_NAME[self.protective]} "
                f"{fmt(prot * 1000)} um (openings on the exposed surfaces and bump lands; not a solder mask)"
                if self.protective != "solder_resist" else
                f"PROTECTIVE LAYER on the covered surfaces: LPI solder resist {fmt(prot * 1000)} um",
                f"BUMPS: {self.bumps.material.replace('_', ' ')} {fmt(h['bump'])} mm high after bonding",
                f"DIE 1: {fmt(t1)} mm in the face-A recess, back "
                + ("flush with the third surfaces (exposed)" if self.dies.first.exposed else
                   f"{fmt(h['die1_back'])} mm inside the mould"),
                f"DIE 2: {fmt(t2)} mm in the face-B recess, back "
                + ("flush with the fourth surfaces (exposed)" if self.dies.second.exposed else
                   f"{fmt(h['die2_cover'])} mm below the top face")]

    def protective_mm(self) -> float:
        """Protective layer thickness (mm): the spec's, else the material's typical value."""
        return self.protective_thickness if self.protective_thickness is not None \
            else PROTECTIVE_THICKNESS[self.protective]

    @property
    def sides(self) -> tuple[int, int]:
        """(leads on each of top and bottom, leads on each of left and right)."""
        if self.layout == "dual":
            return (0, self.leads_per_side[1] if self.leads_per_side else (self.leads or 0) // 2)
        if self.leads_per_side is not None:
            return self.leads_per_side
        return ((self.leads or 0) // 4, (self.leads or 0) // 4)

    @property
    def stackup(self) -> Stackup:
        """Two copper faces (B = top, A = board side) around the leadframe thickness."""
        foil = 0.01
        return Stackup.model_validate({
            "layers": [{"copper": foil, "name": "FaceB_2nd_4th"},
                       {"dielectric": round(self.thickness - 2 * foil, 6), "material": "epoxy", "type": "core"},
                       {"copper": foil, "name": "FaceA_1st_3rd"}],
            "finish": "NiPdAu", "mask_thickness": self.protective_mm(),
            "mask_material": PROTECTIVE_NAME[self.protective] if self.protective != "solder_resist" else None})

    # -- validation ---------------------------------------------------------------------------------
    @model_validator(mode="after")
    def _geometry(self) -> "LeadframeSpec":
        if self.leads is None and self.leads_per_side is None:
            raise FieldError("leads", "give leads (total) or leads_per_side")
        self.nolead()  # the lead rows, widths and third surfaces as a QFN/SON (raises located errors)
        L = self.lead_length
        t3 = self.third.maximum
        t4 = self.fourth.maximum if self.fourth is not None else 0.0
        r = self.bump_land / 2 + self.opening_margin
        if t3 > L - 1e-9 or t4 > L - 1e-9:
            raise FieldError("third", f"the third ({fmt(t3)} mm) and fourth ({fmt(t4)} mm) surfaces must be "
                             f"shorter than the lead ({fmt(L)} mm)")
        for fld, at, outer in (("first_bump", self.first_bump, t3), ("second_bump", self.second_bump, t4)):
            if at - r < outer - 1e-9 or at + r > L + 1e-9:
                raise FieldError(fld, f"bump land at {fmt(at)} mm (diameter {fmt(self.bump_land)} mm) must lie on "
                                 f"its surface: between {fmt(outer)} mm (end of the exposed surface) and the "
                                 f"lead tip at {fmt(L)} mm")
        nx, ny = self.sides
        body = (self.body[0].nominal, self.body[1].nominal)
        for key, die, bump, outer in (("dies.first", self.dies.first, self.first_bump, t3),
                                      ("dies.second", self.dies.second, self.second_bump, t4)):
            for axis, k, n in (("x", 0, ny), ("y", 1, nx)):
                if not n:
                    continue
                half = body[k] / 2
                need = half - bump + self.bump_land / 2  # die must cover the bump lands
                room = half - outer  # and stay inside the exposed surfaces
                if die.size[k] / 2 < need - 1e-9:
                    raise FieldError(key, f"die {fmt(die.size[k])} mm in {axis} does not reach the bump lands "
                                     f"(needs >= {fmt(2 * need)} mm)")
                if die.size[k] / 2 + die.tolerance > room + 1e-9:
                    raise FieldError(key, f"die {fmt(die.size[k])} mm (+{fmt(die.tolerance)}) in {axis} runs into "
                                     f"the exposed lead surfaces (at most {fmt(2 * room - 2 * die.tolerance)} mm)")
        self._heights()
        if self.stack is not None and self.fourth is not None:
            a = stack_alignment(self)
            if not a.ok:
                i = a.worst
                raise FieldError("stack", f"stacked pair misaligned: lead {a.leads[i]} third surface of the upper "
                                 f"package is {fmt(snap(float(a.along[i])))} mm along and "
                                 f"{fmt(snap(float(a.across[i])))} mm across the lead off the fourth surface of the "
                                 f"lower one (tolerance {fmt(self.stack.tolerance)} mm; overlap "
                                 f"{a.overlap[i]:.0%}); fix fourth / third lengths or stack.offset")
        if self.stack is not None and self.fourth is None:
            raise FieldError("stack", "stacking needs fourth surfaces (give fourth, or stack: null)")
        if self.fourth is not None:
            self.nolead(top=True)
        return self


# -- lead geometry ------------------------------------------------------------------------------
@dataclass(frozen=True)
class Leads:
    """Lead centre lines: number, end point on the body edge (x, y), inward unit vector (ux, uy), mm."""

    number: list[str]
    x: np.ndarray
    y: np.ndarray
    ux: np.ndarray
    uy: np.ndarray

    def at(self, d: float | np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Points ``d`` mm inward from each lead end."""
        return self.x + self.ux * d, self.y + self.uy * d


def lead_lines(spec: LeadframeSpec) -> Leads:
    """Lead ends and directions, numbered as the footprint (pin 1 top of the left side, counter-clockwise).

    >>> s = LeadframeSpec.model_validate({"family": "leadframe", "layout": "dual", "leads": 4, "pitch": 0.65,
    ...     "body": 2, "lead_width": 0.3, "lead_length": 0.8, "third": 0.3, "fourth": 0.3, "first_bump": 0.6,
    ...     "second_bump": 0.6, "bump_land": 0.1, "dies": {"first": {"size": 1.0}, "second": {"size": 1.0}}})
    >>> l = lead_lines(s); l.number, l.x.tolist(), l.y.tolist(), l.ux.tolist()
    (['1', '2', '3', '4'], [-1.0, -1.0, 1.0, 1.0], [-0.325, 0.325, 0.325, -0.325], [1.0, 1.0, -1.0, -1.0])
    """
    nx, ny = spec.sides
    bx, by = spec.body[0].nominal / 2, spec.body[1].nominal / 2
    p = spec.pitch

    def row(n: int) -> list[float]:
        return [snap((i - (n - 1) / 2) * p) for i in range(n)]

    pts: list[tuple[float, float, float, float]] = []
    pts += [(-bx, y, 1.0, 0.0) for y in row(ny)]  # left, downwards
    if nx:
        pts += [(x, by, 0.0, -1.0) for x in row(nx)]  # bottom, rightwards
    pts += [(bx, y, -1.0, 0.0) for y in row(ny)[::-1]]  # right, upwards
    if nx:
        pts += [(x, -by, 0.0, 1.0) for x in row(nx)[::-1]]  # top, leftwards
    a = np.array(pts, float)
    return Leads([str(i + 1) for i in range(len(pts))], a[:, 0], a[:, 1], a[:, 2], a[:, 3])


@dataclass(frozen=True)
class StackAlignment:
    """Per lead: centre offset (mm) of the upper package's third surface from the lower's fourth surface."""

    leads: list[str]
    along: np.ndarray  # along the lead (signed, + inward)
    across: np.ndarray  # across the lead (signed)
    overlap: np.ndarray  # area(third ∩ fourth) / area(third)
    tolerance: float

    @property
    def max_along(self) -> float:
        """Largest |offset| along a lead (mm)."""
        return snap(float(np.abs(self.along).max())) if len(self.along) else 0.0

    @property
    def max_across(self) -> float:
        """Largest |offset| across a lead (mm)."""
        return snap(float(np.abs(self.across).max())) if len(self.across) else 0.0

    @property
    def worst(self) -> int:
        """Index of the lead with the largest offset."""
        return int(np.argmax(np.maximum(np.abs(self.along), np.abs(self.across))))

    @property
    def ok(self) -> bool:
        """True when every offset is within the tolerance."""
        return self.max_along <= self.tolerance + 1e-9 and self.max_across <= self.tolerance + 1e-9


def _surface_rects(leads: Leads, length: float, width: float, dx: float = 0.0, dy: float = 0.0):
    cx, cy = leads.at(length / 2)
    hx = np.where(leads.ux != 0, length / 2, width / 2)
    hy = np.where(leads.ux != 0, width / 2, length / 2)
    return shapely.box(cx + dx - hx, cy + dy - hy, cx + dx + hx, cy + dy + hy)


def stack_alignment(spec: LeadframeSpec) -> StackAlignment:
    """Where the third surfaces of an identical upper package land on the fourth surfaces of the lower one.

    Both packages share the lead positions; the upper one is placed at ``stack.offset``.
    For a lead with inward direction u, the third-surface centre is ``end + u·t3/2 + offset``
    and the fourth-surface centre ``end + u·t4/2``: the offset along the lead is
    ``(t3 − t4)/2 + offset·u`` and across it ``offset·u⊥`` (nominal sizes).
    """
    if spec.fourth is None:
        raise ValueError("no fourth surfaces: nothing to stack on")
    leads = lead_lines(spec)
    st = spec.stack or StackCheck()
    dx, dy = st.offset
    t3, t4, w = spec.third.nominal, spec.fourth.nominal, spec.lead_width.nominal
    along = (t3 - t4) / 2 + dx * leads.ux + dy * leads.uy
    across = -dx * leads.uy + dy * leads.ux
    upper = _surface_rects(leads, t3, w, dx, dy)
    lower = _surface_rects(leads, t4, w)
    overlap = shapely.area(shapely.intersection(upper, lower)) / shapely.area(upper)
    return StackAlignment(leads.number, np.round(along, 9), np.round(across, 9), overlap, st.tolerance)


# -- the leadframe layout board -----------------------------------------------------------------
HALF_ETCH_USER = {"A": "User.3", "B": "User.4"}
"""KiCad user layer of each face's half-etched (stepped) regions: face A (board side, ``B.Cu``), face B (``F.Cu``)."""
HALF_ETCH_LAYER_NAME = {"A": "Half.Etch.A", "B": "Half.Etch.B"}
"""The names of those user layers as KiCad shows them."""
HALF_ETCH_LAYER = HALF_ETCH_USER
"""The layer a half-etch outline is drawn on (the ``User.<k>`` name the board file uses)."""


def half_etch_length(spec: LeadframeSpec, face: str) -> float:
    """Length (mm) of the half-etched part of a lead on ``face`` "A" or "B".

    From the end of the exposed (full-thickness) surface (third on face A, fourth on face B; none = 0)
    to the lead's inner tip.
    """
    full = spec.third.nominal if face == "A" else (spec.fourth.nominal if spec.fourth is not None else 0.0)
    return snap(spec.lead_length - full)


def half_etch(spec: LeadframeSpec) -> dict[str, list[shapely.Polygon]]:
    """Per face ("A", "B"), one rectangle per lead (mm): the region recessed by ``step`` on that face.

    Face A is etched from the third surface's inner end to the lead tip (the first surfaces), face B
    from the fourth surface's (the lead end without a fourth surface) to the tip (the second surfaces);
    each rectangle is lead width x :func:`half_etch_length`. No step (``step_mm() == 0``) or no etched
    length on a face: no rectangle on that face.

    Example:
        >>> from kisubstrate.families.registry import example_spec
        >>> spec = example_spec("leadframe")
        >>> etch = half_etch(spec)
        >>> len(etch["A"]), round(etch["A"][0].area, 6), round(etch["B"][0].area, 6)
        (24, 0.1625, 0.1625)
    """
    if spec.step_mm() <= 0:
        return {}
    leads = lead_lines(spec)
    w = spec.lead_width.nominal
    out: dict[str, list[shapely.Polygon]] = {}
    for face in ("A", "B"):
        length = half_etch_length(spec, face)
        if length <= 0:
            continue
        start = spec.lead_length - length
        cx, cy = leads.at(start + length / 2)
        hx = np.where(leads.ux != 0, length / 2, w / 2)
        hy = np.where(leads.ux != 0, w / 2, length / 2)
        out[face] = [shapely.box(snap(x - ax), snap(y - ay), snap(x + ax), snap(y + ay))
                     for x, y, ax, ay in zip(cx.tolist(), cy.tolist(), hx.tolist(), hy.tolist())]
    return out


def build_board(spec: LeadframeSpec) -> BoardGeom:
    """The leadframe layout: face B (second/fourth surfaces) on copper 0 = F.Cu, face A (first/third) on B.Cu."""
    rules = spec.substrate_rules()
    bx, by = spec.body[0].nominal / 2, spec.body[1].nominal / 2
    fr = spec.frame
    b = BoardBuilder(f"{spec.resolved_name}_Leadframe", copper=2,
                     outline=shapely.box(-bx - fr, -by - fr, bx + fr, by + fr))
    leads = lead_lines(spec)
    w = spec.lead_width.nominal
    L = spec.lead_length
    t3 = spec.third.nominal
    t4 = spec.fourth.nominal if spec.fourth is not None else 0.0
    om = spec.opening_margin
    via_d = (max(t3, t4) + min(spec.first_bump, spec.second_bump) - spec.bump_land / 2) / 2
    via_pad = min(rules.via_pad, w)
    via_drill = rules.via_drill
    if via_pad - via_drill < 2 * rules.annular_ring - 1e-9:
        via_pad = snap(via_drill + 2 * rules.annular_ring)
    for k, num in enumerate(leads.number):
        net = b.net(f"LEAD{num}")
        ux, uy = float(leads.ux[k]), float(leads.uy[k])
        ex, ey = float(leads.x[k]), float(leads.y[k])

        def pt(d: float, ex: float = ex, ey: float = ey, ux: float = ux, uy: float = uy) -> tuple[float, float]:
            return snap(ex + ux * d), snap(ey + uy * d)  # d mm inward along lead k (defaults bind this lead)

        horiz = ux != 0
        # one footprint per surface kind (pad keys, hence uuids, stay unique): exposed surfaces and bump lands
        for layer, owner, bumps, surf, bump in ((1, "THIRD", "DIE1_BUMPS", t3, spec.first_bump),
                                                (0, "FOURTH", "DIE2_BUMPS", t4, spec.second_bump)):
            stops = [w / 2]
            if surf > 0:
                cx, cy = pt(surf / 2)
                sw, sh = (surf, w) if horiz else (w, surf)
                b.pad(owner, num, cx, cy, snap(sw), h=snap(sh), shape="rect", layer=layer, net=net, mask=om)
                stops = [surf / 2]
            stops += [via_d, bump, L - w / 2]
            stops = sorted(set(round(s, 9) for s in stops))
            for a, c in zip(stops, stops[1:]):
                (x1, y1), (x2, y2) = pt(a), pt(c)
                b.track(x1, y1, x2, y2, w, layer=layer, net=net)
            bxp, byp = pt(bump)
            b.pad(bumps, num, bxp, byp, spec.bump_land, layer=layer, net=net, mask=om)
        vx, vy = pt(via_d)
        b.via(vx, vy, via_pad, via_drill, 0, 1, net=net, kind="through")

    # -- outlines: dies on the Fab layers, mould on Dwgs.User, exposed surfaces on Eco1 --------------
    def rect(x: float, y: float) -> tuple[tuple[float, float], ...]:
        return ((-x, -y), (x, -y), (x, y), (-x, y))

    d1, d2 = spec.dies.first.size, spec.dies.second.size
    b.drawings.append(Drawing(rect(d1[0] / 2, d1[1] / 2), "B.Fab", label="die 1 (first surfaces)"))
    b.drawings.append(Drawing(rect(d2[0] / 2, d2[1] / 2), "F.Fab", label="die 2 (second surfaces)"))
    b.drawings.append(Drawing(rect(bx, by), "Dwgs.User", label="mould outline"))
    dies = shapely.union(shapely.box(-d1[0] / 2, -d1[1] / 2, d1[0] / 2, d1[1] / 2),
                         shapely.box(-d2[0] / 2, -d2[1] / 2, d2[0] / 2, d2[1] / 2))
    sidecar: dict = {}
    summary: tuple[str, ...] = ()
    if spec.fourth is not None:
        a = stack_alignment(spec)
        sidecar = {"stack": {"max_along": a.max_along, "max_across": a.max_across,
                             "min_overlap": round(float(a.overlap.min()), 6), "ok": a.ok}}
        summary = (f"stack: third over fourth surfaces, max offset {fmt(a.max_along)} mm along / "
                   f"{fmt(a.max_across)} mm across the leads, min overlap {float(a.overlap.min()):.0%} "
                   f"(tolerance {fmt(a.tolerance)} mm)",)
    notes = spec.notes()
    b.drawings.extend(note_drawings(notes, bx + fr + 1.0, -by, size=0.25))
    etch = half_etch(spec)
    for face, polys in etch.items():
        b.drawings.extend(Drawing(tuple(shapely.get_coordinates(p.exterior)[:-1].tolist()), HALF_ETCH_LAYER[face],
                                  width=0.01) for p in polys)
    sidecar["heights"] = spec.heights()
    sidecar["half_etch"] = {"step_mm": spec.step_mm(), "layers": {f: HALF_ETCH_LAYER[f] for f in etch},
                            "length_mm": {f: half_etch_length(spec, f) for f in etch},
                            "leads": len(lead_lines(spec).number),
                            "area_mm2": {f: round(float(sum(p.area for p in polys)), 6) for f, polys in etch.items()}}
    b.extras = BoardExtras(dies=dies, body=shapely.box(-bx - fr, -by - fr, bx + fr, by + fr),
                           files={"-stack-alignment.txt": stack_report(spec),
                                  "-fab-notes.txt": "\n".join(notes) + "\n"},
                           user_layers={"User.2": "Fab.Notes", **{HALF_ETCH_USER[f]: HALF_ETCH_LAYER_NAME[f]
                                                                  for f in etch}},
                           terminal_owner="THIRD",  # the board-side lands (third surfaces, B.Cu)
                           sidecar=sidecar, summary=summary)
    return b.build()


def build_footprints(spec: LeadframeSpec):
    """Board-side footprint (IPC-7351B lands from the no-lead calculator) and the top-side stacking pattern."""
    out = build_nolead(spec.nolead())
    fp = out[0]
    fp.provenance["leadframe"] = (f"stacked dual-die leadframe: third surface {spec.third.text()} mm = terminal "
                                  f"length; die 1 flush" + (" (exposed pad)" if spec.dies.first.exposed else ""))
    if spec.fourth is not None:
        top = build_nolead(spec.nolead(top=True))[0]
        top.provenance["stack"] = (f"fourth surfaces {fmt(spec.fourth.nominal)} x {fmt(spec.lead_width.nominal)} "
                                   "mm as lands: the upper package's third surfaces solder here")
        out.append(top)
    return out


def stack_report(spec: LeadframeSpec) -> str:
    """Human-readable stack-alignment table (mm)."""
    if spec.fourth is None:
        return f"{spec.resolved_name}: no fourth surfaces, no stacking\n"
    a = stack_alignment(spec)
    lines = [f"{spec.resolved_name}: stack alignment (upper third over lower fourth surfaces), tolerance "
             f"{fmt(a.tolerance)} mm: max along {fmt(a.max_along)} mm, max across {fmt(a.max_across)} mm, "
             f"min overlap {float(a.overlap.min()):.1%} -> {'OK' if a.ok else 'MISALIGNED'}",
             "lead  along_mm  across_mm  overlap"]
    for n, al, ac, ov in zip(a.leads, a.along.tolist(), a.across.tolist(), a.overlap.tolist()):
        lines.append(f"{n:>4}  {al:8.4f}  {ac:9.4f}  {ov:7.1%}")
    return "\n".join(lines) + "\n"


register(Family(name="leadframe", spec=LeadframeSpec, footprint=build_footprints, substrate=build_board,
                summary="stacked dual-die leadframe: stepped leads, QFN/SON lands, stacking land pattern"))

