"""The social performance review: the evidence-backed summary of a period as HTML and PDF, from
the Python API and the `resonance report` command."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from tests.web.company import build_company

from resonance.metrics.pipeline import run_pipeline
from resonance.review.render import render_html, render_pdf
from resonance.review.report import review_data
from resonance.store import open_store

SRC = Path(__file__).resolve().parents[1] / "src"


@pytest.fixture(scope="module")
def db(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("review") / "review.duckdb"
    store = open_store(path)
    build_company(store.con)
    run_pipeline(store.con, periods=["month", "half"])
    store.close()
    return path


def test_review_holds_the_period_evidence(db):
    store = open_store(db, read_only=True)
    try:
        data = review_data(store.con, "ada.brook@acme.example", "2025-H2")
    finally:
        store.close()
    assert data["person"]["id"] == "hr:E03" and data["period"]["label"] == "2025-H2"
    assert set(data["metrics"]) == {"activity", "reaction", "eminence", "network", "knowledge_value"}
    assert data["contributions"] and data["top_items"] and data["reactions"]
    # Kudos of the half year, newest first, with their message and business context.
    assert data["kudos"] and all("2025-07-01" <= k["time"] <= "2025-12-31" for k in data["kudos"])
    assert any(k["meeting"] == "Acme quarterly review" for k in data["kudos"])
    assert any(k["message"] and k["message"].startswith("Thanks for the help") for k in data["kudos"])
    html = render_html(data)
    assert html.startswith("<!doctype html>") and "<style>" in html
    for section in ("Contribution", "Reaction and reuse", "Kudos", "Network and brokerage", "Business influence"):
        assert section in html
    assert html.count("<svg") >= 6  # a trend per metric and the bar charts
    assert "<script>window.__xss" not in html  # kudos messages are escaped
    assert "&lt;script&gt;window.__xss" in html or all("__xss" not in (k["message"] or "") for k in data["kudos"])
    article = render_html(data, standalone=False)
    assert "<style>" not in article and article.lstrip().startswith("<article")


def test_pdf_is_a_real_pdf(db):
    store = open_store(db, read_only=True)
    try:
        data = review_data(store.con, "hr:E03", "2025-H2")
    finally:
        store.close()
    pdf = render_pdf(data)
    assert pdf.startswith(b"%PDF-") and len(pdf) > 5000 and b"%%EOF" in pdf[-64:]


@pytest.mark.parametrize("fmt", ["html", "pdf"])
def test_report_command(db, tmp_path, fmt):
    out = tmp_path / f"review.{fmt}"
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "resonance",
            "report",
            "hr:E03",
            "--period",
            "2025-H2",
            "--format",
            fmt,
            "--out",
            str(out),
            "--db",
            str(db),
            "--json",
        ],
        capture_output=True,
        text=True,
        env={"PYTHONPATH": str(SRC), "PATH": "/usr/bin:/bin"},
        timeout=300,
    )
    assert run.returncode == 0, run.stderr
    summary = json.loads(run.stdout)
    assert summary["format"] == fmt and summary["period"]["label"] == "2025-H2" and out.stat().st_size > 2000
    head = out.read_bytes()[:16]
    assert head.startswith(b"%PDF-") if fmt == "pdf" else head.lower().startswith(b"<!doctype html>")
