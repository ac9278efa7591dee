"""Atomic writes and the overwrite guard of ``kisubstrate.api.outputs`` (no KiCad needed).

* atomic: content goes to a temporary file in the target folder, then ``os.replace``; a
  crash at any point leaves the previous file intact and (short of a hard kill) no temp file;
* overwrite guard: a file whose bytes differ from what kisubstrate last wrote (manifest
  SHA-256) is not overwritten without ``force``, and then *nothing* of the plan is written;
* unchanged re-runs rewrite nothing (same inode, same mtime).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from kisubstrate.api import outputs as kio
from kisubstrate.api.outputs import MANIFEST, OutputPlan, OverwriteError, atomic_write

ROOT = Path(__file__).resolve().parents[2]


def listing(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def stamp(path: Path) -> tuple[int, int]:
    st = path.stat()
    return st.st_ino, st.st_mtime_ns


def test_atomic_write_leaves_no_temp_files(tmp_path):
    for k in range(5):
        atomic_write(tmp_path / "a.kicad_mod", f"content {k}\n".encode())
    assert listing(tmp_path) == ["a.kicad_mod"]
    assert (tmp_path / "a.kicad_mod").read_text() == "content 4\n"
    assert (tmp_path / "a.kicad_mod").stat().st_mode & 0o777 == 0o644


def test_atomic_write_creates_folders(tmp_path):
    atomic_write(tmp_path / "x" / "y.pretty" / "a.kicad_mod", b"(footprint)\n")
    assert (tmp_path / "x" / "y.pretty" / "a.kicad_mod").read_bytes() == b"(footprint)\n"


def test_crash_before_rename_keeps_old_file(tmp_path, monkeypatch):
    target = tmp_path / "a.kicad_mod"
    target.write_bytes(b"old\n")

    def boom(src, dst):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(kio.os, "replace", boom)
    with pytest.raises(OSError):
        atomic_write(target, b"new" * 100000)
    assert target.read_bytes() == b"old\n"
    assert listing(tmp_path) == ["a.kicad_mod"], "the temporary file is removed"


def test_crash_during_write_keeps_old_file(tmp_path, monkeypatch):
    """An exception half-way through writing the data (e.g. KeyboardInterrupt) leaves the old file."""
    target = tmp_path / "a.kicad_mod"
    target.write_bytes(b"old\n")
    real_fdopen = os.fdopen

    class Half:
        def __init__(self, fh):
            self.fh = fh

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self.fh.close()
            return False

        def write(self, data):
            self.fh.write(data[: len(data) // 2])
            self.fh.flush()
            raise KeyboardInterrupt

    monkeypatch.setattr(kio.os, "fdopen", lambda fd, mode: Half(real_fdopen(fd, mode)))
    with pytest.raises(KeyboardInterrupt):
        atomic_write(target, b"x" * 1_000_000)
    assert target.read_bytes() == b"old\n"
    assert listing(tmp_path) == ["a.kicad_mod"]


def test_hard_kill_during_write_keeps_old_file(tmp_path):
    """A process killed (os._exit) mid-write: the target keeps its old bytes; at most a hidden
    ``.name.<pid>.*.kisubstrate-tmp`` is left, which KiCad ignores and the next write removes."""
    target = tmp_path / "a.kicad_mod"
    target.write_bytes(b"old\n")
    script = f"""
import os, sys
sys.path.insert(0, {str(ROOT / 'generators')!r})
from kisubstrate.api import outputs as kio
real = os.fdopen
class Dying:
    def __init__(self, fh): self.fh = fh
    def __enter__(self): return self
    def __exit__(self, *a): return False
    def write(self, data):
        self.fh.write(data[:1000]); self.fh.flush(); os._exit(9)
kio.os.fdopen = lambda fd, mode: Dying(real(fd, mode))
kio.atomic_write(kio.Path({str(target)!r}), b"y" * 100000)
"""
    r = subprocess.run([sys.executable, "-c", script], capture_output=True, timeout=60)
    assert r.returncode == 9
    assert target.read_bytes() == b"old\n"
    leftovers = [n for n in listing(tmp_path) if n != "a.kicad_mod"]
    assert leftovers and all(n.startswith(".a.kicad_mod.") and n.endswith(".kisubstrate-tmp")
                             for n in leftovers), leftovers
    plan = OutputPlan()
    plan.add(target, b"new\n")
    plan.commit(force=True)
    assert target.read_bytes() == b"new\n"
    assert [n for n in listing(tmp_path) if n.endswith(".kisubstrate-tmp")] == []  # the stale temp file is gone


def test_plan_unchanged_rerun_rewrites_nothing(tmp_path):
    plan = OutputPlan()
    plan.add(tmp_path / "a.kicad_mod", "A\n")
    plan.add(tmp_path / "b.kicad_mod", "B\n")
    assert [p.name for p in plan.commit()] == ["a.kicad_mod", "b.kicad_mod"]
    before = {n: stamp(tmp_path / n) for n in ("a.kicad_mod", "b.kicad_mod", MANIFEST)}
    again = OutputPlan()
    again.add(tmp_path / "a.kicad_mod", "A\n")
    again.add(tmp_path / "b.kicad_mod", "B\n")
    assert again.commit() == []
    assert {n: stamp(tmp_path / n) for n in before} == before


def test_manifest_records_sha256_sorted(tmp_path):
    plan = OutputPlan()
    plan.add(tmp_path / "b.kicad_mod", "B\n")
    plan.add(tmp_path / "a.kicad_mod", "A\n")
    plan.commit()
    text = (tmp_path / MANIFEST).read_text()
    man = json.loads(text)
    assert list(man) == ["a.kicad_mod", "b.kicad_mod"]
    import hashlib

    assert man["a.kicad_mod"] == hashlib.sha256(b"A\n").hexdigest()


def test_hand_edited_file_is_not_overwritten(tmp_path):
    plan = OutputPlan()
    plan.add(tmp_path / "a.kicad_mod", "A\n")
    plan.commit()
    (tmp_path / "a.kicad_mod").write_text("A edited by hand\n")
    plan2 = OutputPlan()
    plan2.add(tmp_path / "a.kicad_mod", "A2\n")
    plan2.add(tmp_path / "new.kicad_mod", "N\n")
    with pytest.raises(OverwriteError, match=r"not overwriting 1 file\(s\) changed since kisubstrate wrote them.*"
                                             r"a\.kicad_mod; use --force"):
        plan2.commit()
    assert (tmp_path / "a.kicad_mod").read_text() == "A edited by hand\n"
    assert not (tmp_path / "new.kicad_mod").exists(), "a refused plan writes nothing at all"
    assert [p.name for p in plan2.commit(force=True)] == ["a.kicad_mod", "new.kicad_mod"]
    assert (tmp_path / "a.kicad_mod").read_text() == "A2\n"
    # after a forced write the manifest knows the new content: a normal re-run may replace it
    plan3 = OutputPlan()
    plan3.add(tmp_path / "a.kicad_mod", "A3\n")
    assert [p.name for p in plan3.commit()] == ["a.kicad_mod"]


def test_our_own_previous_output_is_replaced_without_force(tmp_path):
    plan = OutputPlan()
    plan.add(tmp_path / "a.kicad_mod", "v1\n")
    plan.commit()
    plan = OutputPlan()
    plan.add(tmp_path / "a.kicad_mod", "v2\n")
    assert [p.name for p in plan.commit()] == ["a.kicad_mod"]
    assert (tmp_path / "a.kicad_mod").read_text() == "v2\n"


def test_foreign_file_is_not_overwritten(tmp_path):
    """A file kisubstrate never wrote (no manifest entry) is protected too."""
    (tmp_path / "a.kicad_mod").write_text("someone else's footprint\n")
    plan = OutputPlan()
    plan.add(tmp_path / "a.kicad_mod", "ours\n")
    with pytest.raises(OverwriteError):
        plan.commit()
    assert (tmp_path / "a.kicad_mod").read_text() == "someone else's footprint\n"
    assert not (tmp_path / MANIFEST).exists()


def test_identical_foreign_file_is_adopted_without_rewrite(tmp_path):
    (tmp_path / "a.kicad_mod").write_text("same\n")
    ino = stamp(tmp_path / "a.kicad_mod")
    plan = OutputPlan()
    plan.add(tmp_path / "a.kicad_mod", "same\n")
    assert plan.commit() == []
    assert stamp(tmp_path / "a.kicad_mod") == ino
    assert "a.kicad_mod" in json.loads((tmp_path / MANIFEST).read_text())


def test_directory_in_the_way_is_a_conflict(tmp_path):
    (tmp_path / "a.kicad_mod").mkdir()
    plan = OutputPlan()
    plan.add(tmp_path / "a.kicad_mod", "x\n")
    with pytest.raises(OverwriteError):
        plan.commit()


def test_corrupt_manifest_is_treated_as_empty(tmp_path):
    (tmp_path / MANIFEST).write_text("{not json")
    (tmp_path / "a.kicad_mod").write_text("old\n")
    plan = OutputPlan()
    plan.add(tmp_path / "a.kicad_mod", "new\n")
    with pytest.raises(OverwriteError):
        plan.commit()
    plan.commit(force=True)
    assert json.loads((tmp_path / MANIFEST).read_text())["a.kicad_mod"]
