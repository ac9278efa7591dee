"""Substrate benchmark: kisubstrate's pre-write board check vs ``kicad-cli pcb drc``, same boards, one run.

Boards:

* **example** — ``footprints/examples/buildup.yaml`` (6 Cu, 65 nets, ~1,230 pads + vias + tracks);
* **scaled** — the example tiled ``T x T`` times (default 12 x 12 = 144 packages, ~111 k pads +
  vias + track segments, 13.8 k nets; carrier zones left out), plus seeded clearance
  violations (pairs of tracks 0.02 mm apart on L2 under some dies) so both tools have findings
  to agree on.

Timings (wall, median of ``--runs`` for ours; one run each for KiCad):

* ours: ``check_board`` with only the clearance rule, and with every board rule;
* KiCad: ``kicad-cli pcb drc`` with a project whose rule severities ignore every test except
  clearance ("clearance-only"), and with KiCad's defaults minus creepage ("default − creepage").
  KiCad's time includes loading the board (~80 k items/s); ours starts from the generator's
  geometry, which is what a pre-write check sees.

The clearance findings (sets of items) of both tools are compared on every board.

Run::

    python benchmarks/bench_substrate.py                 # example + 12 x 12 tiles, both KiCad rule sets
    python benchmarks/bench_substrate.py --tiles 4 --skip-default   # quick
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT / "generators"))

import shapely  # noqa: E402

from kisubstrate.api.specs import load_specs  # noqa: E402
from kisubstrate.api.substrate import build_substrate  # noqa: E402
from kisubstrate.geometry.board import BoardBuilder, BoardGeom, Pads, Tracks, Vias  # noqa: E402
from kisubstrate.kicad.board import item_uuid, write_board  # noqa: E402
from kisubstrate.kicad.project import write_dru, write_project  # noqa: E402
from kisubstrate.rules.board import check_board  # noqa: E402


def tile(board: BoardGeom, n: int, pitch: float, *, seeds_every: int = 3) -> BoardGeom:
    """``n x n`` copies of ``board`` at ``pitch`` mm, nets renamed per copy, zones dropped.

    Every ``seeds_every``-th copy gets one seeded clearance pair (two tracks 0.02 mm apart on L2
    under the die).
    """
    p, v, t = board.pads, board.vias, board.tracks
    nnet = len(board.nets)
    nets = [""]
    pads, vias, tracks = [], [], []
    seed = BoardBuilder("seed", copper=board.copper, outline=board.outline)
    k = 0
    for r in range(n):
        for c in range(n):
            dx, dy = (c - (n - 1) / 2) * pitch, (r - (n - 1) / 2) * pitch
            base = len(nets) - 1
            nets += [f"T{k}_{name}" for name in board.nets[1:]]

            def renet(a, base=base):  # net codes of this copy (base bound per copy)
                return np.where(a > 0, a + base, 0)

            pads.append(Pads(owner=[f"T{k}_{o}" for o in p.owner], name=list(p.name), x=p.x + dx, y=p.y + dy,
                             w=p.w, h=p.h, shape=list(p.shape), layer=p.layer, net=renet(p.net), mask=p.mask))
            vias.append(Vias(x=v.x + dx, y=v.y + dy, size=v.size, drill=v.drill, top=v.top, bottom=v.bottom,
                             net=renet(v.net), kind=list(v.kind)))
            tracks.append(Tracks(t.x1 + dx, t.y1 + dy, t.x2 + dx, t.y2 + dy, t.width, t.layer, renet(t.net)))
            if k % seeds_every == 0:
                for j, y in enumerate((0.0, 0.05)):
                    nets.append(f"T{k}_SEED{j}")
                    seed.track(dx - 1.0, dy + y, dx + 1.0, dy + y, 0.03, layer=1, net=len(nets) - 1)
            k += 1
    s = seed.build()
    tracks.append(s.tracks)
    del nnet

    def cat(items, cls, **extra):
        fields = [f for f in cls.__dataclass_fields__ if f not in extra]
        out = {}
        for f in fields:
            vals = [getattr(i, f) for i in items]
            out[f] = sum(vals, []) if isinstance(vals[0], list) else np.concatenate(vals)
        return cls(**out)

    half = n * pitch / 2
    return BoardGeom(name=f"{board.name}_x{n * n}", copper=board.copper,
                     outline=shapely.box(-half, -half, half, half), nets=nets, pads=cat(pads, Pads),
                     vias=cat(vias, Vias), tracks=cat(tracks, Tracks))


def kicad_drc(cli: str, pcb: Path) -> tuple[float, dict]:
    out = pcb.with_suffix(".drc.json")
    t0 = time.perf_counter()
    r = subprocess.run([cli, "pcb", "drc", "--format", "json", "--severity-error", "-o", str(out), str(pcb)],
                       capture_output=True, text=True)
    dt = time.perf_counter() - t0
    if r.returncode != 0:
        raise RuntimeError(r.stderr)
    return dt, json.loads(out.read_text())


def item_keys(board: BoardGeom) -> dict[str, str]:
    keys = {}
    for coll in (board.pads, board.vias, board.tracks):
        for i in range(len(coll)):
            k = coll.key(i)
            keys[item_uuid(board.name, k)] = k
    return keys


def bench(board: BoardGeom, spec, *, runs: int, cli: str | None, folder: Path, default: bool) -> dict:
    rules = spec.substrate_rules()
    row: dict = {"board": board.name, "items": board.item_count, "nets": len(board.nets) - 1}
    t_clear, t_all = [], []
    for _ in range(runs):
        t0 = time.perf_counter()
        rep_c = check_board(board, rules, only=("copper_clearance",))
        t_clear.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        check_board(board, rules, stackup=spec.stackup)
        t_all.append(time.perf_counter() - t0)
    row["ours_clearance_s"] = statistics.median(t_clear)
    row["ours_all_rules_s"] = statistics.median(t_all)
    mine = {k for v in rep_c.violations for k in v.items}
    row["ours_clearance_items"] = len(mine)
    if cli is None:
        return row
    t0 = time.perf_counter()
    text = write_board(board, spec.stackup, carrier_clearance=rules.clearance)
    row["write_s"] = time.perf_counter() - t0
    keys = item_keys(board)
    sets = [("clearance_only", ("clearance",))]
    if default:
        sets.append(("default_minus_creepage", None))
    for label, only in sets:
        d = folder / label
        d.mkdir(parents=True, exist_ok=True)
        pcb = d / f"{board.name}.kicad_pcb"
        pcb.write_text(text)
        (d / f"{board.name}.kicad_pro").write_text(write_project(board.name, rules, width=spec.width(),
                                                                   micro=spec.micro(), only=only))
        (d / f"{board.name}.kicad_dru").write_text(write_dru(rules, micro=spec.micro(), width=spec.width()))
        dt, rep = kicad_drc(cli, pcb)
        theirs = {keys.get(i["uuid"], i["uuid"]) for v in rep["violations"] if v["type"] == "clearance"
                  for i in v["items"]}
        row[f"kicad_{label}_s"] = dt
        row[f"kicad_{label}_clearance_items"] = len(theirs)
        row[f"kicad_{label}_same_findings"] = theirs == mine
        row[f"kicad_{label}_errors"] = {v["type"] for v in rep["violations"]} - {"clearance"}
        row[f"ratio_{label}"] = dt / row["ours_clearance_s"]
    return row


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--tiles", type=int, default=12, help="scaled board = tiles x tiles examples")
    ap.add_argument("--runs", type=int, default=5, help="runs of our check (median)")
    ap.add_argument("--skip-default", action="store_true", help="skip KiCad's default rule set (minutes)")
    ap.add_argument("--json", type=Path, help="also write the rows as JSON")
    args = ap.parse_args()
    cli = shutil.which("kicad-cli")
    spec = load_specs([ROOT / "footprints" / "examples" / "buildup.yaml"])[0].spec
    example = build_substrate(spec).board
    scaled = tile(example, args.tiles, spec.body[0])
    rows = []
    with tempfile.TemporaryDirectory(prefix="bench_substrate_") as tmp:
        for board in (example, scaled):
            rows.append(bench(board, spec, runs=args.runs, cli=cli, folder=Path(tmp) / board.name,
                              default=not args.skip_default))
    print(f"{'board':<58} {'items':>7} {'ours clr':>9} {'ours all':>9} {'KiCad clr':>10} {'ratio':>7} "
          f"{'KiCad def-crp':>13} {'ratio':>7}  same findings")
    for r in rows:
        kc = r.get("kicad_clearance_only_s")
        kd = r.get("kicad_default_minus_creepage_s")
        same = [r.get(f"kicad_{x}_same_findings") for x in ("clearance_only", "default_minus_creepage")
                if f"kicad_{x}_same_findings" in r]
        print(f"{r['board']:<58} {r['items']:>7} {r['ours_clearance_s']:>8.3f}s {r['ours_all_rules_s']:>8.3f}s "
              + (f"{kc:>9.2f}s {r['ratio_clearance_only']:>6.0f}x " if kc else f"{'-':>10} {'-':>7} ")
              + (f"{kd:>12.2f}s {r['ratio_default_minus_creepage']:>6.0f}x " if kd else f"{'-':>13} {'-':>7} ")
              + f" {same} ({r['ours_clearance_items']} items)")
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1, default=sorted))


if __name__ == "__main__":
    main()
