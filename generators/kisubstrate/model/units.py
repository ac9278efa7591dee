"""Units and KiCad's 1 nm grid.

All lengths in kisubstrate are millimetres as ``float``. KiCad stores integers in
nanometres, so every coordinate is snapped to 1e-6 mm when geometry is built and
formatted with at most six decimals when written.
"""

from __future__ import annotations

import numpy as np

NM = 1e-6  # one nanometre in mm


def snap(value: float) -> float:
    """Snap a length in mm to KiCad's 1 nm grid (round half away from zero).

    >>> snap(0.1234567)
    0.123457
    >>> snap(-0.0000004)
    0.0
    """
    snapped = round(value * 1e6) / 1e6
    return 0.0 if snapped == 0 else snapped


def snap_array(values: np.ndarray) -> np.ndarray:
    """Vectorised :func:`snap` for numpy arrays (mm)."""
    out = np.round(np.asarray(values, dtype=float) * 1e6) / 1e6
    out[out == 0] = 0.0  # turn -0.0 into 0.0
    return out


def to_nm(value: float) -> int:
    """Millimetres to integer nanometres with ``round`` (never truncation).

    >>> to_nm(1.001)
    1001000
    """
    return int(round(value * 1e6))


def fmt(value: float) -> str:
    """Format a length in mm the way KiCad writes it: ≤ 6 decimals, no trailing zeros, no -0.

    >>> fmt(1.0), fmt(-0.0000001), fmt(0.32), fmt(-7.1)
    ('1', '0', '0.32', '-7.1')
    """
    text = f"{value:.6f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def fmt_mm_name(value: float, *, min_decimals: int = 1) -> str:
    """Format a dimension for a KLC footprint name (e.g. ``14.0``, ``0.45``, ``3.396``).

    >>> fmt_mm_name(14), fmt_mm_name(0.45), fmt_mm_name(1.0, min_decimals=0)
    ('14.0', '0.45', '1')
    """
    text = fmt(value)
    if min_decimals and "." not in text:
        text += "." + "0" * min_decimals
    return text
