"""A small KiCad-style S-expression emitter (and a minimal parser for tests).

KiCad 9 pretty-prints with tabs: a node whose children are all atoms stays on one
line, other nodes put each child node on its own line; runs of ``(xy …)`` points
share a line. :func:`dumps` reproduces that layout so our files diff like KiCad's.

Example:
    >>> print(dumps(S("at", 1.5, -2)))
    (at 1.5 -2)
    >>> print(dumps(S("layer", Q("F.Cu"))))
    (layer "F.Cu")
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Union

from kisubstrate.model.units import fmt


@dataclass(frozen=True, slots=True)
class Q:
    """A quoted string atom."""

    text: str


@dataclass(frozen=True, slots=True)
class Raw:
    """Pre-rendered text inserted verbatim (one or more already indented lines, no final newline).

    Used on hot paths (thousands of pads) where building a node per token costs too much.
    """

    text: str


Atom = Union[str, int, float, Q]


class S:
    """An S-expression node: a token followed by atoms and child nodes."""

    __slots__ = ("token", "items")

    def __init__(self, token: str, *items: "Atom | S | Raw | None") -> None:
        self.token = token
        self.items = [i for i in items if i is not None]

    def add(self, *items: "Atom | S | Raw | None") -> "S":
        """Append items (``None`` is skipped) and return self."""
        self.items.extend(i for i in items if i is not None)
        return self


def quote(text: str) -> str:
    r"""Quote a string for KiCad: backslash and double quote escaped, newlines as ``\n``.

    Example:
        >>> print(quote('say "hi"'))
        "say \"hi\""
    """
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'"{escaped}"'


def atom(value: Atom) -> str:
    """Render one atom."""
    if isinstance(value, Q):
        return quote(value.text)
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return fmt(value)
    return value


def _is_point_run(node: S) -> bool:
    return node.token == "pts"


def _render(node: S, depth: int, out: list[str]) -> None:
    indent = "\t" * depth
    atoms: list[str] = []
    children: list[S | Raw] = []
    for item in node.items:
        if isinstance(item, (S, Raw)):
            children.append(item)
        else:
            atoms.append(atom(item))
    head = "(" + " ".join([node.token, *atoms])
    if not children:
        out.append(f"{indent}{head})")
        return
    if _is_point_run(node):
        pts = " ".join(_inline(c) for c in children if isinstance(c, S))
        out.append(f"{indent}{head}")
        out.append(f"{indent}\t{pts}")
        out.append(f"{indent})")
        return
    out.append(f"{indent}{head}")
    for child in children:
        if isinstance(child, Raw):
            out.append(child.text)
        else:
            _render(child, depth + 1, out)
    out.append(f"{indent})")


def _inline(node: S) -> str:
    parts = [node.token]
    for item in node.items:
        parts.append(_inline(item) if isinstance(item, S) else atom(item))  # type: ignore[arg-type]
    return "(" + " ".join(parts) + ")"


def dumps(node: S, depth: int = 0) -> str:
    """Render a node tree as KiCad-formatted text (no trailing newline)."""
    out: list[str] = []
    _render(node, depth, out)
    return "\n".join(out)


def loads(text: str) -> list:
    """Parse S-expression text into nested lists of strings (quoted strings unquoted).

    Minimal, for tests and round trips; numbers stay strings.

    >>> loads('(a "b c" (d 1))')
    ['a', 'b c', ['d', '1']]
    """
    stack: list[list] = [[]]
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c == "(":
            stack.append([])
            i += 1
        elif c == ")":
            done = stack.pop()
            stack[-1].append(done)
            i += 1
        elif c in " \t\r\n":
            i += 1
        elif c == '"':
            j = i + 1
            buf = []
            while text[j] != '"':
                if text[j] == "\\":
                    j += 1
                    buf.append({"n": "\n"}.get(text[j], text[j]))
                else:
                    buf.append(text[j])
                j += 1
            stack[-1].append("".join(buf))
            i = j + 1
        else:
            j = i
            while j < n and text[j] not in ' \t\r\n()"':
                j += 1
            stack[-1].append(text[i:j])
            i = j
    return stack[0][0] if len(stack[0]) == 1 else stack[0]


def find_all(tree: list, token: str) -> Iterable[list]:
    """Yield every sub-list (at any depth) whose first element is ``token``."""
    if isinstance(tree, list):
        if tree and tree[0] == token:
            yield tree
        for item in tree:
            if isinstance(item, list):
                yield from find_all(item, token)
