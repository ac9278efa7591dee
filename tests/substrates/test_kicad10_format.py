"""Writing for KiCad 10 (``--kicad 10``, format 20260206) beside KiCad 9 (``--kicad 9``, format 20241229).

For 10: nets by name (no net table), IPC-4761 via protection in the setup, stacked microvias and vias in
pads filled and capped (Type VII, ``(capping yes) (filling yes)``), inner-only vias ``buried``. For 9:
today's format, none of that. KiCad 10 reads the protection back and passes the boards (0 errors, 0
unconnected: ``test_every_family``); KiCad 9 refuses a 10 file. ``--kicad`` defaults to the major
version of the kicad-cli on PATH, else 9.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from conftest import EXAMPLES, KICAD_MAJOR, run_pcbnew
from kisubstrate.api.footprint import build_footprints, footprint_files
from kisubstrate.api.specs import load_specs
from kisubstrate.api.substrate import build_substrate, has_substrate, substrate_files
from kisubstrate.geometry.protection import protected_vias
from kisubstrate.kicad.layers import LayerMap
from kisubstrate.kicad.sexpr import find_all, loads
from kisubstrate.kicad.target import check_kicad
from kisubstrate.model.errors import SpecError
from stack_util import write_files

SUBSTRATES = [(ls.spec, f"{Path(ls.file).stem}:{ls.spec.resolved_name}")
              for path in sorted(EXAMPLES.glob("*.yaml")) for ls in load_specs([path]) if has_substrate(ls.spec)]


def _board(files: dict[str, str]) -> list:
    return loads(next(text for name, text in files.items() if name.endswith(".kicad_pcb")))


def _vias(tree: list) -> list[dict]:
    out = []
    for v in (n for n in tree[1:] if isinstance(n, list) and n[:1] == ["via"]):
        kids = {n[0]: n[1:] for n in v if isinstance(n, list)}
        out.append({"word": v[1] if isinstance(v[1], str) else "", "layers": tuple(kids["layers"]),
                    "filling": kids.get("filling"), "capping": kids.get("capping"), "net": kids["net"]})
    return out


def _stacked_micro(board) -> list[bool]:
    """Our own reading of a stacked microvia: a microvia with another via on its centre, end to end."""
    v = board.vias
    at = {}
    for i in range(len(v)):
        at.setdefault((round(float(v.x[i]), 6), round(float(v.y[i]), 6)), []).append(i)
    out = [False] * len(v)
    for group in at.values():
        for a in group:
            for b in group:
                if v.kind[a] == "micro" and (v.bottom[a] == v.top[b] or v.top[a] == v.bottom[b]):
                    out[a] = True
    return out


@pytest.mark.parametrize("spec,label", SUBSTRATES, ids=[label for _, label in SUBSTRATES])
def test_kicad10_boards_carry_via_protection_on_stacked_microvias(spec, label):
    result = build_substrate(spec)
    b = result.board
    ten, nine = _board(substrate_files(result, kicad=10)), _board(substrate_files(result, kicad=9))
    assert next(find_all(ten, "version"))[1] == "20260206" and next(find_all(nine, "version"))[1] == "20241229"
    # setup: IPC-4761 defaults spelled out (10) / the legacy tenting form (9)
    setup10 = next(find_all(ten, "setup"))
    assert ["tenting", ["front", "yes"], ["back", "yes"]] in setup10 and ["capping", "no"] in setup10 \
        and ["filling", "no"] in setup10 and ["covering", ["front", "no"], ["back", "no"]] in setup10
    assert ["tenting", "front", "back"] in next(find_all(nine, "setup"))
    # nets: a table for 9, names where used for 10
    assert not [n for n in ten[1:] if isinstance(n, list) and n[:1] == ["net"]]
    assert len([n for n in nine[1:] if isinstance(n, list) and n[:1] == ["net"]]) == len(b.nets)
    vias10, vias9 = _vias(ten), _vias(nine)
    assert len(vias10) == len(vias9) == len(b.vias)
    protect = protected_vias(b).tolist()
    stacked = _stacked_micro(b)
    if "micro" in b.vias.kind:  # build-up and wafer stack: microvia columns
        assert any(stacked), f"{label}: no stacked microvia"
    lm = LayerMap(b.copper)
    outer = {"F.Cu", "B.Cu"}
    for i, (v10, v9) in enumerate(zip(vias10, vias9)):
        assert v10["net"] == [b.nets[int(b.vias.net[i])]] and v9["net"] == [str(int(b.vias.net[i]))]
        if stacked[i]:
            assert protect[i], (label, i)
        if protect[i]:
            assert v10["filling"] == ["yes"] and v10["capping"] == ["yes"], (label, i, v10)
        else:
            assert v10["filling"] is None and v10["capping"] is None  # inherits the setup
        assert v9["filling"] is None and v9["capping"] is None
        inner_only = not set(v10["layers"]) & outer
        if v10["word"] in ("blind", "buried"):
            assert v10["word"] == ("buried" if inner_only else "blind"), (label, v10)
        assert v9["word"] != "buried"
        assert v10["layers"] == (lm.name(int(b.vias.top[i])), lm.name(int(b.vias.bottom[i])))


def test_via_in_pad_is_protected_and_a_lone_via_is_not():
    from stack_util import small_board

    bb = small_board(4)
    n = bb.net("S")
    bb.pad("BALLS", "A1", 1.0, 1.0, 0.4, layer=3, net=n)
    bb.via(1.1, 1.0, 0.2, 0.1, 0, 3, net=n, kind="through")          # in the land, other end
    bb.via(-1.0, 0.0, 0.12, 0.06, 1, 2, net=n, kind="micro")         # alone on inner layers
    bb.pad("BALLS", "A2", -1.0, -1.0, 0.4, layer=3, net=bb.net("T"))
    bb.via(-1.0, -1.0, 0.12, 0.06, 2, 3, net=n, kind="micro")        # in a land of another net: not ours
    assert protected_vias(bb.build()).tolist() == [True, False, False]


def test_kicad_target_is_9_or_10():
    assert check_kicad("9") == 9 and check_kicad(10) == 10
    for bad in (8, "11", "x", None):
        with pytest.raises(SpecError, match="write for 9 or 10"):
            check_kicad(bad)


def test_footprints_for_kicad10_only_change_version_and_path_variables(tmp_path):
    spec = load_specs([EXAMPLES / "bga.yaml"])[0].spec
    results = build_footprints(spec)
    nine = dict(footprint_files(results, tmp_path / "L.pretty", models="stock", kicad=9))
    ten = dict(footprint_files(results, tmp_path / "L.pretty", models="stock", kicad=10))
    assert sorted(nine) == sorted(ten)
    for path, text in nine.items():
        if path.suffix != ".kicad_mod":
            assert ten[path] == text
            continue
        assert "(version 20241229)" in text and "${KICAD9_3DMODEL_DIR}" in text
        assert ten[path] == text.replace("(version 20241229)", "(version 20260206)").replace(
            "${KICAD9_3DMODEL_DIR}", "${KICAD10_3DMODEL_DIR}")


def _fake_kicad_cli(folder: Path, version: str) -> Path:
    fake = folder / "kicad-cli"
    folder.mkdir(parents=True, exist_ok=True)
    fake.write_text(f"#!/bin/sh\necho {version}\n")
    fake.chmod(0o755)
    return folder


@pytest.mark.parametrize("installed,expected", [("10.0.6", "20260206"), ("9.0.8", "20241229"), (None, "20241229")])
def test_cli_kicad_defaults_to_the_installed_kicad_cli(installed, expected, tmp_path, cli_runner, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    path = f"{_fake_kicad_cli(tmp_path / 'bin', installed)}:/usr/bin:/bin" if installed else str(tmp_path)
    monkeypatch.setenv("PATH", path)
    for _ in range(2):  # the second run answers from the cache
        code, out, err = cli_runner("substrate", EXAMPLES / "buildup.yaml", "-o", tmp_path / "o", "--force")
        assert code == 0, err
        pcb = next((tmp_path / "o").glob("*.kicad_pcb")).read_text()
        assert f"(version {expected})" in pcb
    if installed:
        assert installed in (tmp_path / "cache" / "kisubstrate" / "kicad-cli-version.json").read_text()
    code, _out, _err = cli_runner("substrate", EXAMPLES / "buildup.yaml", "-o", tmp_path / "o", "--force",
                                  "--kicad", "9")
    assert code == 0 and "(version 20241229)" in next((tmp_path / "o").glob("*.kicad_pcb")).read_text()


@pytest.mark.parametrize("command", ["footprint", "substrate", "panel", "wafer", "library", "demo"])
def test_cli_refuses_other_kicad_releases(command, tmp_path, cli_runner):
    args = {"footprint": [EXAMPLES / "bga.yaml", "-o", tmp_path / "L.pretty"],
            "substrate": [EXAMPLES / "buildup.yaml", "-o", tmp_path],
            "panel": [EXAMPLES / "buildup.yaml", "-o", tmp_path],
            "wafer": [EXAMPLES / "wafer_stack.yaml", "-o", tmp_path],
            "library": [EXAMPLES / "bga.yaml", "-o", tmp_path],
            "demo": ["-o", tmp_path]}[command]
    code, out, err = cli_runner(command, *args, "--kicad", "8")
    assert code == 2 and "'--kicad'" in err and "'8' is not one of '9', '10'" in err, err
    assert not list(tmp_path.rglob("*.kicad_*"))


READ_PROTECTION = r"""
import json, sys
b = pcbnew.LoadBoard(sys.argv[1])
out = []
for t in b.GetTracks():
    if t.GetClass() == "PCB_VIA":
        out.append([VIA_KINDS[int(t.GetViaType())], int(t.GetFillingMode()) == int(pcbnew.FILLING_MODE_FILLED),
                    int(t.GetCappingMode()) == int(pcbnew.CAPPING_MODE_CAPPED), t.GetNetname(),
                    round(pcbnew.ToMM(t.GetPosition().x), 6), round(pcbnew.ToMM(t.GetPosition().y), 6)])
print(json.dumps(sorted(out, key=lambda v: (v[4], v[5], v[0]))))
"""


@pytest.mark.kicad
def test_kicad10_reads_the_protection_back_and_kicad9_refuses_the_file(kicad_cli, pcbnew_python, tmp_path):
    """KiCad 10 loads a ``--kicad 10`` board with every protected via filled and capped, the others not,
    inner-only vias buried; KiCad 9 cannot read the format (it says so and exits non-zero)."""
    spec = load_specs([EXAMPLES / "wafer_stack.yaml"])[0].spec
    result = build_substrate(spec)
    pcb = write_files(substrate_files(result, kicad=10), tmp_path)
    if KICAD_MAJOR == 9:
        r = subprocess.run([kicad_cli, "pcb", "drc", "-o", str(tmp_path / "drc.rpt"), str(pcb)],
                           capture_output=True, text=True, timeout=300)
        assert r.returncode != 0 and "load" in (r.stdout + r.stderr).lower(), (r.returncode, r.stdout, r.stderr)
        return
    got = run_pcbnew(pcbnew_python, READ_PROTECTION, str(pcb))
    b = result.board
    lm = LayerMap(b.copper)
    protect = protected_vias(b).tolist()
    want = []
    for i in range(len(b.vias)):
        top, bot = int(b.vias.top[i]), int(b.vias.bottom[i])
        kind = b.vias.kind[i]
        if kind == "micro" and not lm.adjacent(top, bot):
            kind = "blind"
        if kind == "blind" and top != 0 and bot != b.copper - 1:
            kind = "buried"
        want.append([kind, protect[i], protect[i], b.nets[int(b.vias.net[i])],
                     round(float(b.vias.x[i]), 6), round(float(b.vias.y[i]), 6)])
    assert got == sorted(want, key=lambda v: (v[4], v[5], v[0]))
    assert {v[0] for v in got} >= {"micro", "buried", "through"}
    assert json.dumps(got).count("true") > 0
