"""The benchmark code paths on tiny sizes: correctness only, no timing asserts.

The fast paths the benchmarks time (grid-hashed circle pairs, shared candidate pairs,
silk candidates by bounding box, cached pad text) must find exactly what brute force finds.
"""

from __future__ import annotations

import dataclasses
import math
import sys
from pathlib import Path

import numpy as np
import pytest
import shapely

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "benchmarks"))

import bench_check  # noqa: E402
import bench_footprint  # noqa: E402
import bench_startup  # noqa: E402
from kisubstrate.api.footprint import generate_footprint  # noqa: E402
from kisubstrate.geometry.ir import Circle, Line, Poly  # noqa: E402
from kisubstrate.kicad.sexpr import find_all, loads  # noqa: E402
from kisubstrate.rules.footprint import check_footprint, check_silk  # noqa: E402
from kisubstrate.rules.spatial import candidate_pairs, circle_pairs  # noqa: E402


def test_run_once_writes_the_footprint(tmp_path):
    steps, info = bench_footprint.run_once(bench_footprint.bga_spec(4), tmp_path)
    assert set(steps) == {"build", "check", "write", "save"}
    assert info["pads"] == 16 and info["violations"] == 0
    text = Path(info["path"]).read_text()
    assert len(text.encode()) == info["bytes"]
    pads = list(find_all(loads(text), "pad"))
    assert [p[1] for p in pads][:5] == ["A1", "A2", "A3", "A4", "B1"]
    at = [p for p in pads if p[1] == "A1"][0]
    assert [c for c in at if isinstance(c, list) and c[0] == "at"][0][1:] == ["-1.2", "-1.2"]


def test_time_ours_and_render_without_wizard():
    res = {"sizes": [3], "runs": 1, "ours": {"3": bench_footprint.time_ours(3, 1)}}
    assert res["ours"]["3"]["pads"] == 9
    assert res["ours"]["3"]["total"] == pytest.approx(sum(res["ours"]["3"][k] for k in bench_footprint.STEPS),
                                                      rel=0.5)
    assert "3x3" in bench_footprint.render(res)


def test_bga_spec_geometry():
    spec = bench_footprint.bga_spec(16)
    assert spec["body"] == [14.0, 14.0] and spec["pitch"] == 0.8 and spec["pad_diameter"] == 0.4


@pytest.mark.parametrize("seed", range(6))
def test_circle_pairs_equal_brute_force(seed):
    rng = np.random.default_rng(seed)
    n = 400
    x = rng.uniform(-4, 4, n)
    y = rng.uniform(-3, 3, n)
    if seed % 2:  # duplicates and several points per cell
        x[:50], y[:50] = x[50:100], y[50:100]
        x[100:150] = np.round(x[100:150], 1)
    r = rng.uniform(0.0, 0.25, n)
    within = float(rng.uniform(0.0, 0.2))
    i, j, gap = circle_pairs(x, y, r, within=within)
    assert set(zip(i.tolist(), j.tolist())) == bench_check.brute_force_pairs(x, y, r, within)
    assert len(i) == len(set(zip(i.tolist(), j.tolist())))
    assert np.all(i < j) and list(zip(i, j)) == sorted(zip(i, j))
    assert np.allclose(gap, np.hypot(x[i] - x[j], y[i] - y[j]) - r[i] - r[j])


def test_candidate_pairs_cover_every_close_pair_sparse_grid():
    # far-apart clusters: the cell grid is much larger than the point count (search path)
    rng = np.random.default_rng(7)
    x = np.concatenate([rng.uniform(0, 1, 50), rng.uniform(5000, 5001, 50)])
    y = np.concatenate([rng.uniform(0, 1, 50), rng.uniform(-3000, -2999, 50)])
    i, j = candidate_pairs(x, y, 0.3)
    got = set(zip(i.tolist(), j.tolist()))
    d = np.hypot(x[:, None] - x[None, :], y[:, None] - y[None, :])
    close = {(a, b) for a, b in zip(*np.nonzero(d < 0.3)) if a < b}
    assert close <= got


def test_spatial_benchmark_small():
    res = bench_check.spatial([2000], 1, strtree_max=10_000)
    row = res["sizes"]["2000"]
    assert row["n"] == 2000 and row["violations"] > 0
    assert row["brute_force_equal"] is True
    assert row["strtree_misses"] == 0  # circumscribed polygons never miss a real violation


def test_fanout_field_seeds_violations_between_pads_and_vias():
    x, y, r = bench_check.fanout_field(2000)
    i, j, gap = circle_pairs(x, y, r, within=bench_check.RULE)
    assert len(i) > 0 and np.all(gap < bench_check.RULE)
    assert set(np.round(r[i], 3)) == {0.2} and set(np.round(r[j], 3)) == {0.15}


def test_exactness_demo():
    rows = {row["orientation"][:5]: row for row in bench_check.exactness()}
    edge = rows["5.625"]
    assert edge["exact_um"] == pytest.approx(50.0, abs=1e-9)
    assert edge["inscribed_buffer_um"] == pytest.approx(50 + 500 * (1 - math.cos(math.pi / 32)), abs=1e-3)
    assert edge["circumscribed_um"] < 50.0
    assert all(row["circumscribed_um"] <= 50.0 + 1e-9 for row in rows.values())


def test_footprint_check_equals_brute_force_on_a_violating_bga():
    r = generate_footprint({"family": "bga", "body": [5, 5], "pitch": 0.5, "layout": [9, 9],
                            "ball_diameter": 0.3, "pad_diameter": 0.42})
    fp = r.geometry
    table = fp.pad_table()
    x = np.array([t[1] for t in table])
    y = np.array([t[2] for t in table])
    rad = np.full(len(x), 0.21)
    margin = fp.pads[0].mask_margin or 0.0
    rules = r.spec.rule_set()
    for rule, radius, need in (("copper_clearance", rad, rules.copper_clearance),
                               ("mask_web", rad + margin, rules.mask_web)):
        want = {tuple(sorted((table[a][0], table[b][0])))
                for a, b in bench_check.brute_force_pairs(x, y, radius, need - 1e-9)}
        got = {tuple(sorted(v.items)) for v in r.report.violations if v.rule == rule}
        assert got == want and len(got) == 2 * 9 * 8  # every orthogonal neighbour pair


def test_silk_check_equals_brute_force():
    r = generate_footprint({"family": "bga", "body": [6.0, 6.0], "pitch": 0.5, "layout": [10, 10],
                            "ball_diameter": 0.3, "pad_diameter": 0.25})
    fp = r.geometry
    extra = [Line((-3.0, -2.0), (3.1, 2.5), "F.SilkS", 0.12), Line((0.1, 0.1), (0.1, 0.1), "F.SilkS", 0.12),
             Line((-2.4, 1.0), (2.4, 1.0), "F.SilkS", 0.12),
             Poly(((-1.0, -1.0), (1.0, -1.2), (0.5, 1.3)), "F.SilkS", 0.12, fill=True),
             Circle((0.3, 0.2), 0.6, "F.SilkS", 0.12)]
    fp2 = dataclasses.replace(fp, graphics=list(fp.graphics) + extra)
    rules = r.spec.rule_set()
    found, _ = check_silk(fp2, rules)
    # brute force: every silk item against every pad, shapely distance to the centre line
    grow = max(fp.pads[0].mask_margin or 0.0, 0.0)
    want = set()
    for k, g in enumerate(fp2.graphics):
        if getattr(g, "layer", None) != "F.SilkS":
            continue
        if isinstance(g, Line):
            geom, label = shapely.LineString([g.start, g.end]), f"silk line {k}"
        elif isinstance(g, Poly):
            poly = shapely.Polygon(g.points)
            geom, label = (poly if g.fill else poly.exterior), f"silk poly {k}"
        else:
            disc = shapely.Point(g.center).buffer(g.radius / np.cos(np.pi / 32), quad_segs=8)
            geom, label = disc.exterior, f"silk circle {k}"
        for name, px, py, w, _ in fp.pad_table():
            gap = shapely.distance(geom, shapely.Point(px, py)) - (w / 2 + grow) - g.width / 2
            if gap < rules.silk_clearance - 1e-9:
                want.add((label, name))
    got = {v.items for v in found}
    assert got == want and len(got) > 20
    assert check_footprint(fp2, rules).violations == check_footprint(fp2, rules).violations  # deterministic


@pytest.mark.kicad
def test_wizard_driver_builds_the_same_grid(pcbnew_python):
    res = bench_footprint.time_wizard([4], 1, python=pcbnew_python)
    row = res["sizes"]["4"]
    assert row["pads"] == 16 and row["file_bytes"] > 1000 and row["build_s"] > 0


@pytest.mark.parametrize("line", [Line((-1.5, 2.0), (3.0, -0.0), "F.SilkS", 0.12),
                                  Line((0, 1), (2, 3), "F.Fab", 0.1),
                                  Line((1e-7, -40.123456789), (40.1, 40.1), "F.CrtYd", 0.05)])
def test_line_fast_path_matches_the_node_writer(line):
    from kisubstrate.kicad.footprint import _line_text, graphic_node
    from kisubstrate.kicad.sexpr import dumps

    assert _line_text(line) == dumps(graphic_node(line), 1)
    assert _line_text(line, 2) == dumps(graphic_node(line), 2)


def test_silk_check_equals_brute_force_rect_pads():
    r = generate_footprint({"family": "lga", "body": [6.0, 6.0], "pitch": 0.5, "layout": [10, 10],
                            "pad_diameter": 0.3, "pad_shape": "rect"})
    fp = r.geometry
    extra = [Line((-3.0, -2.0), (3.1, 2.5), "F.SilkS", 0.12), Line((-2.4, 1.1), (2.4, 1.1), "F.SilkS", 0.12),
             Poly(((-1.0, -1.0), (1.0, -1.2), (0.5, 1.3)), "F.SilkS", 0.12, fill=True)]
    fp2 = dataclasses.replace(fp, graphics=list(fp.graphics) + extra)
    rules = r.spec.rule_set()
    found, _ = check_silk(fp2, rules)
    outlines = np.concatenate([g.outlines(max(g.mask_margin or 0.0, 0.0)) for g in fp.pads])
    names = [n for g in fp.pads for n in g.names]
    want = set()
    for k, g in enumerate(fp2.graphics):
        if getattr(g, "layer", None) != "F.SilkS":
            continue
        if isinstance(g, Line):
            geom, label = shapely.LineString([g.start, g.end]), f"silk line {k}"
        elif isinstance(g, Poly):
            poly = shapely.Polygon(g.points)
            geom, label = (poly if g.fill else poly.exterior), f"silk poly {k}"
        else:
            continue
        gaps = shapely.distance(outlines, geom) - g.width / 2
        want |= {(label, names[p]) for p in np.flatnonzero(gaps < rules.silk_clearance - 1e-9).tolist()}
    assert {v.items for v in found} == want and len(want) > 10


def test_startup_bench_runs_the_cli_and_loads_one_family():
    """Whole-process benchmark on a tiny grid: the CLI writes the footprint; no timing asserts."""
    res = bench_startup.run(3, 1, wizard=False)
    assert set(res["jobs"]) == {"kisubstrate", "python_start", "deps_floor"}
    assert all(len(j["wall"]) == 1 and j["median"] > 0 for j in res["jobs"].values())
    assert res["loaded_families"] == ["kisubstrate.families.grid_array", "kisubstrate.families.registry"]
    assert "ratio" not in res and "3x3 BGA" in bench_startup.render(res)


@pytest.mark.kicad
def test_startup_bench_times_the_wizard_process(pcbnew_python):
    res = bench_startup.run(3, 1, wizard=True, python=pcbnew_python)
    assert {"wizard", "pcbnew_import"} <= set(res["jobs"]) and res["ratio"] > 0
    assert "bga_wizard" in bench_startup.render(res)
