"""The ``kisubstrate`` command.

Exit codes: 0 written / clean, 1 rule violations (nothing written), 2 invalid input
(nothing written), 3 internal error (please report it), 130 interrupted. A user mistake
prints one located message, never a traceback (set ``KISUBSTRATE_DEBUG=1`` to see
tracebacks of internal errors). The helpers every sub-command shares live in
:mod:`kisubstrate.cli_common`.

Example::

    kisubstrate footprint footprints/examples/bga.yaml -o out/My_BGA.pretty
    kisubstrate check footprints/examples/*.yaml --format json
    kisubstrate demo -o demo/
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import click

from kisubstrate import __version__
from kisubstrate.cli_common import (EXIT_OK, EXIT_VIOLATIONS, located, raise_input, report_out, run_guarded,
                                    write_checked)
from kisubstrate.examples import examples_dir

# Sub-commands contributed by other modules: name -> "module:function" (lazy import).
EXTRA_COMMANDS: dict[str, str] = {
    "library": "kisubstrate.library_cli:library_command",
    "substrate": "kisubstrate.substrate_cli:substrate",
    "render": "kisubstrate.substrate_cli:render",
    "fab": "kisubstrate.substrate_cli:fab",
    "wafer": "kisubstrate.stack_cli:wafer_command",
    "panel": "kisubstrate.panel_cli:panel_command",
    "pcm": "kisubstrate.plugin_support.pcm_cli:pcm_command",
}


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="kisubstrate")
def cli() -> None:
    """Semiconductor-package parameters to KiCad footprints and substrate boards, rule-checked."""


@cli.command()
@click.argument("specs", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("-o", "--output", type=click.Path(path_type=Path), required=True,
              help="library folder to write, e.g. out/My_Packages.pretty (3D models go to out/My_Packages.3dshapes)")
@click.option("--models", default="project", show_default=True,
              help="3D model path written into each footprint: project (${KIPRJMOD}/<Lib>.3dshapes, for a "
                   "project-local library), pcm, stock (${KICAD9_3DMODEL_DIR}) or a template with {lib} and {name}")
@click.option("--no-models", is_flag=True, help="write no VRML models and no (model) line in the footprints")
@click.option("--no-check", is_flag=True, help="write despite rule violations (prints a warning)")
@click.option("--force", is_flag=True, help="overwrite files changed since kisubstrate wrote them")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", help="report format")
def footprint(specs: tuple[Path, ...], output: Path, models: str, no_models: bool, no_check: bool, force: bool,
              fmt: str) -> None:
    """Write one .kicad_mod per package of SPECS into OUTPUT (a .pretty folder), and its VRML 3D model
    into the sibling <Lib>.3dshapes folder (the same writer as 'kisubstrate library')."""

    def body() -> int:
        from kisubstrate.api import build_footprints, load_specs
        from kisubstrate.library import footprint_files

        if output.suffix != ".pretty":
            raise_input(f"output '{output}' must be a KiCad library folder ending in .pretty")
        mode = None if no_models else models
        footprint_files([], output, models=mode)  # validates --models before anything is built
        results = [r for ls in load_specs(specs)
                   for r in located(ls, lambda ls=ls: build_footprints(ls.spec, source=ls.file))]
        if not results:
            raise_input("no footprint families in the given specs (substrate specs: use 'kisubstrate substrate')")
        shapes = output.parent / f"{output.stem}.3dshapes"

        def written():
            for r in results:
                model = "" if no_models else f", model {shapes / (r.geometry.name + '.wrl')}"
                click.echo(f"wrote {output / (r.geometry.name + '.kicad_mod')} ({r.geometry.pad_count} pads){model}")

        return write_checked([r.report for r in results], lambda: footprint_files(results, output, models=mode),
                             no_check=no_check, force=force, fmt=fmt, written=written)

    sys.exit(run_guarded(body))


@cli.command()
@click.argument("specs", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", help="report format")
@click.option("--rules", "profile", default=None, metavar="PROFILE",
              help="check footprints against this rule profile (shipped name or YAML path) instead of each "
                   "spec's own, e.g. to see whether a design also fits another fab")
def check(specs: tuple[Path, ...], fmt: str, profile: str | None) -> None:
    """Check SPECS against their rule profiles (or --rules PROFILE) without writing anything."""

    def body() -> int:
        from kisubstrate.api import check_spec, load_specs

        loaded = load_specs(specs)
        if profile is not None:
            return _check_against(loaded, profile, fmt)
        reports = [rep for ls in loaded for rep in located(ls, lambda ls=ls: check_spec(ls.spec))]
        report_out(reports, fmt)
        return EXIT_OK if all(r.ok for r in reports) else EXIT_VIOLATIONS

    sys.exit(run_guarded(body))


def _check_against(loaded: list, profile: str, fmt: str) -> int:
    """``check --rules PROFILE``: every footprint of ``loaded`` checked against one other footprint profile."""
    from kisubstrate.api import build_footprints
    from kisubstrate.model.rules import load_rules
    from kisubstrate.rules.footprint import check_footprint

    rules = load_rules(profile)
    reports = []
    for ls in loaded:
        for r in located(ls, lambda ls=ls: build_footprints(ls.spec, source=ls.file, check=False)):
            reports.append(check_footprint(r.geometry, rules))
    if not reports:
        raise_input("no footprint families in the given specs (--rules checks footprints only)")
    report_out(reports, fmt)
    return EXIT_OK if all(r.ok for r in reports) else EXIT_VIOLATIONS


@cli.command()
@click.option("-o", "--output", type=click.Path(path_type=Path), default=Path("kisubstrate-demo"),
              show_default=True, help="folder for the demo outputs")
@click.option("--force", is_flag=True, help="overwrite files changed since kisubstrate wrote them")
def demo(output: Path, force: bool) -> None:
    """Run the main job on the bundled example specs and print what was written."""

    def body() -> int:
        from kisubstrate.api import run_demo

        t0 = time.perf_counter()
        written = run_demo(examples_dir(), output, force=force, echo=click.echo)
        click.echo(f"demo: {len(written)} file(s) in {output} ({time.perf_counter() - t0:.2f} s)")
        return EXIT_OK

    sys.exit(run_guarded(body))


@cli.command(name="list")
def list_families() -> None:
    """List the package families."""
    from kisubstrate.families.registry import families

    for name, fam in sorted(families().items()):
        kinds = "+".join(k for k, v in (("footprint", fam.footprint), ("substrate", fam.substrate)) if v)
        click.echo(f"{name:<12} {kinds:<20} {fam.summary}")


@cli.command()
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


class _LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(set(super().list_commands(ctx)) | set(EXTRA_COMMANDS))

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name in EXTRA_COMMANDS and name not in self.commands:
            import importlib

            module, attr = EXTRA_COMMANDS[name].split(":")
            self.add_command(getattr(importlib.import_module(module), attr), name)
        return super().get_command(ctx, name)


cli.__class__ = _LazyGroup


def main() -> None:
    """Console-script entry point."""
    cli(prog_name="kisubstrate")


if __name__ == "__main__":
    main()
