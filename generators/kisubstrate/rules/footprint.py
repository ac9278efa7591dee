"""Rule checks of a footprint before it is written (shapely / numpy, exact for circles).

Rules (ids in reports):

* ``copper_clearance`` — pad-to-pad copper gap ≥ ``copper_clearance``;
* ``mask_web`` — solder-mask web between neighbouring openings ≥ ``mask_web``;
* ``mask_registration`` — NSMD opening exceeds the land by ≥ ``mask_registration`` per side;
* ``silk_clearance`` — silk lines keep ``silk_clearance`` from copper and mask openings;
* ``courtyard`` — the courtyard covers every pad and the body;
* ``annular_ring`` — plated pads ring their drill by ≥ ``annular_ring``;
* ``hole_to_hole`` — drill edges ≥ ``hole_to_hole`` apart.

Example:
    >>> from kisubstrate.api import generate_footprint
    >>> r = generate_footprint({"family": "bga", "body": [5, 5], "pitch": 0.5, "layout": [9, 9],
    ...                         "ball_diameter": 0.3, "pad_diameter": 0.42}).report
    >>> r.ok, sorted({v.rule for v in r.violations})
    (False, ['copper_clearance', 'mask_web'])
"""

from __future__ import annotations

import numpy as np
import shapely

from kisubstrate.geometry.ir import Circle, FootprintGeom, Line, PadGroup, Poly
from kisubstrate.model.rules import RuleSet
from kisubstrate.rules.report import Report, Violation
from kisubstrate.rules.spatial import (circle_pairs, closest_point_between, point_segment_distance,
                                       polygon_pairs)

EPS = 1e-9  # 1e-9 mm: below KiCad's 1 nm resolution; guards float noise only


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
    i, j, gap = circle_pairs(x, y, radii, within=required - EPS)
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
        pi, pj, dist = polygon_pairs(outlines, within=required - EPS)
        mixed = ~(circ[pi] & circ[pj])
        for a, b, d in zip(pi[mixed].tolist(), pj[mixed].tolist(), dist[mixed].tolist()):
            if names[a] == names[b] and names[a]:
                continue
            if d == 0:  # overlapping: report the overlap depth as a negative gap
                inter = shapely.intersection(outlines[a], outlines[b])
                d = -float(np.sqrt(max(inter.area, 0.0)))
            pa, pb = shapely.shortest_line(outlines[a], outlines[b]).coords
            where = ((pa[0] + pb[0]) / 2, (pa[1] + pb[1]) / 2)
            out.append(Violation(rule, (names[a], names[b]), (round(where[0], 6), round(where[1], 6)), layer,
                                 round(d, 6), required))
    return out, checked


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
            out.append(Violation("mask_registration", (g.names[0], f"+{len(g) - 1} pads"),
                                 (float(g.x[0]), float(g.y[0])), "F.Mask", margin, rules.mask_registration,
                                 "NSMD opening too tight for mask registration"))
    return out, checked


def _silk_items(fp: FootprintGeom) -> list[tuple[str, shapely.Geometry, float]]:
    """(label, centre-line geometry, half width) of every silk item."""
    items = []
    for k, g in enumerate(fp.graphics):
        if getattr(g, "layer", None) != "F.SilkS":
            continue
        if isinstance(g, Line):
            items.append((f"silk line {k}", shapely.LineString([g.start, g.end]), g.width / 2))
        elif isinstance(g, Poly):
            poly = shapely.Polygon(g.points)
            items.append((f"silk poly {k}", poly if g.fill else poly.exterior, g.width / 2))
        elif isinstance(g, Circle):
            disc = shapely.Point(g.center).buffer(g.radius / np.cos(np.pi / 32), quad_segs=8)
            items.append((f"silk circle {k}", disc if g.fill else disc.exterior, g.width / 2))
    return items


def check_silk(fp: FootprintGeom, rules: RuleSet) -> tuple[list[Violation], int]:
    """Silk-to-pad clearance, measured to copper and to the mask opening, whichever is larger."""
    items = _silk_items(fp)
    if not items or not fp.pads:
        return [], 0
    names, x, y, r_cu, circ, gid = _flat(fp.pads)
    grow = np.array([max(g.mask_margin or 0.0, 0.0) for g in fp.pads])[gid]
    r = r_cu + grow
    out: list[Violation] = []
    need = rules.silk_clearance
    outlines = None
    for label, geom, half in items:
        # exact for circles: distance from the centre to the silk centre line
        if isinstance(geom, shapely.LineString) and len(geom.coords) == 2:
            (ax, ay), (bx, by) = geom.coords
            dist, qx, qy = point_segment_distance(x, y, ax, ay, bx, by)
        else:
            pts = shapely.points(x, y)
            dist = shapely.distance(geom, pts)
            near = shapely.shortest_line(geom, pts)
            c = shapely.get_coordinates(near).reshape(-1, 2, 2)[:, 0, :]
            qx, qy = c[:, 0], c[:, 1]
            inside = shapely.contains_xy(geom, x, y) if geom.geom_type == "Polygon" else np.zeros(len(x), bool)
            dist = np.where(inside, -r, dist)
        gap = dist - r - half
        hit = np.nonzero(gap < need - EPS)[0]
        for k in hit.tolist():
            if not circ[k]:
                if outlines is None:
                    outlines = np.concatenate([g.outlines(max(g.mask_margin or 0.0, 0.0)) for g in fp.pads])
                exact = float(shapely.distance(outlines[k], geom)) - half
                if exact >= need - EPS:
                    continue
                gap_k = exact
            else:
                gap_k = float(gap[k])
            out.append(Violation("silk_clearance", (label, names[k]),
                                 (round(float(qx[k]), 6), round(float(qy[k]), 6)), "F.SilkS", round(gap_k, 6),
                                 need))
    return out, len(items) * len(x)


def check_courtyard(fp: FootprintGeom, rules: RuleSet) -> tuple[list[Violation], int]:
    """The courtyard must cover every pad's copper and the body."""
    out: list[Violation] = []
    cy = fp.courtyard
    minx, miny, maxx, maxy = cy.bounds
    is_rect = abs(cy.area - (maxx - minx) * (maxy - miny)) < 1e-9
    for g in fp.pads:
        half_w = g.size[0] / 2 if g.shape == "circle" else g.size[0] / 2
        half_h = g.size[1] / 2 if g.shape == "circle" else g.size[1] / 2
        if is_rect:
            outside = ((g.x - half_w < minx - EPS) | (g.x + half_w > maxx + EPS) |
                       (g.y - half_h < miny - EPS) | (g.y + half_h > maxy + EPS))
        else:
            outside = ~shapely.covers(cy, g.outlines())
        for k in np.nonzero(outside)[0].tolist():
            out.append(Violation("courtyard", (g.names[k], "courtyard"), (float(g.x[k]), float(g.y[k])),
                                 "F.CrtYd", 0.0, 0.0, "pad not inside the courtyard"))
    if not shapely.covers(cy, fp.body):
        c = fp.body.centroid
        out.append(Violation("courtyard", ("body", "courtyard"), (c.x, c.y), "F.CrtYd", 0.0, 0.0,
                             "body not inside the courtyard"))
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
                out.append(Violation("annular_ring", (g.names[0], f"+{len(g) - 1} pads"),
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
    for name, check in CHECKS.items():
        found, checked = check(fp, rules)
        report.extend(found)
        report.checked[name] = checked
    return report
