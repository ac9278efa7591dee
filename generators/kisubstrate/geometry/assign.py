"""Order-preserving matching of die pads to terminals by angle around a centre.

Pads and balls are sorted by angle; pad ``k`` of the sorted list goes to ball
``(k + s) mod n`` and the cyclic shift ``s`` with the least squared angular error wins,
so straight traces on one layer keep their angular order (no crossings).

Example:
    >>> import numpy as np
    >>> assign_by_angle(np.array([0.1, 1.7, 3.2, -1.5]), np.array([1.5, 3.0, -1.6, 0.0])).tolist()
    [3, 0, 1, 2]
"""

from __future__ import annotations

import math

import numpy as np

_BLOCK = 4_000_000  # matrix entries per block of shifts (memory bound, ~64 MB of float64)


def assign_by_angle(pad_ang: np.ndarray, ball_ang: np.ndarray) -> np.ndarray:
    """Ball index per pad (angles in radians, equal counts): rank order with the best cyclic shift.

    The cost of every shift is computed blockwise with numpy (n shifts × n pairs), not in a
    Python loop; ties go to the smallest shift within 1e-12 of an improvement, as before.
    """
    p_order = np.argsort(pad_ang, kind="stable")
    b_order = np.argsort(ball_ang, kind="stable")
    n = len(p_order)
    out = np.empty(n, np.int64)
    if n == 0:
        return out
    pa, ba = pad_ang[p_order], ball_ang[b_order]
    costs = np.empty(n)
    step = max(1, _BLOCK // n)
    k = np.arange(n)
    for s0 in range(0, n, step):
        shifts = np.arange(s0, min(n, s0 + step))
        d = pa[(k[None, :] + shifts[:, None]) % n] - ba[None, :]
        d = np.remainder(d + math.pi, 2 * math.pi) - math.pi  # wrap to [-pi, pi)
        costs[shifts] = np.einsum("ij,ij->i", d, d)
    best, best_cost = 0, math.inf
    for s, cost in enumerate(costs.tolist()):
        if cost < best_cost - 1e-12:
            best, best_cost = s, cost
    out[np.roll(p_order, -best)] = b_order
    return out


__all__ = ["assign_by_angle"]


def assign_around_centroid(pad_x: np.ndarray, pad_y: np.ndarray, site_x: np.ndarray, site_y: np.ndarray
                           ) -> np.ndarray:
    """Site index per pad, matched by angle around the pads' centroid (mm in, indices out).

    Both sets are measured from the centroid of the pads, then matched by
    :func:`assign_by_angle`, so pads and sites must be equal in number.

    Args:
        pad_x: x of the pad centres (1-D array, mm).
        pad_y: y of the pad centres (1-D array, mm, as long as ``pad_x``).
        site_x: x of the terminal (ball, bump, pin) centres (1-D array, mm, as many as pads).
        site_y: y of the terminal centres (1-D array, mm, as long as ``site_x``).

    Example:
        >>> assign_around_centroid(np.array([1.0, -1.0]), np.array([0.0, 0.0]),
        ...                        np.array([-5.0, 5.0]), np.array([0.0, 0.0])).tolist()
        [1, 0]
    """
    cx, cy = float(np.mean(pad_x)), float(np.mean(pad_y))
    return assign_by_angle(np.arctan2(pad_y - cy, pad_x - cx), np.arctan2(site_y - cy, site_x - cx))
