"""Running KiCad's own ``kicad-cli`` (renders, fabrication outputs): found, run, failures located.

A failure of kicad-cli is reported as an input-side error (:class:`SpecError`, exit code 2)
with kicad-cli's own message.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

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


def run_kicad_cli(args: list[str]) -> None:
    """Run ``args`` (``[kicad_cli(), "pcb", …, input]``); a non-zero exit raises.

    Args:
        args: the full command line, the input file last (it is named in the message).

    Raises:
        SpecError: kicad-cli failed, with the last 400 characters of its message.
    """
    r = subprocess.run(args, capture_output=True, text=True)
    if r.returncode != 0:
        detail = " ".join((r.stderr or r.stdout).split())[-400:]
        raise SpecError(f"kicad-cli {' '.join(args[1:4])} failed on '{args[-1]}' (exit {r.returncode}): "
                        f"{detail or 'no message'}")


def boards_in(folder: Path) -> list[Path]:
    """The ``.kicad_pcb`` files of ``folder``, sorted.

    Raises:
        SpecError: there is none.
    """
    boards = sorted(Path(folder).glob("*.kicad_pcb"))
    if not boards:
        raise SpecError(f"no .kicad_pcb in '{folder}' (write one with 'kisubstrate substrate')")
    return boards
