"""``.kicad_pcb`` writer for a :class:`~kisubstrate.geometry.board.BoardGeom`, for KiCad 9 or 10.

KiCad 9 (format 20241229): numbered nets and a net table, one ``blind`` via type. KiCad 10
(format 20260206, :mod:`kisubstrate.kicad.target`): nets by name, ``blind`` / ``buried`` vias,
IPC-4761 via protection in the setup and ``(capping yes) (filling yes)`` (Type VII) on the vias
:func:`~kisubstrate.geometry.protection.protected_vias` names (stacked microvias, vias in pads).

Pads are written inside footprints (KiCad has no free pads): one footprint per pad
owner (a die ``U1`` on ``F.Cu``, the ball grid ``BALLS`` on ``B.Cu``) at the origin
with rotation 0, so pad coordinates in the file are board coordinates. Zones carry
their computed fill (kicad-cli cannot refill), split into hole-free pieces. Every item
has a uuid5 of the board name and the item's stable key, so regenerated boards diff
cleanly and DRC items map back to ours (:func:`item_uuid`).

Example:
    >>> item_uuid("demo", "via/0")
    '2ba76fb3-5887-5fba-9fb8-a7cce9d6ce52'
"""

from __future__ import annotations

import hashlib
import uuid

import numpy as np
import shapely

from kisubstrate import __version__
from kisubstrate.geometry.board import BoardGeom
from kisubstrate.geometry.protection import protected_vias
from kisubstrate.kicad.layers import LayerMap, layers_block, stackup_block
from kisubstrate.kicad.sexpr import quote
from kisubstrate.kicad.target import check_kicad, format_version
from kisubstrate.model.units import fmt, fmt_array

FORMAT_VERSION = 20241229
"""The KiCad 9 format (``kicad=9``); KiCad 10's is :func:`kisubstrate.kicad.target.format_version` (10)."""
SETUP_PROTECTION = {
    9: ("\t\t(tenting front back)",),
    10: ("\t\t(tenting (front yes) (back yes))", "\t\t(covering (front no) (back no))",
         "\t\t(plugging (front no) (back no))", "\t\t(capping no)", "\t\t(filling no)"),
}
"""The board's via protection defaults in ``(setup …)``: both sides tented (solder mask over the vias),
nothing covered, plugged, capped or filled; KiCad 10 spells each IPC-4761 option out."""
TYPE_VII = " (capping yes) (filling yes)"
"""Per-via IPC-4761 Type VII (filled and capped) in KiCad 10; every other via inherits the setup."""
NAMESPACE = uuid.UUID("6f2b1f0e-3c1d-4e38-9a7e-2d5c0b9a4e11")


_NS = NAMESPACE.bytes


def item_uuid(board: str, key: str) -> str:
    """Deterministic uuid5 of an item ``key`` on board ``board`` (same as ``uuid.uuid5``, 3x faster).

    >>> item_uuid("b", "via/7") == str(uuid.uuid5(NAMESPACE, "b/via/7"))
    True
    """
    h = bytearray(hashlib.sha1(_NS + f"{board}/{key}".encode()).digest()[:16])
    h[6] = (h[6] & 0x0F) | 0x50  # version 5
    h[8] = (h[8] & 0x3F) | 0x80  # RFC 4122 variant
    x = h.hex()
    return f"{x[:8]}-{x[8:12]}-{x[12:16]}-{x[16:20]}-{x[20:]}"


_PTS_PER_LINE = 200  # KiCad's line reader refuses lines over 1,000,000 bytes: long point lists wrap


def _pts(coords) -> str:
    xy = np.asarray(coords, float).reshape(-1, 2)
    items = [f"(xy {x} {y})" for x, y in zip(fmt_array(xy[:, 0]), fmt_array(xy[:, 1]))]
    if len(items) <= _PTS_PER_LINE:
        return " ".join(items)
    return "\n\t\t\t".join(" ".join(items[k:k + _PTS_PER_LINE]) for k in range(0, len(items), _PTS_PER_LINE))


def _fracture(poly: shapely.Polygon) -> list[tuple[float, float]] | None:
    """One outline for a polygon with holes, joined by zero-width slits (how KiCad stores fills).

    Each hole (top-most first) is linked from its top-most vertex straight up (−y) to the nearest
    edge of the outline built so far; returns None if no edge lies above (the caller then splits).
    """
    outer = [tuple(c) for c in shapely.get_coordinates(shapely.Polygon(poly.exterior).exterior)[:-1]]
    holes = sorted(([tuple(c) for c in shapely.get_coordinates(h)[:-1]] for h in poly.interiors),
                   key=lambda h: min(y for _x, y in h))
    ring = outer
    for hole in holes:
        k = min(range(len(hole)), key=lambda i: (hole[i][1], hole[i][0]))
        qx, qy = hole[k]
        best = None
        for i in range(len(ring)):
            (x1, y1), (x2, y2) = ring[i], ring[(i + 1) % len(ring)]
            if (x1 - qx) * (x2 - qx) > 0 or x1 == x2:
                continue
            y = y1 + (y2 - y1) * (qx - x1) / (x2 - x1)
            if y < qy and (best is None or y > best[1]):
                best = (i, y)
        if best is None:
            return None
        # holes go top-most first, so the slit meets the outline or an already linked hole first
        # and never crosses a hole that is still to come (all of those lie below qy)
        i, py = best
        p = (qx, py)
        ring = ring[:i + 1] + [p] + hole[k:] + hole[:k] + [hole[k], p] + ring[i + 1:]
    return ring


def _hole_free(geom: shapely.Geometry) -> list[list[tuple[float, float]]]:
    """Outlines of a fill without holes: fractured with slits, or split by vertical lines as a fallback."""
    out = []
    for poly in getattr(geom, "geoms", [geom]):
        if poly.is_empty:
            continue
        poly = shapely.normalize(poly)
        if not poly.interiors:
            out.append([tuple(c) for c in shapely.get_coordinates(poly.exterior)[:-1]])
            continue
        ring = _fracture(poly)
        if ring is not None:
            out.append(ring)
            continue
        minx, miny, maxx, maxy = poly.bounds
        cuts = sorted({round(shapely.Polygon(h).centroid.x, 6) for h in poly.interiors})
        edges = [minx - 1] + cuts + [maxx + 1]
        for a, b2 in zip(edges, edges[1:]):
            out += _hole_free(shapely.intersection(poly, shapely.box(a, miny - 1, b2, maxy + 1)))
    return out


def _copper_names(stackup, lm: LayerMap) -> dict[str, str]:
    """KiCad copper layer name → the spec's user name of that copper layer (``StackLayer.name``)."""
    coppers = [lay for lay in stackup.layers if lay.copper is not None]
    return {lm.name(i): lay.name for i, lay in enumerate(coppers) if lay.name}


def _net_tokens(nets: list[str], kicad: int) -> list[str]:
    """`` (net …)`` (with its leading space) per net code, "" for net 0 (no net).

    KiCad 9 writes ``(net N "name")``, KiCad 10 ``(net "name")``.
    """
    if kicad == 9:
        return [""] + [f" (net {code} {quote(n)})" for code, n in enumerate(nets) if code]
    return [""] + [f" (net {quote(n)})" for n in nets[1:]]


def _off_centre_inner_tracks(geom) -> set[int]:
    """Vias touched on an inner layer of their span by a track of their net that does not end on the via's centre."""
    v, t = geom.vias, geom.tracks
    by_net: dict[int, list[int]] = {}
    for k, n in enumerate(t.net.tolist()):
        by_net.setdefault(n, []).append(k)
    out = set()
    for i, n in enumerate(v.net.tolist()):
        ks = [k for k in by_net.get(n, ()) if v.top[i] < t.layer[k] < v.bottom[i]]
        if not ks:
            continue
        ks = np.array(ks)
        ax, ay, bx, by = t.x1[ks], t.y1[ks], t.x2[ks], t.y2[ks]
        dx, dy = bx - ax, by - ay
        ll = np.maximum(dx * dx + dy * dy, 1e-18)
        u = np.clip(((v.x[i] - ax) * dx + (v.y[i] - ay) * dy) / ll, 0.0, 1.0)
        d = np.hypot(ax + u * dx - v.x[i], ay + u * dy - v.y[i])
        touch = d <= v.size[i] / 2 + t.width[ks] / 2 + 1e-9
        centred = (np.hypot(ax - v.x[i], ay - v.y[i]) < 1e-6) | (np.hypot(bx - v.x[i], by - v.y[i]) < 1e-6)
        if (touch & ~centred).any():
            out.add(i)
    return out


def _via_word(kind: str, top: int, bottom: int, lm: LayerMap, copper: int, kicad: int) -> str:
    """The via type word KiCad writes before ``(at …)`` (with its trailing space; "" for a through via).

    A ``micro`` via must join adjacent KiCad layers (else it is written ``blind``). KiCad 9 has one
    ``blind`` type for blind and buried vias; for 10 a via reaching neither outer layer is ``buried``.
    """
    if kind == "micro" and not lm.adjacent(top, bottom):
        kind = "blind"
    if kind == "through" or (top == 0 and bottom == copper - 1 and kind != "micro"):
        return ""
    if kind == "blind" and kicad >= 10 and top != 0 and bottom != copper - 1:
        kind = "buried"
    return f"{kind} "


def _castellated(geom: BoardGeom, nets: list[str]) -> list[str]:
    """One footprint of plated half-holes on the outline; empty without any.

    The half-holes (``geom.extras.castellated``: :class:`~kisubstrate.geometry.board.Castellation`,
    mm) are written as KiCad castellated through-hole pads on every copper layer (KiCad's DRC
    exempts castellated pads from the board-edge clearance).
    """
    cs = geom.extras.castellated
    if not cs:
        return []
    name = geom.name
    out = [f"\t(footprint {quote(f'kisubstrate:{name}_EDGE')}", '\t\t(layer "F.Cu")',
           f'\t\t(uuid "{item_uuid(name, "fp/EDGE")}")', "\t\t(at 0 0)",
           f'\t\t(property "Reference" "EDGE" (at 0 0 0) (layer "F.Fab") (hide yes) '
           f'(uuid "{item_uuid(name, "fp/EDGE/ref")}") (effects (font (size 0.5 0.5) (thickness 0.08))))',
           f'\t\t(property "Value" "EDGE" (at 0 0.8 0) (layer "F.Fab") (hide yes) '
           f'(uuid "{item_uuid(name, "fp/EDGE/value")}") (effects (font (size 0.5 0.5) (thickness 0.08))))',
           "\t\t(attr through_hole board_only exclude_from_pos_files exclude_from_bom)"]
    for c in cs:
        net = nets[int(c.net)]
        out.append(f'\t\t(pad {quote(c.name)} thru_hole circle (at {fmt(c.x)} {fmt(c.y)}) '
                   f'(size {fmt(c.pad)} {fmt(c.pad)}) (drill {fmt(c.drill)}) (property pad_prop_castellated) '
                   f'(layers "*.Cu" "*.Mask"){net} (uuid "{item_uuid(name, "edge/" + c.name)}"))')
    return out + ["\t\t(embedded_fonts no)", "\t)"]


def write_board(geom: BoardGeom, stackup, *, carrier_clearance: float = 0.0, kicad: int = 9) -> str:
    """The ``.kicad_pcb`` text of a board (ends with a newline).

    Args:
        geom: the board (mm, KiCad frame).
        stackup: the :class:`~kisubstrate.model.substrate.Stackup` written into ``(setup …)`` (mm).
        carrier_clearance: pad clearance of the copper zones (mm).
        kicad: the KiCad release to write for, 9 (format 20241229) or 10 (format 20260206, with
            IPC-4761 via protection and buried vias; see the module docstring).

    Raises:
        SpecError: ``kicad`` is not 9 or 10.
    """
    kicad = check_kicad(kicad)
    name = geom.name
    lm = LayerMap(geom.copper)
    lay = [lm.name(i) for i in range(geom.copper)]
    qlay = [quote(x) for x in lay]
    nets = geom.nets
    qnet = [quote(n) for n in nets]
    tnet = _net_tokens(nets, kicad)
    L: list[str] = []
    thickness = stackup.thickness() + 2 * stackup.mask_thickness
    L += ["(kicad_pcb", f"\t(version {format_version(kicad)})", '\t(generator "kisubstrate")',
          f"\t(generator_version {quote(__version__)})", "\t(general", f"\t\t(thickness {fmt(thickness)})",
          "\t\t(legacy_teardrops no)", "\t)", '\t(paper "A4")', layers_block(lm, user_names=_copper_names(stackup, lm),
                                                    user_layers=geom.extras.user_layers), "\t(setup",
          stackup_block(stackup, lm), "\t\t(pad_to_mask_clearance 0)",
          "\t\t(allow_soldermask_bridges_in_footprints no)", *SETUP_PROTECTION[kicad], "\t)"]
    if kicad == 9:  # KiCad 10 names nets where they are used: no net table
        for code in range(len(nets)):
            L.append(f"\t(net {code} {qnet[code]})")

    # -- footprints (pad owners) -----------------------------------------------------------------
    p = geom.pads
    groups: dict[str, list[int]] = {}
    for i, o in enumerate(p.owner):  # one pass: grouping per owner was quadratic on big panels
        groups.setdefault(o, []).append(i)
    owners = sorted(groups, key=lambda o: (o == "BALLS", o))
    pl, pm, pn = (a.tolist() for a in (p.layer, p.mask, p.net))
    px, py, pw, ph = (fmt_array(a) for a in (p.x, p.y, p.w, p.h))
    for owner in owners:
        idx = groups[owner]
        back = all(lay[pl[i]] == "B.Cu" for i in idx)
        side = "B" if back else "F"
        ref = "J1" if owner == "BALLS" else owner
        fu = item_uuid(name, f"fp/{owner}")
        mirror = " (justify mirror)" if back else ""
        L += [f"\t(footprint {quote(f'kisubstrate:{name}_{owner}')}", f'\t\t(layer "{side}.Cu")', f'\t\t(uuid "{fu}")',
              "\t\t(at 0 0)",
              f'\t\t(property "Reference" {quote(ref)} (at 0 0 0) (layer "{side}.Fab") (hide yes) '
              f'(uuid "{item_uuid(name, f"fp/{owner}/ref")}") '
              f'(effects (font (size 0.5 0.5) (thickness 0.08)){mirror}))',
              f'\t\t(property "Value" {quote(owner)} (at 0 0.8 0) (layer "{side}.Fab") (hide yes) '
              f'(uuid "{item_uuid(name, f"fp/{owner}/value")}") '
              f'(effects (font (size 0.5 0.5) (thickness 0.08)){mirror}))',
              "\t\t(attr smd board_only exclude_from_pos_files exclude_from_bom)"]
        for i in idx:
            layer = lay[pl[i]]
            layers = quote(layer)
            mask = ""
            if not np.isnan(pm[i]):
                layers += f' "{layer[0]}.Mask"'
                mask = f" (solder_mask_margin {fmt(pm[i])})"
            net = tnet[int(pn[i])]
            L.append(f'\t\t(pad {quote(p.name[i])} smd {p.shape[i]} (at {px[i]} {py[i]}) '
                     f'(size {pw[i]} {ph[i]}) (layers {layers}){mask}{net} '
                     f'(uuid "{item_uuid(name, p.key(i))}"))')
        L += ["\t\t(embedded_fonts no)", "\t)"]
    L += _castellated(geom, tnet)

    # -- outline and drawings ----------------------------------------------------------------------
    coords = shapely.get_coordinates(shapely.normalize(geom.outline).exterior)[:-1]
    L.append(f"\t(gr_poly (pts {_pts(coords)}) (stroke (width 0.05) (type solid)) (fill no) "
             f'(layer "Edge.Cuts") (uuid "{item_uuid(name, "edge")}"))')
    for k, d in enumerate(geom.drawings):
        if d.text:
            x, y = d.points[0]
            L.append(f"\t(gr_text {quote(d.text)} (at {fmt(x)} {fmt(y)} 0) (layer {quote(d.layer)}) "
                     f'(uuid "{item_uuid(name, f"drawing/{k}")}") (effects (font (size {fmt(d.size)} {fmt(d.size)}) '
                     f"(thickness {fmt(round(d.size / 6, 4))})) (justify left)))")
        elif d.closed:
            L.append(f"\t(gr_poly (pts {_pts(d.points)}) (stroke (width {fmt(d.width)}) (type solid)) "
                     f'(fill {"yes" if d.fill else "no"}) (layer {quote(d.layer)}) '
                     f'(uuid "{item_uuid(name, f"drawing/{k}")}"))')
        else:
            for j, ((xa, ya), (xb, yb)) in enumerate(zip(d.points, d.points[1:])):
                L.append(f"\t(gr_line (start {fmt(xa)} {fmt(ya)}) (end {fmt(xb)} {fmt(yb)}) (stroke (width "
                         f'{fmt(d.width)}) (type solid)) (layer {quote(d.layer)}) '
                         f'(uuid "{item_uuid(name, f"drawing/{k}/{j}")}"))')

    # -- tracks and vias ---------------------------------------------------------------------------
    t = geom.tracks
    x1, y1, x2, y2, tw = (fmt_array(a) for a in (t.x1, t.y1, t.x2, t.y2, t.width))
    tl, tn = t.layer.tolist(), t.net.tolist()
    # KiCad 9 writes the net code of tracks and vias, net 0 included
    inet = tnet if kicad == 10 else [f" (net {code})" for code in range(len(nets))]
    for i in range(len(t)):
        L.append(f"\t(segment (start {x1[i]} {y1[i]}) (end {x2[i]} {y2[i]}) "
                 f'(width {tw[i]}) (layer {qlay[tl[i]]}){inet[tn[i]]} '
                 f'(uuid "{item_uuid(name, t.key(i))}"))')
    v = geom.vias
    vx, vy, vs, vd = (fmt_array(a) for a in (v.x, v.y, v.size, v.drill))
    vt, vb, vn = v.top.tolist(), v.bottom.tolist(), v.net.tolist()
    protect = [TYPE_VII if p else "" for p in protected_vias(geom).tolist()] if kicad == 10 else [""] * len(v)
    # an odd stack's placeholder layer carries no copper: a via crossing it keeps its end pads and
    # drops the pads of the layers it does not connect (KiCad's "remove unused layers"), so the
    # placeholder's Gerber has no flashes. KiCad keeps an inner pad only where it sees a connection; a
    # track ending off the via's centre on an inner layer could lose its pad, so such a via keeps them all.
    cross = lm.placeholder is not None
    keep_all = _off_centre_inner_tracks(geom) if cross else set()
    for i in range(len(v)):
        top, bot = vt[i], vb[i]
        word = _via_word(v.kind[i], top, bot, lm, geom.copper, kicad)
        unused = " (remove_unused_layers yes) (keep_end_layers yes)" \
            if cross and bot == geom.copper - 1 and i not in keep_all else ""
        L.append(f"\t(via {word}(at {vx[i]} {vy[i]}) (size {vs[i]}) "
                 f'(drill {vd[i]}) (layers {qlay[top]} {qlay[bot]}){unused}{protect[i]}{inet[vn[i]]} '
                 f'(uuid "{item_uuid(name, v.key(i))}"))')

    # -- zones and rule areas --------------------------------------------------------------------
    for z in geom.zones:
        zl = [lay[i] for i in z.layers]
        layer_tok = f"(layer {quote(zl[0])})" if len(zl) == 1 else "(layers " + " ".join(quote(x) for x in zl) + ")"
        outline = shapely.get_coordinates(shapely.normalize(z.outline).exterior)[:-1]
        znet = [f"\t\t(net {z.net})", f"\t\t(net_name {qnet[z.net]})"] if kicad == 9 else \
            [f"\t\t{tnet[z.net].strip()}"] if z.net else []
        L += ["\t(zone", *znet, f"\t\t{layer_tok}",
              f'\t\t(uuid "{item_uuid(name, z.key)}")', f"\t\t(name {quote(z.name)})", "\t\t(hatch edge 0.5)"]
        if z.priority:
            L.append(f"\t\t(priority {z.priority})")
        if z.keepout is not None:
            k = z.keepout
            word = {True: "allowed", False: "not_allowed"}
            L += ["\t\t(connect_pads (clearance 0))", "\t\t(min_thickness 0.025)", "\t\t(filled_areas_thickness no)",
                  f"\t\t(keepout (tracks {word[k['tracks']]}) (vias {word[k['vias']]}) (pads {word[k['pads']]}) "
                  f"(copperpour {word[k['copperpour']]}) (footprints {word[k['footprints']]}))",
                  "\t\t(fill (thermal_gap 0.2) (thermal_bridge_width 0.2))",
                  f"\t\t(polygon (pts {_pts(outline)}))", "\t)"]
            continue
        # pads join the fill solidly, as the written fill does (KiCad's default, thermal reliefs, would
        # cut a refill well below it)
        L += [f"\t\t(connect_pads yes (clearance {fmt(carrier_clearance)}))", "\t\t(min_thickness 0.025)",
              "\t\t(filled_areas_thickness no)",
              "\t\t(fill yes (thermal_gap 0.2) (thermal_bridge_width 0.2) (island_removal_mode 1))",
              f"\t\t(polygon (pts {_pts(outline)}))"]
        if z.fill is not None:
            for pc in _hole_free(z.fill):
                for zname in zl:
                    L.append(f'\t\t(filled_polygon (layer {quote(zname)}) (pts {_pts(pc)}))')
        L.append("\t)")
    L += ["\t(embedded_fonts no)", ")"]
    return "\n".join(L) + "\n"
