"""Deterministic random streams: one independent stream per concern.

Every part of the generator draws from its own stream derived from the seed
and a name (and, for day-by-day work, the day). Adding a format or changing
one part therefore never changes what another part writes, and a subset of
formats is byte-identical to the same files of a full run.
"""

from __future__ import annotations

import zlib

import numpy as np


def stream(seed: int, name: str, *more: int) -> np.random.Generator:
    """A generator for (seed, name, *more); the same arguments give the same draws."""
    key = [int(seed) & 0xFFFFFFFF, zlib.crc32(name.encode()), *(int(m) & 0xFFFFFFFF for m in more)]
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence(key)))


ALPHANUM = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


def unique_codes(rng: np.random.Generator, n: int, length: int, alphabet: str = ALPHANUM) -> list[str]:
    """`n` distinct random codes of `length` characters from `alphabet`."""
    base = len(alphabet)
    space = base**length
    seen: set[int] = set()
    out: list[str] = []
    while len(out) < n:
        draws = rng.integers(0, min(space, 2**63 - 1), size=n - len(out), dtype=np.int64)
        for value in draws.tolist():
            if value in seen:
                continue
            seen.add(value)
            chars = []
            for _ in range(length):
                value, r = divmod(value, base)
                chars.append(alphabet[r])
            out.append("".join(reversed(chars)))
    return out
