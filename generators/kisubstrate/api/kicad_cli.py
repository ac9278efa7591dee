"""Running KiCad's own ``kicad-cli`` (renders, fabrication outputs): found, run, failures located.

A failure of kicad-cli is reported as an input-side error (:class:`SpecError`, exit code 2)
with kicad-cli's own message. Its exit code alone is not trusted: KiCad 10's ``fp export svg``
exits 0 after "Failed to create file", so callers name the files a run must write.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Iterable

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
