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

import numpy as np
import shapely

_OFFSETS = ((0, 0), (1, 0), (-1, 1), (0, 1), (1, 1))


def candidate_pairs(x: np.ndarray, y: np.ndarray, cell: float) -> tuple[np.ndarray, np.ndarray]:
    """Index pairs (i < j by construction order) of points in the same or adjacent grid cells.

    Every pair of points closer than ``cell`` (mm) is returned exactly once.
    """
    n = len(x)
    if n < 2:
        return np.empty(0, np.int64), np.empty(0, np.int64)
    cell = max(float(cell), 1e-9)
    cx = np.floor((x - x.min()) / cell).astype(np.int64)
    cy = np.floor((y - y.min()) / cell).astype(np.int64)
    span = int(cy.max()) + 3
    key = cx * span + cy
    order = np.argsort(key, kind="stable")
    skey = key[order]
    out_i, out_j = [], []
    idx = np.arange(n)
    for dx, dy in _OFFSETS:
        target = (cx + dx) * span + (cy + dy)
        lo = np.searchsorted(skey, target, "left")
        hi = np.searchsorted(skey, target, "right")
        counts = hi - lo
        total = int(counts.sum())
        if total == 0:
            continue
        ii = np.repeat(idx, counts)
        starts = np.repeat(lo, counts)
        within = np.arange(total) - np.repeat(np.cumsum(counts) - counts, counts)
        jj = order[starts + within]
        if dx == 0 and dy == 0:
            keep = ii < jj
            ii, jj = ii[keep], jj[keep]
        out_i.append(ii)
        out_j.append(jj)
    if not out_i:
        return np.empty(0, np.int64), np.empty(0, np.int64)
    i = np.concatenate(out_i)
    j = np.concatenate(out_j)
    swap = i > j
    i[swap], j[swap] = j[swap], i[swap]
    return i, j


def circle_pairs(x: np.ndarray, y: np.ndarray, r: np.ndarray, *, within: float
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Pairs of circles whose edge-to-edge gap is below ``within`` (mm), with the exact gap.

    Returns:
        (i, j, gap) arrays; gap may be negative (overlap).
    """
    if len(x) < 2:
        empty = np.empty(0)
        return empty.astype(np.int64), empty.astype(np.int64), empty
    reach = 2 * float(np.max(r)) + within
    i, j = candidate_pairs(x, y, reach)
    gap = np.hypot(x[i] - x[j], y[i] - y[j]) - r[i] - r[j]
    keep = gap < within
    return i[keep], j[keep], gap[keep]


def closest_point_between(x1: float, y1: float, r1: float, x2: float, y2: float, r2: float
                          ) -> tuple[float, float]:
    """Midpoint of the gap between two circles (where a violation marker belongs)."""
    d = float(np.hypot(x2 - x1, y2 - y1))
    if d == 0:
        return x1, y1
    t = (r1 + (d - r1 - r2) / 2) / d
    return x1 + (x2 - x1) * t, y1 + (y2 - y1) * t


def point_segment_distance(px: np.ndarray, py: np.ndarray, ax: float, ay: float, bx: float, by: float
                           ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Distance from points to segment AB, and the closest points on AB (vectorised)."""
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
