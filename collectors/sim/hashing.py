"""Counter-based randomness: every simulated value is a pure function of (seed, key, time slot).

Because a value never depends on when the simulator runs, a later run reproduces every change
an earlier run saw and only adds what is new, as an incremental collector would.
"""

from __future__ import annotations

import hashlib

import numpy as np
import numpy.typing as npt

U64 = npt.NDArray[np.uint64]
F64 = npt.NDArray[np.float64]
B = npt.NDArray[np.bool_]

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)


def stable_hash(*parts: object) -> int:
    """A 64-bit hash of the parts that is the same in every process (unlike ``hash``)."""
    text = "\x1f".join(str(p) for p in parts).encode()
    return int.from_bytes(hashlib.blake2b(text, digest_size=8).digest(), "little")


def mix(keys: U64, salt: int) -> U64:
    """splitmix64 of ``keys`` combined with ``salt``: well-spread 64-bit outputs."""
    with np.errstate(over="ignore"):
        z = keys ^ np.uint64(salt & 0xFFFFFFFFFFFFFFFF)
        z = z + _GOLDEN
        z = (z ^ (z >> np.uint64(30))) * _M1
        z = (z ^ (z >> np.uint64(27))) * _M2
        return z ^ (z >> np.uint64(31))


def uniform(keys: U64, salt: int) -> F64:
    """Uniform floats in [0, 1), one per key, determined by ``salt``."""
    return (mix(keys, salt) >> np.uint64(11)).astype(np.float64) / float(1 << 53)
