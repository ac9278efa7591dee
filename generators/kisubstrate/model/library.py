"""Library definitions (``footprints/library.yaml``): the models, their located messages, the expansion.

A definition names the library and lists *sections*, each one family, with explicit
``packages`` or a ``sweep`` (cartesian product of value lists) × ``variants`` (overlays of
package keys, filtered by ``min_layout`` / ``max_layout`` / ``parity``, optionally with a
``name_suffix``). The section-level ``layout: fit`` gives the largest full grid whose outer
ball centres stay ``edge`` mm inside the body; ``body: fit`` sizes the body to the grid +
``edge`` on each side. ``kisubstrate schema library`` prints the JSON schema of
:class:`LibraryDefinition`; :mod:`kisubstrate.api.library` builds and writes the library.

Example:
    >>> d = read_library_definition({"library": "Demo", "sections": [
    ...     {"title": "t", "family": "bga", "defaults": {"pitch": 1.0, "ball_diameter": 0.5},
    ...      "layout": "fit", "edge": 1.0, "sweep": {"body": [5, 7]}}]})
    >>> [(p["body"], p["layout"]) for _, p in expand_library(d)]
    [([5.0, 5.0], [4, 4]), ([7.0, 7.0], [6, 6])]
    >>> read_library_definition({"library": "Demo", "sections": [{"family": "bga", "edge": -1}]}, file="lib.yaml")
    Traceback (most recent call last):
    kisubstrate.model.errors.SpecError: lib.yaml: package section 'bga': field 'edge': must be >= 0 mm (got -1)
"""

from __future__ import annotations

import difflib
import itertools
import math
import re
from typing import Annotated, Any, Literal

from pydantic import (
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from kisubstrate.model.base import SpecModel, length
from kisubstrate.model.errors import FieldError, SpecError, clip
from kisubstrate.model.loader import describe_validation_error

LIB_NAME = r"^[A-Za-z][A-Za-z0-9_.+-]{0,99}$"
"""A library name: the ``.pretty`` folder and the fp-lib-table nickname."""
PCM_ID = r"^[a-zA-Z][-a-zA-Z0-9.]{0,98}[a-zA-Z0-9]$"
"""KiCad's PCM package identifier pattern (pcm.v1.schema.json)."""
NAME_SUFFIX = r"^[A-Za-z0-9_.,+\-]*$"
MODEL_MODES = ("project", "pcm", "stock")
"""The 3D model path presets of :mod:`kisubstrate.kicad.paths` (else a template with ``{name}``)."""


class LibraryVariant(SpecModel):
    """One overlay of a sweep: any package keys, plus filters that keep it to some grids."""

    # the overlay is package keys of the section's family: the family's model checks them
    model_config = ConfigDict(extra="allow", frozen=True, str_strip_whitespace=True, defer_build=True)

    min_layout: int | None = Field(None, ge=1, le=1000,
                                   description="keep to grids whose smaller side (balls) is at least this")
    max_layout: int | None = Field(None, ge=1, le=1000,
                                   description="keep to grids whose smaller side (balls) is at most this")
    parity: Literal["even", "odd"] | None = Field(None, description="keep to grids whose smaller side is "
                                                  "even / odd")
    name_suffix: str | None = Field(None, max_length=60, json_schema_extra={"pattern": NAME_SUFFIX},
                                    description="appended to the default footprint name (e.g. _SquareLands)")

    @field_validator("name_suffix")
    @classmethod
    def _suffix_chars(cls, v: str | None) -> str | None:
        if v is not None and not re.match(NAME_SUFFIX, v):
            raise ValueError("may only use letters, digits and _ . , + - (it becomes part of the file name)")
        return v

    def keeps(self, layout: Any) -> bool:
        """Whether the filters keep a package with grid ``layout`` (columns, rows; absent: 0 x 0).

        Example:
            >>> LibraryVariant(min_layout=12, parity="even").keeps([12, 14]), LibraryVariant(max_layout=5).keeps([6, 6])
            (True, False)
        """
        n = min(layout or (0, 0))
        if n < (self.min_layout or 0) or n > (10 ** 6 if self.max_layout is None else self.max_layout):
            return False
        return self.parity is None or (n % 2 == 0) == (self.parity == "even")

    def overlay(self) -> dict[str, Any]:
        """The package keys this variant sets (its extra keys, and ``name_suffix`` if given)."""
        keys = dict(self.model_extra or {})
        if self.name_suffix is not None:
            keys["name_suffix"] = self.name_suffix
        return keys


class LibrarySection(SpecModel):
    """One family block of the library: a catalogue heading over explicit packages or a sweep."""

    title: str | None = Field(None, max_length=200, description="catalogue heading (default: the family)")
    family: str = Field(description="the family of every package in the section (see `kisubstrate list`)")
    note: str | None = Field(None, max_length=4000, description="paragraph under the heading in the catalogue")
    defaults: dict[str, Any] | None = Field(None, description="package keys shared by every package of the "
                                            "section (mm)")
    packages: list[dict[str, Any]] | None = Field(None, description="explicit package specs (defaults "
                                                  "merged in)")
    sweep: dict[str, Annotated[list[Any], Field(min_length=1)]] | None = Field(
        None, description="package key -> non-empty list of values; every combination is one package (a "
                          "mapping in a list sets several keys at once)")
    variants: list[LibraryVariant] | None = Field(None, description="overlays of every sweep combination "
                                                  "(default: one empty overlay)")
    layout: Literal["fit"] | None = Field(None, description="fit: the largest full grid whose outer ball "
                                          "centres stay 'edge' inside the body")
    body: Literal["fit"] | None = Field(None, description="fit: the body is the grid span + 'edge' on each side")
    edge: float | None = length("body edge to the outer ball centre for 'layout: fit' / 'body: fit' (mm)",
                                ge=0, le=50, default=None)

    @model_validator(mode="after")
    def _complete(self) -> "LibrarySection":
        if self.sweep is None and not self.packages:
            raise ValueError("a section needs 'packages' or 'sweep'")
        if (self.layout or self.body) and self.edge is None:
            raise FieldError("edge", "'layout: fit' / 'body: fit' need 'edge' (mm, >= 0)")
        return self

    @property
    def heading(self) -> str:
        """The catalogue heading: ``title``, else the family."""
        return self.family if self.title is None else self.title


class LibraryDefinition(SpecModel):
    """A footprint library definition (``kisubstrate library SPEC``): name, model paths, sections."""

    library: str = Field(pattern=LIB_NAME, description="library name: the .pretty folder and fp-lib-table "
                         "nickname (letters, digits, _ . + -)")
    description: str | None = Field(None, max_length=4000, description="library description (catalogue, "
                                    "fp-lib-table)")
    models: str = Field("project", description="3D model paths: project | pcm | stock | a template with {lib} "
                        "and {name}")
    pcm_id: str = Field("kisubstrate.library", pattern=PCM_ID,
                        description="identifier of the PCM library package (no underscores)")
    sections: list[LibrarySection] = Field(min_length=1, description="family blocks, in catalogue order")

    @field_validator("models")
    @classmethod
    def _model_mode(cls, v: str) -> str:
        if v not in MODEL_MODES and "{name}" not in v:
            raise ValueError(f"must be one of {', '.join(MODEL_MODES)} or a template with {{lib}} and {{name}}")
        return v


# what a key must be, said once (shape mistakes: wrong type, empty list, an item of the wrong kind);
# the field named is the section key (None: the message names the key itself)
_SHAPES: dict[str, tuple[str, str | None]] = {
    "library": ("must be a library name (letters, digits, _ . + -)", "library"),
    "pcm_id": ("must match the PCM identifier pattern (no underscores)", "pcm_id"),
    "sections": ("must be a non-empty list", "sections"),
    "defaults": ("must be a mapping of package keys", "defaults"),
    "packages": ("must be a list of package mappings", "packages"),
    "sweep": ("must map package keys to non-empty lists of values", "sweep"),
    "variants": ("must be a list of mappings", "variants"),
    "layout": ("'layout' / 'body' at section level may only be 'fit'", None),
    "body": ("'layout' / 'body' at section level may only be 'fit'", None),
}
_SHAPE_ERRORS = {"dict_type", "list_type", "model_type", "model_attributes_type", "too_short", "too_long",
                 "string_type", "string_pattern_mismatch", "literal_error", "mapping_type"}


def section_label(k: int, raw: Any) -> str:
    """How messages name section ``k`` (0-based): ``section 'title'`` (or its family), else ``section #n``.

    Example:
        >>> section_label(0, {"title": "BGA 1 mm"}), section_label(1, {"family": "qfn"}), section_label(2, 3)
        ("section 'BGA 1 mm'", "section 'qfn'", 'section #3')
    """
    if isinstance(raw, dict):
        name = raw.get("title", raw.get("family"))
        if isinstance(name, (str, int, float)) and not isinstance(name, bool):
            return f"section '{name}'"
    return f"section #{k + 1}"


def _unknown_key(key: str, known: tuple[str, ...], what: str) -> str:
    close = difflib.get_close_matches(key, known, n=1)
    hint = f" (did you mean '{close[0]}'?)" if close else ""
    return f"unknown {what} key '{key}'{hint} (known: {', '.join(known)})"


def _located(exc: ValidationError, model: type[SpecModel], what: str, *, file: str,
             package: str | None) -> SpecError:
    """One located SpecError for the first mistake of a top-level or section ValidationError."""
    errors = exc.errors(include_url=False)
    extra = next((e for e in errors if e["type"] == "extra_forbidden" and len(e["loc"]) == 1), None)
    if extra is not None:
        known = tuple(model.model_fields)
        return SpecError(_unknown_key(str(extra["loc"][0]), known, what), file=file, package=package)
    err = errors[0]
    # drop pydantic's union-branch / validator tags ('literal[...]', 'function-after[...]')
    loc = [p for p in err["loc"] if isinstance(p, int) or not ("[" in p or p.startswith("function-"))]
    key = str(loc[0]) if loc else ""
    # the key itself, or an item of it (a section, a package, a variant, a sweep list), has the wrong shape
    if key in _SHAPES and err["type"] in _SHAPE_ERRORS and len(loc) <= 2:
        message, field = _SHAPES[key]
        return SpecError(message, file=file, package=package, field=field)
    field, message = describe_validation_error(exc, model)
    return SpecError(message, file=file, package=package, field=field or None)


def read_library_definition(data: Any, *, file: str = "") -> LibraryDefinition:
    """Validate a library definition mapping (read from YAML).

    Args:
        data: the mapping (``library``, ``description``, ``models``, ``pcm_id``, ``sections``).
        file: where it came from, for messages.

    Raises:
        SpecError: the first mistake as one located line: file, section, field, reason.

    Example:
        >>> read_library_definition({"library": "L", "sections": [{"family": "bga", "sweep": {"body": [5]}}],
        ...                          "colour": 1})
        Traceback (most recent call last):
        kisubstrate.model.errors.SpecError: unknown top-level key 'colour' (known: library, description, models, \
pcm_id, sections)
    """
    if not isinstance(data, dict):
        raise SpecError("top level must be a mapping with 'library:' and 'sections:'", file=file)
    try:
        return LibraryDefinition.model_validate(data)
    except ValidationError as exc:
        errors = exc.errors(include_url=False)
        first = next((e for e in errors if e["type"] == "extra_forbidden" and len(e["loc"]) == 1), errors[0])
        loc = first["loc"]
        sections = data.get("sections")
        if len(loc) >= 2 and loc[0] == "sections" and isinstance(loc[1], int) and isinstance(sections, list):
            k = loc[1]
            raw = sections[k]
            where = section_label(k, raw)
            if not isinstance(raw, dict):
                raise SpecError("a section must be a mapping", file=file, package=where) from None
            try:  # the section on its own: its messages name section keys (and their units)
                LibrarySection.model_validate(raw)
            except ValidationError as sub:
                raise _located(sub, LibrarySection, "section", file=file, package=where) from None
        raise _located(exc, LibraryDefinition, "top-level", file=file, package=None) from None


MAX_PACKAGES = 10_000
"""Most packages one library definition may expand to (the shipped library has ~300)."""
_SIZE_LIMITS = {"body": (500.0, "mm"), "pitch": (100.0, "mm"), "layout": (400, "")}


def _check_sizes(pkg: dict, *, file: str, where: str) -> None:
    """Body, pitch and layout of a package before fitting and filtering: finite, > 0, within the family limits.

    A value a filter would drop (``max_layout``) must still be a valid value, not silently skipped.
    """
    for key, (limit, unit) in _SIZE_LIMITS.items():
        value = pkg.get(key)
        values = value if isinstance(value, (list, tuple)) else [value]
        for v in values:
            if isinstance(v, bool) or not isinstance(v, (int, float)):
                continue
            if not (math.isfinite(v) and 0 < v <= limit):
                raise SpecError(f"{key} values must be finite, > 0 and <= {limit:g}{' ' + unit if unit else ''} "
                                f"(got {clip(value)})", file=file, package=where, field=key)


def _fit(pkg: dict, sec: LibrarySection, *, file: str, where: str) -> dict | None:
    """Square shorthands and ``layout: fit`` / ``body: fit`` (grid families); None: no grid of 2 fits."""
    _check_sizes(pkg, file=file, where=where)
    for key in ("body", "layout"):
        if isinstance(pkg.get(key), (int, float)):
            pkg[key] = [pkg[key], pkg[key]]
    if isinstance(pkg.get("body"), list):
        # numbers become floats; toleranced sizes ("3 +/- 0.1", no-lead families) stay as written
        pkg["body"] = [float(v) if isinstance(v, (int, float)) else v for v in pkg["body"]]
    if sec.layout is None and sec.body is None:
        return pkg
    edge = float(sec.edge)  # type: ignore[arg-type]  # the section model requires it with fit
    pitch = pkg.get("pitch")
    px, py = (pitch, pitch) if isinstance(pitch, (int, float)) else tuple(pitch or (0, 0))
    if not px or not py:
        raise SpecError("fitting needs 'pitch'", file=file, package=where, field="pitch")
    if sec.layout == "fit":
        bx, by = pkg["body"]
        # as many balls as fit with their centres >= edge from the body edge
        pkg["layout"] = [int(math.floor((bx - 2 * edge) / px + 1e-6)) + 1,
                         int(math.floor((by - 2 * edge) / py + 1e-6)) + 1]
        if min(pkg["layout"]) < 2:
            return None
    else:
        if not isinstance(pkg.get("layout"), list) or len(pkg["layout"]) != 2:
            raise SpecError("'body: fit' needs 'layout' (columns, rows)", file=file, package=where, field="layout")
        cols, rows = pkg["layout"]
        pkg["body"] = [round((cols - 1) * px + 2 * edge, 3), round((rows - 1) * py + 2 * edge, 3)]
    return pkg


def expand_library(definition: LibraryDefinition, *, file: str = "") -> list[tuple[int, dict]]:
    """Every package of a definition as (section index, package dict), in definition order.

    Explicit ``packages`` come first (section ``defaults`` and ``family`` merged in), then the
    sweep: each combination of the sweep lists × each variant the filters keep, with ``layout`` /
    ``body`` fitted (mm). The dicts are validated later, by the family's model.

    Args:
        definition: a validated definition (:func:`read_library_definition`).
        file: where it came from, for messages.

    Raises:
        SpecError: a package the section cannot fit (no ``pitch``, no ``layout`` for ``body: fit``).
    """
    out: list[tuple[int, dict]] = []
    for index, sec in enumerate(definition.sections):
        where = f"section '{sec.heading}'"
        defaults = dict(sec.defaults or {})
        defaults.setdefault("family", sec.family)
        for raw in sec.packages or []:
            out.append((index, {**defaults, **raw}))
        if sec.sweep is None:
            continue
        keys = list(sec.sweep)
        total = len(out) + math.prod(len(sec.sweep[key]) for key in keys) * len(sec.variants or [None])
        if total > MAX_PACKAGES:
            raise SpecError(f"the sweep expands to {total:,} packages; the limit is {MAX_PACKAGES:,}", file=file,
                            package=where, field="sweep")
        for combo in itertools.product(*(sec.sweep[key] for key in keys)):
            base = dict(defaults)
            for key, value in zip(keys, combo):
                # a mapping in a sweep list overlays several keys at once (e.g. pitch + land)
                base.update(value if isinstance(value, dict) else {key: value})
            for var in sec.variants or [LibraryVariant()]:
                pkg = _fit({**base, **var.overlay()}, sec, file=file, where=where)
                if pkg is not None and var.keeps(pkg.get("layout")):
                    out.append((index, pkg))
    return out
