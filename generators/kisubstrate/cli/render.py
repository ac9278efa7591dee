"""``kisubstrate render FOLDER``: pictures of every board in FOLDER (kicad-cli SVG / PNG, cross-section, markers).

Example::

    kisubstrate render out/substrates
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from kisubstrate.cli.common import EXIT_OK, run_guarded


@click.command()
@click.argument("folder", type=click.Path(path_type=Path, file_okay=False))
@click.option("-o", "--output", type=click.Path(path_type=Path), default=None, help="default FOLDER/render")
@click.option("--png/--no-png", default=True, help="also ray-trace top and bottom PNGs (kicad-cli pcb render)")
@click.option("--force", is_flag=True, help="overwrite files changed since kisubstrate wrote them")
def render(folder: Path, output: Path | None, png: bool, force: bool) -> None:
    """Pictures of every board in FOLDER: SVG per copper layer and of the board, PNGs, cross-section, markers."""

    def body() -> int:
        import tempfile

        from kisubstrate.api.kicad_cli import boards_in, kicad_cli, run_kicad_cli
        from kisubstrate.api.outputs import OutputPlan
        from kisubstrate.api.render import (
            cross_section_svg,
            markers_svg,
            overlay_markers,
            without_notes,
        )

        cli = kicad_cli()
        plan = OutputPlan()
        out = output or folder / "render"
        for pcb in boards_in(folder):
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
                # the SVG page spans every drawing: export from a copy without the off-board notes
                src = tmpd / "src" / pcb.name
                src.parent.mkdir()
                src.write_text(without_notes(pcb_text, set(copper) | {"Edge.Cuts", "User.1"}, texts=set(copper)))
                # one kicad-cli run for all copper layers (one file each, outline on every one); KiCad
                # names each file after the layer's user name when it has one
                run_kicad_cli([cli, "pcb", "export", "svg", "--mode-multi", "--exclude-drawing-sheet",
                               "--page-size-mode", "2", "-l", ",".join(copper), "--cl", "Edge.Cuts",
                               "-o", str(tmpd), str(src)],
                              writes=[(tmpd, f"{stem}-*.svg")])
                for k, lay in enumerate(layers):
                    names = [lay["kicad"].replace(".", "_")] + ([lay["name"]] if lay.get("name") else [])
                    found = [tmpd / f"{stem}-{n}.svg" for n in names if (tmpd / f"{stem}-{n}.svg").exists()]
                    if not found:  # KiCad sanitised the user name in the file name: export this layer alone
                        one = tmpd / f"layer-{k}.svg"
                        run_kicad_cli([cli, "pcb", "export", "svg", "--mode-single", "--exclude-drawing-sheet",
                                       "--page-size-mode", "2", "-l", f"{lay['kicad']},Edge.Cuts",
                                       "-o", str(one), str(src)],
                                      writes=[one])
                        found = [one]
                    text = found[0].read_text()
                    if viol:
                        text = overlay_markers(text, viol, outline=info["outline"], layer=f"L{k + 1}")
                    plan.add(out / f"{stem}-{lay['kicad'].replace('.', '_')}.svg", text)
                board_svg = tmpd / "board.svg"
                run_kicad_cli([cli, "pcb", "export", "svg", "--mode-single", "--exclude-drawing-sheet",
                               "--page-size-mode", "2", "-l", ",".join(copper + ["Edge.Cuts", "User.1"]),
                               "-o", str(board_svg), str(src)],
                              writes=[board_svg])
                text = board_svg.read_text()
                plan.add(out / f"{stem}-board.svg", overlay_markers(text, viol, outline=info["outline"]) if viol
                         else text)
                if png:
                    for view in ("top", "bottom"):
                        png_path = tmpd / f"{view}.png"
                        run_kicad_cli([cli, "pcb", "render", "--side", view, "-w", "1200", "-h", "900",
                                       "-o", str(png_path), str(pcb)], writes=[png_path])
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
