"""Read YAML spec files into validated spec models, with one located message per mistake.

A spec file holds ``packages:`` (a list of package specs) and optionally
``defaults:`` (keys merged into every package). Each package names its ``family``;
the family's model validates it. Errors become :class:`SpecError` naming the file,
the package (name or ``#index``, with its line) and the field.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import yaml
from pydantic import BaseModel, ValidationError

from kisubstrate.model.errors import SpecError

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
        return f"'{raw['name'].strip()}'"
    return f"#{index + 1}"


def _lines(text: str) -> tuple[list[int], list[dict[str, int]]]:
    """Line numbers (1-based) of each package and of each key inside it."""
    try:
        root = yaml.compose(text)
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
                        keys = {k.value: k.start_mark.line + 1 for k, _ in item.value}
                    key_lines.append(keys)
    return pkg_lines, key_lines


def describe_validation_error(exc: ValidationError, model: type[BaseModel]) -> tuple[str, str]:
    """(field path, message) for the first error of a pydantic ValidationError."""
    err = exc.errors(include_url=False)[0]
    loc = [str(p) for p in err["loc"] if not str(p).startswith("function-")]
    field = ".".join(loc)
    kind = err["type"]
    if kind == "extra_forbidden":
        known = list(model.model_fields)
        close = difflib.get_close_matches(loc[-1], known, n=1) if loc else []
        hint = f" (did you mean '{close[0]}'?)" if close else f" (known keys: {', '.join(known)})"
        return field, f"unknown key{hint}"
    if kind == "missing":
        return field, "required field is missing"
    msg = err["msg"]
    if msg.startswith("Value error, "):
        msg = msg[len("Value error, "):]
    if "input" in err and kind not in ("model_type", "dict_type") and not isinstance(err["input"], dict):
        shown = repr(err["input"])
        if len(shown) > 60:
            shown = shown[:57] + "..."
        msg = f"{msg} (got {shown})"
    return field, msg


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
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SpecError("file not found", file=file) from None
    except IsADirectoryError:
        raise SpecError("is a directory, not a spec file", file=file) from None
    except UnicodeDecodeError:
        raise SpecError("not a UTF-8 text file", file=file) from None
    except OSError as exc:
        raise SpecError(f"cannot read: {exc.strerror}", file=file) from None
    try:
        data = yaml.safe_load(text)
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
            close = difflib.get_close_matches(str(key), TOP_LEVEL_KEYS, n=1)
            hint = f" (did you mean '{close[0]}'?)" if close else ""
            raise SpecError(f"unknown top-level key '{key}'{hint}; expected 'packages' and optional "
                            "'defaults'", file=file)
    packages = data.get("packages")
    if not isinstance(packages, list) or not packages:
        raise SpecError("'packages' must be a non-empty list of package specs", file=file,
                        field="packages")
    defaults = data.get("defaults") or {}
    if not isinstance(defaults, dict):
        raise SpecError("'defaults' must be a mapping of keys shared by every package", file=file,
                        field="defaults")
    pkg_lines, key_lines = _lines(text)
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
            close = difflib.get_close_matches(str(family), families, n=1)
            hint = f" (did you mean '{close[0]}'?)" if close else ""
            raise SpecError(f"unknown family '{family}'{hint}; known: {', '.join(families)}",
                            file=file, package=f"{label}{line}", field="family")
        model = resolve(family)
        try:
            spec = model.model_validate(merged, context=context)
        except ValidationError as exc:
            field, msg = describe_validation_error(exc, model)
            top = field.split(".")[0]
            if i < len(key_lines) and top in key_lines[i]:
                line = f" (line {key_lines[i][top]})"
            raise SpecError(msg, file=file, package=f"{label}{line}", field=field or None) from None
        except SpecError as exc:  # raised by validators that read side files
            raise SpecError(exc.reason, file=exc.file or file, package=f"{label}{line}",
                            field=exc.field) from None
        name = getattr(spec, "resolved_name", None)
        if name:
            if name in seen_names:
                raise SpecError(f"two packages produce the same name '{name}' ({seen_names[name]} and "
                                f"{label}); give one a different 'name'", file=file,
                                package=f"{label}{line}", field="name")
            seen_names[name] = label
        loaded.append(LoadedSpec(file=file, index=i, label=label, spec=spec))
    return loaded
