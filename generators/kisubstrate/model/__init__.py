"""Layer 1: spec models, rule profiles and units (no geometry, no KiCad)."""
