"""Layer 3: rule checks on the geometry IR, producing located violations (data, not exceptions)."""
