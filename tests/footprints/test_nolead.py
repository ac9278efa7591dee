"""No-lead (QFN / SON) land calculator: toleranced sizes, IPC-7351B lands, numbering, EP paste,
thermal vias, bad input, and KiCad (pcbnew, kicad-cli) reading the footprints back."""

from __future__ import annotations

import json
import math
import subprocess

import numpy as np
import pytest
from conftest import run_pcbnew
from hypothesis import given, settings
from hypothesis import strategies as st
from kisubstrate.api.footprint import generate_footprint
from kisubstrate.api.specs import validate_spec
from kisubstrate.families.nolead import (
    FILLETS,
    ipc_land,
    paste_coverage,
    paste_pads,
    via_positions,
)
from kisubstrate.model.errors import SpecError
from kisubstrate.model.toleranced import Toleranced
from property_util import Share
from pydantic import ValidationError

QFN32 = dict(family="qfn", leads=32, pitch=0.5, body="5 +/- 0.1", lead_width="0.18 .. 0.30",
             lead_length="0.30 .. 0.50", exposed_pad="2.95 .. 3.10 .. 3.25")


# -- Toleranced ----------------------------------------------------------------------------------
@pytest.mark.parametrize("text,expected", [
    (0.25, (0.25, 0.25, 0.25)),
    ("0.25 +/- 0.05", (0.2, 0.25, 0.3)),
    ("0.25±0.05", (0.2, 0.25, 0.3)),
    ("0.4 +0.1 -0.05", (0.35, 0.4, 0.5)),
    ("0.4 -0.05 +0.1", (0.35, 0.4, 0.5)),
    ("0.18 .. 0.30", (0.18, 0.24, 0.3)),
    ("0.18...0.30", (0.18, 0.24, 0.3)),
    ("0.18 .. 0.25 .. 0.30", (0.18, 0.25, 0.3)),
    ({"min": 0.18, "max": 0.3}, (0.18, 0.24, 0.3)),
    ({"nom": 5, "tol": 0.1}, (4.9, 5.0, 5.1)),
])
def test_toleranced_forms(text, expected):
    t = Toleranced.parse(text)
    assert (t.minimum, t.nominal, t.maximum) == pytest.approx(expected)
    assert t.rms == pytest.approx(expected[2] - expected[0])


@pytest.mark.parametrize("bad", ["abc", "0.3 .. 0.1", "1 +0.1 +0.2", "1..2..3..4", "", "0.2 .. 0.5 .. 0.3",
                                 "nan", True, [1, 2], {"nom": 1, "min": 0.5}])
def test_toleranced_rejects_with_the_accepted_forms(bad):
    with pytest.raises(ValidationError) as exc:
        Toleranced.parse(bad)
    msg = str(exc.value)
    assert "accepted forms" in msg and "'min .. max'" in msg and "'nom +/- tol'" in msg


def test_rms_stacking_matches_ipc_formula():
    # S = L - 2T with L = 5 +/- 0.1 and T = 0.3 .. 0.5: S_tol(RMS) = sqrt(0.2^2 + 2 * 0.2^2)
    s = Toleranced.parse("5 +/- 0.1") - 2 * Toleranced.parse("0.3 .. 0.5")
    assert (s.minimum, s.maximum) == pytest.approx((3.9, 4.5))
    assert s.rms == pytest.approx(math.sqrt(0.04 + 2 * 0.04))
    assert s.max_rms == pytest.approx(4.5 - (0.6 - math.sqrt(0.12)) / 2)


# -- IPC-7351B land ------------------------------------------------------------------------------
def test_land_hand_computed_per_density():
    t = Toleranced.parse
    body, lead, width = t("5 +/- 0.1"), t("0.3 .. 0.5"), t("0.18 .. 0.3")
    # Z = 4.9 + 2 toe + sqrt(0.2^2 + 0.1^2 + 0.05^2) = 5.229 + 2 toe; G = 4.3732 - 0.3640 = 4.0092
    # X = 0.18 - 0.08 + sqrt(0.12^2 + 0.0125) = 0.2640; all rounded to 0.05
    expect = {"least": (5.55, 4.0, 0.25), "nominal": (5.75, 4.0, 0.25), "most": (5.95, 4.0, 0.25)}
    for density, (z, g, x) in expect.items():
        land = ipc_land(body, lead, width, None, FILLETS["toe"][density], fab=0.1, place=0.05, round_to=0.05)
        assert (land.z, land.g, land.x) == pytest.approx((z, g, x)), density
    # unrounded (round_to 0.001) shows the raw formula values
    raw = ipc_land(body, lead, width, None, FILLETS["toe"]["nominal"], fab=0.1, place=0.05, round_to=0.001)
    assert (raw.z, raw.g, raw.x) == pytest.approx((5.729, 4.009, 0.264), abs=1e-3)


def test_pull_back_uses_table_3_18():
    spec = validate_spec(dict(family="son", leads=6, pitch=0.4, body=1.2, pull_back=0.05,
                              lead_width="0.13 .. 0.23", lead_length="0.15 .. 0.25",
                              exposed_pad=["0.2 .. 0.4", "0.84 .. 1.04"]))
    assert spec.fillet_table == "pull_back"
    fp = generate_footprint(spec).geometry
    # lead span 1.1 exact: Z = 1.1 + 0 + sqrt(0.1^2 + 0.05^2) = 1.2118 -> 1.2; heel pulled for the EP
    assert fp.span_z == pytest.approx(1.2)
    assert "Table 3-18" in fp.description and "density nominal" in fp.description


def test_description_records_provenance():
    fp = generate_footprint(QFN32).geometry
    d = fp.description
    for piece in ("Table 3-15", "density nominal", "toe 0.3", "heel 0", "side -0.04", "F 0.1", "P 0.05",
                  "rounded to 0.05 mm", "EP 3.1x3.1 mm"):
        assert piece in d, piece


def test_courtyard_excess_per_density():
    offsets = {}
    for density in ("least", "nominal", "most"):
        fp = generate_footprint(dict(QFN32, density=density)).geometry
        offsets[density] = fp.courtyard_offset
        # lands reach Z/2 (5.55, 5.75, 5.95 / 2); courtyard = that + excess, out to 0.01 mm
        half = fp.span_z / 2 + offsets[density]
        assert fp.courtyard.bounds[2] == pytest.approx(math.ceil(half * 100 - 1e-6) / 100)
    assert offsets == {"least": 0.1, "nominal": 0.25, "most": 0.5}


def test_top_bottom_leads_can_differ():
    spec = dict(family="qfn", leads_per_side=[3, 2], pitch=0.5, body=[1.6, 2.1], lead_width="0.2..0.3",
                lead_length="0.6..0.7", lead_length_tb="0.35..0.45")
    table = {r[0]: r for r in generate_footprint(spec).geometry.pad_table()}
    left, bottom = table["1"], table["3"]
    assert left[3] > bottom[4]  # left/right lands follow the longer 0.6..0.7 mm leads
    assert "top/bottom: width 0.2..0.3 mm, length 0.35..0.45 mm" in generate_footprint(spec).geometry.description


def test_lead_center_span_locates_the_leads():
    # leads 0.4..0.6 long, centres 3.3 mm apart: L = 3.7..3.9, S = 2.7..2.9 (Table 3-15 nominal)
    spec = dict(family="son", leads=8, pitch=0.8, body="3.9..4.1", lead_width="0.25..0.35",
                lead_length="0.4..0.6", lead_center_span=3.3)
    fp = generate_footprint(spec).geometry
    rms = math.sqrt(0.2 ** 2 + 0.1 ** 2 + 0.05 ** 2)
    assert 3.7 + 0.6 + rms == pytest.approx(4.529, abs=1e-3) and 2.9 - rms == pytest.approx(2.671, abs=1e-3)
    assert (fp.span_z, fp.span_g) == pytest.approx((4.55, 2.65))
    assert "lead centre span 3.3 mm" in fp.description


def test_pad_size_override_and_span():
    spec = dict(QFN32, pad_size=[0.8, 0.28], pad_span=[4.8, 4.8])
    table = {r[0]: r for r in generate_footprint(spec).geometry.pad_table()}
    assert table["1"] == ("1", -2.4, -1.75, 0.8, 0.28)
    assert table["9"] == ("9", -1.75, 2.4, 0.28, 0.8)


def test_ep_clearance_pulls_the_heel_back():
    spec = dict(QFN32, exposed_pad="3.8 +/- 0.05")
    fp = generate_footprint(spec).geometry
    assert fp.span_g == pytest.approx(3.8 + 2 * 0.2)
    assert "heel pulled back" in fp.description


# -- numbering, symmetry --------------------------------------------------------------------------
def test_numbering_counter_clockwise_from_top_left():
    table = {r[0]: r for r in generate_footprint(QFN32).geometry.pad_table() if r[0]}
    assert table["1"][1:3] == (-2.4375, -1.75)   # left side, top
    assert table["8"][1:3] == (-2.4375, 1.75)    # left side, bottom
    assert table["9"][1:3] == (-1.75, 2.4375)    # bottom side, left
    assert table["17"][1:3] == (2.4375, 1.75)    # right side, bottom
    assert table["25"][1:3] == (1.75, -2.4375)   # top side, right
    assert table["32"][1:3] == (-1.75, -2.4375)  # top side, left
    assert table["33"][3:] == (3.1, 3.1)         # EP = N + 1


def test_son_numbering_and_ep_property():
    fp = generate_footprint(dict(family="son", leads=8, pitch=0.5, body=2, lead_width="0.2..0.3",
                                 lead_length="0.25..0.35", exposed_pad=[0.9, 1.3])).geometry
    table = {r[0]: r for r in fp.pad_table() if r[0]}
    assert [table[str(i)][1] < 0 for i in range(1, 9)] == [True] * 4 + [False] * 4
    assert [table[str(i)][2] for i in (1, 4, 5, 8)] == [-0.75, 0.75, 0.75, -0.75]
    ep = next(g for g in fp.pads if g.names == ["9"] and "F.Cu" in g.layers)
    assert ep.properties == ("pad_prop_heatsink",) and ep.layers == ("F.Cu", "F.Mask")


@settings(max_examples=25, deadline=None)
@given(per_side=st.integers(2, 16), pitch=st.sampled_from([0.4, 0.5, 0.65]),
       density=st.sampled_from(["least", "nominal", "most"]))
def test_square_qfn_is_90_degree_symmetric(per_side, pitch, density):
    body = round(per_side * pitch + 1.6, 2)
    fp = generate_footprint(dict(family="qfn", leads=4 * per_side, pitch=pitch, body=f"{body} +/- 0.05",
                                 lead_width=f"{pitch * 0.4:.3f} .. {pitch * 0.55:.3f}",
                                 lead_length="0.3 .. 0.5", density=density), check=False).geometry
    n = 4 * per_side
    pads = {r[0]: r[1:] for r in fp.pad_table()}
    assert sorted(pads, key=int) == [str(i) for i in range(1, n + 1)]
    for k in range(1, n + 1):
        x, y, w, h = pads[str(k)]
        # rotating by 90 degrees (x, y) -> (y, -x) in KiCad's y-down frame maps side k onto side k + N/4
        x2, y2, w2, h2 = pads[str((k - 1 + per_side) % n + 1)]
        assert (x2, y2) == pytest.approx((y, -x), abs=1e-9)
        assert (w2, h2) == pytest.approx((h, w), abs=1e-9)


# -- exposed pad paste and thermal vias ---------------------------------------------------------------
@settings(max_examples=40, deadline=None)
@given(ex=st.floats(0.8, 6.0), ey=st.floats(0.8, 6.0), cov=st.floats(0.3, 0.9),
       gx=st.integers(1, 4), gy=st.integers(1, 4))
def test_paste_coverage_within_limits(ex, ey, cov, gx, gy):
    ep = (round(ex, 2), round(ey, 2))
    groups = paste_pads(ep, coverage=cov, grid=(gx, gy))
    actual = paste_coverage(ep, groups)
    assert abs(actual - cov) <= 0.08, (ep, cov, actual)
    for g in groups:  # every paste pad inside the exposed pad, paste layer only
        assert g.layers == ("F.Paste",) and g.names == [""] * len(g)
        assert np.all(np.abs(g.x) + g.size[0] / 2 <= ep[0] / 2 + 1e-9)
        assert np.all(np.abs(g.y) + g.size[1] / 2 <= ep[1] / 2 + 1e-9)


# vacuous if every via grid were refused: random samples of 30 build every one, so at least half must
VIAS_BUILT = Share("built", at_least=0.5)


@VIAS_BUILT.required
@settings(max_examples=30, deadline=None)
@given(ep=st.floats(1.6, 6.0), n=st.integers(1, 4), drill=st.sampled_from([0.2, 0.25, 0.3]))
def test_thermal_vias_inside_ep_and_paste_clear(ep, n, drill):
    ep = round(ep, 2)
    body = round(ep + 2.2, 2)
    spec = dict(family="qfn", leads=4 * max(2, int(body / 0.5) - 3), pitch=0.5, body=body,
                lead_width="0.18..0.3", lead_length="0.3..0.5", exposed_pad=ep,
                thermal_vias={"count": [n, n], "drill": drill})
    try:
        s = validate_spec(spec)
    except SpecError as exc:  # vias that do not fit are bad input, never a silent overlap
        assert "do not fit inside the exposed pad" in str(exc) or "overlap" in str(exc)
        VIAS_BUILT.saw("refused")
        return
    VIAS_BUILT.saw("built")
    fp = generate_footprint(s, check=False).geometry
    assert fp.name.endswith("_ThermalVias")
    vias = [g for g in fp.pads if g.drill is not None]
    assert len(vias) == 1 and len(vias[0]) == n * n and vias[0].names[0] == str(s.lead_count + 1)
    v = vias[0]
    assert np.all(np.abs(v.x) + v.drill / 2 <= ep / 2) and np.all(np.abs(v.y) + v.drill / 2 <= ep / 2)
    keep = drill / 2 + 0.1
    for g in fp.pads:
        if g.layers != ("F.Paste",):
            continue
        for x, y in zip(g.x, g.y):  # paste rectangle keeps `keep` from every via centre
            dx = np.maximum(np.abs(v.x - x) - g.size[0] / 2, 0)
            dy = np.maximum(np.abs(v.y - y) - g.size[1] / 2, 0)
            assert np.all(np.hypot(dx, dy) >= keep - 1e-6)
    assert paste_coverage((ep, ep), [g for g in fp.pads if g.layers == ("F.Paste",)]) <= 0.65 + 1e-9


def test_thermal_via_example_grid():
    ep = (3.1, 3.1)
    from kisubstrate.families.nolead import ThermalVias

    xs, ys = via_positions(ThermalVias(count=(3, 3), grid=(1.0, 1.0)), ep, 0.5)
    assert xs.tolist() == [-1.0, 0.0, 1.0] and ys.tolist() == [-1.0, 0.0, 1.0]
    r = generate_footprint(dict(QFN32, thermal_vias={"count": [3, 3], "grid": [1, 1]}))
    assert r.report.ok, r.report.text()
    bottom = next(g for g in r.geometry.pads if g.layers == ("B.Cu",))
    assert bottom.size == (2.5, 2.5)


# -- bad input: exit 2 with a clear message ------------------------------------------------------------
BAD = {  # spec, words of the message, field it names
    "toleranced": (dict(QFN32, lead_width="0.18 to 0.30"), "accepted forms", "lead_width"),
    "ep_larger_than_body": (dict(QFN32, exposed_pad="5.5 +/- 0.1"), "larger than the body", "exposed_pad"),
    "ep_over_leads": (dict(QFN32, exposed_pad="4.3 +/- 0.05"), "overlaps the leads", "exposed_pad"),
    "lead_width_vs_pitch": (dict(QFN32, lead_width="0.4 .. 0.55"), "leads overlap", "lead_width"),
    "corner_leads": (dict(QFN32, leads=40), "leads overlap", "leads"),
    "leads_not_by_four": (dict(QFN32, leads=30), "four equal sides", "leads"),
    "son_odd": (dict(QFN32, family="son", leads=7), "even", "leads"),
    "vias_outside_ep": (dict(QFN32, thermal_vias={"count": [4, 4], "grid": [1, 1]}), "do not fit", "thermal_vias"),
    "min_above_max": (dict(QFN32, body="5.1 .. 4.9"), "larger than maximum", "body"),
    "bad_density": (dict(QFN32, density="medium"), "least", "density"),
    "son_top_leads": (dict(QFN32, family="son", leads=8, lead_length_tb=0.3), "no top/bottom leads",
                      "lead_length_tb"),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_input_exit_2(case, tmp_path, cli_runner):
    import yaml

    spec, needle, field = BAD[case]
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump({"packages": [spec]}), encoding="utf-8")
    out_dir = tmp_path / "out.pretty"
    code, _out, err = cli_runner("footprint", str(path), "-o", str(out_dir))
    assert code == 2, err
    assert needle in err and "bad.yaml" in err and f"field '{field}" in err, err
    assert len(err.strip().splitlines()) == 1, err
    assert not out_dir.exists() or not any(out_dir.iterdir())


def test_schema_describes_toleranced(cli_runner):
    code, out, _ = cli_runner("schema", "qfn")
    assert code == 0
    schema = json.loads(out)
    assert {"lead_width", "lead_length", "body", "exposed_pad", "density"} <= set(schema["properties"])
    text = json.dumps(schema)
    assert "min .. max" in text


# -- KiCad reads them back ---------------------------------------------------------------------------------
KICAD_SPECS = [
    QFN32,
    dict(QFN32, thermal_vias={"count": [3, 3], "grid": [1, 1]}),
    dict(family="son", leads=6, pitch=0.4, body=1.2, pull_back=0.05, lead_width="0.13 .. 0.23",
         lead_length="0.15 .. 0.25", exposed_pad=["0.2 .. 0.4", "0.84 .. 1.04"]),
    dict(family="qfn", leads_per_side=[4, 6], pitch=0.5, body=["3 +/- 0.1", "4 +/- 0.1"],
         lead_width="0.18..0.3", lead_length="0.3..0.5", density="most"),
]

READ_BACK = r"""
import json, sys, pcbnew
lib = sys.argv[1]
out = {}
for name in sys.argv[2:]:
    fp = pcbnew.FootprintLoad(lib, name)
    pads = []
    for p in fp.Pads():
        pos, size = p.GetPosition(), p.GetSize()
        pads.append([p.GetNumber(), pos.x, pos.y, size.x, size.y, p.GetDrillSize().x,
                     int(p.GetProperty()), sorted(p.GetLayerSet().CuStack()), p.IsOnLayer(pcbnew.F_Paste),
                     p.IsOnLayer(pcbnew.F_Mask)])
    out[name] = {"pads": pads, "value": fp.GetValue(), "heatsink": int(pcbnew.PAD_PROP_HEATSINK)}
print(json.dumps(out))
"""


@pytest.fixture(scope="module")
def nolead_lib(tmp_path_factory):
    lib = tmp_path_factory.mktemp("nolead") / "KS_NoLead.pretty"
    lib.mkdir()
    results = [generate_footprint(s) for s in KICAD_SPECS]
    for r in results:
        assert r.report.ok, r.report.text()
        (lib / f"{r.geometry.name}.kicad_mod").write_text(r.text(), encoding="utf-8")
    return lib, results


@pytest.mark.kicad
def test_pcbnew_reads_pads_back(nolead_lib, pcbnew_python):
    lib, results = nolead_lib
    got = run_pcbnew(pcbnew_python, READ_BACK, str(lib), *[r.geometry.name for r in results])
    for r in results:
        fp = r.geometry
        back = got[fp.name]
        assert back["value"] == fp.name
        ours = []
        for g in fp.pads:
            for n, x, y in zip(g.names, g.x.tolist(), g.y.tolist()):
                ours.append((n, round(x * 1e6), round(y * 1e6), round(g.size[0] * 1e6), round(g.size[1] * 1e6),
                             round((g.drill or 0) * 1e6), "pad_prop_heatsink" in g.properties,
                             "F.Paste" in g.layers, "F.Mask" in g.layers))
        theirs = [(p[0], p[1], p[2], p[3], p[4], p[5], p[6] == back["heatsink"], p[8], p[9]) for p in back["pads"]]
        assert sorted(theirs) == sorted(ours), fp.name


@pytest.mark.kicad
def test_kicad_cli_fp_upgrade_parses(nolead_lib, kicad_cli, tmp_path):
    lib, results = nolead_lib
    out = tmp_path / "up.pretty"
    r = subprocess.run([kicad_cli, "fp", "upgrade", str(lib), "-o", str(out), "--force"], capture_output=True,
                       text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    names = sorted(p.stem for p in out.glob("*.kicad_mod"))
    assert names == sorted(x.geometry.name for x in results)
    for p in out.glob("*.kicad_mod"):
        fp = next(x for x in results if x.geometry.name == p.stem).geometry
        assert p.read_text().count('(pad "') == fp.pad_count
