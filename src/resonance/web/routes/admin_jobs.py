"""`/api/admin/jobs`: commands forwarded by `resonance ...` while this server owns the store.

Authenticated by the local admin token of `<db>.server.json` (readable only by
the user who started the server), sent in the `X-Resonance-Admin-Token`
header. The router's lifespan starts the job runner once the app has opened
the store and, under `resonance serve`, advertises the server in the lock file.
"""

from __future__ import annotations

import hmac
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, Header, HTTPException, Query, Request
from pydantic import BaseModel, Field

from resonance.jobs.client import TOKEN_HEADER
from resonance.jobs.lockfile import new_token, remove_lock, write_lock
from resonance.jobs.runner import JobRunner


@asynccontextmanager
async def jobs_lifespan(app: FastAPI) -> AsyncIterator[None]:
    store = app.state.store
    runner = JobRunner.acquire(store)
    app.state.jobs = runner
    token = getattr(app.state, "admin_token", None) or new_token()
    app.state.admin_token = token
    url = getattr(app.state, "serve_url", None)  # set by `resonance serve` only
    if url:
        write_lock(store.path, url, token)
    try:
        yield
    finally:
        if url:
            remove_lock(store.path, token)  # first: new commands stop forwarding here
        runner.release()


router = APIRouter(prefix="/api/admin/jobs", tags=["admin"], lifespan=jobs_lifespan)


class JobRequest(BaseModel):
    argv: list[str] = Field(min_length=1, max_length=1000, description="`resonance` arguments.")
    read_only: bool = Field(description="True when the command only reads the store.")
    requested_by: str | None = Field(default=None, max_length=200, description="The client's OS user.")
    cwd: str | None = Field(default=None, max_length=4096, description="The client's working directory.")


def _authorized(request: Request, token: str | None = Header(
        default=None, alias=TOKEN_HEADER, description="The token from `<db>.server.json`.")) -> JobRunner:
    """The job runner, for a caller holding the local admin token (checked before anything else)."""
    expected = getattr(request.app.state, "admin_token", None)
    if not expected or not token or not hmac.compare_digest(token.encode(), expected.encode()):
        raise HTTPException(status_code=401, detail="A valid local admin token is required.")
    return request.app.state.jobs


Runner = Annotated[JobRunner, Depends(_authorized)]


@router.post("", status_code=202, summary="Run a resonance command in the server")
def submit_job(runner: Runner, body: JobRequest) -> dict[str, Any]:
    """Queue a command (write) or start it (read-only); returns the job id to poll."""
    try:
        job_id = runner.submit(body.argv, body.read_only, body.requested_by, body.cwd)
    except RuntimeError as exc:
        raise HTTPException(status_code=503, detail=str(exc)) from exc
    return {"job_id": job_id, "status": "queued"}


@router.get("", summary="Recent jobs")
def list_jobs(runner: Runner, limit: int = Query(50, ge=1, le=1000)) -> list[dict[str, Any]]:
    return runner.list(limit)


@router.get("/{job_id}", summary="A job's state and output")
def get_job(
    runner: Runner,
    job_id: int,
    stdout_from: int = Query(0, ge=0, description="Return stdout from this character on."),
    stderr_from: int = Query(0, ge=0, description="Return stderr from this character on."),
) -> dict[str, Any]:
    job = runner.get(job_id, stdout_from, stderr_from)
    if job is None:
        raise HTTPException(status_code=404, detail=f"No job {job_id}.")
    return job
