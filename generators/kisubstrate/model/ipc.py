"""IPC land tables as data: ``kisubstrate/data/ipc/*.yaml``, each file citing its source.

* ``ipc7352-bga-lands.yaml`` — IPC-7352 Table 3-11: BGA land = factor × ball (:func:`bga_land_factors`);
* ``ipc7351b-bga-lands.yaml`` — IPC-7351B Tables 14-5 / 14-6: land per ball size (:func:`bga_land_table`);
* ``ipc7351b-nolead-fillets.yaml`` — IPC-7351B Tables 3-15 / 3-18: toe / heel / side goals and courtyard
  excess of flat no-lead packages per density level (:func:`nolead_fillets`).

Each table is read and validated once (cached) by the models below; the land calculators in
:mod:`kisubstrate.model.land` and :mod:`kisubstrate.families.nolead` use them.

Example:
    >>> bga_land_table().collapsible[0.45]
    (0.35, 0.4, 0.3)
    >>> bga_land_factors().factors["non_collapsible"]
    1.1
    >>> nolead_fillets().tables["toe"].nominal.toe
    0.3
"""

from __future__ import annotations

from functools import lru_cache
from typing import Literal

from pydantic import Field

from kisubstrate.model.base import SpecModel, length
from kisubstrate.model.datafile import data_path, read_yaml_mapping
from kisubstrate.model.loader import validate_model

Land3 = tuple[float, float, float]


class BgaLandTable(SpecModel):
    """IPC-7351B land diameter (mm) per nominal ball diameter (mm): [nom, max, min] per ball type."""

    name: str = Field(description="the rule's name in provenance (IPC-7351B)")
    source: str = Field(description="citation written into every footprint's provenance")
    levels: tuple[Literal["nom"], Literal["max"], Literal["min"]] = Field(description="column order")
    collapsible: dict[float, Land3] = Field(description="Table 14-5: ball → (nom, max, min) land, mm")
    non_collapsible: dict[float, Land3] = Field(description="Table 14-6: ball → (nom, max, min) land, mm")


class BgaLandFactors(SpecModel):
    """IPC-7352 land = factor × nominal ball diameter, rounded to ``round_to`` mm."""

    name: str = Field(description="the rule's name in provenance (IPC-7352)")
    source: str = Field(description="citation written into every footprint's provenance")
    round_to: float = length("lands round to this step (mm)", le=1)
    factors: dict[Literal["collapsible", "non_collapsible"], float] = Field(description="ball type → factor")


class FilletGoals(SpecModel):
    """Solder-joint goals (mm) of one density level."""

    toe: float = Field(description="toe fillet goal Jt (mm)")
    heel: float = Field(description="heel fillet goal Jh (mm)")
    side: float = Field(description="side fillet goal Js (mm)")
    courtyard: float = Field(description="courtyard excess (mm)")


class FilletTable(SpecModel):
    """One IPC-7351B goal table: its name and the goals per density level."""

    name: str = Field(description="table name written into provenance")
    least: FilletGoals
    nominal: FilletGoals
    most: FilletGoals


class NoLeadFillets(SpecModel):
    """The flat no-lead goal tables: ``toe`` (Table 3-15) and ``pull_back`` (Table 3-18)."""

    source: str = Field(description="citation")
    tables: dict[Literal["toe", "pull_back"], FilletTable]


def _read(name: str, model: type[SpecModel]) -> SpecModel:
    path = data_path("ipc", name)
    return validate_model(model, read_yaml_mapping(path, what="IPC table"), file=str(path))


@lru_cache(maxsize=1)
def bga_land_table() -> BgaLandTable:
    """IPC-7351B Tables 14-5 / 14-6 (read once from ``data/ipc/ipc7351b-bga-lands.yaml``)."""
    return _read("ipc7351b-bga-lands.yaml", BgaLandTable)  # type: ignore[return-value]


@lru_cache(maxsize=1)
def bga_land_factors() -> BgaLandFactors:
    """IPC-7352 Table 3-11 factors (read once from ``data/ipc/ipc7352-bga-lands.yaml``)."""
    return _read("ipc7352-bga-lands.yaml", BgaLandFactors)  # type: ignore[return-value]


@lru_cache(maxsize=1)
def nolead_fillets() -> NoLeadFillets:
    """IPC-7351B Tables 3-15 / 3-18 (read once from ``data/ipc/ipc7351b-nolead-fillets.yaml``)."""
    return _read("ipc7351b-nolead-fillets.yaml", NoLeadFillets)  # type: ignore[return-value]
