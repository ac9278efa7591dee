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
