"""Read YAML spec files into validated spec models, with one located message per mistake.

A spec file holds ``packages:`` (a list of package specs) and optionally
``defaults:`` (keys merged into every package). Each package names its ``family``;
the family's model validates it. Errors become :class:`SpecError` naming the file,
the package (name or ``#index``, with its line) and the field.
"""

from __future__ import annotations

import difflib
import re
import typing
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import yaml
from pydantic import BaseModel, ValidationError

from kisubstrate.model import yamlio
from kisubstrate.model.base import KLC_NAME_CHARS
from kisubstrate.model.datafile import MAX_YAML_BYTES, read_text_limited
from kisubstrate.model.errors import FieldError, SpecError, clip

TOP_LEVEL_KEYS = ("packages", "defaults")


@dataclass(frozen=True)
class LoadedSpec:
    """A validated spec with where it came from."""

    file: str
    index: int
    label: str
    spec: Any


def package_label(raw: Any, index: int) -> str:
    """How messages name a package: its ``name`` if given, else ``#n`` (1-based)."""
    if isinstance(raw, dict) and isinstance(raw.get("name"), str) and raw["name"].strip():
        return clip(raw["name"].strip(), 40)
    return f"#{index + 1}"


def _lines(text: str) -> tuple[list[int], list[dict[str, int]]]:
    """Line numbers (1-based) of each package and of each key inside it.

    Raises:
        SpecError: a key given twice in one package (YAML would silently keep the last).
    """
    try:
        root = yamlio.compose(text)
    except yaml.YAMLError:
        return [], []
    pkg_lines: list[int] = []
    key_lines: list[dict[str, int]] = []
    if isinstance(root, yaml.MappingNode):
        for key, value in root.value:
            if key.value == "packages" and isinstance(value, yaml.SequenceNode):
                for item in value.value:
                    pkg_lines.append(item.start_mark.line + 1)
                    keys = {}
                    if isinstance(item, yaml.MappingNode):
                        for k, _ in item.value:
                            if not isinstance(k, yaml.ScalarNode):
                                continue
                            if k.value in keys:
                                raise SpecError(f"key given twice (lines {keys[k.value]} and "
                                                f"{k.start_mark.line + 1}); keep one",
                                                package=f"#{len(pkg_lines)} (line {pkg_lines[-1]})",
                                                field=str(k.value))
                            keys[k.value] = k.start_mark.line + 1
                    key_lines.append(keys)
    return pkg_lines, key_lines


def _near(side: str, spec: Path) -> str:
    """A side file's path as messages show it: relative to the spec's folder when inside it."""
    try:
        return str(Path(side).relative_to(spec.parent))
    except ValueError:
        return side


def _quoted(value: Any) -> str:
    """A value for a message, in quotes: ``'bgaa'``, ``'5'``, ``'[1, 2]'`` (cut when long)."""
    return clip(value) if isinstance(value, str) else f"'{clip(value)}'"


def _model_at(model: type[BaseModel], loc: list[str]) -> type[BaseModel]:
    """The model that holds the field at ``loc`` (``['dies', '0', 'pads']`` → ``DiePads``); ``model`` if unknown."""
    current = model
    for part in loc:
        if part.isdigit():
            continue
        info = current.model_fields.get(part)
        if info is None:
            return current
        nested = [t for t in _model_types(info.annotation)]
        if not nested:
            return current
        current = nested[0]
    return current


def _model_types(annotation: Any) -> list[type[BaseModel]]:
    """The pydantic models named in an annotation (through Optional, list, tuple, dict)."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    return [m for arg in typing.get_args(annotation) for m in _model_types(arg)]


def _tuple_args(annotation: Any) -> list[tuple]:
    """Argument lists of the fixed-length tuples inside an annotation (through Optional)."""
    if typing.get_origin(annotation) is tuple:
        args = typing.get_args(annotation)
        return [] if Ellipsis in args else [args]
    return [t for arg in typing.get_args(annotation) for t in _tuple_args(arg)]


def _is_branch_tag(part: str) -> bool:
    """Pydantic's loc entries that name a union branch or validator, not a field."""
    return part.startswith("function-") or part in ("float", "int", "str", "bool", "list", "dict") \
        or "[" in part


def describe_validation_error(exc: ValidationError, model: type[BaseModel]) -> tuple[str, str]:
    """(field path, message) for the first error of a pydantic ValidationError."""
    errors = exc.errors(include_url=False)
    # a typo'd key also makes its real key "missing": report the typo, it is the cause
    # a NaN / infinity is the cause however many union branches refused it
    err = next((e for e in errors if e["type"] == "extra_forbidden"),
               next((e for e in errors if e["type"] == "finite_number"), errors[0]))
    # drop pydantic's union-branch and validator tags ('float', 'tuple[float, float]', 'function-after[..]')
    raw_loc = [p for p in err["loc"] if isinstance(p, int) or not _is_branch_tag(str(p))]
    loc = [str(p) for p in raw_loc]
    union = len(raw_loc) != len(err["loc"]) and any(_is_branch_tag(str(p)) and not str(p).startswith("function-")
                                                  for p in err["loc"])
    kind = err["type"]
    cause = (err.get("ctx") or {}).get("error")
    if isinstance(cause, FieldError):
        loc = [*loc, *cause.field.split(".")]
    elif kind == "value_error" and not loc:
        # a cross-field check whose message starts with the field it is about ("ball_diameter 0.8 mm ...")
        first = str(err["msg"]).removeprefix("Value error, ").split(" ")[0]
        if first in model.model_fields:
            loc = [first]
    field = "".join(f"[{p}]" if p.isdigit() and i else (f".{p}" if i else p) for i, p in enumerate(loc))
    if kind == "extra_forbidden":
        known = list(_model_at(model, loc[:-1]).model_fields)
        typo = loc[-1][:40].lower() if loc else ""
        # prefer a required key that is missing at the same place ('ball' -> 'ball_diameter', not 'ball_map')
        absent = [str(e["loc"][-1]) for e in errors if e["type"] == "missing"
                  and [str(p) for p in e["loc"][:-1] if isinstance(p, int) or not _is_branch_tag(str(p))] == loc[:-1]]
        close = ([m for m in absent if m.startswith(typo)]
                 or difflib.get_close_matches(typo, absent, n=1, cutoff=0.5)
                 or difflib.get_close_matches(typo, known, n=1)) if typo else []
        hint = f" (did you mean '{close[0]}'?)" if close else f" (known keys: {', '.join(known)})"
        return field, f"unknown key{hint}"
    if kind == "missing":
        return field, "required field is missing"
    msg = err["msg"]
    if msg.startswith("Value error, "):
        msg = msg[len("Value error, "):]
    ctx = err.get("ctx") or {}
    if msg.startswith("Input should be "):
        msg = "must be " + msg[len("Input should be "):]
    plain = {"float_parsing": "must be a number", "float_type": "must be a number",
             "int_parsing": "must be a whole number", "int_type": "must be a whole number",
             "int_from_float": "must be a whole number", "string_type": "must be text",
             "finite_number": "must be a finite number"}
    if kind in plain:
        msg = plain[kind]
    if kind == "literal_error" and isinstance(err.get("input"), str):
        lower = err["input"].strip().lower()
        if f"'{lower}'" in str(ctx.get("expected", "")):
            msg += f" (did you mean '{lower}'?)"
    if kind in ("string_too_long", "string_too_short"):
        bound = ctx.get("max_length", ctx.get("min_length"))
        msg = f"must be at {'most' if kind == 'string_too_long' else 'least'} {bound} characters"
    if kind in ("tuple_type", "list_type", "too_long", "too_short") and loc:
        info = model.model_fields.get(loc[0])
        arity = [len(a) for a in _tuple_args(info.annotation)] if info is not None else []
        what = f"a list of {arity[0]} values" if len(arity) == 1 else "a list"
        msg = f"must be {what}" + (f" ({info.description})" if info is not None and info.description else "")
    limits = {"greater_than": ">", "greater_than_equal": ">=", "less_than": "<", "less_than_equal": "<="}
    if kind in limits and loc:
        info = model.model_fields.get(loc[0])
        extra = info.json_schema_extra if info is not None and isinstance(info.json_schema_extra, dict) else {}
        unit = f" {extra['unit']}" if "unit" in extra else ""
        limit = next(v for k, v in ctx.items() if k in ("gt", "ge", "lt", "le"))
        msg = f"must be {limits[kind]} {limit:g}{unit}"
    if kind == "string_pattern_mismatch" and (err.get("ctx") or {}).get("pattern") == KLC_NAME_CHARS:
        msg = ("may only use letters, digits and _ . , + - and must start with a letter or digit "
               "(no spaces or slashes: it becomes the file name)")
    elif union and loc and kind != "finite_number":
        info = model.model_fields.get(loc[0])
        if info is not None and info.description:
            msg = f"expected {info.description}"
    if "input" in err and kind not in ("model_type", "dict_type") and not isinstance(err["input"], dict) \
            and "(got " not in msg:
        msg = f"{msg} (got {clip(err['input'])})"
    return field, msg


def validate_model(model: type[BaseModel], data: Any, *, context: dict | None = None, file: str | None = None,
                   package: str | None = None) -> Any:
    """Validate ``data`` with ``model``; a mistake becomes one located :class:`SpecError`.

    Args:
        model: the pydantic model class (a :class:`~kisubstrate.model.base.SpecModel`).
        data: the mapping to validate (lengths in mm).
        context: pydantic validation context (e.g. ``{"base_dir": folder}`` for relative paths).
        file: where ``data`` came from, for the message.
        package: the package (or section) the data belongs to, for the message.

    Raises:
        SpecError: the first mistake, with the field path and the reason.

    Example:
        >>> from kisubstrate.model.base import SpecModel, length
        >>> class Gap(SpecModel):
        ...     gap: float = length("gap between two lands (mm)", ge=0, default=0.1)
        >>> validate_model(Gap, {"gap": 0.2}).gap
        0.2
        >>> validate_model(Gap, {"gap": -1}, file="f.yaml")
        Traceback (most recent call last):
        kisubstrate.model.errors.SpecError: f.yaml: field 'gap': must be >= 0 mm (got -1)
    """
    try:
        return model.model_validate(data, context=context)
    except ValidationError as exc:
        field, msg = describe_validation_error(exc, model)
        raise SpecError(msg, file=file, package=package, field=field or None) from None


def load_spec_file(path: str | Path, resolve: Callable[[str], type[BaseModel]],
                   families: list[str]) -> list[LoadedSpec]:
    """Load and validate every package of one spec file.

    Args:
        path: the YAML file.
        resolve: maps a family name to its spec model.
        families: known family names (for messages).

    Raises:
        SpecError: the first problem found, located.
    """
    path = Path(path)
    file = str(path)
    try:
        text = read_text_limited(path, MAX_YAML_BYTES, what="spec file")
    except FileNotFoundError:
        raise SpecError("file not found", file=file) from None
    except IsADirectoryError:
        raise SpecError("is a directory, not a spec file", file=file) from None
    except UnicodeDecodeError:
        raise SpecError("not a UTF-8 text file", file=file) from None
    except OSError as exc:
        raise SpecError(f"cannot read: {exc.strerror}", file=file) from None
    try:  # before the full parse: a key twice inside a package is reported with the package
        pkg_lines, key_lines = _lines(text)
    except SpecError as exc:
        raise SpecError(exc.reason, file=file, package=exc.package, field=exc.field) from None
    try:
        data = yamlio.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or "syntax error"
        raise SpecError(f"invalid YAML{where}: {problem}", file=file) from None
    if data is None:
        raise SpecError("file is empty; expected 'packages:' with a list of package specs", file=file)
    if not isinstance(data, dict):
        raise SpecError("top level must be a mapping with 'packages:' (a list of package specs)", file=file)
    for key in data:
        if key not in TOP_LEVEL_KEYS:
            close = difflib.get_close_matches(str(key)[:40], TOP_LEVEL_KEYS, n=1) if isinstance(key, str) else []
            hint = f" (did you mean '{close[0]}'?)" if close else ""
            raise SpecError(f"unknown top-level key {_quoted(key)}{hint}; expected 'packages' and optional "
                            "'defaults'", file=file)
    packages = data.get("packages")
    if not isinstance(packages, list) or not packages:
        raise SpecError("'packages' must be a non-empty list of package specs", file=file,
                        field="packages")
    defaults = data.get("defaults") or {}
    if not isinstance(defaults, dict):
        raise SpecError("'defaults' must be a mapping of keys shared by every package", file=file,
                        field="defaults")
    context = {"base_dir": str(path.parent)}
    loaded: list[LoadedSpec] = []
    seen_names: dict[str, str] = {}
    for i, raw in enumerate(packages):
        label = package_label(raw, i)
        line = f" (line {pkg_lines[i]})" if i < len(pkg_lines) else ""
        if not isinstance(raw, dict):
            raise SpecError(f"each package must be a mapping of keys, got {type(raw).__name__}",
                            file=file, package=f"{label}{line}")
        merged = {**defaults, **raw}
        family = merged.get("family")
        if family is None:
            raise SpecError(f"required field is missing (one of: {', '.join(families)})", file=file,
                            package=f"{label}{line}", field="family")
        if not isinstance(family, str) or family not in families:
            close = difflib.get_close_matches(family[:40].lower(), families, n=1) if isinstance(family, str) else []
            hint = f" (did you mean '{close[0]}'?)" if close else ""
            raise SpecError(f"unknown family {_quoted(family)}{hint}; known: {', '.join(families)}",
                            file=file, package=f"{label}{line}", field="family")
        model = resolve(family)
        try:
            spec = model.model_validate(merged, context=context)
        except ValidationError as exc:
            field, msg = describe_validation_error(exc, model)
            top = re.split(r"[.\[]", field)[0]
            if i < len(key_lines) and top in key_lines[i]:
                line = f" (line {key_lines[i][top]})"
            raise SpecError(msg, file=file, package=f"{label}{line}", field=field or None) from None
        except SpecError as exc:  # raised by validators that read side files (rule profile, ball map)
            if exc.field and i < len(key_lines) and exc.field in key_lines[i]:
                line = f" (line {key_lines[i][exc.field]})"
            reason = exc.reason if not exc.file or exc.file == file else f"{_near(exc.file, path)}: {exc.reason}"
            raise SpecError(reason, file=file, package=f"{label}{line}", field=exc.field) from None
        name = getattr(spec, "resolved_name", None)
        if name:
            if name in seen_names:
                raise SpecError(f"two packages produce the same name '{name}' ({seen_names[name]} and "
                                f"#{i + 1}); give one a different 'name'", file=file,
                                package=f"{label}{line}", field="name")
            seen_names[name] = f"#{i + 1}"
        loaded.append(LoadedSpec(file=file, index=i, label=label, spec=spec))
    return loaded
