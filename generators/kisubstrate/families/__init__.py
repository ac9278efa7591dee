"""Package families: one module each, registered with :func:`kisubstrate.families.registry.family`.

Every module in this package is imported by :func:`registry.discover`, so adding a
family is one module plus one example spec in ``footprints/examples/``.
"""
