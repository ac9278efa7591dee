"""``kisubstrate fab FOLDER``: Gerber (+ job file), drill per layer pair and IPC-2581 of every board in FOLDER.

Example::

    kisubstrate fab out/substrates
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from kisubstrate.cli.common import EXIT_OK, run_guarded


@click.command()
@click.argument("folder", type=click.Path(path_type=Path, file_okay=False))
@click.option("-o", "--output", type=click.Path(path_type=Path), default=None, help="default FOLDER/fab")
def fab(folder: Path, output: Path | None) -> None:
    """Fabrication outputs of every board in FOLDER: Gerber (+ job file), drill per layer pair, IPC-2581."""

    def body() -> int:
        from kisubstrate.api.kicad_cli import boards_in, kicad_cli, run_kicad_cli

        cli = kicad_cli()
        for pcb in boards_in(folder):
            out = (output or folder / "fab") / pcb.stem
            (out / "gerber").mkdir(parents=True, exist_ok=True)
            (out / "drill").mkdir(parents=True, exist_ok=True)
            run_kicad_cli([cli, "pcb", "export", "gerbers", "-o", str(out / "gerber") + "/", str(pcb)],
                          writes=[(out / "gerber", f"{pcb.stem}-*.g*")])
            run_kicad_cli([cli, "pcb", "export", "drill", "--generate-map", "--map-format", "gerberx2",
                  "-o", str(out / "drill") + "/", str(pcb)], writes=[(out / "drill", "*.drl")])
            run_kicad_cli([cli, "pcb", "export", "ipc2581", "-o", str(out / f"{pcb.stem}.xml"), str(pcb)],
                          writes=[out / f"{pcb.stem}.xml"])
            files = sorted(p for p in out.rglob("*") if p.is_file())
            click.echo(f"{pcb.name}: {len(files)} file(s) in {out} "
                       f"({sum(1 for p in files if p.suffix == '.drl')} drill file(s))")
        return EXIT_OK

    sys.exit(run_guarded(body))
