"""The grid definition shared by grid-array footprints and substrate terminals.

One model, used by the BGA/LGA/PGA/WLCSP footprints and by every substrate's
ball / bump / pin grid, so footprint and substrate cannot disagree on names or positions.
"""

from __future__ import annotations

import collections
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, ValidationInfo, field_validator, model_validator

from kisubstrate.model.base import GridCount, SpecModel
from kisubstrate.model.datafile import read_csv_rows
from kisubstrate.model.errors import FieldError, SpecError

JEDEC_ALPHABET = "ABCDEFGHJKLMNPRTUVWY"
"""Row letters used by JEDEC ball maps: A–Z without I, O, Q, S, X, Z."""


@lru_cache(maxsize=32)
def _row_names(count: int, alphabet: str) -> tuple[str, ...]:
    names: list[str] = []
    k = len(alphabet)
    length = 1
    while len(names) < count:
        # all names of this length: single letters, then AA..YY style (first letter major)
        total = k ** length
        for i in range(total):
            digits = []
            v = i
            for _ in range(length):
                digits.append(alphabet[v % k])
                v //= k
            names.append("".join(reversed(digits)))
            if len(names) == count:
                break
        length += 1
    return tuple(names)


def row_names(count: int, alphabet: str = JEDEC_ALPHABET) -> list[str]:
    """The first ``count`` row names: A … Y, AA … AY, BA … (letters of ``alphabet``).

    Example:
        >>> row_names(3), row_names(21)[-1], row_names(41)[-1]
        (['A', 'B', 'C'], 'AA', 'BA')
    """
    return list(_row_names(count, alphabet))


_NAME_RE = re.compile(r"^([A-Z]+)([0-9]+)$")


def parse_ball_name(name: str, rows: list[str]) -> tuple[int, int] | None:
    """(row index, column index) of a ball name like ``AB12``, or None if not on the grid."""
    m = _NAME_RE.match(name.strip().upper())
    if not m:
        return None
    try:
        row = rows.index(m.group(1))
    except ValueError:
        return None
    return row, int(m.group(2)) - 1


MAX_SIDE = 400


def _row_span(letters: list[str]) -> str:
    """'A..E' style description of the row names in use."""
    return letters[0] if len(letters) == 1 else f"{letters[0]}..{letters[-1]}"
_RANGE_RE = re.compile(r"^([A-Z]+[0-9]+)\s*:\s*([A-Z]+[0-9]+)$")


@dataclass(frozen=True)
class BallMap:
    """Ball names per grid site (top view) and/or a net per ball, read from a CSV file."""

    path: str
    names: tuple[tuple[str, ...], ...] | None = None  # rows × columns, "" = unpopulated
    nets: tuple[tuple[str, str], ...] = ()  # (ball, net)
    lines: tuple[int, ...] = ()  # CSV line of each entry of ``nets`` (for located messages)

    @property
    def net_of(self) -> dict[str, str]:
        """Ball name → net name."""
        return dict(self.nets)


def read_ball_map(path: Path) -> BallMap:
    """Read a ball-map CSV.

    Two forms are accepted:

    * **list**: a header ``ball,net`` then one ball per line (assigns nets);
    * **grid**: no header, one CSV row per ball row (top view, row A first), each cell
      the ball name at that site, empty or ``-`` where no ball is.
    """
    numbered = read_csv_rows(path, what="ball map", field="ball_map")
    rows = [r for _n, r in numbered]
    if not rows:
        raise SpecError(f"ball map '{path}' is empty", field="ball_map")
    header = [c.strip().lower() for c in rows[0]]
    if header and header[0] in ("ball", "pin", "pad", "name", "land", "site", "bump"):
        if len(header) < 2 or header[1] not in ("net", "signal"):
            raise SpecError(f"ball map '{path}': a list map needs the header 'ball,net' (or 'land,net')",
                            field="ball_map")
        nets, lines = [], []
        seen = set()
        for lineno, row in numbered[1:]:
            ball = row[0].strip().upper()
            net = row[1].strip() if len(row) > 1 else ""
            if not ball:
                raise SpecError(f"ball map '{path}' line {lineno}: empty ball name", field="ball_map")
            if ball in seen:
                raise SpecError(f"ball map '{path}' line {lineno}: ball {ball} listed twice", field="ball_map")
            seen.add(ball)
            nets.append((ball, net))
            lines.append(lineno)
        return BallMap(path=str(path), nets=tuple(nets), lines=tuple(lines))
    width = max(len(r) for r in rows)
    names = tuple(tuple(("" if c.strip() in ("", "-") else c.strip()) for c in r + [""] * (width - len(r)))
                  for r in rows)
    counts = collections.Counter(n for r in names for n in r if n)
    dupes = sorted(n for n, k in counts.items() if k > 1)
    if dupes:
        raise SpecError(f"ball map '{path}': names used twice: {', '.join(dupes[:5])}", field="ball_map")
    return BallMap(path=str(path), names=names)


class GridSpec(SpecModel):
    """A ball / land / pin grid: pitch, layout, depopulation, naming."""

    pitch: float | tuple[float, float] = Field(
        description="ball pitch in mm, or [x, y]", json_schema_extra={"unit": "mm"})
    layout: tuple[int, int] = Field(description="columns, rows of the full grid")
    missing: list[str] = Field(default_factory=list,
                               description="balls not populated, e.g. [A1, B2] or ranges [C3:F6]")
    center_void: tuple[GridCount, GridCount] | None = Field(None, description="columns, rows removed from the centre")
    perimeter_rings: int | None = Field(None, ge=1, le=200, description="keep only this many outer rings")
    center_island: tuple[GridCount, GridCount] | None = Field(
        None, description="with perimeter_rings: columns, rows kept in the centre (thermal balls)")
    stagger: Literal["a1", "b1"] | None = Field(
        None, description="staggered grid: 'a1' keeps sites with even row+column (A1 present), 'b1' odd")
    offset: tuple[float, float] = Field((0.0, 0.0), description="grid centre relative to the body centre",
                                        json_schema_extra={"unit": "mm"})
    ball_map: BallMap | None = Field(None, description="CSV file: ball name per site (grid) or ball,net list")
    row_alphabet: str = Field(JEDEC_ALPHABET, min_length=2,
                              description="row letters in order (default JEDEC: no I O Q S X Z)")

    @field_validator("pitch")
    @classmethod
    def _pitch_positive(cls, v: float | tuple[float, float]) -> float | tuple[float, float]:
        values = v if isinstance(v, tuple) else (v,)
        for p in values:
            if not (0 < p <= 100):
                raise ValueError("pitch must be > 0 and <= 100 mm")
        return v

    @field_validator("layout")
    @classmethod
    def _layout_range(cls, v: tuple[int, int]) -> tuple[int, int]:
        if not all(1 <= n <= MAX_SIDE for n in v):
            raise ValueError(f"columns and rows must be between 1 and {MAX_SIDE}")
        return v

    @field_validator("center_void", "center_island")
    @classmethod
    def _block_positive(cls, v: tuple[int, int] | None) -> tuple[int, int] | None:
        if v is not None and not all(n >= 1 for n in v):
            raise ValueError("block columns and rows must be >= 1")
        return v

    @field_validator("row_alphabet")
    @classmethod
    def _alphabet(cls, v: str) -> str:
        if not v.isalpha() or not v.isupper() or len(set(v)) != len(v):
            raise ValueError("row_alphabet must be distinct upper-case letters")
        return v

    @field_validator("ball_map", mode="before")
    @classmethod
    def _read_ball_map(cls, v: object, info: ValidationInfo) -> object:
        if v is None or isinstance(v, BallMap):
            return v
        if not isinstance(v, str) or not v.strip():
            raise ValueError("ball_map must be the path of a CSV file")
        base = Path((info.context or {}).get("base_dir", "."))
        path = Path(v)
        return read_ball_map(path if path.is_absolute() else base / path)

    @property
    def pitch_xy(self) -> tuple[float, float]:
        """(x pitch, y pitch) in mm."""
        return self.pitch if isinstance(self.pitch, tuple) else (self.pitch, self.pitch)

    @property
    def columns(self) -> int:
        """Number of grid columns."""
        return self.layout[0]

    @property
    def rows(self) -> int:
        """Number of grid rows."""
        return self.layout[1]

    def row_letters(self) -> list[str]:
        """Row names of this grid."""
        return row_names(self.rows, self.row_alphabet)

    def expand_missing(self) -> list[tuple[int, int]]:
        """(row, column) indices of the ``missing`` balls; ranges like ``C3:F6`` expand to blocks."""
        letters = self.row_letters()
        sites: list[tuple[int, int]] = []
        for item in self.missing:
            text = str(item).strip().upper()
            m = _RANGE_RE.match(text)
            ends = [m.group(1), m.group(2)] if m else [text]
            parsed = [parse_ball_name(e, letters) for e in ends]
            for e, p in zip(ends, parsed):
                if p is None or not (0 <= p[1] < self.columns):
                    shown = e if m else str(item).strip()
                    within = f" in range '{str(item).strip()}'" if m else ""
                    raise FieldError("missing", f"ball '{shown}'{within} does not exist on a "
                                     f"{self.columns}x{self.rows} grid (rows {_row_span(letters)}, "
                                     f"columns 1..{self.columns})")
            if m:
                (r0, c0), (r1, c1) = parsed  # type: ignore[misc]
                sites += [(r, c) for r in range(min(r0, r1), max(r0, r1) + 1)
                          for c in range(min(c0, c1), max(c0, c1) + 1)]
            else:
                sites.append(parsed[0])  # type: ignore[arg-type]
        return sites

    @model_validator(mode="after")
    def _grid_consistent(self) -> "GridSpec":
        if isinstance(self.pitch, tuple) and len(self.pitch) != 2:
            raise FieldError("pitch", "pitch must be one number or [x, y]")
        for block, name in ((self.center_void, "center_void"), (self.center_island, "center_island")):
            if block is not None:
                if block[0] > self.columns or block[1] > self.rows:
                    raise FieldError(name, f"{name} {list(block)} is larger than the "
                                     f"{self.columns}x{self.rows} grid")
                if (self.columns - block[0]) % 2 or (self.rows - block[1]) % 2:
                    raise FieldError(name, f"{name} {list(block)} cannot be centred on a "
                                     f"{self.columns}x{self.rows} grid (columns and rows must differ by an "
                                     "even number)")
        if self.center_island is not None and self.perimeter_rings is None:
            raise FieldError("center_island", "center_island needs perimeter_rings (it is the block kept "
                             "inside the perimeter void)")
        if self.perimeter_rings is not None and 2 * self.perimeter_rings >= min(self.layout):
            raise FieldError("perimeter_rings", f"perimeter_rings {self.perimeter_rings} leaves no void in a "
                             f"{self.columns}x{self.rows} grid (at most {(min(self.layout) - 1) // 2})")
        self.expand_missing()
        if self.ball_map is not None and self.ball_map.names is not None:
            shape = (len(self.ball_map.names[0]), len(self.ball_map.names))
            if shape != self.layout:
                raise FieldError("ball_map", f"ball map '{self.ball_map.path}' is {shape[0]}x{shape[1]} "
                                 f"(columns x rows) but layout is {self.columns}x{self.rows}")
        if self.ball_map is not None and self.ball_map.nets:
            if self.ball_map.names is not None:
                known = {n for row in self.ball_map.names for n in row if n}
                unknown = [b for b, _ in self.ball_map.nets if b not in known]
            else:
                letters = self.row_letters()
                unknown = [b for b, _ in self.ball_map.nets
                           if (p := parse_ball_name(b, letters)) is None or not 0 <= p[1] < self.columns]
            if unknown:
                line = dict(zip((b for b, _ in self.ball_map.nets), self.ball_map.lines)).get(unknown[0])
                where = f" line {line}" if line else ""
                raise FieldError("ball_map", f"ball map '{self.ball_map.path}'{where} names balls that do not exist "
                                 f"on a {self.columns}x{self.rows} grid: {', '.join(unknown[:5])}")
        return self
