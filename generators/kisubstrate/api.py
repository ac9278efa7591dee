"""The library API shared by the CLI, the KiCad plugin and the library export.

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

from pydantic import ValidationError

from kisubstrate.families import registry
from kisubstrate.geometry.ir import FootprintGeom
from kisubstrate.kicad.footprint import write_footprint
from kisubstrate.model.errors import SpecError
from kisubstrate.model.loader import LoadedSpec, describe_validation_error, load_spec_file
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


def load_specs(paths: Iterable[str | Path]) -> list[LoadedSpec]:
    """Load and validate spec files (raises :class:`SpecError` at the first mistake)."""
    fams = registry.families()
    out: list[LoadedSpec] = []
    names: dict[str, str] = {}
    for path in paths:
        for loaded in load_spec_file(path, lambda f: fams[f].spec, sorted(fams)):
            name = getattr(loaded.spec, "resolved_name", None)
            if name and name in names and names[name] != loaded.file:
                raise SpecError(f"name '{name}' is also produced by {names[name]}", file=loaded.file,
                                package=loaded.label, field="name")
            if name:
                names[name] = loaded.file
            out.append(loaded)
    return out


def validate_spec(data: dict | Any, *, base_dir: str = ".") -> Any:
    """Validate one package spec given as a dict (or return a model unchanged).

    Raises:
        SpecError: with the field and reason.
    """
    if not isinstance(data, dict):
        return data
    fams = registry.families()
    family = data.get("family")
    if family not in fams:
        raise SpecError(f"unknown family '{family}'; known: {', '.join(sorted(fams))}", field="family")
    model = fams[family].spec
    try:
        return model.model_validate(data, context={"base_dir": base_dir})
    except ValidationError as exc:
        field, msg = describe_validation_error(exc, model)
        raise SpecError(msg, field=field or None) from None


def build_footprints(spec: Any, *, check: bool = True, source: str = "") -> list[FootprintResult]:
    """Build (and check) every footprint a spec defines."""
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


def check_spec(spec: Any) -> list[Report]:
    """Rule reports of everything a spec generates (footprints; substrates once registered)."""
    spec = validate_spec(spec)
    fam = registry.get(spec.family)
    reports = [r.report for r in build_footprints(spec)]
    for hook in _CHECK_HOOKS:
        reports += hook(spec, fam)
    return reports


_CHECK_HOOKS: list = []  # extra checkers (e.g. substrate boards) registered by their modules
_DEMO_HOOKS: list = []  # extra demo writers: fn(loaded_spec, out_dir, plan) -> list[str]


def run_demo(examples: Path, output: Path, *, force: bool = False, echo=print) -> list[Path]:
    """Build every bundled example: footprints into ``output/kisubstrate_demo.pretty`` with their
    VRML models in ``output/kisubstrate_demo.3dshapes`` (+ hooks)."""
    from kisubstrate.io import OutputPlan
    from kisubstrate.library import footprint_files

    specs = sorted(Path(examples).glob("*.yaml"))
    loaded = load_specs(specs)
    plan = OutputPlan()
    lib = Path(output) / "kisubstrate_demo.pretty"
    lines = []
    for ls in loaded:
        for r in build_footprints(ls.spec, source=ls.file):
            if not r.report.ok:
                raise SpecError("bundled example violates its rules:\n" + r.report.text(), file=ls.file)
            path = lib / f"{r.geometry.name}.kicad_mod"
            for file, text in footprint_files([r], lib):  # footprint + VRML model, as `kisubstrate footprint`
                plan.add(file, text)
            lines.append(f"footprint {r.geometry.family:<10} {path}  ({r.geometry.pad_count} pads)")
        for hook in _DEMO_HOOKS:
            lines += hook(ls, Path(output), plan)
    plan.commit(force=force)
    for line in lines:
        echo(line)
    return sorted(plan.files)


from kisubstrate import substrate_api as _substrate  # noqa: E402  (substrate boards, issue 3)

_CHECK_HOOKS.append(_substrate.check_hook)
_DEMO_HOOKS.append(_substrate.demo_hook)

from kisubstrate import stack_api as _stack  # noqa: E402  (wafer maps, issue 5)

_DEMO_HOOKS.append(_stack.demo_hook)
