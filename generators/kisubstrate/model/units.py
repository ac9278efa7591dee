"""Units and KiCad's 1 nm grid.

All lengths in kisubstrate are millimetres as ``float``. KiCad stores integers in
nanometres, so every coordinate is snapped to 1e-6 mm when geometry is built and
formatted with at most six decimals when written.
"""

from __future__ import annotations

import math

import numpy as np

NM = 1e-6  # one nanometre in mm
# The one comparison tolerance of the rule checks (mm): 1 pm, a thousandth of KiCad's 1 nm grid, so a
# gap 1 nm under a limit always fails; it only absorbs float noise of values already on the grid.
TOL = 1e-9


def snap(value: float) -> float:
    """Snap a length in mm to KiCad's 1 nm grid, rounding half away from zero (as KiCad's KiROUND).

    >>> snap(0.1234567), snap(0.0000025), snap(-0.0000025)
    (0.123457, 3e-06, -3e-06)
    >>> snap(-0.0000004)
    0.0
    """
    if not math.isfinite(value):
        return value
    k = math.floor(abs(value) * 1e6 + 0.5)
    snapped = math.copysign(k, value) / 1e6
    return 0.0 if snapped == 0 else snapped


def snap_array(values: np.ndarray) -> np.ndarray:
    """Vectorised :func:`snap` for numpy arrays (mm); NaN stays NaN.

    >>> snap_array(np.array([0.0000025, -0.0000025, 0.1234564])).tolist()
    [3e-06, -3e-06, 0.123456]
    """
    v = np.asarray(values, dtype=float)
    out = np.sign(v) * np.floor(np.abs(v) * 1e6 + 0.5) / 1e6
    out[out == 0] = 0.0  # turn -0.0 into 0.0
    return out


def to_nm(value: float) -> int:
    """Millimetres to integer nanometres, rounding half away from zero like :func:`snap`.

    >>> to_nm(1.001), to_nm(-0.0000025)
    (1001000, -3)
    """
    return int(math.copysign(math.floor(abs(value) * 1e6 + 0.5), value))


def fmt(value: float) -> str:
    """Format a length in mm the way KiCad writes it: snapped (:func:`snap`), ≤ 6 decimals, no trailing zeros, no -0.

    >>> fmt(1.0), fmt(-0.0000001), fmt(0.32), fmt(-7.1), fmt(0.0000025)
    ('1', '0', '0.32', '-7.1', '0.000003')
    """
    text = f"{snap(value):.6f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def fmt_array(values) -> list[str]:
    """:func:`fmt` of every value of an array (mm), vectorised snapping for big boards.

    >>> fmt_array(np.array([1.0, -0.0000001, 0.0000025, -7.1]))
    ['1', '0', '0.000003', '-7.1']
    """
    out = []
    for x in snap_array(np.asarray(values, dtype=float)).tolist():
        text = f"{x:.6f}".rstrip("0").rstrip(".")
        out.append("0" if text in ("-0", "") else text)
    return out


def fmt_mm_name(value: float, *, min_decimals: int = 1) -> str:
    """Format a dimension for a KLC footprint name (e.g. ``14.0``, ``0.45``, ``3.396``).

    >>> fmt_mm_name(14), fmt_mm_name(0.45), fmt_mm_name(1.0, min_decimals=0)
    ('14.0', '0.45', '1')
    """
    text = fmt(value)
    if min_decimals and "." not in text:
        text += "." + "0" * min_decimals
    return text
