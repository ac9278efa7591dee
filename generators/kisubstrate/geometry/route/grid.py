"""The routing grid: which cells and moves of each copper layer each net may use (exact clearances).

A layer is a lattice of cells at ``pitch`` (mm) from ``origin``. Every cell centre is a place a
trace may pass and a via may stand; every move between neighbouring centres (0°, 45°, 90°) is a
straight trace segment. For each layer the grid keeps an **owner** per cell and per move:

* ``FREE`` (-1): nothing within clearance;
* a net code ``n ≥ 0``: only copper of net ``n`` is within clearance, so net ``n`` may use it;
* ``BLOCKED`` (-2): copper of two nets (or the board edge) is within clearance.

Obstacles are capsules (a segment with a radius: a round pad or via is a point, a track a
segment with half its width). A cell is taken for traces when its centre lies closer than
``r + clearance + width / 2`` to an obstacle's core, for a via of pad ``d`` closer than
``r + clearance + d / 2``; a move is taken when the *segment* between the two centres comes that
close (exact segment distance, so a trace threading a gap never cuts a corner). Every claim is
vectorised over the obstacles' bounding boxes of cells (numpy); nothing loops over cells.

Example:
    >>> import shapely
    >>> g = RouteGrid(shapely.box(-1, -1, 1, 1), layers=1, pitch=0.05, width=0.025, clearance=0.025,
    ...               via_pads=(0.12,), edge=0.1)
    >>> g.shape, g.cell(0.0, 0.0)
    ((41, 41), (20, 20))
    >>> g.add(0, [0.0], [0.0], [0.0], [0.0], [0.06], [7])   # a via pad of net 7 at the centre
    >>> int(g.node[0, 20, 20]), int(g.node[0, 20, 21]), int(g.node[0, 20, 22])  # a trace fits 0.1 mm away
    (7, 7, -1)
"""

from __future__ import annotations

import math

import numpy as np
import shapely

from kisubstrate.geometry.distance import segment_segment_distance

FREE = -1
BLOCKED = -2
# moves stored per cell: east, south, south-east, south-west (the other four are their reverses)
DIRS = np.array([(0, 1), (1, 0), (1, 1), (1, -1)], np.int64)
TOL = 1e-9  # mm: a gap equal to the clearance to within this is clear (coordinates are nm-snapped)


class RouteGrid:
    """Owner arrays of cells, moves and via sites on every copper layer of one board.

    Args:
        outline: board outline (shapely polygon, mm).
        layers: number of copper layers.
        pitch: cell pitch (mm, ≥ width + clearance so neighbouring traces clear each other).
        width: trace width (mm).
        clearance: copper-to-copper clearance between nets (mm).
        via_pads: the via pad diameters the router may place (mm), one owner array each.
        edge: copper-to-board-edge clearance (mm).
        origin: a point on the lattice (mm); the lattice covers the outline's bounds.
    """

    def __init__(self, outline, *, layers: int, pitch: float, width: float, clearance: float,
                 via_pads: tuple[float, ...], edge: float, origin: tuple[float, float] = (0.0, 0.0)) -> None:
        self.pitch, self.width, self.clearance, self.edge = pitch, width, clearance, edge
        self.via_pads = tuple(via_pads)
        x0, y0, x1, y1 = outline.bounds
        ox, oy = origin
        self.c0 = math.ceil((x0 - ox) / pitch - 1e-9)
        self.r0 = math.ceil((y0 - oy) / pitch - 1e-9)
        nx = math.floor((x1 - ox) / pitch + 1e-9) - self.c0 + 1
        ny = math.floor((y1 - oy) / pitch + 1e-9) - self.r0 + 1
        self.origin = (ox, oy)
        self.shape = (ny, nx)
        self.layers = layers
        # one buffer: node, one per via pad, four moves (each (layers, ny, nx)); the arrays are views
        nv = len(self.via_pads)
        self._buf = np.full((1 + nv + 4, layers, ny, nx), FREE, np.int32)
        self.node = self._buf[0]
        self.via = self._buf[1:1 + nv]
        self.move = self._buf[1 + nv:].transpose(1, 0, 2, 3)
        self._block_edge(outline)

    # -- coordinates ---------------------------------------------------------------------------
    def x(self, col) -> np.ndarray:
        """Cell centre x (mm) of column index ``col`` (int or array)."""
        return self.origin[0] + (np.asarray(col) + self.c0) * self.pitch

    def y(self, row) -> np.ndarray:
        """Cell centre y (mm) of row index ``row``."""
        return self.origin[1] + (np.asarray(row) + self.r0) * self.pitch

    def cell(self, x: float, y: float) -> tuple[int, int]:
        """(row, column) of the cell nearest to (x, y) mm, clipped to the grid."""
        c = int(round((x - self.origin[0]) / self.pitch)) - self.c0
        r = int(round((y - self.origin[1]) / self.pitch)) - self.r0
        return min(max(r, 0), self.shape[0] - 1), min(max(c, 0), self.shape[1] - 1)

    def via_index(self, pad: float) -> int:
        """Index of the via owner array of pad diameter ``pad`` (mm)."""
        return self.via_pads.index(pad)

    def snapshot(self) -> np.ndarray:
        """A copy of the owner arrays (for :meth:`restore`)."""
        return self._buf.copy()

    def restore(self, state: np.ndarray) -> None:
        """Go back to a :meth:`snapshot` (the snapshot stays usable)."""
        self._buf[...] = state

    # -- claims ----------------------------------------------------------------------------------
    def add(self, layer: int, ax, ay, bx, by, r, net) -> None:
        """Claim the cells, moves and via sites near obstacles on one layer for their nets.

        Args:
            layer: copper layer index, or one per obstacle (array).
            ax: x of each obstacle core's start (sequence, mm).
            ay: y of the start (mm).
            bx: x of the end (mm; = ``ax`` for a round pad or via).
            by: y of the end (mm).
            r: copper radius around the core (mm): half the track width, the pad or via radius.
            net: net code of each obstacle (≥ 0).
        """
        ax, ay, bx, by, r = (np.asarray(v, float).reshape(-1) for v in (ax, ay, bx, by, r))
        net = np.asarray(net, np.int64).reshape(-1)
        if not len(ax):
            return
        lay = np.broadcast_to(np.asarray(layer, np.int64), ax.shape)
        # obstacles whose ends are cell centres at most one cell apart (vias, the router's own moves)
        # claim a fixed pattern of cells: computed once per (direction, radius), then only indexed
        fa = np.stack([(ay - self.origin[1]) / self.pitch - self.r0, (ax - self.origin[0]) / self.pitch - self.c0,
                       (by - self.origin[1]) / self.pitch - self.r0, (bx - self.origin[0]) / self.pitch - self.c0], 1)
        ia = np.round(fa)
        on = (np.abs(fa - ia) < 1e-6).all(axis=1) & (np.abs(ia[:, 2:] - ia[:, :2]) <= 1).all(axis=1)
        if on.any():
            self._add_stencils(lay[on], ia[on].astype(np.int64), r[on], net[on])
            if on.all():
                return
            ax, ay, bx, by, r, net, lay = ax[~on], ay[~on], bx[~on], by[~on], r[~on], net[~on], lay[~on]
        for L in np.unique(lay).tolist():
            at = lay == L
            self._add_exact(L, ax[at], ay[at], bx[at], by[at], r[at], net[at])

    def _add_stencils(self, layer: np.ndarray, cells: np.ndarray, r: np.ndarray, net: np.ndarray) -> None:
        """Claims of on-grid obstacles (rows ``(row a, col a, row b, col b)``, one layer each) from cached patterns."""
        ny, nx = self.shape
        key = np.stack([cells[:, 2] - cells[:, 0], cells[:, 3] - cells[:, 1], np.round(r * 1e6).astype(np.int64)], 1)
        if (key == key[0]).all():  # the usual call: one via size or one move kind
            uniq, inv = key[:1], np.zeros(len(key), np.int64)
        else:
            uniq, inv = np.unique(key, axis=0, return_inverse=True)
            inv = inv.reshape(-1)
        flats, owners = [], []
        for u, (dr, dc, rr) in enumerate(uniq.tolist()):
            sel = np.flatnonzero(inv == u) if len(uniq) > 1 else np.arange(len(cells))
            tgt, pdr, pdc = self._stencil(dr, dc, rr / 1e6)
            rows = cells[sel, 0][:, None] + pdr[None, :]
            cols = cells[sel, 1][:, None] + pdc[None, :]
            ok = (rows >= 0) & (rows < ny) & (cols >= 0) & (cols < nx)
            flat = ((tgt[None, :] * self.layers + layer[sel][:, None]) * ny + rows) * nx + cols
            flats.append(flat[ok])
            owners.append(np.broadcast_to(net[sel][:, None], rows.shape)[ok])
        _claim(self._buf.reshape(-1), np.concatenate(flats), np.concatenate(owners))

    def _stencil(self, dr: int, dc: int, r: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """What an obstacle from cell (0, 0) to (dr, dc) of radius ``r`` claims: (buffer plane, row, col) offsets.

        Buffer planes: 0 node, 1 … V via pads, V + 1 … V + 4 moves.
        """
        cache = self.__dict__.setdefault("_stencils", {})
        key = (dr, dc, round(r, 9))
        if key in cache:
            return cache[key]
        reach = r + self.clearance + max(self.width / 2, max(self.via_pads, default=0) / 2)
        m = int(math.ceil(reach / self.pitch)) + 2
        rows, cols = np.mgrid[-m:m + 2, -m:m + 2]
        rows, cols = rows.ravel(), cols.ravel()
        p = self.pitch
        px, py = cols * p, rows * p
        bx, by = dc * p, dr * p
        d_node, _, _ = segment_segment_distance(px, py, px, py, 0.0, 0.0, bx, by)
        gap = d_node - r - self.clearance
        hits = [gap < self.width / 2 - TOL] + [gap < pad / 2 - TOL for pad in self.via_pads]
        for er, ec in DIRS.tolist():
            d, _, _ = segment_segment_distance(px, py, px + ec * p, py + er * p, 0.0, 0.0, bx, by)
            hits.append(d - r - self.clearance < self.width / 2 - TOL)
        tgt = np.concatenate([np.full(int(h.sum()), k, np.int64) for k, h in enumerate(hits)])
        out = (tgt, np.concatenate([rows[h] for h in hits]), np.concatenate([cols[h] for h in hits]))
        cache[key] = out
        return out

    def _add_exact(self, layer: int, ax, ay, bx, by, r, net) -> None:
        """Claims of arbitrary obstacles, by exact distances over their boxes of cells."""
        reach = r + self.clearance + max(self.width / 2, max(self.via_pads, default=0) / 2)
        r0c, c0c, r1c, c1c = self._bbox(np.minimum(ax, bx) - reach, np.minimum(ay, by) - reach,
                                        np.maximum(ax, bx) + reach, np.maximum(ay, by) + reach, pad=1)
        obj, rows, cols = _expand(r0c, c0c, r1c, c1c)
        if not len(obj):
            return
        px, py = self.x(cols), self.y(rows)
        d_node, _, _ = segment_segment_distance(px, py, px, py, ax[obj], ay[obj], bx[obj], by[obj])
        gap = d_node - r[obj] - self.clearance
        ny, nx = self.shape
        flat = rows * nx + cols
        hit = gap < self.width / 2 - TOL
        _claim(self.node[layer].reshape(-1), flat[hit], net[obj][hit])
        for k, pad in enumerate(self.via_pads):
            hit = gap < pad / 2 - TOL
            _claim(self.via[k, layer].reshape(-1), flat[hit], net[obj][hit])
        for k, (dr, dc) in enumerate(DIRS.tolist()):
            r2, c2 = rows + dr, cols + dc
            qx, qy = self.x(c2), self.y(r2)
            d, _, _ = segment_segment_distance(px, py, qx, qy, ax[obj], ay[obj], bx[obj], by[obj])
            hit = d - r[obj] - self.clearance < self.width / 2 - TOL  # a move off the grid is never taken
            _claim(self.move[layer, k].reshape(-1), flat[hit], net[obj][hit])

    def block_layer_moves(self, layer: int) -> None:
        """Forbid every trace move on ``layer`` (a plane layer: vias may cross it, traces may not)."""
        self.move[layer] = BLOCKED

    def _bbox(self, x0, y0, x1, y1, pad: int = 0):
        c0 = np.floor((x0 - self.origin[0]) / self.pitch).astype(np.int64) - self.c0 - pad
        r0 = np.floor((y0 - self.origin[1]) / self.pitch).astype(np.int64) - self.r0 - pad
        c1 = np.ceil((x1 - self.origin[0]) / self.pitch).astype(np.int64) - self.c0 + pad
        r1 = np.ceil((y1 - self.origin[1]) / self.pitch).astype(np.int64) - self.r0 + pad
        ny, nx = self.shape
        return np.clip(r0, 0, ny - 1), np.clip(c0, 0, nx - 1), np.clip(r1, 0, ny - 1), np.clip(c1, 0, nx - 1)

    def _block_edge(self, outline) -> None:
        """Cells and moves too close to the board edge are blocked for every net and via."""
        ny, nx = self.shape
        rows, cols = np.mgrid[0:ny, 0:nx]
        px, py = self.x(cols).ravel(), self.y(rows).ravel()
        inside = shapely.contains_xy(outline, px, py)
        d = np.where(inside, shapely.distance(outline.exterior, shapely.points(px, py)), -1.0)
        d = d.reshape(ny, nx)
        for L in range(self.layers):
            self.node[L][d < self.edge + self.width / 2 - TOL] = BLOCKED
            for k, pad in enumerate(self.via_pads):
                self.via[k, L][d < self.edge + pad / 2 - TOL] = BLOCKED
            # moves need both ends free (the search checks), and for a convex outline the distance to
            # the edge along a move is least at an end, so the nodes cover the moves


def _expand(r0, c0, r1, c1):
    """Every (object, row, column) inside the per-object cell boxes (ragged, vectorised)."""
    h = (r1 - r0 + 1).clip(min=0)
    w = (c1 - c0 + 1).clip(min=0)
    n = h * w
    obj = np.repeat(np.arange(len(n)), n)
    start = np.repeat(np.cumsum(n) - n, n)
    k = np.arange(int(n.sum())) - start
    ww = w[obj]
    return obj, r0[obj] + k // np.maximum(ww, 1), c0[obj] + k % np.maximum(ww, 1)


def _claim(owner: np.ndarray, idx: np.ndarray, net: np.ndarray) -> None:
    """Merge claims ``(cell, net)`` into ``owner`` (flat view): one net keeps it, two nets block it."""
    if not len(idx):
        return
    if net[0] == net.min() == net.max():  # one net: repeated cells compute the same value
        n = net[0]
        cur = owner[idx]
        owner[idx] = np.where((cur == FREE) | (cur == n), n, BLOCKED)
        return
    order = np.lexsort((net, idx))
    idx, net = idx[order], net[order]
    first = np.r_[True, idx[1:] != idx[:-1]]
    starts = np.flatnonzero(first)
    u = idx[starts]
    lo = net[starts]
    hi = np.maximum.reduceat(net, starts)
    cur = owner[u]
    new = np.where((cur == FREE) | (cur == lo), lo, BLOCKED)
    new[lo != hi] = BLOCKED
    owner[u] = new


__all__ = ["BLOCKED", "DIRS", "FREE", "RouteGrid"]
