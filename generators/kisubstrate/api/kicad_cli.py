"""Running KiCad's own ``kicad-cli`` (renders, fabrication outputs): found, run, failures located.

A failure of kicad-cli is reported as an input-side error (:class:`SpecError`, exit code 2)
with kicad-cli's own message. Its exit code alone is not trusted: KiCad 10's ``fp export svg``
exits 0 after "Failed to create file", so callers name the files a run must write.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Iterable

from kisubstrate.kicad.target import release_for
from kisubstrate.model.errors import SpecError


def kicad_cli() -> str:
    """The path of ``kicad-cli`` on PATH.

    Raises:
        SpecError: kicad-cli is not installed.
    """
    path = shutil.which("kicad-cli")
    if not path:
        raise SpecError("kicad-cli (KiCad 9) is not on PATH")
    return path


def _cache_file() -> Path:
    """Where the version of each kicad-cli binary is remembered (``$XDG_CACHE_HOME/kisubstrate``)."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "kisubstrate" / "kicad-cli-version.json"


def installed_kicad(path: str | None = None) -> str | None:
    """The version of ``kicad-cli`` (e.g. ``10.0.6``), or None when there is none or it does not answer.

    ``kicad-cli version`` takes ~0.15 s, so the answer is cached per binary (its real path, size and
    modification time) in ``$XDG_CACHE_HOME/kisubstrate/kicad-cli-version.json``; an unwritable cache
    only costs the call.

    Args:
        path: the kicad-cli to ask; default: the one on PATH.
    """
    path = path or shutil.which("kicad-cli")
    if not path:
        return None
    try:
        real = os.path.realpath(path)
        st = os.stat(real)
    except OSError:
        return None
    key = f"{real}|{st.st_size}|{st.st_mtime_ns}"
    cache = _cache_file()
    try:
        known = json.loads(cache.read_text())
        if isinstance(known, dict) and isinstance(known.get(key), str):
            return known[key]
    except (OSError, ValueError):
        known = {}
    try:
        out = subprocess.run([path, "version"], capture_output=True, text=True, timeout=60).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    version = out.splitlines()[-1].strip() if out else ""
    if not version[:1].isdigit():
        return None
    try:
        cache.parent.mkdir(parents=True, exist_ok=True)
        tmp = cache.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps({key: version}))
        os.replace(tmp, cache)
    except OSError:
        pass
    return version


def default_kicad() -> int:
    """The KiCad release (9 or 10) to write for when none is named.

    It is the major version of the kicad-cli on PATH (10 from KiCad 10 on), else 9.
    """
    version = installed_kicad()
    major = int(version.split(".")[0]) if version and version.split(".")[0].isdigit() else None
    return release_for(major)


def run_kicad_cli(args: list[str], *, writes: Iterable[Path | tuple[Path, str]] = ()) -> None:
    """Run ``args`` (``[kicad_cli(), "pcb", …, input]``); a non-zero exit or a missing output raises.

    Args:
        args: the full command line, the input file last (it is named in the message).
        writes: what the run must leave behind: a path (a non-empty file) or (folder, glob pattern)
            (at least one file matching it); checked even when kicad-cli exits 0.

    Raises:
        SpecError: kicad-cli failed or wrote less than ``writes`` names, with the last 400 characters
            of its message.
    """
    r = subprocess.run(args, capture_output=True, text=True)
    detail = " ".join((r.stderr or r.stdout).split())[-400:] or "no message"
    if r.returncode != 0:
        raise SpecError(f"kicad-cli {' '.join(args[1:4])} failed on '{args[-1]}' (exit {r.returncode}): {detail}")
    for want in writes:
        if isinstance(want, tuple):
            folder, pattern = want
            ok = any(f.is_file() for f in Path(folder).glob(pattern))
            what = f"{Path(folder) / pattern}"
        else:
            ok = Path(want).is_file() and Path(want).stat().st_size > 0
            what = str(want)
        if not ok:
            raise SpecError(f"kicad-cli {' '.join(args[1:4])} wrote no {what} for '{args[-1]}' "
                            f"(exit 0): {detail}")


def boards_in(folder: Path) -> list[Path]:
    """The ``.kicad_pcb`` files of ``folder``, sorted.

    Raises:
        SpecError: there is none.
    """
    boards = sorted(Path(folder).glob("*.kicad_pcb"))
    if not boards:
        raise SpecError(f"no .kicad_pcb in '{folder}' (write one with 'kisubstrate substrate')")
    return boards
