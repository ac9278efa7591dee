"""``kisubstrate substrate``: the KiCad project (board, project, rules, sidecar) of substrate specs.

Example::

    kisubstrate substrate footprints/examples/buildup.yaml -o out/substrates
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from kisubstrate.cli.common import kicad_option, located, raise_input, resolve_kicad, run_guarded, write_checked

DEFAULT_SUBSTRATE_LIB = "kisubstrate_Substrates"
"""Footprint library nickname the symbols of ``kisubstrate substrate`` name by default."""


@click.command()
@click.argument("specs", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("-o", "--output", type=click.Path(path_type=Path), required=True, help="folder for the projects")
@click.option("--footprint-lib", default=DEFAULT_SUBSTRATE_LIB, show_default=True,
              help="footprint library nickname the package symbols name (their Footprint field <lib>:<footprint>); "
                   "write the footprints there with 'kisubstrate footprint SPEC -o DIR/<lib>.pretty'")
@click.option("--no-check", is_flag=True, help="write despite rule violations (prints a warning)")
@click.option("--force", is_flag=True, help="overwrite files changed since kisubstrate wrote them")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", help="report format")
@kicad_option
def substrate(specs: tuple[Path, ...], output: Path, footprint_lib: str, no_check: bool, force: bool, fmt: str,
              kicad: str | None) -> None:
    """Write OUTPUT/<name>.kicad_pcb, .kicad_pro and .kicad_dru for every substrate package of SPECS.

    The packages' schematic symbols (one pin per terminal ball, named by the net routed to it) go
    into OUTPUT/<footprint-lib>.kicad_sym, one library per run.
    """

    def body() -> int:
        from kisubstrate.api.specs import load_specs
        from kisubstrate.api.substrate import (
            build_substrate,
            has_substrate,
            substrate_files,
        )
        from kisubstrate.api.symbols import substrate_symbol, symbol_library_text

        target = resolve_kicad(kicad)
        loaded = [ls for ls in load_specs(specs) if has_substrate(ls.spec)]
        if not loaded:
            raise_input("no substrate families in the given specs (footprints: use 'kisubstrate footprint')")
        # errors raised while building name the spec file and package, like the footprint command
        results = [located(ls, lambda ls=ls: build_substrate(ls.spec)) for ls in loaded]
        if not footprint_lib.strip() or any(c in footprint_lib for c in ':/\\"'):
            raise_input(f"--footprint-lib '{footprint_lib}' is not a library nickname (no ':', '/', '\\' or quotes)")
        symbols = symbol_library_text(substrate_symbol(r, footprint_lib) for r in results)
        sym_path = output / f"{footprint_lib}.kicad_sym"

        def files():
            for r in results:
                for name, text in substrate_files(r, kicad=target).items():
                    yield output / name, text
            if symbols is not None:
                yield sym_path, symbols

        def written():
            for r in results:
                b = r.board
                click.echo(f"wrote {output / (r.name + '.kicad_pcb')} ({b.copper} Cu, {len(b.pads)} pads, "
                           f"{len(b.vias)} vias, {len(b.tracks)} tracks, {len(b.nets) - 1} nets)")
                for line in b.extras.summary:  # family figures, e.g. the PoP z-stack
                    click.echo(f"  {line}")
            if symbols is not None:
                click.echo(f"wrote {sym_path} (package symbols, Footprint field {footprint_lib}:<footprint>)")

        # violations -> report, exit 1, nothing written; --no-check -> warning; atomic write; json or lines
        return write_checked([r.report for r in results], files, no_check=no_check, force=force, fmt=fmt,
                             noun="substrate", written=written)

    sys.exit(run_guarded(body))
