"""Where the bundled example specs are (neutral: no front end, no click).

Example:
    >>> sorted(p.name for p in examples_dir().glob("bga.yaml"))
    ['bga.yaml']
"""

from __future__ import annotations

from pathlib import Path

from kisubstrate.model.errors import SpecError


def examples_dir() -> Path:
    """The bundled example specs: ``footprints/examples`` of a checkout, else the installed copy.

    Raises:
        SpecError: neither folder holds a ``*.yaml`` spec (a broken install).
    """
    package = Path(__file__).resolve().parent.parent
    for candidate in (package.parent.parent / "footprints" / "examples", package / "data" / "examples"):
        if candidate.is_dir() and any(candidate.glob("*.yaml")):
            return candidate
    raise SpecError("bundled example specs not found (footprints/examples or kisubstrate/data/examples)")
