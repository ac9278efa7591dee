"""The ``kisubstrate`` command.

Exit codes: 0 written / clean, 1 rule violations (nothing written), 2 invalid input
(nothing written). A user mistake prints one located message, never a traceback
(set ``KISUBSTRATE_DEBUG=1`` to see tracebacks of internal errors).

Example::

    kisubstrate footprint footprints/examples/bga.yaml -o out/My_BGA.pretty
    kisubstrate check footprints/examples/*.yaml --format json
    kisubstrate demo -o demo/
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path
from typing import Callable

import click

from kisubstrate import __version__

EXIT_OK, EXIT_VIOLATIONS, EXIT_INPUT = 0, 1, 2

# Sub-commands contributed by other modules: name -> "module:function" (lazy import).
EXTRA_COMMANDS: dict[str, str] = {
    "library": "kisubstrate.library:library_command",
    "substrate": "kisubstrate.substrate_cli:substrate",
    "render": "kisubstrate.substrate_cli:render",
    "fab": "kisubstrate.substrate_cli:fab",
    "wafer": "kisubstrate.stack_api:wafer_command",
    "panel": "kisubstrate.panel:panel_command",
    "pcm": "kisubstrate.plugin_support.pcm_cli:pcm_command",
}


def examples_dir() -> Path:
    """The bundled example specs: ``footprints/examples`` of a checkout, else the installed copy."""
    here = Path(__file__).resolve().parent
    for candidate in (here.parent.parent / "footprints" / "examples", here / "data" / "examples"):
        if candidate.is_dir() and any(candidate.glob("*.yaml")):
            return candidate
    raise click.ClickException("bundled example specs not found")


def _fail_input(message: str) -> None:
    click.echo(f"error: {message}", err=True)
    sys.exit(EXIT_INPUT)


def run_guarded(fn: Callable[[], int]) -> int:
    """Run a command body; map our errors to messages and exit codes."""
    from kisubstrate.io import OverwriteError
    from kisubstrate.model.errors import SpecError

    try:
        return fn()
    except SpecError as exc:
        _fail_input(str(exc))
    except OverwriteError as exc:
        _fail_input(str(exc))
    except OSError as exc:  # output folder unwritable, a file where a folder should be, disk full
        where = f" '{exc.filename}'" if exc.filename else ""
        _fail_input(f"cannot write{where}: {exc.strerror or exc}")
    except KeyboardInterrupt:
        click.echo("interrupted; nothing half-written (writes are atomic)", err=True)
        sys.exit(130)
    except Exception as exc:  # noqa: BLE001 - last line of defence: no traceback for users
        if os.environ.get("KISUBSTRATE_DEBUG"):
            raise
        click.echo(f"internal error: {type(exc).__name__}: {exc} (set KISUBSTRATE_DEBUG=1 for a traceback; "
                   "please report it)", err=True)
        sys.exit(3)
    return EXIT_OK


def _report_out(reports, fmt: str) -> None:
    if fmt == "json":
        click.echo(json.dumps({"ok": all(r.ok for r in reports), "packages": [r.as_dict() for r in reports]},
                              indent=2))
    else:
        for r in reports:
            click.echo(r.text())


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="kisubstrate")
def cli() -> None:
    """Semiconductor-package parameters to KiCad footprints and substrate boards, rule-checked."""


@cli.command()
@click.argument("specs", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("-o", "--output", type=click.Path(path_type=Path), required=True,
              help="library folder to write, e.g. out/My_Packages.pretty")
@click.option("--no-check", is_flag=True, help="write despite rule violations (prints a warning)")
@click.option("--force", is_flag=True, help="overwrite files changed since kisubstrate wrote them")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", help="report format")
def footprint(specs: tuple[Path, ...], output: Path, no_check: bool, force: bool, fmt: str) -> None:
    """Write one .kicad_mod per package of SPECS into OUTPUT (a .pretty folder)."""

    def body() -> int:
        from kisubstrate.api import build_footprints, load_specs
        from kisubstrate.io import OutputPlan

        if output.suffix != ".pretty":
            raise_input(f"output '{output}' must be a KiCad library folder ending in .pretty")
        loaded = load_specs(specs)
        results = [r for ls in loaded for r in _located(ls, lambda ls=ls: build_footprints(ls.spec, source=ls.file))]
        if not results:
            raise_input("no footprint families in the given specs (substrate specs: use 'kisubstrate substrate')")
        bad = [r.report for r in results if not r.report.ok]
        if bad and not no_check:
            _report_out([r.report for r in results], fmt)
            click.echo(f"{len(bad)} package(s) violate their rules; nothing written "
                       "(--no-check writes anyway)", err=True)
            return EXIT_VIOLATIONS
        if bad:
            click.echo(f"warning: writing {len(bad)} package(s) with rule violations (--no-check)", err=True)
        plan = OutputPlan()
        for r in results:
            plan.add(output / f"{r.geometry.name}.kicad_mod", r.text())
        plan.commit(force=force)
        if fmt == "json":
            _report_out([r.report for r in results], fmt)
        else:
            for r in results:
                click.echo(f"wrote {output / (r.geometry.name + '.kicad_mod')} ({r.geometry.pad_count} pads)")
        return EXIT_OK

    sys.exit(run_guarded(body))


def _located(loaded, fn: Callable[[], list]) -> list:
    """Run ``fn`` for one loaded spec; a SpecError without a file gets the spec's file and package."""
    from kisubstrate.model.errors import SpecError

    try:
        return fn()
    except SpecError as exc:
        if exc.file:
            raise
        raise SpecError(exc.reason, file=loaded.file, package=exc.package or loaded.label,
                        field=exc.field) from None


def raise_input(message: str) -> None:
    """Raise a SpecError from a front end (exit code 2)."""
    from kisubstrate.model.errors import SpecError

    raise SpecError(message)


@cli.command()
@click.argument("specs", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", help="report format")
def check(specs: tuple[Path, ...], fmt: str) -> None:
    """Check SPECS against their rule profiles without writing anything."""

    def body() -> int:
        from kisubstrate.api import check_spec, load_specs

        loaded = load_specs(specs)
        reports = [rep for ls in loaded for rep in _located(ls, lambda ls=ls: check_spec(ls.spec))]
        _report_out(reports, fmt)
        return EXIT_OK if all(r.ok for r in reports) else EXIT_VIOLATIONS

    sys.exit(run_guarded(body))


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
