"""Toleranced dimensions (min / nominal / max, mm) with IPC-7351B RMS tolerance stacking.

A datasheet dimension is written in a spec in one of these forms (all mm):

* ``0.25``                 — a number: exact, min = nom = max;
* ``"0.25 +/- 0.05"``      — nominal and symmetric tolerance (``±`` works too);
* ``"0.4 +0.1 -0.05"``     — nominal and asymmetric tolerances (either order);
* ``"0.18 .. 0.30"``       — min and max, nominal is the midpoint (``...`` works too);
* ``"0.18 .. 0.25 .. 0.30"`` — min, nominal, max;
* a mapping ``{min: 0.18, nom: 0.25, max: 0.30}`` (or ``nom`` + ``tol``).

Arithmetic follows IPC-7351B: adding or subtracting two toleranced sizes adds the
worst-case limits and combines the tolerances as the root of the sum of squares
(``tol_rms``); ``k * size`` (k > 0) models k independent parts, so its RMS tolerance
grows with √k (IPC: ``S_tol(RMS) = √(L_tol² + 2·T_tol²)`` for ``S = L − 2·T``). The
RMS limits are centred on the worst-case interval: ``max_rms = max − (tol − tol_rms)/2``.

Example:
    >>> t = Toleranced.parse("0.18 .. 0.30")
    >>> t.minimum, t.nominal, t.maximum
    (0.18, 0.24, 0.3)
    >>> s = Toleranced.parse("5 +/- 0.1") - 2 * Toleranced.parse("0.3 .. 0.5")
    >>> round(s.minimum, 6), round(s.maximum, 6), round(s.tol_rms, 4), round(s.max_rms, 4)
    (3.9, 4.5, 0.3464, 4.3732)
"""

from __future__ import annotations

import math
import re
from typing import Any

from pydantic import BaseModel, ConfigDict, model_validator
from pydantic.json_schema import JsonSchemaValue

from kisubstrate.model.errors import clip

ACCEPTED_FORMS = ("a number (0.25)", "'nom +/- tol' ('0.25 +/- 0.05')", "'nom +a -b' ('0.4 +0.1 -0.05')",
                  "'min .. max' ('0.18 .. 0.30')", "'min .. nom .. max' ('0.18 .. 0.25 .. 0.30')",
                  "a mapping {min, nom, max} or {nom, tol}")
_NUM = r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?"
_PLUS_MINUS = re.compile(rf"^({_NUM})(?:\+/-|±)({_NUM})$")
_ASYM = re.compile(rf"^({_NUM})([+-]{_NUM})([+-]{_NUM})$")
_EPS = 1e-9


_MAX_MM = 1000.0  # as every length of a spec (kisubstrate.model.base.MAX_NUMBER)


def _bad(text: Any, why: str = "") -> ValueError:
    extra = f" ({why})" if why else ""
    return ValueError(f"cannot read {clip(text)} as a toleranced size{extra}; accepted forms: "
                      + ", ".join(ACCEPTED_FORMS))


def _number(token: str, text: Any) -> float:
    try:
        value = float(token)
    except ValueError:
        raise _bad(text) from None
    if not math.isfinite(value):
        raise _bad(text, "not a finite number")
    return value


class Toleranced(BaseModel):
    """A dimension with limits (mm): ``minimum <= nominal <= maximum``.

    ``tol_rms`` is the statistical (RMS) tolerance of derived sizes; for a size read
    from a spec it equals ``maximum - minimum``.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    minimum: float
    nominal: float
    maximum: float
    tol_rms: float | None = None

    # -- parsing -----------------------------------------------------------------------------
    @model_validator(mode="before")
    @classmethod
    def _coerce(cls, data: Any) -> Any:
        if isinstance(data, Toleranced):
            return data
        if isinstance(data, bool):
            raise _bad(data)
        if isinstance(data, (int, float)):
            return cls._limits(float(data), float(data), float(data), data)
        if isinstance(data, str):
            return cls._from_text(data)
        if isinstance(data, dict):
            keys = {str(k).lower(): v for k, v in data.items()}
            alias = {"min": "minimum", "nom": "nominal", "max": "maximum", "tol": "tolerance"}
            keys = {alias.get(k, k): v for k, v in keys.items()}
            unknown = set(keys) - {"minimum", "nominal", "maximum", "tolerance", "tol_rms"}
            if unknown:
                raise _bad(data, f"unknown keys {sorted(unknown)}")
            try:
                vals = {k: (None if v is None else float(v)) for k, v in keys.items()}
            except (TypeError, ValueError):
                raise _bad(data, "values must be numbers") from None
            lo, nom, hi, tol = (vals.get("minimum"), vals.get("nominal"), vals.get("maximum"),
                                vals.get("tolerance"))
            if tol is not None:
                if nom is None or lo is not None or hi is not None:
                    raise _bad(data, "'tol' goes with 'nom' only")
                lo, hi = nom - abs(tol), nom + abs(tol)
            if lo is None and hi is None:
                if nom is None:
                    raise _bad(data, "give nom, or min and max")
                lo = hi = nom
            if lo is None or hi is None:
                raise _bad(data, "give both min and max")
            out = cls._limits(lo, (lo + hi) / 2 if nom is None else nom, hi, data)
            if vals.get("tol_rms") is not None:
                out["tol_rms"] = vals["tol_rms"]
            return out
        raise _bad(data)

    @staticmethod
    def _limits(lo: float, nom: float, hi: float, text: Any) -> dict[str, float]:
        for v in (lo, nom, hi):
            if not math.isfinite(v):
                raise _bad(text, "not a finite number")
            if abs(v) > _MAX_MM:
                raise _bad(text, f"{v:g} is beyond ±{_MAX_MM:g} mm")
        if lo > hi + _EPS:
            raise _bad(text, f"minimum {lo:g} is larger than maximum {hi:g}")
        if not lo - _EPS <= nom <= hi + _EPS:
            raise _bad(text, f"nominal {nom:g} lies outside {lo:g} .. {hi:g}")
        return {"minimum": lo, "nominal": nom, "maximum": hi}

    @classmethod
    def _from_text(cls, text: str) -> dict[str, float]:
        s = re.sub(r"\s+", "", text)
        if not s:
            raise _bad(text, "empty")
        if ".." in s:
            parts = s.replace("...", "..").split("..")
            if len(parts) not in (2, 3):
                raise _bad(text, "use 'min .. max' or 'min .. nom .. max'")
            nums = [_number(p, text) for p in parts]
            lo, hi = nums[0], nums[-1]
            nom = nums[1] if len(nums) == 3 else (lo + hi) / 2
            return cls._limits(lo, nom, hi, text)
        m = _PLUS_MINUS.match(s)
        if m:
            nom, tol = _number(m.group(1), text), abs(_number(m.group(2), text))
            return cls._limits(nom - tol, nom, nom + tol, text)
        m = _ASYM.match(s)
        if m:
            nom, a, b = (_number(g, text) for g in m.groups())
            if (a >= 0) == (b >= 0) and not (a == 0 or b == 0):
                raise _bad(text, "one tolerance must be + and the other -")
            up, down = (a, b) if m.group(2).startswith("+") else (b, a)
            return cls._limits(nom + min(down, 0.0), nom, nom + max(up, 0.0), text)
        return cls._limits(*([_number(s, text)] * 3), text)

    @classmethod
    def parse(cls, value: Any) -> "Toleranced":
        """Read any accepted form (raises ``ValueError`` listing the accepted forms)."""
        return cls.model_validate(value)

    @classmethod
    def __get_pydantic_json_schema__(cls, core_schema: Any, handler: Any) -> JsonSchemaValue:
        return {"anyOf": [{"type": "number"},
                          {"type": "string", "pattern": r"^\s*[-+0-9.]"},
                          {"type": "object", "properties": {k: {"type": "number"} for k in
                                                            ("min", "nom", "max", "tol")}}],
                "description": "toleranced size in mm: " + "; ".join(ACCEPTED_FORMS),
                "unit": "mm"}

    # -- derived -------------------------------------------------------------------------------
    @property
    def tol(self) -> float:
        """Worst-case tolerance band ``maximum - minimum`` (mm)."""
        return self.maximum - self.minimum

    @property
    def rms(self) -> float:
        """RMS tolerance (mm): ``tol_rms`` if derived, else the worst-case band."""
        return self.tol if self.tol_rms is None else self.tol_rms

    @property
    def min_rms(self) -> float:
        """Lower limit with the RMS tolerance, centred in the worst-case band (mm)."""
        return self.minimum + (self.tol - self.rms) / 2

    @property
    def max_rms(self) -> float:
        """Upper limit with the RMS tolerance, centred in the worst-case band (mm)."""
        return self.maximum - (self.tol - self.rms) / 2

    def _combined(self, lo: float, nom: float, hi: float, parts: list[float]) -> "Toleranced":
        rms = math.sqrt(sum(p * p for p in parts))
        rms = min(rms, hi - lo)  # float noise only: RMS never exceeds the worst case
        return Toleranced.model_construct(minimum=lo, nominal=nom, maximum=hi, tol_rms=rms)

    def __add__(self, other: "Toleranced | float") -> "Toleranced":
        if isinstance(other, (int, float)):
            return Toleranced.model_construct(minimum=self.minimum + other, nominal=self.nominal + other,
                                              maximum=self.maximum + other, tol_rms=self.tol_rms)
        return self._combined(self.minimum + other.minimum, self.nominal + other.nominal,
                              self.maximum + other.maximum, [self.rms, other.rms])

    def __sub__(self, other: "Toleranced | float") -> "Toleranced":
        if isinstance(other, (int, float)):
            return self + (-other)
        return self._combined(self.minimum - other.maximum, self.nominal - other.nominal,
                              self.maximum - other.minimum, [self.rms, other.rms])

    def __mul__(self, k: float) -> "Toleranced":
        if not isinstance(k, (int, float)) or k <= 0:
            return NotImplemented
        # k independent parts: limits scale by k, the RMS tolerance by sqrt(k) (IPC-7351B)
        return Toleranced.model_construct(minimum=self.minimum * k, nominal=self.nominal * k,
                                          maximum=self.maximum * k, tol_rms=self.rms * math.sqrt(k))

    __rmul__ = __mul__

    def __truediv__(self, k: float) -> "Toleranced":
        if not isinstance(k, (int, float)) or k <= 0:
            return NotImplemented
        return Toleranced.model_construct(minimum=self.minimum / k, nominal=self.nominal / k,
                                          maximum=self.maximum / k, tol_rms=self.rms / math.sqrt(k))

    def text(self) -> str:
        """Short human form for descriptions, e.g. ``0.18..0.3`` or ``5``."""
        from kisubstrate.model.units import fmt

        if self.tol < _EPS:
            return fmt(self.nominal)
        mid = (self.minimum + self.maximum) / 2
        if abs(mid - self.nominal) < _EPS:
            return f"{fmt(self.minimum)}..{fmt(self.maximum)}"
        return f"{fmt(self.minimum)}..{fmt(self.nominal)}..{fmt(self.maximum)}"

    def __str__(self) -> str:
        return self.text()
