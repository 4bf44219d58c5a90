"""The job API in-process: token check, ordering, output capture, argv rebuilding."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import pytest
import typer
from fastapi.testclient import TestClient

from resonance.config import Settings
from resonance.jobs.argv import canonical_argv
from resonance.jobs.client import TOKEN_HEADER
from resonance.web.app import create_app


@pytest.fixture
def client(store):
    app = create_app(Settings.from_args(db=store.path), store=store)
    with TestClient(app) as c:
        c.token = app.state.admin_token  # type: ignore[attr-defined]
        yield c


def _wait(client: TestClient, job_id: int) -> dict:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        job = client.get(f"/api/admin/jobs/{job_id}", headers={TOKEN_HEADER: client.token}).json()
        if job["status"] in ("done", "failed", "cancelled"):
            return job
        time.sleep(0.05)
    raise AssertionError(f"job {job_id} did not finish")


def test_job_endpoints_need_the_local_admin_token(client):
    body = {"argv": ["status", "--json"], "read_only": True}
    assert client.post("/api/admin/jobs", json=body).status_code == 401
    assert client.post("/api/admin/jobs", json=body, headers={TOKEN_HEADER: "wrong"}).status_code == 401
    assert client.get("/api/admin/jobs").status_code == 401
    assert client.get("/api/admin/jobs/1").status_code == 401
    ok = client.post("/api/admin/jobs", json=body, headers={TOKEN_HEADER: client.token})
    assert ok.status_code == 202
    assert client.get("/api/admin/jobs/999", headers={TOKEN_HEADER: client.token}).status_code == 404
    job = _wait(client, ok.json()["job_id"])
    assert job["status"] == "done" and job["exit_code"] == 0 and '"totals"' in job["stdout"]


def test_jobs_run_in_the_server_store_with_output_and_exit_code(client, data_dir):
    sample = str(data_dir / "as2" / "bad-and-good.ndjson")
    headers = {TOKEN_HEADER: client.token}
    ids = [client.post("/api/admin/jobs", headers=headers, json={"argv": argv, "read_only": False}).json()["job_id"]
           for argv in (["ingest", "as2", sample, "--json"], ["ingest", "as2", sample, "--strict"],
                        ["ingest", "as2", "/nonexistent/x.ndjson"], ["no-such-command"])]
    jobs = [_wait(client, i) for i in ids]
    assert [j["exit_code"] for j in jobs] == [0, 1, 2, 2]
    assert '"ingested": 6' in jobs[0]["stdout"]
    assert "6 rejected" in jobs[1]["stderr"]
    assert "no such file" in jobs[2]["stderr"]
    assert "No such command" in jobs[3]["stderr"]
    # Write jobs ran one after the other, in submission order.
    for a, b in zip(jobs, jobs[1:], strict=False):
        assert b["started_at"] >= a["finished_at"]
    # Partial output can be fetched from an offset.
    tail = client.get(f"/api/admin/jobs/{ids[0]}", headers=headers, params={"stdout_from": 5}).json()
    assert tail["stdout"] == jobs[0]["stdout"][5:] and tail["stdout_end"] == len(jobs[0]["stdout"])


def test_canonical_argv_rebuilds_the_command_with_absolute_paths(tmp_path, monkeypatch):
    from resonance.jobs._click import get_current_context

    seen: list[list[str]] = []
    app = typer.Typer()

    @app.command()
    def ingest(
        kind: str,
        paths: list[Path],
        db: Annotated[Path | None, typer.Option("--db")] = None,
        as_json: Annotated[bool, typer.Option("--json")] = False,
        strict: bool = False,
        column_map: Annotated[list[str] | None, typer.Option("--map")] = None,
        limit: int = 50,
    ) -> None:
        seen.append(canonical_argv(get_current_context()))

    @app.command()
    def other() -> None:
        pass

    monkeypatch.chdir(tmp_path)
    app(["ingest", "as2", "a.ndjson", "sub/b", "--db", "x.duckdb", "--json", "--no-strict", "--map", "a=B",
         "--map", "c=D", "--limit", "5"], standalone_mode=False)
    app(["ingest", "--", "-odd-kind", "-odd-path"], standalone_mode=False)
    assert seen[0] == [
        "ingest", "--db", str(tmp_path / "x.duckdb"), "--json", "--no-strict", "--map", "a=B", "--map", "c=D",
        "--limit", "5", "as2", str(tmp_path / "a.ndjson"), str(tmp_path / "sub" / "b"),
    ]
    assert seen[1] == ["ingest", "--", "-odd-kind", str(tmp_path / "-odd-path")]


def test_lake_folders_given_as_text_are_forwarded_absolute(tmp_path, monkeypatch):
    """`--events-parquet`, `--out` and `export-events --parquet` take a folder or a URI (text, not a Path):
    a relative folder must reach a running server (another working directory) absolute, a URI as given."""
    import resonance.cli  # noqa: F401 - registers every command
    from resonance.cli.app import app as cli

    group = typer.main.get_command(cli)
    monkeypatch.chdir(tmp_path)
    root = group.make_context("resonance", ["compute"], resilient_parsing=True)

    def forwarded(name: str, args: list[str]) -> list[str]:
        command = group.get_command(root, name)
        return canonical_argv(command.make_context(name, args, parent=root))

    argv = forwarded("compute", ["--engine", "spark", "--events-parquet", "lake", "--out", "s3a://bucket/metrics"])
    assert argv[argv.index("--events-parquet") + 1] == str(tmp_path / "lake")
    assert argv[argv.index("--out") + 1] == "s3a://bucket/metrics"
    argv = forwarded("export-events", ["--parquet", "~/lake"])
    assert argv[argv.index("--parquet") + 1] == str(Path("~/lake").expanduser())
