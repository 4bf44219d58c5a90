"""People: source profiles, identity keys, and the resolved person.

A profile is what one source says about one account. Profiles that share an
identity key (the same e-mail, a directory-provided handle) are the same
person: that is strong evidence and links them automatically, with an audit
row. Weaker evidence (similar names) never links here; it only produces
suggestions (see resonance.identity).

`people` holds one golden record per person, rebuilt from profiles by
`refresh_people`, taking each field from the most authoritative source.
"""

from __future__ import annotations

import json

import duckdb
import pyarrow as pa

SOURCE_PRIORITY = {"hr": 1, "directory": 1, "scim": 2, "crm": 3, "slack": 4, "mattermost": 4, "email": 5}
"""Which source wins when profiles disagree (lower wins); others rank 6."""


class _UnionFind:
    def __init__(self) -> None:
        self.parent: dict[str, str] = {}

    def find(self, x: str) -> str:
        parent = self.parent.setdefault(x, x)
        if parent != x:
            root = self.find(parent)
            self.parent[x] = root
            return root
        return x

    def union(self, a: str, b: str) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[max(ra, rb)] = min(ra, rb)


def load_profiles(con: duckdb.DuckDBPyConnection, profiles: pa.Table, ingest_id: int) -> tuple[int, int]:
    """Upsert profiles and link them to persons. Returns (new or changed, unchanged).

    Runs inside the caller's transaction. Person-level data is small (one row per
    account), so resolution uses a union-find in Python over identity keys.
    """
    if profiles.num_rows == 0:
        return 0, 0
    con.register("_p_in", profiles)
    unchanged = con.execute(
        """
        SELECT count(*) FROM _p_in n JOIN profiles p USING (source, native_id)
        WHERE p.identities IS NOT DISTINCT FROM n.identities
          AND p.display_name IS NOT DISTINCT FROM n.display_name
          AND p.emails IS NOT DISTINCT FROM n.emails AND p.handles IS NOT DISTINCT FROM n.handles
          AND p.manager_ref IS NOT DISTINCT FROM n.manager_ref
          AND p.department IS NOT DISTINCT FROM n.department AND p.location IS NOT DISTINCT FROM n.location
          AND p.title IS NOT DISTINCT FROM n.title AND p.role IS NOT DISTINCT FROM n.role
          AND p.start_date IS NOT DISTINCT FROM n.start_date
          AND p.is_external IS NOT DISTINCT FROM n.is_external
          AND p.organization IS NOT DISTINCT FROM n.organization
        """
    ).fetchall()[0][0]
    keys = con.execute(
        "SELECT source, native_id, identities FROM _p_in"
    ).fetchall()
    existing = dict(
        con.execute(
            """SELECT i.identity, i.person_id
               FROM (SELECT DISTINCT unnest(identities) AS identity FROM _p_in) x
               JOIN identities i USING (identity)"""
        ).fetchall()
    )
    previous = {
        (s, n): pid
        for s, n, pid in con.execute(
            "SELECT p.source, p.native_id, p.person_id FROM profiles p JOIN _p_in USING (source, native_id)"
        ).fetchall()
    }

    uf = _UnionFind()
    for source, native_id, identities in keys:
        node = f"profile\x00{source}\x00{native_id}"
        uf.find(node)
        for identity in identities:
            uf.union(node, f"id\x00{identity}")
            if identity in existing:
                uf.union(node, f"person\x00{existing[identity]}")
        if (source, native_id) in previous:
            uf.union(node, f"person\x00{previous[(source, native_id)]}")

    # Each component becomes one person: an existing one if any, else a new id.
    component_persons: dict[str, list[str]] = {}
    for node in list(uf.parent):
        if node.startswith("person\x00"):
            component_persons.setdefault(uf.find(node), []).append(node.split("\x00", 1)[1])

    assignments: list[tuple[str, str, str]] = []  # (source, native_id, person_id)
    new_identities: list[tuple[str, str]] = []
    merges: list[tuple[str, list[str]]] = []
    splits = split_pairs(con)
    for source, native_id, identities in keys:
        root = uf.find(f"profile\x00{source}\x00{native_id}")
        persons = sorted(set(component_persons.get(root, [])))
        if persons and len(persons) > 1 and any(frozenset((a, b)) in splits for a in persons for b in persons if a < b):
            # Someone split these persons on purpose (an unmerge): link nothing, keep the profile
            # where it was. The shared key stays with the person that has it.
            person_id = previous.get((source, native_id)) or persons[0]
        elif persons:
            person_id = persons[0]
            if len(persons) > 1:
                merges.append((person_id, persons[1:]))
        else:
            person_id = identities[0]
            component_persons[root] = [person_id]
        assignments.append((source, native_id, person_id))
        new_identities.extend((identity, person_id) for identity in identities if identity not in existing)

    for target, others in {t: o for t, o in merges}.items():
        _link_persons(con, target, others, reason="shared identity key")

    con.register(
        "_p_assign",
        pa.table({
            "source": [a[0] for a in assignments],
            "native_id": [a[1] for a in assignments],
            "person_id": [a[2] for a in assignments],
        }),
    )
    con.execute(
        """
        INSERT OR REPLACE INTO profiles
        SELECT p.source, p.native_id, a.person_id, p.identities, p.display_name, p.emails, p.handles,
               p.manager_ref, p.department, p.location, p.title, p.role, p.start_date, p.is_external,
               p.organization, p.extra, ?, now()::TIMESTAMP
        FROM _p_in p JOIN _p_assign a USING (source, native_id)
        """,
        [ingest_id],
    )
    if new_identities:
        ids = pa.table({
            "identity": [i for i, _ in new_identities],
            "person_id": [p for _, p in new_identities],
        })
        con.register("_p_ids", ids)
        con.execute(
            """
            INSERT INTO identities (identity, person_id, kind, first_seen)
            SELECT DISTINCT ON (identity) identity, person_id,
                   CASE WHEN identity LIKE 'email:%' THEN 'email' ELSE 'account' END, now()::TIMESTAMP
            FROM _p_ids WHERE identity NOT IN (SELECT identity FROM identities)
            """
        )
        con.unregister("_p_ids")
    con.unregister("_p_assign")
    con.unregister("_p_in")
    return profiles.num_rows - unchanged, unchanged


def split_pairs(con: duckdb.DuckDBPyConnection) -> set[frozenset[str]]:
    """Pairs of persons an unmerge separated: strong evidence never joins them again."""
    return {frozenset((a, b)) for a, b in con.execute(
        "SELECT person_a, person_b FROM identity_ops WHERE op = 'unmerge'").fetchall()}


def _link_persons(con: duckdb.DuckDBPyConnection, target: str, others: list[str], reason: str) -> None:
    """Fold `others` into `target` (strong evidence), recording how to undo it."""
    for other in others:
        moved = [r[0] for r in con.execute("SELECT identity FROM identities WHERE person_id = ?", [other]).fetchall()]
        profiles = con.execute(
            "SELECT source, native_id FROM profiles WHERE person_id = ?", [other]
        ).fetchall()
        con.execute("UPDATE identities SET person_id = ? WHERE person_id = ?", [target, other])
        con.execute("UPDATE profiles SET person_id = ? WHERE person_id = ?", [target, other])
        con.execute(
            """INSERT INTO identity_ops (op_id, op, actor, done_at, person_a, person_b, reason, undo)
               VALUES (nextval('identity_op_seq'), 'link', 'system', now()::TIMESTAMP, ?, ?, ?, ?)""",
            [target, other, reason, json.dumps({"identities": moved, "profiles": profiles})],
        )


PLUS_ADDRESS_SQL = "regexp_replace(identity, '^email:([^+@]+)\\+[^@]*@', 'email:\\1@')"
"""The mailbox a plus-address (RFC 5233 sub-address) delivers to: `email:dana+crm@x` -> `email:dana@x`."""


def link_plus_addresses(con: duckdb.DuckDBPyConnection) -> int:
    """Strong evidence the connectors cannot see alone: `dana+crm@acme.example` is the
    mailbox `dana@acme.example`. Gives each plus-address's person the plain key, or
    links the two persons when both exist (audited like every link). Returns links made.
    Runs after each ingest (resonance.ingest), not in `refresh_people`, so an explicit
    unmerge is not undone by the next refresh."""
    rows = con.execute(
        f"""
        WITH plus AS (
            SELECT identity, person_id, {PLUS_ADDRESS_SQL} AS canon
            FROM identities WHERE identity LIKE 'email:%+%@%'
        )
        SELECT p.identity, p.person_id, p.canon, c.person_id
        FROM plus p LEFT JOIN identities c ON c.identity = p.canon
        WHERE p.canon <> p.identity AND c.person_id IS DISTINCT FROM p.person_id
        ORDER BY p.identity
        """
    ).fetchall()
    linked = 0
    splits = split_pairs(con) if rows else set()
    for identity, _, canon, _ in rows:
        # Re-read both owners: an earlier link in this loop may have moved either.
        current = con.execute("SELECT person_id FROM identities WHERE identity = ?", [canon]).fetchall()
        person_now = con.execute("SELECT person_id FROM identities WHERE identity = ?", [identity]).fetchall()[0][0]
        if not current:
            con.execute(
                """INSERT INTO identities (identity, person_id, kind, first_seen)
                   VALUES (?, ?, 'email', now()::TIMESTAMP)""",
                [canon, person_now],
            )
        elif current[0][0] != person_now and frozenset((current[0][0], person_now)) not in splits:
            _link_persons(con, current[0][0], [person_now], reason=f"plus-address {identity} of {canon}")
            linked += 1
    return linked


def refresh_people(con: duckdb.DuckDBPyConnection) -> int:
    """Rebuild the golden `people` table from profiles and identities. Returns its size."""
    priority_cases = " ".join(f"WHEN '{s}' THEN {p}" for s, p in SOURCE_PRIORITY.items())
    con.execute("DELETE FROM people")
    con.execute(
        f"""
        INSERT INTO people
        WITH prof AS (
            SELECT *, CASE source {priority_cases} ELSE 6 END AS prio FROM profiles
        ),
        golden AS (
            SELECT person_id,
                arg_min(display_name, prio) FILTER (WHERE display_name IS NOT NULL) AS display_name,
                arg_min(manager_ref, prio) FILTER (WHERE manager_ref IS NOT NULL) AS manager_ref,
                arg_min(department, prio) FILTER (WHERE department IS NOT NULL) AS department,
                arg_min(location, prio) FILTER (WHERE location IS NOT NULL) AS location,
                arg_min(title, prio) FILTER (WHERE title IS NOT NULL) AS title,
                arg_min(role, prio) FILTER (WHERE role IS NOT NULL) AS role,
                arg_min(start_date, prio) FILTER (WHERE start_date IS NOT NULL) AS start_date,
                arg_min(is_external, prio) FILTER (WHERE is_external IS NOT NULL) AS is_external,
                arg_min(organization, prio) FILTER (WHERE organization IS NOT NULL) AS organization,
                list_distinct(flatten(list(coalesce(emails, [])))) AS emails,
                list_distinct(flatten(list(coalesce(handles, [])))) AS handles,
                list_distinct(list(source)) AS sources
            FROM prof GROUP BY person_id
        ),
        ids AS (
            SELECT person_id, list(identity ORDER BY identity) AS identities,
                   list(substr(identity, 7) ORDER BY identity) FILTER (WHERE identity LIKE 'email:%') AS id_emails
            FROM identities GROUP BY person_id
        )
        SELECT ids.person_id,
               coalesce(g.display_name,
                        CASE WHEN ids.person_id LIKE 'email:%' THEN split_part(substr(ids.person_id, 7), '@', 1)
                             ELSE ids.person_id END),
               list_sort(list_distinct(list_concat(coalesce(g.emails, []), coalesce(ids.id_emails, [])))),
               coalesce(g.handles, []),
               ids.identities,
               m.person_id,
               g.department, g.location, g.title, g.role, g.start_date,
               coalesce(g.is_external, false), g.organization,
               coalesce(g.sources, [])
        FROM ids
        LEFT JOIN golden g USING (person_id)
        LEFT JOIN identities m ON m.identity = g.manager_ref
        """
    )
    return int(con.execute("SELECT count(*) FROM people").fetchall()[0][0])
