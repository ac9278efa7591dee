"""Support code for the KiCad plugins that needs no KiCad: forms, previews, icons, actions.

Nothing here imports ``wx``, ``pcbnew`` or ``kipy`` at module level, so every piece runs
(and is tested) in a plain Python; the wx dialog in ``plugin/ipc/`` and the SWIG shim in
``plugin/swig/`` are thin layers over it.
"""
