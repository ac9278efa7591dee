"""Nets for a die's generated pads (peripheral rows, area array) from the package's ball map.

The die designer's first step when only the package pinout is known: every signal net of the
ball map gets one die pad, in the angular order of its ball around the die so that the escapes
fan out without crossing; the pads left over go to the power and ground (plane) nets, spread
evenly around the die and interleaved — a ground pad beside each power pad, as real peripheral
dies place them (``S S S S GND VDD S S S S GND VIO …``).

Example:
    >>> import numpy as np
    >>> ang = np.linspace(0, 2 * np.pi, 8, endpoint=False)
    >>> px, py = np.cos(ang), np.sin(ang)                       # 8 pads on a circle
    >>> bx, by = 5 * np.cos(ang[:4] + 0.1), 5 * np.sin(ang[:4] + 0.1)
    >>> nets = assign_pad_nets(px, py, (0.0, 0.0), np.r_[bx, 0, 0], np.r_[by, 6, -6],
    ...                        ["D0", "D1", "D2", "D3", "GND", "VDD"], {"GND", "VDD"})
    >>> nets
    ['GND', 'D1', 'VDD', 'D2', 'GND', 'D3', 'VDD', 'D0']
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Sequence

import numpy as np

from kisubstrate.geometry.assign import assign_by_angle
from kisubstrate.geometry.bumpplan import GROUND_NAME
from kisubstrate.model.errors import SpecError
from kisubstrate.model.netlist import is_no_connect


def power_sequence(slots: int, counts: dict[str, int]) -> list[str]:
    """The plane net of each of ``slots`` power/ground pads in order around the die.

    Ground nets (names like ``GND``, ``VSS``) take every other slot and the power rails the
    slots between them, each group round-robin by ball count (most first, then name); every
    net gets at least one slot.

    Args:
        slots: how many pads go to plane nets (at least ``len(counts)``).
        counts: plane net name → number of its balls.

    Example:
        >>> power_sequence(6, {"GND": 40, "VDD": 20, "VIO": 10})
        ['VDD', 'GND', 'VIO', 'GND', 'VDD', 'GND']
    """
    order = sorted(counts, key=lambda n: (-counts[n], n))
    grounds = [n for n in order if GROUND_NAME.search(n)]
    rails = [n for n in order if n not in grounds]
    if not grounds or not rails:
        return [order[i % len(order)] for i in range(slots)]
    n_rail = max(len(rails), slots // 2)
    n_gnd = slots - n_rail
    if n_gnd < len(grounds):
        n_gnd = len(grounds)
        n_rail = slots - n_gnd
    out, g, r = [], 0, 0
    for i in range(slots):
        if (i * n_gnd) // slots != ((i + 1) * n_gnd) // slots or r >= n_rail:  # evenly spread ground slots
            out.append(grounds[g % len(grounds)])
            g += 1
        else:
            out.append(rails[r % len(rails)])
            r += 1
    return out


def assign_pad_nets(pad_x: np.ndarray, pad_y: np.ndarray, centre: tuple[float, float], ball_x: np.ndarray,
                    ball_y: np.ndarray, ball_net: Sequence[str], plane_nets: Collection[str], *,
                    die: str = "U1") -> list[str]:
    """A net for every die pad from the ball map: signals by the angle of their balls, planes interleaved.

    Args:
        pad_x: pad centres x (array, mm, board frame).
        pad_y: pad centres y (array, mm).
        centre: the die centre (mm); angles are measured about it.
        ball_x: ball centres x (array, mm, board frame).
        ball_y: ball centres y (array, mm).
        ball_net: the ball map's net of each ball (``""`` / ``NC``: no connection).
        plane_nets: nets poured by a plane or mixed layer (their pads are the power/ground pads).
        die: the die's name, for messages.

    Raises:
        SpecError: the die has fewer pads than the ball map's signal nets plus one pad per plane net.
    """
    pad_x, pad_y = np.asarray(pad_x, float), np.asarray(pad_y, float)
    bx, by = np.asarray(ball_x, float) - centre[0], np.asarray(ball_y, float) - centre[1]
    d2 = bx * bx + by * by
    near: dict[str, int] = {}  # net → its ball nearest the die centre (first on ties)
    counts: Counter[str] = Counter()
    for i, net in enumerate(ball_net):
        if is_no_connect(net):
            continue
        counts[net] += 1
        if net not in near or d2[i] < d2[near[net]] - 1e-12:
            near[net] = i
    planes = {n: c for n, c in counts.items() if n in plane_nets}
    signals = sorted(n for n in counts if n not in plane_nets)
    n_pads = len(pad_x)
    if len(signals) + len(planes) > n_pads:
        raise SpecError(f"die {die}: the ball map has {len(signals)} signal net(s) and {len(planes)} power/ground "
                        f"net(s) ({', '.join(sorted(planes)) or '-'}), but the die has {n_pads} pads: each signal "
                        "needs a pad and each plane net at least one; add die pads, give a pad map, or pour more "
                        "nets on plane layers", field="dies.pads")
    ang = np.arctan2(pad_y - centre[1], pad_x - centre[0])
    around = np.argsort(ang, kind="stable")
    slots = n_pads - len(signals)
    out = [""] * n_pads
    power = np.zeros(n_pads, bool)
    if slots:  # the plane nets' pads evenly around the die (without plane nets: pads left unconnected)
        pick = ((np.arange(slots) + 0.5) * n_pads / slots).astype(int)
        for k, net in zip(pick.tolist(), power_sequence(slots, planes) if planes else [""] * slots):
            out[int(around[k])] = net
            power[around[k]] = True
    free = np.array([i for i in around.tolist() if not power[i]], np.int64)
    if len(signals):
        sig_ang = np.array([np.arctan2(by[near[n]], bx[near[n]]) for n in signals])
        match = assign_by_angle(ang[free], sig_ang)
        for i, j in zip(free.tolist(), match.tolist()):
            out[i] = signals[j]
    return out


__all__ = ["assign_pad_nets", "power_sequence"]
