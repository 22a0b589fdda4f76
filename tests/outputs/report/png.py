"""A tiny PNG reader for the browser test: enough to tell a rendered page from a blank one.

Reads 8-bit truecolour PNGs (RGB or RGBA, not interlaced: what Chromium's ``--screenshot``
writes) with zlib and struct, undoing the five scanline filters of the PNG specification
(ISO/IEC 15948, section 9). No Pillow: it is not a dependency and this needs a fraction of it.
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import numpy as np
import numpy.typing as npt

__all__ = ["Image", "PageStats", "PngError", "page_stats", "read_png", "write_png"]

SIGNATURE: Final = b"\x89PNG\r\n\x1a\n"
# Colour type -> bytes per pixel at bit depth 8 (RGB, RGBA).
CHANNELS: Final = {2: 3, 6: 4}
# A channel at or above this counts as white paper (anti-aliasing leaves near-white edges).
WHITE_LEVEL: Final = 245


class PngError(ValueError):
    """Not a PNG this reader understands."""


@dataclass(frozen=True)
class Image:
    width: int
    height: int
    pixels: npt.NDArray[np.uint8]  # (height, width, channels)


def _chunks(data: bytes) -> list[tuple[bytes, bytes]]:
    if not data.startswith(SIGNATURE):
        raise PngError("not a PNG (signature)")
    out, pos = [], len(SIGNATURE)
    while pos + 8 <= len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind, body = data[pos + 4 : pos + 8], data[pos + 8 : pos + 8 + length]
        if (
            zlib.crc32(kind + body)
            != struct.unpack(">I", data[pos + 8 + length : pos + 12 + length])[0]
        ):
            raise PngError(f"chunk {kind!r}: bad CRC")
        out.append((kind, body))
        pos += 12 + length
    return out


def _paeth(a: int, b: int, c: int) -> int:
    p = a + b - c
    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
    if pa <= pb and pa <= pc:
        return a
    return b if pb <= pc else c


def _unfilter(
    kind: int, row: bytes, prior: npt.NDArray[np.uint8], bpp: int
) -> npt.NDArray[np.uint8]:
    line = np.frombuffer(row, dtype=np.uint8)
    if kind == 0:
        return line.copy()
    if kind == 1:  # Sub: a running sum per channel, modulo 256
        return np.cumsum(line.reshape(-1, bpp), axis=0, dtype=np.uint8).reshape(-1)
    if kind == 2:  # Up
        return line + prior
    if kind not in (3, 4):
        raise PngError(f"unknown filter type {kind}")
    out, up = bytearray(len(row)), prior.tobytes()
    first = range(min(bpp, len(row)))
    # The first pixel has no left neighbour: Average halves the byte above, Paeth takes it.
    for i in first:
        out[i] = (row[i] + (up[i] >> 1 if kind == 3 else up[i])) & 0xFF
    if kind == 3:  # Average
        for i in range(bpp, len(row)):
            out[i] = (row[i] + ((out[i - bpp] + up[i]) >> 1)) & 0xFF
    else:  # Paeth, inlined: a Python call per byte is most of the decoding time
        for i in range(bpp, len(row)):
            a, b, c = out[i - bpp], up[i], up[i - bpp]
            pa, pb, pc = abs(b - c), abs(a - c), abs(a + b - c - c)
            out[i] = (row[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 0xFF
    return np.frombuffer(bytes(out), dtype=np.uint8)


def read_png(path: Path) -> Image:
    chunks = _chunks(path.read_bytes())
    if not chunks or chunks[0][0] != b"IHDR":
        raise PngError("no IHDR chunk first")
    width, height, depth, colour, _, _, interlace = struct.unpack(">IIBBBBB", chunks[0][1])
    if depth != 8 or colour not in CHANNELS or interlace:
        raise PngError(f"unsupported: depth {depth}, colour type {colour}, interlace {interlace}")
    bpp = CHANNELS[colour]
    raw = zlib.decompress(b"".join(body for kind, body in chunks if kind == b"IDAT"))
    stride = width * bpp
    if len(raw) != height * (stride + 1):
        raise PngError(f"{len(raw)} bytes of image data, expected {height * (stride + 1)}")
    prior = np.zeros(stride, dtype=np.uint8)
    rows = []
    for y in range(height):
        start = y * (stride + 1)
        prior = _unfilter(raw[start], raw[start + 1 : start + 1 + stride], prior, bpp)
        rows.append(prior)
    return Image(width, height, np.stack(rows).reshape(height, width, bpp))


def write_png(path: Path, pixels: npt.NDArray[np.uint8], *, filters: list[int]) -> None:
    """An RGB PNG of ``pixels`` with the given filter type per row (for the reader's tests)."""
    height, width, bpp = pixels.shape
    lines = []
    prior = np.zeros(width * bpp, dtype=np.int32)
    for y in range(height):
        row = pixels[y].reshape(-1).astype(np.int32)
        left = np.concatenate([np.zeros(bpp, dtype=np.int32), row[:-bpp]])
        upper_left = np.concatenate([np.zeros(bpp, dtype=np.int32), prior[:-bpp]])
        kind = filters[y % len(filters)]
        if kind == 0:
            predicted = np.zeros_like(row)
        elif kind == 1:
            predicted = left
        elif kind == 2:
            predicted = prior
        elif kind == 3:
            predicted = (left + prior) >> 1
        else:
            predicted = np.array(
                [
                    _paeth(int(a), int(b), int(c))
                    for a, b, c in zip(left, prior, upper_left, strict=True)
                ]
            )
        lines.append(bytes([kind]) + ((row - predicted) % 256).astype(np.uint8).tobytes())
        prior = row

    def chunk(kind: bytes, body: bytes) -> bytes:
        return (
            struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
        )

    header = struct.pack(">IIBBBBB", width, height, 8, 2 if bpp == 3 else 6, 0, 0, 0)
    path.write_bytes(
        SIGNATURE
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"".join(lines)))
        + chunk(b"IEND", b"")
    )


@dataclass(frozen=True)
class PageStats:
    ink_share: float  # share of pixels with any channel below WHITE_LEVEL
    luminance_std: float  # spread of brightness, 0 for a single-colour page
    colours: int  # distinct colours (a page with charts has many)


def page_stats(image: Image) -> PageStats:
    rgb = image.pixels[..., :3].astype(np.float64)
    ink = (image.pixels[..., :3] < WHITE_LEVEL).any(axis=-1)
    luminance = rgb @ np.array([0.2126, 0.7152, 0.0722])
    flat = image.pixels[..., :3].reshape(-1, 3)
    colours = len(
        np.unique(
            flat[:, 0].astype(np.uint32) << 16 | flat[:, 1].astype(np.uint32) << 8 | flat[:, 2]
        )
    )
    return PageStats(float(ink.mean()), float(luminance.std()), colours)
