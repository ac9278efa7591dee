"""Grid-array footprints: BGA, LGA, PGA and WLCSP (board-side land patterns).

::

            ◄──────────── body[0] ────────────►
          ┌◣─────────────────────────────────┐ ▲
          │ A1 ●    ●    ●    ●    ●    ●     │ │
          │    ◄pitch►                        │ │
          │ B1 ●    ●    ●    ●    ●    ●     │ body[1]
          │    ●    ●    ○ missing  ●    ●    │ │
          └──────────────────────────────────┘ ▼
          layout = [columns, rows]; A1 top-left (−x, −y in KiCad's y-down frame)

Land sizes come from ``pad_diameter`` (a vendor value) or from ``land_rule``
(IPC-7352 0.8 × / 1.1 × ball, or the IPC-7351B table); the description records which.
NSMD pads get a mask opening larger than the copper, SMD pads a mask-defined opening
smaller than the copper. PGA pins are plated through-holes (drill from the pin diameter
plus allowance, pad from the annular ring).

Example:
    >>> spec = BgaSpec(family="bga", body=(14.0, 14.0), pitch=0.8, layout=(16, 16),
    ...                ball_diameter=0.45, pad_diameter=0.32)
    >>> spec.resolved_name
    'BGA-256_14.0x14.0mm_Layout16x16_P0.8mm_Ball0.45mm_Pad0.32mm_NSMD'
    >>> fp = build_grid_array(spec)[0]
    >>> fp.pad_count, fp.pad_table()[0]
    (256, ('A1', -6.0, -6.0, 0.32, 0.32))
"""

from __future__ import annotations

import math
from dataclasses import replace
from typing import Literal

import numpy as np
import shapely
from pydantic import Field, ValidationError, ValidationInfo, field_validator, model_validator

from kisubstrate import __version__
from kisubstrate.families.registry import Family, register
from kisubstrate.geometry.grid import ball_grid
from kisubstrate.geometry.ir import Circle, FootprintGeom, Line, Model3D, PadGroup, Poly, translated
from kisubstrate.geometry.outline import (
    courtyard_rect,
    fab_outline,
    fab_reference,
    round_out,
    silk_outline,
)
from kisubstrate.geometry.terminals import footprint_grid, grid_mask_of
from kisubstrate.model.base import PackageSpec, body_positive, length, resolve_rules
from kisubstrate.model.errors import FieldError, SpecError
from kisubstrate.model.grid import GridSpec
from kisubstrate.model.land import land_diameter
from kisubstrate.model.loader import describe_validation_error
from kisubstrate.model.rules import RuleSet, load_rules
from kisubstrate.model.units import fmt, fmt_mm_name, snap

FAMILY_LIBRARY = {"bga": "Package_BGA", "lga": "Package_LGA", "pga": "Package_PGA", "wlcsp": "Package_CSP"}
DEFAULT_RULES = {"bga": "ipc-default", "lga": "ipc-default", "pga": "ipc-default", "wlcsp": "hdi-fine"}
DEFAULT_HEIGHT = {"bga": 1.2, "lga": 0.9, "pga": 2.5, "wlcsp": 0.5}


class GridArraySpec(PackageSpec, GridSpec):
    """Common fields of the grid-array families (all lengths in mm)."""

    family: str
    body: tuple[float, float] = Field(description="package body x, y", json_schema_extra={"unit": "mm"})
    height: float | None = length("package height above the board (3D model)", le=50, default=None)
    pad_diameter: float | None = length("board land diameter; otherwise from land_rule", le=20,
                                        default=None)
    mask: Literal["nsmd", "smd"] = Field("nsmd", description="nsmd: mask opening larger than the copper; "
                                         "smd: mask-defined opening smaller than the copper")
    mask_margin: float | None = length("NSMD mask expansion per side (default from the rule profile)",
                                       gt=None, ge=0, le=1, default=None)
    rules: str | None = Field(None, description="rule profile name or YAML path (default per family)")
    courtyard: float | None = length("courtyard offset override", gt=None, ge=0, le=10, default=None)

    @field_validator("body")
    @classmethod
    def _body_positive(cls, v: tuple[float, float]) -> tuple[float, float]:
        return body_positive(v)

    @field_validator("rules")
    @classmethod
    def _rules_exist(cls, v: str | None, info: ValidationInfo) -> str | None:
        return resolve_rules(v, info, load_rules)  # raises SpecError with the reason

    def rule_set(self) -> RuleSet:
        """The rule profile this package is checked against."""
        return load_rules(self.rules or DEFAULT_RULES[self.family])

    @property
    def nearest_pitch(self) -> float:
        """Centre distance of the closest populated neighbours (mm).

        On a staggered grid the nearest balls are diagonal (or two sites apart), not one site
        pitch apart.
        """
        px, py = self.pitch_xy
        return min(px, py) if self.stagger is None else min(2 * px, 2 * py, math.hypot(px, py))

    # -- names -------------------------------------------------------------------------------
    def pad_count_expected(self) -> int:
        """Number of populated sites (after depopulation and ball map)."""
        return int(self.site_mask().sum())

    def site_mask(self) -> np.ndarray:
        """(rows, columns) boolean mask of populated sites (shared with the substrate terminals)."""
        return grid_mask_of(self)

    def _name_core(self, prefix: str) -> str:
        px, py = self.pitch_xy
        pitch = fmt_mm_name(px) if px == py else f"{fmt_mm_name(px)}x{fmt_mm_name(py)}"
        bx, by = self.body
        parts = [f"{prefix}-{self.pad_count_expected()}_{fmt_mm_name(bx)}x{fmt_mm_name(by)}mm",
                 f"Layout{self.columns}x{self.rows}", f"P{pitch}mm"]
        return "_".join(parts)

    def _name_suffix(self) -> str:
        extra = []
        if self.stagger:
            extra.append("Stagger")
        if any(self.offset):
            extra.append("Offcenter")
        return "".join("_" + e for e in extra)

    @model_validator(mode="after")
    def _fits_body(self) -> "GridArraySpec":
        px, py = self.pitch_xy
        span_x = (self.columns - 1) * px
        span_y = (self.rows - 1) * py
        for axis, span, body, off in (("x", span_x, self.body[0], self.offset[0]),
                                      ("y", span_y, self.body[1], self.offset[1])):
            if span / 2 + abs(off) > body / 2 + 1e-9:
                raise FieldError("offset" if off else "body",
                                 f"the grid spans {span:g} mm in {axis} (offset {off:g}) but the body is "
                                 f"{body:g} mm: ball centres would lie outside the body")
        if self.pad_count_expected() == 0:
            culprit = next((k for k in ("missing", "ball_map", "center_void", "perimeter_rings", "stagger")
                            if getattr(self, k)), "layout")
            raise FieldError(culprit, "every site is depopulated: the footprint would have no pads")
        return self


class _BallSpec(GridArraySpec):
    ball_diameter: float = length("nominal solder-ball diameter", le=10)
    ball_type: Literal["collapsible", "non_collapsible"] = Field(
        "collapsible", description="collapsible (eutectic/SAC) or non-collapsible (high-lead, Cu core)")
    land_rule: Literal["ipc7352", "ipc7351b"] = Field(
        "ipc7352", description="ipc7352: 0.8x / 1.1x ball; ipc7351b: IPC-7351B table")
    land_level: Literal["max", "nom", "min"] = Field(
        "max", description="IPC-7351B table column (max per §14.4.2)")

    @model_validator(mode="after")
    def _ball_fits_pitch(self) -> "_BallSpec":
        if self.ball_diameter >= self.nearest_pitch:
            raise ValueError(f"ball_diameter {self.ball_diameter:g} mm must be smaller than the pitch "
                             f"{self.nearest_pitch:g} mm (neighbouring balls would touch)")
        if self.land_rule == "ipc7351b" and self.pad_diameter is None:
            try:
                land_diameter(self.ball_diameter, rule="ipc7351b", ball_type=self.ball_type,
                              level=self.land_level)
            except SpecError as exc:
                raise FieldError("ball_diameter", exc.reason) from None
        return self

    def land(self):
        """The land diameter and its provenance."""
        return land_diameter(self.ball_diameter, rule=self.land_rule, ball_type=self.ball_type,
                             level=self.land_level)

    def land_mm(self) -> float:
        """Land (pad) diameter in mm."""
        return self.pad_diameter if self.pad_diameter is not None else self.land().diameter

    def default_name(self) -> str:
        prefix = "BGA" if self.family == "bga" else "WLCSP"
        return (f"{self._name_core(prefix)}_Ball{fmt(self.ball_diameter)}mm_Pad{fmt(self.land_mm())}mm"
                f"{self._name_suffix()}_{self.mask.upper()}")


class BgaSpec(_BallSpec):
    """Ball grid array (``family: bga``)."""

    family: Literal["bga"] = "bga"


class WlcspSpec(_BallSpec):
    """Wafer-level chip-scale package (``family: wlcsp``): fine-pitch bumps, CSP courtyard."""

    family: Literal["wlcsp"] = "wlcsp"


class LgaSpec(GridArraySpec):
    """Land grid array (``family: lga``): the board land follows the package land."""

    family: Literal["lga"] = "lga"
    land_diameter: float | None = length("package land diameter (board land defaults to 1:1)", le=20,
                                         default=None)
    pad_shape: Literal["circle", "rect", "roundrect"] = Field("circle", description="board land shape")

    @model_validator(mode="after")
    def _needs_land(self) -> "LgaSpec":
        if self.pad_diameter is None and self.land_diameter is None:
            raise FieldError("pad_diameter",
                             "an LGA needs pad_diameter (board land) or land_diameter (package land)")
        if self.land_mm() >= self.nearest_pitch:
            raise FieldError("pad_diameter" if self.pad_diameter is not None else "land_diameter",
                             f"land {self.land_mm():g} mm must be smaller than the pitch {self.nearest_pitch:g} mm")
        return self

    def land_mm(self) -> float:
        """Board land size in mm (diameter, or side for square lands)."""
        return self.pad_diameter if self.pad_diameter is not None else float(self.land_diameter or 0)

    def default_name(self) -> str:
        """KLC-style name, e.g. ``LGA-144_15.0x15.0mm_Layout12x12_P1.27mm_Pad0.75mm``."""
        return f"{self._name_core('LGA')}_Pad{fmt(self.land_mm())}mm{self._name_suffix()}"


class PgaSpec(GridArraySpec):
    """Pin grid array (``family: pga``): plated through-holes."""

    family: Literal["pga"] = "pga"
    pin_diameter: float = length("maximum pin diameter", le=5)
    drill: float | None = length("hole diameter (default: pin + drill_allowance, rounded up)", le=6,
                                 default=None)
    pin_length: float = length("pin length below the body (3D model)", le=20, default=3.0)
    origin: Literal["pin1", "center"] = Field("pin1", description="footprint anchor: pin1 = on pin 1 "
                                              "(A1, KLC F7.2 for through-hole parts), center = package centre")

    @model_validator(mode="after")
    def _pin_fits(self) -> "PgaSpec":
        if self.pin_diameter >= self.nearest_pitch:
            raise ValueError(f"pin_diameter {self.pin_diameter:g} mm must be smaller than the pitch")
        if self.drill is not None and self.drill <= self.pin_diameter:
            raise ValueError(f"drill {self.drill:g} mm must be larger than pin_diameter {self.pin_diameter:g} mm")
        if self.pad_diameter is not None and self.pad_diameter <= self.drill_mm():
            raise ValueError(f"pad_diameter {self.pad_diameter:g} mm must be larger than the drill "
                             f"{self.drill_mm():g} mm")
        return self

    def drill_mm(self) -> float:
        """Hole diameter: the spec's, or pin + allowance rounded up to the profile's drill step."""
        if self.drill is not None:
            return self.drill
        rules = self.rule_set()
        raw = self.pin_diameter + rules.drill_allowance
        return snap(math.ceil(raw / rules.drill_step - 1e-9) * rules.drill_step)

    def land_mm(self) -> float:
        """Copper pad diameter: the spec's, or drill + 2 × annular ring rounded up to 0.01 mm."""
        if self.pad_diameter is not None:
            return self.pad_diameter
        return round_out(self.drill_mm() + 2 * self.rule_set().annular_ring, 0.01)

    def default_name(self) -> str:
        """KLC-style name, e.g. ``PGA-129_34.0x34.0mm_Layout13x13_P2.54mm_Pin0.46mm_Drill0.7mm``."""
        return (f"{self._name_core('PGA')}_Pin{fmt(self.pin_diameter)}mm_Drill{fmt(self.drill_mm())}mm"
                f"{self._name_suffix()}")


TERMINAL_GRID_KEYS = ("pitch", "layout", "missing", "center_void", "perimeter_rings", "center_island", "stagger",
                      "offset", "ball_map", "row_alphabet")
"""The grid fields a substrate family's terminal grid hands to its board-side footprint."""


def terminal_footprint_spec(model: type[GridArraySpec], package, grid: GridSpec, *, suffix: str = "_Footprint",
                            flipped: bool = False, keys: tuple[str, ...] = TERMINAL_GRID_KEYS,
                            field: str = "terminals", **lands) -> GridArraySpec:
    """The grid-array footprint spec of a substrate package's terminals (one place for every family).

    Args:
        model: the footprint family's spec model (:class:`BgaSpec`, :class:`LgaSpec`, :class:`PgaSpec`,
            :class:`WlcspSpec`).
        package: the substrate spec; gives ``body`` (mm), ``footprint_rules``, ``source`` and
            ``resolved_name``.
        grid: the terminal grid (a ``GridSpec``, board frame).
        suffix: appended to the package name for the footprint name, e.g. ``_Footprint``.
        flipped: the package mounts with ``F.Cu`` towards the PCB (``offset`` x mirrored; see
            :func:`kisubstrate.geometry.terminals.footprint_grid`).
        keys: the grid fields copied (default :data:`TERMINAL_GRID_KEYS`).
        field: the spec field that holds ``grid`` (``terminals``, ``top_lands``), for messages.
        lands: the land fields of ``model`` (mm), e.g. ``ball_diameter=0.5, pad_diameter=0.4``.

    Raises:
        SpecError: the footprint spec is invalid (located at ``field`` and the footprint's field).

    Example:
        >>> from kisubstrate.families.registry import example_spec
        >>> pkg = example_spec("buildup")
        >>> terminal_footprint_spec(BgaSpec, pkg, pkg.terminals, ball_diameter=0.5).resolved_name
        'BUILDUP-196_15.0x15.0mm_Die6.0x6.0mm_6L_P1.0mm_Footprint'
    """
    try:
        return model(family=model.model_fields["family"].default, body=package.body, rules=package.footprint_rules,
                     source=package.source, name=f"{package.resolved_name}{suffix}",
                     **footprint_grid(grid, keys, flipped=flipped), **lands)
    except ValidationError as exc:  # e.g. a PoP top-land pitch below its ball diameter: one located line
        sub, msg = describe_validation_error(exc, model)
        raise SpecError(msg, field=f"{field}.{sub}" if sub else field) from None


# --------------------------------------------------------------------------------------------
def build_grid_array(spec: GridArraySpec) -> list[FootprintGeom]:
    """Build the board-side footprint of a grid-array package (one footprint)."""
    rules = spec.rule_set()
    family = spec.family
    names = [list(r) for r in spec.ball_map.names] if spec.ball_map and spec.ball_map.names else None
    grid = ball_grid(columns=spec.columns, rows=spec.rows, pitch=spec.pitch_xy, offset=spec.offset,
                     mask=spec.site_mask(), alphabet=spec.row_alphabet, names=names)
    land = snap(spec.land_mm())
    provenance: dict[str, str] = {}
    nets = None
    if spec.ball_map is not None and spec.ball_map.nets:
        net_of = spec.ball_map.net_of
        unknown = sorted(set(net_of) - set(grid.names))
        if unknown:
            raise SpecError(f"ball map names balls that are not on the footprint: {', '.join(unknown[:5])}",
                            field="ball_map")
        nets = [net_of.get(n, "") for n in grid.names]

    # -- land and mask --------------------------------------------------------------------------
    if isinstance(spec, _BallSpec) and spec.pad_diameter is None:
        lr = spec.land()
        provenance["land"] = lr.describe()
    elif isinstance(spec, PgaSpec):
        provenance["drill"] = (f"drill {fmt(spec.drill_mm())} mm: " +
                               ("spec value" if spec.drill is not None else
                                f"pin {fmt(spec.pin_diameter)} + allowance {fmt(rules.drill_allowance)} mm "
                                f"rounded up to {fmt(rules.drill_step)} mm "
                                f"({rules.sources.get('drill_allowance', rules.name)})"))
        provenance["land"] = (f"pad {fmt(land)} mm: " + ("spec pad_diameter" if spec.pad_diameter is not None
                              else f"drill + 2 x annular ring {fmt(rules.annular_ring)} mm "
                                   f"({rules.sources.get('annular_ring', rules.name)})"))
    elif isinstance(spec, LgaSpec) and spec.pad_diameter is None:
        provenance["land"] = f"land {fmt(land)} mm: 1:1 with the package land (IPC-7351B LGA practice)"
    else:
        provenance["land"] = f"land {fmt(land)} mm: spec pad_diameter (vendor / datasheet value)"

    px, py = spec.pitch_xy
    nearest = min(px, py) if spec.stagger is None else min(2 * px, 2 * py, math.hypot(px, py))
    mask_margin: float | None
    paste_margin: float | None = None
    copper = land
    if family == "pga":
        mask_margin = spec.mask_margin if spec.mask_margin is not None else rules.mask_margin
        provenance["mask"] = f"through-hole pads, mask margin {fmt(mask_margin)} mm"
    elif spec.mask == "nsmd":
        if spec.mask_margin is not None:
            mask_margin = spec.mask_margin
            provenance["mask"] = f"NSMD, mask margin {fmt(mask_margin)} mm (spec)"
        else:
            fit = math.floor(((nearest - land - rules.mask_web) / 2) * 1e4 + 1e-6) / 1e4
            mask_margin = snap(max(min(rules.mask_margin, fit), rules.mask_registration))
            why = ("profile default" if mask_margin == rules.mask_margin
                   else f"reduced from {fmt(rules.mask_margin)} mm to keep the {fmt(rules.mask_web)} mm mask web")
            provenance["mask"] = (f"NSMD, mask opening {fmt(land + 2 * mask_margin)} mm = land + 2 x "
                                  f"{fmt(mask_margin)} mm ({why}; profile {rules.name})")
    else:
        overlap = rules.smd_overlap
        copper = snap(land + 2 * overlap)
        mask_margin = -overlap
        paste_margin = -overlap
        provenance["mask"] = (f"SMD (mask-defined), opening {fmt(land)} mm, copper {fmt(copper)} mm "
                              f"= opening + 2 x {fmt(overlap)} mm overlap (profile {rules.name})")

    if family == "pga":
        drill = spec.drill_mm()  # type: ignore[attr-defined]
        groups = _pga_groups(grid, land, drill, mask_margin, nets)
        attr = "through_hole"
    else:
        shape = "circle"
        if isinstance(spec, LgaSpec):
            shape = spec.pad_shape
        props = ("pad_prop_bga",) if family in ("bga", "wlcsp") else ()
        groups = [PadGroup(names=grid.names, x=grid.x, y=grid.y, kind="smd", shape=shape,  # type: ignore[arg-type]
                           size=(copper, copper), layers=("F.Cu", "F.Mask", "F.Paste"),
                           mask_margin=mask_margin, paste_margin=paste_margin, properties=props,
                           nets=nets)]
        attr = "smd"

    # -- drawings -------------------------------------------------------------------------------
    body = spec.body
    bx, by = body[0] / 2, body[1] / 2
    graphics: list = [fab_outline(body, bevel=rules.fab_bevel, width=rules.fab_width)]
    graphics += silk_outline(body, groups, offset=rules.silk_offset, width=rules.silk_width,
                             clearance=rules.silk_clearance, mask_margin=max(mask_margin or 0, 0))
    half = max(g.size[0] for g in groups) / 2
    extent = (min(-bx, float(grid.x.min()) - half), min(-by, float(grid.y.min()) - half),
              max(bx, float(grid.x.max()) + half), max(by, float(grid.y.max()) + half))
    offset = spec.courtyard if spec.courtyard is not None else rules.courtyard_offset(family, body=body)
    crtyd_poly, courtyard = courtyard_rect(extent, offset=offset, grid=rules.courtyard_grid,
                                           width=rules.courtyard_width)
    graphics.append(crtyd_poly)
    graphics.append(fab_reference(body))
    provenance["courtyard"] = (f"courtyard {fmt(offset)} mm around body and pads on a "
                               f"{fmt(rules.courtyard_grid)} mm grid ("
                               + ("spec" if spec.courtyard is not None else
                                  rules.sources.get("courtyard", f"profile {rules.name}")) + ")")
    cy0, cy1 = courtyard.bounds[1], courtyard.bounds[3]
    # the silk reference also clears silk reaching past the courtyard (pin-1 marker of parts
    # under ~2 mm), else KiCad's DRC reports silk_overlap wherever the part is placed
    silk_top = min((y for g in graphics if g.layer == "F.SilkS" for y in _ys(g)), default=cy0)
    ref_y = min(cy0, silk_top) - 0.75
    name = spec.resolved_name
    description = _description(spec, grid_count=len(grid.names), provenance=provenance)
    tags = " ".join(dict.fromkeys([{"bga": "BGA ball grid array", "lga": "LGA land grid array",
                                                     "pga": "PGA pin grid array",
                                                     "wlcsp": "WLCSP CSP chip-scale"}[family],
                                   f"{spec.pad_count_expected()}", f"pitch {fmt(min(px, py))}mm"]))
    lib = FAMILY_LIBRARY[family]
    height = spec.height if spec.height is not None else DEFAULT_HEIGHT[family]
    geom = FootprintGeom(
        name=name, family=family, description=description, tags=tags, attr=attr, pads=groups,
        graphics=graphics, body=shapely.box(-bx, -by, bx, by), courtyard=courtyard,
        reference_at=(0.0, snap(ref_y)), value_at=(0.0, snap(cy1 + 0.75)),
        mask_margin=None,
        model=Model3D(f"${{KICAD9_3DMODEL_DIR}}/{lib}.3dshapes/{name}.step"),
        provenance=provenance,
        rules=rules.name, height=height,
        ball=getattr(spec, "ball_diameter", 0.0) or getattr(spec, "pin_diameter", 0.0) or 0.0,
        courtyard_offset=offset, pitch_x=px, pitch_y=py, land=land,
    )
    if isinstance(spec, PgaSpec) and spec.origin == "pin1":
        # KLC F7.2: a through-hole footprint's anchor is pin 1; pads, drawings and the 3D model
        # (built from this geometry, offset 0) move together
        geom = translated(geom, -float(groups[0].x[0]), -float(groups[0].y[0]))
    return [geom]


def ball_lengths(board) -> dict[str, float]:
    """Ball name → routed length of its net inside the package (mm), from a routed substrate board.

    Read from the board's sidecar ``routing.nets`` (``length_mm``); balls of a net joined by a
    plane (kind ``plane``), NC balls and unrouted nets are left out (their pads keep 0).

    Args:
        board: a routed substrate ``BoardGeom`` (terminal pads owned by ``BALLS``).

    Example:
        >>> from kisubstrate.families.registry import example_spec, get
        >>> lengths = ball_lengths(get("cavity").substrate(example_spec("cavity")))
        >>> len(lengths), round(lengths["A10"], 3)
        (44, 3.216)
    """
    nets = board.extras.sidecar.get("routing", {}).get("nets", {})
    p = board.pads
    out: dict[str, float] = {}
    for i in np.flatnonzero(np.asarray(p.net) > 0).tolist():
        net = nets.get(board.nets[int(p.net[i])])
        if p.owner[i] == "BALLS" and net is not None and net.get("kind") != "plane":
            out[p.name[i]] = float(net["length_mm"])
    return out


def with_die_lengths(fps: list[FootprintGeom], lengths: dict[str, float]) -> list[FootprintGeom]:
    """The footprints with each pad's KiCad ``die_length`` set from ``lengths`` (pad name → mm; others 0).

    So a board designer's length matching includes the package.

    Args:
        fps: footprints (e.g. from :func:`build_grid_array`).
        lengths: pad (ball) name → package length (mm), e.g. :func:`ball_lengths`.

    Example:
        >>> fp = build_grid_array(BgaSpec.model_validate({"family": "bga", "body": [2, 2], "pitch": 0.5,
        ...     "layout": [2, 2], "ball_diameter": 0.3}))
        >>> [g.die_length.tolist() for g in with_die_lengths(fp, {"A1": 1.5})[0].pads]
        [[1.5, 0.0, 0.0, 0.0]]
    """
    return [replace(fp, pads=[replace(g, die_length=np.array([lengths.get(n, 0.0) for n in g.names]))
                              for g in fp.pads]) for fp in fps]


def _ys(g) -> tuple[float, ...]:
    """Y coordinates a graphic reaches (mm)."""
    if isinstance(g, Line):
        return (g.start[1], g.end[1])
    if isinstance(g, Poly):
        return tuple(p[1] for p in g.points)
    if isinstance(g, Circle):
        return (g.center[1] - g.radius,)
    return ()


def _pga_groups(grid, land: float, drill: float, mask_margin: float | None, nets) -> list[PadGroup]:
    # pin 1 = first populated site (A1 unless depopulated) gets a square pad (KLC THT pin-1 rule)
    rest = slice(1, None)
    layers = ("*.Cu", "*.Mask")
    pin1 = PadGroup(names=grid.names[:1], x=grid.x[:1], y=grid.y[:1], kind="thru_hole", shape="rect",
                    size=(land, land), layers=layers, drill=drill, mask_margin=mask_margin,
                    nets=nets[:1] if nets else None)
    others = PadGroup(names=grid.names[1:], x=grid.x[rest], y=grid.y[rest], kind="thru_hole", shape="circle",
                      size=(land, land), layers=layers, drill=drill, mask_margin=mask_margin,
                      nets=nets[1:] if nets else None)
    return [pin1, others] if len(others) else [pin1]


def _description(spec: GridArraySpec, *, grid_count: int, provenance: dict[str, str]) -> str:
    px, py = spec.pitch_xy
    pitch = f"{fmt(px)} mm" if px == py else f"{fmt(px)} x {fmt(py)} mm"
    what = {"bga": "BGA", "lga": "LGA", "pga": "PGA", "wlcsp": "WLCSP"}[spec.family]
    parts = [f"{what}-{grid_count}, {spec.columns}x{spec.rows} grid, {fmt(spec.body[0])}x{fmt(spec.body[1])} mm body, "
             f"pitch {pitch}"]
    if hasattr(spec, "ball_diameter"):
        parts.append(f"ball {fmt(spec.ball_diameter)} mm ({getattr(spec, 'ball_type', '').replace('_', '-')})")
    if isinstance(spec, PgaSpec):
        parts.append(f"pin {fmt(spec.pin_diameter)} mm")
    parts += [provenance[k] for k in ("land", "drill", "mask") if k in provenance]
    if spec.source:
        parts.append(spec.source)
    parts.append(f"generated by kisubstrate {__version__}")
    return "; ".join(parts)


for _name, _spec, _summary in (
        ("bga", BgaSpec, "ball grid array footprint (IPC-7352 / IPC-7351B lands, NSMD/SMD)"),
        ("lga", LgaSpec, "land grid array footprint"),
        ("pga", PgaSpec, "pin grid array footprint (plated through-holes)"),
        ("wlcsp", WlcspSpec, "wafer-level CSP footprint (fine pitch, CSP courtyard)")):
    register(Family(name=_name, spec=_spec, footprint=build_grid_array, summary=_summary))
