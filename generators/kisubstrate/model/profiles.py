"""The one rule-profile loader, for both kinds.

The kinds are footprint profiles (``RuleSet``) and substrate profiles (``SubstrateRules``).
A profile is named by a shipped name (``ipc-default``, ``substrate-buildup``: the files in
``kisubstrate/data/rules/``, where ``substrate-*`` files are substrate profiles) or by a YAML
path (relative paths resolve from ``base_dir``). Reading, YAML errors and the messages are
shared (:func:`kisubstrate.model.datafile.read_yaml_mapping`); every mistake is one
:class:`~kisubstrate.model.errors.SpecError` located at the spec field ``rules``. Profiles are
cached per file version (path, mtime, size): an edited profile is re-read, so the KiCad plugin
(a long-lived process) sees the edit without a restart.

Example (``kisubstrate.model.rules.load_rules`` and ``kisubstrate.model.substrate.load_substrate_rules``
call it with their models):
    >>> from pydantic import BaseModel
    >>> class Clearance(BaseModel):  # any model; the shipped files hold more keys
    ...     copper_clearance: float
    >>> load_profile(Clearance, "footprint", "hdi-fine").copper_clearance
    0.075
    >>> shipped_profiles("substrate")
    ['substrate-buildup', 'substrate-hdi', 'substrate-wlp']
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal, TypeVar

from pydantic import BaseModel, ValidationError

from kisubstrate.model.datafile import data_path, read_yaml_mapping
from kisubstrate.model.errors import SpecError
from kisubstrate.model.loader import describe_validation_error

Kind = Literal["footprint", "substrate"]
M = TypeVar("M", bound=BaseModel)

SUBSTRATE_PREFIX = "substrate-"
"""Shipped profiles named ``substrate-*`` are substrate profiles; the others are footprint profiles."""
_NOUN = {"footprint": "rule profile", "substrate": "substrate rule profile"}


def _kind_of(stem: str) -> Kind:
    return "substrate" if stem.startswith(SUBSTRATE_PREFIX) else "footprint"


def shipped_profiles(kind: Kind) -> list[str]:
    """Names of the shipped profiles of one kind (``footprint`` or ``substrate``), sorted.

    Example:
        >>> shipped_profiles("footprint")
        ['hdi-fine', 'ipc-default']
    """
    return sorted(p.stem for p in data_path("rules").glob("*.yaml") if _kind_of(p.stem) == kind)


def profile_path(kind: Kind, name_or_path: str, *, base_dir: str | None = None) -> Path:
    """The file of a profile.

    A ``.yaml`` / ``.yml`` path or an existing file as given (relative to ``base_dir``), else the
    shipped profile of that name.

    Args:
        kind: ``footprint`` or ``substrate`` (a shipped name of the other kind is refused).
        name_or_path: shipped name or path.
        base_dir: folder that relative paths resolve from (default: the working folder).

    Raises:
        SpecError: an unknown shipped name, or a shipped profile of the other kind (field ``rules``).

    Example:
        >>> profile_path("substrate", "substrate-hdi").name, str(profile_path("footprint", "fab.yaml", base_dir="/x"))
        ('substrate-hdi.yaml', '/x/fab.yaml')
    """
    candidate = Path(name_or_path)
    if base_dir and not candidate.is_absolute():
        candidate = Path(base_dir) / candidate
    if candidate.suffix in (".yaml", ".yml") or candidate.is_file():
        return candidate
    path = data_path("rules", f"{name_or_path}.yaml")
    if path.exists() and _kind_of(name_or_path) != kind:
        raise SpecError(f"'{name_or_path}' is a {_kind_of(name_or_path)} rule profile; {kind} profiles: "
                        f"{', '.join(shipped_profiles(kind))}", field="rules")
    if not path.exists():
        raise SpecError(f"unknown {_NOUN[kind]} '{name_or_path}' (shipped: {', '.join(shipped_profiles(kind))}; "
                        "or give a .yaml path)", field="rules")
    return path


def load_profile(model: type[M], kind: Kind, name_or_path: str, *, base_dir: str | None = None) -> M:
    """Load a rule profile of one kind, validated by ``model`` (cached per file version).

    Args:
        model: the profile model (``RuleSet`` for footprint profiles, ``SubstrateRules`` for substrate ones).
        kind: ``footprint`` or ``substrate``: which shipped names are allowed, and the words of messages.
        name_or_path: shipped name or YAML path (values in the file in mm unless the model says otherwise).
        base_dir: folder that relative paths resolve from.

    Raises:
        SpecError: unknown profile, unreadable file, invalid YAML or values (field ``rules``).
    """
    path = profile_path(kind, name_or_path, base_dir=base_dir)
    try:
        st = path.stat()
        stamp = (st.st_mtime_ns, st.st_size)
    except OSError:
        stamp = (0, 0)  # the read reports it
    return _load_file(model, kind, str(path), stamp)  # type: ignore[return-value]


@lru_cache(maxsize=64)
def _load_file(model: type[BaseModel], kind: Kind, where: str, stamp: tuple[int, int]) -> BaseModel:
    """Read and validate one profile file (``stamp`` = mtime, size: only the cache key)."""
    data = read_yaml_mapping(where, what=_NOUN[kind], field="rules")
    data.setdefault("name", Path(where).stem)
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        field, msg = describe_validation_error(exc, model)
        raise SpecError(f"rule '{field}': {msg}" if field else msg, file=where, field="rules") from None
