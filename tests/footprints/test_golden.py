"""Golden files: a few footprints compared byte for byte with reviewed copies in tests/footprints/golden/.

A missing golden, or ``pytest --update-golden``, writes the current text and FAILS, asking for
a review (open the file, or render it: ``kicad-cli fp export svg tests/footprints/golden -o /tmp/g``).
The goldens are small on purpose, so a reviewer can read every line of a diff.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from kicad_util import parse_mod

GOLDEN = Path(__file__).resolve().parent / "golden"

CASES = {
    # the stock KiCad footprint of the same name (pads equal to 1 um, see test_conformance)
    "bga_nsmd_stock": {"family": "bga", "body": [3.396, 3.466], "pitch": 0.4, "layout": [6, 6],
                       "ball_diameter": 0.25, "pad_diameter": 0.2, "rules": "hdi-fine"},
    # IPC-7351B land, SMD (mask-defined), x/y pitch, A1 index ball missing
    "bga_smd_xy_ipc7351b": {"family": "bga", "body": [5.0, 4.0], "pitch": [1.0, 0.8], "layout": [4, 4],
                            "ball_diameter": 0.5, "land_rule": "ipc7351b", "mask": "smd", "missing": ["A1"]},
    # staggered, off-centre wafer-level CSP with the CSP courtyard
    "wlcsp_stagger_offcenter": {"family": "wlcsp", "body": [1.8, 1.6], "pitch": 0.35, "layout": [5, 4],
                                "ball_diameter": 0.2, "stagger": "b1", "offset": [0.05, 0.0]},
    # LGA with rounded-square lands
    "lga_roundrect": {"family": "lga", "body": [3.5, 3.5], "pitch": 0.65, "layout": [4, 4],
                      "pad_diameter": 0.35, "pad_shape": "roundrect"},
    # PGA: two perimeter rings, square pin 1, plated holes
    "pga_perimeter": {"family": "pga", "body": [16.0, 16.0], "pitch": 2.54, "layout": [6, 6],
                      "pin_diameter": 0.46, "perimeter_rings": 2},
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_golden(case, request):
    from kisubstrate.api.footprint import build_footprints

    result = build_footprints(CASES[case])[0]
    assert result.report.ok, result.report.text()
    text = result.text()
    path = GOLDEN / f"{case}__{result.geometry.name}.kicad_mod"
    update = request.config.getoption("--update-golden")
    stale = [p for p in GOLDEN.glob(f"{case}__*.kicad_mod") if p != path]
    if update or not path.exists():
        for p in stale:
            p.unlink()
        GOLDEN.mkdir(exist_ok=True)
        path.write_text(text, encoding="utf-8", newline="\n")
        pytest.fail(f"golden {path.name} written: review it (git diff tests/footprints/golden) and run the tests again")
    assert not stale, f"footprint name changed: {[p.name for p in stale]} -> {path.name} (run --update-golden)"
    golden = path.read_text(encoding="utf-8")
    if text != golden:
        a, b = golden.splitlines(), text.splitlines()
        first = next((i for i, (x, y) in enumerate(zip(a, b)) if x != y), min(len(a), len(b)))
        pytest.fail(f"{path.name} differs from the golden at line {first + 1}:\n"
                    f"  golden: {a[first] if first < len(a) else '<end>'}\n"
                    f"  now:    {b[first] if first < len(b) else '<end>'}\n"
                    "(if intended: pytest --update-golden, then review git diff tests/footprints/golden)")
    # and the golden is what it claims to be
    mod = parse_mod(golden)
    assert mod.name == result.geometry.name == path.stem.split("__", 1)[1]
    assert len(mod.pads) == result.geometry.pad_count


def test_golden_folder_holds_only_known_cases():
    names = {p.name.split("__", 1)[0] for p in GOLDEN.glob("*.kicad_mod")}
    assert names <= set(CASES), names - set(CASES)


def test_library_footprints_carry_no_nets():
    """Pads with nets (a ball map) are written without nets: a .kicad_mod has none (boards have their own writer)."""
    import dataclasses

    from kisubstrate.api.footprint import generate_footprint
    from kisubstrate.kicad.footprint import write_footprint

    geom = generate_footprint({"family": "bga", "body": [3, 3], "pitch": 1, "layout": [2, 2],
                               "ball_diameter": 0.5}).geometry
    netted = dataclasses.replace(geom, pads=[dataclasses.replace(g, nets=["GND", "VCC", "", "GND"])
                                             for g in geom.pads])
    assert write_footprint(netted) == write_footprint(geom)
    assert "(net " not in write_footprint(netted)
    with pytest.raises(TypeError):
        write_footprint(netted, with_nets=True)  # the old, wrongly numbered path is gone
