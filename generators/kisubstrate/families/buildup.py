"""Build-up package (``family: buildup``): die in a metal-carrier cavity, stacked microvia columns, ball grid.

::

    die side (copper 1 = KiCad F.Cu)   ┌carrier plane┐  ┌──die (face up)──┐  ┌carrier┐
                                        ▓▓▓▓▓▓▓▓▓▓▓▓▓ ·· ▒ pad   …   pad ▒ ·· ▓▓▓▓▓▓▓
    dielectric 1 ───────────────────────────────────────── ║ microvia ║ ──────────────
    copper 2 (trace layer, ring 0)            ═══════ trace ╝          ╚ column …
    dielectric 2 …
    copper N (terminal side, B.Cu)      ● ball lands with via-in-pad (stacked microvias)

Routing (deterministic, no search): the terminal grid is split into rings from the
outside in; ring ``k`` is routed on trace layer ``k + 1`` (copper 2 … N-1). Every die
pad gets a column of microvias from copper 1 down to its trace layer (stacked, or
staggered outward by ``vias.stagger``), a short escape segment perpendicular to its
die edge, and one straight segment to its ball, where a stacked column continues to
the ball land on copper N. Below the trace layers (ball pitch), a dielectric too thick
for a microvia (a core) is crossed by a blind/buried via if ``vias.blind`` is given.
The carrier is tied to the unused balls under it by columns that clear the routing. Pads
and balls are matched in angular order around the die (with the best cyclic shift), so
traces on one layer do not cross. A board the rules reject is reported, never written.

Example:
    >>> from kisubstrate.families.buildup import BuildupSpec, build_board
    >>> spec = BuildupSpec.model_validate({
    ...     "family": "buildup", "body": [6, 6],
    ...     "stackup": {"layers": [{"copper": 0.015}, {"dielectric": 0.035}, {"copper": 0.015},
    ...                            {"dielectric": 0.035}, {"copper": 0.015}]},
    ...     "dies": [{"size": [2, 2], "pads": {"peripheral": {"per_side": 4, "pitch": 0.3}}}],
    ...     "terminals": {"pitch": 1.0, "layout": [5, 5], "ball_diameter": 0.5}})
    >>> board = build_board(spec)
    >>> board.copper, len(board.nets) - 1, sorted(set(board.vias.kind))
    (3, 17, ['micro'])
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import shapely
from pydantic import Field, model_validator

from kisubstrate.families.grid_array import BgaSpec, PgaSpec, build_grid_array, terminal_footprint_spec
from kisubstrate.families.registry import Family, is_flipped, register
from kisubstrate.geometry.assign import assign_around_centroid
from kisubstrate.geometry.board import (
    BoardBuilder,
    BoardExtras,
    BoardGeom,
    Drawing,
    Zone,
)
from kisubstrate.geometry.distance import segment_segment_distance
from kisubstrate.geometry.terminals import grid_sites, place_terminal_lands, ring_index
from kisubstrate.model.base import SpecModel, length
from kisubstrate.model.errors import SpecError
from kisubstrate.model.substrate import SubstrateSpec
from kisubstrate.model.units import snap
from kisubstrate.rules.capsules import capsule_geoms


class Carrier(SpecModel):
    """The metal carrier around the die: a copper plane region on copper 1 with the cavity cut out."""

    net: str = Field("CARRIER", max_length=60, description="net of the carrier plane")
    cavity_gap: float = length("gap between die edge and cavity wall", le=5, default=0.1)
    material: Literal["copper", "aluminium"] = Field("copper", description="carrier metal (documentation)")
    balls: Literal["auto", "none"] | list[str] = Field(
        "auto", description="balls tied to the carrier by stacked microvia columns: 'auto' = every unused "
        "ball under the carrier whose column clears the routing, 'none', or a list of ball names")


class BuildupSpec(SubstrateSpec):
    """Build-up package substrate (seed 004): die in a carrier cavity, build-up layers, ball grid."""

    family: Literal["buildup"] = "buildup"
    carrier: Carrier | None = Field(default_factory=Carrier, description="metal carrier; null for none")
    escape: float = length("escape segment beyond the die edge before fanning out", le=5, default=0.1)

    @model_validator(mode="after")
    def _enough_layers(self) -> "BuildupSpec":
        if self.stackup.copper_count < 3:
            raise ValueError("a build-up substrate needs at least 3 copper layers (die level, one trace "
                             "layer, ball level)")
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


def build_board(spec: BuildupSpec) -> BoardGeom:  # noqa: C901 - becomes the substrate pipeline's phases (issue 11)
    """Build the substrate board of a build-up package (see the module docstring for the scheme)."""
    rules = spec.substrate_rules()
    ncu = spec.stackup.copper_count
    last = ncu - 1
    trace_layers = ncu - 2
    micro = spec.micro()
    width = spec.width()
    bx, by = spec.body[0] / 2, spec.body[1] / 2
    b = BoardBuilder(spec.resolved_name, copper=ncu, outline=shapely.box(-bx, -by, bx, by))
    t = spec.terminals
    sites = terminal_sites(spec)
    ring = ring_index(sites, t.columns, t.rows)

    # -- die pads ------------------------------------------------------------------------------
    pads = []  # (die, pad, x, y, nx, ny, edge distance)
    for die in spec.dies:
        dx, dy = die.position
        w, h = die.size
        for p in die.board_pads():  # face down: mirrored (model/substrate.DieSpec.board_pads)
            # outward normal of the nearest die edge
            gaps = (w / 2 - p.x, w / 2 + p.x, h / 2 - p.y, h / 2 + p.y)
            k = int(np.argmin(gaps))
            normal = ((1, 0), (-1, 0), (0, 1), (0, -1))[k]
            pads.append((die, p, dx + p.x, dy + p.y, normal, gaps[k]))
    npads = len(pads)
    ball_net: dict[str, str] = t.ball_map.net_of if t.ball_map is not None else {}

    # -- choose balls: rings from the outside in, one trace layer per ring -----------------------
    usable = np.nonzero(ring < trace_layers)[0]
    fixed: dict[int, int] = {}  # pad index -> site index (pad net given and a ball carries it)
    site_of_net: dict[str, int] = {}
    for i, name in enumerate(sites.names):
        if ball_net.get(name):
            site_of_net.setdefault(ball_net[name], i)
    for i, (die, p, *_rest) in enumerate(pads):
        if p.net and p.net in site_of_net:
            s = site_of_net[p.net]
            if ring[s] >= trace_layers:  # only the outer rings have a trace layer
                raise SpecError(f"die pad {die.name}.{p.name} (net {p.net}) maps to ball {sites.names[s]} in ring "
                                f"{int(ring[s]) + 1} from the outside, but {trace_layers} trace layer(s) reach only "
                                f"the outer {trace_layers} ring(s): move the net to an outer ball or add copper "
                                "layers", field="terminals.ball_map")
            fixed[i] = s
    taken = set(fixed.values())
    free_sites = [s for s in usable.tolist() if s not in taken and not ball_net.get(sites.names[s])]
    need = npads - len(fixed)
    if need > len(free_sites):
        raise SpecError(f"{npads} die pads but only {len(free_sites) + len(fixed)} balls in the outer "
                        f"{trace_layers} ring(s) reachable with {trace_layers} trace layer(s): add copper "
                        "layers or balls", field="stackup.layers")
    # fill rings outside-in; spread the partial ring evenly
    chosen: list[int] = []
    for k in range(trace_layers):
        in_ring = [s for s in free_sites if ring[s] == k]
        room = need - len(chosen)
        if room <= 0:
            break
        if len(in_ring) <= room:
            chosen += in_ring
        else:
            ang = np.arctan2(sites.y[in_ring], sites.x[in_ring])
            order = [in_ring[j] for j in np.argsort(ang, kind="stable")]
            pick = np.unique(np.floor(np.arange(room) * len(order) / room).astype(int))
            chosen += [order[j] for j in pick]
    auto = [i for i in range(npads) if i not in fixed]
    target = dict(fixed)
    if auto:
        ch = np.array(chosen)
        match = assign_around_centroid(np.array([pads[i][2] for i in auto]), np.array([pads[i][3] for i in auto]),
                                       sites.x[ch], sites.y[ch])
        for j, i in enumerate(auto):
            target[i] = int(ch[match[j]])

    # -- nets -------------------------------------------------------------------------------------
    net_of_site: dict[int, int] = {}
    for i, (die, p, *_r) in enumerate(pads):
        name = p.net or ball_net.get(sites.names[target[i]]) or f"{die.name}_{p.name}"
        net_of_site[target[i]] = b.net(name)
    # one die pad to one ball per net: a net shared by several pads or balls would stay open
    # (only the carrier net may sit on several balls: the carrier plane joins them)
    carrier_name = spec.carrier.net if spec.carrier is not None else None
    members: dict[str, list[str]] = {}
    net_name = b.net_names()
    for i, (die, p, *_r) in enumerate(pads):
        members.setdefault(net_name[net_of_site[target[i]]], []).append(f"{die.name}.{p.name}")
    for name, net in ball_net.items():
        if net and net != carrier_name:
            members.setdefault(net, []).append(name)
    shared = sorted(n for n, m in members.items() if len(set(m)) > 2 or
                    (len(set(m)) == 2 and sum("." in x for x in set(m)) != 1))
    if shared:
        raise SpecError(f"net {shared[0]} joins {', '.join(sorted(set(members[shared[0]]))[:6])}: the build-up "
                        "router connects one die pad to one ball per net (shared power/ground nets other "
                        f"than the carrier net '{carrier_name}' are not routed)", field="terminals.ball_map")

    # -- via per hop at ball pitch: a microvia, or a blind/buried via where a microvia cannot cross
    # the dielectric (IPC-2226 depth / aspect ratio, e.g. a core) and the spec gives vias.blind
    hop_via = []
    for hop in range(last):
        depth = spec.stackup.hop_depth(hop)
        ok = depth <= rules.microvia_max_depth and depth / micro.drill <= rules.microvia_aspect_ratio
        blind = spec.vias.blind
        hop_via.append((micro.pad, micro.drill, "micro") if ok or blind is None else (blind.pad, blind.drill, "blind"))

    # -- die pads, columns, traces, ball columns --------------------------------------------------
    for i, (die, p, x, y, (nx, ny), edge) in enumerate(pads):
        s = target[i]
        layer = int(ring[s]) + 1
        net = net_of_site[s]
        b.pad(die.name, p.name, x, y, die.pads.size, layer=0, net=net)
        cx_, cy_ = x, y
        for hop in range(layer):
            hx = cx_ + (nx * spec.vias.stagger if spec.vias.columns == "staggered" and hop else 0.0)
            hy = cy_ + (ny * spec.vias.stagger if spec.vias.columns == "staggered" and hop else 0.0)
            if (hx, hy) != (cx_, cy_):
                b.track(cx_, cy_, hx, hy, width, layer=hop, net=net)
            b.via(hx, hy, micro.pad, micro.drill, hop, hop + 1, net=net, kind="micro")
            cx_, cy_ = hx, hy
        reach = edge + spec.escape + (spec.carrier.cavity_gap if spec.carrier else 0.0)
        ex, ey = snap(x + nx * reach), snap(y + ny * reach)
        if abs(ex - cx_) + abs(ey - cy_) > 1e-9:
            b.track(cx_, cy_, ex, ey, width, layer=layer, net=net)
        sx, sy = float(sites.x[s]), float(sites.y[s])
        b.track(ex, ey, sx, sy, width, layer=layer, net=net)
        for hop in range(layer, last):
            size, drill, kind = hop_via[hop]
            b.via(sx, sy, size, drill, hop, hop + 1, net=net, kind=kind)

    # -- carrier: ground columns from the plane down to unused balls under it -----------------------
    dies_poly = shapely.union_all([shapely.box(d.position[0] - d.size[0] / 2, d.position[1] - d.size[1] / 2,
                                               d.position[0] + d.size[0] / 2, d.position[1] + d.size[1] / 2)
                                   for d in spec.dies])
    plane = cavity = region = None
    if spec.carrier is not None:
        cavity = shapely.buffer(dies_poly, spec.carrier.cavity_gap, join_style="mitre")
        region = shapely.box(-bx, -by, bx, by).buffer(-rules.copper_to_edge - 0.01, join_style="mitre")
        plane = shapely.difference(region, cavity)
        carrier_net = b.net(spec.carrier.net)
        for s_i in _carrier_sites(spec, b, sites, net_of_site, ball_net, plane, micro, rules.clearance):
            net_of_site[s_i] = carrier_net
            for hop in range(last):
                size, drill, kind = hop_via[hop]
                b.via(float(sites.x[s_i]), float(sites.y[s_i]), size, drill, hop, hop + 1, net=carrier_net, kind=kind)

    # -- ball lands on the last layer --------------------------------------------------------------
    place_terminal_lands(b, sites, land=t.land_mm(), mask=t.mask, rules=rules, layer=last, nets=ball_net,
                         net_of_site=net_of_site)

    # -- carrier plane with the cavity, cavity rule area, drawings ---------------------------------
    if spec.carrier is not None:
        b.zones.append(Zone(name="carrier", layers=(0,), outline=region, net=b.net(spec.carrier.net),
                            fill=plane))
        b.zones.append(Zone(name="cavity", layers=(0,), outline=cavity,
                            keepout={"tracks": False, "vias": True, "pads": True, "copperpour": False,
                                     "footprints": True}))
        b.drawings.append(Drawing(tuple(shapely.get_coordinates(cavity.exterior)[:-1].tolist()), "User.1",
                                  label="cavity"))
    for d in spec.dies:
        x0, y0 = d.position[0] - d.size[0] / 2, d.position[1] - d.size[1] / 2
        b.drawings.append(Drawing(((x0, y0), (x0 + d.size[0], y0), (x0 + d.size[0], y0 + d.size[1]),
                                   (x0, y0 + d.size[1])), "F.Fab", width=0.05, label=f"die {d.name}"))
    b.extras = BoardExtras(dies=dies_poly, body=shapely.box(-bx, -by, bx, by))
    return b.build()


def _carrier_sites(spec, b: BoardBuilder, sites, net_of_site, ball_net, plane, micro, clearance) -> list[int]:
    """Ball sites tied to the carrier: unused balls under the plane whose column clears the routing."""
    want = spec.carrier.balls
    # balls the ball map puts on the carrier net always get a column
    mapped = [i for i in range(len(sites.names))
              if ball_net.get(sites.names[i]) == spec.carrier.net and i not in net_of_site]
    if want == "none":
        return mapped
    free = [i for i in range(len(sites.names)) if i not in net_of_site and not ball_net.get(sites.names[i])]
    if isinstance(want, list):
        index = {n: i for i, n in enumerate(sites.names)}
        unknown = [n for n in want if n not in index]
        if unknown:
            raise SpecError(f"carrier balls not on the grid: {', '.join(unknown[:5])}", field="carrier.balls")
        taken = [n for n in want if index[n] not in free and index[n] not in mapped]
        if taken:
            raise SpecError(f"carrier balls already carry a signal: {', '.join(taken[:5])}", field="carrier.balls")
        return sorted(set(mapped) | {index[n] for n in want})
    inner = shapely.buffer(plane, -micro.pad / 2)
    if inner.is_empty:
        return mapped
    if not free:
        return mapped
    free = np.array(free)
    ok = shapely.contains_xy(inner, sites.x[free], sites.y[free])
    # clear every existing track and via on the layers the column crosses: candidate pairs from an
    # STRtree of the layer's items, exact capsule distance on those pairs only (no sites x items matrix)
    px, py = sites.x[free], sites.y[free]
    pts = shapely.points(px, py)
    reach = micro.pad / 2 + clearance
    for layer in range(1, spec.stackup.copper_count - 1):
        segs = b.items_on(layer)
        if not len(segs):
            continue
        tree = shapely.STRtree(capsule_geoms(segs[:, 0], segs[:, 1], segs[:, 2], segs[:, 3]))
        pi, si = tree.query(pts, predicate="dwithin", distance=reach + float(segs[:, 4].max()) + 1e-6)
        if not len(pi):
            continue
        d, _, _ = segment_segment_distance(px[pi], py[pi], px[pi], py[pi],
                                           segs[si, 0], segs[si, 1], segs[si, 2], segs[si, 3])
        ok[pi[d - segs[si, 4] < reach + 1e-6]] = False
    return sorted(set(mapped) | set(free[ok].tolist()))


def build_footprint(spec: BuildupSpec):
    """The board-side land pattern of this package (the shared grid-array builder)."""
    return build_grid_array(spec.footprint_spec())


register(Family(name="buildup", spec=BuildupSpec, footprint=build_footprint, substrate=build_board,
                summary="build-up package substrate: die in a metal-carrier cavity, stacked microvias, balls"))
