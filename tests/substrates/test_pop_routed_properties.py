"""Properties over random PoP packages routed from a netlist (ball map, memory land map, chip bump maps):
a clean board or a clean refusal, never a crash; a clean board has every non-NC ball, land and bump
joined, and whenever kisubstrate builds one, KiCad's DRC finds 0 errors and 0 unconnected items."""

from __future__ import annotations

import hashlib
import math
import tempfile
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from property_util import Share
from stack_util import family_outcome, kicad_drc, write_result

POP_RULES = {"pop_zstack", "pop_standoff", "pop_via_under_die", "unrouted", "unconnected", "pop_side_trace_pitch",
             "pop_castellation_clearance"}
MAPS = Path(tempfile.mkdtemp(prefix="kisubstrate-pop-maps-"))


def _angle(x, y):
    return math.atan2(y, x) % (2 * math.pi)


def _ring_bumps(half: float, n: int, pitch: float) -> list[tuple[float, float]]:
    """``n`` bumps around a die of half-side ``half`` (mm), at most ``pitch`` apart along each side, by angle."""
    per = math.ceil(n / 4)
    out = []
    for side in range(4):
        for k in range(per):
            o = round((k - (per - 1) / 2) * pitch, 4)
            out.append([(o, -half), (half, -o), (-o, half), (-half, o)][side])
    return sorted(out[:n], key=lambda p: _angle(*p))


def _netlist(data: dict, tag: str, pours: dict) -> dict:
    """The spec ``data`` with a generated netlist: lands' nets by ring and angle, the ball below each land on
    its net, chip 1's signals to the CA lands and the free balls, chip 2's to the DQ lands."""
    from kisubstrate.api.specs import validate_spec
    from kisubstrate.geometry.terminals import grid_sites, ring_index

    spec = validate_spec(data)
    bot, top = grid_sites(spec.terminals), grid_sites(spec.top_lands)
    tl = spec.top_lands
    rt = ring_index(top, tl.columns, tl.rows)
    at = {(round(float(x), 4), round(float(y), 4)): n for n, x, y in zip(bot.names, bot.x, bot.y)}
    top_net, ball_net = {}, {}
    count = Counter()
    inner = int(rt.max())
    for i in sorted(range(len(top.names)), key=lambda i: (int(rt[i]), _angle(top.x[i], top.y[i]))):
        pat = ["DQ", "GND", "CA", "VDDQ"] if rt[i] == inner else ["GND", "MEM", "VDD2", "NC"]
        kind = pat[count[int(rt[i])] % 4]
        count[int(rt[i])] += 1
        name = f"{kind}{count[kind]}" if kind in ("DQ", "CA", "MEM") else kind
        count[kind] += 1
        top_net[top.names[i]] = name
        if name != "NC":
            ball_net[at[(round(float(top.x[i]), 4), round(float(top.y[i]), 4))]] = name
    free = sorted([i for i, n in enumerate(bot.names) if n not in ball_net and
                   (round(float(bot.x[i]), 4), round(float(bot.y[i]), 4)) not in
                   {(round(float(top.x[j]), 4), round(float(top.y[j]), 4)) for j in range(len(top.names))}],
                  key=lambda i: _angle(bot.x[i], bot.y[i]))
    d1, d2 = spec.dies
    pitch = 0.3
    cap1 = 4 * max(1, int((d1.size[0] - 0.4) / pitch))
    cap2 = 4 * max(1, int((d2.size[0] - 0.4) / pitch))
    ca = [n for n in ball_net if ball_net[n].startswith("CA")]
    dq = [n for n in top_net if top_net[n].startswith("DQ")]
    for group, cap in ((ca, cap1 - 2), (dq, cap2 - 2)):  # lands beyond the chip's bumps pass through only
        del group[max(cap, 0):]
    io = free[:max(0, cap1 - 2 - len(ca))]
    for k, i in enumerate(free):
        ball_net[bot.names[i]] = f"IO{k}" if i in io else "GND"
    bpos = {n: (float(x), float(y)) for n, x, y in zip(bot.names, bot.x, bot.y)}
    tpos = {n: (float(x), float(y)) for n, x, y in zip(top.names, top.x, top.y)}
    maps = {}
    for die, targets, face in ((d1, [(ball_net[n], bpos[n]) for n in ca + [bot.names[i] for i in io]], -1.0),
                               (d2, [(top_net[n], tpos[n]) for n in dq], 1.0)):
        targets.sort(key=lambda t: _angle(*t[1]))
        n = len(targets) + 2
        pads = _ring_bumps(die.size[0] / 2 - 0.15, n, pitch)
        power = {round(k * n / 2) % n: net for k, net in enumerate(("GND", "VDDQ"))}
        rows, it = [], iter(targets)
        for k, (x, y) in enumerate(pads):
            net = power[k] if k in power else next(it)[0]
            rows.append(f"{k + 1},{face * x + 0.0:g},{y:g},{net}")
        path = MAPS / f"{tag}_{die.name}.csv"
        path.write_text("pad,x,y,net\n" + "\n".join(rows) + "\n")
        maps[die.name] = str(path)
    for name, nets in (("balls", ball_net), ("top", top_net)):
        (MAPS / f"{tag}_{name}.csv").write_text("ball,net\n" + "".join(f"{b},{nets.get(b, 'NC')}\n" for b in nets))
    out = {**data, "pours": pours}
    out["terminals"] = {**data["terminals"], "ball_map": str(MAPS / f"{tag}_balls.csv")}
    out["top_lands"] = {**data["top_lands"], "ball_map": str(MAPS / f"{tag}_top.csv")}
    out["dies"] = [{**d, "pads": {"map": maps[d["name"]], "size": 0.08}} for d in data["dies"]]
    return out


@st.composite
def routed_pops(draw):
    pitch = draw(st.sampled_from([0.5, 0.65]))
    side = draw(st.booleans())
    nt = draw(st.integers(11, 15))
    nb = nt if side else nt + 2 * draw(st.integers(0, 1))
    rings_t = 1 if side else draw(st.integers(1, 2))
    body = round(nb * pitch + 1.0, 3)
    inner = (nt - 1 - 2 * (rings_t - 1)) * pitch / 2
    d1 = round(draw(st.floats(1.5, max(1.6, 2 * inner - 1.4))), 2)
    d2 = round(draw(st.floats(1.5, d1)), 2)
    t1, t2 = draw(st.sampled_from([0.05, 0.1])), draw(st.sampled_from([0.05, 0.1]))
    bumps = [0.05, 0.05]
    data = {
        "family": "pop", "name": "PROP-POP-NET", "body": [body, body], "rules": "substrate-buildup",
        "trace_width": 0.04, "interconnect": "side_trace" if side else "through_via",
        "carriers": [{"core": 0.1}, {"core": 0.05, "material": "polyimide"}],
        "resin": {"thickness": round(sum(bumps) + t1 + t2 + 0.02, 3)}, "bump_heights": bumps,
        "dies": [{"name": "U1", "size": [d1, d1], "thickness": t1, "face": "down",
                  "pads": {"peripheral": {"per_side": 1, "pitch": 0.3}, "size": 0.08}},
                 {"name": "U2", "size": [d2, d2], "thickness": t2,
                  "pads": {"peripheral": {"per_side": 1, "pitch": 0.3}, "size": 0.08}}],
        "vias": {"through": {"drill": 0.12, "pad": 0.24}},
        "terminals": {"pitch": pitch, "layout": [nb, nb], "perimeter_rings": rings_t + 1 + (nb - nt) // 2,
                      "ball_diameter": round(0.5 * pitch, 3), "land": round(0.45 * pitch, 3)},
        "top_lands": {"pitch": pitch, "layout": [nt, nt], "perimeter_rings": rings_t, "land": round(0.45 * pitch, 3),
                      "ball_diameter": round(0.5 * pitch, 3)},
        "top_package": {"standoff": 0.2},
    }
    pours = draw(st.sampled_from([{}, {"BGA": ["GND"]}, {"POP": ["VDDQ"], "BGA": ["GND"]}]))
    tag = "p" + hashlib.sha1(repr((data, pours)).encode()).hexdigest()[:12]
    return _netlist(data, tag, pours)


ROUTED_BUILT = Share("ok", at_least=0.3)


def _every_terminal_joined(board) -> None:
    """Every pad with a net is in the routing sidecar, no net is left unrouted, and no pad of a net is NC."""
    routing = board.extras.sidecar["routing"]
    assert routing["unrouted"] == []
    named = {board.nets[n] for n in board.pads.net if n}
    assert named == set(routing["nets"])


@ROUTED_BUILT.required
@settings(max_examples=12, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(routed_pops())
def test_random_routed_pops_never_crash(data):
    kind, detail = family_outcome(data, POP_RULES)
    ROUTED_BUILT.saw(kind)
    if kind == "ok":
        _every_terminal_joined(detail.board)
        balls = [k for k, o in enumerate(detail.board.pads.owner) if o == "BALLS"]
        assert np.count_nonzero(detail.board.pads.net[balls]) > len(balls) // 2


@pytest.mark.kicad
def test_random_routed_pops_pass_kicad_drc(kicad_cli, tmp_path):
    """Every clean board of a short fixed random sequence: KiCad finds 0 errors and 0 unconnected items."""
    clean = []

    @settings(max_examples=8, deadline=None, derandomize=True, database=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
    @given(routed_pops())
    def collect(data):
        kind, detail = family_outcome(data, POP_RULES)
        if kind == "ok" and len(clean) < 3:
            clean.append(detail)

    collect()
    assert clean, "the strategy should yield clean boards"
    for k, result in enumerate(clean):
        report = kicad_drc(kicad_cli, write_result(result, tmp_path / str(k)))
        assert report["violations"] == [] and report["unconnected_items"] == [], \
            [(v["type"], v["description"]) for v in report["violations"][:5]]
