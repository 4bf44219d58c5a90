"""The command line: ingest reports in JSON and exit codes."""

from __future__ import annotations

import json
import subprocess
import sys


def resonance(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "resonance", *args], capture_output=True, text=True, timeout=300)


def test_ingest_json_report_and_idempotency(tmp_path, data_dir):
    db = str(tmp_path / "cli.duckdb")
    first = resonance("ingest", "as2", str(data_dir / "as2" / "bad-and-good.ndjson"), "--db", db, "--json")
    assert first.returncode == 0, first.stderr
    report = json.loads(first.stdout)
    assert (report["ingested"], report["duplicates"], report["rejected"]) == (6, 0, 6)
    assert report["reasons"]["malformed JSON"] == 1
    second = json.loads(resonance("ingest", "as2", str(data_dir / "as2" / "bad-and-good.ndjson"),
                                  "--db", db, "--json").stdout)
    assert (second["ingested"], second["duplicates"]) == (0, 6)


def test_strict_and_unreadable_input_exit_non_zero(tmp_path, data_dir):
    db = str(tmp_path / "cli.duckdb")
    strict = resonance("ingest", "as2", str(data_dir / "as2" / "bad-and-good.ndjson"), "--db", db, "--strict")
    assert strict.returncode == 1
    missing = resonance("ingest", "as2", str(tmp_path / "nope.ndjson"), "--db", db)
    assert missing.returncode != 0
    assert "no such file" in missing.stderr


def test_help_everywhere():
    for args in (["--help"], ["ingest", "--help"], ["serve", "--help"], ["status", "--help"]):
        out = resonance(*args)
        assert out.returncode == 0 and "Usage" in out.stdout
