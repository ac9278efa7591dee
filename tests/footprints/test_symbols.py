"""Schematic symbols of packages with a ball map: pins, types, grouping, fields, and KiCad loading them.

KiCad is the oracle: ``kicad-cli sym upgrade --force`` re-saves our library byte for byte (but for
the generator lines) and ``kicad-cli sym export svg`` plots it, with the KiCad on PATH and with
KiCad 10 in its chroot (/opt/kicad10) when there is one.
"""

from __future__ import annotations

import csv
import os
import re
import shutil
import subprocess
import time
from collections import Counter
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import EXAMPLES, ROOT
from kisubstrate.api.footprint import build_footprints
from kisubstrate.api.specs import load_specs, validate_spec
from kisubstrate.api.substrate import build_substrate
from kisubstrate.api.symbols import footprint_symbol, substrate_symbol, symbol_library_text
from kisubstrate.geometry.symbol import GRID, build_symbol, natural_key, pin_kind
from kisubstrate.kicad.sexpr import find_all, loads
from kisubstrate.kicad.symbol import write_symbol_library

DDR3_MAP = ROOT / "footprints" / "ballmaps" / "DDR3_x16_FBGA-96.csv"
DDR3 = {"family": "bga", "name": "BGA-96_8.0x14.0mm_Layout9x16_P0.8mm_Ball0.45mm_Pad0.36mm_NSMD_DDR3x16", "body": [8.0, 14.0],
        "pitch": 0.8, "layout": [9, 16], "missing": ["A4:T6"], "ball_diameter": 0.45,
        "ball_map": str(DDR3_MAP), "source": "JESD79-3 DDR3 x16 ballout"}
KICAD10_ROOT = Path("/opt/kicad10")


def _csv(path: Path) -> dict[str, str]:
    rows = [r for r in csv.reader(path.read_text().splitlines()) if r and not r[0].startswith("#")]
    return {b: n for b, n in rows[1:]}


def _read_pins(text: str) -> list[dict]:
    """Every pin of a .kicad_sym text: number, name, type, x, y, angle, hidden."""
    out = []
    for p in find_all(loads(text), "pin"):
        if len(p) < 3 or p[2] != "line":
            continue
        at = next(c for c in p if isinstance(c, list) and c[0] == "at")
        kids = {c[0]: c for c in p if isinstance(c, list)}
        out.append({"number": kids["number"][1], "name": kids["name"][1], "type": p[1], "x": float(at[1]),
                    "y": float(at[2]), "angle": int(at[3]), "hidden": "hide" in kids})
    return out


def _fields(text: str) -> dict[str, str]:
    return {p[1]: p[2] for p in find_all(loads(text), "property")}


# -- names and kinds -----------------------------------------------------------------------------
@pytest.mark.parametrize("net, kind", [
    ("GND", "ground"), ("VSS", "ground"), ("VSSQ", "ground"), ("AGND", "ground"), ("/PWR/GND", "ground"),
    ("VDD", "supply"), ("VDDQ", "supply"), ("VCC_IO", "supply"), ("V_{DDQ}", "supply"), ("+3V3", "supply"),
    ("VREFCA", "supply"), ("VDD_CORE", "supply"),
    ("V_{DDQ}_SENSE0", "signal"), ("VDD_EN", "signal"), ("DQ0", "signal"), ("/DDR/DQ0", "signal"),
    ("SPI 0", "signal"), ("GNDSENSE_N", "signal"), ("VDDSNS", "signal"), ("VIDEO_R", "signal"),
    ("NC", "nc"), ("", "nc"), ("DNC", "nc"), ("NC_3", "nc"),
])
def test_pin_kind_of_net_names(net, kind):
    assert pin_kind(net) == kind


def test_natural_order():
    names = ["DQ10", "DQ1", "DQ2", "A10", "A2", "B1", "DQ0"]
    assert sorted(names, key=natural_key) == ["A2", "A10", "B1", "DQ0", "DQ1", "DQ2", "DQ10"]


# -- a vendor-style ball map: the library's DDR3 x16 ----------------------------------------------
@pytest.fixture(scope="module")
def ddr3():
    res = build_footprints(validate_spec(DDR3))[0]
    return res, footprint_symbol(res, "kisubstrate_Packages")


def test_ddr3_pins_are_the_balls_named_by_net(ddr3):
    res, sym = ddr3
    nets = _csv(DDR3_MAP)
    assert len(sym.pins) == len(nets) == res.geometry.pad_count == 96
    assert {p.number for p in sym.pins} == {r[0] for r in res.geometry.pad_table()} == set(nets)
    assert all(p.name == nets[p.number].replace(" ", "_") for p in sym.pins)
    kinds = Counter(p.etype for p in sym.pins)
    # 50 signals, 5 NC; VDD, VDDQ, VREFCA, VREFDQ, VSS, VSSQ visible power inputs, the other 35 balls stacked
    assert kinds == {"bidirectional": 50, "no_connect": 5, "power_in": 6, "passive": 35}
    assert sum(p.hidden for p in sym.pins) == 35 and all(p.etype == "passive" for p in sym.pins if p.hidden)
    assert sym.footprint == "kisubstrate_Packages:BGA-96_8.0x14.0mm_Layout9x16_P0.8mm_Ball0.45mm_Pad0.36mm_NSMD_DDR3x16"
    assert sym.datasheet == "JESD79-3 DDR3 x16 ballout"


def test_ddr3_ground_at_the_bottom_supplies_on_top_signals_left_and_right_in_natural_order(ddr3):
    _, sym = ddr3
    x0, y0, x1, y1 = sym.body
    by_name: dict[str, list] = {}
    for p in sym.pins:
        by_name.setdefault(p.name, []).append(p)
    for name in ("VSS", "VSSQ"):  # every ground ball stacked on one bottom pin pointing up
        pins = by_name[name]
        assert len({(p.x, p.y) for p in pins}) == 1 and pins[0].angle == 90 and pins[0].y == round(y1 - GRID, 6)
        assert [p.hidden for p in pins] == [False] + [True] * (len(pins) - 1)
    assert len(by_name["VSS"]) + len(by_name["VSSQ"]) == 21
    for name in ("VDD", "VDDQ", "VREFCA", "VREFDQ"):
        assert {(p.angle, p.y) for p in by_name[name]} == {(270, round(y0 + GRID, 6))}
    assert len(by_name["VDD"]) + len(by_name["VDDQ"]) == 18
    left = [p for p in sym.pins if p.angle == 0]
    right = [p for p in sym.pins if p.angle == 180]
    assert abs(len(left) - len(right)) <= 1 and all(p.x == round(x0 - GRID, 6) for p in left)
    signals = [p.name for p in left + right if p.etype == "bidirectional"]
    assert signals == sorted(signals, key=natural_key)
    assert signals[:3] == ["A0", "A1", "A2"] and signals.index("A10/AP") == signals.index("A9") + 1
    assert [p.name for p in right if p.etype == "no_connect"] == ["NC"] * 5
    # pins never share a place unless they are one net's stack; every pin end is on the 100 mil grid
    spots = Counter((p.x, p.y) for p in sym.pins if not p.hidden)
    assert max(spots.values()) == 1
    assert all(abs(v / GRID - round(v / GRID)) < 1e-9 for p in sym.pins for v in (p.x, p.y))


def test_symbol_file_round_trips_names_and_fields(ddr3):
    _, sym = ddr3
    text = write_symbol_library([sym])
    pins = _read_pins(text)
    assert sorted((p["number"], p["name"], p["type"], p["hidden"]) for p in pins) == \
        sorted((p.number, p.name, p.etype, p.hidden) for p in sym.pins)
    f = _fields(text)
    assert f["Reference"] == "U" and f["Value"] == sym.name and f["Footprint"] == sym.footprint
    assert f["Datasheet"] == "JESD79-3 DDR3 x16 ballout" and "96-terminal" in f["Description"]
    assert write_symbol_library([sym]) == text  # deterministic


def test_free_text_net_names_are_quoted():
    names = ['V_{DDQ}', "/DDR/DQ0", "SPI 0", 'say "hi"', "back\\slash", "~{RESET}"]
    sym = build_symbol("Q", [f"A{i + 1}" for i in range(len(names))], names, footprint="L:Q")
    got = {p["number"]: p["name"] for p in _read_pins(write_symbol_library([sym]))}
    assert got == {f"A{i + 1}": n.replace(" ", "_") for i, n in enumerate(names)}


# -- substrate examples: pins named by the routed nets ------------------------------------------
@pytest.mark.parametrize("example", ["buildup", "cavity", "pop", "wafer_stack"])
def test_substrate_symbol_pins_are_its_balls(example):
    spec = load_specs([EXAMPLES / f"{example}.yaml"])[0].spec
    result = build_substrate(spec, check=False)
    sym = substrate_symbol(result, "Lib")
    fp = build_footprints(spec, check=False)[0].geometry
    b = result.board
    balls = {b.pads.name[i]: b.nets[int(b.pads.net[i])] for i in range(len(b.pads)) if b.pads.owner[i] == "BALLS"}
    assert sym.name == fp.name and sym.footprint == f"Lib:{fp.name}"
    assert {p.number for p in sym.pins} == set(balls) == {r[0] for r in fp.pad_table()}
    for p in sym.pins:
        assert p.etype == "no_connect" if not balls[p.number] else p.name == balls[p.number].replace(" ", "_")
    assert sum(p.etype == "no_connect" for p in sym.pins) == sum(1 for n in balls.values() if not n)


def test_a_footprint_without_nets_has_no_symbol():
    res = build_footprints(load_specs([EXAMPLES / "bga.yaml"])[0].spec)[0]
    assert footprint_symbol(res, "L") is None and symbol_library_text([None]) is None


# -- commands ------------------------------------------------------------------------------------------
def test_footprint_command_writes_the_symbol_library_beside_the_pretty(tmp_path, cli_runner):
    spec = tmp_path / "ddr3.yaml"
    shutil.copy(DDR3_MAP, tmp_path / "map.csv")
    spec.write_text("packages:\n  - {family: bga, name: DDR3_Test, body: [8, 14], pitch: 0.8, layout: [9, 16],\n"
                    "     missing: ['A4:T6'], ball_diameter: 0.45, ball_map: map.csv, source: 'https://x/ds.pdf'}\n")
    out = tmp_path / "out" / "Mem.pretty"
    code, stdout, err = cli_runner("footprint", spec, EXAMPLES / "lga.yaml", "-o", out)
    assert code == 0, stdout + err
    sym = out.parent / "Mem.kicad_sym"
    assert f"wrote {sym}" in stdout
    text = sym.read_text()
    assert [s[1] for s in loads(text) if isinstance(s, list) and s[0] == "symbol"] == ["DDR3_Test"]  # LGA: no map
    assert _fields(text)["Footprint"] == "Mem:DDR3_Test" and _fields(text)["Datasheet"] == "https://x/ds.pdf"
    assert len(_read_pins(text)) == 96
    before = sym.stat().st_mtime_ns
    assert cli_runner("footprint", spec, EXAMPLES / "lga.yaml", "-o", out)[0] == 0
    assert sym.read_text() == text and sym.stat().st_mtime_ns == before  # same bytes: not rewritten
    # no package with a ball map: no symbol library
    code, _, _ = cli_runner("footprint", EXAMPLES / "lga.yaml", "-o", tmp_path / "o2" / "L.pretty")
    assert code == 0 and not (tmp_path / "o2" / "L.kicad_sym").exists()


def test_substrate_command_writes_the_package_symbols(tmp_path, cli_runner):
    out = tmp_path / "sub"
    code, stdout, err = cli_runner("substrate", EXAMPLES / "buildup.yaml", "-o", out, "--footprint-lib", "Subs")
    assert code == 0, stdout + err
    text = (out / "Subs.kicad_sym").read_text()
    assert _fields(text)["Footprint"] == "Subs:BUILDUP-196_15.0x15.0mm_Die6.0x6.0mm_6L_P1.0mm_Footprint"
    assert len(_read_pins(text)) == 196
    code, _, err = cli_runner("substrate", EXAMPLES / "buildup.yaml", "-o", tmp_path / "bad", "--footprint-lib", "a:b")
    assert code == 2 and "--footprint-lib" in err and not (tmp_path / "bad").exists()


def test_library_export_and_pcm_tree_carry_the_symbols(tmp_path, cli_runner):
    lib = tmp_path / "lib.yaml"
    shutil.copy(DDR3_MAP, tmp_path / "map.csv")
    lib.write_text("library: Mem_Lib\npcm_id: com.example.mem\nsections:\n  - title: Memory\n    family: bga\n"
                   "    packages:\n      - {name: DDR3_Test, body: [8, 14], pitch: 0.8, layout: [9, 16], "
                   "missing: ['A4:T6'], ball_diameter: 0.45, ball_map: map.csv}\n")
    out = tmp_path / "out"
    code, stdout, err = cli_runner("library", lib, "-o", out, "--no-renders", "-q")
    assert code == 0, stdout + err
    assert _fields((out / "Mem_Lib.kicad_sym").read_text())["Footprint"] == "Mem_Lib:DDR3_Test"
    assert '(uri "${KIPRJMOD}/Mem_Lib.kicad_sym")' in (out / "sym-lib-table").read_text()
    code, stdout, err = cli_runner("library", lib, "-o", tmp_path / "pcm", "--pcm", "-q")
    assert code == 0, stdout + err
    text = (tmp_path / "pcm" / "symbols" / "Mem_Lib.kicad_sym").read_text()
    assert _fields(text)["Footprint"] == "PCM_Mem_Lib:DDR3_Test"


def test_the_committed_library_has_the_ddr3_symbol():
    lib = ROOT / "footprints" / "kisubstrate_Packages"
    text = (lib / "kisubstrate_Packages.kicad_sym").read_text()
    assert _fields(text)["Footprint"] == "kisubstrate_Packages:BGA-96_8.0x14.0mm_Layout9x16_P0.8mm_Ball0.45mm_Pad0.36mm_NSMD_DDR3x16"
    assert (lib / "kisubstrate_Packages.pretty" / "BGA-96_8.0x14.0mm_Layout9x16_P0.8mm_Ball0.45mm_Pad0.36mm_NSMD_DDR3x16.kicad_mod").is_file()
    assert "kisubstrate_Packages.kicad_sym" in (lib / "sym-lib-table").read_text()


# -- KiCad reads it back ---------------------------------------------------------------------------
def _oracles(kicad_cli_path: str | None) -> list[tuple[str, list[str], Path]]:
    """(label, kicad-cli command prefix, scratch root) for the KiCad on PATH and KiCad 10's chroot."""
    out = []
    if kicad_cli_path:
        out.append(("path", [kicad_cli_path], Path("/")))
    if (KICAD10_ROOT / "usr" / "bin" / "kicad-cli").exists() and os.geteuid() == 0 and shutil.which("chroot"):
        out.append(("kicad10-chroot", ["chroot", str(KICAD10_ROOT), "kicad-cli"], KICAD10_ROOT))
    return out


@pytest.fixture(scope="module")
def flipchip_library():
    """The FCBGA-400 example's ball map (GND on 104 balls, free-text names) + the DDR3 part, as one library."""
    nets = _csv(EXAMPLES / "flipchip_balls.csv")
    fc = build_symbol("FCBGA-400", list(nets), list(nets.values()), footprint="L:FCBGA-400", datasheet="x")
    ddr = footprint_symbol(build_footprints(validate_spec(DDR3))[0], "L")
    return write_symbol_library([fc, ddr])


@pytest.mark.kicad
@pytest.mark.parametrize("oracle", ["path", "kicad10-chroot"])
def test_kicad_resaves_and_plots_the_symbols(oracle, kicad_cli, flipchip_library, tmp_path_factory):
    found = {label: (cmd, root) for label, cmd, root in _oracles(kicad_cli)}
    if oracle not in found and kicad_cli and subprocess.run([kicad_cli, "version"], capture_output=True,
                                                            text=True).stdout.startswith("10."):
        found[oracle] = found["path"]  # KiCad 10's own pass (CI in the chroot): the KiCad on PATH is 10
    if oracle not in found:
        pytest.skip(f"no {oracle} KiCad (KiCad 10 runs from its chroot at {KICAD10_ROOT} as root)")
    cmd, root = found[oracle]
    work = Path(tmp_path_factory.mktemp("sym", numbered=True)) if root == Path("/") else \
        Path(root / "tmp" / f"kisubstrate-sym-{os.getpid()}")
    work.mkdir(parents=True, exist_ok=True)
    try:
        inside = Path("/") / work.relative_to(root)
        (work / "P.kicad_sym").write_text(flipchip_library)
        r = subprocess.run(cmd + ["sym", "upgrade", "--force", str(inside / "P.kicad_sym"), "-o",
                                  str(inside / "up.kicad_sym")], capture_output=True, text=True, timeout=300)
        assert r.returncode == 0, r.stderr
        up = (work / "up.kicad_sym").read_text()
        pins = _read_pins(up)
        assert len(pins) == 400 + 96 and sum(p["hidden"] for p in pins) == 103 + 31 + 23 + 35  # GND, VDD_CORE, VDD_IO, DDR3
        assert sorted((p["number"], p["name"], p["type"], p["x"], p["y"]) for p in pins) == \
            sorted((p["number"], p["name"], p["type"], p["x"], p["y"]) for p in _read_pins(flipchip_library))
        if "version 20241209" in up:  # KiCad 9 re-saves our file unchanged but for who generated it
            strip = lambda t: re.sub(r'\(generator(_version)? "[^"]*"\)', "", t)  # noqa: E731
            assert strip(up) == strip(flipchip_library)
        r = subprocess.run(cmd + ["sym", "export", "svg", str(inside / "P.kicad_sym"), "-o", str(inside / "svg")],
                           capture_output=True, text=True, timeout=300)
        assert r.returncode == 0, r.stderr
        svgs = sorted((work / "svg").glob("*.svg"))
        assert [s.name for s in svgs] == ["BGA-96_8.0x14.0mm_Layout9x16_P0.8mm_Ball0.45mm_Pad0.36mm_NSMD_DDR3x16_unit1.svg",
                                          "FCBGA-400_unit1.svg"]
        assert all(s.stat().st_size > 50_000 and "<svg" in s.read_text()[:500] for s in svgs)
    finally:
        if root != Path("/"):
            shutil.rmtree(work, ignore_errors=True)


# -- properties and scale ------------------------------------------------------------------------------------
NETS = st.sampled_from(["GND", "VSS", "VDD", "VDDQ", "+3V3", "NC", "", "DQ0", "DQ1", "DQ10", "CLK", "A 1",
                        "/X/Y", "RESET#"])


@settings(max_examples=60, deadline=None)
@given(st.lists(NETS, min_size=1, max_size=80))
def test_symbol_invariants(nets):
    balls = [f"{'ABCDEFGH'[i // 10]}{i % 10 + 1}" for i in range(len(nets))]
    sym = build_symbol("P", balls, nets, footprint="L:P")
    x0, y0, x1, y1 = sym.body
    assert sorted(p.number for p in sym.pins) == sorted(balls)
    spots: dict[tuple, list] = {}
    for p in sym.pins:
        spots.setdefault((p.x, p.y), []).append(p)
        assert abs(p.x / GRID - round(p.x / GRID)) < 1e-9 and abs(p.y / GRID - round(p.y / GRID)) < 1e-9
        assert not (x0 < p.x < x1 and y1 < p.y < y0)  # connection ends outside the body
    for stack in spots.values():  # one visible pin per place; a stack is one net, the others hidden passive
        assert sum(not p.hidden for p in stack) == 1 and len({p.name for p in stack}) == 1
        assert all(p.etype == "passive" for p in stack if p.hidden)
        assert len(stack) == 1 or stack[0].etype != "no_connect"
    for p in sym.pins:
        if not p.hidden:
            want = {"supply": 270, "ground": 90}.get(pin_kind("" if p.etype == "no_connect" else p.name))
            assert want is None or p.angle == want


def test_a_1024_ball_symbol_is_fast():
    balls = [f"{r}{c}" for r in ("A B C D E F G H J K L M N P R T U V W Y AA AB AC AD AE AF AG AH AJ AK AL AM"
                                 .split()) for c in range(1, 33)]
    nets = ["GND" if i % 5 == 0 else "VDD_CORE" if i % 11 == 0 else "NC" if i % 97 == 0 else f"IO_{i}"
            for i in range(len(balls))]
    t0 = time.perf_counter()
    text = write_symbol_library([build_symbol("BIG", balls, nets, footprint="L:BIG")])
    elapsed = time.perf_counter() - t0
    assert len(_read_pins(text)) == 1024
    assert elapsed < 1.0, f"{elapsed:.2f} s for 1024 balls"
