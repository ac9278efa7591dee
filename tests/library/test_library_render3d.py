"""KiCad draws the library's VRML models: a board with library footprints rendered by
``kicad-cli pcb render`` with the models present (resolved through ``${KIPRJMOD}``, as a board
designer uses the library) differs from the same render with the model files removed."""

from __future__ import annotations

import shutil
import struct
import subprocess
import zlib
from pathlib import Path

import pytest

from conftest import run_pcbnew

ROOT = Path(__file__).resolve().parents[2]
LIB = "kisubstrate_Packages"
LIB_DIR = ROOT / "footprints" / LIB
PICKS = ["BGA-256_14.0x14.0mm_Layout16x16_P0.8mm_Ball0.45mm_Pad0.36mm_NSMD",
         "PGA-144_40.0x40.0mm_Layout15x15_P2.54mm_Pin0.46mm_Drill0.7mm",
         "LGA-100_9.0x9.0mm_Layout10x10_P0.8mm_Pad0.45mm"]

BOARD = r"""
import json, sys
import pcbnew
lib, out, *names = sys.argv[1:]
io = pcbnew.PCB_IO_KICAD_SEXPR()
board = pcbnew.BOARD()
x = 0
for name in names:
    fp = io.FootprintLoad(lib, name)
    fp.SetPosition(pcbnew.VECTOR2I(pcbnew.FromMM(x), 0))
    fp.SetReference(f"U{len(board.GetFootprints()) + 1}")
    board.Add(fp)
    x += 45
board.Save(out)
print(json.dumps([fp.Models()[0].m_Filename for fp in board.GetFootprints()]))
"""


def png_rgb(path: Path) -> tuple[int, int, bytes]:
    """Decode an 8-bit RGB/RGBA non-interlaced PNG (what kicad-cli writes) to RGB bytes."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, w = 8, b"", 0
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        chunk = data[pos + 8:pos + 8 + length]
        if kind == b"IHDR":
            w, h, depth, ctype, _, _, interlace = struct.unpack(">IIBBBBB", chunk)
            assert depth == 8 and ctype in (2, 6) and interlace == 0
            bpp = 3 if ctype == 2 else 4
        elif kind == b"IDAT":
            idat += chunk
        pos += 12 + length
    raw = zlib.decompress(idat)
    stride = w * bpp
    rows, prev = [], bytearray(stride)
    for r in range(h):
        f, line = raw[r * (stride + 1)], bytearray(raw[r * (stride + 1) + 1:(r + 1) * (stride + 1)])
        for i in range(stride):
            a = line[i - bpp] if i >= bpp else 0
            b, c = prev[i], prev[i - bpp] if i >= bpp else 0
            if f == 1:
                line[i] = (line[i] + a) & 255
            elif f == 2:
                line[i] = (line[i] + b) & 255
            elif f == 3:
                line[i] = (line[i] + (a + b) // 2) & 255
            elif f == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        rows.append(bytes(line) if bpp == 3 else bytes(v for k, v in enumerate(line) if k % 4 != 3))
        prev = line
    return w, h, b"".join(rows)


@pytest.mark.kicad
def test_kicad_renders_the_library_models(tmp_path, kicad_cli, pcbnew_python):
    board = tmp_path / "models.kicad_pcb"
    paths = run_pcbnew(pcbnew_python, BOARD, str(LIB_DIR / f"{LIB}.pretty"), str(board), *PICKS)
    assert sorted(paths) == sorted(f"${{KIPRJMOD}}/{LIB}.3dshapes/{n}.step" for n in PICKS)
    shapes = tmp_path / f"{LIB}.3dshapes"
    shapes.mkdir()
    for n in PICKS:  # the designer's project: models beside the board
        for suffix in (".step", ".wrl"):
            shutil.copy(LIB_DIR / f"{LIB}.3dshapes" / f"{n}{suffix}", shapes)

    def render(name: str) -> tuple[int, int, bytes]:
        png = tmp_path / name
        r = subprocess.run([kicad_cli, "pcb", "render", "-o", str(png), "-w", "320", "-h", "180",
                            "--rotate", "-50,0,25", str(board)], capture_output=True, text=True)
        assert r.returncode == 0, r.stderr
        return png_rgb(png)

    w, h, with_models = render("with.png")
    shutil.rmtree(shapes)
    w2, h2, without = render("without.png")
    assert (w, h) == (w2, h2) and w * h > 10000
    changed = sum(1 for k in range(0, len(with_models), 3) if with_models[k:k + 3] != without[k:k + 3])
    assert changed > 0.02 * w * h, f"only {changed} pixels differ: KiCad did not draw the models"
