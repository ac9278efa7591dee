"""Package drawings shared by footprint families: fab outline, silk, courtyard, texts (KLC).

All functions are pure: they take sizes in mm and return IR graphics.
"""

from __future__ import annotations

import math

import numpy as np
import shapely

from kisubstrate.geometry.ir import Circle, Graphic, Line, PadGroup, Poly, Text
from kisubstrate.model.units import snap


def round_out(value: float, grid: float) -> float:
    """Round a coordinate away from zero to ``grid`` (mm), e.g. courtyards on 0.01 mm.

    >>> round_out(7.0001, 0.01), round_out(-7.0001, 0.01), round_out(8.0, 0.01)
    (7.01, -7.01, 8.0)
    """
    steps = abs(value) / grid
    n = math.ceil(steps - 1e-9)
    return snap(math.copysign(n * grid, value))


def fab_outline(body: tuple[float, float], *, bevel: float, width: float,
                center: tuple[float, float] = (0.0, 0.0)) -> Poly:
    """Body outline on F.Fab with a pin-1 bevel at the top-left corner (KLC F5.2 / IPC-7351C).

    Args:
        body: (x, y) body size (mm).
        bevel: leg of the pin-1 corner chamfer (mm); at most a quarter of the smaller body side is used.
        width: line width (mm).
        center: (x, y) body centre (mm, KiCad frame).

    Example:
        >>> fab_outline((4.0, 4.0), bevel=1.0, width=0.1).points[0]
        (-1.0, -2.0)
    """
    bx, by = body[0] / 2, body[1] / 2
    cx, cy = center
    b = min(bevel, 0.25 * min(body))
    pts = ((cx - bx + b, cy - by), (cx + bx, cy - by), (cx + bx, cy + by), (cx - bx, cy + by),
           (cx - bx, cy - by + b))
    return Poly(tuple((snap(x), snap(y)) for x, y in pts), "F.Fab", width)


def _within(x: np.ndarray, y: np.ndarray, near: shapely.Geometry, limit: float) -> np.ndarray:
    """Indices of the points within ``limit`` mm of ``near`` (exact shapely distance).

    Only the points that pass a bounding-box test (and, for a polyline, a numpy
    point-to-segment distance with 1 µm slack) reach shapely: a silk ring around a
    10 000-ball grid then measures the ~400 perimeter balls, not all of them.
    """
    minx, miny, maxx, maxy = near.bounds
    idx = np.flatnonzero((x >= minx - limit) & (x <= maxx + limit) & (y >= miny - limit) & (y <= maxy + limit))
    if len(idx) and near.geom_type in ("LineString", "LinearRing"):
        coords = shapely.get_coordinates(near)
        if 1 < len(coords) <= 65:
            px, py = x[idx], y[idx]
            best = np.full(len(idx), np.inf)
            for (ax, ay), (bx, by) in zip(coords[:-1].tolist(), coords[1:].tolist()):
                dx, dy = bx - ax, by - ay
                length2 = dx * dx + dy * dy
                t = np.clip(((px - ax) * dx + (py - ay) * dy) / length2, 0.0, 1.0) if length2 else 0.0
                best = np.minimum(best, np.hypot(px - (ax + t * dx), py - (ay + t * dy)))
            idx = idx[best <= limit + 1e-6]
    if not len(idx):
        return idx
    return idx[shapely.distance(near, shapely.points(x[idx], y[idx])) <= limit]


def pad_keepout(pads: list[PadGroup], *, grow: float, near: shapely.Geometry | None = None,
                reach: float = 0.0) -> shapely.Geometry:
    """Union of pad outlines grown by ``grow`` mm; only pads within ``reach`` of ``near`` count.

    Args:
        pads: the footprint's pad groups.
        grow: margin added on every side of each pad (mm; circles stay circumscribed polygons).
        near: only pads whose grown outline may come within ``reach`` of this geometry are
            included; None includes every pad.
        reach: distance from ``near`` within which a grown pad counts (mm, ≥ 0).
    """
    parts = []
    for group in pads:
        if near is not None:
            # a grown rectangle's corner reaches 0.5 * hypot(w + 2 grow, h + 2 grow), beyond radius + grow
            w, h = group.size
            extent = (group.radius + grow if group.shape == "circle"
                      else 0.5 * math.hypot(w + 2 * grow, h + 2 * grow))
            idx = _within(group.x, group.y, near, extent + reach)
            if not len(idx):
                continue
            sub = PadGroup(names=[group.names[k] for k in idx.tolist()], x=group.x[idx],
                           y=group.y[idx], kind=group.kind, shape=group.shape, size=group.size,
                           layers=group.layers, roundrect_ratio=group.roundrect_ratio,
                           chamfer_ratio=group.chamfer_ratio, chamfer_corners=group.chamfer_corners)
            parts.append(sub.outlines(grow))
        else:
            parts.append(group.outlines(grow))
    if not parts:
        return shapely.Polygon()
    return shapely.union_all(np.concatenate(parts))


def silk_outline(body: tuple[float, float], pads: list[PadGroup], *, offset: float, width: float,
                 clearance: float, mask_margin: float, center: tuple[float, float] = (0.0, 0.0),
                 marker: float = 0.5) -> list[Graphic]:
    """Silk outline ``offset`` outside the body, clipped clear of pads, plus a pin-1 triangle.

    The copper keep-out is each pad grown by its mask margin + ``clearance`` + half the
    line width, so the drawn line keeps ``clearance`` from copper and mask openings.

    Args:
        body: (x, y) body size (mm).
        pads: the footprint's pad groups the line is clipped against.
        offset: distance of the silk line outside the body edge (mm).
        width: silk line width (mm).
        clearance: silk-to-copper / mask-opening clearance kept by the line's edge (mm).
        mask_margin: solder-mask opening margin of the pads (mm; a negative value counts as 0).
        center: (x, y) body centre (mm, KiCad frame).
        marker: leg of the filled pin-1 triangle at the top-left corner (mm); without room for
            it, a dot of diameter ``marker / 2`` is placed diagonally outside instead.
    """
    bx, by = body[0] / 2 + offset, body[1] / 2 + offset
    cx, cy = center
    ring = shapely.LineString([(cx - bx, cy - by), (cx + bx, cy - by), (cx + bx, cy + by),
                               (cx - bx, cy + by), (cx - bx, cy - by)])
    # + 1 nm: end points snapped to KiCad's grid must not eat into the clearance
    grow = max(mask_margin, 0.0) + clearance + width / 2 + 1e-6
    keepout = pad_keepout(pads, grow=grow, near=ring, reach=0.0)
    corner = (cx - bx, cy - by)
    tri = shapely.Polygon([corner, (corner[0] - marker, corner[1]), (corner[0], corner[1] - marker)])
    keepout = shapely.union(keepout, shapely.buffer(tri, width / 2 + 1e-9, quad_segs=2))
    visible = shapely.difference(ring, keepout) if not keepout.is_empty else ring
    out: list[Graphic] = []
    for part in shapely.get_parts(shapely.line_merge(visible)):
        coords = shapely.get_coordinates(part)
        for (x0, y0), (x1, y1) in zip(coords[:-1], coords[1:]):
            if math.hypot(x1 - x0, y1 - y0) >= 0.01:
                out.append(Line((snap(x0), snap(y0)), (snap(x1), snap(y1)), "F.SilkS", width))
    # reach = half the line width: pads that only the stroke's outer edge comes near count too
    if not shapely.intersects(shapely.buffer(tri, width / 2), pad_keepout(pads, grow=max(mask_margin, 0) +
                                                                           clearance, near=tri, reach=width / 2)):
        out.append(Poly(tuple((snap(x), snap(y)) for x, y in tri.exterior.coords[:-1]), "F.SilkS", width,
                        fill=True))
    else:  # no room at the corner: a dot diagonally outside it, moved out until clear of the pads
        dot = marker / 4
        need = dot / math.cos(math.pi / 32) + width / 2 + 1e-6  # as the check sees the disc, plus float slack
        for k in range(40):
            t = marker * (1 + 0.25 * k)
            at = shapely.Point(corner[0] - t, corner[1] - t)
            near = pad_keepout(pads, grow=max(mask_margin, 0) + clearance, near=at, reach=need)
            if near.is_empty or shapely.distance(near, at) > need:
                break
        out.append(Circle((snap(at.x), snap(at.y)), dot, "F.SilkS", width, fill=True))
    return out


def courtyard_rect(extent: tuple[float, float, float, float], *, offset: float, grid: float,
                   width: float) -> tuple[Poly, shapely.Polygon]:
    """Courtyard rectangle: ``extent`` (minx, miny, maxx, maxy) + ``offset``, on ``grid`` (KLC F5.3).

    Args:
        extent: (minx, miny, maxx, maxy) of everything the courtyard encloses (mm).
        offset: courtyard clearance added on every side (mm).
        grid: each edge is rounded outward to a multiple of this (mm, e.g. 0.01).
        width: line width (mm).

    Returns:
        ``(drawing, polygon)``: the F.CrtYd polygon and the same rectangle as a shapely box.

    Example:
        >>> courtyard_rect((-1.0, -1.0, 1.0, 1.0), offset=0.255, grid=0.01, width=0.05)[1].bounds
        (-1.26, -1.26, 1.26, 1.26)
    """
    minx, miny, maxx, maxy = extent
    x0, y0 = round_out(minx - offset, grid), round_out(miny - offset, grid)
    x1, y1 = round_out(maxx + offset, grid), round_out(maxy + offset, grid)
    pts = ((x0, y0), (x1, y0), (x1, y1), (x0, y1))
    return Poly(pts, "F.CrtYd", width), shapely.box(x0, y0, x1, y1)


def fab_reference(body: tuple[float, float], center: tuple[float, float] = (0.0, 0.0)) -> Text:
    """``${REFERENCE}`` on F.Fab, 0.5–1.0 mm high depending on the body (KLC F5.2)."""
    size = min(1.0, max(0.5, round(min(body) * 0.2, 2)))
    return Text("${REFERENCE}", center, "F.Fab", size=size, thickness=round(size * 0.15, 3))
