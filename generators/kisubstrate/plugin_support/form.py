"""Dialog forms generated from the spec models: one schema, three front ends (YAML, CLI, GUI).

:func:`form_fields` reads a family's pydantic model (``model_json_schema()`` + ``model_fields``)
and returns one :class:`FormField` per spec key with its label, unit, help text, default,
limits and choices. The wx dialog only lays these out; nothing here is written per family.
Text typed into a field is parsed by :meth:`FormField.parse` and the whole form is validated by
the same pydantic model as a YAML file (:func:`spec_from_texts`).

Example:
    >>> fields = {f.name: f for f in form_fields("bga")}
    >>> f = fields["ball_diameter"]
    >>> f.label, f.unit, f.required, f.limits_text()
    ('Ball diameter', 'mm', True, '> 0, ≤ 10')
    >>> fields["body"].parse("14, 14")
    [14.0, 14.0]
    >>> spec = spec_from_texts("bga", {"body": "3, 3", "pitch": "1", "layout": "2, 2", "ball_diameter": "0.5"})
    >>> spec.resolved_name
    'BGA-4_3.0x3.0mm_Layout2x2_P1.0mm_Ball0.5mm_Pad0.4mm_NSMD'
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from kisubstrate.model.errors import SpecError

OMIT = object()
"""Returned by :meth:`FormField.parse` for an empty optional field: leave the key out (default)."""


@dataclass(frozen=True)
class FormField:
    """One input of a generated form.

    Attributes:
        name: spec key.
        label: human label ("Ball diameter").
        kind: ``number`` | ``integer`` | ``text`` | ``choice`` | ``bool`` | ``pair`` (two numbers
            or integers) | ``number_or_pair`` | ``list`` (of strings) | ``value`` (any YAML value,
            e.g. a file path).
        unit: ``mm`` or ``""``.
        help: the model's description.
        required: the model has no default.
        default: the model's default (Python value) or None.
        choices: allowed values for ``choice`` ("" first when the field is optional).
        item: ``number`` | ``integer`` | ``string`` for ``pair`` / ``list``.
    """

    name: str
    label: str
    kind: str
    unit: str = ""
    help: str = ""
    required: bool = False
    default: Any = None
    choices: tuple[str, ...] = ()
    item: str = "number"
    minimum: float | None = None
    maximum: float | None = None
    exclusive_minimum: float | None = None
    exclusive_maximum: float | None = None
    min_length: int | None = None
    max_length: int | None = None

    def limits_text(self) -> str:
        """The numeric limits as text, e.g. ``'> 0, ≤ 10'`` ('' when unbounded)."""
        parts = []
        if self.exclusive_minimum is not None:
            parts.append(f"> {_num(self.exclusive_minimum)}")
        if self.minimum is not None:
            parts.append(f"≥ {_num(self.minimum)}")
        if self.exclusive_maximum is not None:
            parts.append(f"< {_num(self.exclusive_maximum)}")
        if self.maximum is not None:
            parts.append(f"≤ {_num(self.maximum)}")
        return ", ".join(parts)

    def tooltip(self) -> str:
        """Help text + unit + limits + default, for the control's tooltip."""
        lines = [self.help or self.label]
        if self.unit:
            lines.append(f"unit: {self.unit}")
        if self.limits_text():
            lines.append(f"limits: {self.limits_text()}")
        if self.choices:
            lines.append("one of: " + ", ".join(c or "(none)" for c in self.choices))
        lines.append("required" if self.required else f"default: {self.format(self.default) or '(none)'}")
        return "\n".join(lines)

    def format(self, value: Any) -> str:
        """A value as the text shown in the field (inverse of :meth:`parse`).

        >>> FormField("body", "Body", "pair").format((14.0, 14.0)), FormField("x", "X", "number").format(0.45)
        ('14, 14', '0.45')
        """
        if value is None:
            return ""
        if hasattr(value, "model_dump"):  # a nested spec model (default of a structured field)
            value = value.model_dump(mode="json", exclude_defaults=True)
        if self.kind == "value" and not isinstance(value, str) and not hasattr(value, "path"):
            return yaml.safe_dump(_plain(value), default_flow_style=True, sort_keys=False, width=10**6).strip()
        if isinstance(value, bool):
            return "yes" if value else "no"
        if isinstance(value, (list, tuple)):
            return ", ".join(self._item_text(v) for v in value)
        if isinstance(value, float):
            return _num(value)
        if hasattr(value, "path"):  # e.g. a BallMap read from a file: show its path
            return str(value.path)
        return str(value)

    @staticmethod
    def _item_text(v: Any) -> str:
        return _num(v) if isinstance(v, float) else str(v)

    def parse(self, text: str | bool) -> Any:
        """Parse the text typed into the field into a spec value (:data:`OMIT` when empty).

        Raises:
            SpecError: with ``field`` set, when the text is not of the field's kind.
        """
        if isinstance(text, bool):
            return text
        raw = (text or "").strip()
        if not raw:
            return OMIT
        try:
            if self.kind == "value":
                return yaml.safe_load(raw)
            if self.kind == "number":
                return _to_float(raw)
            if self.kind == "integer":
                return _to_int(raw)
            if self.kind in ("text", "choice"):
                return raw
            if self.kind == "bool":
                return raw.lower() in ("1", "yes", "true", "on")
            if self.kind in ("pair", "number_or_pair", "list"):
                items = _split(raw)
                if self.kind == "number_or_pair" and len(items) == 1:
                    return _to_float(items[0])
                if self.kind == "list":
                    return [str(i) for i in items]
                conv = _to_int if self.item == "integer" else _to_float
                values = [conv(i) for i in items]
                if len(values) != 2:
                    raise ValueError(f"expected two values separated by a comma, got {len(values)}")
                return values
            return yaml.safe_load(raw)
        except (ValueError, yaml.YAMLError) as exc:
            raise SpecError(str(exc), field=self.name) from None


def _plain(value: Any) -> Any:
    """Tuples → lists, recursively (for YAML)."""
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


def _num(v: float) -> str:
    """Shortest text of a number: 14.0 → '14', 0.45 → '0.45'."""
    if isinstance(v, float) and v.is_integer() and abs(v) < 1e15:
        return str(int(v))
    return f"{v:.6g}" if isinstance(v, float) else str(v)


def _to_float(s: str) -> float:
    try:
        v = float(str(s).strip().replace(",", "."))
    except ValueError:
        raise ValueError(f"'{s}' is not a number") from None
    if not math.isfinite(v):
        raise ValueError(f"'{s}' is not a finite number")
    return v


def _to_int(s: str) -> int:
    text = str(s).strip()
    try:
        return int(text)
    except ValueError:
        raise ValueError(f"'{text}' is not a whole number") from None


def _split(raw: str) -> list[str]:
    text = raw.strip()
    if text.startswith("[") and text.endswith("]"):
        text = text[1:-1]
    for sep in (";", "x", "X") if "," not in text else ():
        if sep in text and not any(c.isalpha() for c in text.replace(sep, "")):
            text = text.replace(sep, ",")
            break
    return [p.strip() for p in text.split(",") if p.strip()] if "," in text else [p for p in text.split() if p]


def _label(name: str) -> str:
    text = name.replace("_", " ")
    return text[:1].upper() + text[1:]


def _field_from_schema(name: str, prop: dict, required: bool, default: Any) -> FormField:
    variants = prop.get("anyOf")
    nullable = False
    core = prop
    if variants:
        non_null = [v for v in variants if v.get("type") != "null"]
        nullable = len(non_null) < len(variants)
        core = non_null[0] if len(non_null) == 1 else {"anyOf": non_null}
    limits = {k: core.get(k) for k in ("minimum", "maximum")}
    extra = {"exclusive_minimum": core.get("exclusiveMinimum"), "exclusive_maximum": core.get("exclusiveMaximum"),
             "min_length": core.get("minLength"), "max_length": core.get("maxLength")}
    common = dict(name=name, label=_label(name), unit=prop.get("unit", ""), help=prop.get("description", ""),
                  required=required, default=default, **limits, **extra)
    kind, item, choices = "value", "number", ()
    if "enum" in core:
        kind = "choice"
        choices = tuple(([""] if nullable or not required and default is None else []) + list(core["enum"]))
    elif core.get("type") == "number":
        kind = "number"
    elif core.get("type") == "integer":
        kind = "integer"
    elif core.get("type") == "boolean":
        kind = "bool"
    elif core.get("type") == "string":
        kind = "text"
    elif core.get("type") == "array" and "prefixItems" in core and all(
            p.get("type") in ("number", "integer") for p in core["prefixItems"]):
        kind = "pair"
        item = core["prefixItems"][0].get("type", "number")
    elif core.get("type") == "array" and core.get("items", {}).get("type") in ("string", "number", "integer"):
        kind = "list"
        item = core["items"]["type"]
    elif "anyOf" in core:
        types = sorted(v.get("type", "") for v in core["anyOf"])
        if types == ["array", "number"]:
            kind = "number_or_pair"
    return FormField(kind=kind, item=item, choices=choices, **common)


def form_fields(family: str) -> list[FormField]:
    """The inputs of a family's form: required keys first, then the optional ones, model order.

    The ``family`` key itself is not a field (the dialog's family chooser sets it).
    """
    from kisubstrate.families.registry import families

    fams = families()
    if family not in fams:
        raise SpecError(f"unknown family '{family}'; known: {', '.join(sorted(fams))}", field="family")
    model = fams[family].spec
    schema = model.model_json_schema()
    props = schema.get("properties", {})
    required = set(schema.get("required", []))
    out = []
    for name, info in model.model_fields.items():
        if name == "family" or name not in props:
            continue
        default = None if info.is_required() else info.get_default(call_default_factory=True)
        out.append(_field_from_schema(name, props[name], name in required, default))
    return sorted(out, key=lambda f: not f.required)


def family_choices() -> list[tuple[str, str, bool, bool]]:
    """(name, summary, has footprint, has substrate) of every registered family, sorted by name."""
    from kisubstrate.families.registry import families

    return [(n, f.summary, f.footprint is not None, f.substrate is not None)
            for n, f in sorted(families().items())]


def values_from_texts(family: str, texts: dict[str, str | bool]) -> dict[str, Any]:
    """The spec dict a filled form stands for (``family`` + every non-empty field).

    Raises:
        SpecError: a field's text cannot be parsed (``field`` names it).
    """
    data: dict[str, Any] = {"family": family}
    for f in form_fields(family):
        if f.name in texts:
            value = f.parse(texts[f.name])
            if value is not OMIT:
                data[f.name] = value
    return data


def texts_from_values(family: str, values: dict[str, Any]) -> dict[str, str]:
    """The text of every field for a spec dict.

    A missing key gives an empty field (the dialog shows the default as a hint), except
    choices, which show their default choice.
    """
    out = {}
    for f in form_fields(family):
        if f.name in values:
            out[f.name] = f.format(values[f.name])
        else:
            out[f.name] = f.format(f.default) if f.kind in ("choice", "bool") else ""
    return out


def spec_from_texts(family: str, texts: dict[str, str | bool], *, base_dir: str = ".") -> Any:
    """Parse and validate a filled form with the family's model (the YAML path's validation).

    Args:
        family: the family the form is for (a name of ``kisubstrate list``, e.g. ``bga``).
        texts: field name → the text typed into it (a bool for a checkbox); an empty text leaves
            the key out (its default), names that are not fields of the family are ignored.
        base_dir: folder that relative paths (ball maps, rule files) resolve from.

    Raises:
        SpecError: the first problem, with ``field`` set.

    Example:
        >>> form = {"body": "4, 4", "pitch": "0.65", "layout": "5, 5", "pad_diameter": "0.35", "source": ""}
        >>> spec = spec_from_texts("lga", form)
        >>> spec.body, spec.source
        ((4.0, 4.0), '')
        >>> try:
        ...     spec_from_texts("lga", {**form, "body": "4"})
        ... except SpecError as exc:
        ...     print(exc.field, "-", exc.reason)
        body - expected two values separated by a comma, got 1
    """
    from kisubstrate.api.specs import validate_spec

    return validate_spec(values_from_texts(family, texts), base_dir=base_dir)


def first_package(path: str | Path) -> tuple[str, dict[str, Any], str]:
    """(family, raw values, base dir) of the first package of a spec file (``defaults`` merged).

    The values are the file's own (unvalidated) keys, for pre-filling a form.

    Raises:
        SpecError: the file is not a readable spec.
    """
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise SpecError(f"cannot read: {exc.strerror or exc}", file=str(path)) from None
    except yaml.YAMLError as exc:
        raise SpecError(f"invalid YAML: {exc}", file=str(path)) from None
    packages = data.get("packages") if isinstance(data, dict) else None
    if not isinstance(packages, list) or not packages or not isinstance(packages[0], dict):
        raise SpecError("expected 'packages:' with a list of package specs", file=str(path))
    merged = {**(data.get("defaults") or {}), **packages[0]}
    family = merged.pop("family", None)
    if not isinstance(family, str):
        raise SpecError("the first package names no family", file=str(path), field="family")
    return family, merged, str(path.parent.resolve())
