"""What the plugin buttons do, minus the GUI: evaluate a form, save a footprint, write a substrate.

Every function returns a result object with a message for the user instead of raising
for user mistakes, so the dialog can show the message next to the field, never a traceback.

Example:
    >>> ev = evaluate("bga", {"body": "3, 3", "pitch": "1", "layout": "2, 2", "ball_diameter": "0.5"})
    >>> ev.ok, ev.result.geometry.pad_count
    (True, 4)
    >>> bad = evaluate("bga", {"body": "3, 3", "pitch": "1", "layout": "2, 2", "ball_diameter": "1.5"})
    >>> bad.ok, bad.field, bad.error.startswith("ball_diameter 1.5 mm must be smaller than the pitch")
    (False, 'ball_diameter', True)
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kisubstrate.model.errors import SpecError

TEST_SPEC_ENV = "KISUBSTRATE_PLUGIN_SPEC"
"""Environment variable: a spec file the plugin dialogs pre-fill from."""
TEST_AUTO_ENV = "KISUBSTRATE_PLUGIN_AUTO"
"""Environment variable: ``1`` makes the dialogs accept themselves (non-interactive test mode)."""
TEST_LIBRARY_ENV = "KISUBSTRATE_PLUGIN_LIBRARY"
"""Environment variable: a ``.pretty`` folder the footprint dialog also saves into."""
TEST_SUBSTRATE_SPEC_ENV = "KISUBSTRATE_PLUGIN_SUBSTRATE_SPEC"
"""Environment variable: the spec file the substrate dialog pre-fills from (else ``KISUBSTRATE_PLUGIN_SPEC``)."""
TEST_OUTPUT_ENV = "KISUBSTRATE_PLUGIN_OUTPUT"
"""Environment variable: the substrate dialog's output folder."""
TEST_LOG_ENV = "KISUBSTRATE_PLUGIN_LOG"
"""Environment variable: a file the plugin appends one JSON line per finished action to."""


@dataclass
class Evaluation:
    """A filled form, evaluated: the validated spec and the built + checked footprint, or the error."""

    family: str
    spec: Any = None
    result: Any = None  # kisubstrate.api.FootprintResult
    error: str = ""
    field: str | None = None

    @property
    def ok(self) -> bool:
        """Valid input and no rule violations."""
        return self.result is not None and self.result.report.ok

    def summary(self) -> str:
        """One short paragraph for the dialog's status area."""
        if self.error:
            where = f"{self.field}: " if self.field else ""
            return f"Invalid input — {where}{self.error}"
        if self.result is None:
            return f"family '{self.family}' builds no footprint"
        geom, report = self.result.geometry, self.result.report
        head = f"{geom.name}\n{geom.pad_count} pads, rule profile {report.profile}: "
        if report.ok:
            return head + "all checks pass"
        return head + f"{len(report.violations)} violation(s)\n" + report.text()


def evaluate(family: str, texts: dict[str, Any], *, base_dir: str = ".") -> Evaluation:
    """Parse, validate, build and check a filled form (never raises for user mistakes).

    Args:
        family: the family the form is for (a name of ``kisubstrate list``, e.g. ``bga``).
        texts: field name → the text typed into it (a bool for a checkbox); an empty text
            leaves the key out (its default), names that are not fields of the family are ignored.
        base_dir: folder that relative paths in the form (ball maps, rule files) resolve from.

    Example:
        >>> ev = evaluate("lga", {"body": "4, 4", "pitch": "0.65", "layout": "5, 5", "pad_diameter": "0.35"})
        >>> ev.ok, ev.result.geometry.name
        (True, 'LGA-25_4.0x4.0mm_Layout5x5_P0.65mm_Pad0.35mm')
    """
    from kisubstrate.api.footprint import build_footprints
    from kisubstrate.plugin_support.form import spec_from_texts

    ev = Evaluation(family=family)
    try:
        ev.spec = spec_from_texts(family, texts, base_dir=base_dir)
        results = build_footprints(ev.spec)
    except SpecError as exc:
        ev.error, ev.field = exc.reason, exc.field
        return ev
    ev.result = results[0] if results else None
    return ev


def save_to_library(result: Any, pretty: str | Path, *, force: bool = False, kicad: int | None = None) -> Path:
    """Write a built footprint into a ``.pretty`` folder and its VRML model into the sibling ``.3dshapes``.

    Atomic and overwrite-guarded: the bytes ``kisubstrate footprint -o PRETTY`` writes. Returns the
    ``.kicad_mod`` file.

    Args:
        result: the built footprint (:class:`~kisubstrate.api.footprint.FootprintResult`).
        pretty: the library folder (``…/<Lib>.pretty``).
        force: overwrite a file changed since kisubstrate wrote it.
        kicad: the KiCad release to write for (9 or 10: the running KiCad's); None: as the CLI's
            default (the kicad-cli on PATH, else 9).

    Raises:
        SpecError: ``pretty`` is not a ``.pretty`` folder.
        kisubstrate.api.outputs.OverwriteError: the file exists and was changed by someone else.
    """
    from kisubstrate.api.footprint import footprint_files
    from kisubstrate.api.kicad_cli import default_kicad
    from kisubstrate.api.outputs import OutputPlan

    pretty = Path(pretty)
    if pretty.suffix != ".pretty":
        raise SpecError(f"'{pretty}' is not a KiCad library folder (must end in .pretty)", field="library")
    plan = OutputPlan()
    target = default_kicad() if kicad is None else kicad
    for path, text in footprint_files([result], pretty, models="project", kicad=target):
        plan.add(path, text)
    plan.commit(force=force)
    return pretty / f"{result.geometry.name}.kicad_mod"


def library_model_path(pretty: str | Path, name: str) -> str:
    """The 3D model path :func:`save_to_library` writes into footprint ``name`` of ``pretty``.

    The ``.step`` where OpenCascade is installed, else the ``.wrl`` (KiCad's own Python).

    >>> library_model_path("/x/Mine.pretty", "BGA-4").rsplit(".", 1)[0]
    '${KIPRJMOD}/Mine.3dshapes/BGA-4'
    """
    from kisubstrate.api.library import LibraryDef
    from kisubstrate.kicad.step import model_name, model_reference

    return model_reference(LibraryDef(name=Path(pretty).stem).model_path(model_name(name), "project"))


@dataclass
class SubstrateOutcome:
    """The result of "Package substrate…": where it was written, or why not."""

    ok: bool
    message: str
    output: Path | None = None
    files: list[Path] = field(default_factory=list)


def substrate_families() -> list[str]:
    """Families that can build a package substrate board."""
    from kisubstrate.families.registry import families

    return sorted(n for n, f in families().items() if f.substrate is not None)


_PATH_SUFFIXES = (".csv", ".yaml", ".yml")


def absolute_paths(value: Any, base_dir: str | Path) -> Any:
    r"""``value`` with every relative side-file path (``.csv`` / ``.yaml``, existing under ``base_dir``) made absolute.

    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp()); _ = (d / "balls.csv").write_text("A1,GND\n")
    >>> out = absolute_paths({"ball_map": "balls.csv", "rules": "hdi-fine", "dies": [{"map": "x.csv"}]}, d)
    >>> out["ball_map"] == str((d / "balls.csv").resolve()), out["rules"], out["dies"]
    (True, 'hdi-fine', [{'map': 'x.csv'}])
    """
    if isinstance(value, dict):
        return {k: absolute_paths(v, base_dir) for k, v in value.items()}
    if isinstance(value, list):
        return [absolute_paths(v, base_dir) for v in value]
    if isinstance(value, str) and value.lower().endswith(_PATH_SUFFIXES) and not Path(value).is_absolute():
        candidate = Path(base_dir) / value
        if candidate.is_file():
            return str(candidate.resolve())
    return value


def _is_python(path: str | None) -> bool:
    return bool(path) and Path(path).name.lower().startswith(("python", "pypy")) and os.access(path, os.X_OK)


def cli_command(executable: str | None = None) -> list[str]:
    """The command prefix that runs ``kisubstrate`` in a subprocess.

    Inside KiCad, ``sys.executable`` may be KiCad itself (Windows, macOS), not a Python: then a
    ``python3`` / ``python`` beside it or in its environment, else the ``kisubstrate`` entry point,
    else a ``python3`` / ``python`` on ``PATH``.

    >>> cli_command(sys.executable)[1:] if _is_python(sys.executable) else ["-m", "kisubstrate"]
    ['-m', 'kisubstrate']
    """
    import shutil

    exe = sys.executable if executable is None else executable
    if _is_python(exe):
        return [exe, "-m", "kisubstrate"]
    folders = [Path(exe).parent] if exe else []
    for prefix in (sys.prefix, sys.base_prefix):
        folders += [Path(prefix) / "bin", Path(prefix) / "Scripts", Path(prefix)]
    for folder in folders:
        for name in ("python3", "python", "python3.exe", "python.exe"):
            if _is_python(str(folder / name)) and (folder / name).is_file():
                return [str(folder / name), "-m", "kisubstrate"]
    entry = shutil.which("kisubstrate")
    if entry:
        return [entry]
    for name in ("python3", "python"):
        found = shutil.which(name)
        if found:
            return [found, "-m", "kisubstrate"]
    raise FileNotFoundError("no Python interpreter or 'kisubstrate' command found to run the substrate command")


def write_substrate(spec: dict[str, Any], output: str | Path, *, base_dir: str = ".",
                    timeout: float = 600, kicad: int | None = None) -> SubstrateOutcome:
    """Write the substrate project of one package spec (a dict) into ``output``.

    Runs ``kisubstrate substrate SPEC -o DIR`` in a subprocess (the same code path as the CLI,
    with its exit codes: 1 rule violations, 2 invalid input). A family without a substrate gives
    a friendly message instead.

    Args:
        spec: one package spec (field name → value).
        output: the folder for the project.
        base_dir: the folder the spec's relative paths (ball maps, rule files) are relative to.
        timeout: seconds the command may take.
        kicad: the KiCad release to write for (``--kicad``; 9 or 10: the running KiCad's); None: the
            command's default.
    """
    import yaml

    from kisubstrate.families.registry import families

    family = spec.get("family")
    fams = families()
    if family not in fams:
        return SubstrateOutcome(False, f"unknown family '{family}'")
    if fams[family].substrate is None:
        others = substrate_families()
        hint = (f"; families with a substrate: {', '.join(others)}" if others
                else "; this kisubstrate version has no substrate families yet")
        return SubstrateOutcome(False, f"family '{family}' has no substrate (footprint only){hint}")
    output = Path(output).resolve()
    # the spec goes into a private temporary folder (never the user's folder, gone even when KiCad
    # is killed before the cleanup: it is in the system temp dir); its side files (ball maps, rule
    # files …) stay where they are, so relative paths are made absolute first
    text = yaml.safe_dump({"packages": [absolute_paths(spec, base_dir)]}, sort_keys=False)
    before = {p for p in output.rglob("*") if p.is_file()} if output.exists() else set()
    import kisubstrate

    here = str(Path(kisubstrate.__file__).resolve().parent.parent)  # the same kisubstrate as this process
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in (here, os.environ.get("PYTHONPATH")) if p)}
    with tempfile.TemporaryDirectory(prefix="kisubstrate-plugin-") as tmp:
        spec_file = Path(tmp) / "spec.yaml"
        spec_file.write_text(text, encoding="utf-8")
        cmd = [*cli_command(), "substrate", str(spec_file), "-o", str(output)]
        if kicad is not None:
            cmd += ["--kicad", str(kicad)]
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env)
    text = (proc.stdout + proc.stderr).strip()
    if proc.returncode == 2 and "No such command" in text:
        return SubstrateOutcome(False, "this kisubstrate has no 'substrate' command yet; update kisubstrate")
    if proc.returncode != 0:
        kind = "rule violations (nothing written)" if proc.returncode == 1 else "failed"
        return SubstrateOutcome(False, f"substrate {kind}:\n{text}")
    files = sorted(p for p in output.rglob("*") if p.is_file() and not p.name.startswith("."))
    new = [p for p in files if p not in before] or files
    return SubstrateOutcome(True, f"substrate written to {output}\n{text}".strip(), output=output, files=new)


def log_action(record: dict[str, Any]) -> None:
    """Append one JSON line to ``$KISUBSTRATE_PLUGIN_LOG`` (test mode); no-op when unset."""
    import json

    path = os.environ.get(TEST_LOG_ENV)
    if path:
        with open(path, "a", encoding="utf-8") as fh:
            fh.write(json.dumps(record, sort_keys=True, default=str) + "\n")
