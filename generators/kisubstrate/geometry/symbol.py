"""Schematic symbol of a package from its ball map: one pin per ball, named by net, laid out as KiCad's library does.

Pins are the balls (pin number = ball name, pin name = net, spaces written as ``_`` as KiCad
does). Their electrical type and place follow KiCad's library for FPGAs and SoCs (KLC S4.2, S4.3):

* **supplies** (``VDD…``, ``VCC…``, ``VREF…``, ``+3V3`` …) on the top edge, **grounds** (``GND…``,
  ``VSS…``) on the bottom edge, each net at one place: the first ball (natural order) a visible
  ``power_in`` pin, every other ball of the net a hidden ``passive`` pin stacked on it;
* **signals** split between the left and right edges in natural order (``DQ2`` before
  ``DQ10``), ``bidirectional`` (a signal on several balls is stacked the same way);
* **NC** balls (net ``NC``, ``DNC``, or no net) each a visible ``no_connect`` pin, after the
  signals.

Coordinates are mm in the symbol frame (y up), every pin end on the 2.54 mm (100 mil) grid.
The work is a few sorts: a 1000-ball package costs milliseconds.

Example:
    >>> sym = build_symbol("BGA-4", ["A1", "A2", "B1", "B2"], ["GND", "VDD", "DQ0", ""],
    ...                    footprint="Lib:BGA-4")
    >>> [(p.number, p.name, p.etype, p.angle) for p in sym.pins]
    [('A2', 'VDD', 'power_in', 270), ('B1', 'DQ0', 'bidirectional', 0), ('B2', 'NC', 'no_connect', 180), \
('A1', 'GND', 'power_in', 90)]
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Literal, Sequence

Kind = Literal["supply", "ground", "signal", "nc"]

GRID = 2.54
"""Pin pitch and the grid every pin end sits on (mm, 100 mil: KLC S4.1)."""
PIN_LENGTH = 2.54
"""Pin length (mm)."""
FONT = 1.27
"""Pin name / number and field text height (mm)."""
NAME_OFFSET = 1.016
"""Gap between the body edge and a pin name (mm, KiCad's ``pin_names (offset …)``)."""
CHAR_WIDTH = 1.0 * FONT
"""Width reserved per character of a pin name (mm; KiCad's stroke font is narrower)."""

_SPLIT = re.compile(r"(\d+)")
_TOKEN = re.compile(r"[^A-Z0-9+.]+")
_GROUND = re.compile(r"^(?:[A-Z]{0,2}GND[A-Z0-9]*|VSS[A-Z0-9]*|[AD]VSS[A-Z0-9]*|GROUND|0V|EPAD_GND)$")
_SUPPLY = re.compile(r"^(?:[ADP]?V(?:DD|CC|IO|PP|BAT|IN|SUP|BUS|REF)[A-Z0-9]*|\+\d+(?:\.\d+)?V\d*|\+?\d+V\d+|"
                     r"VCORE|VMEM|VREG)$")
_NOT_POWER = re.compile(r"^(?:SENSE|SNS|FB|MON|EN|PG|PGOOD|GOOD|OK|DET|SEL|CTRL|ADC)\d*$")
_NC = {"NC", "N/C", "N.C.", "DNC", "NO_CONNECT", "NOCONNECT", "NIC"}


def natural_key(text: str) -> tuple:
    """Sort key that orders embedded numbers by value: ``DQ2`` < ``DQ10``, ``A2`` < ``A10`` < ``B1``.

    Args:
        text: a pin, ball or net name.

    Example:
        >>> sorted(["DQ10", "DQ2", "dq1", "A1"], key=natural_key)
        ['A1', 'dq1', 'DQ2', 'DQ10']
    """
    parts = _SPLIT.split(text)
    return tuple(int(p) if i % 2 else p.casefold() for i, p in enumerate(parts)), text


def pin_kind(net: str) -> Kind:
    """How a ball's net is drawn: ``supply``, ``ground``, ``signal`` or ``nc`` (no connection).

    The net name is read as a schematic would: the last part of a hierarchical name
    (``/DDR/VDDQ``), KiCad's subscript / overbar markup dropped (``V_{DD}`` is ``VDD``), then its
    first word decides; ``SENSE`` in it, or a word like ``SENSE`` or ``EN`` after it, makes it a
    signal (``VDDQ_SENSE``, ``GNDSENSE``).

    Args:
        net: the net name from the ball map ("" = no net: the ball is not connected).

    Example:
        >>> [pin_kind(n) for n in ("GND", "AGND2", "VSSQ", "V_{DDQ}", "+3V3", "VDD_SENSE", "DQ0", "", "NC")]
        ['ground', 'ground', 'ground', 'supply', 'supply', 'signal', 'signal', 'nc', 'nc']
    """
    text = net.strip()
    if not text or text.upper() in _NC or re.match(r"^(?:NC|DNC)[_\-]?\d+$", text.upper()):
        return "nc"
    leaf = text.rstrip("/").rsplit("/", 1)[-1] or text
    plain = re.sub(r"[_~^]\{([^}]*)\}", r"\1", leaf).upper()
    words = [w for w in _TOKEN.split(plain) if w]
    if not words:
        return "signal"
    if any(_NOT_POWER.match(w) for w in words[1:]) or re.search(r"SENSE|SNS", words[0]):
        return "signal"
    if _GROUND.match(words[0]):
        return "ground"
    if _SUPPLY.match(words[0]) or (words[0] == "V" and len(words) > 1 and _SUPPLY.match("V" + words[1])):
        return "supply"
    return "signal"


@dataclass(frozen=True)
class SymbolPin:
    """One pin: ``number`` (ball), ``name`` (net), KiCad electrical ``etype``, end point (mm), ``angle``, ``hidden``.

    ``(x, y)`` is the pin's connection end in the symbol frame (mm, y up); ``angle`` the direction
    from there towards the body (0 right, 90 up, 180 left, 270 down), as KiCad writes ``(at x y angle)``.
    """

    number: str
    name: str
    etype: str
    x: float
    y: float
    angle: int
    hidden: bool = False


@dataclass(frozen=True)
class SymbolGeom:
    """A one-unit schematic symbol, in neutral form (mm, y up).

    Attributes:
        name: symbol name (the footprint name).
        pins: every pin, in drawing order: top, left, right, bottom (stacked pins follow their visible pin).
        body: (x0, y0, x1, y1) of the body rectangle, top-left and bottom-right corners (mm).
        footprint: the Footprint field, ``<lib>:<footprint name>``.
        datasheet: the Datasheet field (the spec's ``source``; ``~`` when there is none).
        description: the Description field.
        keywords: the ``ki_keywords`` field.
        reference_at, value_at: where the Reference (``U``) and Value fields sit (mm).
    """

    name: str
    pins: tuple[SymbolPin, ...]
    body: tuple[float, float, float, float]
    footprint: str
    datasheet: str
    description: str
    keywords: str
    reference_at: tuple[float, float]
    value_at: tuple[float, float]

    def counts(self) -> dict[str, int]:
        """Balls per kind: ``supply``, ``ground``, ``signal``, ``nc``."""
        out = {"supply": 0, "ground": 0, "signal": 0, "nc": 0}
        for p in self.pins:
            out[pin_kind("" if p.etype == "no_connect" else p.name)] += 1
        return out


def _snap_up(value: float, step: float) -> float:
    return step * math.ceil(round(value / step, 6))


def _text(name: str) -> float:
    return len(name) * CHAR_WIDTH


def build_symbol(name: str, balls: Sequence[str], nets: Sequence[str], *, footprint: str, datasheet: str = "",
                 description: str = "", keywords: str = "") -> SymbolGeom:
    """The symbol of a package whose balls ``balls`` carry the nets ``nets``.

    Args:
        name: symbol name (e.g. the footprint name).
        balls: ball names (pin numbers), e.g. ``["A1", "A2"]``; each once.
        nets: the net of each ball, same length ("" or ``NC``: not connected).
        footprint: the Footprint field, ``<lib>:<footprint name>``.
        datasheet: the Datasheet field (a URL or a reference; "" writes ``~``).
        description: the Description field.
        keywords: the ``ki_keywords`` field.

    Raises:
        ValueError: ``balls`` and ``nets`` differ in length, or a ball is named twice.

    Example:
        >>> s = build_symbol("X", ["A1", "A2", "A3"], ["GND", "GND", "GND"], footprint="L:X")
        >>> [(p.number, p.etype, p.hidden, p.y) for p in s.pins]
        [('A1', 'power_in', False, -7.62), ('A2', 'passive', True, -7.62), ('A3', 'passive', True, -7.62)]
    """
    if len(balls) != len(nets):
        raise ValueError(f"{len(balls)} balls but {len(nets)} nets")
    if len(set(balls)) != len(balls):
        raise ValueError("a ball is named twice")
    groups: dict[Kind, dict[str, list[str]]] = {"supply": {}, "ground": {}, "signal": {}, "nc": {}}
    for ball, net in zip(balls, nets):
        kind = pin_kind(net)
        key = ball if kind == "nc" else net  # NC balls are never joined
        groups[kind].setdefault(key, []).append(ball)
    order = {k: sorted(v, key=natural_key) for k, v in groups.items()}
    top, bottom = order["supply"], order["ground"]
    side = [("signal", k) for k in order["signal"]] + [("nc", k) for k in order["nc"]]
    n_left = (len(side) + 1) // 2
    left, right = side[:n_left], side[n_left:]

    net_of = dict(zip(balls, nets))

    def label(kind: str, key: str) -> str:  # an NC ball keeps its map's name (NC, DNC); no net reads NC
        text = (net_of[key].strip() or "NC") if kind == "nc" else key
        return text.replace(" ", "_")  # KiCad's pin names hold no spaces (it writes them as _)

    left_w = max((_text(label(k, key)) for k, key in left), default=0.0)
    right_w = max((_text(label(k, key)) for k, key in right), default=0.0)
    top_h = max((_text(n) for n in top), default=0.0)
    bottom_h = max((_text(n) for n in bottom), default=0.0)
    width = max(GRID * (max(len(top), len(bottom)) + 1),
                left_w + right_w + 2 * NAME_OFFSET + GRID * (2 if left and right else 1), 4 * GRID)
    half_w = _snap_up(width / 2, GRID)
    # the side pins run below the top pins' names and above the bottom pins' names
    top_band = _snap_up(top_h + NAME_OFFSET, GRID) if top else 0.0
    bottom_band = _snap_up(bottom_h + NAME_OFFSET, GRID) if bottom else 0.0
    rows = max(len(left), len(right))
    height = top_band + bottom_band + GRID * (rows + 1)
    half_h = _snap_up(height / 2, GRID)
    first_row = half_h - top_band - GRID
    pins: list[SymbolPin] = []

    def stack(kind: str, key: str, x: float, y: float, angle: int) -> None:
        members = sorted(groups[kind][key], key=natural_key)
        pin_name = label(kind, key)
        visible = {"supply": "power_in", "ground": "power_in", "signal": "bidirectional", "nc": "no_connect"}[kind]
        pins.append(SymbolPin(members[0], pin_name, visible, x, y, angle))
        pins.extend(SymbolPin(b, pin_name, "passive", x, y, angle, hidden=True) for b in members[1:])

    def along(count: int) -> list[float]:
        start = -GRID * ((count - 1) // 2)
        return [round(start + GRID * i, 6) for i in range(count)]

    for x, net in zip(along(len(top)), top):
        stack("supply", net, x, round(half_h + PIN_LENGTH, 6), 270)
    for i, (kind, key) in enumerate(left):
        stack(kind, key, round(-half_w - PIN_LENGTH, 6), round(first_row - GRID * i, 6), 0)
    for i, (kind, key) in enumerate(right):
        stack(kind, key, round(half_w + PIN_LENGTH, 6), round(first_row - GRID * i, 6), 180)
    for x, net in zip(along(len(bottom)), bottom):
        stack("ground", net, x, round(-half_h - PIN_LENGTH, 6), 90)
    field_y = round(half_h + (PIN_LENGTH + FONT if top else FONT), 6)
    return SymbolGeom(name=name, pins=tuple(pins), body=(-half_w, half_h, half_w, -half_h), footprint=footprint,
                      datasheet=datasheet.strip() or "~", description=description, keywords=keywords,
                      reference_at=(-half_w, field_y), value_at=(half_w, field_y))
