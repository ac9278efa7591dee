"""``kisubstrate panel``: the front end of :mod:`kisubstrate.api.panel`.

Example::

    kisubstrate panel footprints/examples/leadframe.yaml --rows 1 --columns 3 -o out/strips
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from kisubstrate.cli.common import (
    EXIT_VIOLATIONS,
    kicad_option,
    located,
    model_options,
    model_values,
    raise_input,
    report_out,
    resolve_kicad,
    run_guarded,
    write_checked,
)
from kisubstrate.model.panel import PanelOptions


@click.command("panel")
@click.argument("specs", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("-o", "--output", type=click.Path(path_type=Path), required=True, help="folder for the panels")
@model_options(PanelOptions)
@click.option("--no-check", is_flag=True, help="write a panel despite rule violations (prints a warning)")
@click.option("--force", is_flag=True, help="overwrite files changed since kisubstrate wrote them")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", help="report format")
@kicad_option
def panel_command(specs, output, no_check, force, fmt, kicad, **fields) -> None:
    """Step the substrate board of every package in SPECS into a strip / panel (one KiCad project each).

    Lengths in mm; `kisubstrate schema panel` prints the panel options as a JSON schema.
    """

    def body() -> int:
        from kisubstrate.api.panel import panel_files, panel_of_spec
        from kisubstrate.api.specs import load_specs
        from kisubstrate.api.substrate import has_substrate
        from kisubstrate.model.errors import SpecError
        from kisubstrate.model.loader import validate_model

        options = validate_model(PanelOptions, model_values(PanelOptions, fields))
        target = resolve_kicad(kicad)
        loaded = [ls for ls in load_specs(specs) if has_substrate(ls.spec)]
        if not loaded:
            raise_input("no substrate families in the given specs")
        if options.name and len(loaded) > 1:
            raise SpecError(f"--name names one panel but the specs hold {len(loaded)} substrate packages",
                            field="name")
        built = []
        for ls in loaded:
            panel, report = located(ls, lambda ls=ls: panel_of_spec(ls.spec, options))
            if not panel.units:  # the unit board itself fails: there is no panel to write, even with --no-check
                report_out([report], fmt)
                click.echo(f"the unit board of '{ls.label}' violates its rules; no panel built", err=True)
                return EXIT_VIOLATIONS
            built.append((ls, panel, report))

        def files():
            for ls, panel, _ in built:
                for name, text in panel_files(panel, ls.spec, kicad=target).items():
                    yield output / name, text

        def written():
            for _, panel, _ in built:
                g = panel.geom
                click.echo(f"wrote {output / (g.name + '.kicad_pcb')} ({panel.units} units, {panel.size[0]:g} x "
                           f"{panel.size[1]:g} mm, {len(g.nets) - 1} nets, {len(panel.tied)} plating tails per unit"
                           + (f", exposed net(s) without a path to the bus: {', '.join(panel.untied[:5])}"
                              + (" ..." if len(panel.untied) > 5 else "") if panel.untied else "") + ")")

        return write_checked([r for _, _, r in built], files, no_check=no_check, force=force, fmt=fmt,
                             noun="panel", written=written)

    sys.exit(run_guarded(body))
