"""``kisubstrate demo``: the main job on the bundled example specs.

Example::

    kisubstrate demo -o demo/
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import click

from kisubstrate.cli.common import EXIT_OK, kicad_option, resolve_kicad, run_guarded


@click.command()
@click.option("-o", "--output", type=click.Path(path_type=Path), default=Path("kisubstrate-demo"),
              show_default=True, help="folder for the demo outputs")
@click.option("--force", is_flag=True, help="overwrite files changed since kisubstrate wrote them")
@kicad_option
def demo(output: Path, force: bool, kicad: str | None) -> None:
    """Run the main job on the bundled example specs and print what was written."""

    def body() -> int:
        from kisubstrate.api.demo import run_demo
        from kisubstrate.model.examples import examples_dir

        t0 = time.perf_counter()
        target = resolve_kicad(kicad)
        from kisubstrate.kicad.step import NO_STEP_NOTICE, available

        if not available():
            click.echo(NO_STEP_NOTICE, err=True)
        written = run_demo(examples_dir(), output, force=force, echo=click.echo, kicad=target)
        click.echo(f"demo: {len(written)} file(s) in {output} for KiCad {target} ({time.perf_counter() - t0:.2f} s)")
        return EXIT_OK

    sys.exit(run_guarded(body))
