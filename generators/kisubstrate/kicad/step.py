"""FootprintGeom → STEP AP214 3D model (``.step``) of the package, with the OpenCascade kernel.

The same shapes as the VRML model (:mod:`kisubstrate.kicad.vrml`), in the same frame: mm,
y up (the footprint's −y), z = 0 the board, so one ``(model …)`` offset / rotation serves both:

* the body (a box from the stand-off to the package height) and the pin-1 mark on its top face;
* one solid per pad group's terminal (ellipsoid ball, cylinder pin, box or disc land), written
  **once** and placed at every pad by location (an XCAF assembly): a 1000-ball BGA holds two
  B-reps and 1000 placements (≈ 0.6 kB each), not 1000 spheres.

Parts are named (``body``, ``pin1``, ``ball``, ``pin``, ``land``) and coloured as in the VRML.
The header's time stamp is fixed and the file carries no path, so re-runs are byte-identical.

OpenCascade comes from the optional ``step`` extra (``cadquery-ocp-novtk``); where it is
missing (KiCad's own Python, for the plugin) :func:`available` is False and callers write the
VRML model only.

Example:
    >>> from kisubstrate.families.registry import get
    >>> bga = get("bga")
    >>> geom = bga.footprint(bga.spec.model_validate({"body": [3, 3], "pitch": 1, "layout": [2, 2],
    ...                                               "ball_diameter": 0.5}))[0]
    >>> data = step_model(geom) if available() else b"ISO-10303-21;"
    >>> data.startswith(b"ISO-10303-21;")
    True
"""

from __future__ import annotations

import re
import tempfile
from functools import lru_cache
from pathlib import Path

from kisubstrate.geometry.ir import FootprintGeom, PadGroup
from kisubstrate.kicad.vrml import (
    BALL_COLOUR,
    BODY_COLOURS,
    DEFAULT_BODY_COLOUR,
    LAND_COLOUR,
    LAND_THICKNESS,
    MARK_COLOUR,
    PIN_COLOUR,
    model_name,
    pin1_mark_box,
    standoff_height,
    terminal_kind,
)

FIXED_TIMESTAMP = "2000-01-01T00:00:00"
"""Written into the STEP header instead of the time of writing (byte-identical re-runs)."""
NO_STEP_NOTICE = ("note: no STEP models: OpenCascade is not installed (pip install 'kisubstrate[step]'); "
                  "writing VRML models only")
"""The one line the commands print when they write VRML models only."""


@lru_cache(maxsize=1)
def available() -> bool:
    """Whether the OpenCascade kernel (``OCP``, the ``step`` extra) can be imported."""
    try:
        import OCP.STEPCAFControl  # noqa: F401
    except ImportError as exc:
        # Ctrl-C while the extension loads surfaces as an ImportError caused by the interrupt (a BaseException
        # that is no Exception: KeyboardInterrupt, the CLI's Interrupted): re-raise it, the kernel is not missing
        cause = exc.__cause__ or exc.__context__
        if cause is not None and not isinstance(cause, Exception):
            raise cause from None
        return False
    return True


def _quiet() -> None:
    """Silence OpenCascade's console messages (transfer statistics on every write)."""
    from OCP.Message import Message, Message_Gravity

    printers = Message.DefaultMessenger_s().Printers()
    for k in range(1, printers.Length() + 1):
        printers.Value(k).SetTraceLevel(Message_Gravity.Message_Fail)


def _box(x0: float, y0: float, z0: float, x1: float, y1: float, z1: float):
    from OCP.BRepPrimAPI import BRepPrimAPI_MakeBox
    from OCP.gp import gp_Pnt

    return BRepPrimAPI_MakeBox(gp_Pnt(x0, y0, z0), gp_Pnt(x1, y1, z1)).Shape()


def _cylinder(radius: float, z0: float, z1: float):
    from OCP.BRepPrimAPI import BRepPrimAPI_MakeCylinder
    from OCP.gp import gp_Ax2, gp_Dir, gp_Pnt

    return BRepPrimAPI_MakeCylinder(gp_Ax2(gp_Pnt(0, 0, z0), gp_Dir(0, 0, 1)), radius, z1 - z0).Shape()


def _ellipsoid(rx: float, rz: float, zc: float):
    """A sphere of radius ``rx`` scaled to ``rz`` in z, centred at height ``zc`` (mm)."""
    from OCP.BRepBuilderAPI import BRepBuilderAPI_GTransform
    from OCP.BRepPrimAPI import BRepPrimAPI_MakeSphere
    from OCP.gp import gp_GTrsf, gp_Pnt, gp_XYZ

    sphere = BRepPrimAPI_MakeSphere(gp_Pnt(0, 0, 0), rx).Shape()
    g = gp_GTrsf()
    g.SetValue(3, 3, rz / rx)
    g.SetTranslationPart(gp_XYZ(0, 0, zc))
    return BRepBuilderAPI_GTransform(sphere, g, True).Shape()


def _terminal(group: PadGroup, geom: FootprintGeom, standoff: float, pin_length: float):
    """(name, solid at the origin, colour) of one terminal of a pad group; shapes as the VRML's."""
    ball = float(geom.ball or 0.0)
    if group.kind == "thru_hole":
        r = 0.5 * (ball if ball > 0 else 0.6 * (group.drill or group.size[0]))
        return "pin", _cylinder(r, -pin_length, standoff), PIN_COLOUR
    if "pad_prop_bga" in group.properties and ball > 0:
        return "ball", _ellipsoid(0.5 * ball, 0.5 * standoff, 0.5 * standoff), BALL_COLOUR
    w, h = group.size
    if group.shape == "circle":
        return "land", _cylinder(0.5 * w, 0.0, LAND_THICKNESS), LAND_COLOUR
    return "land", _box(-w / 2, -h / 2, 0.0, w / 2, h / 2, LAND_THICKNESS), LAND_COLOUR


def step_model(geom: FootprintGeom, *, pin_length: float = 3.0) -> bytes:
    """STEP AP214 bytes of a footprint's package (see the module docstring).

    Args:
        geom: the footprint; uses ``body``, ``pads``, ``height`` and ``ball`` (mm).
        pin_length: length of through-hole pins below the board (mm).

    Raises:
        ImportError: OpenCascade is not installed (check :func:`available` first).
    """
    from OCP.gp import gp_Trsf, gp_Vec
    from OCP.Interface import Interface_Static
    from OCP.STEPCAFControl import STEPCAFControl_Writer
    from OCP.STEPControl import STEPControl_StepModelType
    from OCP.TCollection import TCollection_ExtendedString
    from OCP.TDataStd import TDataStd_Name
    from OCP.TDocStd import TDocStd_Document
    from OCP.TopLoc import TopLoc_Location
    from OCP.XCAFDoc import XCAFDoc_DocumentTool

    _quiet()
    doc = TDocStd_Document(TCollection_ExtendedString("MDTV-XCAF"))
    shapes = XCAFDoc_DocumentTool.ShapeTool_s(doc.Main())
    colours: dict[str, tuple[float, float, float]] = {}
    root = shapes.NewShape()
    TDataStd_Name.Set_s(root, TCollection_ExtendedString(model_name(geom.name)))

    def part(name: str, shape, rgb) -> object:
        label = shapes.AddShape(shape, False)
        TDataStd_Name.Set_s(label, TCollection_ExtendedString(name))
        colours[name] = rgb
        return label

    def place(label, x: float = 0.0, y: float = 0.0) -> None:
        t = gp_Trsf()
        t.SetTranslation(gp_Vec(x, y, 0.0))
        shapes.AddComponent(root, label, TopLoc_Location(t))

    minx, miny, maxx, maxy = (float(v) for v in geom.body.bounds)
    standoff = standoff_height(geom)
    body = _box(minx, -maxy, standoff, maxx, -miny, float(geom.height or 1.0))
    place(part("body", body, BODY_COLOURS.get(geom.family, DEFAULT_BODY_COLOUR)))
    place(part("pin1", _box(*pin1_mark_box(geom)), MARK_COLOUR))
    for group in geom.pads:
        if not len(group) or terminal_kind(group, geom) is None:
            continue
        name, solid, rgb = _terminal(group, geom, standoff, pin_length)
        label = part(name, solid, rgb)
        for x, y in zip(group.x.tolist(), group.y.tolist()):
            place(label, x, -y)
    shapes.UpdateAssemblies()
    writer = STEPCAFControl_Writer()
    writer.SetColorMode(False)  # OpenCascade orders its colour entities by memory address: added below
    Interface_Static.SetIVal_s("write.surfacecurve.mode", 0)  # no p-curves: a third of the size
    writer.SetNameMode(True)
    writer.Transfer(doc, STEPControl_StepModelType.STEPControl_AsIs)
    with tempfile.TemporaryDirectory(prefix="kisubstrate-step-") as tmp:
        path = Path(tmp) / "model.step"
        writer.Write(str(path))
        text = path.read_text(encoding="ascii")
    return _add_colours(_fix_header(text, model_name(geom.name)), colours).encode("ascii")


def _fix_header(text: str, name: str) -> str:
    """The STEP text with a fixed ``FILE_NAME`` (model name, :data:`FIXED_TIMESTAMP`, kisubstrate)."""
    head, sep, rest = text.partition("FILE_SCHEMA(")
    from kisubstrate import __version__

    safe = re.sub(r"[^A-Za-z0-9_.+-]", "_", name)
    head = re.sub(r"FILE_NAME\(.*?\);\s*$",
                  f"FILE_NAME('{safe}','{FIXED_TIMESTAMP}',(''),(''),\n  'kisubstrate {__version__}',"
                  "'Open CASCADE STEP processor','');\n", head, flags=re.S)
    # occurrence ids come from a process-wide counter: number them from 1 in each file
    count = iter(range(1, 1 << 30))
    # (and the line is wrapped where the old id's length put it: write each on one line)
    rest = re.sub(r"NEXT_ASSEMBLY_USAGE_OCCURRENCE\('\d+'(.*?)\);",
                  lambda m: f"NEXT_ASSEMBLY_USAGE_OCCURRENCE('{next(count)}'{''.join(m.group(1).split())});",
                  rest, flags=re.S)
    return head + sep + rest




def _add_colours(text: str, colours: dict[str, tuple[float, float, float]]) -> str:
    """The STEP text with an AP214 surface colour on each part's solid (by product name).

    Appended as OpenCascade writes them (one ``MECHANICAL_DESIGN_GEOMETRIC_PRESENTATION_REPRESENTATION``
    per solid), in file order, so the output does not depend on memory addresses.
    """
    data = text[text.index("DATA;") + 5:text.index("ENDSEC;", text.index("DATA;"))]
    ent = {int(m.group(1)): " ".join(m.group(2).split()) for m in re.finditer(r"#(\d+) = (.*?);(?=\s*(?:#|$))",
                                                                             data, re.S)}
    ref = lambda body, k: int(re.findall(r"#(\d+)", body)[k])  # noqa: E731 - k-th entity reference
    pds_of = {ref(v, 1): ref(v, 0) for v in ent.values() if v.startswith("SHAPE_DEFINITION_REPRESENTATION(")}
    out, nxt = [], max(ent) + 1
    for rid, body in sorted(ent.items()):
        if not body.startswith("ADVANCED_BREP_SHAPE_REPRESENTATION(") or rid not in pds_of:
            continue
        pd = ref(ent[pds_of[rid]], 0)
        product = ent[ref(ent[ref(ent[pd], 0)], 0)]
        name = re.match(r"PRODUCT\('([^']*)'", product).group(1)
        if name not in colours:
            continue
        items = re.findall(r"#(\d+)", body)
        solid = next(int(i) for i in items if ent[int(i)].startswith("MANIFOLD_SOLID_BREP("))
        ctx = ref(body, -1)
        r, g, b = colours[name]
        n = nxt
        out += [f"#{n} = MECHANICAL_DESIGN_GEOMETRIC_PRESENTATION_REPRESENTATION('',(#{n + 1}),#{ctx});",
                f"#{n + 1} = STYLED_ITEM('color',(#{n + 2}),#{solid});",
                f"#{n + 2} = PRESENTATION_STYLE_ASSIGNMENT((#{n + 3}));",
                f"#{n + 3} = SURFACE_STYLE_USAGE(.BOTH.,#{n + 4});",
                f"#{n + 4} = SURFACE_SIDE_STYLE('',(#{n + 5}));",
                f"#{n + 5} = SURFACE_STYLE_FILL_AREA(#{n + 6});",
                f"#{n + 6} = FILL_AREA_STYLE('',(#{n + 7}));",
                f"#{n + 7} = FILL_AREA_STYLE_COLOUR('',#{n + 8});",
                f"#{n + 8} = COLOUR_RGB('',{r:g},{g:g},{b:g});"]
        nxt += 9
    end = text.index("ENDSEC;", text.index("DATA;"))
    return text[:end] + "".join(line + "\n" for line in out) + text[end:]


def model_files(geom: FootprintGeom, *, pin_length: float = 3.0, step: bool | None = None) -> dict[str, str]:
    """The 3D model files of a footprint: suffix → text, ``.wrl`` always, ``.step`` (ASCII) with OpenCascade.

    Args:
        geom: the footprint (mm).
        pin_length: length of through-hole pins below the board (mm).
        step: write the STEP model; None: when :func:`available`.

    Example:
        >>> from kisubstrate.families.registry import get
        >>> lga = get("lga")
        >>> geom = lga.footprint(lga.spec.model_validate({"body": [3, 3], "pitch": 1, "layout": [2, 2],
        ...                                               "pad_diameter": 0.5}))[0]
        >>> sorted(model_files(geom, step=False))
        ['.wrl']
    """
    from kisubstrate.kicad.vrml import vrml_model

    out = {".wrl": vrml_model(geom, pin_length=pin_length)}
    if step if step is not None else available():
        out[".step"] = step_model(geom, pin_length=pin_length).decode("ascii")
    return out


def model_reference(path: str, *, step: bool | None = None) -> str:
    """The model path a footprint names: the ``.step`` when STEP models are written, else the ``.wrl``.

    KiCad's library convention names the STEP model; KiCad's STEP export needs it.

    Args:
        path: the model path from the path mode, ending in ``.wrl`` (e.g. ``${KIPRJMOD}/L.3dshapes/A.wrl``).
        step: STEP models are written; None: when :func:`available`.

    Example:
        >>> model_reference("${KIPRJMOD}/L.3dshapes/A.wrl", step=True)
        '${KIPRJMOD}/L.3dshapes/A.step'
    """
    if (step if step is not None else available()) and path.endswith(".wrl"):
        return path[:-4] + ".step"
    return path
