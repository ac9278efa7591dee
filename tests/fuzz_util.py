"""Seeded malformed-spec fuzzer: mutate every bundled example, run the CLI, judge the answer.

Used by ``tests/cli/test_fuzz.py`` (a few hundred cases) and ``benchmarks/fuzz.py`` (>= 1000).
:func:`make_cases` turns a seed into cases (a mutation class, a spec text, side files, the
command); :func:`run_cases` runs them in worker processes (``python fuzz_util.py worker``),
each case in-process through click with a time limit and an address-space limit, and returns
one verdict per case. A verdict is clean when:

* the exit code is 0, 1 or 2 (never 3, never a timeout) — and 2 for the classes that are
  invalid by construction (``STRICT``: NaN, huge numbers, control characters, tags, aliases,
  nesting, duplicate keys, broken rule files …);
* exit 2: stdout empty, exactly one stderr line ``error: <file>: …`` of at most
  ``MAX_LINE`` characters, no traceback; nothing written anywhere;
* exit 1: the violation report, nothing written;
* exit 0: no control character in any written file;
* the case took at most ``TIME_LIMIT`` s (a refusal at most ``REFUSE_LIMIT`` s) and the
  worker's peak memory stayed under ``MEMORY_LIMIT_MB``.
"""

from __future__ import annotations

import copy
import json
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "footprints" / "examples"
LIBRARY = ROOT / "footprints" / "library.yaml"
MAX_LINE = 320  # "error: " + a message of at most 300 characters (+ slack for a long temp path)
TIME_LIMIT = 120.0  # a full build of a heavy example on a loaded 2-core machine
REFUSE_LIMIT = 3.0  # a refusal (exit 2), machine load included; typically < 0.1 s
MEMORY_LIMIT_MB = 1500
ADDRESS_LIMIT = 6 << 30  # RLIMIT_AS of a worker: a runaway allocation is a MemoryError, not a dead machine
HEAVY = {"flipchip.yaml", "flipchip_pinout.yaml", "library.yaml"}  # > 5 s to build: invalid-only classes

LENIENT = ["delete-key", "wrong-type", "zero-negative", "odd-unicode", "null-value", "garbage", "csv-columns",
           "alias-benign"]
STRICT = ["unknown-key", "nan-inf", "huge-number", "control-char", "long-string", "deep-nesting", "alias-bomb",
          "alias-recursive", "tag", "duplicate-key", "packages-twice", "csv-bad", "rules-bad", "huge-count"]
CLASSES = LENIENT + STRICT
_CONTROL_BYTES = re.compile(rb"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


@dataclass
class Case:
    """One malformed input: the spec text, side files (name → bytes as latin-1 text) and the command."""

    id: int
    example: str
    kind: str
    command: str  # footprint | substrate | library
    text: str
    files: dict[str, str] = field(default_factory=dict)


def _examples() -> list[Path]:
    return sorted(EXAMPLES.glob("*.yaml")) + [LIBRARY]


def _paths(data, prefix=()):
    """Every (container, key, path) in a data tree."""
    out = []
    if isinstance(data, dict):
        for k, v in data.items():
            out.append((data, k, prefix + (k,)))
            out += _paths(v, prefix + (k,))
    elif isinstance(data, list):
        for i, v in enumerate(data):
            out.append((data, i, prefix + (i,)))
            out += _paths(v, prefix + (i,))
    return out


FILTERS = {"min_layout", "max_layout"}  # library variant filters: any size is a valid filter


def _pick(rng, data, pred=lambda v: True):
    spots = [(c, k) for c, k, _ in _paths(data) if pred(c[k]) and k not in FILTERS]
    return rng.choice(spots) if spots else None


def _dump(data) -> str:
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=10_000)


_PLACEHOLDER = "__FUZZ_RAW__"


def _raw_value(rng, data, raw: str, pred=lambda v: not isinstance(v, (dict, list))) -> str:
    """The spec with one value replaced by raw YAML text (a flow node)."""
    spot = _pick(rng, data, pred) or _pick(rng, data)
    c, k = spot
    c[k] = _PLACEHOLDER
    return _dump(data).replace(_PLACEHOLDER, raw, 1)


def _mutate(rng: random.Random, kind: str, text: str, data,  # noqa: C901 - one branch per class
            files: dict[str, str]) -> tuple[str, dict[str, str]]:
    data = copy.deepcopy(data)
    files = dict(files)
    is_num = lambda v: isinstance(v, (int, float)) and not isinstance(v, bool)  # noqa: E731
    is_str = lambda v: isinstance(v, str)  # noqa: E731
    if kind == "delete-key":
        spot = _pick(rng, data, lambda v: True)
        c, k = spot
        del c[k]
        return _dump(data), files
    if kind == "unknown-key":
        maps = [c[k] for c, k, _ in _paths(data) if isinstance(c[k], dict)] + [data]
        maps = [m for m in maps if m is not data] or maps
        m = rng.choice(maps)
        m[rng.choice(["colour", "pich", "ball_diamter", "extra", "Pitch", "x" * 50])] = rng.choice([1, "a", [1]])
        return _dump(data), files
    if kind == "wrong-type":
        c, k = _pick(rng, data)
        c[k] = rng.choice([[1, 2, 3], {"a": 1}, "text", True, 3, [], {}, "0.8mm", [[1]]])
        return _dump(data), files
    if kind == "zero-negative":
        c, k = _pick(rng, data, is_num) or _pick(rng, data)
        c[k] = rng.choice([0, -1, -0.001, 0.0, 1e-9, -1e9])
        return _dump(data), files
    if kind == "nan-inf":
        return _raw_value(rng, data, rng.choice([".nan", ".inf", "-.inf", "[.nan, 1]", "[1, .inf]"]),
                          lambda v: is_num(v) or (isinstance(v, list) and v and all(map(is_num, v)))), files
    if kind == "huge-number":
        c, k = _pick(rng, data, is_num) or _pick(rng, data)
        c[k] = rng.choice([1e9, 1e12, 10 ** 15, 1e300, 2 ** 63, 123456789])
        return _dump(data), files
    if kind == "huge-count":
        spot = _pick(rng, data, lambda v: isinstance(v, int) and not isinstance(v, bool))
        if spot is None:
            spot = _pick(rng, data, lambda v: isinstance(v, list) and len(v) == 2 and all(map(is_num, v)))
            c, k = spot or _pick(rng, data)
            c[k] = [10 ** rng.randint(5, 9), 3]
        else:
            c, k = spot
            c[k] = 10 ** rng.randint(5, 9)
        return _dump(data), files
    if kind == "control-char":
        spot = _pick(rng, data, is_str) or _pick(rng, data)
        ch = rng.choice(["\x00", "\x07", "\n", "\r", "\x1b", "\x7f", "\t", "\u2028", "\x85"])
        v = str(spot[0][spot[1]])
        pos = rng.randint(1, max(len(v) - 1, 1))  # inside the text: YAML would fold a line break at an end
        raw = json.dumps(v[:pos] + ch + v[pos:])  # a YAML double-quoted scalar with the escape
        return _raw_value(rng, data, raw, lambda x: x is spot[0][spot[1]]), files
    if kind == "odd-unicode":
        c, k = _pick(rng, data, is_str) or _pick(rng, data)
        c[k] = str(c[k]) + rng.choice(["é", "日本", "😀", "\u200f", '"', "\\", "(", ")", "'", "µ", " ", "/", "..", "%"])
        return _dump(data), files
    if kind == "long-string":
        c, k = _pick(rng, data, is_str) or _pick(rng, data)
        c[k] = rng.choice(["é", "A", "/"]) * rng.choice([1001, 100_000, 1_000_000])
        return _dump(data), files
    if kind == "null-value":
        c, k = _pick(rng, data)
        c[k] = None
        return _dump(data), files
    if kind == "deep-nesting":
        n = rng.choice([40, 300, 1000, 5000, 100_000])
        raw = rng.choice(["[" * n + "1" + "]" * n, "{a: " * n + "1" + "}" * n])
        return _raw_value(rng, data, raw), files
    if kind == "alias-bomb":
        levels = rng.randint(6, 9)
        parts = ["&a0 [" + ", ".join(["lol"] * 10) + "]"]
        parts += [f"&a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]" for i in range(1, levels)]
        raw = "[" + ", ".join(parts) + "]"
        if rng.random() < 0.5 and "defaults" not in data:
            out = _dump(data)
            return f"defaults:\n  source: {raw}\n" + out, files
        return _raw_value(rng, data, raw, lambda v: True), files
    if kind == "alias-recursive":
        return _raw_value(rng, data, rng.choice(["&r [*r]", "&r {a: *r}", "&r [1, [2, *r]]"]), lambda v: True), files
    if kind == "alias-benign":
        out = _dump(data)
        m = re.search(r"^(\s+)(\w+): ([^\n\[{&*!|>]+)$", out, re.M)
        if m:
            out = out[:m.start()] + f"{m.group(1)}{m.group(2)}: &v {m.group(3)}" + out[m.end():]
        return out, files
    if kind == "tag":
        raw = rng.choice(["!!python/object/apply:os.system ['echo pwned > pwned.txt']", "!!binary aGVsbG8=",
                          "!foo 1", "!!str 0.8", "!!float 0.8", "!<tag:yaml.org,2002:int> 5",
                          "!!python/name:os.system ''"])
        return _raw_value(rng, data, raw, lambda v: True), files
    if kind == "duplicate-key":
        out = _dump(data)
        lines = out.splitlines(keepends=True)
        keyed = [i for i, ln in enumerate(lines) if re.match(r"^\s*(- )?\w+:", ln)]
        i = rng.choice(keyed)
        ln = lines[i]
        if ln.lstrip().startswith("- "):  # a list item's first key: repeat it as a plain key below
            indent = len(ln) - len(ln.lstrip()) + 2
            ln = " " * indent + ln.lstrip()[2:]
        lines.insert(i + 1, ln if ln.endswith("\n") else ln + "\n")
        return "".join(lines), files
    if kind == "packages-twice":
        out = _dump(data)
        key = "packages" if "packages" in data else "sections"
        block = _dump({key: data.get(key)})
        return out + block, files
    if kind == "garbage":
        choice = rng.randint(0, 4)
        if choice == 0:
            return text[: rng.randint(0, len(text))], files
        if choice == 1:
            return "".join(chr(rng.randint(0, 0x2FF)) for _ in range(200)), files
        if choice == 2:
            return "", files
        if choice == 3:
            return text.replace(":", "", 1), files
        return text.replace("  ", "\t", 1), files
    if kind in ("csv-bad", "csv-columns"):
        csvs = sorted(n for n in files if n.endswith(".csv") and n.split(".")[0] in text)
        if not csvs:
            return _mutate(rng, "rules-bad" if kind == "csv-bad" else "delete-key", text, data, files)
        name = rng.choice(csvs)
        rows = files[name].splitlines()
        if kind == "csv-columns":
            r = rng.randrange(len(rows))
            cells = rows[r].split(",")
            if rng.random() < 0.5:
                rows[r] = ",".join(cells[: rng.randint(0, 2)])
            else:
                cells[rng.randrange(len(cells))] = rng.choice(["nan", "inf", "1e308", "-1e9", "1e999", "", "é"])
                rows[r] = ",".join(cells)
            files[name] = "\n".join(rows) + "\n"
            return text, files
        r = rng.randrange(1, len(rows)) if len(rows) > 1 else 0
        cells = rows[r].split(",")
        j = rng.randrange(len(cells))
        cells[j] = rng.choice(["N\x00ET", "A\x1bB", "x" * 2000, "A\rB", "\x7f", "B\x85"])
        rows[r] = ",".join(cells)
        files[name] = "\n".join(rows) + "\n"
        if rng.random() < 0.15:
            files[name] = "\xff\xfe\x00garbage"  # not UTF-8 once written as latin-1
        return text, files
    if kind == "rules-bad":
        bad = rng.choice(["copper_clearance: .nan\n", "copper_clearance: [1, 2]\n", "copper_clearance: !!float 1\n",
                          "a: 1\na: 2\n", "name: \"x\\0y\"\n", "copper_clearance: 1e300\n", "- 1\n",
                          "copper_clearance: &r [*r]\n", "bogus_rule: 1\n", "microvia_drill: .inf\n"])
        files["bad_rules.yaml"] = bad
        pkgs = data.get("packages") or []
        if not pkgs:  # library: sections' defaults take package keys
            sec = rng.choice(data["sections"])
            sec.setdefault("defaults", {})["rules"] = "bad_rules.yaml"
            return _dump(data), files
        p = rng.choice(pkgs)
        key = "footprint_rules" if "footprint_rules" in p or (p.get("family") in (
            "cavity", "pop", "buildup", "flipchip", "leadframe", "wafer_stack") and rng.random() < 0.5) else "rules"
        p[key] = "bad_rules.yaml"
        return _dump(data), files
    raise ValueError(kind)


def make_cases(seed: int, count: int) -> list[Case]:
    """``count`` cases from ``seed``: every example and every class in turn, the mutation drawn at random.

    Args:
        seed: the random seed (printed by the callers, so a run can be repeated).
        count: how many cases.
    """
    rng = random.Random(seed)
    side = {p.name: p.read_text(encoding="utf-8") for p in EXAMPLES.glob("*.csv")}
    examples = [(p, p.read_text(encoding="utf-8")) for p in _examples()]
    cases = []
    for i in range(count):
        path, text = examples[i % len(examples)]
        data = yaml.safe_load(text)
        kinds = STRICT if path.name in HEAVY else CLASSES
        kind = rng.choice(kinds)
        spec_text, files = _mutate(rng, kind, text, data, side)
        if path == LIBRARY:
            command = "library"
        else:
            fams = {p.get("family") for p in data.get("packages", []) if isinstance(p, dict)}
            substrate = fams & {"cavity", "pop", "buildup", "flipchip", "wafer_stack", "leadframe"}
            command = "substrate" if substrate and rng.random() < 0.5 else "footprint"
        changed = {k: v for k, v in files.items() if side.get(k) != v}
        cases.append(Case(i, path.name, kind, command, spec_text, {**side, **changed}))
    return cases


# -- running ----------------------------------------------------------------------------------------
def _tree(folder: Path) -> dict[str, int]:
    return {str(p.relative_to(folder)): p.stat().st_size for p in folder.rglob("*") if p.is_file()}


class _Timeout(BaseException):
    pass


def _run_one(case: Case, work: Path, runner, cli) -> dict:
    import resource
    import signal

    folder = work / f"case{case.id}"
    folder.mkdir()
    for name, content in case.files.items():
        (folder / name).write_bytes(content.encode("utf-8", "surrogatepass") if content.isascii() or
                                    not content.startswith("\xff") else content.encode("latin-1"))
    (folder / "spec.yaml").write_text(case.text, encoding="utf-8", errors="surrogatepass")
    before = _tree(folder)
    out_dir = folder / "out"
    args = {"footprint": ["footprint", "spec.yaml", "-o", "out/Lib.pretty", "--no-models"],
            "substrate": ["substrate", "spec.yaml", "-o", "out"],
            "library": ["library", "spec.yaml", "-o", "out", "--no-renders", "-q", "-j", "1"]}[case.command]

    def alarm(*_):
        raise _Timeout()

    old = os.getcwd()
    os.chdir(folder)
    signal.signal(signal.SIGALRM, alarm)
    signal.setitimer(signal.ITIMER_REAL, TIME_LIMIT)
    t0 = time.perf_counter()
    try:
        result = runner.invoke(cli, args, catch_exceptions=True)
        code, out, err = result.exit_code, result.stdout, result.stderr
        if result.exception is not None and not isinstance(result.exception, SystemExit):
            code, err = 99, f"uncaught {type(result.exception).__name__}: {result.exception}"
    except _Timeout:
        code, out, err = -1, "", "timeout"
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        os.chdir(old)
    seconds = time.perf_counter() - t0
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    after = _tree(folder)
    new = sorted(set(after) - set(before))
    bad_bytes = []
    if code == 0:
        for rel in new:
            if _CONTROL_BYTES.search((folder / rel).read_bytes()):
                bad_bytes.append(rel)
    shutil.rmtree(folder, ignore_errors=True)
    return {"id": case.id, "code": code, "out": out[-2000:], "err": err[-3000:], "seconds": round(seconds, 3),
            "rss_mb": round(rss), "new_files": new[:20], "out_exists": out_dir.exists(), "bad_bytes": bad_bytes,
            "changed_inputs": sorted(k for k in before if before[k] != after.get(k))}


def judge(case: Case, r: dict) -> str | None:
    """Why a verdict is not clean, or None."""
    code, err = r["code"], r["err"]
    if code == -1:
        return f"timeout (> {TIME_LIMIT:g} s)"
    if code not in (0, 1, 2):
        return f"exit {code}: {err[-300:]}"
    if "Traceback" in r["out"] + err:
        return "traceback"
    if case.kind in STRICT and code != 2:
        return f"accepted invalid input (exit {code}) {err[-200:]}"
    if r["changed_inputs"]:
        return f"input files changed: {r['changed_inputs']}"
    if r["rss_mb"] > MEMORY_LIMIT_MB:
        return f"peak memory {r['rss_mb']} MB"
    if code == 2:
        lines = [ln for ln in err.splitlines() if ln.strip()]
        if len(lines) != 1:
            return f"{len(lines)} message lines: {lines[:3]}"
        if not lines[0].startswith("error: "):
            return f"not an error line: {lines[0][:200]}"
        if len(lines[0]) > MAX_LINE:
            return f"message of {len(lines[0])} characters"
        if not re.match(r"error: [^:]*\.(yaml|csv|yml)", lines[0]) and "spec.yaml" not in lines[0]:
            return f"message names no file: {lines[0][:200]}"
        if r["out"].strip():
            return "stdout not empty on exit 2"
        if r["new_files"]:
            return f"wrote {r['new_files'][:3]} on exit 2"
        if r["seconds"] > REFUSE_LIMIT:
            return f"refusal took {r['seconds']} s"
    if code == 1 and r["new_files"]:
        return f"wrote {r['new_files'][:3]} on exit 1"
    if code == 0 and r["bad_bytes"]:
        return f"control characters written into {r['bad_bytes']}"
    return None


def worker() -> None:
    """Run the cases given on stdin (JSON lines); print one verdict per line (JSON)."""
    import resource

    resource.setrlimit(resource.RLIMIT_AS, (ADDRESS_LIMIT, ADDRESS_LIMIT))
    os.environ.pop("KISUBSTRATE_DEBUG", None)
    os.environ["OPENBLAS_NUM_THREADS"] = "1"
    sys.path.insert(0, str(ROOT / "generators"))
    from click.testing import CliRunner

    from kisubstrate.cli import cli

    runner = CliRunner()
    with tempfile.TemporaryDirectory(prefix="kisubstrate-fuzz-") as tmp:
        for line in sys.stdin:
            case = Case(**json.loads(line))
            print(json.dumps(_run_one(case, Path(tmp), runner, cli)), flush=True)


def run_cases(cases: list[Case], workers: int = 1) -> list[tuple[Case, dict, str | None]]:
    """Run ``cases`` in ``workers`` worker processes; (case, result, problem or None) in case order."""
    chunks = [cases[w::workers] for w in range(workers)]
    procs = []
    for chunk in chunks:
        p = subprocess.Popen([sys.executable, __file__, "worker"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                             text=True, env=dict(os.environ, PYTHONPATH=str(ROOT / "generators")))
        procs.append((p, chunk))
    results: dict[int, dict] = {}
    for p, chunk in procs:
        payload = "".join(json.dumps(asdict(c)) + "\n" for c in chunk)
        out, _ = p.communicate(payload)
        for line in out.splitlines():
            if line.startswith("{"):
                r = json.loads(line)
                results[r["id"]] = r
    verdicts = []
    for c in cases:
        r = results.get(c.id, {"code": -2, "err": "worker died", "out": ""})
        verdicts.append((c, r, judge(c, r) if r["code"] != -2 else "worker died (crash or memory limit)"))
    return verdicts


if __name__ == "__main__" and sys.argv[1:] == ["worker"]:
    worker()
