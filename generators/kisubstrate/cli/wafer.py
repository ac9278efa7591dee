"""``kisubstrate wafer``: the front end of :mod:`kisubstrate.api.wafer`.

Example::

    kisubstrate wafer footprints/examples/wafer_stack.yaml -o out/wafers
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from kisubstrate.cli.common import EXIT_OK, kicad_option, located, raise_input, resolve_kicad, run_guarded


@click.command("wafer")
@click.argument("specs", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("-o", "--output", type=click.Path(path_type=Path), required=True, help="folder for the wafer maps")
@click.option("--force", is_flag=True, help="overwrite files changed since kisubstrate wrote them")
@kicad_option
def wafer_command(specs: tuple[Path, ...], output: Path, force: bool, kicad: str | None) -> None:
    """Write the wafer map (KiCad board + SVG, count of whole sites) of every wafer_stack package of SPECS."""

    def body() -> int:
        from kisubstrate.api.outputs import OutputPlan
        from kisubstrate.api.specs import load_specs
        from kisubstrate.api.wafer import wafer_files
        from kisubstrate.families.wafer_stack import spec_wafer_map

        target = resolve_kicad(kicad)
        loaded = [ls for ls in load_specs(specs) if ls.spec.family == "wafer_stack"]
        if not loaded:
            raise_input("no wafer_stack packages in the given specs")
        plan = OutputPlan()
        lines = []
        for ls in loaded:
            for name, text in located(ls, lambda ls=ls: wafer_files(ls.spec, kicad=target)).items():
                plan.add(output / name, text)
            m = spec_wafer_map(ls.spec)
            lines.append(f"{ls.spec.resolved_name}: {m.whole} whole sites on a {ls.spec.wafer.diameter} mm wafer "
                         f"(pitch {m.pitch[0]:g} x {m.pitch[1]:g} mm)")
        plan.commit(force=force)
        for line in lines:
            click.echo(line)
        return EXIT_OK

    sys.exit(run_guarded(body))
