"""Exact, vectorised distances between segments and points (mm): the capsule arithmetic.

A round pad or via is a segment of zero length, a track a segment with half its width as
radius, so every gap is ``segment distance − r1 − r2``, without polygons.

Example:
    >>> import numpy as np
    >>> d, px, py = segment_segment_distance(np.array([0.0]), np.array([0.0]), np.array([1.0]), np.array([0.0]),
    ...                                      np.array([0.5]), np.array([1.0]), np.array([0.5]), np.array([2.0]))
    >>> float(d[0]), float(px[0]), float(py[0])
    (1.0, 0.5, 0.5)
"""

from __future__ import annotations

import numpy as np


def segment_segment_distance(ax, ay, bx, by, cx, cy, dx, dy):
    """Shortest distance between segments AB and CD (arrays, mm), and the midpoint of the closest pair.

    Degenerate segments (points) are handled; the algorithm is the clamped closest-point
    solution of two segments (Ericson, *Real-Time Collision Detection*, §5.1.9), vectorised.

    Args:
        ax: x of the start points A of the first segments (array or float, mm).
        ay: y of A (mm).
        bx: x of the end points B of the first segments (mm); B = A makes a point.
        by: y of B (mm).
        cx: x of the start points C of the second segments (mm).
        cy: y of C (mm).
        dx: x of the end points D of the second segments (mm); D = C makes a point.
        dy: y of D (mm).

    Returns:
        ``(distance, mid_x, mid_y)``: arrays broadcast from the inputs, in mm.
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
    """Distance from points P to segments AB (arrays, mm); a vectorised special case of the above.

    Args:
        px: x of the points P (array or float, mm).
        py: y of P (mm).
        ax: x of the segment start points A (mm).
        ay: y of A (mm).
        bx: x of the segment end points B (mm); B = A gives the point-to-point distance.
        by: y of B (mm).

    Example:
        >>> float(point_segment_distance(0.0, 1.0, -1.0, 0.0, 1.0, 0.0))
        1.0
    """
    d, _, _ = segment_segment_distance(px, py, px, py, ax, ay, bx, by)
    return d
