"""Per-thread capture of stdout and stderr.

A job is the same Typer command a terminal would run, so it prints with
`print`, `typer.echo` and Rich. `sys.stdout` and `sys.stderr` are process-wide;
while a runner is active they are replaced by proxies that send a thread's
writes to that thread's buffers when it has some, and to the real stream
otherwise. Web request threads and the server's own logging are untouched.
"""

from __future__ import annotations

import io
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TextIO

_local = threading.local()
_install_lock = threading.Lock()
_installs = 0


class _ThreadStream(io.TextIOBase):
    def __init__(self, name: str, fallback: TextIO) -> None:
        self._name = name
        self.fallback = fallback

    def _target(self) -> TextIO:
        return getattr(_local, self._name, None) or self.fallback

    def write(self, s: str) -> int:  # type: ignore[override]
        return self._target().write(s)

    def flush(self) -> None:
        self._target().flush()

    def isatty(self) -> bool:
        target = getattr(_local, self._name, None)
        return False if target is not None else self.fallback.isatty()

    def fileno(self) -> int:
        if getattr(_local, self._name, None) is not None:
            raise io.UnsupportedOperation("captured stream has no file descriptor")
        return self.fallback.fileno()

    @property
    def encoding(self) -> str:  # type: ignore[override]
        return "utf-8"

    def writable(self) -> bool:
        return True


class LiveBuffer(io.StringIO):
    """A StringIO another thread may read while the job writes (under the GIL,
    `getvalue` sees a consistent string)."""

    def isatty(self) -> bool:
        return False


def install() -> None:
    """Put the proxies in place (counted: nested runners share them)."""
    global _installs
    with _install_lock:
        _installs += 1
        _ensure_proxies()


def _ensure_proxies() -> None:
    # Something else (a test runner's capture, say) may have replaced sys.stdout since:
    # wrap whatever is there now.
    for name in ("stdout", "stderr"):
        current = getattr(sys, name)
        if not isinstance(current, _ThreadStream):
            setattr(sys, name, _ThreadStream(name, current))


def uninstall() -> None:
    global _installs
    with _install_lock:
        _installs = max(0, _installs - 1)
        if _installs == 0:
            for name in ("stdout", "stderr"):
                current = getattr(sys, name)
                if isinstance(current, _ThreadStream):
                    setattr(sys, name, current.fallback)


@contextmanager
def captured(out: TextIO, err: TextIO) -> Iterator[None]:
    """Within the body, this thread's stdout/stderr go to `out`/`err`."""
    with _install_lock:
        _ensure_proxies()
    previous = getattr(_local, "stdout", None), getattr(_local, "stderr", None)
    _local.stdout, _local.stderr = out, err
    try:
        yield
    finally:
        _local.stdout, _local.stderr = previous
