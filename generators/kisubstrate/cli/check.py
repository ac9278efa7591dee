"""``kisubstrate check``: rule reports of specs, nothing written.

Example::

    kisubstrate check footprints/examples/*.yaml --format json
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from kisubstrate.cli.common import (
    EXIT_OK,
    EXIT_VIOLATIONS,
    located,
    raise_input,
    report_out,
    run_guarded,
)


@click.command()
@click.argument("specs", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", help="report format")
@click.option("--rules", "profile", default=None, metavar="PROFILE",
              help="check against this rule profile (shipped name or YAML path) instead of each spec's own, "
                   "e.g. to see whether a design also fits another fab: a footprint profile checks every "
                   "footprint, a substrate profile (substrate-*) every substrate board")
def check(specs: tuple[Path, ...], fmt: str, profile: str | None) -> None:
    """Check SPECS against their rule profiles (or --rules PROFILE) without writing anything."""

    def body() -> int:
        from kisubstrate.api.check import check_spec
        from kisubstrate.api.specs import load_specs

        loaded = load_specs(specs)
        if profile is not None:
            return _check_against(loaded, profile, fmt)
        reports = [rep for ls in loaded for rep in located(ls, lambda ls=ls: check_spec(ls.spec))]
        report_out(reports, fmt)
        return EXIT_OK if all(r.ok for r in reports) else EXIT_VIOLATIONS

    sys.exit(run_guarded(body))


def _check_against(loaded: list, profile: str, fmt: str) -> int:
    """``check --rules PROFILE``: every footprint (footprint profile) or substrate (substrate profile) of ``loaded``."""
    from kisubstrate.api.check import check_substrates_against, profile_kind
    from kisubstrate.api.footprint import build_footprints
    from kisubstrate.model.rules import load_rules
    from kisubstrate.rules.footprint import check_footprint

    kind, profile = profile_kind(profile)
    reports = []
    if kind == "substrate":
        for ls in loaded:
            reports += located(ls, lambda ls=ls: check_substrates_against(ls.spec, profile))
        if not reports:
            raise_input(f"no substrate families in the given specs ('{profile}' is a substrate rule profile; "
                        "footprint profiles check footprints)")
    else:
        rules = load_rules(profile)
        for ls in loaded:
            for r in located(ls, lambda ls=ls: build_footprints(ls.spec, source=ls.file, check=False)):
                reports.append(check_footprint(r.geometry, rules))
        if not reports:
            raise_input("no footprint families in the given specs")
    report_out(reports, fmt)
    return EXIT_OK if all(r.ok for r in reports) else EXIT_VIOLATIONS
