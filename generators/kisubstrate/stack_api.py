"""Issue-5 outputs beyond one substrate board: the wafer map of a ``wafer_stack`` (KiCad board + SVG).

``wafer_files(spec)`` gives the wafer-map project (``<name>_WaferMap.kicad_pcb`` /
``.kicad_pro``); :func:`demo_hook` adds it to ``kisubstrate demo`` next to the package
board, and ``kisubstrate wafer`` writes it for any spec (registered in ``cli.EXTRA_COMMANDS``).

Example:
    >>> from kisubstrate.api import load_specs
    >>> from kisubstrate.cli import examples_dir
    >>> spec = load_specs([examples_dir() / "wafer_stack.yaml"])[0].spec
    >>> [n.split("_WaferMap")[1] for n in sorted(wafer_files(spec))]
    ['.kicad_dru', '.kicad_pcb', '.kicad_pro', '.svg']
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from kisubstrate.families.wafer_stack import spec_wafer_map, wafer_board, wafer_stackup, wafer_svg
from kisubstrate.kicad.board import write_board
from kisubstrate.kicad.project import write_dru, write_project


def wafer_files(spec: Any) -> dict[str, str]:
    """File name → text of the wafer map of a ``wafer_stack`` spec (board, project, rules, SVG)."""
    m = spec_wafer_map(spec)
    g = wafer_board(spec, m)
    rules = spec.substrate_rules()
    n = g.name
    return {f"{n}.kicad_pcb": write_board(g, wafer_stackup()),
            f"{n}.kicad_pro": write_project(n, rules, width=spec.width(), micro=spec.micro()),
            f"{n}.kicad_dru": write_dru(rules, micro=spec.micro(), width=spec.width()),
            f"{n}.svg": wafer_svg(m, spec.resolved_name)}


def demo_hook(loaded: Any, out_dir: Path, plan: Any) -> list[str]:
    """``api._DEMO_HOOKS`` entry: the wafer map of a bundled ``wafer_stack`` example."""
    spec = loaded.spec
    if getattr(spec, "family", None) != "wafer_stack":
        return []
    folder = Path(out_dir) / "wafers"
    files = wafer_files(spec)
    for name, text in files.items():
        plan.add(folder / name, text)
    m = spec_wafer_map(spec)
    pcb = next(k for k in files if k.endswith(".kicad_pcb"))
    return [f"wafer map  {spec.wafer.diameter} mm  {folder / pcb}  ({m.whole} whole sites)"]


@click.command("wafer")
@click.argument("specs", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("-o", "--output", type=click.Path(path_type=Path), required=True, help="folder for the wafer maps")
@click.option("--force", is_flag=True, help="overwrite files changed since kisubstrate wrote them")
def wafer_command(specs: tuple[Path, ...], output: Path, force: bool) -> None:
    """Write the wafer map (KiCad board + SVG, count of whole sites) of every wafer_stack package of SPECS."""
    from kisubstrate.cli import EXIT_OK, raise_input, run_guarded

    def body() -> int:
        from kisubstrate.api import load_specs
        from kisubstrate.io import OutputPlan

        loaded = [ls for ls in load_specs(specs) if ls.spec.family == "wafer_stack"]
        if not loaded:
            raise_input("no wafer_stack packages in the given specs")
        plan = OutputPlan()
        lines = []
        for ls in loaded:
            for name, text in wafer_files(ls.spec).items():
                plan.add(output / name, text)
            m = spec_wafer_map(ls.spec)
            lines.append(f"{ls.spec.resolved_name}: {m.whole} whole sites on a {ls.spec.wafer.diameter} mm wafer "
                         f"(pitch {m.pitch[0]:g} x {m.pitch[1]:g} mm)")
        plan.commit(force=force)
        for line in lines:
            click.echo(line)
        return EXIT_OK

    sys.exit(run_guarded(body))
