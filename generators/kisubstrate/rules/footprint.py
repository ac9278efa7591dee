"""Rule checks of a footprint before it is written (shapely / numpy, exact for circles).

Rules (ids in reports):

* ``copper_clearance`` — pad-to-pad copper gap ≥ ``copper_clearance``;
* ``mask_web`` — solder-mask web between neighbouring openings ≥ ``mask_web``;
* ``mask_registration`` — NSMD opening exceeds the land by ≥ ``mask_registration`` per side;
* ``silk_clearance`` — silk lines keep ``silk_clearance`` from copper and mask openings;
* ``courtyard`` — the courtyard covers every pad and the body;
* ``annular_ring`` — plated pads ring their drill by ≥ ``annular_ring``;
* ``hole_to_hole`` — drill edges ≥ ``hole_to_hole`` apart.

Example (two 0.42 mm lands 0.5 mm apart leave 0.08 mm of copper between them):
    >>> import numpy as np, shapely
    >>> from kisubstrate.geometry.ir import FootprintGeom, PadGroup
    >>> from kisubstrate.model.rules import load_rules
    >>> lands = PadGroup(["A1", "A2"], np.array([-0.25, 0.25]), np.zeros(2), "smd", "circle", (0.42, 0.42),
    ...                  ("F.Cu", "F.Mask"), mask_margin=0.05)
    >>> fp = FootprintGeom("Two", "lga", "", "", "smd", [lands], [], shapely.box(-1, -1, 1, 1),
    ...                    shapely.box(-1.5, -1.5, 1.5, 1.5), (0, -2), (0, 2))
    >>> r = check_footprint(fp, load_rules("ipc-default"))
    >>> r.ok, sorted({v.rule for v in r.violations})
    (False, ['copper_clearance', 'mask_web'])
"""

from __future__ import annotations

import contextvars

import numpy as np
import shapely

from kisubstrate.geometry.ir import Circle, FootprintGeom, Line, PadGroup, Poly
from kisubstrate.model.rules import RuleSet
from kisubstrate.model.units import NM, TOL
from kisubstrate.rules.report import Report, Violation
from kisubstrate.rules.spatial import (
    CellPairs,
    cell_pairs,
    circle_pairs,
    closest_point_between,
    polygon_pairs,
)

EPS = TOL  # kisubstrate.model.units.TOL: the one tolerance of every rule check (mm)

# Within one check_footprint run, the copper and mask checks pair the same pads: they share
# one binning of the pad centres ({"reach": mm, "cells": {group ids: CellPairs}}).
_SHARED_CELLS: contextvars.ContextVar[dict | None] = contextvars.ContextVar("kisubstrate_cells", default=None)


def _shared_cells(groups: list[PadGroup], x: np.ndarray, y: np.ndarray, reach: float) -> CellPairs | None:
    """Candidate pairs of these pad groups, computed once per check_footprint run."""
    shared = _SHARED_CELLS.get()
    if shared is None:
        return None
    key = tuple(id(g) for g in groups)
    cells = shared["cells"].get(key)
    if cells is None or cells.cell < reach:
        cells = shared["cells"][key] = cell_pairs(x, y, max(reach, shared["reach"]))
    return cells


def _pair_reach(fp: FootprintGeom, rules: RuleSet) -> float:
    """A cell size (mm) wide enough for both the copper-clearance and the mask-web pairs."""
    if not fp.pads:
        return 0.0
    r = max(0.5 * g.size[0] if g.shape == "circle" else g.radius for g in fp.pads)
    grow = max(max(g.mask_margin or 0.0, 0.0) for g in fp.pads)
    return max(2 * r + rules.copper_clearance, 2 * (r + grow) + rules.mask_web)


def _flat(groups: list[PadGroup], *, grow_by_mask: bool = False, mask_sign: float = 1.0):
    """Concatenate pad groups: names, x, y, effective radius, is-circle flag, group index."""
    names: list[str] = []
    xs, ys, rs, circ, gid = [], [], [], [], []
    for k, g in enumerate(groups):
        n = len(g)
        names += g.names
        xs.append(g.x)
        ys.append(g.y)
        grow = (g.mask_margin or 0.0) if grow_by_mask else 0.0
        rs.append(np.full(n, 0.5 * g.size[0] + grow if g.shape == "circle" else g.radius + grow))
        circ.append(np.full(n, g.shape == "circle"))
        gid.append(np.full(n, k))
    return (names, np.concatenate(xs), np.concatenate(ys), np.concatenate(rs), np.concatenate(circ),
            np.concatenate(gid))


def _pair_violations(groups: list[PadGroup], *, rule: str, required: float, layer: str,
                     grow: list[float]) -> tuple[list[Violation], int]:
    """Gap check between pad outlines grown per group (exact circles, polygons via shapely)."""
    names, x, y, _, circ, gid = _flat(groups)
    radii = np.array([0.5 * g.size[0] + grow[k] if g.shape == "circle" else g.radius + grow[k]
                      for k, g in enumerate(groups)])[gid]
    out: list[Violation] = []
    cells = _shared_cells(groups, x, y, 2 * float(radii.max()) + required - EPS)
    i, j, gap = circle_pairs(x, y, radii, within=required - EPS, cells=cells)
    both_circles = circ[i] & circ[j]
    for a, b, d in zip(i[both_circles].tolist(), j[both_circles].tolist(), gap[both_circles].tolist()):
        if names[a] == names[b] and names[a]:  # same pad number = same net (EP and its vias)
            continue
        where = closest_point_between(x[a], y[a], radii[a], x[b], y[b], radii[b])
        out.append(Violation(rule, (names[a], names[b]), (round(where[0], 6), round(where[1], 6)), layer,
                             round(d, 6), required))
    checked = len(x)
    if not circ.all():
        # any pair involving a non-circular pad: exact polygon distance on conservative outlines
        outlines = np.concatenate([g.outlines(grow[k]) for k, g in enumerate(groups)])
        # within >= EPS so overlapping pads are found even when the rule asks for 0 mm
        pi, pj, dist = polygon_pairs(outlines, within=max(required - EPS, EPS))
        mixed = ~(circ[pi] & circ[pj])
        for a, b, d in zip(pi[mixed].tolist(), pj[mixed].tolist(), dist[mixed].tolist()):
            if names[a] == names[b] and names[a]:
                continue
            if d == 0:  # overlapping: report the overlap depth as a negative gap
                inter = shapely.intersection(outlines[a], outlines[b])
                d = -float(np.sqrt(max(inter.area, 0.0)))
            if d >= required - EPS:  # touching, not overlapping, under a 0 mm rule
                continue
            pa, pb = shapely.shortest_line(outlines[a], outlines[b]).coords
            where = ((pa[0] + pb[0]) / 2, (pa[1] + pb[1]) / 2)
            out.append(Violation(rule, (names[a], names[b]), (round(where[0], 6), round(where[1], 6)), layer,
                                 round(d, 6), required))
    return out, checked


def _group_items(g: PadGroup, partner: str) -> tuple[str, str]:
    """Items of a per-padstack violation: the first pad and how many share it (or its own part)."""
    return (g.names[0], f"+{len(g) - 1} pads") if len(g) > 1 else (g.names[0], partner)


def check_copper_clearance(fp: FootprintGeom, rules: RuleSet) -> tuple[list[Violation], int]:
    """Pad-to-pad copper gaps below ``rules.copper_clearance``."""
    groups = [g for g in fp.pads if g.kind != "np_thru_hole" and any(layer.endswith(".Cu") for layer in g.layers)]
    if not groups:
        return [], 0
    return _pair_violations(groups, rule="copper_clearance", required=rules.copper_clearance,
                            layer="F.Cu", grow=[0.0] * len(groups))


def _opening_grow(g: PadGroup) -> float:
    """Mask opening radius minus copper radius (negative for mask-defined SMD pads)."""
    return g.mask_margin or 0.0


def check_mask(fp: FootprintGeom, rules: RuleSet) -> tuple[list[Violation], int]:
    """Mask web between openings, and NSMD registration of each opening."""
    groups = [g for g in fp.pads if "F.Mask" in g.layers or "*.Mask" in g.layers]
    if not groups:
        return [], 0
    out, checked = _pair_violations(groups, rule="mask_web", required=rules.mask_web, layer="F.Mask",
                                    grow=[_opening_grow(g) for g in groups])
    for g in groups:
        margin = g.mask_margin
        if margin is not None and 0 <= margin < rules.mask_registration - EPS:
            out.append(Violation("mask_registration", _group_items(g, "its mask opening"),
                                 (float(g.x[0]), float(g.y[0])), "F.Mask", margin, rules.mask_registration,
                                 "NSMD opening too tight for mask registration"))
    return out, checked


def _silk_items(fp: FootprintGeom) -> list[tuple[str, shapely.Geometry, float, tuple | None]]:
    """(label, centre-line geometry, half width, circle) of every silk item.

    ``circle`` is ``(cx, cy, R, filled)`` for circles (measured exactly, the geometry only
    selects nearby pads), ``None`` otherwise.
    """
    items = []
    silk = [(k, g) for k, g in enumerate(fp.graphics) if getattr(g, "layer", None) == "F.SilkS"]
    # straight lines (hundreds where silk is clipped around every edge pad): one shapely call
    ends = [(g.start, g.end) for _, g in silk if isinstance(g, Line)]
    lines = iter(shapely.linestrings(np.array(ends, dtype=float)).tolist() if ends else ())
    for k, g in silk:
        if isinstance(g, Line):
            items.append((f"silk line {k}", next(lines), g.width / 2, None))
        elif isinstance(g, Poly):
            poly = shapely.Polygon(g.points)
            items.append((f"silk poly {k}", poly if g.fill else poly.exterior, g.width / 2, None))
        elif isinstance(g, Circle):
            disc = shapely.Point(g.center).buffer(g.radius / np.cos(np.pi / 32), quad_segs=8)
            items.append((f"silk circle {k}", disc if g.fill else disc.exterior, g.width / 2,
                          (float(g.center[0]), float(g.center[1]), float(g.radius), bool(g.fill))))
    return items


def _circle_gap(cx: float, cy: float, radius: float, filled: bool, near: np.ndarray, far: np.ndarray) -> np.ndarray:
    """Gap (mm) from a silk circle's centre line to pads whose points lie ``near``..``far`` from its centre.

    Exact: a ring of radius R is ``near - R`` from a pad outside it, ``R - far`` from a pad inside
    it, and crosses a pad that straddles it; a filled disc covers every pad with ``near < R``.

    >>> _circle_gap(0, 0, 1.0, False, np.array([1.5, 0.2, 0.9]), np.array([1.9, 0.6, 1.1])).tolist()
    [0.5, 0.4, 0.0]
    """
    outside = near - radius
    if filled:
        return outside
    return np.where(outside >= 0, outside, np.maximum(radius - far, 0.0))


def _line_candidates(lo: np.ndarray, hi: np.ndarray, order: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(item, pad) pairs for items whose candidates are ``order[lo[i]:hi[i]]``."""
    counts = np.maximum(hi - lo, 0)
    total = int(counts.sum())
    item = np.repeat(np.arange(len(lo)), counts)
    within = np.arange(total) - np.repeat(np.cumsum(counts) - counts, counts)
    return item, order[np.repeat(lo, counts) + within]


def check_silk(fp: FootprintGeom, rules: RuleSet) -> tuple[list[Violation], int]:
    """Silk-to-pad clearance, measured to copper and to the mask opening, whichever is larger.

    Exact for round pads (centre-to-centre-line distance minus radius). A pad farther than
    ``need + r_max + half`` from an item's bounding box cannot violate, so each item only
    measures the pads near it: candidates come from the pads sorted along the item's narrow
    axis (binary search), and all straight lines are measured in one vectorised pass.
    """
    items = _silk_items(fp)
    if not items or not fp.pads:
        return [], 0
    names, x, y, _, circ, gid = _flat(fp.pads)
    grow_g = [max(g.mask_margin or 0.0, 0.0) for g in fp.pads]
    # exact radius for round pads; for others the circumscribed radius of the grown outline
    # (a grown rectangle's corner lies beyond radius + grow: that circle would miss it)
    r = np.array([0.5 * g.size[0] + grow_g[k] if g.shape == "circle"
                  else 0.5 * float(np.hypot(g.size[0] + 2 * grow_g[k], g.size[1] + 2 * grow_g[k]))
                  for k, g in enumerate(fp.pads)])[gid]
    need = rules.silk_clearance
    outlines = None
    r_max = float(r.max())
    by_x, by_y = np.argsort(x, kind="stable"), np.argsort(y, kind="stable")
    x_sorted, y_sorted = x[by_x], y[by_y]
    found: dict[int, list[Violation]] = {}

    def emit(n: int, k: int, gap_k: float, qx: float, qy: float) -> None:
        nonlocal outlines
        label, geom, half, circle = items[n]
        if not circ[k]:
            if outlines is None:
                outlines = np.concatenate([g.outlines(max(g.mask_margin or 0.0, 0.0)) for g in fp.pads])
            if circle is None:
                exact = float(shapely.distance(outlines[k], geom)) - half
            else:  # the (circumscribed) pad outline's nearest and farthest points from the circle centre
                ccx, ccy, radius, filled = circle
                near = float(shapely.distance(outlines[k], shapely.Point(ccx, ccy)))
                far = float(np.hypot(*(shapely.get_coordinates(outlines[k]) - (ccx, ccy)).T).max())
                exact = float(_circle_gap(ccx, ccy, radius, filled, np.array([near]), np.array([far]))[0]) - half
            if exact >= need - EPS:
                return
            gap_k = exact
        found.setdefault(n, []).append(Violation("silk_clearance", (label, names[k]),
                                                 (round(qx, 6), round(qy, 6)), "F.SilkS", round(gap_k, 6), need))

    # straight lines (nearly all silk): exact point-to-segment distances, all lines at once
    line_ids = [n for n, (_, geom, _, _) in enumerate(items)
                if isinstance(geom, shapely.LineString) and shapely.get_num_points(geom) == 2]
    if line_ids:
        seg = shapely.get_coordinates(np.array([items[n][1] for n in line_ids])).reshape(-1, 4)
        ax, ay, bx, by = seg[:, 0], seg[:, 1], seg[:, 2], seg[:, 3]
        half = np.array([items[n][2] for n in line_ids])
        reach = need + r_max + half + NM
        minx, maxx = np.minimum(ax, bx) - reach, np.maximum(ax, bx) + reach
        miny, maxy = np.minimum(ay, by) - reach, np.maximum(ay, by) + reach
        narrow_x = np.abs(bx - ax) <= np.abs(by - ay)
        ix = np.flatnonzero(narrow_x)
        iy = np.flatnonzero(~narrow_x)
        i1, p1 = _line_candidates(np.searchsorted(x_sorted, minx[ix]), np.searchsorted(x_sorted, maxx[ix]), by_x)
        i1 = ix[i1]
        keep = (y[p1] >= miny[i1]) & (y[p1] <= maxy[i1])
        i2, p2 = _line_candidates(np.searchsorted(y_sorted, miny[iy]), np.searchsorted(y_sorted, maxy[iy]), by_y)
        i2 = iy[i2]
        keep2 = (x[p2] >= minx[i2]) & (x[p2] <= maxx[i2])
        item = np.concatenate([i1[keep], i2[keep2]])
        pad = np.concatenate([p1[keep], p2[keep2]])
        sax, say, sbx, sby = ax[item], ay[item], bx[item], by[item]
        dx, dy = sbx - sax, sby - say
        length2 = dx * dx + dy * dy
        px, py = x[pad], y[pad]
        with np.errstate(divide="ignore", invalid="ignore"):
            t = np.where(length2 == 0, 0.0, np.clip(((px - sax) * dx + (py - say) * dy) / length2, 0.0, 1.0))
        qx, qy = sax + t * dx, say + t * dy
        gap = np.hypot(px - qx, py - qy) - r[pad] - half[item]
        hit = np.flatnonzero(gap < need - EPS)
        hit = hit[np.lexsort((pad[hit], item[hit]))]
        for h in hit.tolist():
            emit(line_ids[int(item[h])], int(pad[h]), float(gap[h]), float(qx[h]), float(qy[h]))

    # polygons and circles (the pin-1 marker and the like): shapely, near pads only
    done = set(line_ids)
    for n, (_label, geom, half, circle) in enumerate(items):
        if n in done:
            continue
        reach = need + r_max + half + NM
        minx, miny, maxx, maxy = geom.bounds
        if maxx - minx <= maxy - miny:
            lo, hi = np.searchsorted(x_sorted, (minx - reach, maxx + reach))
            cand = by_x[lo:hi]
            cand = cand[(y[cand] >= miny - reach) & (y[cand] <= maxy + reach)]
        else:
            lo, hi = np.searchsorted(y_sorted, (miny - reach, maxy + reach))
            cand = by_y[lo:hi]
            cand = cand[(x[cand] >= minx - reach) & (x[cand] <= maxx + reach)]
        if not len(cand):
            continue
        cand = np.sort(cand)
        cx, cy, cr = x[cand], y[cand], r[cand]
        if circle is not None:  # exact: | |c - p| - R | - r - half for a ring (round pads)
            ccx, ccy, radius, filled = circle
            d = np.hypot(cx - ccx, cy - ccy)
            gap = _circle_gap(ccx, ccy, radius, filled, d - cr, d + cr) - half
            with np.errstate(divide="ignore", invalid="ignore"):
                ux = np.where(d > 0, (cx - ccx) / d, 1.0)
                uy = np.where(d > 0, (cy - ccy) / d, 0.0)
            for h in np.flatnonzero(gap < need - EPS).tolist():
                emit(n, int(cand[h]), float(gap[h]), ccx + radius * float(ux[h]), ccy + radius * float(uy[h]))
            continue
        pts = shapely.points(cx, cy)
        dist = shapely.distance(geom, pts)
        c = shapely.get_coordinates(shapely.shortest_line(geom, pts)).reshape(-1, 2, 2)[:, 0, :]
        inside = (shapely.contains_xy(geom, cx, cy) if geom.geom_type == "Polygon"
                  else np.zeros(len(cand), bool))
        gap = np.where(inside, -cr, dist) - cr - half
        for h in np.flatnonzero(gap < need - EPS).tolist():
            emit(n, int(cand[h]), float(gap[h]), float(c[h, 0]), float(c[h, 1]))
    out = [v for n in sorted(found) for v in found[n]]
    return out, len(items) * len(x)


def check_courtyard(fp: FootprintGeom, rules: RuleSet) -> tuple[list[Violation], int]:
    """The courtyard must cover every pad's copper and the body.

    ``measured`` is the distance from the item's farthest point to the courtyard edge,
    negative when it sticks out (mm); ``required`` is 0.
    """
    out: list[Violation] = []
    cy = fp.courtyard
    minx, miny, maxx, maxy = cy.bounds
    is_rect = abs(cy.area - (maxx - minx) * (maxy - miny)) < TOL
    for g in fp.pads:
        half_w, half_h = g.size[0] / 2, g.size[1] / 2
        if is_rect:  # exact for every pad shape: its bounding box touches the courtyard sides
            margin = np.minimum.reduce([g.x - half_w - minx, maxx - g.x - half_w,
                                        g.y - half_h - miny, maxy - g.y - half_h])
            outside = margin < -EPS
        else:
            outside = ~shapely.covers(cy, g.outlines())
            margin = np.zeros(len(g))
        for k in np.nonzero(outside)[0].tolist():
            if not is_rect:
                pts = shapely.points(shapely.get_coordinates(g.outlines()[k]))
                margin[k] = -float(shapely.distance(cy, pts).max())
            out.append(Violation("courtyard", (g.names[k], "courtyard"), (float(g.x[k]), float(g.y[k])),
                                 "F.CrtYd", round(float(margin[k]), 6), 0.0, "pad not inside the courtyard"))
    if not shapely.covers(cy, fp.body):
        corners = shapely.get_coordinates(fp.body)
        dist = shapely.distance(cy, shapely.points(corners))
        k = int(np.argmax(dist))
        out.append(Violation("courtyard", ("body", "courtyard"), (float(corners[k][0]), float(corners[k][1])),
                             "F.CrtYd", round(-float(dist[k]), 6), 0.0, "body not inside the courtyard"))
    return out, fp.pad_count + 1


def check_holes(fp: FootprintGeom, rules: RuleSet) -> tuple[list[Violation], int]:
    """Annular ring of plated pads and drill-to-drill spacing."""
    drilled = [g for g in fp.pads if g.drill is not None]
    if not drilled:
        return [], 0
    out: list[Violation] = []
    for g in drilled:
        if g.kind == "thru_hole":
            ring = (min(g.size) - g.drill) / 2
            if ring < rules.annular_ring - EPS:
                out.append(Violation("annular_ring", _group_items(g, "its drill"),
                                     (float(g.x[0]), float(g.y[0])), "*.Cu", round(ring, 6), rules.annular_ring))
    names = [n for g in drilled for n in g.names]
    x = np.concatenate([g.x for g in drilled])
    y = np.concatenate([g.y for g in drilled])
    r = np.concatenate([np.full(len(g), g.drill / 2) for g in drilled])
    i, j, gap = circle_pairs(x, y, r, within=rules.hole_to_hole - EPS)
    for a, b, d in zip(i.tolist(), j.tolist(), gap.tolist()):
        where = closest_point_between(x[a], y[a], r[a], x[b], y[b], r[b])
        out.append(Violation("hole_to_hole", (names[a], names[b]), (round(where[0], 6), round(where[1], 6)),
                             "drill", round(d, 6), rules.hole_to_hole))
    return out, len(x)


CHECKS = {
    "copper_clearance": check_copper_clearance,
    "mask": check_mask,
    "silk_clearance": check_silk,
    "courtyard": check_courtyard,
    "holes": check_holes,
}


def check_footprint(fp: FootprintGeom, rules: RuleSet) -> Report:
    """Run every footprint rule; returns a report (violations are data, never raised)."""
    report = Report(package=fp.name, profile=rules.name)
    token = _SHARED_CELLS.set({"reach": _pair_reach(fp, rules), "cells": {}})
    try:
        for name, check in CHECKS.items():
            found, checked = check(fp, rules)
            report.extend(found)
            report.checked[name] = checked
    finally:
        _SHARED_CELLS.reset(token)
    return report
