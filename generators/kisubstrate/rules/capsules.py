"""Exact, vectorised distances between capsules (segments with a radius), and candidate pairs.

An extension of :mod:`kisubstrate.rules.spatial` for boards: a round pad or via is a
capsule of zero length, a track a segment with half its width as radius, so every
gap is ``segment_distance − r1 − r2`` with no polygon approximation. Candidate pairs
come from one shapely ``STRtree`` over the capsules' bounding boxes grown by the
interaction distance (linear in the number of items for board-like inputs).

Example:
    >>> import numpy as np
    >>> d, px, py = segment_segment_distance(np.array([0.0]), np.array([0.0]), np.array([1.0]), np.array([0.0]),
    ...                                      np.array([0.5]), np.array([1.0]), np.array([0.5]), np.array([2.0]))
    >>> float(d[0]), float(px[0]), float(py[0])
    (1.0, 0.5, 0.5)
"""

from __future__ import annotations

import numpy as np
import shapely


def segment_segment_distance(ax, ay, bx, by, cx, cy, dx, dy):
    """Shortest distance between segments AB and CD (arrays, mm), and the midpoint of the closest pair.

    Degenerate segments (points) are handled; the algorithm is the clamped closest-point
    solution of two segments (Ericson, *Real-Time Collision Detection*, §5.1.9), vectorised.
    """
    ux, uy = bx - ax, by - ay
    vx, vy = dx - cx, dy - cy
    wx, wy = ax - cx, ay - cy
    a = ux * ux + uy * uy
    e = vx * vx + vy * vy
    b = ux * vx + uy * vy
    c = ux * wx + uy * wy
    f = vx * wx + vy * wy
    eps = 1e-18
    denom = a * e - b * b
    with np.errstate(divide="ignore", invalid="ignore"):
        s = np.where(denom > eps, np.clip((b * f - c * e) / np.where(denom > eps, denom, 1), 0, 1), 0.0)
        t = np.where(e > eps, (b * s + f) / np.where(e > eps, e, 1), 0.0)
        # clamp t and recompute s where needed
        s = np.where(t < 0, np.where(a > eps, np.clip(-c / np.where(a > eps, a, 1), 0, 1), 0.0), s)
        s = np.where(t > 1, np.where(a > eps, np.clip((b - c) / np.where(a > eps, a, 1), 0, 1), 0.0), s)
        t = np.clip(t, 0, 1)
        # second segment degenerate (a point): closest point of the first one to it
        s = np.where(e <= eps, np.where(a > eps, np.clip(-c / np.where(a > eps, a, 1), 0, 1), 0.0), s)
    px, py = ax + ux * s, ay + uy * s
    qx, qy = cx + vx * t, cy + vy * t
    return np.hypot(px - qx, py - qy), (px + qx) / 2, (py + qy) / 2


def point_segment_distance(px, py, ax, ay, bx, by):
    """Distance from points P to segments AB (arrays, mm); a vectorised special case of the above."""
    d, _, _ = segment_segment_distance(px, py, px, py, ax, ay, bx, by)
    return d


def capsule_pairs(ax, ay, bx, by, r, *, within: float) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray,
                                                                    np.ndarray]:
    """Pairs ``i < j`` of capsules whose edge-to-edge gap is below ``within`` (mm).

    Returns:
        (i, j, gap, x, y): gap may be negative (overlap); (x, y) is where the two come closest.
    """
    n = len(ax)
    empty = np.empty(0, np.int64)
    if n < 2:
        return empty, empty, np.empty(0), np.empty(0), np.empty(0)
    grow = r + within / 2
    boxes = shapely.box(np.minimum(ax, bx) - grow, np.minimum(ay, by) - grow,
                        np.maximum(ax, bx) + grow, np.maximum(ay, by) + grow)
    tree = shapely.STRtree(boxes)
    i, j = tree.query(boxes, predicate="intersects")
    keep = i < j
    i, j = i[keep], j[keep]
    d, x, y = segment_segment_distance(ax[i], ay[i], bx[i], by[i], ax[j], ay[j], bx[j], by[j])
    gap = d - r[i] - r[j]
    keep = gap < within
    return i[keep], j[keep], gap[keep], x[keep], y[keep]


def capsule_geoms(ax, ay, bx, by) -> np.ndarray:
    """Shapely centre-lines of capsules: points for zero-length ones, 2-point lines otherwise."""
    pts = np.stack([np.stack([ax, ay], 1), np.stack([bx, by], 1)], 1)
    lines = shapely.linestrings(pts)
    zero = (ax == bx) & (ay == by)
    if zero.any():
        lines[zero] = shapely.points(ax[zero], ay[zero])
    return lines
