"""``python -m kisubstrate``: the ``kisubstrate`` command."""

from kisubstrate.cli import main

main()
