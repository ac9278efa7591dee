"""Package families: one module each, registered with :func:`kisubstrate.families.registry.register`.

Adding a family is one module in this package (which registers itself), one example spec in
``footprints/examples/`` and its line in :data:`FAMILY_MODULES`. Looking a family up imports
only its module (``kisubstrate footprint bga.yaml`` loads no substrate family);
:func:`registry.families` imports them all. A module that registers a family missing from the
table, or from another module than the table names, fails at import with a message saying
which line to add (``tests/test_layering.py`` imports every module).
"""

# family name -> the module of this package that registers it (one line per family)
FAMILY_MODULES: dict[str, str] = {
    "bga": "grid_array",
    "buildup": "buildup",
    "cavity": "cavity",
    "flipchip": "flipchip",
    "leadframe": "leadframe",
    "lga": "grid_array",
    "pga": "grid_array",
    "pop": "pop",
    "qfn": "nolead",
    "son": "nolead",
    "wafer_stack": "wafer_stack",
    "wlcsp": "grid_array",
}
