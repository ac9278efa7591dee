"""Library export for board designers: a library definition → a ready KiCad footprint library.

``kisubstrate library footprints/library.yaml -o footprints/kisubstrate_Packages`` writes::

    DIR/<Lib>.pretty/<name>.kicad_mod     every footprint (rule-checked before anything is written)
    DIR/<Lib>.3dshapes/<model>.step      a STEP model per package (kisubstrate.kicad.step; with the
                                          ``step`` extra, else none and footprints name the .wrl)
    DIR/<Lib>.3dshapes/<model>.wrl       a VRML 2.0 model per package (kisubstrate.kicad.vrml)
    DIR/renders/<name>.svg                kicad-cli fp export svg, one call for the whole library
    DIR/<Lib>.kicad_sym                   a schematic symbol per package with a ball map (pins = balls, by net)
    DIR/fp-lib-table                      the row to paste into a project or global table
    DIR/sym-lib-table                     the symbol library's row (when there are symbols)
    DIR/catalogue.md                      every footprint with its render and land provenance
    DIR/provenance.csv                    footprint, item, size, rule, factor, source

The definition (YAML) is compact: *sections*, each one family, either explicit ``packages``
or a ``sweep`` (cartesian product of value lists) × ``variants`` (overlays), with the grid
``layout`` fitted to the body (``layout: fit``, ``edge`` = minimum body edge to the outer
ball centre, mm) or the body fitted to the grid (``body: fit``). A variant may carry the
filters ``min_layout`` / ``max_layout`` (smaller grid side) and ``parity: even|odd``, and a
``name_suffix`` appended to the default footprint name::

    library: kisubstrate_Packages
    models: project                 # project | pcm | stock | a template with {lib} and {name}
    sections:
      - title: BGA 0.8 mm
        family: bga
        defaults: {pitch: 0.8, ball_diameter: 0.4}
        layout: fit
        edge: 0.9
        sweep: {body: [8, 10, 12]}
        variants: [{}, {perimeter_rings: 3, min_layout: 12}]

The definition's models, its located messages and the expansion are
:mod:`kisubstrate.model.library` (``kisubstrate schema library`` prints the JSON schema).
Families that are not grid arrays (QFN, SON, PoP top lands …) add a section with
``packages:`` or a ``sweep`` over their own keys; nothing here needs to know them.
Output is byte-identical on re-run (no dates, fixed ordering, the SVG title with its date
stripped); build and write run in a process pool (both cores), renders in one kicad-cli call.

Example:
    >>> lib = LibraryDef.from_dict({"library": "Demo", "sections": [
    ...     {"title": "t", "family": "bga", "defaults": {"pitch": 1.0, "ball_diameter": 0.5},
    ...      "layout": "fit", "edge": 1.0, "sweep": {"body": [5, 7]}}]})
    >>> [(p["body"], p["layout"]) for _, p in lib.packages]
    [([5.0, 5.0], [4, 4]), ([7.0, 7.0], [6, 6])]
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import multiprocessing
import os
import re
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable

import yaml

from kisubstrate.api.symbols import sym_lib_table
from kisubstrate.kicad.paths import lib_uri, model_path, sym_uri
from kisubstrate.kicad.target import check_kicad
from kisubstrate.model import yamlio
from kisubstrate.model.datafile import MAX_YAML_BYTES, read_text_limited
from kisubstrate.model.errors import Interrupted, SpecError
from kisubstrate.model.library import expand_library, read_library_definition

RENDER_LAYERS = "F.Cu,F.SilkS,F.CrtYd,F.Fab"


# ----------------------------------------------------------------------------------------------
# the definition (models and expansion: kisubstrate.model.library)
@dataclass
class Section:
    """One family block of the library (title shown as a catalogue heading)."""

    title: str
    family: str
    note: str = ""


@dataclass
class LibraryDef:
    """An expanded library definition: name, model-path mode and package dicts per section."""

    name: str
    description: str = ""
    models: str = "project"
    pcm_id: str = "kisubstrate.library"  # the identifier `kisubstrate pcm` gives the library package
    file: str = ""
    base_dir: str = "."
    sections: list[Section] = field(default_factory=list)
    packages: list[tuple[int, dict]] = field(default_factory=list)  # (section index, package dict)

    @classmethod
    def load(cls, path: str | Path) -> "LibraryDef":
        """Read a library YAML file (raises :class:`SpecError`, located).

        Args:
            path: the definition file (e.g. ``footprints/library.yaml``); package paths in it
                (rule profiles, ball maps) resolve from its folder.
        """
        path = Path(path)
        try:
            data = yamlio.safe_load(read_text_limited(path, MAX_YAML_BYTES, what="library definition"))
        except FileNotFoundError:
            raise SpecError("file not found", file=str(path)) from None
        except UnicodeDecodeError:
            raise SpecError("not a UTF-8 text file", file=str(path)) from None
        except OSError as exc:
            raise SpecError(f"cannot read: {exc.strerror or exc}", file=str(path)) from None
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
            problem = getattr(exc, "problem", None) or "syntax error"
            raise SpecError(f"invalid YAML{where}: {problem}", file=str(path)) from None
        return cls.from_dict(data, file=str(path), base_dir=str(path.parent))

    @classmethod
    def from_dict(cls, data: Any, *, file: str = "", base_dir: str = ".") -> "LibraryDef":
        """Validate a definition mapping (:class:`~kisubstrate.model.library.LibraryDefinition`) and expand it.

        Args:
            data: the mapping read from YAML (see the module docstring).
            file: where it came from, for messages.
            base_dir: folder that relative paths in packages resolve from.

        Raises:
            SpecError: one located line (file, section, field, reason).
        """
        definition = read_library_definition(data, file=file)
        return cls(name=definition.library, description=(definition.description or "").strip(),
                   models=definition.models, pcm_id=definition.pcm_id, file=file, base_dir=base_dir,
                   sections=[Section(title=sec.heading, family=sec.family, note=(sec.note or "").strip())
                             for sec in definition.sections],
                   packages=expand_library(definition, file=file))

    # -- paths ---------------------------------------------------------------------------------
    def sym_uri(self, models: str | None = None, kicad: int = 9) -> str:
        """The ``uri`` of the sym-lib-table row, placed like the fp-lib-table row (:meth:`lib_uri`).

        Args:
            models: model mode overriding the definition's.
            kicad: the KiCad release (9 or 10) whose path variables the row uses.
        """
        return sym_uri(self.name, models or self.models, pcm_dir=self.pcm_dir, kicad=kicad)

    @property
    def pcm_dir(self) -> str:
        """The PCM install folder name: identifier with '.' → '_'."""
        return self.pcm_id.replace(".", "_")

    def model_path(self, name: str, models: str | None = None, kicad: int = 9) -> str:
        """The 3D model path written into footprint ``name`` (mode preset or template).

        Args:
            name: footprint name.
            models: model mode overriding the definition's.
            kicad: the KiCad release (9 or 10) whose path variables the path uses.
        """
        return model_path(self.name, name, models or self.models, pcm_dir=self.pcm_dir, kicad=kicad)

    def lib_uri(self, models: str | None = None, kicad: int = 9) -> str:
        """The ``uri`` of the fp-lib-table row matching the model mode.

        Args:
            models: model mode overriding the definition's.
            kicad: the KiCad release (9 or 10) whose path variables the row uses.
        """
        return lib_uri(self.name, models or self.models, pcm_dir=self.pcm_dir, kicad=kicad)


# ----------------------------------------------------------------------------------------------
# building (runs in worker processes)
@dataclass
class Entry:
    """One built library footprint with everything the export writes about it."""

    index: int
    section: int
    name: str
    family: str
    pads: int
    kicad_mod: str
    model: str  # the 3D model file stem (footprint name without _ThermalVias and the like)
    models: dict[str, str]  # suffix (.wrl, .step) → text
    ok: bool
    report: str
    provenance: list[dict[str, str]]
    summary: dict[str, str]
    symbol: Any = None  # a SymbolGeom for a package whose ball map gives nets, else None


def _split_provenance(item: str, text: str, land=None) -> dict[str, str]:
    """(value, rule, factor, source) from a provenance sentence like ``land 0.32 mm: rule, factor (source)``."""
    head, sep, rest = text.partition(": ")
    if not sep or not re.match(r"^\w+ [-\d.]+ mm$", head):
        head, rest = "", text
    m = re.search(r"(-?\d+(?:\.\d+)?) mm", head or text)
    value = m.group(1) if m else ""
    if land is not None:
        return {"value_mm": f"{land.diameter:g}", "rule": land.rule, "factor": land.factor,
                "source": land.source}
    source = ""
    body = rest.strip()
    if body.endswith(")"):
        depth = 0
        for i in range(len(body) - 1, -1, -1):
            depth += {")": 1, "(": -1}.get(body[i], 0)
            if depth == 0:
                source, body = body[i + 1:-1], body[:i].rstrip()
                break
    rule, _, factor = body.partition(", ")
    return {"value_mm": value, "rule": rule, "factor": factor, "source": source}


_ITEMS = ("land", "drill", "mask", "paste", "courtyard")


def _item_order(kv: tuple[str, str]) -> tuple[int, str]:
    """Provenance rows: land first, then drill, mask, paste, courtyard, then anything else."""
    return (_ITEMS.index(kv[0]) if kv[0] in _ITEMS else len(_ITEMS), kv[0])


def _summary(geom, spec) -> dict[str, str]:
    from kisubstrate.model.units import fmt

    minx, miny, maxx, maxy = geom.body.bounds
    px, py = geom.pitch_x, geom.pitch_y
    pitch = "" if px is None else (fmt(px) if px == py else f"{fmt(px)}x{fmt(py)}")
    return {"body": f"{fmt(maxx - minx)}x{fmt(maxy - miny)}", "pitch": pitch,
            "land": fmt(geom.land) if geom.land is not None else "",
            "ball": fmt(geom.ball) if geom.ball else "",
            "rules": geom.rules, "source": getattr(spec, "source", "") or ""}


def _build_chunk(job: tuple[list[tuple[int, int, Any]], str, str, dict, int]) -> list[Entry]:
    """Build, check and render text for a chunk of packages (worker process)."""
    from kisubstrate.api.footprint import build_footprints
    from kisubstrate.api.symbols import footprint_symbol
    from kisubstrate.kicad.footprint import write_footprint
    from kisubstrate.kicad.step import model_files, model_name, model_reference

    items, base_dir, lib_name, model_paths, kicad = job
    out = []
    for index, section, spec in items:
        for res in build_footprints(spec):
            geom = res.geometry
            land = None
            if "land" in geom.provenance and getattr(spec, "pad_diameter", 1) is None and hasattr(spec, "land"):
                land = spec.land()
            prov = [{"footprint": geom.name, "family": geom.family, "item": item,
                     **_split_provenance(item, text, land if item == "land" else None), "text": text}
                    for item, text in sorted(geom.provenance.items(), key=_item_order)]
            stem = model_name(geom.name)
            model = model_reference(model_paths.get(geom.name) or model_paths["__template__"].replace("{name}", stem))
            out.append(Entry(index=index, section=section, name=geom.name, family=geom.family,
                             pads=geom.pad_count, kicad_mod=write_footprint(geom, model_path=model, kicad=kicad),
                             model=stem,
                             models=model_files(geom, pin_length=float(getattr(spec, "pin_length", 3.0) or 3.0)),
                             ok=res.report.ok, report=res.report.text(), provenance=prov,
                             summary=_summary(geom, spec), symbol=footprint_symbol(res, lib_name)))
    return out


def _ignore_sigint() -> None:
    """Worker initializer: Ctrl-C goes to the whole process group; only the parent acts on it.

    A worker starts with SIGINT blocked (the parent holds it back while the pool starts); ignoring it
    first drops a Ctrl-C that came in between, then it is unblocked.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})


def build_library(lib: LibraryDef, *, jobs: int | None = None, models: str | None = None,
                  progress: Callable[[int], None] | None = None, kicad: int = 9) -> list[Entry]:
    """Build every footprint of a library in a process pool; entries in definition order.

    Args:
        lib: the library definition.
        jobs: worker processes (default: every core); 1 builds in this process.
        models: model-path mode overriding the definition's.
        progress: called with the number of packages finished after each chunk.
        kicad: the KiCad release the footprints are written for: 9 (format 20241229) or 10 (20260206).

    Raises:
        SpecError: a package is invalid (located: file, section, field) or two share a name.

    Example:
        >>> lib = LibraryDef.from_dict({"library": "Demo", "sections": [
        ...     {"title": "LGA 1 mm", "family": "lga", "defaults": {"pitch": 1.0, "pad_diameter": 0.5},
        ...      "layout": "fit", "edge": 1.0, "sweep": {"body": [5]}}]})
        >>> [(e.name, e.pads, e.ok) for e in build_library(lib, jobs=1)]
        [('LGA-16_5.0x5.0mm_Layout4x4_P1.0mm_Pad0.5mm', 16, True)]
    """
    from kisubstrate.api.specs import validate_spec

    # validate up front so that a mistake is reported before any work is spread out;
    # the workers get the validated (picklable) models
    specs = []
    for _i, (sec, pkg) in enumerate(lib.packages):
        try:
            pkg = dict(pkg)
            suffix = pkg.pop("name_suffix", None)
            spec = validate_spec(pkg, base_dir=lib.base_dir)
            if suffix:  # e.g. "_SquareLands": tells apart variants the default name does not
                spec = validate_spec({**pkg, "name": f"{spec.resolved_name}{suffix}"}, base_dir=lib.base_dir)
            specs.append(spec)
        except SpecError as exc:
            shown = {k: v for k, v in pkg.items() if k in ("family", "body", "pitch", "layout")}
            raise SpecError(exc.reason, file=lib.file,
                            package=f"section '{lib.sections[sec].title}' {json.dumps(shown)}",
                            field=exc.field) from None
    template = lib.model_path("{name}", models, kicad)
    items = [(i, sec, spec) for i, ((sec, _), spec) in enumerate(zip(lib.packages, specs))]
    jobs = max(1, jobs or os.cpu_count() or 1)
    # small chunks keep both workers busy to the end (big grids cost 10x small ones)
    size = max(1, min(16, len(items) // (jobs * 8) or 1))
    chunks = [items[k:k + size] for k in range(0, len(items), size)]
    payload = [(c, lib.base_dir, lib.name, {"__template__": template}, kicad) for c in chunks]
    entries: list[Entry] = []
    if jobs == 1 or len(chunks) == 1:
        for p in payload:
            entries += _build_chunk(p)
            if progress:
                progress(len(p[0]))
    else:
        # workers ignore Ctrl-C; on Ctrl-C (or any error) here they are terminated, not waited for
        # (a process-pool executor would wait for its running chunks and can hang on a broken pipe)
        # a terminated pool leaves its semaphores to multiprocessing's resource tracker, which would warn
        # about them on stderr after Ctrl-C (Python 3.14): the tracker starts with the pool and takes this
        saved = os.environ.get("PYTHONWARNINGS")
        os.environ["PYTHONWARNINGS"] = "ignore::UserWarning:multiprocessing.resource_tracker"
        # Ctrl-C is held back while the pool starts: one landing half-way (some workers forked, the
        # pool not yet bound to `pool`) would leave those workers running after the command exits;
        # workers and the pool's threads inherit the mask, and a held-back Ctrl-C lands in the try below
        mask = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
        try:
            pool = multiprocessing.get_context().Pool(processes=jobs, initializer=_ignore_sigint)
        except BaseException:
            signal.pthread_sigmask(signal.SIG_SETMASK, mask)
            raise
        finally:
            if saved is None:
                os.environ.pop("PYTHONWARNINGS", None)
            else:
                os.environ["PYTHONWARNINGS"] = saved
        try:
            signal.pthread_sigmask(signal.SIG_SETMASK, mask)
            for p, part in zip(payload, pool.imap(_build_chunk, payload)):
                entries += part
                if progress:
                    progress(len(p[0]))
        except (KeyboardInterrupt, Interrupted):
            # Ctrl-C: Pool.terminate() joins the pool's handler threads, which can hang on an interrupted
            # pool; it gets 2 s, then every worker still alive is killed and the command exits
            stopper = threading.Thread(target=pool.terminate, daemon=True)
            stopper.start()
            stopper.join(2.0)
            for worker in list(getattr(pool, "_pool", ())):
                if worker.is_alive():
                    worker.kill()
            raise
        except BaseException:
            pool.terminate()
            pool.join()
            raise
        else:
            pool.close()
            pool.join()
    seen: dict[str, int] = {}
    for e in entries:
        if e.name in seen:
            raise SpecError(f"two packages produce the footprint '{e.name}'", file=lib.file,
                            package=f"section '{lib.sections[e.section].title}'", field="name")
        seen[e.name] = e.index
    return entries


# ----------------------------------------------------------------------------------------------
# renders, catalogue, provenance
def _hide_fields(text: str) -> str:
    """A render copy of a footprint: Reference / Value fields hidden (thumbnails show the part)."""
    return re.sub(r'(\(property "(?:Reference|Value)" "[^"]*"\s*\(at [^)]*\))', r"\1 (hide yes)", text)


def compact_svg(text: str) -> str:
    """Deterministic, lossless compaction of a kicad-cli SVG.

    Drops the ``<title>`` (it carries the export date), collapses whitespace inside tags and
    merges consecutive groups with the same style (KiCad opens one group per pad).
    """
    text = re.sub(r"<title>.*?</title>", "", text, flags=re.S)
    tokens = [re.sub(r"\s+", " ", t).strip() for t in re.split(r"(?=<)", text)]
    out: list[str] = []
    stack: list[str] = []
    last_closed: str | None = None
    for tok in tokens:
        if not tok:
            continue
        if tok.startswith("<g ") or tok == "<g>":
            if out and out[-1] == "</g>" and last_closed == tok:
                out.pop()
            else:
                out.append(tok)
            stack.append(tok)
            last_closed = None
        elif tok == "</g>":
            last_closed = stack.pop() if stack else None
            out.append(tok)
        else:
            out.append(tok)
            last_closed = None
    return "\n".join(out) + "\n"


class Renderer:
    """One background ``kicad-cli fp export svg`` call over the library (compacted SVGs).

    Started right after the build so that KiCad plots while this process writes the library.
    Each SVG ends with a comment naming the SHA-256 of what was plotted and the KiCad release;
    an existing render (``reuse``: name → SVG text) with the same stamp is kept, so a re-export
    plots only the footprints that changed (none: no KiCad call at all).
    """

    def __init__(self, entries: list[Entry], kicad_cli: str, *, lib_name: str,
                 reuse: dict[str, str] | None = None) -> None:
        self.version = kicad_version(kicad_cli)
        self._svgs: dict[str, str] = {}
        self._stamps: dict[str, str] = {}
        todo = []
        for e in entries:
            text = _hide_fields(e.kicad_mod)
            stamp = (f"<!-- kisubstrate render of sha256:{hashlib.sha256(text.encode()).hexdigest()} "
                     f"with KiCad {self.version} -->\n")
            old = (reuse or {}).get(e.name)
            if old is not None and old.endswith(stamp):
                self._svgs[e.name] = old
            else:
                self._stamps[e.name] = stamp
                todo.append((e.name, text))
        self.rendered = len(todo)
        self._tmp = tempfile.TemporaryDirectory(prefix="kisubstrate-render-")
        self._out = Path(self._tmp.name) / "svg"
        self._proc = None
        if todo:
            pretty = Path(self._tmp.name) / f"{lib_name}.pretty"
            pretty.mkdir()
            self._out.mkdir()  # KiCad 10's fp export svg no longer creates it (and still exits 0)
            for name, text in todo:
                (pretty / f"{name}.kicad_mod").write_text(text, encoding="utf-8")
            # the built-in theme: a user's colour settings must not change the committed renders
            self._proc = subprocess.Popen([kicad_cli, "fp", "export", "svg", str(pretty), "-o", str(self._out),
                                           "-l", RENDER_LAYERS, "-t", "_builtin_default"],
                                          stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)

    def result(self) -> dict[str, str]:
        """Wait for KiCad; footprint name → compacted, stamped SVG text.

        Raises:
            SpecError: kicad-cli failed or left a footprint out (even with exit code 0, as KiCad 10 does
                when it cannot write), with its message (field ``renders``; exit code 2).
        """
        try:
            err = ""
            if self._proc is not None:
                _, err = self._proc.communicate()
                if self._proc.returncode != 0:
                    raise SpecError(f"kicad-cli fp export svg failed ({self._proc.returncode}): {err[-500:]}",
                                    field="renders")
            for name, stamp in self._stamps.items():
                f = self._out / f"{name}.svg"
                if not f.is_file() or not f.stat().st_size:  # never trust kicad-cli's exit code alone
                    detail = " ".join((err or "").split())[-300:] or "no message"
                    raise SpecError(f"kicad-cli fp export svg wrote no render for {name} (exit 0): {detail}",
                                    field="renders")
                self._svgs[name] = compact_svg(f.read_text(encoding="utf-8")) + stamp
            return self._svgs
        finally:
            self._tmp.cleanup()

    def cancel(self) -> None:
        """Stop KiCad (on an error elsewhere) and remove the scratch folder."""
        if self._proc is not None and self._proc.poll() is None:
            self._proc.kill()
            self._proc.wait()
        self._tmp.cleanup()


def kicad_version(kicad_cli: str) -> str:
    """``kicad-cli version``, e.g. ``9.0.8`` (renders may differ between KiCad releases)."""
    r = subprocess.run([kicad_cli, "version"], capture_output=True, text=True)
    return r.stdout.strip() or "unknown"


PROVENANCE_FIELDS = ["footprint", "family", "item", "value_mm", "rule", "factor", "source", "text"]


def provenance_csv(entries: Iterable[Entry]) -> str:
    """The provenance table as CSV (LF line ends)."""
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=PROVENANCE_FIELDS, lineterminator="\n")
    w.writeheader()
    for e in entries:
        for row in e.provenance:
            w.writerow(row)
    return buf.getvalue()


def _md(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


RENDER_NOTE = "Renders: `kicad-cli fp export svg` (KiCad {version}, built-in theme)"


def catalogue_md(lib: LibraryDef, entries: list[Entry], *, renders: bool, models: str | None = None,
                 kicad: str = "", target: int = 9) -> str:
    """The catalogue page (GitHub-flavoured Markdown with inline SVG images).

    Args:
        lib: the library definition.
        entries: the built footprints.
        renders: whether the renders exist (the table shows them).
        models: model mode overriding the definition's.
        kicad: the KiCad release that made the renders (e.g. ``9.0.8``).
        target: the KiCad release (9 or 10) the footprints are written for (its path variables).
    """
    from kisubstrate import __version__
    from kisubstrate.kicad.step import model_reference

    step = any(".step" in e.models for e in entries)  # what the workers wrote, not what this process can import
    by_section: dict[int, list[Entry]] = {}
    for e in entries:
        by_section.setdefault(e.section, []).append(e)
    lines = [f"# {lib.name}: footprint catalogue", ""]
    if lib.description:
        lines += [lib.description, ""]
    lines += [f"{len(entries)} footprints, {sum(e.pads for e in entries)} pads, generated by kisubstrate "
              f"{__version__} from `{Path(lib.file).name or 'library.yaml'}`. Every footprint passed its rule "
              "profile before it was written. 3D models: "
              f"`{model_reference(lib.model_path('<name>', models, target), step=step)}`"
              f"{' with its VRML twin `.wrl`' if step else ''}. Land provenance for every footprint: "
              "[provenance.csv](provenance.csv) and the last column below.", ""]
    with_symbol = [e.name for e in entries if e.symbol is not None]
    if with_symbol:
        lines += [f"Schematic symbols: {len(with_symbol)} package(s) with a ball map have a symbol in "
                  f"`{lib.name}.kicad_sym` (one pin per ball, named by its net; the row to add: "
                  "[sym-lib-table](sym-lib-table)): " + ", ".join(f"`{n}`" for n in with_symbol) + ".", ""]
    if renders:
        lines += [RENDER_NOTE.format(version=kicad) + f", layers {RENDER_LAYERS.replace(',', ', ')}; "
                  "Reference and Value hidden.", ""]
    lines += ["## Contents", ""]
    for k, sec in enumerate(lib.sections):
        if k in by_section:
            anchor = re.sub(r"[^a-z0-9 -]", "", sec.title.lower()).replace(" ", "-")
            lines.append(f"- [{sec.title}](#{anchor}) ({len(by_section[k])})")
    lines.append("")
    for k, sec in enumerate(lib.sections):
        group = by_section.get(k)
        if not group:
            continue
        lines += [f"## {sec.title}", ""]
        if sec.note:
            lines += [sec.note, ""]
        head = ("| Render | Footprint | Pads | Body (mm) | Pitch (mm) | Land (mm) | Rules | Provenance |",
                "|---|---|---|---|---|---|---|---|")
        lines += list(head)
        for e in group:
            s = e.summary
            img = f'<img src="renders/{e.name}.svg" width="160" alt="{e.name}">' if renders else ""
            prov = "<br>".join(_md(f"**{r['item']}**: {r['text']}") for r in e.provenance)
            lines.append(f"| {img} | `{e.name}` | {e.pads} | {s['body']} | {s['pitch']} | {s['land']} | "
                         f"{s['rules']} | {prov} |")
        lines.append("")
    return "\n".join(lines)


def _descr(lib: LibraryDef) -> str:
    return (lib.description.splitlines() or [""])[0].replace('"', "'")[:200]


def library_symbols(lib: LibraryDef, entries: Iterable[Entry], *, pcm: bool = False) -> str | None:
    """The ``<Lib>.kicad_sym`` text of the entries with a symbol (ball map with nets), or None if none has one.

    Args:
        lib: the library definition (its name is the symbols' footprint library).
        entries: the built footprints.
        pcm: name the footprint library as KiCad's PCM adds it (``PCM_<Lib>``) in the Footprint fields.
    """
    from dataclasses import replace

    from kisubstrate.api.symbols import symbol_library_text

    nick = f"PCM_{lib.name}" if pcm else lib.name
    return symbol_library_text(replace(e.symbol, footprint=f"{nick}:{e.name}") for e in entries
                               if e.symbol is not None)


def fp_lib_table(lib: LibraryDef, *, models: str | None = None, kicad: int = 9) -> str:
    """An ``fp-lib-table`` holding the library's row (paste the row into an existing table).

    Args:
        lib: the library definition.
        models: model mode overriding the definition's (the row's path follows it).
        kicad: the KiCad release (9 or 10) whose path variables the row uses.
    """
    descr = _descr(lib)
    return ("(fp_lib_table\n\t(version 7)\n"
            f'\t(lib (name "{lib.name}")(type "KiCad")(uri "{lib.lib_uri(models, kicad)}")(options "")'
            f'(descr "{descr}"))\n)\n')


# ----------------------------------------------------------------------------------------------
# export
@dataclass
class ExportResult:
    """What :func:`export_library` did, with timings (s)."""

    entries: list[Entry]
    files: list[Path]
    changed: list[Path]
    removed: list[Path]
    seconds: dict[str, float]
    violations: list[Entry]
    rendered: int = 0  # footprints plotted by KiCad (the others' renders were up to date)

    @property
    def total(self) -> float:
        """Whole-export wall time (s)."""
        return sum(self.seconds.values())


def _prune(out: Path, keep: set[Path], folders: list[Path]) -> list[Path]:
    """Delete files kisubstrate wrote earlier into ``folders`` that the library no longer has."""
    from kisubstrate.api.outputs import MANIFEST, atomic_write

    removed = []
    for folder in folders:
        man_path = folder / MANIFEST
        try:
            man = json.loads(man_path.read_text())
        except (OSError, ValueError):
            continue
        stale = sorted(n for n in man if (folder / n) not in keep)
        for name in stale:
            p = folder / name
            if p.exists() and hashlib_sha(p) == man[name]:
                p.unlink()
                removed.append(p)
            man.pop(name)
        if stale:
            atomic_write(man_path, (json.dumps(dict(sorted(man.items())), indent=1) + "\n").encode())
    return removed


def hashlib_sha(path: Path) -> str:
    """SHA-256 of a file (hex)."""
    import hashlib

    return hashlib.sha256(path.read_bytes()).hexdigest()


def export_library(spec: str | Path, output: str | Path, *, models: str | None = None,
                   renders: bool = True, jobs: int | None = None, force: bool = False,
                   check: bool = True, kicad_cli: str | None = None,
                   progress: bool = False, pcm: bool = False, kicad: int = 9) -> ExportResult:
    """Build a library definition and write the library folder (see the module docstring).

    Nothing is written when a footprint violates its rules (``check``) or the input is invalid.

    Args:
        spec: the library definition YAML file (e.g. ``footprints/library.yaml``).
        output: the library folder to write (created if missing).
        models: 3D model path mode (``project``, ``pcm``, ``stock`` or a ``{lib}``/``{name}`` template).
        renders: run ``kicad-cli fp export svg`` (needs KiCad; skipped with ``False``).
        jobs: worker processes (default: every core).
        force: overwrite files that were changed since kisubstrate wrote them (or that it did not
            write); without it such a conflict writes nothing.
        check: refuse to write when a footprint violates its rule profile (the offenders are returned
            in ``violations``); False writes them anyway.
        kicad_cli: the ``kicad-cli`` executable for the renders (default: found on ``PATH``).
        progress: show a rich progress bar on stderr.
        pcm: write the PCM archive tree instead (``footprints/<Lib>.pretty``,
            ``3dmodels/<Lib>.3dshapes``, ``symbols/<Lib>.kicad_sym`` naming ``PCM_<Lib>`` footprints,
            models ``pcm`` unless given, no renders / tables);
            the packager adds ``metadata.json`` and ``resources/`` and zips it (leaving out the
            ``.kisubstrate-manifest.json`` files).
        kicad: the KiCad release the footprints are written for: 9 (format 20241229) or 10 (format
            20260206; the model paths and the fp-lib-table row use its path variables).

    Raises:
        SpecError: invalid definition, no kicad-cli while ``renders`` is on, or kicad-cli failed or
            wrote no render for a footprint (its exit code alone is not trusted).
    """
    out = Path(output)
    kicad = check_kicad(kicad)
    lib = LibraryDef.load(spec)
    if pcm:
        models, renders = models or "pcm", False
    if models is not None:
        lib.model_path("x", models)  # validates the mode
    seconds: dict[str, float] = {}
    t0 = time.perf_counter()
    if progress:
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
        )

        with Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                      TimeElapsedColumn(), console=Console(stderr=True), transient=False) as bar:
            task = bar.add_task(f"building {lib.name}", total=len(lib.packages))
            entries = build_library(lib, jobs=jobs, models=models,
                                    progress=lambda n: bar.advance(task, n), kicad=kicad)
    else:
        entries = build_library(lib, jobs=jobs, models=models, kicad=kicad)
    seconds["build"] = time.perf_counter() - t0
    bad = [e for e in entries if not e.ok]
    if bad and check:
        return ExportResult(entries, [], [], [], seconds, bad)
    renderer = None
    t0 = time.perf_counter()
    if renders:
        cli = kicad_cli or shutil.which("kicad-cli")
        if not cli:
            raise SpecError("kicad-cli not found: install KiCad 9 or pass --no-renders", field="renders")
        reuse = {}
        rdir0 = out / "renders"
        if rdir0.is_dir():
            for e in entries:
                f = rdir0 / f"{e.name}.svg"
                if f.is_file():
                    reuse[e.name] = f.read_text(encoding="utf-8")
        renderer = Renderer(entries, cli, lib_name=lib.name, reuse=reuse)
    try:
        return _write_library(lib, entries, out, renderer, seconds, t0, models=models, renders=renders,
                              force=force, pcm=pcm, kicad=kicad)
    except BaseException:  # Ctrl-C or an error: stop KiCad, remove its scratch folder
        if renderer:
            renderer.cancel()
        raise


def _write_library(lib: LibraryDef, entries: list[Entry], out: Path, renderer: "Renderer | None",
                   seconds: dict[str, float], t0: float, *, models: str | None, renders: bool, force: bool,
                   pcm: bool, kicad: int) -> ExportResult:
    """The write phase of :func:`export_library` (footprints, models, tables, then the renders; ``t0``: start)."""
    from kisubstrate.api.outputs import OutputPlan

    # footprints, models and tables are written while KiCad renders
    plan = OutputPlan()
    pretty, shapes, rdir = out / f"{lib.name}.pretty", out / f"{lib.name}.3dshapes", out / "renders"
    if pcm:
        pretty, shapes = out / "footprints" / pretty.name, out / "3dmodels" / shapes.name
    for e in entries:
        plan.add(pretty / f"{e.name}.kicad_mod", e.kicad_mod)
        for suffix, data in e.models.items():  # footprints sharing a model write the same bytes
            plan.add(shapes / f"{e.model}{suffix}", data)
    symbols = library_symbols(lib, entries, pcm=pcm)
    if symbols is not None:
        plan.add((out / "symbols" if pcm else out) / f"{lib.name}.kicad_sym", symbols)
    if not pcm:
        plan.add(out / "fp-lib-table", fp_lib_table(lib, models=models, kicad=kicad))
        if symbols is not None:
            plan.add(out / "sym-lib-table", sym_lib_table(lib.name, lib.sym_uri(models, kicad), _descr(lib)))
        plan.add(out / "provenance.csv", provenance_csv(entries))
    changed = plan.commit(force=force)
    seconds["write"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    second = OutputPlan()
    version = renderer.version if renderer else ""
    if renderer:
        for name, svg in renderer.result().items():
            second.add(rdir / f"{name}.svg", svg)
        seconds["render_wait"] = time.perf_counter() - t0
    if not pcm:
        second.add(out / "catalogue.md", catalogue_md(lib, entries, renders=renders, models=models, kicad=version,
                                                           target=kicad))
    changed += second.commit(force=force)
    plan.files.update(second.files)
    removed = _prune(out, set(plan.files), [pretty, shapes] + ([rdir] if renders else []))
    seconds["write"] += time.perf_counter() - t0 - seconds.get("render_wait", 0.0)
    return ExportResult(entries, sorted(plan.files), changed, removed, seconds, [],
                        renderer.rendered if renderer else 0)


# ----------------------------------------------------------------------------------------------
