"""Coverage-guided fuzzing with atheris of the connectors that parse in Python (tests/atheris_harness.py),
seeded with their real samples: no crash, no input slower than 10 s, no more than 1 GB, for a short run
per connector in CI. Longer: RESONANCE_ATHERIS_RUNS=100000 (the corpus grows in the test's tmp folder)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("atheris", reason="the [test] extra installs atheris on Linux x86_64")

from atheris_harness import PYTHON_PARSERS  # noqa: E402 - only once atheris is known to import

pytestmark = pytest.mark.slow
HERE = Path(__file__).parent
RUNS = int(os.environ.get("RESONANCE_ATHERIS_RUNS", "300"))


@pytest.mark.parametrize("kind", PYTHON_PARSERS)
def test_coverage_guided_fuzzing_finds_no_crash_hang_or_blow_up(kind, tmp_path):
    env = {**os.environ, "PYTHONPATH": str(HERE.parent / "src") + os.pathsep + os.environ.get("PYTHONPATH", "")}
    run = subprocess.run(
        [sys.executable, str(HERE / "atheris_harness.py"), kind, str(tmp_path), f"-runs={RUNS}", "-timeout=10",
         "-rss_limit_mb=1024", "-max_total_time=60", "-print_final_stats=1"],
        capture_output=True, text=True, env=env, timeout=300,
    )
    found = sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(("crash-", "timeout-", "oom-")))
    assert run.returncode == 0 and not found, f"{found}\n{run.stderr[-4000:]}"
    assert "Done" in run.stderr and "stat::number_of_executed_units" in run.stderr
    corpus = list((tmp_path / "corpus").iterdir())
    assert len(corpus) > 1, "atheris kept no new input: the connector is not instrumented"
