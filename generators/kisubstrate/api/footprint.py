"""Footprints through the library API: build, check, and the files of a ``.pretty`` library.

Shared by ``kisubstrate footprint``, the KiCad plugin, the library export and the demo.

Example:
    >>> result = generate_footprint({"family": "lga", "body": [4, 4], "pitch": 0.65, "layout": [5, 5],
    ...                              "pad_diameter": 0.35})
    >>> result.geometry.name, result.report.ok
    ('LGA-25_4.0x4.0mm_Layout5x5_P0.65mm_Pad0.35mm', True)
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable

from kisubstrate.api.specs import validate_spec
from kisubstrate.families import registry
from kisubstrate.geometry.ir import FootprintGeom
from kisubstrate.kicad.footprint import write_footprint
from kisubstrate.kicad.paths import model_path
from kisubstrate.kicad.step import model_files, model_name, model_reference
from kisubstrate.kicad.target import check_kicad
from kisubstrate.model.errors import SpecError
from kisubstrate.rules.footprint import check_footprint
from kisubstrate.rules.report import Report


@dataclass
class FootprintResult:
    """A built footprint, its check report and where its spec came from."""

    spec: Any
    geometry: FootprintGeom
    report: Report
    source: str = ""

    def text(self, **kwargs: Any) -> str:
        """The ``.kicad_mod`` text (see :func:`kisubstrate.kicad.footprint.write_footprint`)."""
        return write_footprint(self.geometry, **kwargs)


def build_footprints(spec: Any, *, check: bool = True, source: str = "") -> list[FootprintResult]:
    """Build (and check) every footprint a spec defines.

    Args:
        spec: a package spec: a dict (validated here; relative paths resolve from the working
            folder) or a validated spec model.
        check: run the footprint rule checks; False gives each result an empty report naming the
            profile.
        source: where the spec came from (e.g. its YAML file), kept on each result for messages.

    Raises:
        SpecError: the dict is not a valid spec (with the field and reason).

    Example:
        >>> from kisubstrate.families.registry import example_spec
        >>> [(r.geometry.name.split("_")[-1], r.report.ok) for r in build_footprints(example_spec("pop"))]
        [('Footprint', True), ('PoP-Top-Lands', True)]
    """
    spec = validate_spec(spec)
    fam = registry.get(spec.family)
    if fam.footprint is None:
        return []
    results = []
    for geom in fam.footprint(spec):
        rules = spec.rule_set()
        report = check_footprint(geom, rules) if check else Report(package=geom.name, profile=rules.name)
        results.append(FootprintResult(spec=spec, geometry=geom, report=report, source=source))
    return results


def generate_footprint(spec: Any, *, check: bool = True) -> FootprintResult:
    """Build and check the (first) footprint of one spec (dict or model)."""
    results = build_footprints(spec, check=check)
    if not results:
        raise SpecError(f"family '{spec.get('family') if isinstance(spec, dict) else spec.family}' "
                        "has no footprint", field="family")
    return results[0]


def footprint_files(results: Iterable[Any], pretty: str | Path, *, models: str | None = "project",
                    kicad: int = 9, step: bool | None = None) -> list[tuple[Path, str]]:
    """(path, text) of built footprints in a ``.pretty`` folder, each with its 3D models.

    The models (VRML, and STEP where OpenCascade is installed: :mod:`kisubstrate.kicad.step`) go
    into the sibling ``<Lib>.3dshapes`` folder, named by :func:`~kisubstrate.kicad.step.model_name`
    (footprints differing only by ``_ThermalVias`` share them); each footprint names its model with
    the library export's path modes (``project``: ``${KIPRJMOD}/<Lib>.3dshapes/<model>.step``, or
    ``.wrl`` without STEP); ``models=None`` writes no models and no ``(model …)`` line. Used by
    ``kisubstrate footprint`` and the plugin's "save to library", so both write the same bytes.

    Args:
        results: :class:`FootprintResult` objects (their ``spec`` gives the pin length).
        pretty: the library folder, ``…/<Lib>.pretty``.
        models: ``project``, ``pcm``, ``stock``, a template with ``{lib}`` and ``{name}``, or None.
        kicad: the KiCad release to write for: 9 (format 20241229) or 10 (format 20260206).
        step: write STEP models; None: where OpenCascade is installed.

    Example:
        >>> res = build_footprints({"family": "lga", "body": [3, 3], "pitch": 1, "layout": [2, 2],
        ...                         "pad_diameter": 0.5})
        >>> [(p.parent.name, p.suffix) for p, _ in footprint_files(res, "out/Mine.pretty", step=False)]
        [('Mine.pretty', '.kicad_mod'), ('Mine.3dshapes', '.wrl')]
    """
    pretty = Path(pretty)
    lib = pretty.stem
    kicad = check_kicad(kicad)
    if models is not None:
        model_path(lib, "x", models)  # validates the mode (SpecError, field 'models')
    shapes = pretty.parent / f"{pretty.stem}.3dshapes"
    out: list[tuple[Path, str]] = []
    written: set[Path] = set()
    for r in results:
        name = r.geometry.name
        if models is None:
            out.append((pretty / f"{name}.kicad_mod", write_footprint(r.geometry, model_path="", kicad=kicad)))
            continue
        stem = model_name(name)
        path = model_reference(model_path(lib, stem, models, kicad=kicad), step=step)
        out.append((pretty / f"{name}.kicad_mod", write_footprint(r.geometry, model_path=path, kicad=kicad)))
        if shapes / stem in written:  # shared with a footprint before (e.g. its _ThermalVias twin)
            continue
        written.add(shapes / stem)
        pin = float(getattr(r.spec, "pin_length", 3.0) or 3.0)
        for suffix, data in model_files(r.geometry, pin_length=pin, step=step).items():
            out.append((shapes / f"{stem}{suffix}", data))
    return out
