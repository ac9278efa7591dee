"""Connectivity against KiCad at scale: random valid specs of every substrate family, and panels of every example.

The property tests (``tests/substrates/test_*_properties.py``) check a small fixed sample in CI;
this script draws many more from the same hypothesis strategies and asks KiCad about every board
kisubstrate accepts: whenever it would write a board, ``kicad-cli pcb drc`` must report 0 errors
and 0 unconnected items. Then every bundled example is stepped into a 2 x 2 panel
(``kisubstrate panel``): a panel written with exit 0 must be clean in KiCad too.

Run (KiCad 9's kicad-cli on PATH; the project's interpreter)::

    python benchmarks/bench_connectivity.py                  # 30 specs per strategy, seed printed
    python benchmarks/bench_connectivity.py --count 200 --seed 7 --json out.json
    python benchmarks/bench_connectivity.py --no-panels --family flipchip

Prints, per strategy: drawn, refused (bad input, exit 2), violations (exit 1, nothing written),
written and how many of those KiCad finds dirty (must be 0); per example panel: exit code and
KiCad's errors / unconnected. Exits 1 if any written board is dirty.
"""

from __future__ import annotations

import argparse
import importlib
import inspect
import json
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "tests"), str(ROOT / "tests" / "substrates")]


def strategies(family: str | None, folder: Path):
    """(name, strategy) of every ``*_specs`` strategy in the substrate property tests."""
    from hypothesis.strategies import SearchStrategy

    for path in sorted((ROOT / "tests" / "substrates").glob("test_*_properties.py")):
        if family and family not in path.stem:
            continue
        mod = importlib.import_module(path.stem)
        for name, fn in sorted(vars(mod).items()):
            if not name.endswith("_specs") or not callable(fn):
                continue
            params = [p for p in inspect.signature(fn).parameters.values() if p.default is p.empty]
            strat = fn(folder / name) if params else fn()
            if params:
                (folder / name).mkdir(parents=True, exist_ok=True)
            if isinstance(strat, SearchStrategy):
                yield f"{path.stem.removeprefix('test_')}.{name}", strat, module_rules(mod)


def module_rules(mod) -> set[str]:
    """The rule ids a property module accepts as located violations (its ``*_RULES`` / ``RULE_IDS`` sets)."""
    out: set[str] = set()
    for name, value in vars(mod).items():
        if (name.endswith("_RULES") or name == "RULE_IDS") and isinstance(value, (set, frozenset)):
            out |= value
    return out


def drc(cli: str, pcb: Path) -> tuple[int, int]:
    """(errors, unconnected items) of ``kicad-cli pcb drc`` (report file checked, not the exit code)."""
    out = pcb.with_suffix(".drc.json")
    subprocess.run([cli, "pcb", "drc", "--format", "json", "--severity-error", "-o", str(out), str(pcb)],
                   capture_output=True, text=True, timeout=900)
    if not out.exists():
        raise RuntimeError(f"kicad-cli wrote no DRC report for {pcb}")
    rep = json.loads(out.read_text())
    return len(rep.get("violations", [])), len(rep.get("unconnected_items", []))


def run_specs(cli: str, count: int, seed: int, family: str | None, folder: Path) -> list[dict]:
    """Draw ``count`` specs of every strategy; a row of figures per strategy."""
    rows = []
    for name, strat, rules in strategies(family, folder):
        row = {"strategy": name, "drawn": 0, "refused": 0, "violations": 0, "written": 0, "dirty": 0,
               "dirty_examples": []}
        t0 = time.perf_counter()
        draw = _drawer(row, strat, count, seed, cli, folder, rules)
        try:
            draw()
        except AssertionError as exc:  # a family_outcome invariant broke: report it, keep going
            row["error"] = str(exc)[:300]
        row["seconds"] = round(time.perf_counter() - t0, 1)
        rows.append(row)
        print(f"{name:45s} drawn {row['drawn']:4d}  refused {row['refused']:4d}  violations "
              f"{row['violations']:4d}  written {row['written']:4d}  KiCad-dirty {row['dirty']}  "
              f"({row['seconds']} s){'  ERROR ' + row['error'] if 'error' in row else ''}", flush=True)
    return rows


def _drawer(row: dict, strat, count: int, seed: int, cli: str, folder: Path, rules: set[str]):
    """The hypothesis test that draws ``count`` specs and fills ``row``.

    A strategy that returns (spec, {file name: CSV text}) has its side files written beside the
    spec (pad and ball maps); ``rules`` are the violation rules its module accepts.
    """
    from hypothesis import HealthCheck, given, settings
    from hypothesis import seed as hseed

    from stack_util import BOARD_RULES, family_outcome, write_result

    @hseed(seed)
    @settings(max_examples=count, deadline=None, database=None,
              suppress_health_check=list(HealthCheck))
    @given(strat)
    def draw(data):
        base_dir = None
        if isinstance(data, tuple):  # strategies that return (spec, {file: text}) or (spec, extra)
            data, extra = data[0], data[1]
            if isinstance(extra, dict) and all(isinstance(v, str) for v in extra.values()):
                base_dir = Path(tempfile.mkdtemp(dir=folder))
                for fname, text in extra.items():
                    (base_dir / fname).write_text(text)
        row["drawn"] += 1
        kind, detail = family_outcome(data, set(BOARD_RULES) | rules | {"unrouted", "unconnected", "copper_island"},
                                      base_dir=base_dir)
        if kind != "ok":
            row[kind] += 1
            return
        row["written"] += 1
        pcb = write_result(detail, folder / "boards" / f"{row['drawn']:04d}")
        errors, unconnected = drc(cli, pcb)
        if errors or unconnected:
            row["dirty"] += 1
            row["dirty_examples"].append({"spec": data, "errors": errors, "unconnected": unconnected})

    return draw


def run_panels(cli: str, folder: Path) -> list[dict]:
    from kisubstrate.api.specs import load_specs
    from kisubstrate.api.substrate import has_substrate

    rows = []
    exe = shutil.which("kisubstrate") or str(Path(sys.executable).with_name("kisubstrate"))
    for ex in sorted((ROOT / "footprints" / "examples").glob("*.yaml")):
        if not any(has_substrate(ls.spec) for ls in load_specs([ex])):
            continue
        out = folder / "panels" / ex.stem
        t0 = time.perf_counter()
        p = subprocess.run([exe, "panel", str(ex), "--rows", "2", "--columns", "2", "-o", str(out)],
                           capture_output=True, text=True, timeout=3600)
        row = {"example": ex.name, "exit": p.returncode, "seconds": round(time.perf_counter() - t0, 1)}
        if p.returncode == 0:
            pcbs = sorted(out.glob("*.kicad_pcb"))
            row["boards"] = len(pcbs)
            row["errors"], row["unconnected"] = map(sum, zip(*(drc(cli, b) for b in pcbs))) if pcbs else (0, 0)
        else:
            row["message"] = (p.stdout + p.stderr).strip().splitlines()[:1]
        rows.append(row)
        print(f"panel {ex.name:28s} exit {row['exit']}  " + (
            f"boards {row['boards']}  KiCad errors {row['errors']}  unconnected {row['unconnected']}"
            if p.returncode == 0 else f"refused: {row['message']}") + f"  ({row['seconds']} s)", flush=True)
    return rows


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--count", type=int, default=30, help="specs drawn per strategy")
    ap.add_argument("--seed", type=int, default=None, help="hypothesis seed (default: random, printed)")
    ap.add_argument("--family", default=None, help="only the property module whose name contains this")
    ap.add_argument("--no-panels", action="store_true", help="skip the panels of the examples")
    ap.add_argument("--json", type=Path, default=None, help="write the figures here")
    args = ap.parse_args()
    cli = shutil.which("kicad-cli")
    if cli is None:
        print("kicad-cli not found: KiCad is the oracle here", file=sys.stderr)
        return 2
    seed = args.seed if args.seed is not None else random.SystemRandom().randrange(1 << 30)
    version = subprocess.run([cli, "version"], capture_output=True, text=True).stdout.strip()
    print(f"seed {seed}, {args.count} specs per strategy, KiCad {version}")
    with tempfile.TemporaryDirectory(prefix="kisubstrate-conn-") as tmp:
        folder = Path(tmp)
        specs = run_specs(cli, args.count, seed, args.family, folder)
        panels = [] if args.no_panels else run_panels(cli, folder)
    dirty = sum(r["dirty"] for r in specs) + sum(1 for p in panels if p.get("errors") or p.get("unconnected"))
    written = sum(r["written"] for r in specs)
    print(f"written boards {written}, KiCad-dirty {dirty}; panels written "
          f"{sum(1 for p in panels if p['exit'] == 0)} of {len(panels)}")
    if args.json:
        args.json.write_text(json.dumps({"seed": seed, "count": args.count, "specs": specs, "panels": panels},
                                        indent=1, default=str) + "\n")
    return 1 if dirty else 0


if __name__ == "__main__":
    sys.exit(main())
