"""Strips and panels: step a generated substrate board into rows x columns with rails, holes, fiducials, plating bus.

The panel is built from the unit's :class:`~kisubstrate.geometry.board.BoardGeom` (the
IR the substrate writer uses), regenerated from the spec — more robust than parsing a
``.kicad_pcb`` back. Layout (mm, panel centred on the origin)::

    ┌──────────────────────── rail ────────────────────────┐   ◎ tooling hole (Edge.Cuts cut-out)
    │ ◉ fiducial                                  ◉       │   ◉ fiducial (copper dot, mask opening)
    │   ╔═══════╦═══════╦═══════╗  ═ plating bus in the    │
    │   ║ unit  ║ unit  ║ unit  ║    saw streets (net       │
    │   ╠═══════╬═══════╬═══════╣    PLATING), one ring     │
    │ ◎ ║ unit  ║ unit  ║ unit  ║    around the array  ◎   │
    │   ╚═══════╩═══════╩═══════╝                          │
    │ ◉                                           ◎       │
    └──────────────────────────────────────────────────────┘

**Nets.** Each unit's nets are renamed ``/R<row>C<col>/<net>`` (KiCad's hierarchical
form: one "sheet" per unit), so units never short each other.

**Plating bars.** For electrolytic finish every exposed land must touch the plating bus
while it is plated; the ties are etched back (or sawn off) afterwards. A board where
every net is tied to one bus cannot pass KiCad's DRC without declaring all those
shorts, so the panel shows the **etch-back state**: the bus is its own net
``PLATING`` (all bars joined end to end in the streets and around the array), and each
tied net gets a plating tail on an outer layer that runs from one of its exposed lands out
to the street (straight, or with one 45° jog into the gap between outer-ring lands) and stops
``etch_back`` (at least the copper clearance) short of the bar: the gap is where the tie is
etched back after plating. A net that owns an outer-layer zone (a carrier plane, a heat
spreader) is tied from the zone. The tails are in the file and DRC-consistent; a net with no
clear path to the street is listed as untied (plate it through an inner-layer bar, or use an
electroless finish).

Example:
    >>> from kisubstrate.geometry.board import BoardBuilder
    >>> from kisubstrate.model.substrate import load_substrate_rules
    >>> b = BoardBuilder("U", copper=2, outline=((-5, -5), (5, -5), (5, 5), (-5, 5)))
    >>> b.track(-1, 0, 1, 0, 0.1, layer=0, net=b.net("A"))
    >>> p = build_panel(b.build(), load_substrate_rules("substrate-buildup"), rows=1, columns=2)
    >>> p.geom.name, p.units, round(p.size[0], 3), round(p.size[1], 3), p.geom.nets[1:]
    ('U_Panel1x2', 2, 30.9, 20.6, ['/R1C1/A', '/R1C2/A', 'PLATING'])
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import shapely

from kisubstrate.geometry.board import (
    BoardExtras,
    BoardGeom,
    Drawing,
    Pads,
    Tracks,
    Vias,
    Zone,
)
from kisubstrate.geometry.distance import segment_segment_distance
from kisubstrate.model.errors import SpecError
from kisubstrate.model.panel import PanelOptions, panel_options
from kisubstrate.model.units import fmt, snap, snap_array


@dataclass
class Panel:
    """A panel board and facts about it."""

    geom: BoardGeom
    units: int
    size: tuple[float, float]
    tied: list[str] = field(default_factory=list)  # panel net names with a plating tail
    untied: list[str] = field(default_factory=list)
    holes: list[tuple[float, float, float]] = field(default_factory=list)  # x, y, diameter
    fiducials: list[tuple[str, float, float]] = field(default_factory=list)  # layer, x, y


def _unit_net(row: int, col: int, name: str) -> str:
    return f"/R{row + 1}C{col + 1}/{name}"


def _circle(x: float, y: float, d: float, n: int = 48) -> tuple[tuple[float, float], ...]:
    r = d / 2 / math.cos(math.pi / n)  # circumscribed: the cut-out never under-approximates the hole
    return tuple((snap(x + r * math.cos(2 * math.pi * k / n)), snap(y + r * math.sin(2 * math.pi * k / n)))
                 for k in range(n))


def _shift(geom: shapely.Geometry, dx: float, dy: float) -> shapely.Geometry:
    """``geom`` moved by (dx, dy) mm with coordinates snapped to 1 nm (shared edges stay shared)."""
    return shapely.transform(geom, lambda c: np.round((c + np.array([dx, dy])) * 1e6) / 1e6)


def _tails(unit: BoardGeom, rules, *, beyond: float, width: float) -> list[tuple]:
    """One plating tail per net: (net, layer, [(x1, y1, x2, y2), ...]) in the unit frame (mm).

    A tail runs from an exposed outer-layer land (mask opening, net) out through the nearest
    unit edge and ends with its copper ``beyond`` mm outside the edge: straight, or - when a
    land of the outer ring is in the way - with a 45° jog of half the land spacing into the
    gap beside it. Lands are tried nearest to the edge first; a path is kept only if it
    clears every other-net item on its layer (pads, via annuli, tracks and tails already
    placed: exact capsule distances; zone fills) by the clearance.
    """
    p, v, t = unit.pads, unit.vias, unit.tracks
    last = unit.copper - 1
    outer = (p.layer == 0) | (p.layer == last)
    cand = np.flatnonzero(outer & (p.net > 0) & ~np.isnan(p.mask))
    if not len(cand):
        return []
    x0, y0, x1_, y1_ = unit.outline.bounds
    hx, hy = (x1_ - x0) / 2, (y1_ - y0) / 2
    gaps = np.stack([hx - p.x[cand], hx + p.x[cand], hy - p.y[cand], hy + p.y[cand]], axis=1)
    side = np.argmin(gaps, axis=1)
    order = np.lexsort((cand, gaps[np.arange(len(cand)), side]))
    pad_r = np.where(np.array([s == "circle" for s in p.shape], bool), p.w / 2, np.hypot(p.w, p.h) / 2)
    # jog: half the typical spacing of the exposed lands (median nearest-neighbour distance)
    pts = shapely.points(p.x[cand], p.y[cand])
    jog = 0.0
    if len(cand) > 1:
        tree = shapely.STRtree(pts)
        (src, dst), dist = tree.query_nearest(pts, exclusive=True, return_distance=True, all_matches=False)
        jog = float(np.median(dist)) / 2 if len(dist) else 0.0
    placed: list[tuple[int, int, float, float, float, float]] = []  # net, layer, segment
    out, done = [], set()
    c = rules.clearance

    def clear(net: int, layer: int, segs: list[tuple[float, float, float, float]]) -> bool:
        extra = [q for q in placed if q[1] == layer and q[0] != net]
        ex = np.array([q[2:] for q in extra], float).reshape(-1, 4)
        for sx1, sy1, sx2, sy2 in segs:
            for xs, ys, xe, ye, r, sel in (
                    (p.x, p.y, p.x, p.y, pad_r, (p.layer == layer) & ((p.net != net) | (p.net == 0))),
                    (v.x, v.y, v.x, v.y, v.size / 2, (v.top <= layer) & (v.bottom >= layer) & (v.net != net)),
                    (t.x1, t.y1, t.x2, t.y2, t.width / 2, (t.layer == layer) & (t.net != net)),
                    (ex[:, 0], ex[:, 1], ex[:, 2], ex[:, 3], np.full(len(ex), width / 2), np.ones(len(ex), bool))):
                n = int(sel.sum())
                if not n:
                    continue
                d, _, _ = segment_segment_distance(np.full(n, sx1), np.full(n, sy1), np.full(n, sx2),
                                                   np.full(n, sy2), xs[sel], ys[sel], xe[sel], ye[sel])
                if np.any(d - r[sel] - width / 2 < c + 1e-6):
                    return False
            seg = shapely.LineString([(sx1, sy1), (sx2, sy2)])
            for z in unit.zones:
                if (z.fill is not None and z.keepout is None and layer in z.layers and z.net != net
                        and shapely.distance(seg, z.fill) - width / 2 < c + 1e-6):
                    return False
        return True

    for k in order.tolist():
        i = int(cand[k])
        net, layer = int(p.net[i]), int(p.layer[i])
        if net in done:
            continue
        dx, dy = ((1, 0), (-1, 0), (0, 1), (0, -1))[int(side[k])]
        tx, ty = -dy, dx
        x1, y1 = float(p.x[i]), float(p.y[i])
        paths = []
        for sgn in ((0.0, 1.0, -1.0) if jog > 0 else (0.0,)):
            jx, jy = snap(x1 + sgn * jog * tx + abs(sgn) * jog * dx), snap(y1 + sgn * jog * ty + abs(sgn) * jog * dy)
            ex_ = snap(dx * (hx + beyond - width / 2)) if dx else jx
            ey_ = snap(dy * (hy + beyond - width / 2)) if dy else jy
            segs = [(x1, y1, jx, jy)] if sgn else []
            paths.append(segs + [(jx, jy, ex_, ey_)])
        for segs in paths:
            if clear(net, layer, segs):
                out.append((net, layer, segs))
                placed.extend((net, layer, *sg) for sg in segs)
                done.add(net)
                break
    # nets still untied that own an outer-layer zone (e.g. a carrier plane): a straight tail from the
    # zone's outermost fill point on a side's centre line
    needs = {int(n) for n in p.net[cand]}
    for z in unit.zones:
        if z.fill is None or z.keepout is not None or z.net in done or z.net not in needs:
            continue
        for layer in z.layers:
            for dx, dy in ((-1, 0), (1, 0), (0, -1), (0, 1)):
                if layer not in (0, last) or z.net in done:
                    continue
                probe = shapely.LineString([(-2 * hx, 0), (2 * hx, 0)] if dx else [(0, -2 * hy), (0, 2 * hy)])
                hit = shapely.get_coordinates(shapely.intersection(z.fill, probe))
                if not len(hit):
                    continue
                k = int(np.argmax(hit[:, 0] * dx + hit[:, 1] * dy))
                x1 = snap(float(hit[k, 0]) - dx * width)  # start inside the fill
                y1 = snap(float(hit[k, 1]) - dy * width)
                x2 = snap(dx * (hx + beyond - width / 2)) if dx else x1
                y2 = snap(dy * (hy + beyond - width / 2)) if dy else y1
                segs = [(x1, y1, x2, y2)]
                if clear(z.net, layer, segs):
                    out.append((z.net, layer, segs))
                    placed.extend((z.net, layer, *sg) for sg in segs)
                    done.add(z.net)
    return out


class _Items:
    """Pads, vias and tracks collected as array chunks (in the order added), frozen by :meth:`build`."""

    def __init__(self) -> None:
        self.P: dict[str, list] = {k: [] for k in ("owner", "name", "x", "y", "w", "h", "shape", "layer", "net",
                                                   "mask")}
        self.V: dict[str, list] = {k: [] for k in ("x", "y", "size", "drill", "top", "bottom", "net", "kind")}
        self.T: dict[str, list] = {k: [] for k in ("x1", "y1", "x2", "y2", "width", "layer", "net")}

    def unit(self, unit: BoardGeom, tag: str, ox: float, oy: float, net: np.ndarray) -> None:
        """The unit's pads, vias and tracks moved by (ox, oy) mm, owners tagged, nets mapped by ``net``."""
        p, v, t, P, V, T = unit.pads, unit.vias, unit.tracks, self.P, self.V, self.T
        P["owner"] += [f"{o}_{tag}" for o in p.owner]
        P["name"] += list(p.name)
        P["x"].append(p.x + ox), P["y"].append(p.y + oy), P["w"].append(p.w), P["h"].append(p.h)
        P["shape"] += list(p.shape)
        P["layer"].append(p.layer), P["net"].append(net[p.net]), P["mask"].append(p.mask)
        for key in ("size", "drill", "top", "bottom"):
            V[key].append(getattr(v, key))
        V["x"].append(v.x + ox), V["y"].append(v.y + oy), V["net"].append(net[v.net])
        V["kind"] += list(v.kind)
        T["x1"].append(t.x1 + ox), T["y1"].append(t.y1 + oy), T["x2"].append(t.x2 + ox), T["y2"].append(t.y2 + oy)
        T["width"].append(t.width), T["layer"].append(t.layer), T["net"].append(net[t.net])

    def track(self, x1: float, y1: float, x2: float, y2: float, width: float, layer: int, net: int) -> None:
        """One track segment (mm)."""
        for key, val in zip(("x1", "y1", "x2", "y2", "width", "layer", "net"), (x1, y1, x2, y2, width, layer, net)):
            self.T[key].append(np.array([val]))

    def via(self, x: float, y: float, size: float, drill: float, top: int, bottom: int, net: int) -> None:
        """One through via (mm)."""
        for key, val in zip(("x", "y", "size", "drill", "top", "bottom", "net"), (x, y, size, drill, top, bottom, net)):
            self.V[key].append(np.array([val]))
        self.V["kind"].append("through")

    def pad(self, owner: str, name: str, x: float, y: float, d: float, layer: int, mask: float) -> None:
        """One round pad without a net (mm)."""
        self.P["owner"].append(owner), self.P["name"].append(name)
        for key, val in zip(("x", "y", "w", "h"), (x, y, d, d)):
            self.P[key].append(np.array([snap(val)]))
        self.P["shape"].append("circle"), self.P["layer"].append(np.array([layer])), self.P["net"].append(np.array([0]))
        self.P["mask"].append(np.array([mask]))

    def build(self) -> tuple[Pads, Vias, Tracks]:
        """The collected items as arrays, coordinates snapped to 1 nm."""
        P, V, T = self.P, self.V, self.T

        def cat(parts: list, dtype=float) -> np.ndarray:
            return np.concatenate(parts).astype(dtype) if parts else np.zeros(0, dtype)

        pads = Pads(owner=P["owner"], name=P["name"], x=snap_array(cat(P["x"])), y=snap_array(cat(P["y"])),
                    w=cat(P["w"]), h=cat(P["h"]), shape=P["shape"], layer=cat(P["layer"], np.int64),
                    net=cat(P["net"], np.int64), mask=cat(P["mask"]))
        vias = Vias(x=snap_array(cat(V["x"])), y=snap_array(cat(V["y"])), size=cat(V["size"]),
                    drill=cat(V["drill"]), top=cat(V["top"], np.int64), bottom=cat(V["bottom"], np.int64),
                    net=cat(V["net"], np.int64), kind=V["kind"])
        tracks = Tracks(*(snap_array(cat(T[k])) for k in ("x1", "y1", "x2", "y2")), width=cat(T["width"]),
                        layer=cat(T["layer"], np.int64), net=cat(T["net"], np.int64))
        return pads, vias, tracks


def _check_options(o: PanelOptions, rules: Any, unit: BoardGeom) -> float:
    """Refuse options the unit's rules cannot build; returns the etch-back gap (mm)."""
    gap_needed = o.bar_width + 2 * rules.clearance
    if o.plating and o.street < gap_needed - 1e-9:
        raise SpecError(f"saw street {fmt(o.street)} mm cannot hold a {fmt(o.bar_width)} mm plating bar with "
                        f"{fmt(rules.clearance)} mm clearance on both sides (needs >= {fmt(gap_needed)} mm)",
                        field="street")
    etch = rules.clearance if o.etch_back is None else o.etch_back
    if etch < rules.clearance - 1e-9:
        raise SpecError(f"etch-back gap {fmt(etch)} mm is below the copper clearance {fmt(rules.clearance)} mm",
                        field="etch_back")
    need_rail = max(o.tooling_hole, o.fiducial + 2 * o.fiducial_opening) + 2 * max(rules.copper_to_edge, 0.5)
    if o.rail < need_rail - 1e-9:
        raise SpecError(f"rail {fmt(o.rail)} mm too narrow for a {fmt(o.tooling_hole)} mm tooling hole / "
                        f"{fmt(o.fiducial)} mm fiducial (needs >= {fmt(need_rail)} mm)", field="rail")
    cs = unit.extras.castellated
    if cs:  # whole plated holes on the saw lines: the street keeps facing ones (and the bar) apart
        pad, drill = max(c.pad for c in cs), max(c.drill for c in cs)
        need = pad + o.bar_width + 2 * rules.clearance if o.plating else \
            max(pad + rules.clearance, drill + rules.hole_to_hole)
        if o.street < need - 1e-9:
            bar = f" and the {fmt(o.bar_width)} mm plating bar between them" if o.plating else ""
            raise SpecError(f"saw street {fmt(o.street)} mm: the unit's castellations ({len(cs)} plated holes on its "
                            f"outline, pad {fmt(pad)} mm) face the next unit's across the street{bar}; it needs >= "
                            f"{fmt(need)} mm (pad + clearance{' + bar + clearance' if o.plating else ''})",
                            field="street")
    x0, y0, x1, y1 = unit.outline.bounds
    if abs(x0 + x1) > 1e-6 or abs(y0 + y1) > 1e-6:
        raise SpecError("unit outline must be centred on the origin", field="unit")
    return etch


def _plating_bus(items: _Items, unit: BoardGeom, rules: Any, o: PanelOptions, *, xs: list[float],
                 ys: list[float], net: int) -> None:
    """The plating bus: bars along every street centre line on the outer layers (mm).

    The bars are split at the crossings and joined across the layers by through vias at the four
    outer corners.
    """
    outer_layers = sorted({0, unit.copper - 1})
    for layer in outer_layers:
        for yv in ys:
            for xa, xb in zip(xs, xs[1:]):
                items.track(xa, yv, xb, yv, o.bar_width, layer, net)
        for xv in xs:
            for ya, yb in zip(ys, ys[1:]):
                items.track(xv, ya, xv, yb, o.bar_width, layer, net)
    if len(outer_layers) > 1:
        for xv in (xs[0], xs[-1]):
            for yv in (ys[0], ys[-1]):
                items.via(xv, yv, rules.via_pad, rules.via_drill, 0, unit.copper - 1, net)


def build_panel(unit: BoardGeom, rules: Any, options: PanelOptions | None = None, **fields: Any) -> Panel:
    """Step ``unit`` into a strip / panel (mm; see the module docstring).

    Args:
        unit: the unit's substrate board, outline centred on the origin.
        rules: the unit's substrate rule profile (``clearance``, ``copper_to_edge``, via sizes, mm).
        options: rows, columns, street, rail, tooling hole, fiducial, plating bar, etch-back (mm)
            and name; see :class:`~kisubstrate.model.panel.PanelOptions`.
        fields: instead of ``options``, its fields as keywords (``rows=1, columns=2, street=0.4``).

    Raises:
        SpecError: invalid options, or options the unit's rules refuse: a street too narrow for the
            plating bar with clearance on both sides, an etch-back gap below the clearance, a rail
            too narrow for the tooling hole / fiducial with copper-to-edge around it.
    """
    o = panel_options(options, **fields)
    etch = _check_options(o, rules, unit)
    rows, columns, street, rail = o.rows, o.columns, o.street, o.rail
    x0, y0, x1, y1 = unit.outline.bounds
    w, h = x1 - x0, y1 - y0
    px, py = snap(w + street), snap(h + street)
    ax, ay = (columns * w + (columns - 1) * street) / 2, (rows * h + (rows - 1) * street) / 2  # array half
    X, Y = snap(ax + street + rail), snap(ay + street + rail)
    U = len(unit.nets)
    offs = [(r, c, snap((c - (columns - 1) / 2) * px), snap((r - (rows - 1) / 2) * py))
            for r in range(rows) for c in range(columns)]
    nets = [""] + [_unit_net(r, c, n) for r, c, _x, _y in offs for n in unit.nets[1:]]
    plating_net = len(nets) if o.plating else 0
    if o.plating:
        nets.append("PLATING")

    def remap(k: int) -> np.ndarray:
        """Unit net code → panel net code of unit ``k`` (0 stays 0)."""
        codes = np.arange(U, dtype=np.int64)
        return np.where(codes > 0, codes + k * (U - 1), 0).astype(np.int64)

    items = _Items()
    zones: list[Zone] = []
    drawings: list[Drawing] = []
    dies = []
    for k, (r, c, ox, oy) in enumerate(offs):
        tag = f"R{r + 1}C{c + 1}"
        net = remap(k)
        items.unit(unit, tag, ox, oy, net)
        zones += [Zone(name=f"{z.name}_{tag}", layers=z.layers, net=int(net[z.net]), outline=_shift(z.outline, ox, oy),
                       fill=None if z.fill is None else _shift(z.fill, ox, oy), keepout=z.keepout) for z in unit.zones]
        drawings += [replace(d, points=tuple((snap(a + ox), snap(b + oy)) for a, b in d.points))
                     for d in unit.drawings]
        drawings.append(Drawing(((x0 + ox, y0 + oy), (x1 + ox, y0 + oy), (x1 + ox, y1 + oy), (x0 + ox, y1 + oy)),
                                "Dwgs.User", width=0.05, label=f"unit {tag} (saw line)"))
        if unit.extras.dies is not None:
            dies.append(shapely.affinity.translate(unit.extras.dies, ox, oy))
        # a castellation is a plated hole on the saw line until singulation: in the panel a whole
        # hole (a through via) still joining the unit's copper on every layer
        for cs in unit.extras.castellated:
            items.via(snap(cs.x + ox), snap(cs.y + oy), cs.pad, cs.drill, 0, unit.copper - 1, int(net[cs.net]))

    tied: list[str] = []
    untied: list[str] = []
    if o.plating:
        xs = [snap(-ax - street / 2 + c * px) for c in range(columns + 1)]
        ys = [snap(-ay - street / 2 + r * py) for r in range(rows + 1)]
        _plating_bus(items, unit, rules, o, xs=xs, ys=ys, net=plating_net)
        tw = max(rules.trace_width, 0.05)
        unit_tails = _tails(unit, rules, beyond=(street - o.bar_width) / 2 - etch, width=tw)
        tied = [unit.nets[tl[0]] for tl in unit_tails]
        for k, (_r, _c, ox, oy) in enumerate(offs):
            for net, layer, segs in unit_tails:
                for xa, ya, xb, yb in segs:
                    items.track(snap(xa + ox), snap(ya + oy), snap(xb + ox), snap(yb + oy), tw, layer,
                                int(remap(k)[net]))
        untied = sorted(set(unit.nets[1:]) - set(tied) - {n for n in unit.nets[1:] if not _has_exposed(unit, n)})

    # fiducials (three corners, both outer layers) and tooling holes (Edge.Cuts cut-outs)
    cx, cy = X - rail / 2, Y - rail / 2
    fid_list = []
    for layer in sorted({0, unit.copper - 1}):
        side = "F" if layer == 0 else "B"
        for j, (fx, fy) in enumerate([(-cx, -cy), (cx, -cy), (-cx, cy)]):
            items.pad(f"FID_{side}", str(j + 1), fx, fy, o.fiducial, layer, o.fiducial_opening)
            fid_list.append((f"{side}.Cu", snap(fx), snap(fy)))
    holes = [(snap(cx), snap(cy), o.tooling_hole), (snap(-cx), 0.0, o.tooling_hole), (snap(cx), 0.0, o.tooling_hole)]
    drawings += [Drawing(_circle(hx, hy, d), "Edge.Cuts", width=0.05, label="tooling hole") for hx, hy, d in holes]

    pads, vias, tracks = items.build()
    outline = shapely.box(-X, -Y, X, Y)
    # the unit's user layers and DRC rules apply to the panel; its extra files, summary and sidecar do not
    extras = BoardExtras(body=outline, dies=shapely.union_all(dies) if dies else None,
                         user_layers=unit.extras.user_layers, dru_extra=unit.extras.dru_extra)
    geom = BoardGeom(name=o.name or f"{unit.name}_Panel{rows}x{columns}", copper=unit.copper, outline=outline,
                     nets=nets, pads=pads, vias=vias, tracks=tracks, zones=zones, drawings=drawings, extras=extras)
    return Panel(geom=geom, units=len(offs), size=(2 * X, 2 * Y), tied=tied, untied=untied, holes=holes,
                 fiducials=fid_list)


def _has_exposed(unit: BoardGeom, net_name: str) -> bool:
    code = unit.nets.index(net_name)
    p = unit.pads
    last = unit.copper - 1
    return bool(np.any((p.net == code) & ~np.isnan(p.mask) & ((p.layer == 0) | (p.layer == last))))
