"""Every substrate family: the board's terminals and the board-side footprint agree (review item 5).

Viewing convention (kisubstrate.geometry.terminals): the board is the stack seen from F.Cu; the
terminals sit on the layer facing the PCB (B.Cu, or F.Cu for a ``flipped`` family); the footprint
has the board's terminals at the same (x, y), mirrored in x for a flipped family. Ball names are
the package top view's (JEDEC, as on a datasheet): in every footprint A1 / pin 1 is top-left, so a
flipped family's board names its columns mirrored (A1 at the board's top-right).
"""

from __future__ import annotations

import numpy as np
import pytest
import yaml

from conftest import EXAMPLES
from kisubstrate.api.specs import load_specs, validate_spec
from kisubstrate.families.registry import families

SUBSTRATE_FAMILIES = sorted(n for n, f in families().items() if f.substrate is not None)


def test_every_substrate_family_is_covered():
    assert {"buildup", "cavity", "pop", "wafer_stack", "leadframe"} <= set(SUBSTRATE_FAMILIES)
    assert families()["cavity"].flipped and families()["wafer_stack"].flipped
    assert not families()["buildup"].flipped and not families()["pop"].flipped


def _terminals(board):
    """(names, xy array, layers) of the board's package terminals."""
    p = board.pads
    owner = board.extras.terminal_owner
    idx = [i for i in range(len(p)) if p.owner[i] == owner]
    return ([str(p.name[i]) for i in idx], np.array([(float(p.x[i]), float(p.y[i])) for i in idx]).reshape(-1, 2),
            {int(p.layer[i]) for i in idx}, owner, idx)


@pytest.mark.parametrize("name", SUBSTRATE_FAMILIES)
def test_board_terminals_match_footprint(name):
    _assert_footprint_is_the_board_seen_from_the_pcb(name, load_specs([EXAMPLES / f"{name}.yaml"])[0].spec)


def test_flipped_asymmetric_grid_keeps_names_and_positions_together():
    """Depopulation by name (``missing``, datasheet names) and a grid ``offset`` (board frame) on a
    flipped family: the footprint lacks the named ball at its top-view place and is still the board
    mirrored in x."""
    data = yaml.safe_load((EXAMPLES / "wafer_stack.yaml").read_text())
    pkg = data["packages"][0] if "packages" in data else data
    pkg["terminals"].update(missing=["B2"], offset=[0.05, 0.0])
    pkg["terminals"].pop("ball_map", None)  # the example's pinout names B2: depopulate a grid without one
    pkg.pop("power_width", None)  # (no power nets without the pinout)
    pkg.get("pads", {}).pop("map", None)
    pkg["pads"].setdefault("peripheral", {"per_side": 5, "pitch": 0.4, "inset": 0.22})
    spec = validate_spec(pkg, base_dir=str(EXAMPLES))
    fp = _assert_footprint_is_the_board_seen_from_the_pcb("wafer_stack", spec)
    at = {n: (float(x), float(y)) for g in fp.pads for n, x, y in zip(g.names, g.x, g.y)}
    assert "B2" not in at and len(at) == 35 and at["B3"] == pytest.approx((-0.25, -0.6))
    assert at["A1"] == pytest.approx((-1.05, -1.0)) and at["A6"] == pytest.approx((0.95, -1.0))
    # on the board (bottom view, offset as given) the hole is at the second column from the right
    _names, bxy, *_ = _terminals(families()["wafer_stack"].substrate(spec))
    assert len(bxy) == 35 and not np.any(np.hypot(bxy[:, 0] - 0.65, bxy[:, 1] + 0.6) < 1e-6)
    assert np.any(np.hypot(bxy[:, 0] + 0.55, bxy[:, 1] + 0.6) < 1e-6)


def _assert_footprint_is_the_board_seen_from_the_pcb(name, spec):
    fam = families()[name]
    board = fam.substrate(spec)
    fp = fam.footprint(spec)[0]
    bnames, bxy, layers, owner, _idx = _terminals(board)
    assert bnames, f"{name}: no terminal pads ({owner})"
    facing = 0 if fam.flipped else board.copper - 1
    assert layers == {facing}, f"{name}: terminals not on the PCB-facing layer"
    # the family's mirroring: the footprint is the board seen from the PCB
    sign = -1.0 if fam.flipped else 1.0
    fnames = [n for g in fp.pads for n in g.names]
    raw = np.array([(float(x), float(y)) for g in fp.pads for x, y in zip(g.x, g.y)])
    fxy = raw * [sign, 1.0]  # footprint pads in the board frame
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
    j = fnames.index(first)
    # JEDEC / KiCad: the FOOTPRINT's A1 / pin 1 is top-left (-x, -y); a flipped family's board has it
    # top-right (the board is the package bottom view)
    assert raw[j, 0] < 0 and raw[j, 1] < 0, (name, first, tuple(raw[j]))
    k = bnames.index(first)
    assert (bxy[k, 0] > 0) == fam.flipped and bxy[k, 1] < 0, (name, first, tuple(bxy[k]))
    if owner == "BALLS":  # a grid: A1 is the corner site, nothing further left or up
        assert raw[j, 0] == pytest.approx(raw[:, 0].min()) and raw[j, 1] == pytest.approx(raw[:, 1].min())
        # the whole first row reads A1, A2, ... from left to right in the footprint
        row = [n for _x, n in sorted((x, n) for n, (x, y) in zip(fnames, raw) if abs(y - raw[j, 1]) < 1e-9)]
        assert row == sorted(row, key=lambda n: int(n[1:])) and row[0] == "A1", (name, row)
    return fp


BALL_MAP_FAMILIES = [n for n in SUBSTRATE_FAMILIES if n != "leadframe"]  # leadframe: numbered leads, no grid


@pytest.mark.parametrize("name", BALL_MAP_FAMILIES)
def test_ball_map_net_on_a1_reaches_the_footprints_top_left_ball(tmp_path, name):
    """A ball map is written in datasheet (top view) names: its A1 net is on the footprint's top-left
    ball and on the board terminal that mirrors onto it."""
    fam = families()[name]
    data = yaml.safe_load((EXAMPLES / f"{name}.yaml").read_text())
    pkg = data["packages"][0] if "packages" in data else data
    # wafer_stack is routed from its whole netlist (die pad map + ball map): the example's map with
    # A1 and A2 swapped, so that A1 alone carries SPI_MISO
    net = "SPI_MISO" if name == "wafer_stack" else "NET_A1"
    csv = tmp_path / "map.csv"
    csv.write_text(f"ball,net\nA1,{net}\n")
    if name == "wafer_stack":
        csv.write_text((EXAMPLES / "wafer_stack_balls.csv").read_text().replace("A1,GND", "A1,SPI_MISO", 1)
                       .replace("A2,SPI_MISO", "A2,GND", 1))
    if name == "flipchip":  # routed from a whole netlist: the example's map, its NC corner A1 given a net,
        csv.write_text((EXAMPLES / "flipchip_balls.csv").read_text().replace("\nA1,NC\n", f"\nA1,{net}\n"))
        pkg["dies"][0]["pads"] = {"plan": {"pitch": 0.2}, "size": 0.09}  # and bumps planned for it
    (pkg["lands"] if name == "cavity" else pkg["terminals"])["ball_map"] = str(csv)
    if name == "pop":  # routed from a whole netlist: the example's balls with A1 (GND) and A2 (IO15) swapped
        net = "IO15"
        csv.write_text((EXAMPLES / "pop_balls.csv").read_text().replace("\nA1,GND\n", "\nA1,IO15\n", 1)
                       .replace("\nA2,IO15\n", "\nA2,GND\n", 1))
    if name == "cavity":  # routed from a whole netlist: the example's lands with A1 (GND) and A4 (IO4) swapped
        net = "IO4"
        csv.write_text((EXAMPLES / "cavity_balls.csv").read_text().replace("\nA4,IO4\n", "\nA4,GND\n", 1)
                       .replace("\nA1,GND\n", "\nA1,IO4\n", 1))
    if name == "buildup":  # routed from a whole netlist: the example's pinout, its NC corner A1 given a net
        csv.write_text((EXAMPLES / "buildup_balls.csv").read_text().replace("\nA1,NC\n", f"\nA1,{net}\n"))
    spec = validate_spec(pkg, base_dir=str(EXAMPLES))
    fp = fam.footprint(spec)[0]
    pads = [(n, float(x), float(y), net) for g in fp.pads for n, x, y, net in
            zip(g.names, g.x, g.y, g.nets if g.nets is not None else [""] * len(g.names))]
    xmin, ymin = min(p[1] for p in pads), min(p[2] for p in pads)
    corner = [p for p in pads if abs(p[1] - xmin) < 1e-9 and abs(p[2] - ymin) < 1e-9]
    assert [(p[0], p[3]) for p in corner] == [("A1", net)], (name, corner)
    assert [p[0] for p in pads if p[3] == net] == ["A1"]
    board = fam.substrate(spec)
    bnames, bxy, _layers, _owner, idx = _terminals(board)
    k = bnames.index("A1")
    sign = -1.0 if fam.flipped else 1.0
    assert (sign * bxy[k, 0], bxy[k, 1]) == pytest.approx((xmin, ymin), abs=1e-9)
    got = board.nets[int(board.pads.net[idx[k]])]
    assert got == net, (name, got)


BUILDUP_3L = {"family": "buildup", "body": [6, 6], "carrier": None,
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

    from kisubstrate.api.specs import validate_spec
    from kisubstrate.model.errors import SpecError

    data = yaml.safe_load((EXAMPLES / "cavity.yaml").read_text())
    pkg = data["packages"][0] if "packages" in data else data
    pkg["dies"][0]["face"] = "down"
    with pytest.raises(SpecError, match="face 'down'"):
        validate_spec(pkg, base_dir=str(EXAMPLES))


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
        coppers = {float(p.w[i]) for i in range(len(p)) if p.owner[i] == "BALLS"}
        assert spec.terminals.mask == "smd"
        if name == "wafer_stack":  # ball_land: the opening is 80 % of the ball, the copper 2 x overlap larger
            assert masks == {-overlap} and coppers == {round(0.8 * spec.terminals.ball_diameter + 2 * overlap, 6)}
        else:  # the land-based rule (build-up still uses it)
            assert masks == {-min(overlap, land / 4)}, (name, masks)
