"""The house: one folder per layer, imports point downward only, no cycles, no shims.

Every import counts: module level, inside functions, and in doctests (``>>> from …``).
"""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

import pytest

PKG = Path(__file__).resolve().parents[2] / "generators" / "kisubstrate"
LAYER = {"model": 1, "geometry": 2, "rules": 3, "families": 4, "kicad": 5, "api": 6, "plugin_support": 7,
         "cli": 8}
CORE = {"model", "geometry", "rules", "families", "kicad"}
FORBIDDEN = {"pcbnew", "kipy", "wx"}
# The one edge module of the core: maps the IR to kicad-python objects, importing kipy lazily.
LAZY_KIPY_ALLOWED = {Path("kicad/ipc.py")}
_DOCTEST_IMPORT = re.compile(r"^\s*>>> (?:from ([\w.]+) import ([\w, ]+)|import ([\w.]+))", re.M)


def _modules() -> dict[str, Path]:
    out = {}
    for path in PKG.rglob("*.py"):
        rel = path.relative_to(PKG.parent).with_suffix("")
        parts = list(rel.parts)
        if parts[-1] == "__init__":
            parts.pop()
        out[".".join(parts)] = path
    return out


MODULES = _modules()


def _resolve(module: str, names: list[str]) -> set[str]:
    """``from module import names``: the submodules named, else the module itself."""
    subs = {f"{module}.{n}" for n in names if f"{module}.{n}" in MODULES}
    return subs | ({module} if len(subs) < len(names) else set())


def _imports(path: Path, *, module_level_only: bool = False, doctests: bool = True) -> set[str]:
    """Every module ``path`` imports (kisubstrate modules resolved to submodules where named)."""
    text = path.read_text()
    tree = ast.parse(text)
    out: set[str] = set()
    nodes = tree.body if module_level_only else ast.walk(tree)
    for node in nodes:
        if isinstance(node, ast.Import):
            out |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            out |= _resolve(node.module, [a.name for a in node.names])
    if doctests and not module_level_only:
        for m in _DOCTEST_IMPORT.finditer(text):
            if m.group(1):
                out |= _resolve(m.group(1), [n.strip().split(" as ")[0] for n in m.group(2).split(",")])
            else:
                out.add(m.group(3))
    return out


def _layer(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[0] == "kisubstrate" and parts[1] in LAYER else None


def test_top_level_holds_only_init_and_main():
    top = sorted(p.name for p in PKG.iterdir() if p.suffix == ".py")
    assert top == ["__init__.py", "__main__.py"], top
    folders = sorted(p.name for p in PKG.iterdir() if p.is_dir() and p.name != "__pycache__")
    assert folders == sorted(set(LAYER) | {"data"}), folders


def test_core_never_imports_kicad_bindings():
    offenders = []
    for name, path in MODULES.items():
        if _layer(name) in CORE or name == "kisubstrate":
            rel = path.relative_to(PKG)
            bad = {n for n in _imports(path, module_level_only=rel in LAZY_KIPY_ALLOWED)
                   if n.split(".")[0] in FORBIDDEN}
            if bad:
                offenders.append(f"{rel}: {sorted(bad)}")
    assert not offenders, offenders


def test_imports_point_downward_everywhere():
    """Function-level and doctest imports included; a layer never imports a higher one."""
    offenders = []
    for name, path in MODULES.items():
        mine = _layer(name)
        if mine is None:
            continue
        for target in _imports(path):
            theirs = _layer(target)
            if theirs is not None and LAYER[theirs] > LAYER[mine]:
                offenders.append(f"{name} ({mine}) imports {target} ({theirs})")
    assert not offenders, offenders


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    out: list[list[str]] = []
    counter = 0
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on.add(root)
        while work:
            node, it = work[-1]
            for nxt in it:
                if nxt not in index:
                    index[nxt] = low[nxt] = counter
                    counter += 1
                    stack.append(nxt)
                    on.add(nxt)
                    work.append((nxt, iter(sorted(graph[nxt]))))
                    break
                if nxt in on:
                    low[node] = min(low[node], index[nxt])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    comp = []
                    while True:
                        w = stack.pop()
                        on.discard(w)
                        comp.append(w)
                        if w == node:
                            break
                    if len(comp) > 1:
                        out.append(sorted(comp))
    return out


def test_no_import_cycles():
    graph = {name: {t for t in _imports(path) if t in MODULES and t != name}
             for name, path in MODULES.items()}
    assert _cycles(graph) == []


def test_cycle_finder_finds_a_cycle():
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_no_module_getattr_shims():
    offenders = [name for name, path in MODULES.items()
                 if any(isinstance(n, ast.FunctionDef) and n.name == "__getattr__"
                        for n in ast.parse(path.read_text()).body)]
    assert not offenders, offenders


def test_kipy_mapping_imports_kipy_only_inside_functions():
    for rel in LAZY_KIPY_ALLOWED:
        top = {n.split(".")[0] for n in _imports(PKG / rel, module_level_only=True)}
        assert not top & FORBIDDEN, f"{rel} imports {top & FORBIDDEN} at module level"


def test_api_never_imports_click():
    offenders = [name for name, path in MODULES.items() if _layer(name) in CORE | {"api"}
                 and {n.split(".")[0] for n in _imports(path)} & {"click", "rich_click"}]
    assert not offenders, offenders


def test_importing_the_api_loads_no_click():
    """The real import graph: every API module imported, click is not."""
    api = sorted(n for n in MODULES if _layer(n) == "api")
    code = (f"import sys, {', '.join(api)}\n"
            "print(sorted(m for m in sys.modules if m == 'click' or m.startswith('kisubstrate.cli')))")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                       env={"PYTHONPATH": str(PKG.parent), "PATH": "/usr/bin:/bin"})
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "[]", r.stdout


def test_every_command_module_is_wired():
    """cli/ holds one module per command (plus common), each wired in COMMANDS to a click command."""
    import click

    from kisubstrate.cli import COMMANDS, cli

    modules = {n for n in MODULES if _layer(n) == "cli"} - {"kisubstrate.cli", "kisubstrate.cli.common"}
    assert modules == {m for m, _ in COMMANDS.values()}
    ctx = click.Context(cli)
    for name in COMMANDS:
        assert isinstance(cli.get_command(ctx, name), click.Command), name
    assert cli.list_commands(ctx) == sorted(COMMANDS)


def _loaded_by(args: list[str]) -> set[str]:
    """The ``kisubstrate.*`` modules a fresh interpreter has imported after ``kisubstrate ARGS``."""
    code = ("import sys\nfrom kisubstrate.cli import cli\n"
            f"try:\n    cli({args!r}, standalone_mode=False)\nexcept SystemExit:\n    pass\n"
            "print(' '.join(sorted(m for m in sys.modules if m.startswith('kisubstrate.'))))")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                       env={"PYTHONPATH": str(PKG.parent), "PATH": "/usr/bin:/bin"})
    assert r.returncode == 0, r.stderr
    return set(r.stdout.strip().splitlines()[-1].split())


# code of other families and of substrates, libraries and panels: a BGA footprint run needs none of it
NOT_FOR_A_BGA = ("kisubstrate.api.substrate", "kisubstrate.api.library", "kisubstrate.api.panel",
                 "kisubstrate.model.substrate", "kisubstrate.model.toleranced", "kisubstrate.geometry.board",
                 "kisubstrate.geometry.panel", "kisubstrate.geometry.assign", "kisubstrate.rules.board",
                 "kisubstrate.rules.capsules", "kisubstrate.kicad.board", "kisubstrate.kicad.project",
                 "kisubstrate.plugin_support")


def test_footprint_command_loads_no_substrate_code():
    """The fast start: ``kisubstrate footprint`` imports only what it and the named family need."""
    loaded = _loaded_by(["footprint", "--help"])
    assert not {m for m in loaded if m.startswith("kisubstrate.families.")} - {"kisubstrate.families.registry"}
    for heavy in NOT_FOR_A_BGA:
        assert not {m for m in loaded if m == heavy or m.startswith(heavy + ".")}, heavy


def test_footprint_of_a_bga_imports_only_the_grid_array_family(tmp_path):
    """A real run (build, check, save with models): of the families only grid_array is imported."""
    loaded = _loaded_by(["footprint", str(PKG / "data" / "examples" / "bga.yaml"), "-o", str(tmp_path / "L.pretty")])
    assert any(tmp_path.glob("L.pretty/*.kicad_mod")) and any(tmp_path.glob("L.3dshapes/*.wrl"))
    families = {m for m in loaded if m.startswith("kisubstrate.families.")}
    assert families == {"kisubstrate.families.registry", "kisubstrate.families.grid_array"}, families
    for heavy in NOT_FOR_A_BGA:
        assert not {m for m in loaded if m == heavy or m.startswith(heavy + ".")}, heavy


def test_family_table_matches_what_each_module_registers():
    """FAMILY_MODULES (families/__init__.py) names, for every family, the module that registers it.

    ``register`` refuses a family whose table line is missing or names another module, so importing
    every module (``families()``) checks each line; here: no line without a family, every module listed.
    """
    from kisubstrate.families import FAMILY_MODULES
    from kisubstrate.families.registry import families

    assert set(families()) == set(FAMILY_MODULES)
    modules = {p.stem for p in (PKG / "families").glob("*.py")} - {"__init__", "registry"}
    assert modules == set(FAMILY_MODULES.values()), "a family module registers no family, or is missing"


def test_a_family_missing_from_the_table_fails_with_a_clear_message():
    from kisubstrate.families.registry import Family, families, register

    here = __name__.rpartition(".")[2]
    with pytest.raises(ValueError, match=r"FAMILY_MODULES \(kisubstrate/families/__init__.py\) has no line "
                                         rf"for it; it needs the line \"newfam\": \"{here}\","):
        register(Family(name="newfam", spec=object))
    with pytest.raises(ValueError, match=r"says 'grid_array'"):
        register(Family(name="bga", spec=object))
    assert "newfam" not in families() and families()["bga"].spec is not object


def test_writing_commands_share_write_checked():
    """footprint, substrate and panel end in cli.common.write_checked (one check -> report -> write path)."""
    for rel in ("cli/footprint.py", "cli/substrate.py", "cli/panel.py"):
        tree = ast.parse((PKG / rel).read_text())
        calls = {n.func.id for n in ast.walk(tree) if isinstance(n, ast.Call) and isinstance(n.func, ast.Name)}
        assert "write_checked" in calls and "OutputPlan" not in calls, rel
