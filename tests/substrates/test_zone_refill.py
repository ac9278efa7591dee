"""KiCad's own zone filler agrees with the fills we write.

A user who refills the zones (``B`` in pcbnew, or before a DRC) must get the same copper: every
filled zone of every bundled substrate example is refilled by pcbnew's ``ZONE_FILLER``; each
refilled area is within 2 % of ours (pads join solidly, as our fill does: KiCad's default thermal
reliefs would cut it; an inner split-plane zone has the higher priority, or the zone whose outline
encloses it takes its area), and the refilled board still has 0 DRC errors and 0 unconnected items.
"""

from __future__ import annotations

import pytest

from conftest import example_files, run_pcbnew
from kisubstrate.api.specs import load_specs
from kisubstrate.api.substrate import build_substrate, substrate_files
from kisubstrate.families.registry import families
from stack_util import kicad_drc, write_files

NO_FILL = {"leadframe"}  # examples whose boards pour nothing (traces and pads only)

REFILL = r"""
import json, sys
b = pcbnew.LoadBoard(sys.argv[1])
pcbnew.ZONE_FILLER(b).Fill(b.Zones())
pcbnew.SaveBoard(sys.argv[1], b)
print(json.dumps({z.GetZoneName(): z.CalculateFilledArea() / 1e12 for z in b.Zones() if not z.GetIsRuleArea()}))
"""


def _substrates() -> list:
    fams = families()
    return [pytest.param(path, loaded.spec, id=path.stem) for path in example_files() for loaded in load_specs([path])
            if fams[loaded.spec.family].substrate is not None]


@pytest.mark.kicad
@pytest.mark.parametrize("path, spec", _substrates())
def test_kicad_refill_matches_our_fill(path, spec, pcbnew_python, kicad_cli, kicad_target, tmp_path):
    result = build_substrate(spec)
    ours = {z.name: z.fill.area for z in result.board.zones if z.keepout is None and z.fill is not None}
    assert bool(ours) == (path.stem not in NO_FILL), sorted(ours)
    if not ours:
        return
    pcb = write_files(substrate_files(result, kicad=kicad_target), tmp_path)
    theirs = run_pcbnew(pcbnew_python, REFILL, str(pcb))
    assert set(theirs) == set(ours)
    off = {n: (round(ours[n], 3), round(theirs[n], 3)) for n in ours
           if abs(theirs[n] - ours[n]) > 0.02 * max(ours[n], 1.0)}
    assert not off, f"zone: (our fill, KiCad's refill) mm2: {off}"
    rep = kicad_drc(kicad_cli, pcb)
    assert rep["violations"] == [] and rep["unconnected_items"] == [], (rep["violations"][:3],
                                                                         rep["unconnected_items"][:3])
