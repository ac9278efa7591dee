"""Ball / land grids: JEDEC row names, positions and depopulation masks, with numpy.

Conventions (top view, KiCad frame x right, y down): ball A1 is the top-left corner
(negative x, negative y); rows are letters A, B, … skipping I O Q S X Z, then AA, AB …;
columns are numbers from 1. The grid is centred on the body unless ``offset`` shifts it.

Example:
    >>> row_names(22)[-3:]
    ['Y', 'AA', 'AB']
    >>> grid = ball_grid(columns=3, rows=2, pitch=(1.0, 0.8))
    >>> grid.names
    ['A1', 'A2', 'A3', 'B1', 'B2', 'B3']
    >>> grid.x.tolist(), grid.y.tolist()
    ([-1.0, 0.0, 1.0, -1.0, 0.0, 1.0], [-0.4, -0.4, -0.4, 0.4, 0.4, 0.4])
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from kisubstrate.model.grid import JEDEC_ALPHABET, row_names
from kisubstrate.model.units import snap_array


@dataclass(frozen=True)
class Grid:
    """Positions and names of the populated sites of a grid, row-major from A1.

    ``row`` and ``col`` are the 0-based indices of each populated site.
    """

    names: list[str]
    x: np.ndarray
    y: np.ndarray
    row: np.ndarray
    col: np.ndarray


def grid_mask(*, columns: int, rows: int, stagger: str | None = None,
              center_void: tuple[int, int] | None = None, perimeter_rings: int | None = None,
              center_island: tuple[int, int] | None = None) -> np.ndarray:
    """Boolean (rows, columns) mask of populated sites before named depopulation.

    Args:
        columns: number of grid columns (count, ≥ 1).
        rows: number of grid rows (count, ≥ 1).
        stagger: ``"a1"`` keeps sites where row+column is even (A1 populated),
            ``"b1"`` the odd ones; None for a full grid.
        center_void: (columns, rows) block removed from the centre.
        perimeter_rings: keep only this many outer rings.
        center_island: (columns, rows) central block kept even inside the perimeter void.

    Example:
        >>> int(grid_mask(columns=4, rows=4, perimeter_rings=1).sum())
        12
    """
    r, c = np.indices((rows, columns))
    mask = np.ones((rows, columns), dtype=bool)
    if stagger == "a1":
        mask &= (r + c) % 2 == 0
    elif stagger == "b1":
        mask &= (r + c) % 2 == 1
    ring = np.minimum(np.minimum(r, rows - 1 - r), np.minimum(c, columns - 1 - c))
    if perimeter_rings is not None:
        inner = ring >= perimeter_rings
        if center_island is not None:
            inner &= ~_center_block(rows, columns, center_island)
        mask &= ~inner
    if center_void is not None:
        mask &= ~_center_block(rows, columns, center_void)
    return mask


def _center_block(rows: int, columns: int, size: tuple[int, int]) -> np.ndarray:
    bc, br = size
    r, c = np.indices((rows, columns))
    c0, r0 = (columns - bc) // 2, (rows - br) // 2
    return (r >= r0) & (r < r0 + br) & (c >= c0) & (c < c0 + bc)


def ball_grid(*, columns: int, rows: int, pitch: tuple[float, float],
              offset: tuple[float, float] = (0.0, 0.0), mask: np.ndarray | None = None,
              alphabet: str = JEDEC_ALPHABET, names: list[list[str]] | None = None) -> Grid:
    """Populated grid sites, centred on (0, 0) + ``offset`` (mm), A1 top-left.

    Args:
        columns: number of grid columns (count, ≥ 1).
        rows: number of grid rows (count, ≥ 1).
        pitch: (x, y) centre-to-centre distance between columns and between rows (mm, > 0).
        offset: (x, y) shift of the grid centre from the body centre (mm).
        mask: boolean (rows, columns) array of populated sites (:func:`grid_mask`); None for all.
        alphabet: row letters, in order (default: JEDEC, without I O Q S X Z).
        names: optional explicit name per site (rows × columns, top view); "" = unpopulated.

    Example:
        >>> ball_grid(columns=2, rows=2, pitch=(0.5, 0.5), mask=np.array([[True, False], [True, True]])).names
        ['A1', 'B1', 'B2']
    """
    px, py = pitch
    cols_x = snap_array((np.arange(columns) - (columns - 1) / 2) * px + offset[0])
    rows_y = snap_array((np.arange(rows) - (rows - 1) / 2) * py + offset[1])
    if mask is None:
        mask = np.ones((rows, columns), dtype=bool)
    if names is not None:
        mask = mask & (np.array(names, dtype=object) != "")
    r_idx, c_idx = np.nonzero(mask)
    if names is not None:
        site_names = [names[r][c] for r, c in zip(r_idx.tolist(), c_idx.tolist())]
    else:
        letters = row_names(rows, alphabet)
        numbers = [str(c + 1) for c in range(columns)]
        if len(r_idx) == rows * columns:  # full grid, row-major: no per-site lookups
            site_names = [letter + number for letter in letters for number in numbers]
        else:
            site_names = list(map(str.__add__, [letters[r] for r in r_idx.tolist()],
                                  [numbers[c] for c in c_idx.tolist()]))
    return Grid(names=site_names, x=cols_x[c_idx], y=rows_y[r_idx], row=r_idx, col=c_idx)
