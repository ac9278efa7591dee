"""Net-aware substrate board checks, per copper layer, with exact circle/segment math.

Every rule is an entry of the registry :data:`CHECKS` (name → check function), which
:func:`check_board` runs in order; ``check_board(..., only=(...))`` keeps the rule ids named.
Rule ids as in the report (the clearance, annular-ring, hole and edge rules are also KiCad
DRC tests, compared item by item in the tests):

* ``copper_layer`` — an item on a copper layer the board does not have (runs first; if it
  finds anything, no other rule runs).
* ``copper_clearance`` — different-net copper (pads, via annuli on every layer they
  span, tracks, zone fills) closer than the profile clearance, per layer; zone fills of
  different nets on one layer too; rectangular pads are measured exactly (polygon
  distance), not as circumscribed circles.
* ``track_width`` / ``via_drill`` / ``via_diameter`` — trace width, via drill (microvia or
  mechanical) or microvia capture pad below the profile minimum (a spec may choose wider
  traces or bigger vias, never weaker ones).
* ``annular_ring`` — via (pad − drill) / 2 below the profile minimum.
* ``hole_to_hole`` — mechanically drilled holes (through / blind; laser microvias are
  exempt as in KiCad) closer than the minimum, edge to edge.
* ``copper_to_edge`` — copper closer to the body outline than the minimum (or outside).
* ``microvia_span`` / ``microvia_aspect_ratio`` / ``microvia_depth`` — IPC-2226: a
  microvia crosses one dielectric, depth (dielectric + target foil) ≤ 0.25 mm and
  depth / drill ≤ the profile ratio; ``microvia_stack`` — more microvias stacked on each
  other than the profile allows (registry entry ``microvia``; needs the stackup).
* ``mask_web`` — solder-mask openings closer than the minimum web (round, oval and
  rectangular openings, exact).
* ``terminal_outside_body`` / ``die_outside_body`` — terminals and dies inside the body
  (registry entry ``terminal_outside_body``, which reports both).
* ``unconnected`` / ``copper_island`` — every net one connected piece of copper as KiCad's
  connectivity sees it, no zone-fill polygon cut off from its net (registry entry
  ``connectivity``; :mod:`kisubstrate.rules.connectivity`).

Family-specific rules (cavity, PoP) are declared on the family (``Family.checks``) and run
after these by :func:`kisubstrate.api.substrate.build_substrate`.

Example:
    >>> from kisubstrate.geometry.board import BoardBuilder
    >>> from kisubstrate.model.substrate import load_substrate_rules
    >>> b = BoardBuilder("t", copper=2, outline=((-2, -2), (2, -2), (2, 2), (-2, 2)))
    >>> b.track(0, 0, 1, 0, 0.03, layer=0, net=b.net("A"))
    >>> b.track(0, 0.05, 1, 0.05, 0.03, layer=0, net=b.net("B"))
    >>> rep = check_board(b.build(), load_substrate_rules("substrate-buildup"))
    >>> [(v.rule, v.items, round(v.measured, 4)) for v in rep.violations]
    [('copper_clearance', ('track/0', 'track/1'), 0.02)]
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Callable

import numpy as np
import shapely

from kisubstrate.geometry.board import BoardGeom, copper_items
from kisubstrate.rules.capsules import capsule_geoms, capsule_pairs
from kisubstrate.rules.connectivity import check_connectivity
from kisubstrate.rules.report import Report, Violation

TOL = 5e-7  # half a KiCad nanometre: values on the 1 nm grid compare exactly


def layer_name(i: int) -> str:
    """Neutral name of physical copper layer ``i`` (0-based): ``L1`` … ``Ln``."""
    return f"L{i + 1}"


def _key(geom: BoardGeom, src: int, idx: int) -> str:
    return (geom.pads.key, geom.vias.key, geom.tracks.key)[src](int(idx))


@dataclass
class BoardContext:
    """What every board rule reads, shared by the checks of one :func:`check_board` run.

    Attributes:
        geom: the board (mm, KiCad frame).
        rules: the :class:`~kisubstrate.model.substrate.SubstrateRules` profile (lengths in mm).
        stackup: the spec's :class:`~kisubstrate.model.substrate.Stackup`, or None (the microvia
            depth rules need it and are skipped without it).
        only: the rule ids to report, or None for all (``check_board(only=...)``).
        checked: rule → items examined, filled by the checks (the report's ``checked``).
    """

    geom: BoardGeom
    rules: Any
    stackup: Any = None
    only: tuple[str, ...] | None = None
    checked: dict[str, int] = field(default_factory=dict)

    def want(self, rule: str) -> bool:
        """True if rule id ``rule`` is to be reported."""
        return self.only is None or rule in self.only

    @cached_property
    def items(self):
        """:func:`copper_items` of the board (computed once, on first use)."""
        return copper_items(self.geom)

    @cached_property
    def cores(self) -> _Cores:
        """Exact shapes of the copper items (rectangular pads as rectangles)."""
        ax, ay, bx, by, r, _layer, _net, src, idx = self.items
        return _Cores(self.geom, ax, ay, bx, by, r, src, idx)


BoardCheck = Callable[[BoardContext], "list[Violation]"]
"""A board rule: ``(context) -> violations``; it reports only the rule ids ``context.want`` accepts
and records how many items it examined in ``context.checked``."""


def check_copper_layer(ctx: BoardContext) -> list[Violation]:
    """``copper_layer``: items on a copper layer index outside 0 … copper-1."""
    return _layer_range(ctx.geom) if ctx.want("copper_layer") else []


def check_copper_clearance(ctx: BoardContext) -> list[Violation]:
    """``copper_clearance``: different-net copper closer than ``rules.clearance`` on one layer (zone fills too)."""
    if not ctx.want("copper_clearance"):
        return []
    geom, c = ctx.geom, ctx.rules.clearance
    ax, ay, bx, by, r, layer, net, src, idx = ctx.items
    core = ctx.cores
    out: list[Violation] = []
    for L in np.unique(layer).tolist():
        sel = np.flatnonzero(layer == L)
        i, j, gap, x, y = capsule_pairs(ax[sel], ay[sel], bx[sel], by[sel], r[sel], within=c - TOL,
                                        net=net[sel])
        i, j = sel[i], sel[j]
        diff = (net[i] != net[j]) | (net[i] == 0)
        i, j, gap, x, y = core.refine(i[diff], j[diff], gap[diff], x[diff], y[diff], c - TOL)
        diff = np.ones(len(i), bool)
        # two annuli of one via never clash; neither do items of one net
        for a, b2, g, px, py in zip(i[diff].tolist(), j[diff].tolist(), gap[diff].tolist(),
                                    x[diff].tolist(), y[diff].tolist()):
            ka, kb = sorted((_key(geom, src[a], idx[a]), _key(geom, src[b2], idx[b2])))
            out.append(Violation("copper_clearance", (ka, kb), (px, py), layer_name(L), g, c,
                                 "copper of different nets too close"))
        ctx.checked["copper_clearance"] = ctx.checked.get("copper_clearance", 0) + len(sel)
    out += _zone_clearance(geom, core, layer, net, c)
    return out


def check_track_width(ctx: BoardContext) -> list[Violation]:
    """``track_width``: tracks narrower than ``rules.trace_width``."""
    t, rules = ctx.geom.tracks, ctx.rules
    if not ctx.want("track_width") or not len(t):
        return []
    out = []
    for k in np.flatnonzero(t.width < rules.trace_width - TOL).tolist():
        out.append(Violation("track_width", (t.key(k),), (float(t.x1[k]), float(t.y1[k])),
                             layer_name(int(t.layer[k])), float(t.width[k]), rules.trace_width,
                             "track narrower than the profile minimum"))
    ctx.checked["track_width"] = len(t)
    return out


def _via_size(ctx: BoardContext, rule: str) -> list[Violation]:
    """``via_drill`` / ``via_diameter``: via drill, or microvia capture pad, below the profile minimum."""
    v, rules = ctx.geom.vias, ctx.rules
    if not ctx.want(rule) or not len(v):
        return []
    micro = np.array([k == "micro" for k in v.kind], bool)
    if rule == "via_drill":
        val, lim, what = v.drill, np.where(micro, rules.microvia_drill, rules.via_drill), "drill"
    else:
        # mechanical via pads are bounded by drill + annular ring (the profile's via_pad is a default);
        # a microvia capture pad must reach the profile's microvia_pad
        val, lim, what = v.size, np.where(micro, rules.microvia_pad, 0.0), "pad diameter"
    out = []
    for k in np.flatnonzero(val < lim - TOL).tolist():
        out.append(Violation(rule, (v.key(k),), (float(v.x[k]), float(v.y[k])),
                             f"{layer_name(int(v.top[k]))}-{layer_name(int(v.bottom[k]))}", float(val[k]),
                             float(lim[k]), f"{v.kind[k]} via {what} below the profile minimum"))
    ctx.checked[rule] = len(v)
    return out


def check_via_drill(ctx: BoardContext) -> list[Violation]:
    """``via_drill``: via drill below ``rules.microvia_drill`` (microvias) or ``rules.via_drill``."""
    return _via_size(ctx, "via_drill")


def check_via_diameter(ctx: BoardContext) -> list[Violation]:
    """``via_diameter``: microvia capture pad below ``rules.microvia_pad``."""
    return _via_size(ctx, "via_diameter")


def check_annular_ring(ctx: BoardContext) -> list[Violation]:
    """``annular_ring``: via (pad − drill) / 2 below ``rules.annular_ring``."""
    v, rules = ctx.geom.vias, ctx.rules
    if not ctx.want("annular_ring") or not len(v):
        return []
    out = []
    ring = (v.size - v.drill) / 2
    for k in np.flatnonzero(ring < rules.annular_ring - TOL).tolist():
        out.append(Violation("annular_ring", (v.key(k),), (float(v.x[k]), float(v.y[k])),
                             f"{layer_name(int(v.top[k]))}-{layer_name(int(v.bottom[k]))}",
                             float(ring[k]), rules.annular_ring, f"{v.kind[k]} via annular ring too small"))
    ctx.checked["annular_ring"] = len(v)
    return out


def check_hole_to_hole(ctx: BoardContext) -> list[Violation]:
    """``hole_to_hole``: drilled holes closer than ``rules.hole_to_hole``, edge to edge, any nets.

    As KiCad checks them: two mechanically drilled holes, or a mechanical hole and a laser microvia
    whose layer spans share a copper layer; two microvias are not compared, and holes at the same
    point (a stack) are KiCad's ``holes_co_located`` warning, not this rule.
    """
    v, rules = ctx.geom.vias, ctx.rules
    if not ctx.want("hole_to_hole") or not len(v):
        return []
    out = []
    is_mech = np.array([k != "micro" for k in v.kind], bool)
    i, j, gap, x, y = capsule_pairs(v.x, v.y, v.x, v.y, v.drill / 2, within=rules.hole_to_hole - TOL)
    keep = (is_mech[i] | is_mech[j]) & (v.top[i] <= v.bottom[j]) & (v.top[j] <= v.bottom[i])
    keep &= (v.x[i] != v.x[j]) | (v.y[i] != v.y[j])
    for a, b2, g, px, py in zip(i[keep].tolist(), j[keep].tolist(), gap[keep].tolist(), x[keep].tolist(),
                                y[keep].tolist()):
        out.append(Violation("hole_to_hole", (v.key(a), v.key(b2)), (px, py), "drill", g, rules.hole_to_hole,
                             "drilled holes too close"))
    ctx.checked["hole_to_hole"] = int(is_mech.sum())
    return out


def check_copper_to_edge(ctx: BoardContext) -> list[Violation]:
    """``copper_to_edge``: copper (and zone fills) closer than ``rules.copper_to_edge`` to the outline."""
    if not ctx.want("copper_to_edge"):
        return []
    layer = ctx.items[5]
    out = _edge(ctx.geom, ctx.cores, layer, ctx.rules.copper_to_edge)
    ctx.checked["copper_to_edge"] = len(layer)
    return out


MICROVIA_RULES = ("microvia_aspect_ratio", "microvia_depth", "microvia_span", "microvia_stack")


def check_microvias(ctx: BoardContext) -> list[Violation]:
    """The IPC-2226 microvia rules (:data:`MICROVIA_RULES`); needs the stackup for the depths."""
    v = ctx.geom.vias
    if ctx.stackup is None or not len(v) or not any(ctx.want(k) for k in MICROVIA_RULES):
        return []
    out = _microvias(ctx.geom, ctx.rules, ctx.stackup, ctx.want)
    ctx.checked["microvia"] = int(sum(k == "micro" for k in v.kind))
    return out


def check_mask_web(ctx: BoardContext) -> list[Violation]:
    """``mask_web``: solder-mask openings closer than ``rules.mask_web``."""
    return _mask_web(ctx.geom, ctx.rules.mask_web) if ctx.want("mask_web") else []


def check_inside_body(ctx: BoardContext) -> list[Violation]:
    """``terminal_outside_body`` (ball lands) and ``die_outside_body``: inside the package body.

    The body is ``geom.extras.body``, else the outline; both run when ``terminal_outside_body``
    is wanted.
    """
    return _inside_body(ctx.geom) if ctx.want("terminal_outside_body") else []


def check_connected(ctx: BoardContext) -> list[Violation]:
    """``unconnected`` / ``copper_island``: opens and cut-off fills (:func:`check_connectivity`)."""
    if not (ctx.want("unconnected") or ctx.want("copper_island")):
        return []
    found = [v for v in check_connectivity(ctx.geom) if ctx.want(v.rule)]
    ctx.checked["connectivity"] = ctx.geom.item_count + len(ctx.geom.zones)
    return found


CHECKS: dict[str, BoardCheck] = {
    "copper_layer": check_copper_layer,
    "copper_clearance": check_copper_clearance,
    "track_width": check_track_width,
    "via_drill": check_via_drill,
    "via_diameter": check_via_diameter,
    "annular_ring": check_annular_ring,
    "hole_to_hole": check_hole_to_hole,
    "copper_to_edge": check_copper_to_edge,
    "microvia": check_microvias,
    "mask_web": check_mask_web,
    "terminal_outside_body": check_inside_body,
    "connectivity": check_connected,
}
"""The board rules, name → check (:data:`BoardCheck`), in the order :func:`check_board` runs them
and reports their violations. ``copper_layer`` comes first: a board with items on missing layers
gets only those violations. The rule ids of each entry are listed in the module docstring."""


def check_board(geom: BoardGeom, rules, *, stackup=None, only: tuple[str, ...] | None = None) -> Report:
    """Check a board against a :class:`~kisubstrate.model.substrate.SubstrateRules` profile.

    Every rule of :data:`CHECKS` runs, in order.

    Args:
        geom: the board (mm, KiCad frame).
        rules: the substrate rule profile (lengths in mm).
        stackup: the spec's :class:`~kisubstrate.model.substrate.Stackup` (for microvia depth checks).
        only: restrict to these rule ids (e.g. ``("copper_clearance",)`` for benchmarks).

    Example:
        >>> from kisubstrate.geometry.board import BoardBuilder
        >>> from kisubstrate.model.substrate import load_substrate_rules
        >>> b = BoardBuilder("t", copper=2, outline=((-2, -2), (2, -2), (2, 2), (-2, 2)))
        >>> b.track(0, 0, 1, 0, 0.01, layer=0, net=b.net("A"))
        >>> rep = check_board(b.build(), load_substrate_rules("substrate-buildup"), only=("track_width",))
        >>> [v.rule for v in rep.violations], rep.checked
        (['track_width'], {'track_width': 1})
    """
    rep = Report(package=geom.name, profile=rules.name)
    ctx = BoardContext(geom, rules, stackup=stackup, only=only, checked=rep.checked)
    for name, check in CHECKS.items():
        found = check(ctx)
        rep.extend(found)
        if name == "copper_layer" and found:  # nothing else is meaningful with items on missing layers
            break
    return rep


class _Cores:
    """Exact shapes of copper items: a core geometry (point, segment or pad rectangle) plus a radius.

    Round pads, vias and tracks are capsules (point/segment + radius); a rectangular pad is its
    rectangle with radius 0, so polygon distance gives the true gap (the capsule arrays hold its
    circumscribed circle, which only serves to find candidates).
    """

    def __init__(self, geom, ax, ay, bx, by, r, src, idx):
        self.geom, self.ax, self.ay, self.bx, self.by, self.r, self.src, self.idx = geom, ax, ay, bx, by, r, src, idx
        p = geom.pads
        rect = np.array([s == "rect" for s in p.shape], bool) if len(p) else np.zeros(0, bool)
        self.is_rect = np.zeros(len(ax), bool)
        self.is_rect[:len(p)] = rect  # pads come first in copper_items

    def shapes(self, items: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(core geometries, radii) of the given item indices."""
        items = np.asarray(items, np.int64)
        g = capsule_geoms(self.ax[items], self.ay[items], self.bx[items], self.by[items])
        rad = self.r[items].copy()
        rect = self.is_rect[items]
        if rect.any():
            p = self.geom.pads
            k = self.idx[items[rect]]
            g[rect] = shapely.box(p.x[k] - p.w[k] / 2, p.y[k] - p.h[k] / 2, p.x[k] + p.w[k] / 2, p.y[k] + p.h[k] / 2)
            rad[rect] = 0.0
        return g, rad

    def refine(self, i, j, gap, x, y, within):
        """Recompute candidate pairs that involve a rectangular pad exactly; keep those closer than ``within``."""
        sel = np.flatnonzero(self.is_rect[i] | self.is_rect[j])
        if not len(sel):
            return i, j, gap, x, y
        gi, ri = self.shapes(i[sel])
        gj, rj = self.shapes(j[sel])
        exact = shapely.distance(gi, gj) - ri - rj
        gap, x, y = gap.astype(float).copy(), x.astype(float).copy(), y.astype(float).copy()
        gap[sel] = exact
        mid = shapely.centroid(shapely.shortest_line(gi, gj))
        x[sel], y[sel] = shapely.get_x(mid), shapely.get_y(mid)
        keep = gap < within
        return i[keep], j[keep], gap[keep], x[keep], y[keep]


def _zone_clearance(geom, core: _Cores, layer, net, c) -> list[Violation]:
    """Copper of other nets near zone fills, and fills of different nets near each other (per layer).

    The copper of a layer is built once and queried through an STRtree by each fill (linear in
    the number of items near a fill, not in zones × items).
    """
    out = []
    fills = [z for z in geom.zones if z.keepout is None and z.fill is not None and not z.fill.is_empty]
    for L in sorted({L for z in fills for L in z.layers}):
        on = [z for z in fills if L in z.layers]
        sel = np.flatnonzero(layer == L)
        geoms, rad = core.shapes(sel)
        tree = shapely.STRtree(geoms)
        rmax = float(rad.max()) if len(rad) else 0.0
        for z in on:
            hit = tree.query(z.fill, predicate="dwithin", distance=rmax + c)
            hit = hit[(net[sel[hit]] != z.net) | (net[sel[hit]] == 0)]
            if not len(hit):
                continue
            d = shapely.distance(geoms[hit], z.fill) - rad[hit]
            for k in np.flatnonzero(d < c - TOL).tolist():
                h = int(hit[k])
                it = sel[h]
                p1, _p2 = shapely.shortest_line(geoms[h], z.fill).coords
                out.append(Violation("copper_clearance",
                                     tuple(sorted((_key(geom, core.src[it], core.idx[it]), z.key))),
                                     p1, layer_name(L), float(d[k]), c, "copper too close to a zone fill"))
        # fill pairs from an STRtree (a panel has hundreds of fills per layer)
        fill_tree = shapely.STRtree([z.fill for z in on])
        qa, qb = fill_tree.query([z.fill for z in on], predicate="dwithin", distance=c)
        for a, b2 in zip(qa.tolist(), qb.tolist()):
            za, zb = on[a], on[b2]
            if a < b2 and not (za.net == zb.net and za.net != 0):
                d = float(shapely.distance(za.fill, zb.fill))
                if d < c - TOL:
                    p1, _p2 = shapely.shortest_line(za.fill, zb.fill).coords
                    out.append(Violation("copper_clearance", tuple(sorted((za.key, zb.key))), p1, layer_name(L),
                                         d, c, "zone fills of different nets too close"))
    return out


def _layer_range(geom) -> list[Violation]:
    """Items on a copper layer index outside 0 … copper-1 (the writer could not place them)."""
    out = []
    p, v, t = geom.pads, geom.vias, geom.tracks
    for what, lay, key in ((p, p.layer, p.key), (t, t.layer, t.key)):
        for k in np.flatnonzero((lay < 0) | (lay >= geom.copper)).tolist() if len(what) else []:
            out.append(Violation("copper_layer", (key(k),), (0.0, 0.0), f"L{int(lay[k]) + 1}", float(lay[k]),
                                 float(geom.copper - 1), "item on a copper layer the board does not have"))
    if len(v):
        for k in np.flatnonzero((v.top < 0) | (v.bottom >= geom.copper) | (v.top >= v.bottom)).tolist():
            out.append(Violation("copper_layer", (v.key(k),), (float(v.x[k]), float(v.y[k])),
                                 f"L{int(v.top[k]) + 1}-L{int(v.bottom[k]) + 1}", float(v.bottom[k]),
                                 float(geom.copper - 1), "via span outside the board's copper layers"))
    for z in geom.zones:
        if any(not 0 <= L < geom.copper for L in z.layers):
            out.append(Violation("copper_layer", (z.key,), (0.0, 0.0), "zone", float(max(z.layers)),
                                 float(geom.copper - 1), "zone on a copper layer the board does not have"))
    return out


def _edge(geom, core: _Cores, layer, limit) -> list[Violation]:
    ax, ay, bx, by, r, src, idx = core.ax, core.ay, core.bx, core.by, core.r, core.src, core.idx
    out = []
    outline = geom.outline
    ring = outline.exterior
    minx, miny, maxx, maxy = outline.bounds
    if outline.equals(outline.envelope):
        # rectangle: a capsule comes closest to the edge at an end point (exact, vectorised)
        d = np.minimum.reduce([ax - minx, maxx - ax, ay - miny, maxy - ay,
                               bx - minx, maxx - bx, by - miny, maxy - by]) - r
        suspect = np.flatnonzero(d < limit - TOL)
        dist = d[suspect]
    else:
        suspect = np.arange(len(ax))
        geoms = capsule_geoms(ax, ay, bx, by)
        dist = shapely.distance(geoms, ring) - r
        dist = np.where(shapely.contains(outline, geoms), dist, -dist - 2 * r)
        keep = dist < limit - TOL
        suspect, dist = suspect[keep], dist[keep]
    if len(suspect):
        geoms, rad = core.shapes(suspect)
        rect = core.is_rect[suspect]
        if rect.any():  # the circumscribed circle only found them: measure the rectangle itself
            inside = shapely.contains(outline, geoms[rect])
            gap = shapely.distance(geoms[rect], ring)
            dist = dist.copy()
            dist[rect] = np.where(inside, gap, -gap)
            keep = ~rect | (dist < limit - TOL)
            suspect, dist, geoms = suspect[keep], dist[keep], geoms[keep]
        for k, it in enumerate(suspect.tolist()):
            p1 = shapely.shortest_line(geoms[k], ring).coords[1]
            out.append(Violation("copper_to_edge", (_key(geom, src[it], idx[it]),), p1, layer_name(int(layer[it])),
                                 float(dist[k]), limit, "copper too close to the body edge"))
    for z in geom.zones:
        if z.fill is not None and z.keepout is None and not z.fill.is_empty:
            d = float(shapely.distance(z.fill.boundary, ring))
            if d < limit - TOL or not outline.contains(z.fill):
                p1 = shapely.shortest_line(z.fill.boundary, ring).coords[1]
                out.append(Violation("copper_to_edge", (z.key,), p1, layer_name(z.layers[0]), d, limit,
                                     "zone fill too close to the body edge"))
    return out


def _microvias(geom, rules, stackup, want) -> list[Violation]:
    out = []
    v = geom.vias
    micro = np.flatnonzero(np.array([k == "micro" for k in v.kind], bool))
    hop = np.array([stackup.hop_depth(k) for k in range(geom.copper - 1)])
    top, bot = v.top[micro], v.bottom[micro]
    span_bad = bot - top != 1
    depth = hop[np.clip(top, 0, len(hop) - 1)]
    ratio = depth / v.drill[micro]
    bad_ratio = ~span_bad & (ratio > rules.microvia_aspect_ratio + 1e-9)
    bad_depth = ~span_bad & (depth > rules.microvia_max_depth + 1e-9)
    for m in np.flatnonzero(span_bad | bad_ratio | bad_depth).tolist():
        k, tp, bt = int(micro[m]), int(top[m]), int(bot[m])
        where, lname = (float(v.x[k]), float(v.y[k])), f"{layer_name(tp)}-{layer_name(bt)}"
        if span_bad[m]:
            if not want("microvia_span"):
                continue
            out.append(Violation("microvia_span", (v.key(k),), where, lname, float(bt - tp), 1.0,
                                 "a microvia crosses exactly one dielectric (IPC-2226)"))
            continue
        if want("microvia_aspect_ratio") and bad_ratio[m]:
            out.append(Violation("microvia_aspect_ratio", (v.key(k),), where, lname, float(ratio[m]),
                                 rules.microvia_aspect_ratio, "depth / drill above the IPC-2226 limit "
                                 "(values are ratios, not mm)"))
        if want("microvia_depth") and bad_depth[m]:
            out.append(Violation("microvia_depth", (v.key(k),), where, lname, float(depth[m]),
                                 rules.microvia_max_depth, "microvia deeper than IPC-2226 allows"))
    if want("microvia_stack") and len(micro):
        # runs of microvias at one point whose spans chain (top of one = bottom of the previous)
        # one integer label per distinct (x, y) in nm (np.unique on rows: no hash collisions)
        xy = np.stack([np.round(v.x[micro] * 1e6), np.round(v.y[micro] * 1e6)], axis=1).astype(np.int64)
        _u, key = np.unique(xy, axis=0, return_inverse=True)
        key = key.reshape(-1)
        order = np.lexsort((v.top[micro], key))
        run, best = 1, {}
        for a, b2 in zip(order[:-1].tolist(), order[1:].tolist()):
            ia, ib = micro[a], micro[b2]
            run = run + 1 if key[a] == key[b2] and v.top[ib] == v.bottom[ia] else 1
            if run > rules.max_stack:
                best[int(key[b2])] = (run, ib)
        for run, ib in best.values():
            out.append(Violation("microvia_stack", (v.key(ib),), (float(v.x[ib]), float(v.y[ib])), "stack", float(run),
                                 float(rules.max_stack), "more stacked microvias than the profile allows"))
    return out


def mask_openings(p, sel: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Exact solder-mask openings of pads ``sel``: (core geometries, radii), opening = core ⊕ disc(radius).

    A round pad opens a disc, an oval a stadium (segment + radius), a rectangular pad its
    rectangle grown by the margin (rectangle + radius; a negative margin shrinks the rectangle).
    """
    w, h, m = p.w[sel], p.h[sel], p.mask[sel]
    shape = np.array([p.shape[k] for k in sel.tolist()], object)
    half = np.where(shape == "oval", np.abs(w - h) / 2, 0.0)
    along_x = w >= h
    hx, hy = np.where(along_x, half, 0.0), np.where(along_x, 0.0, half)
    x, y = p.x[sel], p.y[sel]
    core = capsule_geoms(x - hx, y - hy, x + hx, y + hy)
    rad = np.where(shape == "oval", np.minimum(w, h) / 2, w / 2) + m
    rect = np.flatnonzero(shape == "rect")
    if len(rect):
        shrink = np.minimum(m[rect], 0.0)  # negative margin: a smaller rectangle
        hw, hh = w[rect] / 2 + shrink, h[rect] / 2 + shrink
        core[rect] = shapely.box(x[rect] - hw, y[rect] - hh, x[rect] + hw, y[rect] + hh)
        rad[rect] = np.maximum(m[rect], 0.0)
    return core, rad


def _mask_web(geom, web) -> list[Violation]:
    p = geom.pads
    out = []
    has = np.flatnonzero(~np.isnan(p.mask)) if len(p) else np.zeros(0, np.int64)
    for side in np.unique(p.layer[has]).tolist() if len(has) else []:
        sel = has[p.layer[has] == side]
        # candidates with the circumscribed circle of each opening, then the exact opening distance
        bound = np.hypot(p.w[sel], p.h[sel]) / 2 + np.maximum(p.mask[sel], 0.0)
        i, j, _gap, _x, _y = capsule_pairs(p.x[sel], p.y[sel], p.x[sel], p.y[sel], bound, within=web - TOL)
        if not len(i):
            continue
        core, rad = mask_openings(p, sel)
        gap = shapely.distance(core[i], core[j]) - rad[i] - rad[j]
        mid = shapely.centroid(shapely.shortest_line(core[i], core[j]))
        bad = np.flatnonzero(gap < web - TOL)
        for k in bad.tolist():
            a, b2 = int(sel[i[k]]), int(sel[j[k]])
            out.append(Violation("mask_web", (p.key(a), p.key(b2)), (float(shapely.get_x(mid[k])),
                                 float(shapely.get_y(mid[k]))), f"{layer_name(side)}.Mask", float(gap[k]), web,
                                 "solder-mask web between openings too narrow"))
    return out


def _inside_body(geom) -> list[Violation]:
    out = []
    body = geom.extras.body if geom.extras.body is not None else geom.outline
    p = geom.pads
    balls = np.flatnonzero(np.array([o == "BALLS" for o in p.owner], bool)) if len(p) else np.zeros(0, np.int64)
    if len(balls):
        circles = shapely.buffer(shapely.points(p.x[balls], p.y[balls]), p.w[balls] / 2 / np.cos(np.pi / 32),
                                 quad_segs=8)
        for k in np.flatnonzero(~shapely.covers(body, circles)).tolist():
            i = balls[k]
            out.append(Violation("terminal_outside_body", (p.key(i),), (float(p.x[i]), float(p.y[i])),
                                 layer_name(int(p.layer[i])), 0.0, 0.0, "terminal land not inside the body"))
    dies = geom.extras.dies
    if dies is not None and not body.covers(dies):
        c = dies.centroid
        out.append(Violation("die_outside_body", ("dies",), (c.x, c.y), layer_name(0), 0.0, 0.0,
                             "die not inside the body"))
    return out
