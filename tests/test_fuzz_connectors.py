"""Property-based fuzzing of every connector, seeded with the real samples of tests/data.

Hypothesis mutates a real input (truncations, deletions, inserted and flipped bytes,
duplicated slices, structural characters) and checks, for every mutant: the ingest ends
with a report or a clear `SourceError`, never another exception; it ends in seconds; and
running it again adds nothing (idempotent, quarantine included). More examples:
RESONANCE_FUZZ_EXAMPLES=500.
"""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from resonance.ingest import run_ingest
from resonance.sources import SourceError, registry
from resonance.store import open_store

DATA = Path(__file__).parent / "data"
EXAMPLES = int(os.environ.get("RESONANCE_FUZZ_EXAMPLES", "12"))
ENRON = {"header": "false", "source": "enron", "column_map": {"id": "1", "time": "3", "actor": "4", "to": "5",
                                                               "title": "6"},
         "constants": {"verb": "Create", "object_kind": "message"}}


def _head(path: Path, lines: int) -> bytes:
    return b"".join(path.read_bytes().splitlines(keepends=True)[:lines])


# kind -> (seed bytes, the file name it is written to inside the input folder, the path to ingest, options)
SEEDS = {
    "as2": (lambda: (DATA / "as2" / "bad-and-good.ndjson").read_bytes(), "in.ndjson", "in.ndjson", {}),
    "csv": (lambda: _head(DATA / "enron" / "messages-with-recipients-3000.tsv", 25), "in.tsv", "in.tsv", ENRON),
    "directory": (lambda: _head(DATA / "enron" / "employees.tsv", 25), "in.tsv", "in.tsv",
                  {"header": "false", "id_prefix": "enron",
                   "column_map": {"id": "1", "name": "2", "role": "3", "department": "4", "title": "5"}}),
    "stackexchange": (lambda: _head(DATA / "stackexchange" / "bicycles-meta-2023" / "Posts.xml", 20),
                      "site/Posts.xml", "site", {"site": "bicycles.meta"}),
    "email": (lambda: (DATA / "mail" / "acme-small.mbox").read_bytes()[:20_000], "in.mbox", "in.mbox", {}),
    "slack": (lambda: (DATA / "slack" / "acme-export" / "general" / "2026-03-02.json").read_bytes(),
              "export/general/2026-03-02.json", "export", {}),
    "calendar": (lambda: (DATA / "calendar" / "acme.ics").read_bytes(), "in.ics", "in.ics",
                 {"window_start": "2026-01-01", "window_end": "2026-12-31"}),
    "crm": (lambda: (DATA / "crm" / "acme" / "Opportunity.csv").read_bytes(), "crm/Opportunity.csv", "crm", {}),
    "scim": (lambda: (DATA / "scim" / "Users.json").read_bytes(), "in.json", "in.json", {}),
    "mattermost": (lambda: (DATA / "mattermost" / "export.jsonl").read_bytes(), "in.jsonl", "in.jsonl", {}),
}
SIBLINGS = {  # the other files of a folder input, copied unchanged beside the mutated one
    "slack": (DATA / "slack" / "acme-export", "export", ("users.json", "channels.json")),
    "crm": (DATA / "crm" / "acme", "crm", ("User.csv", "Account.csv")),
}
STRUCTURAL = [b"\n", b"\r\n", b'"', b"'", b",", b"\t", b"{", b"}", b"[", b"]", b"<", b">", b"&", b"\x00", b"\xff",
              b"\xc3", b":", b"=", b"\\", b"BEGIN:VEVENT\r\n", b"END:VCALENDAR\r\n",
              b"From x@y Mon Jan  1 00:00 2026\n"]


@st.composite
def mutants(draw: st.DrawFn, seed: bytes) -> bytes:
    data = bytearray(seed)
    for _ in range(draw(st.integers(1, 4))):
        n = len(data)
        at = draw(st.integers(0, max(0, n)))
        op = draw(st.sampled_from(["truncate", "delete", "insert", "flip", "duplicate", "structural"]))
        if op == "truncate":
            del data[at:]
        elif op == "delete":
            del data[at:at + draw(st.integers(1, 200))]
        elif op == "insert":
            data[at:at] = draw(st.binary(min_size=1, max_size=64))
        elif op == "flip" and n:
            i = min(at, n - 1)
            data[i] = draw(st.integers(0, 255))
        elif op == "duplicate":
            piece = data[at:at + draw(st.integers(1, 400))]
            data[at:at] = piece * draw(st.integers(1, 3))
        else:
            data[at:at] = draw(st.sampled_from(STRUCTURAL))
    return bytes(data)


@pytest.mark.slow
@pytest.mark.parametrize("kind", sorted(SEEDS))
def test_connector_survives_mutated_real_input(kind, tmp_path_factory):
    assert set(SEEDS) == set(registry()), "every connector is fuzzed"
    seed_bytes, rel, target, options = SEEDS[kind]
    seed = seed_bytes()
    store = open_store(":memory:")  # shared by the examples: idempotency holds whatever is already in
    counter = iter(range(10**9))

    @settings(max_examples=EXAMPLES, deadline=None, derandomize=True,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
    @given(data=st.data())
    def check(data: st.DataObject) -> None:
        mutant = data.draw(mutants(seed))
        folder = tmp_path_factory.mktemp(f"{kind}-{next(counter)}")
        if kind in SIBLINGS:
            source, sub, names = SIBLINGS[kind]
            for name in names:
                (folder / sub).mkdir(parents=True, exist_ok=True)
                shutil.copy(source / name, folder / sub / name)
        (folder / rel).parent.mkdir(parents=True, exist_ok=True)
        (folder / rel).write_bytes(mutant)
        started = time.monotonic()
        try:
            run_ingest(store.con, kind, [folder / target], options)
        except SourceError:
            return
        quarantined = store.con.execute("SELECT count(*) FROM quarantine").fetchall()[0][0]
        again = run_ingest(store.con, kind, [folder / target], options)
        assert again.ingested == 0, f"re-run ingested {again.as_dict()}"
        assert store.con.execute("SELECT count(*) FROM quarantine").fetchall()[0][0] == quarantined
        assert time.monotonic() - started < 30

    try:
        check()
    finally:
        store.close()
