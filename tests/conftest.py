"""Shared fixtures: a real DuckDB file per test, and the sample data folder."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest

from resonance.store import Store, open_store

DATA = Path(__file__).parent / "data"


@pytest.fixture
def data_dir() -> Path:
    return DATA


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    s = open_store(tmp_path / "test.duckdb")
    try:
        yield s
    finally:
        s.close()


def rows(store: Store, sql: str, params: list | None = None) -> list[tuple]:
    return store.con.execute(sql, params or []).fetchall()


def cursor_rows(con: duckdb.DuckDBPyConnection, sql: str, params: list | None = None) -> list[tuple]:
    """A query on a cursor of its own: for a store connection that a live server shares."""
    cur = con.cursor()
    try:
        return cur.execute(sql, params or []).fetchall()
    finally:
        cur.close()


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    """Debian's Chromium driven by Playwright (its own browser download fails here), one per module."""
    from playwright.sync_api import sync_playwright
    from tests.web.test_browser import CHROMIUM, FLAGS

    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: apt-get install -y chromium (.ci/run does it)")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        yield b
        b.close()


@pytest.fixture(scope="module")
def spark(tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    """A local Spark session (two cores) for the module; skipped without the `[spark]` extra."""
    pytest.importorskip("pyspark")
    from resonance.metrics.engine import spark_session

    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    session = spark_session("local[2]", warehouse=str(tmp_path_factory.mktemp("spark-warehouse")))
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()
