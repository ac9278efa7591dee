"""Logic of the legacy SWIG action plugin (KiCad 8/9 without the IPC API); stdlib only.

KiCad's embedded Python usually lacks shapely and pydantic, so the generator runs
in-process only when ``kisubstrate`` imports there, and otherwise as the ``kisubstrate``
command in a subprocess (``$KISUBSTRATE_CLI``, then ``PATH``, then ``~/.local/bin``). The
written footprint is loaded with ``pcbnew.FootprintLoad`` and added to the open board.
``pcbnew`` is passed in, never imported here, so this module is testable anywhere.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

SPEC_ENV = "KISUBSTRATE_PLUGIN_SPEC"
CLI_ENV = "KISUBSTRATE_CLI"
LIBRARY_ENV = "KISUBSTRATE_PLUGIN_LIBRARY"
LOG_ENV = "KISUBSTRATE_PLUGIN_LOG"
LIBRARY_NICK = "kisubstrate"

INSTALL_HINT = (
    "The kisubstrate generator is not installed where KiCad can find it.\n\n"
    "Install it once, then press the button again:\n"
    "    pipx install kisubstrate        (or: python3 -m pip install --user kisubstrate)\n"
    "so that the 'kisubstrate' command is on PATH or in ~/.local/bin, or set KISUBSTRATE_CLI\n"
    "to the command's full path. With KiCad 9 and the API enabled, the IPC plugin\n"
    "(Plugin and Content Manager) installs everything by itself.")
NO_BOARD = "Open (and save) a board in the PCB editor first: kisubstrate adds the footprint to it."


@dataclass
class Backend:
    """How the generator is reached: ``in-process`` or a command line."""

    kind: str  # "in-process" | "cli"
    command: list[str] = field(default_factory=list)

    def describe(self) -> str:
        """The backend for messages: ``kisubstrate (in-process)`` or the command line."""
        return "kisubstrate (in-process)" if self.kind == "in-process" else " ".join(self.command)


@dataclass
class Outcome:
    """What a button press did, for the message box and the test log."""

    ok: bool
    message: str
    footprints: list[str] = field(default_factory=list)
    references: list[str] = field(default_factory=list)
    library: str = ""


def _importable() -> bool:
    try:
        import kisubstrate.api.footprint  # noqa: F401  (import probe: is the library installed?)
    except Exception:  # noqa: BLE001 - missing or broken deps: use the command instead
        return False
    return True


def find_backend(env: dict[str, str] | None = None, *, allow_in_process: bool = True) -> Backend | None:
    """The generator to use, or None when there is none (then show :data:`INSTALL_HINT`)."""
    env = dict(os.environ if env is None else env)
    explicit = env.get(CLI_ENV, "").strip()
    if explicit:
        return Backend("cli", [explicit]) if shutil.which(explicit) or os.access(explicit, os.X_OK) else None
    if allow_in_process and _importable():
        return Backend("in-process")
    found = shutil.which("kisubstrate", path=env.get("PATH", os.defpath))
    if not found:
        local = Path(env.get("HOME", str(Path.home()))) / ".local" / "bin" / "kisubstrate"
        found = str(local) if local.is_file() and os.access(local, os.X_OK) else None
    return Backend("cli", [found]) if found else None


def generate(backend: Backend, spec: Path, library: Path, *, timeout: float = 300,
             kicad: int | None = None) -> tuple[bool, str, list[str]]:
    """Write the footprints of ``spec`` into ``library`` (.pretty); (ok, message, footprint names).

    Args:
        backend: how to run kisubstrate (in this process or its command).
        spec: the spec file.
        library: the ``.pretty`` folder.
        timeout: seconds the command may take.
        kicad: the KiCad release to write for (9 or 10, the running pcbnew's); None: the command's default.
    """
    if backend.kind == "in-process":
        from kisubstrate.api.footprint import build_footprints
        from kisubstrate.api.outputs import OutputPlan
        from kisubstrate.api.specs import load_specs
        from kisubstrate.model.errors import SpecError

        try:
            results = [r for ls in load_specs([spec]) for r in build_footprints(ls.spec, source=ls.file)]
        except SpecError as exc:
            return False, str(exc), []
        bad = [r.report for r in results if not r.report.ok]
        if bad:
            return False, "\n".join(rep.text() for rep in bad), []
        plan = OutputPlan()
        for r in results:
            plan.add(library / f"{r.geometry.name}.kicad_mod", r.text(kicad=kicad or 9))
        try:
            plan.commit()
        except Exception as exc:  # noqa: BLE001 - overwrite guard etc.: a message, not a crash
            return False, str(exc), []
        return True, f"{len(results)} footprint(s) written to {library}", [r.geometry.name for r in results]
    cmd = backend.command + ["footprint", str(spec), "-o", str(library)] + (["--kicad", str(kicad)] if kicad else [])
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    text = (proc.stdout + proc.stderr).strip()
    if proc.returncode != 0:
        what = "rule violations, nothing written" if proc.returncode == 1 else "failed"
        return False, f"kisubstrate {what}:\n{text}", []
    names = []
    for line in proc.stdout.splitlines():
        if line.startswith("wrote ") and ".kicad_mod" in line:
            names.append(Path(line[len("wrote "):].split(" (")[0]).stem)
    return True, text, names


def pcbnew_release(pcbnew: Any) -> int | None:
    """The KiCad release (9 or 10) of the running pcbnew, None when it cannot tell.

    Args:
        pcbnew: the ``pcbnew`` module (``Version()`` is e.g. ``10.0.6``).
    """
    try:
        major = int(str(pcbnew.Version()).split(".")[0])
    except Exception:  # noqa: BLE001 - a stub or an unparsable version: the command's default
        return None
    return 9 if major < 10 else 10


def next_reference(board: Any, prefix: str = "U") -> str:
    """First free ``U<n>`` on a pcbnew board."""
    used = {fp.GetReference() for fp in board.GetFootprints()}
    n = 1
    while f"{prefix}{n}" in used:
        n += 1
    return f"{prefix}{n}"


def board_centre(pcbnew: Any, board: Any) -> Any:
    """Centre of the board outline (pcbnew VECTOR2I); the A4 page centre without an outline."""
    box = board.GetBoardEdgesBoundingBox()
    if box.GetWidth() > 0 and box.GetHeight() > 0:
        return box.GetCenter()
    return pcbnew.VECTOR2I(pcbnew.FromMM(148.5), pcbnew.FromMM(105.0))


def run(pcbnew: Any, board: Any, *, spec: str | Path | None = None,
        choose_spec: Callable[[str], str | None] | None = None,
        env: dict[str, str] | None = None) -> Outcome:
    """The button: generate the spec's footprint(s) and add them to ``board``.

    Args:
        pcbnew: the ``pcbnew`` module (passed in so this module never imports it).
        board: ``pcbnew.GetBoard()``; refused when None or not saved to a file.
        spec: the spec file; else ``$KISUBSTRATE_PLUGIN_SPEC``; else ``choose_spec(start_dir)``.
        choose_spec: asks the user for a spec file, given the board's folder to start in; returns
            the path or None (cancelled). None: no dialog.
        env: the environment to read (``KISUBSTRATE_PLUGIN_SPEC``, ``KISUBSTRATE_PLUGIN_LIBRARY``,
            ``KISUBSTRATE_CLI`` …); default ``os.environ``.
    """
    env = dict(os.environ if env is None else env)
    if board is None or not board.GetFileName():
        return Outcome(False, NO_BOARD)
    board_dir = Path(board.GetFileName()).resolve().parent
    spec = spec or env.get(SPEC_ENV) or (choose_spec(str(board_dir)) if choose_spec else None)
    if not spec:
        return Outcome(False, "No spec file chosen.")
    spec = Path(spec)
    backend = find_backend(env)
    if backend is None:
        return Outcome(False, INSTALL_HINT)
    library = Path(env.get(LIBRARY_ENV) or board_dir / f"{LIBRARY_NICK}.pretty")
    ok, message, names = generate(backend, spec, library, kicad=pcbnew_release(pcbnew))
    if not ok:
        return Outcome(False, message, library=str(library))
    if not names:
        return Outcome(False, f"{spec} defines no footprint (substrate specs: use the IPC plugin or the CLI)")
    refs = []
    centre = board_centre(pcbnew, board)
    for name in names:
        fp = pcbnew.FootprintLoad(str(library), name)
        if fp is None:
            return Outcome(False, f"KiCad could not load {library / (name + '.kicad_mod')}", library=str(library))
        ref = next_reference(board)
        fp.SetReference(ref)
        fp.Reference().SetVisible(True)
        fp.Value().SetVisible(True)
        fp.SetFPID(pcbnew.LIB_ID(library.stem, name))
        fp.SetPosition(centre)
        board.Add(fp)
        refs.append(ref)
    pcbnew.Refresh()
    return Outcome(True, f"added {', '.join(f'{r} ({n})' for r, n in zip(refs, names))} from {library} "
                         f"[{backend.describe()}]", footprints=names, references=refs, library=str(library))


def log(outcome: Outcome, env: dict[str, str] | None = None) -> None:
    """Append the outcome as one JSON line to ``$KISUBSTRATE_PLUGIN_LOG`` (test mode)."""
    import json

    path = (os.environ if env is None else env).get(LOG_ENV)
    if path:
        with open(path, "a", encoding="utf-8") as fh:
            fh.write(json.dumps({"action": "swig", **outcome.__dict__}, sort_keys=True) + "\n")


if __name__ == "__main__":  # a quick check of what the button would use
    b = find_backend()
    print(b.describe() if b else INSTALL_HINT)
    sys.exit(0 if b else 1)
