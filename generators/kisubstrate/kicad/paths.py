"""KiCad path templates: where a footprint's 3D model and a library's fp-lib-table row point.

Modes: ``project`` (``${KIPRJMOD}``, a library beside the ``.kicad_pro``), ``pcm`` (installed
by KiCad's Plugin and Content Manager), ``stock`` (KiCad's own library folders), or a
template with ``{lib}`` and ``{name}``.

Example:
    >>> model_path("My_BGA", "BGA-4", "project")
    '${KIPRJMOD}/My_BGA.3dshapes/BGA-4.wrl'
    >>> lib_uri("My_BGA", "pcm", pcm_dir="org_x_lib")
    '${KICAD9_3RD_PARTY}/footprints/org_x_lib/My_BGA.pretty'
"""

from __future__ import annotations

from kisubstrate.kicad.target import versioned_vars
from kisubstrate.model.base import text_problem
from kisubstrate.model.errors import SpecError, clip

MODEL_PRESETS = {
    "project": "${KIPRJMOD}/{lib}.3dshapes/{name}.wrl",
    "pcm": "${KICAD9_3RD_PARTY}/3dmodels/{pcm_dir}/{lib}.3dshapes/{name}.wrl",
    "stock": "${KICAD9_3DMODEL_DIR}/{lib}.3dshapes/{name}.wrl",
}
LIB_URI = {
    "project": "${KIPRJMOD}/{lib}.pretty",
    "pcm": "${KICAD9_3RD_PARTY}/footprints/{pcm_dir}/{lib}.pretty",
    "stock": "${KICAD9_FOOTPRINT_DIR}/{lib}.pretty",
}
SYM_URI = {
    "project": "${KIPRJMOD}/{lib}.kicad_sym",
    "pcm": "${KICAD9_3RD_PARTY}/symbols/{pcm_dir}/{lib}.kicad_sym",
    "stock": "${KICAD9_SYMBOL_DIR}/{lib}.kicad_sym",
}
DEFAULT_PCM_DIR = "kisubstrate_library"


def fill(template: str, **values: str) -> str:
    """Replace ``{key}`` placeholders (not str.format: KiCad's ``${VAR}`` stays as it is).

    Args:
        template: text with ``{key}`` placeholders.
        values: key → replacement text.

    Example:
        >>> fill("${KIPRJMOD}/{lib}", lib="A")
        '${KIPRJMOD}/A'
    """
    for key, value in values.items():
        template = template.replace("{" + key + "}", value)
    return template


def model_path(lib: str, name: str, mode: str, *, pcm_dir: str = DEFAULT_PCM_DIR, kicad: int = 9) -> str:
    """The 3D model path written into footprint ``name`` of library ``lib``.

    Args:
        lib: library name (the ``.pretty`` folder's stem).
        name: footprint name.
        mode: ``project``, ``pcm``, ``stock`` or a template with ``{lib}`` and ``{name}``.
        pcm_dir: the PCM install folder name (identifier with '.' → '_').
        kicad: the KiCad release (9 or 10) whose path variables ``pcm`` and ``stock`` use
            (``${KICAD9_3RD_PARTY}`` / ``${KICAD10_3RD_PARTY}``).

    Raises:
        SpecError: ``mode`` is neither a preset nor a template with ``{name}`` (field ``models``).
    """
    template = MODEL_PRESETS.get(mode)
    if template is None:
        if "{name}" not in mode:
            raise SpecError(f"models must be one of {', '.join(MODEL_PRESETS)} or a template with "
                            "{lib} and {name}", field="models")
        problem = text_problem(mode)
        if problem:  # the template becomes the (model …) path inside every footprint
            raise SpecError(f"models template {problem} (got {clip(mode)})", field="models")
        template = mode
    return versioned_vars(fill(template, lib=lib, name=name, pcm_dir=pcm_dir), kicad)


def lib_uri(lib: str, mode: str, *, pcm_dir: str = DEFAULT_PCM_DIR, kicad: int = 9) -> str:
    """The ``uri`` of the fp-lib-table row of library ``lib`` matching the model ``mode``.

    Args:
        lib: library name (the ``.pretty`` folder's stem).
        mode: the model mode (``project``, ``pcm``, ``stock``; a template gives the ``project`` row).
        pcm_dir: the PCM install folder name (identifier with '.' → '_').
        kicad: the KiCad release (9 or 10) whose path variables the row uses.
    """
    return versioned_vars(fill(LIB_URI.get(mode, LIB_URI["project"]), lib=lib, pcm_dir=pcm_dir), kicad)


def sym_uri(lib: str, mode: str, *, pcm_dir: str = DEFAULT_PCM_DIR, kicad: int = 9) -> str:
    """The ``uri`` of the sym-lib-table row of symbol library ``lib`` (placed like :func:`lib_uri`).

    Args:
        lib: library name (the ``.kicad_sym`` file's stem).
        mode: the model mode (``project``, ``pcm``, ``stock``; a template gives the ``project`` row).
        pcm_dir: the PCM install folder name (identifier with '.' → '_').
        kicad: the KiCad release (9 or 10) whose path variables the row uses.

    Example:
        >>> sym_uri("Lib", "pcm", kicad=10)
        '${KICAD10_3RD_PARTY}/symbols/kisubstrate_library/Lib.kicad_sym'
    """
    return versioned_vars(fill(SYM_URI.get(mode, SYM_URI["project"]), lib=lib, pcm_dir=pcm_dir), kicad)
