"""Footprint geometry IR: pads as struct-of-arrays groups, graphics as small frozen records.

Coordinates are mm in KiCad's frame (x right, y down), snapped to 1 nm. Pads that
share a padstack live in one :class:`PadGroup` with numpy coordinate arrays, so a
10 000-ball grid costs a few array operations, not 10 000 objects.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import shapely

PadKind = Literal["smd", "thru_hole", "np_thru_hole"]
PadShape = Literal["circle", "rect", "roundrect", "oval"]


@dataclass(frozen=True)
class PadGroup:
    """Pads with one padstack: same kind, shape, size, drill, layers and mask margin.

    Attributes:
        names: pad numbers (ball names), one per pad.
        x, y: pad centres (mm), numpy float arrays.
        kind: KiCad pad type.
        shape: copper shape; ``size`` is (width, height) in mm.
        drill: hole diameter (mm) for plated / non-plated holes, else None.
        layers: KiCad layer names of the padstack.
        mask_margin: per-pad solder-mask expansion (mm, negative = mask-defined); None inherits.
        paste_margin: per-pad solder-paste margin (mm); None inherits.
        roundrect_ratio: corner radius / min(size) for ``roundrect``.
        chamfer_ratio: chamfer leg / min(size) of a ``roundrect`` (0 = none, at most 0.5).
        chamfer_corners: the chamfered corners, KiCad names ``top_left``, ``top_right``,
            ``bottom_left``, ``bottom_right`` (top = −y).
        properties: KiCad fabrication property, e.g. ``pad_prop_bga``.
        nets: optional net name per pad ("" = no net).
        die_length: optional package length per pad (mm, KiCad's pad ``die_length``: the trace
            length inside the package from the die to this terminal; 0 = none written).
        zone_connect: KiCad's pad zone connection (0 none, 1 thermal relief, 2 solid, 3 thermal
            for THT only); None inherits the footprint's / board's.
    """

    names: list[str]
    x: np.ndarray
    y: np.ndarray
    kind: PadKind
    shape: PadShape
    size: tuple[float, float]
    layers: tuple[str, ...]
    drill: float | None = None
    mask_margin: float | None = None
    paste_margin: float | None = None
    roundrect_ratio: float = 0.25
    chamfer_ratio: float = 0.0
    chamfer_corners: tuple[str, ...] = ()
    properties: tuple[str, ...] = ()
    nets: list[str] | None = None
    die_length: np.ndarray | None = None
    zone_connect: int | None = None

    def __len__(self) -> int:
        return len(self.names)

    @property
    def radius(self) -> float:
        """Radius of the circumscribed circle of one pad's copper (mm)."""
        w, h = self.size
        return 0.5 * float(np.hypot(w, h)) if self.shape != "circle" else 0.5 * w

    def outlines(self, grow: float = 0.0) -> np.ndarray:
        """Conservative shapely outlines of every pad, grown by ``grow`` mm (for rule checks).

        Circles become circumscribed polygons (never smaller than the true circle).
        """
        w, h = self.size[0] + 2 * grow, self.size[1] + 2 * grow
        if self.shape == "circle":
            proto = circumscribed_circle(0.5 * w)
        elif self.shape == "rect":
            proto = shapely.box(-w / 2, -h / 2, w / 2, h / 2)
        else:
            radius = self.roundrect_ratio * min(self.size) + grow if self.shape == "roundrect" \
                else 0.5 * min(w, h)
            radius = min(radius, 0.5 * min(w, h))
            proto = circumscribed_roundrect(w, h, radius) if radius > 0 else shapely.box(-w / 2, -h / 2, w / 2, h / 2)
            if self.chamfer_ratio > 0 and self.chamfer_corners:
                proto = chamfer_corners(proto, w, h, self.chamfer_ratio * min(self.size), self.chamfer_corners,
                                        grow)
        coords = shapely.get_coordinates(proto)
        n = len(self.names)
        rings = coords[None, :, :] + np.stack([self.x, self.y], axis=1)[:, None, :]
        return shapely.polygons(rings.reshape(n, -1, 2))


CORNER_SIGNS = {"top_left": (-1, -1), "top_right": (1, -1), "bottom_left": (-1, 1), "bottom_right": (1, 1)}


def chamfer_corners(proto: shapely.Polygon, w: float, h: float, leg: float, corners: tuple[str, ...],
                    grow: float = 0.0) -> shapely.Polygon:
    """Cut 45° chamfers off the corners of a pad outline centred on (0, 0).

    Args:
        proto: the pad outline (mm), already grown by ``grow``.
        w, h: outline width and height (mm, grown).
        leg: chamfer leg on the ungrown pad (mm); the grown outline's chamfer line lies ``grow``
            further out, as KiCad grows a chamfered pad.
        corners: KiCad corner names (``top_left`` … ``bottom_right``, top = −y).
        grow: how far ``proto`` was grown (mm).

    Example:
        >>> p = chamfer_corners(shapely.box(-0.5, -0.15, 0.5, 0.15), 1.0, 0.3, 0.15, ("top_right",))
        >>> round(p.area, 6)
        0.28875
        >>> w, h = 0.800391, 0.53445  # a rounded corner chamfered past its arc: no sliver left on the sides
        >>> r = chamfer_corners(circumscribed_roundrect(w, h, 0.25 * h), w, h, 0.451669 * h, ("bottom_left",))
        >>> round(float(shapely.distance(r, shapely.Point(-0.4375, 0.2714))), 4)
        0.2
    """
    leg = leg + grow * (2 - np.sqrt(2))  # the chamfer line offset outward by grow
    far = w + h
    cut = []
    for name in corners:
        sx, sy = CORNER_SIGNS[name]
        cx, cy = sx * w / 2, sy * h / 2
        # everything beyond the chamfer line (a convex outline meets it only between its two leg ends), not
        # just the corner triangle: a rounded corner's vertices on the triangle's sides would stay as slivers
        a = (cx - sx * leg - far * sx, cy + far * sy)
        b = (cx + far * sx, cy - sy * leg - far * sy)
        cut.append(shapely.Polygon([a, b, (b[0] + far * sx, b[1] + far * sy), (a[0] + far * sx, a[1] + far * sy)]))
    return shapely.difference(proto, shapely.union_all(cut))


def circumscribed_circle(radius: float, *, segments: int = 32) -> shapely.Polygon:
    """A polygon that contains the circle of ``radius`` (vertices at radius / cos(π/n))."""
    r = radius / np.cos(np.pi / segments)
    angles = np.linspace(0, 2 * np.pi, segments, endpoint=False) + np.pi / segments
    return shapely.Polygon(np.stack([r * np.cos(angles), r * np.sin(angles)], axis=1))


def circumscribed_roundrect(w: float, h: float, radius: float, *, quad_segs: int = 8) -> shapely.Polygon:
    """A w × h rectangle with corners rounded by ``radius`` (mm), as a polygon that contains it.

    Straight sides are exact (a buffered core would push them out by r·(1/cos − 1)); each
    corner arc is replaced by its circumscribed polyline, whose first and last segments lie
    on the tangents that continue the sides.

    Args:
        w: rectangle width (mm), centred on x = 0.
        h: rectangle height (mm), centred on y = 0.
        radius: corner radius (mm, 0 < radius ≤ min(w, h) / 2).
        quad_segs: number of polyline segments per quarter arc (≥ 1); more hugs the arc closer.

    Example:
        >>> p = circumscribed_roundrect(0.5, 0.5, 0.125)
        >>> [round(v, 9) for v in p.bounds]
        [-0.25, -0.25, 0.25, 0.25]
    """
    step = (np.pi / 2) / quad_segs
    far = radius / np.cos(step / 2)
    cx, cy = w / 2 - radius, h / 2 - radius
    pts = []
    for k, (sx, sy) in enumerate(((1, 1), (-1, 1), (-1, -1), (1, -1))):
        start = k * np.pi / 2
        ox, oy = sx * cx, sy * cy
        pts.append((ox + radius * np.cos(start), oy + radius * np.sin(start)))
        ang = start + step * (np.arange(quad_segs) + 0.5)
        pts += list(zip(ox + far * np.cos(ang), oy + far * np.sin(ang)))
        end = start + np.pi / 2
        pts.append((ox + radius * np.cos(end), oy + radius * np.sin(end)))
    return shapely.Polygon(pts)


@dataclass(frozen=True)
class Line:
    """A straight line on a graphic layer."""

    start: tuple[float, float]
    end: tuple[float, float]
    layer: str
    width: float


@dataclass(frozen=True)
class Poly:
    """A polygon (closed) on a graphic layer."""

    points: tuple[tuple[float, float], ...]
    layer: str
    width: float
    fill: bool = False


@dataclass(frozen=True)
class Circle:
    """A circle on a graphic layer."""

    center: tuple[float, float]
    radius: float
    layer: str
    width: float
    fill: bool = False


@dataclass(frozen=True)
class Text:
    """A user text (``${REFERENCE}`` on F.Fab) or a footprint field position."""

    text: str
    at: tuple[float, float]
    layer: str
    size: float = 1.0
    thickness: float = 0.15


Graphic = Line | Poly | Circle | Text


@dataclass(frozen=True)
class Model3D:
    """3D model reference of a footprint."""

    path: str
    offset: tuple[float, float, float] = (0.0, 0.0, 0.0)
    scale: tuple[float, float, float] = (1.0, 1.0, 1.0)
    rotate: tuple[float, float, float] = (0.0, 0.0, 0.0)


@dataclass(frozen=True)
class FootprintGeom:
    """Everything a footprint file holds, in neutral form.

    ``body`` is the package outline (shapely polygon), ``courtyard`` the courtyard
    polygon; ``provenance`` records where each derived size came from (rule, factor,
    source) for descriptions, reports and the library's provenance table.

    The last fields are figures the family derived, read back by the library tables, the 3D
    model and tests (all lengths in mm; None or 0 where a family has no such figure):

    Attributes:
        rules: name of the rule profile the footprint was built and checked with.
        height: package height above the board (for the 3D model; None: 1 mm).
        ball: ball (BGA, WLCSP) or pin (PGA) diameter; 0 for lands only.
        courtyard_offset: courtyard excess around pads and body.
        pitch_x, pitch_y: terminal pitch of a grid array (columns, rows); None otherwise.
        land: copper land diameter of a grid array; None otherwise.
        span_z, span_g: IPC-7351B outer (Z) and inner (G) land span of a no-lead footprint's
            left/right lands; None otherwise.

    Example:
        >>> fp = FootprintGeom("X", "lga", "", "", "smd", [], [], shapely.box(-1, -1, 1, 1),
        ...                    shapely.box(-1.2, -1.2, 1.2, 1.2), (0, -2), (0, 2), pitch_x=0.8, pitch_y=0.8, land=0.4)
        >>> fp.pitch_x, fp.land, fp.ball, fp.span_z
        (0.8, 0.4, 0.0, None)
    """

    name: str
    family: str
    description: str
    tags: str
    attr: str  # "smd" | "through_hole"
    pads: list[PadGroup]
    graphics: list[Graphic]
    body: shapely.Polygon
    courtyard: shapely.Polygon
    reference_at: tuple[float, float]
    value_at: tuple[float, float]
    mask_margin: float | None = None
    model: Model3D | None = None
    provenance: dict[str, str] = field(default_factory=dict)
    rules: str = ""
    height: float | None = None
    ball: float = 0.0
    courtyard_offset: float | None = None
    pitch_x: float | None = None
    pitch_y: float | None = None
    land: float | None = None
    span_z: float | None = None
    span_g: float | None = None

    @property
    def pad_count(self) -> int:
        """Number of pads (balls, lands, pins)."""
        return sum(len(g) for g in self.pads)

    def pad_table(self) -> list[tuple[str, float, float, float, float]]:
        """(name, x, y, width, height) of every pad, in file order (handy for tests)."""
        rows = []
        for g in self.pads:
            for name, x, y in zip(g.names, g.x.tolist(), g.y.tolist()):
                rows.append((name, x, y, g.size[0], g.size[1]))
        return rows


def translated(fp: FootprintGeom, dx: float, dy: float) -> FootprintGeom:
    """The footprint moved by (``dx``, ``dy``) mm: pads, graphics, body, courtyard and fields.

    Used to put a footprint's anchor elsewhere (e.g. on pin 1 of a through-hole part, KLC F7.2);
    coordinates are rounded to 1 nm so that grid values stay exact in the file.

    Args:
        fp: the footprint (mm, footprint frame).
        dx: shift in x (mm).
        dy: shift in y (mm; KiCad's y points down).

    Example:
        >>> fp = FootprintGeom("X", "pga", "", "", "through_hole", [], [Text("t", (1, 1), "F.Fab")],
        ...                    shapely.box(-1, -1, 1, 1), shapely.box(-2, -2, 2, 2), (0, -3), (0, 3))
        >>> moved = translated(fp, 1.27, 1.27)
        >>> moved.body.bounds, moved.graphics[0].at, moved.reference_at
        ((0.27, 0.27, 2.27, 2.27), (2.27, 2.27), (1.27, -1.73))
    """
    from dataclasses import replace

    def p(xy) -> tuple[float, float]:
        return (round(float(xy[0]) + dx, 9), round(float(xy[1]) + dy, 9))

    def g(item):
        if isinstance(item, Line):
            return replace(item, start=p(item.start), end=p(item.end))
        if isinstance(item, Poly):
            return replace(item, points=tuple(p(q) for q in item.points))
        if isinstance(item, Circle):
            return replace(item, center=p(item.center))
        return replace(item, at=p(item.at))

    def shape(poly):
        return shapely.set_precision(shapely.transform(poly, lambda c: c + np.array([dx, dy])), 1e-9)

    pads = [replace(grp, x=np.round(grp.x + dx, 9), y=np.round(grp.y + dy, 9)) for grp in fp.pads]
    return replace(fp, pads=pads, graphics=[g(item) for item in fp.graphics], body=shape(fp.body),
                   courtyard=shape(fp.courtyard), reference_at=p(fp.reference_at), value_at=p(fp.value_at))
