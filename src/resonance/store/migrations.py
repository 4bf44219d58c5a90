"""Schema versioning, per component.

Each component (core store, auth, kudos, ...) owns an ordered list of
migrations and records how far it got in `schema_migrations`. Components
evolve independently, so two features never fight over one global number.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import duckdb

from resonance.store.transactions import transaction


@dataclass(frozen=True, slots=True)
class Migration:
    version: int
    name: str
    sql: str


def ensure_migrations_table(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(
        """CREATE TABLE IF NOT EXISTS schema_migrations (
               component VARCHAR NOT NULL,
               version INTEGER NOT NULL,
               name VARCHAR NOT NULL,
               applied_at TIMESTAMP NOT NULL DEFAULT now()::TIMESTAMP,
               PRIMARY KEY (component, version))"""
    )


def applied_version(con: duckdb.DuckDBPyConnection, component: str) -> int:
    row = con.execute(
        "SELECT coalesce(max(version), 0) FROM schema_migrations WHERE component = ?", [component]
    ).fetchall()
    return int(row[0][0])


def migrate(con: duckdb.DuckDBPyConnection, component: str, migrations: Sequence[Migration]) -> int:
    """Apply the component's pending migrations, each in its own transaction.

    Returns the version reached. Safe to call on every start.
    """
    ensure_migrations_table(con)
    current = applied_version(con, component)
    versions = [m.version for m in migrations]
    if versions != sorted(versions) or len(set(versions)) != len(versions):
        raise ValueError(f"migrations of {component!r} must have increasing, unique versions")
    for migration in migrations:
        if migration.version <= current:
            continue
        with transaction(con):
            for statement in _statements(migration.sql):
                con.execute(statement)
            con.execute(
                "INSERT INTO schema_migrations (component, version, name) VALUES (?, ?, ?)",
                [component, migration.version, migration.name],
            )
        current = migration.version
    return current


def _statements(sql: str) -> list[str]:
    # Migrations never put ';' or '--' inside string literals, so dropping comments
    # and splitting on ';' is enough.
    without_comments = "\n".join(line.split("--", 1)[0] for line in sql.splitlines())
    return [s.strip() for s in without_comments.split(";") if s.strip()]
