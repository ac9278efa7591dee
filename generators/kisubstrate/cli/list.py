"""``kisubstrate list``: the package families and what each builds."""

from __future__ import annotations

import click


@click.command(name="list")
def list_families() -> None:
    """List the package families."""
    from kisubstrate.families.registry import families

    for name, fam in sorted(families().items()):
        kinds = "+".join(k for k, v in (("footprint", fam.footprint), ("substrate", fam.substrate)) if v)
        click.echo(f"{name:<12} {kinds:<20} {fam.summary}")
