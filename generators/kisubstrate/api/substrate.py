"""Substrate boards through the library API: build, check, write a KiCad project.

``build_substrate(spec)`` runs the family's substrate builder, then the board checks
(:func:`kisubstrate.rules.board.check_board`); ``substrate_files`` renders the three
project files plus a small JSON sidecar (stackup and check report) that ``render``
uses for the cross-section and violation markers.

Example:
    >>> from kisubstrate.api.specs import load_specs
    >>> from kisubstrate.model.examples import examples_dir
    >>> spec = load_specs([examples_dir() / "buildup.yaml"])[0].spec
    >>> result = build_substrate(spec)
    >>> result.report.ok, sorted(substrate_files(result))[-1].endswith(".kisubstrate.json")
    (True, True)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from kisubstrate.api.project import project_files
from kisubstrate.families import registry
from kisubstrate.geometry.board import BoardGeom
from kisubstrate.kicad.layers import LayerMap
from kisubstrate.model.errors import SpecError
from kisubstrate.rules.board import check_board
from kisubstrate.rules.report import Report


@dataclass
class SubstrateResult:
    """A built substrate board, its spec and check report."""

    spec: Any
    board: BoardGeom
    report: Report

    @property
    def name(self) -> str:
        """Board name (file stem)."""
        return self.board.name


def has_substrate(spec: Any) -> bool:
    """True if the spec's family builds a substrate board."""
    return registry.get(spec.family).substrate is not None


def build_substrate(spec: Any, *, check: bool = True) -> SubstrateResult:
    """Build (and check) the substrate board of one validated spec.

    Args:
        spec: a validated spec of a family with a substrate board (``Family.substrate``).
        check: run the board checks (:func:`~kisubstrate.rules.board.check_board`) and then the
            family's own checks (``Family.checks``, e.g. the cavity's floor and wall rules), in that
            order; False gives an empty report.

    Example:
        >>> from kisubstrate.families.registry import example_spec
        >>> result = build_substrate(example_spec("cavity"))
        >>> result.report.ok, result.board.extras.cavity is not None
        (True, True)
    """
    fam = registry.get(spec.family)
    if fam.substrate is None:
        raise SpecError(f"family '{spec.family}' has no substrate board", field="family")
    board = fam.substrate(spec)
    rules = spec.substrate_rules()
    report = check_board(board, rules, stackup=spec.stackup) if check else Report(board.name, rules.name)
    if check:  # family rules (e.g. cavity, z-stack), declared on the family
        for family_check in fam.checks:
            report.extend(family_check(spec, board, rules))
    return SubstrateResult(spec=spec, board=board, report=report)


def sidecar(result: SubstrateResult) -> dict:
    """Stackup, via spans and the check report as JSON-ready data (read by ``kisubstrate render``).

    ``mask_material`` is the material of the mask layers when it is not a plain solder mask (a
    leadframe's polyimide, titanium or aluminium protective layer), else None.

    A via span is ``stacked`` when some via of it sits on (same centre as) a via ending at its top layer.
    """
    spec, board = result.spec, result.board
    lm = LayerMap(board.copper)
    st = spec.stackup
    layers = []
    ci = 0
    for lay in st.layers:
        if lay.is_copper:
            layers.append({"kind": "copper", "thickness": lay.thickness, "kicad": lm.name(ci),
                           "name": lay.name or f"L{ci + 1}"})
            ci += 1
        else:
            mat = lay.material or st.default_material
            m = st.material(mat)
            layers.append({"kind": "dielectric", "thickness": lay.thickness, "material": mat,
                           "epsilon_r": m.epsilon_r, "loss_tangent": m.loss_tangent, "type": lay.type})
            if lay.plies:
                layers[-1]["plies"] = [{"thickness": p.thickness, "material": p.material or mat, "role": p.role}
                                       for p in lay.plies]
    spans = sorted({(k, int(t), int(b)) for k, t, b in zip(board.vias.kind, board.vias.top, board.vias.bottom)})
    v = board.vias
    xy = [(round(x * 1e6), round(y * 1e6)) for x, y in zip(v.x, v.y)]
    ends = {(p, int(b)) for p, b in zip(xy, v.bottom)}  # a via's bottom layer at its centre
    stacked = {(k, int(t), int(b)) for p, k, t, b in zip(xy, v.kind, v.top, v.bottom) if (p, int(t)) in ends}
    return {"name": board.name, "family": spec.family, "copper": board.copper, "kicad_copper": lm.kicad_count,
            "outline": [[round(x, 6), round(y, 6)] for x, y in list(board.outline.exterior.coords)[:-1]],
            "mask_thickness": st.mask_thickness, "mask_material": st.mask_material, "finish": st.finish,
            "layers": layers,
            "via_spans": [{"kind": k, "top": t, "bottom": b, "stacked": (k, t, b) in stacked} for k, t, b in spans],
            "counts": {"pads": len(board.pads), "vias": len(board.vias), "tracks": len(board.tracks),
                       "nets": len(board.nets) - 1},
            "report": result.report.as_dict(), **board.extras.sidecar}


def substrate_files(result: SubstrateResult, *, kicad: int = 9) -> dict[str, str]:
    """File name → text of the KiCad project of a substrate.

    The ``.kicad_pcb``, ``.kicad_pro``, ``.kicad_dru``, the sidecar and the family's extra files;
    see :func:`kisubstrate.api.project.project_files`.

    Args:
        result: a built (and checked) substrate from :func:`build_substrate`; its report goes into the sidecar.
        kicad: the KiCad release to write for, 9 or 10 (see :func:`kisubstrate.api.project.project_files`).
    """
    spec = result.spec
    return project_files(result.board, spec.stackup, spec.substrate_rules(), spec, sidecar=sidecar(result),
                         kicad=kicad)
