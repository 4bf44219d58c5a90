"""Shared helpers of the benchmark scripts: sizes, cached generated data, child processes with their
own peak memory, medians, the machine's description and appending to RESULTS.md.

Heavy work (ingest, compute) runs in a fresh child interpreter so that its peak resident memory
is its own (`os.wait4` returns the rusage of that one child), and so that a run starts cold.
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
SRC = Path(os.environ.get("RESONANCE_BENCH_SRC", ROOT / "src"))
"""The code measured (children run it): this checkout, or another `src` folder (a branch under review)."""
RESULTS = ROOT / "benchmarks" / "RESULTS.md"
CACHE = Path(os.environ.get("RESONANCE_BENCH_CACHE", ROOT / "benchmarks" / ".cache"))
"""Generated data and ingested stores, reused across runs (ignored by git; delete to regenerate)."""

SIZES: dict[str, tuple[int, int]] = {"100k": (100_000, 1_000), "1m": (1_000_000, 5_000), "10m": (10_000_000, 50_000)}
"""size -> (AS2 events, people); one year of activity ending on the generator's default end date."""

DAYS = 365
SEED = 42
END = "2026-10-30"
"""A Friday: the last day, added by the incremental benchmark, is a working day (a Saturday holds few events)."""


def child_env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": os.pathsep.join([str(SRC), str(ROOT / "benchmarks"),
                                                         os.environ.get("PYTHONPATH", "")])}


@dataclass
class ChildResult:
    out: Any
    """The JSON object the child printed last on stdout."""
    wall_s: float
    cpu_s: float
    """User + system CPU seconds of the child (on a shared machine CPU says more than wall time)."""
    peak_rss_mb: float
    """The child's own peak resident set size."""


def run_child(code: str, *args: str, timeout: float | None = None) -> ChildResult:
    """Run `code` in a fresh interpreter (this checkout's `src` and `benchmarks` first on the path);
    it must print one JSON value as its last stdout line. Raises with its stderr when it fails."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        started = time.perf_counter()
        proc = subprocess.Popen([sys.executable, "-c", code, *args], stdout=out, stderr=err, env=child_env())
        deadline = None if timeout is None else started + timeout
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            if deadline is not None and time.perf_counter() > deadline:
                proc.kill()
                pid, status, usage = os.wait4(proc.pid, 0)
                break
            time.sleep(0.05)
        proc.returncode = os.waitstatus_to_exitcode(status)
        wall = time.perf_counter() - started
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read().decode(errors="replace"), err.read().decode(errors="replace")
    if proc.returncode != 0:
        raise RuntimeError(f"benchmark child failed (exit {proc.returncode}):\n{stderr[-4000:]}")
    return ChildResult(_last_json(stdout), wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024)


def _last_json(stdout: str) -> Any:
    """The last line of `stdout` that is a JSON value (DuckDB may draw a progress bar on stdout)."""
    for line in reversed(stdout.splitlines()):
        if line.strip().startswith(("{", "[")):
            try:
                return json.loads(line)
            except ValueError:
                continue
    return None


def median(values: list[float]) -> float | None:
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def machine() -> str:
    """One line describing this machine and the moment (load average: the machine may be shared)."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        mem_kb = next(int(line.split()[1]) for line in Path("/proc/meminfo").read_text().splitlines()
                      if line.startswith("MemTotal"))
        mem = f"{mem_kb / 1024 / 1024:.0f} GiB RAM"
    except (OSError, StopIteration):
        mem = "RAM unknown"
    import duckdb

    return (f"{cpu}, {os.cpu_count()} CPUs, {mem}, {platform.system()} {platform.release()}, "
            f"Python {platform.python_version()}, DuckDB {duckdb.__version__}, "
            f"load average {os.getloadavg()[0]:.1f} at the start")


def append_results(title: str, body: str) -> None:
    """Append a dated section to benchmarks/RESULTS.md."""
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    with open(RESULTS, "a", encoding="utf-8") as f:
        f.write(f"\n## {title} — {stamp}\n\n{body.rstrip()}\n")


# --- generated data ----------------------------------------------------------------------------
def generated(size: str, formats: str = "directory,as2", people: int | None = None, events: int | None = None,
              log: Any = print) -> Path:
    """The folder of `resonance generate` output for a size, generated once and cached under
    benchmarks/.cache/<size>/ (regenerated when the options differ)."""
    n_events, n_people = SIZES[size]
    people = people or n_people
    events = events or n_events
    out = CACHE / f"{size}-{formats.replace(',', '+')}"
    options = {"people": people, "events": events, "days": DAYS, "seed": SEED, "end": END, "formats": formats}
    stamp = out / "bench-options.json"
    if stamp.exists() and json.loads(stamp.read_text()) == options:
        return out
    if out.exists():
        shutil.rmtree(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    log(f"generating {size}: {events:,} events, {people:,} people ({formats}) into {out} ...")
    started = time.perf_counter()
    cmd = [sys.executable, "-m", "resonance", "generate", "--out", str(out), "--people", str(people),
           "--days", str(DAYS), "--seed", str(SEED), "--end", END, "--events", str(events), "--formats", formats,
           "--json"]
    subprocess.run(cmd, check=True, env=child_env(), stdout=subprocess.DEVNULL)
    log(f"  generated in {time.perf_counter() - started:.0f} s")
    stamp.write_text(json.dumps(options))
    return out


def split_last_day(data: Path, last_day: str = END) -> tuple[Path, Path, date]:
    """Split activity.ndjson (sorted by time, as the generator writes it) into everything before
    `last_day` (`base.ndjson`) and from that day on (`day.ndjson`: that day, plus the few events the
    generator stamps at midnight after it): the incremental benchmark ingests and computes the base,
    then adds one more day. Cached beside the data."""
    src = data / "activity.ndjson"
    base, day = data / "base.ndjson", data / "day.ndjson"
    stamp = data / "split.json"
    if stamp.exists() and base.exists() and day.exists() and json.loads(stamp.read_text())["day"] == last_day:
        return base, day, date.fromisoformat(last_day)
    with open(src, "rb") as f:
        size = f.seek(0, os.SEEK_END)

        def day_at(pos: int) -> tuple[int, str]:
            """(offset, day) of the first whole line starting at or after `pos`."""
            f.seek(max(0, pos - 1))
            if pos:
                f.readline()  # to the end of the line holding pos - 1: the next line starts at or after pos
            start = f.tell()
            line = f.readline()
            return start, (json.loads(line)["published"][:10] if line.strip() else "9999")

        # Lines are in time order: binary search for the first line of the last day.
        lo, hi = 0, size
        while hi - lo > 1:
            mid = (lo + hi) // 2
            if day_at(mid)[1] < last_day:
                lo = mid
            else:
                hi = mid
        offset = day_at(lo)[0] if day_at(lo)[1] >= last_day else day_at(hi)[0]
    with open(src, "rb") as f, open(base, "wb") as b, open(day, "wb") as d:
        remaining = offset
        while remaining > 0:
            buf = f.read(min(remaining, 16 << 20))
            if not buf:
                break
            b.write(buf)
            remaining -= len(buf)
        shutil.copyfileobj(f, d, 16 << 20)
    stamp.write_text(json.dumps({"day": last_day, "offset": offset}))
    return base, day, date.fromisoformat(last_day)


def count_lines(path: Path) -> int:
    n = 0
    with open(path, "rb") as f:
        while buf := f.read(16 << 20):
            n += buf.count(b"\n")
    return n


def copy_store(src: Path, dst: Path) -> Path:
    """Copy a closed DuckDB file (and its WAL, if any) to a new path."""
    for suffix in ("", ".wal"):
        target = Path(str(dst) + suffix)
        if target.exists():
            target.unlink()
        source = Path(str(src) + suffix)
        if source.exists():
            shutil.copyfile(source, target)
    return dst


CHILD_USERS = """
import json, sys
from resonance.store import open_store
from resonance.web.accounts import create_user, ensure_auth_schema
db, n, password = sys.argv[1], int(sys.argv[2]), sys.argv[3]
store = open_store(db)
ensure_auth_schema(store.con)
# The most active people (by events), so that every dashboard has figures; a stable order.
people = [r[0] for r in store.con.execute(
    "SELECT i.person_id, count(*) AS n FROM events e JOIN identities i ON i.identity = e.actor "
    "JOIN people p ON p.person_id = i.person_id GROUP BY 1 ORDER BY n DESC, 1 LIMIT ?", [n]).fetchall()]
existing = {r[0] for r in store.con.execute("SELECT username FROM users").fetchall()}
accounts = []
for k, person in enumerate(people):
    name = f"load{k:03d}"
    if name not in existing:
        create_user(store.con, name, password, "employee", person, actor="bench")
    accounts.append([name, password, person])
receivers = [r[0] for r in store.con.execute(
    "SELECT person_id FROM people WHERE NOT coalesce(is_external, false) ORDER BY person_id LIMIT 2000").fetchall()]
items = [r[0] for r in store.con.execute(
    "SELECT item_id FROM items WHERE kind IN ('post', 'question', 'answer', 'comment', 'wiki', 'page') "
    "ORDER BY hash(item_id) LIMIT 2000").fetchall()]
periods = [r[0] for r in store.con.execute(
    "SELECT period FROM metric_periods WHERE period_type IN ('month', 'quarter') ORDER BY period_start DESC LIMIT 6"
).fetchall()]
store.con.execute("CHECKPOINT")
store.close()
print(json.dumps({"accounts": accounts, "receivers": receivers, "items": items, "periods": periods}))
"""

PASSWORD = "bench-load-password-123"


# --- a real server ------------------------------------------------------------------------------
def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def setup_accounts(db: Path, n: int) -> dict[str, Any]:
    """Create `n` employee accounts (`load000`...) for the most active people of the store at `db`
    (closed); returns {"accounts": [[username, password, person_id]], "receivers", "items", "periods"}."""
    return run_child(CHILD_USERS, str(db), str(n), PASSWORD).out


class served:  # noqa: N801 - used as a context manager, like open()
    """`resonance serve --db DB` on 127.0.0.1 and a free port, stopped gracefully afterwards."""

    def __init__(self, db: Path, extra_env: dict[str, str] | None = None) -> None:
        self.db, self.extra_env = db, extra_env or {}
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen | None = None

    def __enter__(self) -> tuple[str, subprocess.Popen]:
        import httpx

        self.log = open(str(self.db) + ".serve.log", "w")  # noqa: SIM115 - the server writes until it stops
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "resonance", "serve", "--db", str(self.db), "--port", str(self.port)],
            stdout=self.log, stderr=subprocess.STDOUT, env={**child_env(), **self.extra_env})
        deadline = time.monotonic() + 120
        lock = Path(str(self.db.absolute()) + ".server.json")
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("server exited: " + Path(self.log.name).read_text()[-2000:])
            try:
                if lock.exists() and httpx.get(self.url + "/health", timeout=2).status_code == 200:
                    return self.url, self.proc
            except httpx.TransportError:
                pass
            time.sleep(0.2)
        self.proc.kill()
        raise RuntimeError("server did not start: " + Path(self.log.name).read_text()[-2000:])

    def __exit__(self, *exc: object) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(timeout=90)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()


def rss_mb(pid: int) -> float | None:
    """Current resident memory of a live process (the server, which lives on)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):  # the peak so far
                return round(int(line.split()[1]) / 1024)
    except OSError:
        return None
    return None


def proc_cpu_s(pid: int) -> float | None:
    """User + system CPU seconds a live process used so far (/proc; None elsewhere)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return None
