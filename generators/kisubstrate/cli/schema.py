"""``kisubstrate schema NAME``: the JSON schema of a family's spec, of the panel options or of a library definition.

The schemas are for editors and forms.

Example::

    kisubstrate schema bga        # a package spec (any family of `kisubstrate list`)
    kisubstrate schema panel      # the options of `kisubstrate panel`
    kisubstrate schema library    # a library definition (footprints/library.yaml)
"""

from __future__ import annotations

import json
import sys

import click

from kisubstrate.cli.common import EXIT_OK, raise_input, run_guarded

INPUTS = ("library", "panel")
"""Schema names that are not families: the inputs of ``kisubstrate library`` and ``kisubstrate panel``."""


def _input_model(name: str):
    """The model of a non-family input (``library`` or ``panel``)."""
    if name == "panel":
        from kisubstrate.model.panel import PanelOptions

        return PanelOptions
    from kisubstrate.model.library import LibraryDefinition

    return LibraryDefinition


@click.command()
@click.argument("family")
def schema(family: str) -> None:
    """Print the JSON schema of a family's spec, of the 'panel' options or of a 'library' definition."""

    def body() -> int:
        from kisubstrate.families.registry import families

        if family in INPUTS:
            model = _input_model(family)
        else:
            fams = families()
            if family not in fams:
                raise_input(f"unknown family '{family}'; known: {', '.join(sorted(fams))} "
                            f"(or {' / '.join(INPUTS)})")
            model = fams[family].spec
        click.echo(json.dumps(model.model_json_schema(), indent=2))
        return EXIT_OK

    sys.exit(run_guarded(body))
