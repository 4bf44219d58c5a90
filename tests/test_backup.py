"""`resonance backup` / `restore`: every table's rows identical after a round trip, in both
formats; incomplete backups refused; a backup taken while the server ingests is one snapshot."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from resonance.store import Store, open_store
from resonance.store.backup import BackupError, backup, restore
from rich_store import fill
from server_proc import Server, env, resonance
from synth import write_as2_corpus


def _tables(con, db: str = "main") -> list[str]:
    return [r[0] for r in con.execute(
        "SELECT table_name FROM duckdb_tables() WHERE database_name = current_database() AND NOT temporary "
        "ORDER BY 1" if db == "main" else
        f"SELECT table_name FROM duckdb_tables() WHERE database_name = '{db}' ORDER BY 1").fetchall()]


def assert_same_store(a: Store, b_path: Path) -> dict[str, int]:
    """Every table of `a` equals the same table in the store file at `b_path`: schema and rows."""
    con = a.con
    con.execute(f"ATTACH '{b_path}' AS other (READ_ONLY)")
    try:
        mine, theirs = _tables(con), _tables(con, "other")
        assert mine == theirs
        counts = {}
        for t in mine:
            cols = lambda db, t=t: con.execute(  # noqa: E731
                "SELECT column_name, data_type FROM duckdb_columns() WHERE database_name = ? AND table_name = ? "
                "ORDER BY column_index", [db, t]).fetchall()
            assert cols(con.execute("SELECT current_database()").fetchall()[0][0]) == cols("other"), t
            n = con.execute(f'SELECT count(*) FROM "{t}"').fetchall()[0][0]
            assert n == con.execute(f'SELECT count(*) FROM other."{t}"').fetchall()[0][0], t
            diff = con.execute(
                f'SELECT count(*) FROM ((SELECT * FROM "{t}" EXCEPT ALL SELECT * FROM other."{t}") '
                f'UNION ALL (SELECT * FROM other."{t}" EXCEPT ALL SELECT * FROM "{t}"))').fetchall()[0][0]
            assert diff == 0, f"{t}: {diff} rows differ"
            counts[t] = n
        seqs = "SELECT sequence_name, sql FROM duckdb_sequences() WHERE database_name = ? ORDER BY 1"
        assert con.execute(seqs, [con.execute("SELECT current_database()").fetchall()[0][0]]).fetchall() == \
            con.execute(seqs, ["other"]).fetchall()
        return counts
    finally:
        con.execute("DETACH other")


@pytest.mark.parametrize("fmt", ["parquet", "duckdb"])
def test_round_trip_keeps_every_table_identical(tmp_path, fmt):
    original = open_store(tmp_path / "original.duckdb")
    fill(original)
    manifest = backup(original.con, tmp_path / ("bk.duckdb" if fmt == "duckdb" else "bk"), fmt)
    assert manifest["format"] == fmt and manifest["tables"]["events"] > 400
    # Components that must be in it: core, auth, privacy, metrics.
    assert {"events", "users", "sessions", "consent", "access_log", "person_metrics", "metric_runs"} <= set(
        manifest["tables"])
    restored = open_store(tmp_path / "restored.duckdb")
    restore(restored.con, manifest["path"])
    restored.close()
    counts = assert_same_store(original, tmp_path / "restored.duckdb")
    assert counts["person_metrics"] > 0 and counts["users"] == 3
    original.close()
    # The restored store is a working store: it opens, migrates, and takes new data.
    again = open_store(tmp_path / "restored.duckdb")
    assert again.con.execute("SELECT nextval('ingest_run_seq') = (SELECT max(ingest_id) + 1 FROM ingest_runs)"
                             ).fetchall()[0][0]
    again.close()


def test_backup_refuses_to_overwrite_and_restore_refuses_incomplete_backups(tmp_path):
    store = open_store(tmp_path / "s.duckdb")
    fill(store, metrics=False)
    first = backup(store.con, tmp_path / "bk")
    with pytest.raises(BackupError, match="already exists"):
        backup(store.con, tmp_path / "bk" / "manifest.json")
    in_folder = backup(store.con, tmp_path / "bk")  # an existing folder: a timestamped backup inside it
    assert Path(in_folder["path"]).parent == tmp_path / "bk"
    # Drop rows from one table of the backup: the manifest no longer matches.
    events = Path(first["path"]) / "events.parquet"
    store.con.execute(f"COPY (SELECT * FROM read_parquet('{events}') LIMIT 10) TO '{events}.tmp' (FORMAT parquet)")
    Path(f"{events}.tmp").replace(events)
    target = open_store(tmp_path / "target.duckdb")
    target.con.execute("INSERT INTO quarantine (reason) VALUES ('keep me')")
    with pytest.raises(BackupError, match="events: 10 rows in the backup"):
        restore(target.con, first["path"])
    assert target.con.execute("SELECT reason FROM quarantine").fetchall() == [("keep me",)], "store untouched"
    with pytest.raises(BackupError, match="no such backup"):
        restore(target.con, tmp_path / "nope")
    (tmp_path / "not-a-backup.duckdb").write_bytes(b"hello")
    with pytest.raises(BackupError, match="not a DuckDB backup"):
        restore(target.con, tmp_path / "not-a-backup.duckdb")


def test_cli_backup_restore_and_the_yes_guard(tmp_path, data_dir):
    db, copy = str(tmp_path / "s.duckdb"), str(tmp_path / "copy.duckdb")
    assert resonance("ingest", "as2", str(data_dir / "as2"), "--db", db).returncode == 0
    made = resonance("backup", "--out", str(tmp_path / "bk.duckdb"), "--db", db, "--json")
    assert made.returncode == 0, made.stderr
    assert json.loads(made.stdout)["format"] == "duckdb"
    assert resonance("restore", str(tmp_path / "bk.duckdb"), "--db", copy).returncode == 0
    refused = resonance("restore", str(tmp_path / "bk.duckdb"), "--db", copy)
    assert refused.returncode == 1 and "--yes" in refused.stderr
    assert resonance("restore", str(tmp_path / "bk.duckdb"), "--db", copy, "--yes").returncode == 0
    store = open_store(db)
    assert_same_store(store, Path(copy))
    store.close()


@pytest.mark.slow
def test_backup_through_the_server_is_one_snapshot_while_an_ingest_runs(tmp_path):
    corpus = tmp_path / "corpus"
    expected = write_as2_corpus(corpus, files=8, per_file=2000)
    db = tmp_path / "store.duckdb"
    with Server(db):
        ingest = subprocess.Popen([sys.executable, "-m", "resonance", "ingest", "as2", str(corpus), "--db", str(db)],
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env())
        backups = []
        while ingest.poll() is None and len(backups) < 4:
            out = tmp_path / f"bk{len(backups)}.duckdb"
            made = resonance("backup", "--out", str(out), "--db", str(db), "--json")
            assert made.returncode == 0, made.stderr
            backups.append(json.loads(made.stdout))
            time.sleep(0.2)
        assert ingest.wait(timeout=300) == 0, ingest.stderr.read()
        restored = resonance("restore", backups[0]["path"], "--db", str(db), "--yes", "--json")
        assert restored.returncode == 0, restored.stderr
        jobs = {r["argv"][0]: r for r in server_jobs(db)}
    assert backups, "no backup ran during the ingest"
    assert jobs["backup"]["read_only"] and not jobs["restore"]["read_only"]
    for manifest in backups:  # each backup: complete batches only, and its manifest matches its content
        bk = open_store(manifest["path"], read_only=True)
        per_file = bk.con.execute("SELECT split_part(native_id, ':', 2), count(*) FROM events GROUP BY 1").fetchall()
        assert all(n == expected[f"part-{f[1:]}.ndjson"] for f, n in per_file), per_file
        assert bk.con.execute("SELECT count(*) FROM events").fetchall()[0][0] == manifest["tables"]["events"]
        bk.close()
    store = open_store(db)
    assert store.con.execute("SELECT count(*) FROM events").fetchall()[0][0] == backups[0]["tables"]["events"]
    assert store.con.execute("SELECT count(*) FROM jobs").fetchall()[0][0] >= len(backups) + 2, "jobs kept"
    store.close()


def server_jobs(db: Path) -> list[dict]:
    out = resonance("jobs", "--db", str(db), "--json", "--limit", "100")
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


def test_compact_rewrites_the_file_with_every_table_identical(tmp_path):
    import shutil

    from resonance.store.compact import compact_store

    store = open_store(tmp_path / "s.duckdb")
    fill(store, metrics=False)
    store.con.execute("DELETE FROM events WHERE verb = 'View'")
    store.close()
    shutil.copy(tmp_path / "s.duckdb", tmp_path / "copy.duckdb")
    before, after = compact_store(tmp_path / "copy.duckdb")
    assert after <= before
    original = open_store(tmp_path / "s.duckdb")
    assert_same_store(original, tmp_path / "copy.duckdb")
    original.close()
