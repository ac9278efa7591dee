"""Vendor-style BGA pinouts for the flip-chip examples and the routing benchmark.

A square ball grid: a power/ground core (GND and VDD_CORE in a checkerboard), a ring of VDD_IO
and GND around it, and signal rings outside with a GND ball every fifth site and NC corners.
Signal names are grouped like a real part (``DDR_DQ<n>``, ``GPIO<n>``, ``PCIE_TX<n>_P``, ...).

Usage::

    python benchmarks/make_pinout.py 20 > footprints/examples/flipchip_balls.csv
    python benchmarks/make_pinout.py 18 VDD_IO VDD_DDR > footprints/examples/flipchip_pinout_balls.csv
"""

from __future__ import annotations

import sys

from kisubstrate.model.grid import row_names

GROUPS = ("DDR_DQ{}", "DDR_A{}", "GPIO{}", "PCIE_TX{}_P", "PCIE_TX{}_N", "/MIPI/D{}", "SPI {}", "V_{{DDQ}}_SENSE{}")


def pinout(n: int, *, core: int | None = None, io_rails: tuple[str, ...] = ("VDD_IO",)) -> list[tuple[str, str]]:
    """``(ball, net)`` for an ``n`` x ``n`` grid (top view, rows A.., columns 1..n).

    Args:
        n: balls per side.
        core: side of the central power/ground block (default ``n // 2 - 2``, even).
        io_rails: the I/O supply rails of the ring around the core: one name for the whole ring, or
            two (bottom half, top half of the ring).
    """
    core = core if core is not None else max(2, (n // 2 - 2) // 2 * 2)
    rows = row_names(n)
    lo = (n - core) // 2
    hi = lo + core - 1
    out = []
    k = 0
    for r in range(n):
        for c in range(n):
            ring = min(r, c, n - 1 - r, n - 1 - c)
            name = f"{rows[r]}{c + 1}"
            if lo <= r <= hi and lo <= c <= hi:
                net = "GND" if (r + c) % 2 else "VDD_CORE"
            elif lo - 1 <= r <= hi + 1 and lo - 1 <= c <= hi + 1:
                side = 1 if (r < n // 2 and len(io_rails) > 1) else 0
                net = "GND" if (r + c) % 3 == 0 else io_rails[side]
            elif ring == 0 and (r, c) in ((0, 0), (0, n - 1), (n - 1, 0), (n - 1, n - 1)):
                net = "NC"
            elif (r * n + c) % 5 == 2:
                net = "GND"
            else:
                net = GROUPS[k % len(GROUPS)].format(k // len(GROUPS))
                k += 1
            out.append((name, net))
    return out


def csv_text(pairs: list[tuple[str, str]]) -> str:
    """The ``ball,net`` CSV of ``pairs`` (names with commas or quotes quoted)."""
    lines = ["ball,net"]
    for ball, net in pairs:
        q = '"' + net.replace('"', '""') + '"' if any(ch in net for ch in ',"') else net
        lines.append(f"{ball},{q}")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.stdout.write(csv_text(pinout(int(sys.argv[1]), io_rails=tuple(sys.argv[2:]) or ("VDD_IO",))))
