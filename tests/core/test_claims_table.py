"""docs/claims.md: every row of the claim tables names a test that exists (file and function)."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
ROW_TEST = re.compile(r"`(tests/[\w/]+\.py)::(\w+)`")


def test_every_claim_row_names_an_existing_test():
    text = (ROOT / "docs" / "claims.md").read_text(encoding="utf-8")
    rows = [line for line in text.splitlines() if line.startswith("| ") and not line.startswith("| Claim")]
    assert len(rows) >= 35, "the claim tables of the five package designs"
    missing = []
    for row in rows:
        found = ROW_TEST.findall(row)
        assert found, f"a claim row without a test: {row[:80]}"
        for path, name in found:
            tree = ast.parse((ROOT / path).read_text(encoding="utf-8"))
            names = {n.name for n in ast.walk(tree) if isinstance(n, ast.FunctionDef)}
            if name not in names:
                missing.append(f"{path}::{name}")
    assert missing == []


def test_every_family_of_a_package_design_has_a_table():
    text = (ROOT / "docs" / "claims.md").read_text(encoding="utf-8")
    for family in ("cavity", "leadframe", "pop", "wafer_stack", "buildup"):  # the five package designs
        assert f"`family: {family}`" in text
