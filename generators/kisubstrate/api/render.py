"""Dependency-free SVG pictures of a substrate: stackup cross-section and violation markers.

Both read the JSON sidecar that ``kisubstrate substrate`` writes next to the board
(``<name>.kisubstrate.json``: layers, materials, thicknesses, via spans, report).

Example:
    >>> info = {"name": "x", "mask_thickness": 0.02, "finish": "ENIG", "via_spans": [
    ...     {"kind": "micro", "top": 0, "bottom": 1}], "layers": [
    ...     {"kind": "copper", "thickness": 0.015, "kicad": "F.Cu", "name": "L1"},
    ...     {"kind": "dielectric", "thickness": 0.03, "material": "ABF", "epsilon_r": 3.3,
    ...      "loss_tangent": 0.008, "type": "prepreg"},
    ...     {"kind": "copper", "thickness": 0.015, "kicad": "B.Cu", "name": "L2"}]}
    >>> svg = cross_section_svg(info)
    >>> svg.startswith("<svg") and "ABF" in svg and "micro L1-L2" in svg
    True
"""

from __future__ import annotations

import re
from html import escape

_COLORS = {"copper": "#c87533", "mask": "#2e7d32"}
_DIEL = ["#e8dca8", "#d9c98a", "#efe4b8", "#cbbf8f"]


def mask_label(info: dict) -> str:
    """What the mask layers are: ``solder mask``, or ``<material> protective layer``.

    The material is the sidecar's ``mask_material`` (a leadframe's polyimide, titanium or aluminium).

    Example:
        >>> mask_label({"mask_material": "Titanium"}), mask_label({"mask_material": None}), mask_label({})
        ('Titanium protective layer', 'solder mask', 'solder mask')
    """
    material = info.get("mask_material")
    return f"{material} protective layer" if material else "solder mask"


def cross_section_svg(info: dict, *, width: float = 900.0) -> str:
    """Stackup drawn to scale (thickness axis), labelled with materials, εr/tanδ, thicknesses and via spans.

    Labels keep 14 px apart (a leader line joins a label pushed off its layer), the picture is as
    wide as its longest text, and a via span that sits on another (``stacked`` in the sidecar) is
    drawn in that span's column: stacked microvias are drawn stacked.

    Args:
        info: the substrate sidecar (``<name>.kisubstrate.json``): ``layers``, ``via_spans``,
            ``mask_thickness``, ``name``, ``finish``, optional ``cavity`` and ``mask_material`` (the
            mask layers' label, :func:`mask_label`).
        width: the least picture width (px).
    """
    mask = mask_label(info)
    layers = [{"kind": "mask", "thickness": info["mask_thickness"], "name": mask}] + info["layers"] + \
             [{"kind": "mask", "thickness": info["mask_thickness"], "name": mask}]
    total = sum(lay["thickness"] for lay in layers)
    scale = 520.0 / total  # px per mm
    x0, y0, w = 40.0, 40.0, 420.0
    title = (f'{info["name"]}: stackup to scale ({total:.3f} mm incl. mask, '
             f'finish {info.get("finish", "")})')
    body: list[str] = []
    labels: list[tuple[float, str]] = []  # (layer centre y, text)
    y = y0
    ys: dict[int, tuple[float, float]] = {}
    ci = 0
    for k, lay in enumerate(layers):
        h = lay["thickness"] * scale
        if lay["kind"] == "copper":
            color = _COLORS["copper"]
            label = f'{lay["name"]} ({lay["kicad"]}) copper {lay["thickness"] * 1000:.1f} µm'
            ys[ci] = (y, y + h)
            ci += 1
        elif lay["kind"] == "mask":
            color = _COLORS["mask"]
            label = f'{lay["name"]} {lay["thickness"] * 1000:.1f} µm'
        else:
            color = _DIEL[k % len(_DIEL)]
            label = (f'{lay["material"]} {lay["type"]} {lay["thickness"] * 1000:.1f} µm, '
                     f'εr {lay["epsilon_r"]:g}, tanδ {lay["loss_tangent"]:g}')
        body.append(f'<rect x="{x0}" y="{y:.2f}" width="{w}" height="{max(h, 0.5):.2f}" fill="{color}" '
                    f'stroke="#555" stroke-width="0.3"/>')
        labels.append((y + h / 2, label))
        if lay.get("plies"):  # composite dielectric (spacer, resin, adhesive ...): one band per sheet
            yp = y
            for j, ply in enumerate(lay["plies"]):
                hp = ply["thickness"] * scale
                body.append(f'<rect x="{x0}" y="{yp:.2f}" width="{w}" height="{max(hp, 0.5):.2f}" '
                            f'fill="{_DIEL[(k + j) % len(_DIEL)]}" stroke="#555" stroke-width="0.3" '
                            'stroke-dasharray="3,2"/>')
                labels.append((yp + hp / 2, f'  {ply.get("role") or "ply"}: {ply["material"]} '
                                            f'{ply["thickness"] * 1000:.1f} µm'))
                yp += hp
        y += h
    cav = info.get("cavity")
    if cav and ys:  # the cavity: removed from the top surface down to the floor copper
        floor = [i for i, lay in enumerate(info["layers"]) if lay["kind"] == "copper"
                 and lay.get("kicad") == cav.get("floor")]
        if floor:
            ci_floor = sum(1 for lay in info["layers"][:floor[0]] if lay["kind"] == "copper")
            yb = ys[ci_floor][0]
            if cav.get("structure") == "laminated":  # resin-filled, under the second substrate
                yt = yb - cav["depth"] * scale
                body.append(f'<rect x="{x0 + w * 0.55}" y="{yt:.2f}" width="{w * 0.4}" height="{yb - yt:.2f}" '
                            'fill="#d7ccc8" stroke="#c62828" stroke-width="1" stroke-dasharray="5,3"/>')
                ty = yt
                kind = f'cavity, {cav.get("resin", "resin")}-filled'
            else:
                body.append(f'<rect x="{x0 + w * 0.55}" y="{y0:.2f}" width="{w * 0.4}" height="{yb - y0:.2f}" '
                            'fill="#ffffff" stroke="#c62828" stroke-width="1" stroke-dasharray="5,3"/>')
                ty = y0
                kind = "cavity"
            for k, line in enumerate((kind, f'{cav["size"][0]:g} x {cav["size"][1]:g} mm',
                                      f'depth {cav["depth"] * 1000:.0f} µm')):
                body.append(f'<text x="{x0 + w * 0.57}" y="{ty + 16 + 14 * k:.2f}" fill="#c62828">{line}</text>')
    column_of: dict[int, int] = {}  # bottom copper of a drawn span -> its column
    columns = 0
    for span in sorted(info.get("via_spans", []), key=lambda s: (s["top"], s["bottom"])):
        top, bot = span["top"], span["bottom"]
        if top not in ys or bot not in ys:
            continue
        if span.get("stacked") and top in column_of:
            col = column_of.pop(top)
        else:
            col = columns
            columns += 1
        column_of[bot] = col
        vx = x0 + 30 + (col % 12) * 30
        ya, yb = ys[top][0], ys[bot][1]
        fill = "#8d6e63" if span["kind"] == "micro" else "#5d4037"
        body.append(f'<path d="M{vx - 6},{ya:.2f} L{vx + 6},{ya:.2f} L{vx + 3},{yb:.2f} L{vx - 3},{yb:.2f} Z" '
                    f'fill="{fill}" stroke="#000" stroke-width="0.4"><title>{span["kind"]} '
                    f'L{top + 1}-L{bot + 1}</title></path>')
    tx = x0 + w + 30
    at = -1e9
    labels.sort(key=lambda t: t[0])
    for yc, label in labels:  # top to bottom, each at least 14 px below the one above
        ly = max(yc + 4, at + 14)
        at = ly
        if abs(ly - 4 - yc) > 0.5:
            body.append(f'<path d="M{x0 + w},{yc:.2f} L{tx - 4},{ly - 4:.2f}" stroke="#777" stroke-width="0.5" '
                        'fill="none"/>')
        body.append(f'<text x="{tx}" y="{ly:.2f}">{escape(label)}</text>')
    legend = "vias: " + ", ".join(f'{s["kind"]} L{s["top"] + 1}-L{s["bottom"] + 1}'
                                  + (" (stacked)" if s.get("stacked") else "")
                                  for s in sorted(info.get("via_spans", []), key=lambda s: (s["top"], s["bottom"])))
    bottom = max(y, at) + 22
    body.append(f'<text x="{x0}" y="{bottom:.2f}">{escape(legend)}</text>')
    chars = max([len(title) * 8.6 + x0] + [tx + len(t) * 7.2 for _y, t in labels] + [x0 + len(legend) * 7.2])
    full = max(width, chars + 20)
    head = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{full:.0f}" height="{bottom + 18:.0f}" '
            f'font-family="sans-serif" font-size="12">',
            f'<text x="{x0}" y="24" font-size="15">{escape(title)}</text>']
    return "\n".join(head + body + ["</svg>"]) + "\n"


def markers_svg(info: dict, pcb_text: str = "", *, size: float = 800.0) -> str:
    """Body outline with a red marker at every violation of the sidecar's report (board frame, mm).

    Args:
        info: the JSON sidecar as a dict: ``outline`` (board outline points ``[x, y]``, mm; a 10 mm
            square when missing) and ``report`` (``profile`` and ``violations``, each with ``where``
            in mm, ``rule``, ``items``, ``layer``, ``measured`` and ``required``).
        pcb_text: the board's ``.kicad_pcb`` text; accepted from the callers but not read (the
            sidecar holds everything drawn).
        size: drawing size of the outline's longer side (px); a 20 px margin and a caption line
            are added.

    Example:
        >>> v = {"where": [0.5, 0.0], "rule": "clearance", "items": ["a", "b"], "layer": "L2",
        ...      "measured": 0.01, "required": 0.02}
        >>> info = {"outline": [[-1, -1], [1, -1], [1, 1], [-1, 1]],
        ...         "report": {"profile": "substrate-hdi", "violations": [v]}}
        >>> svg = markers_svg(info, size=100)
        >>> svg.count("<circle"), '<circle cx="95.00" cy="70.00"' in svg
        (1, True)
    """
    outline = info.get("outline") or [[-5, -5], [5, -5], [5, 5], [-5, 5]]
    xs = [p[0] for p in outline]
    ys = [p[1] for p in outline]
    minx, miny, maxx, maxy = min(xs), min(ys), max(xs), max(ys)
    s = size / max(maxx - minx, maxy - miny, 1e-6)
    pad = 20

    def tx(x: float) -> float:
        return pad + (x - minx) * s

    def ty(y: float) -> float:
        return pad + (y - miny) * s

    pts = " ".join(f"{tx(x):.2f},{ty(y):.2f}" for x, y in outline)
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{size + 2 * pad:.0f}" '
             f'height="{size + 2 * pad + 30:.0f}" font-family="sans-serif" font-size="11">',
             f'<polygon points="{pts}" fill="#f5f5f5" stroke="#333" stroke-width="1"/>']
    viol = info["report"]["violations"]
    for v in viol:
        x, y = v["where"]
        title = escape(f'{v["rule"]} {" - ".join(v["items"])} on {v["layer"]}: '
                       f'{v["measured"]:.4f} < {v["required"]:.4f} mm')
        parts.append(f'<circle cx="{tx(x):.2f}" cy="{ty(y):.2f}" r="5" fill="none" stroke="#d50000" '
                     f'stroke-width="1.5"><title>{title}</title></circle>')
    parts.append(f'<text x="{pad}" y="{size + 2 * pad + 15:.0f}">{len(viol)} violation(s) of profile '
                 f'{escape(info["report"]["profile"])}</text>')
    parts.append("</svg>")
    return "\n".join(parts) + "\n"


_TOKEN = re.compile(r'"(?:[^"\\]|\\.)*"|[()]')
_LAYER = re.compile(r'\(layer "([^"]*)"')


def without_notes(pcb_text: str, keep: set[str], *, texts: set[str] = frozenset()) -> str:
    r"""The board text without its top-level drawings (``gr_*``) on layers outside ``keep``, and texts off ``texts``.

    kicad-cli's board-area SVG page (``--page-size-mode 2``) spans every drawing of the board,
    exported or not: the fab notes written beside the board would stretch the picture (the
    board filled 13-25 % of it). Exporting from this copy crops the page to the board.

    Args:
        pcb_text: a ``.kicad_pcb`` file's text (one item per line as kisubstrate writes it, or
            KiCad's multi-line form).
        keep: layer names whose drawings stay (``Edge.Cuts``, ``User.1`` …).
        texts: layer names whose texts (``gr_text``, ``gr_text_box``) stay; labels elsewhere run
            past the board edge.

    Example:
        >>> pcb = '(kicad_pcb\n\t(gr_text "a (b)" (at 9 0 0) (layer "User.2"))\n\t(gr_line (layer "Edge.Cuts"))\n)'
        >>> without_notes(pcb, {"Edge.Cuts", "User.2"})
        '(kicad_pcb\n\t(gr_line (layer "Edge.Cuts"))\n)'
    """
    cuts: list[tuple[int, int]] = []
    depth = 0
    start = 0
    for m in _TOKEN.finditer(pcb_text):
        tok = m.group()
        if tok == "(":
            depth += 1
            if depth == 2:
                start = m.start()
        elif tok == ")":
            if depth == 2 and pcb_text.startswith("(gr_", start):
                item = pcb_text[start:m.end()]
                layer = _LAYER.search(item)
                text = pcb_text.startswith(("(gr_text ", "(gr_text_box "), start)
                if layer is not None and layer.group(1) not in (texts if text else keep):
                    line = pcb_text.rfind("\n", 0, start)
                    cuts.append((line if pcb_text[line + 1:start].isspace() or line + 1 == start else start,
                                 m.end()))
            depth -= 1
    if not cuts:
        return pcb_text
    parts, at = [], 0
    for a, b in cuts:
        parts.append(pcb_text[at:a])
        at = b
    parts.append(pcb_text[at:])
    return "".join(parts)


def overlay_markers(svg: str, violations: list[dict], *, outline: list, layer: str | None = None,
                    edge_width: float = 0.05) -> str:
    """Draw a red ring at each violation (on ``layer`` or all) onto a ``kicad-cli pcb export svg`` picture.

    kicad-cli's board-only SVG (``--page-size-mode 2``) is in mm with its origin at the top-left
    of the Edge.Cuts bounding box grown by half the outline's line width.

    Args:
        svg: the SVG text from kicad-cli; the markers go in just before its closing ``</svg>``.
        violations: the sidecar report's violations (``where`` in mm, board frame; ``rule``,
            ``items``, ``layer``, ``measured``, ``required``).
        outline: the board outline points ``[x, y]`` (mm, board frame), for the picture's origin.
        layer: keep the violations on this copper layer (``L1``, ``L2`` …) plus those between layers
            (``L1-L2``), of drills and of the stack; None = every violation.
        edge_width: line width of the Edge.Cuts outline (mm).

    Example:
        >>> v = {"where": [0.5, 0.0], "rule": "clearance", "items": ["a", "b"], "layer": "L2",
        ...      "measured": 0.01, "required": 0.02}
        >>> overlay_markers("<svg></svg>", [v], outline=[[-1, -1], [1, 1]]).splitlines()[1]
        '<circle cx="1.5250" cy="1.0250" r="0.15"><title>clearance: a - b (0.0100 / 0.0200)</title></circle>'
        >>> overlay_markers("<svg></svg>", [v], outline=[[-1, -1], [1, 1]], layer="L1")
        '<svg></svg>'
    """
    sel = [v for v in violations if layer is None or v["layer"] == layer or "-" in v["layer"]
           or v["layer"] in ("drill", "stack")]
    if not sel:
        return svg
    ox = -min(p[0] for p in outline) + edge_width / 2
    oy = -min(p[1] for p in outline) + edge_width / 2
    marks = ['<g id="kisubstrate-violations" style="fill:none;stroke:#ff1744;stroke-width:0.03">']
    for v in sel:
        x, y = v["where"]
        title = escape(f'{v["rule"]}: {" - ".join(v["items"])} ({v["measured"]:.4f} / {v["required"]:.4f})')
        marks.append(f'<circle cx="{x + ox:.4f}" cy="{y + oy:.4f}" r="0.15"><title>{title}</title></circle>')
    marks.append("</g>")
    head, _sep, tail = svg.rpartition("</svg>")
    return head + "\n".join(marks) + "\n</svg>" + tail
