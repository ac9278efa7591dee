"""The library API used by the CLI, the KiCad plugin and scripts (imports no front end).

Modules: :mod:`~kisubstrate.api.specs` (spec files → models), :mod:`~kisubstrate.api.footprint`,
:mod:`~kisubstrate.api.substrate`, :mod:`~kisubstrate.api.project` (a board's project files),
:mod:`~kisubstrate.api.check`, :mod:`~kisubstrate.api.library`,
:mod:`~kisubstrate.api.panel`, :mod:`~kisubstrate.api.wafer`, :mod:`~kisubstrate.api.render`,
:mod:`~kisubstrate.api.outputs` (atomic writes), :mod:`~kisubstrate.api.kicad_cli`,
:mod:`~kisubstrate.api.demo`. Import the module you need; this package imports none of them.
"""
