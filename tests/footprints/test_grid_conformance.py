"""Conformance with KiCad's own footprint library (package ``kicad-footprints``).

Every stock footprint in Package_BGA / Package_CSP / Package_LGA whose name follows the
KLC grid-array pattern (``..._<X>x<Y>mm_Layout<C>x<R>_P<p>mm...``) is regenerated from the
parameters in its NAME (body, layout, pitch incl. ``P0.8x0.65mm``, ball, pad, NSMD/SMD,
Stagger, Offcenter) and compared pad by pad: names, positions (±1 µm), sizes (±1 µm).
What the name cannot say is read from the stock file: the land size when the name has no
``_Pad``, the sites without a ball (``missing:``), the stagger phase / axis and, for
``_Offcenter``, the grid offset. Run with ``-s`` to see the tally and every mismatch.
"""

from __future__ import annotations

from collections import Counter

import pytest
from kicad_util import STOCK_FOOTPRINTS, conformance_sweep, parse_mod, parse_name

pytestmark = pytest.mark.kicad

NSMD_LIBS = ("Package_BGA", "Package_CSP")


def _stock_or_skip():
    from conftest import require_kicad

    if not (STOCK_FOOTPRINTS / "Package_BGA.pretty").is_dir():
        require_kicad(f"stock footprints not installed ({STOCK_FOOTPRINTS}; Debian package kicad-footprints)")


@pytest.fixture(scope="module")
def sweep():
    _stock_or_skip()
    results = conformance_sweep()
    tally = Counter(r.status for r in results)
    attempted = tally["match"] + tally["mismatch"]
    print(f"\nconformance with KiCad's library: {tally['match']} matched / {attempted} attempted "
          f"({tally['skip']} not expressible in our parameters)")
    for r in results:
        if r.status != "match":
            print(f"  {r.status:8} {r.lib}/{r.name}: {r.reason}")
    crt = [r for r in results if r.status == "match"]
    per_family = Counter((r.spec["family"], bool(r.courtyard_equal)) for r in crt)
    print(f"  courtyard box equal to the stock one (±1 µm): {sum(bool(r.courtyard_equal) for r in crt)} of "
          f"{len(crt)}; per family (equal/differs): "
          + ", ".join(f"{f} {per_family[f, True]}/{per_family[f, False]}" for f in ("bga", "wlcsp", "lga"))
          + " (stock WLCSPs use the 1 mm BGA offset; ours the CSP rule, 0.25 / 0.15 mm)")
    rejected = [r.name for r in results if r.rule_ok is False]
    print(f"  rule profile would reject {len(rejected)} of the matched stock parts "
          f"(tight fine-pitch lands): {', '.join(rejected[:6])}{' ...' if len(rejected) > 6 else ''}")
    return results


def test_ball_pad_nsmd_names_match_exactly(sweep):
    """The stock footprints named ..._Ball<b>mm_Pad<d>mm_NSMD: every parameter from the name."""
    named = [r for r in sweep if "_Ball" in r.name and "_Pad" in r.name and r.name.endswith("_NSMD")]
    assert len(named) >= 17, [r.name for r in named]
    by_status = Counter(r.status for r in named)
    print(f"\nBall/Pad/NSMD footprints: {by_status['match']} of {len(named)} match")
    for r in named:
        # the one non-match is a stock file with staggered balls but no _Stagger in its name
        assert r.status == "match" or "stock anomaly" in r.reason, (r.name, r.reason)
        if r.status == "match":
            assert "missing" not in r.spec or r.pads < r.spec["layout"][0] * r.spec["layout"][1]
    matched = [r for r in named if r.status == "match"]
    assert len(matched) >= 17
    # where the stock file states an NSMD mask margin, ours (profile default, web-limited) agrees
    stated = [r for r in matched if r.mask_margin[1] is not None]
    assert len(stated) >= 2
    assert all(abs(r.mask_margin[0] - r.mask_margin[1]) <= 1e-9 for r in stated), \
        [(r.name, r.mask_margin) for r in stated]
    # without a manufacturer prefix our default KLC name is the stock name, character for character
    plain = [r for r in matched if r.name.startswith("BGA-")]
    assert len(plain) >= 16
    assert all(r.name_equal for r in plain), [r.name for r in plain if not r.name_equal]


def test_bga_courtyards_mostly_agree_with_stock(sweep):
    """KLC's 1 mm BGA courtyard on a 0.01 mm grid: equal to the stock box for most BGAs."""
    bga = [r for r in sweep if r.status == "match" and r.spec["family"] == "bga"]
    equal = sum(bool(r.courtyard_equal) for r in bga)
    assert equal >= 0.85 * len(bga), (equal, len(bga))


def test_sweep_counts_and_every_mismatch_explained(sweep):
    tally = Counter(r.status for r in sweep)
    assert tally["match"] >= 230, tally
    # a mismatch is acceptable only when the stock file contradicts its own name (judged from
    # the stock file alone); anything else is a bug of ours
    unexplained = [(r.name, r.reason) for r in sweep if r.status == "mismatch" and "stock anomaly" not in r.reason]
    assert not unexplained, unexplained
    assert tally["mismatch"] <= 10, tally


def test_sweep_covers_the_hard_cases(sweep):
    """x/y pitch, staggered, off-centre, depopulated and double-letter rows all matched."""
    matched = {r.name: r for r in sweep if r.status == "match"}
    xy = [n for n, r in matched.items() if isinstance(r.spec["pitch"], list) and "stagger" not in r.spec]
    assert "BGA-200_10x14.5mm_Layout12x22_P0.8x0.65mm" in xy
    stagger = [n for n, r in matched.items() if "stagger" in r.spec]
    assert len(stagger) >= 15, stagger
    assert any("offset" in r.spec for r in matched.values())
    assert sum("missing" in r.spec for r in matched.values()) >= 50
    big = matched["BGA-1156_35.0x35.0mm_Layout34x34_P1.0mm"]
    assert big.pads == 1156  # rows up to AP: AA.. double letters in JEDEC order


def test_pad_order_and_properties_agree_for_nsmd_parts(sweep):
    """For the legacy NSMD footprints also pad order (ours row-major from A1), shape, pad_prop_bga."""
    from kisubstrate.api.footprint import build_footprints
    from kisubstrate.model.grid import parse_ball_name, row_names

    checked = 0
    for r in sweep:
        if r.status != "match" or not r.name.endswith("_NSMD") or r.lib not in NSMD_LIBS:
            continue
        stock = parse_mod(next(STOCK_FOOTPRINTS.glob(f"{r.lib}.pretty/{r.name}.kicad_mod")).read_text())
        ours = parse_mod(build_footprints(r.spec)[0].text())
        # stock files list pads in whatever order pcbnew saved them (BGA-672: A…, AA1, …, B1);
        # ours are row-major from A1, every stock pad present once
        assert sorted(p.number for p in ours.pads) == sorted(p.number for p in stock.pads), r.name
        rows = row_names(r.spec["layout"][1])
        keys = [parse_ball_name(p.number, rows) for p in ours.pads]
        assert keys == sorted(keys), r.name
        assert all("pad_prop_bga" in p.props for p in ours.pads)
        assert {p.shape for p in ours.pads} == {p.shape for p in stock.pads} == {"circle"}
        assert ours.attr == stock.attr == ("smd",)
        checked += 1
    assert checked >= 17


def test_name_parser_reads_klc_names():
    p = parse_name("BGA-256_14.0x14.0mm_Layout16x16_P0.8mm_Ball0.45mm_Pad0.32mm_NSMD")
    assert (p.count, p.body, p.layout, p.pitch, p.ball, p.pad, p.flags) == \
        (256, (14.0, 14.0), (16, 16), (0.8, 0.8), 0.45, 0.32, ("NSMD",))
    p = parse_name("ST_WLCSP-36_2.652x2.592mm_Layout7x12_P0.4mm_Stagger_Offcenter")
    assert (p.pkg, p.flags) == ("WLCSP", ("Stagger", "Offcenter"))
    assert parse_name("Xilinx_FFG1156") is None
    assert parse_name("LGA-14_3x2.5mm_P0.5mm_LayoutBorder3x4y") is None
