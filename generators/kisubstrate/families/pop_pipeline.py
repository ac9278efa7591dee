"""The PoP family on the substrate pipeline: nets from the package netlist, routed by the shared router.

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
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import shapely

from kisubstrate.geometry.board import BoardExtras, BoardGeom, Drawing
from kisubstrate.geometry.pipeline import Bump, SubstratePipeline, _nets_csv
from kisubstrate.geometry.planes import plane_zones, split_regions
from kisubstrate.geometry.route.grid import RouteGrid
from kisubstrate.geometry.route.router import Hop, Routed, Router, Unrouted
from kisubstrate.geometry.terminals import grid_sites, place_terminal_lands
from kisubstrate.model.errors import SpecError
from kisubstrate.model.netlist import Net, Netlist, Terminal, is_no_connect

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
    """The substrate pipeline with the PoP family's phases (see the module docstring).

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
            from kisubstrate.families.pop import check_side_trace_ring

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
        place_terminal_lands(b, top, land=tl.land, mask=tl.mask, rules=self.rules, layer=0, owner="POP",
                             net_of_site={i: b.net(lt.net) for i, lt in enumerate(self.lands)
                                          if not is_no_connect(lt.net)})
        place_terminal_lands(b, bot, land=t.land_mm(), mask=t.mask, rules=self.rules, layer=3,
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
        from kisubstrate.families.pop import side_traces  # the family module imports this one

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
