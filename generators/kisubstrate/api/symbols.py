"""Schematic symbols of packages with a ball map: from a built footprint or a substrate board.

A footprint whose pads carry nets (a ``ball_map`` with a ``ball,net`` list) gets a symbol with
one pin per pad; a substrate board gets one with one pin per terminal ball (``BALLS``), named by
the net the board routes to it (unrouted balls are NC pins). The Footprint field is
``<lib>:<footprint name>``, the Datasheet the spec's ``source``. One ``.kicad_sym`` per run:
``kisubstrate footprint … -o DIR/<Lib>.pretty`` writes ``DIR/<Lib>.kicad_sym``.

Example:
    >>> from kisubstrate.api.footprint import build_footprints
    >>> from kisubstrate.families.registry import example_spec
    >>> res = build_footprints(example_spec("bga"))[0]
    >>> footprint_symbol(res, "Lib") is None  # no ball map with nets: no symbol
    True
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Iterable

from kisubstrate.geometry.symbol import SymbolGeom, build_symbol
from kisubstrate.kicad.sexpr import quote
from kisubstrate.kicad.symbol import write_symbol_library

TERMINAL_OWNER = "BALLS"
"""Pad owner of a substrate board's terminal balls (:func:`kisubstrate.geometry.terminals.place_terminal_lands`)."""


def _fields(spec: Any, family: str, count: int, origin: str) -> dict[str, str]:
    source = (getattr(spec, "source", "") or "").strip()
    return {"datasheet": source,
            "description": f"{count}-terminal {family} package, one pin per terminal, named by {origin} (kisubstrate)",
            "keywords": f"{family} package ball map kisubstrate"}


def symbol_from_balls(name: str, balls: list[str], nets: list[str], *, lib: str, spec: Any, family: str,
                      origin: str) -> SymbolGeom | None:
    """The symbol of footprint ``name`` with pins ``balls`` on ``nets``, or None when no ball has a net.

    Args:
        name: footprint name (also the symbol's name and value).
        balls: ball names (pad numbers); a name given twice keeps its first net.
        nets: net of each ball ("" = none).
        lib: footprint library nickname, for the Footprint field ``<lib>:<name>``.
        spec: the package spec (its ``source`` becomes the Datasheet field).
        family: the package family, for the description and keywords.
        origin: where the nets came from, for the description (e.g. ``the nets of its ball map``).
    """
    if not any(n.strip() for n in nets):
        return None
    first: dict[str, str] = {}
    for ball, net in zip(balls, nets):
        first.setdefault(ball, net)
    return build_symbol(name, list(first), list(first.values()), footprint=f"{lib}:{name}",
                        **_fields(spec, family, len(first), origin))


def footprint_symbol(result: Any, lib: str) -> SymbolGeom | None:
    """The symbol of a built footprint whose pads carry nets (from a ball map), else None.

    Args:
        result: a :class:`~kisubstrate.api.footprint.FootprintResult`.
        lib: the footprint library nickname (e.g. the ``.pretty`` folder's stem).
    """
    g = result.geometry
    balls: list[str] = []
    nets: list[str] = []
    for grp in g.pads:
        if grp.kind == "np_thru_hole":
            continue
        balls += list(grp.names)
        nets += list(grp.nets) if grp.nets is not None else [""] * len(grp)
    family = getattr(result.spec, "family", g.family)
    return symbol_from_balls(g.name, balls, nets, lib=lib, spec=result.spec, family=family,
                             origin="the nets of its ball map")


def board_footprint_name(spec: Any) -> str:
    """Name of the board-side footprint of a substrate spec (the first one its family writes).

    Args:
        spec: a validated substrate spec.
    """
    if hasattr(spec, "footprint_specs"):
        return spec.footprint_specs()[0].resolved_name
    if hasattr(spec, "footprint_spec"):
        return spec.footprint_spec().resolved_name
    return f"{spec.resolved_name}_Footprint"


def substrate_symbol(result: Any, lib: str) -> SymbolGeom | None:
    """The symbol of a substrate package: one pin per terminal ball, named by the net routed to it.

    Args:
        result: a :class:`~kisubstrate.api.substrate.SubstrateResult`.
        lib: the footprint library nickname holding the package's board-side footprint.

    Returns:
        The symbol, or None when no terminal ball carries a net.
    """
    board = result.board
    pads = board.pads
    idx = [i for i, owner in enumerate(pads.owner) if owner == TERMINAL_OWNER]
    balls = [pads.name[i] for i in idx]
    nets = [board.nets[int(pads.net[i])] if int(pads.net[i]) else "" for i in idx]
    return symbol_from_balls(board_footprint_name(result.spec), balls, nets, lib=lib, spec=result.spec,
                             family=result.spec.family, origin="the substrate's routed nets")


def symbol_library_text(symbols: Iterable[SymbolGeom | None]) -> str | None:
    """The ``.kicad_sym`` text of the symbols (None entries skipped; one per name), or None if there are none.

    Args:
        symbols: symbols from :func:`footprint_symbol` / :func:`substrate_symbol`; a later symbol of a
            name already given is dropped (a substrate's footprint and board give the same package).
    """
    by_name: dict[str, SymbolGeom] = {}
    for s in symbols:
        if s is not None:
            by_name.setdefault(s.name, s)
    return write_symbol_library(by_name.values()) if by_name else None


def sym_lib_table(name: str, uri: str, descr: str = "") -> str:
    """A ``sym-lib-table`` holding one row (paste the row into a project or global table).

    Args:
        name: the library nickname, e.g. ``kisubstrate_Packages``.
        uri: where the ``.kicad_sym`` is, e.g. ``${KIPRJMOD}/kisubstrate_Packages.kicad_sym``.
        descr: a one-line description.

    Example:
        >>> sym_lib_table("L", "${KIPRJMOD}/L.kicad_sym").splitlines()[2].strip()
        '(lib (name "L")(type "KiCad")(uri "${KIPRJMOD}/L.kicad_sym")(options "")(descr ""))'
    """
    return ("(sym_lib_table\n\t(version 7)\n"
            f"\t(lib (name {quote(name)})(type \"KiCad\")(uri {quote(uri)})(options \"\")(descr {quote(descr)}))\n)\n")


def footprint_symbol_file(results: Iterable[Any], pretty: str | Path) -> list[tuple[Path, str]]:
    """``[(DIR/<Lib>.kicad_sym, text)]`` for the footprints of ``results`` that carry nets; [] if none does.

    The library is the one of this run: it holds the symbols of ``results`` only.

    Args:
        results: :class:`~kisubstrate.api.footprint.FootprintResult` objects.
        pretty: their library folder ``DIR/<Lib>.pretty``; the symbols' Footprint fields name ``<Lib>``.

    Example:
        >>> from kisubstrate.api.footprint import build_footprints
        >>> from kisubstrate.families.registry import example_spec
        >>> footprint_symbol_file(build_footprints(example_spec("lga")), "out/Mine.pretty")
        []
    """
    pretty = Path(pretty)
    text = symbol_library_text(footprint_symbol(r, pretty.stem) for r in results)
    return [] if text is None else [(pretty.parent / f"{pretty.stem}.kicad_sym", text)]
