"""kisubstrate: semiconductor-package parameters to KiCad footprints and substrate boards.

Layers (imports point downward only):

1. ``kisubstrate.model``    — spec models (pydantic), rule profiles, units
2. ``kisubstrate.geometry`` — neutral geometry IR, numpy grids, shapely outlines
3. ``kisubstrate.rules``    — rule checks producing located violations
4. ``kisubstrate.kicad``    — S-expression emitter and KiCad file writers
5. front ends              — ``kisubstrate.api``, ``kisubstrate.cli``, ``plugin/``

Example:
    >>> from kisubstrate import api
    >>> result = api.generate_footprint({"family": "bga", "body": [5, 5], "pitch": 0.8,
    ...                                  "layout": [5, 5], "ball_diameter": 0.4})
    >>> result.geometry.name
    'BGA-25_5.0x5.0mm_Layout5x5_P0.8mm_Ball0.4mm_Pad0.32mm_NSMD'
"""

__version__ = "0.1.0"
GENERATOR = "kisubstrate"
