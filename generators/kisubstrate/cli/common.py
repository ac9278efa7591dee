"""What every ``kisubstrate`` sub-command shares: exit codes, error handling, reports, checked writes.

Front-end only (imports click): API modules (:mod:`kisubstrate.api`)
never import it. A sub-command in its own module uses these helpers::

    from kisubstrate.cli.common import EXIT_OK, raise_input, run_guarded, write_checked

Exit codes: 0 written / clean, 1 rule violations (nothing written), 2 invalid input or an
unwritable output (nothing written), 3 internal error (a bug: please report it), 130 interrupted
(Ctrl-C; nothing half-written, writes are atomic).
"""

from __future__ import annotations

import json
import os
import sys
import typing
from pathlib import Path
from typing import Any, Callable, Iterable

import click

EXIT_OK, EXIT_VIOLATIONS, EXIT_INPUT, EXIT_INTERNAL, EXIT_INTERRUPTED = 0, 1, 2, 3, 130
INTERRUPTED_MESSAGE = "interrupted; nothing half-written (writes are atomic)"


def fail_input(message: str) -> None:
    """Print ``error: message`` on stderr and exit with code 2."""
    click.echo(f"error: {message}", err=True)
    sys.exit(EXIT_INPUT)


def run_guarded(fn: Callable[[], int]) -> int:
    """Run a command body; map our errors to one message and an exit code (never a traceback).

    ``SpecError`` / ``OverwriteError`` / ``OSError`` → 2, Ctrl-C (``Interrupted``, ``KeyboardInterrupt``) → 130,
    anything
    else → 3 (``KISUBSTRATE_DEBUG=1`` re-raises it with its traceback).
    """
    from kisubstrate.api.outputs import OverwriteError
    from kisubstrate.model.errors import Interrupted, SpecError

    try:
        return fn()
    except SpecError as exc:
        fail_input(str(exc))
    except OverwriteError as exc:
        fail_input(str(exc))
    except OSError as exc:  # output folder unwritable, a file where a folder should be, disk full
        where = f" '{exc.filename}'" if exc.filename else ""
        fail_input(f"cannot write{where}: {exc.strerror or exc}")
    except (KeyboardInterrupt, Interrupted):
        click.echo(INTERRUPTED_MESSAGE, err=True)
        sys.exit(EXIT_INTERRUPTED)
    except Exception as exc:  # noqa: BLE001 - last line of defence: no traceback for users
        if os.environ.get("KISUBSTRATE_DEBUG"):
            raise
        click.echo(f"internal error: {type(exc).__name__}: {exc} (set KISUBSTRATE_DEBUG=1 for a traceback; "
                   "please report it)", err=True)
        sys.exit(EXIT_INTERNAL)
    return EXIT_OK


def report_out(reports: Iterable[Any], fmt: str) -> None:
    """Print check reports on stdout: ``text`` (one block per package) or one ``json`` document."""
    reports = list(reports)
    if fmt == "json":
        click.echo(json.dumps({"ok": all(r.ok for r in reports), "packages": [r.as_dict() for r in reports]},
                              indent=2))
    else:
        for r in reports:
            click.echo(r.text())


def located(loaded: Any, fn: Callable[[], Any]) -> Any:
    """Run ``fn`` for one loaded spec; a SpecError without a file gets the spec's file and package."""
    from kisubstrate.model.errors import SpecError

    try:
        return fn()
    except SpecError as exc:
        if exc.file:
            raise
        raise SpecError(exc.reason, file=loaded.file, package=exc.package or loaded.label,
                        field=exc.field) from None


def raise_input(message: str) -> None:
    """Raise a SpecError from a front end (exit code 2)."""
    from kisubstrate.model.errors import SpecError

    raise SpecError(message)


def write_checked(reports: list[Any], files: Callable[[], Iterable[tuple[Path, str]]], *, no_check: bool,
                  force: bool, fmt: str, noun: str = "package",
                  written: Callable[[], None] | None = None) -> int:
    """The tail of every writing command: check → report → write atomically → say what was written.

    Violations without ``--no-check``: the reports on stdout, "nothing written" on stderr, exit 1.
    With ``--no-check``: a warning on stderr (and, in text mode, the violated reports) and the
    files are written. ``files()`` (path, text) pairs go through one
    :class:`kisubstrate.api.outputs.OutputPlan` (atomic, overwrite-guarded). Then ``--format json``
    prints the JSON report — the only thing on stdout — else ``written()`` prints its lines.
    Returns the exit code.

    Args:
        reports: the check reports of everything about to be written (each with ``ok``, ``text()``
            and ``as_dict()``).
        files: called only when writing goes ahead: the (path, text) pairs to write.
        no_check: the ``--no-check`` flag: write despite rule violations (with a warning).
        force: the ``--force`` flag: overwrite files changed since kisubstrate wrote them (or not
            written by it); otherwise such a file stops the write (exit 2 through :func:`run_guarded`).
        fmt: the ``--format``: ``text`` or ``json``.
        noun: what a report is about, for the messages (``package``, ``substrate``, ``panel``).
        written: prints what was written (text format only); None prints nothing.

    Example:
        >>> import tempfile, pathlib
        >>> d = pathlib.Path(tempfile.mkdtemp())
        >>> write_checked([], lambda: [(d / "a.txt", "x")], no_check=False, force=False, fmt="text",
        ...               written=lambda: click.echo("wrote a.txt"))
        wrote a.txt
        0
    """
    from kisubstrate.api.outputs import OutputPlan

    bad = [r for r in reports if not r.ok]
    if bad and not no_check:
        report_out(reports, fmt)
        click.echo(f"{len(bad)} {noun}(s) violate their rules; nothing written (--no-check writes anyway)",
                   err=True)
        return EXIT_VIOLATIONS
    if bad:
        click.echo(f"warning: writing {len(bad)} {noun}(s) with rule violations (--no-check)", err=True)
        if fmt == "text":
            report_out(bad, "text")
    plan = OutputPlan()
    for path, text in files():
        plan.add(path, text)
    plan.commit(force=force)
    if fmt == "json":
        report_out(reports, fmt)
    elif written is not None:
        written()
    return EXIT_OK


KICAD_HELP = ("KiCad release to write for: 9 (format 20241229; KiCad 9 and 10 read it) or 10 (format 20260206: "
              "stacked microvias and vias in pads filled and capped, IPC-4761 Type VII; buried vias); default: "
              "the major version of the kicad-cli on PATH, else 9")


def kicad_option(fn: Callable) -> Callable:
    """The ``--kicad 9|10`` option of the writing commands (the command receives ``kicad``: "9", "10" or None).

    Args:
        fn: the click command function.
    """
    return click.option("--kicad", "kicad", type=click.Choice(["9", "10"]), default=None, help=KICAD_HELP)(fn)


def resolve_kicad(value: str | int | None) -> int:
    """The KiCad release to write for: ``--kicad`` if given, else the installed kicad-cli's (else 9).

    Args:
        value: the option's value ("9", "10") or None.
    """
    from kisubstrate.api.kicad_cli import default_kicad
    from kisubstrate.kicad.target import check_kicad

    return default_kicad() if value is None else check_kicad(value)


def _click_type(info: Any) -> Any:
    """The click type of a model field (through Optional): bool, an int / float range, or text.

    A range carries the field's limits, so click refuses an out-of-range value as a usage error
    naming the option.
    """
    kinds = {info.annotation, *typing.get_args(info.annotation)} - {type(None)}
    limits = {name: float(getattr(m, name)) for m in info.metadata for name in ("ge", "gt", "le", "lt")
              if getattr(m, name, None) is not None}
    limits = {k: int(v) if v.is_integer() else v for k, v in limits.items()}  # help shows 0<x<=20, not 0.0
    bounds = dict(min=limits.get("ge", limits.get("gt")), max=limits.get("le", limits.get("lt")),
                  min_open="gt" in limits, max_open="lt" in limits)
    if bool in kinds:
        return bool
    if int in kinds:
        return click.IntRange(**bounds)
    if float in kinds:
        return click.FloatRange(**bounds)
    return click.STRING


def model_options(model: Any) -> Callable[[Callable], Callable]:
    """Click options generated from a pydantic model: one option per field, in field order.

    ``tooling_hole`` becomes ``--tooling-hole``, a bool ``plating`` becomes ``--plating/--no-plating``;
    help is the field's description, the default the model's, the range the field's limits (``--help``
    shows ``0<x<=20``; click refuses a value outside it). The command receives the values as
    keyword arguments named as the fields; :func:`model_values` collects them for validation by the
    model (its cross-field checks and messages).

    Args:
        model: a pydantic model class whose fields all have defaults.

    Example::

        @click.command()
        @model_options(PanelOptions)
        def panel_command(**kwargs):
            options = validate_model(PanelOptions, model_values(PanelOptions, kwargs))
    """

    def decorate(fn: Callable) -> Callable:
        for name, info in reversed(list(model.model_fields.items())):
            flag = "--" + name.replace("_", "-")
            kind = _click_type(info)
            default = info.get_default(call_default_factory=True)
            if kind is bool:
                fn = click.option(f"{flag}/--no-{flag[2:]}", name, default=default, show_default=True,
                                  help=info.description)(fn)
            else:
                fn = click.option(flag, name, type=kind, default=default, show_default=default is not None,
                                  help=info.description)(fn)
        return fn

    return decorate


def model_values(model: Any, kwargs: dict[str, Any]) -> dict[str, Any]:
    """Take the values of ``model``'s fields out of a command's keyword arguments (see :func:`model_options`).

    Args:
        model: the pydantic model class the options were generated from.
        kwargs: the command's keyword arguments; the model's fields are removed from it.

    Example:
        >>> from pydantic import BaseModel
        >>> class M(BaseModel):
        ...     rows: int = 2
        >>> kw = {"rows": 3, "force": True}
        >>> model_values(M, kw), kw
        ({'rows': 3}, {'force': True})
    """
    return {name: kwargs.pop(name) for name in list(model.model_fields) if name in kwargs}
