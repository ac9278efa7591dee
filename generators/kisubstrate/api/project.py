"""The files of a substrate KiCad project, assembled in one place for boards, panels and wafer maps.

:func:`project_files` writes ``<name>.kicad_pcb``, ``.kicad_pro`` and ``.kicad_dru`` of a
:class:`~kisubstrate.geometry.board.BoardGeom`, an optional JSON sidecar and the family's extra
files (``board.extras.files``). :func:`kisubstrate.api.substrate.substrate_files`,
:func:`kisubstrate.api.panel.panel_files` and :func:`kisubstrate.api.wafer.wafer_files` use it.

Example:
    >>> from kisubstrate.families.registry import example_spec, get
    >>> spec = example_spec("cavity")
    >>> board = get("cavity").substrate(spec)
    >>> files = project_files(board, spec.stackup, spec.substrate_rules(), spec)
    >>> [name.removeprefix(board.name) for name in files]
    ['.kicad_pcb', '.kicad_pro', '.kicad_dru', '-fab-notes.txt', '-nets.csv']
"""

from __future__ import annotations

import json
from typing import Any

from kisubstrate.geometry.board import BoardGeom
from kisubstrate.geometry.protection import protection, with_note_drawn
from kisubstrate.kicad.board import write_board
from kisubstrate.kicad.layers import LayerMap
from kisubstrate.kicad.project import via_protection_dru, write_dru, write_project


def project_files(board: BoardGeom, stackup: Any, rules: Any, spec: Any, *,
                  sidecar: dict | None = None, kicad: int = 9) -> dict[str, str]:
    """File name → text of the KiCad project of a board, in writing order.

    ``<name>.kicad_pcb`` (zones connect pads at ``rules.clearance``), ``<name>.kicad_pro`` (the
    profile's minima, the spec's net class), ``<name>.kicad_dru`` (the profile's rules, one
    aspect-ratio rule per microvia layer pair the board uses, then ``board.extras.dru_extra``, then the
    via-protection block of :func:`~kisubstrate.kicad.project.via_protection_dru`),
    ``<name>.kisubstrate.json`` if ``sidecar`` is given, then ``board.extras.files``
    (``<name><suffix>``, e.g. ``-fab-notes.txt``). Whatever the family, a board with filled and capped
    vias (:func:`~kisubstrate.geometry.protection.protection`) gets the ``VIA PROTECTION`` line at the end
    of ``<name>-fab-notes.txt`` (the file is created if the family writes none) and drawn on ``User.2``
    under the family's note (:func:`~kisubstrate.geometry.protection.with_note_drawn`).

    Args:
        board: the board (mm, KiCad frame); its name is the file stem.
        stackup: the :class:`~kisubstrate.model.substrate.Stackup` written into the board
            (thicknesses in mm; also the microvia depths of the ``.kicad_dru``).
        rules: the :class:`~kisubstrate.model.substrate.SubstrateRules` profile (lengths in mm).
        spec: the validated spec; gives the routed trace width (``spec.width()``, mm) and the
            microvia size (``spec.micro()``) of the net class.
        sidecar: JSON-ready data for ``<name>.kisubstrate.json`` (written sorted, indent 1), or None.
        kicad: the KiCad release the board is written for: 9 (format 20241229) or 10 (format 20260206,
            filled and capped stacked microvias and vias in pads, buried vias; see
            :mod:`kisubstrate.kicad.board`). The ``.kicad_pro`` and ``.kicad_dru`` are the same for both.

    Example:
        >>> from kisubstrate.families.registry import example_spec, get
        >>> spec = example_spec("buildup")
        >>> board = get("buildup").substrate(spec)
        >>> files = project_files(board, spec.stackup, spec.substrate_rules(), spec, sidecar={"name": board.name})
        >>> sorted(name.removeprefix(board.name) for name in files)
        ['-bumps.csv', '-fab-notes.txt', '-nets.csv', '.kicad_dru', '.kicad_pcb', '.kicad_pro', '.kisubstrate.json']
    """
    n = board.name
    lm = LayerMap(board.copper)
    prot = protection(board)
    if prot.total:  # the VIA PROTECTION line on User.2 as well as in the fab notes file
        board = with_note_drawn(board, prot.note().strip())
    dru_extra = "\n".join(x for x in (board.extras.dru_extra, via_protection_dru(prot, lm)) if x)
    files = {
        f"{n}.kicad_pcb": write_board(board, stackup, carrier_clearance=rules.clearance, kicad=kicad),
        f"{n}.kicad_pro": write_project(n, rules, width=spec.width(), micro=spec.micro()),
        f"{n}.kicad_dru": write_dru(rules, micro=spec.micro(), width=spec.width(), extra=dru_extra,
                                    pairs=microvia_pairs(board, stackup)),
    }
    if sidecar is not None:
        files[f"{n}.kisubstrate.json"] = json.dumps(sidecar, indent=1, sort_keys=True) + "\n"
    extras = dict(board.extras.files)
    if prot.total:  # every family: the filled and capped vias, appended to (or starting) the fab notes
        extras["-fab-notes.txt"] = extras.get("-fab-notes.txt", "") + prot.note()
    for suffix, text in extras.items():  # family extras, e.g. "-fab-notes.txt"
        files[f"{n}{suffix}"] = text
    return files


def microvia_pairs(board: BoardGeom, stackup: Any) -> tuple[tuple[str, str, float], ...]:
    """(upper, lower KiCad layer, depth mm) of every microvia layer pair the board uses (adjacent in KiCad).

    Args:
        board: the board; its microvias (``kind == "micro"``) spanning one dielectric count.
        stackup: the :class:`~kisubstrate.model.substrate.Stackup` giving each hop's depth (mm).

    Example:
        >>> from kisubstrate.families.registry import example_spec, get
        >>> spec = example_spec("buildup")
        >>> microvia_pairs(get("buildup").substrate(spec), spec.stackup)[0]
        ('F.Cu', 'In1.Cu', 0.05)
    """
    lm = LayerMap(board.copper)
    used = sorted({(int(t), int(b)) for k, t, b in zip(board.vias.kind, board.vias.top, board.vias.bottom)
                   if k == "micro" and b - t == 1 and lm.adjacent(int(t), int(b))})
    return tuple((lm.name(t), lm.name(b), stackup.hop_depth(t)) for t, b in used)
