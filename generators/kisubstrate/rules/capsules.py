"""Exact, vectorised distances between capsules (segments with a radius), and candidate pairs.

An extension of :mod:`kisubstrate.rules.spatial` for boards: a round pad or via is a
capsule of zero length, a track a segment with half its width as radius, so every
gap is ``segment_distance − r1 − r2`` with no polygon approximation. Candidate pairs
come from a uniform-grid spatial hash of short pieces of the capsules (numpy sort +
searchsorted), linear in the number of items for board-like inputs.

Example:
    >>> import numpy as np
    >>> i, j, gap, x, y = capsule_pairs(np.array([0.0, 0.0]), np.array([0.0, 1.0]), np.array([1.0, 1.0]),
    ...                                 np.array([0.0, 1.0]), np.array([0.1, 0.1]), within=1.0)
    >>> [int(i[0]), int(j[0]), round(float(gap[0]), 6)]
    [0, 1, 0.8]
"""

from __future__ import annotations

import numpy as np
import shapely

from kisubstrate.geometry.distance import segment_segment_distance
from kisubstrate.rules.spatial import cell_join, cell_pairs


def _pairs(x: np.ndarray, y: np.ndarray, cell: float) -> tuple[np.ndarray, np.ndarray]:
    """Each unordered pair of points in the same or adjacent cells once (see ``cell_pairs``)."""
    order, p, q, _ = cell_pairs(x, y, cell)
    return order[p], order[q]


def capsule_pairs(ax, ay, bx, by, r, *, within: float, piece: float | None = None,
                  net: np.ndarray | None = None
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Pairs ``i < j`` of capsules whose edge-to-edge gap is below ``within`` (mm).

    With ``net`` (int per capsule, 0 = no net), pairs of one non-zero net are skipped early.

    Circles (zero-length capsules) are paired in a grid sized to them; segments are cut into
    pieces of at most ``piece`` mm for the spatial hash only (candidates come from piece
    midpoints) and joined with the circles and with each other in a grid sized to the pieces.
    Distances are exact on the whole capsules.

    Args:
        ax: x of the first end of each capsule's centre-line (1-D float array, mm).
        ay: y of the first end (mm).
        bx: x of the second end (mm); equal ends make a circle (pad, via).
        by: y of the second end (mm).
        r: capsule radius (mm): half the track width, or the pad / via radius.
        within: report pairs whose gap is below this (mm); pairs that overlap have a negative gap.
        piece: longest piece a segment is cut into for the spatial hash (mm); None picks
            ``max(2 × (2 × largest radius + within), 0.05)``. Only speed depends on it.
        net: net code per capsule (int array, 0 = no net); None compares every pair.

    Returns:
        (i, j, gap, x, y): gap may be negative (overlap); (x, y) is where the two come closest.
    """
    n = len(ax)
    empty = np.empty(0, np.int64)
    if n < 2:
        return empty, empty, np.empty(0), np.empty(0), np.empty(0)
    w = max(within, 0.0)
    seg = (ax != bx) | (ay != by)
    C, S = np.flatnonzero(~seg), np.flatnonzero(seg)
    rc = float(r[C].max()) if len(C) else 0.0
    rs = float(r[S].max()) if len(S) else 0.0
    parts_i, parts_j = [], []
    if len(C) > 1:  # circle - circle
        ci, cj = _pairs(ax[C], ay[C], 2 * rc + w + 1e-9)
        parts_i.append(C[ci])
        parts_j.append(C[cj])
    multi = False
    if len(S):
        reach = 2 * max(rs, rc) + w
        piece = piece if piece is not None else max(2 * reach, 0.05)
        length = np.hypot(bx[S] - ax[S], by[S] - ay[S])
        parts = np.maximum(np.ceil(length / piece).astype(np.int64), 1)
        multi = bool((parts > 1).any())
        owner = np.repeat(S, parts)
        k = np.arange(len(owner)) - np.repeat(np.cumsum(parts) - parts, parts)
        t = (k + 0.5) / np.repeat(parts, parts)
        mx = ax[owner] + (bx - ax)[owner] * t
        my = ay[owner] + (by - ay)[owner] * t
        half = float((length / parts).max()) / 2
        pi, pj = _pairs(mx, my, 2 * half + 2 * rs + w + 1e-9)  # segment - segment
        parts_i.append(owner[pi])
        parts_j.append(owner[pj])
        if len(C):  # segment - circle
            qi, qj = cell_join(mx, my, ax[C], ay[C], half + rs + rc + w + 1e-9)
            parts_i.append(owner[qi])
            parts_j.append(C[qj])
    if not parts_i:
        return empty, empty, np.empty(0), np.empty(0), np.empty(0)
    i, j = np.concatenate(parts_i), np.concatenate(parts_j)
    lo, hi = np.minimum(i, j), np.maximum(i, j)
    keep = lo != hi
    if net is not None:
        keep &= (net[lo] != net[hi]) | (net[lo] == 0)
    i, j = lo[keep], hi[keep]
    # cheap bounding-box rejection before the exact distance
    g = r + w / 2
    x0, x1 = np.minimum(ax, bx) - g, np.maximum(ax, bx) + g
    y0, y1 = np.minimum(ay, by) - g, np.maximum(ay, by) + g
    keep = (x0[i] <= x1[j]) & (x0[j] <= x1[i]) & (y0[i] <= y1[j]) & (y0[j] <= y1[i])
    i, j = i[keep], j[keep]
    d, x, y = segment_segment_distance(ax[i], ay[i], bx[i], by[i], ax[j], ay[j], bx[j], by[j])
    gap = d - r[i] - r[j]
    keep = np.flatnonzero(gap < within)
    if multi and len(keep):  # pieces of one pair may meet several times: keep each pair once
        _, first = np.unique(i[keep] * n + j[keep], return_index=True)
        keep = keep[np.sort(first)]
    return i[keep], j[keep], gap[keep], x[keep], y[keep]


def capsule_geoms(ax, ay, bx, by) -> np.ndarray:
    """Shapely centre-lines of capsules: points for zero-length ones, 2-point lines otherwise.

    Args:
        ax: x of the first end of each centre-line (1-D float array, mm).
        ay: y of the first end (mm).
        bx: x of the second end (mm); equal to ``ax`` (with ``by`` equal to ``ay``) gives a point.
        by: y of the second end (mm).

    Example:
        >>> import numpy as np
        >>> [g.geom_type for g in capsule_geoms(np.array([0.0, 0.0]), np.array([0.0, 0.0]),
        ...                                     np.array([0.0, 1.0]), np.array([0.0, 0.0]))]
        ['Point', 'LineString']
    """
    pts = np.stack([np.stack([ax, ay], 1), np.stack([bx, by], 1)], 1)
    lines = shapely.linestrings(pts)
    zero = (ax == bx) & (ay == by)
    if zero.any():
        lines[zero] = shapely.points(ax[zero], ay[zero])
    return lines
