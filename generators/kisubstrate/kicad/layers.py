"""Physical copper layers → KiCad 9 layer names, ids and stackup entries.

KiCad 9 boards have an **even** number of copper layers (2 … 32). A physical stack
with N copper layers maps as follows (index 0 = die side = top):

* **N even**: 0 → ``F.Cu``, k → ``In{k}.Cu``, N-1 → ``B.Cu``.
* **N odd**: the board gets N + 1 KiCad copper layers. Physical layers 0 … N-2 map as
  above; physical N-1 (the terminal side) maps to ``B.Cu``; an empty placeholder
  ``In{N-1}.Cu`` (user name ``unused``, zero thickness in the stackup, no items) sits
  inside the last dielectric, which is split into two halves of the same material, so
  the total thickness and the dielectric between the real layers are unchanged. A
  microvia of the last physical hop then spans two KiCad layers and is written as a
  ``blind`` via (KiCad 9 requires ``micro`` vias to span adjacent layers); its size and
  our own aspect-ratio/stack checks are still those of a microvia.

Layer ids (KiCad 9): ``F.Cu`` 0, ``B.Cu`` 2, ``In{k}.Cu`` 2k + 2.

Example:
    >>> m = LayerMap(3)
    >>> m.kicad_count, [m.name(i) for i in range(3)], m.placeholder
    (4, ['F.Cu', 'In1.Cu', 'B.Cu'], 'In2.Cu')
    >>> LayerMap(4).name(2), LayerMap(4).adjacent(1, 2), m.adjacent(1, 2)
    ('In2.Cu', True, False)
"""

from __future__ import annotations

from kisubstrate.kicad.sexpr import quote
from kisubstrate.model.units import fmt

USER_LAYERS = (
    (9, "F.Adhes", "F.Adhesive"), (11, "B.Adhes", "B.Adhesive"), (13, "F.Paste", None), (15, "B.Paste", None),
    (5, "F.SilkS", "F.Silkscreen"), (7, "B.SilkS", "B.Silkscreen"), (1, "F.Mask", None), (3, "B.Mask", None),
    (17, "Dwgs.User", "User.Drawings"), (19, "Cmts.User", "User.Comments"), (21, "Eco1.User", "User.Eco1"),
    (23, "Eco2.User", "User.Eco2"), (25, "Edge.Cuts", None), (27, "Margin", None),
    (31, "F.CrtYd", "F.Courtyard"), (29, "B.CrtYd", "B.Courtyard"), (35, "F.Fab", None), (33, "B.Fab", None),
    (39, "User.1", "Cavity"),
)


def kicad_copper_name(k: int, count: int) -> str:
    """Name of KiCad copper layer ``k`` (0-based, top first) on a board with ``count`` layers."""
    if k == 0:
        return "F.Cu"
    if k == count - 1:
        return "B.Cu"
    return f"In{k}.Cu"


def kicad_copper_id(name: str) -> int:
    """KiCad 9 layer id of a copper layer name."""
    if name == "F.Cu":
        return 0
    if name == "B.Cu":
        return 2
    return 2 * int(name[2:-3]) + 2


class LayerMap:
    """Physical copper index → KiCad layer (see the module docstring)."""

    def __init__(self, physical: int) -> None:
        if not 2 <= physical <= 32:
            raise ValueError("KiCad supports 2 to 32 copper layers")
        self.physical = physical
        self.kicad_count = physical + (physical % 2)
        self.placeholder = (kicad_copper_name(physical - 1, self.kicad_count)
                            if physical % 2 else None)

    def kicad_index(self, i: int) -> int:
        """KiCad copper position (0-based, top first) of physical layer ``i``."""
        return self.kicad_count - 1 if i == self.physical - 1 else i

    def name(self, i: int) -> str:
        """KiCad layer name of physical copper ``i``."""
        return kicad_copper_name(self.kicad_index(i), self.kicad_count)

    def adjacent(self, a: int, b: int) -> bool:
        """True if physical layers ``a`` < ``b`` are adjacent KiCad copper layers."""
        return self.kicad_index(b) - self.kicad_index(a) == 1

    def names(self) -> list[str]:
        """KiCad copper layer names in stack order (placeholder included)."""
        return [kicad_copper_name(k, self.kicad_count) for k in range(self.kicad_count)]


def user_layer_id(name: str) -> int:
    """KiCad 9 id of a user layer ``User.<k>`` (37 + 2k)."""
    return 37 + 2 * int(name.split(".")[1])


def layers_block(lm: LayerMap, *, user_names: dict[str, str] | None = None,
                 user_layers: dict[str, str] | None = None) -> str:
    """The ``(layers …)`` block of a board (tab-indented, depth 1).

    ``user_layers`` adds named user layers after the standard ones, e.g. ``{"User.2": "Fab.Notes"}``
    (``User.1`` is always present as ``Cavity``).

    Args:
        lm: the physical → KiCad copper layer map of the board.
        user_names: KiCad copper layer name → the user name shown in KiCad (e.g. ``{"F.Cu": "L1"}``);
            the placeholder layer of an odd stack is always named ``unused`` unless given here.
        user_layers: KiCad user layer (``User.<k>``) → its name, added after the standard layers.

    Example:
        >>> layers_block(LayerMap(2), user_names={"F.Cu": "TOP"}).splitlines()[1].strip()
        '(0 "F.Cu" signal "TOP")'
    """
    user_names = user_names or {}
    lines = ["\t(layers"]
    for name in lm.names():
        kind = "signal"
        uname = user_names.get(name) or ("unused" if name == lm.placeholder else None)
        extra = f" {quote(uname)}" if uname else ""
        lines.append(f"\t\t({kicad_copper_id(name)} {quote(name)} {kind}{extra})")
    for lid, name, uname in USER_LAYERS:
        extra = f" {quote(uname)}" if uname else ""
        lines.append(f"\t\t({lid} {quote(name)} user{extra})")
    for name, uname in sorted((user_layers or {}).items(), key=lambda kv: user_layer_id(kv[0])):
        if name != "User.1":
            lines.append(f"\t\t({user_layer_id(name)} {quote(name)} user {quote(uname)})")
    lines.append("\t)")
    return "\n".join(lines)


def _mask_material(stackup) -> str:
    """`` (material …)`` of the mask layers (with εr and tanδ when the material is a known dielectric), or ``""``."""
    name = getattr(stackup, "mask_material", None)
    if not name:
        return ""
    try:
        m = stackup.material(name)
    except ValueError:  # a metal protective layer (titanium, aluminium): no dielectric constants
        return f" (material {quote(name)})"
    return f" (material {quote(name)}) (epsilon_r {fmt(m.epsilon_r)}) (loss_tangent {fmt(m.loss_tangent)})"


def stackup_block(stackup, lm: LayerMap) -> str:
    """The ``(stackup …)`` block (inside ``setup``) from a :class:`~kisubstrate.model.substrate.Stackup`."""
    mask = _mask_material(stackup)
    out = ["\t\t(stackup",
           '\t\t\t(layer "F.SilkS" (type "Top Silk Screen"))',
           '\t\t\t(layer "F.Paste" (type "Top Solder Paste"))',
           f'\t\t\t(layer "F.Mask" (type "Top Solder Mask") (thickness {fmt(stackup.mask_thickness)}){mask})']
    coppers = stackup.coppers()
    diel = stackup.dielectrics()
    n = 1

    def dielectric(lay, thickness: float) -> str:
        nonlocal n
        mat_name = lay.material or stackup.default_material
        mat = stackup.material(mat_name)
        text = (f'\t\t\t(layer "dielectric {n}" (type {quote(lay.type)}) (thickness {fmt(thickness)}) '
                f'(material {quote(mat_name)}) (epsilon_r {fmt(mat.epsilon_r)}) '
                f'(loss_tangent {fmt(mat.loss_tangent)}))')
        if lay.plies and len(lay.plies) > 1:  # KiCad sub-layers: one dielectric, several sheets
            parts = []
            for ply in lay.plies:
                pname = ply.material or mat_name
                pm = stackup.material(pname)
                parts.append(f'(thickness {fmt(ply.thickness)}) (material {quote(pname)}) '
                             f'(epsilon_r {fmt(pm.epsilon_r)}) (loss_tangent {fmt(pm.loss_tangent)})')
            text = (f'\t\t\t(layer "dielectric {n}" (type {quote(lay.type)}) ' + " addsublayer ".join(parts) + ")")
        n += 1
        return text

    for i, cu in enumerate(coppers):
        out.append(f'\t\t\t(layer {quote(lm.name(i))} (type "copper") (thickness {fmt(cu.thickness)}))')
        if i < len(diel):
            d = diel[i]
            if lm.placeholder and i == len(diel) - 1:
                half = round(d.thickness / 2, 6)
                out.append(dielectric(d, half))
                out.append(f'\t\t\t(layer {quote(lm.placeholder)} (type "copper") (thickness 0))')
                out.append(dielectric(d, round(d.thickness - half, 6)))
            else:
                out.append(dielectric(d, d.thickness))
    out += [f'\t\t\t(layer "B.Mask" (type "Bottom Solder Mask") (thickness {fmt(stackup.mask_thickness)}){mask})',
            '\t\t\t(layer "B.Paste" (type "Bottom Solder Paste"))',
            '\t\t\t(layer "B.SilkS" (type "Bottom Silk Screen"))',
            f"\t\t\t(copper_finish {quote(stackup.finish)})",
            "\t\t\t(dielectric_constraints no)",
            "\t\t)"]
    return "\n".join(out)
