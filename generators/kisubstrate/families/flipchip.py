"""Flip-chip BGA substrate (``family: flipchip``): an area-array die face down on a routed build-up board.

::

    die (face down)        ▄▄▄▄▄▄▄▄▄▄▄▄▄▄▄▄▄▄  bumps on copper 1, a solder-mask opening each
    copper 1   signal      ══╤══╤══  escape: outer bump rows, traces between bumps
    copper 2   plane GND   ──┼──┼──  (vias cross it through antipads)
    copper 3   signal      ══╧═╤╧══  next bump rows, via-in-pad microvias from copper 1
    copper 4   plane VDD…  ────┼───  split plane: each rail in the Voronoi cells of its vias
    core                       █   blind (core) vias at the balls
    copper 5…  planes          ┼
    copper N   balls       ● ● ● ● ●  ball lands with stacked via-in-pad columns

The package netlist is the ball map (``ball,net``, many balls per net, NC for none) and the die's
pad map or bump plan (``pads: {plan: {pitch: 0.2}}``: bumps generated from the ball map, power
and ground in the core, signals on the outer rows in the order of their balls). Each copper
layer has a role — ``signal``, ``plane`` with its net(s), or ``mixed`` — and the substrate
pipeline (:mod:`kisubstrate.geometry.pipeline`) ties power and ground to their planes and routes
every signal net from its bump to its ball(s) with 0°/45°/90° traces. A net that cannot be
routed is reported (rule ``unrouted``) and the board is not written.

Example:
    >>> from kisubstrate.families.registry import example_spec
    >>> spec = example_spec("flipchip")
    >>> spec.stackup.copper_count, len(spec.dies[0].pads.map), [lay.role for lay in spec.stackup.coppers()][:3]
    (8, 625, ['signal', 'mixed', 'signal'])
"""

from __future__ import annotations

import copy
from collections import OrderedDict
from typing import ClassVar, Literal

from pydantic import model_validator

from kisubstrate.families.grid_array import BgaSpec, build_grid_array, terminal_footprint_spec, with_die_lengths
from kisubstrate.families.registry import Family, register
from kisubstrate.geometry.board import BoardGeom
from kisubstrate.geometry.pipeline import SubstratePipeline
from kisubstrate.model.substrate import SubstrateSpec
from kisubstrate.rules.report import Violation


class FlipChipSpec(SubstrateSpec):
    """Flip-chip BGA substrate: area-array die face down, layer roles, ball map netlist."""

    family: Literal["flipchip"] = "flipchip"
    routes_netlist: ClassVar[bool] = True

    @model_validator(mode="after")
    def _netlist_given(self) -> "FlipChipSpec":
        bm = self.terminals.ball_map
        if bm is None or not bm.nets:
            raise ValueError("a flip-chip substrate is routed from its netlist: give terminals.ball_map, a CSV "
                             "with the header 'ball,net' (NC for no connection)")
        for d in self.dies:
            if d.face != "down":
                raise ValueError(f"die {d.name}: a flip-chip die is mounted face down (face: down)")
            if d.pads.plan is None and d.pads.map is None:
                raise ValueError(f"die {d.name}: give the bumps' nets by a pad map (pad,x,y,net) or a bump plan "
                                 "(pads: {plan: {pitch: ...}})")
        if len(self.dies) > 1:
            raise ValueError("the flip-chip router places one die; give one die")
        return self

    def footprint_spec(self) -> BgaSpec:
        """The board-side BGA footprint spec of this package from the same terminal grid."""
        t = self.terminals
        return terminal_footprint_spec(BgaSpec, self, t, ball_diameter=t.ball_diameter,
                                       pad_diameter=t.board_pad_diameter)


_BOARDS: OrderedDict[str, BoardGeom] = OrderedDict()
_KEEP = 4  # routed boards kept per process (the footprint's package lengths come from the same routing)


def build_board(spec: FlipChipSpec) -> BoardGeom:
    """The routed substrate board (see :mod:`kisubstrate.geometry.pipeline` for the phases).

    Routing is deterministic, so the last few boards are kept per spec text and handed out as
    copies: the footprint (package lengths) and the substrate of one spec are routed once.
    """
    key = spec.model_dump_json()
    if key not in _BOARDS:
        _BOARDS[key] = SubstratePipeline(spec).run()
        while len(_BOARDS) > _KEEP:
            _BOARDS.popitem(last=False)
    _BOARDS.move_to_end(key)
    return copy.deepcopy(_BOARDS[key])


def build_footprint(spec: FlipChipSpec):
    """The board-side land pattern of this package, each pad carrying its package length.

    The shared grid-array builder draws the lands; the substrate is routed (once per spec and
    process) and each ball's routed trace length (die to ball, mm) becomes the pad's KiCad
    ``die_length``, so a board designer's length matching includes the package.
    """
    return with_die_lengths(build_grid_array(spec.footprint_spec()), package_lengths(spec))


def package_lengths(spec: FlipChipSpec) -> dict[str, float]:
    """Ball name → routed trace length of its net inside the package (mm; 0 for plane nets and NC).

    Args:
        spec: the validated spec; its substrate is routed (or taken from :func:`build_board`'s store).
    """
    nets = build_board(spec).extras.sidecar["routing"]["nets"]
    net_of = spec.terminals.ball_map.net_of if spec.terminals.ball_map is not None else {}
    return {ball: float(nets[net]["length_mm"]) for ball, net in net_of.items() if net in nets}


def check_routed(spec, board: BoardGeom, rules) -> list[Violation]:
    """One ``unrouted`` violation per net the router could not complete (located, with the reason).

    Args:
        spec: the validated spec (unused: the router's findings travel with the board).
        board: the built board; its sidecar's ``routing.unrouted`` lists the nets left open.
        rules: the substrate rule profile (unused).
    """
    out = []
    routing = board.extras.sidecar.get("routing", {})
    need = routing.get("escape_layers_needed")
    hint = f"; the netlist needs about {need} escape layers, the stackup gives {len(routing['escape_layers'])}" \
        if need else ""
    for u in routing.get("unrouted", []):
        out.append(Violation("unrouted", (f"net/{u['net']}",), (u["x"], u["y"]), u["layer"], 0.0, 0.0,
                             f"net '{u['net']}' not routed: {u['reason']}{hint}"))
    return out


register(Family(name="flipchip", spec=FlipChipSpec, footprint=build_footprint, substrate=build_board,
                checks=(check_routed,),
                summary="flip-chip BGA substrate: area-array die, layer roles, planes, routed netlist"))
