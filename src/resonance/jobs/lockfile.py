"""`<db>.server.json`: how a running server tells command-line tools it owns the store.

The server writes it (mode 0600: it holds the local admin token) once it has
opened the store, and removes it on shutdown. A lock whose process is gone
(a killed server) is stale: the first tool that notices removes it.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import socket
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import psutil

SUFFIX = ".server.json"


@dataclass(frozen=True, slots=True)
class ServerLock:
    pid: int
    url: str
    token: str
    db: str
    host: str
    started_at: float
    process_started: float | None = None
    """psutil's create_time of the server process: tells a live server from a new
    process that happens to reuse its pid."""


def lock_path(db_path: Path | str) -> Path:
    """Where the lock of the store at `db_path` lives: beside it."""
    path = Path(db_path).absolute()
    return path.with_name(path.name + SUFFIX)


def new_token() -> str:
    return secrets.token_urlsafe(32)


def write_lock(db_path: Path | str, url: str, token: str) -> ServerLock:
    """Advertise this process as the server of `db_path` (atomically, mode 0600)."""
    pid = os.getpid()
    lock = ServerLock(
        pid=pid, url=url.rstrip("/"), token=token, db=str(Path(db_path).absolute()),
        host=socket.gethostname(), started_at=time.time(), process_started=_create_time(pid),
    )
    target = lock_path(db_path)
    tmp = target.with_name(f".{target.name}.{pid}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.fchmod(fd, 0o600)  # whatever the umask or an older file said
        os.write(fd, json.dumps(asdict(lock), indent=2).encode())
    finally:
        os.close(fd)
    os.replace(tmp, target)
    return lock


def read_lock(db_path: Path | str) -> ServerLock | None:
    """The lock file's content, or None if there is none or it is unreadable."""
    try:
        data = json.loads(lock_path(db_path).read_text())
        return ServerLock(**{k: data.get(k) for k in ServerLock.__dataclass_fields__})
    except (OSError, ValueError, TypeError):
        return None


def is_alive(lock: ServerLock) -> bool:
    """Whether the process that wrote `lock` still runs (on another host: assume so)."""
    if lock.host != socket.gethostname():
        return True
    try:
        proc = psutil.Process(int(lock.pid))
        if proc.status() == psutil.STATUS_ZOMBIE:
            return False
        return lock.process_started is None or abs(proc.create_time() - lock.process_started) < 1.0
    except (psutil.Error, ValueError, TypeError):
        return False


def live_server(db_path: Path | str) -> ServerLock | None:
    """The server that owns `db_path`, if one runs; a stale lock is removed."""
    lock = read_lock(db_path)
    if lock is None:
        if lock_path(db_path).exists():  # unreadable or half-written: treat as stale
            _remove(lock_path(db_path))
        return None
    if is_alive(lock):
        return lock
    _remove(lock_path(db_path))
    return None


def remove_lock(db_path: Path | str, token: str) -> None:
    """Remove the lock if it is still ours (a newer server may have replaced it)."""
    lock = read_lock(db_path)
    if lock is not None and lock.token == token:
        _remove(lock_path(db_path))


def _remove(path: Path) -> None:
    with contextlib.suppress(FileNotFoundError):
        path.unlink()


def _create_time(pid: int) -> float | None:
    try:
        return psutil.Process(pid).create_time()
    except psutil.Error:
        return None
