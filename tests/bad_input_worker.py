"""Runs hostile-input cases in a process of its own (so the test runner survives whatever happens)
and prints one JSON result per case: outcome, message, counts, time and peak memory.

    python tests/bad_input_worker.py < cases.json > results.jsonl

Outcomes: ok (ingested, maybe with quarantined records), error (SourceError: a clear
message for the whole input), timeout, crash (any other exception, with its traceback).
Each case runs twice on a fresh in-memory store; the second run must add nothing.
"""

from __future__ import annotations

import json
import signal
import sys
import threading
import time
import traceback
from pathlib import Path

import psutil

from resonance.ingest import run_ingest
from resonance.sources import SourceError
from resonance.store import open_store


class Timeout(BaseException):  # not Exception: libraries that catch everything must not swallow it
    pass


def _alarm(signum, frame):  # noqa: ANN001
    raise Timeout()


class PeakRss:
    """Samples this process's resident memory every few milliseconds."""

    def __init__(self) -> None:
        self.proc = psutil.Process()
        self.start = self.peak = self.proc.memory_info().rss
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(0.005):
            self.peak = max(self.peak, self.proc.memory_info().rss)

    def stop(self) -> float:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self.proc.memory_info().rss)
        return (self.peak - self.start) / (1 << 20)


def run_case(case: dict) -> dict:
    store = open_store(":memory:")
    timeout = float(case.get("timeout", 30))
    out: dict = {"name": case["name"]}
    rss = PeakRss()
    interrupter = threading.Timer(timeout, store.con.interrupt)
    interrupter.start()
    signal.signal(signal.SIGALRM, _alarm)
    signal.setitimer(signal.ITIMER_REAL, timeout)
    started = time.perf_counter()
    try:
        report = run_ingest(store.con, case["kind"], [Path(case["path"])], case.get("options") or {})
        quarantined = store.con.execute("SELECT count(*) FROM quarantine").fetchall()[0][0]
        again = run_ingest(store.con, case["kind"], [Path(case["path"])], case.get("options") or {})
        out.update(outcome="ok", ingested=report.ingested, rejected=report.rejected,
                   reasons=sorted(report.counts.reasons), rerun_ingested=again.ingested,
                   rerun_new_quarantine=store.con.execute("SELECT count(*) FROM quarantine").fetchall()[0][0]
                   - quarantined)
    except SourceError as exc:
        out.update(outcome="error", message=str(exc))
    except Timeout:
        out.update(outcome="timeout")
    except Exception as exc:  # noqa: BLE001 - reported, that is the point
        if "INTERRUPT" in str(exc).upper():
            out.update(outcome="timeout", message=str(exc))
        else:
            out.update(outcome="crash", message=f"{type(exc).__name__}: {exc}"[:2000],
                       traceback=traceback.format_exc()[-3000:])
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        interrupter.cancel()
        out["seconds"] = round(time.perf_counter() - started, 3)
        out["rss_mb"] = round(rss.stop(), 1)
        store.close()
    return out


def main() -> None:
    for case in json.load(sys.stdin):
        print(json.dumps(run_case(case)), flush=True)


if __name__ == "__main__":
    main()
