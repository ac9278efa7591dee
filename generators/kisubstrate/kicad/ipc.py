"""FootprintGeom → kipy (KiCad IPC API) footprint instance, and placing it as one undo step.

kipy is imported inside the functions only, so the core imports without kicad-python.
Checked against KiCad 9.0.8 and 10.0.6 with kicad-python 0.7.1–0.8.0 (0.6.0 fails on
``Net(name=…)``): footprints created over the API need an explicit layer (else KiCad drops
them silently), a library id and *visible* Reference/Value fields (KiCad hides them otherwise);
coordinates are absolute nanometres, converted with ``round`` (kipy's ``from_mm`` truncates).

Example (needs kicad-python, not KiCad)::

    fp = footprint_instance(geom, position=(100.0, 80.0), reference="U1", library="kisubstrate")
    commit = board.begin_commit(); board.create_items(fp); board.push_commit(commit, "Add U1")
"""

from __future__ import annotations

from typing import Any

from kisubstrate.geometry.ir import Circle, FootprintGeom, Line, Poly, Text
from kisubstrate.model.units import to_nm

_LAYERS = {"F.Cu": "BL_F_Cu", "B.Cu": "BL_B_Cu", "F.Mask": "BL_F_Mask", "B.Mask": "BL_B_Mask",
           "F.Paste": "BL_F_Paste", "B.Paste": "BL_B_Paste", "F.SilkS": "BL_F_SilkS",
           "B.SilkS": "BL_B_SilkS", "F.CrtYd": "BL_F_CrtYd", "B.CrtYd": "BL_B_CrtYd",
           "F.Fab": "BL_F_Fab", "B.Fab": "BL_B_Fab"}
_SHAPES = {"circle": "PSS_CIRCLE", "rect": "PSS_RECTANGLE", "roundrect": "PSS_ROUNDRECT", "oval": "PSS_OVAL"}


def layer_id(name: str) -> Any:
    """Kipy ``BoardLayer`` value of a KiCad layer name (``F.Cu`` …)."""
    from kipy.proto.board.board_types_pb2 import BoardLayer

    return getattr(BoardLayer, _LAYERS[name])


def pad_layers(layers: tuple[str, ...]) -> list:
    """Kipy layers of a padstack; ``*.Cu`` / ``*.Mask`` expand to front and back."""
    out = []
    for name in layers:
        if name.startswith("*."):
            out += [layer_id("F." + name[2:]), layer_id("B." + name[2:])]
        else:
            out.append(layer_id(name))
    return out


def _vec(x_mm: float, y_mm: float):
    from kipy.geometry import Vector2

    return Vector2.from_xy(to_nm(x_mm), to_nm(y_mm))


def _pads(fp: FootprintGeom, dx: float, dy: float, with_nets: bool) -> list:
    """Kipy pads: number, type, shape, size, drill, mask and paste margins, net.

    The fabrication property (``pad_prop_bga`` / ``pad_prop_heatsink``) has no field in KiCad 9's
    API (kicad-python 0.6-0.8 ``Pad``: id, number, net, type, pad_stack, position ...): pads
    placed over IPC lack it; the footprint the plugin saves into the library carries it.
    """
    from kipy.board_types import Net, Pad, PadStackShape, PadType
    from kipy.proto.board.board_types_pb2 import BoardLayer

    pads = []
    kinds = {"smd": PadType.PT_SMD, "thru_hole": PadType.PT_PTH, "np_thru_hole": PadType.PT_NPTH}
    for g in fp.pads:
        layers = pad_layers(g.layers)
        shape = getattr(PadStackShape, _SHAPES[g.shape])
        for i, (name, x, y) in enumerate(zip(g.names, g.x.tolist(), g.y.tolist())):
            p = Pad()
            p.number = name
            p.pad_type = kinds[g.kind]
            p.position = _vec(x + dx, y + dy)
            p.padstack.layers = layers
            copper = p.padstack.copper_layer(BoardLayer.BL_F_Cu)
            copper.shape = shape
            copper.size = _vec(*g.size)
            if g.shape == "roundrect":
                copper.corner_rounding_ratio = g.roundrect_ratio
            if g.drill is not None:
                drill = p.padstack.drill
                drill.diameter = _vec(g.drill, g.drill)
                drill.start_layer = BoardLayer.BL_F_Cu
                drill.end_layer = BoardLayer.BL_B_Cu
            if g.mask_margin is not None:
                p.padstack.front_outer_layers.solder_mask_settings.solder_mask_margin = to_nm(g.mask_margin)
            if g.paste_margin is not None:  # SMD (mask-defined) lands: paste follows the mask opening
                p.padstack.front_outer_layers.solder_paste_settings.solder_paste_margin = to_nm(g.paste_margin)
            if with_nets and g.nets is not None and g.nets[i]:
                p.net = Net(name=g.nets[i])
            pads.append(p)
    return pads


def _graphics(fp: FootprintGeom, dx: float, dy: float) -> list:
    from kipy.board_types import BoardCircle, BoardPolygon, BoardSegment, BoardText
    from kipy.geometry import PolygonWithHoles, PolyLine, PolyLineNode

    items: list = []
    for g in fp.graphics:
        if isinstance(g, Line):
            s = BoardSegment()
            s.start, s.end = _vec(g.start[0] + dx, g.start[1] + dy), _vec(g.end[0] + dx, g.end[1] + dy)
        elif isinstance(g, Poly) and g.fill:
            s = BoardPolygon()
            outline = PolyLine()
            for px, py in g.points:
                outline.append(PolyLineNode.from_point(_vec(px + dx, py + dy)))
            outline.closed = True
            poly = PolygonWithHoles()
            poly.outline = outline
            s.polygons.append(poly)
            s.attributes.fill.filled = True
        elif isinstance(g, Poly):  # outline only: one segment per edge (what KiCad's editor shows)
            pts = list(g.points) + [g.points[0]]
            for a, b in zip(pts, pts[1:]):
                seg = BoardSegment()
                seg.start, seg.end = _vec(a[0] + dx, a[1] + dy), _vec(b[0] + dx, b[1] + dy)
                seg.layer = layer_id(g.layer)
                seg.attributes.stroke.width = to_nm(g.width)
                items.append(seg)
            continue
        elif isinstance(g, Circle):
            s = BoardCircle()
            s.center = _vec(g.center[0] + dx, g.center[1] + dy)
            s.radius_point = _vec(g.center[0] + g.radius + dx, g.center[1] + dy)
            s.attributes.fill.filled = g.fill
        elif isinstance(g, Text):
            t = BoardText()
            t.value = g.text
            t.position = _vec(g.at[0] + dx, g.at[1] + dy)
            t.layer = layer_id(g.layer)
            t.attributes.size = _vec(g.size, g.size)
            t.attributes.stroke_width = to_nm(g.thickness)
            items.append(t)
            continue
        else:
            continue
        s.layer = layer_id(g.layer)
        s.attributes.stroke.width = to_nm(g.width)
        items.append(s)
    return items


def footprint_instance(fp: FootprintGeom, *, position: tuple[float, float] = (0.0, 0.0),
                       reference: str = "U1", library: str = "kisubstrate", with_nets: bool = True,
                       model_path: str | None = None) -> Any:
    """A kipy ``FootprintInstance`` of a footprint placed at ``position`` (mm, board frame).

    Reference and Value are visible (Reference on F.SilkS, Value = footprint name on F.Fab),
    the library id is ``library:name``, pads carry their nets when the spec has a ball map
    with nets (KiCad creates missing nets).

    Args:
        fp: the footprint geometry (mm, footprint frame).
        position: (x, y) where the footprint origin goes on the board (mm, KiCad frame); the
            footprint is placed on F.Cu, unrotated.
        reference: the reference designator shown on F.SilkS (e.g. ``U1``).
        library: library nickname of the library id ``library:name``.
        with_nets: give pads the net names of the spec's ball map; False leaves every pad unconnected.
        model_path: overrides the 3D model path (``""``: no model; None: the footprint's own), as in
            :func:`kisubstrate.kicad.footprint.write_footprint`.
    """
    from kipy.board_types import FootprintInstance
    from kipy.proto.board.board_types_pb2 import BoardLayer, FootprintMountingStyle

    dx, dy = position
    inst = FootprintInstance()
    inst.layer = BoardLayer.BL_F_Cu
    inst.position = _vec(dx, dy)
    lib_id = inst.definition.id
    lib_id.library = library
    lib_id.name = fp.name
    for fld, text, at, layer in ((inst.reference_field, reference, fp.reference_at, "F.SilkS"),
                                 (inst.value_field, fp.name, fp.value_at, "F.Fab")):
        fld.text.value = text
        fld.text.position = _vec(at[0] + dx, at[1] + dy)
        fld.text.layer = layer_id(layer)
        fld.text.attributes.size = _vec(1.0, 1.0)
        fld.text.attributes.stroke_width = to_nm(0.15)
        fld.visible = True
    inst.description_field.text.value = fp.description
    inst.attributes.mounting_style = (FootprintMountingStyle.FMS_THROUGH_HOLE if fp.attr == "through_hole"
                                      else FootprintMountingStyle.FMS_SMD)
    for item in _graphics(fp, dx, dy) + _pads(fp, dx, dy, with_nets):
        inst.definition.add_item(item)
    path = model_path if model_path is not None else (fp.model.path if fp.model is not None else "")
    if path:
        from kipy.board_types import Footprint3DModel

        model = Footprint3DModel()
        model.filename = path
        inst.definition.add_item(model)
    return inst


def next_reference(existing: list[str], prefix: str = "U") -> str:
    """The first free reference ``U1``, ``U2`` … not in ``existing``.

    Example:
        >>> next_reference(["U1", "U3", "R1"])
        'U2'
    """
    used = set(existing)
    n = 1
    while f"{prefix}{n}" in used:
        n += 1
    return f"{prefix}{n}"


def place_footprint(board: Any, fp: FootprintGeom, *, position: tuple[float, float] | None = None,
                    library: str = "kisubstrate", message: str | None = None, model_path: str | None = None) -> Any:
    """Add a footprint to an open kipy board as ONE commit (one undo step); returns the created item.

    ``position`` defaults to the centre of the board outline (or of the page when there is
    none); the reference is the first free ``U<n>``.

    Args:
        board: an open kipy ``Board`` (KiCad IPC API).
        fp: the footprint geometry (mm).
        position: (x, y) of the footprint origin on the board (mm, KiCad frame); None = the centre
            of the board outline (:func:`board_centre`).
        library: library nickname of the library id ``library:name``.
        message: the undo-step text; None = ``Add U<n> (<footprint>) from kisubstrate``.
        model_path: overrides the 3D model path (``""``: no model; None: the footprint's own).
    """
    refs = [f.reference_field.text.value for f in board.get_footprints()]
    ref = next_reference(refs)
    if position is None:
        position = board_centre(board)
    inst = footprint_instance(fp, position=position, reference=ref, library=library, model_path=model_path)
    commit = board.begin_commit()
    try:
        created = board.create_items(inst)
    except Exception:
        board.drop_commit(commit)
        raise
    board.push_commit(commit, message or f"Add {ref} ({fp.name}) from kisubstrate")
    return created[0] if created else None


def board_centre(board: Any) -> tuple[float, float]:
    """Centre (mm) of the board's Edge.Cuts bounding box; the A4 page centre when there is none."""
    try:
        from kipy.proto.board.board_types_pb2 import BoardLayer

        edges = [s for s in board.get_shapes() if s.layer == BoardLayer.BL_Edge_Cuts]
        if edges:
            boxes = [board.get_item_bounding_box(s) for s in edges]
            boxes = [b for b in boxes if b is not None]
            if boxes:
                x0 = min(b.pos.x for b in boxes)
                y0 = min(b.pos.y for b in boxes)
                x1 = max(b.pos.x + b.size.x for b in boxes)
                y1 = max(b.pos.y + b.size.y for b in boxes)
                return (round((x0 + x1) / 2 / 1e6, 3), round((y0 + y1) / 2 / 1e6, 3))
    except Exception:  # noqa: BLE001 - a missing handler on an old KiCad: fall back to the page centre
        pass
    return (148.5, 105.0)
