"""The KiCad release a file is written for: 9 (format ``20241229``) or 10 (format ``20260206``).

A plain ``kicad: int`` parameter travels from the front ends (``--kicad 9|10``, the plugin)
through the API to the writers; nothing below the front ends probes which KiCad is installed.

* **9** writes what KiCad 9.0 reads (and KiCad 10 upgrades on load): numbered nets with a
  net table, ``(tenting front back)``, one ``blind`` via type for blind and buried vias.
* **10** writes KiCad 10's own format: nets by name (no net table), IPC-4761 via
  protection per side (``tenting``, ``covering``, ``plugging``) and ``capping`` / ``filling``
  in the board setup and on the vias that need it (filled and capped, Type VII: stacked
  microvias and vias in pads), and ``buried`` for vias that reach neither outer layer.
  KiCad 9 cannot read these files.

Example:
    >>> format_version(9), format_version(10)
    (20241229, 20260206)
    >>> check_kicad("10")
    10
"""

from __future__ import annotations

from kisubstrate.model.errors import SpecError

KICAD_VERSIONS = (9, 10)
"""KiCad major releases kisubstrate writes for."""
DEFAULT_KICAD = 9
"""The release written when none is named and no kicad-cli tells (the one both releases read)."""
FORMAT_VERSIONS = {9: 20241229, 10: 20260206}
"""Board and footprint file format (``(version …)``) per KiCad major release."""


def check_kicad(kicad: int | str) -> int:
    """The KiCad major release as an int, or a located error.

    Args:
        kicad: 9 or 10 (an int or its text, e.g. from a dialog).

    Raises:
        SpecError: not one of :data:`KICAD_VERSIONS` (field ``kicad``).

    Example:
        >>> check_kicad(8)
        Traceback (most recent call last):
        ...
        kisubstrate.model.errors.SpecError: field 'kicad': KiCad 8 is not a target: write for 9 or 10
    """
    try:
        value = int(kicad)
    except (TypeError, ValueError):
        value = None
    if value not in KICAD_VERSIONS:
        raise SpecError(f"KiCad {kicad} is not a target: write for {' or '.join(map(str, KICAD_VERSIONS))}",
                        field="kicad")
    return value


def format_version(kicad: int) -> int:
    """The ``(version …)`` of boards and footprints written for KiCad ``kicad`` (9 or 10).

    Args:
        kicad: the KiCad major release (9 or 10).

    Raises:
        SpecError: ``kicad`` is not 9 or 10.
    """
    return FORMAT_VERSIONS[check_kicad(kicad)]


def release_for(major: int | None) -> int:
    """The release to write for when KiCad ``major`` is installed: 9 up to 9, 10 from 10 on, 9 if unknown.

    Args:
        major: the installed KiCad's major version, or None when there is none.

    Example:
        >>> release_for(None), release_for(8), release_for(9), release_for(10), release_for(11)
        (9, 9, 9, 10, 10)
    """
    if major is None or major < 10:
        return DEFAULT_KICAD
    return 10


def versioned_vars(text: str, kicad: int) -> str:
    """``text`` with KiCad 9's path variables (``${KICAD9_…}``) renamed for release ``kicad``.

    Args:
        text: a path or file text, e.g. ``${KICAD9_3DMODEL_DIR}/Lib.3dshapes/A.wrl``.
        kicad: the KiCad major release (9 or 10).

    Example:
        >>> versioned_vars("${KICAD9_3RD_PARTY}/3dmodels/x/A.wrl", 10)
        '${KICAD10_3RD_PARTY}/3dmodels/x/A.wrl'
    """
    kicad = check_kicad(kicad)
    return text if kicad == 9 else text.replace("${KICAD9_", f"${{KICAD{kicad}_")


def path_var(name: str, kicad: int) -> str:
    """KiCad's versioned path variable ``name`` for release ``kicad``.

    Args:
        name: the variable without its version prefix, e.g. ``3DMODEL_DIR``.
        kicad: the KiCad major release (9 or 10).

    Example:
        >>> path_var("3RD_PARTY", 10)
        'KICAD10_3RD_PARTY'
    """
    return f"KICAD{check_kicad(kicad)}_{name}"
