"""Base model for specs: frozen, unknown keys rejected, metadata for forms and docs."""

from __future__ import annotations

import math
import re
import typing
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator, model_validator

from kisubstrate.model.errors import FieldError, SpecError, clip


def _type_args(annotation: Any) -> set[Any]:
    """Every type named in an annotation (through unions, tuples, lists, Optional)."""
    out = {annotation}
    for arg in typing.get_args(annotation):
        out |= _type_args(arg)
    return out


def _holds_bool(value: Any) -> bool:
    if isinstance(value, bool):
        return True
    return isinstance(value, (list, tuple)) and any(_holds_bool(v) for v in value)


MAX_TEXT = 1000
"""Longest text value in a spec, profile or CSV side file (characters): names, nets, paths, sources."""

_BAD_CHARS = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff\ufffe\uffff]")


def text_problem(value: str, limit: int = MAX_TEXT) -> str | None:
    r"""Why a text value cannot go into a KiCad file or a file name, or None if it can.

    Refused: longer than ``limit`` characters; control characters (NUL, tab, newline, ESC, DEL,
    C1), line / paragraph separators, lone surrogates and non-characters (KiCad cuts a string at
    a NUL, and a newline would break its one-line fields and our one-line messages).

    Args:
        value: the text.
        limit: the most characters allowed.

    Example:
        >>> text_problem("GND"), text_problem("GN\x00D")
        (None, 'must not hold control characters (\\x00 at character 3)')
    """
    if len(value) > limit:
        return f"must be at most {limit} characters"
    bad = _BAD_CHARS.search(value)
    if bad:
        code = ord(bad.group())
        shown = f"\\x{code:02x}" if code < 256 else f"\\u{code:04x}"
        return f"must not hold control characters ({shown} at character {bad.start() + 1})"
    return None


MAX_NUMBER = 1000.0
"""Largest magnitude of any decimal number in a spec (lengths are <= 1000 mm; counts are whole numbers)."""


MAX_INT = 1_000_000
"""Largest magnitude of any whole number in a spec (each count field has its own, smaller limit)."""


def _check_texts(value: Any, path: str = "") -> None:
    """Raise FieldError(path, reason) for the first bad text or out-of-range decimal inside ``value``."""
    if isinstance(value, int) and not isinstance(value, bool):
        if abs(value) > MAX_INT:
            raise FieldError(path, f"must be between -{MAX_INT:,} and {MAX_INT:,} (got {value:.6g})")
    elif isinstance(value, float):
        if not math.isfinite(value):
            raise FieldError(path, f"must be a finite number (got {value!r})")
        if abs(value) > MAX_NUMBER:
            raise FieldError(path, f"must be between -{MAX_NUMBER:g} and {MAX_NUMBER:g} (lengths in mm; got "
                                   f"{value:g})")
    elif isinstance(value, str):
        problem = text_problem(value)
        if problem:
            raise FieldError(path, f"{problem} (got {clip(value)})")
    elif isinstance(value, (list, tuple)):
        for i, item in enumerate(value):
            _check_texts(item, f"{path}.{i}" if path else str(i))
    elif isinstance(value, dict):
        for key, item in value.items():
            sub = f"{path}.{key}" if path else str(key)
            _check_texts(key, sub)
            _check_texts(item, sub)


class SpecModel(BaseModel):
    """Base of every spec model: frozen, strict about unknown keys, finite numbers, safe text.

    Every text field (and text inside lists and mappings) is checked by :func:`text_problem`.
    """

    # defer_build: a model's validator is built when first used, not at import (the CLI imports
    # every family; building all their schemas up front cost ~0.2 s of every run)
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True, defer_build=True,
                              allow_inf_nan=False)

    @model_validator(mode="before")
    @classmethod
    def _safe_raw_text(cls, data: Any) -> Any:
        # text that a field parses into something else (a toleranced "0.2 .. 0.3", a ball range)
        # is checked as given; mappings below are nested models, which check their own
        if isinstance(data, dict):
            for key, value in data.items():
                if isinstance(value, (str, float, int)) or (isinstance(value, (list, tuple))
                                                       and not any(isinstance(v, dict) for v in value)):
                    _check_texts(value, str(key))
        return data

    @field_validator("*", mode="after")
    @classmethod
    def _safe_text(cls, value: Any) -> Any:
        if isinstance(value, (str, float, int, list, tuple, dict)):
            try:
                _check_texts(value)
            except FieldError as exc:
                if not exc.field:
                    raise ValueError(str(exc)) from None
                raise
        return value

    @model_validator(mode="before")
    @classmethod
    def _no_bool_numbers(cls, data: Any) -> Any:
        # pydantic reads True as 1.0; YAML turns yes/no/on/off into booleans, so `pitch: yes` would be 1 mm
        if isinstance(data, dict):
            for key, value in data.items():
                info = cls.model_fields.get(key) if isinstance(key, str) else None
                if info is None or not _holds_bool(value):
                    continue
                kinds = _type_args(info.annotation)
                if bool not in kinds and (float in kinds or int in kinds):
                    raise FieldError(key, f"expected a number, got {value!r} (YAML reads yes/no/on/off/"
                                          "true/false as booleans)")
        return data


def _finite(v: float) -> float:
    if not math.isfinite(v):
        raise ValueError("must be a finite number")
    return v


def length(description: str, *, gt: float | None = 0.0, ge: float | None = None,
           le: float = 1000.0, default: Any = ..., **extra: Any) -> Any:
    """A pydantic ``Field`` for a length in mm with limits and a unit for forms and docs.

    Args:
        description: what the length is, shown in forms, docs and the JSON schema.
        gt: exclusive lower limit (mm); 0 by default (a positive length), None for none. Ignored
            when ``ge`` is given.
        ge: inclusive lower limit (mm), e.g. 0 for a length that may be zero; None for none.
        le: inclusive upper limit (mm), 1000 by default.
        default: the default value (mm); ``...`` (the default) makes the field required.
        **extra: further ``json_schema_extra`` keys for forms, beside ``unit: mm``.

    Example:
        >>> f = length("ball diameter", le=2.0, default=0.3)
        >>> f.default, f.json_schema_extra
        (0.3, {'unit': 'mm'})
    """
    kwargs: dict[str, Any] = {"description": description, "le": le,
                              "json_schema_extra": {"unit": "mm", **extra}}
    if ge is not None:
        kwargs["ge"] = ge
    elif gt is not None:
        kwargs["gt"] = gt
    return Field(default, **kwargs)


GridCount = Annotated[int, Field(ge=0, le=400)]
"""Columns or rows of a grid (balls, bumps, sidewall sites, a void or island in a grid): 0..400."""
PasteCount = Annotated[int, Field(ge=1, le=20)]
"""Paste sub-pads of an exposed pad in x or y: 1..20."""
ViaCount = Annotated[int, Field(ge=1, le=100)]
"""Thermal vias of an exposed pad in x or y: 1..100."""
LeadCount = Annotated[int, Field(ge=0, le=1000)]
"""Leads on one side of a package: 0..1000."""

Mm = Annotated[float, AfterValidator(_finite)]
"""A finite length in millimetres."""

KLC_NAME_CHARS = r"^[A-Za-z0-9][A-Za-z0-9_.,+\-]*$"
"""Characters allowed in a footprint / board name (KLC G1.1); also keeps files inside their folder."""


def resolve_rules(value: str | None, info: Any, load: Any, field: str = "rules") -> str | None:
    """Validate a spec's ``rules`` value (a shipped profile name or a YAML path).

    A ``.yaml`` path relative to the spec's folder (validation context ``base_dir``) is made
    absolute, then ``load(value)`` must succeed (it raises ``SpecError`` with the reason).
    ``None`` passes through.

    Used by every spec with a rule-profile field (footprint or substrate profiles)::

        @field_validator("rules")
        @classmethod
        def _rules_exist(cls, v, info):
            return resolve_rules(v, info, load_rules)

    Args:
        value: the field value: a shipped profile name, a ``.yaml`` / ``.yml`` path, or None.
        info: pydantic's ``ValidationInfo``; its ``context`` may hold ``base_dir`` (the spec's folder).
        load: the profile loader to try (``load_rules`` or ``load_substrate_rules``); called with
            the resolved value, it raises ``SpecError`` if the profile is unknown or invalid.
        field: the spec field the value came from, for messages (``rules``, ``footprint_rules``).

    Example:
        >>> resolve_rules("x.yaml", type("I", (), {"context": {"base_dir": "/specs"}})(), lambda v: None)
        '/specs/x.yaml'
    """
    if value is None:
        return value
    from pathlib import Path

    base = (getattr(info, "context", None) or {}).get("base_dir")
    path = Path(value)
    if path.suffix in (".yaml", ".yml") and base and not path.is_absolute():
        value = str(Path(base) / path)
    try:
        load(value)
    except SpecError as exc:
        if field == exc.field:
            raise
        raise SpecError(exc.reason, file=exc.file, package=exc.package, field=field) from None
    return value


def body_positive(value: tuple[float, float], limit: float = 500.0) -> tuple[float, float]:
    """Validate a package body (x, y): both sides finite, > 0 and <= ``limit`` mm.

    Example:
        >>> body_positive((5.0, 5.0))
        (5.0, 5.0)
    """
    if not all(0 < b <= limit and math.isfinite(b) for b in value):
        raise ValueError(f"body sides must be > 0 and <= {limit:g} mm")
    return value


class PackageSpec(SpecModel):
    """The header every package spec shares (footprint and substrate families).

    Its name and the reference its numbers come from; a family gives :meth:`default_name`, and
    ``resolved_name`` is the name every output carries.
    """

    name: str | None = Field(None, pattern=KLC_NAME_CHARS, max_length=200,
                             description="package / footprint name; default: the family's generated (KLC-style) "
                                         "name")
    source: str = Field("", max_length=500, description="datasheet URL, JEDEC outline or drawing reference")

    @property
    def resolved_name(self) -> str:
        """``name`` if given, else the family's :meth:`default_name`."""
        return self.name or self.default_name()

    def default_name(self) -> str:  # pragma: no cover - every family overrides it
        """The generated name of the package (each family defines its own)."""
        raise NotImplementedError
