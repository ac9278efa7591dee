"""The core never imports KiCad, and imports point downward only."""

from __future__ import annotations

import ast
from pathlib import Path

PKG = Path(__file__).resolve().parent.parent / "generators" / "kisubstrate"
LAYER = {"model": 1, "geometry": 2, "rules": 3, "families": 3, "kicad": 4}
FORBIDDEN = {"pcbnew", "kipy", "wx"}


# The one edge module of the core: maps the IR to kicad-python objects, importing kipy lazily.
LAZY_KIPY_ALLOWED = {Path("kicad/ipc.py")}


def _imports(path: Path, *, module_level_only: bool = False) -> set[str]:
    tree = ast.parse(path.read_text())
    names = set()
    nodes = tree.body if module_level_only else ast.walk(tree)
    for node in nodes:
        if isinstance(node, ast.Import):
            names |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def test_core_never_imports_kicad_bindings():
    offenders = []
    for path in PKG.rglob("*.py"):
        rel = path.relative_to(PKG)
        if rel.parts[0] in LAYER or rel.parent == Path("."):
            imports = _imports(path, module_level_only=rel in LAZY_KIPY_ALLOWED)
            bad = {n for n in imports if n.split(".")[0] in FORBIDDEN}
            if bad:
                offenders.append(f"{rel}: {sorted(bad)}")
    assert not offenders, offenders


def test_imports_point_downward():
    offenders = []
    for path in PKG.rglob("*.py"):
        rel = path.relative_to(PKG)
        if rel.parts[0] not in LAYER:
            continue
        mine = LAYER[rel.parts[0]]
        for name in _imports(path):
            parts = name.split(".")
            if parts[0] != "kisubstrate" or len(parts) < 2:
                continue
            if parts[1] in ("api", "cli"):
                offenders.append(f"{rel} imports front end {name}")
            elif parts[1] in LAYER and LAYER[parts[1]] > mine:
                offenders.append(f"{rel} (layer {mine}) imports {name} (layer {LAYER[parts[1]]})")
    assert not offenders, offenders


def test_kipy_mapping_imports_kipy_only_inside_functions():
    for rel in LAZY_KIPY_ALLOWED:
        path = PKG / rel
        if path.exists():
            top = {n.split(".")[0] for n in _imports(path, module_level_only=True)}
            assert not top & FORBIDDEN, f"{rel} imports {top & FORBIDDEN} at module level"
