"""Which vias of a board need IPC-4761 Type VII protection (filled and capped).

Copper-filled, capped vias are what a substrate fab builds where something sits on a via:
another microvia (a stacked column) or a land (via-in-pad). KiCad 10 can say so per via
(``(filling yes) (capping yes)``); the writer asks :func:`protected_vias` which vias those are.

* **stacked**: two vias with the same centre, one ending on the copper layer where the other
  starts, at least one of them a microvia; both are protected (a core via under a microvia
  column is filled and capped as well, so the column can land on it).
* **in a pad**: the via's centre lies inside a pad of its own net on one of the via's two end
  layers (a circle pad: within its radius; any other shape: within its width x height box).

Example:
    >>> from kisubstrate.geometry.board import BoardBuilder
    >>> b = BoardBuilder("demo", copper=4, outline=((-2, -2), (2, -2), (2, 2), (-2, 2)))
    >>> n = b.net("SIG")
    >>> b.via(0, 0, 0.12, 0.06, 0, 1, net=n, kind="micro")    # stacked on the next one
    >>> b.via(0, 0, 0.12, 0.06, 1, 2, net=n, kind="micro")
    >>> b.via(1, 0, 0.12, 0.06, 2, 3, net=n, kind="micro")    # alone
    >>> b.pad("BALLS", "A1", -1, 0, 0.4, layer=3, net=n)
    >>> b.via(-1.05, 0, 0.12, 0.06, 2, 3, net=n, kind="micro")  # in the ball land
    >>> protected_vias(b.build()).tolist()
    [True, True, False, True]
"""

from __future__ import annotations

import numpy as np
import shapely

from kisubstrate.geometry.board import BoardGeom


def _stacked(board: BoardGeom) -> np.ndarray:
    """True for every via stacked end to end on another via at the same centre (one of the two a microvia)."""
    v = board.vias
    out = np.zeros(len(v), bool)
    at: dict[tuple[int, int], list[int]] = {}
    for i, (x, y) in enumerate(zip(np.rint(v.x * 1e6).astype(np.int64).tolist(),
                                   np.rint(v.y * 1e6).astype(np.int64).tolist())):
        at.setdefault((x, y), []).append(i)
    top, bottom = v.top.tolist(), v.bottom.tolist()
    for group in at.values():
        for a in group:
            for b in group:
                if bottom[a] == top[b] and "micro" in (v.kind[a], v.kind[b]):
                    out[a] = out[b] = True
    return out


def _in_pad(board: BoardGeom) -> np.ndarray:
    """True for every via whose centre lies in a pad of its net on one of its end layers."""
    v, p = board.vias, board.pads
    out = np.zeros(len(v), bool)
    if not len(v) or not len(p):
        return out
    circle = np.array([s == "circle" for s in p.shape])
    for layer in sorted(set(v.top.tolist()) | set(v.bottom.tolist())):
        pads = np.flatnonzero(p.layer == layer)
        vias = np.flatnonzero((v.top == layer) | (v.bottom == layer))
        if not len(pads) or not len(vias):
            continue
        boxes = shapely.box(p.x[pads] - p.w[pads] / 2, p.y[pads] - p.h[pads] / 2,
                            p.x[pads] + p.w[pads] / 2, p.y[pads] + p.h[pads] / 2)
        hit_via, hit_pad = shapely.STRtree(boxes).query(shapely.points(v.x[vias], v.y[vias]), predicate="intersects")
        vi, pi = vias[hit_via], pads[hit_pad]
        inside = np.hypot(v.x[vi] - p.x[pi], v.y[vi] - p.y[pi]) <= p.w[pi] / 2 + 1e-9
        ok = (v.net[vi] == p.net[pi]) & (v.net[vi] != 0) & (~circle[pi] | inside)
        out[vi[ok]] = True
    return out


def protected_vias(board: BoardGeom) -> np.ndarray:
    """Which vias need IPC-4761 Type VII (filled and capped): stacked microvias and vias in pads.

    Args:
        board: the board (coordinates in mm, layers physical copper indices).

    Returns:
        One bool per via of ``board.vias``, in order.
    """
    return _stacked(board) | _in_pad(board)
