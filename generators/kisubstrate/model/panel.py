"""Panel options: how a substrate board is stepped into a strip or panel (all lengths mm).

One model drives :func:`kisubstrate.geometry.panel.build_panel`, the ``kisubstrate panel``
options (one ``--field-name`` per field, help from the description, default from the model)
and ``kisubstrate schema panel``. Checks that need the unit board's rule profile (the street
must hold the plating bar with clearance, the rail the tooling hole with copper-to-edge, the
etch-back gap at least the clearance) are made by ``build_panel``, which knows the rules.

Example:
    >>> opts = PanelOptions(rows=1, columns=3)
    >>> opts.street, opts.rail, opts.units
    (0.3, 5.0, 3)
    >>> panel_options(rows=1, columns=1)
    Traceback (most recent call last):
    kisubstrate.model.errors.SpecError: field 'rows': a panel needs at least two units (rows x columns >= 2)
"""

from __future__ import annotations

from typing import Any

from pydantic import Field, model_validator

from kisubstrate.model.base import KLC_NAME_CHARS, SpecModel, length
from kisubstrate.model.errors import FieldError
from kisubstrate.model.loader import validate_model


class PanelOptions(SpecModel):
    """Rows x columns of units with saw streets, frame rails, tooling holes, fiducials and a plating bus."""

    rows: int = Field(2, ge=1, le=50, description="units down, 1 .. 50 (rows x columns >= 2)")
    columns: int = Field(2, ge=1, le=50, description="units across, 1 .. 50 (rows 1 = a strip)")
    street: float = length("saw street between the units and around the array (mm)", le=20, default=0.3)
    rail: float = length("frame rail width outside the outer street, holds tooling holes and fiducials (mm)",
                         le=50, default=5.0)
    tooling_hole: float = length("non-plated tooling hole diameter, cut out of the rails (mm)", le=10,
                                 default=2.0)
    fiducial: float = length("fiducial copper diameter (mm)", le=5, default=1.0)
    fiducial_opening: float = length("fiducial solder-mask clearance per side (mm)", ge=0, le=5, default=1.0)
    bar_width: float = length("plating bar width, centred in each street (mm)", le=5, default=0.1)
    etch_back: float | None = length("gap between a plating tail and its bar (mm; default the profile "
                                     "clearance)", ge=0, le=5, default=None)
    plating: bool = Field(True, description="plating bus in the streets and a plating tail per exposed net")
    name: str | None = Field(None, pattern=KLC_NAME_CHARS, max_length=200,
                             description="panel board name (default <unit>_Panel<rows>x<columns>)")

    @model_validator(mode="after")
    def _two_units(self) -> "PanelOptions":
        if self.rows * self.columns < 2:
            raise FieldError("rows", "a panel needs at least two units (rows x columns >= 2)")
        return self

    @property
    def units(self) -> int:
        """Units on the panel (rows x columns)."""
        return self.rows * self.columns


def panel_options(options: PanelOptions | None = None, **fields: Any) -> PanelOptions:
    """Panel options from a model or from keyword fields (never both).

    Args:
        options: ready options, returned as they are.
        fields: :class:`PanelOptions` fields (``rows``, ``columns``, ``street`` mm, ``rail`` mm, ...);
            the others keep their defaults.

    Raises:
        SpecError: a field is invalid (one located message), or both ``options`` and fields are given.

    Example:
        >>> panel_options(rows=1, columns=2, street=0.4).street
        0.4
    """
    if options is not None:
        if fields:
            raise TypeError(f"give PanelOptions or fields, not both ({', '.join(sorted(fields))})")
        return options
    return validate_model(PanelOptions, fields)
