"""kisubstrate: semiconductor-package parameters to KiCad footprints and substrate boards.

Layers (imports point downward only; ``tests/core/test_layering.py`` checks every import,
inside functions and doctests too, and that there is no cycle):

1. ``kisubstrate.model``          — spec models (pydantic), rule profiles, units, examples
2. ``kisubstrate.geometry``       — neutral geometry IR, numpy grids, shapely outlines, panels
3. ``kisubstrate.rules``          — rule checks producing located violations
4. ``kisubstrate.families``       — one module per package family (spec, footprint, substrate)
5. ``kisubstrate.kicad``          — S-expression emitter and KiCad file writers
6. ``kisubstrate.api``            — footprint, substrate, library, panel, wafer, outputs, demo
7. ``kisubstrate.plugin_support`` — the KiCad plugin's dialog, actions and PCM packages
8. ``kisubstrate.cli``            — the ``kisubstrate`` command, one module per sub-command

Example (the doctest lives in :mod:`kisubstrate.api.footprint`)::

    from kisubstrate.api.footprint import generate_footprint
    result = generate_footprint({"family": "bga", "body": [5, 5], "pitch": 0.8,
                                 "layout": [5, 5], "ball_diameter": 0.4})
    result.geometry.name   # 'BGA-25_5.0x5.0mm_Layout5x5_P0.8mm_Ball0.4mm_Pad0.32mm_NSMD'
"""

__version__ = "0.1.0"
GENERATOR = "kisubstrate"
