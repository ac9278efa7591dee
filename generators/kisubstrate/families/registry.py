"""The family registry: family name → spec model, footprint builder, substrate builder, family checks.

Example:
    >>> from kisubstrate.families.registry import families
    >>> sorted(f for f in families() if f in ("bga", "lga", "pga", "wlcsp"))
    ['bga', 'lga', 'pga', 'wlcsp']
"""

from __future__ import annotations

import importlib
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

from kisubstrate.families import FAMILY_MODULES
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
    """Add a family to the registry (a module of this package calls this at import time).

    Args:
        fam: the family; its name must have a line in :data:`kisubstrate.families.FAMILY_MODULES`
            naming the calling module (lookups import only that module).

    Raises:
        ValueError: the name is registered twice, or its table line is missing or names another module.
    """
    caller = sys._getframe(1).f_globals.get("__name__", "?")
    module = FAMILY_MODULES.get(fam.name)
    if module is None or caller != f"{__package__}.{module}":
        found = f"says '{module}'" if module else "has no line for it"
        raise ValueError(f"family '{fam.name}' is registered by {caller}, but FAMILY_MODULES "
                         f"({__package__.replace('.', '/')}/__init__.py) {found}; it needs the line "
                         f"\"{fam.name}\": \"{caller.rpartition('.')[2]}\",")
    if fam.name in _REGISTRY and _REGISTRY[fam.name] is not fam:
        raise ValueError(f"family '{fam.name}' registered twice")
    _REGISTRY[fam.name] = fam
    return fam


def names() -> list[str]:
    """Every family name, sorted (from :data:`kisubstrate.families.FAMILY_MODULES`: imports no family)."""
    return sorted(FAMILY_MODULES)


def discover() -> None:
    """Import every module of ``kisubstrate.families`` so that each registers itself."""
    global _DISCOVERED
    if _DISCOVERED:
        return
    import pkgutil

    import kisubstrate.families as pkg

    for info in sorted(pkgutil.iter_modules(pkg.__path__), key=lambda m: m.name):
        if info.name != "registry" and not info.name.startswith("_"):
            importlib.import_module(f"{pkg.__name__}.{info.name}")
    _DISCOVERED = True


def families() -> dict[str, Family]:
    """All registered families by name, sorted by name (imports every family module)."""
    discover()
    return {name: _REGISTRY[name] for name in sorted(_REGISTRY)}


def get(name: str) -> Family:
    """The family called ``name``, importing only the module that registers it.

    Args:
        name: a family name (the ``family:`` value of a spec).

    Raises:
        KeyError: ``name`` is not a family.
    """
    fam = _REGISTRY.get(name)
    if fam is not None:
        return fam
    if name not in FAMILY_MODULES:
        raise KeyError(name)
    importlib.import_module(f"{__package__}.{FAMILY_MODULES[name]}")
    if name not in _REGISTRY:
        raise KeyError(f"{name} (FAMILY_MODULES names module '{FAMILY_MODULES[name]}', which does not register it)")
    return _REGISTRY[name]


def is_flipped(name: str) -> bool:
    """True if the family called ``name`` mounts flipped (``Family.flipped``); False if unknown.

    Args:
        name: a family name.
    """
    return name in FAMILY_MODULES and get(name).flipped


def load_file(path: str | Path) -> list[LoadedSpec]:
    """Every package of one spec file, validated by its family's model.

    Args:
        path: a YAML spec file with ``packages:``.

    Raises:
        SpecError: the first problem found, located (file, package, line, field).
    """
    return load_spec_file(path, lambda f: get(f).spec, names())


def example_spec(name: str) -> Any:
    """The first package of the bundled example ``<name>.yaml``, validated (for docs and tests).

    Example:
        >>> example_spec("bga").family
        'bga'
    """
    return load_file(examples_dir() / f"{name}.yaml")[0].spec
