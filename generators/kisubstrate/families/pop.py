"""Flip-chip package-on-package (``family: pop``): two carriers, two flip chips back to back, resin, through vias.

Cross-section (physical copper L1 … L4, top first; the stack is built from ``carriers``,
``resin``, ``adhesive`` and the dies, not given as ``stackup``)::

    memory package ─────────  ● ● ●  (collapsed balls: top_package.standoff)
    L1  F.Cu    ○ PoP land (+ via-in-pad)        second carrier, top: lands for the memory
        core    second carrier (substrate or thin tape)
    L2  In1.Cu  ─ trace ─ ▫ bump pads of chip 2 (face up, bumps on the carrier above it)
        resin   ┃  bump 2 │ die 2 │ adhesive │ die 1 │ bump 1 ┃  through vias (resin + both carriers)
    L3  In2.Cu  ─ trace ─ ▫ bump pads of chip 1 (face down on the first carrier)
        core    first carrier
    L4  B.Cu    ● bottom BGA lands (the package terminals)

The resin dielectric is written as KiCad sub-layers at their heights (top first): resin at
chip 2's level (the rest of the gap), the adhesive, resin at chip 1's level (bump 1 + die 1).
Both carriers are joined by through vias on the sites of the top PoP land grid (via-in-pad
under each land); every such site must have a bottom ball below it (same pitch and centre),
so the memory's lands run straight down to the board. Chip 1 fans out on L3 and chip 2 on L2
(escape perpendicular to the die edge, then one straight segment) to alternate vias of the
innermost PoP ring (the sites next to the ring corners are left to pass-through signals),
matched in angular order so traces on one layer never cross. Face-down chip 1's pad
coordinates are given in its own face view and mirrored in x (package top view). Nets: a die
pad map's net, else the top-land map's, else the ball map's, else a generated name; two
different given nets on one via are refused.

``interconnect: side_trace`` (the issue's variant): no via crosses the resin; each PoP land (L1)
and the ball below it (L4) run outward to one castellation on the outline (a plated half-hole
standing for the conductive trace over the package side, see :func:`side_traces`), and each chip
reaches its own carrier's outer copper by an L1-L2 / L3-L4 via.

**Materials and claims** (refused at load, naming the field, when not met):

* ``bump_materials: [solder, gold]`` (default ``[solder, solder]``): per chip, beside ``bump_heights``
  (the height after bonding; a solder bump's after its reflow collapse, a gold stud's as bonded). The
  height must lie in :data:`BUMP_RANGE` of its material (solder 0.03-0.15 mm, gold 0.015-0.06 mm);
  the z-stack sums the heights given.
* ``carriers[k].kind: tape``: a TAB tape, a polyimide film with copper on both sides (the carrier's
  two copper layers); its ``material`` defaults to polyimide (εr/tanδ in the KiCad stackup) and only
  a film of :data:`TAPE_FILMS` is accepted; the fab notes say TAB tape.
* ``adhesive.elastic: true`` / ``resin.low_hygroscopy: true``: the material's ``elastic_modulus``
  must be at most :data:`ELASTIC_MAX_MODULUS` (1 GPa) / its ``moisture_absorption`` at most
  :data:`LOW_HYGROSCOPY_MAX_ABSORPTION` (0.3 %); the values come from the built-in material table
  or the spec's ``materials`` (same keys as ``stackup.materials``, plus these two).

All of it is written to the fab notes (``CARRIERS``, ``BUMPS``, ``ADHESIVE``, ``RESIN``) and to the
JSON sidecar (``materials``: :func:`materials_sidecar`).

The **z-stack check** (``pop_zstack``) compares bump 1 + die 1 + adhesive + die 2 + bump 2 with
the resin thickness (within ``zstack_tolerance``) and ``pop_standoff`` the memory package's
collapsed ball stand-off with the mask + parts height + warpage it must clear; the full sum is
in the message, the fab note (``User.2``) and the JSON sidecar.

Example:
    >>> from kisubstrate.families.registry import example_spec
    >>> spec = example_spec("pop")
    >>> [round(v, 3) for _k, v in zstack(spec)["terms"]], zstack(spec)["resin"]
    ([0.06, 0.1, 0.02, 0.1, 0.06], 0.34)
"""

from __future__ import annotations

import copy
import math
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any, ClassVar, Literal

import numpy as np
import shapely
from pydantic import Field, model_validator

from kisubstrate.families.buildup import terminal_sites
from kisubstrate.families.cavity import note_drawings
from kisubstrate.families.flipchip import check_routed
from kisubstrate.families.grid_array import BgaSpec, build_grid_array, terminal_footprint_spec
from kisubstrate.families.registry import Family, register
from kisubstrate.geometry.assign import assign_around_centroid
from kisubstrate.geometry.board import (
    BoardBuilder,
    BoardExtras,
    BoardGeom,
    Castellation,
    Drawing,
)
from kisubstrate.geometry.pipeline import Bump, SubstratePipeline, _nets_csv
from kisubstrate.geometry.planes import plane_zones, split_regions
from kisubstrate.geometry.route.grid import RouteGrid
from kisubstrate.geometry.route.router import Hop, Routed, Router, Unrouted
from kisubstrate.geometry.terminals import grid_sites, place_terminal_lands, ring_index
from kisubstrate.model.base import SpecModel, length
from kisubstrate.model.errors import FieldError, SpecError
from kisubstrate.model.grid import GridSpec
from kisubstrate.model.netlist import Net, Netlist, Terminal, is_no_connect
from kisubstrate.model.substrate import Material, Stackup, SubstrateSpec, ViaSize, solder_land
from kisubstrate.model.units import snap
from kisubstrate.rules.report import Violation

USER_LAYERS = {"User.2": "Fab.Notes", "User.3": "Dies"}
SIDE_LAYER = "User.4"  # interconnect: side_trace -- the traces over the package side
ADHESIVE = {"epsilon_r": 3.5, "loss_tangent": 0.01, "description": "die-attach film (typical placeholder)"}

BUMP_RANGE: dict[str, tuple[float, float]] = {"solder": (0.03, 0.15), "gold": (0.015, 0.06)}
"""Documented bump height after bonding (mm) by bump material; ``bump_heights`` outside it are refused.

* ``solder``: 30-150 µm after the reflow collapse, from fine-pitch solder bumps (~30 µm) to C4 bumps
  at 150-250 µm pitch (the typical flip-chip solder bump: 60 µm, ``leadframe.BUMP_HEIGHT``).
* ``gold`` (stud bump, thermocompression / thermosonic): 15-60 µm, from half the typical 30 µm coined
  stud (``leadframe.BUMP_HEIGHT``) up to a stud left with its tail, 60 µm at most (Intech Technologies,
  "What is Au (gold) stud bumping?", https://intech-technologies.com/what-is-au-gold-stud-bumping/).

The limits are kisubstrate's documented range around those typical heights, not a standard.
"""
COLLAPSES_ON_REFLOW = {"solder": True, "gold": False}
AFTER = {"solder": ", after the reflow collapse", "gold": ", no reflow collapse"}
"""A solder bump melts and collapses on reflow (its height is given after the collapse); a gold stud
is bonded solid (thermocompression / thermosonic) and keeps its bonded height."""
TAPE_FILMS = ("polyimide",)
"""Dielectric films accepted for a TAB tape carrier (``kind: tape``); the first is the default."""
ELASTIC_MAX_MODULUS = 1.0
"""Largest Young's modulus (GPa) of an adhesive claimed ``elastic``: between a low-stress die attach
(Loctite Ablestik 2200D, 0.34 GPa at 25 °C) and a rigid silver epoxy (Ablestik 2030SC, 3.3 GPa): Henkel
die-attach selector guide, https://www.caplinq.com/die-attach-pastes.html (kisubstrate's threshold)."""
LOW_HYGROSCOPY_MAX_ABSORPTION = 0.3
"""Largest water uptake (%, ASTM D570 24 h immersion) of a resin claimed ``low_hygroscopy``: kisubstrate's
threshold, about three times FR-4 laminate (0.10 %) and a tenth of polyimide film (Kapton HN, 2.8 %)."""


def _carrier_material(carrier: dict) -> str:
    """The core material of a raw carrier mapping: given, else polyimide for a tape, BT for a substrate."""
    given = carrier.get("material")
    if given not in (None, ""):
        return given
    return TAPE_FILMS[0] if carrier.get("kind") == "tape" else "BT"


class Carrier(SpecModel):
    """A chip carrier: a two-layer substrate, or a TAB tape (polyimide film with copper on both sides).

    Example:
        >>> Carrier(core=0.05, kind="tape").material
        'polyimide'
        >>> Carrier(core=0.1).material
        'BT'
    """

    core: float = length("core (dielectric) thickness", le=2)
    material: str = Field("BT", description="core material; default BT for a substrate, polyimide for a tape "
                                            "(a tape takes only a film of TAPE_FILMS: polyimide)")
    copper: float = length("copper thickness, each side (a tape: its copper, L1/L2 or L3/L4)", le=0.2,
                           default=0.015)
    kind: Literal["substrate", "tape"] = Field("substrate", description="substrate, or tape: a TAB tape "
                                               "(polyimide film + copper), named so in the fab notes")

    @model_validator(mode="before")
    @classmethod
    def _default_material(cls, data: Any) -> Any:
        if isinstance(data, dict) and data.get("material") in (None, ""):
            return {**data, "material": _carrier_material(data)}
        return data

    @model_validator(mode="after")
    def _tape_film(self) -> "Carrier":
        if self.kind == "tape" and self.material.lower() not in TAPE_FILMS:
            raise FieldError("material", f"a tape carrier (TAB) is a polyimide tape with copper: material "
                             f"'{self.material}' is not a tape film ({', '.join(TAPE_FILMS)}); use kind: substrate "
                             "for a rigid core")
        return self


class Resin(SpecModel):
    """Resin filling the gap between the carriers."""

    thickness: float = length("gap between the carriers (resin thickness)", le=3)
    material: str = Field("epoxy")
    low_hygroscopy: bool = Field(False, description="claim a low-hygroscopy resin: its material's "
                                 "moisture_absorption must be at most LOW_HYGROSCOPY_MAX_ABSORPTION (0.3 %)")


class Adhesive(SpecModel):
    """Adhesive bonding the two dies back to back."""

    thickness: float = length("adhesive thickness", le=0.5, default=0.02)
    material: str = Field("DAF", description="material; 'DAF' (die-attach film) is predefined")
    elastic: bool = Field(False, description="claim an elastic adhesive: its material's elastic_modulus must be "
                          "at most ELASTIC_MAX_MODULUS (1 GPa)")


class TopLands(GridSpec):
    """Lands on the second carrier's top (L1) for the memory package: its ball grid seen from above."""

    land: float | None = length("solder-defined land diameter: the copper (nsmd) or the mask opening (smd); "
                                "default 0.8 x ball (IPC-7095)", le=5, default=None)
    ball_diameter: float = length("memory package ball diameter", le=5)
    mask: Literal["smd", "nsmd"] = Field("smd")

    def land_and_margin(self, rules) -> tuple[float, float]:
        """Copper land diameter and solder-mask margin per side (mm): :func:`~kisubstrate.model.substrate.solder_land`.

        Args:
            rules: the substrate rule profile (``mask_margin``, ``smd_overlap``; mm).
        """
        return solder_land(self.ball_diameter, self.mask, rules, self.land)


class TopPackage(SpecModel):
    """The package stacked on top (e.g. memory): what its collapsed balls must clear."""

    standoff: float = length("collapsed ball stand-off of the top package", le=3)
    warpage: float = length("warpage allowance", ge=0, gt=None, le=1, default=0.05)
    parts_height: float = length("anything on the second carrier's top under the package", ge=0, gt=None,
                                 le=3, default=0.0)


class SideTrace(SpecModel):
    """Side-trace interconnect: plated half-holes (castellations) at the package outline, one per top land."""

    drill: float = length("castellation drill (plated hole cut in half by the outline)", le=1, default=0.2)
    pad: float = length("castellation pad diameter (every copper layer)", le=2, default=0.35)


class PopSpec(SubstrateSpec):
    """Flip-chip PoP: two carriers with a flip chip each (back to back), resin, through vias, PoP lands."""

    family: Literal["pop"] = "pop"
    routes_netlist: ClassVar[bool] = True
    stackup: Stackup | None = Field(None, description="built from carriers, resin, adhesive and the dies "
                                                      "(leave empty)")
    carriers: tuple[Carrier, Carrier] = Field(description="first (bottom, BGA side) and second (top) carrier")
    resin: Resin
    adhesive: Adhesive = Field(default_factory=Adhesive)
    bump_heights: tuple[float, float] = Field(description="bump height after bonding of chip 1 and chip 2 (mm; "
                                              "solder: after its reflow collapse), within BUMP_RANGE of its "
                                              "material", json_schema_extra={"unit": "mm"})
    bump_materials: tuple[Literal["solder", "gold"], Literal["solder", "gold"]] = Field(
        ("solder", "solder"), description="bump material of chip 1 and chip 2: solder (collapses on reflow) or "
                                          "gold (stud bump, no collapse)")
    materials: dict[str, Material] = Field(default_factory=dict, description="extra / overriding materials "
                                           "(epsilon_r, loss_tangent, elastic_modulus GPa, moisture_absorption %) "
                                           "for the carriers, resin and adhesive")
    top_lands: TopLands
    top_package: TopPackage
    zstack_tolerance: float = length("allowed |die stack − resin| (bump collapse)", ge=0, gt=None, le=0.2,
                                     default=0.01)
    escape: float = length("escape segment beyond the die edge", le=5, default=0.1)
    corner_skip: int = Field(1, ge=0, le=10, description="inner-ring sites next to each corner kept for pass-through")
    die_via_clearance: float = length("through-via pad to die outline (vias cannot pass a die)", ge=0, gt=None,
                                      le=5, default=0.1)
    finish: str = Field("ENEPIG", max_length=40)
    mask_thickness: float = length("solder-mask thickness", le=0.2, default=0.02)
    interconnect: Literal["through_via", "side_trace"] = Field(
        "through_via", description="top land to ball: through vias (resin + both carriers) or conductive traces "
                                   "over the package side (castellations at the outline)")
    side_trace: SideTrace = Field(default_factory=SideTrace)
    pours: dict[Literal["POP", "CHIP2", "CHIP1", "BGA"], list[str]] = Field(
        default_factory=dict, description="nets poured on a copper layer (POP = L1, CHIP2 = L2, CHIP1 = L3, BGA = L4; "
                                          "several nets split the layer), each reaching every one of its lands, "
                                          "bumps and balls on that layer; with a ball map only")

    @model_validator(mode="before")
    @classmethod
    def _build_stackup(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        if data.get("stackup") not in (None, {}, ""):
            raise ValueError("a pop package builds its stack from carriers, resin, adhesive and the dies: "
                             "remove 'stackup'")
        try:
            c1, c2 = data["carriers"]
            resin, adh = data["resin"], data.get("adhesive") or {}
            t_adh = float(adh.get("thickness", 0.02))
            lower = float(data["bump_heights"][0]) + float(data["dies"][0].get("thickness", 0.2))
            t_res = float(resin["thickness"])
            upper = t_res - lower - t_adh
            rmat, amat = resin.get("material") or "epoxy", adh.get("material") or "DAF"
            diel = {"dielectric": t_res, "material": rmat, "type": "prepreg"}
            if upper > 1e-6:
                # top first: chip 2 hangs from the second carrier above the adhesive, chip 1 sits below it
                diel["plies"] = [{"thickness": round(upper, 6), "material": rmat, "role": "resin (chip 2 level)"},
                                 {"thickness": t_adh, "material": amat, "role": "adhesive"},
                                 {"thickness": round(lower, 6), "material": rmat, "role": "resin (chip 1 level)"}]
            pours = data.get("pours") or {}
            layers = [{"copper": c2.get("copper", 0.015), "name": "POP"},
                      {"dielectric": c2["core"], "material": _carrier_material(c2), "type": "core"},
                      {"copper": c2.get("copper", 0.015), "name": "CHIP2"}, diel,
                      {"copper": c1.get("copper", 0.015), "name": "CHIP1"},
                      {"dielectric": c1["core"], "material": _carrier_material(c1), "type": "core"},
                      {"copper": c1.get("copper", 0.015), "name": "BGA"}]
            if isinstance(pours, dict):
                for lay in layers:
                    if lay.get("name") in pours and pours[lay["name"]]:
                        lay.update(role="mixed", nets=pours[lay["name"]])
            mats = data.get("materials") or {}
            mats = {"DAF": ADHESIVE, **mats} if isinstance(mats, dict) else mats
        except (KeyError, TypeError, ValueError, IndexError, AttributeError):
            return data  # the field validators report what is missing or wrong
        return {**data, "stackup": {"layers": layers, "materials": mats,
                                    "finish": data.get("finish", "ENEPIG"),
                                    "mask_thickness": data.get("mask_thickness", 0.02)}}

    @model_validator(mode="after")
    def _structure(self) -> "PopSpec":
        if len(self.dies) != 2:
            raise ValueError("a PoP package holds two dies: chip 1 (first carrier, face down) and chip 2 "
                             "(second carrier, face up)")
        for d in self.dies:
            if d.pads.peripheral is None and d.pads.map is None:
                raise ValueError(f"die {d.name}: give peripheral bumps or a bump map (the fan-out is single-layer)")
        self._claims()
        if self.vias.through is None:
            raise ValueError("give vias.through (drill, pad) for the through vias")
        if self.terminals.ball_map is not None:
            for d in self.dies:
                if d.pads.map is None:
                    raise ValueError(f"die {d.name}: with a ball map the package is routed from its netlist: give "
                                     "the die's bumps with their nets as a bump map (pads: {map: file.csv}, header "
                                     "'pad,x,y,net')")
        elif self.pours:
            raise ValueError("pours need the netlist: give terminals.ball_map (ball,net)")
        return self

    def _claims(self) -> None:
        """Refuse a bump height outside its material's range, and a claim its material does not meet.

        Each refusal names its field (``bump_heights[k]``, ``adhesive.elastic``, ``resin.low_hygroscopy``).
        """
        for k, (h, m) in enumerate(zip(self.bump_heights, self.bump_materials)):
            lo, hi = BUMP_RANGE[m]
            if not lo - 1e-9 <= h <= hi + 1e-9:
                raise FieldError(f"bump_heights.{k}", f"chip {k + 1} ({self.dies[k].name}): {m} bump height "
                                 f"{h * 1000:g} um is outside the {m} range {lo * 1000:g}-{hi * 1000:g} um "
                                 f"(height after bonding{AFTER[m]}; bump_materials sets the material)")
        self.stackup.material(self.adhesive.material)
        for field, name, prop, unit, limit, what in claim_rows(self):
            value = getattr(self.stackup.material(name), prop)
            if value is None:
                raise FieldError(field, f"material '{name}' has no {prop}: give it under materials: {{{name}: "
                                 f"{{epsilon_r: .., loss_tangent: .., {prop}: <{unit}>}}}} to claim {what}")
            if value > limit + 1e-12:
                raise FieldError(field, f"material '{name}' has {prop} {value:g} {unit}: {what} needs at most "
                                 f"{limit:g} {unit}")

    def through(self) -> ViaSize:
        """Through-via size."""
        assert self.vias.through is not None
        return self.vias.through

    def footprint_specs(self) -> tuple[BgaSpec, BgaSpec]:
        """Board-side BGA of the bottom terminals, and the land pattern the memory package lands on."""
        t, tl = self.terminals, self.top_lands
        bottom = terminal_footprint_spec(BgaSpec, self, t, ball_diameter=t.ball_diameter,
                                         pad_diameter=t.board_pad_diameter)
        top = terminal_footprint_spec(BgaSpec, self, tl, suffix="_PoP-Top-Lands", field="top_lands",
                                      ball_diameter=tl.ball_diameter, pad_diameter=tl.land)
        return bottom, top


def claim_rows(spec: PopSpec) -> list[tuple[str, str, str, str, float, str]]:
    """The material claims a spec makes: (field, material, property, unit, upper limit, what is claimed).

    Args:
        spec: a :class:`PopSpec` (``adhesive.elastic``, ``resin.low_hygroscopy``; limits in GPa and %).

    Example:
        >>> from kisubstrate.families.registry import example_spec
        >>> for row in claim_rows(example_spec("pop")):
        ...     print(row[:5])
        ('adhesive.elastic', 'silicone', 'elastic_modulus', 'GPa', 1.0)
        ('resin.low_hygroscopy', 'LM-epoxy', 'moisture_absorption', '%', 0.3)
    """
    rows = []
    if spec.adhesive.elastic:
        rows.append(("adhesive.elastic", spec.adhesive.material, "elastic_modulus", "GPa", ELASTIC_MAX_MODULUS,
                     "an elastic adhesive"))
    if spec.resin.low_hygroscopy:
        rows.append(("resin.low_hygroscopy", spec.resin.material, "moisture_absorption", "%",
                     LOW_HYGROSCOPY_MAX_ABSORPTION, "a low-hygroscopy resin"))
    return rows


def top_sites(spec: PopSpec):
    """Populated sites of the top PoP land grid (package top view)."""
    return grid_sites(spec.top_lands)


def zstack(spec: PopSpec) -> dict:
    """Z-stack figures (mm): the die stack terms vs the resin, and the top package's stand-off budget."""
    d1, d2 = spec.dies
    terms = [("bump 1", spec.bump_heights[0]), (f"die {d1.name}", d1.thickness), ("adhesive", spec.adhesive.thickness),
             (f"die {d2.name}", d2.thickness), ("bump 2", spec.bump_heights[1])]
    tp = spec.top_package
    need = [("mask", spec.stackup.mask_thickness), ("parts", tp.parts_height), ("warpage", tp.warpage)]
    carriers = spec.stackup.thickness()
    return {"terms": terms, "stack": round(sum(v for _k, v in terms), 6), "resin": spec.resin.thickness,
            "tolerance": spec.zstack_tolerance, "standoff": tp.standoff, "standoff_needs": need,
            "standoff_need": round(sum(v for _k, v in need), 6), "carrier_stack": round(carriers, 6),
            "package_height": round(carriers + 2 * spec.stackup.mask_thickness, 6)}


def zstack_report(spec: PopSpec, z: dict | None = None) -> list[str]:
    """The z-stack as text lines (fab note, CLI report); ``z``: :func:`zstack` if already computed."""
    z = zstack(spec) if z is None else z
    sum_txt = " + ".join(f"{k} {v:g}" for k, v in z["terms"])
    need_txt = " + ".join(f"{k} {v:g}" for k, v in z["standoff_needs"])
    ok1 = abs(z["stack"] - z["resin"]) <= z["tolerance"] + 1e-9
    ok2 = z["standoff"] + 1e-9 >= z["standoff_need"]
    return [f"Z-STACK: {sum_txt} = {z['stack']:.3f} mm vs resin {z['resin']:g} mm "
            f"(+/- {z['tolerance']:g}): {'OK' if ok1 else 'FAIL'}",
            f"  top package stand-off {z['standoff']:g} mm vs {need_txt} = {z['standoff_need']:.3f} mm: "
            f"{'OK' if ok2 else 'FAIL'}",
            f"  carriers + resin {z['carrier_stack']:.3f} mm, with mask {z['package_height']:.3f} mm"]


_BOARDS: OrderedDict[str, BoardGeom] = OrderedDict()
_KEEP = 4  # routed boards kept per process (the footprint's package lengths come from the same routing)


def build_board(spec: PopSpec) -> BoardGeom:
    """Build both carriers of the PoP package as one 4-copper board (see the module docstring).

    With a bottom ball map the nets come from the package netlist and the shared router joins
    them (:class:`PopPipeline`); routing is deterministic, so
    the last few boards are kept per spec text (the footprint's package lengths reuse them).
    Without one, each die pad is fanned out to its own through via (a demonstrator).
    """
    if spec.terminals.ball_map is None:
        return _build_fanout(spec)
    key = spec.model_dump_json()
    if key not in _BOARDS:
        _BOARDS[key] = _build_routed(spec)
        while len(_BOARDS) > _KEEP:
            _BOARDS.popitem(last=False)
    _BOARDS.move_to_end(key)
    return copy.deepcopy(_BOARDS[key])


def _build_routed(spec: PopSpec) -> BoardGeom:
    """The netlist-routed board: the pipeline's copper, with the family's drawings, notes and z-stack."""
    pipe = PopPipeline(spec)
    board = pipe.run()
    b = pipe.s.b
    drawings, dies = die_drawings(spec)
    b.drawings.extend(drawings)
    bx, by = spec.body[0] / 2, spec.body[1] / 2
    castellated = pipe.castellated
    through = sum(1 for v in board.vias.kind if v == "through")
    carrier = len(board.vias) - through
    routing = board.extras.sidecar["routing"]
    summary, notes, z = _notes(spec, castellated, through, carrier)
    sig = [m for m in routing["nets"].values() if m["kind"] == "signal"]
    summary.append(f"routed {len(sig)} signal net(s) on {', '.join(routing['signal_layers_used']) or '-'}, "
                   f"{sum(m['length_mm'] for m in routing['nets'].values()):.1f} mm of trace; "
                   f"{len(routing['nets']) - len(sig)} poured net(s); {len(routing['no_connect'])} NC terminal(s)")
    summary += [f"UNROUTED {u['net']}: {u['reason']}" for u in routing["unrouted"][:20]]
    b.drawings += note_drawings(notes, bx + 1.0, -by)
    users = dict(USER_LAYERS) | ({SIDE_LAYER: "Side.Traces"} if castellated else {})
    b.extras = BoardExtras(dies=dies, body=shapely.box(-bx, -by, bx, by), user_layers=users,
                           castellated=tuple(castellated),
                           files={"-fab-notes.txt": "\n".join(notes) + "\n"} | board.extras.files,
                           summary=tuple(summary), sidecar={"zstack": _zstack_sidecar(z), "routing": routing,
                                                            "materials": materials_sidecar(spec)})
    return b.build()


def _zstack_sidecar(z: dict) -> dict:
    return {k: v for k, v in z.items() if k not in ("terms", "standoff_needs")} | \
        {"terms": [list(x) for x in z["terms"]], "standoff_needs": [list(x) for x in z["standoff_needs"]]}


def _notes(spec: PopSpec, castellated, through: int, carrier: int) -> tuple[list[str], list[str], dict]:
    """The CLI summary, the fab-note lines and the z-stack figures of a board."""
    z = zstack(spec)
    summary = zstack_report(spec, z)
    via = spec.through()
    notes = summary + [
        *material_notes(spec),
        *([f"THROUGH VIAS: {through} x drill {via.drill:g} mm / pad {via.pad:g} mm, L1-L4 through both "
           "carriers and the resin, filled and capped (via-in-pad under PoP lands and balls)."]
          if spec.interconnect == "through_via" else side_trace_notes(spec, castellated, carrier)),
        "KiCad copper: L1 F.Cu (PoP lands), L2 In1.Cu (chip 2 bumps), L3 In2.Cu (chip 1 bumps), L4 B.Cu (BGA)."]
    return list(summary), notes, z


def _carrier_text(spec: PopSpec, k: int) -> str:
    c = spec.carriers[k]
    m = spec.stackup.material(c.material)
    layers = ("L3-L4", "L1-L2")[k]
    what = f"TAB tape: {c.material} film" if c.kind == "tape" else f"substrate: {c.material} core"
    return (f"{('1st', '2nd')[k]} {what} {c.core:g} mm (er {m.epsilon_r:g}, tand {m.loss_tangent:g}), copper "
            f"{c.copper:g} mm both sides ({layers})")


def material_notes(spec: PopSpec) -> list[str]:
    r"""Fab-note lines of the carriers (TAB tape or substrate), the bumps, the adhesive and the resin.

    Each material's properties come from the spec's ``materials`` or the built-in table
    (:data:`~kisubstrate.model.substrate.MATERIALS`); a claim (``adhesive.elastic``,
    ``resin.low_hygroscopy``) is written with its threshold.

    Args:
        spec: a validated :class:`PopSpec` (thicknesses in mm, modulus in GPa, water uptake in %).

    Example:
        >>> from kisubstrate.families.registry import example_spec
        >>> for line in material_notes(example_spec("pop"))[1:]:
        ...     print(line.replace("mm; chip", "mm;\n  chip"))
        BUMPS: chip 1 (U1) solder 0.06 mm after reflow (solder collapses on reflow), range 0.03-0.15 mm;
          chip 2 (U2) solder 0.06 mm after reflow (solder collapses on reflow), range 0.03-0.15 mm.
        ADHESIVE: silicone 0.02 mm, elastic modulus 0.003 GPa: elastic (claimed; at most 1 GPa).
        RESIN: LM-epoxy 0.34 mm, water uptake 0.2 %: low hygroscopy (claimed; at most 0.3 %).
    """
    def prop(name: str, attr: str, unit: str, label: str, claimed: bool, limit: float, word: str) -> str:
        v = getattr(spec.stackup.material(name), attr)
        txt = f"{label} {v:g} {unit}" if v is not None else f"{label} not given"
        return txt + (f": {word} (claimed; at most {limit:g} {unit})" if claimed else "")

    bumps = "; ".join(
        f"chip {k + 1} ({d.name}) {m} {h:g} mm "
        + ("after reflow (solder collapses on reflow)" if COLLAPSES_ON_REFLOW[m]
           else "as bonded (gold stud, no reflow collapse)")
        + f", range {BUMP_RANGE[m][0]:g}-{BUMP_RANGE[m][1]:g} mm"
        for k, (d, m, h) in enumerate(zip(spec.dies, spec.bump_materials, spec.bump_heights)))
    adh, res = spec.adhesive, spec.resin
    return [f"CARRIERS: {_carrier_text(spec, 0)}; {_carrier_text(spec, 1)}.",
            f"BUMPS: {bumps}.",
            f"ADHESIVE: {adh.material} {adh.thickness:g} mm, "
            + prop(adh.material, "elastic_modulus", "GPa", "elastic modulus", adh.elastic, ELASTIC_MAX_MODULUS,
                   "elastic") + ".",
            f"RESIN: {res.material} {res.thickness:g} mm, "
            + prop(res.material, "moisture_absorption", "%", "water uptake", res.low_hygroscopy,
                   LOW_HYGROSCOPY_MAX_ABSORPTION, "low hygroscopy") + "."]


def materials_sidecar(spec: PopSpec) -> dict:
    """The ``materials`` entry of the JSON sidecar: carriers, bumps, adhesive and resin with their claims.

    Args:
        spec: a validated :class:`PopSpec` (mm, GPa, %).

    Example:
        >>> from kisubstrate.families.registry import example_spec
        >>> side = materials_sidecar(example_spec("pop"))
        >>> side["carriers"][1]["kind"], side["carriers"][1]["tab_tape"], side["bumps"][0]["collapses_on_reflow"]
        ('tape', True, True)
        >>> side["adhesive"]["elastic_modulus_gpa"], side["resin"]["moisture_absorption_pct"]
        (0.003, 0.2)
    """
    def mat(name: str) -> dict:
        m = spec.stackup.material(name)
        return {"material": name, "epsilon_r": m.epsilon_r, "loss_tangent": m.loss_tangent}

    adh, res = spec.adhesive, spec.resin
    return {
        "carriers": [{"carrier": k + 1, "kind": c.kind, "tab_tape": c.kind == "tape", **mat(c.material),
                      "core_mm": c.core, "copper_mm": c.copper, "copper_layers": [["L3", "L4"], ["L1", "L2"]][k]}
                     for k, c in enumerate(spec.carriers)],
        "bumps": [{"chip": k + 1, "die": d.name, "material": m, "height_mm": h,
                   "range_mm": list(BUMP_RANGE[m]), "collapses_on_reflow": COLLAPSES_ON_REFLOW[m]}
                  for k, (d, m, h) in enumerate(zip(spec.dies, spec.bump_materials, spec.bump_heights))],
        "adhesive": {**mat(adh.material), "thickness_mm": adh.thickness,
                     "elastic_modulus_gpa": spec.stackup.material(adh.material).elastic_modulus,
                     "elastic": adh.elastic, "elastic_max_gpa": ELASTIC_MAX_MODULUS},
        "resin": {**mat(res.material), "thickness_mm": res.thickness,
                  "moisture_absorption_pct": spec.stackup.material(res.material).moisture_absorption,
                  "low_hygroscopy": res.low_hygroscopy, "low_hygroscopy_max_pct": LOW_HYGROSCOPY_MAX_ABSORPTION},
    }


def _build_fanout(spec: PopSpec) -> BoardGeom:
    """Without a netlist: each die pad fanned out to its own through via of the innermost PoP ring."""
    rules = spec.substrate_rules()
    w = spec.width()
    via = spec.through()
    bx, by = spec.body[0] / 2, spec.body[1] / 2
    body = shapely.box(-bx, -by, bx, by)
    b = BoardBuilder(spec.resolved_name, copper=4, outline=body)
    bottom = terminal_sites(spec)
    top = top_sites(spec)
    t, tl = spec.terminals, spec.top_lands
    ball_net = t.ball_map.net_of if t.ball_map is not None else {}
    top_net = tl.ball_map.net_of if tl.ball_map is not None else {}

    # -- through vias: one under every top land, each above a bottom ball --------------------------
    key = lambda x, y: (round(float(x), 5), round(float(y), 5))  # noqa: E731
    ball_at = {key(x, y): i for i, (x, y) in enumerate(zip(bottom.x, bottom.y))}
    below = []
    for i, name in enumerate(top.names):
        j = ball_at.get(key(top.x[i], top.y[i]))
        if j is None:
            raise SpecError(f"top land {name} at ({top.x[i]:g}, {top.y[i]:g}) has no bottom ball below it: the "
                            "through vias run straight down (same pitch and centre for both grids)",
                            field="top_lands")
        below.append(j)
    ring = ring_index(top, tl.columns, tl.rows)
    inner = int(ring.max())
    pool = [i for i in range(len(top.names)) if ring[i] == inner]
    half_x = float(np.max(np.abs(top.x[pool])))
    half_y = float(np.max(np.abs(top.y[pool])))
    px, py = tl.pitch_xy
    lim = spec.corner_skip + 0.5
    pool = [i for i in pool if not (abs(top.x[i]) > half_x - lim * px and abs(top.y[i]) > half_y - lim * py)]
    pool.sort(key=lambda i: math.atan2(top.y[i], top.x[i]))

    site_net: dict[int, str] = {}  # top site -> net name
    site_layer: dict[int, int] = {}  # top site -> copper layer of the chip trace ending there
    chip_layer = {0: 2, 1: 1}  # die index -> physical copper (chip 1 on L3, chip 2 on L2)
    for k, die in enumerate(spec.dies):
        share = pool[k::2]
        dx, dy = die.position
        hw, hh = die.size[0] / 2, die.size[1] / 2
        pads = []
        for p in die.board_pads():  # a face-down chip's pads mirrored into the package top view
            x = p.x
            gaps = (hw - x, hw + x, hh - p.y, hh + p.y)
            g = int(np.argmin(gaps))
            pads.append((p, dx + x, dy + p.y, ((1, 0), (-1, 0), (0, 1), (0, -1))[g], gaps[g]))
        if len(pads) > len(share):
            raise SpecError(f"die {die.name}: {len(pads)} bumps but only {len(share)} through vias in its share of "
                            "the innermost PoP ring: enlarge the top land grid or lower corner_skip", field="dies")
        fixed: dict[int, int] = {}
        for n, (p, *_r) in enumerate(pads):
            if p.net:
                hit = [s for s in share if top_net.get(top.names[s]) == p.net
                       or ball_net.get(bottom.names[below[s]]) == p.net]
                if hit:
                    fixed[n] = hit[0]
        free = [s for s in share if s not in fixed.values()]
        auto = [n for n in range(len(pads)) if n not in fixed]
        pick = np.unique(np.floor(np.arange(len(auto)) * len(free) / max(len(auto), 1)).astype(int)) if auto else []
        chosen = [free[j] for j in pick]
        target = dict(fixed)
        if auto:
            ch = np.array(chosen)
            match = assign_around_centroid(np.array([pads[n][1] for n in auto]),
                                           np.array([pads[n][2] for n in auto]), top.x[ch], top.y[ch])
            for j, n in enumerate(auto):
                target[n] = int(ch[match[j]])
        layer = chip_layer[k]
        for n, (p, x, y, (nx, ny), edge) in enumerate(pads):
            s = target[n]
            given = {v for v in (p.net, top_net.get(top.names[s]), ball_net.get(bottom.names[below[s]])) if v}
            if len(given) > 1:
                raise SpecError(f"via under top land {top.names[s]} would join nets {', '.join(sorted(given))} "
                                "(die pad map, top-land map and ball map disagree)", field="top_lands")
            name = next(iter(given)) if given else f"{die.name}_{p.name}"
            site_net[s] = name
            site_layer[s] = layer
            net = b.net(name)
            b.pad(die.name, p.name, x, y, die.pads.size, layer=layer, net=net)
            ex, ey = snap(x + nx * (edge + spec.escape)), snap(y + ny * (edge + spec.escape))
            b.track(x, y, ex, ey, w, layer=layer, net=net)
            b.track(ex, ey, float(top.x[s]), float(top.y[s]), w, layer=layer, net=net)

    # -- vias, top lands, bottom balls ---------------------------------------------------------------
    (land_t, margin_t), (land_b, margin_b) = tl.land_and_margin(rules), t.land_and_margin(rules)
    ball_site_net: dict[int, int] = {}
    top_site_net: dict[int, int] = {}
    for s, name in enumerate(top.names):
        given = {v for v in (top_net.get(name), ball_net.get(bottom.names[below[s]])) if v}
        if s not in site_net and len(given) > 1:
            raise SpecError(f"top land {name} and the ball below it carry different nets: {', '.join(sorted(given))}",
                            field="top_lands")
        net = b.net(site_net.get(s) or (next(iter(given)) if given else f"POP_{name}"))
        ball_site_net[below[s]] = top_site_net[s] = net
        if spec.interconnect == "through_via":
            b.via(float(top.x[s]), float(top.y[s]), via.pad, via.drill, 0, 3, net=net, kind="through")
        elif s in site_layer:  # side traces: the chip reaches its own carrier's outer copper by a carrier via
            span = (0, 1) if site_layer[s] == 1 else (2, 3)
            b.via(float(top.x[s]), float(top.y[s]), via.pad, via.drill, *span, net=net, kind="blind")
    castellated = side_traces(spec, b, top, bottom, top_site_net) if spec.interconnect == "side_trace" else []
    place_terminal_lands(b, top, land=land_t, mask=tl.mask, rules=rules, layer=0, net_of_site=top_site_net,
                         owner="POP", margin=margin_t)
    place_terminal_lands(b, bottom, land=land_b, mask=t.mask, rules=rules, layer=3, nets=ball_net,
                         net_of_site=ball_site_net, margin=margin_b)

    # -- drawings, notes ------------------------------------------------------------------------------
    dies_poly = []
    for d in spec.dies:
        (x0, y0), (dw, dh) = d.position, d.size
        box = shapely.box(x0 - dw / 2, y0 - dh / 2, x0 + dw / 2, y0 + dh / 2)
        dies_poly.append(box)
        b.drawings.append(Drawing(tuple((float(a), float(c)) for a, c in shapely.get_coordinates(box.exterior)[:-1]),
                                  "User.3", label=f"die {d.name}"))
    summary, notes, z = _notes(spec, castellated, len(top.names), len(site_layer))
    b.drawings += note_drawings(notes, bx + 1.0, -by)
    users = dict(USER_LAYERS) | ({SIDE_LAYER: "Side.Traces"} if castellated else {})
    b.extras = BoardExtras(dies=shapely.union_all(dies_poly), body=body, user_layers=users,
                           castellated=tuple(castellated), files={"-fab-notes.txt": "\n".join(notes) + "\n"},
                           summary=tuple(summary),
                           sidecar={"zstack": _zstack_sidecar(z), "materials": materials_sidecar(spec)})
    return b.build()


def side_traces(spec: PopSpec, b: BoardBuilder, top, bottom, net_of_site: dict[int, int]) -> list[Castellation]:
    """Side-trace interconnect: each top land and the ball below it run outward to one castellation.

    Every top land runs straight outward on L1 to a castellation (plated half-hole centred on the
    outline, all copper layers) and the ball below it straight outward on L4 to the same
    castellation; the castellation stands for the conductive trace over the package side.

    Each land leaves through its nearest side (corners: the next side counter-clockwise); the trace
    stops ``copper_to_edge`` short of the outline inside the castellation pad. Returns the
    castellations (:class:`~kisubstrate.geometry.board.Castellation`, mm) for the writer and the checks.

    Args:
        spec: the validated :class:`PopSpec` with ``interconnect: side_trace`` (``side_trace`` pad and
            drill, body; mm).
        b: the board being built: receives the L1 and L4 traces and the marks on the side-trace layer.
        top: populated sites of the top PoP land grid (:func:`top_sites`; x, y in mm); they must lie
            on the outermost ring, with no ball or land outward of them.
        bottom: populated sites of the bottom ball grid (x, y in mm), for that check.
        net_of_site: net code of each top site (index into ``top``), shared with its trace and
            castellation.

    Raises:
        SpecError: the castellation pad does not reach the end of the trace, or a top land has a ball
            or land outward of it.

    Example:
        >>> from kisubstrate.families.registry import example_spec
        >>> spec = example_spec("pop_side_trace")
        >>> board = build_board(spec)
        >>> cs = board.extras.castellated
        >>> len(cs), max(max(abs(c.x), abs(c.y)) for c in cs), castellation_checks(spec, board, cs)
        (56, 6.0, [])
    """
    rules = spec.substrate_rules()
    st, w = spec.side_trace, spec.width()
    bx, by = spec.body[0] / 2, spec.body[1] / 2
    side = _sides(top)
    stop = rules.copper_to_edge + w / 2 + 0.001
    if st.pad / 2 <= stop:
        raise SpecError(f"side_trace.pad {st.pad:g} mm: the castellation must reach {stop:g} mm inside the outline "
                        "to meet the trace that stops copper_to_edge short of it", field="side_trace.pad")
    check_side_trace_ring(spec, top, bottom)
    out = []
    for s, name in enumerate(top.names):
        if s not in net_of_site:  # a land with no net has no side trace
            continue
        k = int(side[s])
        dx, dy = ((1, 0), (0, 1), (-1, 0), (0, -1))[k]
        x, y = float(top.x[s]), float(top.y[s])
        lat = -x * dy + y * dx  # coordinate along the edge
        edge = bx if dx else by
        e = edge - stop
        net = net_of_site[s]
        for layer in (0, 3):  # L1 (second carrier top) and L4 (first carrier bottom)
            b.track(x, y, snap(e * dx - lat * dy), snap(e * dy + lat * dx), w, layer=layer, net=net)
        cx, cy = snap(edge * dx - lat * dy), snap(edge * dy + lat * dx)
        out.append(Castellation(f"S{name}", cx, cy, pad=st.pad, drill=st.drill, net=net, side=k))
        b.drawings.append(Drawing(((cx, cy), (snap(cx + 0.3 * dx), snap(cy + 0.3 * dy))), SIDE_LAYER, closed=False))
    return out


def _sides(top) -> np.ndarray:
    """The package side each top land's side trace leaves by: 0 +x, 1 +y, 2 -x, 3 -y.

    Corners take the next side counter-clockwise.
    """
    hx, hy = float(np.max(np.abs(top.x))), float(np.max(np.abs(top.y)))
    return np.floor((np.arctan2(top.y / hy, top.x / hx) + math.pi / 4 + 1e-9) / (math.pi / 2)).astype(int) % 4


def check_side_trace_ring(spec: PopSpec, top, bottom) -> None:
    """Refuse a top land with a ball or land outward of it: its side trace would run into them.

    Args:
        spec: the validated :class:`PopSpec` (trace width, lands, rules; mm).
        top: populated sites of the top PoP land grid (x, y in mm).
        bottom: populated sites of the bottom ball grid (x, y in mm).

    Raises:
        SpecError: naming the first such land (field ``interconnect``).

    Example:
        >>> from kisubstrate.families.registry import example_spec
        >>> spec = example_spec("pop_side_trace")
        >>> check_side_trace_ring(spec, top_sites(spec), grid_sites(spec.terminals)) is None
        True
    """
    rules, w = spec.substrate_rules(), spec.width()
    land = max(spec.top_lands.land_and_margin(rules)[0], spec.terminals.land_mm(rules))
    bx_, by_ = np.asarray(bottom.x, float), np.asarray(bottom.y, float)
    side = _sides(top)
    for s, name in enumerate(top.names):
        dx, dy = ((1, 0), (0, 1), (-1, 0), (0, -1))[int(side[s])]
        x, y = float(top.x[s]), float(top.y[s])
        lat, o = -x * dy + y * dx, x * dx + y * dy  # along the edge, outward
        ahead = ((bx_ * dx + by_ * dy) > o + 1e-6) & (np.abs(-bx_ * dy + by_ * dx - lat)
                                                      < land / 2 + w / 2 + rules.clearance)
        if ahead.any():
            raise SpecError(f"side_trace: top land {name} has a ball or land outward of it on its way to the package "
                            "edge; the side-trace variant needs the top lands on the outermost ball ring",
                            field="interconnect")


def side_trace_notes(spec: PopSpec, castellated: list[Castellation], carrier_vias: int) -> list[str]:
    """Fab-note lines of the side-trace interconnect.

    Args:
        spec: the validated :class:`PopSpec` (carriers, resin and ``side_trace`` sizes; mm).
        castellated: the castellations of the board (:func:`side_traces`), one per side trace.
        carrier_vias: number of L1-L2 / L3-L4 carrier vias (count).

    Example:
        >>> from kisubstrate.families.registry import example_spec
        >>> notes = side_trace_notes(example_spec("pop_side_trace"), [], 12)
        >>> notes[1]
        "CARRIER VIAS: 12 x L1-L2 / L3-L4 (chip to its carrier's outer copper); no via crosses the resin."
    """
    st, c1, c2 = spec.side_trace, spec.carriers[0], spec.carriers[1]
    span = c1.core + 2 * c1.copper + spec.resin.thickness + c2.core + 2 * c2.copper
    return [f"SIDE TRACES ({SIDE_LAYER} Side.Traces): {len(castellated)} conductive traces over the package side, "
            f"each from a PoP land (L1, second carrier) down the second carrier, the {spec.resin.material} resin "
            f"({spec.resin.thickness:g} mm) and the first carrier to its ball (L4): span {span:.3f} mm; made as "
            f"plated half-holes at the outline (drill {st.drill:g} mm, pad {st.pad:g} mm, KiCad castellated pads "
            "on all copper layers).",
            f"CARRIER VIAS: {carrier_vias} x L1-L2 / L3-L4 (chip to its carrier's outer copper); no via crosses "
            "the resin."]


def pop_checks(spec: PopSpec, board: BoardGeom | None = None, rules: Any = None, *,
               z: dict | None = None) -> list[Violation]:
    """Z-stack rules and, with a board, the via-under-die and side-trace castellation checks.

    Z-stack: die stack vs resin thickness, top package stand-off vs what it must clear. With a
    board, ``pop_via_under_die``: a through via crosses the resin, so it must clear both dies,
    and the side-trace castellation checks (:func:`castellation_checks`).

    The family check of ``pop`` (``Family.checks``), run by ``build_substrate`` after the board checks.

    Args:
        spec: the validated :class:`PopSpec` (thicknesses and clearances in mm).
        board: its substrate board (dies and castellations from ``board.extras``), or None for the
            z-stack rules alone.
        rules: the substrate rule profile (unused: the limits come from the spec and its profile).
        z: :func:`zstack` of the spec if already computed.

    Example:
        >>> from kisubstrate.families.registry import example_spec
        >>> spec = example_spec("pop")
        >>> pop_checks(spec, build_board(spec))
        []
    """
    out = []
    if board is not None and len(board.vias):
        dies = board.extras.dies
        v = board.vias
        d = shapely.distance(shapely.points(v.x, v.y), dies) - v.size / 2
        resin = (v.top <= 1) & (v.bottom >= 2)  # a carrier via stays in its carrier, under a die or not
        for k in np.flatnonzero(resin & (d < spec.die_via_clearance - 5e-7)).tolist():
            out.append(Violation("pop_via_under_die", (v.key(k),), (float(v.x[k]), float(v.y[k])), "resin",
                                 float(d[k]), spec.die_via_clearance,
                                 "through via too close to (or under) a die: it must run through resin only"))
    if board is not None and board.extras.castellated:
        out += castellation_checks(spec, board, board.extras.castellated)
    z = zstack(spec) if z is None else z
    lines = zstack_report(spec, z)
    diff = z["stack"] - z["resin"]
    if abs(diff) > z["tolerance"] + 1e-9:
        word = "too tall" if diff > 0 else "too short (bumps do not reach the carrier)"
        out.append(Violation("pop_zstack", ("z-stack",), (0.0, 0.0), "z", z["stack"], z["resin"],
                             f"die stack {word}: {lines[0].removeprefix('Z-STACK: ')}"))
    if z["standoff"] + 1e-9 < z["standoff_need"]:
        out.append(Violation("pop_standoff", ("top package",), (0.0, 0.0), "z", z["standoff"], z["standoff_need"],
                             f"top package collapsed stand-off too low: {lines[1].strip()}"))
    return out


def castellation_checks(spec: PopSpec, board: BoardGeom, cs: Sequence[Castellation]) -> list[Violation]:
    """Checks of the side-trace castellations (mm).

    They are exempt from ``copper_to_edge`` on purpose: a castellation is a plated hole cut in half by
    the outline (KiCad's DRC exempts castellated pads too), so they are kept out of the board's pad
    table and checked here instead: ``pop_side_trace_pitch`` (two castellations closer than pad +
    clearance or drill + hole_to_hole) and ``pop_castellation_clearance`` (copper of another net on
    any layer closer than ``clearance``; exact circle and segment distances).

    Args:
        spec: the validated :class:`PopSpec` (``side_trace`` pad and drill, mm; its substrate rule
            profile gives ``clearance`` and ``hole_to_hole``).
        board: the substrate board: its tracks, pads and vias are the copper checked against.
        cs: the castellations (:func:`side_traces`, usually ``board.extras.castellated``).

    Example:
        >>> from kisubstrate.families.registry import example_spec
        >>> spec = example_spec("pop_side_trace")
        >>> board = build_board(spec)
        >>> castellation_checks(spec, board, board.extras.castellated)
        []
    """
    rules = spec.substrate_rules()
    st = spec.side_trace
    r = st.pad / 2
    pts = shapely.points([c.x for c in cs], [c.y for c in cs])
    net = np.array([c.net for c in cs], np.int64)
    out = []
    need = max(st.pad + rules.clearance, st.drill + rules.hole_to_hole)
    i, j = shapely.STRtree(pts).query(pts, predicate="dwithin", distance=need - 5e-7)
    for a, c in zip(i[i < j].tolist(), j[i < j].tolist()):
        d = float(shapely.distance(pts[a], pts[c]))
        out.append(Violation("pop_side_trace_pitch", (cs[a].name, cs[c].name), (cs[a].x, cs[a].y),
                             "Edge.Cuts", d, need, f"side-trace castellations {d:.3f} mm apart at the package edge, "
                             f"need "
                             f"{need:.3f} mm (pad {st.pad:g} + clearance {rules.clearance:g}, drill {st.drill:g} + "
                             f"hole_to_hole {rules.hole_to_hole:g}): pitch too fine for the edge"))
    t, p, v = board.tracks, board.pads, board.vias
    circle = np.array([sh == "circle" for sh in p.shape], bool)
    items = np.concatenate([
        shapely.linestrings(np.stack([np.stack([t.x1, t.x2], 1), np.stack([t.y1, t.y2], 1)], 2)),
        np.where(circle, shapely.points(p.x, p.y),
                 shapely.box(p.x - p.w / 2, p.y - p.h / 2, p.x + p.w / 2, p.y + p.h / 2)),
        shapely.points(v.x, v.y)])
    rad = np.concatenate([t.width / 2, np.where(circle, p.w / 2, 0.0), v.size / 2])
    inet = np.concatenate([t.net, p.net, v.net])
    if not len(items):
        return out
    i, j = shapely.STRtree(items).query(pts, predicate="dwithin", distance=r + rules.clearance + float(rad.max()))
    d = shapely.distance(pts[i], items[j]) - rad[j] - r
    for a, c, dd in zip(i.tolist(), j.tolist(), d.tolist()):
        if inet[c] != net[a] and dd < rules.clearance - 5e-7:
            out.append(Violation("pop_castellation_clearance", (cs[a].name,), (cs[a].x, cs[a].y), "*.Cu",
                                 dd, rules.clearance, "side-trace castellation too close to copper of another net"))
    return out


def build_footprint(spec: PopSpec):
    """Two footprints: the bottom BGA land pattern (board side) and the PoP top land pattern (memory side).

    With a ball map, each bottom pad carries its net's routed length inside the package (mm) as
    KiCad's pad ``die_length``, so a board designer's length matching includes the package.
    """
    bottom, top = spec.footprint_specs()
    fps = build_grid_array(bottom)
    if spec.terminals.ball_map is not None:
        lengths = package_lengths(spec)
        fps = [replace(fp, pads=[replace(g, die_length=np.array([lengths.get(n, 0.0) for n in g.names]))
                                 for g in fp.pads]) for fp in fps]
    return fps + build_grid_array(top)


def package_lengths(spec: PopSpec) -> dict[str, float]:
    """Ball name → routed trace length of its signal net inside the package (mm; poured nets and NC absent).

    Args:
        spec: the validated spec with a ball map; its substrate is routed (or taken from
            :func:`build_board`'s store).

    Example:
        >>> from kisubstrate.families.registry import example_spec
        >>> lengths = package_lengths(example_spec("pop"))
        >>> "A1" in lengths, lengths["A2"] > 0   # A1 is GND (poured: die length 0), A2 an IO signal
        (False, True)
    """
    nets = build_board(spec).extras.sidecar["routing"]["nets"]
    net_of = spec.terminals.ball_map.net_of if spec.terminals.ball_map is not None else {}
    return {ball: float(nets[net]["length_mm"]) for ball, net in net_of.items()
            if net in nets and nets[net]["kind"] == "signal"}



# -- the PoP family on the substrate pipeline ---------------------------------------------------
UPPER, LOWER = (0, 1), (2, 3)
"""Copper layers of the second (upper) and first (lower) carrier; the resin lies between 1 and 2."""

PASSES, PASSES_ONE_LAYER = 8, 5
"""Routing passes at most, and how many of them keep each route on its carrier's first layer."""

SITE = -1
"""Terminal layer of a site: present on every layer of the side it is routed on."""


@dataclass(frozen=True)
class PopTerm:
    """A terminal of a PoP net: what it is (``bump``, ``ball``, ``land``, ``site``), where (mm), its layer."""

    kind: str
    label: str
    x: float
    y: float
    layer: int

    def sides(self) -> tuple[tuple[int, int], ...]:
        """The carriers (layer pairs) the terminal is on: a site is on both."""
        if self.layer == SITE:
            return (UPPER, LOWER)
        return (UPPER,) if self.layer in UPPER else (LOWER,)


class PopPipeline(SubstratePipeline):
    """The substrate pipeline with the PoP family's phases.

    Copper (top first): L1 PoP lands (memory package), L2 chip 2's bumps, the resin, L3 chip 1's bumps,
    L4 the bottom balls. The resin is crossed only at the PoP land sites: a through via under a land
    and over the ball below it (``interconnect: through_via``), or the side trace from the land over
    the package edge to that ball (``side_trace``). A land with a net and the ball below it are one
    **site** of that net, present on both sides of the resin.

    Phases (:attr:`PopPipeline.phases`): ``stackup`` (carrier vias per hop, the resin never crossed
    by the router) → ``dies`` (chip 1 on L3, chip 2 on L2, nets from their pad maps) → ``terminals``
    (balls on L4, lands on L1, the sites) → ``netlist`` (every net's bumps, lands, balls and sites;
    located errors) → ``grid`` (the routing grid with every pad) → ``carriers`` (the family's own
    copper: through vias or side traces and castellations, obstacles for the router) → ``planes``
    (split regions of the poured layers, via ties of a bump or ball to a pour of its net on its own
    carrier) → ``route`` (the shared :class:`~kisubstrate.geometry.route.router.Router`, on each side
    of the resin on that carrier's two layers) → ``fills`` (the pours).

    Routing: a net poured on a layer (``pours``) has every site, land, bump or ball touching the
    pour joined by it; each terminal left over is routed to the nearest joined one on its side.
    Any other net is a tree on each side: chip 1's bumps, its balls and all its sites below the
    resin; chip 2's bumps and the nearest site above it.

    Example:
        >>> from kisubstrate.families.registry import example_spec
        >>> board = PopPipeline(example_spec("pop")).run()
        >>> board.extras.sidecar["routing"]["unrouted"]
        []

    Args:
        spec: a validated ``PopSpec`` with a bottom ball map (``terminals.ball_map``).
    """

    phases = ("stackup", "dies", "terminals", "netlist", "grid", "carriers", "planes", "route", "fills")

    def __init__(self, spec) -> None:
        super().__init__(spec)
        self._regions: dict[int, dict[int, shapely.Geometry]] = {}
        self.terms: dict[str, list[PopTerm]] = {}
        self.sites: list[tuple[int, int, str]] = []  # (land index, ball index, net)
        self.castellated: list = []
        self.results: dict[str, list[Routed]] = {}
        self.fixed_vias: dict[str, int] = {}

    # -- phases -----------------------------------------------------------------------------------
    def stackup(self) -> None:
        """Pours per layer, and the via of each hop: a carrier via on either carrier, a through via across the resin."""
        spec, s = self.spec, self.s
        coppers = spec.stackup.coppers()
        s.roles = [lay.role or "signal" for lay in coppers]
        s.pours = [list(lay.nets or ()) for lay in coppers]
        micro, thr = spec.micro(), spec.through()
        carrier = spec.vias.blind or thr
        for hop in range(3):
            depth = spec.stackup.hop_depth(hop)
            if hop == 1:
                s.hops.append(Hop(thr.pad, thr.drill, "through"))  # never placed by the router: only by carriers()
            elif depth <= self.rules.microvia_max_depth and depth / micro.drill <= self.rules.microvia_aspect_ratio:
                s.hops.append(Hop(micro.pad, micro.drill, "micro"))
            else:
                s.hops.append(Hop(carrier.pad, carrier.drill, "blind"))

    def dies(self) -> None:
        """Chip 1's bumps on L3 and chip 2's on L2 (a face-down chip's map mirrored), nets from the pad maps."""
        s, b = self.s, self.s.b
        for k, die in enumerate(self.spec.dies):
            dx, dy = die.position
            layer = 2 if k == 0 else 1
            for pad in die.board_pads():
                t = Bump(die.name, pad.name, dx + pad.x, dy + pad.y, pad.net, die.pads.map_file or "", pad.line, die=k)
                s.bumps.append(t)
                b.pad(t.owner, t.name, t.x, t.y, die.pads.size, layer=layer,
                      net=0 if is_no_connect(t.net) else b.net(t.net))

    def terminals(self) -> None:
        """Balls (L4) and PoP lands (L1) with their maps' nets; each land with a net over a ball is a site."""
        spec, s, b = self.spec, self.s, self.s.b
        t, tl = spec.terminals, spec.top_lands
        bot, top = grid_sites(t), grid_sites(tl)
        self._sites, self._top = bot, top
        for grid, bm, owner, out in ((bot, t.ball_map, "BALLS", s.balls), (top, tl.ball_map, "POP", None)):
            line = dict(zip((n for n, _ in bm.nets), bm.lines)) if bm is not None else {}
            net_of = bm.net_of if bm is not None else {}
            terms = [Terminal(owner, n, x, y, net_of.get(n, ""), bm.path if bm else "", line.get(n, 0))
                     for n, x, y in zip(grid.names, grid.x.tolist(), grid.y.tolist())]
            if out is None:
                self.lands = terms
            else:
                out.extend(terms)
        if spec.interconnect == "side_trace":
            check_side_trace_ring(spec, top, bot)
        at = {(round(x, 5), round(y, 5)): j for j, (x, y) in enumerate(zip(bot.x.tolist(), bot.y.tolist()))}
        how = "through via" if spec.interconnect == "through_via" else "side trace"
        for i, land in enumerate(self.lands):
            if is_no_connect(land.net):
                continue
            j = at.get((round(land.x, 5), round(land.y, 5)))
            if j is None:
                raise SpecError(f"{land.where()}top land {land.name} at ({land.x:g}, {land.y:g}) has no bottom ball "
                                f"below it: the {how} runs straight down (same pitch and centre for both grids)",
                                field="top_lands")
            ball = s.balls[j]
            if ball.net != land.net:
                raise SpecError(f"{land.where()}top land {land.name} ({land.net}) and the ball below it, {ball.name} "
                                f"({ball.net or 'NC'}), carry different nets: the {how} joins them; give both one "
                                "net", field="top_lands")
            self.sites.append((i, j, land.net))
        land_t, margin_t = tl.land_and_margin(self.rules)
        land_b, margin_b = t.land_and_margin(self.rules)
        place_terminal_lands(b, top, land=land_t, mask=tl.mask, rules=self.rules, layer=0, owner="POP",
                             margin=margin_t, net_of_site={i: b.net(lt.net) for i, lt in enumerate(self.lands)
                                                           if not is_no_connect(lt.net)})
        place_terminal_lands(b, bot, land=land_b, mask=t.mask, rules=self.rules, layer=3, margin=margin_b,
                             net_of_site={j: b.net(bt.net) for j, bt in enumerate(s.balls)
                                          if not is_no_connect(bt.net)})

    def netlist(self) -> None:
        """Each net's terminals; refuse a net that reaches nothing or crosses the resin where no site is."""
        s = self.s
        site_lands = {i for i, _j, _n in self.sites}
        site_balls = {j for _i, j, _n in self.sites}
        terms: dict[str, list[PopTerm]] = {}
        first: dict[str, Terminal] = {}
        for t in s.bumps:
            if not is_no_connect(t.net):
                terms.setdefault(t.net, []).append(PopTerm("bump", t.label, t.x, t.y, 2 if t.die == 0 else 1))
                first.setdefault(t.net, t)
        for j, t in enumerate(s.balls):
            if not is_no_connect(t.net) and j not in site_balls:
                terms.setdefault(t.net, []).append(PopTerm("ball", t.label, t.x, t.y, 3))
                first.setdefault(t.net, t)
        for i, j, net in self.sites:
            land = self.lands[i]
            terms.setdefault(net, []).append(PopTerm("site", f"top land {land.name} / {s.balls[j].label}",
                                                     land.x, land.y, SITE))
            first.setdefault(net, land)
        for i, t in enumerate(self.lands):
            if not is_no_connect(t.net) and i not in site_lands:  # pragma: no cover - every land with a net is a site
                terms.setdefault(t.net, []).append(PopTerm("land", t.label, t.x, t.y, 0))
        for name in sorted(terms):
            ts = terms[name]
            t0 = first[name]
            where = t0.where() or ("ball map: " if t0.owner == "BALLS" else "")
            if len(ts) == 1 and ts[0].kind != "site":
                raise SpecError(f"{where}net '{name}' is on {ts[0].label} only: it joins nothing (give it a ball, a "
                                "die pad or a top land too, or mark it NC)",
                                field="terminals.ball_map" if t0.owner == "BALLS" else "dies.pads.map")
            upper = [t for t in ts if t.layer in UPPER]
            lower = [t for t in ts if t.layer in LOWER]
            if upper and lower and not any(t.layer == SITE for t in ts):
                raise SpecError(f"{where}net '{name}' joins {upper[0].label} above the resin to {lower[0].label} below "
                                "it, but no top land carries it: the resin is crossed only at the PoP lands; give "
                                "a top land (and the ball below it) this net", field="top_lands")
        pour = {n for nets in s.pours for n in nets}
        missing = sorted(pour - set(terms))
        if missing:
            raise SpecError(f"pours: net '{missing[0]}' is on no ball, land or die pad", field="pours")
        self.terms = {n: terms[n] for n in sorted(terms)}
        nc = [t.name for t in s.balls if is_no_connect(t.net)] + \
            [f"top {t.name}" for t in self.lands if is_no_connect(t.net)]
        s.netlist = Netlist(nets=tuple(Net(n, (), (), n in pour) for n in self.terms), no_connect=tuple(nc))

    def grid(self) -> None:
        """The routing grid (a whole fraction of the ball pitch, centred on the package) with every pad."""
        s, r = self.s, self.rules
        b = s.b
        step = self.width + r.clearance
        pitch = min(self.spec.terminals.pitch_xy)
        pitch = pitch / max(1, math.floor(pitch / step + 1e-9))
        s.grid = grid = RouteGrid(b.outline, layers=4, pitch=pitch, width=self.width, clearance=r.clearance,
                                  via_pads=tuple(sorted({h.pad for h in s.hops})), edge=r.copper_to_edge)
        pads = b.build().pads
        rad = np.where(np.array([sh == "circle" for sh in pads.shape], bool), pads.w / 2,
                       np.hypot(pads.w, pads.h) / 2)
        grid.add(pads.layer, pads.x, pads.y, pads.x, pads.y, rad, pads.net)
        s.router = Router(grid, b, hops=s.hops, width=self.width, hole_to_hole=r.hole_to_hole)

    def carriers(self) -> None:
        """The family's own copper across the resin: through vias at the sites, or side traces and castellations."""
        spec, s = self.spec, self.s
        b, router, grid = s.b, s.router, s.grid
        if spec.interconnect == "through_via":
            thr = spec.through()
            for i, _j, net in self.sites:
                land = self.lands[i]
                router.place_via(land.x, land.y, thr.pad, thr.drill, 0, 3, b.net(net), kind="through")
                self.fixed_vias[net] = self.fixed_vias.get(net, 0) + 1
            return
        before = len(b.build().tracks)
        net_of = {i: b.net(net) for i, _j, net in self.sites}
        self.castellated = side_traces(spec, b, self._top, self._sites, net_of)
        tr = b.build().tracks
        new = slice(before, len(tr))
        grid.add(tr.layer[new], tr.x1[new], tr.y1[new], tr.x2[new], tr.y2[new], tr.width[new] / 2, tr.net[new])
        for c in self.castellated:
            grid.add(np.arange(4), [c.x] * 4, [c.y] * 4, [c.x] * 4, [c.y] * 4, [c.pad / 2] * 4, [c.net] * 4)

    def _touch(self, t: PopTerm, L: int) -> bool:
        """True if terminal ``t`` has copper on layer ``L``.

        A through-via site is on every layer; a side-trace site has its land on L1 and its ball on L4.
        """
        if t.layer == SITE:
            return self.spec.interconnect == "through_via" or L in (0, 3)
        return t.layer == L

    def _layer_of(self, t: PopTerm, L: int) -> int:
        """The copper a route on layer ``L`` starts from at ``t``.

        A through via is on ``L`` already; from a side-trace site's land (above the resin) or ball (below
        it) the route needs a carrier via.
        """
        if t.layer != SITE:
            return t.layer
        if self.spec.interconnect == "through_via":
            return L
        return 0 if L in UPPER else 3

    def planes(self) -> None:
        """Split regions of layers pouring several nets, and via ties of terminals to a pour on their carrier."""
        s = self.s
        inner = shapely.buffer(s.b.outline, -(self.rules.copper_to_edge + 1e-4), join_style="mitre")
        for L, nets in enumerate(s.pours):
            if len(nets) < 2:
                continue
            xs, ys, codes = [], [], []
            for n in nets:
                for t in self.terms[n]:
                    if self._touch(t, L):  # the net's copper on the layer: its cells are the net's area
                        xs.append(t.x)
                        ys.append(t.y)
                        codes.append(s.b.net(n))
            self._regions[L] = split_regions(inner, np.array(xs), np.array(ys), np.array(codes),
                                             [s.b.net(n) for n in nets], self.rules.clearance)
        self._tied: dict[tuple[str, int], int] = {}  # (net, terminal index) -> pour layer reached by a tie
        for n, ts in self.terms.items():
            layers = [L for L, nets in enumerate(s.pours) if n in nets]
            code = s.b.net(n)
            for k, t in enumerate(ts):
                if t.layer == SITE or any(self._on_pour(t, L, code) for L in layers):
                    continue
                other = t.layer ^ 1  # the other layer of its carrier (0-1, 2-3)
                if other in layers and self._inside(other, code, t.x, t.y):
                    cell = s.grid.cell(t.x, t.y)
                    top, bottom = min(t.layer, other), max(t.layer, other)
                    if s.router.column_free(cell, top, bottom, code) is None:
                        self.fixed_vias[n] = self.fixed_vias.get(n, 0) + s.router.place_column(cell, top, bottom, code)
                        self._tied[(n, k)] = other

    def _inside(self, L: int, code: int, x: float, y: float) -> bool:
        if L not in self._regions:
            return True
        region = self._regions[L].get(code)
        return region is not None and bool(region.contains(shapely.Point(x, y)))

    def _on_pour(self, t: PopTerm, L: int, code: int) -> bool:
        return self._touch(t, L) and self._inside(L, code, t.x, t.y)

    def _components(self, n: str, joins: list[tuple[int, int]]) -> list[int]:
        """Component root of each terminal of net ``n``: joined by its pours, ties and the routes ``joins``."""
        ts = self.terms[n]
        code = self.s.b.net(n)
        parent = list(range(len(ts)))

        def root(a: int) -> int:
            while parent[a] != a:
                parent[a] = parent[parent[a]]
                a = parent[a]
            return a

        for L, nets in enumerate(self.s.pours):
            if n in nets:
                on = [k for k, t in enumerate(ts) if self._on_pour(t, L, code) or self._tied.get((n, k)) == L]
                for k in on[1:]:
                    parent[root(k)] = root(on[0])
        for a, c in joins:
            parent[root(a)] = root(c)
        return [root(k) for k in range(len(ts))]

    def _tasks(self) -> list[tuple[str, tuple[int, int], list[int]]]:
        """What to route: (net, carrier, terminal indices; the first is the start), in a deterministic order."""
        out = []
        for n, ts in self.terms.items():
            poured = any(n in nets for nets in self.s.pours)
            if not poured:
                for pair in (LOWER, UPPER):
                    own = [k for k, t in enumerate(ts) if t.layer in pair]
                    sites = [k for k, t in enumerate(ts) if t.layer == SITE]
                    if pair == UPPER and own and sites:  # chip 2 to the nearest site; the lower tree joins the rest
                        cx, cy = np.mean([ts[k].x for k in own]), np.mean([ts[k].y for k in own])
                        sites = [min(sites, key=lambda k: (math.hypot(ts[k].x - cx, ts[k].y - cy), k))]
                    group = own + sites if own or len(sites) > 1 and pair == LOWER else []
                    if len(group) > 1:
                        out.append((n, pair, _chain(ts, group)))
                continue
            comp = self._components(n, [])
            size = {r: comp.count(r) for r in set(comp)}
            main = max(sorted(size), key=lambda r: size[r])
            for k in sorted(range(len(ts)), key=lambda k: (ts[k].layer, k)):
                if comp[k] == main:
                    continue
                for pair in ts[k].sides():
                    peers = [j for j, t in enumerate(ts) if comp[j] == main and pair in t.sides()]
                    if peers:
                        j = min(peers, key=lambda j: (math.hypot(ts[j].x - ts[k].x, ts[j].y - ts[k].y), j))
                        out.append((n, pair, [k, j]))
                        comp = [main if c == comp[k] else c for c in comp]
                        break
        return out

    def route(self) -> None:
        """Every task on its carrier's first layer (L3 below the resin, L2 above); failed tasks first in a new pass.

        From pass :data:`PASSES_ONE_LAYER` on, a task may also take its carrier's other layer (where it
        cuts that layer's pours; the connectivity check finds a pour left in pieces).
        """
        s = self.s
        tasks = self._tasks()
        saved = s.grid.snapshot(), s.b.snapshot(), s.router.snapshot()
        best = None
        ever: list[tuple] = []
        for _pass in range(PASSES):
            if _pass:
                s.grid.restore(saved[0])
                s.b.restore(saved[1])
                s.router.restore(saved[2])
            done, failed = self._route_pass(tasks, fallback=_pass >= PASSES_ONE_LAYER)
            if best is None or len(failed) < len(best[1]):
                best = (done, failed, s.grid.snapshot(), s.b.snapshot(), s.router.snapshot())
            if not failed:
                break
            now = [key for key, _u in failed]
            ever[:] = now + [k for k in ever if k not in now]
            rank = {k: i for i, k in enumerate(ever)}
            tasks = sorted(tasks, key=lambda t: rank.get(_key(t), len(rank)))
        assert best is not None
        done, failed, g, bs, rs = best
        s.grid.restore(g)
        s.b.restore(bs)
        s.router.restore(rs)
        self.results = {}
        for n, res in done:
            self.results.setdefault(n, []).append(res)
        s.unrouted = [u for _k, u in failed]
        if not failed:  # every net one piece: pours, ties and routes
            for n, ts in self.terms.items():
                joins = [(idx[0], j) for (m, _p, idx) in tasks if m == n for j in idx[1:]]
                if len(set(self._components(n, joins))) > 1:
                    t = ts[0]
                    s.unrouted.append(Unrouted(n, "its terminals are not joined (a pour does not reach them all)",
                                               t.x, t.y, 3))

    def _route_pass(self, tasks, *, fallback: bool):
        s = self.s
        done, failed = [], []
        for task in tasks:
            n, pair, idx = task
            ts = self.terms[n]
            code = s.b.net(n)
            layers = [2, 3] if pair == LOWER else [1, 0]
            layers = layers if fallback else layers[:1]
            res = None
            for L in layers:
                pts = [(ts[k].x, ts[k].y, self._layer_of(ts[k], L)) for k in idx]
                r = s.router.route(code, n, pts[:1], pts[1:], layers=[L])
                if isinstance(r, Routed):
                    res = r
                    break
                res = res or r
            if isinstance(res, Routed):
                done.append((n, res))
            else:
                failed.append((_key(task), res))
        return done, failed

    def fills(self) -> None:
        """Pour every mixed layer for its nets, clear of the castellations.

        A castellation is copper on every layer but kept out of the board's pad table.
        """
        s = self.s
        b = s.b
        state = b.snapshot()
        for c in self.castellated:  # stand-ins for the fill's obstacles only
            b.via(c.x, c.y, c.pad, c.drill, 0, 3, net=c.net, kind="through")
        geom = b.build()
        b.restore(state)
        for L, nets in enumerate(s.pours):
            if nets:
                b.zones.extend(plane_zones(geom, layer=L, nets=[b.net(n) for n in nets], clearance=self.rules.clearance,
                                           edge=self.rules.copper_to_edge, regions=self._regions.get(L)))

    # -- result -----------------------------------------------------------------------------------
    def finish(self) -> BoardGeom:
        """Measures in the sidecar and the ``-nets.csv`` report; the family adds its drawings and notes."""
        routing = self._measures()
        self.s.b.extras = BoardExtras(sidecar={"routing": routing}, files={"-nets.csv": _nets_csv(routing)})
        return self.s.b.build()

    def _measures(self) -> dict:
        s = self.s
        lm = [f"L{k + 1}" for k in range(4)]
        nets = {}
        for n in self.terms:
            lengths: dict[int, float] = {}
            vias = self.fixed_vias.get(n, 0)
            for r in self.results.get(n, []):
                vias += r.vias
                for L, v in r.lengths.items():
                    lengths[L] = lengths.get(L, 0.0) + v
            poured = [lm[L] for L, p in enumerate(s.pours) if n in p]
            nets[n] = {"kind": "plane" if poured else "signal",
                       "layer": ",".join(poured or [lm[L] for L in sorted(lengths)] or ["-"]),
                       "length_mm": round(float(sum(lengths.values())), 4),
                       "length_by_layer_mm": {lm[L]: round(v, 4) for L, v in sorted(lengths.items())}, "vias": vias}
        used = sorted({L for rs in self.results.values() for r in rs for L in r.lengths})
        return {"nets": nets, "signal_layers_used": [lm[L] for L in used], "escape_layers": ["L2", "L3"],
                "no_connect": sorted(s.netlist.no_connect) if s.netlist else [],
                "sites": len(self.sites),
                "unrouted": [{"net": u.net, "reason": u.reason, "x": round(u.x, 4), "y": round(u.y, 4),
                              "layer": lm[u.layer]} for u in s.unrouted]}


def _key(task) -> tuple:
    n, pair, idx = task
    return n, pair, tuple(idx)


def _chain(ts: list[PopTerm], group: list[int]) -> list[int]:
    """``group`` ordered for a tree: a bump first (else the first), then each next the nearest to those before."""
    start = next((k for k in group if ts[k].kind == "bump"), group[0])
    out, rest = [start], [k for k in group if k != start]
    while rest:
        xs = np.array([ts[k].x for k in out])
        ys = np.array([ts[k].y for k in out])
        d = [float(np.min(np.hypot(xs - ts[k].x, ys - ts[k].y))) for k in rest]
        k = rest[int(np.argmin(d))]
        out.append(k)
        rest.remove(k)
    return out


def die_drawings(spec) -> tuple[list[Drawing], shapely.Geometry]:
    """The dies' outlines on ``User.3`` and their union (mm).

    Args:
        spec: a validated ``PopSpec`` (die positions and sizes, mm).

    Example:
        >>> from kisubstrate.families.registry import example_spec
        >>> drawings, union = die_drawings(example_spec("pop"))
        >>> [d.label for d in drawings], union.bounds
        (['die U1', 'die U2'], (-2.5, -2.5, 2.5, 2.5))
    """
    out, polys = [], []
    for d in spec.dies:
        (x0, y0), (dw, dh) = d.position, d.size
        box = shapely.box(x0 - dw / 2, y0 - dh / 2, x0 + dw / 2, y0 + dh / 2)
        polys.append(box)
        out.append(Drawing(tuple((float(a), float(c)) for a, c in shapely.get_coordinates(box.exterior)[:-1]),
                           "User.3", label=f"die {d.name}"))
    return out, shapely.union_all(polys)


__all__ = ["PopPipeline", "PopTerm", "die_drawings"]


register(Family(name="pop", spec=PopSpec, footprint=build_footprint, substrate=build_board,
                checks=(pop_checks, check_routed),
                summary="flip-chip package-on-package: two carriers, back-to-back chips, resin, through vias, "
                        "PoP lands"))
