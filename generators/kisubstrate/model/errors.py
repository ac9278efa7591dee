"""Error types shared by every layer, and the bounded, one-line way messages show values."""

from __future__ import annotations

import re
from typing import Any

MAX_MESSAGE = 300
"""Longest message a :class:`SpecError` prints (characters); longer ones are cut in the middle."""

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff]")


def _escape(text: str) -> str:
    r"""``text`` with control characters, line separators and lone surrogates written as escapes (``\n``)."""
    names = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}
    return _CONTROL.sub(lambda m: names.get(m.group(), f"\\x{ord(m.group()):02x}" if ord(m.group()) < 256
                                           else f"\\u{ord(m.group()):04x}"), text)


def clip(value: Any, limit: int = 60) -> str:
    r"""A short, one-line ``repr`` of a value from a user's file, built without rendering all of it.

    A long string is cut before it is quoted and its length is given; lists and mappings show
    their first items; control characters are escaped. Cost is bounded by ``limit``, whatever
    the value's size (an expanded alias bomb, a 1 MB string).

    Args:
        value: any value read from YAML, CSV or the command line.
        limit: about the most characters to show (the length note comes on top).

    Example:
        >>> clip("é" * 1_000_000)
        "'ééééééééééééééééééééééééééééééééééééééééééééééééééééééééé…' (1,000,000 characters)"
        >>> clip("a\nb"), clip([1, [2, 3], {"k": "v"}]), clip(list(range(1000)), 20)
        ("'a\\nb'", "[1, [2, 3], {'k': 'v'}]", '[0, 1, 2, 3, 4, 5, …] (1000 items)')
    """
    limit = max(limit, 8)
    shown = _clip(value, limit)
    cap = 2 * limit + 30  # nested length notes come on top of the items
    return shown if len(shown) <= cap else shown[:cap - 1] + "…"


def _clip(value: Any, limit: int) -> str:
    if isinstance(value, str):
        if len(value) <= limit:
            return repr(value)  # repr escapes control characters, separators and surrogates
        head = repr(value[:limit - 3])
        return head[:-1] + "…" + head[-1] + f" ({len(value):,} characters)"
    if isinstance(value, (list, tuple, dict)):
        items = list(value.items()) if isinstance(value, dict) else value
        open_, close = ("{", "}") if isinstance(value, dict) else ("(", ")") if isinstance(value, tuple) else ("[", "]")
        parts: list[str] = []
        used = 2
        for n, item in enumerate(items):
            if n >= limit // 2 or used >= limit:
                parts.append("…")
                break
            room = max(limit - used, 4)
            text = f"{_clip(item[0], room)}: {_clip(item[1], room)}" if isinstance(value, dict) else _clip(item, room)
            if used + len(text) > limit and parts:
                parts.append("…")
                break
            parts.append(text)
            used += len(text) + 2
        shown = open_ + ", ".join(parts) + close
        return shown + (f" ({len(items)} items)" if parts and parts[-1] == "…" else "")
    text = repr(value)  # numbers, None, booleans, dates: short
    return _escape(text if len(text) <= limit else text[:limit - 1] + "…")


def one_line(message: str, limit: int = MAX_MESSAGE) -> str:
    r"""``message`` on one line (control characters escaped), at most about ``limit`` characters.

    Example:
        >>> one_line("bad\nvalue")
        'bad\\nvalue'
        >>> len(one_line("x" * 1000))
        300
    """
    text = _escape(message)
    if len(text) <= limit:
        return text
    keep = limit - 5
    return text[:keep * 2 // 3] + " […] " + text[-(keep - keep * 2 // 3):]


class KisubstrateError(Exception):
    """Base class of all kisubstrate errors."""


class SpecError(KisubstrateError):
    """Invalid user input: one clear, located message (file, package, field, what is wrong).

    The CLI prints ``str(err)`` and exits with code 2; nothing is written. The message is one
    line of at most :data:`MAX_MESSAGE` characters (control characters escaped).
    """

    def __init__(self, message: str, *, file: str | None = None, package: str | None = None,
                 field: str | None = None) -> None:
        self.file, self.package, self.field, self.reason = file, package, field, message
        parts = []
        if file:
            parts.append(_escape(str(file)))
        if package:
            parts.append(f"package {_short(package, 100)}")
        if field:
            parts.append(f"field '{_short(field, 80)}'")
        prefix = ": ".join(parts)
        room = max(MAX_MESSAGE - len(prefix) - 2, 120)
        body = one_line(message, room)
        super().__init__(f"{prefix}: {body}" if prefix else body)


def _short(text: str, limit: int) -> str:
    text = _escape(str(text))
    return text if len(text) <= limit else text[:limit - 1] + "…"


class Interrupted(BaseException):
    """Ctrl-C (SIGINT) in the ``kisubstrate`` command: raised by its signal handler.

    A ``BaseException`` (like ``KeyboardInterrupt``) so no ``except Exception`` swallows it, but
    not a ``KeyboardInterrupt``, which click would turn into "Aborted!" and exit code 1.
    """


class FieldError(ValueError):
    """A validator's complaint about one field (mm values in the message).

    Raise it from pydantic validators (it is a ``ValueError``) so the loader can name
    the field even when the check spans several fields, e.g. ``ball_diameter`` vs ``pitch``.

    >>> FieldError("missing", "ball 'I3' does not exist").field
    'missing'
    """

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
