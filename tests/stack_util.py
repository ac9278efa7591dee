"""Helpers shared by the substrate tests (every substrate family, panels): write projects, run KiCad DRC."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

PCBNEW_COUNT = r"""
import json, sys, pcbnew
b = pcbnew.LoadBoard(sys.argv[1])
vias = [t for t in b.GetTracks() if t.GetClass() in ("PCB_VIA", "VIA")]
kinds = {}
for v in vias:
    k = {pcbnew.VIATYPE_THROUGH: "through", pcbnew.VIATYPE_BLIND_BURIED: "blind",
         pcbnew.VIATYPE_MICROVIA: "micro"}.get(v.GetViaType(), "?")
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
