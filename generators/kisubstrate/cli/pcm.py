"""``kisubstrate pcm``: the Plugin and Content Manager zips (IPC plugin, SWIG plugin, library).

Example::

    kisubstrate pcm -o out/pcm
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from kisubstrate.cli.common import run_guarded
from kisubstrate.plugin_support.pcm import build_packages


@click.command(name="pcm")
@click.option("-o", "--output", type=click.Path(path_type=Path), required=True, help="folder for the zips")
@click.option("--library", type=click.Path(path_type=Path), default=None,
              help="a .pretty folder to package (default: the bundled examples); a sibling .3dshapes and "
                   ".kicad_sym (symbols) are included")
@click.option("--models", type=click.Path(path_type=Path), default=None, help="a .3dshapes folder of 3D models")
@click.option("--plugin-dir", type=click.Path(path_type=Path), default=None,
              help="the plugin sources (default: plugin/ of this checkout)")
def pcm_command(output: Path, library: Path | None, models: Path | None, plugin_dir: Path | None) -> None:
    """Build KiCad PCM packages: IPC plugin, SWIG plugin and a footprint library (zips + metadata.json)."""
    def body() -> int:
        for path in build_packages(output, library=library, models=models, plugin_dir=plugin_dir):
            click.echo(f"wrote {path} ({path.stat().st_size} bytes)")
        click.echo("install in KiCad: Plugin and Content Manager > Install from File…")
        return 0

    sys.exit(run_guarded(body))
