"""Raster preview of a footprint, drawn with shapely (no GUI toolkit needed).

The dialog shows this picture as parameters change: pads in KiCad's copper red, drill
holes dark, courtyard, fab and silk lines in KiCad's default colours. Pixels are set by
``shapely.contains_xy`` on one union per layer, so a 1000-ball grid renders in a few
tens of milliseconds. :func:`render_rgb` returns raw RGB bytes (for ``wx.Bitmap.FromBuffer``)
and :func:`png_bytes` a PNG file.

Example:
    >>> from kisubstrate.api.footprint import generate_footprint
    >>> fp = generate_footprint({"family": "bga", "body": [3, 3], "pitch": 1, "layout": [2, 2],
    ...                          "ball_diameter": 0.5}).geometry
    >>> img = render(fp, 120, 100)
    >>> img.pixel_at_mm(-0.5, -0.5) == PAD_RGB, img.pixel_at_mm(0, 0) == BACKGROUND_RGB
    (True, True)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import shapely

from kisubstrate.geometry.ir import Circle, FootprintGeom, Line, Poly

BACKGROUND_RGB = (0, 16, 35)
PAD_RGB = (200, 52, 52)
HOLE_RGB = (30, 30, 30)
LAYER_RGB = {"F.CrtYd": (255, 38, 226), "F.Fab": (175, 175, 175), "F.SilkS": (242, 237, 161)}


@dataclass(frozen=True)
class Preview:
    """An RGB picture of a footprint and the mm → pixel mapping used to draw it."""

    width: int
    height: int
    rgb: np.ndarray  # (height, width, 3) uint8
    scale: float  # pixels per mm
    origin: tuple[float, float]  # mm at pixel (0, 0)'s centre

    def to_pixel(self, x: float, y: float) -> tuple[int, int]:
        """Pixel (column, row) of a point in mm (KiCad frame, y down)."""
        return int(round((x - self.origin[0]) * self.scale)), int(round((y - self.origin[1]) * self.scale))

    def pixel_at_mm(self, x: float, y: float) -> tuple[int, int, int]:
        """The colour drawn at a point in mm."""
        c, r = self.to_pixel(x, y)
        return tuple(int(v) for v in self.rgb[r, c])  # type: ignore[return-value]

    def tobytes(self) -> bytes:
        """Row-major RGB bytes (``wx.Bitmap.FromBuffer(width, height, data)``)."""
        return self.rgb.tobytes()


def _graphic_geometry(g, min_width: float):
    half = max(getattr(g, "width", 0.0), min_width) / 2
    if isinstance(g, Line):
        return shapely.buffer(shapely.linestrings([g.start, g.end]), half)
    if isinstance(g, Poly):
        poly = shapely.Polygon(g.points)
        return poly if g.fill else shapely.buffer(poly.exterior, half)
    if isinstance(g, Circle):
        ring = shapely.Point(g.center).buffer(g.radius)
        return ring if g.fill else shapely.buffer(ring.exterior, half)
    return None  # texts are not drawn


def render(fp: FootprintGeom, width: int = 360, height: int = 280, *, margin: int = 8) -> Preview:
    """Draw a footprint into a ``width`` × ``height`` picture (pixels), fitted with a margin.

    Args:
        fp: the footprint geometry (pads, drills, courtyard, fab and silk lines are drawn).
        width: picture width (pixels).
        height: picture height (pixels).
        margin: free border around the courtyard and body (pixels, each side).

    Example:
        >>> from kisubstrate.api.footprint import generate_footprint
        >>> fp = generate_footprint({"family": "lga", "body": [4, 4], "pitch": 1, "layout": [3, 3],
        ...                          "pad_diameter": 0.5}).geometry
        >>> img = render(fp, 200, 100, margin=10)
        >>> img.rgb.shape, img.pixel_at_mm(0, 0) == PAD_RGB
        ((100, 200, 3), True)
    """
    minx, miny, maxx, maxy = shapely.union(fp.courtyard, fp.body).bounds
    span_x, span_y = max(maxx - minx, 1e-3), max(maxy - miny, 1e-3)
    scale = min((width - 2 * margin) / span_x, (height - 2 * margin) / span_y)
    cx, cy = (minx + maxx) / 2, (miny + maxy) / 2
    origin = (cx - (width - 1) / 2 / scale, cy - (height - 1) / 2 / scale)
    xs = origin[0] + np.arange(width) / scale
    ys = origin[1] + np.arange(height) / scale
    gx, gy = np.meshgrid(xs, ys)
    rgb = np.empty((height, width, 3), dtype=np.uint8)
    rgb[:] = BACKGROUND_RGB
    pixel = 1.5 / scale  # thinnest line drawn: 1.5 px, so no line falls between pixel centres

    def paint(geoms, colour):
        geoms = [g for g in geoms if g is not None]
        if not geoms:
            return
        union = shapely.union_all(geoms)
        x0, y0, x1, y1 = union.bounds
        sel = (gx >= x0) & (gx <= x1) & (gy >= y0) & (gy <= y1)
        if not sel.any():
            return
        shapely.prepare(union)
        inside = np.zeros(sel.shape, dtype=bool)
        inside[sel] = shapely.contains_xy(union, gx[sel], gy[sel])
        rgb[inside] = colour

    for layer in ("F.CrtYd", "F.Fab", "F.SilkS"):
        paint([_graphic_geometry(g, pixel) for g in fp.graphics if getattr(g, "layer", "") == layer],
              LAYER_RGB[layer])
    paint([o for group in fp.pads for o in group.outlines()], PAD_RGB)
    holes = []
    for group in fp.pads:
        if group.drill:
            holes += list(shapely.buffer(shapely.points(np.stack([group.x, group.y], axis=1)), group.drill / 2))
    paint(holes, HOLE_RGB)
    return Preview(width=width, height=height, rgb=rgb, scale=scale, origin=origin)


def png_bytes(preview: Preview) -> bytes:
    """The preview as a PNG file."""
    from kisubstrate.plugin_support.png import encode_png

    return encode_png(preview.rgb)
