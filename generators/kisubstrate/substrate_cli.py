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

from kisubstrate.cli_common import EXIT_OK, located, raise_input, run_guarded, write_checked


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
        from kisubstrate.substrate_api import build_substrate, has_substrate, substrate_files

        loaded = [ls for ls in load_specs(specs) if has_substrate(ls.spec)]
        if not loaded:
            raise_input("no substrate families in the given specs (footprints: use 'kisubstrate footprint')")
        # errors raised while building name the spec file and package, like the footprint command
        results = [located(ls, lambda ls=ls: build_substrate(ls.spec)) for ls in loaded]

        def files():
            for r in results:
                for name, text in substrate_files(r).items():
                    yield output / name, text

        def written():
            for r in results:
                b = r.board
                click.echo(f"wrote {output / (r.name + '.kicad_pcb')} ({b.copper} Cu, {len(b.pads)} pads, "
                           f"{len(b.vias)} vias, {len(b.tracks)} tracks, {len(b.nets) - 1} nets)")
                for line in b.meta.get("summary", ()):  # family figures, e.g. the PoP z-stack
                    click.echo(f"  {line}")

        # violations -> report, exit 1, nothing written; --no-check -> warning; atomic write; json or lines
        return write_checked([r.report for r in results], files, no_check=no_check, force=force, fmt=fmt,
                             noun="substrate", written=written)

    sys.exit(run_guarded(body))


def _kicad_cli() -> str:
    path = shutil.which("kicad-cli")
    if not path:
        raise_input("kicad-cli (KiCad 9) is not on PATH")
    return path  # type: ignore[return-value]


def _run(args: list[str]) -> None:
    """Run kicad-cli; a failure is an input-side error (exit 2) with kicad-cli's own message."""
    r = subprocess.run(args, capture_output=True, text=True)
    if r.returncode != 0:
        detail = " ".join((r.stderr or r.stdout).split())[-400:]
        raise_input(f"kicad-cli {' '.join(args[1:4])} failed on '{args[-1]}' (exit {r.returncode}): "
                    f"{detail or 'no message'}")


def _boards(folder: Path) -> list[Path]:
    boards = sorted(Path(folder).glob("*.kicad_pcb"))
    if not boards:
        raise_input(f"no .kicad_pcb in '{folder}' (write one with 'kisubstrate substrate')")
    return boards


@click.command()
@click.argument("folder", type=click.Path(path_type=Path, file_okay=False))
@click.option("-o", "--output", type=click.Path(path_type=Path), default=None, help="default FOLDER/render")
@click.option("--png/--no-png", default=True, help="also ray-trace top and bottom PNGs (kicad-cli pcb render)")
@click.option("--force", is_flag=True, help="overwrite files changed since kisubstrate wrote them")
def render(folder: Path, output: Path | None, png: bool, force: bool) -> None:
    """Pictures of every board in FOLDER: SVG per copper layer and of the board, PNGs, cross-section, markers."""

    def body() -> int:
        import tempfile

        from kisubstrate.io import OutputPlan
        from kisubstrate.render import cross_section_svg, markers_svg, overlay_markers

        cli = _kicad_cli()
        plan = OutputPlan()
        out = output or folder / "render"
        for pcb in _boards(folder):
            stem = pcb.stem
            side = folder / f"{stem}.kisubstrate.json"
            info = json.loads(side.read_text()) if side.exists() else None
            pcb_text = pcb.read_text()
            if info is not None and (info.get("name") != stem
                                     or pcb_text.count("\n\t(via ") != info["counts"]["vias"]
                                     or pcb_text.count("\n\t(segment ") != info["counts"]["tracks"]):
                click.echo(f"warning: {side.name} does not describe {pcb.name} (stale?): ignored", err=True)
                info = None
            layers = [lay for lay in info["layers"] if lay["kind"] == "copper"] if info else \
                [{"kicad": "F.Cu"}, {"kicad": "B.Cu"}]
            copper = [lay["kicad"] for lay in layers]
            viol = info["report"]["violations"] if info else []
            with tempfile.TemporaryDirectory(prefix="kisubstrate-render-") as tmp:
                tmpd = Path(tmp)
                # one kicad-cli run for all copper layers (one file each, outline on every one); KiCad
                # names each file after the layer's user name when it has one
                _run([cli, "pcb", "export", "svg", "--mode-multi", "--exclude-drawing-sheet", "--page-size-mode",
                      "2", "-l", ",".join(copper), "--cl", "Edge.Cuts", "-o", str(tmpd), str(pcb)])
                for k, lay in enumerate(layers):
                    names = [lay["kicad"].replace(".", "_")] + ([lay["name"]] if lay.get("name") else [])
                    found = [tmpd / f"{stem}-{n}.svg" for n in names if (tmpd / f"{stem}-{n}.svg").exists()]
                    if not found:  # KiCad sanitised the user name in the file name: export this layer alone
                        one = tmpd / f"layer-{k}.svg"
                        _run([cli, "pcb", "export", "svg", "--mode-single", "--exclude-drawing-sheet",
                              "--page-size-mode", "2", "-l", f"{lay['kicad']},Edge.Cuts", "-o", str(one), str(pcb)])
                        found = [one]
                    text = found[0].read_text()
                    if viol:
                        text = overlay_markers(text, viol, outline=info["outline"], layer=f"L{k + 1}")
                    plan.add(out / f"{stem}-{lay['kicad'].replace('.', '_')}.svg", text)
                board_svg = tmpd / "board.svg"
                _run([cli, "pcb", "export", "svg", "--mode-single", "--exclude-drawing-sheet", "--page-size-mode",
                      "2", "-l", ",".join(copper + ["Edge.Cuts", "User.1"]), "-o", str(board_svg), str(pcb)])
                text = board_svg.read_text()
                plan.add(out / f"{stem}-board.svg", overlay_markers(text, viol, outline=info["outline"]) if viol
                         else text)
                if png:
                    for view in ("top", "bottom"):
                        png_path = tmpd / f"{view}.png"
                        _run([cli, "pcb", "render", "--side", view, "-w", "1200", "-h", "900", "-o", str(png_path),
                              str(pcb)])
                        plan.add(out / f"{stem}-{view}.png", png_path.read_bytes())
            if info:
                plan.add(out / f"{stem}-stackup.svg", cross_section_svg(info))
                if viol:
                    plan.add(out / f"{stem}-violations.svg", markers_svg(info, pcb_text))
        plan.commit(force=force)
        for w in sorted(plan.files):
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
