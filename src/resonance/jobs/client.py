"""The command-line side of forwarding: submit this command to the server, relay its output.

`store_for()` calls `forward()` when a live server owns the store. The output
is relayed as it is produced (the client polls `GET /api/admin/jobs/{id}` with
offsets), and the process exits with the job's exit code, so scripts see the
same thing with or without a server.
"""

from __future__ import annotations

import getpass
import os
import sys
import time
from typing import Any

import httpx

from resonance.jobs.lockfile import ServerLock, is_alive

TOKEN_HEADER = "X-Resonance-Admin-Token"
EXIT_SERVER_GONE = 75
"""EX_TEMPFAIL: the server stopped mid-job; a write job runs again at its next start."""
POLL_S = (0.05, 0.5)
"""Polling interval: starts short (most commands are quick), backs off to the second value."""
CONNECT_WAIT_S = 10.0
"""How long to wait for a server that has advertised itself but does not answer yet."""


class ServerUnavailable(Exception):
    """The server that owns the store cannot be reached."""


def forward(lock: ServerLock, argv: list[str], read_only: bool) -> int:
    """Run `resonance ARGV` as a job of the server in `lock`; relay output; return the exit code."""
    with httpx.Client(base_url=_local_url(lock.url), headers={TOKEN_HEADER: lock.token}, timeout=30.0) as http:
        submitted = _request(http, lock, "POST", "/api/admin/jobs", json={
            "argv": argv, "read_only": read_only, "requested_by": _user(), "cwd": os.getcwd(),
        })
        job_id = int(submitted["job_id"])
        out_at = err_at = 0
        delay = POLL_S[0]
        try:
            while True:
                try:
                    job = _request(http, lock, "GET", f"/api/admin/jobs/{job_id}",
                                   params={"stdout_from": out_at, "stderr_from": err_at})
                except ServerUnavailable:
                    sys.stderr.write(
                        f"error: the server stopped while running job {job_id}"
                        + ("" if read_only else "; it will run again when the server restarts") + "\n"
                    )
                    return EXIT_SERVER_GONE
                if job["stdout"]:
                    sys.stdout.write(job["stdout"])
                    sys.stdout.flush()
                if job["stderr"]:
                    sys.stderr.write(job["stderr"])
                    sys.stderr.flush()
                out_at, err_at = job["stdout_end"], job["stderr_end"]
                if job["status"] in ("done", "failed", "cancelled"):
                    code = job.get("exit_code")
                    return int(code) if code is not None else 1
                time.sleep(delay)
                delay = min(POLL_S[1], delay * 1.5)
        except KeyboardInterrupt:
            sys.stderr.write(f"\njob {job_id} goes on in the server; see `resonance jobs`\n")
            return 130


def _request(http: httpx.Client, lock: ServerLock, method: str, url: str, **kwargs: Any) -> dict[str, Any]:
    deadline = time.monotonic() + CONNECT_WAIT_S
    while True:
        try:
            response = http.request(method, url, **kwargs)
        except httpx.TransportError as exc:
            if time.monotonic() > deadline or not is_alive(lock):
                raise ServerUnavailable(f"{lock.url}: {exc}") from exc
            time.sleep(0.2)
            continue
        if response.status_code == 503 and time.monotonic() < deadline:
            time.sleep(0.2)
            continue
        if response.status_code >= 400:
            raise ServerUnavailable(f"{lock.url}{url}: HTTP {response.status_code}: {response.text[:300]}")
        return response.json()


def _local_url(url: str) -> str:
    # A server listening on every interface is reached on loopback.
    return url.replace("://0.0.0.0", "://127.0.0.1").replace("://[::]", "://[::1]")


def _user() -> str:
    try:
        return getpass.getuser()
    except Exception:  # noqa: BLE001 - no user name in some containers
        return f"uid:{os.getuid()}"
