r"""A stdlib PNG encoder and the plugin icons, drawn in code so they are reproducible.

Example:
    >>> data = encode_png(icon_rgba(24, dark=False))
    >>> data[:8] == b"\x89PNG\r\n\x1a\n", png_size(data)
    (True, (24, 24))
"""

from __future__ import annotations

import struct
import zlib

import numpy as np

ICON_COLOURS = {
    # body, outline, balls
    False: ((46, 52, 64), (20, 24, 30), (214, 160, 60)),
    True: ((208, 212, 220), (240, 240, 245), (200, 120, 30)),
}
ACCENT = (200, 52, 52)  # KiCad copper red: the pin-1 ball


def _chunk(tag: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data) & 0xFFFFFFFF)


def encode_png(pixels: np.ndarray) -> bytes:
    """PNG bytes of an (h, w, 3) RGB or (h, w, 4) RGBA uint8 array; deterministic (no timestamps)."""
    arr = np.ascontiguousarray(pixels, dtype=np.uint8)
    h, w, ch = arr.shape
    colour_type = {3: 2, 4: 6}[ch]
    raw = b"".join(b"\x00" + arr[r].tobytes() for r in range(h))
    return (b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, colour_type, 0, 0, 0))
            + _chunk(b"IDAT", zlib.compress(raw, 9)) + _chunk(b"IEND", b""))


def png_size(data: bytes) -> tuple[int, int]:
    """(width, height) of PNG bytes."""
    return struct.unpack(">II", data[16:24])


def icon_rgba(size: int, *, dark: bool = False) -> np.ndarray:
    """The plugin icon: a package body (top view) with a 3 × 3 ball grid, pin 1 in red.

    ``dark`` draws the variant for dark toolbars. ``size`` in pixels (24 toolbar, 64 PCM list).
    """
    body, outline, ball = ICON_COLOURS[dark]
    img = np.zeros((size, size, 4), dtype=np.uint8)
    yy, xx = np.mgrid[0:size, 0:size] + 0.5
    m = size / 12.0  # margin
    inside = (xx >= m) & (xx <= size - m) & (yy >= m) & (yy <= size - m)
    # bevelled pin-1 corner, like a fab outline
    inside &= (xx - m) + (yy - m) >= size / 6
    edge = inside & ~((xx >= m + size / 24 + 0.9) & (xx <= size - m - size / 24 - 0.9)
                      & (yy >= m + size / 24 + 0.9) & (yy <= size - m - size / 24 - 0.9)
                      & ((xx - m) + (yy - m) >= size / 6 + 1.3))
    img[inside] = (*body, 255)
    img[edge] = (*outline, 255)
    pitch = (size - 2 * m) / 3.4
    r = pitch * 0.32
    for i in range(3):
        for j in range(3):
            cx = size / 2 + (i - 1) * pitch
            cy = size / 2 + (j - 1) * pitch
            dot = (xx - cx) ** 2 + (yy - cy) ** 2 <= r * r
            img[dot] = (*(ACCENT if i == j == 0 else ball), 255)
    return img


def substrate_icon_rgba(size: int, *, dark: bool = False) -> np.ndarray:
    """The substrate action's icon: a stack of board layers seen edge-on, with via columns."""
    layer_colours = [(200, 52, 52), (60, 140, 60), (200, 52, 52), (60, 140, 60), (50, 90, 190)]
    via = (240, 240, 245) if dark else (40, 40, 40)
    img = np.zeros((size, size, 4), dtype=np.uint8)
    m = size / 12.0
    band = (size - 2 * m) / len(layer_colours)
    yy, xx = np.mgrid[0:size, 0:size] + 0.5
    for k, colour in enumerate(layer_colours):
        y0 = m + k * band
        sel = (xx >= m) & (xx <= size - m) & (yy >= y0 + 0.12 * band) & (yy <= y0 + 0.88 * band)
        img[sel] = (*colour, 255)
    for cx in (size * 0.35, size * 0.65):
        sel = (np.abs(xx - cx) <= max(size / 24, 0.75)) & (yy >= m) & (yy <= size - m)
        img[sel] = (*via, 255)
    return img


ICON_FILES = {
    "icon-footprint.png": (icon_rgba, 24, False),
    "icon-footprint-dark.png": (icon_rgba, 24, True),
    "icon-substrate.png": (substrate_icon_rgba, 24, False),
    "icon-substrate-dark.png": (substrate_icon_rgba, 24, True),
}
"""The IPC plugin's toolbar icons: file name → (drawing function, size px, dark)."""


def icon_files() -> dict[str, bytes]:
    """Every icon the plugins ship, as PNG bytes by file name (24 px toolbar icons)."""
    return {name: encode_png(fn(size, dark=dark)) for name, (fn, size, dark) in ICON_FILES.items()}
