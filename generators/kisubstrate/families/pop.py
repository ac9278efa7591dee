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
from dataclasses import replace
from typing import Any, ClassVar, Literal

import numpy as np
import shapely
from pydantic import Field, model_validator

from kisubstrate.families.buildup import terminal_sites
from kisubstrate.families.cavity import note_drawings
from kisubstrate.families.flipchip import check_routed
from kisubstrate.families.grid_array import BgaSpec, build_grid_array, terminal_footprint_spec
from kisubstrate.families.pop_pipeline import PopPipeline, die_drawings
from kisubstrate.families.registry import Family, register
from kisubstrate.geometry.assign import assign_around_centroid
from kisubstrate.geometry.board import (
    BoardBuilder,
    BoardExtras,
    BoardGeom,
    Castellation,
    Drawing,
)
from kisubstrate.geometry.terminals import grid_sites, place_terminal_lands, ring_index
from kisubstrate.model.base import SpecModel, length
from kisubstrate.model.errors import SpecError
from kisubstrate.model.grid import GridSpec
from kisubstrate.model.substrate import Stackup, SubstrateSpec, ViaSize
from kisubstrate.model.units import snap
from kisubstrate.rules.report import Violation

USER_LAYERS = {"User.2": "Fab.Notes", "User.3": "Dies"}
SIDE_LAYER = "User.4"  # interconnect: side_trace -- the traces over the package side
ADHESIVE = {"epsilon_r": 3.5, "loss_tangent": 0.01, "description": "die-attach film (typical placeholder)"}


class Carrier(SpecModel):
    """A chip carrier: a two-layer substrate or tape (core + copper on both sides)."""

    core: float = length("core (dielectric) thickness", le=2)
    material: str = Field("BT", description="core material (e.g. BT, polyimide for a tape carrier)")
    copper: float = length("copper thickness, each side", le=0.2, default=0.015)
    kind: Literal["substrate", "tape"] = Field("substrate", description="documentation")


class Resin(SpecModel):
    """Resin filling the gap between the carriers."""

    thickness: float = length("gap between the carriers (resin thickness)", le=3)
    material: str = Field("epoxy")


class Adhesive(SpecModel):
    """Adhesive bonding the two dies back to back."""

    thickness: float = length("adhesive thickness", le=0.5, default=0.02)
    material: str = Field("DAF", description="material; 'DAF' (die-attach film) is predefined")


class TopLands(GridSpec):
    """Lands on the second carrier's top (L1) for the memory package: its ball grid seen from above."""

    land: float = length("land (copper) diameter", le=5)
    ball_diameter: float = length("memory package ball diameter", le=5)
    mask: Literal["smd", "nsmd"] = Field("smd")


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
    bump_heights: tuple[float, float] = Field(description="collapsed bump height of chip 1 and chip 2 (mm)",
                                              json_schema_extra={"unit": "mm"})
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
            rmat, amat = resin.get("material", "epoxy"), adh.get("material", "DAF")
            diel = {"dielectric": t_res, "material": rmat, "type": "prepreg"}
            if upper > 1e-6:
                # top first: chip 2 hangs from the second carrier above the adhesive, chip 1 sits below it
                diel["plies"] = [{"thickness": round(upper, 6), "material": rmat, "role": "resin (chip 2 level)"},
                                 {"thickness": t_adh, "material": amat, "role": "adhesive"},
                                 {"thickness": round(lower, 6), "material": rmat, "role": "resin (chip 1 level)"}]
            pours = data.get("pours") or {}
            layers = [{"copper": c2.get("copper", 0.015), "name": "POP"},
                      {"dielectric": c2["core"], "material": c2.get("material", "BT"), "type": "core"},
                      {"copper": c2.get("copper", 0.015), "name": "CHIP2"}, diel,
                      {"copper": c1.get("copper", 0.015), "name": "CHIP1"},
                      {"dielectric": c1["core"], "material": c1.get("material", "BT"), "type": "core"},
                      {"copper": c1.get("copper", 0.015), "name": "BGA"}]
            if isinstance(pours, dict):
                for lay in layers:
                    if lay.get("name") in pours and pours[lay["name"]]:
                        lay.update(role="mixed", nets=pours[lay["name"]])
        except (KeyError, TypeError, ValueError, IndexError, AttributeError):
            return data  # the field validators report what is missing or wrong
        return {**data, "stackup": {"layers": layers, "materials": {"DAF": ADHESIVE},
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
        self.stackup.material(self.adhesive.material)
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
    them (:class:`~kisubstrate.families.pop_pipeline.PopPipeline`); routing is deterministic, so
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
                           summary=tuple(summary), sidecar={"zstack": _zstack_sidecar(z), "routing": routing})
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
        f"CARRIERS: 1st {spec.carriers[0].kind} {spec.carriers[0].material} {spec.carriers[0].core:g} mm (L3-L4), "
        f"2nd {spec.carriers[1].kind} {spec.carriers[1].material} {spec.carriers[1].core:g} mm (L1-L2); "
        f"resin {spec.resin.material} {spec.resin.thickness:g} mm with adhesive {spec.adhesive.thickness:g} mm.",
        *([f"THROUGH VIAS: {through} x drill {via.drill:g} mm / pad {via.pad:g} mm, L1-L4 through both "
           "carriers and the resin, filled and capped (via-in-pad under PoP lands and balls)."]
          if spec.interconnect == "through_via" else side_trace_notes(spec, castellated, carrier)),
        "KiCad copper: L1 F.Cu (PoP lands), L2 In1.Cu (chip 2 bumps), L3 In2.Cu (chip 1 bumps), L4 B.Cu (BGA)."]
    return list(summary), notes, z


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
    land_t, land_b = tl.land, t.land_mm()
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
                         owner="POP")
    place_terminal_lands(b, bottom, land=land_b, mask=t.mask, rules=rules, layer=3, nets=ball_net,
                         net_of_site=ball_site_net)

    # -- drawings, notes ------------------------------------------------------------------------------
    dies_poly = []
    for d in spec.dies:
        (x0, y0), (dw, dh) = d.position, d.size
        box = shapely.box(x0 - dw / 2, y0 - dh / 2, x0 + dw / 2, y0 + dh / 2)
        dies_poly.append(box)
        b.drawings.append(Drawing(tuple((float(a), float(c)) for a, c in shapely.get_coordinates(box.exterior)[:-1]),
                                  "User.3", label=f"die {d.name}"))
    z = zstack(spec)
    summary = zstack_report(spec, z)
    notes = summary + [
        f"CARRIERS: 1st {spec.carriers[0].kind} {spec.carriers[0].material} {spec.carriers[0].core:g} mm (L3-L4), "
        f"2nd {spec.carriers[1].kind} {spec.carriers[1].material} {spec.carriers[1].core:g} mm (L1-L2); "
        f"resin {spec.resin.material} {spec.resin.thickness:g} mm with adhesive {spec.adhesive.thickness:g} mm.",
        *([f"THROUGH VIAS: {len(top.names)} x drill {via.drill:g} mm / pad {via.pad:g} mm, L1-L4 through both "
           "carriers and the resin, filled and capped (via-in-pad under PoP lands and balls)."]
          if spec.interconnect == "through_via" else side_trace_notes(spec, castellated, len(site_layer))),
        "KiCad copper: L1 F.Cu (PoP lands), L2 In1.Cu (chip 2 bumps), L3 In2.Cu (chip 1 bumps), L4 B.Cu (BGA)."]
    b.drawings += note_drawings(notes, bx + 1.0, -by)
    users = dict(USER_LAYERS) | ({SIDE_LAYER: "Side.Traces"} if castellated else {})
    b.extras = BoardExtras(dies=shapely.union_all(dies_poly), body=body, user_layers=users,
                           castellated=tuple(castellated), files={"-fab-notes.txt": "\n".join(notes) + "\n"},
                           summary=tuple(summary),
                           sidecar={"zstack": {k: v for k, v in z.items() if k not in ("terms", "standoff_needs")}
                                    | {"terms": [list(x) for x in z["terms"]],
                                       "standoff_needs": [list(x) for x in z["standoff_needs"]]}})
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
    land = max(spec.top_lands.land, spec.terminals.land_mm())
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


register(Family(name="pop", spec=PopSpec, footprint=build_footprint, substrate=build_board,
                checks=(pop_checks, check_routed),
                summary="flip-chip package-on-package: two carriers, back-to-back chips, resin, through vias, "
                        "PoP lands"))
