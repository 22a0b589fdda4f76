"""The browser test's PNG reader decodes every scanline filter, and its page statistics tell a
blank page from a drawn one."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tests.outputs.report.png import PngError, page_stats, read_png, write_png


@pytest.mark.parametrize("filters", [[0], [1], [2], [3], [4], [0, 1, 2, 3, 4]])
def test_every_filter_round_trips(tmp_path: Path, filters: list[int]) -> None:
    pixels = np.random.default_rng(7).integers(0, 256, size=(9, 13, 3), dtype=np.uint8)
    write_png(tmp_path / "x.png", pixels, filters=filters)
    image = read_png(tmp_path / "x.png")
    assert (image.width, image.height) == (13, 9)
    assert np.array_equal(image.pixels, pixels)


def test_a_corrupt_file_is_refused(tmp_path: Path) -> None:
    pixels = np.zeros((2, 2, 3), dtype=np.uint8)
    write_png(tmp_path / "x.png", pixels, filters=[0])
    data = bytearray((tmp_path / "x.png").read_bytes())
    data[-20] ^= 0xFF  # inside the IDAT chunk
    (tmp_path / "x.png").write_bytes(bytes(data))
    with pytest.raises(PngError, match="CRC"):
        read_png(tmp_path / "x.png")


def test_stats_tell_blank_from_drawn(tmp_path: Path) -> None:
    blank = np.full((20, 20, 3), 255, dtype=np.uint8)
    drawn = blank.copy()
    drawn[5:15, 2:18] = (30, 90, 200)
    drawn[16, :] = 0
    write_png(tmp_path / "blank.png", blank, filters=[2])
    write_png(tmp_path / "drawn.png", drawn, filters=[4])
    empty, ink = (
        page_stats(read_png(tmp_path / "blank.png")),
        page_stats(read_png(tmp_path / "drawn.png")),
    )
    assert (empty.ink_share, empty.luminance_std, empty.colours) == (0.0, 0.0, 1)
    assert ink.ink_share == pytest.approx((10 * 16 + 20) / 400)
    assert ink.luminance_std > 50
    assert ink.colours == 3
