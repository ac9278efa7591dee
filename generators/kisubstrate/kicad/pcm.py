"""KiCad Plugin and Content Manager (PCM) packages: ``metadata.json`` and deterministic zips.

Three archives, each installable with KiCad's "Install from File…":

* the **IPC plugin** (``"runtime": "ipc"``): ``plugins/`` holds plugin.json, the entrypoints,
  icons and a vendored copy of the pure-Python ``kisubstrate`` package; its requirements.txt
  lists only the dependencies from PyPI (shapely, pydantic, … and kicad-python);
* the **SWIG plugin** (separate, so KiCad 9 never loads the IPC and the SWIG plugin from one
  folder and shows two buttons);
* a **footprint library**: ``footprints/<Lib>.pretty`` (+ ``3dmodels/<Lib>.3dshapes``).

Zips are byte-identical for the same input: sorted entries, fixed 1980-01-01 timestamps,
mode 0644, no extra fields.

Example:
    >>> data = deterministic_zip({"b.txt": b"2", "a.txt": b"1"})
    >>> import io, zipfile
    >>> z = zipfile.ZipFile(io.BytesIO(data))
    >>> [i.filename for i in z.infolist()], z.infolist()[0].date_time
    (['a.txt', 'b.txt'], (1980, 1, 1, 0, 0, 0))
    >>> data == deterministic_zip({"a.txt": b"1", "b.txt": b"2"})
    True
"""

from __future__ import annotations

import io
import json
import re
import zipfile
from pathlib import Path
from typing import Any

PCM_SCHEMA_URL = "https://go.kicad.org/pcm/schemas/v1"
FIXED_DATE = (1980, 1, 1, 0, 0, 0)
KICAD_VERSION = "9.0"
AUTHOR = {"name": "kisubstrate contributors", "contact": {"project": "kisubstrate (see its README)"}}
IDENTIFIERS = {"ipc": "kisubstrate.plugin", "swig": "kisubstrate.swig", "library": "kisubstrate.library"}


def deterministic_zip(files: dict[str, bytes]) -> bytes:
    """A zip of ``{archive path: bytes}``: sorted, fixed timestamps, 0644, deflated."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name in sorted(files):
            info = zipfile.ZipInfo(name, date_time=FIXED_DATE)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.create_system = 3  # unix, so the mode below is honoured
            info.external_attr = (0o100644 & 0xFFFF) << 16
            zf.writestr(info, files[name], compresslevel=9)
    return buf.getvalue()


def pcm_version(version: str) -> str:
    r"""A PCM version string (``^\d{1,4}(\.\d{1,4}(\.\d{1,6})?)?$``) from a Python version.

    Example:
        >>> pcm_version("0.1.0"), pcm_version("1.2.3.dev4+g1234")
        ('0.1.0', '1.2.3')
    """
    m = re.match(r"^(\d{1,4})(\.\d{1,4})?(\.\d{1,6})?", version)
    return "".join(g for g in m.groups() if g) if m else "0.0.1"


def metadata(kind: str, *, version: str, name: str, description: str, description_full: str,
             license: str = "MIT", tags: list[str] | None = None, runtime: str | None = None) -> dict[str, Any]:
    """``metadata.json`` of one package (``kind``: ``ipc``, ``swig`` or ``library``).

    Args:
        kind: ``ipc``, ``swig`` or ``library``: picks the PCM identifier and the type (plugin or library).
        version: the Python package version; written as :func:`pcm_version` of it.
        name: the package name shown in the PCM list.
        description: one-line summary shown in the PCM list.
        description_full: the longer text shown on the package's PCM page.
        license: SPDX licence identifier (``MIT`` for the plugins, ``CC-BY-SA-4.0`` for footprints).
        tags: PCM search tags; None for none.
        runtime: ``ipc`` or ``swig`` for a plugin (the version entry's ``runtime``); None omits it.

    Example:
        >>> m = metadata("library", version="0.2.0.dev1", name="L", description="d", description_full="D")
        >>> m["identifier"], m["type"], m["versions"][0]["version"]
        ('kisubstrate.library', 'library', '0.2.0')
    """
    entry: dict[str, Any] = {"version": pcm_version(version), "status": "testing", "kicad_version": KICAD_VERSION}
    if runtime:
        entry["runtime"] = runtime
    return {
        "$schema": PCM_SCHEMA_URL,
        "name": name,
        "description": description,
        "description_full": description_full,
        "identifier": IDENTIFIERS[kind],
        "type": "library" if kind == "library" else "plugin",
        "author": AUTHOR,
        "license": license,
        "resources": {},
        "tags": tags or [],
        "versions": [entry],
    }


def _tree(folder: Path, prefix: str, *, skip=("__pycache__",),
          suffixes: tuple[str, ...] | None = None) -> dict[str, bytes]:
    out = {}
    for path in sorted(folder.rglob("*")):
        rel = path.relative_to(folder)
        if not path.is_file() or any(p in skip or p.startswith(".") for p in rel.parts):
            continue
        if suffixes and path.suffix not in suffixes:
            continue
        out[f"{prefix}/{rel.as_posix()}"] = path.read_bytes()
    return out


def _meta_bytes(meta: dict[str, Any]) -> bytes:
    return (json.dumps(meta, indent=2, ensure_ascii=False) + "\n").encode("utf-8")


def ipc_plugin_files(plugin_dir: Path, core_dir: Path, *, version: str, requirements: list[str],
                     list_icon: bytes) -> dict[str, bytes]:
    """Files of the IPC plugin package (``plugin_dir`` = ``plugin/ipc``, ``core_dir`` = the package).

    Args:
        plugin_dir: the IPC plugin folder (``plugin/ipc``: plugin.json, entrypoints, icons), zipped
            under ``plugins/``.
        core_dir: the ``kisubstrate`` package folder, vendored under ``plugins/kisubstrate``
            (only ``.py``, ``.yaml``, ``.csv`` and ``.typed`` files).
        version: the Python package version (see :func:`metadata`).
        requirements: requirement lines for the plugin's ``requirements.txt`` (PyPI dependencies).
        list_icon: PNG bytes of the icon shown in the PCM list (``resources/icon.png``).

    Returns:
        Archive path → file bytes, ready for :func:`deterministic_zip`.
    """
    files = _tree(plugin_dir, "plugins")
    files.update(_tree(core_dir, "plugins/kisubstrate", suffixes=(".py", ".yaml", ".csv", ".typed")))
    files["plugins/requirements.txt"] = ("# installed by KiCad into the plugin's venv; kisubstrate itself is vendored\n"
                                         + "\n".join(requirements) + "\n").encode()
    files["resources/icon.png"] = list_icon
    files["metadata.json"] = _meta_bytes(metadata(
        "ipc", version=version, runtime="ipc", tags=["footprint", "bga", "substrate", "generator"],
        name="kisubstrate: package footprints and substrates",
        description="Rule-checked package footprints (BGA, LGA, PGA, WLCSP …) and substrate boards from parameters",
        description_full=("Toolbar buttons in the PCB editor: 'Package footprint…' opens a dialog generated from the "
                          "package spec models (units, limits, help text), shows the rule check and a preview as you "
                          "type, and places the checked footprint on the board as one undo step (optionally saving it "
                          "into a .pretty library). 'Package substrate…' writes a substrate project. Needs KiCad "
                          "9 or 10 with the API enabled (Preferences > Plugins).")))
    return files


def swig_plugin_files(swig_dir: Path, *, version: str, list_icon: bytes) -> dict[str, bytes]:
    """Files of the legacy SWIG plugin package (``swig_dir`` = ``plugin/swig``).

    Args:
        swig_dir: the SWIG plugin folder (``plugin/swig``), zipped under ``plugins/``.
        version: the Python package version (see :func:`metadata`).
        list_icon: PNG bytes of the icon shown in the PCM list (``resources/icon.png``).

    Returns:
        Archive path → file bytes, ready for :func:`deterministic_zip`.
    """
    files = _tree(swig_dir, "plugins")
    files["resources/icon.png"] = list_icon
    files["metadata.json"] = _meta_bytes(metadata(
        "swig", version=version, runtime="swig", tags=["footprint", "bga", "generator"],
        name="kisubstrate: package footprint (legacy button)",
        description="Adds a rule-checked package footprint from a kisubstrate spec file (SWIG plugin, KiCad 8 to 10)",
        description_full=("For KiCad without the IPC API. The button asks for a kisubstrate spec (YAML), runs the "
                          "generator (in KiCad's Python if kisubstrate imports there, else the 'kisubstrate' command: "
                          "install it with pipx or pip) and adds the footprint to the board.")))
    return files


def rewrite_model_paths(text: str, library: str, identifier: str, var: str = "KICAD9_3RD_PARTY") -> str:
    """Point ``(model ".../<library>.3dshapes/x.step")`` at the PCM install location.

    Args:
        text: ``.kicad_mod`` text.
        library: the library name; only model paths into ``<library>.3dshapes/`` are rewritten.
        identifier: the PCM package identifier (``.`` becomes ``_`` in the install folder).
        var: the KiCad path variable of the PCM install root.

    Example:
        >>> rewrite_model_paths('(model "${KICAD9_3DMODEL_DIR}/Lib.3dshapes/A.step"', "Lib", "kisubstrate.library")
        '(model "${KICAD9_3RD_PARTY}/3dmodels/kisubstrate_library/Lib.3dshapes/A.step"'
    """
    target = f"${{{var}}}/3dmodels/{identifier.replace('.', '_')}/{library}.3dshapes/"
    return re.sub(r'\(model "[^"]*/' + re.escape(library) + r'\.3dshapes/', f'(model "{target}', text)


def rewrite_footprint_fields(text: str, library: str) -> str:
    """Point a symbol library's Footprint fields ``<library>:…`` at the library's PCM nickname ``PCM_<library>``.

    KiCad's PCM adds an installed package's ``footprints/<library>.pretty`` to the footprint
    library table as ``PCM_<library>``; the symbols shipped beside it must name that nickname.

    Args:
        text: ``.kicad_sym`` text.
        library: the footprint library name (the ``.pretty`` folder's stem).

    Example:
        >>> rewrite_footprint_fields('(property "Footprint" "Lib:BGA-4"', "Lib")
        '(property "Footprint" "PCM_Lib:BGA-4"'
    """
    head = '(property "Footprint" "'
    return re.sub(re.escape(head + library + ":"), f"{head}PCM_{library}:", text)


def library_files(pretty: Path, *, version: str, list_icon: bytes, models: Path | None = None,
                  symbols: Path | None = None) -> dict[str, bytes]:
    """Files of the footprint library package from a ``.pretty`` folder (+ its ``.3dshapes``).

    Args:
        pretty: the ``<Lib>.pretty`` folder; every ``.kicad_mod`` in it is packaged.
        version: the Python package version (see :func:`metadata`).
        list_icon: PNG bytes of the icon shown in the PCM list (``resources/icon.png``).
        models: the ``<Lib>.3dshapes`` folder: its ``.step`` / ``.stp`` / ``.wrl`` files are packaged
            and the footprints' model paths rewritten to the PCM install location
            (:func:`rewrite_model_paths`); None packages the footprints as they are.
        symbols: a ``.kicad_sym`` library of the footprints' symbols, packaged as ``symbols/<Lib>.kicad_sym``
            with its Footprint fields naming ``PCM_<Lib>`` (:func:`rewrite_footprint_fields`); None: no symbols.

    Returns:
        Archive path → file bytes, ready for :func:`deterministic_zip`.
    """
    lib = pretty.stem
    files: dict[str, bytes] = {}
    for path in sorted(pretty.glob("*.kicad_mod")):
        text = path.read_text(encoding="utf-8")
        if models is not None:
            text = rewrite_model_paths(text, lib, IDENTIFIERS["library"])
        files[f"footprints/{lib}.pretty/{path.name}"] = text.encode("utf-8")
    if models is not None and models.is_dir():
        for path in sorted(models.iterdir()):
            if path.is_file() and path.suffix.lower() in (".step", ".stp", ".wrl"):
                files[f"3dmodels/{lib}.3dshapes/{path.name}"] = path.read_bytes()
    if symbols is not None and symbols.is_file():
        text = rewrite_footprint_fields(symbols.read_text(encoding="utf-8"), lib)
        files[f"symbols/{symbols.name}"] = text.encode("utf-8")
    files["resources/icon.png"] = list_icon
    count = sum(1 for k in files if k.endswith(".kicad_mod"))
    files["metadata.json"] = _meta_bytes(metadata(
        "library", version=version, license="CC-BY-SA-4.0", tags=["footprint", "bga", "lga", "pga", "csp"],
        name=f"kisubstrate footprints: {lib}",
        description=f"{count} rule-checked package footprints generated by kisubstrate",
        description_full=(f"Footprint library {lib} ({count} footprints) generated by kisubstrate from package "
                          "parameters; every clearance checked before writing. KiCad adds it to the footprint "
                          f"library table as PCM_{lib}.")))
    return files
