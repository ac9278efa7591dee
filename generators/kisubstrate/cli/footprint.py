"""``kisubstrate footprint``: one ``.kicad_mod`` (+ VRML model) per package of the given specs, + their symbols.

Example::

    kisubstrate footprint footprints/examples/bga.yaml -o out/My_BGA.pretty
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from kisubstrate.cli.common import kicad_option, located, raise_input, resolve_kicad, run_guarded, write_checked


@click.command()
@click.argument("specs", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("-o", "--output", type=click.Path(path_type=Path), required=True,
              help="library folder to write, e.g. out/My_Packages.pretty (3D models go to out/My_Packages.3dshapes)")
@click.option("--models", default="project", show_default=True,
              help="3D model path written into each footprint: project (${KIPRJMOD}/<Lib>.3dshapes, for a "
                   "project-local library), pcm, stock (${KICAD9_3DMODEL_DIR}) or a template with {lib} and {name}")
@click.option("--no-models", is_flag=True, help="write no 3D models and no (model) line in the footprints")
@click.option("--no-step", is_flag=True, help="write the VRML model only (faster; the footprint names the .wrl)")
@click.option("--no-check", is_flag=True, help="write despite rule violations (prints a warning)")
@click.option("--force", is_flag=True, help="overwrite files changed since kisubstrate wrote them")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", help="report format")
@kicad_option
def footprint(specs: tuple[Path, ...], output: Path, models: str, no_models: bool, no_step: bool, no_check: bool,
              force: bool, fmt: str, kicad: str | None) -> None:
    """Write one .kicad_mod per package of SPECS into OUTPUT (a .pretty folder).

    Each footprint's 3D models (VRML, and STEP when the 'step' extra is installed) go into the sibling
    <Lib>.3dshapes folder (the same writers as 'kisubstrate library'). Packages whose ball map gives nets
    get a schematic symbol in the sibling <Lib>.kicad_sym (one library per run: the symbols of SPECS).
    """

    def body() -> int:
        from kisubstrate.api.footprint import build_footprints, footprint_files
        from kisubstrate.api.specs import load_specs
        from kisubstrate.api.symbols import footprint_symbol_file
        from kisubstrate.kicad.step import NO_STEP_NOTICE, model_name, model_reference
        from kisubstrate.kicad.step import available as step_available

        if output.suffix != ".pretty":
            raise_input(f"output '{output}' must be a KiCad library folder ending in .pretty")
        mode = None if no_models else models
        target = resolve_kicad(kicad)
        footprint_files([], output, models=mode)  # validates --models before anything is built
        results = [r for ls in load_specs(specs)
                   for r in located(ls, lambda ls=ls: build_footprints(ls.spec, source=ls.file))]
        if not results:
            raise_input("no footprint families in the given specs (substrate specs: use 'kisubstrate substrate')")
        shapes = output.parent / f"{output.stem}.3dshapes"
        symbols = footprint_symbol_file(results, output)
        step = False if no_step else None  # None: STEP where OpenCascade is installed
        if not no_models and not no_step and not step_available():
            click.echo(NO_STEP_NOTICE, err=True)

        def written():
            for r in results:
                stem = shapes / model_name(r.geometry.name)
                model = "" if no_models else f", model {model_reference(str(stem) + '.wrl', step=step)}"
                click.echo(f"wrote {output / (r.geometry.name + '.kicad_mod')} ({r.geometry.pad_count} pads){model}")
            for path, text in symbols:
                count = text.count("\n\t(symbol ")
                click.echo(f"wrote {path} ({count} symbol(s), pins named by the ball map's nets)")

        return write_checked([r.report for r in results],
                             lambda: footprint_files(results, output, models=mode, kicad=target, step=step) + symbols,
                             no_check=no_check, force=force, fmt=fmt, written=written)

    sys.exit(run_guarded(body))
