"""A real `resonance serve` in a subprocess, for tests that need the server to own a store."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

SRC = str(Path(__file__).resolve().parents[1] / "src")


def env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": SRC + os.pathsep + os.environ.get("PYTHONPATH", ""), "COLUMNS": "100"}


def resonance(*args: str, cwd: Path | None = None, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "resonance", *args], capture_output=True, text=True,
                          timeout=timeout, env=env(), cwd=cwd)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """`resonance serve --db DB` on a free port; `stop()` ends it gracefully, `kill()` with SIGKILL."""

    def __init__(self, db: Path) -> None:
        self.db = db
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = db.with_name(db.name + f".serve-{self.port}.log")
        self.proc: subprocess.Popen | None = None

    def start(self, timeout: float = 120) -> Server:  # a busy CI machine can take long to import and open
        out = open(self.log, "w")  # noqa: SIM115 - the server writes to it until it stops
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "resonance", "serve", "--db", str(self.db), "--port", str(self.port)],
            stdout=out, stderr=subprocess.STDOUT, env=env(),
        )
        deadline = time.monotonic() + timeout
        lock = Path(str(self.db.absolute()) + ".server.json")
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited: {self.log.read_text()}")
            try:
                if lock.exists() and httpx.get(self.url + "/health", timeout=2).status_code == 200:
                    return self
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        self.kill()
        raise RuntimeError(f"server did not start: {self.log.read_text()}")

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.kill()

    def kill(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=30)

    def __enter__(self) -> Server:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
