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
    located,
    raise_input,
    report_out,
    run_guarded,
    write_checked,
)


@click.command("panel")
@click.argument("specs", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("-o", "--output", type=click.Path(path_type=Path), required=True, help="folder for the panels")
@click.option("--rows", type=click.IntRange(1, 50), default=2, show_default=True,
              help="units down, 1 .. 50 (rows x columns >= 2)")
@click.option("--columns", type=click.IntRange(1, 50), default=2, show_default=True,
              help="units across, 1 .. 50 (rows 1 = a strip)")
@click.option("--street", type=float, default=0.3, show_default=True, help="saw street (mm)")
@click.option("--rail", type=float, default=5.0, show_default=True, help="frame rail width (mm)")
@click.option("--tooling-hole", type=float, default=2.0, show_default=True, help="tooling hole diameter (mm)")
@click.option("--fiducial", type=float, default=1.0, show_default=True, help="fiducial copper diameter (mm)")
@click.option("--bar-width", type=float, default=0.1, show_default=True, help="plating bar width (mm)")
@click.option("--etch-back", type=float, default=None, help="tail-to-bar gap (mm; default the clearance)")
@click.option("--plating/--no-plating", default=True, help="plating bus and tails")
@click.option("--no-check", is_flag=True, help="write a panel despite rule violations (prints a warning)")
@click.option("--force", is_flag=True, help="overwrite files changed since kisubstrate wrote them")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", help="report format")
def panel_command(specs, output, rows, columns, street, rail, tooling_hole, fiducial, bar_width, etch_back,
                  plating, no_check, force, fmt) -> None:
    """Step the substrate board of every package in SPECS into a strip / panel (one KiCad project each)."""

    def body() -> int:
        from kisubstrate.api.panel import panel_files, panel_of_spec
        from kisubstrate.api.specs import load_specs
        from kisubstrate.api.substrate import has_substrate

        loaded = [ls for ls in load_specs(specs) if has_substrate(ls.spec)]
        if not loaded:
            raise_input("no substrate families in the given specs")
        built = []
        for ls in loaded:
            panel, report = located(ls, lambda ls=ls: panel_of_spec(
                ls.spec, rows=rows, columns=columns, street=street, rail=rail, tooling_hole=tooling_hole,
                fiducial=fiducial, bar_width=bar_width, etch_back=etch_back, plating=plating))
            if not panel.units:  # the unit board itself fails: there is no panel to write, even with --no-check
                report_out([report], fmt)
                click.echo(f"the unit board of '{ls.label}' violates its rules; no panel built", err=True)
                return EXIT_VIOLATIONS
            built.append((ls, panel, report))

        def files():
            for ls, panel, _ in built:
                for name, text in panel_files(panel, ls.spec).items():
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
