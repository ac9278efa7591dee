"""Every substrate family: the board's terminals and the board-side footprint agree (review item 5).

Viewing convention (kisubstrate.geometry.terminals): the board is the stack seen from F.Cu; the
terminals sit on the layer facing the PCB (B.Cu, or F.Cu for a ``flipped`` family); the footprint
has the board's terminals at the same (x, y), mirrored in x for a flipped family.
"""

from __future__ import annotations

import numpy as np
import pytest

from conftest import EXAMPLES
from kisubstrate.api import load_specs
from kisubstrate.families.registry import families

SUBSTRATE_FAMILIES = sorted(n for n, f in families().items() if f.substrate is not None)


def test_every_substrate_family_is_covered():
    assert {"buildup", "cavity", "pop", "wafer_stack", "leadframe"} <= set(SUBSTRATE_FAMILIES)
    assert families()["cavity"].flipped and families()["wafer_stack"].flipped
    assert not families()["buildup"].flipped and not families()["pop"].flipped


@pytest.mark.parametrize("name", SUBSTRATE_FAMILIES)
def test_board_terminals_match_footprint(name):
    fam = families()[name]
    spec = load_specs([EXAMPLES / f"{name}.yaml"])[0].spec
    board = fam.substrate(spec)
    fp = fam.footprint(spec)[0]
    p = board.pads
    owner = board.meta.get("terminal_owner", "BALLS")
    idx = [i for i in range(len(p)) if p.owner[i] == owner]
    assert idx, f"{name}: no terminal pads ({owner})"
    facing = 0 if fam.flipped else board.copper - 1
    assert {int(p.layer[i]) for i in idx} == {facing}, f"{name}: terminals not on the PCB-facing layer"
    bnames = [str(p.name[i]) for i in idx]
    bxy = np.array([(float(p.x[i]), float(p.y[i])) for i in idx])
    sign = -1.0 if fam.flipped else 1.0
    fnames = [n for g in fp.pads for n in g.names]
    fxy = np.array([(sign * float(x), float(y)) for g in fp.pads for x, y in zip(g.x, g.y)])
    # same names and count: every terminal once in the footprint
    assert sorted(n for n in fnames if n in set(bnames)) == sorted(bnames)
    # each terminal's nearest footprint pad (mirror rule applied) carries its name, within half the
    # smallest terminal spacing (grid families: exactly the same centre)
    d = np.hypot(bxy[:, None, 0] - bxy[None, :, 0], bxy[:, None, 1] - bxy[None, :, 1])
    np.fill_diagonal(d, np.inf)
    half = d.min() / 2
    named = np.array([n != "" for n in fnames])
    for k, n in enumerate(bnames):
        dist = np.hypot(fxy[:, 0] - bxy[k, 0], fxy[:, 1] - bxy[k, 1])
        dist[~named] = np.inf
        j = int(np.argmin(dist))
        assert fnames[j] == n and dist[j] < half, (name, n, tuple(bxy[k]), fnames[j], tuple(fxy[j]))
        if owner == "BALLS":
            assert dist[j] < 1e-6
    first = "A1" if "A1" in bnames else "1"
    k = bnames.index(first)
    j = fnames.index(first)
    # A1 / pin 1 at the top-left of the board; in the footprint mirrored in x for a flipped family
    assert bxy[k, 0] < 0 and bxy[k, 1] < 0
    assert np.sign(fxy[j, 0] * sign) == np.sign(bxy[k, 0] * sign) and fp.pads and fxy[j, 1] < 0
    raw_x = [float(x) for g in fp.pads for n, x in zip(g.names, g.x) if n == first][0]
    assert (raw_x > 0) == fam.flipped


BUILDUP_3L = {"family": "buildup", "body": [6, 6],
              "stackup": {"layers": [{"copper": 0.015}, {"dielectric": 0.035}, {"copper": 0.015},
                                     {"dielectric": 0.035}, {"copper": 0.015}]},
              "terminals": {"pitch": 1.0, "layout": [5, 5], "ball_diameter": 0.5}}


@pytest.mark.parametrize("face, expect_x", [("up", -0.7), ("down", 0.7)])
def test_face_down_die_pads_are_mirrored_on_the_board(face, expect_x):
    """Review item 6: a face-down die's pad map (its own face view) lands mirrored in x."""
    from kisubstrate.families.buildup import BuildupSpec, build_board

    pads = [{"name": "P1", "x": -0.7, "y": -0.3}, {"name": "P2", "x": 0.2, "y": 0.7}]
    spec = BuildupSpec.model_validate({**BUILDUP_3L, "dies": [{"size": [2, 2], "face": face,
                                                                "pads": {"map": pads}}]})
    board = build_board(spec)
    p = board.pads
    at = {str(p.name[i]): (float(p.x[i]), float(p.y[i])) for i in range(len(p)) if p.owner[i] == "U1"}
    assert at["P1"] == (expect_x, -0.3)
    assert at["P2"] == (0.2 if face == "up" else -0.2, 0.7)


def test_cavity_rejects_a_face_down_die():
    import yaml

    from kisubstrate.api import validate_spec
    from kisubstrate.model.errors import SpecError

    data = yaml.safe_load((EXAMPLES / "cavity.yaml").read_text())
    pkg = data["packages"][0] if "packages" in data else data
    pkg["dies"][0]["face"] = "down"
    with pytest.raises(SpecError, match="face 'down'"):
        validate_spec(pkg)


@pytest.mark.parametrize("name", ["buildup", "wafer_stack"])
def test_smd_land_overlap_comes_from_the_rule_profile(tmp_path, name):
    """Review item 28: the SMD terminal land's mask overlap is the profile's ``smd_overlap``."""
    import yaml

    from kisubstrate.model.substrate import load_substrate_rules

    spec = load_specs([EXAMPLES / f"{name}.yaml"])[0].spec
    base = load_substrate_rules(spec.rules)
    assert base.sources.get("smd_overlap"), "the shipped profile cites a source for smd_overlap"
    prof = base.model_dump()
    prof.update(name="custom-overlap", smd_overlap=0.03)
    path = tmp_path / "custom.yaml"
    path.write_text(yaml.safe_dump(prof))
    land = spec.terminals.land_mm()
    for overlap, source in ((base.smd_overlap, spec), (0.03, spec.model_copy(update={"rules": str(path)}))):
        board = families()[name].substrate(source)
        p = board.pads
        masks = {float(p.mask[i]) for i in range(len(p)) if p.owner[i] == "BALLS"}
        assert spec.terminals.mask == "smd"
        assert masks == {-min(overlap, land / 4)}, (name, masks)
