"""Shortest octilinear path on one layer of the routing grid: a vectorised wavefront (Lee) search.

The wave grows one step (0°, 45° or 90° move) at a time from every source cell at once; each
step is a handful of numpy operations on the front's flat cell indices (all eight moves at
once), so the Python loop runs once per step of the path, never per cell. The path is read back from the step numbers,
keeping the direction of the previous move where it can so that it has few bends.

Example:
    >>> import numpy as np
    >>> free = np.ones((5, 7), bool); free[1:4, 3] = False          # a wall with gaps at the ends
    >>> moves = np.ones((4, 5, 7), bool)
    >>> src = np.zeros((5, 7), bool); src[2, 0] = True
    >>> dst = np.zeros((5, 7), bool); dst[2, 6] = True
    >>> path = wave_path(free, moves, src, dst)
    >>> path[0], path[-1], len(path)
    ((2, 0), (2, 6), 7)
"""

from __future__ import annotations

import numpy as np

from kisubstrate.geometry.route.grid import DIRS

# the eight moves as (dr, dc, stored direction index, reversed?)
_MOVES = [(int(dr), int(dc), k, False) for k, (dr, dc) in enumerate(DIRS.tolist())] + \
         [(-int(dr), -int(dc), k, True) for k, (dr, dc) in enumerate(DIRS.tolist())]


def _shift(a: np.ndarray, dr: int, dc: int, fill=False) -> np.ndarray:
    """``out[r, c] = a[r - dr, c - dc]`` (what moves by (dr, dc) lands on), ``fill`` outside."""
    out = np.full_like(a, fill)
    h, w = a.shape
    out[max(dr, 0):h + min(dr, 0), max(dc, 0):w + min(dc, 0)] = a[max(-dr, 0):h - max(dr, 0),
                                                                    max(-dc, 0):w - max(dc, 0)]
    return out


def move_masks(moves: np.ndarray, free: np.ndarray) -> list[np.ndarray]:
    """For each of the eight moves, where it may start: the stored move is allowed and both ends are free.

    Args:
        moves: allowed stored moves (bool, shape (4, h, w)): east, south, south-east, south-west
            from each cell (see :data:`kisubstrate.geometry.route.grid.DIRS`).
        free: cells the path may occupy (bool, shape (h, w)).
    """
    out = []
    for dr, dc, k, rev in _MOVES:
        # a reversed move from p goes to q = p + (dr, dc) and is stored at q as the forward move
        stored = _shift(moves[k], -dr, -dc) if rev else moves[k]
        out.append(stored & free & _shift(free, -dr, -dc))
    return out


def wave_path(free: np.ndarray, moves: np.ndarray, src: np.ndarray, dst: np.ndarray,
              max_steps: int | None = None) -> list[tuple[int, int]] | None:
    """Cells of a shortest path (fewest moves, then fewest bends) from any ``src`` cell to any ``dst`` cell.

    Args:
        free: cells the path may occupy (bool, shape (h, w)).
        moves: allowed stored moves (bool, shape (4, h, w)), see :func:`move_masks`.
        src: start cells (bool, shape (h, w)); those not free are ignored.
        dst: goal cells (bool, shape (h, w)).
        max_steps: give up after this many steps (default h × w).

    Returns:
        ``[(row, col), ...]`` from a source to a goal, or None if no path exists.
    """
    path, _step = wavefront(free, moves, src, dst, max_steps)
    return path


def wavefront(free: np.ndarray, moves: np.ndarray, src: np.ndarray, dst: np.ndarray,
              max_steps: int | None = None) -> tuple[list[tuple[int, int]] | None, np.ndarray]:
    """:func:`wave_path` and the step number at which the wave reached each cell (-1 = never).

    On failure the step array shows how far the wave got (the router names where it stopped).

    Args:
        free: cells the path may occupy (bool, shape (h, w)).
        moves: allowed stored moves (bool, shape (4, h, w)).
        src: start cells (bool, shape (h, w)).
        dst: goal cells (bool, shape (h, w)).
        max_steps: give up after this many steps (default h × w).
    """
    can = move_masks(moves, free)
    h, w = free.shape
    step = np.full((h, w), -1, np.int32)
    front_mask = src & free
    step[front_mask] = 0
    if not front_mask.any():
        return None, step
    limit = max_steps if max_steps is not None else h * w
    if (front_mask & dst).any():
        goal = tuple(int(v) for v in np.argwhere(front_mask & dst)[0])
        return _trace_back(step, can, goal), step
    # the wave as flat cell indices: each step looks at the front only (8 moves at once), not at a window
    ok = np.stack(can).reshape(len(can), -1)
    offset = np.array([dr * w + dc for dr, dc, _k, _rev in _MOVES], np.int64)
    flat_step, flat_dst = step.reshape(-1), dst.reshape(-1)
    front = np.flatnonzero(front_mask)
    n = 0
    while True:
        n += 1
        if n > limit:
            return None, step
        m, j = np.nonzero(ok[:, front])
        nxt = front[j] + offset[m]
        nxt = np.unique(nxt[flat_step[nxt] < 0])
        if not len(nxt):
            return None, step
        flat_step[nxt] = n
        hit = nxt[flat_dst[nxt]]
        if len(hit):
            break
        front = nxt
    goal = (int(hit[0]) // w, int(hit[0]) % w)
    return _trace_back(step, can, goal), step


def _trace_back(step: np.ndarray, can: list[np.ndarray], goal: tuple[int, int]) -> list[tuple[int, int]]:
    """Walk from ``goal`` down the step numbers to a source, preferring the previous direction."""
    path = [goal]
    r, c = goal
    prev = None
    h, w = step.shape
    while step[r, c] > 0:
        want = step[r, c] - 1
        options = []
        for m, (dr, dc, _k, _rev) in enumerate(_MOVES):
            pr, pc = r - dr, c - dc  # the cell the move (dr, dc) came from
            if 0 <= pr < h and 0 <= pc < w and step[pr, pc] == want and can[m][pr, pc]:
                options.append((0 if (dr, dc) == prev else 1, abs(dr) + abs(dc), m, pr, pc, (dr, dc)))
        _same, _len, _m, r, c, prev = min(options)
        path.append((r, c))
    path.reverse()
    return path


def corners(path: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """The path's end cells and the cells where its direction changes (straight runs merged).

    Example:
        >>> corners([(0, 0), (0, 1), (0, 2), (1, 3), (2, 4), (2, 5)])
        [(0, 0), (0, 2), (2, 4), (2, 5)]
    """
    if len(path) <= 2:
        return list(path)
    out = [path[0]]
    for a, b, c in zip(path, path[1:], path[2:]):
        if (b[0] - a[0], b[1] - a[1]) != (c[0] - b[0], c[1] - b[1]):
            out.append(b)
    out.append(path[-1])
    return out


__all__ = ["corners", "move_masks", "wave_path", "wavefront"]
