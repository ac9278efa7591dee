"""Error types shared by every layer."""

from __future__ import annotations


class KisubstrateError(Exception):
    """Base class of all kisubstrate errors."""


class SpecError(KisubstrateError):
    """Invalid user input: one clear, located message (file, package, field, what is wrong).

    The CLI prints ``str(err)`` and exits with code 2; nothing is written.
    """

    def __init__(self, message: str, *, file: str | None = None, package: str | None = None,
                 field: str | None = None) -> None:
        self.file, self.package, self.field, self.reason = file, package, field, message
        parts = []
        if file:
            parts.append(str(file))
        if package:
            parts.append(f"package {package}")
        if field:
            parts.append(f"field '{field}'")
        prefix = ": ".join(parts)
        super().__init__(f"{prefix}: {message}" if prefix else message)


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
