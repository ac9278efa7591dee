"""Build-up package (``family: buildup``): die in a metal-carrier cavity, stacked microvia columns, ball grid.

::

    die side (copper 1 = KiCad F.Cu)   ┌carrier plane┐  ┌──die (face up)──┐  ┌carrier┐
                                        ▓▓▓▓▓▓▓▓▓▓▓▓▓ ·· ▒ pad   …   pad ▒ ·· ▓▓▓▓▓▓▓
    dielectric 1 ───────────────────────────────────────── ║ microvia ║ ──────────────
    copper 2 (signal layer)                   ═══════ trace ╝          ╚ column …
    dielectric 2 …
    copper N (terminal side, B.Cu)      ● ball lands with via-in-pad (stacked microvias)

The substrate pipeline (:mod:`kisubstrate.geometry.pipeline`, :class:`BuildupPipeline`) routes the
package netlist: the ball map (``ball,net``; many balls per net, NC for none) and the die's pads —
a pad map with nets always wins; peripheral or area pads get their nets from the ball map
(:func:`~kisubstrate.geometry.padnets.assign_pad_nets`: signals in the angular order of their
balls, power/ground pads interleaved). Copper 1 is the carrier plane of ``carrier.net`` outside
the cavity (no traces; the die pads reach the signal layers by microvia columns); the other
layers take their roles (``signal``, ``plane`` with nets, ``mixed``). Power and ground are tied
to their planes by via columns under the die pads and over the balls (stacked no higher than
the profile's ``max_stack``; the carrier is stitched to its net's plane below); every signal net
is routed from its pad to its ball(s) with 0°/45°/90° traces, escaping ``escape`` mm past the
cavity gap. Without a ball map each die pad gets its own net and a ball (outer rings first) and
the carrier the other balls outside the cavity. A net that cannot be routed is reported (rule
``unrouted``) and nothing is written.

**The carrier** (``carrier``, lengths in mm) covers the die's passive face and sides: the die sits
in a cavity of the metal, ``floor`` (default 0.05) of it under the die, the die attached by
``die_attach`` (default 0.025), the cavity wall ``cavity_gap`` from the die edge; its
``thickness`` defaults to floor + die attach + the thickest die, so the die face is flush with
the carrier face, on which the build-up starts. ``material`` is copper or aluminium (``aluminum``
accepted, written ``aluminium``). The family check :func:`carrier_checks` reports a die face more
than ``flush_tolerance`` (default 0.005) above or below the carrier face (rule
``carrier_flush``: die attach + die against thickness − floor). The via columns are stacked
microvias, each filled with ``vias.column_metal`` (copper or aluminium) and capped (IPC-4761
Type VII). All of it, with the stackup, goes into the fab notes (:func:`fab_notes`: text on
``User.2`` "Fab.Notes" beside the body and ``<name>-fab-notes.txt``) and the sidecar's ``carrier``
and ``columns`` sections; KiCad's stackup has no layer for the carrier metal (copper 1 is its
face) nor a via material, so neither appears there.

Example:
    >>> from kisubstrate.families.buildup import BuildupSpec, build_board
    >>> spec = BuildupSpec.model_validate({
    ...     "family": "buildup", "body": [7, 7],
    ...     "stackup": {"layers": [{"copper": 0.015}, {"dielectric": 0.035}, {"copper": 0.015},
    ...                            {"dielectric": 0.035}, {"copper": 0.015}]},
    ...     "dies": [{"size": [2, 2], "pads": {"peripheral": {"per_side": 4, "pitch": 0.3}}}],
    ...     "terminals": {"pitch": 1.0, "layout": [6, 6], "ball_diameter": 0.5}})
    >>> board = build_board(spec)
    >>> board.copper, len(board.nets) - 1, sorted(set(board.vias.kind)), board.extras.sidecar["routing"]["unrouted"]
    (3, 17, ['micro'], [])
"""

from __future__ import annotations

import copy
from collections import OrderedDict
from dataclasses import replace
from typing import Any, ClassVar, Literal

import numpy as np
import shapely
from pydantic import Field, field_validator, model_validator

from kisubstrate.families.flipchip import check_routed
from kisubstrate.families.grid_array import (
    BgaSpec,
    PgaSpec,
    ball_lengths,
    build_grid_array,
    terminal_footprint_spec,
    with_die_lengths,
)
from kisubstrate.families.registry import Family, is_flipped, register
from kisubstrate.geometry.assign import assign_around_centroid
from kisubstrate.geometry.board import BoardGeom, Drawing, Zone, note_drawings
from kisubstrate.geometry.padnets import assign_pad_nets
from kisubstrate.geometry.pipeline import SubstratePipeline
from kisubstrate.geometry.protection import protected_vias
from kisubstrate.geometry.terminals import grid_sites, ring_index
from kisubstrate.model.base import SpecModel, length
from kisubstrate.model.errors import FieldError, SpecError
from kisubstrate.model.grid import BallMap
from kisubstrate.model.netlist import Net, Netlist, build_netlist
from kisubstrate.model.substrate import SubstrateSpec, ViaSpec
from kisubstrate.model.units import fmt
from kisubstrate.rules.report import Violation

METALS = {"copper": "copper", "aluminium": "aluminium", "aluminum": "aluminium"}
"""Carrier and column metals by accepted spelling (any case): the patent's ``aluminum`` is ``aluminium``."""

DIE_ATTACH = 0.025
"""Default die-attach thickness (mm) between the die's passive face and the carrier floor (as the
cavity family's ``die_attach``)."""

TOL = 1e-9
"""Slack (mm) of the flush comparison: float noise only, far below the 1 µm the check resolves."""

FLUSH_TOLERANCE = 0.005
"""Default ``carrier.flush_tolerance`` (mm): how far the die face may stand above or below the
carrier face and still count as coplanar (5 µm, the order of the build-up dielectric's own
thickness variation, so the first dielectric covers both faces evenly)."""


def metal_name(value: Any) -> Any:
    """The metal as written in the outputs: ``copper`` or ``aluminium`` (``aluminum`` accepted, any case).

    Args:
        value: the spec's text (other types are left to the field's own validation).

    Raises:
        ValueError: any other metal, naming the accepted ones (the loader adds the field and the value).

    Example:
        >>> metal_name("Aluminum"), metal_name("copper")
        ('aluminium', 'copper')
    """
    if not isinstance(value, str):
        return value
    metal = METALS.get(value.strip().lower())
    if metal is None:
        raise ValueError("not a metal the build-up family builds: copper or aluminium (also spelt aluminum)")
    return metal


class Carrier(SpecModel):
    """The metal carrier around the die (all lengths mm).

    The die sits face up in a cavity of the carrier, which covers its passive face (the carrier
    ``floor`` under it, the die attached by ``die_attach``) and its sides (the cavity wall
    ``cavity_gap`` from the die edge); the die face is flush with the carrier face, on which the
    build-up starts: copper 1 is a plane of ``net`` outside the cavity.
    """

    net: str = Field("CARRIER", max_length=60, description="net of the carrier plane")
    cavity_gap: float = length("gap between die edge and cavity wall (the carrier covering the die's sides)",
                               le=5, default=0.1)
    material: Literal["copper", "aluminium"] = Field(
        "copper", description="carrier metal: copper or aluminium (also spelt aluminum); in the fab notes and sidecar")
    thickness: float | None = length("carrier metal thickness (default: floor + die attach + the thickest die, "
                                     "so the die face is flush with the carrier face)", le=5, default=None)
    floor: float = length("carrier metal under the die's passive face (cavity floor)", le=2, default=0.05)
    die_attach: float = length("die attach between the die's passive face and the carrier floor", ge=0, gt=None,
                               le=1, default=DIE_ATTACH)
    flush_tolerance: float = length("die face to carrier face: largest step still flush (coplanar)", ge=0,
                                    gt=None, le=0.1, default=FLUSH_TOLERANCE)
    balls: Literal["auto", "none"] | list[str] = Field(
        "auto", description="balls tied to the carrier by stacked microvia columns: 'auto' = every ball "
        "outside the cavity that no net claims (without a ball map: no die pad's; with one: not listed), or a "
        "list of ball names (without a ball map); 'none' is refused with the reason (the carrier must be tied)")

    @field_validator("material", mode="before")
    @classmethod
    def _metal(cls, v: Any) -> Any:
        return metal_name(v)


class BuildupVias(ViaSpec):
    """The build-up's vias: sizes, stacked columns and the metal filling the columns."""

    column_metal: Literal["copper", "aluminium"] = Field(
        "copper", description="metal filling (and capping) the stacked microvia columns: copper or aluminium "
        "(also spelt aluminum); in the fab notes and sidecar")

    @field_validator("column_metal", mode="before")
    @classmethod
    def _metal(cls, v: Any) -> Any:
        return metal_name(v)


class BuildupSpec(SubstrateSpec):
    """Build-up package substrate (seed 004): die in a carrier cavity, build-up layers, ball grid."""

    family: Literal["buildup"] = "buildup"
    routes_netlist: ClassVar[bool] = True
    carrier: Carrier | None = Field(default_factory=Carrier, description="metal carrier; null for none")
    escape: float = length("escape segment beyond the die edge before fanning out", le=5, default=0.1)
    vias: BuildupVias = Field(default_factory=BuildupVias)

    @model_validator(mode="after")
    def _enough_layers(self) -> "BuildupSpec":
        if self.stackup.copper_count < 3:
            raise ValueError("a build-up substrate needs at least 3 copper layers (die level, one trace "
                             "layer, ball level)")
        if self.vias.columns != "stacked":
            raise ValueError("vias.columns: the build-up router stacks its microvia columns (staggered columns "
                             "are not routed); remove vias.columns or set it to stacked")
        c = self.carrier
        if c is not None and c.thickness is not None and c.thickness <= c.floor + 1e-9:
            raise FieldError("carrier.thickness", f"carrier thickness {fmt(c.thickness)} mm leaves no cavity over "
                             f"its {fmt(c.floor)} mm floor: give a thickness of floor + die attach + die "
                             f"({fmt(round(c.floor + c.die_attach + max(d.thickness for d in self.dies), 6))} mm), or "
                             "leave it out")
        return self

    def carrier_thickness(self) -> float | None:
        """The carrier's metal thickness (mm): ``carrier.thickness``, or floor + die attach + the thickest die.

        None without a carrier.

        Example:
            >>> from kisubstrate.families.registry import example_spec
            >>> example_spec("buildup").carrier_thickness()   # 0.05 floor + 0.025 attach + 0.2 die
            0.275
        """
        c = self.carrier
        if c is None:
            return None
        if c.thickness is not None:
            return c.thickness
        return round(c.floor + c.die_attach + max(d.thickness for d in self.dies), 6)

    def footprint_spec(self) -> BgaSpec | PgaSpec:
        """The board-side footprint spec of this package from the same terminal grid."""
        t = self.terminals
        if t.kind == "pin":
            return terminal_footprint_spec(PgaSpec, self, t, pin_diameter=t.ball_diameter,
                                           pad_diameter=t.board_pad_diameter)
        return terminal_footprint_spec(BgaSpec, self, t, ball_diameter=t.ball_diameter,
                                       pad_diameter=t.board_pad_diameter)


def terminal_sites(spec: SubstrateSpec):
    """Populated terminal sites (names, x, y, row, col; mm) of the spec's grid on its board.

    Names are the package top view's; for a family that mounts flipped (``Family.flipped``) the
    board is the package bottom view, so its columns carry mirrored names (see
    :func:`kisubstrate.geometry.terminals.grid_sites`).
    """
    return grid_sites(spec.terminals, flipped=is_flipped(getattr(spec, "family", "")))


_BOARDS: OrderedDict[str, BoardGeom] = OrderedDict()
_KEEP = 4  # routed boards kept per process (the footprint's package lengths come from the same routing)


def build_board(spec: BuildupSpec) -> BoardGeom:
    """The routed substrate board of a build-up package (:class:`BuildupPipeline`).

    Routing is deterministic, so the last few boards are kept per spec text and handed out as
    copies: the footprint (package lengths) and the substrate of one spec are routed once.

    Args:
        spec: the validated build-up spec.
    """
    key = spec.model_dump_json()
    if key not in _BOARDS:
        _BOARDS[key] = BuildupPipeline(spec).run()
        while len(_BOARDS) > _KEEP:
            _BOARDS.popitem(last=False)
    _BOARDS.move_to_end(key)
    return copy.deepcopy(_BOARDS[key])


def cavity_outline(spec: BuildupSpec) -> shapely.Geometry:
    """The carrier's cavity: the dies' outlines grown by ``carrier.cavity_gap`` (mm, mitred corners)."""
    dies = shapely.union_all([shapely.box(d.position[0] - d.size[0] / 2, d.position[1] - d.size[1] / 2,
                                          d.position[0] + d.size[0] / 2, d.position[1] + d.size[1] / 2)
                              for d in spec.dies])
    return shapely.buffer(dies, spec.carrier.cavity_gap if spec.carrier is not None else 0.0, join_style="mitre")


def escape_reach(spec: BuildupSpec) -> float:
    """How far (mm) a die pad's escape runs past the die edge: ``escape`` plus the cavity gap."""
    return spec.escape + (spec.carrier.cavity_gap if spec.carrier is not None else 0.0)


def default_ball_map(spec: BuildupSpec) -> tuple[BallMap, dict[tuple[str, str], str]]:
    """The netlist of a spec without a ball map: one net per die pad, the carrier on the other balls.

    Each die pad keeps its net from a pad map, or gets its own (``U1_7``); its ball is chosen
    from the outer rings inwards (a partial ring evenly spread) among the balls clear of the
    dies, matched by angle around the dies. Every other ball outside the cavity carries the
    carrier's net (``carrier.balls: auto``, or the listed balls); the rest have no connection.

    Args:
        spec: the validated build-up spec (``terminals.ball_map`` unset).

    Returns:
        the ball map (``ball,net``; NC for no connection) and each die pad's net by (die, pad).
    """
    t = spec.terminals
    sites = terminal_sites(spec)
    ring = ring_index(sites, t.columns, t.rows)
    pads, pad_net = [], {}
    for die in spec.dies:
        for p in die.board_pads():
            pads.append((die.position[0] + p.x, die.position[1] + p.y))
            pad_net[(die.name, p.name)] = p.net or f"{die.name}_{p.name}"
    carrier = spec.carrier.net if spec.carrier is not None else None
    routed = [k for k, n in enumerate(pad_net.values()) if n != carrier]
    clear = shapely.buffer(cavity_outline(spec), escape_reach(spec) + 2 * spec.width(), join_style="mitre")
    free = np.nonzero(~shapely.contains_xy(clear, sites.x, sites.y))[0]
    if len(routed) > len(free):
        raise SpecError(f"{len(routed)} die pads but only {len(free)} balls clear of the die: add balls or give a "
                        "ball map", field="terminals")
    chosen: list[int] = []
    for k in sorted(set(ring[free].tolist())):
        in_ring = [int(s) for s in free if ring[s] == k]
        room = len(routed) - len(chosen)
        if room <= 0:
            break
        if len(in_ring) <= room:
            chosen += in_ring
        else:
            order = [in_ring[j] for j in np.argsort(np.arctan2(sites.y[in_ring], sites.x[in_ring]), kind="stable")]
            chosen += [order[j] for j in np.unique(np.floor(np.arange(room) * len(order) / room).astype(int))]
    names = list(pad_net.values())
    net_of: dict[int, str] = {}
    if routed:
        ch = np.array(chosen)
        xy = np.array(pads)[routed]
        match = assign_around_centroid(xy[:, 0], xy[:, 1], sites.x[ch], sites.y[ch])
        for j, k in enumerate(routed):
            net_of[int(ch[match[j]])] = names[k]
    if carrier is not None:
        mine = carrier_balls(spec, sites, {sites.names[i]: n for i, n in net_of.items()})
        if not mine:
            raise SpecError(f"the die pads take every ball clear of the dies ({len(routed)}), none is left to tie the "
                            "carrier to: add balls, give a ball map, or set carrier: null", field="carrier.balls")
        net_of.update(mine)
    nets = tuple((name, net_of.get(i, "NC")) for i, name in enumerate(sites.names))
    return BallMap(path="", nets=nets, lines=tuple(0 for _ in nets)), pad_net


def over_cavity(spec: BuildupSpec, x, y) -> np.ndarray:
    """True where a via column at (x, y) (mm, arrays) would reach into the cavity on copper 1.

    Its microvia pad, with the clearance, touches the cavity outline.

    Args:
        spec: the validated build-up spec (cavity, microvia size and clearance from its profile).
        x: x of each column (mm, array).
        y: y of each column (mm, array).

    Example:
        >>> from kisubstrate.families.registry import example_spec
        >>> over_cavity(example_spec("buildup"), np.array([0.0, 7.0]), np.array([0.0, 7.0])).tolist()
        [True, False]
    """
    reach = spec.micro().pad / 2 + spec.substrate_rules().clearance
    return shapely.contains_xy(shapely.buffer(cavity_outline(spec), reach, join_style="mitre"), x, y)


def carrier_balls(spec: BuildupSpec, sites, taken: dict[str, str]) -> dict[int, str]:
    """The balls tied to the carrier that no net claims: site index → the carrier's net.

    ``carrier.balls: auto`` takes every ball outside the cavity that ``taken`` leaves free, a list
    takes the named balls (each free and outside the cavity).

    Args:
        spec: the validated build-up spec (with a carrier).
        sites: the ball grid (:func:`terminal_sites`).
        taken: ball name → net of the balls already given a net (or marked NC) elsewhere.

    Raises:
        SpecError: ``carrier.balls: none``, or a listed ball that is unknown, taken or under the cavity.
    """
    index = {n: i for i, n in enumerate(sites.names)}
    want = spec.carrier.balls
    if want == "none":
        raise SpecError("carrier.balls: none leaves the carrier plane tied to no ball: give the carrier's "
                        "balls, 'auto', or a ball map with the carrier's net", field="carrier.balls")
    under = over_cavity(spec, sites.x, sites.y)
    if want == "auto":
        return {i: spec.carrier.net for i, n in enumerate(sites.names) if n not in taken and not under[i]}
    unknown = [n for n in want if n not in index]
    if unknown:
        raise SpecError(f"carrier balls not on the grid: {', '.join(unknown[:5])}", field="carrier.balls")
    busy = [n for n in want if n in taken]
    if busy:
        raise SpecError(f"carrier balls already carry a net: {', '.join(busy[:5])}", field="carrier.balls")
    inside = [n for n in want if under[index[n]]]
    if inside:
        raise SpecError(f"carrier ball {inside[0]} lies under the die cavity, where the carrier has no copper",
                        field="carrier.balls")
    return {index[n]: spec.carrier.net for n in want}


class BuildupPipeline(SubstratePipeline):
    """The substrate pipeline with the build-up family's own phases: the carrier and its cavity.

    * the carrier is a plane of its net on copper 1 outside the cavity (no traces there); the
      die pads, inside the cavity, reach the signal layers by microvia columns;
    * without a ball map, :func:`default_ball_map` gives each die pad a ball and the carrier the
      other balls; with one, peripheral or area pads get their nets from it
      (:func:`~kisubstrate.geometry.padnets.assign_pad_nets`);
    * ``cavity`` (after ``fills``) draws the cavity and its rule area.

    Args:
        spec: the validated build-up spec.
    """

    phases = SubstratePipeline.phases + ("cavity",)

    def __init__(self, spec: BuildupSpec) -> None:
        self._pad_net: dict[tuple[str, str], str] = {}
        bm = spec.terminals.ball_map
        if bm is None or not bm.nets:
            bm, self._pad_net = default_ball_map(spec)
        elif spec.carrier is not None and spec.carrier.net in {n for _b, n in bm.nets}:
            if spec.carrier.balls != "auto":
                raise SpecError(f"carrier.balls: the ball map gives the carrier's net '{spec.carrier.net}' its balls; "
                                "remove carrier.balls (or the carrier's net from the map)", field="carrier.balls")
        elif spec.carrier is not None:
            # the map does not name the carrier's net: the carrier takes the balls it leaves unlisted
            sites = terminal_sites(spec)
            extra = carrier_balls(spec, sites, bm.net_of)
            bm = BallMap(path=bm.path, names=bm.names, nets=bm.nets + tuple((sites.names[i], n) for i, n in
                                                                             sorted(extra.items())),
                         lines=bm.lines + (0,) * len(extra))
        if bm is not spec.terminals.ball_map:
            spec = spec.model_copy(update={"terminals": spec.terminals.model_copy(update={"ball_map": bm})})
        super().__init__(spec)
        self.escape_beyond = escape_reach(spec)
        self.carrier = spec.carrier.net if spec.carrier is not None else None

    def stackup(self) -> None:
        """The pipeline's stackup; with a carrier, copper 1 is the carrier plane (no traces)."""
        super().stackup()
        s = self.s
        if self.carrier is None:
            return
        role = self.spec.stackup.coppers()[0].role
        if role not in (None, "plane") or (role == "plane" and s.pours[0] != [self.carrier]):
            raise SpecError(f"copper 1 is the carrier plane of net '{self.carrier}' around the die cavity: leave its "
                            "role unset (or role: plane with the carrier's net), or set carrier: null",
                            field="stackup.layers")
        s.roles[0], s.pours[0] = "plane", [self.carrier]
        s.escape = [k for k in s.escape if k]
        if not s.escape:
            raise SpecError("no signal or mixed layer below the carrier is reachable from the die by microvias: "
                            "give copper 2 role: signal", field="stackup.layers")

    def terminals(self) -> None:
        """The pipeline's balls; the carrier's net must be on some of them."""
        if self.carrier is not None and self.carrier not in {n for _b, n in self.spec.terminals.ball_map.nets}:
            raise SpecError(f"the carrier's net '{self.carrier}' is on no ball: the ball map lists every ball outside "
                            "the cavity; name the carrier's net as the ball map does (e.g. carrier: {net: GND})",
                            field="carrier.net")
        super().terminals()

    def assign_pad_nets(self) -> None:
        """Nets for generated (peripheral / area) pads: the default netlist's, or from the ball map."""
        s, spec = self.s, self.spec
        if self._pad_net:
            s.bumps = [replace(t, net=self._pad_net[(t.owner, t.name)]) for t in s.bumps]
            return
        generated = [k for k, d in enumerate(spec.dies) if d.pads.map is None and d.pads.plan is None]
        if not generated:
            return
        if len(spec.dies) > 1:
            raise SpecError("with a ball map, give each die's pads with their nets (pads: {map: file.csv}): the pads "
                            "of one generated die are planned from the ball map, not of several", field="dies")
        sites = grid_sites(spec.terminals)
        net_of = spec.terminals.ball_map.net_of
        pour = {n for nets in s.pours[1:] for n in nets}  # the carrier's net alone does not reach the die
        skip = {self.carrier} - pour
        die = spec.dies[0]
        ball_net = ["" if net_of.get(n, "") in skip else net_of.get(n, "") for n in sites.names]
        nets = assign_pad_nets(np.array([t.x for t in s.bumps]), np.array([t.y for t in s.bumps]), die.position,
                               sites.x, sites.y, ball_net, pour, die=die.name)
        s.bumps = [replace(t, net=n) for t, n in zip(s.bumps, nets)]

    def netlist(self) -> None:
        """The pipeline's netlist; the carrier's net may be on balls only (a carrier the die does not touch)."""
        s = self.s
        if self.carrier is None or any(t.net == self.carrier for t in s.bumps):
            return super().netlist()
        pour = {n for nets in s.pours for n in nets}
        mine = tuple(t for t in s.balls if t.net == self.carrier)
        others = [t for t in s.balls if t.net != self.carrier]
        nl = build_netlist(list(s.bumps), others, plane_nets=pour - {self.carrier})
        s.netlist = Netlist(nets=tuple(sorted(nl.nets + (Net(self.carrier, (), mine, True),), key=lambda n: n.name)),
                            no_connect=nl.no_connect)

    def _split_regions(self, plane: dict) -> None:
        super()._split_regions(plane)
        if self.carrier is not None:  # the carrier pours copper 1 outside the cavity only
            inner = shapely.buffer(self.s.b.outline, -(self.rules.copper_to_edge + 1e-4), join_style="mitre")
            region = shapely.difference(inner, cavity_outline(self.spec))
            self._regions[0] = {self.s.b.net(self.carrier): region}

    def _tie_bumps(self, net, layers: list[int]) -> None:
        """The pipeline's bump columns, to the net's top plane below the carrier (the cavity gap parts them)."""
        if not net.bumps:
            return
        if self.carrier is not None and layers and layers[0] == 0:
            below = layers[1:]
            if not below:
                t = net.bumps[0]
                raise SpecError(f"{t.where()}die pad {t.label} is on the carrier's net '{net.name}', which only the "
                                "carrier on copper 1 pours, across the cavity gap from the die: pour the net on a "
                                "plane layer below too (role: plane, nets: [...])", field="stackup.layers")
            layers = below
        super()._tie_bumps(net, layers)

    def _tie_balls(self, net, layers: list[int], last: int) -> None:
        """The pipeline's ball columns; a ball of a net only the carrier pours must stand outside the cavity."""
        if self.carrier is not None and layers == [0]:
            for t in net.balls:
                if over_cavity(self.spec, t.x, t.y):
                    raise SpecError(f"{t.where()}{t.label} is on the carrier's net '{net.name}' but lies under the "
                                    "die cavity, where the carrier on copper 1 has no copper: pour the net on a "
                                    "plane layer below too, or give the ball another net", field="terminals.ball_map")
        super()._tie_balls(net, layers, last)

    def cavity(self) -> None:
        """The cavity's rule area on copper 1 (no pour, vias and pads allowed) and its drawing."""
        if self.carrier is None:
            return
        cavity = cavity_outline(self.spec)
        b = self.s.b
        b.zones.append(Zone(name="cavity", layers=(0,), outline=cavity,
                            keepout={"tracks": False, "vias": True, "pads": True, "copperpour": False,
                                     "footprints": True}))
        b.drawings.append(Drawing(tuple(shapely.get_coordinates(cavity.exterior)[:-1].tolist()), "User.1",
                                  label="cavity"))

    def finish(self) -> BoardGeom:
        """The pipeline's board, its fab notes (``User.2``, ``-fab-notes.txt``), the sidecar's carrier and columns."""
        board = super().finish()
        spec = self.spec
        columns = column_summary(spec, board)
        notes = fab_notes(spec, columns=columns)
        board.drawings += note_drawings(notes, spec.body[0] / 2 + 1.0, -spec.body[1] / 2)
        ex = board.extras
        summary = [f"columns: {columns['columns']} via columns ({columns['stacked_columns']} stacked) filled with "
                   f"{columns['metal']} and capped"]
        c = spec.carrier
        if c is not None:
            summary.insert(0, f"carrier {c.material} {fmt(spec.carrier_thickness())} mm, floor {fmt(c.floor)} mm under "
                              f"the die, die face flush within {fmt(c.flush_tolerance)} mm")
        board.extras = replace(ex, user_layers={**(ex.user_layers or {}), "User.2": "Fab.Notes"},
                               files={**ex.files, "-fab-notes.txt": "\n".join(notes) + "\n"},
                               summary=ex.summary + tuple(summary),
                               sidecar={**ex.sidecar, "carrier": carrier_summary(spec), "columns": columns})
        return board


def flush_steps(spec: BuildupSpec) -> dict[str, float]:
    """Die name → step (mm) from the carrier face to the die face: + the die stands proud, − it is sunk.

    The die face stands at floor + die attach + die thickness, the carrier face at the carrier's
    thickness; empty without a carrier.

    Args:
        spec: the validated build-up spec (``carrier`` lengths and the dies' ``thickness``, mm).

    Example:
        >>> from kisubstrate.families.registry import example_spec
        >>> flush_steps(example_spec("buildup"))
        {'U1': 0.0}
    """
    c = spec.carrier
    if c is None:
        return {}
    top = spec.carrier_thickness()
    return {d.name: round(c.floor + c.die_attach + d.thickness - top, 6) for d in spec.dies}


def carrier_summary(spec: BuildupSpec) -> dict[str, Any] | None:
    """The sidecar's ``carrier`` section (lengths in mm), or None without a carrier.

    The carrier covers the die's passive face (``floor_mm`` of metal under it) and sides (the cavity
    wall ``cavity_gap_mm`` from the die edge); each die's face is flush with the carrier face when
    its ``step_mm`` is within ``flush_tolerance_mm``.

    Args:
        spec: the validated build-up spec.

    Example:
        >>> from kisubstrate.families.registry import example_spec
        >>> c = carrier_summary(example_spec("buildup"))
        >>> c["material"], c["thickness_mm"], c["cavity_depth_mm"], c["covers"], c["dies"][0]["flush"]
        ('copper', 0.275, 0.225, ['passive face', 'sides'], True)
    """
    c = spec.carrier
    if c is None:
        return None
    top = spec.carrier_thickness()
    steps = flush_steps(spec)
    return {"material": c.material, "net": c.net, "thickness_mm": top, "thickness_given": c.thickness is not None,
            "floor_mm": c.floor, "die_attach_mm": c.die_attach, "cavity_gap_mm": c.cavity_gap,
            "cavity_depth_mm": round(top - c.floor, 6), "covers": ["passive face", "sides"],
            "flush_tolerance_mm": c.flush_tolerance,
            "dies": [{"name": d.name, "thickness_mm": d.thickness,
                      "face_mm": round(c.floor + c.die_attach + d.thickness, 6),
                      "step_mm": steps[d.name], "flush": abs(steps[d.name]) <= c.flush_tolerance + TOL}
                     for d in spec.dies]}


def column_summary(spec: BuildupSpec, board: BoardGeom) -> dict[str, Any]:
    """The sidecar's ``columns`` section: the via columns of the board and their metal.

    A column is the vias sharing one centre (a stack of microvias, one dielectric each); the
    stacked ones and vias in pads are filled and capped (IPC-4761 Type VII, written per via for
    KiCad 10; :func:`~kisubstrate.geometry.protection.protected_vias`).

    Args:
        spec: the validated build-up spec (``vias.column_metal``, via sizes, the profile's ``max_stack``).
        board: its routed board.

    Example:
        >>> from kisubstrate.families.registry import example_spec
        >>> spec = example_spec("buildup")
        >>> col = column_summary(spec, build_board(spec))
        >>> col["metal"], col["tallest"], col["max_stack"], col["microvia"]
        ('copper', 4, 4, {'drill_mm': 0.06, 'pad_mm': 0.12})
    """
    v = board.vias
    centres: dict[tuple[int, int], int] = {}
    for x, y in zip(np.rint(v.x * 1e6).astype(np.int64).tolist(), np.rint(v.y * 1e6).astype(np.int64).tolist()):
        centres[(x, y)] = centres.get((x, y), 0) + 1
    micro, blind = spec.micro(), spec.vias.blind
    return {"metal": spec.vias.column_metal, "columns": len(centres),
            "stacked_columns": sum(1 for n in centres.values() if n > 1),
            "tallest": max(centres.values(), default=0), "max_stack": spec.substrate_rules().max_stack,
            "vias": len(v), "filled_and_capped": int(protected_vias(board).sum()), "ipc_4761": "VII",
            "microvia": {"drill_mm": micro.drill, "pad_mm": micro.pad},
            "blind": {"drill_mm": blind.drill, "pad_mm": blind.pad} if blind is not None and "blind" in v.kind
            else None}


def kicad_copper(k: int, count: int) -> str:
    """KiCad name of physical copper layer ``k`` (0-based) of ``count``: F.Cu, In1.Cu …, B.Cu.

    An odd stack keeps these names (KiCad's empty placeholder layer sits inside the last dielectric,
    see :mod:`kisubstrate.kicad.layers`), so the families layer need not import the writer.

    Example:
        >>> [kicad_copper(k, 3) for k in range(3)]
        ['F.Cu', 'In1.Cu', 'B.Cu']
    """
    return "F.Cu" if k == 0 else "B.Cu" if k == count - 1 else f"In{k}.Cu"


def _role(spec: BuildupSpec, k: int) -> str:
    """What copper layer ``k`` carries, for the fab notes."""
    coppers = spec.stackup.coppers()
    lay = coppers[k]
    if k == 0 and spec.carrier is not None:
        return f"carrier face (net {spec.carrier.net}) + die pads"
    role = lay.role or "signal"
    text = role + (" " + ", ".join(lay.nets) if lay.nets else "")
    if k == 0:
        text = "die pads, " + text
    if k == len(coppers) - 1:
        text = "ball lands" + ("" if role == "signal" else ", " + text)
    return text


def fab_notes(spec: BuildupSpec, *, columns: dict[str, Any] | None = None) -> list[str]:
    """Fabrication note lines of the build-up package (drawn on ``User.2``, written as ``-fab-notes.txt``).

    The carrier (metal, thickness, floor, what it covers, the die face flush with it), the via
    columns (metal, stacked microvias filled and capped) and the stackup, die side first.

    Args:
        spec: the validated build-up spec (lengths in mm).
        columns: the board's :func:`column_summary` (column count and height); None leaves the counts out.

    Example:
        >>> from kisubstrate.families.registry import example_spec
        >>> notes = fab_notes(example_spec("buildup"))
        >>> notes[1]
        "CARRIER: copper 0.275 mm, net GND, covers the die's passive face and sides (die in a cavity of the carrier):"
        >>> notes[4]
        '  die U1 6 x 6 x 0.2 mm face up: face at 0.275 mm = carrier face 0.275 mm, flush within 0.005 mm.'
    """
    st = spec.stackup
    n = st.copper_count
    out = [f"BUILD-UP PACKAGE {spec.body[0]:g} x {spec.body[1]:g} mm, {st.copper_count} copper layers, die side "
           f"(L1 F.Cu) first; {len(terminal_sites(spec).names)} ball sites at "
           f"{spec.terminals.pitch_xy[0]:g} mm pitch on L{st.copper_count} B.Cu."]
    c = spec.carrier
    if c is not None:
        top = spec.carrier_thickness()
        steps = flush_steps(spec)
        out += [f"CARRIER: {c.material} {fmt(top)} mm, net {c.net}, covers the die's passive face and sides (die in "
                "a cavity of the carrier):",
                f"  floor {fmt(c.floor)} mm of {c.material} under the die's passive face, die attach "
                f"{fmt(c.die_attach)} mm; cavity depth {fmt(round(top - c.floor, 6))} mm;",
                f"  cavity wall {fmt(c.cavity_gap)} mm from the die edge (outline on User.1 'Cavity'); L1 F.Cu is "
                "the carrier face outside the cavity."]
        for d in spec.dies:
            face = fmt(round(c.floor + c.die_attach + d.thickness, 6))
            step = steps[d.name]
            flush = abs(step) <= c.flush_tolerance + TOL
            out.append(f"  die {d.name} {d.size[0]:g} x {d.size[1]:g} x {fmt(d.thickness)} mm face {d.face}: face at "
                       f"{face} mm " + (f"= carrier face {fmt(top)} mm, flush within {fmt(c.flush_tolerance)} mm."
                                        if flush else f"vs carrier face {fmt(top)} mm: NOT flush (step {fmt(step)} mm, "
                                        f"tolerance {fmt(c.flush_tolerance)} mm)."))
    else:
        out.append("CARRIER: none (carrier: null); the die is not in a metal carrier.")
    micro, blind = spec.micro(), spec.vias.blind
    count = (f"{columns['columns']} via columns ({columns['stacked_columns']} with microvias stacked, up to "
             f"{columns['tallest']} high)" if columns else "stacked microvias")
    out += [f"COLUMNS: {count}; each microvia filled with {spec.vias.column_metal} and capped (IPC-4761 Type VII);",
            f"  at most {spec.substrate_rules().max_stack} microvias on each other (profile max_stack); microvia drill "
            f"{fmt(micro.drill)} mm, pad {fmt(micro.pad)} mm"
            + (f"; blind vias drill {fmt(blind.drill)} mm, pad {fmt(blind.pad)} mm across a core." if blind else ".")]
    out.append(f"STACKUP (L1 die side first): {fmt(round(st.thickness(), 6))} mm without mask, mask "
               f"{fmt(st.mask_thickness)} mm each side, finish {st.finish}:")
    k = j = 0
    for lay in st.layers:
        if lay.is_copper:
            name = f" '{lay.name}'" if lay.name else ""
            out.append(f"  L{k + 1} {kicad_copper(k, n)}{name} copper {fmt(lay.thickness)} mm: {_role(spec, k)}")
            k += 1
        else:
            j += 1
            out.append(f"  dielectric {j} {lay.material or st.default_material} {fmt(lay.thickness)} mm ({lay.type})")
    return out


def carrier_checks(spec: BuildupSpec, board: BoardGeom, rules: Any = None) -> list[Violation]:
    """The die face must be flush (coplanar) with the carrier face: one ``carrier_flush`` violation per die.

    Die attach + die thickness (the die face above the carrier floor) against carrier thickness −
    floor (the cavity depth); a step larger than ``carrier.flush_tolerance`` either way is a
    violation at the die's centre on layer ``z``, measured = the step's size, required = the
    tolerance (mm). The family check of ``buildup`` (``Family.checks``), run by ``build_substrate``.

    Args:
        spec: the validated build-up spec (``carrier`` lengths and the dies' ``thickness``, mm).
        board: its substrate board (unused: the heights are the spec's).
        rules: the substrate rule profile (unused: the tolerance is ``carrier.flush_tolerance``).

    Example:
        >>> from kisubstrate.families.registry import example_spec
        >>> spec = example_spec("buildup")
        >>> carrier_checks(spec, None)
        []
        >>> bad = spec.model_copy(update={"carrier": spec.carrier.model_copy(update={"thickness": 0.3})})
        >>> [(v.rule, v.items, v.measured, v.required) for v in carrier_checks(bad, None)]
        [('carrier_flush', ('die/U1', 'carrier'), 0.025, 0.005)]
    """
    c = spec.carrier
    if c is None:
        return []
    out = []
    top = spec.carrier_thickness()
    depth = round(top - c.floor, 6)
    for d in spec.dies:
        step = flush_steps(spec)[d.name]
        if abs(step) > c.flush_tolerance + TOL:
            stack = round(c.die_attach + d.thickness, 6)
            out.append(Violation("carrier_flush", (f"die/{d.name}", "carrier"), (float(d.position[0]),
                                 float(d.position[1])), "z", abs(step), c.flush_tolerance,
                                 f"die {d.name} face {'above' if step > 0 else 'below'} the carrier face by "
                                 f"{fmt(abs(step))} mm: die attach {fmt(c.die_attach)} + die {fmt(d.thickness)} = "
                                 f"{fmt(stack)} mm against carrier thickness {fmt(top)} - floor {fmt(c.floor)} = "
                                 f"{fmt(depth)} mm (flush tolerance {fmt(c.flush_tolerance)} mm)"))
    return out


def package_lengths(spec: BuildupSpec) -> dict[str, float]:
    """Ball name → routed trace length of its net inside the package (mm; 0 for plane nets and NC).

    Args:
        spec: the validated spec; its substrate is routed (or taken from :func:`build_board`'s store).
    """
    return ball_lengths(build_board(spec))


def build_footprint(spec: BuildupSpec):
    """The board-side land pattern of this package, each pad carrying its package length.

    The shared grid-array builder draws the lands; the substrate is routed (once per spec and
    process) and each ball's routed trace length (die to ball, mm) becomes the pad's KiCad
    ``die_length``, so a board designer's length matching includes the package.
    """
    return with_die_lengths(build_grid_array(spec.footprint_spec()), package_lengths(spec))


register(Family(name="buildup", spec=BuildupSpec, footprint=build_footprint, substrate=build_board,
                checks=(check_routed, carrier_checks),
                summary="build-up package substrate: die in a metal-carrier cavity, stacked microvias, balls"))
