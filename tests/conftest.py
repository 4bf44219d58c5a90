"""Shared fixtures: a real DuckDB file per test, and the sample data folder."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

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
