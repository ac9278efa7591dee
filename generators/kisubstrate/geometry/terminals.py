"""Package terminals on a substrate board: grid sites, the viewing convention, terminal lands.

**Viewing convention (every substrate family)**: a substrate board is the physical stack seen
from its KiCad front, physical copper 1 = ``F.Cu`` … copper N = ``B.Cu``, in the spec's own
x/y frame (``offset`` and every position). The terminals sit on the copper layer that faces the
PCB. Ball **names** (and everything given by name: ``missing``, ``stagger``, ``ball_map``) are
JEDEC names of the package top view, as on a datasheet: in every footprint ``A1`` is at the
top-left (negative x and y).

* A package that mounts with ``B.Cu`` towards the PCB (build-up, PoP, leadframe) is seen from
  its top on the board: the board is the package top view and every terminal sits at the
  footprint's (x, y) with the same name (``A1`` at the first row and column).
* A package that mounts **flipped**, with ``F.Cu`` towards the PCB (cavity: cavity-down; wafer
  stack: balls on the RDL), is seen from its bottom on the board: its footprint (always the
  PCB's top view) is the board's terminals mirrored in x (x → −x, same y and names). Such a
  family registers with ``Family(flipped=True)``; :func:`grid_sites` with ``flipped=True``
  names board column k after top-view column ``columns − 1 − k`` (``A1`` at the board's
  top-right), so after the mirror the footprint is the ordinary grid-array footprint of the
  grid with the offset's x negated (:func:`footprint_grid`): ``A1`` top-left.

A package drawing's *bottom view* is the footprint mirrored in x.

Example:
    >>> from kisubstrate.model.grid import GridSpec
    >>> g = GridSpec.model_validate({"pitch": 1.0, "layout": [3, 2]})
    >>> s = grid_sites(g)
    >>> s.names[0], float(s.x[0]), float(s.y[0])
    ('A1', -1.0, -0.5)
    >>> f = grid_sites(g, flipped=True)  # board of a flipped package: same sites, names mirrored
    >>> f.names[:3], float(f.x[0]), float(f.y[0])
    (['A3', 'A2', 'A1'], -1.0, -0.5)
"""

from __future__ import annotations

from typing import Literal

import numpy as np

from kisubstrate.geometry.grid import Grid, ball_grid, grid_mask, row_names


def grid_mask_of(g) -> np.ndarray:
    """(rows, columns) mask of the populated sites of a ``GridSpec`` (depopulation, ``missing``, ball map)."""
    mask = grid_mask(columns=g.columns, rows=g.rows, stagger=g.stagger, center_void=g.center_void,
                     perimeter_rings=g.perimeter_rings, center_island=g.center_island)
    for r, c in g.expand_missing():
        mask[r, c] = False
    if g.ball_map is not None and g.ball_map.names is not None:
        mask &= np.array(g.ball_map.names, dtype=object) != ""
    return mask


def grid_sites(g, *, flipped: bool = False) -> Grid:
    """Populated sites (names, x, y, row, col; mm) of a ``GridSpec`` on the board / footprint.

    The one place footprints (grid array) and substrate boards (terminals, PoP top lands) get
    their sites from, so both number and place ball ``A1`` alike. Positions, ``row`` and ``col``
    are always in the spec's (board) frame, row-major; names, depopulation and ball-map names are
    taken in the package top view. ``flipped``: the board of a package mounted flipped (its
    footprint is the board mirrored in x), so the top-view name and mask columns are mirrored:
    board column k carries the name of column ``columns - 1 - k``.
    """
    mask = grid_mask_of(g)
    names = [list(r) for r in g.ball_map.names] if g.ball_map and g.ball_map.names else None
    if flipped:
        if names is None:
            numbers = [str(c + 1) for c in range(g.columns)]
            names = [[letter + n for n in numbers] for letter in row_names(g.rows, g.row_alphabet)]
        names = [r[::-1] for r in names]
        mask = mask[:, ::-1]
    return ball_grid(columns=g.columns, rows=g.rows, pitch=g.pitch_xy, offset=g.offset, mask=mask,
                     alphabet=g.row_alphabet, names=names)


def footprint_grid(g, keys, *, flipped: bool) -> dict:
    """The grid fields ``keys`` of a substrate's terminal grid ``g`` for its board-side footprint.

    The footprint is the PCB's top view: for a ``flipped`` package the board mirrored in x, so
    the grid's ``offset`` (board frame, mm) has its x negated; names and depopulation are already
    top-view names. Building the ordinary grid-array footprint from these fields gives the
    board's terminals mirrored in x, ``A1`` at the top-left (:func:`grid_sites`).

    Args:
        g: the substrate's terminal ``GridSpec`` (board frame).
        keys: names of the ``GridSpec`` fields to copy (e.g. ``("layout", "pitch", "offset")``).
        flipped: True for a package mounted flipped (``F.Cu`` towards the PCB): the x of
            ``offset`` is negated; False copies the fields as they are.

    Example:
        >>> from kisubstrate.model.grid import GridSpec
        >>> g = GridSpec.model_validate({"pitch": 1.0, "layout": [3, 2], "offset": [0.2, 0.1]})
        >>> footprint_grid(g, ("layout", "offset"), flipped=True)
        {'layout': (3, 2), 'offset': (-0.2, 0.1)}
    """
    out = {k: getattr(g, k) for k in keys}
    if flipped and "offset" in out:
        ox, oy = g.offset
        out["offset"] = (0.0 - ox, oy)
    return out


def ring_index(sites: Grid, columns: int, rows: int) -> np.ndarray:
    """Perimeter ring of every grid site (0 = outermost).

    Args:
        sites: the sites (only ``row`` and ``col`` are used).
        columns: number of columns of the full grid the sites belong to (count).
        rows: number of rows of that grid (count).

    Example:
        >>> from kisubstrate.geometry.grid import ball_grid
        >>> ring_index(ball_grid(columns=3, rows=3, pitch=(1.0, 1.0)), 3, 3).tolist()
        [0, 0, 0, 0, 1, 0, 0, 0, 0]
    """
    return np.minimum(np.minimum(sites.row, rows - 1 - sites.row), np.minimum(sites.col, columns - 1 - sites.col))


def land_mask_margin(land: float, mask: Literal["smd", "nsmd"], rules) -> float:
    """Solder-mask margin of a substrate terminal land (mm; negative = mask-defined).

    NSMD: the profile's ``mask_margin`` (opening larger than the copper). SMD: the mask overlaps
    the land by the profile's ``smd_overlap`` per side (sized to the fab's solder-resist
    registration, see the profile's ``sources``), at most a quarter of the land so the opening
    stays at least half the land diameter.

    Args:
        land: land (copper) diameter (mm).
        mask: ``"nsmd"`` (non-solder-mask-defined: opening larger than the land) or ``"smd"``
            (solder-mask-defined: the mask overlaps the land).
        rules: the substrate rule profile (``SubstrateRules``: ``mask_margin``, ``smd_overlap``, mm).

    Example:
        >>> from kisubstrate.model.substrate import load_substrate_rules
        >>> r = load_substrate_rules("substrate-buildup")
        >>> land_mask_margin(0.4, "smd", r), land_mask_margin(0.1, "smd", r), land_mask_margin(0.4, "nsmd", r)
        (-0.05, -0.025, 0.05)
    """
    if mask == "nsmd":
        return rules.mask_margin
    return -min(rules.smd_overlap, land / 4)


def ball_land(ball: float, mask: Literal["smd", "nsmd"], rules, land: float | None = None) -> tuple[float, float]:
    """Copper land diameter and solder-mask margin of a ball land (mm): :func:`kisubstrate.model.substrate.solder_land`.

    Args:
        ball: ball diameter (mm).
        mask: ``"nsmd"`` or ``"smd"``.
        rules: the substrate rule profile (``mask_margin``, ``smd_overlap``; mm).
        land: the solder-defined diameter (mm); None = 80 % of the ball.

    Example:
        >>> from kisubstrate.model.substrate import load_substrate_rules
        >>> ball_land(0.25, "smd", load_substrate_rules("substrate-buildup"))
        (0.3, -0.05)
    """
    from kisubstrate.model.substrate import solder_land  # substrate models: not loaded for a footprint

    return solder_land(ball, mask, rules, land)


def place_terminal_lands(b, sites: Grid, *, land: float, mask: Literal["smd", "nsmd"], rules, layer: int,
                         nets: dict[str, str] | None = None, net_of_site: dict[int, int] | None = None,
                         owner: str = "BALLS", margin: float | None = None) -> None:
    """Add one round terminal land (diameter ``land`` mm) per site to a ``BoardBuilder``.

    Args:
        b: the ``BoardBuilder`` the lands are added to.
        sites: the sites, already in the board frame (see the module's viewing convention).
        land: land (copper) diameter (mm).
        mask: ``"nsmd"`` or ``"smd"``: how the solder-mask opening is sized (:func:`land_mask_margin`).
        rules: the substrate rule profile (``SubstrateRules``) giving the mask margin / overlap.
        layer: copper index of the terminal side (the layer that faces the PCB).
        nets: net name by terminal name (a ball map), used where ``net_of_site`` has none.
        net_of_site: net code by site index (routed terminals).
        owner: pad owner (footprint reference) of the lands, ``BALLS`` by default.
        margin: solder-mask margin per side (mm, e.g. from :func:`ball_land`); None = the old
            land-based rule :func:`land_mask_margin`.
    """
    if margin is None:
        margin = land_mask_margin(land, mask, rules)
    nets = nets or {}
    net_of_site = net_of_site or {}
    for i, name in enumerate(sites.names):
        net = net_of_site.get(i) or (b.net(nets[name]) if nets.get(name) else 0)
        b.pad(owner, name, float(sites.x[i]), float(sites.y[i]), land, layer=layer, net=net, mask=margin)
