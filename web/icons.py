"""The app's PNG icons, drawn at build time (no image library, no binary files in git).

An open book on a rounded night-blue square, with a small star above it: the
page's favicon, the PWA's home-screen icons and a maskable variant whose
drawing keeps inside the central safe circle (80 % of the side).
"""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

import numpy as np

__all__ = ["ICONS", "png_bytes", "render_icon", "write_icons"]

# name → (size in pixels, maskable)
ICONS = {
    "icon-32.png": (32, False),
    "icon-180.png": (180, False),
    "icon-192.png": (192, False),
    "icon-512.png": (512, False),
    "icon-maskable-512.png": (512, True),
}
SUPERSAMPLE = 4  # samples per pixel side: smooth edges without a rasterizer library
BACKGROUND_TOP = np.array([0x2B, 0x2F, 0x6B], dtype=np.float32)  # night blue
BACKGROUND_BOTTOM = np.array([0x5B, 0x3C, 0x8F], dtype=np.float32)  # violet
PAGE = np.array([0xFB, 0xF3, 0xE4], dtype=np.float32)  # warm paper
STAR = np.array([0xFF, 0xC8, 0x57], dtype=np.float32)  # gold


def png_bytes(rgba: np.ndarray) -> bytes:
    """Encode an (height, width, 4) uint8 array as a PNG file (8-bit RGBA, no filter)."""
    height, width, _ = rgba.shape
    rows = np.concatenate([np.zeros((height, 1), np.uint8), rgba.reshape(height, -1)], axis=1)

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", width, height, 8, 6, 0, 0, 0)
    return b"".join(
        [
            b"\x89PNG\r\n\x1a\n",
            chunk(b"IHDR", header),
            chunk(b"IDAT", zlib.compress(rows.tobytes(), 9)),
            chunk(b"IEND", b""),
        ]
    )


def _rounded_square(x: np.ndarray, y: np.ndarray, radius: float) -> np.ndarray:
    """Coverage of the unit square [0, 1]² with rounded corners of `radius`."""
    cx = np.clip(x, radius, 1 - radius)
    cy = np.clip(y, radius, 1 - radius)
    return ((x - cx) ** 2 + (y - cy) ** 2 <= radius**2) & (x >= 0) & (x <= 1) & (y >= 0) & (y <= 1)


def _book(x: np.ndarray, y: np.ndarray, scale: float) -> tuple[np.ndarray, np.ndarray]:
    """An open book centred at (0.5, 0.58): two pages curving up to the spine.

    Returns (paper, lines): the pages, and the dark lines of text and spine.
    """
    u = (x - 0.5) / scale  # -0.5 … 0.5 across the book
    v = (y - 0.58) / scale
    half = np.abs(u)
    top = (
        -0.17 + 0.06 * (half / 0.36) ** 2 - 0.05 * (1 - half / 0.36)
    )  # pages bow down at the spine
    bottom = 0.17 + 0.04 * (half / 0.36) ** 2 - 0.04 * (1 - half / 0.36)
    paper = (half <= 0.36) & (v >= top) & (v <= bottom)
    spine = (half <= 0.008) & (v >= top) & (v <= bottom)
    lines = np.zeros_like(paper)
    for k in range(4):  # four lines of "text" on each page
        row = top + 0.07 + 0.065 * k
        lines |= (np.abs(v - row) <= 0.011) & (half >= 0.06) & (half <= 0.30 - 0.05 * (k == 3))
    return paper, (lines | spine) & paper


def _star(x: np.ndarray, y: np.ndarray, cx: float, cy: float, r: float) -> np.ndarray:
    """A four-pointed sparkle: |dx|^0.5 + |dy|^0.5 ≤ r^0.5 (an astroid)."""
    dx, dy = np.abs(x - cx), np.abs(y - cy)
    return np.sqrt(dx) + np.sqrt(dy) <= np.sqrt(r)


def render_icon(size: int, maskable: bool = False) -> np.ndarray:
    """The icon as an (size, size, 4) uint8 RGBA array.

    A maskable icon fills the whole square (the platform cuts its own shape)
    and draws smaller so nothing important falls outside the safe circle.
    """
    n = size * SUPERSAMPLE
    coords = (np.arange(n, dtype=np.float32) + 0.5) / n
    x, y = np.meshgrid(coords, coords)
    inside = np.ones_like(x, dtype=bool) if maskable else _rounded_square(x, y, 0.2)
    scale = 0.72 if maskable else 0.92
    paper, lines = _book(x, y, scale)
    star = _star(x, y, 0.5, 0.5 - 0.23 * scale, 0.07 * scale)

    t = y[..., None]
    rgb = BACKGROUND_TOP * (1 - t) + BACKGROUND_BOTTOM * t
    rgb = np.where(paper[..., None], PAGE, rgb)
    rgb = np.where(lines[..., None], BACKGROUND_TOP, rgb)
    rgb = np.where(star[..., None], STAR, rgb)
    alpha = inside.astype(np.float32)
    # Average each SUPERSAMPLE² block; colour is premultiplied so edges blend correctly.
    rgba = np.concatenate([rgb * alpha[..., None], alpha[..., None] * 255], axis=-1)
    rgba = rgba.reshape(size, SUPERSAMPLE, size, SUPERSAMPLE, 4).mean(axis=(1, 3))
    a = rgba[..., 3:4]
    rgb_out = np.where(a > 0, rgba[..., :3] * 255 / np.maximum(a, 1e-6), 0)
    out = np.concatenate([rgb_out, a], axis=-1)
    return np.clip(np.rint(out), 0, 255).astype(np.uint8)


def write_icons(folder: Path) -> list[Path]:
    """Write every icon of ICONS into `folder`; returns their paths."""
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name, (size, maskable) in ICONS.items():
        path = folder / name
        path.write_bytes(png_bytes(render_icon(size, maskable)))
        written.append(path)
    return written
