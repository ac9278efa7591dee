"""Routed flip-chip substrates: ``kisubstrate substrate`` (route + check + write) vs ``kicad-cli pcb drc``.

For each case, in one run, side by side:

* **kisubstrate**: ``kisubstrate substrate spec.yaml -o <tmp>`` in a fresh process: load, bump plan,
  plane ties, routing of every signal net, plane fills, every board rule (clearances, connectivity)
  and the atomic write of the project; wall time and the child's peak memory (``ru_maxrss``);
* **KiCad**: ``kicad-cli pcb drc`` of the board just written (KiCad's own DRC of the same copper),
  wall time and peak memory; the report's error and unconnected counts are printed too.

Cases: ``example`` (``footprints/examples/flipchip.yaml``: 625 bumps, 400 balls, 236 signals, 8 copper)
and ``scaled`` (generated here: a 10 mm die with a 49 x 49 bump plan = 2,401 bumps, 40 x 40 balls =
1,600 balls at 0.8 mm, GND / VDD_CORE / VDD_IO planes, 10 copper layers with 4 escape layers).
The last stdout line is one JSON document.

Run::

    python benchmarks/bench_route.py                 # both cases
    python benchmarks/bench_route.py --case example
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))

from make_pinout import csv_text, pinout  # noqa: E402

SCALED = """packages:
  - family: flipchip
    name: FCBGA-1600_33.0x33.0mm_Die10x10mm_10L_P0.8mm
    body: [33.0, 33.0]
    stackup:
      layers:
        - {copper: 0.015, role: signal}
        - {dielectric: 0.03}
        - {copper: 0.015, role: mixed, nets: [GND]}
        - {dielectric: 0.03}
        - {copper: 0.015, role: signal}
        - {dielectric: 0.03}
        - {copper: 0.015, role: mixed, nets: [GND]}
        - {dielectric: 0.03}
        - {copper: 0.018, role: plane, nets: [VDD_CORE, VDD_IO]}
        - {dielectric: 0.4, material: BT, type: core}
        - {copper: 0.018, role: plane, nets: [GND]}
        - {dielectric: 0.03}
        - {copper: 0.015, role: plane, nets: [VDD_CORE, VDD_IO]}
        - {dielectric: 0.03}
        - {copper: 0.015, role: plane, nets: [GND]}
        - {dielectric: 0.03}
        - {copper: 0.015, role: plane, nets: [GND]}
        - {dielectric: 0.03}
        - {copper: 0.015}
    dies:
      - {name: U1, size: [10.0, 10.0], face: down, pads: {plan: {pitch: 0.2}, size: 0.09}}
    terminals: {pitch: 0.8, layout: [40, 40], ball_diameter: 0.4, land: 0.32, ball_map: balls.csv}
    vias: {micro: {drill: 0.06, pad: 0.12}, blind: {drill: 0.15, pad: 0.3}}
"""


def _child(cmd: list[str]) -> tuple[float, float, subprocess.CompletedProcess]:
    """Run ``cmd`` in its own process: (wall seconds, that process's peak memory in MB, result)."""
    t0 = time.perf_counter()
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        p = subprocess.Popen(cmd, stdout=out, stderr=err, text=True)
        _pid, status, usage = os.wait4(p.pid, 0)
        wall = time.perf_counter() - t0
        p.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        r = subprocess.CompletedProcess(cmd, p.returncode, out.read(), err.read())
    return wall, usage.ru_maxrss / 1024, r


def run_case(name: str, spec: Path, kicad_cli: str | None) -> dict:
    """Time one case; returns its figures."""
    out = Path(tempfile.mkdtemp(prefix=f"bench-route-{name}-"))
    exe = shutil.which("kisubstrate") or str(Path(sys.executable).with_name("kisubstrate"))
    # --no-check: the checks run and are reported, and the board is written even if a net is left open,
    # so that KiCad's DRC can be timed on it too (the exit code and the unrouted count are recorded)
    wall, mem, r = _child([exe, "substrate", str(spec), "-o", str(out), "--kicad", "9", "--no-check"])
    if not list(out.glob("*.kicad_pcb")):
        raise SystemExit(f"{name}: kisubstrate exit {r.returncode}\n{r.stdout[-2000:]}\n{r.stderr[-2000:]}")
    pcb = next(out.glob("*.kicad_pcb"))
    sidecar = json.loads(next(out.glob("*.kisubstrate.json")).read_text())
    routing = sidecar["routing"]
    row = {"case": name, "kisubstrate_s": round(wall, 2), "kisubstrate_peak_mb": round(mem, 1), "exit": r.returncode,
           "pads": sidecar["counts"]["pads"], "vias": sidecar["counts"]["vias"],
           "tracks": sidecar["counts"]["tracks"], "copper": sidecar["copper"],
           "signal_nets": sum(m["kind"] == "signal" for m in routing["nets"].values()),
           "signal_layers_used": routing["signal_layers_used"], "unrouted": len(routing["unrouted"]),
           "trace_mm": round(sum(m["length_mm"] for m in routing["nets"].values()), 1)}
    if kicad_cli:
        rep = out / "drc.json"
        w2, m2, r2 = _child([kicad_cli, "pcb", "drc", "--format", "json", "--severity-error", "-o", str(rep), str(pcb)])
        if rep.exists():
            d = json.loads(rep.read_text())
            row.update({"kicad_drc_s": round(w2, 2), "kicad_drc_peak_mb": round(m2, 1),
                        "kicad_errors": len(d["violations"]), "kicad_unconnected": len(d["unconnected_items"]),
                        "ratio_kicad_over_ours": round(w2 / wall, 2)})
        else:
            row["kicad_drc"] = f"no report (exit {r2.returncode})"
    shutil.rmtree(out, ignore_errors=True)
    return row


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--case", choices=["example", "scaled", "all"], default="all")
    args = ap.parse_args()
    kicad_cli = shutil.which("kicad-cli")
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        cases = []
        if args.case in ("example", "all"):
            cases.append(("example", ROOT / "footprints" / "examples" / "flipchip.yaml"))
        if args.case in ("scaled", "all"):
            (Path(tmp) / "balls.csv").write_text(csv_text(pinout(40, core=28)))
            (Path(tmp) / "scaled.yaml").write_text(SCALED)
            cases.append(("scaled", Path(tmp) / "scaled.yaml"))
        print(f"load {os.getloadavg()[0]:.1f}; kicad-cli: {kicad_cli or 'not found'}")
        for name, spec in cases:
            row = run_case(name, spec, kicad_cli)
            rows.append(row)
            print(" ".join(f"{k}={v}" for k, v in row.items()), flush=True)
    print(json.dumps(rows))


if __name__ == "__main__":
    main()
