"""Route nets on a substrate: via columns at the terminals, octilinear traces on one layer per net.

Each net is routed on one of its candidate layers, tried in order. A terminal reaches the
layer through a column of vias standing on it (via-in-pad: the bump's column goes down from
the die side, the ball's column up from the ball side); on the layer the first two terminals
are joined by a shortest octilinear path (:func:`~kisubstrate.geometry.route.search.wavefront`),
each further terminal by a path to the net's copper already on the layer. Whatever is placed
becomes an obstacle for the nets after it (:class:`~kisubstrate.geometry.route.grid.RouteGrid`).
A net no layer can take is reported with the reason and where the search stopped; nothing is
left half-routed.

Example:
    >>> import shapely
    >>> from kisubstrate.geometry.board import BoardBuilder
    >>> from kisubstrate.geometry.route.grid import RouteGrid
    >>> b = BoardBuilder("r", copper=2, outline=shapely.box(-2, -2, 2, 2))
    >>> g = RouteGrid(b.outline, layers=2, pitch=0.05, width=0.025, clearance=0.025, via_pads=(0.12,), edge=0.1)
    >>> r = Router(g, b, hops=[Hop(0.12, 0.06, "micro")], width=0.025)
    >>> res = r.route(b.net("D0"), "D0", [(-1.0, 0.0, 0)], [(1.0, 0.5, 1)], layers=[0])
    >>> res.layer, round(res.length, 3), res.vias
    (0, 2.207, 1)
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from kisubstrate.geometry.route.grid import DIRS, FREE
from kisubstrate.geometry.route.search import corners, wavefront

_WINDOW = 40  # cells of slack around the terminals of the widest search box


@dataclass(frozen=True)
class Hop:
    """The via crossing from copper ``k`` to ``k + 1``: pad and drill diameters (mm), KiCad via kind."""

    pad: float
    drill: float
    kind: str


@dataclass
class Routed:
    """A routed net: its layer, trace length per layer (mm) and via count."""

    net: str
    layer: int
    lengths: dict[int, float] = field(default_factory=dict)
    vias: int = 0

    @property
    def length(self) -> float:
        """Total trace length (mm)."""
        return sum(self.lengths.values())


@dataclass(frozen=True)
class Unrouted:
    """A net no candidate layer could take: why, where (mm) and on which layer."""

    net: str
    reason: str
    x: float
    y: float
    layer: int


class Router:
    """Places columns and traces of nets on a :class:`BoardBuilder`, keeping its :class:`RouteGrid` current.

    Args:
        grid: the routing grid of the board, with every existing obstacle added.
        builder: the board builder the tracks and vias go to.
        hops: the via of each hop ``k → k + 1`` (``len == copper - 1``).
        width: trace width (mm).
    """

    def __init__(self, grid, builder, *, hops: list[Hop], width: float, hole_to_hole: float = 0.0) -> None:
        self.grid, self.b, self.hops, self.width = grid, builder, hops, width
        self.hole_to_hole = hole_to_hole
        self._holes = np.zeros((0, 5))  # x, y, drill radius, top, bottom of every via placed (any net)
        self._mech = np.zeros(0, bool)  # which of them are mechanically drilled
        self.keep_out: np.ndarray | None = None  # cells searches may not enter (bool, grid shape)
        self._kind_index = [grid.via_index(h.pad) for h in hops]

    def snapshot(self) -> tuple[np.ndarray, np.ndarray]:
        """The drilled holes placed so far (with :meth:`RouteGrid.snapshot` to undo a routing pass)."""
        return self._holes.copy(), self._mech.copy()

    def restore(self, state: tuple[np.ndarray, np.ndarray]) -> None:
        """Go back to a :meth:`snapshot`."""
        self._holes, self._mech = state[0].copy(), state[1].copy()

    # -- columns ----------------------------------------------------------------------------------
    def column_free(self, cell: tuple[int, int], top: int, bottom: int, net: int) -> int | None:
        """The first hop of the column ``top → bottom`` at ``cell`` that another net's copper blocks, or None.

        Args:
            cell: (row, column) of the grid cell the column stands on.
            top: upper copper layer index of the column.
            bottom: lower copper layer index (``top == bottom``: no via).
            net: net code.
        """
        r, c = cell
        for hop in range(top, bottom):
            arr = self.grid.via[self._kind_index[hop]]
            for L in (hop, hop + 1):
                if arr[L, r, c] not in (FREE, net):
                    return hop
        if self.hole_to_hole and bottom > top and len(self._holes):
            # drilled holes keep hole_to_hole from each other (any nets, as KiCad checks): a mechanical
            # hole from every hole sharing a layer, a microvia from mechanical ones; a stack is allowed
            h = self._holes
            d = np.hypot(h[:, 0] - float(self.grid.x(c)), h[:, 1] - float(self.grid.y(r)))
            for hop in range(top, bottom):
                near = (h[:, 3] <= hop + 1) & (h[:, 4] >= hop) & (d > 1e-9)
                if self.hops[hop].kind == "micro":
                    near &= self._mech
                gap = d - h[:, 2] - self.hops[hop].drill / 2
                if (near & (gap < self.hole_to_hole - 1e-9)).any():
                    return hop
        return None

    def place_column(self, cell: tuple[int, int], top: int, bottom: int, net: int) -> int:
        """Add the vias of the column ``top → bottom`` at ``cell`` (obstacles too); returns how many.

        Args:
            cell: (row, column) of the grid cell the column stands on.
            top: upper copper layer index of the column.
            bottom: lower copper layer index (``top == bottom``: no via).
            net: net code.
        """
        x, y = float(self.grid.x(cell[1])), float(self.grid.y(cell[0]))
        for hop in range(top, bottom):
            h = self.hops[hop]
            self.b.via(x, y, h.pad, h.drill, hop, hop + 1, net=net, kind=h.kind)
        if bottom > top:
            rows = np.array([(x, y, self.hops[hop].drill / 2, hop, hop + 1) for hop in range(top, bottom)])
            self._holes = np.vstack([self._holes, rows])
            self._mech = np.concatenate([self._mech, [self.hops[hop].kind != "micro" for hop in range(top, bottom)]])
        self._claim_column(x, y, top, bottom, net)
        return bottom - top

    def place_via(self, x: float, y: float, pad: float, drill: float, top: int, bottom: int, net: int, *,
                  kind: str) -> None:
        """Add one fixed via spanning copper ``top`` … ``bottom`` in one drill, e.g. a family's through via.

        It becomes an obstacle of its net on every layer it crosses, and a hole for ``hole_to_hole``.

        Args:
            x: centre x (mm).
            y: centre y (mm).
            pad: pad diameter (mm).
            drill: drill diameter (mm).
            top: upper copper layer index.
            bottom: lower copper layer index (> ``top``).
            net: net code.
            kind: KiCad via kind (``through``, ``blind``, ``micro``).

        Example:
            >>> import shapely
            >>> from kisubstrate.geometry.board import BoardBuilder
            >>> from kisubstrate.geometry.route.grid import RouteGrid
            >>> b = BoardBuilder("v", copper=4, outline=shapely.box(-1, -1, 1, 1))
            >>> g = RouteGrid(b.outline, layers=4, pitch=0.05, width=0.025, clearance=0.025, via_pads=(0.3,),
            ...               edge=0.1)
            >>> r = Router(g, b, hops=[Hop(0.3, 0.15, "blind")] * 3, width=0.025)
            >>> r.place_via(0.0, 0.0, 0.3, 0.15, 0, 3, b.net("GND"), kind="through")
            >>> [int(g.node[L, 20, 20]) for L in range(4)], len(b.build().vias)
            ([1, 1, 1, 1], 1)
        """
        self.b.via(x, y, pad, drill, top, bottom, net=net, kind=kind)
        self._holes = np.vstack([self._holes, [(x, y, drill / 2, top, bottom)]])
        self._mech = np.concatenate([self._mech, [kind != "micro"]])
        n = bottom - top + 1
        xs, ys = np.full(n, x), np.full(n, y)
        self.grid.add(np.arange(top, bottom + 1), xs, ys, xs, ys, np.full(n, pad / 2), np.full(n, net))

    def _claim_column(self, x: float, y: float, top: int, bottom: int, net: int) -> None:
        hops = range(top, bottom)
        if not len(hops):
            return
        layers = [L for hop in hops for L in (hop, hop + 1)]
        rad = [self.hops[hop].pad / 2 for hop in hops for _ in (0, 1)]
        n = len(layers)
        xs, ys = np.full(n, x), np.full(n, y)
        self.grid.add(np.array(layers), xs, ys, xs, ys, rad, np.full(n, net))

    # -- nets -------------------------------------------------------------------------------------
    def route(self, net: int, name: str, starts: list[tuple[float, float, int]],
              ends: list[tuple[float, float, int]], *, layers: list[int], escape=None,
              joined: bool = False) -> Routed | Unrouted:
        """Route one net on the first of ``layers`` that takes it.

        Args:
            net: net code.
            name: net name (for reports).
            starts: terminals the net starts from, ``(x, y, copper layer)`` (mm), e.g. die bumps.
            ends: terminals to join to them, ``(x, y, copper layer)``, e.g. balls.
            layers: candidate copper layers, in order of preference.
            escape: ``escape(x, y, layer) -> cells or None``: the fixed path out of the keep-out
                area (:attr:`keep_out`, e.g. the die's bump field) from a start terminal inside it;
                the search never enters the keep-out area otherwise.
            joined: the starts are already joined to each other (e.g. through a plane): each end
                needs a path to any of them, not the starts to each other.
        """
        first: Unrouted | None = None
        for L in layers:
            res = self._try(net, name, starts, ends, L, escape, joined)
            if isinstance(res, Routed):
                return res
            first = first or res
        assert first is not None
        return first

    def path_free(self, path: list[tuple[int, int]], L: int, net: int) -> bool:
        """True if every cell and move of ``path`` on layer ``L`` is free for ``net``.

        Args:
            path: grid cells ``(row, column)``, each a neighbour of the one before.
            L: copper layer index.
            net: net code.
        """
        g = self.grid
        for (ra, ca), (rb, cb) in zip(path, path[1:]):
            dr, dc = rb - ra, cb - ca
            k = next(i for i, d in enumerate(DIRS.tolist()) if d == [dr, dc] or d == [-dr, -dc])
            r0, c0 = (ra, ca) if [dr, dc] == DIRS[k].tolist() else (rb, cb)
            if g.move[L, k, r0, c0] not in (FREE, net):
                return False
        return all(g.node[L, r, c] in (FREE, net) for r, c in path)

    def reserve_path(self, path: list[tuple[int, int]], L: int, net: int) -> None:
        """Claim the cells and moves of ``path`` on layer ``L`` for ``net`` (no copper is placed).

        Args:
            path: grid cells ``(row, column)``, each a neighbour of the one before.
            L: copper layer index.
            net: net code.
        """
        g = self.grid
        pr, pc = np.array(path).T
        xs, ys = g.x(pc), g.y(pr)
        if len(path) == 1:
            g.add(L, xs, ys, xs, ys, [self.width / 2], [net])
            return
        g.add(L, xs[:-1], ys[:-1], xs[1:], ys[1:], np.full(len(xs) - 1, self.width / 2), np.full(len(xs) - 1, net))

    def reserve_column(self, cell: tuple[int, int], top: int, bottom: int, net: int) -> None:
        """Claim the via sites of a column ``top → bottom`` at ``cell`` for ``net`` (no vias are placed).

        Args:
            cell: (row, column) of the grid cell the column stands on.
            top: upper copper layer index of the column.
            bottom: lower copper layer index (``top == bottom``: no via).
            net: net code.
        """
        self._claim_column(float(self.grid.x(cell[1])), float(self.grid.y(cell[0])), top, bottom, net)

    def _try(self, net: int, name: str, starts, ends, L: int, escape, joined: bool = False) -> Routed | Unrouted:
        g = self.grid
        terms = starts + ends
        cells = [g.cell(x, y) for x, y, _ in terms]
        for (x, y, tl), cell in zip(terms, cells):
            top, bottom = min(tl, L), max(tl, L)
            hop = self.column_free(cell, top, bottom, net)
            if hop is not None:
                return Unrouted(name, f"the via column at ({x:.3f}, {y:.3f}) is blocked by another net between "
                                f"copper {hop + 1} and {hop + 2}", x, y, L)
        free = (g.node[L] == FREE) | (g.node[L] == net)
        moves = (g.move[L] == FREE) | (g.move[L] == net)
        stubs: dict[int, list[tuple[int, int]]] = {}
        if self.keep_out is not None:
            free &= ~self.keep_out
            for x, y, _tl in (t for t, c in zip(ends, cells[len(starts):]) if self.keep_out[c]):
                return Unrouted(name, f"the terminal at ({x:.3f}, {y:.3f}) lies in the die's escape area, where no "
                                f"trace runs on copper {L + 1}: give the net a ball clear of the die", x, y, L)
            for i, (x, y, _tl) in enumerate(starts):
                if not self.keep_out[cells[i]]:
                    continue
                stub = escape(x, y, L) if escape is not None else None
                if stub is None or not self.path_free(stub, L, net):
                    return Unrouted(name, f"the escape from ({x:.3f}, {y:.3f}) on copper {L + 1} is blocked", x, y, L)
                stubs[i] = stub
                free[tuple(np.array(stub).T)] = True
        ends_at = [stubs[i][-1] if i in stubs else c for i, c in enumerate(cells)]
        tree = np.zeros(g.shape, bool)
        for cell in ends_at[:len(starts) if joined else 1]:
            tree[cell] = True
        paths = [st for st in stubs.values() if len(st) > 1]
        for (x, y, _tl), cell in zip(terms[1:], ends_at[1:]):
            if tree[cell]:
                continue
            path = self._search(free, moves, tree, cell)
            if isinstance(path, tuple):
                sx, sy = path
                return Unrouted(name, f"no path on copper {L + 1}: the search from ({x:.3f}, {y:.3f}) got no closer "
                                f"than ({sx:.3f}, {sy:.3f}) to the net's copper", sx, sy, L)
            paths.append(path)
            tree[tuple(np.array(path).T)] = True
        out = Routed(name, L)
        for (_x, _y, tl), cell in zip(terms, cells):
            out.vias += self.place_column(cell, min(tl, L), max(tl, L), net)
        for path in paths:
            out.lengths[L] = out.lengths.get(L, 0.0) + self._commit(path, L, net)
        return out

    def _search(self, free, moves, tree, cell):
        """Path from ``cell`` to the tree, or the point reached closest to the tree (mm).

        The search runs in a box around both: a tight one, then one with :data:`_WINDOW` cells of slack.
        """
        g = self.grid
        rows, cols = np.nonzero(tree)
        if len(rows) == 1:  # one target cell: the two direct octilinear paths first (no search)
            for path in _direct_paths((int(rows[0]), int(cols[0])), cell):
                if _free_along(path, free, moves):
                    return path[::-1]
        lo_r, hi_r = min(int(rows.min()), cell[0]), max(int(rows.max()), cell[0])
        lo_c, hi_c = min(int(cols.min()), cell[1]), max(int(cols.max()), cell[1])
        for m in (6, _WINDOW):
            r0, c0 = max(lo_r - m, 0), max(lo_c - m, 0)
            win = (slice(r0, min(hi_r + m, g.shape[0] - 1) + 1), slice(c0, min(hi_c + m, g.shape[1] - 1) + 1))
            src = np.zeros(g.shape, bool)
            src[cell] = True
            path, step = wavefront(free[win], moves[:, win[0], win[1]], src[win], tree[win])
            if path is not None:
                return [(r + r0, c + c0) for r, c in path]
        # where the wave stopped: the reached cell nearest the tree
        reached = np.argwhere(step >= 0) + (r0, c0)
        if not len(reached):  # the start cell itself is not free
            return float(g.x(cell[1])), float(g.y(cell[0]))
        tr = np.argwhere(tree)
        d = np.abs(reached[:, None, :] - tr[None, :min(len(tr), 64), :]).max(axis=2).min(axis=1)
        r, c = reached[int(np.argmin(d))]
        return float(g.x(c)), float(g.y(r))

    def _commit(self, path: list[tuple[int, int]], L: int, net: int) -> float:
        """Add the path as tracks (straight runs merged) and as obstacles (each move); returns its length (mm)."""
        g = self.grid
        pr, pc = np.array(path).T
        xs, ys = g.x(pc), g.y(pr)
        g.add(L, xs[:-1], ys[:-1], xs[1:], ys[1:], np.full(len(xs) - 1, self.width / 2), np.full(len(xs) - 1, net))
        length = 0.0
        pts = corners(path)
        for (ra, ca), (rb, cb) in zip(pts, pts[1:]):
            x1, y1, x2, y2 = float(g.x(ca)), float(g.y(ra)), float(g.x(cb)), float(g.y(rb))
            self.b.track(x1, y1, x2, y2, self.width, layer=L, net=net)
            length += math.hypot(x2 - x1, y2 - y1)
        return length


def route_in_passes(grid, builder, items: list, route_one, name_of, *, passes: int) -> tuple[list, list]:
    """Route ``items`` in order, again and again with the failed ones first, keeping the best pass.

    Each pass starts from the grid and board as they were; it stops at the first pass with no
    failure (or after ``passes``), and the board is left as the best pass made it.

    Args:
        grid: the :class:`~kisubstrate.geometry.route.grid.RouteGrid` (snapshot / restore).
        builder: the ``BoardBuilder`` (snapshot / restore).
        items: what to route, in the first pass's order (nets, names, ...).
        route_one: ``route_one(item) -> Routed | Unrouted``.
        name_of: ``name_of(item) -> str``, matched with ``Unrouted.net``.
        passes: the most passes (count).

    Returns:
        ``(routed, unrouted)`` of the best pass.

    Example:
        >>> import shapely
        >>> from kisubstrate.geometry.board import BoardBuilder
        >>> from kisubstrate.geometry.route.grid import RouteGrid
        >>> b = BoardBuilder("p", copper=1, outline=shapely.box(-1, -1, 1, 1))
        >>> g = RouteGrid(b.outline, layers=1, pitch=0.05, width=0.025, clearance=0.025, via_pads=(0.1,), edge=0.1)
        >>> r = Router(g, b, hops=[], width=0.025)
        >>> one = lambda n: r.route(b.net(n), n, [(-0.5, 0.0, 0)], [(0.5, 0.0, 0)], layers=[0])
        >>> done, failed = route_in_passes(g, b, ["A"], one, str, passes=3)
        >>> [d.net for d in done], failed
        (['A'], [])
    """
    order = list(items)
    saved = grid.snapshot(), builder.snapshot()
    best = None
    ever: list[str] = []
    for k in range(passes):
        if k:
            grid.restore(saved[0])
            builder.restore(saved[1])
        done, failed = [], []
        for item in order:
            res = route_one(item)
            (done if isinstance(res, Routed) else failed).append(res)
        if best is None or len(failed) < len(best[1]):
            best = (done, failed, grid.snapshot(), builder.snapshot())
        if not failed:
            break
        now = [u.net for u in failed]
        ever[:] = now + [n for n in ever if n not in now]
        rank = {n: i for i, n in enumerate(ever)}
        order = sorted(order, key=lambda it: rank.get(name_of(it), len(rank)))
    assert best is not None
    builder.restore(best[3])
    return best[0], best[1]


def _direct_paths(a: tuple[int, int], b: tuple[int, int]) -> list[list[tuple[int, int]]]:
    """The two shortest octilinear paths from cell ``a`` to ``b``: diagonal first, then straight first."""
    dr, dc = b[0] - a[0], b[1] - a[1]
    sr, sc = (dr > 0) - (dr < 0), (dc > 0) - (dc < 0)
    diag = min(abs(dr), abs(dc))
    straight = (sr, 0) if abs(dr) > abs(dc) else (0, sc)
    rest = abs(abs(dr) - abs(dc))
    out = []
    for steps in ([straight] * rest + [(sr, sc)] * diag, [(sr, sc)] * diag + [straight] * rest):
        path = [a]
        for s_r, s_c in steps:
            path.append((path[-1][0] + s_r, path[-1][1] + s_c))
        out.append(path)
    return out if out[0] != out[1] else out[:1]


def _free_along(path: list[tuple[int, int]], free: np.ndarray, moves: np.ndarray) -> bool:
    """True if every cell of ``path`` is free and every move between them allowed (masks of one layer)."""
    p = np.array(path)
    if not free[p[:, 0], p[:, 1]].all():
        return False
    d = p[1:] - p[:-1]
    start = p[:-1].copy()
    flip = (d[:, 0] < 0) | ((d[:, 0] == 0) & (d[:, 1] < 0))  # stored from the other end
    start[flip] = p[1:][flip]
    d[flip] = -d[flip]
    k = np.select([(d[:, 0] == 0) & (d[:, 1] == 1), (d[:, 0] == 1) & (d[:, 1] == 0),
                   (d[:, 0] == 1) & (d[:, 1] == 1)], [0, 1, 2], 3)
    return bool(moves[k, start[:, 0], start[:, 1]].all())


__all__ = ["Hop", "Routed", "Router", "Unrouted", "route_in_passes"]
