"""The family registry: family name → spec model, footprint builder, substrate builder, family checks.

Example:
    >>> from kisubstrate.families.registry import families
    >>> sorted(f for f in families() if f in ("bga", "lga", "pga", "wlcsp"))
    ['bga', 'lga', 'pga', 'wlcsp']
"""

from __future__ import annotations

import importlib
import pkgutil
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

from kisubstrate.model.examples import examples_dir
from kisubstrate.model.loader import LoadedSpec, load_spec_file

if TYPE_CHECKING:  # annotations only: the registry stays light for ``kisubstrate footprint``
    from kisubstrate.geometry.board import BoardGeom
    from kisubstrate.rules.report import Violation

FootprintBuilder = Callable[[Any], Any]
FamilyCheck = Callable[[Any, "BoardGeom", Any], "list[Violation]"]
"""A family-specific board check ``(spec, board, rules) -> list[Violation]``: the validated spec, its
built substrate :class:`~kisubstrate.geometry.board.BoardGeom` and the substrate rule profile
(:class:`~kisubstrate.model.substrate.SubstrateRules`); lengths in mm."""


@dataclass(frozen=True)
class Family:
    """A registered package family.

    Attributes:
        name: the ``family:`` value in specs.
        spec: pydantic model validating the spec.
        footprint: builds the board-side footprint(s) ``(spec) -> list[FootprintGeom]``, or None.
        substrate: builds the package substrate board ``(spec) -> BoardGeom``, or None.
        summary: one line for ``kisubstrate list`` and the plugin dialog.
        checks: family-specific board rules (:data:`FamilyCheck`), run by
            :func:`kisubstrate.api.substrate.build_substrate` after the board checks, in this order
            (e.g. the cavity's floor and wall rules, the PoP z-stack).
        flipped: the package mounts with the substrate's ``F.Cu`` side (physical copper 1) towards
            the PCB, so its footprint is the board's terminals mirrored in x (see
            :mod:`kisubstrate.geometry.terminals` for the viewing convention).
    """

    name: str
    spec: type
    footprint: Callable[[Any], list] | None = None
    substrate: Callable[[Any], Any] | None = None
    summary: str = ""
    flipped: bool = False
    checks: tuple[FamilyCheck, ...] = ()


_REGISTRY: dict[str, Family] = {}
_DISCOVERED = False


def register(fam: Family) -> Family:
    """Add a family to the registry (a module calls this at import time)."""
    if fam.name in _REGISTRY and _REGISTRY[fam.name] is not fam:
        raise ValueError(f"family '{fam.name}' registered twice")
    _REGISTRY[fam.name] = fam
    return fam


def discover() -> None:
    """Import every module of ``kisubstrate.families`` so that each registers itself."""
    global _DISCOVERED
    if _DISCOVERED:
        return
    import kisubstrate.families as pkg

    for info in sorted(pkgutil.iter_modules(pkg.__path__), key=lambda m: m.name):
        if info.name != "registry" and not info.name.startswith("_"):
            importlib.import_module(f"{pkg.__name__}.{info.name}")
    _DISCOVERED = True


def families() -> dict[str, Family]:
    """All registered families by name."""
    discover()
    return dict(_REGISTRY)


def get(name: str) -> Family:
    """The family called ``name`` (KeyError if unknown)."""
    discover()
    return _REGISTRY[name]


def is_flipped(name: str) -> bool:
    """True if the family called ``name`` mounts flipped (``Family.flipped``); False if unknown."""
    discover()
    fam = _REGISTRY.get(name)
    return bool(fam is not None and fam.flipped)


def load_file(path: str | Path) -> list[LoadedSpec]:
    """Every package of one spec file, validated by its family's model.

    Args:
        path: a YAML spec file with ``packages:``.

    Raises:
        SpecError: the first problem found, located (file, package, line, field).
    """
    fams = families()
    return load_spec_file(path, lambda f: fams[f].spec, sorted(fams))


def example_spec(name: str) -> Any:
    """The first package of the bundled example ``<name>.yaml``, validated (for docs and tests).

    Example:
        >>> example_spec("bga").family
        'bga'
    """
    return load_file(examples_dir() / f"{name}.yaml")[0].spec
