"""Helpers shared by the substrate tests (every substrate family, panels): small boards and build-up specs,
write projects, run KiCad DRC, judge random specs' outcomes."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import numpy as np

from kisubstrate.geometry.board import BoardBuilder


def small_board(copper: int) -> BoardBuilder:
    """An empty 6 x 6 mm board (outline centred on the origin) with ``copper`` layers."""
    return BoardBuilder("t", copper=copper, outline=((-3, -3), (3, -3), (3, 3), (-3, 3)))


def small_buildup(**extra) -> dict:
    """A 6 x 6 mm three-copper build-up spec (16 die pads, 5 x 5 balls, no carrier: the pads take every ball
    clear of the die); ``extra`` keys replace its own."""
    return {"family": "buildup", "name": "SMALL", "body": [6, 6], "carrier": None,
            "stackup": {"layers": [{"copper": 0.015}, {"dielectric": 0.035}, {"copper": 0.015},
                                   {"dielectric": 0.035}, {"copper": 0.015}]},
            "dies": [{"size": [2, 2], "pads": {"peripheral": {"per_side": 4, "pitch": 0.3}}}],
            "terminals": {"pitch": 1.0, "layout": [5, 5], "ball_diameter": 0.5}, **extra}


PCBNEW_COUNT = r"""
import json, sys, pcbnew
b = pcbnew.LoadBoard(sys.argv[1])
vias = [t for t in b.GetTracks() if t.GetClass() in ("PCB_VIA", "VIA")]
kinds = {}
for v in vias:
    k = VIA_KINDS.get(int(v.GetViaType()), "?")  # conftest.PCBNEW_COMPAT
    kinds[k] = kinds.get(k, 0) + 1
pads = [p for fp in b.GetFootprints() for p in fp.Pads()]
draw = {}
for d in b.GetDrawings():
    name = b.GetLayerName(d.GetLayer())
    draw[name] = draw.get(name, 0) + 1
nets = [n for n in b.GetNetsByName().keys() if str(n)]
print(json.dumps({"copper": b.GetCopperLayerCount(), "pads": len(pads), "vias": len(vias), "via_kinds": kinds,
                  "tracks": sum(1 for t in b.GetTracks() if t.GetClass() in ("PCB_TRACK", "TRACK")),
                  "zones": b.GetAreaCount(), "nets": len(nets), "drawings": draw,
                  "footprints": len(b.GetFootprints()),
                  "pad_at": [[fp.GetReference(), p.GetNumber(), p.GetPosition().x, p.GetPosition().y,
                              p.GetNetname()] for fp in b.GetFootprints() for p in fp.Pads()][:400]}))
"""


def write_files(files: dict[str, str], folder: Path) -> Path:
    """Write a project's files; return the .kicad_pcb path."""
    folder.mkdir(parents=True, exist_ok=True)
    pcb = None
    for name, text in files.items():
        (folder / name).write_text(text)
        if name.endswith(".kicad_pcb"):
            pcb = folder / name
    assert pcb is not None
    return pcb


def write_result(result, folder: Path) -> Path:
    """Write a SubstrateResult's project files (no checks: the caller decides); return the board path."""
    from kisubstrate.api.substrate import substrate_files

    return write_files(substrate_files(result), folder)


def kicad_drc(cli: str, pcb: Path, *, severity: str = "--severity-error") -> dict:
    """kicad-cli DRC report as JSON (errors only by default)."""
    out = pcb.with_suffix(".drc.json")
    r = subprocess.run([cli, "pcb", "drc", "--format", "json", severity, "-o", str(out), str(pcb)],
                       capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr
    return json.loads(out.read_text())


def drc_types(report: dict) -> dict[str, int]:
    """Violation count per KiCad DRC type of a report."""
    out: dict[str, int] = {}
    for v in report["violations"]:
        out[v["type"]] = out.get(v["type"], 0) + 1
    return out


def drc(cli: str, pcb: Path) -> dict:
    """kicad-cli DRC (all severities) as JSON, with 'errors', 'types' and 'unconnected' summaries."""
    rep = kicad_drc(cli, pcb, severity="--severity-all")
    types: dict[str, int] = {}
    for v in rep["violations"]:
        types[f"{v['type']}/{v['severity']}"] = types.get(f"{v['type']}/{v['severity']}", 0) + 1
    rep["errors"] = [v for v in rep["violations"] if v["severity"] == "error"]
    rep["types"] = types
    rep["unconnected"] = len(rep["unconnected_items"])
    return rep


def fp_upgrade(cli: str, lib: Path, out: Path) -> subprocess.CompletedProcess:
    """``kicad-cli fp upgrade`` of a .pretty folder (KiCad parses every footprint)."""
    return subprocess.run([cli, "fp", "upgrade", "--force", "-o", str(out), str(lib)], capture_output=True,
                          text=True, timeout=300)


# -- random cavity / PoP specs: a KiCad-DRC-clean board or a clean refusal, never a crash -----------
BOARD_RULES = {"copper_clearance", "annular_ring", "hole_to_hole", "copper_to_edge", "microvia_aspect_ratio",
               "microvia_depth", "microvia_span", "microvia_stack", "mask_web", "terminal_outside_body",
               "die_outside_body"}


def family_outcome(data: dict, family_rules: set[str], base_dir=None):
    """('refused', field), ('violations', rules) or ('ok', result); ``base_dir``: where the spec's side files are."""
    from kisubstrate.api.footprint import build_footprints
    from kisubstrate.api.specs import validate_spec
    from kisubstrate.api.substrate import build_substrate, substrate_files
    from kisubstrate.model.errors import SpecError

    try:
        result = build_substrate(validate_spec(data, base_dir=str(base_dir)) if base_dir else validate_spec(data))
    except SpecError as exc:
        assert str(exc) and exc.reason, "a refusal says why"
        return "refused", exc.field
    if not result.report.ok:
        rules = {v.rule for v in result.report.violations}
        assert rules <= BOARD_RULES | family_rules, rules
        return "violations", rules
    substrate_files(result)  # writing never fails on a clean board
    assert len(build_footprints(result.spec)) == (2 if data["family"] == "pop" else 1)  # footprints build too
    return "ok", result


def die_pads_connected(board) -> None:
    """Every die pad has a net that also reaches a terminal land (pads, vias, tracks as a graph)."""
    owners = set(board.pads.owner) - {"BALLS", "POP"}
    for i in [k for k, o in enumerate(board.pads.owner) if o in owners]:
        net = int(board.pads.net[i])
        assert net
        parent: dict = {}

        def find(a, parent=parent):  # this pad's union-find forest
            while parent.setdefault(a, a) != a:
                a = parent[a]
            return a

        def node(x, y, layer):
            return (round(float(x), 6), round(float(y), 6), int(layer))

        v, t, p = board.vias, board.tracks, board.pads
        for k in np.flatnonzero(v.net == net):
            for layer in range(int(v.top[k]), int(v.bottom[k])):
                parent[find(node(v.x[k], v.y[k], layer))] = find(node(v.x[k], v.y[k], layer + 1))
        for k in np.flatnonzero(t.net == net):
            parent[find(node(t.x1[k], t.y1[k], t.layer[k]))] = find(node(t.x2[k], t.y2[k], t.layer[k]))
        roots = {find(node(p.x[k], p.y[k], p.layer[k])) for k in np.flatnonzero(p.net == net)}
        assert len(roots) == 1 and sum(1 for k in np.flatnonzero(p.net == net) if p.owner[k] in ("BALLS", "POP")) >= 1


def clean_boards_pass_kicad_drc(cli: str, folder: Path, strategy, rules: set[str]) -> None:
    """The first few clean boards of a fixed random sequence: KiCad agrees there is nothing wrong."""
    from hypothesis import HealthCheck, given, settings

    clean = []

    @settings(max_examples=30, deadline=None, derandomize=True, database=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
    @given(strategy)
    def collect(data):
        kind, detail = family_outcome(data, rules)
        if kind == "ok" and len(clean) < 2:
            clean.append(detail)

    collect()
    assert clean, "the strategy should yield clean boards"
    for k, result in enumerate(clean):
        report = kicad_drc(cli, write_result(result, folder / str(k)))
        assert report["violations"] == [] and report["unconnected_items"] == [], \
            [(v["type"], v["description"]) for v in report["violations"][:5]]
