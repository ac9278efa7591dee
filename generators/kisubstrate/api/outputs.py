"""Atomic, deterministic file output with an overwrite guard.

Every file is written to a temporary file in the target folder and renamed, so a
crash never leaves half a file. A small manifest (``.kisubstrate-manifest.json`` in
each output folder) records the SHA-256 of what kisubstrate last wrote there: an
existing file whose content differs from that record (edited by hand, or not ours)
is not overwritten unless ``force`` is set.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import signal
import tempfile
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

from kisubstrate.model.errors import KisubstrateError

MANIFEST = ".kisubstrate-manifest.json"


class OverwriteError(KisubstrateError):
    """An existing file would be overwritten that kisubstrate did not write (use --force)."""


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


TMP_SUFFIX = ".kisubstrate-tmp"
"""Temporary files are ``.<name>.<pid>.<random>.kisubstrate-tmp`` (hidden; the pid tells a stale one)."""


@contextlib.contextmanager
def _no_sigint() -> Iterator[None]:
    """Hold Ctrl-C (SIGINT) back while a temp file exists; it is delivered at the end (main thread only)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    old = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, old)


def atomic_write(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file in the same folder + rename.

    Ctrl-C is held back from creating the temp file to the rename (milliseconds), so an
    interrupt never leaves a temp file; after SIGKILL the hidden temp file is removed by the
    next write into that folder (:func:`remove_stale_temps`). A visible file is always whole.

    Args:
        path: the file to write.
        data: its bytes.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    with _no_sigint():
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.{os.getpid()}.", suffix=TMP_SUFFIX, dir=path.parent)
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
            os.chmod(tmp, 0o644)
            os.replace(tmp, path)
        except BaseException:
            if os.path.exists(tmp):
                os.unlink(tmp)
            raise


def remove_stale_temps(folder: Path) -> list[Path]:
    """Remove kisubstrate temp files in ``folder`` whose process is gone (killed mid-write); returns them.

    Example:
        >>> import tempfile, pathlib
        >>> d = pathlib.Path(tempfile.mkdtemp())
        >>> _ = (d / f".a.kicad_mod.999999999.x{TMP_SUFFIX}").write_text("half")
        >>> [p.name for p in remove_stale_temps(d)], list(d.iterdir())
        (['.a.kicad_mod.999999999.x.kisubstrate-tmp'], [])
    """
    removed = []
    try:
        candidates = list(folder.glob(f".*{TMP_SUFFIX}"))
    except OSError:
        return removed
    for tmp in candidates:
        parts = tmp.name[: -len(TMP_SUFFIX)].rsplit(".", 2)
        pid = int(parts[1]) if len(parts) == 3 and parts[1].isdigit() else 0
        if pid and pid != os.getpid() and _alive(pid):
            continue  # another kisubstrate is writing here right now
        try:
            tmp.unlink()
            removed.append(tmp)
        except OSError:
            pass
    return removed


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError):
        return pid < 2 ** 22  # someone else's live process (or an impossible pid: stale)
    return True


@dataclass
class OutputPlan:
    r"""Files to write, checked as a whole before any is written.

    Example:
        >>> import tempfile, pathlib
        >>> d = pathlib.Path(tempfile.mkdtemp())
        >>> plan = OutputPlan()
        >>> plan.add(d / "a.txt", "hello\n")
        >>> [p.name for p in plan.commit()]
        ['a.txt']
        >>> plan.commit()  # same bytes again: nothing rewritten
        []
    """

    files: dict[Path, bytes] = field(default_factory=dict)

    def add(self, path: Path, content: str | bytes) -> None:
        """Queue one file (text is encoded as UTF-8 with LF line ends)."""
        data = content.encode("utf-8") if isinstance(content, str) else content
        self.files[Path(path)] = data

    def conflicts(self) -> list[Path]:
        """Existing files that differ from both the new content and kisubstrate's last write."""
        out = []
        manifests: dict[Path, dict] = {}
        for path, data in self.files.items():
            if not path.exists():
                continue
            if path.is_dir():
                out.append(path)
                continue
            old = _sha(path.read_bytes())
            if old == _sha(data):
                continue
            man = manifests.setdefault(path.parent, _read_manifest(path.parent))
            if man.get(path.name) != old:
                out.append(path)
        return out

    def commit(self, *, force: bool = False) -> list[Path]:
        """Write every queued file atomically; returns the files whose content changed.

        Raises:
            OverwriteError: a conflicting file exists and ``force`` is False (nothing written).
        """
        if not force:
            bad = self.conflicts()
            if bad:
                listed = ", ".join(str(p) for p in bad[:3]) + (" ..." if len(bad) > 3 else "")
                raise OverwriteError(f"not overwriting {len(bad)} file(s) changed since kisubstrate wrote "
                                     f"them (or not written by kisubstrate): {listed}; use --force")
        for folder in {p.parent for p in self.files}:
            remove_stale_temps(folder)
        changed = []
        by_dir: dict[Path, dict[str, str]] = {}
        for path, data in sorted(self.files.items()):
            digest = _sha(data)
            if not (path.exists() and path.is_file() and _sha(path.read_bytes()) == digest):
                atomic_write(path, data)
                changed.append(path)
            by_dir.setdefault(path.parent, {})[path.name] = digest
        for folder, entries in by_dir.items():
            man = _read_manifest(folder)
            if any(man.get(k) != v for k, v in entries.items()):
                man.update(entries)
                atomic_write(folder / MANIFEST, (json.dumps(dict(sorted(man.items())), indent=1) + "\n").encode())
        return changed


def _read_manifest(folder: Path) -> dict:
    try:
        data = json.loads((folder / MANIFEST).read_text())
        return data if isinstance(data, dict) else {}
    except (OSError, ValueError):
        return {}
