"""What a job running inside the server sees: the server's store, and who asked.

`store_for()` checks `server_store()` first: inside a job it yields the
server's own store (a cursor of it) instead of opening the file, which the
server holds. Context variables are per thread, so web requests never see them.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from resonance.store import Store

_STORE: ContextVar[Store | None] = ContextVar("resonance_server_store", default=None)
_USER: ContextVar[str | None] = ContextVar("resonance_job_user", default=None)


def server_store() -> Store | None:
    """The store injected by the server's job runner, or None outside a job."""
    return _STORE.get()


def job_user() -> str | None:
    """The OS user who submitted the current job, or None outside a job."""
    return _USER.get()


@contextmanager
def running_job(store: Store, user: str | None) -> Iterator[None]:
    """Run the body as a job: `store_for()` yields `store`, `job_user()` is `user`."""
    store_token = _STORE.set(store)
    user_token = _USER.set(user)
    try:
        yield
    finally:
        _USER.reset(user_token)
        _STORE.reset(store_token)
