"""Reading the YAML data files: shipped ones (``kisubstrate/data/...``) and the user's (rule profiles).

One place for the file reading every data loader shares: the shipped-data folder, the
read itself, and one located :class:`~kisubstrate.model.errors.SpecError` for an unreadable
file, text that is not UTF-8, invalid YAML (with line and column) or a top level that is not
a mapping.

Example:
    >>> sorted(p.name for p in data_path("ipc").glob("*.yaml"))[:1]
    ['ipc7351b-bga-lands.yaml']
    >>> read_yaml_mapping(data_path("ipc", "ipc7352-bga-lands.yaml"), what="IPC table")["factors"]
    {'collapsible': 0.8, 'non_collapsible': 1.1}
"""

from __future__ import annotations

import csv
import io
import os
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from kisubstrate.model import yamlio
from kisubstrate.model.errors import SpecError, clip


@lru_cache(maxsize=1)
def _data_root() -> Path:
    return Path(str(resources.files("kisubstrate") / "data"))


def data_path(*parts: str) -> Path:
    """A path inside the shipped data folder, e.g. ``data_path("rules")`` or ``data_path("ipc", "x.yaml")``.

    Args:
        parts: folder and file names below ``kisubstrate/data``.
    """
    return _data_root().joinpath(*parts)


MAX_YAML_BYTES = 1_000_000
"""Largest spec, library or rule-profile file (bytes); the shipped ones are under 10 kB."""
MAX_CSV_BYTES = 8_000_000
"""Largest CSV side file (ball map, bump map, pinout; bytes): a 100 x 100 pinout with long net names is ~1 MB."""


def read_text_limited(path: str | Path, limit: int, *, what: str = "file", encoding: str = "utf-8") -> str:
    """The text of a user's file, refused before reading when it is larger than ``limit`` bytes.

    Args:
        path: the file.
        limit: the largest size accepted (bytes), e.g. :data:`MAX_YAML_BYTES`.
        what: what the file is, for the message (``"spec file"``, ``"ball map"``).
        encoding: the text encoding (``utf-8-sig`` for CSV files from spreadsheets).

    Raises:
        SpecError: the file is too large (the size and the limit in the message).
        OSError: it cannot be read; UnicodeDecodeError: it is not text in ``encoding``.

    Example:
        >>> read_text_limited(data_path("rules", "ipc-default.yaml"), 10, what="rule profile")  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        kisubstrate.model.errors.SpecError: ...ipc-default.yaml: rule profile is ... bytes; the limit is 10 bytes
    """
    with open(path, "rb") as fh:
        size = os.fstat(fh.fileno()).st_size
        if size > limit:
            raise SpecError(f"{what} is {size:,} bytes; the limit is {limit:,} bytes", file=str(path))
        data = fh.read(limit + 1)
    if len(data) > limit:  # grew while read, or a device
        raise SpecError(f"{what} is over the limit of {limit:,} bytes", file=str(path))
    return data.decode(encoding)


def read_csv_rows(path: str | Path, *, what: str, field: str) -> list[tuple[int, list[str]]]:
    r"""The non-blank, non-comment rows of a user's CSV side file, each with its line number.

    The file is at most :data:`MAX_CSV_BYTES`, UTF-8 (a spreadsheet's byte-order mark is
    dropped), and no cell holds a control character or more than
    :data:`~kisubstrate.model.base.MAX_TEXT` characters (cells become net and pad names in KiCad files).

    Args:
        path: the CSV file.
        what: what the file is, for messages (``"ball map"``, ``"die pad map"``).
        field: the spec field that named the file (``ball_map``, ``pad_map``).

    Raises:
        SpecError: unreadable, too large, not UTF-8, not CSV, or a bad cell (with its line); located at ``field``.

    Example:
        >>> import tempfile, pathlib
        >>> f = pathlib.Path(tempfile.mkdtemp()) / "m.csv"
        >>> _ = f.write_text("ball,net\n# a comment\nA1,GND\n")
        >>> read_csv_rows(f, what="ball map", field="ball_map")
        [(1, ['ball', 'net']), (3, ['A1', 'GND'])]
    """
    from kisubstrate.model.base import text_problem

    shown = f"{what} '{path}'"
    try:
        text = read_text_limited(path, MAX_CSV_BYTES, what=what, encoding="utf-8-sig")
    except SpecError as exc:
        raise SpecError(f"{shown}: {exc.reason}", field=field) from None
    except OSError as exc:
        raise SpecError(f"cannot read {shown}: {exc.strerror or exc}", field=field) from None
    except UnicodeDecodeError:
        raise SpecError(f"{shown} is not UTF-8 text", field=field) from None
    reader = csv.reader(io.StringIO(text))
    rows: list[tuple[int, list[str]]] = []
    try:
        for row in reader:
            if not any(c.strip() for c in row) or row[0].lstrip().startswith("#"):
                continue
            for cell in row:
                problem = text_problem(cell)
                if problem:
                    raise SpecError(f"{shown} line {reader.line_num}: a cell {problem} (got {clip(cell)})",
                                    field=field)
            rows.append((reader.line_num, row))
    except csv.Error as exc:
        raise SpecError(f"{shown} line {reader.line_num}: not valid CSV ({exc})", field=field) from None
    return rows


def read_yaml_mapping(path: str | Path, *, what: str, field: str | None = None) -> dict[str, Any]:
    """Read a YAML file whose top level is a mapping (an empty file reads as ``{}``).

    Args:
        path: the file.
        what: what the file is, for messages (``"rule profile"``, ``"substrate rule profile"``).
        field: the spec field that named the file, for messages (e.g. ``"rules"``).

    Raises:
        SpecError: unreadable, not UTF-8, invalid YAML (line, column) or not a mapping; located at
            the file and ``field``.
    """
    where = str(path)
    try:
        data = yamlio.safe_load(read_text_limited(path, MAX_YAML_BYTES, what=what))
    except SpecError as exc:
        raise SpecError(exc.reason, file=where, field=field) from None
    except OSError as exc:
        raise SpecError(f"cannot read {what}: {exc.strerror or exc}", file=where, field=field) from None
    except UnicodeDecodeError:
        raise SpecError(f"{what} is not UTF-8 text", file=where, field=field) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise SpecError(f"{what} is not valid YAML{at}: {getattr(exc, 'problem', None) or exc}", file=where,
                        field=field) from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise SpecError(f"{what} must be a mapping of names to values", file=where, field=field)
    return data
