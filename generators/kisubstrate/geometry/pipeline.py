"""The substrate pipeline: stackup → dies → terminals → netlist → planes → route → fills, in named phases.

A family that routes a package netlist runs :class:`SubstratePipeline` (or a subclass that adds
its own phases, e.g. a carrier, before ``route``, which then treats that copper as obstacles).

* **stackup** — copper layer roles (``signal`` / ``plane`` / ``mixed``; unset = signal), the via of
  every hop (a microvia where IPC-2226 allows it, else the spec's ``vias.blind``: a core), and the
  signal layers the die reaches by microvias alone (its escape layers).
* **dies** — every die pad with its net: from the pad map, or a bump plan whose nets follow the
  ball map (:func:`~kisubstrate.geometry.bumpplan.assign_plan_nets`).
* **terminals** — the ball grid with the ball map's nets; a ball marked NC, or not in the map, has
  no connection.
* **netlist** — :func:`~kisubstrate.model.netlist.build_netlist`: every net joins die and balls.
* **planes** — the routing grid with the pads as obstacles; each plane net gets a via column
  under every bump down to its top plane and over every ball up to its planes (as high as the
  column is free), joining all its plane layers.
* **route** — each signal net: a column under its bump to an escape layer, an octilinear trace to
  its ball, a column down to the ball (:class:`~kisubstrate.geometry.route.router.Router`);
  bump ring k (from the die edge) on the k-th escape layer, the last layer taking the rest;
  nets that fail are routed first in a new pass.
* **fills** — the plane and mixed layers poured for their nets (:func:`~kisubstrate.geometry.planes.plane_zones`).

Every net routed or poured is measured (trace length per layer, vias) into the board's sidecar
and a ``-nets.csv`` report; a net that could not be routed is listed with the reason (the family
check turns the list into violations, so such a board is never written).

Example (the flip-chip family's ``build_board`` runs it; ``tests/substrates/test_flipchip.py`` on a spec)::

    board = SubstratePipeline(spec).run()
    board.extras.sidecar["routing"]["unrouted"]   # [] when every net is routed

    >>> SubstratePipeline.phases
    ('stackup', 'dies', 'terminals', 'netlist', 'planes', 'route', 'fills')
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace

import numpy as np
import shapely

from kisubstrate.geometry.board import BoardBuilder, BoardExtras, BoardGeom, Drawing
from kisubstrate.geometry.bumpplan import assign_plan_nets
from kisubstrate.geometry.distance import segment_segment_distance
from kisubstrate.geometry.planes import plane_zones, split_regions
from kisubstrate.geometry.route.grid import FREE, RouteGrid
from kisubstrate.geometry.route.router import Hop, Routed, Router, Unrouted
from kisubstrate.geometry.terminals import grid_sites, place_terminal_lands
from kisubstrate.model.bumpplan import plan_sites
from kisubstrate.model.errors import SpecError
from kisubstrate.model.netlist import Netlist, Terminal, build_netlist, is_no_connect

ROWS_PER_LAYER = 1
"""Bump rings (from the die edge inwards) escaping on each escape layer."""

ROUTE_PASSES = 10
"""Routing passes at most: each pass after the first routes the nets that failed first."""

STITCHES = 4
"""Via columns joining two planes of a net that no ball column joins."""

ESCAPE_BEYOND_DIE = 0.1
"""How far (mm) a bump's fixed escape runs past the die edge before the search takes over."""


@dataclass(frozen=True)
class Bump(Terminal):
    """A die bump with its depth in the bump field (0 = outer row) and its die."""

    depth: int = 0
    die: int = 0


@dataclass
class PipelineState:
    """What the phases hand on: the board builder, nets, grid, router and results."""

    b: BoardBuilder
    roles: list[str] = field(default_factory=list)
    pours: list[list[str]] = field(default_factory=list)
    hops: list[Hop] = field(default_factory=list)
    escape: list[int] = field(default_factory=list)
    bumps: list[Bump] = field(default_factory=list)
    balls: list[Terminal] = field(default_factory=list)
    netlist: Netlist | None = None
    grid: RouteGrid | None = None
    router: Router | None = None
    routed: list[Routed] = field(default_factory=list)
    unrouted: list[Unrouted] = field(default_factory=list)
    ties: dict[str, int] = field(default_factory=dict)


class SubstratePipeline:
    """Build a routed substrate board from a netlist spec (a ``SubstrateSpec`` with layer roles).

    Args:
        spec: the validated spec (``body``, ``stackup`` with roles, ``dies``, ``terminals`` with a
            ball map of nets, ``vias``, ``rules``).
    """

    phases = ("stackup", "dies", "terminals", "netlist", "planes", "route", "fills")

    escape_beyond = ESCAPE_BEYOND_DIE
    """How far (mm) a bump's fixed escape runs past its die edge (a family may set its own)."""

    pour_name = "plane"
    """Name stem of the zones the ``fills`` phase pours (``<stem>-<layer>-<net>``)."""

    def __init__(self, spec) -> None:
        self.spec = spec
        self._regions: dict[int, dict[int, shapely.Geometry]] = {}
        self.rules = spec.substrate_rules()
        self.width = spec.width()
        bx, by = spec.body[0] / 2, spec.body[1] / 2
        self.s = PipelineState(b=BoardBuilder(spec.resolved_name, copper=spec.stackup.copper_count,
                                              outline=shapely.box(-bx, -by, bx, by)))

    def run(self) -> BoardGeom:
        """Run every phase in order and return the board."""
        for name in self.phases:
            getattr(self, name)()
        return self.finish()

    # -- phases ---------------------------------------------------------------------------------
    def stackup(self) -> None:
        """Layer roles, pours, the via of each hop and the escape layers."""
        st, s = self.spec.stackup, self.s
        coppers = st.coppers()
        s.roles = [lay.role or "signal" for lay in coppers]
        s.pours = [list(lay.nets or ()) for lay in coppers]
        micro = self.spec.micro()
        blind = self.spec.vias.blind
        for hop in range(len(coppers) - 1):
            depth = st.hop_depth(hop)
            if depth <= self.rules.microvia_max_depth and depth / micro.drill <= self.rules.microvia_aspect_ratio:
                s.hops.append(Hop(micro.pad, micro.drill, "micro"))
            elif blind is not None:
                s.hops.append(Hop(blind.pad, blind.drill, "blind"))
            else:
                raise SpecError(f"dielectric {hop + 1} ({depth:g} mm with the copper below) is too deep for a "
                                f"{micro.drill:g} mm microvia: give vias.blind (drill, pad) for the core",
                                field="vias.blind")
        reach = 0
        while reach < len(s.hops) and s.hops[reach].kind == "micro":
            reach += 1
        s.escape = [k for k in range(reach + 1) if s.roles[k] in ("signal", "mixed") and k < len(coppers) - 1]
        if not s.escape:
            raise SpecError("no signal or mixed layer is reachable from the die by microvias: give copper 1 or a "
                            "layer above the core role: signal", field="stackup.layers")

    def dies(self) -> None:
        """Every die pad with its net (map or bump plan) and its depth in the bump field."""
        spec, s = self.spec, self.s
        sites = grid_sites(spec.terminals)
        net_of = spec.terminals.ball_map.net_of if spec.terminals.ball_map is not None else {}
        ball_net = [net_of.get(n, "") for n in sites.names]
        pour = {n for nets in s.pours for n in nets}
        for k, die in enumerate(spec.dies):
            dx, dy = die.position
            p = die.pads
            if p.plan is not None:
                ps = plan_sites(die.size[0], die.size[1], p.plan, p.size)
                if die.face == "down":  # names in the die's face view, positions as placed (mirrored)
                    ps = replace(ps, x=-ps.x)
                ex, ey = _escape_points(ps, die.size, p.plan.pitch)
                nets = assign_plan_nets(ps, sites.x - dx, sites.y - dy, ball_net, pour, escape_x=ex,
                                        escape_y=ey) if k == 0 else [""] * len(ps.x)
                for name, x, y, ring, net in zip(ps.names, ps.x.tolist(), ps.y.tolist(), ps.ring.tolist(), nets):
                    s.bumps.append(Bump(die.name, name, dx + x, dy + y, net, depth=int(ring), die=k))
                continue
            pitch = bump_pitch(die) or p.size * 2
            for pad in die.board_pads():
                edge = min(die.size[0] / 2 - abs(pad.x), die.size[1] / 2 - abs(pad.y))
                s.bumps.append(Bump(die.name, pad.name, dx + pad.x, dy + pad.y, pad.net, p.map_file or "", pad.line,
                                    depth=max(0, int(round((edge - p.size / 2) / pitch))), die=k))
        self.assign_pad_nets()
        b = s.b
        for t in s.bumps:
            die = spec.dies[t.die]
            b.pad(t.owner, t.name, t.x, t.y, die.pads.size, layer=0, net=0 if is_no_connect(t.net) else b.net(t.net),
                  mask=self._bump_mask(die))

    def pitch_of(self, die) -> float | None:
        """:func:`bump_pitch` of a die of this spec, computed once."""
        cache = self.__dict__.setdefault("_pitches", {})
        if id(die) not in cache:
            cache[id(die)] = bump_pitch(die)
        return cache[id(die)]

    def assign_pad_nets(self) -> None:
        """Hook: give nets to the die pads in ``self.s.bumps`` before they are placed (default: as given).

        A family whose dies have generated pads without nets (e.g. peripheral rows) derives them
        from the ball map here.
        """

    def _bump_mask(self, die) -> float:
        """Solder-mask opening margin of a bump pad (mm).

        The profile's NSMD margin, narrowed so that the web between openings at the bump pitch keeps
        the profile's minimum (negative: mask-defined).
        """
        p = die.pads
        pitch = self.pitch_of(die)
        margin = self.rules.mask_margin
        if pitch is not None:
            margin = min(margin, (pitch - p.size - self.rules.mask_web) / 2)
        return round(margin, 6)

    def terminals(self) -> None:
        """The balls with the ball map's nets (NC or unlisted: no connection) and their lands."""
        spec, s = self.spec, self.s
        t = spec.terminals
        sites = grid_sites(t)
        bm = t.ball_map
        line = dict(zip((ball for ball, _ in bm.nets), bm.lines)) if bm is not None else {}
        net_of = bm.net_of if bm is not None else {}
        for name, x, y in zip(sites.names, sites.x.tolist(), sites.y.tolist()):
            s.balls.append(Terminal("BALLS", name, x, y, net_of.get(name, ""), bm.path if bm else "",
                                    line.get(name, 0)))
        b = s.b
        net_of_site = {i: b.net(ball.net) for i, ball in enumerate(s.balls) if not is_no_connect(ball.net)}
        land, margin = t.land_and_margin(self.rules)
        place_terminal_lands(b, sites, land=land, mask=t.mask, rules=self.rules, layer=b.copper - 1,
                             net_of_site=net_of_site, margin=margin)
        self._sites = sites

    def netlist(self) -> None:
        """Group terminals by net; every net must join the die to the balls."""
        pour = {n for nets in self.s.pours for n in nets}
        self.s.netlist = build_netlist(list(self.s.bumps), self.s.balls, plane_nets=pour)

    def planes(self) -> None:
        """The routing grid, and the via columns tying each plane net's bumps and balls to its planes."""
        s, spec, r = self.s, self.spec, self.rules
        b = s.b
        last = b.copper - 1
        pads = sorted({h.pad for h in s.hops})
        origin = spec.dies[0].position
        pitch = self._grid_pitch()
        s.grid = grid = RouteGrid(b.outline, layers=b.copper, pitch=pitch, width=self.width, clearance=r.clearance,
                                  via_pads=tuple(pads), edge=r.copper_to_edge, origin=origin)
        pads = b.build().pads  # every pad is an obstacle of its own net (no net: of net 0)
        rad = [max(w, h) / 2 if sh == "circle" else math.hypot(w, h) / 2
               for w, h, sh in zip(pads.w, pads.h, pads.shape)]
        for L in sorted(set(pads.layer.tolist())):
            on = pads.layer == L
            grid.add(L, pads.x[on], pads.y[on], pads.x[on], pads.y[on], np.asarray(rad)[on], pads.net[on])
        for L, role in enumerate(s.roles):
            if role == "plane":
                grid.block_layer_moves(L)
        s.router = Router(grid, b, hops=s.hops, width=self.width, hole_to_hole=r.hole_to_hole)
        keep = np.zeros(grid.shape, bool)
        for d in spec.dies:
            (x, y), (w, h) = d.position, d.size
            rows, cols = np.mgrid[0:grid.shape[0], 0:grid.shape[1]]
            gx, gy = grid.x(cols), grid.y(rows)
            reach = self.escape_beyond - 1e-9
            keep |= (np.abs(gx - x) < w / 2 + reach) & (np.abs(gy - y) < h / 2 + reach)
        s.router.keep_out = keep
        assert s.netlist is not None
        plane = [(net, sorted(L for L, nets in enumerate(s.pours) if net.name in nets))
                 for net in s.netlist.plane_nets()]
        for net, layers in plane:  # every bump column first: they stand at bump pitch
            self._tie_bumps(net, layers)
        self._split_regions(dict(plane))
        self._signal_order()
        for net, layers in plane:
            self._tie_balls(net, layers, last)

    def _split_regions(self, plane: dict) -> None:
        """Each split plane's area per net.

        The Voronoi cells of what lands on it: the bumps on a net's top plane, the balls on its bottom
        plane and on the planes between; a ball column rises to a split plane only inside its net's area.
        """
        s = self.s
        inner = shapely.buffer(s.b.outline, -(self.rules.copper_to_edge + 1e-4), join_style="mitre")
        self._regions = {}
        for L, nets in enumerate(s.pours):
            if len(nets) < 2:
                continue
            xs, ys, codes = [], [], []
            for net, layers in plane.items():
                if net.name in nets:
                    # what lands on the layer: bumps on the top plane, balls on the bottom one (or passing)
                    terms = (net.bumps if layers[0] == L else ()) + (net.balls if layers[0] != L or
                                                                     layers[-1] == L else ())
                    xs += [t.x for t in terms]
                    ys += [t.y for t in terms]
                    codes += [s.b.net(net.name)] * len(terms)
            self._regions[L] = split_regions(inner, np.array(xs), np.array(ys), np.array(codes),
                                             [s.b.net(n) for n in nets], self.rules.clearance)

    def _inside_region(self, L: int, code: int, x: float, y: float) -> bool:
        region = self._regions.get(L, {}).get(code) if L in self._regions else None
        return L not in self._regions or (region is not None and region.contains(shapely.Point(x, y)))

    def _tie_bumps(self, net, layers: list[int]) -> None:
        """A column from each bump of a plane net down to its top plane."""
        s = self.s
        code = s.b.net(net.name)
        top = layers[0]
        reach = s.escape[-1] if s.escape else 0
        if top > max(reach, 0) and any(s.hops[h].kind != "micro" for h in range(top)):
            raise SpecError(f"net '{net.name}' is poured only on copper {', '.join(str(L + 1) for L in layers)}, which "
                            "the die's bumps cannot reach by microvias: pour it on a layer above the core too",
                            field="stackup.layers")
        router, grid = s.router, s.grid
        for t in net.bumps:
            cell = grid.cell(t.x, t.y)
            if top and router.column_free(cell, 0, top, code) is not None:
                s.unrouted.append(Unrouted(net.name, f"the via column under bump {t.label} to copper {top + 1} is "
                                           "blocked", t.x, t.y, 0))
                continue
            s.ties[net.name] = s.ties.get(net.name, 0) + router.place_column(cell, 0, top, code)

    def _tie_balls(self, net, layers: list[int], last: int) -> None:
        """A column from each ball of a plane net up to its planes, as high as it stays free."""
        s = self.s
        code = s.b.net(net.name)
        bottom = layers[-1]
        router, grid = s.router, s.grid
        reached = set()
        for t in net.balls:
            cell = grid.cell(t.x, t.y)
            if router.column_free(cell, bottom, last, code) is not None:
                s.unrouted.append(Unrouted(net.name, f"the via column over {t.label} to copper {bottom + 1} is "
                                           "blocked", t.x, t.y, last))
                continue
            up = bottom
            for L in reversed(layers[:-1]):  # as high as the column stays free, in the net's area and stackable
                if router.column_free(cell, L, up, code) is None and self._inside_region(L, code, t.x, t.y) and \
                        self._stackable(L, last):
                    up = L
                else:
                    break
            s.ties[net.name] = s.ties.get(net.name, 0) + router.place_column(cell, up, last, code)
            reached |= {L for L in layers if L >= up}
        for L in sorted(set(layers) - reached, reverse=True):  # planes no ball column reached: stitch them
            below = min(x for x in reached if x > L) if any(x > L for x in reached) else None
            if below is None or not self._stitch(net, code, L, below):
                t = net.balls[0]
                s.unrouted.append(Unrouted(net.name, f"no via column of the net is free between its planes on "
                                           f"copper {L + 1} and {(below or L) + 1}: the planes are not joined",
                                           t.x, t.y, L))
            else:
                reached.add(L)

    def _stackable(self, top: int, bottom: int) -> bool:
        """True if a via column from copper ``top`` to ``bottom`` stacks no more microvias than the profile allows."""
        run = longest = 0
        for hop in range(top, bottom):
            run = run + 1 if self.s.hops[hop].kind == "micro" else 0
            longest = max(longest, run)
        return longest <= self.rules.max_stack

    def _stitch(self, net, code: int, top: int, bottom: int, most: int = STITCHES) -> bool:
        """Join the net's planes on copper ``top`` and ``bottom`` by up to ``most`` via columns.

        At grid cells inside the net's area on both layers where the whole column is free, nearest
        to the net's bumps first, at least a ball pitch apart; False if there is none.
        """
        s = self.s
        grid, router = s.grid, s.router
        ok = np.ones(grid.shape, bool)
        for hop in range(top, bottom):
            arr = grid.via[grid.via_index(s.hops[hop].pad)]
            for L in (hop, hop + 1):
                ok &= (arr[L] == FREE) | (arr[L] == code)
        rows, cols = np.nonzero(ok)
        x, y = grid.x(cols), grid.y(rows)
        for L in (top, bottom):
            region = self._regions.get(L, {}).get(code) if L in self._regions else None
            if L in self._regions:
                inside = shapely.contains_xy(region, x, y) if region is not None else np.zeros(len(x), bool)
                rows, cols, x, y = rows[inside], cols[inside], x[inside], y[inside]
        if not len(x):
            return False
        cx = np.mean([t.x for t in net.bumps]) if net.bumps else 0.0
        cy = np.mean([t.y for t in net.bumps]) if net.bumps else 0.0
        order = np.lexsort((cols, rows, np.round(np.hypot(x - cx, y - cy), 6)))
        placed: list[tuple[float, float]] = []
        gap = min(self.spec.terminals.pitch_xy)
        for k in order.tolist():
            if len(placed) >= most:
                break
            if any(math.hypot(x[k] - px, y[k] - py) < gap for px, py in placed):
                continue
            cell = (int(rows[k]), int(cols[k]))
            if router.column_free(cell, top, bottom, code) is None:
                s.ties[net.name] = s.ties.get(net.name, 0) + router.place_column(cell, top, bottom, code)
                placed.append((float(x[k]), float(y[k])))
        return bool(placed)

    def _signal_order(self) -> None:
        """Each signal net's candidate layers and routing order; reserve its bump and ball via sites.

        Reserved before the plane nets' ball columns, which then stop below what a signal needs.
        Order: escape layer, then balls nearest the die first (the traces to farther balls pass
        between them), then angle about the die.
        """
        s = self.s
        assert s.netlist is not None and s.router is not None
        last = s.b.copper - 1
        depth = {(t.owner, t.name): t.depth for t in s.bumps}
        cx, cy = self.spec.dies[0].position
        order = []
        die = self.spec.dies[0]
        hw, hh = die.size[0] / 2, die.size[1] / 2
        for net in s.netlist.signal_nets():
            d = min(depth[(t.owner, t.name)] for t in net.bumps)
            pref = min(d // ROWS_PER_LAYER, len(s.escape) - 1)
            t0, ball = net.bumps[0], net.balls[0]
            # a fan out of each die edge: the nets that turn farthest towards an end of the edge go
            # first, from that end inwards, so no trace crosses in front of an escape still waiting
            dx, dy = t0.x - cx, t0.y - cy
            if abs(dx) / hw >= abs(dy) / hh:
                u, half, turn = dy, hh, (ball.y - cy) - dy
            else:
                u, half, turn = dx, hw, (ball.x - cx) - dx
            fan = (u + half) if turn < 0 else (half - u)
            layers = s.escape[pref:] + s.escape[:pref][::-1]
            order.append(((pref, round(fan, 6), round(math.atan2(dy, dx), 9), net.name), net, layers))
        order.sort(key=lambda o: o[0])
        router, grid = s.router, s.grid
        for _key, net, layers in order:
            code = s.b.net(net.name)
            for t in net.balls:
                router.reserve_column(grid.cell(t.x, t.y), s.escape[0], last, code)
            router.reserve_column(grid.cell(net.bumps[0].x, net.bumps[0].y), 0, layers[0], code)
        self._order = [(net, layers) for _key, net, layers in order]

    def route(self) -> None:
        """Every signal net: its escape out of the bump field (all reserved first), then trace and columns.

        If nets fail, the pass is undone and run again with the failed nets first (at most
        :data:`ROUTE_PASSES` passes; the pass with the fewest failures is kept).
        """
        s = self.s
        saved = s.grid.snapshot(), s.b.snapshot(), list(s.unrouted), s.router.snapshot()
        order = list(self._order)
        best = None
        ever: list[str] = []
        for _pass in range(ROUTE_PASSES):
            if _pass:
                s.grid.restore(saved[0])
                s.b.restore(saved[1])
                s.router.restore(saved[3])
            routed, failed = self._route_pass(order)
            if best is None or len(failed) < len(best[1]):
                best = (routed, failed, s.grid.snapshot(), s.b.snapshot(), s.router.snapshot())
            if not failed:
                break
            # every net that failed in any pass goes first: this pass's failures, then the earlier ones
            now = [u.net for u in failed]
            ever[:] = now + [n for n in ever if n not in now]
            rank = {n: k for k, n in enumerate(ever)}
            order = sorted(order, key=lambda o: rank.get(o[0].name, len(rank)))
        assert best is not None
        routed, failed, grid_state, builder_state, router_state = best
        s.grid.restore(grid_state)
        s.b.restore(builder_state)
        s.router.restore(router_state)
        s.routed, s.unrouted = routed, saved[2] + failed

    def _route_pass(self, order) -> tuple[list[Routed], list[Unrouted]]:
        s = self.s
        last = s.b.copper - 1
        stubs = {}  # (x, y, layer) -> cells: every net's escape on its first layer, reserved up front
        for net, layers in order:
            for t in net.bumps:
                stubs[(t.x, t.y, layers[0])] = self._escape_stub(t, layers[0], s.b.net(net.name))
        routed, failed = [], []
        for net, layers in order:
            code = s.b.net(net.name)

            def escape(x, y, L, _code=code, _net=net):
                if (x, y, L) in stubs:
                    return stubs[(x, y, L)]
                t = next(b for b in _net.bumps if (b.x, b.y) == (x, y))
                return self._escape_stub(t, L, _code, reserve=False)

            res = s.router.route(code, net.name, [(t.x, t.y, 0) for t in net.bumps],
                                 [(t.x, t.y, last) for t in net.balls], layers=layers, escape=escape)
            (routed if isinstance(res, Routed) else failed).append(res)
        return routed, failed

    def _escape_stub(self, t: Bump, L: int, code: int, *, reserve: bool = True) -> list[tuple[int, int]] | None:
        """Cells of the escape from bump ``t`` out of the die on layer ``L``, reserved for its net.

        Straight out through the nearest die edge, or first one or two diagonal steps to the side
        into the channel between the bumps in front; None if no variant is free.
        """
        s, die = self.s, self.spec.dies[t.die]
        grid, router = s.grid, s.router
        (cx, cy), (w, h) = die.position, die.size
        dx, dy = t.x - cx, t.y - cy
        if abs(dx) / w >= abs(dy) / h:
            n, tang, room = (0, 1 if dx >= 0 else -1), (1, 0), w / 2 - abs(dx)
        else:
            n, tang, room = (1 if dy >= 0 else -1, 0), (0, 1), h / 2 - abs(dy)
        steps = max(1, math.ceil((room + self.escape_beyond) / grid.pitch - 1e-9))
        r0, c0 = grid.cell(t.x, t.y)
        # rings inside the outer one leave through the channels (half a pitch sideways) on every layer,
        # so that the outer bumps' sites stay free for a column down to a deeper layer
        pitch = self.pitch_of(die)
        half = max(1, round(pitch / 2 / grid.pitch)) if pitch else 2
        order = (0, half, -half) if t.depth == 0 else (half, 0, -half)
        for j in order + (1, -1, half + 1, -half - 1):
            side = (1 if j > 0 else -1) if j else 0
            path = [(r0, c0)]
            r, c = r0, c0
            for k in range(steps):
                if k < abs(j):
                    r, c = r + n[0] + side * tang[0], c + n[1] + side * tang[1]
                else:
                    r, c = r + n[0], c + n[1]
                path.append((r, c))
            if all(0 <= pr < grid.shape[0] and 0 <= pc < grid.shape[1] for pr, pc in path) and \
                    router.path_free(path, L, code):
                if reserve:
                    router.reserve_path(path, L, code)
                return path
        return None

    def fills(self) -> None:
        """Pour every plane and mixed layer for its nets."""
        s = self.s
        geom = s.b.build()
        for L, nets in enumerate(s.pours):
            if nets:
                s.b.zones.extend(plane_zones(geom, layer=L, nets=[s.b.net(n) for n in nets],
                                             clearance=self.rules.clearance, edge=self.rules.copper_to_edge,
                                             name=self.pour_name, regions=self._regions.get(L)))

    # -- result -----------------------------------------------------------------------------------
    def finish(self) -> BoardGeom:
        """Die outlines, the bump-field mask opening, measures in the sidecar and the CSV report."""
        spec, s = self.spec, self.s
        b = s.b
        dies = []
        for d in spec.dies:
            (x, y), (w, h) = d.position, d.size
            dies.append(shapely.box(x - w / 2, y - h / 2, x + w / 2, y + h / 2))
            b.drawings.append(Drawing(((x - w / 2, y - h / 2), (x + w / 2, y - h / 2), (x + w / 2, y + h / 2),
                                       (x - w / 2, y + h / 2)), "F.Fab", width=0.05, label=f"die {d.name}"))
        bx, by = spec.body[0] / 2, spec.body[1] / 2
        routing = self._measures()
        b.extras = BoardExtras(dies=shapely.union_all(dies), body=shapely.box(-bx, -by, bx, by),
                               sidecar={"routing": routing},
                               files={"-nets.csv": _nets_csv(routing), "-bumps.csv": self._bumps_csv()},
                               summary=tuple(_summary(routing)))
        return b.build()

    def _bumps_csv(self) -> str:
        """The die's bump map as placed: ``pad,x,y,net`` in the die's own face view (mm from its centre).

        For a bump plan, the map to hand to the die designer (and to give back as ``pads: {map: ...}``).
        """
        lines = ["pad,x,y,net"]
        for t in self.s.bumps:
            die = self.spec.dies[t.die]
            dx, dy = die.position
            x = (t.x - dx) * (-1.0 if die.face == "down" else 1.0)
            q = '"' + t.net.replace('"', '""') + '"' if any(c in t.net for c in ',"') else t.net
            lines.append(f"{t.name},{_num(x)},{_num(t.y - dy)},{q}")
        return "\n".join(lines) + "\n"

    def _measures(self) -> dict:
        s = self.s
        lm = [f"L{k + 1}" for k in range(s.b.copper)]
        nets = {}
        for r in s.routed:
            nets[r.net] = {"kind": "signal", "layer": lm[r.layer], "length_mm": round(r.length, 4),
                           "length_by_layer_mm": {lm[L]: round(v, 4) for L, v in sorted(r.lengths.items())},
                           "vias": r.vias}
        assert s.netlist is not None
        for net in s.netlist.plane_nets():
            nets[net.name] = {"kind": "plane", "layer": ",".join(lm[L] for L, p in enumerate(s.pours) if net.name in p),
                              "length_mm": 0.0, "length_by_layer_mm": {}, "vias": s.ties.get(net.name, 0)}
        used = sorted({r.layer for r in s.routed})
        out = {"nets": dict(sorted(nets.items())),
               "signal_layers_used": [lm[L] for L in used],
               "escape_layers": [lm[L] for L in s.escape],
               "no_connect": sorted(s.netlist.no_connect),
               "unrouted": [{"net": u.net, "reason": f"{u.reason} ({where})", "x": round(u.x, 4),
                             "y": round(u.y, 4), "layer": lm[u.layer]}
                            for u, where in zip(s.unrouted, self._where_stopped(s.unrouted))]}
        if s.unrouted:  # how many escape layers the netlist would need at the best layer's load
            per_layer = max([sum(1 for r in s.routed if r.layer == L) for L in s.escape], default=0)
            signals = len(s.netlist.signal_nets())
            out["escape_layers_needed"] = math.ceil(signals / per_layer) if per_layer else None
        return out

    def _where_stopped(self, unrouted: list[Unrouted]) -> list[str]:
        """Per unrouted net: the full ball channel it stopped in, else the two balls nearest the stop.

        A route that stopped between two neighbouring balls, in a channel whose crossing traces already
        fill it, reads ``channel between balls C4–C5 on copper 3 holds 2 traces, 4 needed``: what it
        holds is the traces that fit between the copper at the two balls on that layer (trace + space
        each, plus one space), what is needed is the traces crossing it plus the nets stopped there.
        """
        found = [self._channel(u) for u in unrouted]
        stopped: dict[tuple, int] = {}
        for c in found:
            if c is not None:
                stopped[c[:3]] = stopped.get(c[:3], 0) + 1
        out = []
        for u, c in zip(unrouted, found):
            if c is None:
                out.append(self._near(u.x, u.y))
                continue
            a, b, L, holds, used = c
            out.append(f"channel between balls {a}–{b} on copper {L + 1} holds {holds} trace"
                       f"{'' if holds == 1 else 's'}, {used + stopped[c[:3]]} needed")
        return out

    def _channel(self, u: Unrouted) -> tuple[str, str, int, int, int] | None:
        """(ball a, ball b, layer, traces it holds, traces crossing it) of a full channel at a stop, or None."""
        sites, t = self._sites, self.spec.terminals
        d2 = (sites.x - u.x) ** 2 + (sites.y - u.y) ** 2
        i, j = sorted(sorted(range(len(d2)), key=lambda k: (round(float(d2[k]), 9), sites.names[k]))[:2])
        ax, ay, bx, by = float(sites.x[i]), float(sites.y[i]), float(sites.x[j]), float(sites.y[j])
        dist = math.hypot(bx - ax, by - ay)
        along = ((u.x - ax) * (bx - ax) + (u.y - ay) * (by - ay)) / dist ** 2 if dist else -1.0
        if dist > 1.5 * max(t.pitch_xy) or not 0.0 < along < 1.0:
            return None
        b, L = self.s.b, u.layer
        items = b.items_on(L)
        ends = []
        for x, y in ((ax, ay), (bx, by)):
            at = (np.hypot(items[:, 0] - x, items[:, 1] - y) < 1e-6) & (items[:, 0] == items[:, 2]) & \
                 (items[:, 1] == items[:, 3])
            r = float(items[at, 4].max()) if at.any() else 0.0
            ends.append(max(r, t.land_mm(self.rules) / 2) if L == b.copper - 1 else r)
        gap = dist - ends[0] - ends[1]
        holds = max(0, math.floor((gap - self.rules.clearance + 1e-9) / (self.width + self.rules.clearance)))
        tr = b.tracks_on(L)
        if len(tr):
            d, _, _ = segment_segment_distance(tr[:, 0], tr[:, 1], tr[:, 2], tr[:, 3], ax, ay, bx, by)
            used = len(set(tr[d < 1e-9, 4].tolist()))
        else:
            used = 0
        if used < holds:
            return None  # room left: not the channel that stopped it
        return sites.names[i], sites.names[j], L, holds, used

    def _near(self, x: float, y: float) -> str:
        """``near balls C4, C5``: the two balls nearest a point (mm), to say where a route stopped."""
        sites = self._sites
        d = (sites.x - x) ** 2 + (sites.y - y) ** 2
        k = sorted(range(len(d)), key=lambda i: (round(float(d[i]), 9), sites.names[i]))[:2]
        return "near balls " + ", ".join(sites.names[i] for i in k)

    def _grid_pitch(self) -> float:
        """The routing grid pitch: trace + space, stretched so the die's bump pitch is a whole number of cells."""
        step = self.width + self.rules.clearance
        pitch = self.pitch_of(self.spec.dies[0])
        if pitch is None or pitch < step:
            return step
        return pitch / math.floor(pitch / step + 1e-9)


def bump_pitch(die) -> float | None:
    """The bump pitch of a die (mm).

    Its plan's, area array's or peripheral rows', or for a pad map the smallest spacing of its pads'
    distinct x or y coordinates; None for a single pad.

    Args:
        die: a ``DieSpec``.
    """
    p = die.pads
    if p.plan is not None:
        return p.plan.pitch
    if p.area is not None:
        return p.area.pitch
    if p.peripheral is not None:
        return p.peripheral.pitch
    gaps = []
    for v in (np.array([q.x for q in p.map or ()]), np.array([q.y for q in p.map or ()])):
        u = np.unique(np.round(v, 6))
        if len(u) > 1:
            gaps.append(float(np.diff(u).min()))
    return round(min(gaps), 6) if gaps else None


def _escape_points(ps, size: tuple[float, float], pitch: float):
    """Where each bump-plan site's escape leaves the die (mm, die frame).

    As :meth:`SubstratePipeline._escape_stub` will run it: straight out through the nearest edge from
    the outer ring, half a pitch sideways (between the bumps in front) from the others.
    """
    w, h = size
    x, y, ring = ps.x, ps.y, ps.ring
    x_edge = np.abs(x) / w >= np.abs(y) / h
    jog = np.where(ring > 0, pitch / 2, 0.0)
    out = ESCAPE_BEYOND_DIE
    ex = np.where(x_edge, np.sign(x) * (w / 2 + out), x + jog)
    ey = np.where(x_edge, y + jog, np.sign(y) * (h / 2 + out))
    return ex, ey


def _num(v: float) -> str:
    """A coordinate in mm for a CSV: up to 6 decimals, no trailing zeros, no ``-0``."""
    text = f"{round(v, 6) + 0.0:.6f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def _nets_csv(routing: dict) -> str:
    """``net,kind,layer,length_mm,vias`` per net (the router's measures)."""
    lines = ["net,kind,layers,length_mm,vias"]
    for name, m in routing["nets"].items():
        q = '"' + name.replace('"', '""') + '"' if any(c in name for c in ',"\n ') else name
        lines.append(f"{q},{m['kind']},{m['layer']},{m['length_mm']:.4f},{m['vias']}")
    return "\n".join(lines) + "\n"


def _summary(routing: dict) -> list[str]:
    nets = routing["nets"]
    sig = [m for m in nets.values() if m["kind"] == "signal"]
    out = [f"routed {len(sig)} signal net(s) on {', '.join(routing['signal_layers_used']) or '-'}, "
           f"{sum(m['length_mm'] for m in sig):.1f} mm of trace; {len(nets) - len(sig)} plane net(s); "
           f"{len(routing['no_connect'])} NC ball(s)"]
    for u in routing["unrouted"][:20]:
        out.append(f"UNROUTED {u['net']}: {u['reason']}")
    if routing.get("escape_layers_needed"):
        out.append(f"the netlist needs about {routing['escape_layers_needed']} escape (signal) layers above the "
                   f"core at the best layer's load; the stackup gives {len(routing['escape_layers'])}")
    return out


__all__ = ["ROWS_PER_LAYER", "PipelineState", "SubstratePipeline"]
