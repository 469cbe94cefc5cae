"""A plain rich menu image drawn without image libraries: coloured tiles with simple icons.

Pillow is not a dependency, and without it no font can be rendered, so the tiles carry
pictograms rather than words (each area's label is still its accessible name). An agency
designer's image can replace it: ``govchat line setup --image menu.png``.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Sequence
from dataclasses import dataclass

WHITE = (255, 255, 255)
GAP = 6  # pixels of white between tiles


@dataclass(frozen=True)
class Tile:
    x: int
    y: int
    width: int
    height: int
    color: tuple[int, int, int]
    icon: str


class Canvas:
    def __init__(self, width: int, height: int, background: tuple[int, int, int] = WHITE) -> None:
        self.width = width
        self.height = height
        self.pixels = bytearray(bytes(background) * (width * height))

    def rect(self, x: int, y: int, width: int, height: int, color: tuple[int, int, int]) -> None:
        x0, x1 = max(0, x), min(self.width, x + width)
        if x1 <= x0:
            return
        line = bytes(color) * (x1 - x0)
        for row in range(max(0, y), min(self.height, y + height)):
            start = (row * self.width + x0) * 3
            self.pixels[start : start + len(line)] = line

    def disc(self, cx: int, cy: int, radius: int, color: tuple[int, int, int]) -> None:
        for dy in range(-radius, radius + 1):
            half = int((radius * radius - dy * dy) ** 0.5)
            self.rect(cx - half, cy + dy, 2 * half + 1, 1, color)

    def ring(
        self,
        cx: int,
        cy: int,
        radius: int,
        thickness: int,
        color: tuple[int, int, int],
        inside: tuple[int, int, int],
    ) -> None:
        self.disc(cx, cy, radius, color)
        self.disc(cx, cy, radius - thickness, inside)

    def frame(
        self, x: int, y: int, width: int, height: int, thickness: int, color: tuple[int, int, int]
    ) -> None:
        self.rect(x, y, width, thickness, color)
        self.rect(x, y + height - thickness, width, thickness, color)
        self.rect(x, y, thickness, height, color)
        self.rect(x + width - thickness, y, thickness, height, color)

    def png(self) -> bytes:
        stride = self.width * 3
        raw = b"".join(
            b"\x00" + bytes(self.pixels[row * stride : (row + 1) * stride]) for row in range(self.height)
        )
        header = struct.pack(">IIBBBBB", self.width, self.height, 8, 2, 0, 0, 0)  # 8-bit RGB
        return (
            b"\x89PNG\r\n\x1a\n"
            + _chunk(b"IHDR", header)
            + _chunk(b"IDAT", zlib.compress(raw, 9))
            + _chunk(b"IEND", b"")
        )


def _chunk(tag: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data) & 0xFFFFFFFF)


def hex_color(value: str) -> tuple[int, int, int]:
    value = value.lstrip("#")
    if len(value) != 6:
        raise ValueError(f"not a #RRGGBB colour: {value!r}")
    return (int(value[0:2], 16), int(value[2:4], 16), int(value[4:6], 16))


def draw_menu(width: int, height: int, tiles: Sequence[Tile]) -> bytes:
    canvas = Canvas(width, height)
    for tile in tiles:
        canvas.rect(tile.x + GAP, tile.y + GAP, tile.width - 2 * GAP, tile.height - 2 * GAP, tile.color)
        _icon(canvas, tile)
    return canvas.png()


def _icon(canvas: Canvas, tile: Tile) -> None:
    """A white pictogram centred in the tile, sized to its shorter side."""
    size = min(tile.width, tile.height) // 2
    left = tile.x + (tile.width - size) // 2
    top = tile.y + (tile.height - size) // 2
    unit = max(4, size // 12)
    c, w = tile.color, WHITE
    if tile.icon == "document":
        canvas.frame(left + size // 6, top, size * 2 // 3, size, unit, w)
        for n in range(1, 5):
            canvas.rect(left + size // 6 + 2 * unit, top + n * size // 5, size * 2 // 3 - 4 * unit, unit, w)
    elif tile.icon == "chart":
        for n, share in enumerate((0.45, 0.7, 1.0)):
            bar = int(size * share)
            canvas.rect(left + n * size // 3 + unit, top + size - bar, size // 3 - 2 * unit, bar, w)
    elif tile.icon == "certificate":
        canvas.frame(left, top + size // 8, size, size * 3 // 4, unit, w)
        canvas.ring(left + size * 3 // 4, top + size * 5 // 8, size // 6, unit, w, c)
        canvas.rect(left + 2 * unit, top + size // 3, size // 2, unit, w)
        canvas.rect(left + 2 * unit, top + size // 2, size // 3, unit, w)
    elif tile.icon == "person":
        canvas.disc(left + size // 2, top + size // 4, size // 5, w)
        canvas.disc(left + size // 2, top + size, size // 2 - unit, w)
        canvas.rect(left, top + size, size, size // 2, c)  # cut the body at the icon's foot
    elif tile.icon == "alert":
        canvas.rect(left + size // 2 - unit, top, 2 * unit, size * 2 // 3, w)
        canvas.disc(left + size // 2, top + size - 2 * unit, int(1.5 * unit), w)
    elif tile.icon == "search":
        canvas.ring(left + size * 2 // 5, top + size * 2 // 5, size * 2 // 5, unit * 3 // 2, w, c)
        for step in range(size // 3):
            canvas.rect(left + size * 2 // 3 + step, top + size * 2 // 3 + step, 2 * unit, 2 * unit, w)
