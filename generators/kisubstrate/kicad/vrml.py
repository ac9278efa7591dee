"""FootprintGeom → VRML 2.0 3D model (``.wrl``) of the package: body, balls / pins / lands.

KiCad reads VRML 2.0 with 1 unit = 0.1 inch (2.54 mm); the model's +y is the footprint's −y
(KiCad's footprint frame is y-down, the 3D frame y-up); z = 0 is the board surface.

Only node types KiCad's VRML 2 reader implements are used (``Shape``, ``Appearance``,
``Material``, ``IndexedFaceSet``, ``Coordinate``, ``Transform``, ``Group``, ``DEF``/``USE``):
spheres and cylinders are meshed here, because KiCad does not read the ``Sphere`` or
``Cylinder`` primitives. Each pad group's terminal is defined once and placed with
``Transform { translation … children USE … }``, so a 1000-ball BGA costs ≈ 55 kB.

What is drawn is decided by the pads, not the family name, so families added later get a
sensible model without touching this module:

* SMD pads with ``pad_prop_bga`` → solder balls (ellipsoids: ball diameter wide, collapsed
  to the stand-off high), body on top of the balls;
* plated through-hole pads → pins (cylinders of the pin diameter, ``pin_length`` below the
  board), body on stand-offs;
* other SMD copper pads → lands (thin boxes or discs of the pad size), body on the lands;
* plated holes in SMD footprints (thermal vias), pads not on ``F.Cu`` (paste-only, the
  exposed pad's ``B.Cu`` copy) and non-plated pads → nothing.

The model's name is the footprint's without board-only suffixes (:func:`model_name`), so a
footprint and its ``_ThermalVias`` twin share one model.

Example:
    >>> from kisubstrate.families.registry import get
    >>> bga = get("bga")
    >>> geom = bga.footprint(bga.spec.model_validate({"body": [3, 3], "pitch": 1, "layout": [2, 2],
    ...                                               "ball_diameter": 0.5}))[0]
    >>> text = vrml_model(geom)
    >>> text.splitlines()[0], text.count("DEF T0") + text.count("USE T0")
    ('#VRML V2.0 utf8', 4)
"""

from __future__ import annotations

import math

from kisubstrate.geometry.ir import FootprintGeom, PadGroup

MM_PER_UNIT = 2.54
LAND_THICKNESS = 0.05  # mm, copper-coloured package lands (LGA / no-lead)

BODY_COLOURS = {"wlcsp": (0.12, 0.14, 0.22), "pga": (0.62, 0.55, 0.45)}
DEFAULT_BODY_COLOUR = (0.15, 0.15, 0.15)
BALL_COLOUR = (0.78, 0.78, 0.80)
PIN_COLOUR = (0.86, 0.72, 0.32)
LAND_COLOUR = (0.86, 0.72, 0.32)
MARK_COLOUR = (0.85, 0.85, 0.85)


def _u(mm: float) -> str:
    """A length in mm as VRML units (4 decimals = 0.25 µm), never ``-0.0000``."""
    s = f"{mm / MM_PER_UNIT:.4f}"
    return "0.0000" if s == "-0.0000" else s


def _material(rgb: tuple[float, float, float], *, shininess: float = 0.2, specular: float = 0.2) -> str:
    r, g, b = rgb
    return (f"appearance Appearance {{ material Material {{ diffuseColor {r:g} {g:g} {b:g} "
            f"specularColor {specular:g} {specular:g} {specular:g} shininess {shininess:g} }} }}")


def _faceset(points: list[tuple[float, float, float]], faces: list[tuple[int, ...]]) -> str:
    pts = ", ".join(f"{_u(x)} {_u(y)} {_u(z)}" for x, y, z in points)
    idx = ", ".join(" ".join(map(str, f)) + " -1" for f in faces)
    return (f"geometry IndexedFaceSet {{ solid TRUE creaseAngle 0.9\n"
            f"    coord Coordinate {{ point [ {pts} ] }}\n    coordIndex [ {idx} ] }}")


def box_mesh(x0: float, y0: float, z0: float, x1: float, y1: float, z1: float):
    """Points and faces (counter-clockwise seen from outside) of an axis-aligned box (mm).

    Args:
        x0: low x corner (mm).
        y0: low y corner (mm).
        z0: bottom (mm; z up, 0 = board surface).
        x1: high x corner (mm, > ``x0``).
        y1: high y corner (mm, > ``y0``).
        z1: top (mm, > ``z0``).

    Returns:
        ``(points, faces)``: 8 (x, y, z) points and 6 quads of point indices.

    Example:
        >>> pts, faces = box_mesh(0, 0, 0, 1, 2, 3)
        >>> len(pts), len(faces), pts[6]
        (8, 6, (1, 2, 3))
    """
    pts = [(x0, y0, z0), (x1, y0, z0), (x1, y1, z0), (x0, y1, z0),
           (x0, y0, z1), (x1, y0, z1), (x1, y1, z1), (x0, y1, z1)]
    faces = [(0, 3, 2, 1), (4, 5, 6, 7), (0, 1, 5, 4), (1, 2, 6, 5), (2, 3, 7, 6), (3, 0, 4, 7)]
    return pts, faces


def ellipsoid_mesh(rx: float, rz: float, zc: float, *, segments: int = 12, bands: int = 6):
    """A closed ellipsoid (radius ``rx`` in x/y, ``rz`` in z, centre height ``zc``), all mm.

    Args:
        rx: horizontal radius, in x and y (mm).
        rz: vertical radius (mm).
        zc: height of the centre above the board (mm); the ellipsoid sits on the z axis.
        segments: vertices per ring around the z axis (≥ 3).
        bands: latitude bands from pole to pole (≥ 2): ``bands - 1`` rings between the poles.

    Returns:
        ``(points, faces)``: the poles and ring points, triangles at the poles and quads between.

    Example:
        >>> pts, faces = ellipsoid_mesh(0.5, 0.3, 0.3, segments=8, bands=4)
        >>> len(pts), len(faces), pts[0], pts[-1]
        (26, 32, (0.0, 0.0, 0.0), (0.0, 0.0, 0.6))
    """
    pts = [(0.0, 0.0, zc - rz)]
    for k in range(1, bands):
        phi = -math.pi / 2 + math.pi * k / bands
        r, z = rx * math.cos(phi), zc + rz * math.sin(phi)
        for s in range(segments):
            a = 2 * math.pi * s / segments
            pts.append((r * math.cos(a), r * math.sin(a), z))
    pts.append((0.0, 0.0, zc + rz))
    top = len(pts) - 1
    faces: list[tuple[int, ...]] = []
    ring = lambda k, s: 1 + k * segments + s % segments  # noqa: E731 - index of ring k, segment s
    for s in range(segments):
        faces.append((0, ring(0, s + 1), ring(0, s)))
        faces.append((top, ring(bands - 2, s), ring(bands - 2, s + 1)))
        for k in range(bands - 2):
            faces.append((ring(k, s), ring(k, s + 1), ring(k + 1, s + 1), ring(k + 1, s)))
    return pts, faces


def cylinder_mesh(radius: float, z0: float, z1: float, *, segments: int = 12):
    """A closed vertical cylinder (prism with ``segments`` sides) from ``z0`` to ``z1`` (mm).

    Args:
        radius: circumradius of the prism, centred on the z axis (mm).
        z0: bottom height (mm; negative = below the board, as for through-hole pins).
        z1: top height (mm, > ``z0``).
        segments: number of sides (≥ 3).

    Returns:
        ``(points, faces)``: ``2 × segments`` points, the two caps and one quad per side.

    Example:
        >>> pts, faces = cylinder_mesh(0.25, -3.0, 0.5, segments=6)
        >>> len(pts), len(faces), [len(f) for f in faces[:3]]
        (12, 8, [6, 6, 4])
    """
    pts = []
    for z in (z0, z1):
        for s in range(segments):
            a = 2 * math.pi * s / segments
            pts.append((radius * math.cos(a), radius * math.sin(a), z))
    n = segments
    faces: list[tuple[int, ...]] = [tuple(range(n - 1, -1, -1)), tuple(range(n, 2 * n))]
    for s in range(n):
        faces.append((s, (s + 1) % n, n + (s + 1) % n, n + s))
    return pts, faces


SHAPE_NEUTRAL_SUFFIXES = ("_ThermalVias",)
"""Name suffixes for board-side features only: footprints differing by them share one 3D model."""


def model_name(footprint_name: str) -> str:
    """The 3D model file stem of a footprint: its name without suffixes that do not change the package.

    Args:
        footprint_name: the footprint name, e.g. ``QFN-32-1EP_5x5mm_P0.5mm_EP3.1x3.1mm_ThermalVias``.

    Example:
        >>> model_name("QFN-32-1EP_5x5mm_P0.5mm_EP3.1x3.1mm_ThermalVias")
        'QFN-32-1EP_5x5mm_P0.5mm_EP3.1x3.1mm'
    """
    for suffix in SHAPE_NEUTRAL_SUFFIXES:
        footprint_name = footprint_name.replace(suffix, "")
    return footprint_name


def terminal_kind(group: PadGroup, geom: FootprintGeom) -> str | None:
    """``ball``, ``pin``, ``land`` or None (not part of the package: vias, paste-only pads, NPTH)."""
    ball = float(geom.ball or 0.0)
    if group.kind == "thru_hole":
        # plated holes are pins of through-hole parts; in SMD footprints they are thermal vias
        return "pin" if geom.attr == "through_hole" else None
    if group.kind != "smd" or "F.Cu" not in group.layers:  # B.Cu copies of an exposed pad: board side
        return None
    return "ball" if "pad_prop_bga" in group.properties and ball > 0 else "land"


def _terminal(group: PadGroup, geom: FootprintGeom, standoff: float, pin_length: float):
    """(kind, points, faces, colour) of one terminal of a pad group, at the origin."""
    ball = float(geom.ball or 0.0)
    if group.kind == "thru_hole":
        r = 0.5 * (ball if ball > 0 else 0.6 * (group.drill or group.size[0]))
        return ("pin", *cylinder_mesh(r, -pin_length, standoff), PIN_COLOUR)
    if "pad_prop_bga" in group.properties and ball > 0:
        return ("ball", *ellipsoid_mesh(0.5 * ball, 0.5 * standoff, 0.5 * standoff), BALL_COLOUR)
    w, h = group.size
    if group.shape == "circle":
        return ("land", *cylinder_mesh(0.5 * w, 0.0, LAND_THICKNESS), LAND_COLOUR)
    return ("land", *box_mesh(-w / 2, -h / 2, 0.0, w / 2, h / 2, LAND_THICKNESS), LAND_COLOUR)


def standoff_height(geom: FootprintGeom) -> float:
    """Height of the package body's underside above the board (mm), from its terminals.

    Collapsed balls (60 % of the ball diameter), pins (30 % of the height, at most 1 mm) or
    lands (their thickness); never more than 80 % of the package height. The VRML and STEP
    models share it, so both put the body at the same height.

    Args:
        geom: the footprint; uses ``pads``, ``height`` and ``ball`` (mm).
    """
    height = float(geom.height or 1.0)
    ball = float(geom.ball or 0.0)
    kinds = {terminal_kind(g, geom) for g in geom.pads}
    if "ball" in kinds:
        standoff = 0.6 * ball  # collapsed SAC ball: ~60 % of its nominal diameter
    elif "pin" in kinds:
        standoff = min(1.0, 0.3 * height)
    else:
        standoff = LAND_THICKNESS
    return min(standoff, 0.8 * height)


def pin1_mark_box(geom: FootprintGeom) -> tuple[float, float, float, float, float, float]:
    """The pin-1 mark on the body's top face as a box ``(x0, y0, z0, x1, y1, z1)`` in the model frame (mm, y up).

    A light square at the top-left (A1) corner, 12 % of the smaller body side (0.1 … 1 mm), 0.01 mm thick.

    Args:
        geom: the footprint; uses ``body`` and ``height`` (mm).
    """
    minx, miny, maxx, maxy = (float(v) for v in geom.body.bounds)
    height = float(geom.height or 1.0)
    side = max(0.1, min(1.0, 0.12 * min(maxx - minx, maxy - miny)))
    inset = 0.5 * side
    x0, y1 = minx + inset, -miny - inset
    return (x0, y1 - side, height, x0 + side, y1, height + 0.01)


def vrml_model(geom: FootprintGeom, *, pin_length: float = 3.0) -> str:
    """VRML 2.0 text of a footprint's package (see the module docstring); ends with a newline.

    Args:
        geom: the footprint; uses ``body``, ``pads``, ``height`` and ``ball`` (mm).
        pin_length: length of through-hole pins below the board (mm).
    """
    minx, miny, maxx, maxy = (float(v) for v in geom.body.bounds)
    height = float(geom.height or 1.0)
    standoff = standoff_height(geom)
    out = ["#VRML V2.0 utf8",
           f"# {model_name(geom.name)}",
           "# generated by kisubstrate; units 2.54 mm (KiCad VRML convention); z = 0 is the board"]
    colour = BODY_COLOURS.get(geom.family, DEFAULT_BODY_COLOUR)
    pts, faces = box_mesh(minx, -maxy, standoff, maxx, -miny, height)
    out.append(f"DEF BODY Shape {{ {_material(colour, shininess=0.1, specular=0.1)}\n  {_faceset(pts, faces)} }}")
    pts, faces = box_mesh(*pin1_mark_box(geom))
    out.append(f"DEF PIN1 Shape {{ {_material(MARK_COLOUR)}\n  {_faceset(pts, faces)} }}")
    for k, group in enumerate(geom.pads):
        xs, ys = group.x.tolist(), group.y.tolist()
        if not xs or terminal_kind(group, geom) is None:
            continue
        _, pts, faces, col = _terminal(group, geom, standoff, pin_length)
        # the first terminal defines the shape, the others reuse it
        out.append(f"Transform {{ translation {_u(xs[0])} {_u(-ys[0])} 0 children [\n"
                   f"  DEF T{k} Shape {{ {_material(col, shininess=0.6, specular=0.6)}\n"
                   f"  {_faceset(pts, faces)} }}\n] }}")
        # a grid repeats few distinct coordinates: format each once
        fx = {v: _u(v) for v in set(xs)}
        fy = {v: _u(-v) for v in set(ys)}
        use = f" 0 children USE T{k} }}"
        out.append("\n".join(f"Transform {{ translation {fx[x]} {fy[y]}{use}" for x, y in zip(xs[1:], ys[1:])))
    return "\n".join(out) + "\n"
