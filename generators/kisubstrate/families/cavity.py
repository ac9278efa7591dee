"""Cavity package (``family: cavity``): two substrates, a sidewall with plated holes, a die in the cavity.

Cross-section of the claimed structure (``structure: laminated``, the default; physical copper
L1 … L3, top first; the package mounts lands-down)::

    L1  F.Cu    ●land ●land ●land ●land ●land ●land ●land ●land ●land   2nd substrate: lands over the
                ══ traces to the holes ═══════════════════════════════   whole body, cavity included
        diel 1  2nd substrate ─────────────────────────────────────────
                spacer ║hole ▒▒▒▒ resin ▒▒▒ ┌──die──┐ ⌒ wire ▒▒▒▒ ║hole  sidewall + resin-filled cavity
    L2  In1.Cu  ══ trace ══ finger ▭     [ die mounting pad ]     ▭ finger   cavity floor (1st pattern)
        diel 2  1st substrate core (split by KiCad's empty In2.Cu placeholder)  ┆ thermal vias
    L3  B.Cu    ▓▓▓▓▓▓▓▓▓▓▓▓▓▓▓▓▓▓▓▓ heat plate (copper zone) ▓▓▓▓▓▓▓▓▓▓▓▓▓▓▓▓▓▓▓▓▓▓

``structure: open`` keeps the cavity-down variant: L1 and dielectric 1 removed over the cavity,
lands on ``sidewall.rows`` rings around it, a via-in-pad hole under each land a die pad uses.

**Mounting**: the lands (``F.Cu``) face the PCB, so the family is registered ``flipped`` and its
footprint is the board's lands mirrored in x, ball A1 top-left (the board names its land columns
mirrored; viewing convention: :mod:`kisubstrate.geometry.terminals`); the die is wire-bonded face
up (``face: down`` refused).

**Layer mapping** (KiCad needs an even copper count): L1 → ``F.Cu`` (lands, second conductive
pattern), L2 → ``In1.Cu`` (cavity floor: die mounting pad, bond fingers, first conductive
pattern), L3 → ``B.Cu`` (heat plate); an empty, zero-thickness ``In2.Cu`` named ``unused``
splits the first substrate's core (see :mod:`kisubstrate.kicad.layers`). The dielectric between
L1 and L2 is the second substrate plus the spacer, written as KiCad sub-layers (``plies``).

**The cavity** (KiCad has no such object) is written as: its outline on ``User.1`` ("Cavity");
a rule area ``cavity`` on ``F.Cu`` (laminated: no vias, i.e. no hole through the second substrate
into the resin; open: no tracks, vias, pads or pours); four rule areas ``cavity_wall_*`` on the
floor layer (``In1.Cu``) forbidding pads and vias in the wall-clearance band; ``.kicad_dru`` rules
(``cavity_no_holes`` or ``cavity_removed_layers``, ``cavity_wall_clearance``, ``sidewall_holes``);
and a fabrication note on ``User.2`` ("Fab.Notes") and in ``<name>-fab-notes.txt``. Bond wires
are drawn on ``User.3``, the encapsulation outline on ``User.4``.

**Routing** (deterministic): laminated, see :func:`build_laminated` (down-bonds, staircase
fan-out on the floor to holes between the lands, the shared router on L1). Open: the sidewall
holes sit on the sites of a perimeter grid (``sidewall.pitch``, ``sidewall.layout``,
``sidewall.rows`` rings), each under a land (filled and capped via-in-pad). Per side of the
cavity, channels run straight out from the floor: one at every inner-row hole, one midway
between two inner-row holes for a hole of an outer row (reached by a short jog along that row).
Die pads on a die edge take a centred block of channels of that side, in order, so bond wires
never cross.

Example:
    >>> from kisubstrate.families.registry import example_spec
    >>> spec = example_spec("cavity")
    >>> board = build_board(spec)
    >>> board.copper, sorted(z.name for z in board.zones)[:3]
    (3, ['cavity', 'cavity_wall_bottom', 'cavity_wall_left'])
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Any, Literal

import numpy as np
import shapely
from pydantic import Field, model_validator

from kisubstrate.families.buildup import terminal_sites
from kisubstrate.families.flipchip import check_routed
from kisubstrate.families.grid_array import (
    BgaSpec,
    LgaSpec,
    ball_lengths,
    build_grid_array,
    terminal_footprint_spec,
    with_die_lengths,
)
from kisubstrate.families.registry import Family, register
from kisubstrate.families.wafer_stack import _nearest_first
from kisubstrate.geometry.board import (
    BoardBuilder,
    BoardExtras,
    BoardGeom,
    CavityOutline,
    Drawing,
    Zone,
    note_drawings,
)
from kisubstrate.geometry.grid import ball_grid
from kisubstrate.geometry.ir import FootprintGeom
from kisubstrate.geometry.padnets import assign_pad_nets
from kisubstrate.geometry.pipeline import ROUTE_PASSES, Bump, SubstratePipeline, _nets_csv
from kisubstrate.geometry.route.grid import RouteGrid
from kisubstrate.geometry.route.router import Routed, Router, route_in_passes
from kisubstrate.geometry.terminals import place_terminal_lands, ring_index
from kisubstrate.model.base import GridCount, SpecModel, length
from kisubstrate.model.errors import SpecError
from kisubstrate.model.netlist import Terminal, build_netlist, is_no_connect
from kisubstrate.model.substrate import SubstrateSpec, Terminals
from kisubstrate.model.units import fmt
from kisubstrate.rules.board import copper_items, layer_name
from kisubstrate.rules.capsules import capsule_geoms
from kisubstrate.rules.report import Violation

TOL = 5e-7
USER_LAYERS = {"User.2": "Fab.Notes", "User.3": "Bond.Wires", "User.4": "Encapsulation"}


# -- spec ----------------------------------------------------------------------------------------
class Cavity(SpecModel):
    """The opening in the sidewall (centred on the body): the cavity floor is copper L2."""

    size: tuple[float, float] = Field(description="cavity x, y (mm)", json_schema_extra={"unit": "mm"})
    wall_clearance: float = length("cavity land (finger) edge to cavity wall", le=2, default=0.15)
    die_clearance: float = length("die edge to cavity wall", le=5, default=0.2)
    corner_radius: float = length("corner radius of the routed cavity (router bit)", ge=0, gt=None, le=5,
                                  default=0.0)


class Sidewall(SpecModel):
    """Rows of plated holes through the sidewall (second substrate + spacer), L1 → L2."""

    pitch: float = length("land grid pitch (mm); holes sit on this grid (open) or between its lands (laminated)",
                          le=5)
    rows: int | None = Field(None, ge=1, le=6, description="rings of holes: open, the outer land rings (default 2); "
                             "laminated, the rings between lands nearest the cavity (default: every ring that fits)")
    layout: tuple[GridCount, GridCount] = Field(description="land grid sites in x, y")
    drill: float = length("finished hole diameter", le=2)
    annular_ring: float = length("annular ring of the hole pads", le=1)
    wall_margin: float = length("drill edge to cavity wall", ge=0, gt=None, le=5, default=0.2)
    outline_margin: float = length("drill edge to package outline", ge=0, gt=None, le=5, default=0.3)

    @property
    def pad(self) -> float:
        """Hole pad diameter (mm)."""
        return round(self.drill + 2 * self.annular_ring, 6)


class RingLands(SpecModel):
    """Solder lands on the top ring (L1), one on every sidewall site (the package terminals)."""

    diameter: float | None = length("solder-defined land diameter: the copper (nsmd) or the mask opening (smd); "
                                    "default 0.8 x ball (IPC-7095); required for an LGA", le=5, default=None)
    ball_diameter: float | None = length("solder ball diameter; none for an LGA", le=5, default=None)
    mask: Literal["smd", "nsmd"] = Field("smd", description="mask-defined (smd) or copper-defined (nsmd)")
    board_pad_diameter: float | None = length("board-side land of the footprint", le=5, default=None)
    ball_map: str | None = Field(None, description="CSV: land name per site or land,net list")
    rings: int | None = Field(None, ge=1, le=100, description="laminated: only the outer rings of lands (default: "
                              "the full grid, lands over the cavity too); open: always sidewall.rows")


class Fingers(SpecModel):
    """Bond fingers (solder / wire-bond lands on the cavity floor), oval, radial."""

    width: float = length("finger width (along the die edge)", le=2, default=0.15)
    gap: float = length("die edge to the finger's inner end", ge=0, gt=None, le=10, default=0.35)
    length: float = length("finger length (radial)", le=3, default=0.3)  # last: the name shadows length()


class MountPad(SpecModel):
    """Die mounting pad (copper zone on L2 under the die)."""

    margin: float = length("pad beyond the die edge", ge=0, gt=None, le=3, default=0.1)
    net: str = Field("GND", max_length=60)


class ThermalVias(SpecModel):
    """Field of plated vias from the die mounting pad (L2) to the heat plate (L3)."""

    pitch: float = length("via pitch", le=5, default=0.6)
    drill: float = length("via drill", le=2, default=0.2)
    pad: float = length("via pad", le=3, default=0.4)
    margin: float = length("via pad edge to die-pad edge", ge=0, gt=None, le=3, default=0.1)
    plating: float = length("hole-wall copper (IPC-6012 class 2: 20 um average; 25 um typical)", le=0.2,
                            default=0.025)
    filled: bool = Field(False, description="copper-filled vias (conduct over the whole drill)")
    laminate_k: float = Field(0.4, gt=0, le=400, description="core thermal conductivity, W/(m K) (BT ~0.4)")


class HeatPlate(SpecModel):
    """Heat-radiating plate on L3: a copper zone over the body (inside the edge clearance)."""

    net: str | None = Field(None, max_length=60, description="default: the die mounting pad's net")
    exposed: bool = Field(True, description="open the solder mask over the plate (B.Mask opening)")
    mask_inset: float = length("mask opening inside the plate edge", ge=0, gt=None, le=3, default=0.1)


class Encapsulation(SpecModel):
    """Resin over the die: fills the cavity (margin null) or a dam at ``margin`` around the die."""

    margin: float | None = length("outline beyond the die edge; null = the whole cavity", le=10, default=None)
    height: float | None = length("encapsulation height above the floor (open; default 0.35 mm); laminated: "
                                  "the resin fills the cavity up to the second substrate", le=5, default=None)
    cover: float = length("minimum resin beyond the die edge", ge=0, gt=None, le=5, default=0.1)
    material: str = Field("epoxy", max_length=40)


class CavitySpec(SubstrateSpec):
    """Cavity package: first substrate (2 Cu), spacer/sidewall with holes, second substrate (1 Cu)."""

    family: Literal["cavity"] = "cavity"
    structure: Literal["laminated", "open"] = Field(
        "laminated", description="laminated: the second substrate covers the resin-filled cavity and carries lands "
        "over it (the claimed structure); open: copper removed over the cavity, lands around it (cavity-down)")
    terminals: Terminals | None = Field(None, description="derived from sidewall and lands (leave empty)")
    rules: str = Field("substrate-hdi", description="substrate rule profile name or YAML path")
    cavity: Cavity
    sidewall: Sidewall
    lands: RingLands
    fingers: Fingers = Field(default_factory=Fingers)
    die_pad: MountPad = Field(default_factory=MountPad)
    thermal_vias: ThermalVias | None = Field(default_factory=ThermalVias, description="null for none")
    heat_plate: HeatPlate | None = Field(default_factory=HeatPlate, description="null for none")
    encapsulation: Encapsulation = Field(default_factory=Encapsulation)
    die_attach: float = length("die-attach thickness", ge=0, gt=None, le=1, default=0.025)
    loop_height: float = length("bond-wire loop height above the die", ge=0, gt=None, le=2, default=0.1)

    @model_validator(mode="before")
    @classmethod
    def _terminals_from_sidewall(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        if data.get("terminals") not in (None, {}, ""):
            raise ValueError("a cavity package takes its land grid from 'sidewall' and 'lands': remove 'terminals'")
        sw, lands = data.get("sidewall"), data.get("lands")
        if isinstance(sw, dict) and isinstance(lands, dict):
            open_ = data.get("structure") == "open"
            if open_ and lands.get("rings") is not None:
                raise ValueError("lands.rings is for the laminated structure: the open cavity has its lands on the "
                                 "sidewall.rows rings")
            rings = (sw.get("rows") or 2) if open_ else lands.get("rings")
            t = {"pitch": sw.get("pitch"), "layout": sw.get("layout"), "perimeter_rings": rings,
                 "ball_diameter": lands.get("ball_diameter") or lands.get("diameter"),  # LGA: the land itself
                 "land": lands.get("diameter"), "mask": lands.get("mask", "smd"),
                 "board_pad_diameter": lands.get("board_pad_diameter")}
            if lands.get("ball_map"):
                t["ball_map"] = lands["ball_map"]
            data = {**data, "terminals": t}
        return data

    @model_validator(mode="after")
    def _roles_used(self) -> "CavitySpec":
        # the floor (copper 2) and the heat plate (copper 3) are drawn by the family; the second
        # substrate's land layer may pour nets between its lands and traces
        for k, lay in enumerate(self.stackup.coppers()):
            if lay.role is None and lay.nets is None:
                continue
            if self.structure != "laminated" or k != 0 or lay.role != "mixed" or not lay.nets:
                raise ValueError(f"copper layer {k + 1}: the cavity family takes one layer role, 'role: mixed' with "
                                 "'nets' on copper 1 (the second substrate's lands, structure: laminated), the "
                                 "nets poured between its lands and traces; the floor (copper 2) and the heat "
                                 "plate (copper 3) are drawn by the family")
        return self

    @property
    def land_pours(self) -> list[str]:
        """Nets poured on copper 1 (the lands' layer) between the lands and traces (``role: mixed``)."""
        return list(self.stackup.coppers()[0].nets or ())

    @model_validator(mode="after")
    def _structure(self) -> "CavitySpec":
        if self.lands.diameter is None and self.lands.ball_diameter is None:
            raise ValueError("lands: give ball_diameter (a BGA) or diameter (an LGA land)")
        if self.stackup.copper_count != 3:
            raise ValueError("a cavity package has 3 copper layers: ring (2nd substrate), floor and heat plate "
                             "(1st substrate, copper on both sides)")
        if len(self.dies) != 1:
            raise ValueError("a cavity package holds one die")
        if self.dies[0].face != "up":
            raise ValueError("the cavity die is wire-bonded face up on the floor: face 'down' (flip chip) is "
                             "not supported by this family")
        if self.dies[0].pads.peripheral is None and self.dies[0].pads.map is None:
            raise ValueError("the cavity die is wire-bonded: give peripheral pads or a pad map")
        cx, cy = self.cavity.size
        if not (0 < cx < self.body[0] and 0 < cy < self.body[1]):
            raise ValueError(f"cavity {cx:g} x {cy:g} mm must be smaller than the body")
        if 2 * self.cavity.corner_radius > min(cx, cy):
            raise ValueError(f"cavity corner radius {self.cavity.corner_radius:g} mm is more than half its side")
        sw = self.sidewall
        if self.structure == "open" and 2 * self.hole_rings >= min(sw.layout):
            raise ValueError(f"{self.hole_rings} rows need a layout larger than {2 * self.hole_rings} sites per side")
        if self.structure == "laminated":
            if sw.rows is not None:
                raise ValueError("laminated cavity: the holes sit on the one ring between the lands nearest the "
                                 "cavity; drop sidewall.rows (it sets the hole rings of structure: open)")
            d1 = self.stackup.dielectrics()[0]
            if not d1.plies or len(d1.plies) < 2:
                raise ValueError("laminated cavity: give dielectric 1 as plies, top first: the second substrate, "
                                 "then the spacer (the cavity depth)")
            if self.encapsulation.margin is not None:
                raise ValueError("laminated cavity: the resin fills the whole cavity under the second substrate: "
                                 "drop encapsulation.margin")
            h = self.encapsulation.height
            if h is not None and abs(h - self.cavity_depth()) > 5e-4:
                raise ValueError(f"laminated cavity: the resin fills the cavity up to the second substrate, "
                                 f"{self.cavity_depth():g} mm (the spacer): encapsulation.height {h:g} mm does "
                                 "not; drop it or give the spacer's thickness")
        if sw.pad >= sw.pitch:
            raise ValueError(f"hole pad {sw.pad:g} mm must be smaller than the pitch {sw.pitch:g} mm")
        if self.thermal_vias is not None and self.thermal_vias.pad <= self.thermal_vias.drill:
            raise ValueError("thermal via pad must be larger than its drill")
        if self.heat_plate is not None and self.thermal_vias is not None and self.plate_net != self.die_pad.net:
            raise ValueError(f"thermal vias join the die pad ({self.die_pad.net}) and the heat plate "
                             f"({self.plate_net}): give both one net")
        if self.heat_plate is not None and self.thermal_vias is None and self.plate_net == self.die_pad.net:
            raise ValueError("without thermal vias the heat plate and the die pad are separate: give heat_plate.net "
                             "a different net")
        return self

    @property
    def plate_net(self) -> str:
        """Net of the heat plate."""
        return (self.heat_plate.net if self.heat_plate and self.heat_plate.net else self.die_pad.net)

    @property
    def hole_rings(self) -> int:
        """Rings of sidewall holes (open structure: ``sidewall.rows``, default 2)."""
        return self.sidewall.rows or 2

    def cavity_depth(self) -> float:
        """Cavity depth (mm) from the floor (L2).

        Open: up to the top surface (the removed L1 copper and dielectric 1, second substrate +
        spacer). Laminated: up to the second substrate, i.e. the spacer plies of dielectric 1
        (every ply after the first).
        """
        d1 = self.stackup.dielectrics()[0]
        if self.structure == "laminated" and d1.plies and len(d1.plies) > 1:
            return round(sum(p.thickness for p in d1.plies[1:]), 9)
        return self.stackup.coppers()[0].thickness + d1.thickness

    def resin_height(self) -> float:
        """Encapsulation height above the floor (mm): the cavity depth when laminated, else ``height`` or 0.35."""
        if self.structure == "laminated":
            return self.cavity_depth()
        return self.encapsulation.height if self.encapsulation.height is not None else 0.35

    def footprint_spec(self) -> BgaSpec | LgaSpec:
        """Board-side land pattern from the same perimeter grid, seen from the PCB.

        The ring lands mirrored in x; names in the package top view, A1 top-left.
        """
        grid = dict(grid=self.terminals, flipped=True, keys=("pitch", "layout", "perimeter_rings", "ball_map",
                                                              "row_alphabet"))
        if self.lands.ball_diameter:
            return terminal_footprint_spec(BgaSpec, self, ball_diameter=self.lands.ball_diameter,
                                           pad_diameter=self.lands.board_pad_diameter, **grid)
        return terminal_footprint_spec(LgaSpec, self, land_diameter=self.lands.diameter,
                                       pad_diameter=self.lands.board_pad_diameter, **grid)


# -- shared helpers (also used by the PoP family) --------------------------------------------------


def _poly_pts(poly: shapely.Polygon) -> tuple[tuple[float, float], ...]:
    return tuple((float(x), float(y)) for x, y in shapely.get_coordinates(poly.exterior)[:-1])


# sides of the cavity: name, outward normal, tangent axis (0 = x, 1 = y)
SIDES = (("top", (0, -1), 0), ("right", (1, 0), 1), ("bottom", (0, 1), 0), ("left", (-1, 0), 1))


def _xy(side_normal, t_axis: int, t: float, n: float) -> tuple[float, float]:
    nx, ny = side_normal
    return (t if t_axis == 0 else nx * n, t if t_axis == 1 else ny * n)


# -- board ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Channel:
    """One die pad's way out on the floor (L2): its finger's side, the channel and the hole site it ends at."""

    pad: Any  # the die pad (``DiePad``)
    side: str
    normal: tuple[int, int]
    axis: int
    t: float  # channel position along the side's tangent axis (mm)
    site: int  # index of the hole site
    jog: float | None  # the outer row the channel jogs along (distance from the centre), or None


def _channels(spec: CavitySpec, sites, ring: np.ndarray, columns: int, rows: int, inner: int,
              jog_rings: list[int], usable: np.ndarray | None = None) -> list[Channel]:
    """Assign every die pad a channel straight out from the floor to a hole site (deterministic, planar).

    Per side of the cavity: one channel at every site of ring ``inner`` the floor can reach, one
    midway between two of them for a site of a ring of ``jog_rings`` (reached by a jog along that
    ring). The pads of a die edge take a centred block of that side's channels, in order, so
    bond wires and floor traces never cross.

    Args:
        spec: the validated spec (die, fingers, cavity; mm).
        sites: the hole sites (a :class:`~kisubstrate.geometry.grid.Grid` in the board frame).
        ring: perimeter ring of every site (0 = outermost).
        columns: columns of the full site grid (count).
        rows: rows of the full site grid (count).
        inner: the ring whose sites the channels run to (the one nearest the cavity).
        jog_rings: further rings reached by a jog, used in turn.
        usable: which sites may take a hole (default: all).
    """
    clr = spec.substrate_rules().clearance
    die, fg = spec.dies[0], spec.fingers
    cx, cy = spec.cavity.size[0] / 2, spec.cavity.size[1] / 2
    dx, dy = die.position
    dw, dh = die.size[0] / 2, die.size[1] / 2
    ok = np.ones(len(sites.names), bool) if usable is None else usable
    by_side: dict[str, list] = {s[0]: [] for s in SIDES}
    for p in die.pad_list():
        gaps = {"right": dw - p.x, "left": dw + p.x, "bottom": dh - p.y, "top": dh + p.y}
        by_side[min(gaps, key=lambda k: (gaps[k], k))].append(p)
    out: list[Channel] = []
    for name, normal, axis in SIDES:
        half_die_t = dw if axis == 0 else dh
        half_cav_t = cx if axis == 0 else cy
        die_t = dx if axis == 0 else dy
        t_die = half_die_t + fg.gap - clr - fg.width / 2  # fingers of the next side start beyond this
        t_cav = half_cav_t - max(spec.cavity.wall_clearance, spec.cavity.corner_radius) - fg.width / 2

        def reachable(tt: float, die_t: float = die_t, t_die: float = t_die, t_cav: float = t_cav) -> bool:
            return abs(tt - die_t) <= t_die + 1e-9 and abs(tt) <= t_cav + 1e-9  # defaults bind this side

        def on_side(i: int, k: int, name: str = name) -> bool:
            r, c = int(sites.row[i]), int(sites.col[i])
            return {"top": r == k, "bottom": r == rows - 1 - k, "left": c == k, "right": c == columns - 1 - k}[name]

        def along(i: int, axis: int = axis) -> float:
            return float(sites.x[i] if axis == 0 else sites.y[i])

        inner_sites = sorted((i for i in range(len(sites.names)) if ring[i] == inner and on_side(i, inner) and ok[i]),
                             key=along)
        channels: list[tuple[float, int, float | None]] = [(along(i), i, None) for i in inner_sites
                                                           if reachable(along(i))]
        k = 0
        for a, c in zip(inner_sites, inner_sites[1:]) if jog_rings else ():
            tm = (along(a) + along(c)) / 2
            if not reachable(tm):
                continue
            target = jog_rings[k % len(jog_rings)]
            k += 1
            cand = [i for i in range(len(sites.names)) if ring[i] == target and on_side(i, target) and ok[i]
                    and abs(along(i) - along(a)) < 1e-9]
            if cand:
                i = cand[0]
                n_row = float(-sites.y[i] if name == "top" else sites.y[i] if name == "bottom"
                              else sites.x[i] if name == "right" else -sites.x[i])
                channels.append((tm, i, n_row))
        channels.sort(key=lambda ch: ch[0])
        pads = sorted(by_side[name], key=lambda p: p.x if axis == 0 else p.y)
        if len(pads) > len(channels):
            raise SpecError(f"{len(pads)} die pads on the {name} edge but only {len(channels)} sidewall channels "
                            f"on that side: enlarge the layout, add rows or reduce the pitch", field="sidewall")
        start = (len(channels) - len(pads)) // 2
        out += [Channel(p, name, normal, axis, tc, site, n_row)
                for p, (tc, site, n_row) in zip(pads, channels[start:start + len(pads)])]
    return out


def _draw_channel(b: BoardBuilder, spec: CavitySpec, ch: Channel, hole: tuple[float, float], net: int,
                  width: float) -> float:
    """Add the finger, the floor trace (L2) to the hole at ``hole`` and the bond wire; returns the trace length."""
    die, fg = spec.dies[0], spec.fingers
    dx, dy = die.position
    half_die_n = die.size[1] / 2 if ch.axis == 0 else die.size[0] / 2
    die_n = (dy if ch.axis == 0 else dx) * (ch.normal[1] if ch.axis == 0 else ch.normal[0])
    n_c = die_n + half_die_n + fg.gap + fg.length / 2  # finger centre, from the body centre along the normal
    fx, fy = _xy(ch.normal, ch.axis, ch.t, n_c)
    fw, fh = (fg.width, fg.length) if ch.axis == 0 else (fg.length, fg.width)
    b.pad(die.name, ch.pad.name, fx, fy, fw, h=fh, shape="oval", layer=1, net=net)
    sx, sy = hole
    pts = [(fx, fy)] + ([_xy(ch.normal, ch.axis, ch.t, ch.jog)] if ch.jog is not None else []) + [(sx, sy)]
    for (x1, y1), (x2, y2) in zip(pts, pts[1:]):
        b.track(x1, y1, x2, y2, width, layer=1, net=net)
    b.drawings.append(Drawing(((dx + ch.pad.x, dy + ch.pad.y), (fx, fy)), "User.3", width=0.025,
                              closed=False, label=f"bond wire {ch.pad.name}"))
    return sum(math.hypot(x2 - x1, y2 - y1) for (x1, y1), (x2, y2) in zip(pts, pts[1:]))


def build_board(spec: CavitySpec) -> BoardGeom:
    """Build the cavity package's substrate board (both substrates in one 3-copper stack).

    ``structure: laminated`` (default, the claimed structure): lands on the second substrate over
    the whole body, routed on L1 to holes in the sidewall (:func:`build_laminated`);
    ``structure: open``: copper removed over the cavity, lands around it, one hole per land.

    Args:
        spec: the validated cavity spec.
    """
    return build_laminated(spec) if spec.structure == "laminated" else _build_open(spec)


def _build_open(spec: CavitySpec) -> BoardGeom:
    """The open (cavity-down) structure: L1 removed over the cavity, a via-in-pad hole under each used land."""
    rules = spec.substrate_rules()
    w = spec.width()
    bx, by = spec.body[0] / 2, spec.body[1] / 2
    body = shapely.box(-bx, -by, bx, by)
    b = BoardBuilder(spec.resolved_name, copper=3, outline=body)
    die = spec.dies[0]
    sw = spec.sidewall
    t = spec.terminals
    sites = terminal_sites(spec)
    ring = ring_index(sites, t.columns, t.rows)
    inner = spec.hole_rings - 1
    ball_net = t.ball_map.net_of if t.ball_map is not None else {}
    site_used: dict[int, int] = {}  # site index -> net code
    for ch in _channels(spec, sites, ring, t.columns, t.rows, inner, list(range(inner - 1, -1, -1))):
        net = b.net(ch.pad.net or ball_net.get(sites.names[ch.site]) or f"{die.name}_{ch.pad.name}")
        site_used[ch.site] = net
        sx, sy = float(sites.x[ch.site]), float(sites.y[ch.site])
        _draw_channel(b, spec, ch, (sx, sy), net, w)
        b.via(sx, sy, sw.pad, sw.drill, 0, 1, net=net, kind="blind")

    # -- top-ring lands (terminals) on L1 -----------------------------------------------------------------
    land, margin = t.land_and_margin(rules)
    place_terminal_lands(b, sites, land=land, mask=t.mask, rules=rules, layer=0, nets=ball_net,
                         net_of_site=site_used, margin=margin)

    return _finish(b, spec, holes=len(site_used))


def _hole_slots(spec: CavitySpec, sites) -> tuple[Any, np.ndarray, np.ndarray]:
    """Hole sites of the laminated structure: the points between four lands of the land grid (mm, board frame).

    Returns the slot grid, each slot's ring (0 = outermost) and which slots may take a hole: the
    drill keeps ``wall_margin`` from the cavity wall and ``outline_margin`` from the outline, and
    the hole pad keeps the clearance from every land on L1.
    """
    t, sw, rules = spec.terminals, spec.sidewall, spec.substrate_rules()
    px, py = t.pitch_xy
    slots = ball_grid(columns=max(t.columns - 1, 1), rows=max(t.rows - 1, 1), pitch=(px, py), offset=t.offset)
    ring = ring_index(slots, max(t.columns - 1, 1), max(t.rows - 1, 1))
    cav = cavity_shapes(spec)[1]
    bx, by = spec.body[0] / 2, spec.body[1] / 2
    pts = shapely.points(slots.x, slots.y)
    r = sw.drill / 2
    to_wall = shapely.distance(pts, cav.exterior) - r
    to_edge = np.minimum(bx - np.abs(slots.x), by - np.abs(slots.y)) - r
    ok = ~shapely.contains(cav, pts) & (to_wall >= sw.wall_margin - TOL) & (to_edge >= sw.outline_margin - TOL)
    if len(sites.x):
        tree = shapely.STRtree(shapely.points(sites.x, sites.y))
        _, d = tree.query_nearest(pts, return_distance=True, all_matches=False)
        ok &= d - sw.pad / 2 - t.land_mm(rules) / 2 >= rules.clearance - TOL
    return slots, ring, ok


def finger_positions(spec: CavitySpec, pads_by_side: dict[str, list]) -> dict[str, float]:
    """Position of every pad's finger along its cavity side (mm, board frame): the pad's own, spread apart.

    Fingers keep ``fingers.width`` + clearance between centres: a tight run of pads is spread
    evenly about its mean (the bond wires fan out), in the pads' order.

    Args:
        spec: the validated spec (die position, fingers, rule clearance; mm).
        pads_by_side: the die's pads by cavity side (``top``, ``right``, ``bottom``, ``left``).
    """
    die, fg = spec.dies[0], spec.fingers
    pitch = fg.width + spec.substrate_rules().clearance
    out: dict[str, float] = {}
    for name, _normal, axis in SIDES:
        pads = sorted(pads_by_side[name], key=lambda p: p.x if axis == 0 else p.y)
        if not pads:
            continue
        tp = np.array([(die.position[0] + p.x) if axis == 0 else (die.position[1] + p.y) for p in pads])
        tf = tp.copy()
        for k in range(1, len(tf)):
            tf[k] = max(tf[k], tf[k - 1] + pitch)
        tf += float(tp.mean() - tf.mean())
        for k in range(1, len(tf)):  # the shift keeps the spacing; only rounding could undo it
            tf[k] = max(tf[k], tf[k - 1] + pitch)
        out.update({p.name: round(float(t), 9) for p, t in zip(pads, tf)})
    return out


def _stair_channels(spec: CavitySpec, pads_by_side: dict[str, list], finger_t: dict[str, float], slots,
                    ring: np.ndarray, ok: np.ndarray,
                    width: float) -> list[tuple[Any, tuple[float, float], list[tuple[float, float]], int]]:
    """Floor traces (L2) from the fingers to one ring of holes, fanned out as nested staircases.

    Per side the fingers (in order along the edge) take a centred block of that side's holes (in
    order). A trace runs straight out from its finger to a level, along the side to its hole's
    position, and out to the hole; traces moving right take levels nearest the floor from the
    rightmost one, traces moving left from the leftmost one, so no two cross.

    Returns, per pad: the pad, its finger centre, the trace's corner points (finger → hole) and
    the slot index of its hole.
    """
    die, fg, rules = spec.dies[0], spec.fingers, spec.substrate_rules()
    dx, dy = die.position
    sw = spec.sidewall
    usable = ring[ok]
    if not len(usable):
        raise SpecError("no hole fits in the sidewall between the lands: widen the ring between cavity and outline, "
                        "or reduce the drill, pad or margins", field="sidewall")
    inner = int(usable.max())
    nrows = int(slots.row.max()) + 1
    ncols = int(slots.col.max()) + 1
    step = width + rules.clearance

    def first_level(normal, axis) -> float:  # lowest trace level of a side, from the body centre
        die_n = (dy if axis == 0 else dx) * (normal[1] if axis == 0 else normal[0])
        half = (die.size[1] if axis == 0 else die.size[0]) / 2
        return die_n + half + fg.gap + fg.length + rules.clearance + width / 2

    n0_of = {name: first_level(normal, axis) for name, normal, axis in SIDES}
    neighbours = {"top": ("left", "right"), "bottom": ("left", "right"), "left": ("top", "bottom"),
                  "right": ("top", "bottom")}
    out = []
    for name, normal, axis in SIDES:
        pads = sorted(pads_by_side[name], key=lambda p: p.x if axis == 0 else p.y)
        if not pads:
            continue
        # a side's traces stay in its own wedge: short of the neighbouring sides' lowest levels
        lo, hi = -(n0_of[neighbours[name][0]] - step), n0_of[neighbours[name][1]] - step
        r_, c_ = slots.row, slots.col
        side_sel = {"top": r_ == inner, "bottom": r_ == nrows - 1 - inner, "left": c_ == inner,
                    "right": c_ == ncols - 1 - inner}[name]
        corner = ((r_ == inner) | (r_ == nrows - 1 - inner)) & ((c_ == inner) | (c_ == ncols - 1 - inner))
        tt = slots.x if axis == 0 else slots.y
        idx = np.flatnonzero(side_sel & ok & (ring == inner) & ~corner & (tt > lo + 1e-9) & (tt < hi - 1e-9))
        tv = tt[idx]
        idx = idx[np.argsort(tv, kind="stable")]
        if len(pads) > len(idx):
            raise SpecError(f"{len(pads)} die pads on the {name} edge need a sidewall hole each, but only {len(idx)} "
                            f"holes fit on that side between the lands: enlarge the land grid or the ring, or reduce "
                            "the drill", field="sidewall")
        start = (len(idx) - len(pads)) // 2
        holes = idx[start:start + len(pads)]
        half_die_n = die.size[1] / 2 if axis == 0 else die.size[0] / 2
        die_n = (dy if axis == 0 else dx) * (normal[1] if axis == 0 else normal[0])
        n_c = die_n + half_die_n + fg.gap + fg.length / 2
        n0 = n0_of[name]
        h_n = float(abs(slots.y[holes[0]]) if axis == 0 else abs(slots.x[holes[0]]))
        n_max = h_n - sw.pad / 2 - rules.clearance - width / 2
        t_c = [finger_t[p.name] for p in pads]
        t_h = [float(slots.x[h] if axis == 0 else slots.y[h]) for h in holes]
        level = [0] * len(pads)
        right = [k for k in range(len(pads)) if t_h[k] > t_c[k] + 1e-9]
        left = [k for k in range(len(pads)) if t_h[k] < t_c[k] - 1e-9]
        for j, k in enumerate(sorted(right, key=lambda k: -t_c[k])):
            level[k] = j
        for j, k in enumerate(sorted(left, key=lambda k: t_c[k])):
            level[k] = j
        need = max(len(right), len(left))
        if need and n0 + (need - 1) * step > n_max + 1e-9:
            room = max(int(math.floor((n_max - n0) / step + 1e-9)) + 1, 0)
            raise SpecError(f"the floor between the {name} fingers and their holes holds {room} trace level(s) at "
                            f"{fmt(step)} mm, {need} needed to fan {len(pads)} fingers out to the holes: move the "
                            "hole ring out, enlarge the pad pitch or use finer rules", field="sidewall")
        for k, p in enumerate(pads):
            f = _xy(normal, axis, t_c[k], n_c)
            hole = (float(slots.x[holes[k]]), float(slots.y[holes[k]]))
            if abs(t_h[k] - t_c[k]) <= 1e-9:
                pts = [f, hole]
            else:
                n_k = n0 + level[k] * step
                pts = [f, _xy(normal, axis, t_c[k], n_k), _xy(normal, axis, t_h[k], n_k), hole]
            out.append((p, f, pts, int(holes[k])))
    return out


def _plate_holes(b: BoardBuilder, spec: CavitySpec, sites, land_net: list[str], hole_xy: list[tuple[float, float]],
                 *, fill: bool) -> list[int]:
    """Through holes (L1-L3) in the heat plate's lands in the sidewall ring; returns their land indices.

    A land takes one where its drill keeps the wall and outline margins and its pad clears the
    floor's traces and the other holes. ``fill``: without a ball map, every free land that can
    take such a hole joins the plate's net (``land_net`` is updated in place).
    """
    rules, sw, w = spec.substrate_rules(), spec.sidewall, spec.width()
    plate_net = spec.plate_net
    bx, by = spec.body[0] / 2, spec.body[1] / 2
    g0 = b.build()
    seg = np.c_[g0.tracks.x1, g0.tracks.y1, g0.tracks.x2, g0.tracks.y2][g0.tracks.layer == 1]
    segs = shapely.linestrings(seg.reshape(-1, 2, 2)) if len(seg) else None
    cav = cavity_shapes(spec)[1]
    r = sw.drill / 2
    vip: list[int] = []
    for i in range(len(sites.names)):
        if land_net[i] != plate_net and not (fill and not land_net[i]):
            continue
        x, y = float(sites.x[i]), float(sites.y[i])
        pt = shapely.Point(x, y)
        fits = (not cav.contains(pt) and shapely.distance(pt, cav.exterior) - r >= sw.wall_margin - TOL
                and min(bx - abs(x), by - abs(y)) - r >= sw.outline_margin - TOL
                and (segs is None or float(shapely.distance(pt, segs).min()) - sw.pad / 2 - w / 2
                     >= rules.clearance - TOL)
                and all(math.hypot(x - hx, y - hy) - sw.drill >= rules.hole_to_hole - TOL
                        and math.hypot(x - hx, y - hy) - sw.pad >= rules.clearance - TOL for hx, hy in hole_xy))
        if fits:
            land_net[i] = plate_net
            vip.append(i)
            hole_xy.append((x, y))
            b.via(x, y, sw.pad, sw.drill, 0, 2, net=b.net(plate_net), kind="through")
    return vip


def build_laminated(spec: CavitySpec) -> BoardGeom:
    """The claimed structure: lands on the second substrate over the whole body, joined through the sidewall.

    Runs :class:`CavityPipeline` (see its phases).

    Args:
        spec: the validated cavity spec with ``structure: laminated``.
    """
    return CavityPipeline(spec).run()


class CavityPipeline(SubstratePipeline):
    """The substrate pipeline with the laminated cavity's phases.

    * **dies** — every die pad's net: the pad map, else the ball map
      (:func:`~kisubstrate.geometry.padnets.assign_pad_nets`: signals by the angle of their
      lands, power and ground spread round the die), else the pad's own name.
    * **floor** (L2) — a finger per pad. A pad on the die mounting pad's net is down-bonded (a
      short trace to the die pad, which thermal vias join to the heat plate); every other
      finger fans out (:func:`_stair_channels`) to its own hole on the ring between the lands in
      the sidewall: blind L1-L2, through L1-L3 for the heat plate's net.
    * **terminals** — lands (L1, ``F.Cu``) on every site of the land grid, over the resin-filled
      cavity too, with the ball map's nets (without one, each hole's nearest land); the heat
      plate's net drops through a hole in each of its lands in the sidewall ring.
    * **netlist** — :func:`~kisubstrate.model.netlist.build_netlist` over the die pads and the
      lands (located messages).
    * **route** — every net joins its holes and lands on L1 by octilinear traces (the shared
      :class:`~kisubstrate.geometry.route.router.Router`); the heat plate's net joins its lands
      to any of its holes (they are joined through the plate). A net that cannot be routed is
      reported (family check ``unrouted``), never written open.
    * **fills** — with ``role: mixed`` and ``nets`` on copper 1, those nets poured on L1 between
      the lands and traces (the shared ``fills`` phase: KiCad zones with fills).

    ``finish`` adds the die pad, thermal vias, heat plate, the cavity's KiCad objects and notes.

    Example:
        >>> from kisubstrate.families.registry import example_spec
        >>> board = CavityPipeline(example_spec("cavity")).run()
        >>> board.extras.sidecar["routing"]["unrouted"], len(board.pads)
        ([], 188)

    Args:
        spec: the validated cavity spec with ``structure: laminated``.
    """

    phases = ("dies", "floor", "terminals", "netlist", "route", "fills")
    pour_name = "lands-pour"

    def __init__(self, spec: CavitySpec) -> None:
        super().__init__(spec)
        t = spec.terminals
        self.sites = terminal_sites(spec)
        self.ball_map = t.ball_map
        self.ball_net = t.ball_map.net_of if t.ball_map is not None else {}
        self.plate = spec.heat_plate is not None and spec.thermal_vias is not None
        self.plate_net = spec.plate_net if spec.heat_plate is not None else None
        self.holes: dict[str, list[tuple[float, float]]] = {}
        self.l2_len: dict[str, float] = {}
        self.down: list[tuple[Any, str]] = []
        self.vip: list[int] = []
        self.no_connect: list[str] = []
        self.poured: dict[str, float] = {}

    def dies(self) -> None:
        """The net of every die pad (pad map, ball map, or its own name)."""
        spec, die = self.spec, self.spec.dies[0]
        dx, dy = die.position
        self.pads = pads = die.pad_list()
        if any(p.net for p in pads):
            nets = [p.net or "" for p in pads]
        elif self.ball_map is not None:
            counts: dict[str, int] = {}
            for n in self.ball_net.values():
                if not is_no_connect(n):
                    counts[n] = counts.get(n, 0) + 1
            power = {n for n, c in counts.items() if c >= 2 or n == spec.die_pad.net}
            nets = assign_pad_nets(np.array([dx + p.x for p in pads]), np.array([dy + p.y for p in pads]), (dx, dy),
                                   self.sites.x, self.sites.y, [self.ball_net.get(n, "") for n in self.sites.names],
                                   power, die=die.name)
        else:
            nets = [f"{die.name}_{p.name}" for p in pads]
        self.pad_nets = nets
        mount = spec.die_pad.net
        if mount in set(nets) | set(self.ball_net.values()) and not (self.plate and self.plate_net == mount):
            raise SpecError(f"the die mounting pad's net {mount} is on die pads or lands: the laminated cavity joins "
                            "it through thermal vias and the heat plate; give both (heat_plate.net the same)",
                            field="die_pad.net")

    def floor(self) -> None:
        """Fingers, down-bonds, and the fanned-out floor traces to the sidewall holes (L2)."""
        spec, b, w = self.spec, self.s.b, self.width
        die, fg, sw = spec.dies[0], spec.fingers, spec.sidewall
        dx, dy = die.position
        dw, dh = die.size[0] / 2, die.size[1] / 2
        mount_net = spec.die_pad.net
        by_side: dict[str, list] = {s[0]: [] for s in SIDES}
        bonded: dict[str, list] = {s[0]: [] for s in SIDES}
        net_of_pad = {p.name: n for p, n in zip(self.pads, self.pad_nets)}
        for p in self.pads:
            gaps = {"right": dw - p.x, "left": dw + p.x, "bottom": dh - p.y, "top": dh + p.y}
            side = min(gaps, key=lambda k: (gaps[k], k))
            if is_no_connect(net_of_pad[p.name]):
                continue
            bonded[side].append(p)
            if net_of_pad[p.name] == mount_net:
                self.down.append((p, side))
            else:
                by_side[side].append(p)
        finger_t = finger_positions(spec, bonded)
        slots, ring, ok = _hole_slots(spec, self.sites)
        for p, (fx, fy), pts, _slot in _stair_channels(spec, by_side, finger_t, slots, ring, ok, w):
            name = net_of_pad[p.name]
            code = b.net(name)
            fw, fh = (fg.width, fg.length) if abs(pts[0][1] - pts[1][1]) > 1e-9 or abs(pts[0][0]) < abs(pts[0][1]) \
                else (fg.length, fg.width)
            b.pad(die.name, p.name, fx, fy, fw, h=fh, shape="oval", layer=1, net=code)
            for (x1, y1), (x2, y2) in zip(pts, pts[1:]):
                b.track(x1, y1, x2, y2, w, layer=1, net=code)
                self.l2_len[name] = self.l2_len.get(name, 0.0) + math.hypot(x2 - x1, y2 - y1)
            hx, hy = pts[-1]
            through = self.plate and name == self.plate_net
            b.via(hx, hy, sw.pad, sw.drill, 0, 2 if through else 1, net=code, kind="through" if through else "blind")
            self.holes.setdefault(name, []).append((hx, hy))
            b.drawings.append(Drawing(((dx + p.x, dy + p.y), (fx, fy)), "User.3", width=0.025, closed=False,
                                      label=f"bond wire {p.name}"))
        m = spec.die_pad.margin
        for p, side in self.down:  # down-bond: the finger tied to the die mounting pad by a short floor trace
            normal, axis = next((nm, ax) for s, nm, ax in SIDES if s == side)
            code = b.net(mount_net)
            t_c = finger_t[p.name]
            half_die_n = dh if axis == 0 else dw
            die_n = (dy if axis == 0 else dx) * (normal[1] if axis == 0 else normal[0])
            f = _xy(normal, axis, t_c, die_n + half_die_n + fg.gap + fg.length / 2)
            fw, fh = (fg.width, fg.length) if axis == 0 else (fg.length, fg.width)
            b.pad(die.name, p.name, f[0], f[1], fw, h=fh, shape="oval", layer=1, net=code)
            end = _xy(normal, axis, t_c, die_n + half_die_n + m - w / 2)
            b.track(f[0], f[1], end[0], end[1], w, layer=1, net=code)
            b.drawings.append(Drawing(((dx + p.x, dy + p.y), f), "User.3", width=0.025, closed=False,
                                      label=f"bond wire {p.name} (down-bond)"))

    def terminals(self) -> None:
        """The lands with their nets; the heat plate's net through its lands in the sidewall ring."""
        spec, b, sites, bm = self.spec, self.s.b, self.sites, self.ball_map
        land_net: list[str] = [self.ball_net.get(n, "") for n in sites.names]
        if bm is None:  # each hole's nearest free land takes its net
            taken = np.zeros(len(sites.names), bool)
            for name, pts in self.holes.items():
                for hx, hy in pts:
                    d = np.where(taken, np.inf, np.round(np.hypot(sites.x - hx, sites.y - hy), 9))
                    if np.isfinite(d).any():
                        i = int(np.argmin(d))
                        taken[i] = True
                        land_net[i] = name
        if self.plate:
            self.vip = _plate_holes(b, spec, sites, land_net, [xy for v in self.holes.values() for xy in v],
                                    fill=bm is None)
            for i in self.vip:
                self.holes.setdefault(self.plate_net, []).append((float(sites.x[i]), float(sites.y[i])))
        line = dict(zip((k for k, _ in bm.nets), bm.lines)) if bm else {}
        self.s.balls = [Terminal("BALLS", n, float(x), float(y), land_net[i], bm.path if bm else "", line.get(n, 0))
                        for i, (n, x, y) in enumerate(zip(sites.names, sites.x.tolist(), sites.y.tolist()))]
        self.land_net = land_net
        t = spec.terminals
        land, margin = t.land_and_margin(self.rules)
        place_terminal_lands(b, sites, land=land, mask=t.mask, rules=self.rules, layer=0, margin=margin,
                             net_of_site={i: b.net(n) for i, n in enumerate(land_net) if not is_no_connect(n)})

    def netlist(self) -> None:
        """Every net joins the die to the lands (a located message otherwise); the NC lands."""
        if self.ball_map is None:
            self.no_connect = [n for n, net in zip(self.sites.names, self.land_net) if is_no_connect(net)]
            return
        die = self.spec.dies[0]
        dx, dy = die.position
        self.s.bumps = [Bump(die.name, p.name, dx + p.x, dy + p.y, n) for p, n in zip(self.pads, self.pad_nets)]
        self.s.netlist = build_netlist(list(self.s.bumps), self.s.balls, plane_nets=set())
        self.no_connect = list(self.s.netlist.no_connect)

    def route(self) -> None:
        """Every net's holes and lands joined on L1 (:func:`_route_l1`)."""
        sites, vip = self.sites, set(self.vip)
        work = {}
        for name in sorted(self.holes):
            lands = [(float(sites.x[i]), float(sites.y[i])) for i in range(len(sites.names))
                     if self.land_net[i] == name and i not in vip]
            work[name] = (self.holes[name], lands)
        self.s.routed, self.s.unrouted = _route_l1(self.s.b, self.spec, sites, work,
                                                   self.plate_net if self.plate else None)

    def fills(self) -> None:
        """The nets of a ``role: mixed`` copper 1 poured between the lands and traces (the pipeline's ``fills``).

        The pour adds copper to nets already joined by their traces and holes: a piece that touches
        none of its net's copper on L1 is dropped, so no island is written.
        """
        nets = self.spec.land_pours
        on_l1 = set(self.land_net) | set(self.holes)
        for n in nets:
            if n not in on_l1:
                raise SpecError(f"copper 1 pours net '{n}', which no land and no sidewall hole carries: pour a net "
                                "of the ball map", field="stackup.layers")
        self.s.pours = [nets]  # copper 1 only: the floor and the heat plate are the family's own zones
        before = len(self.s.b.zones)
        super().fills()
        zones, b = self.s.b.zones[before:], self.s.b
        self.poured = {n: round(sum(z.fill.area for z in zones if z.net == b.net(n)), 3) for n in nets}

    def finish(self) -> BoardGeom:
        """The routing measures, then the die pad, heat plate, cavity objects and notes (:func:`_finish`)."""
        spec, sites = self.spec, self.sites
        n_vias = {n: len(v) for n, v in self.holes.items()}
        routing = {"nets": {}, "signal_layers_used": ["L1", "L2"], "escape_layers": ["L2"],
                   "no_connect": sorted(self.no_connect),
                   "unrouted": [{"net": u.net, "reason": u.reason, "x": round(u.x, 4), "y": round(u.y, 4),
                                 "layer": "F.Cu"} for u in self.s.unrouted]}
        for r in self.s.routed:
            l1 = round(r.length, 4)
            l2 = round(self.l2_len.get(r.net, 0.0), 4)
            routing["nets"][r.net] = {"kind": "plane" if r.net == self.plate_net and self.plate else "signal",
                                      "layer": "L1+L2", "length_mm": round(l1 + l2, 4),
                                      "length_by_layer_mm": {"L1": l1, "L2": l2}, "vias": n_vias.get(r.net, 0),
                                      "balls": sum(1 for n in self.land_net if n == r.net)}
        for n, area in self.poured.items():
            if n in routing["nets"]:
                routing["nets"][n]["poured_mm2"] = {"L1": area}
        if self.poured:
            routing["pours"] = {"L1": dict(sorted(self.poured.items()))}
        routing["nets"] = dict(sorted(routing["nets"].items()))
        over = int(shapely.contains(cavity_shapes(spec)[1], shapely.points(sites.x, sites.y)).sum())
        summary = (f"lands over the cavity: {over} of {len(sites.names)} lands; routed {len(self.s.routed)} net(s) "
                   f"lands to sidewall holes on L1, {len(self.down)} down-bond(s); {len(self.no_connect)} NC "
                   "land(s)",)
        summary += tuple(f"L1 poured with {n}: {a:g} mm2" for n, a in sorted(self.poured.items()))
        summary += tuple(f"UNROUTED {u['net']}: {u['reason']}" for u in routing["unrouted"][:20])
        return _finish(self.s.b, spec, holes=sum(n_vias.values()), files={"-nets.csv": _nets_csv(routing)},
                       sidecar={"routing": routing}, summary=summary)


def _route_l1(b: BoardBuilder, spec: CavitySpec, sites, work: dict, plate_net: str | None):
    """Route every net's holes and lands on L1 (copper 1); failed nets first in a new pass."""
    rules = spec.substrate_rules()
    width = spec.width()
    step = width + rules.clearance
    pitch = spec.terminals.pitch_xy[0]
    n = max(2, math.floor(pitch / step + 1e-9))
    n += n % 2  # an even number of cells per land pitch: holes between the lands sit on cells
    origin = (float(sites.x[0]), float(sites.y[0])) if len(sites.x) else (0.0, 0.0)
    grid = RouteGrid(b.outline, layers=1, pitch=pitch / n, width=width, clearance=rules.clearance,
                     via_pads=(spec.sidewall.pad,), edge=rules.copper_to_edge, origin=origin)
    g = b.build()
    p, v = g.pads, g.vias
    on = p.layer == 0
    rad = np.where(np.asarray(p.shape) == "circle", np.maximum(p.w, p.h) / 2, np.hypot(p.w, p.h) / 2)[on]
    vo = v.top == 0
    xs = np.concatenate([p.x[on], v.x[vo]])
    ys = np.concatenate([p.y[on], v.y[vo]])
    grid.add(0, xs, ys, xs, ys, np.concatenate([rad, v.size[vo] / 2]), np.concatenate([p.net[on], v.net[vo]]))
    router = Router(grid, b, hops=[], width=width)

    def span(name):
        pts = work[name][0] + work[name][1]
        xs_, ys_ = [q[0] for q in pts], [q[1] for q in pts]
        return (round(max(xs_) - min(xs_) + max(ys_) - min(ys_), 6), name)

    order = sorted((nm for nm in work if work[nm][1] or len(work[nm][0]) > 1 and nm != plate_net), key=span)

    def one(name):
        hs, lands = work[name]
        code = b.net(name)
        if name == plate_net:
            return router.route(code, name, [(x, y, 0) for x, y in hs],
                                [(x, y, 0) for x, y in _nearest_to(lands, hs)], layers=[0], joined=True)
        ordered = _nearest_first([Terminal("", "", x, y, name) for x, y in hs + lands])
        return router.route(code, name, [(ordered[0].x, ordered[0].y, 0)], [(q.x, q.y, 0) for q in ordered[1:]],
                            layers=[0])

    done, failed = route_in_passes(grid, b, order, one, str, passes=ROUTE_PASSES)
    done = done + [Routed(nm, 0) for nm in work if nm not in order]
    return sorted(done, key=lambda r: r.net), failed


def _nearest_to(points: list[tuple[float, float]], roots: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """``points`` in the order a tree grows from ``roots``: each next one nearest to the roots and those before."""
    if not points:
        return []
    xy = np.array(points, float)
    rt = np.array(roots, float)
    d = np.hypot(xy[:, None, 0] - rt[None, :, 0], xy[:, None, 1] - rt[None, :, 1]).min(axis=1)
    left = np.ones(len(points), bool)
    out = []
    for _ in range(len(points)):
        k = int(np.argmin(np.where(left, np.round(d, 9), np.inf)))
        out.append(points[k])
        left[k] = False
        d = np.minimum(d, np.hypot(xy[:, 0] - xy[k, 0], xy[:, 1] - xy[k, 1]))
    return out


def _finish(b: BoardBuilder, spec: CavitySpec, *, holes: int, files: dict[str, str] | None = None,
            sidecar: dict | None = None, summary: tuple[str, ...] = ()) -> BoardGeom:
    """Die mounting pad, thermal vias, heat plate, the cavity's rule areas and drawings, notes; the board."""
    rules = spec.substrate_rules()
    laminated = spec.structure == "laminated"
    die = spec.dies[0]
    dx, dy = die.position
    dw, dh = die.size[0] / 2, die.size[1] / 2
    bx, by = spec.body[0] / 2, spec.body[1] / 2
    cx, cy = spec.cavity.size[0] / 2, spec.cavity.size[1] / 2
    body = b.outline
    cav_floor, cav = cavity_shapes(spec)
    m = spec.die_pad.margin
    mount = shapely.box(dx - dw - m, dy - dh - m, dx + dw + m, dy + dh + m)
    pad_net = b.net(spec.die_pad.net)
    b.zones.append(Zone(name="die_pad", layers=(1,), outline=mount, net=pad_net, fill=mount))
    tv_ = spec.thermal_vias
    n_thermal = 0
    if tv_ is not None:
        room = mount.buffer(-(tv_.margin + tv_.pad / 2), join_style="mitre")
        if not room.is_empty:
            x0, y0, x1, y1 = room.bounds
            nx = int(math.floor((x1 - x0) / tv_.pitch + 1e-9)) + 1
            ny = int(math.floor((y1 - y0) / tv_.pitch + 1e-9)) + 1
            ox = (x0 + x1) / 2 - (nx - 1) * tv_.pitch / 2
            oy = (y0 + y1) / 2 - (ny - 1) * tv_.pitch / 2
            for r in range(ny):
                for c in range(nx):
                    b.via(ox + c * tv_.pitch, oy + r * tv_.pitch, tv_.pad, tv_.drill, 1, 2, net=pad_net, kind="blind")
                    n_thermal += 1
    if spec.heat_plate is not None:
        plate = body.buffer(-(rules.copper_to_edge + 0.01), join_style="mitre")
        b.zones.append(Zone(name="heat_plate", layers=(2,), outline=plate, net=b.net(spec.plate_net), fill=plate))
        if spec.heat_plate.exposed:  # solder-mask opening: bare plate for a heat sink / thermal interface
            opening = plate.buffer(-spec.heat_plate.mask_inset, join_style="mitre")
            b.drawings.append(Drawing(_poly_pts(opening), "B.Mask", width=0.0, fill=True, label="heat plate opening"))

    # -- the cavity: rule areas, drawings, notes --------------------------------------------------------
    # open: nothing on the removed F.Cu; laminated: the second substrate's lands and traces over the
    # resin, but no hole through it into the cavity
    forbid = {"tracks": laminated, "vias": False, "pads": laminated, "copperpour": laminated, "footprints": True}
    b.zones.append(Zone(name="cavity", layers=(0,), outline=cav, keepout=forbid))
    # wall-clearance band on the floor, one trapezoid per side (KiCad rule areas have no holes);
    # 1 um narrower than the clearance so a land exactly at the clearance does not touch it
    band = max(spec.cavity.wall_clearance - 0.001, 0.001)
    outer = {"tl": (-cx, -cy), "tr": (cx, -cy), "br": (cx, cy), "bl": (-cx, cy)}
    inset = {k: (x - band * np.sign(x), y - band * np.sign(y)) for k, (x, y) in outer.items()}
    ring_band = shapely.difference(cav, shapely.buffer(cav_floor, -band, join_style="mitre"))
    for name, (a, c) in (("top", ("tl", "tr")), ("right", ("tr", "br")), ("bottom", ("br", "bl")),
                         ("left", ("bl", "tl"))):
        if spec.cavity.corner_radius == 0:
            poly = shapely.Polygon([outer[a], outer[c], inset[c], inset[a]])
        else:  # the band between the rounded outlines, cut along the diagonals
            wedge = shapely.Polygon([(0.0, 0.0), tuple(3 * np.array(outer[a])), tuple(3 * np.array(outer[c]))])
            poly = shapely.normalize(shapely.intersection(ring_band, wedge))
        b.zones.append(Zone(name=f"cavity_wall_{name}", layers=(1,), outline=poly,
                            keepout={"tracks": True, "vias": False, "pads": False, "copperpour": False,
                                     "footprints": True}))
    b.drawings.append(Drawing(_poly_pts(cav), "User.1", label="cavity"))
    b.drawings.append(Drawing(((-cx + 0.1, -cy + 0.25),), "User.1", label="cavity depth", size=0.2,
                              text=f"CAVITY depth {spec.cavity_depth():.3f} mm: " + (
                                  "resin-filled under the second substrate, floor In1.Cu" if laminated else
                                  "F.Cu + dielectric 1 removed, floor In1.Cu")))
    die_box = shapely.box(dx - dw, dy - dh, dx + dw, dy + dh)
    b.drawings.append(Drawing(_poly_pts(die_box), "F.Fab", label=f"die {die.name}"))
    enc = encapsulation_outline(spec)
    b.drawings.append(Drawing(_poly_pts(enc), "User.4", label="encapsulation"))
    thermal = thermal_estimate(spec, n_thermal) if tv_ is not None else None
    notes = fab_notes(spec, holes=holes, thermal=thermal)
    b.drawings += note_drawings(notes, bx + 1.0, -by)

    b.extras = BoardExtras(
        dies=die_box, body=body, cavity=CavityOutline(outline=cav, floor=cav_floor, encapsulation=enc),
        user_layers=dict(USER_LAYERS),
        dru_extra=cavity_dru(spec), files={"-fab-notes.txt": "\n".join(notes) + "\n", **(files or {})}, summary=(
            f"cavity {spec.cavity.size[0]:g} x {spec.cavity.size[1]:g} mm, depth {spec.cavity_depth():.3f} mm ("
            + ("resin-filled under the second substrate" if laminated else "F.Cu + dielectric 1 removed")
            + f", floor In1.Cu), {holes} sidewall holes"
            + (f", die pad to heat plate ~{thermal['r_total']:.2f} K/W" if thermal else ""),) + summary,
        sidecar={"cavity": {"structure": spec.structure, "size": list(spec.cavity.size),
                            "depth": round(spec.cavity_depth(), 6),
                            **({"resin": spec.encapsulation.material,
                                "second_substrate_mm": spec.stackup.dielectrics()[0].plies[0].thickness}
                               if laminated else {"removed_copper": ["F.Cu"], "removed_dielectrics": [1]}),
                            "floor": "In1.Cu",
                            "rule_areas": sorted(z.name for z in b.zones if z.keepout is not None)},
                 **({"thermal": {k: round(v, 6) for k, v in thermal.items()}} if thermal else {}),
                 **(sidecar or {})})
    return b.build()




def _on_side(sites, i: int, side: str, t, k: int) -> bool:
    """True if site ``i`` (on ring ``k``) lies on the given side's row/column of that ring."""
    r, c = int(sites.row[i]), int(sites.col[i])
    return {"top": r == k, "bottom": r == t.rows - 1 - k, "left": c == k, "right": c == t.columns - 1 - k}[side]


def cavity_shapes(spec: CavitySpec) -> tuple[shapely.Polygon, shapely.Polygon]:
    """The cavity as (inscribed, circumscribed) polygons, mm.

    Straight sides are exact; rounded corners (``corner_radius``) are polygons with their vertices
    on the arc (inscribed: inside the true cavity, used for "inside the floor" checks) or their edges
    tangent to it (circumscribed: covers the true cavity, used for rule areas and "outside" checks),
    so no check is ever optimistic.

    Example:
        >>> spec = CavitySpec.model_validate({"family": "cavity", "structure": "open", "body": [10, 10],
        ...     "stackup": {"layers": [
        ...     {"copper": 0.02}, {"dielectric": 0.4}, {"copper": 0.02}, {"dielectric": 0.2}, {"copper": 0.02}]},
        ...     "dies": [{"size": [3, 3], "pads": {"peripheral": {"per_side": 4, "pitch": 0.3}}}],
        ...     "cavity": {"size": [6, 6], "corner_radius": 0.5},
        ...     "sidewall": {"pitch": 0.8, "layout": [12, 12], "drill": 0.2, "annular_ring": 0.1},
        ...     "lands": {"diameter": 0.45}})
        >>> inner, outer = cavity_shapes(spec)
        >>> inner.area < 36 - (4 - math.pi) * 0.25 < outer.area < 36, outer.bounds
        (True, (-3.0, -3.0, 3.0, 3.0))
    """
    cx, cy = spec.cavity.size[0] / 2, spec.cavity.size[1] / 2
    box = shapely.box(-cx, -cy, cx, cy)
    r = spec.cavity.corner_radius
    if r <= 0:
        return box, box
    core = shapely.box(-cx + r, -cy + r, cx - r, cy - r)
    quad = 8
    inner = shapely.buffer(core, r, quad_segs=quad)
    outer = shapely.intersection(shapely.buffer(core, r / math.cos(math.pi / (4 * quad)), quad_segs=quad), box)
    return shapely.normalize(inner), shapely.normalize(outer)


def encapsulation_outline(spec: CavitySpec) -> shapely.Polygon:
    """Encapsulation outline: the cavity (its inscribed outline), or the die grown by ``encapsulation.margin``."""
    if spec.encapsulation.margin is None:
        return cavity_shapes(spec)[0]
    d = spec.dies[0]
    (px, py), (w, h) = d.position, d.size
    return shapely.box(px - w / 2, py - h / 2, px + w / 2, py + h / 2).buffer(spec.encapsulation.margin,
                                                                             join_style="mitre")


def mm(value: float) -> str:
    """A .kicad_dru length with its unit (a bare number makes KiCad drop the whole file)."""
    return f"{round(value, 6):g}mm"


def cavity_dru(spec: CavitySpec) -> str:
    """``.kicad_dru`` rules of the cavity (every number with its unit)."""
    sw = spec.sidewall
    drill = min(sw.drill, spec.thermal_vias.drill if spec.thermal_vias else sw.drill)
    walls = " || ".join(f"A.intersectsArea('cavity_wall_{s[0]}')" for s in SIDES)
    top = [
        "# cavity: no copper, vias or pads on the removed layers inside the cavity outline",
        '(rule "cavity_removed_layers"',
        '\t(layer "F.Cu")',
        "\t(condition \"A.intersectsArea('cavity')\")",
        "\t(constraint disallow track via micro_via buried_via pad zone))",
    ] if spec.structure == "open" else [
        "# cavity: the second substrate (F.Cu) covers the resin-filled cavity: lands and traces, no hole into it",
        '(rule "cavity_no_holes"',
        '\t(layer "F.Cu")',
        "\t(condition \"A.intersectsArea('cavity')\")",
        "\t(constraint disallow via micro_via buried_via))",
    ]
    return "\n".join(top + [
        f"# cavity floor: lands and vias keep {mm(spec.cavity.wall_clearance)} from the cavity wall",
        '(rule "cavity_wall_clearance"',
        '\t(layer "In1.Cu")',
        f'\t(condition "{walls}")',
        "\t(constraint disallow pad via micro_via buried_via))",
        "# sidewall holes (F.Cu to In1.Cu) and thermal vias (In1.Cu to B.Cu): drill and annular ring",
        '(rule "sidewall_holes"',
        "\t(condition \"A.Type == 'Via' && A.Via_Type != 'Micro'\")",
        f"\t(constraint hole_size (min {mm(drill)}))",
        f"\t(constraint annular_width (min {mm(spec.substrate_rules().annular_ring)})))",
    ])


def fab_notes(spec: CavitySpec, *, holes: int, thermal: dict | None = None) -> list[str]:
    """Fabrication note lines (also drawn on User.2).

    Args:
        spec: the validated :class:`CavitySpec` (cavity, sidewall, die, encapsulation, stack-up; mm).
        holes: number of plated sidewall holes on the board (count).
        thermal: the die pad → heat plate estimate of :func:`thermal_estimate` (resistances in K/W),
            or None to leave the estimate line out.

    Example:
        >>> from kisubstrate.families.registry import example_spec
        >>> spec = example_spec("cavity")
        >>> notes = fab_notes(spec, holes=92)
        >>> notes[0][:65]
        "CAVITY 6.4 x 6.4 mm (outline on User.1 'Cavity'), depth 0.400 mm:"
        >>> notes[3][:60]
        'SIDEWALL: 92 plated holes (F.Cu-In1.Cu; F.Cu-B.Cu for the he'
    """
    st = spec.stackup
    d1 = st.dielectrics()[0]
    plies = " + ".join(f"{p.role or 'ply'} {p.material or d1.material or st.default_material} {p.thickness:g} mm"
                       for p in (d1.plies or [])) or f"{d1.material or st.default_material} {d1.thickness:g} mm"
    sw = spec.sidewall
    cx, cy = spec.cavity.size
    d0 = spec.dies[0]
    die_line = (f"DIE: {d0.size[0]:g} x {d0.size[1]:g} x {d0.thickness:g} mm on the die pad (In1.Cu, net "
                f"{spec.die_pad.net}), attach {spec.die_attach:g} mm, wire loop {spec.loop_height:g} mm.")
    t = spec.terminals
    copper, margin = t.land_and_margin(spec.substrate_rules())
    land_line = (f"LANDS: {t.mask.upper()}, copper {copper:g} mm, mask opening {round(copper + 2 * margin, 6):g} mm"
                 + (f" for a {spec.lands.ball_diameter:g} mm ball" if spec.lands.ball_diameter else "")
                 + (" (IPC-7095: solder land 80 % of the ball)" if spec.lands.diameter is None else "") + ".")
    if spec.structure == "laminated":
        second, spacer = d1.plies[0], d1.plies[1:]
        lines = [
            f"CAVITY {cx:g} x {cy:g} mm (outline on User.1 'Cavity'), depth {spec.cavity_depth():.3f} mm: opening in "
            "the spacer (" + " + ".join(f"{p.material or d1.material or st.default_material} {p.thickness:g} mm"
                                        for p in spacer) + "),",
            f"  filled with {spec.encapsulation.material} resin flush with the spacer; the second substrate "
            f"({second.material or d1.material or st.default_material} {second.thickness:g} mm, copper F.Cu) is "
            "laminated over spacer and resin.",
            f"  floor: In1.Cu, finish {st.finish} (wire-bondable); no hole through the second substrate over the "
            "cavity (rule area 'cavity').",
            f"SIDEWALL: {holes} plated holes (F.Cu-In1.Cu; F.Cu-B.Cu for the heat plate's net), drill {sw.drill:g} "
            f"mm, pad {sw.pad:g} mm, between the lands; filled and capped (IPC-4761 VII).",
            land_line,
            die_line,
        ]
        if spec.land_pours:
            lines.insert(4, f"  F.Cu poured with {', '.join(spec.land_pours)} between the lands and traces "
                            "(zones with fills; refill keeps the clearances of the .kicad_dru).")
    else:
        lines = [
            f"CAVITY {cx:g} x {cy:g} mm (outline on User.1 'Cavity'), depth {spec.cavity_depth():.3f} mm:",
            f"  removed: F.Cu (2nd substrate copper) + dielectric 1 ({plies});",
            "  floor: In1.Cu exposed inside the cavity, finish "
            f"{st.finish} (wire-bondable); no copper on F.Cu inside (rule area 'cavity').",
            f"SIDEWALL: {holes} plated holes F.Cu-In1.Cu, drill {sw.drill:g} mm, pad {sw.pad:g} mm, "
            f"{spec.hole_rings} row(s) at {sw.pitch:g} mm pitch; filled and capped (IPC-4761 VII), via-in-pad.",
            land_line,
            die_line,
            f"ENCAPSULATION: {spec.encapsulation.material}, height {spec.resin_height():g} mm "
            "(outline on User.4), must not rise above the ring.",
        ]
    if spec.heat_plate is not None:
        tv = spec.thermal_vias
        lines.append(f"HEAT PLATE: B.Cu zone, net {spec.plate_net}" +
                     (f"; thermal vias In1.Cu-B.Cu drill {tv.drill:g} mm at {tv.pitch:g} mm pitch." if tv else "."))
    if thermal:
        lines.append(f"  estimate (1-D): {thermal['vias']} vias {thermal['r_vias']:.2f} K/W || laminate "
                     f"{thermal['r_laminate']:.1f} K/W = {thermal['r_total']:.2f} K/W die pad to heat plate.")
    lines.append("KiCad copper: L1 F.Cu, L2 In1.Cu, L3 B.Cu; In2.Cu is an empty placeholder (even layer count).")
    return lines


K_COPPER = 390.0  # W/(m K), electro-deposited copper (typical 380-400)


def thermal_estimate(spec: CavitySpec, vias: int) -> dict:
    """First-order 1-D estimate of the die pad → heat plate path through the first substrate's core.

    The via barrels (copper annulus, or the full drill when filled) and the laminate between them
    conduct in parallel over the core thickness ``L``: ``R = L / (k A)`` each (K/W).

    Example:
        >>> from kisubstrate.families.registry import example_spec
        >>> spec = example_spec("cavity")
        >>> {k: round(v, 3) for k, v in thermal_estimate(spec, 49).items() if k.startswith("r_")}
        {'r_vias': 0.761, 'r_laminate': 31.055, 'r_total': 0.743}
    """
    tv = spec.thermal_vias
    assert tv is not None
    L = spec.stackup.dielectrics()[-1].thickness  # core between the floor (L2) and the heat plate (L3), mm
    inner = 0.0 if tv.filled else max(tv.drill - 2 * tv.plating, 0.0)
    a_via = math.pi / 4 * (tv.drill ** 2 - inner ** 2)  # mm^2 of copper per via
    d = spec.dies[0]
    m = spec.die_pad.margin
    a_pad = (d.size[0] + 2 * m) * (d.size[1] + 2 * m)
    a_lam = max(a_pad - vias * math.pi / 4 * tv.drill ** 2, 1e-9)
    r_vias = L / (K_COPPER * vias * a_via) * 1e3 if vias else math.inf  # mm / (W/mK * mm^2) -> K/W
    r_lam = L / (tv.laminate_k * a_lam) * 1e3
    return {"vias": vias, "length_mm": L, "copper_mm2": vias * a_via, "r_vias": r_vias, "r_laminate": r_lam,
            "r_total": 1 / (1 / r_vias + 1 / r_lam)}


# -- checks --------------------------------------------------------------------------------------
def cavity_checks(spec: CavitySpec, board: BoardGeom, rules: Any = None) -> list[Violation]:
    """Cavity rules (mm): cavity floor lands, sidewall holes, die fit, encapsulation, heights, removed layers.

    Lands on the floor keep the wall clearance, sidewall holes sit in the ring with their margins,
    the die fits, the encapsulation covers the die and wires, the z heights add up, and nothing
    lies on a removed layer.

    The family check of ``cavity`` (``Family.checks``), run by ``build_substrate`` after the board checks.

    Args:
        spec: the validated :class:`CavitySpec` (clearances, margins and heights in mm).
        board: its substrate board; reads the cavity and die outlines of ``board.extras``.
        rules: the substrate rule profile (unused: every limit here comes from the spec).

    Example:
        >>> from kisubstrate.families.registry import example_spec
        >>> spec = example_spec("cavity")
        >>> cavity_checks(spec, build_board(spec))
        []
    """
    out: list[Violation] = []
    if board.extras.cavity is None:
        raise ValueError(f"board {board.name} has no cavity (BoardExtras.cavity)")
    cav = board.extras.cavity.outline  # circumscribed: for what must stay outside
    wall = cav.exterior
    floor = board.extras.cavity.floor  # inscribed: for what must stay inside
    fwall = floor.exterior
    body = board.outline
    p = board.pads
    wc = spec.cavity.wall_clearance
    # 1. cavity lands (pads on the floor layer that are not the ring lands)
    for i in range(len(p)):
        if int(p.layer[i]) != 1:
            continue
        x, y, w, h = float(p.x[i]), float(p.y[i]), float(p.w[i]), float(p.h[i])
        r = min(w, h) / 2 if p.shape[i] == "oval" else (w / 2 if p.shape[i] == "circle" else math.hypot(w, h) / 2)
        half = (max(w, h) - min(w, h)) / 2 if p.shape[i] == "oval" else 0.0
        seg = shapely.LineString([(x - half, y), (x + half, y)] if w >= h else [(x, y - half), (x, y + half)]) \
            if half > 0 else shapely.Point(x, y)
        d = shapely.distance(seg, fwall) - r
        if not floor.contains(seg):
            d = -shapely.distance(seg, fwall) - r
        if d < wc - TOL:
            where = shapely.shortest_line(seg, fwall).coords[1]
            out.append(Violation("cavity_land_floor", (p.key(i),), where, "In1.Cu", float(d), wc,
                                 "cavity land not inside the cavity floor with the wall clearance"))
    # 2. sidewall holes
    v = board.vias
    sw = spec.sidewall
    for k in range(len(v)):
        if int(v.top[k]) != 0:
            continue
        pt = shapely.Point(float(v.x[k]), float(v.y[k]))
        rr = float(v.drill[k]) / 2
        dw = shapely.distance(pt, wall) * (-1 if cav.contains(pt) else 1) - rr
        if dw < sw.wall_margin - TOL:
            out.append(Violation("sidewall_hole_wall", (v.key(k),), (pt.x, pt.y), "drill", float(dw), sw.wall_margin,
                                 "sidewall hole too near the cavity wall (drill edge)"))
        de = shapely.distance(pt, body.exterior) * (1 if body.contains(pt) else -1) - rr
        if de < sw.outline_margin - TOL:
            out.append(Violation("sidewall_hole_outline", (v.key(k),), (pt.x, pt.y), "drill", float(de),
                                 sw.outline_margin, "sidewall hole too near the package outline (drill edge)"))
    # 3. die fits the cavity with clearance
    die = board.extras.dies
    gap = shapely.distance(die.exterior, fwall) * (1 if floor.contains(die) else -1)
    if gap < spec.cavity.die_clearance - TOL:
        c = die.centroid
        out.append(Violation("die_fits_cavity", (f"die/{spec.dies[0].name}",), (c.x, c.y), "In1.Cu", float(gap),
                             spec.cavity.die_clearance, f"die {spec.dies[0].size[0]:g} x {spec.dies[0].size[1]:g} mm "
                             f"does not fit the {spec.cavity.size[0]:g} x {spec.cavity.size[1]:g} mm cavity with "
                             "the clearance"))
    # 4. encapsulation covers die and bond wires, stays in the cavity
    enc = board.extras.cavity.encapsulation
    cover = spec.encapsulation.cover
    dcov = shapely.distance(die.exterior, enc.exterior) * (1 if enc.contains(die) else -1)
    if dcov < cover - TOL:
        c = die.centroid
        out.append(Violation("encapsulation_cover", (f"die/{spec.dies[0].name}",), (c.x, c.y), "User.4", float(dcov),
                             cover, "encapsulation does not cover the die with the minimum resin margin"))
    wires = [d for d in board.drawings if d.layer == "User.3"]
    bad = [d for d in wires if not enc.covers(shapely.LineString(d.points))]
    if bad:
        out.append(Violation("encapsulation_cover", tuple(d.label for d in bad[:3]), bad[0].points[1], "User.4",
                             float(len(bad)), 0.0, f"{len(bad)} bond wire(s) not covered by the encapsulation"))
    if not floor.buffer(1e-6).covers(enc):
        c = enc.centroid
        out.append(Violation("encapsulation_cover", ("encapsulation",), (c.x, c.y), "User.4", 0.0, 0.0,
                             "encapsulation outline leaves the cavity"))
    # 5. heights: die stack under the resin top, resin top below the ring (open) / under the second substrate
    d0 = spec.dies[0]
    stack = spec.die_attach + d0.thickness + spec.loop_height
    eh, depth = spec.resin_height(), spec.cavity_depth()
    if spec.structure == "laminated":
        rules = rules or spec.substrate_rules()
        need = stack + rules.encapsulant_cover
        if need > depth + 1e-9:
            out.append(Violation("cavity_depth", ("die stack",), (0.0, 0.0), "z", need, depth,
                                 f"die attach {spec.die_attach:g} + die {d0.thickness:g} + wire loop "
                                 f"{spec.loop_height:g} + resin over the loop {rules.encapsulant_cover:g} (profile "
                                 f"encapsulant_cover) = {need:.3f} mm, more than the spacer's {depth:.3f} mm under "
                                 "the second substrate"))
    else:
        cover_z = (rules or spec.substrate_rules()).encapsulant_cover
        if stack + cover_z > eh + 1e-9:
            out.append(Violation("cavity_depth", ("die stack",), (0.0, 0.0), "z", stack + cover_z, eh,
                                 f"die attach {spec.die_attach:g} + die {d0.thickness:g} + wire loop "
                                 f"{spec.loop_height:g} + resin over the loop {cover_z:g} (profile encapsulant_cover)"
                                 f" = {stack + cover_z:.3f} mm above the encapsulation height {eh:g} mm"))
        if eh > depth + 1e-9:
            out.append(Violation("cavity_depth", ("encapsulation",), (0.0, 0.0), "z", eh, depth,
                                 f"encapsulation {eh:g} mm rises above the cavity depth {depth:.3f} mm (ring surface)"))
    # 6. nothing on a removed layer inside the cavity (open); no hole through the second substrate (laminated)
    if spec.structure == "laminated":
        on = np.flatnonzero(v.top == 0)
        if len(on):
            inside = shapely.distance(shapely.points(v.x[on], v.y[on]), cav) < v.size[on] / 2 - TOL
            for k in on[inside].tolist():
                out.append(Violation("cavity_hole", (v.key(k),), (float(v.x[k]), float(v.y[k])), layer_name(0), 0.0,
                                     0.0, "hole through the second substrate over the resin-filled cavity"))
        return out
    ax, ay, bx_, by_, r, layer, net, src, idx = copper_items(board)
    sel = np.flatnonzero(layer == 0)
    if len(sel):
        geoms = capsule_geoms(ax[sel], ay[sel], bx_[sel], by_[sel])
        # a capsule overlaps the open cavity iff its centre segment comes closer than its radius
        inside = shapely.distance(geoms, cav) < r[sel] - TOL
        keys = (p.key, v.key, board.tracks.key)
        for j in np.flatnonzero(inside).tolist():
            it = sel[j]
            out.append(Violation("cavity_removed_layer", (keys[int(src[it])](int(idx[it])),),
                                 (float(ax[it]), float(ay[it])), layer_name(0), 0.0, 0.0,
                                 "copper on a layer the cavity removes (F.Cu inside the cavity)"))
    for z in board.zones:
        if z.keepout is None and z.fill is not None and 0 in z.layers and z.fill.intersection(cav).area > 1e-9:
            c = z.fill.intersection(cav).centroid
            out.append(Violation("cavity_removed_layer", (z.key,), (c.x, c.y), layer_name(0), 0.0, 0.0,
                                 "zone fill on a layer the cavity removes"))
    return out


# -- footprint -----------------------------------------------------------------------------------
def build_footprint(spec: CavitySpec) -> list[FootprintGeom]:
    """Board-side land pattern: the lands seen from the board (the package mounts lands-down).

    That is the board's lands mirrored in x, which is the grid-array footprint of the same grid
    in the package top view (A1 top-left; the board names its columns mirrored). Laminated with a
    ball map: each pad carries its net's routed length in the package as KiCad's ``die_length``.

    Args:
        spec: the validated cavity spec.
    """
    fp = build_grid_array(spec.footprint_spec())[0]
    if spec.structure == "laminated" and spec.terminals.ball_map is not None:
        fp = with_die_lengths([fp], ball_lengths(build_board(spec)))[0]
        return [replace(fp, description=fp.description + " Cavity package: the lands of the second substrate "
                        "(over the cavity too) mirrored in x; pads carry their package length (die length).")]
    return [replace(fp, description=fp.description + " Cavity-down package: the substrate's ring lands "
                    "mirrored in x.")]


register(Family(name="cavity", spec=CavitySpec, footprint=build_footprint, substrate=build_board, flipped=True,
                checks=(cavity_checks, check_routed),
                summary="cavity package: two substrates, sidewall through-holes, die in the cavity, heat plate"))
