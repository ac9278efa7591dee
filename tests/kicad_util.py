"""Helpers for the KiCad-backed tests: read .kicad_mod files, parse KLC names, write libraries.

Kept free of pytest fixtures so the conformance sweep can also be run as a script.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from pathlib import Path

from kisubstrate.kicad.sexpr import find_all, loads

STOCK_FOOTPRINTS = Path("/usr/share/kicad/footprints")


@dataclass
class Pad:
    """One pad as read from a .kicad_mod (mm, KiCad frame)."""

    number: str
    kind: str
    shape: str
    x: float
    y: float
    w: float
    h: float
    drill: float | None = None
    layers: tuple[str, ...] = ()
    mask_margin: float | None = None
    paste_margin: float | None = None
    props: tuple[str, ...] = ()


@dataclass
class ModFile:
    """The parts of a footprint file the tests compare."""

    name: str
    attr: tuple[str, ...]
    pads: list[Pad]
    fields: dict[str, str] = field(default_factory=dict)
    layers_used: set[str] = field(default_factory=set)
    mask_margin: float | None = None
    courtyard: tuple[float, float, float, float] | None = None  # F.CrtYd bounding box (mm)


def _child(node: list, token: str) -> list | None:
    for item in node:
        if isinstance(item, list) and item and item[0] == token:
            return item
    return None


def parse_mod(text: str) -> ModFile:
    """Parse a .kicad_mod text with kisubstrate's own minimal S-expression reader."""
    tree = loads(text)
    assert tree[0] == "footprint", tree[0]
    pads = []
    for p in (item for item in tree if isinstance(item, list) and item and item[0] == "pad"):
        at = _child(p, "at")
        size = _child(p, "size")
        drill = _child(p, "drill")
        layers = _child(p, "layers")
        smm = _child(p, "solder_mask_margin")
        spm = _child(p, "solder_paste_margin")
        props = tuple(q[1] for q in p if isinstance(q, list) and q[:1] == ["property"] and len(q) == 2)
        drill_d = None
        if drill is not None:
            nums = [v for v in drill[1:] if isinstance(v, str) and v != "oval"]
            drill_d = float(nums[0])
        pads.append(Pad(number=p[1], kind=p[2], shape=p[3], x=float(at[1]), y=float(at[2]),
                        w=float(size[1]), h=float(size[2]), drill=drill_d,
                        layers=tuple(layers[1:]) if layers else (),
                        mask_margin=float(smm[1]) if smm else None,
                        paste_margin=float(spm[1]) if spm else None, props=props))
    fields = {p[1]: p[2] for p in tree if isinstance(p, list) and p[:1] == ["property"] and len(p) > 2}
    attr = _child(tree, "attr")
    used = set()
    for node in find_all(tree, "layer"):
        if len(node) == 2 and isinstance(node[1], str):
            used.add(node[1])
    fmm = _child(tree, "solder_mask_margin")
    crt = []
    for item in tree:
        if isinstance(item, list) and item and item[0] in ("fp_line", "fp_rect", "fp_poly") \
                and _child(item, "layer") == ["layer", "F.CrtYd"]:
            crt += [(float(q[1]), float(q[2])) for q in find_all(item, "xy")]
            crt += [(float(q[1]), float(q[2])) for tok in ("start", "end") for q in [_child(item, tok)] if q]
    bbox = (min(x for x, _ in crt), min(y for _, y in crt), max(x for x, _ in crt), max(y for _, y in crt)) \
        if crt else None
    return ModFile(name=tree[1], attr=tuple(attr[1:]) if attr else (), pads=pads, fields=fields,
                   layers_used=used, mask_margin=float(fmm[1]) if fmm else None, courtyard=bbox)


# -- KLC-style names ----------------------------------------------------------------------------
# <prefix_...><PKG>-<N>_<X>x<Y>[x<H>][mm]_Layout<C>x<R>_P<p>[x<q>]mm[_Ball<b>mm][_Pad<d>mm][_flags]
_NAME_RE = re.compile(
    r"^(?P<prefix>.*?)(?P<pkg>[A-Za-z]*(?:BGA|WLCSP|WLP|LGA|CSP))-(?P<count>\d+)"
    r"_(?P<bx>\d+(?:\.\d+)?)x(?P<by>\d+(?:\.\d+)?)(?:x(?P<h>\d+(?:\.\d+)?))?(?:mm)?"
    r"_Layout(?P<cols>\d+)x(?P<rows>\d+)"
    r"_P(?P<px>\d+(?:\.\d+)?)(?:x(?P<py>\d+(?:\.\d+)?))?mm"
    r"(?P<rest>.*)$")
_BALL_RE = re.compile(r"_Ball(\d+(?:\.\d+)?)mm")
_PAD_RE = re.compile(r"_Pad(\d+(?:\.\d+)?)mm")


@dataclass(frozen=True)
class NameParams:
    """Package parameters read from a footprint name (mm)."""

    name: str
    pkg: str
    count: int
    body: tuple[float, float]
    layout: tuple[int, int]
    pitch: tuple[float, float]
    ball: float | None
    pad: float | None
    flags: tuple[str, ...]


def parse_name(name: str) -> NameParams | None:
    """Parameters of a KLC-style grid-array name, or None if the name does not follow the pattern.

    >>> p = parse_name("BGA-200_10x14.5mm_Layout12x22_P0.8x0.65mm")
    >>> p.body, p.layout, p.pitch, p.ball
    ((10.0, 14.5), (12, 22), (0.8, 0.65), None)
    """
    m = _NAME_RE.match(name)
    if not m:
        return None
    rest = m.group("rest")
    ball = _BALL_RE.search(rest)
    pad = _PAD_RE.search(rest)
    flags = _PAD_RE.sub("", _BALL_RE.sub("", rest))
    px = float(m.group("px"))
    py = float(m.group("py")) if m.group("py") else px
    return NameParams(name=name, pkg=m.group("pkg"), count=int(m.group("count")),
                      body=(float(m.group("bx")), float(m.group("by"))),
                      layout=(int(m.group("cols")), int(m.group("rows"))), pitch=(px, py),
                      ball=float(ball.group(1)) if ball else None, pad=float(pad.group(1)) if pad else None,
                      flags=tuple(f for f in flags.split("_") if f))


def write_library(results, lib: Path) -> dict[str, object]:
    """Write FootprintResults into ``lib`` (a .pretty folder); returns name → result."""
    lib.mkdir(parents=True, exist_ok=True)
    out = {}
    for r in results:
        name = r.geometry.name
        assert name not in out, f"duplicate footprint name {name}"
        (lib / f"{name}.kicad_mod").write_text(r.text(), encoding="utf-8")
        out[name] = r
    return out


# -- conformance with KiCad's own library ------------------------------------------------------
CONFORMANCE_LIBS = ("Package_BGA", "Package_CSP", "Package_LGA")
TOL = 1e-3  # mm: 1 µm


@dataclass
class Conformance:
    """Outcome of regenerating one stock footprint from the parameters in its name."""

    lib: str
    name: str
    status: str  # "match" | "mismatch" | "skip"
    reason: str = ""
    spec: dict | None = None
    pads: int = 0
    name_equal: bool | None = None
    rule_ok: bool | None = None
    courtyard_equal: bool | None = None  # our courtyard box equals the stock one (±1 µm)
    mask_margin: tuple[float | None, float | None] = (None, None)  # (ours per pad, stock) mm


# flags that change only the land size (read from the file), not the grid
LAND_ONLY_FLAGS = {"LevelA", "LevelB", "LevelC", "ManualAssembly"}


def _family(pkg: str) -> str:
    up = pkg.upper()
    if "LGA" in up:
        return "lga"
    if "WLCSP" in up or "WLP" in up or up.endswith("CSP"):
        return "wlcsp"
    return "bga"


def spec_from_stock(params: NameParams, stock: ModFile) -> tuple[dict | None, str]:
    """A kisubstrate spec for a stock footprint: geometry from the name, vendor data from the file.

    From the NAME: family, body, layout, pitch (incl. x/y), ball, pad, NSMD/SMD, Stagger,
    Offcenter. From the FILE only what the name cannot say: the land size when the name has
    no ``_Pad``, which sites carry no ball (``missing``), the stagger phase and, for
    ``_Offcenter``, the grid offset. Returns (spec, "") or (None, why it cannot be expressed).
    """
    from kisubstrate.model.grid import JEDEC_ALPHABET, parse_ball_name, row_names

    family = _family(params.pkg)
    known = {"NSMD", "SMD", "Stagger", "Offcenter"} | LAND_ONLY_FLAGS
    extra = [f for f in params.flags if f not in known]
    if extra:
        return None, f"name flags not expressible: {'_'.join(extra)}"
    pads = [p for p in stock.pads if p.number]
    if not pads:
        return None, "no numbered pads"
    shapes = {(p.kind, p.shape, round(p.w, 6), round(p.h, 6)) for p in pads}
    if len(shapes) != 1:
        return None, f"pads differ in padstack ({len(shapes)} kinds): not one land size"
    kind, shape, w, h = shapes.pop()
    if kind != "smd":
        return None, f"pad type {kind}"
    if shape not in ("circle",) and not (family == "lga" and shape in ("rect", "roundrect") and w == h):
        return None, f"pad shape {shape} {w}x{h} not expressible"
    cols, rows = params.layout
    letters = row_names(rows, JEDEC_ALPHABET)
    sites = {}
    for p in pads:
        rc = parse_ball_name(p.number, letters)
        if rc is None or not (0 <= rc[1] < cols):
            if p.number.isdigit():
                return None, "pads numbered 1, 2, ... (not ball names): nothing to compare names with"
            return {"_unplaced": p.number}, f"stock pad '{p.number}' is not on a {cols}x{rows} JEDEC grid"
        sites[rc] = p
    spec: dict = {"family": family, "body": list(params.body), "layout": [cols, rows]}
    px, py = params.pitch
    spec["pitch"] = px if px == py else [px, py]
    mask = "smd" if "SMD" in params.flags else "nsmd"
    if family != "lga":
        spec["mask"] = mask
    copper = w
    if family == "lga":
        spec["pad_diameter"] = params.pad if params.pad is not None else copper
        if shape != "circle":
            spec["pad_shape"] = shape
    else:
        if params.pad is not None:
            spec["pad_diameter"] = params.pad
        elif mask == "smd":
            from kisubstrate.model.rules import load_rules
            overlap = load_rules("hdi-fine" if family == "wlcsp" else "ipc-default").smd_overlap
            spec["pad_diameter"] = round(copper - 2 * overlap, 6)  # the mask opening
        else:
            spec["pad_diameter"] = copper
        # the ball only names / describes the part; without _Ball use the IPC-7352 inverse
        spec["ball_diameter"] = params.ball if params.ball is not None else \
            min(round(spec["pad_diameter"] / 0.8, 2), round(0.9 * min(px, py), 2))
    if "Stagger" in params.flags:
        parity = {(r + c) % 2 for r, c in sites}
        if len(parity) != 1:
            return None, "staggered name but balls on both checkerboard phases"
        spec["stagger"] = "a1" if parity.pop() == 0 else "b1"
        # KLC/KFG _Stagger: hexagonal packing, the name's pitch is the nearest-ball distance;
        # along the compressed axis sites are p/2 apart, across it p*sqrt(3)/2. Our model
        # states the site pitch per axis, so translate; the compressed axis is read from the file.
        p = px
        xs = sorted({round(q.x, 4) for q in pads})
        ys = sorted({round(q.y, 4) for q in pads})
        dx = min((b - a for a, b in zip(xs, xs[1:])), default=math.inf)
        dy = min((b - a for a, b in zip(ys, ys[1:])), default=math.inf)
        half, hexa = p / 2, p * math.sqrt(3) / 2
        px, py = (half, hexa) if dx < dy else (hexa, half)
        spec["pitch"] = [px, py]
    if "Offcenter" in params.flags:
        ox = [p.x - (c - (cols - 1) / 2) * px for (r, c), p in sites.items()]
        oy = [p.y - (r - (rows - 1) / 2) * py for (r, c), p in sites.items()]
        spec["offset"] = [round(sorted(ox)[len(ox) // 2], 6), round(sorted(oy)[len(oy) // 2], 6)]
    phase = {"a1": 0, "b1": 1}.get(spec.get("stagger", ""), None)
    missing = [f"{letters[r]}{c + 1}" for r in range(rows) for c in range(cols)
               if (r, c) not in sites and (phase is None or (r + c) % 2 == phase)]
    if missing:
        spec["missing"] = missing
    return spec, ""


def compare_pads(ours: list[tuple], stock: ModFile) -> str:
    """'' if pad names, positions and sizes agree to 1 µm, else the first differences."""
    theirs = {p.number: p for p in stock.pads if p.number}
    mine = {n: (x, y, w, h) for n, x, y, w, h in ours}
    problems = []
    if set(mine) != set(theirs):
        only_m = sorted(set(mine) - set(theirs))[:4]
        only_t = sorted(set(theirs) - set(mine))[:4]
        problems.append(f"pad names differ (ours only {only_m}, stock only {only_t})")
    for n in sorted(set(mine) & set(theirs)):
        x, y, w, h = mine[n]
        t = theirs[n]
        if abs(x - t.x) > TOL or abs(y - t.y) > TOL:
            problems.append(f"{n} at ({x:g}, {y:g}), stock ({t.x:g}, {t.y:g})")
        elif abs(w - t.w) > TOL or abs(h - t.h) > TOL:
            problems.append(f"{n} size {w:g}x{h:g}, stock {t.w:g}x{t.h:g}")
        if len(problems) >= 3:
            break
    return "; ".join(problems)


def conformance_sweep(libs: tuple[str, ...] = CONFORMANCE_LIBS, *, only: set[str] | None = None,
                      root: Path = STOCK_FOOTPRINTS) -> list[Conformance]:
    """Regenerate every stock grid-array footprint whose name we can parse; compare pads."""
    from kisubstrate.api.footprint import build_footprints
    from kisubstrate.model.errors import SpecError

    out: list[Conformance] = []
    for lib in libs:
        for path in sorted((root / f"{lib}.pretty").glob("*.kicad_mod")):
            name = path.stem
            if only is not None and name not in only:
                continue
            params = parse_name(name)
            if params is None:
                continue  # not a KLC grid-array name (Xilinx_FFG1156, LayoutBorder LGAs, ...)
            stock = parse_mod(path.read_text(encoding="utf-8"))
            spec, why = spec_from_stock(params, stock)
            if spec is None:
                out.append(Conformance(lib, name, "skip", why))
                continue
            if why:
                out.append(Conformance(lib, name, "mismatch", why, spec))
                continue
            try:
                result = build_footprints(spec)[0]
            except SpecError as exc:
                out.append(Conformance(lib, name, "mismatch", f"spec rejected: {exc}", spec))
                continue
            geom = result.geometry
            problem = compare_pads(geom.pad_table(), stock)
            if not problem and geom.pad_count != params.count:
                problem = f"name says {params.count} balls, stock has {geom.pad_count}"
            if problem:
                cause = stock_anomaly(params, stock, spec)
                problem = f"{problem} -- stock anomaly: {cause}" if cause else problem
            crt = stock.courtyard
            crt_equal = crt is not None and all(abs(a - b) <= TOL for a, b in zip(crt, geom.courtyard.bounds))
            stock_margin = stock.mask_margin if stock.mask_margin is not None else \
                next((p.mask_margin for p in stock.pads if p.mask_margin is not None), None)
            out.append(Conformance(lib, name, "mismatch" if problem else "match", problem, spec,
                                   pads=geom.pad_count, name_equal=geom.name == name,
                                   rule_ok=result.report.ok, courtyard_equal=crt_equal,
                                   mask_margin=(geom.pads[0].mask_margin, stock_margin)))
    return out


def _spacing(values) -> float:
    """The most common gap between neighbouring distinct coordinates (mm; inf if one value)."""
    vals = sorted({round(v, 4) for v in values})
    gaps = [round(b - a, 3) for a, b in zip(vals, vals[1:])]
    return max(sorted(set(gaps)), key=gaps.count) if gaps else math.inf


def stock_anomaly(params: NameParams, stock: ModFile, spec: dict) -> str:
    """Why a stock file disagrees with its own name, judged from the stock file alone ('' if unknown).

    Only causes visible without our generator count (the file contradicts its name), so a
    position error of ours can never be explained away here.
    """
    from kisubstrate.model.grid import JEDEC_ALPHABET, parse_ball_name, row_names

    pads = [p for p in stock.pads if p.number]
    letters = row_names(params.layout[1], JEDEC_ALPHABET)
    sites = {parse_ball_name(p.number, letters): p for p in pads}
    parity = {(r + c) % 2 for r, c in sites}
    if len(parity) == 1 and len(sites) > 2 and "Stagger" not in params.flags:
        return "the balls sit on one checkerboard phase (staggered) but the name has no _Stagger"
    if len(pads) != params.count:
        return f"the name says {params.count} balls, the file has {len(pads)} pads"
    px, py = spec["pitch"] if isinstance(spec["pitch"], list) else (spec["pitch"],) * 2
    dx, dy = _spacing(p.x for p in pads), _spacing(p.y for p in pads)
    for axis, d, want in (("x", dx, px), ("y", dy, py)):
        if math.isfinite(d) and abs(d - want) > TOL:
            return f"the file's {axis} pitch is {d:g} mm, the name says {want:g} mm"
    coords = [v for p in pads for v in (p.x, p.y)]
    if all(abs(v * 100 - round(v * 100)) < 1e-6 for v in coords):
        exact = [(c - (params.layout[0] - 1) / 2) * px for c in range(params.layout[0])]
        if any(abs(v * 100 - round(v * 100)) > 1e-6 for v in exact):
            return "the file's coordinates are rounded to 0.01 mm (pitch not a multiple of 0.01 mm / 2)"
    # a few balls off the grid the rest of the file follows
    off = []
    for (r, c), p in sites.items():
        gx = (c - (params.layout[0] - 1) / 2) * px + spec.get("offset", [0, 0])[0]
        gy = (r - (params.layout[1] - 1) / 2) * py + spec.get("offset", [0, 0])[1]
        if abs(p.x - gx) > TOL or abs(p.y - gy) > TOL:
            off.append(f"{p.number} by ({p.x - gx:+.3f}, {p.y - gy:+.3f})")
    if off and len(off) <= 2:
        return "ball(s) off the grid the rest of the file follows: " + ", ".join(off)
    return ""
