"""Connectivity as KiCad sees it: every net one connected piece of copper, no island of a net.

A board kisubstrate writes must have 0 unconnected items in KiCad's DRC, so opens are rule
violations checked before anything is written, like a clearance error. The graph has one node
per pad, via, track segment, castellated half-hole and zone-fill polygon; two items of one net
are joined the way KiCad's connectivity joins them (``CN_VISITOR``, checked against
``kicad-cli pcb drc`` in the tests): when their copper shapes collide on a layer both are on —
tracks as capsules of their width, round pads and vias as discs, rectangular pads exactly,
fill polygons as written. Crossing tracks of one net are therefore joined; a track whose copper
stops 1 µm short of a pad is not.

Rule ids: ``unconnected`` (a net in several pieces; one violation per extra piece, naming an
item of it and the nearest item of the net's largest piece) and ``copper_island`` (a zone-fill
polygon that touches nothing of its net while the net has other copper; KiCad's DRC does not
count such a fill as unconnected, kisubstrate refuses it). Components come from
:func:`components` (vectorised hook-and-compress, numpy only: the KiCad plugin's Python may run
with the system's older numpy, which newer scipy refuses); candidate pairs from the capsule
spatial hash.

Example:
    >>> from kisubstrate.geometry.board import BoardBuilder
    >>> b = BoardBuilder("t", copper=2, outline=((-2, -2), (2, -2), (2, 2), (-2, 2)))
    >>> n = b.net("A")
    >>> b.pad("U1", "1", 0, 0, 0.1, layer=0, net=n)
    >>> b.pad("U1", "2", 1, 0, 0.1, layer=0, net=n)
    >>> b.track(0, 0, 0.6, 0, 0.03, layer=0, net=n)
    >>> [(v.rule, v.items) for v in check_connectivity(b.build())]
    [('unconnected', ('pad/U1.2', 'track/0'))]
"""

from __future__ import annotations

import numpy as np
import shapely

from kisubstrate.geometry.board import BoardGeom
from kisubstrate.rules.capsules import capsule_pairs
from kisubstrate.rules.report import Violation

TOL = 5e-7  # half a nanometre: coordinates are on KiCad's 1 nm grid


class _Graph:
    """The board's copper items as nodes (pads, vias, tracks, castellations, fill polygons)."""

    def __init__(self, geom: BoardGeom) -> None:
        p, v, t = geom.pads, geom.vias, geom.tracks
        cas = geom.extras.castellated
        self.geom = geom
        self.n_pad, self.n_via, self.n_trk, self.n_cas = len(p), len(v), len(t), len(cas)
        # node arrays: centre line (ax, ay)-(bx, by), radius, net, kind (0 pad, 1 via, 2 track, 3 castellation)
        circ = np.array([s == "circle" for s in p.shape], bool) if len(p) else np.zeros(0, bool)
        oval = np.array([s == "oval" for s in p.shape], bool) if len(p) else np.zeros(0, bool)
        along_x = p.w >= p.h
        half = np.where(oval, np.abs(p.w - p.h) / 2, 0.0)
        pr = np.where(circ, p.w / 2, np.where(oval, np.minimum(p.w, p.h) / 2, np.hypot(p.w, p.h) / 2))
        cx = np.array([c.x for c in cas], float)
        cy = np.array([c.y for c in cas], float)
        self.ax = np.concatenate([p.x - np.where(along_x, half, 0), v.x, t.x1, cx])
        self.ay = np.concatenate([p.y - np.where(along_x, 0, half), v.y, t.y1, cy])
        self.bx = np.concatenate([p.x + np.where(along_x, half, 0), v.x, t.x2, cx])
        self.by = np.concatenate([p.y + np.where(along_x, 0, half), v.y, t.y2, cy])
        self.r = np.concatenate([pr, v.size / 2, t.width / 2, np.array([c.pad / 2 for c in cas], float)])
        self.net = np.concatenate([p.net, v.net, t.net, np.array([c.net for c in cas], np.int64)]).astype(np.int64)
        self.kind = np.repeat(np.arange(4, dtype=np.int8), [len(p), len(v), len(t), len(cas)])
        self.rect = np.zeros(len(self.r), bool)
        self.rect[:len(p)] = np.array([s in ("rect", "roundrect") for s in p.shape], bool) if len(p) else False
        self.n_items = len(self.r)
        # layers each item is on: (item index, layer) rows
        span = v.bottom - v.top + 1
        vi = np.repeat(np.arange(len(v)), span)
        vl = v.top[vi] + (np.arange(len(vi)) - np.repeat(np.cumsum(span) - span, span)) if len(vi) else vi
        ci = np.repeat(np.arange(len(cas)), geom.copper)
        cl = np.tile(np.arange(geom.copper), len(cas))
        off = np.cumsum([0, len(p), len(v), len(t)])
        self.on_item = np.concatenate([np.arange(len(p)), off[1] + vi, off[2] + np.arange(len(t)),
                                       off[3] + ci]).astype(np.int64)
        self.on_layer = np.concatenate([p.layer, vl, t.layer, cl]).astype(np.int64)
        # zone fill polygons: (zone index, layer, polygon)
        self.fills: list[tuple[int, int, shapely.Polygon]] = []
        for zi, z in enumerate(geom.zones):
            if z.keepout is None and z.fill is not None and not z.fill.is_empty and z.net > 0:
                for layer in z.layers:
                    self.fills += [(zi, layer, part) for part in shapely.get_parts(z.fill)]
        self.fill_net = np.array([geom.zones[zi].net for zi, _l, _g in self.fills], np.int64)
        self.n = self.n_items + len(self.fills)
        self.node_net = np.concatenate([self.net, self.fill_net])

    def node_shapes(self, nodes: np.ndarray) -> np.ndarray:
        """Shapely copper of any nodes (items and fill polygons)."""
        nodes = np.asarray(nodes, np.int64)
        out = np.empty(len(nodes), dtype=object)
        item = nodes < self.n_items
        if item.any():
            out[item] = self.shapes(nodes[item])
        for k in np.flatnonzero(~item).tolist():
            out[k] = self.fills[int(nodes[k]) - self.n_items][2]
        return out

    def key(self, node: int) -> str:
        """Stable key of a node (the writer's item keys; fills as ``zone/<name>#<layer>.<k>``)."""
        g = self.geom
        for base, count, key in ((0, self.n_pad, g.pads.key), (self.n_pad, self.n_via, g.vias.key),
                                 (self.n_pad + self.n_via, self.n_trk, g.tracks.key)):
            if node < base + count:
                return key(node - base)
        if node < self.n_items:
            return f"castellation/{g.extras.castellated[node - self.n_items + self.n_cas].name}"
        zi, layer, _poly = self.fills[node - self.n_items]
        k = sum(1 for z2, l2, _ in self.fills[:node - self.n_items] if z2 == zi and l2 == layer)
        return f"{g.zones[zi].key}#L{layer + 1}.{k}"

    def where(self, node: int) -> tuple[float, float]:
        """A point of the node (mm)."""
        if node < self.n_items:
            return float(self.ax[node]), float(self.ay[node])
        pt = self.fills[node - self.n_items][2].representative_point()
        return float(pt.x), float(pt.y)

    def shapes(self, items: np.ndarray) -> np.ndarray:
        """Shapely copper outlines of ``items`` (rectangles exact, round copper as 64-gons)."""
        items = np.asarray(items, np.int64)
        seg = (self.ax[items] != self.bx[items]) | (self.ay[items] != self.by[items])
        lines = shapely.points(self.ax[items], self.ay[items])
        if seg.any():
            lines[seg] = shapely.linestrings(np.stack([np.stack([self.ax[items][seg], self.ay[items][seg]], 1),
                                                       np.stack([self.bx[items][seg], self.by[items][seg]], 1)], 1))
        out = shapely.buffer(lines, self.r[items], quad_segs=16)
        rect = self.rect[items]
        if rect.any():
            p = self.geom.pads
            k = items[rect]
            out[rect] = shapely.box(p.x[k] - p.w[k] / 2, p.y[k] - p.h[k] / 2, p.x[k] + p.w[k] / 2, p.y[k] + p.h[k] / 2)
        return out

    def item_edges(self) -> tuple[np.ndarray, np.ndarray]:
        """Pairs of same-net items whose copper overlaps or touches on a shared layer."""
        ei, ej = [], []
        for layer in np.unique(self.on_layer).tolist():
            sel = self.on_item[self.on_layer == layer]
            if len(sel) < 2:
                continue
            i, j, _gap, _x, _y = capsule_pairs(self.ax[sel], self.ay[sel], self.bx[sel], self.by[sel], self.r[sel],
                                               within=TOL)
            i, j = sel[i], sel[j]
            same = (self.net[i] == self.net[j]) & (self.net[i] > 0)
            i, j = i[same], j[same]
            keep = np.ones(len(i), bool)
            rect = self.rect[i] | self.rect[j]  # the capsule of a rectangle is its circumscribed circle
            if rect.any():
                keep[rect] = shapely.intersects(self.shapes(i[rect]), self.shapes(j[rect]))
            ei.append(i[keep])
            ej.append(j[keep])
        return _cat(ei), _cat(ej)

    def fill_edges(self) -> tuple[np.ndarray, np.ndarray]:
        """Pairs (item, fill node) of one net whose copper meets, and pairs of meeting fills of one net."""
        ei, ej = [], []
        for layer in sorted({lay for _z, lay, _g in self.fills}):
            fk = np.array([k for k, (_z, lay, _g) in enumerate(self.fills) if lay == layer], np.int64)
            polys = np.array([self.fills[k][2] for k in fk], dtype=object)
            tree = shapely.STRtree(polys)
            items = self.on_item[self.on_layer == layer]
            pi, fi = tree.query(self.shapes(items), predicate="intersects")
            same = self.net[items[pi]] == self.fill_net[fk[fi]]
            ei.append(items[pi[same]])
            ej.append(self.n_items + fk[fi[same]])
            fa, fb = tree.query(polys, predicate="intersects")
            same = (fa < fb) & (self.fill_net[fk[fa]] == self.fill_net[fk[fb]])
            ei.append(self.n_items + fk[fa[same]])
            ej.append(self.n_items + fk[fb[same]])
        return _cat(ei), _cat(ej)


def _cat(parts: list[np.ndarray]) -> np.ndarray:
    return np.concatenate(parts).astype(np.int64) if parts else np.zeros(0, np.int64)


def components(n: int, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Connected-component label of each of ``n`` nodes joined by the edges (a[k], b[k]).

    Every node gets the smallest node index of its component. Roots hook onto the smaller root of
    each edge (``np.minimum.at``), then paths are compressed (``label[label]``) until every edge
    joins equal labels: a few array passes, no Python loop over nodes or edges.

    Args:
        n: number of nodes (0 … n-1).
        a, b: edge end points (int arrays of equal length).

    Example:
        >>> components(6, np.array([0, 3, 4]), np.array([1, 4, 5])).tolist()
        [0, 0, 2, 3, 3, 3]
    """
    label = np.arange(n, dtype=np.int64)
    if not len(a):
        return label
    while True:
        la, lb = label[a], label[b]
        if np.array_equal(la, lb):
            return label
        low = np.minimum(la, lb)
        np.minimum.at(label, la, low)
        np.minimum.at(label, lb, low)
        while True:
            jumped = label[label]
            if np.array_equal(jumped, label):
                break
            label = jumped


def check_connectivity(geom: BoardGeom) -> list[Violation]:
    """``unconnected`` and ``copper_island`` violations of a board (see the module docstring).

    Args:
        geom: the board (mm, KiCad frame), zone fills computed.

    Returns:
        One ``unconnected`` violation per extra piece of a net (items: an item of the piece and
        the nearest item of the net's largest piece; measured: the gap between them in mm) and one
        ``copper_island`` per zone-fill polygon that touches nothing of its net.
    """
    g = _Graph(geom)
    if g.n == 0:
        return []
    ii, ij = g.item_edges()
    fi, fj = g.fill_edges()
    a = np.concatenate([ii, fi]).astype(np.int64)
    b = np.concatenate([ij, fj]).astype(np.int64)
    label = components(g.n, a, b)
    net = g.node_net
    degree = np.bincount(np.concatenate([a, b]), minlength=g.n)
    out: list[Violation] = []
    # a fill touching nothing, of a net that has other copper (a net that is one plane alone is one piece)
    has_items = np.zeros(len(geom.nets), bool)
    has_items[g.net[g.net > 0]] = True
    islands = np.flatnonzero((degree[g.n_items:] == 0) & has_items[g.fill_net]) + g.n_items
    for node in islands.tolist():
        _zi, layer, poly = g.fills[node - g.n_items]
        out.append(Violation("copper_island", (g.key(node),), g.where(node), f"L{layer + 1}", float(poly.area), 0.0,
                             f"zone fill of net '{geom.nets[int(net[node])]}' touches nothing of its net"))
    counted = np.ones(g.n, bool)
    counted[islands] = False
    nodes = np.flatnonzero(counted & (net > 0))
    order = np.lexsort((label[nodes], net[nodes]))
    nodes = nodes[order]
    bounds = np.flatnonzero(np.diff(net[nodes])) + 1
    for group in np.split(nodes, bounds):
        labels, sizes = np.unique(label[group], return_counts=True)
        if len(labels) < 2:
            continue
        biggest = labels[np.argmax(sizes)]
        main = group[label[group] == biggest]
        for lab in labels[labels != biggest].tolist():
            piece = group[label[group] == lab]
            out.append(_open(g, geom, piece, main, len(labels)))
    return out


def _open(g: _Graph, geom: BoardGeom, piece: np.ndarray, main: np.ndarray, pieces: int) -> Violation:
    """The violation for one extra piece of a net: its item nearest to the net's main piece."""
    a, b = g.node_shapes(piece), g.node_shapes(main)
    (src, dst), dist = shapely.STRtree(b).query_nearest(a, return_distance=True, all_matches=False)
    best = int(np.argmin(dist))
    p_node, m_node = int(piece[src[best]]), int(main[dst[best]])
    name = geom.nets[int(g.node_net[p_node])]
    return Violation("unconnected", tuple(sorted((g.key(p_node), g.key(m_node)))), g.where(p_node), "",
                     float(dist[best]), 0.0,
                     f"net '{name}' is in {pieces} pieces: {len(piece)} item(s) here are not joined to the rest")
