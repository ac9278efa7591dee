"""Drive KiCad's own ``bga_wizard`` through pcbnew and time it (run with Debian's ``/usr/bin/python3``).

This script must not import kisubstrate: it runs in the interpreter that has KiCad's SWIG
bindings. It prints one JSON document on its last stdout line.

Modes:
    ``inproc SIZES RUNS PITCH PAD MARGIN``: import pcbnew once, then for every grid size the median
        (over RUNS) of ``BuildFootprint()``, of saving the footprint to a fresh ``.pretty`` with
        ``PCB_IO_KICAD_SEXPR().FootprintSave`` (the module-level ``pcbnew.FootprintSave`` fails
        headless in 9.0.8: it needs the GUI's plugin manager) and of formatting it to a string
        (``PCB_IO_KICAD_SEXPR().Format`` + ``GetStringOutput``, no disk).
    ``once SIZE PITCH PAD MARGIN OUTDIR``: one build + save, for whole-process wall time.

Geometry: SIZE x SIZE balls at PITCH mm, round PAD mm pads, body (SIZE - 1) * PITCH + 2 * MARGIN mm.
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import sys
import tempfile
import time

WIZARD_DIR = "/usr/share/kicad/scripting/plugins"

t_start = time.perf_counter()
sys.path.insert(0, WIZARD_DIR)
import bga_wizard  # noqa: E402
import pcbnew  # noqa: E402

t_import = time.perf_counter() - t_start


def wizard(n: int, pitch: float, pad: float, margin: float):
    """A BGA wizard with its parameters set (values in mm, as the wizard's dialog takes them)."""
    w = bga_wizard.BGAWizard()
    body = round((n - 1) * pitch + 2 * margin, 6)
    for page, name, value in (("Pads", "pitch", pitch), ("Pads", "size", pad), ("Pads", "columns", n),
                              ("Pads", "rows", n), ("Package", "width", body), ("Package", "length", body)):
        w.GetParam(page, name).SetValue(value)
    return w


def build(w) -> "pcbnew.FOOTPRINT":
    w.BuildFootprint()
    if w.module is None or w.module.GetPadCount() == 0:
        raise SystemExit("wizard did not build: " + w.buildmessages[-500:])
    return w.module


def save(fp, folder: str) -> str:
    lib = os.path.join(folder, "bench.pretty")
    os.makedirs(lib, exist_ok=True)
    pcbnew.PCB_IO_KICAD_SEXPR().FootprintSave(lib, fp)
    return os.path.join(lib, fp.GetFPID().GetLibItemName().wx_str() + ".kicad_mod")


def to_string(fp) -> str:
    io = pcbnew.PCB_IO_KICAD_SEXPR()
    io.Format(fp)
    return io.GetStringOutput(True)


def inproc(sizes: list[int], runs: int, pitch: float, pad: float, margin: float) -> dict:
    out = {"import_s": t_import, "kicad": pcbnew.Version(), "sizes": {}}
    for n in sizes:
        b, s, f, cpu = [], [], [], []
        size = text_len = pads = 0
        for _ in range(runs):
            w = wizard(n, pitch, pad, margin)
            c0 = time.process_time()
            t0 = time.perf_counter()
            fp = build(w)
            t1 = time.perf_counter()
            folder = tempfile.mkdtemp(prefix="kisub-wiz-")
            try:
                path = save(fp, folder)
                t2 = time.perf_counter()
                cpu.append(time.process_time() - c0)
                size = os.path.getsize(path)
            finally:
                shutil.rmtree(folder, ignore_errors=True)
            t3 = time.perf_counter()
            text_len = len(to_string(fp))
            t4 = time.perf_counter()
            pads = fp.GetPadCount()
            b.append(t1 - t0)
            s.append(t2 - t1)
            f.append(t4 - t3)
        out["sizes"][str(n)] = {"pads": pads, "build_s": statistics.median(b), "save_s": statistics.median(s),
                                "best_total_s": min(x + y for x, y in zip(b, s)),
                                "build_all": b, "save_all": s, "format_all": f, "cpu_all": cpu,
                                "format_s": statistics.median(f), "file_bytes": size, "text_chars": text_len}
    return out


def main(argv: list[str]) -> None:
    mode = argv[0]
    if mode == "inproc":
        sizes = [int(v) for v in argv[1].split(",")]
        result = inproc(sizes, int(argv[2]), float(argv[3]), float(argv[4]), float(argv[5]))
    elif mode == "once":
        n, pitch, pad, margin, folder = int(argv[1]), float(argv[2]), float(argv[3]), float(argv[4]), argv[5]
        fp = build(wizard(n, pitch, pad, margin))
        path = save(fp, folder)
        result = {"pads": fp.GetPadCount(), "path": path}
    else:
        raise SystemExit(f"unknown mode {mode!r}")
    print(json.dumps(result))


if __name__ == "__main__":
    main(sys.argv[1:])
