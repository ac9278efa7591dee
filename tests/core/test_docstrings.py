"""Docstrings say what each argument of a public function is.

ruff's pydocstyle rules (``pyproject.toml``) check that public functions have docstrings and that
an ``Args:`` section names only real parameters; this test adds what ruff cannot: every public
function or method with three or more parameters has an ``Args:`` section naming each of them
(``x, y: …`` may name several at once). Units go into the description (mm, degrees).
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

PKG = Path(__file__).resolve().parents[2] / "generators" / "kisubstrate"
SECTION = re.compile(r"^\s*(Args|Arguments|Parameters|Keyword Args):\s*$")
OTHER_SECTION = re.compile(r"^\s*(Returns|Raises|Example|Examples|Yields|Note|Notes|Attributes)\s*:?:?\s*$")
ARG_LINE = re.compile(r"^\s+\*{0,2}(\w+(?:\s*,\s*\*{0,2}\w+)*)\s*(?:\([^)]*\))?\s*:")
MIN_PARAMS = 3


def documented_args(doc: str) -> set[str]:
    """Parameter names listed in the ``Args:`` section of a Google-style docstring.

    Args:
        doc: the docstring (as ``ast.get_docstring`` gives it, dedented).

    Example:
        >>> sorted(documented_args("Do it.\\n\\nArgs:\\n    x, y: centre (mm).\\n    d: diameter (mm).\\n"))
        ['d', 'x', 'y']
    """
    names: set[str] = set()
    inside = False
    for line in doc.splitlines():
        if SECTION.match(line):
            inside = True
            continue
        if inside and (OTHER_SECTION.match(line) or (line.strip() and not line.startswith(" "))):
            inside = False
        if inside and (m := ARG_LINE.match(line)):
            names |= {n.strip().lstrip("*") for n in m.group(1).split(",")}
    return names


def _is_click_command(node: ast.FunctionDef) -> bool:
    for d in node.decorator_list:
        target = d.func if isinstance(d, ast.Call) else d
        if isinstance(target, ast.Attribute) and isinstance(target.value, ast.Name) and target.value.id == "click":
            return True
    return False


def undocumented(path: Path, root: Path = PKG) -> list[str]:
    """``file:line name: [missing parameters]`` for every public function of ``path`` that needs them."""
    out = []

    def visit(body: list[ast.stmt], prefix: str) -> None:
        for node in body:
            if isinstance(node, ast.ClassDef) and not node.name.startswith("_"):
                visit(node.body, f"{node.name}.")
            if not isinstance(node, ast.FunctionDef) or node.name.startswith("_") or _is_click_command(node):
                continue
            a = node.args
            params = [x.arg for x in a.posonlyargs + a.args + a.kwonlyargs if x.arg not in ("self", "cls")]
            params += [v.arg for v in (a.vararg, a.kwarg) if v is not None]
            if len(params) < MIN_PARAMS:
                continue
            missing = [p for p in params if p not in documented_args(ast.get_docstring(node) or "")]
            if missing:
                out.append(f"{path.relative_to(root)}:{node.lineno} {prefix}{node.name}: {missing}")

    visit(ast.parse(path.read_text()).body, "")
    return out


def test_public_functions_document_every_argument():
    offenders = [line for path in sorted(PKG.rglob("*.py")) for line in undocumented(path)]
    assert not offenders, "\n".join(offenders)


def test_the_check_finds_an_undocumented_argument(tmp_path):
    f = tmp_path / "probe.py"
    f.write_text('def place(x, y, d):\n    """Place it.\n\n    Args:\n        x, y: centre (mm).\n    """\n')
    assert undocumented(f, tmp_path) == ["probe.py:1 place: ['d']"]
