"""Spec files and dicts → validated package specs (any family).

Example:
    >>> from kisubstrate.model.examples import examples_dir
    >>> sorted({ls.spec.family for ls in load_specs([examples_dir() / "bga.yaml"])})
    ['bga']
    >>> validate_spec({"family": "lga", "body": [3, 3], "pitch": 1, "layout": [2, 2], "pad_diameter": 0.5}).family
    'lga'
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Iterable

from pydantic import ValidationError

from kisubstrate.families import registry
from kisubstrate.model.errors import SpecError
from kisubstrate.model.loader import LoadedSpec, describe_validation_error


def load_specs(paths: Iterable[str | Path]) -> list[LoadedSpec]:
    """Load and validate spec files (raises :class:`SpecError` at the first mistake)."""
    out: list[LoadedSpec] = []
    names: dict[str, str] = {}
    for path in paths:
        for loaded in registry.load_file(path):
            name = getattr(loaded.spec, "resolved_name", None)
            if name and name in names and names[name] != loaded.file:
                raise SpecError(f"name '{name}' is also produced by {names[name]}", file=loaded.file,
                                package=loaded.label, field="name")
            if name:
                names[name] = loaded.file
            out.append(loaded)
    return out


def validate_spec(data: dict | Any, *, base_dir: str = ".") -> Any:
    """Validate one package spec given as a dict (or return a model unchanged).

    Raises:
        SpecError: with the field and reason.
    """
    if not isinstance(data, dict):
        return data
    family = data.get("family")
    if family not in registry.names():
        raise SpecError(f"unknown family '{family}'; known: {', '.join(registry.names())}", field="family")
    model = registry.get(family).spec
    try:
        return model.model_validate(data, context={"base_dir": base_dir})
    except ValidationError as exc:
        field, msg = describe_validation_error(exc, model)
        raise SpecError(msg, field=field or None) from None
