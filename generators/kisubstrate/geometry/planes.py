"""Plane fills: the copper a ``plane`` or ``mixed`` layer pours for its nets, as KiCad zones with fills.

A layer that pours one net fills the board (less the edge clearance); a layer that pours
several (a split plane) gives each net the Voronoi cells of its own vias on that layer, shrunk
by half the clearance on each side. From each region the copper of every other net on the
layer is cut out, grown by the clearance (circles are circumscribed, so the cut is never
smaller than the true clearance), and pieces that touch none of the net's own copper on the
layer are dropped: what remains is joined to the net through its vias.

Example:
    >>> import shapely
    >>> from kisubstrate.geometry.board import BoardBuilder
    >>> b = BoardBuilder("p", copper=2, outline=shapely.box(-1, -1, 1, 1))
    >>> gnd, sig = b.net("GND"), b.net("S")
    >>> b.via(-0.5, 0.0, 0.12, 0.06, 0, 1, net=gnd, kind="micro")
    >>> b.via(0.5, 0.0, 0.12, 0.06, 0, 1, net=sig, kind="micro")
    >>> [z] = plane_zones(b.build(), layer=1, nets=[gnd], clearance=0.025, edge=0.1)
    >>> z.net == gnd, round(z.fill.area, 3)
    (True, 3.216)
"""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import shapely

from kisubstrate.geometry.board import BoardGeom, Zone, copper_items

_QUAD = 8  # segments per quarter circle of a buffered circle
_GROW = 1 / math.cos(math.pi / (4 * _QUAD))  # circumscribes the circle: the polygon is never inside it
_EPS = 1e-4  # mm of extra clearance for the polygon arithmetic (well under KiCad's tolerance, above float noise)


def plane_zones(geom: BoardGeom, *, layer: int, nets: list[int], clearance: float, edge: float,
                name: str = "plane", regions: dict[int, shapely.Geometry] | None = None) -> list[Zone]:
    """Filled zones of ``nets`` on copper ``layer`` of a built board (one zone per net with copper left).

    Args:
        geom: the board with every pad, via and track already placed.
        layer: copper layer index of the plane.
        nets: net codes poured on the layer (one: a full plane; several: a split plane).
        clearance: copper-to-copper clearance between nets (mm).
        edge: copper-to-board-edge clearance (mm).
        name: zone name prefix (``<name>-<layer>-<net>``).
        regions: the area of each net (a split plane, e.g. from :func:`split_regions`, or one net kept
            to a part of the layer); default the Voronoi cells of each net's vias on the layer.
    """
    ax, ay, bx, by, r, lay, net, _src, _idx = copper_items(geom)
    on = lay == layer
    ax, ay, bx, by, r, net = ax[on], ay[on], bx[on], by[on], r[on], net[on]
    cores = shapely.linestrings(np.stack([np.stack([ax, ay], 1), np.stack([bx, by], 1)], 1)) if len(ax) else \
        np.zeros(0, object)
    pts = ax == bx
    pts &= ay == by
    if len(ax):
        cores[pts] = shapely.points(ax[pts], ay[pts])
    inner = shapely.buffer(geom.outline, -(edge + _EPS), join_style="mitre")
    if regions is not None:
        regions = {n: shapely.intersection(g, inner) for n, g in regions.items()}
    else:
        regions = _regions(inner, ax, ay, bx, by, net, pts, nets, clearance)
    zones = []
    for n in nets:
        region = regions.get(n)
        if region is None or region.is_empty:
            continue
        other = net != n
        cut = shapely.union_all(shapely.buffer(cores[other], (r[other] + clearance) * _GROW + _EPS, quad_segs=_QUAD))
        fill = shapely.difference(region, cut) if not cut.is_empty else region
        own = cores[~other]
        if not len(own):
            continue
        own_copper = shapely.union_all(shapely.buffer(own, r[~other] * 0.5, quad_segs=_QUAD))
        pieces = [p for p in shapely.get_parts(fill) if p.area > 0 and p.intersects(own_copper)]
        if not pieces:
            continue
        # one zone per part of the region (its outline is what KiCad refills), with the pieces inside it
        parts = [p for p in shapely.get_parts(region) if p.area > 0]
        for k, part in enumerate(parts):
            inside = [p for p in pieces if part.contains(p.representative_point())]
            if inside:
                fill = shapely.MultiPolygon(inside) if len(inside) > 1 else inside[0]
                zones.append(Zone(name=f"{name}-{layer}-{n}" + (f"-{k}" if len(parts) > 1 else ""), layers=(layer,),
                                  outline=shapely.Polygon(part.exterior), net=n, fill=fill))
    # a part's outline may enclose another part (a region with a hole), and KiCad's refill gives an
    # overlap to the higher priority: the smaller the outline, the higher its zone's priority
    rank = sorted(range(len(zones)), key=lambda k: (-round(zones[k].outline.area, 9), k))
    prio = {k: p for p, k in enumerate(rank)}
    return [replace(z, priority=prio[k]) for k, z in enumerate(zones)] if len(zones) > 1 else zones


def _regions(inner, ax, ay, bx, by, net, pts, nets, clearance) -> dict[int, shapely.Geometry]:
    """The area each net may pour: the whole inner board for one net, Voronoi cells of its vias for several."""
    if len(nets) == 1:
        return {nets[0]: inner}
    sel = pts & np.isin(net, nets)
    return split_regions(inner, ax[sel], ay[sel], net[sel], nets, clearance)


def split_regions(inner, x, y, site_net, nets: list[int], clearance: float) -> dict[int, shapely.Geometry]:
    """Split ``inner`` between ``nets``: each net gets the Voronoi cells of its sites, ``clearance`` apart.

    Args:
        inner: the area to split (shapely polygon, mm).
        x: site x (array, mm).
        y: site y (array, mm).
        site_net: net code of each site.
        nets: the nets sharing the area.
        clearance: gap left between neighbouring nets' regions (mm).

    Example:
        >>> r = split_regions(shapely.box(-2, -1, 2, 1), np.array([-1.0, 1.0]), np.array([0.0, 0.0]),
        ...                   np.array([3, 4]), [3, 4], 0.1)
        >>> round(r[3].bounds[2], 4), round(r[4].bounds[0], 4)
        (-0.0501, 0.0501)
    """
    xy = np.unique(np.stack([np.asarray(x, float), np.asarray(y, float), np.asarray(site_net, float)], 1), axis=0)
    if not len(xy):
        return {}
    # a point shared by two nets cannot happen (clearance); keep the first of each point
    _u, first = np.unique(xy[:, :2], axis=0, return_index=True)
    xy = xy[np.sort(first)]
    # in whole micrometres: GEOS builds self-intersecting cells from lattice points like 0.3999999999999999
    um = np.round(xy[:, :2] * 1000)
    box = shapely.box(*(np.array(inner.bounds) * 1000 + [-1000, -1000, 1000, 1000]))
    cells = shapely.get_parts(shapely.voronoi_polygons(shapely.multipoints(um), extend_to=box))
    cells = shapely.transform(cells, lambda c: c / 1000)
    tree = shapely.STRtree(shapely.points(xy[:, 0], xy[:, 1]))
    cell_idx, site_idx = tree.query(cells, predicate="contains")
    owner = np.full(len(cells), -1, np.int64)
    owner[cell_idx] = xy[site_idx, 2].astype(np.int64)
    out = {}
    for n in nets:
        mine = cells[owner == n]
        if len(mine):
            area = shapely.union_all(mine, grid_size=1e-6).buffer(-(clearance / 2 + _EPS), join_style="mitre")
            out[n] = shapely.intersection(area, inner)
    return out


__all__ = ["plane_zones", "split_regions"]
