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
from typing import ClassVar, Literal

import numpy as np
import shapely
from pydantic import Field, model_validator

from kisubstrate.families.flipchip import check_routed
from kisubstrate.families.grid_array import BgaSpec, PgaSpec, build_grid_array, terminal_footprint_spec
from kisubstrate.families.registry import Family, is_flipped, register
from kisubstrate.geometry.assign import assign_around_centroid
from kisubstrate.geometry.board import BoardGeom, Drawing, Zone
from kisubstrate.geometry.padnets import assign_pad_nets
from kisubstrate.geometry.pipeline import SubstratePipeline
from kisubstrate.geometry.terminals import grid_sites, ring_index
from kisubstrate.model.base import SpecModel, length
from kisubstrate.model.errors import SpecError
from kisubstrate.model.grid import BallMap
from kisubstrate.model.netlist import Net, Netlist, build_netlist
from kisubstrate.model.substrate import SubstrateSpec


class Carrier(SpecModel):
    """The metal carrier around the die: a copper plane region on copper 1 with the cavity cut out."""

    net: str = Field("CARRIER", max_length=60, description="net of the carrier plane")
    cavity_gap: float = length("gap between die edge and cavity wall", le=5, default=0.1)
    material: Literal["copper", "aluminium"] = Field("copper", description="carrier metal (documentation)")
    balls: Literal["auto", "none"] | list[str] = Field(
        "auto", description="balls tied to the carrier by stacked microvia columns: 'auto' = every ball "
        "outside the cavity that no net claims (without a ball map: no die pad's; with one: not listed), or a "
        "list of ball names (without a ball map); 'none' is refused with the reason (the carrier must be tied)")


class BuildupSpec(SubstrateSpec):
    """Build-up package substrate (seed 004): die in a carrier cavity, build-up layers, ball grid."""

    family: Literal["buildup"] = "buildup"
    routes_netlist: ClassVar[bool] = True
    carrier: Carrier | None = Field(default_factory=Carrier, description="metal carrier; null for none")
    escape: float = length("escape segment beyond the die edge before fanning out", le=5, default=0.1)

    @model_validator(mode="after")
    def _enough_layers(self) -> "BuildupSpec":
        if self.stackup.copper_count < 3:
            raise ValueError("a build-up substrate needs at least 3 copper layers (die level, one trace "
                             "layer, ball level)")
        if self.vias.columns != "stacked":
            raise ValueError("vias.columns: the build-up router stacks its microvia columns (staggered columns "
                             "are not routed); remove vias.columns or set it to stacked")
        return self

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


def package_lengths(spec: BuildupSpec) -> dict[str, float]:
    """Ball name → routed trace length of its net inside the package (mm; 0 for plane nets and NC).

    Args:
        spec: the validated spec; its substrate is routed (or taken from :func:`build_board`'s store).
    """
    board = build_board(spec)
    nets = board.extras.sidecar["routing"]["nets"]
    p = board.pads
    return {p.name[i]: float(nets[board.nets[int(p.net[i])]]["length_mm"]) for i in range(len(p))
            if p.owner[i] == "BALLS" and p.net[i] and board.nets[int(p.net[i])] in nets}


def build_footprint(spec: BuildupSpec):
    """The board-side land pattern of this package, each pad carrying its package length.

    The shared grid-array builder draws the lands; the substrate is routed (once per spec and
    process) and each ball's routed trace length (die to ball, mm) becomes the pad's KiCad
    ``die_length``, so a board designer's length matching includes the package.
    """
    fps = build_grid_array(spec.footprint_spec())
    lengths = package_lengths(spec)
    return [replace(fp, pads=[replace(g, die_length=np.array([lengths.get(n, 0.0) for n in g.names]))
                              for g in fp.pads]) for fp in fps]


register(Family(name="buildup", spec=BuildupSpec, footprint=build_footprint, substrate=build_board,
               checks=(check_routed,),
                summary="build-up package substrate: die in a metal-carrier cavity, stacked microvias, balls"))
