"""Library export benchmark: the whole shipped library (footprints/library.yaml), end to end.

Times ``export_library`` into a fresh folder (median of ``--runs``): expansion + validation,
build + rule checks + ``.kicad_mod`` + VRML text in a process pool, one
``kicad-cli fp export svg`` call for every render (in the background while the footprints,
models and tables are written; ``render_wait`` is what is left to wait for), and the atomic
writes; with 2 workers (this
machine's cores) and with 1 for the parallel speed-up. CPU seconds (this process, workers and
kicad-cli) and the 1-minute load average are printed too: on a shared machine the wall time
depends on the others' load, the CPU time much less. Target: <= 20 ms per footprint on two
cores, 3D models and renders included. A second export into the same folder (nothing changes,
nothing rewritten, no render: the SVGs' stamps match) is timed too.

Run::

    python benchmarks/bench_library.py              # 3 runs, 2 and 1 workers, renders on
    python benchmarks/bench_library.py --runs 1 --no-renders --json
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "generators"))

import kisubstrate.api.footprint  # noqa: E402,F401 - imported once up front, as in a long-lived process
from kisubstrate.api.library import export_library  # noqa: E402

SPEC = HERE.parent / "footprints" / "library.yaml"
TARGET_MS = 20.0


def _cpu() -> float:
    """CPU seconds of this process and its reaped children (workers, kicad-cli)."""
    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def one_export(out: Path, *, jobs: int, renders: bool) -> dict:
    c0, t0 = _cpu(), time.perf_counter()
    res = export_library(SPEC, out, jobs=jobs, renders=renders)
    wall = time.perf_counter() - t0
    cpu = _cpu() - c0
    assert not res.violations
    n = len(res.entries)
    return {"footprints": n, "pads": sum(e.pads for e in res.entries), "files": len(res.files),
            "bytes": sum(p.stat().st_size for p in res.files), "wall_s": wall,
            "ms_per_footprint": 1000 * wall / n, "cpu_s": cpu, "cpu_ms_per_footprint": 1000 * cpu / n,
            "load_1min": os.getloadavg()[0], **{f"{k}_s": v for k, v in res.seconds.items()}}


def bench(jobs_list: list[int], runs: int, renders: bool) -> list[dict]:
    """Median figures per worker count; runs interleaved so that load changes hit both alike."""
    rows: dict[int, list[dict]] = {j: [] for j in jobs_list}
    for _ in range(runs):
        for jobs in jobs_list:
            with tempfile.TemporaryDirectory(prefix="kisubstrate-bench-lib-") as tmp:
                rows[jobs].append(one_export(Path(tmp) / "lib", jobs=jobs, renders=renders))
    out = []
    for jobs in jobs_list:
        med = {k: statistics.median(r[k] for r in rows[jobs]) for k in rows[jobs][0]}
        med["jobs"] = jobs
        out.append(med)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--no-renders", action="store_true", help="skip kicad-cli renders")
    ap.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = ap.parse_args()
    renders = not args.no_renders
    if renders and not shutil.which("kicad-cli"):
        sys.exit("kicad-cli not found (use --no-renders)")
    cores = os.cpu_count() or 1
    two, one = bench([min(2, cores), 1], args.runs, renders)
    with tempfile.TemporaryDirectory(prefix="kisubstrate-bench-lib-") as tmp:
        out = Path(tmp) / "lib"
        export_library(SPEC, out, jobs=2, renders=renders)
        t0 = time.perf_counter()
        again = export_library(SPEC, out, jobs=2, renders=renders)
        rerun = {"wall_s": time.perf_counter() - t0, "changed": len(again.changed), "rendered": again.rendered}
    result = {"spec": str(SPEC.relative_to(HERE.parent)), "cores": cores, "renders": renders, "runs": args.runs,
              "two_workers": two, "one_worker": one, "speedup": one["wall_s"] / two["wall_s"],
              "rerun_same_folder": rerun, "target_ms_per_footprint": TARGET_MS,
              "meets_target": two["ms_per_footprint"] <= TARGET_MS}
    if args.json:
        print(json.dumps(result, indent=2))
        return
    print(f"library export: {two['footprints']:.0f} footprints, {two['pads']:.0f} pads, {two['files']:.0f} files, "
          f"{two['bytes'] / 1e6:.1f} MB ({'with' if renders else 'without'} kicad-cli renders); "
          f"median of {args.runs}, {cores} cores")
    for label, r in (("2 workers", two), ("1 worker ", one)):
        parts = "  ".join(f"{k[:-2]} {r[k]:6.2f} s" for k in ("build_s", "write_s", "render_wait_s") if k in r)
        print(f"  {label}: {r['wall_s']:6.2f} s = {r['ms_per_footprint']:5.1f} ms/footprint   ({parts});  "
              f"CPU {r['cpu_s']:.2f} s = {r['cpu_ms_per_footprint']:.1f} ms/footprint; load {r['load_1min']:.1f}")
    print(f"  speed-up 2 vs 1 worker: {result['speedup']:.2f}x; re-run into the same folder: "
          f"{rerun['wall_s']:.2f} s, {rerun['changed']} files rewritten, {rerun['rendered']} re-rendered")
    verdict = "meets" if result["meets_target"] else "MISSES"
    print(f"  target <= {TARGET_MS:g} ms/footprint on two cores: {verdict} ({two['ms_per_footprint']:.1f} ms)")


if __name__ == "__main__":
    main()
