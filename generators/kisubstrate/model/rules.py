"""Rule profiles: minimum clearances and house rules, loaded from YAML with their sources.

A profile is named in a spec (``rules: ipc-default``) or given as a path to a YAML
file. Shipped profiles live in ``kisubstrate/data/rules/``; every value there cites
where it comes from (``sources:``).

Example:
    >>> rules = load_rules("ipc-default")
    >>> rules.copper_clearance, rules.courtyard_offset("bga", body=(14.0, 14.0))
    (0.1, 1.0)
"""

from __future__ import annotations

from functools import lru_cache
from importlib import resources
from pathlib import Path

import yaml
from pydantic import Field, ValidationError

from kisubstrate.model import yamlio
from kisubstrate.model.base import SpecModel, length
from kisubstrate.model.errors import SpecError


class CourtyardOffsets(SpecModel):
    """Courtyard offset from the union of body and pads, per family (mm, KLC F5.3)."""

    default: float = length("offset for families not listed", ge=0, le=10, default=0.25)
    small: float = length("offset for parts whose body is smaller than 2 mm (KLC F5.3)", ge=0, le=10,
                          default=0.15)
    bga: float = length("BGA (IPC rework allowance, KLC)", ge=0, le=10, default=1.0)
    lga: float = length("LGA", ge=0, le=10, default=0.25)
    pga: float = length("PGA", ge=0, le=10, default=0.5)
    wlcsp: float | None = length("WLCSP; None uses the small/default CSP rule", ge=0, le=10, default=None)


class RuleSet(SpecModel):
    """Minimum clearances and drawing house rules for footprints (mm unless stated)."""

    name: str = Field("custom", description="profile name")
    description: str = Field("", description="what the profile is for")
    sources: dict[str, str] = Field(default_factory=dict, description="field → citation")

    copper_clearance: float = length("minimum copper-to-copper gap between pads", ge=0, le=10, default=0.1)
    mask_web: float = length("minimum solder-mask web between openings", ge=0, le=10, default=0.075)
    mask_margin: float = length("default NSMD mask expansion per side", ge=0, le=1, default=0.075)
    mask_registration: float = length("smallest NSMD clearance (opening − land)/2 the fab can register",
                                      ge=0, le=1, default=0.025)
    smd_overlap: float = length("SMD pads: copper beyond the mask opening per side", ge=0, le=1,
                                default=0.05)
    silk_clearance: float = length("minimum silk-to-pad (copper and mask opening) clearance", ge=0, le=10,
                                   default=0.2)
    annular_ring: float = length("minimum annular ring of plated holes", ge=0, le=5, default=0.15)
    hole_to_hole: float = length("minimum drill-edge to drill-edge distance", ge=0, le=10, default=0.25)
    drill_allowance: float = length("PGA: hole diameter over the maximum pin diameter", ge=0, le=2,
                                    default=0.2)
    drill_step: float = length("PGA: drills round up to this step", ge=0, le=1, default=0.05)
    fab_tolerance: float = length("IPC-7351B F: board fabrication (land size/position) tolerance", ge=0,
                                  le=1, default=0.1)
    placement_tolerance: float = length("IPC-7351B P: part placement tolerance", ge=0, le=1, default=0.05)

    silk_width: float = length("silk line width (KLC F5.1)", le=1, default=0.12)
    fab_width: float = length("fab line width (KLC F5.2)", le=1, default=0.1)
    courtyard_width: float = length("courtyard line width (KLC F5.3)", le=1, default=0.05)
    courtyard_grid: float = length("courtyard coordinates round outward to this grid", le=1, default=0.01)
    silk_offset: float = length("silk outline distance outside the body", ge=0, le=5, default=0.1)
    fab_bevel: float = length("pin-1 bevel on the fab outline (limited to 25 % of the body)", le=5,
                              default=1.0)
    courtyard: CourtyardOffsets = Field(default_factory=CourtyardOffsets,
                                        description="courtyard offsets per family")

    def courtyard_offset(self, family: str, *, body: tuple[float, float]) -> float:
        """Courtyard offset (mm) for a family and body size (KLC: 0.15 mm below 2 mm bodies)."""
        offsets = self.courtyard
        if family == "wlcsp":
            if offsets.wlcsp is not None:
                return offsets.wlcsp
            return offsets.small if min(body) < 2.0 else offsets.default
        value = getattr(offsets, family, None)
        return offsets.default if value is None else value


def _profile_dir() -> Path:
    return Path(str(resources.files("kisubstrate") / "data" / "rules"))


SUBSTRATE_PREFIX = "substrate-"
"""Shipped profiles named ``substrate-*`` are substrate profiles (``SubstrateRules``), not ``RuleSet``s."""


def available_profiles() -> list[str]:
    """Names of the shipped footprint rule profiles (the ``substrate-*`` files are substrate profiles).

    Example:
        >>> available_profiles()
        ['hdi-fine', 'ipc-default']
    """
    return sorted(p.stem for p in _profile_dir().glob("*.yaml") if not p.stem.startswith(SUBSTRATE_PREFIX))


def load_rules(name_or_path: str = "ipc-default", *, base_dir: str | None = None) -> RuleSet:
    """Load a rule profile by shipped name or YAML path (relative paths resolve from ``base_dir``).

    Raises:
        SpecError: unknown profile, unreadable file, or invalid values.
    """
    candidate = Path(name_or_path)
    if base_dir and not candidate.is_absolute():
        candidate = Path(base_dir) / candidate
    if candidate.suffix in (".yaml", ".yml") or candidate.exists():
        path = candidate
    else:
        path = _profile_dir() / f"{name_or_path}.yaml"
        if name_or_path.startswith(SUBSTRATE_PREFIX) and path.exists():
            raise SpecError(f"'{name_or_path}' is a substrate rule profile; footprint profiles: "
                            f"{', '.join(available_profiles())}", field="rules")
        if not path.exists():
            raise SpecError(f"unknown rule profile '{name_or_path}' (shipped: "
                            f"{', '.join(available_profiles())}; or give a .yaml path)", field="rules")
    try:
        st = path.stat()
        stamp = (st.st_mtime_ns, st.st_size)
    except OSError:
        stamp = (0, 0)
    # cached per file version: an edited profile is re-read (the KiCad plugin is a long-lived process)
    return _load_rules_file(str(path), stamp)


@lru_cache(maxsize=64)
def _load_rules_file(where: str, stamp: tuple[int, int]) -> RuleSet:
    """Read and validate one profile file (``stamp`` = mtime, size: only a cache key)."""
    path = Path(where)
    try:
        data = yamlio.safe_load(path.read_text(encoding="utf-8")) or {}
    except OSError as exc:
        raise SpecError(f"cannot read rule profile: {exc.strerror or exc}", file=where, field="rules") from None
    except UnicodeDecodeError:
        raise SpecError("rule profile is not UTF-8 text", file=where, field="rules") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise SpecError(f"rule profile is not valid YAML{at}: {getattr(exc, 'problem', None) or exc}",
                        file=where, field="rules") from None
    if not isinstance(data, dict):
        raise SpecError("rule profile must be a mapping of rule names to values", file=where, field="rules")
    data.setdefault("name", path.stem)
    try:
        return RuleSet.model_validate(data)
    except ValidationError as exc:
        from kisubstrate.model.loader import describe_validation_error

        field, msg = describe_validation_error(exc, RuleSet)
        raise SpecError(f"rule '{field}': {msg}" if field else msg, file=where, field="rules") from None
