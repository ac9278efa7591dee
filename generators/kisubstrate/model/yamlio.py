r"""YAML text → data for spec and rule files, parsed by libyaml when PyYAML has it.

PyYAML's pure-Python parser needs ~4 ms for a rule profile, its libyaml loader ~0.5 ms
(``kisubstrate footprint`` reads one spec and one profile). The C loader uses the same
constructor and resolver, so the data are the same; on any YAML error the text is parsed
again by the pure-Python loader, so the error (problem, line, column) reads as before.

Example:
    >>> safe_load("pitch: 0.8\nlayout: [10, 10]\n")
    {'pitch': 0.8, 'layout': [10, 10]}
    >>> compose("a: 1\nb: 2\n").value[1][0].start_mark.line
    1
"""

from __future__ import annotations

from typing import Any

import yaml

_FAST = getattr(yaml, "CSafeLoader", None)


def safe_load(text: str) -> Any:
    """The data of one YAML document, as ``yaml.safe_load(text)`` gives them.

    Args:
        text: the YAML text.

    Raises:
        yaml.YAMLError: exactly as ``yaml.safe_load`` raises it.
    """
    if _FAST is not None:
        try:
            return yaml.load(text, Loader=_FAST)
        except yaml.YAMLError:
            pass  # the pure-Python loader below raises the familiar message
    return yaml.safe_load(text)


def compose(text: str) -> yaml.Node | None:
    """The node tree of one YAML document (with line marks), as ``yaml.compose(text)`` gives it.

    Args:
        text: the YAML text.

    Raises:
        yaml.YAMLError: exactly as ``yaml.compose`` raises it.
    """
    if _FAST is not None:
        try:
            return yaml.compose(text, Loader=_FAST)
        except yaml.YAMLError:
            pass
    return yaml.compose(text)
