"""Property tests (hypothesis) over random valid grid-array specs.

* grid invariants: pad count (with closed forms for centre void, perimeter rings + island and
  stagger), unique JEDEC names, A1 top-left, centroid at the offset, mirror symmetry, pads on
  the pitch lattice and inside the body, courtyard covering copper and body;
* writer invariants: deterministic, no ``-0``, at most 6 decimals, parses back to the pads;
* the rules contract: what the checks report equals a brute-force numpy all-pairs
  computation (exact for circles and rectangles; never optimistic for polygonised shapes).

Ranges come from the model: layout 1..400 (here ≤ 24 for speed), pitch > 0, ball < pitch,
grid span ≤ body, centre blocks with matching parity, perimeter rings < half the short side.
"""

from __future__ import annotations

import math
import re

import numpy as np
import pytest
import shapely
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from kisubstrate.api.footprint import generate_footprint
from kisubstrate.geometry.grid import ball_grid, grid_mask
from kisubstrate.geometry.ir import FootprintGeom, PadGroup
from kisubstrate.kicad.sexpr import find_all, loads
from kisubstrate.model.grid import JEDEC_ALPHABET, row_names
from kisubstrate.model.rules import RuleSet
from kisubstrate.rules.footprint import check_copper_clearance, check_holes, check_mask

SETTINGS = settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
PITCHES = [0.4, 0.5, 0.65, 0.8, 1.0, 1.27]
ZEROS = {"copper_clearance": 0, "mask_web": 0, "mask_registration": 0, "silk_clearance": 0,
         "annular_ring": 0, "hole_to_hole": 0}


def _block(draw, cols: int, rows: int, max_c: int, max_r: int) -> tuple[int, int] | None:
    """A centred block (same parity as the grid) of at most max_c x max_r."""
    cs = [c for c in range(1, max_c + 1) if (cols - c) % 2 == 0]
    rs = [r for r in range(1, max_r + 1) if (rows - r) % 2 == 0]
    if not cs or not rs:
        return None
    return draw(st.sampled_from(cs)), draw(st.sampled_from(rs))


@st.composite
def grid_specs(draw, families=("bga", "lga", "pga", "wlcsp"), depops=None, max_side=24):
    """A valid spec dict plus the depopulation kind used."""
    family = draw(st.sampled_from(families))
    cols, rows = draw(st.integers(1, max_side)), draw(st.integers(1, max_side))
    choices = [1.27, 2.54] if family == "pga" else PITCHES
    px = draw(st.sampled_from(choices))
    py = px if draw(st.booleans()) else draw(st.sampled_from(choices))
    spec: dict = {"family": family, "layout": [cols, rows], "pitch": px if px == py else [px, py]}
    small = min(px, py)
    if family in ("bga", "wlcsp"):
        spec["ball_diameter"] = round(small * draw(st.floats(0.4, 0.65)), 2)
    elif family == "lga":
        spec["pad_diameter"] = round(small * draw(st.floats(0.4, 0.6)), 2)
        spec["pad_shape"] = draw(st.sampled_from(["circle", "rect", "roundrect"]))
    else:
        spec["pin_diameter"] = round(small * draw(st.floats(0.15, 0.3)), 2)
        spec["pad_diameter"] = round(small * 0.6, 2)
        spec["drill"] = round(spec["pin_diameter"] + 0.1, 2)
        spec["origin"] = "center"  # the grid in the package frame (the pin-1 anchor: its own property below)
    span = ((cols - 1) * px, (rows - 1) * py)
    margin = (draw(st.floats(0.0, 3.0)), draw(st.floats(0.0, 3.0)))
    body = [round(s + m + 0.2, 2) for s, m in zip(span, margin)]
    spec["body"] = body
    if draw(st.integers(0, 4)) == 0:  # off-centre grid, staying inside the body
        room = [max((b - s) / 2 - 0.01, 0.0) for b, s in zip(body, span)]
        spec["offset"] = [round(draw(st.floats(-r, r)), 2) if r > 0 else 0.0 for r in room]
    kinds = depops or ["none", "missing", "void", "perimeter", "island", "stagger"]
    depop = draw(st.sampled_from(kinds))
    if depop == "missing":
        letters = row_names(rows)
        sites = draw(st.lists(st.tuples(st.integers(0, rows - 1), st.integers(0, cols - 1)), min_size=1,
                              max_size=6, unique=True))
        spec["missing"] = [f"{letters[r]}{c + 1}" for r, c in sites]
        if draw(st.booleans()) and rows >= 2 and cols >= 2:  # a range too
            spec["missing"].append(f"{letters[0]}{1}:{letters[1]}{2}")
    elif depop == "void":
        block = _block(draw, cols, rows, cols, rows)
        assume(block is not None and block != (cols, rows))
        spec["center_void"] = list(block)
    elif depop in ("perimeter", "island"):
        assume(min(cols, rows) >= 3)
        k = draw(st.integers(1, (min(cols, rows) - 1) // 2))
        spec["perimeter_rings"] = k
        if depop == "island":
            island = _block(draw, cols, rows, cols - 2 * k, rows - 2 * k)
            assume(island is not None)
            spec["center_island"] = list(island)
    elif depop == "stagger":
        spec["stagger"] = draw(st.sampled_from(["a1", "b1"]))
    assume(populated(spec))  # a 1x1 'b1' grid or an all-missing list is (rightly) invalid
    return spec, depop


def populated(spec: dict) -> set[tuple[int, int]]:
    """Independent statement of which (row, col) sites carry a ball."""
    cols, rows = spec["layout"]
    letters = row_names(rows)
    out = set()
    vc, vr = spec.get("center_void", (0, 0))
    k = spec.get("perimeter_rings")
    ic, ir = spec.get("center_island", (0, 0))
    for r in range(rows):
        for c in range(cols):
            if spec.get("stagger") == "a1" and (r + c) % 2:
                continue
            if spec.get("stagger") == "b1" and (r + c) % 2 == 0:
                continue
            if vc and (cols - vc) // 2 <= c < (cols + vc) // 2 and (rows - vr) // 2 <= r < (rows + vr) // 2:
                continue
            if k is not None and min(r, c, rows - 1 - r, cols - 1 - c) >= k:
                in_island = ic and (cols - ic) // 2 <= c < (cols + ic) // 2 and (rows - ir) // 2 <= r < (rows + ir) // 2
                if not in_island:
                    continue
            out.add((r, c))
    for item in spec.get("missing", []):
        ends = item.split(":")
        pos = [(letters.index(re.match(r"[A-Z]+", e).group()), int(re.search(r"\d+", e).group()) - 1) for e in ends]
        (r0, c0), (r1, c1) = pos[0], pos[-1]
        for r in range(min(r0, r1), max(r0, r1) + 1):
            for c in range(min(c0, c1), max(c0, c1) + 1):
                out.discard((r, c))
    return out


def closed_form_count(spec: dict, depop: str) -> int | None:
    """cols x rows minus what each shorthand removes (None for named depopulation)."""
    cols, rows = spec["layout"]
    n = cols * rows
    if depop == "none":
        return n
    if depop == "void":
        vc, vr = spec["center_void"]
        return n - vc * vr
    if depop == "perimeter":
        k = spec["perimeter_rings"]
        return n - (cols - 2 * k) * (rows - 2 * k)
    if depop == "island":
        k = spec["perimeter_rings"]
        ic, ir = spec["center_island"]
        return n - (cols - 2 * k) * (rows - 2 * k) + ic * ir
    if depop == "stagger":
        both_odd = cols % 2 and rows % 2
        return (n + both_odd) // 2 if spec["stagger"] == "a1" else (n - both_odd) // 2
    return None


def build(spec: dict) -> FootprintGeom:
    return generate_footprint(spec, check=False).geometry


def pads_of(fp: FootprintGeom):
    names = [n for g in fp.pads for n in g.names]
    x = np.concatenate([g.x for g in fp.pads])
    y = np.concatenate([g.y for g in fp.pads])
    return names, x, y


# -- grid invariants --------------------------------------------------------------------------------
@SETTINGS
@given(grid_specs())
def test_grid_invariants(case):
    spec, depop = case
    sites = populated(spec)
    assume(sites)
    fp = build(spec)
    names, x, y = pads_of(fp)
    cols, rows = spec["layout"]
    px, py = spec["pitch"] if isinstance(spec["pitch"], list) else (spec["pitch"],) * 2
    ox, oy = spec.get("offset", (0.0, 0.0))

    # count
    assert fp.pad_count == len(sites) == len(names)
    expected = closed_form_count(spec, depop)
    if expected is not None:
        assert fp.pad_count == expected
    if depop == "missing":
        assert fp.pad_count <= cols * rows - 1

    # names: unique, JEDEC rows, columns from 1, and exactly the populated sites
    assert len(set(names)) == len(names)
    letters = row_names(rows)
    assert all(set(ln) <= set(JEDEC_ALPHABET) for ln in letters)
    parsed = set()
    for n in names:
        m = re.fullmatch(r"([A-Z]+)([0-9]+)", n)
        assert m and m.group(1) in letters and 1 <= int(m.group(2)) <= cols, n
        parsed.add((letters.index(m.group(1)), int(m.group(2)) - 1))
    assert parsed == sites

    # every pad on the pitch lattice, at its own row / column
    for n, xi, yi in zip(names, x.tolist(), y.tolist()):
        r, c = letters.index(re.match(r"[A-Z]+", n).group()), int(re.search(r"\d+", n).group()) - 1
        assert xi == pytest.approx(ox + (c - (cols - 1) / 2) * px, abs=1e-6)
        assert yi == pytest.approx(oy + (r - (rows - 1) / 2) * py, abs=1e-6)
        assert abs(xi * 1e6 - round(xi * 1e6)) < 1e-3  # on KiCad's 1 nm grid
    if (0, 0) in sites:  # A1 top-left: smallest x and y
        a1 = names.index("A1")
        assert x[a1] == x.min() and y[a1] == y.min()

    # no pad centre outside the body (body centred on the origin)
    bx, by = spec["body"][0] / 2, spec["body"][1] / 2
    assert np.all(np.abs(x) <= bx + 1e-9) and np.all(np.abs(y) <= by + 1e-9)

    # courtyard covers copper and body (bounding boxes are exact for circles and rectangles)
    cminx, cminy, cmaxx, cmaxy = fp.courtyard.bounds
    for g in fp.pads:
        w, h = g.size
        assert g.x.min() - w / 2 >= cminx - 1e-9 and g.x.max() + w / 2 <= cmaxx + 1e-9
        assert g.y.min() - h / 2 >= cminy - 1e-9 and g.y.max() + h / 2 <= cmaxy + 1e-9
    assert shapely.covers(fp.courtyard, fp.body)
    assert cminx <= -bx and cmaxx >= bx and cminy <= -by and cmaxy >= by
    # on the courtyard grid
    for v in fp.courtyard.bounds:
        assert abs(v / 0.01 - round(v / 0.01)) < 1e-6


@SETTINGS
@given(grid_specs(depops=["none"]))
def test_full_grid_centroid_is_the_offset(case):
    spec, _ = case
    _, x, y = pads_of(build(spec))
    ox, oy = spec.get("offset", (0.0, 0.0))
    assert x.mean() == pytest.approx(ox, abs=1e-6) and y.mean() == pytest.approx(oy, abs=1e-6)


@SETTINGS
@given(grid_specs(depops=["none", "void", "perimeter", "island"]))
def test_symmetric_depopulation_is_mirror_symmetric(case):
    """Mirroring x (and y) about the grid centre maps the pad set onto itself."""
    spec, _ = case
    _, x, y = pads_of(build(spec))
    ox, oy = spec.get("offset", (0.0, 0.0))

    def as_set(xs, ys):
        return set(zip(np.round(xs, 5).tolist(), np.round(ys, 5).tolist()))

    here = as_set(x, y)
    assert as_set(2 * ox - x, y) == here
    assert as_set(x, 2 * oy - y) == here


@SETTINGS
@given(grid_specs(depops=["stagger"]))
def test_stagger_has_no_orthogonal_neighbours(case):
    spec, _ = case
    fp = build(spec)
    names, x, y = pads_of(fp)
    px, py = spec["pitch"] if isinstance(spec["pitch"], list) else (spec["pitch"],) * 2
    pts = set(zip(np.round(x, 5).tolist(), np.round(y, 5).tolist()))
    for xi, yi in pts:
        assert (round(xi + px, 5), yi) not in pts and (xi, round(yi + py, 5)) not in pts


# -- writer invariants --------------------------------------------------------------------------------
NUMBER = re.compile(r"-?\d")
CANONICAL = re.compile(r"-?(0|[1-9]\d*)(\.\d{0,5}[1-9])?")


def _atoms(tree):
    for item in tree:
        if isinstance(item, list):
            yield from _atoms(item)
        else:
            yield item


@SETTINGS
@given(grid_specs())
def test_writer_invariants(case):
    spec, _ = case
    assume(populated(spec))
    result = generate_footprint(spec, check=False)
    text = result.text()
    assert text == result.text() == generate_footprint(spec, check=False).text()  # deterministic
    assert text.endswith(")\n") and "\r" not in text
    tree = loads(text)
    assert tree[0] == "footprint" and tree[1] == result.geometry.name
    for a in _atoms(tree):
        if isinstance(a, str) and NUMBER.match(a) and not re.search(r"[A-Za-z_]", a):
            assert CANONICAL.fullmatch(a), f"non-canonical number {a!r}"
            assert a != "-0"
    assert not re.search(r"(?<![\w.])-0(?![.\d])", text)
    # pads read back equal the model
    file_pads = {}
    for pad in find_all(tree, "pad"):
        at = next(p for p in pad if isinstance(p, list) and p[0] == "at")
        file_pads[pad[1]] = (float(at[1]), float(at[2]))
    model = {n: (xx, yy) for n, xx, yy, _, _ in result.geometry.pad_table()}
    assert file_pads.keys() == model.keys()
    for n, (xx, yy) in model.items():
        assert file_pads[n] == pytest.approx((xx, yy), abs=5e-7)


# -- the rules contract: checks equal brute force -------------------------------------------------------
@st.composite
def pad_fields(draw, shapes=("circle",)):
    cols, rows = draw(st.integers(1, 8)), draw(st.integers(1, 8))
    px = draw(st.sampled_from(PITCHES))
    py = px if draw(st.booleans()) else draw(st.sampled_from(PITCHES))
    stagger = draw(st.sampled_from([None, None, "a1", "b1"]))
    mask = grid_mask(columns=cols, rows=rows, stagger=stagger)
    assume(mask.sum() >= 2)
    grid = ball_grid(columns=cols, rows=rows, pitch=(px, py), mask=mask)
    shape = draw(st.sampled_from(shapes))
    size = round(min(px, py) * draw(st.floats(0.3, 1.6)), 3)  # up to overlapping pads
    required = round(draw(st.floats(0.0, 0.6)), 4)
    margin = round(draw(st.floats(-0.05, 0.1)), 3)
    group = PadGroup(names=grid.names, x=grid.x, y=grid.y, kind="smd", shape=shape, size=(size, size),
                     layers=("F.Cu", "F.Mask"), mask_margin=margin)
    return group, required


def _fp(groups: list[PadGroup]) -> FootprintGeom:
    return FootprintGeom(name="T", family="test", description="", tags="", attr="smd", pads=groups, graphics=[],
                         body=shapely.box(-1, -1, 1, 1), courtyard=shapely.box(-99, -99, 99, 99),
                         reference_at=(0, 0), value_at=(0, 0))


def brute_circle_gaps(x, y, r):
    """All pairs i < j: exact gap between circles (numpy, no shapely)."""
    i, j = np.triu_indices(len(x), 1)
    return i, j, np.hypot(x[i] - x[j], y[i] - y[j]) - r[i] - r[j]


def brute_square_gaps(x, y, side):
    """All pairs i < j: gap between equal axis-aligned squares; overlap → −sqrt(overlap area)."""
    i, j = np.triu_indices(len(x), 1)
    dx, dy = np.abs(x[i] - x[j]) - side, np.abs(y[i] - y[j]) - side
    gap = np.hypot(np.maximum(dx, 0), np.maximum(dy, 0))
    overlap = (dx < 0) & (dy < 0)
    return i, j, np.where(overlap, -np.sqrt(np.where(overlap, dx * dy, 0.0)), gap)


def _compare(reported, names, i, j, gap, required):
    assume(not np.any(np.abs(gap - required) < 1e-7))  # keep clear of the comparison edge
    expect = {frozenset((names[a], names[b])): g for a, b, g in zip(i.tolist(), j.tolist(), gap.tolist())
              if g < required}
    got = {frozenset(v.items): v.measured for v in reported}
    assert len(got) == len(reported), "each pair reported once"
    assert got.keys() == expect.keys()
    for k, g in expect.items():
        assert got[k] == pytest.approx(g, abs=1e-6)
    if expect:
        assert min(got.values()) == pytest.approx(min(expect.values()), abs=1e-6)


@SETTINGS
@given(pad_fields(("circle",)))
def test_copper_check_equals_bruteforce_circles(field):
    group, required = field
    reported, _ = check_copper_clearance(_fp([group]), RuleSet(**{**ZEROS, "copper_clearance": required}))
    r = np.full(len(group), group.size[0] / 2)
    _compare(reported, group.names, *brute_circle_gaps(group.x, group.y, r), required)


@SETTINGS
@given(pad_fields(("rect",)))
def test_copper_check_equals_bruteforce_squares(field):
    group, required = field
    reported, _ = check_copper_clearance(_fp([group]), RuleSet(**{**ZEROS, "copper_clearance": required}))
    _compare(reported, group.names, *brute_square_gaps(group.x, group.y, group.size[0]), required)


@SETTINGS
@given(pad_fields(("circle",)))
def test_mask_web_equals_bruteforce(field):
    group, required = field
    reported, _ = check_mask(_fp([group]), RuleSet(**{**ZEROS, "mask_web": required}))
    reported = [v for v in reported if v.rule == "mask_web"]
    r = np.full(len(group), group.size[0] / 2 + group.mask_margin)
    _compare(reported, group.names, *brute_circle_gaps(group.x, group.y, r), required)


@SETTINGS
@given(pad_fields(("circle",)))
def test_hole_to_hole_equals_bruteforce(field):
    group, required = field
    drill = round(group.size[0] * 0.6, 3)
    holes = PadGroup(names=group.names, x=group.x, y=group.y, kind="thru_hole", shape="circle",
                     size=group.size, layers=("*.Cu", "*.Mask"), drill=drill)
    reported, _ = check_holes(_fp([holes]), RuleSet(**{**ZEROS, "hole_to_hole": required}))
    reported = [v for v in reported if v.rule == "hole_to_hole"]
    r = np.full(len(group), drill / 2)
    _compare(reported, group.names, *brute_circle_gaps(group.x, group.y, r), required)


@SETTINGS
@given(pad_fields(("circle",)), st.sampled_from(["rect", "roundrect"]))
def test_polygon_pairs_are_never_optimistic(field, other_shape):
    """A square pin 1 among round pads (PGA style): the mixed pairs go through polygons.

    Reported gaps are never larger than the true gap (circles circumscribed) and at most
    r·(1/cos(π/32) − 1) + corner error smaller.
    """
    group, required = field
    first = PadGroup(names=group.names[:1], x=group.x[:1], y=group.y[:1], kind="smd", shape=other_shape,
                     size=group.size, layers=("F.Cu",))
    rest = PadGroup(names=group.names[1:], x=group.x[1:], y=group.y[1:], kind="smd", shape="circle",
                    size=group.size, layers=("F.Cu",))
    reported, _ = check_copper_clearance(_fp([first, rest]), RuleSet(**{**ZEROS, "copper_clearance": required}))
    s = group.size[0]
    rr = 0.25 * s if other_shape == "roundrect" else 0.0
    # true distance from each circle to the (rounded) square at pad 0
    dx = np.abs(rest.x - first.x[0]) - (s / 2 - rr)
    dy = np.abs(rest.y - first.y[0]) - (s / 2 - rr)
    true = np.hypot(np.maximum(dx, 0), np.maximum(dy, 0)) - rr - s / 2
    slack = (s / 2 + rr) * (1 / math.cos(math.pi / 32) - 1) + 1e-9
    got = {v.items[1] if v.items[0] == first.names[0] else v.items[0]: v.measured for v in reported
           if first.names[0] in v.items}
    for name, t in zip(rest.names, true.tolist()):
        if t > 0 and t < required - slack - 1e-6:
            assert name in got
        if name in got and t > 0 and got[name] >= 0:
            assert got[name] <= t + 1e-6
            assert got[name] >= t - slack - 1e-6


@SETTINGS
@given(grid_specs())
def test_generated_drawings_obey_their_own_rules(case):
    """Whatever the pads do, the generator's silk and courtyard never violate the profile."""
    spec, _ = case
    result = generate_footprint(spec)
    drawn = [v for v in result.report.violations if v.rule in ("silk_clearance", "courtyard")]
    assert drawn == [], result.report.text()


@SETTINGS
@given(pad_fields(("roundrect",)))
def test_roundrect_pairs_exact_on_sides_never_optimistic(field):
    """Rounded squares (KiCad ratio 0.25): exact where straight sides face each other, and
    between corners never larger than the truth nor smaller by more than the 32-gon slack."""
    group, required = field
    reported, _ = check_copper_clearance(_fp([group]), RuleSet(**{**ZEROS, "copper_clearance": required}))
    s = group.size[0]
    rr = 0.25 * s
    i, j = np.triu_indices(len(group), 1)
    dx = np.maximum(np.abs(group.x[i] - group.x[j]) - (s - 2 * rr), 0)
    dy = np.maximum(np.abs(group.y[i] - group.y[j]) - (s - 2 * rr), 0)
    true = np.hypot(dx, dy) - 2 * rr
    side = (dx == 0) | (dy == 0)  # facing straight sides
    slack = 2 * rr * (1 / math.cos(math.pi / 32) - 1) + 1e-9
    got = {frozenset(v.items): v.measured for v in reported}
    for a, b, t, on_side in zip(i.tolist(), j.tolist(), true.tolist(), side.tolist()):
        key = frozenset((group.names[a], group.names[b]))
        if t <= 0:
            continue  # overlapping: depth metric, covered elsewhere
        assume(abs(t - required) > slack + 1e-6)
        assert (key in got) == (t < required), (key, t, required)
        if key in got:
            if on_side:
                assert got[key] == pytest.approx(t, abs=1e-6)
            else:
                assert t - slack - 1e-6 <= got[key] <= t + 1e-6


@SETTINGS
@given(grid_specs(families=("bga", "wlcsp")), st.floats(0.0, 0.8))
def test_full_check_minimum_equals_bruteforce(case, required):
    """On generated footprints: copper violations (and their minimum) of check_footprint are the
    brute-force all-pairs result for the footprint's own pads."""
    from kisubstrate.rules.footprint import check_footprint

    spec, _ = case
    fp = build(spec)
    required = round(required, 4)
    report = check_footprint(fp, RuleSet(**{**ZEROS, "copper_clearance": required}))
    reported = [v for v in report.violations if v.rule == "copper_clearance"]
    (group,) = fp.pads
    r = np.full(len(group), group.size[0] / 2)
    _compare(reported, group.names, *brute_circle_gaps(group.x, group.y, r), required)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(grid_specs(families=("pga",)))
def test_pga_pin1_anchor_is_the_centred_footprint_moved_by_pin_1(case):
    """KLC F7.2: the default anchor is pin 1; everything else is the centred footprint moved by −pin 1."""
    spec, _ = case
    centred = generate_footprint(spec).geometry
    anchored = generate_footprint({**spec, "origin": "pin1"}).geometry
    first = centred.pad_table()[0]
    dx, dy = -first[1], -first[2]
    assert anchored.pad_table()[0][1:3] == (0.0, 0.0)
    for a, c in zip(anchored.pad_table(), centred.pad_table()):
        assert a[0] == c[0] and abs(a[1] - c[1] - dx) < 1e-9 and abs(a[2] - c[2] - dy) < 1e-9
    assert all(abs(a - c - d) < 1e-9 for a, c, d in zip(anchored.body.bounds, centred.body.bounds, (dx, dy) * 2))
    assert all(abs(a - c - d) < 1e-9
               for a, c, d in zip(anchored.courtyard.bounds, centred.courtyard.bounds, (dx, dy) * 2))
