"""Filled and capped vias (IPC-4761 Type VII) in every family's project files, driven by
:func:`kisubstrate.geometry.protection.protected_vias`: the ``VIA PROTECTION`` fab note counts them,
the KiCad 10 board flags each, and the ``.kicad_dru`` rules ``via_fill_*`` load and fire in KiCad."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from conftest import EXAMPLES
from kisubstrate.api.specs import load_specs
from kisubstrate.api.substrate import build_substrate, has_substrate, substrate_files
from kisubstrate.geometry.protection import _in_pad, _stacked, protected_vias
from kisubstrate.kicad.board import item_uuid
from kisubstrate.kicad.sexpr import find_all, loads
from stack_util import kicad_drc, write_files

NOTE = re.compile(r"^VIA PROTECTION: (\d+) via\(s\) copper filled and capped \(IPC-4761 Type VII\): (\d+) "
                  r"via-in-pad, (\d+) in stacked microvia columns", re.M)
CAVITY_OPEN = Path(__file__).parent / "data" / "cavity_open.yaml"


def substrate_specs():
    out = []
    for f in sorted(EXAMPLES.glob("*.yaml")):
        for k, ls in enumerate(load_specs([f])):
            if has_substrate(ls.spec):
                out.append(pytest.param(ls.spec, id=f"{f.stem}-{k}"))
    return out


@pytest.mark.parametrize("spec", substrate_specs())
def test_fab_note_counts_are_protected_vias(spec):
    """Every example: the note's counts are protected_vias' (total, in a pad, stacked), the KiCad 10 board
    flags exactly that many vias, the .kicad_dru comments list them per span; no protected via, no note."""
    result = build_substrate(spec, check=False)
    b = result.board
    total, in_pad, stacked = int(protected_vias(b).sum()), int(_in_pad(b).sum()), int(_stacked(b).sum())
    files = substrate_files(result)
    notes = files.get(f"{b.name}-fab-notes.txt", "")
    dru = files[f"{b.name}.kicad_dru"]
    if not total:
        assert "VIA PROTECTION" not in notes and "via_fill_" not in dru
        return
    got = [tuple(int(x) for x in m) for m in NOTE.findall(notes)]
    assert got == [(total, in_pad, stacked)]
    assert notes.endswith("bound the filled drill per via span.\n") and notes.count("VIA PROTECTION") == 1
    per_span = [int(n) for n in re.findall(r"^# \S+-\S+: (\d+) of \d+ via\(s\) filled and capped", dru, re.M)]
    assert sum(per_span) == total and dru.count('(rule "via_fill_') == len(per_span)
    assert substrate_files(result, kicad=10)[f"{b.name}.kicad_pcb"].count("(capping yes) (filling yes)") == total
    # the same line drawn on User.2 ("Fab.Notes"), the last text there: under the family's note, same x and height
    tree = loads(files[f"{b.name}.kicad_pcb"])
    texts = [(t[1], [float(v) for v in next(find_all(t, "at"))[1:3]]) for t in find_all(tree, "gr_text")
             if next(find_all(t, "layer"))[1] == "User.2"]
    assert texts[-1][0] == notes.splitlines()[-1]
    if len(texts) > 1:
        assert texts[-1][1][0] == texts[-2][1][0] and texts[-1][1][1] > max(y for _t, (_x, y) in texts[:-1])
    else:  # a family without a note: right of the outline
        assert texts[-1][1][0] > b.outline.bounds[2]
    assert any(lay[1] == "User.2" and str(lay[-1]) == "Fab.Notes" for lay in next(find_all(tree, "layers"))[1:])
    assert substrate_files(build_substrate(spec, check=False)) == files  # byte-identical on re-run


def test_known_counts():
    """The real numbers of three examples (stacked columns and via-in-pad overlap on the build-up)."""
    def counts(name):
        spec = load_specs([EXAMPLES / f"{name}.yaml"])[0].spec
        result = build_substrate(spec, check=False)
        return tuple(int(x) for x in NOTE.search(substrate_files(result)[f"{result.name}-fab-notes.txt"]).groups())
    assert counts("buildup") == (720, 288, 638)
    assert counts("cavity") == (64, 64, 0)
    assert counts("wafer_stack") == (56, 56, 40)


@pytest.mark.kicad
@pytest.mark.parametrize("which", ["cavity_open", "buildup"])
def test_kicad_loads_the_rules_and_flags_a_wider_filled_via(kicad_cli, tmp_path, which):
    """The .kicad_dru still loads: clean as written; one protected via widened past its span's filled drill is
    reported by KiCad through rule via_fill_<top>_<bottom> (items_not_allowed, that via's uuid); without the
    .kicad_dru nothing reports it."""
    spec = load_specs([CAVITY_OPEN if which == "cavity_open" else EXAMPLES / "buildup.yaml"])[0].spec
    result = build_substrate(spec)
    b = result.board
    pcb = write_files(substrate_files(result), tmp_path / which)
    report = kicad_drc(kicad_cli, pcb)
    assert report["violations"] == [] and report["unconnected_items"] == []
    i = int(protected_vias(b).nonzero()[0][0])
    uid = item_uuid(b.name, b.vias.key(i))
    text = pcb.read_text()
    line = next(x for x in text.splitlines() if f'"{uid}"' in x)
    drill = float(re.search(r"\(drill ([\d.]+)\)", line).group(1))
    wider = line.replace(f"(drill {drill:g})", f"(drill {drill + 0.005:g})")
    assert wider != line
    pcb.write_text(text.replace(line, wider))
    hits = [v for v in kicad_drc(kicad_cli, pcb)["violations"] if v["type"] == "items_not_allowed"]
    assert len(hits) == 1 and "via_fill_" in hits[0]["description"], hits
    assert [it["uuid"] for it in hits[0]["items"]] == [uid]
    pcb.with_suffix(".kicad_dru").unlink()
    assert not [v for v in kicad_drc(kicad_cli, pcb)["violations"] if v["type"] == "items_not_allowed"]
