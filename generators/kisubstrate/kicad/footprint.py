"""FootprintGeom → ``.kicad_mod`` text (KiCad 9 format ``20241229`` or KiCad 10's ``20260206``), deterministic.

The two formats differ in the ``(version …)`` and in the release's path variables of the 3D model
(``${KICAD9_3DMODEL_DIR}`` / ``${KICAD10_3DMODEL_DIR}``); a KiCad 9 footprint also loads in 10.

No UUIDs (as KiCad's own generator), no timestamps, numbers with ≤ 6 decimals, items
in KiCad's native order. Pads are rendered through a per-value string cache, since a
100 × 100 grid repeats only 200 distinct coordinates.

Example:
    >>> from kisubstrate.families.registry import get
    >>> bga = get("bga")
    >>> geom = bga.footprint(bga.spec.model_validate({"body": [3, 3], "pitch": 1, "layout": [2, 2],
    ...                                               "ball_diameter": 0.5}))[0]
    >>> text = write_footprint(geom)
    >>> text.splitlines()[0]
    '(footprint "BGA-4_3.0x3.0mm_Layout2x2_P1.0mm_Ball0.5mm_Pad0.4mm_NSMD"'
"""

from __future__ import annotations

from kisubstrate import GENERATOR, __version__
from kisubstrate.geometry.ir import Circle, FootprintGeom, Line, PadGroup, Poly, Text
from kisubstrate.kicad.sexpr import Q, Raw, S, dumps, quote
from kisubstrate.kicad.target import format_version, versioned_vars
from kisubstrate.model.units import fmt

FORMAT_VERSION = 20241229
"""KiCad 9's format; ``write_footprint(kicad=10)`` writes :func:`~kisubstrate.kicad.target.format_version` (10)."""
GENERATOR_VERSION = ".".join(__version__.split(".")[:2])


def _stroke(width: float) -> S:
    return S("stroke", S("width", float(width)), S("type", "solid"))


def _effects(size: float, thickness: float) -> S:
    return S("effects", S("font", S("size", float(size), float(size)), S("thickness", float(thickness))))


def _xy(p: tuple[float, float]) -> list:
    return [float(p[0]), float(p[1])]


def graphic_node(g) -> S:
    """One graphic item as an ``fp_*`` node."""
    if isinstance(g, Line):
        return S("fp_line", S("start", *_xy(g.start)), S("end", *_xy(g.end)), _stroke(g.width),
                 S("layer", Q(g.layer)))
    if isinstance(g, Poly):
        return S("fp_poly", S("pts", *[S("xy", *_xy(p)) for p in g.points]), _stroke(g.width),
                 S("fill", "yes" if g.fill else "no"), S("layer", Q(g.layer)))
    if isinstance(g, Circle):
        return S("fp_circle", S("center", *_xy(g.center)), S("end", float(g.center[0] + g.radius),
                                                             float(g.center[1])),
                 _stroke(g.width), S("fill", "yes" if g.fill else "no"), S("layer", Q(g.layer)))
    if isinstance(g, Text):
        return S("fp_text", "user", Q(g.text), S("at", *_xy(g.at), 0), S("layer", Q(g.layer)),
                 _effects(g.size, g.thickness))
    raise TypeError(f"unknown graphic {g!r}")


def _line_text(g: Line, depth: int = 1) -> str:
    """``dumps(graphic_node(g), depth)`` for a line, without building nodes (clipped silk holds hundreds)."""
    i = "\t" * depth
    return (f"{i}(fp_line\n{i}\t(start {fmt(float(g.start[0]))} {fmt(float(g.start[1]))})\n"
            f"{i}\t(end {fmt(float(g.end[0]))} {fmt(float(g.end[1]))})\n"
            f"{i}\t(stroke\n{i}\t\t(width {fmt(float(g.width))})\n{i}\t\t(type solid)\n{i}\t)\n"
            f"{i}\t(layer {quote(g.layer)})\n{i})")


MAX_NATIVE_CHAMFER = 0.5  # KiCad's chamfered pads allow a chamfer of at most half the smaller side


def chamfered_outline(w: float, h: float, radius: float, leg: float,
                      corners: tuple[str, ...]) -> list[tuple[float, float]]:
    """Polygon (relative to the pad centre, mm) that, stroked ``2·radius`` wide, draws a chamfered land.

    The w × h land has corners rounded by ``radius`` and 45° chamfers of ``leg`` (measured on
    the land's edges) at ``corners`` (KiCad names, top = −y); the polygon is the land shrunk by
    ``radius``, as KiCad's library draws such lands (custom pads).

    Args:
        w: land width (mm).
        h: land height (mm).
        radius: corner rounding radius (mm; 0 for square corners).
        leg: chamfer leg along the land's edges (mm).
        corners: the chamfered corners, KiCad names (``top_left``, ``top_right``, ``bottom_right``,
            ``bottom_left``).

    Example:
        >>> chamfered_outline(1.0, 0.3, 0.0, 0.15, ("top_right",))
        [(-0.5, -0.15), (0.35, -0.15), (0.5, 0.0), (0.5, 0.15), (-0.5, 0.15)]
    """
    a, b = w / 2 - radius, h / 2 - radius
    inner = max(0.0, min(leg - (2 - 2 ** 0.5) * radius, 2 * a, 2 * b))
    pts: list[tuple[float, float]] = []
    for name, (sx, sy) in (("top_left", (-1, -1)), ("top_right", (1, -1)), ("bottom_right", (1, 1)),
                           ("bottom_left", (-1, 1))):
        cx, cy = sx * a, sy * b
        if name not in corners or inner <= 0:
            pts.append((cx, cy))
            continue
        # walking clockwise (y down): the point on the incoming edge first
        along_x, along_y = (cx - sx * inner, cy), (cx, cy - sy * inner)
        pts += [along_y, along_x] if sx == sy else [along_x, along_y]
    return [(round(x, 6) + 0.0, round(y, 6) + 0.0) for x, y in pts]


def _chamfered_primitives(group: PadGroup, ind: str) -> str:
    """``options`` and ``primitives`` of a custom pad drawing a chamfered land."""
    w, h = group.size
    radius = group.roundrect_ratio * min(w, h) if group.shape == "roundrect" else 0.0
    pts = chamfered_outline(w, h, radius, group.chamfer_ratio * min(w, h), group.chamfer_corners)
    i2, i3, i4 = ind + "\t", ind + "\t\t", ind + "\t\t\t"
    xy = "\n".join(f"{i4}\t(xy {fmt(x)} {fmt(y)})" for x, y in pts)
    return (f"{ind}(options\n{i2}(clearance outline)\n{i2}(anchor circle)\n{ind})\n"
            f"{ind}(primitives\n{i2}(gr_poly\n{i3}(pts\n{xy}\n{i3})\n{i3}(width {fmt(2 * radius)})\n"
            f"{i3}(fill yes)\n{i2})\n{ind})")


def _pad_lines(group: PadGroup, depth: int = 1) -> str:
    """Render every pad of a group; coordinates formatted once per distinct value.

    Library footprints carry no nets (boards are written by kicad/board.py), so none are written.
    """
    ind = "\t" * depth
    ind2 = ind + "\t"
    w, h = group.size
    custom = group.chamfer_corners and group.chamfer_ratio > MAX_NATIVE_CHAMFER
    shape = "custom" if custom else group.shape
    if custom:  # anchor: a circle at the centre, inside the polygon that draws the land
        anchor = min(w, h) / 2
        tail = [f"{ind2}(size {fmt(anchor)} {fmt(anchor)})"]
    else:
        tail = [f"{ind2}(size {fmt(w)} {fmt(h)})"]
    if group.drill is not None:
        tail.append(f"{ind2}(drill {fmt(group.drill)})")
    for prop in group.properties:
        tail.append(f"{ind2}(property {prop})")
    tail.append(f"{ind2}(layers {' '.join(quote(layer) for layer in group.layers)})")
    if group.kind == "thru_hole":
        tail.append(f"{ind2}(remove_unused_layers no)")
    if custom:
        tail.append(_chamfered_primitives(group, ind2))
    elif group.shape == "roundrect":
        tail.append(f"{ind2}(roundrect_rratio {fmt(group.roundrect_ratio)})")
        if group.chamfer_ratio > 0 and group.chamfer_corners:
            tail.append(f"{ind2}(chamfer_ratio {fmt(group.chamfer_ratio)})")
            tail.append(f"{ind2}(chamfer {' '.join(group.chamfer_corners)})")
    if group.mask_margin is not None:
        tail.append(f"{ind2}(solder_mask_margin {fmt(group.mask_margin)})")
    if group.paste_margin is not None:
        tail.append(f"{ind2}(solder_paste_margin {fmt(group.paste_margin)})")
    if group.zone_connect is not None:
        tail.append(f"{ind2}(zone_connect {int(group.zone_connect)})")
    tail_text = "\n".join(tail)
    head = f"{ind}(pad "
    kind_shape = f" {group.kind} {shape}\n{ind2}(at "
    close = f"\n{ind})"
    xs, ys = group.x.tolist(), group.y.tolist()
    names = group.names
    joined = "".join(names)
    if '"' in joined or "\\" in joined or "\n" in joined:
        names = [quote(n) for n in names]
    else:  # plain names (the rule): the quotes go into the shared pieces
        head += '"'
        kind_shape = '"' + kind_shape
    # A grid repeats few distinct coordinates: format each once, with the text around it
    # (a 100 x 100 grid has 200 distinct values for 10 000 pads).
    px = {v: f"{kind_shape}{fmt(v)} " for v in set(xs)}
    if group.die_length is not None:  # package length per pad: one more line where it is > 0
        lens = [round(float(v), 6) for v in group.die_length]
        extra = [f"\n{ind2}(die_length {fmt(d)})" if d > 0 else "" for d in lens]
        return "\n".join([f"{head}{n}{px[a]}{fmt(b)})\n{tail_text}{e}{close}"
                          for n, a, b, e in zip(names, xs, ys, extra)])
    py = {v: f"{fmt(v)})\n{tail_text}{close}" for v in set(ys)}
    return "\n".join([f"{head}{n}{px[a]}{py[b]}" for n, a, b in zip(names, xs, ys)])


def write_footprint(fp: FootprintGeom, *, model_path: str | None = None, kicad: int = 9) -> str:
    """The ``.kicad_mod`` text of a footprint (ends with a newline).

    Args:
        fp: the footprint (mm, KiCad frame).
        model_path: overrides the 3D model path (library export uses its own library).
        kicad: the KiCad release to write for: 9 (format 20241229) or 10 (format 20260206); a
            ``${KICAD9_…}`` variable in the model path becomes the release's own.

    Raises:
        SpecError: ``kicad`` is not 9 or 10.

    Pads never carry nets: a library footprint has none (board copies come from kicad/board.py).

    Args:
        fp: the footprint geometry (mm, footprint frame).
        model_path: overrides the 3D model path (library export uses its own library); ``""``
            writes no model, None the footprint's own.
    """
    root = S("footprint", Q(fp.name),
             S("version", format_version(kicad)), S("generator", Q(GENERATOR)),
             S("generator_version", Q(GENERATOR_VERSION)), S("layer", Q("F.Cu")),
             S("descr", Q(fp.description)), S("tags", Q(fp.tags)),
             S("property", Q("Reference"), Q("REF**"), S("at", *_xy(fp.reference_at), 0),
               S("layer", Q("F.SilkS")), _effects(1.0, 0.15)),
             S("property", Q("Value"), Q(fp.name), S("at", *_xy(fp.value_at), 0),
               S("layer", Q("F.Fab")), _effects(1.0, 0.15)))
    if fp.mask_margin is not None:
        root.add(S("solder_mask_margin", float(fp.mask_margin)))
    root.add(S("attr", fp.attr))
    order = {"F.SilkS": 0, "F.CrtYd": 1, "F.Fab": 2}
    shapes = [g for g in fp.graphics if not isinstance(g, Text)]
    texts = [g for g in fp.graphics if isinstance(g, Text)]
    for g in sorted(shapes, key=lambda g: order.get(g.layer, 3)):
        root.add(Raw(_line_text(g)) if isinstance(g, Line) else graphic_node(g))
    for t in texts:
        root.add(graphic_node(t))
    for group in fp.pads:
        root.add(Raw(_pad_lines(group)))
    root.add(S("embedded_fonts", "no"))
    path = model_path if model_path is not None else (fp.model.path if fp.model else None)
    if path:
        m = fp.model
        offset, scale, rotate = (m.offset, m.scale, m.rotate) if m else ((0, 0, 0), (1, 1, 1), (0, 0, 0))
        root.add(S("model", Q(versioned_vars(path, kicad)), S("offset", S("xyz", *map(float, offset))),
                   S("scale", S("xyz", *map(float, scale))), S("rotate", S("xyz", *map(float, rotate)))))
    return dumps(root) + "\n"
