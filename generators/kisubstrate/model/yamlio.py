r"""YAML text → data for spec, library and rule files: parsed by libyaml when PyYAML has it, with limits.

PyYAML's pure-Python parser needs ~4 ms for a rule profile, its libyaml loader ~0.5 ms
(``kisubstrate footprint`` reads one spec and one profile). The C loader uses the same
constructor and resolver, so the data are the same; on any YAML error the text is parsed
again by the pure-Python loader, so the error (problem, line, column) reads as before.

Hostile files are refused before any value is built (:class:`YamlLimitError`, a
``yaml.YAMLError`` with the line and column): nesting deeper than :data:`MAX_DEPTH`, any
explicit tag (``!!python/object``, ``!!binary``, ``!foo``), more than :data:`MAX_ALIASES`
aliases, aliases that would expand the document beyond :data:`MAX_NODES` values (an "alias
bomb") or refer to themselves (``&r [*r]``), and a key given twice in any mapping.
The size of a file is limited where it is read (:func:`kisubstrate.model.datafile.read_text_limited`).

Example:
    >>> safe_load("pitch: 0.8\nlayout: [10, 10]\n")
    {'pitch': 0.8, 'layout': [10, 10]}
    >>> compose("a: 1\nb: 2\n").value[1][0].start_mark.line
    1
    >>> safe_load("a: 1\na: 2\n")
    Traceback (most recent call last):
    kisubstrate.model.yamlio.YamlLimitError: key 'a' given twice (lines 1 and 2); keep one
"""

from __future__ import annotations

from typing import Any

import yaml

_FAST = getattr(yaml, "CSafeLoader", None)

MAX_DEPTH = 32
"""Deepest nesting of lists and mappings (the deepest shipped spec nests 6 levels)."""
MAX_ALIASES = 1000
"""Most aliases (``*name``) in one file."""
MAX_NODES = 200_000
"""Most values (scalars, lists, mappings) a document may hold once its aliases are expanded."""


class YamlLimitError(yaml.YAMLError):
    """A YAML file beyond a limit or with a construct kisubstrate refuses (tag, duplicate key, alias bomb).

    Carries ``problem`` and ``problem_mark`` (line, column) like PyYAML's own errors.
    """

    def __init__(self, problem: str, mark: Any = None) -> None:
        super().__init__(problem)
        self.problem, self.problem_mark = problem, mark


def _key_text(node: yaml.Node) -> str:
    value = str(node.value) if isinstance(node, yaml.ScalarNode) else "(a list or mapping)"
    return value if len(value) <= 40 else value[:39] + "…"


def _check_events(text: str, loader: Any) -> int:
    """Walk the event stream once: depth, tags and alias count within the limits; returns the alias count."""
    depth = aliases = 0
    for event in yaml.parse(text, Loader=loader):
        if isinstance(event, (yaml.MappingStartEvent, yaml.SequenceStartEvent)):
            depth += 1
            if depth > MAX_DEPTH:
                raise YamlLimitError(f"nested deeper than {MAX_DEPTH} levels (the limit)", event.start_mark)
        elif isinstance(event, (yaml.MappingEndEvent, yaml.SequenceEndEvent)):
            depth -= 1
        elif isinstance(event, yaml.AliasEvent):
            aliases += 1
            if aliases > MAX_ALIASES:
                raise YamlLimitError(f"more than {MAX_ALIASES} aliases (the limit)", event.start_mark)
        tag = getattr(event, "tag", None)
        if tag is not None and not (isinstance(event, yaml.ScalarEvent) and tag == "!" and event.implicit[1]):
            shown = tag if len(tag) <= 40 else tag[:39] + "…"
            raise YamlLimitError(f"YAML tags are not allowed (got {shown!r})", event.start_mark)
    return aliases


def _check_nodes(root: yaml.Node | None) -> None:
    """Duplicate keys in every mapping; with aliases, the expanded size and self-reference (no recursion)."""
    if root is None:
        return
    size: dict[int, int] = {}
    on_path: set[int] = set()
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, done = stack.pop()
        key = id(node)
        if done:
            on_path.discard(key)
            children = _children(node)
            total = 1 + sum(size[id(c)] for c in children)
            if total > MAX_NODES:
                raise YamlLimitError(f"aliases expand to more than {MAX_NODES:,} values (the limit)",
                                     node.start_mark)
            size[key] = total
            continue
        if key in size:
            continue
        if key in on_path:
            raise YamlLimitError("an alias refers to the list or mapping that holds it", node.start_mark)
        on_path.add(key)
        if isinstance(node, yaml.MappingNode):
            seen: dict[Any, int] = {}
            for k, _ in node.value:
                ident = (k.tag, k.value) if isinstance(k, yaml.ScalarNode) else ("", id(k))
                if ident in seen:
                    raise YamlLimitError(f"key {_key_text(k)!r} given twice (lines {seen[ident]} and "
                                         f"{k.start_mark.line + 1}); keep one", k.start_mark)
                seen[ident] = k.start_mark.line + 1
        stack.append((node, True))
        for child in _children(node):
            if id(child) in on_path:
                raise YamlLimitError("an alias refers to the list or mapping that holds it", child.start_mark)
            if id(child) not in size:
                stack.append((child, False))


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.MappingNode):
        return [n for pair in node.value for n in pair]
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    return []


def _too_deep(exc: yaml.YAMLError) -> None:
    """Libyaml's scanner stops at 1000 open brackets, ahead of the events: the same refusal, no slow re-parse."""
    if "maximum nesting depth" in str(exc):
        raise YamlLimitError(f"nested deeper than {MAX_DEPTH} levels (the limit)",
                             getattr(exc, "problem_mark", None)) from None


def _load(text: str, loader_cls: Any) -> Any:
    _check_events(text, loader_cls)
    loader = loader_cls(text)
    try:
        node = loader.get_single_node()
        _check_nodes(node)
        return None if node is None else loader.construct_document(node)
    finally:
        loader.dispose()


def safe_load(text: str) -> Any:
    """The data of one YAML document, as ``yaml.safe_load(text)`` gives them, within the limits.

    Args:
        text: the YAML text.

    Raises:
        yaml.YAMLError: a syntax error, exactly as ``yaml.safe_load`` raises it, or a
            :class:`YamlLimitError` (tag, duplicate key, nesting, aliases), with the line.
    """
    if _FAST is not None:
        try:
            return _load(text, _FAST)
        except YamlLimitError:
            raise
        except yaml.YAMLError as exc:
            _too_deep(exc)
            # else the pure-Python loader below raises the familiar message
    return _load(text, yaml.SafeLoader)


def compose(text: str) -> yaml.Node | None:
    """The node tree of one YAML document (with line marks), as ``yaml.compose(text)`` gives it.

    Args:
        text: the YAML text.

    Raises:
        yaml.YAMLError: exactly as ``yaml.compose`` raises it, or a :class:`YamlLimitError` (tag,
            nesting, too many aliases); aliases are not expanded.
    """
    if _FAST is not None:
        try:
            _check_events(text, _FAST)
            return yaml.compose(text, Loader=_FAST)
        except YamlLimitError:
            raise
        except yaml.YAMLError as exc:
            _too_deep(exc)
    _check_events(text, yaml.SafeLoader)
    return yaml.compose(text)
