"""The ``kisubstrate`` command: one module per sub-command, wired in :data:`COMMANDS`.

Exit codes: 0 written / clean, 1 rule violations (nothing written), 2 invalid input
(nothing written), 3 internal error (please report it), 130 interrupted. A user mistake
prints one located message, never a traceback (set ``KISUBSTRATE_DEBUG=1`` to see
tracebacks of internal errors). The helpers every sub-command shares live in
:mod:`kisubstrate.cli.common`. A sub-command's module is imported only when that command
runs (or ``--help`` lists it), so ``kisubstrate footprint`` loads no substrate code.

Example::

    kisubstrate footprint footprints/examples/bga.yaml -o out/My_BGA.pretty
    kisubstrate check footprints/examples/*.yaml --format json
    kisubstrate demo -o demo/
"""

from __future__ import annotations

import importlib
import os
import signal
import sys
from typing import NoReturn

import click

from kisubstrate import __version__
from kisubstrate.cli.common import EXIT_INTERRUPTED, INTERRUPTED_MESSAGE
from kisubstrate.model.errors import Interrupted

# command name -> (module, click command in it)
COMMANDS: dict[str, tuple[str, str]] = {
    "check": ("kisubstrate.cli.check", "check"),
    "demo": ("kisubstrate.cli.demo", "demo"),
    "fab": ("kisubstrate.cli.fab", "fab"),
    "footprint": ("kisubstrate.cli.footprint", "footprint"),
    "library": ("kisubstrate.cli.library", "library_command"),
    "list": ("kisubstrate.cli.list", "list_families"),
    "panel": ("kisubstrate.cli.panel", "panel_command"),
    "pcm": ("kisubstrate.cli.pcm", "pcm_command"),
    "render": ("kisubstrate.cli.render", "render"),
    "schema": ("kisubstrate.cli.schema", "schema"),
    "substrate": ("kisubstrate.cli.substrate", "substrate"),
    "wafer": ("kisubstrate.cli.wafer", "wafer_command"),
}


class CommandTable(click.Group):
    """A click group whose sub-commands are the entries of :data:`COMMANDS`, imported on use."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        """Every command name, sorted (for ``--help``)."""
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        """The command ``name``, importing its module; None if unknown."""
        if name not in COMMANDS:
            return None
        module, attr = COMMANDS[name]
        return getattr(importlib.import_module(module), attr)


@click.group(cls=CommandTable, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="kisubstrate")
def cli() -> None:
    """Semiconductor-package parameters to KiCad footprints and substrate boards, rule-checked."""


def _on_sigint(_signum: int, _frame: object) -> None:
    """First Ctrl-C: stop the command (:class:`Interrupted`); later ones are ignored while it cleans up."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    raise Interrupted()


def _exit_interrupted(print_line: bool) -> NoReturn:
    if print_line:
        sys.stderr.write(f"{INTERRUPTED_MESSAGE}\n")
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass
    # no interpreter shutdown: nothing is left to clean up (temp files are removed as the exception
    # unwinds, worker processes are terminated), and joining threads at exit could hang
    os._exit(EXIT_INTERRUPTED)


def main() -> None:
    """Console-script entry point: exit codes of :mod:`kisubstrate.cli.common`; Ctrl-C at any moment → 130.

    Ctrl-C prints one line and exits with 130 within a second: during start-up, in the worker
    pool of ``library`` (workers ignore SIGINT and are terminated), while files are written
    (a temp file is never left behind) or just after the last one.
    """
    signal.signal(signal.SIGINT, _on_sigint)
    # numpy's OpenBLAS starts a worker thread per core when numpy is imported (~10 ms on an idle
    # 2-core machine, far more on a busy one); kisubstrate does no BLAS work (no matmul, no linalg)
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    try:
        try:
            cli(prog_name="kisubstrate")
        finally:
            # the interpreter's shutdown restores the default handler: a Ctrl-C from here on would kill
            # the process by the signal; hold it back and answer it below instead
            signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    except Interrupted:
        _exit_interrupted(print_line=True)
    except SystemExit as exc:
        if exc.code == EXIT_INTERRUPTED:
            _exit_interrupted(print_line=False)  # run_guarded printed the line
        if signal.SIGINT in signal.sigpending():
            _exit_interrupted(print_line=True)
        raise
    if signal.SIGINT in signal.sigpending():
        _exit_interrupted(print_line=True)
