"""Rule reports of everything a spec generates, without writing anything (``kisubstrate check``).

Example:
    >>> from kisubstrate.api.specs import load_specs
    >>> from kisubstrate.model.examples import examples_dir
    >>> [r.ok for r in check_spec(load_specs([examples_dir() / "bga.yaml"])[0].spec)]
    [True]
"""

from __future__ import annotations

from typing import Any

from kisubstrate.api.footprint import build_footprints
from kisubstrate.api.specs import validate_spec
from kisubstrate.api.substrate import build_substrate, has_substrate
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
