"""CLI commands for substrate boards: ``substrate``, ``render`` and ``fab`` (registered in ``cli.EXTRA_COMMANDS``).

Example::

    kisubstrate substrate footprints/examples/buildup.yaml -o out/
    kisubstrate render out/        # SVG per copper layer + board, PNG (3D), stackup cross-section
    kisubstrate fab out/           # Gerber, drill per layer pair, IPC-2581
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import click

from kisubstrate.cli import EXIT_OK, EXIT_VIOLATIONS, _report_out, raise_input, run_guarded


@click.command()
@click.argument("specs", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("-o", "--output", type=click.Path(path_type=Path), required=True, help="folder for the projects")
@click.option("--no-check", is_flag=True, help="write despite rule violations (prints a warning)")
@click.option("--force", is_flag=True, help="overwrite files changed since kisubstrate wrote them")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", help="report format")
def substrate(specs: tuple[Path, ...], output: Path, no_check: bool, force: bool, fmt: str) -> None:
    """Write OUTPUT/<name>.kicad_pcb, .kicad_pro and .kicad_dru for every substrate package of SPECS."""

    def body() -> int:
        from kisubstrate.api import load_specs
        from kisubstrate.io import OutputPlan
        from kisubstrate.substrate_api import build_substrate, has_substrate, substrate_files

        loaded = [ls for ls in load_specs(specs) if has_substrate(ls.spec)]
        if not loaded:
            raise_input("no substrate families in the given specs (footprints: use 'kisubstrate footprint')")
        results = [build_substrate(ls.spec) for ls in loaded]
        bad = [r.report for r in results if not r.report.ok]
        if bad and not no_check:
            _report_out([r.report for r in results], fmt)
            click.echo(f"{len(bad)} substrate(s) violate their rules; nothing written (--no-check writes anyway)",
                       err=True)
            return EXIT_VIOLATIONS
        if bad:
            _report_out(bad, "text")
            click.echo(f"warning: writing {len(bad)} substrate(s) with rule violations (--no-check)", err=True)
        plan = OutputPlan()
        for r in results:
            for name, text in substrate_files(r).items():
                plan.add(output / name, text)
        plan.commit(force=force)
        if fmt == "json":
            _report_out([r.report for r in results], fmt)
        else:
            for r in results:
                b = r.board
                click.echo(f"wrote {output / (r.name + '.kicad_pcb')} ({b.copper} Cu, {len(b.pads)} pads, "
                           f"{len(b.vias)} vias, {len(b.tracks)} tracks, {len(b.nets) - 1} nets)")
                for line in b.meta.get("summary", ()):  # family figures, e.g. the PoP z-stack
                    click.echo(f"  {line}")
        return EXIT_OK

    sys.exit(run_guarded(body))


def _kicad_cli() -> str:
    path = shutil.which("kicad-cli")
    if not path:
        raise_input("kicad-cli (KiCad 9) is not on PATH")
    return path  # type: ignore[return-value]


def _run(args: list[str]) -> None:
    r = subprocess.run(args, capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError(f"{' '.join(args[:3])} failed ({r.returncode}): {(r.stderr or r.stdout)[-500:]}")


def _boards(folder: Path) -> list[Path]:
    boards = sorted(Path(folder).glob("*.kicad_pcb"))
    if not boards:
        raise_input(f"no .kicad_pcb in '{folder}' (write one with 'kisubstrate substrate')")
    return boards


@click.command()
@click.argument("folder", type=click.Path(path_type=Path, file_okay=False))
@click.option("-o", "--output", type=click.Path(path_type=Path), default=None, help="default FOLDER/render")
@click.option("--png/--no-png", default=True, help="also ray-trace top and bottom PNGs (kicad-cli pcb render)")
def render(folder: Path, output: Path | None, png: bool) -> None:
    """Pictures of every board in FOLDER: SVG per copper layer and of the board, PNGs, cross-section, markers."""

    def body() -> int:
        from kisubstrate.render import cross_section_svg, markers_svg, overlay_markers

        cli = _kicad_cli()
        for pcb in _boards(folder):
            out = output or folder / "render"
            out.mkdir(parents=True, exist_ok=True)
            stem = pcb.stem
            side = folder / f"{stem}.kisubstrate.json"
            info = json.loads(side.read_text()) if side.exists() else None
            copper = [lay["kicad"] for lay in info["layers"] if lay["kind"] == "copper"] if info else ["F.Cu", "B.Cu"]
            base = [cli, "pcb", "export", "svg", "--mode-single", "--exclude-drawing-sheet", "--page-size-mode", "2"]
            written = []
            viol = info["report"]["violations"] if info else []
            # one kicad-cli run for all copper layers (one file each, outline on every one)
            _run([cli, "pcb", "export", "svg", "--mode-multi", "--exclude-drawing-sheet", "--page-size-mode", "2",
                  "-l", ",".join(copper), "--cl", "Edge.Cuts", "-o", str(out), str(pcb)])
            for k, layer in enumerate(copper):
                target = out / f"{stem}-{layer.replace('.', '_')}.svg"
                if not target.exists():
                    raise RuntimeError(f"kicad-cli wrote no {target.name}")
                if viol:
                    target.write_text(overlay_markers(target.read_text(), viol, outline=info["outline"],
                                                      layer=f"L{k + 1}"))
                written.append(target)
            target = out / f"{stem}-board.svg"
            _run(base + ["-l", ",".join(copper + ["Edge.Cuts", "User.1"]), "-o", str(target), str(pcb)])
            if viol:
                target.write_text(overlay_markers(target.read_text(), viol, outline=info["outline"]))
            written.append(target)
            if png:
                for view in ("top", "bottom"):
                    target = out / f"{stem}-{view}.png"
                    _run([cli, "pcb", "render", "--side", view, "-w", "1200", "-h", "900", "-o", str(target),
                          str(pcb)])
                    written.append(target)
            if info:
                target = out / f"{stem}-stackup.svg"
                target.write_text(cross_section_svg(info))
                written.append(target)
                if info["report"]["violations"]:
                    target = out / f"{stem}-violations.svg"
                    target.write_text(markers_svg(info, pcb.read_text()))
                    written.append(target)
            for w in written:
                click.echo(f"wrote {w}")
        return EXIT_OK

    sys.exit(run_guarded(body))


@click.command()
@click.argument("folder", type=click.Path(path_type=Path, file_okay=False))
@click.option("-o", "--output", type=click.Path(path_type=Path), default=None, help="default FOLDER/fab")
def fab(folder: Path, output: Path | None) -> None:
    """Fabrication outputs of every board in FOLDER: Gerber (+ job file), drill per layer pair, IPC-2581."""

    def body() -> int:
        cli = _kicad_cli()
        for pcb in _boards(folder):
            out = (output or folder / "fab") / pcb.stem
            (out / "gerber").mkdir(parents=True, exist_ok=True)
            (out / "drill").mkdir(parents=True, exist_ok=True)
            _run([cli, "pcb", "export", "gerbers", "-o", str(out / "gerber") + "/", str(pcb)])
            _run([cli, "pcb", "export", "drill", "--generate-map", "--map-format", "gerberx2",
                  "-o", str(out / "drill") + "/", str(pcb)])
            _run([cli, "pcb", "export", "ipc2581", "-o", str(out / f"{pcb.stem}.xml"), str(pcb)])
            files = sorted(p for p in out.rglob("*") if p.is_file())
            click.echo(f"{pcb.name}: {len(files)} file(s) in {out} "
                       f"({sum(1 for p in files if p.suffix == '.drl')} drill file(s))")
        return EXIT_OK

    sys.exit(run_guarded(body))
