"""Cavity package (``family: cavity``): two substrates, a sidewall with plated holes, a die in the cavity.

Cross-section (physical copper L1 … L3, top first; the package mounts cavity-down)::

    L1  F.Cu    ●land  ●land  ░░░░░░░░░░ cavity (opening) ░░░░░░░░░░  ●land  ●land   2nd substrate copper
                ║hole  ║hole      encapsulation ┌──die──┐ ⌒ bond wire       ║ ║       (top ring lands)
        diel 1  2nd substrate + spacer (plies) ─┘       └─────────────  sidewall ring
    L2  In1.Cu  ══ trace ══ finger ▭     [ die mounting pad ]     ▭ finger ══ trace ══   cavity floor
        diel 2  1st substrate core (split by KiCad's empty In2.Cu placeholder)  ┆ thermal vias
    L3  B.Cu    ▓▓▓▓▓▓▓▓▓▓▓▓▓▓▓▓▓▓▓▓ heat plate (copper zone) ▓▓▓▓▓▓▓▓▓▓▓▓▓▓▓▓▓▓▓▓▓▓▓▓▓▓▓

**Mounting**: cavity-down, the ring lands (``F.Cu``) face the PCB, so the family is registered
``flipped`` and its footprint is the board's lands mirrored in x, ball A1 top-left (the board
names its land columns mirrored; viewing convention: :mod:`kisubstrate.geometry.terminals`); the
die is wire-bonded face up (``face: down`` refused).

**Layer mapping** (KiCad needs an even copper count): L1 → ``F.Cu`` (ring lands, second
conductive pattern), L2 → ``In1.Cu`` (cavity floor: die mounting pad, bond fingers, first
conductive pattern), L3 → ``B.Cu`` (heat plate); an empty, zero-thickness ``In2.Cu`` named
``unused`` splits the first substrate's core (see :mod:`kisubstrate.kicad.layers`). The
dielectric between L1 and L2 is the second substrate plus the spacer, written as KiCad
sub-layers (``plies``).

**The cavity** (KiCad has no such object) is written as: its outline on ``User.1``
("Cavity"); a rule area ``cavity`` on every removed copper layer (``F.Cu``) forbidding
tracks, vias, pads and pours; four rule areas ``cavity_wall_*`` on the floor layer
(``In1.Cu``) forbidding pads and vias in the wall-clearance band; ``.kicad_dru`` rules
(``cavity_removed_layers``, ``cavity_wall_clearance``, ``sidewall_holes``); and a
fabrication note on ``User.2`` ("Fab.Notes") and in ``<name>-fab-notes.txt``. Bond wires
are drawn on ``User.3``, the encapsulation outline on ``User.4``.

**Routing** (deterministic): the sidewall holes sit on the sites of a perimeter grid
(``sidewall.pitch``, ``sidewall.layout``, ``sidewall.rows`` rings), each under a top-ring
land (filled and capped via-in-pad). Per side of the cavity, channels run straight out
from the floor: one at every inner-row hole, one midway between two inner-row holes for
a hole of an outer row (reached by a short jog along that row). Die pads on a die edge
take a centred block of channels of that side, in order, so bond wires never cross.

Example:
    >>> from kisubstrate.families.registry import example_spec
    >>> spec = example_spec("cavity")
    >>> board = build_board(spec)
    >>> board.copper, sorted(z.name for z in board.zones)[:3]
    (3, ['cavity', 'cavity_wall_bottom', 'cavity_wall_left'])
"""

from __future__ import annotations

import math
from dataclasses import replace
from typing import Any, Literal

import numpy as np
import shapely
from pydantic import Field, model_validator

from kisubstrate.families.buildup import terminal_sites
from kisubstrate.families.grid_array import BgaSpec, LgaSpec, build_grid_array, terminal_footprint_spec
from kisubstrate.families.registry import Family, register
from kisubstrate.geometry.board import (
    BoardBuilder,
    BoardExtras,
    BoardGeom,
    CavityOutline,
    Drawing,
    Zone,
)
from kisubstrate.geometry.ir import FootprintGeom
from kisubstrate.geometry.terminals import place_terminal_lands, ring_index
from kisubstrate.model.base import GridCount, SpecModel, length
from kisubstrate.model.errors import SpecError
from kisubstrate.model.substrate import SubstrateSpec, Terminals
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

    pitch: float = length("hole pitch along a row (= top-ring land pitch)", le=5)
    rows: int = Field(2, ge=1, le=6, description="rows (rings) of holes")
    layout: tuple[GridCount, GridCount] = Field(description="sites per outer row in x, y (a perimeter grid)")
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

    diameter: float = length("land (copper) diameter", le=5)
    ball_diameter: float | None = length("solder ball diameter; none for an LGA", le=5, default=None)
    mask: Literal["smd", "nsmd"] = Field("smd", description="mask-defined (smd) or copper-defined (nsmd)")
    board_pad_diameter: float | None = length("board-side land of the footprint", le=5, default=None)
    ball_map: str | None = Field(None, description="CSV: land name per site or land,net list")


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
    height: float = length("encapsulation height above the floor", le=5, default=0.35)
    cover: float = length("minimum resin beyond the die edge", ge=0, gt=None, le=5, default=0.1)
    material: str = Field("epoxy", max_length=40)


class CavitySpec(SubstrateSpec):
    """Cavity package: first substrate (2 Cu), spacer/sidewall with holes, second substrate (1 Cu)."""

    family: Literal["cavity"] = "cavity"
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
            t = {"pitch": sw.get("pitch"), "layout": sw.get("layout"), "perimeter_rings": sw.get("rows", 2),
                 "ball_diameter": lands.get("ball_diameter") or lands.get("diameter"),
                 "land": lands.get("diameter"), "mask": lands.get("mask", "smd"),
                 "board_pad_diameter": lands.get("board_pad_diameter")}
            if lands.get("ball_map"):
                t["ball_map"] = lands["ball_map"]
            data = {**data, "terminals": t}
        return data

    @model_validator(mode="after")
    def _structure(self) -> "CavitySpec":
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
        if 2 * sw.rows >= min(sw.layout):
            raise ValueError(f"{sw.rows} rows need a layout larger than {2 * sw.rows} sites per side")
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

    def cavity_depth(self) -> float:
        """Cavity depth: the removed L1 copper and the first dielectric (2nd substrate + spacer), mm."""
        return self.stackup.coppers()[0].thickness + self.stackup.dielectrics()[0].thickness

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


def note_drawings(lines: list[str], x: float, y: float, layer: str = "User.2", size: float = 0.3) -> list[Drawing]:
    """Fabrication-note text lines (one text item per line) starting at (x, y), mm.

    Args:
        lines: the note lines, top to bottom (one text item each).
        x: left end of the text lines (mm, board frame).
        y: position of the first line (mm, board frame, y down); each next line sits ``1.6 * size`` lower.
        layer: KiCad layer of the text (default ``User.2``, named "Fab.Notes" by the cavity and PoP boards).
        size: text height (mm).

    Example:
        >>> [(d.points, d.text) for d in note_drawings(["CAVITY", "SIDEWALL"], 3.0, -2.0, size=0.5)]
        [(((3.0, -2.0),), 'CAVITY'), (((3.0, -1.2),), 'SIDEWALL')]
    """
    return [Drawing(((x, y + k * size * 1.6),), layer, text=line, size=size, label="fab note")
            for k, line in enumerate(lines)]


def _poly_pts(poly: shapely.Polygon) -> tuple[tuple[float, float], ...]:
    return tuple((float(x), float(y)) for x, y in shapely.get_coordinates(poly.exterior)[:-1])


# sides of the cavity: name, outward normal, tangent axis (0 = x, 1 = y)
SIDES = (("top", (0, -1), 0), ("right", (1, 0), 1), ("bottom", (0, 1), 0), ("left", (-1, 0), 1))


def _xy(side_normal, t_axis: int, t: float, n: float) -> tuple[float, float]:
    nx, ny = side_normal
    return (t if t_axis == 0 else nx * n, t if t_axis == 1 else ny * n)


# -- board ---------------------------------------------------------------------------------------
def build_board(spec: CavitySpec) -> BoardGeom:
    """Build the cavity package's substrate board (both substrates in one 3-copper stack)."""
    rules = spec.substrate_rules()
    w = spec.width()
    clr = rules.clearance
    bx, by = spec.body[0] / 2, spec.body[1] / 2
    body = shapely.box(-bx, -by, bx, by)
    b = BoardBuilder(spec.resolved_name, copper=3, outline=body)
    die = spec.dies[0]
    cx, cy = spec.cavity.size[0] / 2, spec.cavity.size[1] / 2
    cav_floor, cav = cavity_shapes(spec)  # inscribed (floor checks) and circumscribed (rule areas) outlines
    sw, fg = spec.sidewall, spec.fingers
    t = spec.terminals
    sites = terminal_sites(spec)
    ring = ring_index(sites, t.columns, t.rows)
    inner = sw.rows - 1
    ball_net = t.ball_map.net_of if t.ball_map is not None else {}
    dx, dy = die.position
    dw, dh = die.size[0] / 2, die.size[1] / 2

    # -- die pads by die edge -----------------------------------------------------------------------
    by_side: dict[str, list] = {s[0]: [] for s in SIDES}
    for p in die.pad_list():
        gaps = {"right": dw - p.x, "left": dw + p.x, "bottom": dh - p.y, "top": dh + p.y}
        side = min(gaps, key=lambda k: (gaps[k], k))
        by_side[side].append(p)

    site_used: dict[int, int] = {}  # site index -> net code
    for name, normal, axis in SIDES:
        half_die_n = dh if axis == 0 else dw
        half_die_t = dw if axis == 0 else dh
        half_cav_t = cx if axis == 0 else cy
        die_t = dx if axis == 0 else dy  # die centre along this side, and across it (signed outward)
        die_n = (dy if axis == 0 else dx) * (normal[1] if axis == 0 else normal[0])
        n_in = die_n + half_die_n + fg.gap  # finger inner end, from the body centre along the normal
        t_die = half_die_t + fg.gap - clr - fg.width / 2  # fingers of the next side start beyond this
        t_cav = half_cav_t - max(spec.cavity.wall_clearance, spec.cavity.corner_radius) - fg.width / 2

        def reachable(tt: float, die_t: float = die_t, t_die: float = t_die, t_cav: float = t_cav) -> bool:
            return abs(tt - die_t) <= t_die + 1e-9 and abs(tt) <= t_cav + 1e-9  # defaults bind this side
        sel = [i for i in range(len(sites.names)) if ring[i] == inner and _on_side(sites, i, name, t, inner)]
        tv = {i: float(sites.x[i] if axis == 0 else sites.y[i]) for i in sel}
        inner_sites = sorted(sel, key=lambda i: tv[i])
        channels: list[tuple[float, int, float | None]] = []  # (t, site, jog row normal or None)
        for i in inner_sites:
            if reachable(tv[i]):
                channels.append((tv[i], i, None))
        if sw.rows > 1:
            k = 0
            for a, c in zip(inner_sites, inner_sites[1:]):
                tm = (tv[a] + tv[c]) / 2
                if not reachable(tm):
                    continue
                target_ring = inner - 1 - (k % inner)
                k += 1
                cand = [i for i in range(len(sites.names)) if ring[i] == target_ring
                        and _on_side(sites, i, name, t, target_ring)
                        and abs(float(sites.x[i] if axis == 0 else sites.y[i]) - tv[a]) < 1e-9]
                if cand:
                    i = cand[0]
                    n_row = float(-sites.y[i] if name == "top" else sites.y[i] if name == "bottom"
                                  else sites.x[i] if name == "right" else -sites.x[i])
                    channels.append((tm, i, n_row))
        channels.sort(key=lambda c: c[0])
        pads = sorted(by_side[name], key=lambda p: p.x if axis == 0 else p.y)
        if len(pads) > len(channels):
            raise SpecError(f"{len(pads)} die pads on the {name} edge but only {len(channels)} sidewall channels "
                            f"on that side: enlarge the layout, add rows or reduce the pitch", field="sidewall")
        start = (len(channels) - len(pads)) // 2
        for p, (tc, site, n_row) in zip(pads, channels[start:start + len(pads)]):
            net = b.net(p.net or ball_net.get(sites.names[site]) or f"{die.name}_{p.name}")
            site_used[site] = net
            n_c = n_in + fg.length / 2
            fx, fy = _xy(normal, axis, tc, n_c)
            fw, fh = (fg.width, fg.length) if axis == 0 else (fg.length, fg.width)
            b.pad(die.name, p.name, fx, fy, fw, h=fh, shape="oval", layer=1, net=net)
            sx, sy = float(sites.x[site]), float(sites.y[site])
            if n_row is None:
                b.track(fx, fy, sx, sy, w, layer=1, net=net)
            else:
                jx, jy = _xy(normal, axis, tc, n_row)
                b.track(fx, fy, jx, jy, w, layer=1, net=net)
                b.track(jx, jy, sx, sy, w, layer=1, net=net)
            b.via(sx, sy, sw.pad, sw.drill, 0, 1, net=net, kind="blind")
            b.drawings.append(Drawing(((dx + p.x, dy + p.y), (fx, fy)), "User.3", width=0.025,
                                      closed=False, label=f"bond wire {p.name}"))

    # -- top-ring lands (terminals) on L1 -----------------------------------------------------------------
    place_terminal_lands(b, sites, land=t.land_mm(), mask=t.mask, rules=rules, layer=0, nets=ball_net,
                         net_of_site=site_used)

    # -- die mounting pad, thermal vias, heat plate -------------------------------------------------------
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
    forbid = {"tracks": False, "vias": False, "pads": False, "copperpour": False, "footprints": True}
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
                              text=f"CAVITY depth {spec.cavity_depth():.3f} mm: F.Cu + dielectric 1 removed, "
                                   "floor In1.Cu"))
    die_box = shapely.box(dx - dw, dy - dh, dx + dw, dy + dh)
    b.drawings.append(Drawing(_poly_pts(die_box), "F.Fab", label=f"die {die.name}"))
    enc = encapsulation_outline(spec)
    b.drawings.append(Drawing(_poly_pts(enc), "User.4", label="encapsulation"))
    thermal = thermal_estimate(spec, n_thermal) if tv_ is not None else None
    notes = fab_notes(spec, holes=len(site_used), thermal=thermal)
    b.drawings += note_drawings(notes, bx + 1.0, -by)

    b.extras = BoardExtras(
        dies=die_box, body=body, cavity=CavityOutline(outline=cav, floor=cav_floor, encapsulation=enc),
        user_layers=dict(USER_LAYERS),
        dru_extra=cavity_dru(spec), files={"-fab-notes.txt": "\n".join(notes) + "\n"}, summary=(
            f"cavity {spec.cavity.size[0]:g} x {spec.cavity.size[1]:g} mm, depth {spec.cavity_depth():.3f} mm (F.Cu + "
            f"dielectric 1 removed, floor In1.Cu), {len(site_used)} sidewall holes"
            + (f", die pad to heat plate ~{thermal['r_total']:.2f} K/W" if thermal else ""),),
        sidecar={"cavity": {"size": list(spec.cavity.size), "depth": round(spec.cavity_depth(), 6),
                            "removed_copper": ["F.Cu"], "removed_dielectrics": [1], "floor": "In1.Cu",
                            "rule_areas": sorted(z.name for z in b.zones if z.keepout is not None)},
                 **({"thermal": {k: round(v, 6) for k, v in thermal.items()}} if thermal else {})})
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
        >>> spec = CavitySpec.model_validate({"family": "cavity", "body": [10, 10], "stackup": {"layers": [
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
    return "\n".join([
        "# cavity: no copper, vias or pads on the removed layers inside the cavity outline",
        '(rule "cavity_removed_layers"',
        '\t(layer "F.Cu")',
        "\t(condition \"A.intersectsArea('cavity')\")",
        "\t(constraint disallow track via micro_via buried_via pad zone))",
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
        >>> notes = fab_notes(spec, holes=40)
        >>> notes[0]
        "CAVITY 6.4 x 6.4 mm (outline on User.1 'Cavity'), depth 0.418 mm:"
        >>> notes[3][:60]
        'SIDEWALL: 40 plated holes F.Cu-In1.Cu, drill 0.2 mm, pad 0.4'
    """
    st = spec.stackup
    d1 = st.dielectrics()[0]
    plies = " + ".join(f"{p.role or 'ply'} {p.material or d1.material or st.default_material} {p.thickness:g} mm"
                       for p in (d1.plies or [])) or f"{d1.material or st.default_material} {d1.thickness:g} mm"
    sw = spec.sidewall
    cx, cy = spec.cavity.size
    lines = [
        f"CAVITY {cx:g} x {cy:g} mm (outline on User.1 'Cavity'), depth {spec.cavity_depth():.3f} mm:",
        f"  removed: F.Cu (2nd substrate copper) + dielectric 1 ({plies});",
        "  floor: In1.Cu exposed inside the cavity, finish "
        f"{st.finish} (wire-bondable); no copper on F.Cu inside (rule area 'cavity').",
        f"SIDEWALL: {holes} plated holes F.Cu-In1.Cu, drill {sw.drill:g} mm, pad {sw.pad:g} mm, "
        f"{sw.rows} row(s) at {sw.pitch:g} mm pitch; filled and capped (IPC-4761 VII), via-in-pad.",
        f"DIE: {spec.dies[0].size[0]:g} x {spec.dies[0].size[1]:g} x {spec.dies[0].thickness:g} mm on the "
        f"die pad (In1.Cu, net {spec.die_pad.net}), attach {spec.die_attach:g} mm, wire loop {spec.loop_height:g} mm.",
        f"ENCAPSULATION: {spec.encapsulation.material}, height {spec.encapsulation.height:g} mm "
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
    # 5. heights: die stack under the resin top, resin top below the ring
    d0 = spec.dies[0]
    stack = spec.die_attach + d0.thickness + spec.loop_height
    eh, depth = spec.encapsulation.height, spec.cavity_depth()
    if stack > eh + 1e-9:
        out.append(Violation("cavity_depth", ("die stack",), (0.0, 0.0), "z", stack, eh,
                             f"die attach {spec.die_attach:g} + die {d0.thickness:g} + wire loop {spec.loop_height:g} "
                             f"= {stack:.3f} mm above the encapsulation height {eh:g} mm"))
    if eh > depth + 1e-9:
        out.append(Violation("cavity_depth", ("encapsulation",), (0.0, 0.0), "z", eh, depth,
                             f"encapsulation {eh:g} mm rises above the cavity depth {depth:.3f} mm (ring surface)"))
    # 6. nothing on a removed layer inside the cavity
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
    """Board-side land pattern: the top-ring lands seen from the board (package mounted cavity-down).

    That is the board's lands mirrored in x, which is the grid-array footprint of the same
    perimeter grid in the package top view (A1 top-left; the board names its columns mirrored).
    """
    fp = build_grid_array(spec.footprint_spec())[0]
    return [replace(fp, description=fp.description + " Cavity-down package: the substrate's ring lands "
                    "mirrored in x.")]


register(Family(name="cavity", spec=CavitySpec, footprint=build_footprint, substrate=build_board, flipped=True,
                checks=(cavity_checks,),
                summary="cavity package: two substrates, sidewall through-holes, die in the cavity, heat plate"))
