"""Issue 10, load: reads, kudos and votes from concurrent signed-in clients against a real
`resonance serve` while a compute runs in it as a job: no errors, every write stored exactly once.

The short version of `benchmarks/load.py` (50 clients x 60 s): 10 clients for 10 seconds on a small
generated company. The kudos budget is kept low, so that the rules refuse some kudos (429): those
are expected outcomes, and nothing refused may be stored.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from resonance.generate import GenerateOptions, generate
from resonance.ingest import run_ingest
from resonance.metrics.pipeline import run_pipeline
from resonance.store import open_store

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
from load import run_mixed  # noqa: E402 - benchmarks/ is not a package

pytestmark = pytest.mark.slow

RULES = """[kudos]
budget = 1
budget_period = "week"
rate_limit_per_minute = 1000
vote_rate_limit_per_minute = 1000
"""


@pytest.fixture(scope="module")
def computed_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    work = tmp_path_factory.mktemp("load")
    data = work / "company"
    generate(GenerateOptions(people=40, days=45, events=3000, formats=("directory", "as2")), data)
    db = work / "load.duckdb"
    store = open_store(db)
    try:
        run_ingest(store.con, "directory", [data / "directory.csv"])
        run_ingest(store.con, "as2", [data / "activity.ndjson"])
        run_pipeline(store.con, periods=["month"])
    finally:
        store.close()
    return db


def test_reads_and_writes_under_load_during_a_compute_are_stored_exactly_once(computed_store: Path) -> None:
    fig = run_mixed(computed_store, clients=10, duration=10, think=(0.02, 0.1), rules_toml=RULES, compute=True,
                    log=lambda _: None, accounts=5, compute_args=("--period", "month"), warm_paths=())
    writes = fig["writes"]
    assert fig["errors"] == 0, fig["error_samples"]
    assert fig["compute"]["exit_code"] == 0, fig["compute"]
    assert fig["jobs"].get("done", 0) >= 1 and not fig["jobs"].get("failed"), fig["jobs"]
    assert fig["compute"]["overlap_s"] > 0, "the compute job ran while the clients read and wrote"
    # The load did what it says: reads, and accepted writes of both kinds.
    assert fig["reads"] >= 10, fig["outcomes"]
    assert writes["kudos_created"] > 0 and writes["votes_changed"] > 0, writes
    # The budget (1 a week): a second kudos from the same person is refused (429), and never stored.
    if max(fig["kudos_attempts_per_user"].values()) >= 2:
        assert writes["refused"] > 0, (writes, fig["statuses"])
    assert writes["kudos_rows"] <= 5, writes
    assert writes["exactly_once"], writes
    assert writes["kudos_rows"] == writes["kudos_created"] == writes["kudos_events"] == writes["kudos_audit"]
    assert writes["vote_events"] == writes["votes_changed"] == writes["vote_audit"]
    assert writes["votes_wrong_value"] == 0 and writes["kudos_duplicate_acks_missing"] == 0
