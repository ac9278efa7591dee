"""Exact, linear-time proximity queries for circles, segments and polygons.

Round pads, vias, drills and round-ended tracks are exact as centre (or segment) +
radius: ``gap = distance − r1 − r2`` with no polygon approximation at all. Candidate
pairs come from a uniform-grid spatial hash (numpy sort + searchsorted), so the cost
is linear in the number of items when the grid is sized to the interaction distance.
Polygons go through shapely's STRtree and exact ``shapely.distance``.

Example:
    >>> import numpy as np
    >>> i, j, gap = circle_pairs(np.array([0.0, 0.5]), np.array([0.0, 0.0]),
    ...                          np.array([0.2, 0.2]), within=0.2)
    >>> i.tolist(), j.tolist(), [round(g, 6) for g in gap.tolist()]
    ([0], [1], [0.1])
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import shapely

_OFFSETS = ((0, 0), (1, 0), (-1, 1), (0, 1), (1, 1))


class CellPairs(NamedTuple):
    """Candidate pairs of one point set (see :func:`cell_pairs`); reusable by several checks."""

    order: np.ndarray  # permutation sorting the points by cell
    p: np.ndarray  # positions in that order
    q: np.ndarray
    cell: float  # cell side (mm): every pair closer than this is among (p, q)


def cell_pairs(x: np.ndarray, y: np.ndarray, cell: float) -> CellPairs:
    """Bin points into square cells of side ``cell`` (mm) and pair those of neighbouring cells.

    Each point is paired with its own cell and 4 of the 8 neighbouring cells (each neighbouring
    pair of cells once). Returns ``(order, p, q, cell)``: ``order`` sorts the points by cell;
    ``p``, ``q`` are positions in that order (``p < q`` within a cell). Working in cell order
    keeps every gather local. Cells are looked up in a dense count table when the grid is not
    much larger than the point count (O(n), no search), otherwise by binary search in the sorted
    occupied cells.

    Args:
        x: x of the points (1-D float array, mm).
        y: y of the points (mm, as long as ``x``).
        cell: cell side (mm): every pair closer than this is among the candidates; values below
            1 nm are raised to 1 nm.

    Example:
        >>> import numpy as np
        >>> order, p, q, _ = cell_pairs(np.array([0.0, 0.1, 5.0]), np.array([0.0, 0.0, 0.0]), 0.5)
        >>> sorted(sorted((int(a), int(b))) for a, b in zip(order[p], order[q]))
        [[0, 1]]
    """
    n = len(x)
    cell = max(float(cell), 1e-9)
    if n < 2:
        return CellPairs(np.arange(n), np.empty(0, np.int64), np.empty(0, np.int64), cell)
    cx = np.floor((x - x.min()) / cell).astype(np.int64)
    cy = np.floor((y - y.min()) / cell).astype(np.int64)
    # columns shifted by one so that cx + dx (dx = -1) stays >= 0; rows padded for dy = +1
    span = int(cy.max()) + 2
    key = (cx + 1) * span + cy
    order = np.argsort(key, kind="stable")
    skey = key[order]
    ncell = (int(cx.max()) + 3) * span
    if ncell <= 4 * n + 4096:  # dense table: at most ~64 MB for a million points
        counts_of = np.bincount(skey, minlength=ncell)
        starts_of = np.cumsum(counts_of) - counts_of

        def lookup(target: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
            return starts_of[target], counts_of[target]
    else:
        cells, first, counts = np.unique(skey, return_index=True, return_counts=True)

        def lookup(target: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
            pos = np.minimum(np.searchsorted(cells, target), len(cells) - 1)
            return first[pos], np.where(cells[pos] == target, counts[pos], 0)

    single = len(skey) == 1 or bool(np.all(skey[1:] != skey[:-1]))  # at most one point per cell
    out_p, out_q = [], []
    for dx, dy in _OFFSETS:
        if single and dx == 0 and dy == 0:
            continue
        lo, cnt = lookup(skey + (dx * span + dy))
        src = np.flatnonzero(cnt)
        if len(src) == 0:
            continue
        if single:  # the common footprint case (cell < pitch): one partner per occupied neighbour
            out_p.append(src)
            out_q.append(lo[src])
            continue
        pp, qq = _expand(src, lo[src], cnt[src])
        if dx == 0 and dy == 0:
            keep = pp < qq
            pp, qq = pp[keep], qq[keep]
        out_p.append(pp)
        out_q.append(qq)
    if not out_p:
        return CellPairs(order, np.empty(0, np.int64), np.empty(0, np.int64), cell)
    return CellPairs(order, np.concatenate(out_p), np.concatenate(out_q), cell)


def _expand(src: np.ndarray, lo: np.ndarray, cnt: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Pair each ``src[k]`` with the ``cnt[k]`` consecutive positions starting at ``lo[k]``."""
    total = int(cnt.sum())
    within = np.arange(total) - np.repeat(np.cumsum(cnt) - cnt, cnt)
    return np.repeat(src, cnt), np.repeat(lo, cnt) + within


def cell_join(x1: np.ndarray, y1: np.ndarray, x2: np.ndarray, y2: np.ndarray, cell: float
              ) -> tuple[np.ndarray, np.ndarray]:
    """Pairs (i in set 1, j in set 2) of points in the same or adjacent square cells (mm).

    Every cross pair closer than ``cell`` is among them (the bipartite form of :func:`cell_pairs`).

    Args:
        x1: x of the points of set 1 (1-D float array, mm).
        y1: y of the points of set 1 (mm).
        x2: x of the points of set 2 (mm).
        y2: y of the points of set 2 (mm).
        cell: cell side (mm): the distance below which every cross pair is found (at least 1 nm).

    Example:
        >>> import numpy as np
        >>> i, j = cell_join(np.array([0.0, 9.0]), np.array([0.0, 0.0]), np.array([0.3]), np.array([0.0]), 0.5)
        >>> i.tolist(), j.tolist()
        ([0], [0])
    """
    if not len(x1) or not len(x2):
        return np.empty(0, np.int64), np.empty(0, np.int64)
    cell = max(float(cell), 1e-9)
    ox, oy = min(x1.min(), x2.min()), min(y1.min(), y2.min())
    c1x = np.floor((x1 - ox) / cell).astype(np.int64) + 1
    c1y = np.floor((y1 - oy) / cell).astype(np.int64) + 1
    c2x = np.floor((x2 - ox) / cell).astype(np.int64) + 1
    c2y = np.floor((y2 - oy) / cell).astype(np.int64) + 1
    span = int(max(c1y.max(), c2y.max())) + 2
    k1, k2 = c1x * span + c1y, c2x * span + c2y
    order = np.argsort(k2, kind="stable")
    sk2 = k2[order]
    ncell = (int(max(c1x.max(), c2x.max())) + 2) * span + span + 2
    dense = ncell <= 8 * (len(x1) + len(x2)) + 4096
    if dense:
        counts_of = np.bincount(sk2, minlength=ncell)
        starts_of = np.cumsum(counts_of) - counts_of
    out_i, out_j = [], []
    for dx in (-1, 0, 1):
        for dy in (-1, 0, 1):
            target = k1 + (dx * span + dy)
            if dense:
                lo, cnt = starts_of[target], counts_of[target]
            else:
                lo = np.searchsorted(sk2, target, "left")
                cnt = np.searchsorted(sk2, target, "right") - lo
            src = np.flatnonzero(cnt)
            if len(src):
                ii, qq = _expand(src, lo[src], cnt[src])
                out_i.append(ii)
                out_j.append(order[qq])
    if not out_i:
        return np.empty(0, np.int64), np.empty(0, np.int64)
    return np.concatenate(out_i), np.concatenate(out_j)


def _ordered(i: np.ndarray, j: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(i, j) with i < j, and the permutation sorting the pairs by (i, j)."""
    lo, hi = np.minimum(i, j), np.maximum(i, j)
    return lo, hi, np.lexsort((hi, lo))


def candidate_pairs(x: np.ndarray, y: np.ndarray, cell: float) -> tuple[np.ndarray, np.ndarray]:
    """Index pairs (i < j, sorted by i then j) of points in the same or adjacent grid cells.

    Every pair of points closer than ``cell`` (mm) is returned exactly once.

    Args:
        x: x of the points (1-D float array, mm).
        y: y of the points (mm).
        cell: cell side (mm): every pair closer than this is returned (more may be).

    Example:
        >>> import numpy as np
        >>> i, j = candidate_pairs(np.array([0.0, 0.2, 0.4]), np.array([0.0, 0.0, 0.0]), 0.25)
        >>> i.tolist(), j.tolist()
        ([0, 0, 1], [1, 2, 2])
    """
    if len(x) < 2:
        return np.empty(0, np.int64), np.empty(0, np.int64)
    order, p, q, _ = cell_pairs(x, y, max(float(cell), 1e-9))
    i, j, srt = _ordered(order[p], order[q])
    return i[srt], j[srt]


def circle_pairs(x: np.ndarray, y: np.ndarray, r: np.ndarray, *, within: float,
                 cells: CellPairs | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Pairs of circles whose edge-to-edge gap is below ``within`` (mm), with the exact gap.

    Exact: ``gap = |c1 − c2| − r1 − r2`` on the true centres and radii, no polygons.
    Linear in the number of circles for a bounded local density (grid hashing with cells of
    ``2 max(r) + within``).

    Args:
        x: x of the circle centres (1-D float array, mm).
        y: y of the circle centres (mm).
        r: circle radii (mm, ≥ 0).
        within: report pairs whose gap is below this (mm).
        cells: candidate pairs of the same ``x``, ``y`` from :func:`cell_pairs` (shared between
            checks of one point set); recomputed when its cell is smaller than needed.

    Returns:
        (i, j, gap) arrays, i < j, sorted by i then j; gap may be negative (overlap).
    """
    if len(x) < 2:
        empty = np.empty(0)
        return empty.astype(np.int64), empty.astype(np.int64), empty
    reach = max(2 * float(np.max(r)) + within, 1e-9)
    if cells is None or cells.cell < reach:
        cells = cell_pairs(x, y, reach)
    order, p, q, _ = cells
    xs, ys, rs = x[order], y[order], r[order]
    gap = np.hypot(xs[p] - xs[q], ys[p] - ys[q]) - rs[p] - rs[q]
    keep = np.flatnonzero(gap < within)
    i, j, srt = _ordered(order[p[keep]], order[q[keep]])
    return i[srt], j[srt], gap[keep][srt]


def closest_point_between(x1: float, y1: float, r1: float, x2: float, y2: float, r2: float
                          ) -> tuple[float, float]:
    """Midpoint of the gap between two circles (where a violation marker belongs).

    Args:
        x1: x of the first centre (mm).
        y1: y of the first centre (mm).
        r1: first radius (mm).
        x2: x of the second centre (mm).
        y2: y of the second centre (mm).
        r2: second radius (mm).

    Returns:
        ``(x, y)`` in mm; the first centre if the centres coincide.

    Example:
        >>> closest_point_between(0.0, 0.0, 0.2, 1.0, 0.0, 0.4)
        (0.4, 0.0)
    """
    d = float(np.hypot(x2 - x1, y2 - y1))
    if d == 0:
        return x1, y1
    t = (r1 + (d - r1 - r2) / 2) / d
    return x1 + (x2 - x1) * t, y1 + (y2 - y1) * t


def point_segment_distance(px: np.ndarray, py: np.ndarray, ax: float, ay: float, bx: float, by: float
                           ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Distance from points to segment AB, and the closest points on AB (vectorised).

    Args:
        px: x of the points (float array, mm).
        py: y of the points (mm).
        ax: x of the segment start A (mm).
        ay: y of A (mm).
        bx: x of the segment end B (mm); B = A makes the segment a point.
        by: y of B (mm).

    Returns:
        ``(distance, qx, qy)`` arrays (mm): the distance and the closest point on AB.

    Example:
        >>> import numpy as np
        >>> d, qx, qy = point_segment_distance(np.array([0.5, 2.0]), np.array([1.0, 0.0]), 0.0, 0.0, 1.0, 0.0)
        >>> d.tolist(), qx.tolist(), qy.tolist()
        ([1.0, 1.0], [0.5, 1.0], [0.0, 0.0])
    """
    dx, dy = bx - ax, by - ay
    length2 = dx * dx + dy * dy
    if length2 == 0:
        t = np.zeros_like(px)
    else:
        t = np.clip(((px - ax) * dx + (py - ay) * dy) / length2, 0.0, 1.0)
    qx, qy = ax + t * dx, ay + t * dy
    return np.hypot(px - qx, py - qy), qx, qy


def polygon_pairs(geoms: np.ndarray, *, within: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Pairs of shapely geometries closer than ``within`` (mm), with exact distances (0 if touching)."""
    if len(geoms) < 2:
        empty = np.empty(0)
        return empty.astype(np.int64), empty.astype(np.int64), empty
    tree = shapely.STRtree(geoms)
    i, j = tree.query(geoms, predicate="dwithin", distance=within)
    keep = i < j
    i, j = i[keep], j[keep]
    dist = shapely.distance(geoms[i], geoms[j])
    keep = dist < within
    return i[keep], j[keep], dist[keep]
