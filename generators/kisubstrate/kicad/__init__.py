"""Layer 4: KiCad file writers (S-expressions, project JSON, custom rules). No pcbnew import."""
