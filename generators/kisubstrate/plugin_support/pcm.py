"""The KiCad PCM packages (``kisubstrate pcm -o DIR``) (IPC plugin, SWIG plugin, footprint library).

Example::

    kisubstrate pcm -o dist/pcm                          # library generated from the bundled examples
    kisubstrate pcm -o dist/pcm --library out/My.pretty  # library from your own .pretty (+ My.3dshapes)
"""

from __future__ import annotations

import re
import tempfile
from pathlib import Path

from kisubstrate import __version__

PACKAGE_DIR = Path(__file__).resolve().parent.parent
DEFAULT_LIBRARY = "Kisubstrate_Packages"
KIPY_REQUIREMENT = "kicad-python>=0.7.1,<0.9"
"""kicad-python releases the IPC plugin works with on KiCad 9.0.8 and 10.0.6 (0.8.0 targets 10.0.6's API and
places footprints on both; 0.6.0 raises TypeError on ``Net(name=…)``; 0.7.0 has no wheel). The same line is in
``plugin/ipc/requirements.txt`` and the ``plugin`` extra of ``pyproject.toml`` (a test compares them)."""


def plugin_source_dir() -> Path | None:
    """``plugin/`` of a checkout (the IPC and SWIG plugin sources), or None."""
    candidate = PACKAGE_DIR.parent.parent / "plugin"
    return candidate if (candidate / "ipc" / "plugin.json").is_file() else None


def runtime_requirements() -> list[str]:
    """Kisubstrate's own runtime dependencies (from pyproject.toml / installed metadata) + kicad-python."""
    reqs: list[str] = []
    pyproject = PACKAGE_DIR.parent.parent / "pyproject.toml"
    if pyproject.is_file():
        block = re.search(r"^dependencies\s*=\s*\[(.*?)\]", pyproject.read_text(), re.S | re.M)
        if block:
            reqs = re.findall(r'"([^"]+)"', block.group(1))
    if not reqs:
        from importlib.metadata import PackageNotFoundError, requires

        try:
            reqs = [r for r in (requires("kisubstrate") or []) if "extra ==" not in r]
        except PackageNotFoundError:
            reqs = []
    return reqs + [KIPY_REQUIREMENT]


def _example_library(folder: Path) -> Path:
    """Generate the bundled examples into ``folder/<DEFAULT_LIBRARY>.pretty`` (no 3D model paths) + their symbols."""
    from kisubstrate.api.footprint import build_footprints
    from kisubstrate.api.outputs import OutputPlan
    from kisubstrate.api.specs import load_specs
    from kisubstrate.api.symbols import footprint_symbol_file
    from kisubstrate.model.examples import examples_dir

    pretty = folder / f"{DEFAULT_LIBRARY}.pretty"
    plan = OutputPlan()
    results = []
    for ls in load_specs(sorted(examples_dir().glob("*.yaml"))):
        for r in build_footprints(ls.spec, source=ls.file):
            if r.report.ok:
                plan.add(pretty / f"{r.geometry.name}.kicad_mod", r.text(model_path=""))
                results.append(r)
    for path, text in footprint_symbol_file(results, pretty):  # the packages with a ball map
        plan.add(path, text)
    plan.commit(force=True)
    return pretty


def build_packages(output: Path, *, library: Path | None = None, models: Path | None = None,
                   plugin_dir: Path | None = None) -> list[Path]:
    """Write the three PCM zips into ``output``; returns their paths (sorted).

    The zips are the IPC plugin, the SWIG plugin and a footprint library; existing zips of the same
    version are overwritten.

    Args:
        output: folder for the zips (created if missing).
        library: a ``.pretty`` folder to package (a sibling ``<Lib>.kicad_sym`` goes in as its symbols);
            None generates the bundled examples that pass their checks, with their symbols.
        models: the library's ``.3dshapes`` folder; None takes the sibling ``<Lib>.3dshapes`` of
            ``library`` when it exists.
        plugin_dir: the plugin sources (``ipc/`` and ``swig/``); None finds ``plugin/`` of a checkout.

    Raises:
        SpecError: no plugin sources, or ``library`` is not a ``.pretty`` folder with footprints.
    """
    from kisubstrate.api.outputs import OutputPlan
    from kisubstrate.kicad import pcm
    from kisubstrate.model.errors import SpecError
    from kisubstrate.plugin_support.png import encode_png, icon_rgba

    plugin_dir = plugin_dir or plugin_source_dir()
    if plugin_dir is None:
        raise SpecError("plugin sources not found (run from a kisubstrate checkout, or pass --plugin-dir)",
                        field="plugin-dir")
    icon64 = encode_png(icon_rgba(64))
    version = pcm.pcm_version(__version__)
    plan = OutputPlan()
    ipc = pcm.ipc_plugin_files(plugin_dir / "ipc", PACKAGE_DIR, version=__version__,
                               requirements=runtime_requirements(), list_icon=icon64)
    try:  # the dialog starts from a family's example: ship them where kisubstrate.model.examples.examples_dir looks
        from kisubstrate.model.examples import examples_dir

        for path in sorted(examples_dir().iterdir()):
            if path.is_file() and path.suffix in (".yaml", ".csv"):
                ipc[f"plugins/kisubstrate/data/examples/{path.name}"] = path.read_bytes()
    except Exception:  # noqa: BLE001 - examples are a convenience
        pass
    plan.add(output / f"kisubstrate-plugin-{version}.zip", pcm.deterministic_zip(ipc))
    swig = pcm.swig_plugin_files(plugin_dir / "swig", version=__version__, list_icon=icon64)
    plan.add(output / f"kisubstrate-swig-plugin-{version}.zip", pcm.deterministic_zip(swig))
    with tempfile.TemporaryDirectory(prefix="kisubstrate-pcm-") as tmp:
        if library is None:
            library = _example_library(Path(tmp))
        elif library.suffix != ".pretty" or not library.is_dir():
            raise SpecError(f"'{library}' is not a .pretty folder", field="library")
        if models is None and library.with_suffix(".3dshapes").is_dir():
            models = library.with_suffix(".3dshapes")
        symbols = library.with_suffix(".kicad_sym")
        lib = pcm.library_files(library, version=__version__, list_icon=icon64, models=models,
                                symbols=symbols if symbols.is_file() else None)
        if not any(k.endswith(".kicad_mod") for k in lib):
            raise SpecError(f"'{library}' holds no .kicad_mod footprints", field="library")
        plan.add(output / f"kisubstrate-library-{library.stem}-{version}.zip", pcm.deterministic_zip(lib))
    plan.commit(force=True)
    return sorted(plan.files)
