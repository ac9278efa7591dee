"""Base model for specs: frozen, unknown keys rejected, metadata for forms and docs."""

from __future__ import annotations

import math
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field


class SpecModel(BaseModel):
    """Base of every spec model: frozen, strict about unknown keys."""

    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


def _finite(v: float) -> float:
    if not math.isfinite(v):
        raise ValueError("must be a finite number")
    return v


def length(description: str, *, gt: float | None = 0.0, ge: float | None = None,
           le: float = 1000.0, default: Any = ..., **extra: Any) -> Any:
    """A pydantic ``Field`` for a length in mm with limits and a unit for forms and docs."""
    kwargs: dict[str, Any] = {"description": description, "le": le,
                              "json_schema_extra": {"unit": "mm", **extra}}
    if ge is not None:
        kwargs["ge"] = ge
    elif gt is not None:
        kwargs["gt"] = gt
    return Field(default, **kwargs)


Mm = Annotated[float, AfterValidator(_finite)]
"""A finite length in millimetres."""

KLC_NAME_CHARS = r"^[A-Za-z0-9][A-Za-z0-9_.,+\-]*$"
"""Characters allowed in a footprint / board name (KLC G1.1); also keeps files inside their folder."""
