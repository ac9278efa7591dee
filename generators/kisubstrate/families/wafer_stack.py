"""Wafer-level stacked dies with through-silicon vias (``family: wafer_stack``): RDL/TSV board, WLCSP, wafer map.

Physical copper layers, top (ball side, built last on the wafer) first::

    L1  RDL      ● ball lands, RDL traces from the die-pad vias to the balls   (KiCad F.Cu)
        resin sealing layer (dielectric)          ╎ resin via (micro) at each die pad
    L2  die N pattern face (pads)                  ║
        die N silicon                              ║ TSV (blind via) through the die layers
    L3  die N back                                 ║
        insulating layer                           ║
    L4  die N-1 pattern face … die 1 pattern face ─╜
        die 1 silicon
    Ln  heat-radiation layer on the back of the lowest die (copper zone)   (KiCad B.Cu)

Every die has the same pad pattern (``pads``); pad k of every die sits on one TSV column
(one net, ``P<k>``), reached from the RDL by a resin via and routed by one straight RDL
trace to an outer-ring ball (angular matching, so traces do not cross). With
``thermal_balls`` the inner balls (net ``HEAT``) drop through vias to the heat-radiation
zone. The WLCSP land pattern for the board designer comes from the grid-array builder
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
from dataclasses import dataclass, replace
from typing import Any, Literal

import numpy as np
import shapely
from pydantic import Field, ValidationInfo, field_validator, model_validator

from kisubstrate.families.buildup import terminal_sites
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
from kisubstrate.geometry.terminals import place_terminal_lands, ring_index
from kisubstrate.model.base import PackageSpec, SpecModel, length, resolve_rules
from kisubstrate.model.errors import FieldError, SpecError
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
    heat_layer: bool = Field(True, description="heat-radiation copper on the back of the lowest die")
    thermal_balls: bool = Field(True, description="inner balls tied to the heat layer by through vias")
    terminals: Terminals
    tsv: ViaSize | None = Field(None, description="TSV drill / pad (default: the profile's via)")
    resin_via: ViaSize | None = Field(None, description="resin via drill / pad (default: profile microvia)")
    wafer: WaferSpec = Field(default_factory=WaferSpec)
    rules: str = Field("substrate-buildup", description="substrate rule profile")
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
            layers.append({"copper": cu, "name": "HEAT" if last else f"{d.name}.back"})
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
        if t.land_mm() >= min(t.pitch_xy):
            raise FieldError("terminals.land", f"land {fmt(t.land_mm())} mm must be smaller than the pitch")
        if len(self.die.pad_list()) > len(outer_ring(self)):
            raise FieldError("pads", f"{len(self.die.pad_list())} die pads but only {len(outer_ring(self))} "
                             "outer-ring balls to route them to on the single RDL")
        _ = self.stackup  # builds the stack-up (raises located errors)
        return self


def outer_ring(spec: WaferStackSpec) -> list[int]:
    """Indices of the populated outer-ring terminal sites."""
    t = spec.terminals
    s = terminal_sites(spec)
    ring = ring_index(s, t.columns, t.rows)
    return np.flatnonzero(ring == 0).tolist()


# -- the package board --------------------------------------------------------------------------
def build_board(spec: WaferStackSpec) -> BoardGeom:
    """RDL/TSV board of the stack (see the module docstring for the layers and routing)."""
    rules = spec.substrate_rules()
    st = spec.stackup
    ncu = st.copper_count
    bx, by = spec.body[0] / 2, spec.body[1] / 2
    b = BoardBuilder(spec.resolved_name, copper=ncu, outline=shapely.box(-bx, -by, bx, by))
    t = spec.terminals
    sites = terminal_sites(spec)
    ring = outer_ring(spec)
    pads = spec.die.pad_list()
    lowest_pattern = ncu - 2  # pattern face of die 1
    micro, tsv, width = spec.micro(), spec.tsv_size(), spec.width()

    pad_ang = np.array([math.atan2(p.y, p.x) for p in pads])
    ring_arr = np.array(ring)
    ball_ang = np.arctan2(sites.y[ring_arr], sites.x[ring_arr])
    pick = ring_arr
    if len(ring) > len(pads):  # spread the pads over the ring
        order = ring_arr[np.argsort(ball_ang, kind="stable")]
        sel = np.unique(np.floor(np.arange(len(pads)) * len(order) / len(pads)).astype(int))
        pick = order[sel]
        ball_ang = np.arctan2(sites.y[pick], sites.x[pick])
    match = assign_by_angle(pad_ang, ball_ang)
    net_of_site: dict[int, int] = {}
    for k, p in enumerate(pads):
        s = int(pick[match[k]])
        net = b.net(p.net or f"P{p.name}")
        net_of_site[s] = net
        b.via(p.x, p.y, micro.pad, micro.drill, 0, 1, net=net, kind="micro")  # resin via to die N's pad
        b.via(p.x, p.y, tsv.pad, tsv.drill, 1, lowest_pattern, net=net, kind="blind")  # TSV column
        b.track(p.x, p.y, float(sites.x[s]), float(sites.y[s]), width, layer=0, net=net)

    heat = b.net("HEAT") if spec.heat_layer else 0
    for i in range(len(sites.names)):
        if i not in net_of_site and spec.heat_layer and spec.thermal_balls and i not in ring:
            net_of_site[i] = heat
            b.via(float(sites.x[i]), float(sites.y[i]), rules.via_pad, rules.via_drill, 0, ncu - 1, net=heat,
                  kind="through")
    _ball_map_agrees(t, sites.names, net_of_site, b.net_names())
    place_terminal_lands(b, sites, land=t.land_mm(), mask=t.mask, rules=rules, layer=0, net_of_site=net_of_site)

    if spec.heat_layer:
        region = shapely.box(-bx, -by, bx, by).buffer(-rules.copper_to_edge - 0.01, join_style="mitre")
        b.zones.append(Zone(name="heat", layers=(ncu - 1,), outline=region, net=heat, fill=region))

    def rect(x0: float, y0: float) -> tuple[tuple[float, float], ...]:
        return ((-x0, -y0), (x0, -y0), (x0, y0), (-x0, y0))

    b.drawings.append(Drawing(rect(bx, by), "F.Fab", label="package (diced site)"))
    for _k, p in enumerate(pads):  # die pads (every die, one TSV column each) on the Fab layer
        r = spec.pads.size / 2
        b.drawings.append(Drawing(((p.x - r, p.y - r), (p.x + r, p.y - r), (p.x + r, p.y + r), (p.x - r, p.y + r)),
                                  "B.Fab", width=0.01, label=f"die pad {p.name}"))
    b.extras = BoardExtras(dies=shapely.box(-bx, -by, bx, by), body=shapely.box(-bx, -by, bx, by),
                           sidecar={"dies_bottom_first": [d.name for d in spec.dies]})
    return b.build()


def _ball_map_agrees(t: Terminals, names, net_of_site: dict[int, int], net_names: dict[int, str]) -> None:
    """Refuse a ball map whose nets differ from the board's.

    The footprint takes the ball map's nets, but the board joins the die pads to outer-ring balls
    by angle (and thermal balls to ``HEAT``), so any other net on a ball would give a footprint
    and a board that disagree.
    """
    if t.ball_map is None or not t.ball_map.nets:
        return
    routed = {names[i]: net_names.get(n, "") for i, n in net_of_site.items()}
    wrong = [(ball, net) for ball, net in t.ball_map.nets if net and routed.get(ball, "") != net]
    if wrong:
        ball, net = wrong[0]
        board = f"net '{routed[ball]}'" if routed.get(ball) else "no net"
        raise SpecError(f"ball {ball} has net '{net}' in the ball map but {board} on the wafer-stack board "
                        f"({len(wrong)} ball(s) differ): the board routes die pad k to an outer-ring ball by "
                        "angle (net P<k> or the die-pad map's net) and thermal balls to HEAT; give the ball "
                        "map the board's nets or ball names only", field="terminals.ball_map")


def build_footprint(spec: WaferStackSpec):
    """The WLCSP land pattern (shared grid-array builder), seen from the PCB's top.

    The balls sit on the RDL (F.Cu) and face the PCB, so the package mounts flipped and the lands
    are the board's balls mirrored in x, A1 top-left (the board names its ball columns mirrored;
    see :mod:`kisubstrate.geometry.terminals`).
    """
    return [replace(fp, description=fp.description + " Balls on the RDL face the PCB: the substrate board's "
                    "balls mirrored in x.") for fp in build_grid_array(spec.wlcsp_spec())]


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
    return replace(g, extras=replace(g.extras, files=_files(spec), summary=(summary,),
                                     sidecar={**g.extras.sidecar, "wafer_whole_sites": m.whole}))


register(Family(name="wafer_stack", spec=WaferStackSpec, footprint=build_footprint, substrate=build_board_with_files,
                flipped=True,
                summary="wafer-level die stack: TSVs, RDL to WLCSP balls, heat layer; WLCSP footprint; wafer map"))
