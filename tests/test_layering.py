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


# API modules: the library API used by the plugin and scripts pulls in no front end (click).
API_MODULES = [Path(p) for p in ("api.py", "substrate_api.py", "library.py", "io.py", "render.py",
                                 "stack_api.py", "panel.py", "examples.py")]


def test_api_modules_do_not_import_click_at_module_level():
    offenders = []
    for rel in API_MODULES:
        top = {n.split(".")[0] for n in _imports(PKG / rel, module_level_only=True)}
        front = {n for n in _imports(PKG / rel, module_level_only=True)
                 if n in ("kisubstrate.cli", "kisubstrate.cli_common") or n.endswith("_cli")}
        if "click" in top or front:
            offenders.append(f"{rel}: {sorted(({'click'} & top) | front)}")
    assert not offenders, offenders


def test_importing_the_api_loads_no_click():
    """The real import graph (api.py imports substrate_api / stack_api at its bottom): no click, no cli."""
    import subprocess
    import sys

    code = ("import sys, kisubstrate.api, kisubstrate.substrate_api, kisubstrate.library, kisubstrate.io, "
            "kisubstrate.render, kisubstrate.stack_api, kisubstrate.panel, kisubstrate.examples\n"
            "print(sorted(m for m in sys.modules if m == 'click' or m.startswith('kisubstrate.cli')"
            " or m.endswith('_cli')))")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                       env={"PYTHONPATH": str(PKG.parent), "PATH": "/usr/bin:/bin"})
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "[]", r.stdout


def test_moved_commands_still_reachable():
    """The click commands live in front-end modules; the old attribute names still resolve (lazily)."""
    from kisubstrate import library, panel, stack_api
    from kisubstrate.library_cli import library_command
    from kisubstrate.panel_cli import panel_command
    from kisubstrate.stack_cli import wafer_command

    assert library.library_command is library_command
    assert panel.panel_command is panel_command and stack_api.wafer_command is wafer_command


def test_writing_commands_share_write_checked():
    """footprint, substrate and panel end in cli_common.write_checked (one check -> report -> write path)."""
    for rel in ("cli.py", "substrate_cli.py", "panel_cli.py"):
        tree = ast.parse((PKG / rel).read_text())
        calls = {n.func.id for n in ast.walk(tree) if isinstance(n, ast.Call) and isinstance(n.func, ast.Name)}
        assert "write_checked" in calls, rel
        assert "OutputPlan" not in calls or rel != "cli.py", rel  # the footprint command has no own plan


def test_layers_and_api_doctests_do_not_reach_into_the_cli():
    """Doctests too: the bundled examples come from kisubstrate.examples, not the CLI."""
    offenders = []
    for path in PKG.rglob("*.py"):
        rel = path.relative_to(PKG)
        if (rel.parts[0] in LAYER or rel in API_MODULES) and "from kisubstrate.cli import" in path.read_text():
            offenders.append(str(rel))
    assert not offenders, offenders
