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


def check_substrates_against(spec: Any, profile: str) -> list[Report]:
    """The report of a spec's substrate board built and checked with another substrate rule profile.

    The board is rebuilt with ``profile`` in place of the spec's ``rules`` (trace widths and via
    sizes a spec leaves to its profile come from the new one, as a fab change would make them).

    Args:
        spec: a validated spec model; a family without a substrate board gives no report.
        profile: a substrate profile name (``substrate-hdi``) or an absolute YAML path.

    Example:
        >>> from kisubstrate.families.registry import example_spec
        >>> [r.profile for r in check_substrates_against(example_spec("wafer_stack"), "substrate-hdi")]
        ['substrate-hdi']
    """
    spec = validate_spec(spec)
    if not has_substrate(spec):
        return []
    return [build_substrate(spec.model_copy(update={"rules": profile})).report]
