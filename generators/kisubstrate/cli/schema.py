"""``kisubstrate schema FAMILY``: the JSON schema of a family's spec (for editors and forms).
"""

from __future__ import annotations

import json
import sys

import click

from kisubstrate.cli.common import EXIT_OK, raise_input, run_guarded


@click.command()
@click.argument("family")
def schema(family: str) -> None:
    """Print the JSON schema of a family's spec (for editors and forms)."""

    def body() -> int:
        from kisubstrate.families.registry import families

        fams = families()
        if family not in fams:
            raise_input(f"unknown family '{family}'; known: {', '.join(sorted(fams))}")
        click.echo(json.dumps(fams[family].spec.model_json_schema(), indent=2))
        return EXIT_OK

    sys.exit(run_guarded(body))
