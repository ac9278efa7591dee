"""Hostile input and interrupts: seeded malformed specs over every bundled example; Ctrl-C and SIGKILL.

* ``test_fuzz_examples``: :func:`fuzz_util.make_cases` mutates every example spec
  (``footprints/examples/*.yaml``, ``footprints/library.yaml``) with every mutation class, the
  cases run through ``footprint`` / ``substrate`` / ``library`` in two worker processes, each
  case in-process with a time limit and an address-space limit; :func:`fuzz_util.judge` says
  what a clean answer is (exit code, one located line, no traceback, nothing written, no control
  character in a written file, time and memory). ``benchmarks/fuzz.py`` runs >= 1000 fresh cases.
* ``test_interrupt_library_export``: SIGINT (to the command, or to its process group as a
  terminal's Ctrl-C does) and SIGKILL at random moments of a small ``library`` export with two
  worker processes: exit 130 with one line within a second, no process left, no temp file, every
  visible file whole; after SIGKILL a re-run removes the stale temp files and writes the same bytes.
"""

from __future__ import annotations

import collections
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import fuzz_util

ROOT = Path(__file__).resolve().parents[2]
SEED = 20261203
CASES = 200


def test_fuzz_examples() -> None:
    cases = fuzz_util.make_cases(SEED, CASES)
    assert {c.example for c in cases} == {p.name for p in fuzz_util._examples()}
    assert {c.kind for c in cases} == set(fuzz_util.CLASSES)
    verdicts = fuzz_util.run_cases(cases, workers=2)
    bad = [f"#{c.id} {c.example} {c.kind} {c.command}: {problem}" for c, _, problem in verdicts if problem]
    assert not bad, "\n".join(bad)
    codes = collections.Counter(r["code"] for _, r, _ in verdicts)
    assert set(codes) <= {0, 1, 2} and codes[2] >= CASES // 2, codes
    refusals = [r["seconds"] for _, r, _ in verdicts if r["code"] == 2]
    assert max(refusals) <= fuzz_util.REFUSE_LIMIT
    assert max(r["rss_mb"] for _, r, _ in verdicts) <= fuzz_util.MEMORY_LIMIT_MB


def test_fuzz_is_seeded() -> None:
    """The same seed gives the same cases (a failure can be replayed from the printed seed)."""
    a, b = fuzz_util.make_cases(7, 12), fuzz_util.make_cases(7, 12)
    assert [(c.kind, c.text, c.files) for c in a] == [(c.kind, c.text, c.files) for c in b]
    assert [c.text for c in fuzz_util.make_cases(8, 12)] != [c.text for c in a]


# -- interrupts ---------------------------------------------------------------------------------------
SMALL_LIBRARY = """\
library: Fuzz_Lib
sections:
  - title: BGA 0.8 mm
    family: bga
    defaults: {pitch: 0.8, ball_diameter: 0.4, height: 1.2}
    layout: fit
    edge: 0.6
    sweep:
      body: [4, 6, 8, 10, 12, 14, 16, 18, 21, 25]
    variants:
      - {}
      - {mask: smd}
  - title: LGA 1 mm
    family: lga
    defaults: {pitch: 1.0, land_diameter: 0.5}
    layout: fit
    edge: 1.0
    sweep:
      body: [5, 7, 9, 11, 13, 15]
"""


def _export(spec: Path, out: Path) -> subprocess.Popen:
    env = dict(os.environ, PYTHONPATH=str(ROOT / "generators"))
    env.pop("KISUBSTRATE_DEBUG", None)
    return subprocess.Popen([sys.executable, "-m", "kisubstrate", "library", str(spec), "-o", str(out),
                             "--no-renders", "-q", "-j", "2"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env=env, start_new_session=True)


def _files(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


def _group_gone(pgid: int, wait: float = 2.0) -> bool:
    end = time.monotonic() + wait
    while time.monotonic() < end:
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.02)
    return False


def test_interrupt_library_export(tmp_path: Path) -> None:
    spec = tmp_path / "lib.yaml"
    spec.write_text(SMALL_LIBRARY)
    ref_dir = tmp_path / "ref"
    t0 = time.monotonic()
    p = _export(spec, ref_dir)
    out, err = p.communicate(timeout=300)
    full = time.monotonic() - t0
    assert p.returncode == 0, err
    reference = _files(ref_dir)
    assert sum(n.endswith(".kicad_mod") for n in reference) == 26
    rng = random.Random(SEED)
    trials = [("int", "parent")] * 3 + [("int", "group")] * 3 + [("kill", "group")] * 2
    worst = 0.0
    for k, (sig, target) in enumerate(trials):
        out_dir = tmp_path / f"run{k}"
        p = _export(spec, out_dir)
        # spread over start-up, the worker-pool phase and the writes (a full run takes `full` s); from
        # 0.3 s on: in the interpreter's own start-up, before any of our code, SIGINT kills any Python program
        delay = rng.uniform(0.3, full * 1.05)
        time.sleep(delay)
        sent = time.monotonic()
        if p.poll() is None:
            if sig == "kill":
                os.killpg(p.pid, signal.SIGKILL)
            elif target == "group":
                os.killpg(p.pid, signal.SIGINT)  # a terminal's Ctrl-C reaches every process of the group
            else:
                p.send_signal(signal.SIGINT)
        try:
            _, err = p.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(p.pid, signal.SIGKILL)
            pytest.fail(f"trial {k} ({sig} {target}) hung")
        took = time.monotonic() - sent
        assert _group_gone(p.pid), f"trial {k}: worker processes left running"
        files = _files(out_dir) if out_dir.exists() else {}
        temps = [n for n in files if n.endswith(".kisubstrate-tmp")]
        visible = {n: b for n, b in files.items() if not Path(n).name.startswith(".")}
        for name, data in visible.items():
            assert data == reference[name], f"trial {k}: {name} differs from a full export (half-written?)"
        if sig == "int":
            worst = max(worst, took)
            assert "Traceback" not in err
            if p.returncode != 0:  # 0: it had finished before the signal came
                assert p.returncode == 130, (k, delay, p.returncode, err)
                assert err.strip().splitlines() == ["interrupted; nothing half-written (writes are atomic)"], err
                assert took < 1.5, f"trial {k}: exit {took:.2f} s after Ctrl-C"
            assert not temps, f"trial {k}: temp files left: {temps}"
        else:  # SIGKILL: hidden temp files may stay; the next export removes them and completes the folder
            p = _export(spec, out_dir)
            _, err = p.communicate(timeout=300)
            assert p.returncode == 0, err
            again = _files(out_dir)
            assert not [n for n in again if n.endswith(".kisubstrate-tmp")]
            assert {n: b for n, b in again.items() if not n.endswith(".json")} == \
                {n: b for n, b in reference.items() if not n.endswith(".json")}
    assert worst < 1.5


# Ctrl-C to the whole group right after each worker process starts (the pool is half-made): the
# command exits 130 and no worker is left behind. Random moments (above) hit this window rarely.
_AT_POOL_START = """\
import multiprocessing.process, os, signal, sys
import kisubstrate.cli
started, nth = [], int(sys.argv[1])
_start = multiprocessing.process.BaseProcess.start
def start(self):
    _start(self)
    started.append(self.pid)
    if len(started) == nth:
        os.killpg(0, signal.SIGINT)
multiprocessing.process.BaseProcess.start = start
sys.argv = ["kisubstrate", "library", sys.argv[2], "-o", sys.argv[3], "--no-renders", "-q", "-j", "2"]
kisubstrate.cli.main()
"""


@pytest.mark.parametrize("nth", [1, 2])
def test_interrupt_while_pool_starts(tmp_path: Path, nth: int) -> None:
    spec = tmp_path / "lib.yaml"
    spec.write_text(SMALL_LIBRARY)
    env = dict(os.environ, PYTHONPATH=str(ROOT / "generators"))
    p = subprocess.Popen([sys.executable, "-c", _AT_POOL_START, str(nth), str(spec), str(tmp_path / "out")],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
                         start_new_session=True)
    try:
        _, err = p.communicate(timeout=60)
    finally:
        gone = _group_gone(p.pid)
        if not gone:
            os.killpg(p.pid, signal.SIGKILL)
    assert gone, "worker processes left running"
    assert p.returncode == 130, err
    assert err.strip().splitlines() == ["interrupted; nothing half-written (writes are atomic)"], err
