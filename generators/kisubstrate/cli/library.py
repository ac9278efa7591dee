"""``kisubstrate library``: the front end of :mod:`kisubstrate.api.library`.

Example::

    kisubstrate library footprints/library.yaml -o footprints/kisubstrate_Packages
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from kisubstrate.api.library import export_library
from kisubstrate.cli.common import EXIT_OK, EXIT_VIOLATIONS, kicad_option, resolve_kicad, run_guarded


@click.command(name="library")
@click.argument("spec", type=click.Path(path_type=Path))
@click.option("-o", "--output", type=click.Path(path_type=Path), required=True,
              help="library folder to write (holds <Lib>.pretty, <Lib>.3dshapes, renders/, catalogue)")
@click.option("--models", default=None,
              help="3D model paths: project (${KIPRJMOD}), pcm (${KICAD9_3RD_PARTY}/3dmodels/<id>), stock "
                   "(${KICAD9_3DMODEL_DIR}) or a template with {lib} and {name}; default from SPEC")
@click.option("--no-renders", is_flag=True, help="skip the kicad-cli SVG renders")
@click.option("-j", "--jobs", type=click.IntRange(1, 64), default=None, help="worker processes (default: all cores)")
@click.option("--no-check", is_flag=True, help="write despite rule violations (prints a warning)")
@click.option("--force", is_flag=True, help="overwrite files changed since kisubstrate wrote them")
@click.option("--pcm", is_flag=True, help="write the PCM archive tree (footprints/, 3dmodels/; pcm model paths)")
@click.option("-q", "--quiet", is_flag=True, help="no progress bar")
@kicad_option
def library_command(spec: Path, output: Path, models: str | None, no_renders: bool, jobs: int | None,
                    no_check: bool, force: bool, pcm: bool, quiet: bool, kicad: str | None) -> None:
    """Export the footprint library defined in SPEC (e.g. footprints/library.yaml) into OUTPUT."""

    def body() -> int:
        from kisubstrate.kicad.step import NO_STEP_NOTICE, available

        if not available():
            click.echo(NO_STEP_NOTICE, err=True)
        res = export_library(spec, output, models=models, renders=not no_renders, jobs=jobs, force=force,
                             check=not no_check, progress=not quiet, pcm=pcm, kicad=resolve_kicad(kicad))
        if res.violations:
            for e in res.violations:
                click.echo(e.report)
            click.echo(f"{len(res.violations)} footprint(s) violate their rules; nothing written "
                       "(--no-check writes anyway)", err=True)
            return EXIT_VIOLATIONS
        if no_check and any(not e.ok for e in res.entries):
            click.echo(f"warning: wrote {sum(not e.ok for e in res.entries)} footprint(s) with rule violations",
                       err=True)
        n = len(res.entries)
        t = res.total
        parts = ", ".join(f"{k} {v:.2f} s" for k, v in res.seconds.items())
        click.echo(f"library {output}: {n} footprints, {sum(e.pads for e in res.entries)} pads, "
                   f"{len(res.files)} files ({len(res.changed)} changed, {len(res.removed)} removed, "
                   f"{res.rendered} rendered by KiCad) "
                   f"in {t:.2f} s ({parts}; {1000 * t / max(n, 1):.1f} ms per footprint)")
        return EXIT_OK

    sys.exit(run_guarded(body))
