"""``python -m kisubstrate`` and the ``kisubstrate`` console script: the ``kisubstrate`` command.

Ctrl-C while the command is still being imported (nothing is written yet) prints the one
interrupt line and exits with 130, like Ctrl-C at any later moment (:func:`kisubstrate.cli.main`).
"""

import os
import signal
import sys


def _interrupted_at_startup(_signum: int, _frame: object) -> None:
    sys.stderr.write("interrupted; nothing half-written (writes are atomic)\n")
    sys.stderr.flush()
    os._exit(130)


def run() -> None:
    """Entry point: catch Ctrl-C from the first moment, then import and run the command."""
    signal.signal(signal.SIGINT, _interrupted_at_startup)
    from kisubstrate.cli import main

    main()


if __name__ == "__main__":
    run()
