"""Connectivity is a pre-write check: opens and cut-off fills are violations, and KiCad agrees.

Every fixture is checked by KiCad too (``kicad-cli pcb drc``): our count of ``unconnected``
violations equals the number of KiCad's unconnected items, on the 1 µm edges (a track whose copper
stops 1 µm short of a pad / via / fill is open, 1 µm of overlap joins), on seeded random boards,
and on the panels of every example (``pop_side_trace.yaml``'s castellations kept as plated holes).
"""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np
import pytest
import shapely
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from kisubstrate.api.project import project_files
from kisubstrate.api.specs import validate_spec
from kisubstrate.cli import cli
from kisubstrate.geometry.board import BoardBuilder, Zone
from kisubstrate.rules.board import check_board
from kisubstrate.rules.connectivity import check_connectivity, components
from stack_util import drc, small_buildup, write_files

ROOT = Path(__file__).resolve().parents[2]
SPEC = validate_spec(small_buildup())  # 3 copper layers: stackup, rules, trace width and microvia of a real spec
UM = 0.001


def board() -> BoardBuilder:
    """An empty 6 x 6 mm three-copper board."""
    return BoardBuilder("conn", copper=3, outline=((-3, -3), (3, -3), (3, 3), (-3, 3)))


def opens(geom) -> int:
    return sum(v.rule == "unconnected" for v in check_connectivity(geom))


def kicad_unconnected(kicad_cli: str, geom, folder: Path) -> int:
    rules = SPEC.substrate_rules()
    pcb = write_files(project_files(geom, SPEC.stackup, rules, SPEC), folder)
    return drc(kicad_cli, pcb)["unconnected"]


def track_to_pad(gap: float):
    """Pad A1 (0.2 mm round, at 0, 0) and pad A2 (at 2, 0), joined by a 0.03 mm track whose copper
    (round end included) stops ``gap`` mm outside A1's edge (negative: overlaps it)."""
    b = board()
    n = b.net("SIG")
    b.pad("U1", "1", 0, 0, 0.2, layer=0, net=n)
    b.pad("U1", "2", 2, 0, 0.2, layer=0, net=n)
    b.track(0.1 + 0.015 + gap, 0, 2, 0, 0.03, layer=0, net=n)
    return b.build()


def track_to_via(gap: float):
    """A via (0.12 mm pad, L1-L2) at the origin, a pad on L2 at (1, 0) with a track from the via
    whose copper stops ``gap`` mm outside the via pad; a track on L1 from the via to a pad at (-1, 0)."""
    b = board()
    n = b.net("SIG")
    b.via(0, 0, 0.12, 0.06, 0, 1, net=n, kind="micro")
    b.pad("U1", "1", 1, 0, 0.2, layer=1, net=n)
    b.pad("U1", "2", -1, 0, 0.2, layer=0, net=n)
    b.track(0.06 + 0.015 + gap, 0, 1, 0, 0.03, layer=1, net=n)
    b.track(0, 0, -1, 0, 0.03, layer=0, net=n)
    return b.build()


def track_to_fill(gap: float):
    """A GND fill (1 x 1 mm square at the origin, L3) joined by a through via to a pad on L1, and a
    pad at (2, 0) on L3 whose track's copper stops ``gap`` mm outside the fill's right edge."""
    b = board()
    n = b.net("GND")
    b.pad("U1", "2", 0, 0, 0.2, layer=0, net=n)
    b.via(0, 0, 0.12, 0.06, 0, 2, net=n, kind="through")
    sq = shapely.box(-0.5, -0.5, 0.5, 0.5)
    b.zones.append(Zone("gnd", (2,), sq, net=n, fill=sq))
    b.pad("U1", "1", 2, 0, 0.2, layer=2, net=n)
    b.track(0.5 + 0.015 + gap, 0, 2, 0, 0.03, layer=2, net=n)
    return b.build()


CASES = {"track-pad": track_to_pad, "track-via": track_to_via, "track-fill": track_to_fill}


@pytest.mark.parametrize("case", sorted(CASES))
def test_one_micrometre_outside_is_open_inside_is_joined(case):
    make = CASES[case]
    assert opens(make(+UM)) == 1
    assert opens(make(-UM)) == 0
    assert check_board(make(-UM), SPEC.substrate_rules(), only=("unconnected",)).ok
    rep = check_board(make(+UM), SPEC.substrate_rules(), only=("unconnected",))
    assert [v.rule for v in rep.violations] == ["unconnected"]
    assert "is in 2 pieces" in rep.violations[0].message


@pytest.mark.kicad
@pytest.mark.parametrize("case", sorted(CASES))
def test_kicad_agrees_on_the_one_micrometre_edges(case, kicad_cli, tmp_path):
    make = CASES[case]
    for gap, expected in ((+UM, 1), (-UM, 0)):
        geom = make(gap)
        assert opens(geom) == expected
        assert kicad_unconnected(kicad_cli, geom, tmp_path / f"{case}{gap:+}") == expected, (case, gap)


def test_crossing_tracks_of_one_net_connect():
    """KiCad joins items whose copper collides: a cross of two tracks is one piece."""
    b = board()
    n = b.net("SIG")
    for x, y in ((-1, 0), (1, 0), (0, -1), (0, 1)):
        b.pad("U1", f"{x}{y}", x, y, 0.2, layer=0, net=n)
    b.track(-1, 0, 1, 0, 0.03, layer=0, net=n)
    b.track(0, -1, 0, 1, 0.03, layer=0, net=n)
    assert opens(b.build()) == 0


def test_a_fill_touching_nothing_of_its_net_is_an_island():
    """KiCad's DRC counts no unconnected item for an isolated fill; kisubstrate refuses it."""
    b = board()
    n = b.net("GND")
    b.pad("U1", "1", 2, 2, 0.2, layer=0, net=n)
    sq = shapely.box(-0.5, -0.5, 0.5, 0.5)
    b.zones.append(Zone("gnd", (0,), sq, net=n, fill=sq))
    found = check_connectivity(b.build())
    assert [v.rule for v in found] == ["copper_island"]
    assert found[0].items == ("zone/gnd#L1.0",)


def random_board(seed: int):
    """Three nets of five pads in a row; neighbours joined by tracks on random layers through vias.
    Each track's copper stops 1 µm short of, or overlaps by 1 µm, the via at either end, so some
    joins hold and some are open by a hair."""
    rng = random.Random(seed)
    b = board()
    for k in range(3):
        n = b.net(f"N{k}")
        y = -2 + 2 * k
        xs = [-2.4 + 1.2 * i for i in range(5)]
        for i, x in enumerate(xs):
            b.pad("U1", f"{k}.{i}", x, y, 0.2, layer=0, net=n)
            b.via(x, y, 0.12, 0.06, 0, 2, net=n, kind="through")
        for i in range(4):
            reach = 0.06 + 0.015  # via pad radius + half the track width
            g1, g2 = rng.choice((-UM, UM)), rng.choice((-UM, UM))
            b.track(round(xs[i] + reach + g1, 6), y, round(xs[i + 1] - reach - g2, 6), y, 0.03,
                    layer=rng.randrange(1, 3), net=n)
    return b.build()


@pytest.mark.kicad
def test_random_boards_agree_with_kicad(kicad_cli, tmp_path):
    totals = []
    for seed in range(4):
        geom = random_board(seed)
        ours = opens(geom)
        assert kicad_unconnected(kicad_cli, geom, tmp_path / str(seed)) == ours, seed
        totals.append(ours)
    assert any(totals) and not all(t == totals[0] for t in totals)  # the sample has opens, of several counts


def test_random_boards_have_opens_and_joins():
    counts = [opens(random_board(seed)) for seed in range(4)]
    assert all(0 < c < 24 for c in counts) and len(set(counts)) > 1, counts


@pytest.mark.kicad
def test_the_pop_side_trace_panel_keeps_its_castellations(kicad_cli, tmp_path):
    """The castellations of a side-trace PoP sit on the unit's outline; in a panel each is a whole plated
    hole on the saw line, still joining every land to its ball. A street too narrow for the facing
    holes and the plating bar between them (the default 0.3 mm; 0.499 mm) is refused naming the 0.5 mm
    it needs; at 0.5 mm the panel is written and KiCad finds 0 errors and 0 unconnected items."""
    spec = ROOT / "footprints" / "examples" / "pop_side_trace.yaml"
    runner = CliRunner()
    for street in ([], ["--street", "0.499"]):
        out = tmp_path / f"panel{len(street)}"
        r = runner.invoke(cli, ["panel", str(spec), "--rows", "2", "--columns", "2", "-o", str(out), *street])
        assert r.exit_code == 2 and "castellations (56 plated holes" in r.output and "needs >= 0.5 mm" in r.output
        assert not out.exists()
    out = tmp_path / "panel"
    r = runner.invoke(cli, ["panel", str(spec), "--rows", "2", "--columns", "2", "--street", "0.5", "-o", str(out)])
    assert r.exit_code == 0, r.output
    pcb = next(out.glob("*.kicad_pcb"))
    assert pcb.read_text().count("(via") >= 4 * (56 + 88)  # each unit: its castellations and carrier vias
    rep = drc(kicad_cli, pcb)
    assert rep["errors"] == [] and rep["unconnected"] == 0, (rep["types"], rep["unconnected"])


def _substrate_examples() -> list[str]:
    from kisubstrate.api.specs import load_specs
    from kisubstrate.api.substrate import has_substrate

    return sorted(p.stem for p in (ROOT / "footprints" / "examples").glob("*.yaml")
                  if any(has_substrate(ls.spec) for ls in load_specs([p])))


@pytest.mark.kicad
@pytest.mark.parametrize("example", _substrate_examples())
def test_panel_of_every_example_is_clean_in_kicad_or_refused(example, kicad_cli, tmp_path):
    """Whenever ``kisubstrate panel`` writes, KiCad finds 0 errors and 0 unconnected items."""
    out = tmp_path / "panel"
    r = CliRunner().invoke(cli, ["panel", str(ROOT / "footprints" / "examples" / f"{example}.yaml"),
                                 "--rows", "1", "--columns", "2", "-o", str(out)])
    if r.exit_code == 1:
        assert not out.exists() and "unconnected" in r.stdout
        return
    if r.exit_code == 2:  # castellations facing across a street too narrow (see the side-trace test)
        assert not out.exists() and "castellations" in r.output
        return
    assert r.exit_code == 0, r.output
    for pcb in out.glob("*.kicad_pcb"):
        rep = drc(kicad_cli, pcb)
        assert rep["errors"] == [] and rep["unconnected"] == 0, (rep["types"], rep["unconnected"])


@settings(max_examples=200, deadline=None)
@given(st.integers(1, 40).flatmap(lambda n: st.tuples(st.just(n), st.lists(st.tuples(st.integers(0, n - 1),
                                                                                         st.integers(0, n - 1)),
                                                                               max_size=80))))
def test_components_match_a_plain_union_find(case):
    n, edges = case
    parent = list(range(n))

    def find(x):
        while parent[x] != x:
            x = parent[x]
        return x

    for x, y in edges:
        rx, ry = find(x), find(y)
        parent[max(rx, ry)] = min(rx, ry)
    a = np.array([e[0] for e in edges], np.int64)
    b = np.array([e[1] for e in edges], np.int64)
    expected = [min(k for k in range(n) if find(k) == find(i)) for i in range(n)]
    assert components(n, a, b).tolist() == expected
