"""Rule reports of everything a spec generates, without writing anything (``kisubstrate check``).

Example:
    >>> from kisubstrate.api.specs import load_specs
    >>> from kisubstrate.model.examples import examples_dir
    >>> [r.ok for r in check_spec(load_specs([examples_dir() / "bga.yaml"])[0].spec)]
    [True]
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from kisubstrate.api.footprint import build_footprints
from kisubstrate.api.specs import validate_spec
from kisubstrate.api.substrate import build_substrate, has_substrate
from kisubstrate.model.errors import SpecError
from kisubstrate.model.profiles import SUBSTRATE_PREFIX, Kind, load_profile, profile_path
from kisubstrate.model.rules import RuleSet
from kisubstrate.model.substrate import SubstrateRules
from kisubstrate.rules.report import Report


def check_spec(spec: Any) -> list[Report]:
    """Reports of every footprint and the substrate board (if the family has one) of a spec.

    Args:
        spec: a validated spec model or a spec dict with ``family``.
    """
    spec = validate_spec(spec)
    reports = [r.report for r in build_footprints(spec)]
    if has_substrate(spec):
        reports.append(build_substrate(spec).report)
    return reports


def check_substrates_against(spec: Any, profile: str) -> list[Report]:
    """The report of a spec's substrate board built and checked with another substrate rule profile.

    The board is rebuilt with ``profile`` in place of the spec's ``rules`` (trace widths and via
    sizes a spec leaves to its profile come from the new one, as a fab change would make them).

    Args:
        spec: a validated spec model; a family without a substrate board gives no report.
        profile: a substrate profile name (``substrate-hdi``) or an absolute YAML path.

    Example:
        >>> from kisubstrate.families.registry import example_spec
        >>> [(r.profile, r.ok) for r in check_substrates_against(example_spec("pop"), "substrate-hdi")]
        [('substrate-hdi', False)]
    """
    spec = validate_spec(spec)
    if not has_substrate(spec):
        return []
    return [build_substrate(spec.model_copy(update={"rules": profile})).report]


def profile_kind(name_or_path: str) -> tuple[Kind, str]:
    """Which kind a profile is, and the name to load it by (a path made absolute).

    A shipped name is a substrate profile when it starts with ``substrate-``; a YAML file is the
    kind whose keys it validates against.

    Args:
        name_or_path: shipped name or YAML path (relative to the working folder).

    Raises:
        SpecError: unknown name, unreadable file, or a file that is neither kind (field ``rules``).

    Example:
        >>> profile_kind("substrate-hdi"), profile_kind("hdi-fine")
        (('substrate', 'substrate-hdi'), ('footprint', 'hdi-fine'))
    """
    candidate = Path(name_or_path)
    if not (candidate.suffix in (".yaml", ".yml") or candidate.is_file()):
        kind: Kind = "substrate" if name_or_path.startswith(SUBSTRATE_PREFIX) else "footprint"
        profile_path(kind, name_or_path)  # raises for an unknown name
        return kind, name_or_path
    where = str(candidate.resolve())
    try:
        load_profile(SubstrateRules, "substrate", where)
        return "substrate", where
    except SpecError:
        load_profile(RuleSet, "footprint", where)  # neither kind: the footprint profile's message
        return "footprint", where
