"""Footprint benchmark: kisubstrate vs KiCad's own ``bga_wizard``, same grids, same run.

Times, in process (``time.perf_counter``, median of ``--runs``), for N x N BGAs at 0.8 mm
pitch with 0.4 mm round pads (body = (N - 1) x pitch + 2 mm, i.e. 14 x 14 mm for 16 x 16):

* **build**: spec dict → validated model → footprint geometry (``validate_spec`` + the family builder);
* **check**: every footprint rule (``check_footprint``: copper, mask web, silk, courtyard, holes);
* **write**: geometry → ``.kicad_mod`` text;
* **save**: the text to disk through ``OutputPlan`` (atomic write + manifest) into a fresh folder;

and KiCad 9's ``bga_wizard`` driven through pcbnew in ``/usr/bin/python3``
(``benchmarks/wizard_driver.py``): ``BuildFootprint()``, ``PCB_IO_KICAD_SEXPR.FootprintSave``
to a fresh ``.pretty`` folder, and (for reference) ``Format`` to a string. The ratios compare
our build + check + write + save with the wizard's build + save (the wizard checks nothing).
Whole-process wall times compare ``kisubstrate footprint`` with a pcbnew process that builds and
saves the same grid (``bench_startup.py`` does this with more rounds, a dependency floor and load).

Run::

    python benchmarks/bench_footprint.py            # 16, 50, 100; 15 runs; wizard if pcbnew imports
    python benchmarks/bench_footprint.py --sizes 100 --runs 31 --json out.json
"""

from __future__ import annotations

import argparse
import gc
import json
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT / "generators"))

from kisubstrate.api.outputs import OutputPlan  # noqa: E402
from kisubstrate.api.specs import validate_spec  # noqa: E402
from kisubstrate.families import registry  # noqa: E402
from kisubstrate.kicad.footprint import write_footprint  # noqa: E402
from kisubstrate.rules.footprint import check_footprint  # noqa: E402

PITCH = 0.8  # mm
PAD = 0.4  # mm, round
MARGIN = 1.0  # mm from the outer ball centres to the body edge
SYSTEM_PYTHON = "/usr/bin/python3"
WIZARD_DRIVER = HERE / "wizard_driver.py"
STEPS = ("build", "check", "write", "save")


def bga_spec(n: int, *, pitch: float = PITCH, pad: float = PAD, margin: float | None = None) -> dict:
    """The spec dict of an n x n BGA (mm): 0.5 mm balls, ``pad`` mm lands, NSMD.

    The body edge lies ``margin`` (default ``MARGIN``) outside the outer ball centres.
    """
    margin = MARGIN if margin is None else margin
    body = round((n - 1) * pitch + 2 * margin, 6)
    return {"family": "bga", "body": [body, body], "pitch": pitch, "layout": [n, n],
            "ball_diameter": round(min(0.5, 0.625 * pitch), 6), "pad_diameter": pad}


def run_once(spec: dict, folder: Path) -> tuple[dict[str, float], dict]:
    """One generate + check + write + save; returns seconds per step and what was produced."""
    c0 = time.process_time()
    t0 = time.perf_counter()
    model = validate_spec(spec)
    geom = registry.get(model.family).footprint(model)[0]
    t1 = time.perf_counter()
    report = check_footprint(geom, model.rule_set())
    t2 = time.perf_counter()
    text = write_footprint(geom)
    t3 = time.perf_counter()
    plan = OutputPlan()
    path = folder / "bench.pretty" / f"{geom.name}.kicad_mod"
    plan.add(path, text)
    plan.commit()
    t4 = time.perf_counter()
    cpu = time.process_time() - c0
    info = {"pads": geom.pad_count, "violations": len(report.violations), "bytes": len(text.encode()),
            "path": str(path), "cpu": cpu}
    return {"build": t1 - t0, "check": t2 - t1, "write": t3 - t2, "save": t4 - t3}, info


def time_ours(n: int, runs: int) -> dict:
    """Median seconds per step (and total) over ``runs`` runs, after one warm-up run."""
    samples, info = ours_samples(n, runs)
    return _ours_summary(samples, info)


def _ours_summary(samples: dict[str, list[float]], info: dict) -> dict:
    return {**{k: statistics.median(v) for k, v in samples.items()}, "best_total": min(samples["total"]), **info}


def ours_samples(n: int, runs: int) -> tuple[dict[str, list[float]], dict]:
    """Seconds per step (and total) of ``runs`` runs after one warm-up run, and what was produced."""
    spec = bga_spec(n)
    samples: dict[str, list[float]] = {k: [] for k in (*STEPS, "total", "cpu")}
    info: dict = {}
    for k in range(runs + 1):
        folder = Path(tempfile.mkdtemp(prefix="kisub-bench-"))
        try:
            gc.collect()
            steps, info = run_once(spec, folder)
        finally:
            shutil.rmtree(folder, ignore_errors=True)
        if k == 0:
            continue  # warm-up: first-call imports and caches
        for key, v in steps.items():
            samples[key].append(v)
        samples["total"].append(sum(steps.values()))
        samples["cpu"].append(info.pop("cpu"))
    info.pop("cpu", None)
    return samples, info


def pcbnew_available(python: str = SYSTEM_PYTHON) -> bool:
    """True when ``python`` imports pcbnew (KiCad's SWIG bindings)."""
    if not Path(python).exists():
        return False
    return subprocess.run([python, "-c", "import pcbnew"], capture_output=True).returncode == 0


def time_wizard(sizes: list[int], runs: int, python: str = SYSTEM_PYTHON) -> dict:
    """KiCad's bga_wizard timings from ``wizard_driver.py inproc`` (seconds, medians)."""
    r = subprocess.run([python, str(WIZARD_DRIVER), "inproc", ",".join(map(str, sizes)), str(runs),
                        str(PITCH), str(PAD), str(MARGIN)], capture_output=True, text=True, timeout=1800)
    if r.returncode != 0:
        raise RuntimeError(f"wizard driver failed:\n{r.stderr[-2000:]}")
    return json.loads(r.stdout.strip().splitlines()[-1])


def cli_command() -> list[str]:
    """How to start ``kisubstrate`` from this interpreter (installed script, else the module)."""
    script = Path(sys.executable).with_name("kisubstrate")
    if script.exists():
        return [str(script)]
    return [sys.executable, "-c", "import sys; sys.path.insert(0, sys.argv.pop(1)); "
            "from kisubstrate.cli import main; sys.argv[0] = 'kisubstrate'; main()", str(ROOT / "generators")]


def time_processes(n: int, runs: int, *, wizard: bool) -> dict:
    """Median wall time (s) of whole processes: our CLI vs a pcbnew process (and bare interpreters)."""
    import yaml

    out: dict[str, float] = {}
    work = Path(tempfile.mkdtemp(prefix="kisub-proc-"))
    try:
        spec_file = work / "bga.yaml"
        spec_file.write_text(yaml.safe_dump({"packages": [bga_spec(n)]}))
        jobs = {"kisubstrate": lambda d: cli_command() + ["footprint", str(spec_file), "-o", str(d / "b.pretty")],
                "python_start": lambda d: [sys.executable, "-c", "pass"]}
        if wizard:
            jobs["wizard"] = lambda d: [SYSTEM_PYTHON, str(WIZARD_DRIVER), "once", str(n), str(PITCH), str(PAD),
                                        str(MARGIN), str(d)]
            jobs["pcbnew_import"] = lambda d: [SYSTEM_PYTHON, "-c", "import pcbnew"]
        wall: dict[str, list[float]] = {name: [] for name in jobs}
        cpu: dict[str, list[float]] = {name: [] for name in jobs}
        for k in range(runs + 1):  # the jobs take turns, so that they see the same machine load
            for name, make in jobs.items():
                d = work / f"{name}-{k}"
                d.mkdir()
                c0 = resource.getrusage(resource.RUSAGE_CHILDREN)
                t0 = time.perf_counter()
                r = subprocess.run(make(d), capture_output=True, text=True)
                dt = time.perf_counter() - t0
                c1 = resource.getrusage(resource.RUSAGE_CHILDREN)
                if r.returncode != 0:
                    raise RuntimeError(f"{name} failed: {r.stderr[-2000:]}")
                if k:
                    wall[name].append(dt)
                    cpu[name].append(c1.ru_utime - c0.ru_utime + c1.ru_stime - c0.ru_stime)
        for name in jobs:
            out[name] = statistics.median(wall[name])
            out[name + "_cpu"] = statistics.median(cpu[name])
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return out


def ms(seconds: float) -> str:
    return f"{seconds * 1e3:8.2f}"


def ms7(seconds: float) -> str:
    return f"{seconds * 1e3:7.2f}"


def render(results: dict) -> str:
    """The printed tables."""
    lines = []
    ours, wiz = results["ours"], results.get("wizard")
    lines.append(f"BGA footprints, {PITCH} mm pitch, {PAD} mm round pads, body edge {MARGIN} mm outside the "
                 f"outer balls; medians of {results['runs']} runs (ms, in process)")
    head = (f"{'grid':>9} {'pads':>6} | {'build':>7} {'check':>7} {'write':>7} {'save':>7} {'TOTAL':>7} "
            f"{'(best)':>7} {'(cpu)':>7}")
    if wiz:
        head += (f" | {'wiz build':>9} {'save':>7} {'TOTAL':>7} {'(best)':>7} {'(cpu)':>7} {'(format)':>8} | "
                 f"{'ratio':>5} {'best':>5} {'cpu':>5}")
    lines.append(head)
    lines.append("-" * len(head))
    for n in results["sizes"]:
        o = ours[str(n)]
        row = (f"{n:>4}x{n:<4} {o['pads']:>6} | {ms7(o['build'])} {ms7(o['check'])} {ms7(o['write'])} "
               f"{ms7(o['save'])} {ms7(o['total'])} {ms7(o['best_total'])} {ms7(o.get('cpu', float('nan')))}")
        if wiz:
            w = wiz["sizes"][str(n)]
            wt = w.get("total_s", w["build_s"] + w["save_s"])
            wc = w.get("cpu_s", float("nan"))
            row += (f" | {ms(w['build_s']):>9} {ms7(w['save_s'])} {ms7(wt)} {ms7(w['best_total_s'])} {ms7(wc)} "
                    f"{ms(w['format_s'])} | {wt / o['total']:4.1f}x {w['best_total_s'] / o['best_total']:4.1f}x "
                    f"{wc / o.get('cpu', float('nan')):4.1f}x")
        lines.append(row)
    if wiz:
        lines.append("ratio = wizard (BuildFootprint + FootprintSave) / kisubstrate (build + check + write + save): "
                     "of wall-time medians, of best runs, of CPU-time medians (process_time: robust on a busy "
                     "machine);")
        lines.append(f"KiCad {wiz['kicad']}, pcbnew import {wiz['import_s'] * 1e3:.0f} ms; "
                     "(format) = wizard footprint formatted to a string in memory")
        for n in results["sizes"]:
            o, w = ours[str(n)], wiz["sizes"][str(n)]
            ratio = (w["build_s"] + w["format_s"]) / (o["build"] + o["write"])
            lines.append(f"  {n}x{n}: build+write {ms(o['build'] + o['write']).strip()} ms vs wizard build+format "
                         f"{ms(w['build_s'] + w['format_s']).strip()} ms ({ratio:.1f}x); "
                         f"files {o['bytes']} vs {w['file_bytes']} bytes")
    else:
        lines.append("(KiCad's wizard not timed: /usr/bin/python3 cannot import pcbnew)")
    proc = results.get("process")
    if proc:
        n = results["process_size"]
        lines.append("")
        lines.append(f"Whole process, {n}x{n} BGA written to disk (wall time, median of {results['process_runs']}):")
        lines.append(f"  kisubstrate footprint CLI : {ms(proc['kisubstrate'])} ms wall, "
                     f"{ms(proc['kisubstrate_cpu'])} ms CPU"
                     f"   (bare python start {ms(proc['python_start']).strip()} ms)")
        if "wizard" in proc:
            lines.append(f"  pcbnew + bga_wizard       : {ms(proc['wizard'])} ms wall, {ms(proc['wizard_cpu'])} ms CPU"
                         f"   (python3 + import pcbnew alone {ms(proc['pcbnew_import']).strip()} ms, "
                         f"{ms(proc['pcbnew_import_cpu']).strip()} ms CPU)")
            lines.append(f"  ratio wizard / kisubstrate: {proc['wizard'] / proc['kisubstrate']:.2f}x wall, "
                         f"{proc['wizard_cpu'] / proc['kisubstrate_cpu']:.2f}x CPU")
    return "\n".join(lines)


def run(sizes: list[int], runs: int, *, wizard: bool | None = None, process_runs: int = 5,
        process_size: int | None = None) -> dict:
    """Everything the script prints, as a dict (seconds)."""
    if wizard is None:
        wizard = pcbnew_available()
    results: dict = {"sizes": sizes, "runs": runs, "ours": {}}
    if not wizard:
        results["ours"] = {str(n): time_ours(n, runs) for n in sizes}
    else:
        # alternate ours and the wizard in rounds, size by size, so that both sides see the
        # same machine load (the reference machine is shared)
        results["wizard"] = {"sizes": {}}
        rounds = min(3, runs)
        for n in sizes:
            ours: dict[str, list[float]] = {}
            wiz: dict[str, list[float]] = {}
            info: dict = {}
            for k in range(rounds):
                chunk = runs // rounds + (1 if k < runs % rounds else 0)
                s, info = ours_samples(n, chunk)
                for key, v in s.items():
                    ours.setdefault(key, []).extend(v)
                w = time_wizard([n], chunk)
                row = w["sizes"][str(n)]
                for key in ("build_all", "save_all", "format_all", "cpu_all"):
                    wiz.setdefault(key, []).extend(row[key])
                results["wizard"].update(import_s=w["import_s"], kicad=w["kicad"])
            results["ours"][str(n)] = _ours_summary(ours, info)
            results["wizard"]["sizes"][str(n)] = {
                "pads": row["pads"], "file_bytes": row["file_bytes"], "text_chars": row["text_chars"],
                "build_s": statistics.median(wiz["build_all"]), "save_s": statistics.median(wiz["save_all"]),
                "format_s": statistics.median(wiz["format_all"]), "cpu_s": statistics.median(wiz["cpu_all"]),
                "total_s": statistics.median([a + b for a, b in zip(wiz["build_all"], wiz["save_all"])]),
                "best_total_s": min(a + b for a, b in zip(wiz["build_all"], wiz["save_all"]))}
    if process_runs:
        size = process_size or max(sizes)
        results["process_size"] = size
        results["process_runs"] = process_runs
        results["process"] = time_processes(size, process_runs, wizard=wizard)
    return results


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", default="16,50,100", help="grid sizes N (N x N balls), comma separated")
    ap.add_argument("--runs", type=int, default=15, help="timed runs per size (median reported)")
    ap.add_argument("--process-runs", type=int, default=5, help="whole-process runs (0 = skip)")
    ap.add_argument("--no-wizard", action="store_true", help="skip KiCad's wizard")
    ap.add_argument("--margin", type=float, default=None,
                    help="mm from the outer ball centres to the body edge (0.4 at 0.8 mm pitch clips the silk "
                         f"around every edge pad); default {MARGIN}")
    ap.add_argument("--json", type=Path, help="also write the raw figures (seconds) to this file")
    args = ap.parse_args(argv)
    sizes = [int(v) for v in args.sizes.split(",")]
    if args.margin is not None:
        globals()["MARGIN"] = args.margin
    results = run(sizes, args.runs, wizard=False if args.no_wizard else None, process_runs=args.process_runs)
    print(render(results))
    if args.json:
        args.json.write_text(json.dumps(results, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
