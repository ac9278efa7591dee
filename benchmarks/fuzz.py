"""Hostile-input fuzz run: >= 1000 freshly generated malformed specs, counts by class.

Every bundled example (``footprints/examples/*.yaml``, ``footprints/library.yaml``) is mutated
by a seeded mutator (``tests/fuzz_util.py``: deleted and unknown keys, wrong types, NaN / inf /
huge / zero numbers, control characters, odd Unicode, long strings, deep nesting, YAML aliases,
alias bombs and tags, duplicate keys, ``packages:`` twice, broken CSV side files and rule
profiles) and run through ``kisubstrate footprint`` / ``substrate`` / ``library`` in worker
processes (each case in-process, with a time limit and a 6 GB address-space limit). A case is
clean when it gets exit 0, 1 or 2 (2 for every class invalid by construction), on exit 2 exactly
one ``error: <file>: …`` line of at most ~300 characters, no traceback, nothing written, no
control character in a written file, and stays within the time and memory bounds.

The seed is printed (a fresh one unless ``--seed``); ``--seed N`` replays a run. Exit code 1
if any case is not clean.

Run::

    python benchmarks/fuzz.py                    # 1000 cases, fresh seed, 2 workers
    python benchmarks/fuzz.py --cases 3000 --seed 42 --json
"""

from __future__ import annotations

import argparse
import collections
import json
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

import fuzz_util  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cases", type=int, default=1000)
    ap.add_argument("--seed", type=int, default=None)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = ap.parse_args()
    seed = args.seed if args.seed is not None else random.SystemRandom().randrange(1 << 31)
    print(f"seed {seed}, {args.cases} cases, {args.workers} workers", flush=True)
    t0 = time.perf_counter()
    cases = fuzz_util.make_cases(seed, args.cases)
    verdicts = fuzz_util.run_cases(cases, workers=args.workers)
    wall = time.perf_counter() - t0
    by_class: dict[str, collections.Counter] = collections.defaultdict(collections.Counter)
    for c, r, problem in verdicts:
        by_class[c.kind]["unclean" if problem else f"exit {r['code']}"] += 1
    bad = [(c, problem) for c, _, problem in verdicts if problem]
    refusals = sorted(r["seconds"] for _, r, _ in verdicts if r["code"] == 2)
    figures = {
        "seed": seed, "cases": len(cases), "clean": len(cases) - len(bad), "wall_s": round(wall, 1),
        "exit_codes": dict(sorted(collections.Counter(r["code"] for _, r, _ in verdicts).items())),
        "by_class": {k: dict(sorted(v.items())) for k, v in sorted(by_class.items())},
        "by_example": dict(sorted(collections.Counter(c.example for c in cases).items())),
        "refusal_s_median": refusals[len(refusals) // 2] if refusals else None,
        "refusal_s_max": refusals[-1] if refusals else None,
        "case_s_max": max(r["seconds"] for _, r, _ in verdicts),
        "peak_rss_mb": max(r.get("rss_mb", 0) for _, r, _ in verdicts),
    }
    if args.json:
        print(json.dumps(figures, indent=1))
    else:
        print(f"{figures['clean']} / {figures['cases']} clean in {figures['wall_s']} s; exit codes "
              f"{figures['exit_codes']}; refusal median {figures['refusal_s_median']} s, max "
              f"{figures['refusal_s_max']} s; slowest case {figures['case_s_max']} s; worker peak RSS "
              f"{figures['peak_rss_mb']} MB")
        print(f"{'class':<18} " + " ".join(f"{k:>8}" for k in ("exit 0", "exit 1", "exit 2", "unclean")))
        for kind, counts in figures["by_class"].items():
            print(f"{kind:<18} " + " ".join(f"{counts.get(k, 0):>8}" for k in ("exit 0", "exit 1", "exit 2",
                                                                             "unclean")))
    for c, problem in bad:
        print(f"UNCLEAN #{c.id} {c.example} {c.kind} {c.command}: {problem}")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
