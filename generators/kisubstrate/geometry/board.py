"""Neutral board IR (``BoardGeom``): copper by physical layer index, pads, vias, tracks, zones.

Layers are physical copper indices ``0 … n-1`` from the die side (top) to the terminal
side (bottom); the KiCad writer maps them to layer names. Items are struct-of-arrays
(numpy) so a 100 k-item board costs a few array operations. Every item has a stable
``key`` (e.g. ``via/U1.17/0``) from which the writer derives a uuid5, so checks and
KiCad's DRC can be compared item by item.

Example:
    >>> b = BoardBuilder("demo", copper=2, outline=((-1, -1), (1, -1), (1, 1), (-1, 1)))
    >>> n = b.net("SIG")
    >>> b.pad("U1", "1", 0.0, 0.0, 0.1, layer=0, net=n)
    >>> b.via(0.0, 0.0, 0.12, 0.06, 0, 1, net=n, kind="micro")
    >>> b.track(0.0, 0.0, 0.5, 0.0, 0.03, layer=1, net=n)
    >>> g = b.build()
    >>> len(g.pads), len(g.vias), len(g.tracks), g.nets
    (1, 1, 1, ['', 'SIG'])
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import shapely

from kisubstrate.model.units import snap, snap_array

ViaKind = Literal["through", "blind", "micro"]


@dataclass(frozen=True)
class Pads:
    """Round or rectangular SMD pads, grouped by footprint ``owner`` (reference)."""

    owner: list[str]
    name: list[str]
    x: np.ndarray
    y: np.ndarray
    w: np.ndarray  # diameter (circle) or width (rect)
    h: np.ndarray
    shape: list[str]  # "circle" | "rect"
    layer: np.ndarray  # physical copper index
    net: np.ndarray
    mask: np.ndarray  # mask opening margin per side (mm); NaN = no mask opening

    def __len__(self) -> int:
        return len(self.name)

    def key(self, i: int) -> str:
        """Stable key of pad ``i``."""
        return f"pad/{self.owner[i]}.{self.name[i]}"


@dataclass(frozen=True)
class Vias:
    """Vias: centre, pad and drill diameters, span (top < bottom layer index), kind."""

    x: np.ndarray
    y: np.ndarray
    size: np.ndarray
    drill: np.ndarray
    top: np.ndarray
    bottom: np.ndarray
    net: np.ndarray
    kind: list[str]

    def __len__(self) -> int:
        return len(self.x)

    def key(self, i: int) -> str:
        """Stable key of via ``i``."""
        return f"via/{i}"


@dataclass(frozen=True)
class Tracks:
    """Straight track segments with round ends."""

    x1: np.ndarray
    y1: np.ndarray
    x2: np.ndarray
    y2: np.ndarray
    width: np.ndarray
    layer: np.ndarray
    net: np.ndarray

    def __len__(self) -> int:
        return len(self.x1)

    def key(self, i: int) -> str:
        """Stable key of track ``i``."""
        return f"track/{i}"


@dataclass(frozen=True)
class Zone:
    """A copper zone (``fill`` is the computed filled area) or, with ``keepout``, a rule area."""

    name: str
    layers: tuple[int, ...]
    outline: shapely.Polygon
    net: int = 0
    fill: shapely.Geometry | None = None
    keepout: dict[str, bool] | None = None  # tracks/vias/pads/copperpour/footprints -> allowed
    priority: int = 0  # KiCad zone priority: zones of a layer whose outlines overlap need distinct ones

    @property
    def key(self) -> str:
        """Stable key."""
        return f"zone/{self.name}"


@dataclass(frozen=True)
class Drawing:
    """A graphic polygon or polyline on a non-copper layer (KiCad layer name)."""

    points: tuple[tuple[float, float], ...]
    layer: str
    width: float = 0.05
    closed: bool = True
    label: str = ""
    text: str = ""  # non-empty: a text item at points[0] (height ``size`` mm), e.g. a fabrication note
    size: float = 0.3
    fill: bool = False  # a filled polygon (e.g. a solder-mask opening on F.Mask / B.Mask)


def note_drawings(lines: list[str], x: float, y: float, layer: str = "User.2", size: float = 0.3) -> list[Drawing]:
    """Fabrication-note text lines (one text item per line) starting at (x, y), mm.

    Args:
        lines: the note lines, top to bottom (one text item each).
        x: left end of the text lines (mm, board frame).
        y: position of the first line (mm, board frame, y down); each next line sits ``1.6 * size`` lower.
        layer: KiCad layer of the text (default ``User.2``, named "Fab.Notes" by the build-up, cavity
            and PoP boards).
        size: text height (mm).

    Example:
        >>> [(d.points, d.text) for d in note_drawings(["CAVITY", "SIDEWALL"], 3.0, -2.0, size=0.5)]
        [(((3.0, -2.0),), 'CAVITY'), (((3.0, -1.2),), 'SIDEWALL')]
    """
    return [Drawing(((x, y + k * size * 1.6),), layer, text=line, size=size, label="fab note")
            for k, line in enumerate(lines)]


@dataclass(frozen=True)
class Castellation:
    """A plated half-hole centred on the board outline (mm, KiCad frame).

    It is written as a KiCad castellated pad on every copper layer (KiCad's DRC exempts it from
    the board-edge clearance).

    Attributes:
        name: pad name, e.g. ``SA1``.
        x, y: centre, on the outline (mm).
        pad: copper pad diameter (mm).
        drill: drill diameter (mm).
        net: net code (0 = no net).
        side: the outline side it sits on: 0 right (+x), 1 bottom (+y), 2 left (-x), 3 top (-y).

    Example:
        >>> Castellation("SA1", 6.0, -1.3, pad=0.35, drill=0.2, net=3, side=0).pad
        0.35
    """

    name: str
    x: float
    y: float
    pad: float
    drill: float
    net: int
    side: int


@dataclass(frozen=True)
class CavityOutline:
    """A cavity opened in the top of the board (mm, KiCad frame).

    A rounded cavity is a polygon, so it is kept twice and no check is ever optimistic.

    Attributes:
        outline: circumscribed outline (covers the true cavity): for what must stay outside.
        floor: inscribed outline (inside the true cavity): for what must stay inside (the same
            polygon as ``outline`` for square corners).
        encapsulation: outline of the resin filling the cavity.
    """

    outline: shapely.Polygon
    floor: shapely.Polygon
    encapsulation: shapely.Polygon


@dataclass(frozen=True)
class BoardExtras:
    """What a family knows about its board beyond the copper items.

    For the writer, the checks and the project files. Every field has a neutral default (a plain
    board sets none).

    Attributes:
        body: package body outline (mm) that terminals and dies must lie inside; None = the board outline.
        dies: die outlines (mm, one geometry: a polygon or their union), or None.
        terminal_owner: pad owner of the package terminals (the lands facing the PCB), e.g. ``BALLS``.
        castellated: plated half-holes on the outline (:class:`Castellation`).
        cavity: the cavity of a cavity-down package (:class:`CavityOutline`), or None.
        user_layers: named KiCad user layers, e.g. ``{"User.2": "Fab.Notes"}``.
        dru_extra: text appended to the ``.kicad_dru`` (every number with its unit).
        files: extra project files, file-name suffix → text, e.g. ``{"-fab-notes.txt": "..."}``.
        summary: lines ``kisubstrate substrate`` prints under the board (e.g. the PoP z-stack).
        sidecar: JSON-ready sections merged into the ``<name>.kisubstrate.json`` sidecar.

    Example:
        >>> extras = BoardExtras(dies=shapely.box(-1, -1, 1, 1), files={"-fab-notes.txt": "CAVITY 6 x 6 mm"})
        >>> extras.terminal_owner, extras.dies.area, extras.body is None
        ('BALLS', 4.0, True)
    """

    body: shapely.Geometry | None = None
    dies: shapely.Geometry | None = None
    terminal_owner: str = "BALLS"
    castellated: tuple[Castellation, ...] = ()
    cavity: CavityOutline | None = None
    user_layers: dict[str, str] | None = None
    dru_extra: str = ""
    files: dict[str, str] = field(default_factory=dict)
    summary: tuple[str, ...] = ()
    sidecar: dict[str, Any] = field(default_factory=dict)


@dataclass
class BoardGeom:
    """Everything a substrate board holds, in neutral form (mm, KiCad frame: x right, y down).

    ``extras`` carries the family facts the writer, the checks and the project files use
    (:class:`BoardExtras`: body, dies, cavity, castellations, extra files, ...).
    """

    name: str
    copper: int
    outline: shapely.Polygon
    nets: list[str]
    pads: Pads
    vias: Vias
    tracks: Tracks
    zones: list[Zone] = field(default_factory=list)
    drawings: list[Drawing] = field(default_factory=list)
    extras: BoardExtras = field(default_factory=BoardExtras)

    @property
    def item_count(self) -> int:
        """Pads + vias + track segments."""
        return len(self.pads) + len(self.vias) + len(self.tracks)


class BoardBuilder:
    """Collects items in lists, then :meth:`build` freezes them into numpy arrays (coordinates snapped)."""

    def __init__(self, name: str, *, copper: int, outline) -> None:
        self.name, self.copper = name, copper
        self.outline = outline if isinstance(outline, shapely.Geometry) else shapely.Polygon(outline)
        self._nets: dict[str, int] = {"": 0}
        self._pads: list[tuple] = []
        self._vias: list[tuple] = []
        self._tracks: list[tuple] = []
        self.zones: list[Zone] = []
        self.drawings: list[Drawing] = []
        self.extras = BoardExtras()  # set by the family before build()

    def snapshot(self) -> tuple:
        """The items added so far (for :meth:`restore`, e.g. to undo a routing pass)."""
        return dict(self._nets), list(self._pads), list(self._vias), list(self._tracks), list(self.zones), \
            list(self.drawings)

    def restore(self, state: tuple) -> None:
        """Go back to a :meth:`snapshot` (the snapshot stays usable)."""
        nets, pads, vias, tracks, zones, drawings = state
        self._nets, self._pads, self._vias, self._tracks = dict(nets), list(pads), list(vias), list(tracks)
        self.zones, self.drawings = list(zones), list(drawings)

    def _layer(self, layer: int) -> None:
        # a family bug must fail here, not as an IndexError in the writer
        if not 0 <= layer < self.copper:
            raise ValueError(f"copper layer {layer} outside 0..{self.copper - 1} of board {self.name}")

    def net_names(self) -> dict[int, str]:
        """Net code → net name of the nets created so far."""
        return {code: name for name, code in self._nets.items()}

    def items_on(self, layer: int) -> np.ndarray:
        """Track segments and via annuli on copper ``layer`` as rows (x1, y1, x2, y2, half width) in mm.

        A via is a zero-length segment with its pad radius; used to keep new items clear of old ones.
        """
        rows = [(x1, y1, x2, y2, w / 2) for x1, y1, x2, y2, w, lay, _n in self._tracks if lay == layer]
        rows += [(x, y, x, y, sz / 2) for x, y, sz, _d, top, bot, _n, _k in self._vias if top <= layer <= bot]
        return np.array(rows, float).reshape(-1, 5)

    def tracks_on(self, layer: int) -> np.ndarray:
        """Track segments on copper ``layer`` as rows (x1, y1, x2, y2, net code), mm."""
        rows = [(x1, y1, x2, y2, n) for x1, y1, x2, y2, _w, lay, n in self._tracks if lay == layer]
        return np.array(rows, float).reshape(-1, 5)

    def net(self, name: str) -> int:
        """Net code of ``name`` (created on first use; "" is net 0)."""
        if name not in self._nets:
            self._nets[name] = len(self._nets)
        return self._nets[name]

    def pad(self, owner: str, name: str, x: float, y: float, w: float, *, layer: int, net: int = 0,
            h: float | None = None, shape: str = "circle", mask: float = float("nan")) -> None:
        """Add one pad (mm).

        Args:
            owner: footprint reference the pad belongs to (e.g. ``U1``, ``BALLS`` for the terminals).
            name: pad name within its owner (e.g. ``17``, ``A1``).
            x: pad centre x (mm, KiCad frame: x right).
            y: pad centre y (mm, KiCad frame: y down).
            w: diameter of a circle, width of a rect or oval (mm, > 0).
            layer: physical copper index, 0 (die side) … ``copper - 1``; out of range raises ``ValueError``.
            net: net code from :meth:`net` (0 = no net).
            h: height of a rect or oval (mm); None = ``w``.
            shape: KiCad pad shape, ``"circle"``, ``"rect"`` or ``"oval"``.
            mask: solder-mask opening margin per side (mm, may be negative); NaN = no mask opening.
        """
        self._layer(layer)
        self._pads.append((owner, name, x, y, w, w if h is None else h, shape, layer, net, mask))

    def via(self, x: float, y: float, size: float, drill: float, top: int, bottom: int, *, net: int,
            kind: ViaKind) -> None:
        """Add one via spanning copper ``top`` … ``bottom`` (indices, top < bottom).

        Args:
            x: via centre x (mm, KiCad frame).
            y: via centre y (mm).
            size: pad (annulus) diameter (mm).
            drill: drill diameter (mm).
            top: first (upper) copper index of the span (0 … ``copper - 2``).
            bottom: last (lower) copper index of the span (``top + 1`` … ``copper - 1``); a span
                outside the board or with ``top >= bottom`` raises ``ValueError``.
            net: net code from :meth:`net` (0 = no net).
            kind: ``"through"``, ``"blind"`` or ``"micro"`` (the writer writes a micro via between
                non-adjacent layers as blind).
        """
        self._layer(top)
        self._layer(bottom)
        if top >= bottom:
            raise ValueError(f"via span {top}..{bottom}: top must be above bottom")
        self._vias.append((x, y, size, drill, top, bottom, net, kind))

    def track(self, x1: float, y1: float, x2: float, y2: float, width: float, *, layer: int, net: int) -> None:
        """Add one straight track segment (round ends).

        Args:
            x1: start point x (mm, KiCad frame).
            y1: start point y (mm).
            x2: end point x (mm).
            y2: end point y (mm).
            width: track width (mm, > 0).
            layer: physical copper index, 0 … ``copper - 1``; out of range raises ``ValueError``.
            net: net code from :meth:`net` (0 = no net).
        """
        self._layer(layer)
        self._tracks.append((x1, y1, x2, y2, width, layer, net))

    def build(self) -> BoardGeom:
        """Freeze into a :class:`BoardGeom`."""
        def cols(rows: list[tuple], n: int) -> list[list]:
            return [list(c) for c in zip(*rows)] if rows else [[] for _ in range(n)]

        p = cols(self._pads, 10)
        pads = Pads(owner=p[0], name=p[1], x=snap_array(np.array(p[2], float)), y=snap_array(np.array(p[3], float)),
                    w=snap_array(np.array(p[4], float)), h=snap_array(np.array(p[5], float)), shape=p[6],
                    layer=np.array(p[7], np.int64), net=np.array(p[8], np.int64),
                    mask=snap_array(np.array(p[9], float)))
        v = cols(self._vias, 8)
        vias = Vias(x=snap_array(np.array(v[0], float)), y=snap_array(np.array(v[1], float)),
                    size=snap_array(np.array(v[2], float)), drill=snap_array(np.array(v[3], float)),
                    top=np.array(v[4], np.int64),
                    bottom=np.array(v[5], np.int64), net=np.array(v[6], np.int64), kind=v[7])
        t = cols(self._tracks, 7)
        tracks = Tracks(*(snap_array(np.array(t[k], float)) for k in range(4)), width=snap_array(np.array(t[4], float)),
                        layer=np.array(t[5], np.int64), net=np.array(t[6], np.int64))
        nets = [n for n, _ in sorted(self._nets.items(), key=lambda kv: kv[1])]
        return BoardGeom(name=self.name, copper=self.copper, outline=self.outline, nets=nets, pads=pads,
                         vias=vias, tracks=tracks, zones=[_snap_zone(z) for z in self.zones],
                         drawings=list(self.drawings), extras=self.extras)


def _snap_zone(z: Zone) -> Zone:
    """The zone with its fill on the 1 nm grid (the checked copper is the written copper).

    The outline stays as given: families compare it with their own shapes, and the writer snaps
    every coordinate it emits anyway.
    """
    from dataclasses import replace

    return z if z.fill is None else replace(z, fill=shapely.set_precision(z.fill, 1e-6))


def copper_items(geom: BoardGeom):
    """All copper as capsules (a segment and a radius, mm): arrays (ax, ay, bx, by, r, layer, net, src, idx).

    A round pad or via annulus is a point, a track a segment with half its width, an oval pad its
    stadium; a rectangular pad is its circumscribed circle (never smaller than the copper). A via
    gives one capsule per copper layer it spans. ``src`` says where each came from (0 pad, 1 via,
    2 track) and ``idx`` its index there.

    Args:
        geom: a built board.
    """
    p, v, t = geom.pads, geom.vias, geom.tracks
    circ = np.array([s == "circle" for s in p.shape], bool) if len(p) else np.zeros(0, bool)
    pr = np.where(circ, p.w / 2, np.hypot(p.w, p.h) / 2) if len(p) else np.zeros(0)
    # oval pads are exact capsules along their long side (a stadium is a capsule)
    oval = np.array([s == "oval" for s in p.shape], bool) if len(p) else np.zeros(0, bool)
    half = np.where(oval, np.abs(p.w - p.h) / 2, 0.0) if len(p) else np.zeros(0)
    along_x = p.w >= p.h if len(p) else np.zeros(0, bool)
    pr = np.where(oval, np.minimum(p.w, p.h) / 2, pr) if len(p) else pr
    pax, pbx = p.x - np.where(along_x, half, 0.0), p.x + np.where(along_x, half, 0.0)
    pay, pby = p.y - np.where(along_x, 0.0, half), p.y + np.where(along_x, 0.0, half)
    # vias: one annulus per spanned layer
    span = (v.bottom - v.top + 1) if len(v) else np.zeros(0, np.int64)
    vi = np.repeat(np.arange(len(v)), span)
    vl = (v.top[vi] + (np.arange(len(vi)) - np.repeat(np.cumsum(span) - span, span))) if len(vi) else vi
    ax = np.concatenate([pax, v.x[vi], t.x1])
    ay = np.concatenate([pay, v.y[vi], t.y1])
    bx = np.concatenate([pbx, v.x[vi], t.x2])
    by = np.concatenate([pby, v.y[vi], t.y2])
    r = np.concatenate([pr, v.size[vi] / 2, t.width / 2])
    layer = np.concatenate([p.layer, vl, t.layer]).astype(np.int64)
    net = np.concatenate([p.net, v.net[vi], t.net]).astype(np.int64)
    src = np.concatenate([np.zeros(len(p), np.int8), np.ones(len(vi), np.int8), np.full(len(t), 2, np.int8)])
    idx = np.concatenate([np.arange(len(p)), vi, np.arange(len(t))])
    return ax, ay, bx, by, r, layer, net, src, idx


def replace_items(geom: BoardGeom, **changes) -> BoardGeom:
    """A copy of ``geom`` with some fields replaced (for seeded tests and scaling)."""
    from dataclasses import replace

    return replace(geom, **changes)


def concat_tracks(a: Tracks, b: Tracks) -> Tracks:
    """Tracks of ``a`` followed by ``b``."""
    return Tracks(*(np.concatenate([getattr(a, f), getattr(b, f)])
                    for f in ("x1", "y1", "x2", "y2", "width", "layer", "net")))


def concat_vias(a: Vias, b: Vias) -> Vias:
    """Vias of ``a`` followed by ``b``."""
    return Vias(*(np.concatenate([getattr(a, f), getattr(b, f)])
                  for f in ("x", "y", "size", "drill", "top", "bottom", "net")), kind=a.kind + b.kind)


__all__ = ["BoardBuilder", "BoardExtras", "BoardGeom", "Castellation", "CavityOutline", "Drawing", "Pads", "Tracks",
           "Vias", "Zone", "concat_tracks", "copper_items", "concat_vias", "note_drawings", "replace_items",
           "snap"]
