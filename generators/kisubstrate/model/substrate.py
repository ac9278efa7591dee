"""Substrate spec models: stackup and materials, outline, dies, terminals, vias, rule profile.

A substrate spec describes a package's own multi-layer board (all lengths in mm)::

    stackup:                      # top (die side) first
      layers:
        - copper: 0.015           # L1: die level (die pads, carrier)
        - dielectric: 0.035
          material: ABF
        - copper: 0.015           # L2 ...
      materials: {MyFilm: {epsilon_r: 3.0, loss_tangent: 0.005}}   # extends MATERIALS
    dies: [{size: [6, 6], pads: {peripheral: {per_side: 24, pitch: 0.2}}}]
    terminals: {pitch: 1.0, layout: [14, 14], ball_diameter: 0.5}  # the footprint GridSpec

Physical copper layers are numbered 1..N from the die side (top) to the terminal side
(bottom); see :mod:`kisubstrate.kicad.layers` for how they become KiCad layers (odd N too).
Viewing convention of every substrate family (board vs footprint frame, flipped families):
:mod:`kisubstrate.geometry.terminals`.

Example:
    >>> st = Stackup.model_validate({"layers": [{"copper": 0.015}, {"dielectric": 0.03, "material": "ABF"},
    ...                                          {"copper": 0.015}]})
    >>> st.copper_count, st.dielectrics()[0].material, st.material("ABF").epsilon_r
    (2, 'ABF', 3.3)
    >>> load_substrate_rules("substrate-buildup").microvia_drill
    0.06
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import ClassVar, Literal

from pydantic import (
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)

from kisubstrate.model.base import (
    GridCount,
    PackageSpec,
    SpecModel,
    body_positive,
    length,
    resolve_rules,
)
from kisubstrate.model.bumpplan import BumpPlan, plan_sites
from kisubstrate.model.datafile import read_csv_rows
from kisubstrate.model.errors import FieldError, SpecError
from kisubstrate.model.grid import GridSpec
from kisubstrate.model.profiles import load_profile


class Material(SpecModel):
    """A dielectric material: εr and tanδ (at ~1 GHz), modulus and water uptake (unknown: ``None``).

    The mechanical and moisture properties are what a package claim rests on (an elastic adhesive,
    a low-hygroscopy resin: see the ``pop`` family).

    Example:
        >>> m = Material(epsilon_r=2.68, loss_tangent=0.00133, elastic_modulus=0.003)
        >>> m.elastic_modulus, m.moisture_absorption
        (0.003, None)
    """

    epsilon_r: float = Field(gt=1.0, le=100.0, description="relative permittivity εr")
    loss_tangent: float = Field(ge=0.0, le=1.0, description="dielectric loss tangent tanδ")
    elastic_modulus: float | None = Field(None, gt=0.0, le=1000.0, description="Young's (tensile) modulus at "
                                          "room temperature, GPa (an elastic adhesive: low)",
                                          json_schema_extra={"unit": "GPa"})
    moisture_absorption: float | None = Field(None, ge=0.0, le=100.0, description="water uptake, % by weight "
                                              "(ASTM D570: 24 h immersion at 23 °C; a low-hygroscopy resin: low)",
                                              json_schema_extra={"unit": "%"})
    description: str = Field("", description="what it is / where the numbers come from")


MATERIALS: dict[str, Material] = {
    name: Material(epsilon_r=er, loss_tangent=tan, elastic_modulus=e, moisture_absorption=w, description=desc)
    for name, er, tan, e, w, desc in (
        # name, εr, tanδ, E (GPa), water uptake (%), description with the source of every number
        ("FR-4", 4.5, 0.02, None, 0.10, "KiCad stackup preset; water uptake 0.10 % (ASTM D570 E-24/50 + D-24/23): "
         "Hirosugi glass-epoxy FR-4 data, http://hirosugi.jp/technical/material/GG.html"),
        ("FR-5", 4.3, 0.017, None, None, "high-Tg epoxy glass (typical datasheet value)"),
        ("FR408-HR", 3.69, 0.0091, None, None, "KiCad stackup preset"),
        ("epoxy", 3.8, 0.02, None, None, "unfilled epoxy mould / build-up resin (typical)"),
        ("BT", 4.2, 0.012, None, None, "bismaleimide-triazine core (sample substrate4L placeholder)"),
        ("ABF", 3.3, 0.008, None, None, "Ajinomoto build-up film (sample substrate4L placeholder)"),
        ("polyimide", 3.5, 0.003, 2.5, 2.8, "polyimide film (KiCad preset family); E 2.5 GPa at 23 °C (ASTM "
         "D882) and water uptake 2.8 % (ASTM D570, 24 h at 23 °C): DuPont Kapton HN technical data sheet"),
        ("silicone", 2.68, 0.00133, 0.003, None, "silicone elastomer adhesive: εr 2.68 and tanδ 0.00133 at 100 kHz "
         "(Dow Sylgard 184 data sheet; no GHz value given); E 1.3-3.0 MPa, upper end taken (Johnston et al., "
         "J. Micromech. Microeng. 24 (2014) 035017)"),
        ("BCB", 2.65, 0.0008, None, None, "benzocyclobutene (Cyclotene datasheet typical)"),
        ("PTFE", 2.1, 0.0002, None, None, "KiCad stackup preset"),
        ("ceramic", 9.8, 0.0002, None, None, "96 % alumina (typical)"),
        ("LTCC", 7.8, 0.002, None, None, "low-temperature co-fired ceramic (typical)"),
        ("glass", 5.3, 0.005, None, None, "glass core (typical)"),
    )}
"""Built-in dielectric table; a spec's ``stackup.materials`` extends or overrides it."""


class Ply(SpecModel):
    """One sheet of a dielectric made of several materials (KiCad sub-layer), e.g. a spacer or adhesive.

    Example: the dielectric between a cavity package's ring copper and its cavity floor is the
    second substrate plus the spacer: ``plies: [{thickness: 0.1, material: BT, role: substrate},
    {thickness: 0.3, material: FR-4, role: spacer}]`` (top first).
    """

    thickness: float = length("ply thickness", le=5.0)
    material: str | None = Field(None, description="material (MATERIALS or stackup.materials); default the layer's")
    role: str = Field("", max_length=40, description="what the ply is: substrate, spacer, resin, adhesive, ...")


class StackLayer(SpecModel):
    """One layer of the stack: either ``copper: thickness`` or ``dielectric: thickness`` (+ material).

    A dielectric may list ``plies`` (top first; KiCad sub-layers): their thicknesses add up to
    the dielectric's thickness.
    """

    copper: float | None = length("copper thickness", le=1.0, default=None)
    dielectric: float | None = length("dielectric thickness", le=5.0, default=None)
    material: str | None = Field(None, description="dielectric material (MATERIALS or stackup.materials)")
    type: Literal["core", "prepreg"] = Field("prepreg", description="KiCad dielectric type")
    name: str | None = Field(None, max_length=40, description="user name of a copper layer (e.g. 'RDL1')")
    plies: list[Ply] | None = Field(None, max_length=8, description="sheets of a composite dielectric, top first")
    role: Literal["signal", "plane", "mixed"] | None = Field(
        None, description="copper layer role for the router: signal (traces), plane (one net, or regions of "
        "several nets; vias cross it, traces do not) or mixed (traces, and the rest poured with its nets)")
    nets: list[str] | None = Field(None, min_length=1, max_length=64,
                                   description="plane / mixed layer: the net(s) poured on it")

    @model_validator(mode="after")
    def _one_kind(self) -> "StackLayer":
        if (self.copper is None) == (self.dielectric is None):
            raise ValueError("each stack layer is either 'copper: <mm>' or 'dielectric: <mm>'")
        if self.copper is not None and self.material is not None:
            raise ValueError("a copper layer has no dielectric material")
        if self.plies is not None:
            if self.copper is not None or not self.plies:
                raise ValueError("only a dielectric has plies (at least one)")
            total = sum(p.thickness for p in self.plies)
            if abs(total - self.dielectric) > 1e-6:  # type: ignore[operator]
                raise ValueError(f"plies add up to {total:g} mm but the dielectric is {self.dielectric:g} mm")
        if self.copper is None and (self.role is not None or self.nets is not None):
            raise ValueError("only a copper layer has a role or nets")
        if self.role == "plane" and not self.nets:
            raise ValueError("a plane layer needs its net: nets: [GND] (or several nets for a split plane)")
        if self.nets is not None and self.role in (None, "signal"):
            raise ValueError(f"nets are poured only on a plane or mixed layer, not on a {self.role or 'default'} "
                             "layer: add role: plane or role: mixed")
        if self.nets is not None and (len(set(self.nets)) != len(self.nets) or not all(n.strip() for n in self.nets)):
            raise ValueError("a layer's nets must be distinct and not empty")
        return self

    @property
    def is_copper(self) -> bool:
        """True for a copper layer."""
        return self.copper is not None

    @property
    def thickness(self) -> float:
        """Thickness in mm."""
        return float(self.copper if self.copper is not None else self.dielectric)  # type: ignore[arg-type]


MAX_COPPER = 32


class Stackup(SpecModel):
    """Ordered copper/dielectric layers (die side first), materials, mask and finish."""

    layers: list[StackLayer] = Field(description="copper and dielectric layers, die side (top) first")
    materials: dict[str, Material] = Field(default_factory=dict, description="extra / overriding materials")
    default_material: str = Field("ABF", description="material of dielectrics that name none")
    mask_thickness: float = length("solder-mask thickness (both sides)", le=0.2, default=0.02)
    mask_material: str | None = Field(None, max_length=60, description="material of the mask layers when it is "
                                      "not a plain solder mask (e.g. a leadframe's protective polyimide or "
                                      "titanium); written in KiCad's stackup")
    finish: str = Field("ENEPIG", max_length=40, description="copper finish (KiCad copper_finish)")

    @model_validator(mode="after")
    def _alternates(self) -> "Stackup":
        kinds = [lay.is_copper for lay in self.layers]
        if len(kinds) < 3 or not kinds[0] or not kinds[-1]:
            raise ValueError("a stackup starts and ends with copper and has at least two copper layers")
        for a, b in zip(kinds, kinds[1:]):
            if a == b:
                raise ValueError("copper and dielectric layers must alternate")
        if self.copper_count > MAX_COPPER:
            raise ValueError(f"{self.copper_count} copper layers: KiCad supports at most {MAX_COPPER}")
        for lay in self.dielectrics():
            self.material(lay.material or self.default_material)
            for ply in lay.plies or ():
                self.material(ply.material or lay.material or self.default_material)
        diel = self.dielectrics()
        if self.copper_count % 2 and diel[-1].plies and len(diel[-1].plies) > 1:
            raise ValueError("with an odd copper count the last dielectric is split around KiCad's placeholder "
                             "layer: give the plies to another dielectric")
        return self

    def material(self, name: str) -> Material:
        """Properties of a material by name (spec table first, then :data:`MATERIALS`).

        Raises:
            ValueError: unknown material (pydantic turns it into a located SpecError).
        """
        if name in self.materials:
            return self.materials[name]
        folded = {k.lower(): v for k, v in MATERIALS.items()}
        if name.lower() in folded:
            return folded[name.lower()]
        raise ValueError(f"unknown material '{name}'; known: {', '.join(sorted(MATERIALS))} "
                         "(add it under stackup.materials with epsilon_r and loss_tangent)")

    @property
    def copper_count(self) -> int:
        """Number of physical copper layers."""
        return sum(1 for lay in self.layers if lay.is_copper)

    def coppers(self) -> list[StackLayer]:
        """Copper layers, top first."""
        return [lay for lay in self.layers if lay.is_copper]

    def dielectrics(self) -> list[StackLayer]:
        """Dielectric layers, top first (dielectric k lies between copper k and k+1, 0-based)."""
        return [lay for lay in self.layers if not lay.is_copper]

    def thickness(self) -> float:
        """Total thickness without mask (mm)."""
        return sum(lay.thickness for lay in self.layers)

    def hop_depth(self, upper: int) -> float:
        """Depth of a microvia from copper ``upper`` to ``upper + 1`` (0-based): dielectric + target foil (mm).

        IPC-2226 measures the aspect ratio over dielectric + foil from the laser side.
        """
        return self.dielectrics()[upper].thickness + self.coppers()[upper + 1].thickness


class PeripheralPads(SpecModel):
    """Bond pads in one row along each die edge, centred on the edge."""

    per_side: int | tuple[int, int, int, int] = Field(
        description="pads per side, or [top, right, bottom, left]")
    pitch: float = length("pad pitch along the edge", le=5)
    inset: float = length("pad centre distance from the die edge", le=5, default=0.15)

    def counts(self) -> tuple[int, int, int, int]:
        """Pads on the top, right, bottom and left edges."""
        return self.per_side if isinstance(self.per_side, tuple) else (self.per_side,) * 4  # type: ignore[return-value]

    @field_validator("per_side")
    @classmethod
    def _positive(cls, v):
        values = v if isinstance(v, tuple) else (v,)
        if not all(0 <= n <= 2000 for n in values) or sum(values) == 0:
            raise ValueError("pads per side must be 0..2000 and not all zero")
        return v


class AreaPads(SpecModel):
    """An area bump array on the die (centred)."""

    pitch: float = length("bump pitch", le=5)
    layout: tuple[GridCount, GridCount] = Field(description="columns, rows")


class DiePad(SpecModel):
    """One die pad from a die pad map: name, position relative to the die centre (mm), net."""

    name: str
    x: float
    y: float
    net: str = ""
    line: int = Field(0, ge=0, description="CSV line the pad was read from (0 = not from a file)")


def read_die_pad_map(path: Path) -> list[DiePad]:
    """Read a die pad map CSV with header ``pad,x,y[,net]`` (mm, relative to the die centre)."""
    numbered = read_csv_rows(path, what="die pad map", field="pad_map")
    rows = [r for _n, r in numbered]
    if not rows or [c.strip().lower() for c in rows[0][:3]] != ["pad", "x", "y"]:
        raise SpecError(f"die pad map '{path}' needs the header 'pad,x,y[,net]'", field="pad_map")
    pads, seen = [], set()
    for lineno, row in numbered[1:]:
        try:
            name, x, y = row[0].strip(), float(row[1]), float(row[2])
        except (IndexError, ValueError):
            raise SpecError(f"die pad map '{path}' line {lineno}: expected name, x, y", field="pad_map") from None
        if not name or name in seen or not (math.isfinite(x) and math.isfinite(y)):
            raise SpecError(f"die pad map '{path}' line {lineno}: empty, repeated or invalid pad", field="pad_map")
        seen.add(name)
        pads.append(DiePad(name=name, x=x, y=y, net=row[3].strip() if len(row) > 3 else "", line=lineno))
    if not pads:
        raise SpecError(f"die pad map '{path}' lists no pads", field="pad_map")
    return pads


class DiePads(SpecModel):
    """Exactly one of: peripheral rows, an area array, a pad map CSV, or a bump plan (flip chip).

    Example:
        >>> DiePads.model_validate({"plan": {"pitch": 0.2}, "size": 0.09}).plan.pitch
        0.2
    """

    peripheral: PeripheralPads | None = None
    area: AreaPads | None = None
    map: list[DiePad] | None = Field(None, description="CSV path: pad,x,y[,net] relative to the die centre")
    plan: BumpPlan | None = Field(None, description="flip-chip bump plan: as many bumps as fit at a pitch")
    size: float = length("pad (copper / bump) diameter", le=2, default=0.1)
    map_file: str | None = Field(None, description="set by kisubstrate: the CSV file 'map' was read from "
                                 "(named in messages)")

    @model_validator(mode="before")
    @classmethod
    def _remember_map_file(cls, data):
        if isinstance(data, dict) and isinstance(data.get("map"), str) and "map_file" not in data:
            data = {**data, "map_file": data["map"]}
        return data

    @field_validator("map", mode="before")
    @classmethod
    def _read_map(cls, v, info: ValidationInfo):
        if v is None or isinstance(v, list):
            return v
        if not isinstance(v, str):
            raise ValueError("map must be the path of a CSV file")
        base = Path((info.context or {}).get("base_dir", "."))
        path = Path(v)
        return read_die_pad_map(path if path.is_absolute() else base / path)

    @model_validator(mode="after")
    def _exactly_one(self) -> "DiePads":
        if sum(x is not None for x in (self.peripheral, self.area, self.map, self.plan)) != 1:
            raise ValueError("give exactly one of peripheral, area, map or plan")
        return self


class DieSpec(SpecModel):
    """A die placed on the substrate (its pads land on copper layer 1)."""

    name: str = Field("U1", pattern=r"^[A-Za-z][A-Za-z0-9_]*$", description="reference designator")
    size: tuple[float, float] = Field(description="die x, y", json_schema_extra={"unit": "mm"})
    position: tuple[float, float] = Field((0.0, 0.0), description="die centre relative to the body centre")
    thickness: float = length("die thickness", le=5, default=0.2)
    face: Literal["up", "down"] = Field("up", description="active face towards the build-up (up) or flipped")
    pads: DiePads

    def pad_list(self) -> list[DiePad]:
        """Every pad with its position relative to the die centre, in a stable order.

        Peripheral pads run clockwise from the top-left (top edge left→right, right edge
        top→bottom, …) and are named ``1, 2, …``; area bumps and bump-plan sites
        (:func:`~kisubstrate.model.bumpplan.plan_sites`, no nets) use ``A1`` style names.

        Example:
            >>> d = DieSpec.model_validate({"size": [1, 1], "pads": {"plan": {"pitch": 0.2}}})
            >>> pads = d.pad_list()
            >>> len(pads), (pads[0].name, pads[0].x, pads[0].y, pads[0].net), pads[-1].name
            (25, ('A1', -0.4, -0.4, ''), 'E5')
        """
        p = self.pads
        w, h = self.size
        out: list[DiePad] = []
        if p.map is not None:
            return list(p.map)
        if p.plan is not None:
            s = plan_sites(w, h, p.plan, p.size)
            return [DiePad(name=n, x=x, y=y) for n, x, y in zip(s.names, s.x.tolist(), s.y.tolist())]
        if p.area is not None:
            from kisubstrate.model.grid import row_names
            cols, rows = p.area.layout
            letters = row_names(rows)
            for r in range(rows):
                for c in range(cols):
                    out.append(DiePad(name=f"{letters[r]}{c + 1}", x=(c - (cols - 1) / 2) * p.area.pitch,
                                      y=(r - (rows - 1) / 2) * p.area.pitch))
            return out
        per = p.peripheral
        assert per is not None
        top, right, bottom, left = per.counts()
        n = 0
        for count, side in ((top, "top"), (right, "right"), (bottom, "bottom"), (left, "left")):
            for k in range(count):
                t = (k - (count - 1) / 2) * per.pitch
                if side == "top":
                    x, y = t, -h / 2 + per.inset
                elif side == "right":
                    x, y = w / 2 - per.inset, t
                elif side == "bottom":
                    x, y = -t, h / 2 - per.inset
                else:
                    x, y = -w / 2 + per.inset, -t
                n += 1
                out.append(DiePad(name=str(n), x=x, y=y))
        return out

    def board_pads(self) -> list[DiePad]:
        """:meth:`pad_list` as placed on the substrate (relative to the die centre, mm).

        A face-down (flipped) die's pads, given in its own face view, are mirrored in x; face-up
        pads are as given.

        Example:
            >>> d = DieSpec.model_validate({"size": [2, 2], "face": "down", "pads": {"map": [
            ...     {"name": "1", "x": -0.5, "y": 0.2}]}})
            >>> [(p.name, p.x, p.y) for p in d.board_pads()]
            [('1', 0.5, 0.2)]
        """
        pads = self.pad_list()
        if self.face == "up":
            return pads
        return [p.model_copy(update={"x": 0.0 - p.x}) for p in pads]

    @model_validator(mode="after")
    def _pads_on_die(self) -> "DieSpec":
        w, h = self.size
        if not all(0 < s <= 100 for s in self.size):
            raise ValueError("die sides must be > 0 and <= 100 mm")
        r = self.pads.size / 2
        if self.pads.plan is not None:
            try:
                plan_sites(w, h, self.pads.plan, self.pads.size)
            except ValueError as exc:
                raise FieldError("pads.plan", str(exc)) from None
        for pad in self.pad_list():
            if abs(pad.x) + r > w / 2 + 1e-9 or abs(pad.y) + r > h / 2 + 1e-9:
                raise ValueError(f"die pad {pad.name} at ({pad.x:g}, {pad.y:g}) lies outside the "
                                 f"{w:g} x {h:g} mm die")
        per = self.pads.peripheral
        if per is not None:
            for count, side in zip(per.counts(), (w, h, w, h)):
                if (count - 1) * per.pitch + 2 * r > side - 2 * per.inset + 1e-9 and count > 1:
                    raise ValueError(f"{count} pads at {per.pitch:g} mm pitch do not fit a {side:g} mm die edge")
        return self


SOLDER_LAND_FRACTION = 0.8
"""Solder-defined land diameter of a ball as a fraction of the ball diameter.

IPC-7095 (BGA design and assembly) sizes the package and board lands at about 80 % of the ball
(75–85 % in vendor WLCSP guides, e.g. TI SNVA009 "DSBGA wafer chip-scale package", NXP AN10439
"Wafer level chip scale package"): the joint is wetted over that diameter, whether copper (NSMD)
or the solder-mask opening (SMD) defines it.
"""


def solder_land(ball: float, mask: Literal["smd", "nsmd"], rules, land: float | None = None) -> tuple[float, float]:
    """Copper land diameter and solder-mask margin of a ball land, from the ball and the land type (mm).

    The solder-wetted diameter is ``land`` if given, else :data:`SOLDER_LAND_FRACTION` × ball.

    * **NSMD**: the copper is that diameter; the opening is the copper + 2 × ``mask_margin``.
    * **SMD**: the opening is that diameter; the copper is larger by the mask overlap
      (``smd_overlap``, the solder-resist registration) on each side, so the opening always lies on
      copper. (The old rule — opening = land − 2 × overlap — opened 0.10 mm for a 0.25 mm ball.)

    Args:
        ball: ball diameter (mm).
        mask: ``"nsmd"`` or ``"smd"``.
        rules: the substrate rule profile (``mask_margin``, ``smd_overlap``; mm).
        land: the solder-defined diameter (mm; the copper for NSMD, the opening for SMD); None =
            80 % of the ball.

    Returns:
        ``(copper land diameter, mask margin per side)`` in mm; the margin is negative for SMD
        (the mask covers the land's rim).

    Example:
        >>> r = load_substrate_rules("substrate-buildup")
        >>> solder_land(0.25, "smd", r), solder_land(0.25, "nsmd", r)
        ((0.3, -0.05), (0.2, 0.05))
    """
    solder = land if land is not None else round(SOLDER_LAND_FRACTION * ball, 6)
    if mask == "nsmd":
        return solder, rules.mask_margin
    return round(solder + 2 * rules.smd_overlap, 6), -rules.smd_overlap


class Terminals(GridSpec):
    """The ball / bump / pin grid on the outermost (bottom) layer: the footprint families' GridSpec."""

    kind: Literal["ball", "bump", "pin"] = Field("ball", description="solder ball, bump or pin")
    ball_diameter: float = length("ball / bump / pin diameter", le=10)
    land: float | None = length("solder-defined land diameter: the copper (nsmd) or the solder-mask opening "
                                "(smd); default 0.8 x ball (IPC-7095)", le=10, default=None)
    mask: Literal["nsmd", "smd"] = Field("smd", description="substrate ball pads: smd (mask-defined, usual "
                                         "for substrates) or nsmd")
    board_pad_diameter: float | None = length("board-side land for the footprint; default IPC-7352", le=10,
                                              default=None)

    def land_mm(self, rules=None) -> float:
        """Substrate ball land copper diameter (mm): :meth:`land_and_margin` (without a profile, the solder land)."""
        if rules is None:
            return self.land if self.land is not None else round(SOLDER_LAND_FRACTION * self.ball_diameter, 4)
        return self.land_and_margin(rules)[0]

    def land_and_margin(self, rules) -> tuple[float, float]:
        """Copper land diameter and solder-mask margin per side (mm) of the ball lands (:func:`solder_land`).

        Args:
            rules: the substrate rule profile (``mask_margin``, ``smd_overlap``; mm).
        """
        return solder_land(self.ball_diameter, self.mask, rules, self.land)


class ViaSize(SpecModel):
    """Drill and capture-pad diameters of one via kind (mm)."""

    drill: float = length("finished hole diameter", le=2)
    pad: float = length("capture / landing pad diameter", le=3)

    @model_validator(mode="after")
    def _pad_over_drill(self) -> "ViaSize":
        if self.pad <= self.drill:
            raise ValueError(f"pad {self.pad:g} mm must be larger than the drill {self.drill:g} mm")
        return self


class ViaSpec(SpecModel):
    """Via sizes and how microvia columns are built."""

    micro: ViaSize | None = Field(None, description="laser microvia (one dielectric); default from the profile")
    blind: ViaSize | None = Field(None, description="blind / buried via (several dielectrics)")
    through: ViaSize | None = Field(None, description="mechanically drilled through via")
    columns: Literal["stacked", "staggered"] = Field(
        "stacked", description="stacked: each microvia sits on the one below; staggered: offset per hop")
    stagger: float = length("staggered columns: offset of each hop (mm)", ge=0, le=2, default=0.0)


class SubstrateRules(SpecModel):
    """Substrate design-rule profile (mm unless stated); every value cites a source in ``sources``."""

    name: str = "custom"
    description: str = ""
    sources: dict[str, str] = Field(default_factory=dict)
    trace_width: float = length("minimum / routed trace width", le=2)
    clearance: float = length("copper-to-copper clearance between nets", le=2)
    microvia_drill: float = length("microvia drill", le=1)
    microvia_pad: float = length("microvia capture pad", le=2)
    via_drill: float = length("mechanical via drill", le=2)
    via_pad: float = length("mechanical via pad", le=3)
    annular_ring: float = length("minimum annular ring", ge=0, gt=None, le=1)
    hole_to_hole: float = length("minimum drill-edge to drill-edge (mechanical holes)", ge=0, gt=None, le=5)
    copper_to_edge: float = length("copper to board edge", ge=0, gt=None, le=5)
    microvia_aspect_ratio: float = Field(1.0, gt=0, le=5, description="max depth / drill")
    microvia_max_depth: float = length("max microvia depth (IPC-2226: 0.25 mm)", le=2, default=0.25)
    max_stack: int = Field(4, ge=1, le=32, description="max microvias stacked on each other")
    mask_web: float = length("minimum solder-mask web", ge=0, gt=None, le=2)
    encapsulant_cover: float = length("least mould / encapsulant over a covered die face or wire loop: twice the "
                                      "top-cut filler size of a fine-filler epoxy mould compound (25 um)",
                                      ge=0, gt=None, le=1, default=0.05)
    mask_margin: float = length("NSMD mask expansion per side", ge=0, gt=None, le=1)
    smd_overlap: float = length("SMD (mask-defined) terminal lands: mask over the copper per side; must exceed "
                                "the solder-resist registration", ge=0, gt=None, le=0.5, default=0.05)


def load_substrate_rules(name_or_path: str = "substrate-buildup", *, base_dir: str | None = None) -> SubstrateRules:
    """Load a substrate rule profile by shipped name (``substrate-*``) or YAML path.

    The same loader as footprint profiles (:func:`kisubstrate.model.profiles.load_profile`): shared
    reading and messages, cached per file version (an edited profile is re-read).

    Args:
        name_or_path: shipped name (``substrate-buildup``, ``substrate-hdi``) or a YAML file of rule
            values (mm).
        base_dir: folder that a relative path resolves from.

    Raises:
        SpecError: unknown profile, a footprint profile, unreadable file or invalid values (field ``rules``).
    """
    return load_profile(SubstrateRules, "substrate", name_or_path, base_dir=base_dir)


class SubstrateRuleAccess:
    """Rule-profile access shared by every substrate spec (``SubstrateSpec``, leadframe, wafer stack).

    Needs the fields ``rules`` (substrate profile) and ``footprint_rules``; uses ``vias.micro`` and
    ``trace_width`` where the spec has them.
    """

    def substrate_rules(self) -> SubstrateRules:
        """The substrate rule profile."""
        return load_substrate_rules(self.rules)  # type: ignore[attr-defined]

    def rule_set(self):
        """The footprint rule profile (for the board-side land pattern of this package)."""
        from kisubstrate.model.rules import load_rules

        return load_rules(self.footprint_rules)  # type: ignore[attr-defined]

    def micro(self) -> ViaSize:
        """Microvia size: the spec's ``vias.micro``, else the profile's."""
        r = self.substrate_rules()
        vias = getattr(self, "vias", None)
        return (vias.micro if vias is not None else None) or ViaSize(drill=r.microvia_drill, pad=r.microvia_pad)

    def width(self) -> float:
        """Routed trace width (mm): the spec's ``trace_width``, else the profile minimum."""
        given = getattr(self, "trace_width", None)
        return given if given is not None else self.substrate_rules().trace_width


class SubstrateSpec(SubstrateRuleAccess, PackageSpec):
    """Fields shared by every substrate family (a family subclasses it and fixes ``family``)."""

    family: str
    body: tuple[float, float] = Field(description="package body x, y", json_schema_extra={"unit": "mm"})
    stackup: Stackup
    dies: list[DieSpec] = Field(min_length=1, max_length=16)
    terminals: Terminals
    vias: ViaSpec = Field(default_factory=ViaSpec)
    rules: str = Field("substrate-buildup", description="substrate rule profile name or YAML path")
    footprint_rules: str = Field("ipc-default", description="rule profile of the board-side footprint")
    trace_width: float | None = length("routed trace width (default: profile minimum)", le=2, default=None)

    @field_validator("rules")
    @classmethod
    def _rules_exist(cls, v: str, info: ValidationInfo) -> str:
        return resolve_rules(v, info, load_substrate_rules)

    @field_validator("footprint_rules")
    @classmethod
    def _footprint_rules_exist(cls, v: str, info: ValidationInfo) -> str:
        from kisubstrate.model.rules import load_rules

        return resolve_rules(v, info, load_rules, "footprint_rules")

    @field_validator("body")
    @classmethod
    def _body_positive(cls, v: tuple[float, float]) -> tuple[float, float]:
        return body_positive(v)

    def default_name(self) -> str:
        """``<FAMILY>-Substrate_<x>x<y>mm_<n>L_P<pitch>mm``."""
        t = self.terminals
        return (f"{self.family.upper()}-Substrate_{self.body[0]:g}x{self.body[1]:g}mm_"
                f"{self.stackup.copper_count}L_P{t.pitch_xy[0]:g}mm")

    routes_netlist: ClassVar[bool] = False
    """True for a family whose router reads the stackup's layer roles (``role``, ``nets``)."""

    @model_validator(mode="after")
    def _roles_used(self) -> "SubstrateSpec":
        if not self.routes_netlist:
            for k, lay in enumerate(self.stackup.coppers()):
                if lay.role is not None or lay.nets is not None:
                    raise ValueError(f"copper layer {k + 1} has a role / nets, but the {self.family} family does "
                                     "not route by layer roles (family: flipchip does)")
        return self

    @model_validator(mode="after")
    def _inside_body(self) -> "SubstrateSpec":
        bx, by = self.body[0] / 2, self.body[1] / 2
        for die in self.dies:
            (dx, dy), (w, h) = die.position, die.size
            if abs(dx) + w / 2 > bx + 1e-9 or abs(dy) + h / 2 > by + 1e-9:
                raise ValueError(f"die {die.name} ({w:g} x {h:g} mm at {dx:g}, {dy:g}) lies outside the body")
        t = self.terminals
        px, py = t.pitch_xy
        copper = t.land_mm(self.substrate_rules())
        for axis, n, p, half, off in (("x", t.columns, px, bx, t.offset[0]), ("y", t.rows, py, by, t.offset[1])):
            if (n - 1) * p / 2 + abs(off) + copper / 2 > half + 1e-9:
                raise ValueError(f"terminal grid ({n} x {p:g} mm in {axis}) does not fit in the body")
        if copper >= min(px, py):
            raise ValueError(f"terminal land {copper:g} mm (copper) must be smaller than the pitch")
        return self
