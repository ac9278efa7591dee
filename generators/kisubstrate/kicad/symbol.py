r"""SymbolGeom → ``.kicad_sym`` text: a KiCad symbol library, in KiCad 9's format (``20241209``).

KiCad 10 reads this format (and upgrades it on save), so one file serves both releases. The
layout is KiCad's own: ``kicad-cli sym upgrade --force`` rewrites it byte for byte. Every name
(symbol, pins, fields) goes through :func:`~kisubstrate.kicad.sexpr.quote`, so net names with
spaces, quotes, ``/`` or KiCad markup (``V_{DDQ}``) are safe. Stacked pins (one visible, the
others hidden at the same place) are written as KiCad 9 and 10 both read them.

Example:
    >>> from kisubstrate.geometry.symbol import build_symbol
    >>> text = write_symbol_library([build_symbol("P", ["A1", "A2"], ["GND", 'V"Q'], footprint="L:P")])
    >>> [line.strip() for line in text.splitlines()[1:3]], '(name "V\\"Q"' in text
    (['(version 20241209)', '(generator "kisubstrate")'], True)
"""

from __future__ import annotations

from typing import Iterable

from kisubstrate import GENERATOR, __version__
from kisubstrate.geometry.symbol import FONT, NAME_OFFSET, PIN_LENGTH, SymbolGeom, SymbolPin
from kisubstrate.kicad.sexpr import Q, S, dumps

SYMBOL_FORMAT = 20241209
"""KiCad 9's symbol library format (KiCad 10 reads it)."""
GENERATOR_VERSION = ".".join(__version__.split(".")[:2])


def _effects(*extra: S) -> S:
    return S("effects", S("font", S("size", FONT, FONT)), *extra)


def _prop(name: str, value: str, at: tuple[float, float], *, hide: bool = False, justify: str | None = None) -> S:
    return S("property", Q(name), Q(value), S("at", float(at[0]), float(at[1]), 0),
             _effects(S("justify", justify) if justify else None, S("hide", "yes") if hide else None))


def _pin(p: SymbolPin) -> S:
    return S("pin", p.etype, "line", S("at", float(p.x), float(p.y), p.angle), S("length", PIN_LENGTH),
             S("hide", "yes") if p.hidden else None,
             S("name", Q(p.name), _effects()), S("number", Q(p.number), _effects()))


def _kicad_order(p: SymbolPin) -> tuple[float, float, str]:
    """KiCad saves a unit's pins by x, then y from the top, then number (as text)."""
    return p.x, -p.y, p.number


def symbol_node(sym: SymbolGeom) -> S:
    """One ``(symbol …)`` node: fields, body (unit 0) and pins (unit 1).

    Args:
        sym: the symbol (see :func:`kisubstrate.geometry.symbol.build_symbol`).
    """
    x0, y0, x1, y1 = sym.body
    body = S("rectangle", S("start", float(x0), float(y0)), S("end", float(x1), float(y1)),
             S("stroke", S("width", 0.254), S("type", "default")), S("fill", S("type", "background")))
    return S("symbol", Q(sym.name), S("pin_names", S("offset", NAME_OFFSET)), S("exclude_from_sim", "no"),
             S("in_bom", "yes"), S("on_board", "yes"),
             _prop("Reference", "U", sym.reference_at, justify="left"),
             _prop("Value", sym.name, sym.value_at, justify="right"),
             _prop("Footprint", sym.footprint, (0, 0), hide=True),
             _prop("Datasheet", sym.datasheet, (0, 0), hide=True),
             _prop("Description", sym.description, (0, 0), hide=True),
             _prop("ki_keywords", sym.keywords, (0, 0), hide=True) if sym.keywords else None,
             _prop("ki_fp_filters", sym.footprint.rpartition(":")[2], (0, 0), hide=True),
             S("symbol", Q(f"{sym.name}_0_1"), body),
             S("symbol", Q(f"{sym.name}_1_1"), *[_pin(p) for p in sorted(sym.pins, key=_kicad_order)]),
             S("embedded_fonts", "no"))


def write_symbol_library(symbols: Iterable[SymbolGeom]) -> str:
    """A ``.kicad_sym`` library holding ``symbols`` (sorted by name; deterministic, LF, final newline).

    Args:
        symbols: the symbols; names must differ.

    Raises:
        ValueError: two symbols share a name.
    """
    items = sorted(symbols, key=lambda s: s.name)
    names = [s.name for s in items]
    if len(set(names)) != len(names):
        dup = next(n for n in names if names.count(n) > 1)
        raise ValueError(f"two symbols are named '{dup}'")
    root = S("kicad_symbol_lib", S("version", SYMBOL_FORMAT), S("generator", Q(GENERATOR)),
             S("generator_version", Q(GENERATOR_VERSION)), *[symbol_node(s) for s in items])
    return dumps(root) + "\n"
