"""Whole-process benchmark: ``kisubstrate footprint`` vs a process running KiCad's ``bga_wizard``.

Both sides are timed from process start to exit (``time.perf_counter`` around
``subprocess.run``, and the children's CPU time from ``getrusage``), in ONE run, taking turns:

* **kisubstrate**: ``kisubstrate footprint spec.yaml -o <tmp>/b.pretty`` for an N x N BGA
  (a temporary spec: 0.8 mm pitch, 0.4 mm round pads, body edge 1 mm outside the outer balls):
  interpreter start, imports, spec loading and validation, build, every footprint rule check,
  ``.kicad_mod`` + VRML text (``--no-step``: no STEP model), atomic save with manifest;
* **wizard**: ``/usr/bin/python3 benchmarks/wizard_driver.py once …``: interpreter start,
  ``import pcbnew`` + ``bga_wizard``, ``BuildFootprint()`` of the same grid and
  ``PCB_IO_KICAD_SEXPR().FootprintSave`` to a fresh ``.pretty`` (it checks nothing);

plus references: a bare ``python -c pass`` of our interpreter, the floor our dependencies set
(``deps_floor``: import click, numpy, shapely, yaml and pydantic, and validate one pydantic model,
which loads pydantic's plugin entry points — what any run of ours pays before our own code; with
one OpenBLAS thread, as ``kisubstrate.cli.main`` sets), and ``/usr/bin/python3 -c "import pcbnew"``.
Each round runs every job once; the order alternates between rounds so neither side always runs
first. One warm-up round (not counted) writes the bytecode caches: ``PYTHONDONTWRITEBYTECODE`` is
removed from the children's environment, as on a user's machine.
The machine load (``os.getloadavg``) is reported before and after; on a busy machine compare
the CPU medians. The last stdout line is one JSON document (seconds).

Run::

    python benchmarks/bench_startup.py                   # 100 x 100, 15 rounds, wizard if pcbnew imports
    python benchmarks/bench_startup.py --runs 31 --json startup.json
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from bench_footprint import (  # noqa: E402
    MARGIN,
    PAD,
    PITCH,
    SYSTEM_PYTHON,
    WIZARD_DRIVER,
    bga_spec,
    cli_command,
    pcbnew_available,
)

# runs the CLI like the console script and prints, at exit, every kisubstrate module it imported
PROBE = ("import atexit, sys\n"
         "atexit.register(lambda: print('LOADED', ' '.join(sorted(m for m in sys.modules "
         "if m.startswith('kisubstrate.'))), file=sys.stderr))\n"
         "sys.path.insert(0, sys.argv.pop(1)); sys.argv[0] = 'kisubstrate'\n"
         "from kisubstrate.cli import main\nmain()\n")
# what our dependencies alone cost: the modules every footprint run imports, and one validated model
DEPS_FLOOR = ("import os\nos.environ.setdefault('OPENBLAS_NUM_THREADS', '1')  # as kisubstrate.cli.main does\n"
              "import click, numpy, shapely, yaml\nfrom pydantic import BaseModel, Field\n"
              "class M(BaseModel):\n    x: float = Field(gt=0)\nM(x=1)\n")


def child_env() -> dict[str, str]:
    """Our environment without ``PYTHONDONTWRITEBYTECODE`` (both sides may use bytecode caches)."""
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


def write_spec(n: int, folder: Path) -> Path:
    """Write the spec file of an n x n BGA (one package) into ``folder`` and return its path.

    Args:
        n: balls per side.
        folder: an existing folder.
    """
    spec = bga_spec(n)
    lines = ["packages:", f"  - family: {spec['family']}", f"    body: {spec['body']}", f"    pitch: {spec['pitch']}",
             f"    layout: {spec['layout']}", f"    ball_diameter: {spec['ball_diameter']}",
             f"    pad_diameter: {spec['pad_diameter']}"]
    path = folder / "bga.yaml"
    path.write_text("\n".join(lines) + "\n")
    return path


def jobs_for(n: int, spec: Path, *, wizard: bool,
             python: str = SYSTEM_PYTHON) -> dict[str, Callable[[Path], list[str]]]:
    """The command of every timed job, given a fresh output folder.

    Args:
        n: balls per side (the wizard builds the same grid as ``spec``).
        spec: the spec file written by :func:`write_spec`.
        wizard: also time the pcbnew jobs.
        python: the interpreter that imports pcbnew (KiCad's bindings).
    """
    jobs: dict[str, Callable[[Path], list[str]]] = {
        # --no-step: the VRML model as before STEP models came (the wizard writes no 3D model at all)
        "kisubstrate": lambda d: cli_command() + ["footprint", str(spec), "-o", str(d / "b.pretty"), "--no-step"],
        "python_start": lambda d: [sys.executable, "-c", "pass"],
        "deps_floor": lambda d: [sys.executable, "-c", DEPS_FLOOR],
    }
    if wizard:
        jobs["wizard"] = lambda d: [python, str(WIZARD_DRIVER), "once", str(n), str(PITCH), str(PAD),
                                    str(MARGIN), str(d)]
        jobs["pcbnew_import"] = lambda d: [python, "-c", "import pcbnew"]
    return jobs


def loaded_modules(spec: Path, folder: Path) -> list[str]:
    """The ``kisubstrate.*`` modules one ``kisubstrate footprint`` run of ``spec`` imports.

    Args:
        spec: a spec file.
        folder: an empty folder for the output library.
    """
    cmd = [sys.executable, "-c", PROBE, str(HERE.parent / "generators"), "footprint", str(spec),
           "-o", str(folder / "p.pretty"), "--no-step"]
    r = subprocess.run(cmd, capture_output=True, text=True, env=child_env())
    if r.returncode != 0:
        raise RuntimeError(f"probe failed: {r.stderr[-2000:]}")
    line = [ln for ln in r.stderr.splitlines() if ln.startswith("LOADED")][-1]
    return line.split()[1:]


def time_jobs(jobs: dict[str, Callable[[Path], list[str]]], runs: int, work: Path) -> dict[str, dict]:
    """Wall and CPU seconds of every job, ``runs`` rounds after one warm-up round, taking turns.

    Args:
        jobs: name -> command for a fresh output folder (see :func:`jobs_for`).
        runs: counted rounds.
        work: a scratch folder (one subfolder per run is made and removed).

    Returns:
        name -> ``{"wall": [...], "cpu": [...]}`` in seconds.
    """
    out = {name: {"wall": [], "cpu": []} for name in jobs}
    env = child_env()
    names = list(jobs)
    for k in range(runs + 1):
        for name in (names if k % 2 else names[::-1]):
            d = work / f"{name}-{k}"
            d.mkdir()
            c0 = resource.getrusage(resource.RUSAGE_CHILDREN)
            t0 = time.perf_counter()
            r = subprocess.run(jobs[name](d), capture_output=True, text=True, env=env)
            dt = time.perf_counter() - t0
            c1 = resource.getrusage(resource.RUSAGE_CHILDREN)
            if r.returncode != 0:
                raise RuntimeError(f"{name} failed ({r.returncode}): {r.stderr[-2000:]}")
            if name in ("kisubstrate", "wizard") and not any(d.rglob("*.kicad_mod")):
                raise RuntimeError(f"{name} wrote no .kicad_mod")
            shutil.rmtree(d, ignore_errors=True)
            if k:  # round 0 is the warm-up (bytecode caches, page cache)
                out[name]["wall"].append(dt)
                out[name]["cpu"].append(c1.ru_utime - c0.ru_utime + c1.ru_stime - c0.ru_stime)
    return out


def run(n: int = 100, runs: int = 15, *, wizard: bool | None = None, python: str = SYSTEM_PYTHON) -> dict:
    """Everything the script prints, as a dict (seconds).

    Args:
        n: balls per side of the BGA.
        runs: counted rounds (each job once per round).
        wizard: time KiCad's wizard too; None = if ``python`` imports pcbnew.
        python: the interpreter that imports pcbnew (default ``/usr/bin/python3``).
    """
    if wizard is None:
        wizard = pcbnew_available(python)
    work = Path(tempfile.mkdtemp(prefix="kisub-startup-"))
    try:
        spec = write_spec(n, work)
        load_before = os.getloadavg()
        samples = time_jobs(jobs_for(n, spec, wizard=wizard, python=python), runs, work)
        load_after = os.getloadavg()
        probe = work / "probe"
        probe.mkdir()
        modules = loaded_modules(spec, probe)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    res: dict = {"size": n, "pads": n * n, "runs": runs, "load_before": load_before, "load_after": load_after,
                 "loaded_families": [m for m in modules if m.startswith("kisubstrate.families.")],
                 "loaded_modules": len(modules), "jobs": {}}
    for name, s in samples.items():
        res["jobs"][name] = {"median": statistics.median(s["wall"]), "min": min(s["wall"]),
                             "cpu_median": statistics.median(s["cpu"]), "wall": s["wall"], "cpu": s["cpu"]}
    if wizard:
        ours, wiz = res["jobs"]["kisubstrate"], res["jobs"]["wizard"]
        res["ratio"] = wiz["median"] / ours["median"]
        res["ratio_min"] = wiz["min"] / ours["min"]
        res["ratio_cpu"] = wiz["cpu_median"] / ours["cpu_median"]
    return res


def render(res: dict) -> str:
    """The printed table (milliseconds).

    Args:
        res: the dict :func:`run` returns.
    """
    n = res["size"]
    lines = [f"Whole process, {n}x{n} BGA ({res['pads']} pads) generated, checked and saved; "
             f"{res['runs']} rounds, taking turns (ms)",
             f"{'job':<16} {'median':>8} {'min':>8} {'CPU med':>8}"]
    labels = {"kisubstrate": "kisubstrate", "wizard": "bga_wizard", "python_start": "python -c pass",
              "deps_floor": "deps floor", "pcbnew_import": "import pcbnew"}
    for name, j in res["jobs"].items():
        lines.append(f"{labels.get(name, name):<16} {j['median'] * 1e3:8.1f} {j['min'] * 1e3:8.1f} "
                     f"{j['cpu_median'] * 1e3:8.1f}")
    if "ratio" in res:
        lines.append(f"wizard / kisubstrate: {res['ratio']:.2f}x (medians), {res['ratio_min']:.2f}x (min), "
                     f"{res['ratio_cpu']:.2f}x (CPU)")
    else:
        lines.append("(KiCad's wizard not timed: /usr/bin/python3 cannot import pcbnew)")
    fams = ", ".join(m.rsplit(".", 1)[1] for m in res["loaded_families"])
    lines.append(f"kisubstrate footprint imported {res['loaded_modules']} kisubstrate modules; families: {fams}")
    lines.append("load average (1, 5, 15 min): before " + " ".join(f"{v:.2f}" for v in res["load_before"])
                 + ", after " + " ".join(f"{v:.2f}" for v in res["load_after"]))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Command line: see the module docstring.

    Args:
        argv: the arguments (default ``sys.argv[1:]``).
    """
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--size", type=int, default=100, help="balls per side (N x N BGA)")
    ap.add_argument("--runs", type=int, default=15, help="counted rounds, each job once per round (median)")
    ap.add_argument("--no-wizard", action="store_true", help="skip KiCad's wizard")
    ap.add_argument("--json", type=Path, help="also write the figures (seconds, every sample) to this file")
    args = ap.parse_args(argv)
    res = run(args.size, args.runs, wizard=False if args.no_wizard else None)
    print(render(res))
    summary = {k: v for k, v in res.items() if k != "jobs"}
    summary["jobs"] = {name: {k: v for k, v in j.items() if k not in ("wall", "cpu")}
                       for name, j in res["jobs"].items()}
    if args.json:
        args.json.write_text(json.dumps(res, indent=1) + "\n")
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
