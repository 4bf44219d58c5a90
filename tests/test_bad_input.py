"""Hostile and broken input: every case of tests/data/bad/cases.json gets its expected outcome
(a clear error for the whole input, or exactly the expected records in and quarantined with
the expected reasons), never a crash, never a hang, in bounded memory; re-running adds nothing.

The cases run in a worker process (tests/bad_input_worker.py), which is restarted after a
case that kills or hangs it, so one bad case cannot hide the others.
"""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).parent
BAD = HERE / "data" / "bad"
SRC = str(HERE.parent / "src")
MB = 1 << 20


def _huge(tmp: Path) -> dict[str, Path]:
    """Inputs too big to keep in the repository: multi-megabyte fields, made at run time."""
    big = "x" * (12 * MB)
    files: dict[str, Path] = {}

    def put(name: str, data: str | bytes) -> None:
        path = tmp / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data.encode() if isinstance(data, str) else data)
        files[name] = path

    put("huge-field.ndjson", json.dumps({"id": "urn:h:1", "type": "Create", "actor": "mailto:a@acme.example",
                                         "object": {"id": "urn:h:post", "type": "Note", "content": big},
                                         "published": "2026-01-05T10:00:00Z"}) + "\n")
    put("huge-line-no-newline.ndjson", "{" + big)
    put("huge-cell.csv", "from,date,kind,text\na@acme.example,2026-01-05,post," + big + "\n")
    put("huge-name.csv", "id,name,email,manager_id,department,location,title,role,start_date,handles\n"
        f"E1,{big[:8 * MB]},a@acme.example,,Eng,Berlin,Eng,engineer,2020-01-01,\n")
    put("huge-subject.eml", f"From: a@acme.example\nTo: b@acme.example\nMessage-ID: <h@acme.example>\n"
        f"Date: Mon, 02 Mar 2026 10:00:00 +0000\nSubject: {big[:8 * MB]}\n\nbody\n")
    put("huge-body.mbox.gz", gzip.compress((f"From a@acme.example Mon Mar  2 10:00:00 2026\nFrom: a@acme.example\n"
                                            f"To: b@acme.example\nMessage-ID: <hb@acme.example>\nDate: Mon, 02 Mar "
                                            f"2026 10:00:00 +0000\n\n{big}\n").encode(), compresslevel=1))
    put("huge-description.ics", "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VEVENT\r\nUID:h1\r\n"
        "DTSTART:20260302T100000Z\r\nSUMMARY:x\r\nDESCRIPTION:" + big[:8 * MB] + "\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n")
    put("huge-display-name.json", json.dumps({"Resources": [{"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                                                             "id": "u1", "userName": "a@acme.example",
                                                             "displayName": big[:8 * MB]}]}))
    put("huge-message.jsonl", json.dumps({"type": "version", "version": 1}) + "\n" + json.dumps(
        {"type": "post", "post": {"team": "acme", "channel": "c", "user": "ann", "message": big,
                                  "create_at": 1772445600000}}) + "\n")
    put("slack-huge/users.json", json.dumps([{"id": "U1", "name": "ann", "profile": {"email": "a@acme.example"}}]))
    put("slack-huge/channels.json", json.dumps([{"id": "C1", "name": "general"}]))
    put("slack-huge/general/2026-03-02.json", json.dumps([{"type": "message", "user": "U1", "text": big,
                                                           "ts": "1772445600.000200"}]))
    # Markup that makes a backtracking regex quadratic: tags and mentions that never close.
    put("tag-soup.eml", "From: a@acme.example\nTo: b@acme.example\nMessage-ID: <ts@acme.example>\n"
        "Date: Mon, 02 Mar 2026 10:00:00 +0000\nContent-Type: text/html\n\n"
        + "<p" * 40_000 + "<" * 80_000 + "<br " * 20_000 + "<script>" * 20_000 + "\n")
    put("slack-markup/users.json", json.dumps([{"id": "U1", "name": "ann", "profile": {"email": "a@acme.example"}}]))
    put("slack-markup/channels.json", json.dumps([{"id": "C1", "name": "general"}]))
    put("slack-markup/general/2026-03-02.json", json.dumps([{"type": "message", "user": "U1",
                                                             "text": "<@U1|" * 100_000 + "<http://a|" * 50_000,
                                                             "ts": "1772445600.000200"}]))
    return files


def _cases(tmp: Path) -> list[dict]:
    cases = json.loads((BAD / "cases.json").read_text())
    generated = _huge(tmp)
    for case in cases:
        if "generate" in case:
            path = generated[case["generate"]]
            case["path"] = str(path.parent if case["kind"] == "slack" else path)
        else:
            case["path"] = str(BAD / case["path"])
    return cases


def _run_all(cases: list[dict]) -> dict[str, dict]:
    """Run every case; a worker that dies or stalls is replaced and its case reported."""
    env = {**os.environ, "PYTHONPATH": SRC + os.pathsep + os.environ.get("PYTHONPATH", "")}
    results: dict[str, dict] = {}
    pending = list(cases)
    while pending:
        proc = subprocess.Popen([sys.executable, str(HERE / "bad_input_worker.py")], stdin=subprocess.PIPE,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
        budget = sum(float(c.get("timeout", 30)) + 10 for c in pending)
        try:
            out, err = proc.communicate(input=json.dumps(pending), timeout=budget)
        except subprocess.TimeoutExpired:
            proc.kill()
            out, err = proc.communicate()
        done = [json.loads(line) for line in out.splitlines() if line.strip()]
        for result in done:
            results[result["name"]] = result
        pending = pending[len(done):]
        if pending:  # the worker died on pending[0]
            results[pending[0]["name"]] = {"name": pending[0]["name"], "outcome": "died",
                                           "message": f"exit {proc.returncode}: {err[-2000:]}"}
            pending = pending[1:]
    return results


@pytest.fixture(scope="module")
def results(tmp_path_factory) -> tuple[list[dict], dict[str, dict]]:
    cases = _cases(tmp_path_factory.mktemp("huge"))
    return cases, _run_all(cases)


def test_corpus_covers_every_connector_with_at_least_50_cases():
    from resonance.sources import registry

    cases = json.loads((BAD / "cases.json").read_text())
    assert len(cases) >= 50
    assert {c["kind"] for c in cases} == set(registry())
    assert all(c["expect"]["outcome"] in ("ok", "error") for c in cases)


@pytest.mark.slow
def test_every_bad_input_gets_its_expected_outcome(results):
    cases, got = results
    failures = []
    for case in cases:
        r, want = got[case["name"]], case["expect"]
        problems = []
        if r["outcome"] != want["outcome"]:
            problems.append(f"outcome {r['outcome']} ({r.get('message', '')[:300]})")
        elif want["outcome"] == "error":
            if want["match"].lower() not in r["message"].lower():
                problems.append(f"message {r['message'][:300]!r} lacks {want['match']!r}")
        else:
            if (r["ingested"], r["rejected"]) != (want["ingested"], want["rejected"]):
                problems.append(f"ingested/rejected {r['ingested']}/{r['rejected']}, "
                                f"expected {want['ingested']}/{want['rejected']}")
            for reason in want.get("reasons", []):
                if not any(reason.lower() in got_reason.lower() for got_reason in r["reasons"]):
                    problems.append(f"no quarantine reason like {reason!r} in {r['reasons']}")
            if (r["rerun_ingested"], r["rerun_new_quarantine"]) != (0, 0):
                problems.append(f"re-running added {r['rerun_ingested']} records, "
                                f"{r['rerun_new_quarantine']} quarantine rows")
        limit = case.get("max_rss_mb", 200)
        if r.get("rss_mb", 0) > limit:
            problems.append(f"memory grew by {r['rss_mb']} MB (limit {limit})")
        if problems:
            failures.append(f"{case['name']}: " + "; ".join(problems))
    assert not failures, "\n".join(failures)
