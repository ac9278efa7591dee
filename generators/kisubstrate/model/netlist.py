"""The package netlist: which die bumps and which balls each net joins (many of each per net).

Built from the die's pad map or bump plan (``pad,x,y,net``) and the ball map (``ball,net``).
A ball whose net is empty or ``NC`` has no connection and is listed as such. Net names are free
text as vendors write them (``GND``, ``VCCIO_3``, ``V_{DDQ}``, ``/DDR/DQ0``, names with spaces);
every KiCad writer quotes them.

Example:
    >>> bumps = [Terminal("U1", "A1", 0.0, 0.0, "GND"), Terminal("U1", "A2", 0.2, 0.0, "D0")]
    >>> balls = [Terminal("BALLS", "A1", -1.0, -1.0, "GND"), Terminal("BALLS", "A2", 1.0, -1.0, "D0"),
    ...          Terminal("BALLS", "B1", -1.0, 1.0, "GND"), Terminal("BALLS", "B2", 1.0, 1.0, "NC")]
    >>> nl = build_netlist(bumps, balls, plane_nets={"GND"})
    >>> [(n.name, len(n.bumps), len(n.balls), n.plane) for n in nl.nets], nl.no_connect
    ([('D0', 1, 1, False), ('GND', 1, 2, True)], ('B2',))
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from kisubstrate.model.errors import SpecError

NO_CONNECT = frozenset({"", "NC", "N/C", "N.C.", "DNC", "NO_CONNECT", "NOCONNECT"})
"""Ball-map net names that mean "no connection" (compared upper-case)."""


def is_no_connect(net: str) -> bool:
    """True if a ball-map net name means the ball has no connection (empty, ``NC``, ``DNC``, ...).

    Example:
        >>> is_no_connect("nc"), is_no_connect("GND")
        (True, False)
    """
    return net.strip().upper() in NO_CONNECT


@dataclass(frozen=True)
class Terminal:
    """A die bump or a ball: owner (die reference or ``BALLS``), name, centre (mm, board frame), net.

    ``source`` and ``line`` locate the CSV row it came from (empty / 0 when generated).
    """

    owner: str
    name: str
    x: float
    y: float
    net: str
    source: str = ""
    line: int = 0

    @property
    def label(self) -> str:
        """``U1.A7`` or ``ball K12``."""
        return f"ball {self.name}" if self.owner == "BALLS" else f"{self.owner}.{self.name}"

    def where(self) -> str:
        """``'file.csv' line N: `` prefix of a message about this terminal, or ``""`` when generated.

        The CSV is named by its file name: the message already names the spec file it belongs to.
        """
        return f"'{Path(self.source).name}' line {self.line}: " if self.source and self.line else ""


@dataclass(frozen=True)
class Net:
    """One net: its die bumps and its balls; ``plane`` when a stackup layer pours it."""

    name: str
    bumps: tuple[Terminal, ...]
    balls: tuple[Terminal, ...]
    plane: bool

    @property
    def terminals(self) -> tuple[Terminal, ...]:
        """Bumps then balls."""
        return self.bumps + self.balls


@dataclass(frozen=True)
class Netlist:
    """Every connected net (sorted by name) and the balls with no connection."""

    nets: tuple[Net, ...]
    no_connect: tuple[str, ...]

    def signal_nets(self) -> list[Net]:
        """The nets the router joins by traces (not poured by a plane)."""
        return [n for n in self.nets if not n.plane]

    def plane_nets(self) -> list[Net]:
        """The nets joined through plane layers."""
        return [n for n in self.nets if n.plane]


def build_netlist(bumps: list[Terminal], balls: list[Terminal], *, plane_nets: set[str] | frozenset[str]
                  ) -> Netlist:
    """Group bumps and balls by net and check that every net joins the die to the balls.

    Args:
        bumps: die bumps / pads with their nets (a pad with an empty net has no connection).
        balls: balls with their nets (an empty or ``NC`` net: no connection).
        plane_nets: nets poured by a ``plane`` or ``mixed`` layer of the stackup.

    Raises:
        SpecError: a net on balls but no die pad, on die pads but no ball, or a plane net on
            neither; the message names the file and line (field ``terminals.ball_map`` or
            ``dies.pads.map``).
    """
    by_net: dict[str, tuple[list[Terminal], list[Terminal]]] = {}
    nc = []
    for t in bumps:
        if not is_no_connect(t.net):
            by_net.setdefault(t.net, ([], []))[0].append(t)
    for t in balls:
        if is_no_connect(t.net):
            nc.append(t.name)
        else:
            by_net.setdefault(t.net, ([], []))[1].append(t)
    for name in sorted(by_net):
        bs, ls = by_net[name]
        if not bs:
            t = ls[0]
            maps = sorted({Path(b.source).name for b in bumps if b.source})
            where = f"a pad of the die pad map {', '.join(repr(m) for m in maps)} (dies.pads.map)" if maps else \
                "a die pad (pad map or bump plan)"
            raise SpecError(f"{t.where() or 'ball map: '}net '{name}' is on {t.label} but on no die pad: give {where} "
                            "this net, or mark the ball NC", field="terminals.ball_map")
        if not ls:
            t = bs[0]
            raise SpecError(f"{t.where() or 'die pads: '}net '{name}' is on die pad {t.label} but on no ball: give a "
                            "ball this net in the ball map", field="dies.pads.map")
    missing = sorted(set(plane_nets) - set(by_net))
    if missing:
        raise SpecError(f"stackup: plane net '{missing[0]}' is on no ball and no die pad (nets poured by a layer "
                        "must be in the ball map)", field="stackup.layers")
    nets = tuple(Net(name, tuple(by_net[name][0]), tuple(by_net[name][1]), name in plane_nets)
                 for name in sorted(by_net))
    return Netlist(nets=nets, no_connect=tuple(nc))


__all__ = ["NO_CONNECT", "Net", "Netlist", "Terminal", "build_netlist", "is_no_connect"]
