"""Wafer-level stacked dies with through-silicon vias (``family: wafer_stack``): RDL/TSV board, WLCSP, wafer map.

Physical copper layers, top (ball side, built last on the wafer) first::

    L1  RDL      ● ball lands, routed RDL traces from the die-pad vias to the balls   (KiCad F.Cu)
        resin sealing layer (dielectric)          ╎ resin via (micro) at each die pad
    L2  die N pattern face (pads)                  ║
        die N silicon                              ║ TSV (blind via) through the die layers
    L3  die N back                                 ║
        insulating layer                           ║
    L4  die N-1 pattern face … die 1 pattern face ─╜
        die 1 silicon
    Ln  heat-radiation layer on the back of the lowest die (zone, e.g. GND)   (KiCad B.Cu)

Every die has the same pad pattern (``pads``); pad k of every die sits on one TSV column,
reached from the RDL by a resin via, and is drawn in copper on each die's pattern layer. The
package netlist is the die pad map (``pad,x,y,net``) and the ball map (``ball,net``, many balls
per net, NC): every net is routed on the RDL by the shared router (power / ground first at
``power_width``), and the heat layer may carry a net (e.g. ``GND``): its pads' TSVs run on to it
and its balls drop to it through thermal TSVs, which must stay out of the dies' ``active_area``.
Without a ball map the issue-5 netlist is generated (pad k → an outer-ring ball by angle, net
``P<k>``; with ``thermal_balls`` the inner balls clear of the active area on the heat net).
The WLCSP land pattern for the board designer comes from the grid-array builder
(``family: wlcsp``; pitch 0.35–0.5 mm, CSP courtyard). The balls (RDL, ``F.Cu``) face the PCB:
the package mounts flipped, so the footprint is the board's balls mirrored in x, A1 top-left
(the board names its ball columns mirrored; viewing convention: :mod:`kisubstrate.geometry.terminals`).

The **wafer map** steps the package sites (body + dicing street) over a 150 / 200 /
300 mm wafer: a site is whole when its rectangle lies inside the edge-exclusion circle
(exact corner distances) and clear of the notch (or flat) keep-out; ``align: auto`` tries
a site or a street on each wafer axis and keeps the best count.

Example:
    >>> m = wafer_map(site=(20.0, 20.0), street=0.0, diameter=150, edge_exclusion=3.0, notch="none",
    ...               align="street")
    >>> m.whole, m.pitch
    (24, (20.0, 20.0))
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, replace
from typing import Any, Literal

import numpy as np
import shapely
from pydantic import Field, ValidationInfo, field_validator, model_validator

from kisubstrate.families.buildup import terminal_sites
from kisubstrate.families.flipchip import check_routed
from kisubstrate.families.grid_array import WlcspSpec, build_grid_array, terminal_footprint_spec
from kisubstrate.families.registry import Family, register
from kisubstrate.geometry.assign import assign_by_angle
from kisubstrate.geometry.board import (
    BoardBuilder,
    BoardExtras,
    BoardGeom,
    Drawing,
    Zone,
)
from kisubstrate.geometry.pipeline import ROUTE_PASSES, _nets_csv
from kisubstrate.geometry.route.grid import RouteGrid
from kisubstrate.geometry.route.router import Routed, Router, Unrouted, route_in_passes
from kisubstrate.geometry.terminals import ball_land, place_terminal_lands, ring_index
from kisubstrate.model.base import PackageSpec, SpecModel, length, resolve_rules
from kisubstrate.model.errors import FieldError, SpecError
from kisubstrate.model.netlist import Terminal, build_netlist, is_no_connect
from kisubstrate.model.substrate import (
    DiePads,
    DieSpec,
    Stackup,
    SubstrateRuleAccess,
    Terminals,
    ViaSize,
    load_substrate_rules,
)
from kisubstrate.model.units import fmt, snap

WAFER_MM = (150, 200, 300)
NOTCH_DEPTH = 1.0  # SEMI M1: orientation notch depth 1.00 mm (+0.25 / -0), 90 degrees
FLAT_LENGTH = {150: 57.5}  # SEMI M1: primary flat of a 150 mm wafer
WLCSP_PITCH = (0.35, 0.5)


class StackDie(SpecModel):
    """One die of the stack (the list runs bottom first: die 1 carries the heat-radiation layer)."""

    name: str = Field(pattern=r"^[A-Za-z][A-Za-z0-9_]*$", description="die name")
    thickness: float = length("thinned die (silicon) thickness", le=1, default=0.05)


class Layer(SpecModel):
    """A dielectric of the stack: thickness and material."""

    thickness: float = length("thickness", le=1)
    material: str = Field("epoxy", description="material (stackup table)")


THIN_FILM_MAX = 0.02
"""A thin-film heat layer (sputtered / evaporated, thickened by plating) is at most 20 µm thick
(mm): thicker metal is a plated or laminated sheet, not a film (e.g. Ohring, *Materials Science of
Thin Films*, ch. 1: films ≲ 10 µm; electroplated RDL/UBM copper of WLCSPs 5–20 µm)."""

SUPPORT_MIN = 0.1
"""A heat layer that acts as the support of the thinned stack must be at least 100 µm thick (mm):
wafers thinned below ~100 µm cannot be handled without a carrier (temporary-bonding practice,
e.g. Brewer Science / EVG thin-wafer handling notes, and JEDEC JEP158 for 3D TSV stacks)."""

HEAT_METALS = {"copper": "copper", "cu": "copper", "aluminium": "aluminium", "aluminum": "aluminium",
               "al": "aluminium"}

POWER_NAME = re.compile(r"^(A|D|P|S)?(GND|VSS|VDD|VCC|VPP|VBAT|VREF)", re.IGNORECASE)
"""Net names taken as power / ground (routed with ``power_width``)."""

POWER_BALLS = 3
"""A net on at least this many balls is routed as power / ground too."""


class HeatLayer(SpecModel):
    """The heat-radiation layer on the back of the lowest die (all lengths mm)."""

    material: str = Field("copper", pattern=r"^[A-Za-z][A-Za-z0-9 _.-]*$",
                          description="copper, aluminium (also spelt aluminum) or an alloy name (e.g. CuW)")
    thickness: float | None = length("metal thickness (default: the spec's copper)", le=2, default=None)
    thin_film: bool = Field(False, description=f"deposited thin film (at most {THIN_FILM_MAX * 1000:g} µm)")
    support: bool = Field(False, description=f"acts as the support of the thinned stack (at least "
                                             f"{SUPPORT_MIN * 1000:g} µm)")
    net: str = Field("HEAT", min_length=1, max_length=60,
                     description="net of the layer: HEAT (thermal only) or a ball-map net, e.g. GND")

    @property
    def metal(self) -> str:
        """The material as written in the outputs (``aluminum`` → ``aluminium``; alloys as given)."""
        return HEAT_METALS.get(self.material.lower(), self.material)

    def check(self) -> None:
        """Refuse a layer that cannot be built (called by the spec's validator: located field errors)."""
        t = self.thickness
        if self.thin_film and self.support:
            raise FieldError("heat_layer.support", "a thin film cannot act as the support of the stack: give "
                             "thin_film: false for a support")
        if self.thin_film and t is not None and t > THIN_FILM_MAX + 1e-9:
            raise FieldError("heat_layer.thickness", f"a thin-film heat layer is at most {fmt(THIN_FILM_MAX)} mm "
                             f"thick (got {fmt(t)} mm): give thin_film: false for a plated or laminated sheet")
        if self.support and (t is None or t < SUPPORT_MIN - 1e-9):
            raise FieldError("heat_layer.thickness", f"a heat layer acting as the support of the thinned stack "
                             f"must be at least {fmt(SUPPORT_MIN)} mm thick (got "
                             f"{fmt(t) + ' mm' if t is not None else 'none'})")


class WaferSpec(SpecModel):
    """The wafer the packages are made on (mm)."""

    diameter: Literal[150, 200, 300] = Field(200, description="wafer diameter (mm)")
    street: float = length("dicing street (saw kerf lane) between sites", ge=0, le=2, default=0.08)
    edge_exclusion: float = length("edge exclusion ring", ge=0, le=20, default=3.0)
    notch: Literal["notch", "flat", "none"] | None = Field(None, description="orientation mark: notch "
                                                           "(default 200/300 mm), flat (default 150 mm), none")
    align: Literal["auto", "site", "street"] = Field("auto", description="wafer centre on a site centre, on a "
                                                     "street crossing, or the best of both per axis")

    @property
    def mark(self) -> str:
        """The orientation mark actually used."""
        return self.notch or ("flat" if self.diameter == 150 else "notch")


class WaferStackSpec(SubstrateRuleAccess, PackageSpec):
    """Wafer-level stack of dies with TSVs, RDL and WLCSP balls (all lengths mm)."""

    family: Literal["wafer_stack"] = "wafer_stack"
    body: tuple[float, float] = Field(description="package (= diced die) x, y", json_schema_extra={"unit": "mm"})
    dies: list[StackDie] = Field(description="dies, lowest first (2 .. 8)")
    pads: DiePads = Field(description="pad pattern of every die (one TSV column per pad)")
    insulator: Layer = Field(default_factory=lambda: Layer(thickness=0.01, material="BCB"),
                             description="insulating layer between a die's back and the next die's pattern")
    resin: Layer = Field(default_factory=lambda: Layer(thickness=0.03, material="epoxy"),
                         description="resin sealing layer on top (under the RDL)")
    copper: float = length("RDL / pattern / heat-layer copper thickness", le=0.1, default=0.005)
    heat_layer: bool | HeatLayer = Field(True, description="heat-radiation layer on the back of the lowest die: "
                                         "true / false, or {material, thickness, thin_film, support, net}")
    thermal_balls: bool = Field(True, description="without a ball-map netlist: the inner balls clear of the "
                                "active area tied to the heat layer by thermal TSVs")
    active_area: tuple[float, float] | None = Field(
        None, description="the dies' active (circuit) area x, y, centred: thermal TSVs stay out of it; "
        "default: inside the die-pad ring", json_schema_extra={"unit": "mm"})
    power_width: float | None = length("RDL trace width of power / ground nets (default 2 x the profile's)",
                                       le=1, default=None)
    terminals: Terminals
    tsv: ViaSize | None = Field(None, description="TSV drill / pad (default: the profile's via)")
    resin_via: ViaSize | None = Field(None, description="resin via drill / pad (default: profile microvia)")
    wafer: WaferSpec = Field(default_factory=WaferSpec)
    rules: str = Field("substrate-wlp", description="substrate rule profile (wafer-level RDL and TSVs)")
    footprint_rules: str = Field("hdi-fine", description="rule profile of the WLCSP footprint")
    materials: dict[str, Any] = Field(default_factory=dict, description="extra materials (stackup table)")

    @field_validator("rules")
    @classmethod
    def _rules_exist(cls, v: str, info: ValidationInfo) -> str:
        return resolve_rules(v, info, load_substrate_rules)

    @field_validator("footprint_rules")
    @classmethod
    def _footprint_rules_exist(cls, v: str, info: ValidationInfo) -> str:
        from kisubstrate.model.rules import load_rules

        return resolve_rules(v, info, load_rules, "footprint_rules")

    # -- derived -----------------------------------------------------------------------------------
    def default_name(self) -> str:
        """``WLCSP-<balls>-<dies>Die-TSV_<x>x<y>mm_P<pitch>mm``."""
        t = self.terminals
        return (f"WLCSP-{len(terminal_sites(self).names)}-{len(self.dies)}Die-TSV_{fmt(self.body[0])}x"
                f"{fmt(self.body[1])}mm_P{fmt(t.pitch_xy[0])}mm")

    @property
    def die(self) -> DieSpec:
        """The common die (size = body, pads = ``pads``)."""
        return DieSpec(name="D", size=self.body, pads=self.pads)

    @property
    def heat(self) -> HeatLayer | None:
        """The heat-radiation layer (None without one)."""
        if self.heat_layer is True:
            return HeatLayer()
        return self.heat_layer or None

    def active_rect(self) -> tuple[float, float]:
        """Half sizes (mm) of the dies' active area: ``active_area``, or inside the die-pad ring."""
        if self.active_area is not None:
            return self.active_area[0] / 2, self.active_area[1] / 2
        pads = self.die.pad_list()
        half = self.pads.size / 2
        return (max(max(abs(p.x) for p in pads) - half, 0.0), max(max(abs(p.y) for p in pads) - half, 0.0))

    def power_width_mm(self) -> float:
        """RDL width of power / ground traces (mm)."""
        return self.power_width if self.power_width is not None else 2 * self.width()

    def land(self) -> tuple[float, float]:
        """Ball land copper diameter and mask margin (mm) (:func:`~kisubstrate.geometry.terminals.ball_land`)."""
        t = self.terminals
        return ball_land(t.ball_diameter, t.mask, self.substrate_rules(), t.land)

    @property
    def stackup(self) -> Stackup:
        """RDL, resin, then per die (top first) pattern / silicon / back / insulator, heat layer last."""
        cu = self.copper
        layers: list[dict] = [{"copper": cu, "name": "RDL"},
                              {"dielectric": self.resin.thickness, "material": self.resin.material}]
        top_first = list(reversed(self.dies))
        for k, d in enumerate(top_first):
            layers.append({"copper": cu, "name": f"{d.name}.pattern"})
            layers.append({"dielectric": d.thickness, "material": "silicon", "type": "core"})
            last = k == len(top_first) - 1
            heat = self.heat
            layers.append({"copper": heat.thickness or cu if last and heat else cu,
                           "name": "HEAT" if last else f"{d.name}.back"})
            if not last:
                layers.append({"dielectric": self.insulator.thickness, "material": self.insulator.material})
        mats = {"silicon": {"epsilon_r": 11.7, "loss_tangent": 0.005,
                            "description": "silicon (die substrate), typical"}, **self.materials}
        return Stackup.model_validate({"layers": layers, "materials": mats, "default_material": "epoxy",
                                       "finish": "ENEPIG", "mask_thickness": 0.01})

    def micro(self) -> ViaSize:
        """Resin-via size."""
        r = self.substrate_rules()
        return self.resin_via or ViaSize(drill=r.microvia_drill, pad=r.microvia_pad)

    def tsv_size(self) -> ViaSize:
        """TSV size."""
        r = self.substrate_rules()
        return self.tsv or ViaSize(drill=r.via_drill, pad=r.via_pad)

    def wlcsp_spec(self) -> WlcspSpec:
        """The WLCSP land pattern spec from the terminal grid, seen from the PCB (offset mirrored in x)."""
        t = self.terminals
        return terminal_footprint_spec(WlcspSpec, self, t, flipped=True, ball_diameter=t.ball_diameter,
                                       pad_diameter=t.board_pad_diameter)

    @field_validator("dies")
    @classmethod
    def _two_or_more(cls, v: list[StackDie]) -> list[StackDie]:
        if not 2 <= len(v) <= 8:
            raise ValueError(f"a wafer-level stack has 2 .. 8 dies (got {len(v)})")
        return v

    @model_validator(mode="after")
    def _check(self) -> "WaferStackSpec":
        t = self.terminals
        lo, hi = WLCSP_PITCH
        if not all(lo - 1e-9 <= p <= hi + 1e-9 for p in t.pitch_xy):
            raise FieldError("terminals.pitch", f"WLCSP ball pitch must be {lo:g} .. {hi:g} mm "
                             f"(got {fmt(t.pitch_xy[0])} x {fmt(t.pitch_xy[1])} mm)")
        if not all(0 < b <= 300 for b in self.body):
            raise FieldError("body", "body sides must be > 0 and <= 300 mm")
        usable = self.wafer.diameter / 2 - self.wafer.edge_exclusion
        if math.hypot(*self.body) / 2 > usable:
            raise FieldError("wafer", f"a {fmt(self.body[0])} x {fmt(self.body[1])} mm site does not fit the "
                             f"{self.wafer.diameter} mm wafer inside its {fmt(self.wafer.edge_exclusion)} mm edge "
                             f"exclusion (usable radius {fmt(usable)} mm)")
        if self.heat is not None:
            self.heat.check()
        if self.netlist_given() and "thermal_balls" in self.model_fields_set and not self.thermal_balls:
            raise FieldError("thermal_balls", "with a ball-map netlist the balls of the heat layer's net are the "
                             "thermal balls: drop thermal_balls, or give those balls another net")
        _ = self.die  # pads on the die (raises located errors)
        names = [d.name for d in self.dies]
        if len(set(names)) != len(names):
            raise FieldError("dies", f"die names repeat: {names}")
        bx, by = self.body[0] / 2, self.body[1] / 2
        for axis, n, p, half, off in (("x", t.columns, t.pitch_xy[0], bx, t.offset[0]),
                                      ("y", t.rows, t.pitch_xy[1], by, t.offset[1])):
            if (n - 1) * p / 2 + abs(off) + t.land_mm() / 2 > half + 1e-9:
                raise FieldError("terminals.layout", f"ball grid ({n} x {fmt(p)} mm in {axis}) does not fit the "
                                 f"{fmt(2 * half)} mm body")
        land = self.land()[0]
        if land >= min(t.pitch_xy):
            raise FieldError("terminals.land", f"ball land {fmt(land)} mm ({t.mask.upper()}, "
                             f"{fmt(t.ball_diameter)} mm ball) must be smaller than the pitch")
        if not self.netlist_given() and len(self.die.pad_list()) > len(outer_ring(self)):
            raise FieldError("pads", f"{len(self.die.pad_list())} die pads but only {len(outer_ring(self))} "
                             "outer-ring balls to route them to on the single RDL")
        for key, via, given in (("tsv", self.tsv_size(), self.tsv), ("resin_via", self.micro(), self.resin_via)):
            if via.pad > self.pads.size + 1e-9:  # the land sits on the die pad it joins
                raise FieldError(f"{key}.pad" if given else key, f"the {key.replace('_', ' ')} land "
                                 f"{fmt(via.pad)} mm does not fit the {fmt(self.pads.size)} mm die pad "
                                 f"(pads.size): give {key}: {{drill, pad}} with pad <= {fmt(self.pads.size)} mm"
                                 + ("" if given else " (the default is the rule profile's)"))
        _ = self.stackup  # builds the stack-up (raises located errors)
        return self


    def netlist_given(self) -> bool:
        """True when the ball map assigns nets (the package netlist), False for the generated one."""
        bm = self.terminals.ball_map
        return bm is not None and bool(bm.nets)


def outer_ring(spec: WaferStackSpec) -> list[int]:
    """Indices of the populated outer-ring terminal sites."""
    t = spec.terminals
    s = terminal_sites(spec)
    ring = ring_index(s, t.columns, t.rows)
    return np.flatnonzero(ring == 0).tolist()


# -- the package netlist ------------------------------------------------------------------------
DIE_OWNER = "D"  # owner of the die-pad terminals of the netlist (pad k of every die: one TSV column)


def package_terminals(spec: WaferStackSpec, sites) -> tuple[list[Terminal], list[Terminal]]:
    """The die pads and the balls with their nets (mm, board frame).

    With a ball-map netlist: the pads' nets from the die pad map (``pad,x,y,net``) and the balls'
    from the ball map (NC or unlisted: no connection). Without one, the netlist is generated as in
    issue 5: die pad k gets net ``P<k>`` (or its map net) and an outer-ring ball by angle, so the
    single RDL needs no crossing; with ``thermal_balls`` the inner balls clear of the active area
    get the heat layer's net.

    Args:
        spec: the validated spec.
        sites: the ball sites on the board (:func:`~kisubstrate.families.buildup.terminal_sites`).
    """
    pads = spec.die.pad_list()
    src = spec.pads.map_file or ""
    if spec.netlist_given():
        bumps = [Terminal(DIE_OWNER, p.name, p.x, p.y, p.net, src, p.line) for p in pads]
        bm = spec.terminals.ball_map
        line = dict(zip((ball for ball, _ in bm.nets), bm.lines))
        balls = [Terminal("BALLS", n, x, y, bm.net_of.get(n, ""), bm.path, line.get(n, 0))
                 for n, x, y in zip(sites.names, sites.x.tolist(), sites.y.tolist())]
        return bumps, balls
    bumps = [Terminal(DIE_OWNER, p.name, p.x, p.y, p.net or f"P{p.name}", src, p.line) for p in pads]
    ring = np.array(outer_ring(spec))
    ball_ang = np.arctan2(sites.y[ring], sites.x[ring])
    pick = ring
    if len(ring) > len(pads):  # spread the pads over the ring
        order = ring[np.argsort(ball_ang, kind="stable")]
        sel = np.unique(np.floor(np.arange(len(pads)) * len(order) / len(pads)).astype(int))
        pick = order[sel]
        ball_ang = np.arctan2(sites.y[pick], sites.x[pick])
    match = assign_by_angle(np.array([math.atan2(p.y, p.x) for p in pads]), ball_ang)
    net_of = {int(pick[match[k]]): t.net for k, t in enumerate(bumps)}
    heat = spec.heat
    if heat is not None and spec.thermal_balls:
        ax, ay = spec.active_rect()
        r = spec.substrate_rules().via_pad / 2
        clear = _outside(sites.x, sites.y, ax, ay, r)
        for i in np.flatnonzero(clear & (ring_index(sites, spec.terminals.columns, spec.terminals.rows) > 0)):
            net_of[int(i)] = heat.net
    balls = [Terminal("BALLS", n, x, y, net_of.get(i, "")) for i, (n, x, y) in
             enumerate(zip(sites.names, sites.x.tolist(), sites.y.tolist()))]
    return bumps, balls


def _outside(x, y, ax: float, ay: float, r: float):
    """True where a disc of radius ``r`` (mm) at (x, y) stays out of the centred rectangle ±ax × ±ay."""
    dx = np.maximum(np.abs(np.asarray(x)) - ax, 0.0)
    dy = np.maximum(np.abs(np.asarray(y)) - ay, 0.0)
    return (np.hypot(dx, dy) >= r - 1e-9) | (ax <= 0) | (ay <= 0)


def is_power(net) -> bool:
    """True for a power / ground net: by name (:data:`POWER_NAME`) or on :data:`POWER_BALLS` balls or more."""
    return bool(POWER_NAME.match(net.name)) or len(net.balls) >= POWER_BALLS


def _check_thermal(spec: WaferStackSpec, balls: list[Terminal], heat_net: str) -> None:
    """Refuse a thermal TSV (under a ball of the heat net) that reaches into the dies' active area."""
    ax, ay = spec.active_rect()
    r = spec.substrate_rules().via_pad / 2
    for t in balls:
        if t.net != heat_net or _outside([t.x], [t.y], ax, ay, r)[0]:
            continue
        dx, dy = max(abs(t.x) - ax, 0.0), max(abs(t.y) - ay, 0.0)
        into = r - math.hypot(dx, dy)
        where = "active_area" if spec.active_area is not None else "terminals.ball_map"
        ring = "" if spec.active_area is not None else ": inside the die-pad ring"
        raise SpecError(f"{t.where()}the thermal TSV under {t.label} at ({fmt(t.x)}, {fmt(t.y)}) mm (land "
                        f"{fmt(2 * r)} mm) reaches {fmt(snap(into))} mm into the dies' active area "
                        f"({fmt(2 * ax)} x {fmt(2 * ay)} mm, centred{ring}): give the ball another net, or "
                        "active_area the dies' circuit area", field=where)


# -- the package board --------------------------------------------------------------------------
def build_board(spec: WaferStackSpec) -> BoardGeom:
    """RDL/TSV board of the stack, routed from the package netlist (see the module docstring).

    Die pad k of every die is one TSV column: a resin via from the RDL to the top die's pad, a TSV
    down to the lowest die's pattern (to the heat layer for the heat layer's net), the die pad drawn
    in copper on every die's pattern layer. Balls of the heat layer's net drop through thermal TSVs
    to it. Every other net is routed on the RDL by the shared router
    (:class:`~kisubstrate.geometry.route.router.Router`): power / ground first at ``power_width``,
    then the signals, failed nets first in a new pass.
    """
    rules = spec.substrate_rules()
    st = spec.stackup
    ncu = st.copper_count
    bx, by = spec.body[0] / 2, spec.body[1] / 2
    b = BoardBuilder(spec.resolved_name, copper=ncu, outline=shapely.box(-bx, -by, bx, by))
    t = spec.terminals
    sites = terminal_sites(spec)
    lowest_pattern = ncu - 2  # pattern face of die 1
    micro, tsv = spec.micro(), spec.tsv_size()
    heat = spec.heat
    heat_net = heat.net if heat is not None else None

    bumps, balls = package_terminals(spec, sites)
    on_pads = {p.net for p in bumps}
    thermal_only = heat_net is not None and heat_net not in on_pads
    if heat_net is not None:
        _check_thermal(spec, balls, heat_net)
    try:
        netlist = build_netlist(bumps, [x for x in balls if not (thermal_only and x.net == heat_net)],
                                plane_nets={heat_net} if heat_net is not None and not thermal_only else set())
    except SpecError as exc:  # the stack's die pads are the spec's ``pads``, not ``dies[].pads``
        if exc.field == "dies.pads.map":
            raise SpecError(exc.reason, field="pads.map") from None
        raise
    vias: dict[str, int] = {}
    for p in bumps:  # TSV columns: resin via, TSV; die pads in copper on every die's pattern
        if is_no_connect(p.net):
            code = 0
        else:
            code = b.net(p.net)
            if p.net == heat_net:  # joined through the heat layer: no resin via to the RDL
                b.via(p.x, p.y, tsv.pad, tsv.drill, 1, ncu - 1, net=code, kind="blind")
                vias[p.net] = vias.get(p.net, 0) + 1
            else:
                b.via(p.x, p.y, micro.pad, micro.drill, 0, 1, net=code, kind="micro")  # resin via to die N's pad
                b.via(p.x, p.y, tsv.pad, tsv.drill, 1, lowest_pattern, net=code, kind="blind")  # TSV column
                vias[p.net] = vias.get(p.net, 0) + 2
        for k, d in enumerate(reversed(spec.dies)):
            b.pad(d.name, p.name, p.x, p.y, spec.pads.size, layer=1 + 2 * k, net=code, shape="rect")
    for x in balls:  # thermal TSVs from the balls of the heat layer's net
        if heat_net is not None and x.net == heat_net:
            b.via(x.x, x.y, rules.via_pad, rules.via_drill, 0, ncu - 1, net=b.net(heat_net), kind="through")
            vias[heat_net] = vias.get(heat_net, 0) + 1
    land, margin = spec.land()
    place_terminal_lands(b, sites, land=land, mask=t.mask, rules=rules, layer=0, margin=margin,
                         net_of_site={i: b.net(x.net) for i, x in enumerate(balls) if not is_no_connect(x.net)})

    to_route = [n for n in netlist.nets if not n.plane]
    if spec.power_width is not None and not any(is_power(n) for n in to_route):
        raise SpecError(f"power_width {fmt(spec.power_width)} mm is given but no net is routed as power / ground "
                        f"on the RDL (names {POWER_NAME.pattern} or nets on {POWER_BALLS}+ balls): drop it",
                        field="power_width")
    routed, unrouted = route_rdl(b, spec, to_route, sites)

    if heat is not None:
        region = shapely.box(-bx, -by, bx, by).buffer(-rules.copper_to_edge - 0.01, join_style="mitre")
        code = b.net(heat_net)
        g = b.build()
        on = (g.vias.bottom == ncu - 1) & (g.vias.net != code)
        if on.any():  # other nets' vias reaching the heat layer: cleared by the clearance
            holes = shapely.buffer(shapely.points(g.vias.x[on], g.vias.y[on]), g.vias.size[on] / 2 + rules.clearance)
            region = shapely.difference(region, shapely.union_all(holes))
        b.zones.append(Zone(name="heat", layers=(ncu - 1,), outline=shapely.box(-bx, -by, bx, by).buffer(
            -rules.copper_to_edge - 0.01, join_style="mitre"), net=code, fill=region))

    def rect(x0: float, y0: float) -> tuple[tuple[float, float], ...]:
        return ((-x0, -y0), (x0, -y0), (x0, y0), (-x0, y0))

    b.drawings.append(Drawing(rect(bx, by), "F.Fab", label="package (diced site)"))
    ax, ay = spec.active_rect()
    if ax > 0 and ay > 0:
        b.drawings.append(Drawing(rect(ax, ay), "B.Fab", width=0.01, label="dies' active area (no thermal TSV)"))
    notes = fab_notes(spec)
    b.drawings += [Drawing(((-bx, by + 0.3 + k * 0.25),), "User.2", text=line, size=0.15, label="fab note")
                   for k, line in enumerate(notes)]
    routing = _routing(b, spec, netlist, routed, unrouted, vias, sites, heat_net, balls)
    b.extras = BoardExtras(dies=shapely.box(-bx, -by, bx, by), body=shapely.box(-bx, -by, bx, by),
                           user_layers={"User.2": "Fab.Notes"},
                           files={"-nets.csv": _nets_csv(routing), "-fab-notes.txt": "\n".join(notes) + "\n"},
                           summary=tuple(_route_summary(routing)),
                           sidecar={"dies_bottom_first": [d.name for d in spec.dies], "routing": routing,
                                    "heat_layer": _heat_sidecar(spec), "ball_land": {
                                        "ball_mm": t.ball_diameter, "mask": t.mask, "land_mm": land,
                                        "opening_mm": round(land + 2 * margin, 6)}})
    return b.build()


def _heat_sidecar(spec: WaferStackSpec) -> dict | None:
    h = spec.heat
    if h is None:
        return None
    return {"material": h.metal, "thickness_mm": h.thickness or spec.copper, "thin_film": h.thin_film,
            "support": h.support, "net": h.net}


def fab_notes(spec: WaferStackSpec) -> list[str]:
    """Fabrication note lines of the stack (drawn on ``User.2`` and written as ``-fab-notes.txt``).

    Example:
        >>> from kisubstrate.families.registry import example_spec
        >>> fab_notes(example_spec("wafer_stack"))[1]
        'HEAT LAYER: copper 0.01 mm, plated sheet, on the back of die D1, net GND'
    """
    t, h = spec.terminals, spec.heat
    land, margin = spec.land()
    out = [f"STACK: {len(spec.dies)} thinned dies ({', '.join(f'{d.name} {fmt(d.thickness)} mm' for d in spec.dies)}"
           f"), {spec.insulator.material} {fmt(spec.insulator.thickness)} mm between, {spec.resin.material} resin "
           f"{fmt(spec.resin.thickness)} mm under the RDL"]
    if h is not None:
        kind = "thin film" if h.thin_film else "plated sheet"
        out.append(f"HEAT LAYER: {h.metal} {fmt(h.thickness or spec.copper)} mm, {kind}"
                   f"{', support of the stack' if h.support else ''}, on the back of die {spec.dies[0].name}, "
                   f"net {h.net}")
    else:
        out.append("HEAT LAYER: none")
    tsv, rv = spec.tsv_size(), spec.micro()
    out.append(f"TSV: drill {fmt(tsv.drill)} mm, land {fmt(tsv.pad)} mm; resin via drill {fmt(rv.drill)} mm, land "
               f"{fmt(rv.pad)} mm; die pads {fmt(spec.pads.size)} mm")
    out.append(f"BALL LANDS: {t.mask.upper()}, {fmt(t.ball_diameter)} mm ball, copper {fmt(land)} mm, mask opening "
               f"{fmt(round(land + 2 * margin, 6))} mm")
    return out


def _grid_for(b: BoardBuilder, spec: WaferStackSpec, sites, width: float) -> RouteGrid:
    """The RDL routing grid at ``width`` with every RDL item of the board as an obstacle.

    Pitch = trace + space, stretched so the ball pitch is a whole number of cells; origin at a ball.
    """
    rules = spec.substrate_rules()
    step = width + rules.clearance
    pitch = spec.terminals.pitch_xy[0]
    n = math.floor(pitch / step + 1e-9)
    n -= n % 2 if n > 2 else 0  # an even number of cells per ball pitch: the channel between balls on a cell
    pitch = pitch / n if n >= 1 else step
    origin = (float(sites.x[0]), float(sites.y[0])) if len(sites.x) else (0.0, 0.0)
    grid = RouteGrid(b.outline, layers=1, pitch=pitch, width=width, clearance=rules.clearance,
                     via_pads=(spec.micro().pad,), edge=rules.copper_to_edge, origin=origin)
    g = b.build()
    p = g.pads
    on = p.layer == 0
    rad = np.where(np.asarray(p.shape) == "circle", np.maximum(p.w, p.h) / 2, np.hypot(p.w, p.h) / 2)
    # an NSMD opening is wider than its copper: other nets' traces stay out of it (no solder-mask bridge)
    rad = (rad + np.where(np.isnan(p.mask), 0.0, np.maximum(p.mask, 0.0)))[on]
    xs, ys, rs, ns = [p.x[on]], [p.y[on]], [rad], [p.net[on]]
    v = g.vias
    on = v.top == 0
    xs, ys, rs, ns = xs + [v.x[on]], ys + [v.y[on]], rs + [v.size[on] / 2], ns + [v.net[on]]
    x1, y1 = np.concatenate(xs), np.concatenate(ys)
    grid.add(0, x1, y1, x1, y1, np.concatenate(rs), np.concatenate(ns))
    tr = g.tracks
    on = tr.layer == 0
    if on.any():
        grid.add(0, tr.x1[on], tr.y1[on], tr.x2[on], tr.y2[on], tr.width[on] / 2, tr.net[on])
    return grid


def route_rdl(b: BoardBuilder, spec: WaferStackSpec, nets, sites) -> tuple[list[Routed], list[Unrouted]]:
    """Route ``nets`` on the RDL (copper 1): power / ground at ``power_width`` first, then the signals.

    Each group on a fresh grid holding the board's RDL copper; a net joins all its die pads and
    balls (a tree: the router joins each further terminal to the net's copper). Nets that fail are
    routed first in a new pass (at most :data:`~kisubstrate.geometry.pipeline.ROUTE_PASSES`).

    Args:
        b: the board builder (balls, resin vias already placed); tracks are added to it.
        spec: the validated spec.
        nets: the netlist's nets to route (``Net``: bumps = die pads, balls).
        sites: the ball sites (the grid's origin).
    """
    routed: list[Routed] = []
    unrouted: list[Unrouted] = []
    power = [n for n in nets if is_power(n)]
    signal = [n for n in nets if not is_power(n)]
    for group, width in ((power, spec.power_width_mm()), (signal, spec.width())):
        if not group:
            continue
        grid = _grid_for(b, spec, sites, width)
        router = Router(grid, b, hops=[], width=width)

        def span(n):
            xs = [t.x for t in n.terminals]
            ys = [t.y for t in n.terminals]
            return (round(max(xs) - min(xs) + max(ys) - min(ys), 6), n.name)

        def one(net, router=router, width=width):
            return _route_net(router, b, net, width)

        done, failed = route_in_passes(grid, b, sorted(group, key=span), one, lambda net: net.name,
                                       passes=ROUTE_PASSES)
        routed += done
        unrouted += failed
    return routed, unrouted


def _route_net(router: Router, b: BoardBuilder, net, width: float) -> Routed | Unrouted:
    """One net on the RDL, with a short stub from each off-grid terminal to its grid cell."""
    code = b.net(net.name)
    res = router.route(code, net.name, [(net.bumps[0].x, net.bumps[0].y, 0)],
                       [(t.x, t.y, 0) for t in _nearest_first(net.terminals)[1:]], layers=[0])
    if isinstance(res, Routed):
        g = router.grid
        for t in net.terminals:
            r, c = g.cell(t.x, t.y)
            cx, cy = float(g.x(c)), float(g.y(r))
            if math.hypot(cx - t.x, cy - t.y) > 1e-6:
                b.track(t.x, t.y, cx, cy, width, layer=0, net=code)
                g.add(0, [t.x], [t.y], [cx], [cy], [width / 2], [code])
                res.lengths[0] = res.lengths.get(0, 0.0) + math.hypot(cx - t.x, cy - t.y)
    return res


def _route_summary(routing: dict) -> list[str]:
    """The CLI lines of the routing: nets routed on the RDL by kind, the heat-layer net, NC balls, unrouted."""
    nets = routing["nets"]
    kinds = {k: [m for m in nets.values() if m["kind"] == k] for k in ("signal", "power", "plane")}
    out = [f"RDL: routed {len(kinds['signal'])} signal and {len(kinds['power'])} power net(s), "
           f"{sum(m['length_mm'] for m in kinds['signal'] + kinds['power']):.1f} mm of trace; "
           f"{len(kinds['plane'])} net(s) on the heat layer; {len(routing['no_connect'])} NC ball(s)"]
    out += [f"UNROUTED {u['net']}: {u['reason']}" for u in routing["unrouted"][:20]]
    return out


def _nearest_first(terms) -> list:
    """Terminals in the order a tree grows from the first one: each next one nearest to those before.

    The router joins each terminal to the net's copper already placed, so a far pad does not
    take the long way round before the balls between have built the short one.
    """
    xy = np.array([(t.x, t.y) for t in terms])
    d = np.hypot(xy[:, 0] - xy[0, 0], xy[:, 1] - xy[0, 1])
    left = np.ones(len(terms), bool)
    left[0] = False
    out = [0]
    for _ in range(len(terms) - 1):
        k = int(np.argmin(np.where(left, np.round(d, 9), np.inf)))
        out.append(k)
        left[k] = False
        d = np.minimum(d, np.hypot(xy[:, 0] - xy[k, 0], xy[:, 1] - xy[k, 1]))
    return [terms[k] for k in out]


def _routing(b, spec, netlist, routed, unrouted, vias, sites, heat_net, balls) -> dict:
    """The sidecar's ``routing`` section (as the substrate pipeline writes it)."""
    nets = {}
    for r in routed:
        nets[r.net] = {"kind": "power" if is_power(next(n for n in netlist.nets if n.name == r.net)) else "signal",
                       "layer": "L1", "length_mm": round(r.length, 4),
                       "length_by_layer_mm": {"L1": round(r.length, 4)}, "vias": vias.get(r.net, 0),
                       "balls": sum(1 for x in balls if x.net == r.net)}
    if heat_net is not None and (heat_net in vias):
        nets[heat_net] = {"kind": "plane", "layer": f"L{b.copper}", "length_mm": 0.0, "length_by_layer_mm": {},
                          "vias": vias[heat_net], "balls": sum(1 for x in balls if x.net == heat_net)}

    def near(x: float, y: float) -> str:
        d = (sites.x - x) ** 2 + (sites.y - y) ** 2
        k = sorted(range(len(d)), key=lambda i: (round(float(d[i]), 9), sites.names[i]))[:2]
        return "near balls " + ", ".join(sites.names[i] for i in k)

    return {"nets": dict(sorted(nets.items())), "signal_layers_used": ["L1"] if routed else [],
            "escape_layers": ["L1"], "no_connect": sorted(netlist.no_connect),
            "unrouted": [{"net": u.net, "reason": f"{u.reason} ({near(u.x, u.y)})", "x": round(u.x, 4),
                          "y": round(u.y, 4), "layer": "L1"} for u in unrouted]}


def build_footprint(spec: WaferStackSpec):
    """The WLCSP land pattern (shared grid-array builder), seen from the PCB's top, with package lengths.

    The balls sit on the RDL (F.Cu) and face the PCB, so the package mounts flipped and the lands
    are the board's balls mirrored in x, A1 top-left (the board names its ball columns mirrored;
    see :mod:`kisubstrate.geometry.terminals`). Each land carries its net's routed RDL length
    (die pad to ball, mm) as KiCad's pad ``die_length`` (:func:`package_lengths`).
    """
    lengths = package_lengths(spec)
    note = " Balls on the RDL face the PCB: the substrate board's balls mirrored in x."
    return [replace(fp, description=fp.description + note,
                    pads=[replace(g, die_length=np.array([lengths.get(n, 0.0) for n in g.names])) for g in fp.pads])
            for fp in build_grid_array(spec.wlcsp_spec())]


def package_lengths(spec: WaferStackSpec) -> dict[str, float]:
    """Ball name → routed RDL length of its signal net inside the package (mm; 0 for power, ground and NC).

    Args:
        spec: the validated spec; its board is built and routed (about a second for the example).

    Example:
        >>> from kisubstrate.families.registry import example_spec
        >>> package_lengths(example_spec("wafer_stack"))["A1"], package_lengths(example_spec("wafer_stack"))["F3"]
        (0.0, 0.0)
    """
    g = build_board(spec)
    nets = g.extras.sidecar["routing"]["nets"]
    p = g.pads
    signal = {name: m["length_mm"] for name, m in nets.items() if m["kind"] == "signal"}
    return {str(n): float(signal.get(g.nets[int(k)], 0.0)) for o, n, k in zip(p.owner, p.name, p.net) if o == "BALLS"}


# -- the wafer map ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class WaferMap:
    """Sites stepped over a wafer (mm, wafer centre at 0, 0; KiCad y-down, mark at +y)."""

    diameter: float
    site: tuple[float, float]
    pitch: tuple[float, float]
    origin: tuple[float, float]  # centre of site (0, 0)
    x: np.ndarray  # site centres, every site touching the wafer
    y: np.ndarray
    whole_mask: np.ndarray
    usable: shapely.Geometry
    outline: shapely.Polygon
    mark: str

    @property
    def whole(self) -> int:
        """Number of whole sites."""
        return int(self.whole_mask.sum())


def _outline(diameter: float, mark: str) -> tuple[shapely.Polygon, shapely.Geometry | None]:
    """Wafer outline (polygon circumscribing the circle) and the orientation-mark cut-out."""
    R = diameter / 2
    n = 720
    k = R / math.cos(math.pi / n)  # circumscribed: never inside the true circle
    a = np.arange(n) * 2 * math.pi / n
    disc = shapely.Polygon(np.column_stack([k * np.cos(a), k * np.sin(a)]))
    cut = None
    if mark == "notch":
        d = NOTCH_DEPTH
        cut = shapely.Polygon([(0, R - d), (d + 2, R + 2), (-d - 2, R + 2)])  # 90 degree V
    elif mark == "flat":
        half = FLAT_LENGTH.get(int(diameter), 0.3 * diameter) / 2
        yf = math.sqrt(R * R - half * half)
        cut = shapely.box(-k - 1, yf, k + 1, k + 1)
    return (shapely.difference(disc, cut) if cut is not None else disc), cut


def wafer_map(*, site: tuple[float, float], street: float, diameter: float, edge_exclusion: float,
              notch: str, align: str = "auto") -> WaferMap:
    """Step ``site`` (mm) at ``site + street`` over a wafer and count whole sites.

    A site is whole when its four corners lie within ``diameter/2 − edge_exclusion`` of the
    centre (exact: the disc is convex) and it stays ``edge_exclusion`` clear of the notch
    or flat.

    Args:
        site: site (diced package) size x, y (mm).
        street: dicing street between neighbouring sites (mm, ≥ 0); the step is ``site + street``.
        diameter: wafer diameter (mm; 150, 200 or 300 for a spec).
        edge_exclusion: ring at the wafer edge where no whole site may reach (mm, ≥ 0).
        notch: orientation mark: ``notch`` (SEMI 1 mm, 90°, at +y), ``flat`` (at +y) or ``none``.
        align: wafer centre on a site centre (``site``), on a street crossing (``street``), or
            ``auto``: whichever of the four combinations per axis gives the most whole sites.

    Example:
        >>> m = wafer_map(site=(3.0, 3.0), street=0.1, diameter=200, edge_exclusion=3.0, notch="notch")
        >>> m.whole, m.pitch, m.origin
        (2958, (3.1, 3.1), (1.55, 1.55))
    """
    R = diameter / 2
    r = R - edge_exclusion
    px, py = site[0] + street, site[1] + street
    hx, hy = site[0] / 2, site[1] / 2
    _, cut = _outline(diameter, notch)
    keep = shapely.buffer(cut, edge_exclusion) if cut is not None else None

    def layout(ox: float, oy: float):
        nx, ny = int(math.ceil(R / px)) + 2, int(math.ceil(R / py)) + 2
        gx, gy = np.meshgrid(ox + px * np.arange(-nx, nx + 1), oy + py * np.arange(-ny, ny + 1), indexing="xy")
        x, y = gx.ravel(), gy.ravel()
        far = np.hypot(np.abs(x) + hx, np.abs(y) + hy)  # farthest corner
        near = np.hypot(np.maximum(np.abs(x) - hx, 0), np.maximum(np.abs(y) - hy, 0))  # nearest point
        touch = near < R
        x, y, far = x[touch], y[touch], far[touch]
        whole = far <= r + 1e-9
        if keep is not None and whole.any():
            idx = np.flatnonzero(whole)
            boxes = shapely.box(x[idx] - hx, y[idx] - hy, x[idx] + hx, y[idx] + hy)
            whole[idx[shapely.intersects(boxes, keep)]] = False
        return x, y, whole

    choices = {"site": [0.0], "street": [0.5], "auto": [0.0, 0.5]}[align]
    best = None
    for fx in choices:
        for fy in choices:
            x, y, whole = layout(fx * px, fy * py)
            if best is None or whole.sum() > best[2].sum():
                best = (x, y, whole, (fx * px, fy * py))
    assert best is not None
    x, y, whole, origin = best
    order = np.lexsort((x, y))
    usable = shapely.Point(0, 0).buffer(r, quad_segs=64)
    if keep is not None:
        usable = shapely.difference(usable, keep)
    outline, _ = _outline(diameter, notch)
    return WaferMap(diameter, site, (snap(px), snap(py)), origin, x[order], y[order], whole[order], usable, outline,
                    notch)


def spec_wafer_map(spec: WaferStackSpec) -> WaferMap:
    """The wafer map of a spec."""
    w = spec.wafer
    return wafer_map(site=spec.body, street=w.street, diameter=w.diameter, edge_exclusion=w.edge_exclusion,
                     notch=w.mark, align=w.align)


def wafer_board(spec: WaferStackSpec, m: WaferMap | None = None) -> BoardGeom:
    """The wafer map as a board: wafer outline on Edge.Cuts, whole sites on Dwgs.User, count as text."""
    m = m or spec_wafer_map(spec)
    b = BoardBuilder(f"{spec.resolved_name}_WaferMap", copper=2, outline=m.outline)
    hx, hy = m.site[0] / 2, m.site[1] / 2
    for x, y in zip(m.x[m.whole_mask].tolist(), m.y[m.whole_mask].tolist()):
        b.drawings.append(Drawing(((snap(x - hx), snap(y - hy)), (snap(x + hx), snap(y - hy)),
                                   (snap(x + hx), snap(y + hy)), (snap(x - hx), snap(y + hy))), "Dwgs.User",
                                  width=0.02))
    ring = shapely.get_coordinates(shapely.Point(0, 0).buffer(m.diameter / 2 - spec.wafer.edge_exclusion,
                                                              quad_segs=90).exterior)
    b.drawings.append(Drawing(tuple(map(tuple, np.round(ring, 6).tolist())), "Eco1.User", width=0.1, closed=False,
                              label="edge exclusion"))
    R = m.diameter / 2
    b.drawings.append(Drawing(((-R * 0.6, -R - 6),), "Cmts.User", text=(
        f"{spec.resolved_name}: {m.whole} whole sites, {int(m.diameter)} mm wafer, site {fmt(m.site[0])} x "
        f"{fmt(m.site[1])} mm, street {fmt(spec.wafer.street)} mm, edge exclusion "
        f"{fmt(spec.wafer.edge_exclusion)} mm, {m.mark}"), size=2.0))
    b.extras = BoardExtras(body=m.outline)
    return b.build()


def wafer_stackup() -> Stackup:
    """A bare silicon wafer as the stackup of the wafer-map board (two empty copper layers)."""
    return Stackup.model_validate({"layers": [{"copper": 0.001}, {"dielectric": 0.725, "material": "silicon"},
                                              {"copper": 0.001}],
                                   "materials": {"silicon": {"epsilon_r": 11.7, "loss_tangent": 0.005}},
                                   "mask_thickness": 0.001})


def wafer_svg(m: WaferMap, title: str = "") -> str:
    """An SVG picture of the wafer map (1 px = 0.1 mm): wafer, usable area, whole and partial sites."""
    R = m.diameter / 2
    s = 10.0
    size = int(2 * (R + 8) * s)
    c = size / 2

    def X(v: float) -> str:
        return f"{c + v * s:.1f}"

    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{size}" height="{size}" viewBox="0 0 {size} {size}">',
           f'<rect width="{size}" height="{size}" fill="white"/>']
    pts = " ".join(f"{X(x)},{X(y)}" for x, y in shapely.get_coordinates(m.outline.exterior)[::4])
    out.append(f'<defs><clipPath id="wafer"><polygon points="{pts}"/></clipPath></defs>')
    out.append(f'<polygon points="{pts}" fill="#d9d9e6"/>')
    hx, hy = m.site[0] / 2, m.site[1] / 2
    out.append('<g clip-path="url(#wafer)">')
    for x, y, ok in zip(m.x.tolist(), m.y.tolist(), m.whole_mask.tolist()):
        fill = "#3a9d5d" if ok else "#b0b0b0"
        out.append(f'<rect x="{X(x - hx)}" y="{X(y - hy)}" width="{2 * hx * s:.1f}" height="{2 * hy * s:.1f}" '
                   f'fill="{fill}"/>')
    out.append("</g>")
    out.append(f'<polygon points="{pts}" fill="none" stroke="black" stroke-width="3"/>')
    ring = shapely.get_coordinates(shapely.get_exterior_ring(shapely.Polygon(m.usable.exterior))
                                   if m.usable.geom_type == "Polygon" else m.usable.convex_hull.exterior)
    rp = " ".join(f"{X(x)},{X(y)}" for x, y in ring)
    out.append(f'<polygon points="{rp}" fill="none" stroke="#c03030" stroke-width="2" stroke-dasharray="12,8"/>')
    out.append(f'<text x="20" y="40" font-family="sans-serif" font-size="28">{title} {m.whole} whole sites, '
               f'{int(m.diameter)} mm wafer</text>')
    out.append("</svg>")
    return "\n".join(out) + "\n"


def _files(spec: WaferStackSpec) -> dict[str, str]:
    m = spec_wafer_map(spec)
    return {"-wafer-map.svg": wafer_svg(m, spec.resolved_name),
            "-wafer-map.csv": "site_x_mm,site_y_mm,whole\n" + "".join(
                f"{fmt(snap(float(x)))},{fmt(snap(float(y)))},{int(w)}\n" for x, y, w in zip(m.x, m.y, m.whole_mask))}


def build_board_with_files(spec: WaferStackSpec) -> BoardGeom:
    """:func:`build_board` plus the wafer-map picture and site list as extra files of the project."""
    g = build_board(spec)
    m = spec_wafer_map(spec)
    summary = (f"{len(spec.dies)} dies, {sum(k == 'blind' for k in g.vias.kind)} TSV columns; wafer map: "
               f"{m.whole} whole sites on a {spec.wafer.diameter} mm wafer (pitch {fmt(m.pitch[0])} x "
               f"{fmt(m.pitch[1])} mm, {m.mark})")
    return replace(g, extras=replace(g.extras, files={**g.extras.files, **_files(spec)},
                                     summary=(summary, *g.extras.summary),
                                     sidecar={**g.extras.sidecar, "wafer_whole_sites": m.whole}))


register(Family(name="wafer_stack", spec=WaferStackSpec, footprint=build_footprint, substrate=build_board_with_files,
                checks=(check_routed,),
                flipped=True,
                summary="wafer-level die stack: TSVs, RDL to WLCSP balls, heat layer; WLCSP footprint; wafer map"))
