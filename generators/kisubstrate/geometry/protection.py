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

from dataclasses import dataclass, replace

import numpy as np
import shapely

from kisubstrate.geometry.board import BoardGeom, Drawing, note_drawings


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


@dataclass(frozen=True)
class Protection:
    """How many vias of a board are filled and capped (IPC-4761 Type VII), and why.

    Attributes:
        total: protected vias (count); ``in_pad`` and ``stacked`` may overlap (``both``).
        in_pad: vias whose centre lies in a pad of their net on an end layer (count).
        stacked: vias in a stacked microvia column (count).
        both: vias counted in ``in_pad`` and in ``stacked`` (count).
        spans: per via span holding protected vias: (top, bottom physical copper index, protected
            count, vias of the span, largest drill of the span in mm), in layer order.
    """

    total: int
    in_pad: int
    stacked: int
    both: int
    spans: tuple[tuple[int, int, int, int, float], ...]

    def note(self) -> str:
        """The fab-notes section (one line + a newline), or "" when no via is protected.

        Example:
            >>> Protection(3, 2, 2, 1, ((0, 1, 3, 3, 0.06),)).note()[:94]
            'VIA PROTECTION: 3 via(s) copper filled and capped (IPC-4761 Type VII): 2 via-in-pad, 2 in stac'
        """
        if not self.total:
            return ""
        both = f" ({self.both} both)" if self.both else ""
        return (f"VIA PROTECTION: {self.total} via(s) copper filled and capped (IPC-4761 Type VII): "
                f"{self.in_pad} via-in-pad, {self.stacked} in stacked microvia columns{both}; "
                "KiCad 10 boards mark each via (filling yes) (capping yes), the .kicad_dru rules via_fill_* "
                "bound the filled drill per via span.\n")


def protection(board: BoardGeom) -> Protection:
    """Counts of :func:`protected_vias` (in a pad, stacked, both) and the via spans holding them.

    Example:
        >>> from kisubstrate.geometry.board import BoardBuilder
        >>> b = BoardBuilder("demo", copper=4, outline=((-2, -2), (2, -2), (2, 2), (-2, 2)))
        >>> n = b.net("SIG")
        >>> b.via(0, 0, 0.12, 0.06, 0, 1, net=n, kind="micro")
        >>> b.via(0, 0, 0.12, 0.06, 1, 2, net=n, kind="micro")
        >>> b.via(1, 0, 0.12, 0.07, 2, 3, net=n, kind="micro")
        >>> p = protection(b.build())
        >>> p.total, p.in_pad, p.stacked, p.spans
        (2, 0, 2, ((0, 1, 1, 1, 0.06), (1, 2, 1, 1, 0.06)))
    """
    stacked, in_pad = _stacked(board), _in_pad(board)
    prot = stacked | in_pad
    v = board.vias
    spans = []
    top, bottom = v.top.astype(int), v.bottom.astype(int)
    for t, b in sorted({(int(t), int(b)) for t, b in zip(top[prot], bottom[prot])}):
        mine = (top == t) & (bottom == b)
        spans.append((t, b, int((mine & prot).sum()), int(mine.sum()), round(float(v.drill[mine].max()), 6)))
    return Protection(total=int(prot.sum()), in_pad=int(in_pad.sum()), stacked=int(stacked.sum()),
                      both=int((stacked & in_pad).sum()), spans=tuple(spans))


def with_note_drawn(board: BoardGeom, line: str) -> BoardGeom:
    """The board with one more fab-note line drawn on ``User.2``, under the family's last note line.

    The line takes the x, text height and line pitch of the family's note (drawings labelled
    ``fab note``); a board without a note gets it right of the outline at its top (``User.2``
    named "Fab.Notes"), as the families place theirs. The board given is not changed.

    Args:
        board: the board (mm, KiCad frame, y down).
        line: the text of the line, e.g. ``Protection.note().strip()``.

    Example:
        >>> from kisubstrate.geometry.board import BoardBuilder
        >>> b = BoardBuilder("demo", copper=2, outline=((-2, -2), (2, -2), (2, 2), (-2, 2)))
        >>> b.drawings += note_drawings(["STACKUP", "VIAS"], 3.0, -2.0, size=0.5)
        >>> [(d.points, d.text) for d in with_note_drawn(b.build(), "VIA PROTECTION").drawings]
        [(((3.0, -2.0),), 'STACKUP'), (((3.0, -1.2),), 'VIAS'), (((3.0, -0.4),), 'VIA PROTECTION')]
    """
    notes = [d for d in board.drawings if d.label == "fab note" and d.text]
    if not notes:
        _x0, top, right, _y1 = board.outline.bounds
        extras = replace(board.extras, user_layers={"User.2": "Fab.Notes", **(board.extras.user_layers or {})})
        return replace(board, drawings=[*board.drawings, *note_drawings([line], right + 1.0, top)], extras=extras)
    last = max(notes, key=lambda d: d.points[0][1])
    above = [d.points[0][1] for d in notes if d.layer == last.layer and d.points[0][1] < last.points[0][1]]
    pitch = last.points[0][1] - max(above) if above else 1.6 * last.size
    x, y = last.points[0]
    drawn = Drawing(((x, round(y + pitch, 6)),), last.layer, text=line, size=last.size, label="fab note")
    return replace(board, drawings=[*board.drawings, drawn])
