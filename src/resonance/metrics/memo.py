"""`Memo`: how a caller lets the engine remember reads that many requests share.

The engine's per-person reads (a report, advice) are small queries, and most of what they read is the
same for many people: a period's peer values, group sizes, or the figures of everybody in a group of
people read in one scan. The engine asks `memo(key, compute)` for those; the web passes its read cache
(`resonance.web.cache`, keyed by the store's version, so a compute or ingest is seen by the next read),
and every other caller gets `no_memo`, which reads each time.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import TypeVar

T = TypeVar("T")
Memo = Callable[[Hashable, Callable[[], T]], T]
"""`memo(key, compute)`: the value of `compute()`, possibly remembered from an earlier call with the same key
(within one version of the store: the caller's cache must forget it when the store changes)."""


def no_memo(key: Hashable, compute: Callable[[], T]) -> T:
    """The default `Memo`: nothing is remembered."""
    return compute()
