"""The right to be forgotten: erase a person's personal data and content, keep the aggregates.

`forget_person` runs in one transaction and decides precisely (docs/operations.md):

- **Who they were** is replaced by a random pseudonym `forgotten:<hex>`
  everywhere an identity of theirs appears: events (actor, object, recipients),
  items (author), metric tables, consent, the access log, identity audit rows,
  others' `manager_ref`, job command lines... Their identities, profiles and
  accounts (with sessions and API tokens) are deleted; one tombstone profile
  keeps only what aggregates need (department, location, role, manager), so
  counts by department, reach between units and everyone else's figures stay
  the same. The person now shows as "Forgotten person".
- **What they wrote** is removed: title, text, URL and source attributes of
  their items (the titles of business records they own, meetings, accounts,
  opportunities, stay: those belong to the company), the attributes of their
  events (message text, subjects, kudos messages) and the messages of kudos
  they received.
- **Anything else that names them** (a quarantined raw record, someone's post
  that mentions their full name or e-mail address, a job's output) has the
  name, e-mail addresses, identity keys and account ids replaced, in every text
  column of every table, including tables of components this module does not
  know.
- **Audit**: one `forget_log` row with who ran it, when, the pseudonym, counts
  of what changed, and salted hashes (HMAC-SHA256 with a per-store key) of the
  person id and identity keys, never the identity itself. `was_forgotten`
  checks a candidate identity against them.

Afterwards the metrics are recomputed for the periods already computed, so
derived tables hold no trace either.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import re
import secrets
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import duckdb

from resonance.store.db import transaction
from resonance.store.migrations import Migration, migrate
from resonance.store.people import refresh_people

FORGET_MIGRATIONS = [
    Migration(
        1,
        "forget log",
        """
        -- A per-store key for the salted hashes below (so a hash from one installation
        -- tells nothing about another).
        CREATE TABLE forget_key (key VARCHAR NOT NULL);

        -- Every erasure: who, when, the pseudonym left behind, what changed. Never the identity.
        CREATE SEQUENCE IF NOT EXISTS forget_seq START 1;
        CREATE TABLE forget_log (
            forget_id       BIGINT PRIMARY KEY,
            done_at         TIMESTAMP NOT NULL,
            done_by         VARCHAR NOT NULL,
            via             VARCHAR,
            reason          VARCHAR,
            pseudonym       VARCHAR NOT NULL,
            subject_hash    VARCHAR NOT NULL,   -- HMAC-SHA256(store key, person id)
            identity_hashes VARCHAR[],          -- the same for each identity key
            changes         JSON                -- rows changed per table
        )
        """,
    ),
]

TOMBSTONE_NAME = "Forgotten person"
NAME_MARK = "[forgotten]"
BUSINESS_KINDS = ("meeting", "account", "opportunity", "contact")
"""Items that are company records owned by the person, not content they wrote: their title stays."""
MIN_TOKEN = 3
"""Names shorter than this are not searched for in free text."""


class ForgetError(Exception):
    """The person cannot be found, or was already forgotten."""


@dataclass
class Subject:
    """Everything that identifies one person in the store."""

    person_id: str
    identities: set[str] = field(default_factory=set)
    emails: set[str] = field(default_factory=set)
    names: set[str] = field(default_factory=set)
    tokens: set[str] = field(default_factory=set)       # account ids, handles, e-mail local parts
    usernames: set[str] = field(default_factory=set)
    user_ids: set[int] = field(default_factory=set)
    department: str | None = None
    location: str | None = None
    role: str | None = None
    manager_id: str | None = None
    is_external: bool | None = None
    organization: str | None = None

    def exact_values(self) -> set[str]:
        """Values that, as a whole column value, are this person."""
        return {self.person_id, *self.identities, *self.emails, *(f"email:{e}" for e in self.emails),
                *self.usernames}

    def search_terms(self) -> list[str]:
        """Strings that must not remain anywhere (identities, e-mails, names) — what the test looks for."""
        return sorted({self.person_id, *self.identities, *self.emails, *self.names}, key=len, reverse=True)


def ensure_forget_schema(con: duckdb.DuckDBPyConnection) -> None:
    migrate(con, "forget", FORGET_MIGRATIONS)


def find_subject(con: duckdb.DuckDBPyConnection, ref: str) -> Subject:
    """The person `ref` names: a person id, an identity key, an e-mail address or an account name."""
    ref = ref.strip()
    candidates = [ref, ref.lower()]
    if "@" in ref and not ref.lower().startswith("email:"):
        candidates.append("email:" + ref.lower())
    person_id = None
    for candidate in candidates:
        rows = _rows(con, "SELECT person_id FROM identities WHERE identity = ?", [candidate]) or _rows(
            con, "SELECT person_id FROM people WHERE person_id = ?", [candidate])
        if not rows and _has_table(con, "users"):
            rows = _rows(con, "SELECT person_id FROM users WHERE username = ? AND person_id IS NOT NULL", [candidate])
        if rows:
            person_id = rows[0][0]
            break
    if person_id is None:
        raise ForgetError("no person matches that reference (give a person id, an identity key, an e-mail "
                          "address or an account name)")
    if person_id.startswith("forgotten:"):
        raise ForgetError("that person was already forgotten")
    s = Subject(person_id=person_id, identities={person_id})
    s.identities |= {r[0] for r in _rows(con, "SELECT identity FROM identities WHERE person_id = ?", [person_id])}
    for ids, name, emails, handles in _rows(
        con, "SELECT identities, display_name, emails, handles FROM profiles WHERE person_id = ?", [person_id]
    ) + _rows(con, "SELECT identities, display_name, emails, handles FROM people WHERE person_id = ?", [person_id]):
        s.identities |= set(ids or [])
        s.emails |= {e.lower() for e in emails or []}
        s.tokens |= {h.split(":", 1)[-1] for h in handles or []}
        s.identities |= {h for h in handles or [] if ":" in h}
        if name:
            s.names.add(name)
    s.emails |= {i[6:] for i in s.identities if i.startswith("email:")}
    s.tokens |= {i.rsplit(":", 1)[-1] for i in s.identities if ":" in i and not i.startswith("email:")
                 and "/" not in i.rsplit(":", 1)[-1]}
    s.tokens |= {e.split("@", 1)[0] for e in s.emails}
    s.tokens = {t for t in s.tokens if _distinctive(t)}
    person = _rows(con, """SELECT department, location, role, manager_id, is_external, organization
                           FROM people WHERE person_id = ?""", [person_id])
    if person:
        (s.department, s.location, s.role, s.manager_id, s.is_external, s.organization) = person[0]
    if _has_table(con, "users"):
        for user_id, username in _rows(con, "SELECT user_id, username FROM users WHERE person_id = ?", [person_id]):
            s.user_ids.add(int(user_id))
            s.usernames.add(username)
    return s


def forget_person(
    con: duckdb.DuckDBPyConnection, ref: str, done_by: str, via: str = "cli", reason: str | None = None,
    recompute: bool = True,
) -> dict[str, Any]:
    """Erase the person `ref` names (see the module docstring). Returns a summary that names
    no one: the pseudonym, rows changed per table, whether metrics were recomputed."""
    ensure_forget_schema(con)
    subject = find_subject(con, ref)
    pseudonym = "forgotten:" + secrets.token_hex(8)
    changes: dict[str, int] = {}
    with transaction(con):
        _erase_content(con, subject, changes)
        _erase_accounts(con, subject, changes)
        _rekey_derived(con, subject, pseudonym, changes)
        _replace_person(con, subject, pseudonym, changes)
        _scrub_everywhere(con, subject, pseudonym, changes)
        refresh_people(con)
        key = _store_key(con)
        con.execute(
            """INSERT INTO forget_log (forget_id, done_at, done_by, via, reason, pseudonym, subject_hash,
                                       identity_hashes, changes)
               VALUES (nextval('forget_seq'), now()::TIMESTAMP, ?, ?, ?, ?, ?, ?, ?)""",
            [done_by, via, scrub_text(reason, subject, pseudonym), pseudonym, _hash(key, subject.person_id),
             sorted(_hash(key, i) for i in subject.identities | {f"email:{e}" for e in subject.emails}),
             json.dumps(changes)],
        )
    recomputed = _recompute_metrics(con) if recompute else False
    # Old row versions leave the file's live blocks at the next checkpoint.
    with contextlib.suppress(duckdb.Error):  # busy inside the server: DuckDB checkpoints later on its own
        con.execute("CHECKPOINT")
    return {"pseudonym": pseudonym, "changes": {k: v for k, v in changes.items() if v}, "metrics_recomputed":
            recomputed}


def was_forgotten(con: duckdb.DuckDBPyConnection, ref: str) -> bool:
    """Whether a person id, identity key or e-mail address belongs to someone forgotten here."""
    if not _has_table(con, "forget_log"):
        return False
    key = _store_key(con)
    ref = ref.strip()
    candidates = {ref, ref.lower()} | ({"email:" + ref.lower()} if "@" in ref else set())
    hashes = {_hash(key, c) for c in candidates}
    rows = _rows(con, "SELECT subject_hash, identity_hashes FROM forget_log")
    return any(h in hashes or hashes & set(ids or []) for h, ids in rows)


def scrub_text(text: str | None, subject: Subject, pseudonym: str) -> str | None:
    """`text` with the person's identities, e-mails, account ids and names replaced (Python side)."""
    if text is None:
        return None
    ids, names = _patterns(subject)
    if ids:
        text = re.sub(ids, pseudonym, text, flags=re.IGNORECASE)
    if names:
        text = re.sub(names, NAME_MARK, text, flags=re.IGNORECASE)
    return text


# -- the steps ---------------------------------------------------------------------------------
def _erase_content(con: duckdb.DuckDBPyConnection, s: Subject, changes: dict[str, int]) -> None:
    ids = sorted(s.identities)
    changes["items"] = _count(con, f"""
        UPDATE items SET text = NULL, url = NULL, extra = NULL,
               title = CASE WHEN kind IN ({_in(BUSINESS_KINDS)}) THEN title END
        WHERE author IN (SELECT unnest(?::VARCHAR[]))""", [ids])
    changes["events"] = _count(con, """
        UPDATE events SET extra = NULL
        WHERE extra IS NOT NULL AND (actor IN (SELECT unnest(?::VARCHAR[]))
              OR (verb = 'Kudos' AND object IN (SELECT unnest(?::VARCHAR[]))))""", [ids, ids])
    if _has_table(con, "kudos"):  # the kudos component's own copy of the messages (docs/kudos.md)
        changes["kudos"] = _count(con, """UPDATE kudos SET message = NULL
            WHERE message IS NOT NULL AND (giver_id = ? OR receiver_id = ?)""", [s.person_id, s.person_id])
    if _has_table(con, "item_value"):
        changes["item_value"] = _count(con, f"""UPDATE item_value SET title = NULL
            WHERE author_id = ? AND kind NOT IN ({_in(BUSINESS_KINDS)})""", [s.person_id])


def _erase_accounts(con: duckdb.DuckDBPyConnection, s: Subject, changes: dict[str, int]) -> None:
    if not s.user_ids or not _has_table(con, "users"):
        return
    users = sorted(s.user_ids)
    for table in ("sessions", "api_tokens"):
        if _has_table(con, table):
            changes[table] = _count(con, f"DELETE FROM {table} WHERE user_id IN (SELECT unnest(?::BIGINT[]))",
                                    [users])
    if _has_table(con, "auth_log"):  # their sign-ins: where from is personal too
        changes["auth_log"] = _count(con, """UPDATE auth_log SET ip = NULL
            WHERE ip IS NOT NULL AND (username IN (SELECT unnest(?::VARCHAR[]))
                                      OR actor IN (SELECT unnest(?::VARCHAR[])))""",
                                     [sorted(s.usernames), sorted(s.usernames)])
    changes["users"] = _count(con, "DELETE FROM users WHERE user_id IN (SELECT unnest(?::BIGINT[]))", [users])


def _rekey_derived(con: duckdb.DuckDBPyConnection, s: Subject, pseudonym: str, changes: dict[str, int]) -> None:
    """Values computed from the person's id that anyone holding the store could recompute and match:
    kudos ids (a hash of giver, receiver and context) and the org release log's member hashes (salted,
    but the salt is in the store). They are recomputed for the pseudonym, so that idempotency and the
    release log keep working; the person's review share links are revoked."""
    if _has_table(con, "kudos"):
        from resonance.kudos.rules import kudos_key

        rows = _rows(con, """SELECT kudos_id, giver_id, receiver_id, ctx_meeting, ctx_account, ctx_opportunity,
                                    ctx_item, context_day FROM kudos WHERE giver_id = ? OR receiver_id = ?
                             ORDER BY kudos_id""", [s.person_id, s.person_id])
        keys = []
        for old, giver, receiver, *ctx, day in rows:
            who = [pseudonym if p == s.person_id else p for p in (giver, receiver)]
            keys.append((old, kudos_key(*who, *ctx, day)))
        if keys:
            old_keys, new_keys = [k[0] for k in keys], [k[1] for k in keys]
            remap = "map_extract(map(?::VARCHAR[], ?::VARCHAR[]), {})[1]"
            changes["kudos"] = changes.get("kudos", 0) + _count(con, f"""
                UPDATE kudos SET kudos_id = {remap.format("kudos_id")},
                                 event_native_id = 'kudos:' || {remap.format("kudos_id")}
                WHERE kudos_id IN (SELECT unnest(?::VARCHAR[]))""", [old_keys, new_keys] * 2 + [old_keys])
            native = [f"kudos:{k}" for k in old_keys], [f"kudos:{k}" for k in new_keys]
            changes["events"] = changes.get("events", 0) + _count(con, f"""
                UPDATE events SET native_id = {remap.format("native_id")},
                                  extra = CASE WHEN extra IS NOT NULL THEN json_merge_patch(extra,
                                      json_object('kudos_id', {remap.format("json_extract_string(extra, 'kudos_id')")}))
                                  END
                WHERE source = 'resonance' AND native_id IN (SELECT unnest(?::VARCHAR[]))""",
                [*native, old_keys, new_keys, native[0]])
            if _has_table(con, "kudos_audit"):
                changes["kudos_audit"] = _count(con, f"""
                    UPDATE kudos_audit SET subject = {remap.format("subject")}
                    WHERE action = 'kudos' AND subject IN (SELECT unnest(?::VARCHAR[]))""",
                    [old_keys, new_keys, old_keys])
    if _has_table(con, "org_release_members") and _has_table(con, "org_salt"):
        _rekey_release_log(con, s, pseudonym, changes)
    if _has_table(con, "review_shares"):
        changes["review_shares"] = _count(con, """UPDATE review_shares SET revoked_at = now()::TIMESTAMP
            WHERE revoked_at IS NULL AND (person_id = ? OR recipient_id = ?)""", [s.person_id, s.person_id])


def _rekey_release_log(con: duckdb.DuckDBPyConnection, s: Subject, pseudonym: str, changes: dict[str, int]) -> None:
    """The person's member hash becomes the pseudonym's, and each set holding it gets the hash its new
    membership has (the same formula as `org.protect`: md5 of the sorted member hashes)."""
    salt = _rows(con, "SELECT salt FROM org_salt LIMIT 1")
    if not salt:
        return
    old_h = hashlib.md5((salt[0][0] + s.person_id).encode()).hexdigest()
    new_h = hashlib.md5((salt[0][0] + pseudonym).encode()).hexdigest()
    members: dict[str, list[str]] = {}
    for set_hash, member in _rows(con, """SELECT set_hash, member FROM org_release_members WHERE set_hash IN
                                          (SELECT set_hash FROM org_release_members WHERE member = ?)
                                          ORDER BY set_hash, member""", [old_h]):
        members.setdefault(set_hash, []).append(new_h if member == old_h else member)
    if not members:
        return
    renamed = {old: hashlib.md5(",".join(sorted(m)).encode()).hexdigest() for old, m in members.items()}
    olds = sorted(renamed)
    releases = _rows(con, f"""SELECT {', '.join(c for c in _release_columns(con))} FROM org_releases
                              WHERE set_hash IN (SELECT unnest(?::VARCHAR[])) ORDER BY ALL""", [olds])
    con.execute("DELETE FROM org_release_members WHERE set_hash IN (SELECT unnest(?::VARCHAR[]))", [olds])
    con.execute("DELETE FROM org_releases WHERE set_hash IN (SELECT unnest(?::VARCHAR[]))", [olds])
    con.executemany("INSERT OR IGNORE INTO org_release_members (set_hash, member) VALUES (?, ?)",
                    [[renamed[old], m] for old in olds for m in members[old]])
    columns = _release_columns(con)
    at = columns.index("set_hash")
    con.executemany(
        f"INSERT OR IGNORE INTO org_releases ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})",
        [[renamed[r[at]] if i == at else v for i, v in enumerate(r)] for r in releases])
    changes["org_release_members"] = sum(len(m) for m in members.values())
    changes["org_releases"] = len(releases)


def _release_columns(con: duckdb.DuckDBPyConnection) -> list[str]:
    return [r[0] for r in _rows(con, """SELECT column_name FROM duckdb_columns()
        WHERE database_name = current_database() AND table_name = 'org_releases' ORDER BY column_index""")]


def _replace_person(con: duckdb.DuckDBPyConnection, s: Subject, pseudonym: str, changes: dict[str, int]) -> None:
    """Identities and profiles go; one tombstone keeps what aggregates need."""
    changes["profiles"] = _count(con, "DELETE FROM profiles WHERE person_id = ?", [s.person_id])
    changes["identities"] = _count(con, "DELETE FROM identities WHERE person_id = ?", [s.person_id])
    con.execute(
        "INSERT INTO identities (identity, person_id, kind, first_seen) VALUES (?, ?, 'forgotten', now()::TIMESTAMP)",
        [pseudonym, pseudonym],
    )
    con.execute(
        """INSERT INTO profiles (source, native_id, person_id, identities, display_name, emails, handles,
                                 manager_ref, department, location, role, is_external, organization, updated_at)
           VALUES ('forgotten', ?, ?, [?], ?, [], [], ?, ?, ?, ?, ?, ?, now()::TIMESTAMP)""",
        [pseudonym, pseudonym, pseudonym, TOMBSTONE_NAME, s.manager_id, s.department, s.location, s.role,
         s.is_external, s.organization],
    )


def _scrub_everywhere(con: duckdb.DuckDBPyConnection, s: Subject, pseudonym: str, changes: dict[str, int]) -> None:
    """Every text, JSON and text-list column of every table: the person's values become the pseudonym,
    their names a mark. Works on tables this module has never heard of."""
    exact = sorted(s.exact_values())
    ids_re, names_re = _patterns(s)
    any_re = "|".join(p for p in (ids_re, names_re) if p)
    if not any_re:
        return

    def fix(x: str) -> str:
        expr = f"CASE WHEN list_contains(?::VARCHAR[], {x}) THEN ? ELSE {x} END"
        if ids_re:
            expr = f"regexp_replace({expr}, ?, ?, 'gi')"
        if names_re:
            expr = f"regexp_replace({expr}, ?, '{NAME_MARK}', 'gi')"
        return expr

    def fix_params() -> list[Any]:
        return [exact, pseudonym] + ([ids_re, pseudonym] if ids_re else []) + ([names_re] if names_re else [])

    columns = _rows(con, """
        SELECT table_name, column_name, data_type FROM duckdb_columns()
        WHERE database_name = current_database() AND schema_name = 'main' AND NOT internal
          AND data_type IN ('VARCHAR', 'JSON', 'VARCHAR[]', 'JSON[]')
          AND table_name NOT IN ('forget_log', 'forget_key')
          AND table_name IN (SELECT table_name FROM duckdb_tables() WHERE database_name = current_database())
        ORDER BY table_name, column_index""")
    for table, column, dtype in columns:
        col = f'"{column}"'
        matches = f"(list_contains(?::VARCHAR[], {col}) OR regexp_matches({col}, ?, 'i'))"
        if dtype == "VARCHAR":
            sql = f'UPDATE "{table}" SET {col} = {fix(col)} WHERE {matches}'
            params = fix_params() + [exact, any_re]
        elif dtype == "JSON":
            text = f"{col}::VARCHAR"
            sql = (f'UPDATE "{table}" SET {col} = ({fix(text)})::JSON '
                   f"WHERE (list_contains(?::VARCHAR[], {text}) OR regexp_matches({text}, ?, 'i'))")
            params = fix_params() + [exact, any_re]
        else:
            cast = "::VARCHAR" if dtype == "JSON[]" else ""
            back = "::JSON" if dtype == "JSON[]" else ""
            sql = (f'UPDATE "{table}" SET {col} = list_transform({col}, lambda x: ({fix(f"x{cast}")}){back}) '
                   f"WHERE len(list_filter({col}, lambda x: list_contains(?::VARCHAR[], x{cast}) "
                   f"OR regexp_matches(x{cast}, ?, 'i'))) > 0")
            params = fix_params() + [exact, any_re]
        n = _count(con, sql, params)
        if n:
            changes[table] = changes.get(table, 0) + n


def _recompute_metrics(con: duckdb.DuckDBPyConnection) -> bool:
    """Recompute the periods already computed, so derived tables are rebuilt from the erased data."""
    try:
        from resonance.metrics.pipeline import run_pipeline
    except ImportError:
        return False
    if not _has_table(con, "metric_periods"):
        return False
    labels = [r[0] for r in _rows(con, "SELECT period FROM metric_periods ORDER BY period")]
    if not labels:
        return False
    run_pipeline(con, periods=labels)
    return True


# -- helpers -----------------------------------------------------------------------------------
def _patterns(s: Subject) -> tuple[str, str]:
    """RE2/Python regexes: identity-like strings (replaced by the pseudonym) and names (by a mark)."""
    ids = sorted({*s.identities, *s.emails, s.person_id}, key=len, reverse=True)
    words = sorted(s.tokens - set(ids), key=len, reverse=True)
    names = sorted({n for n in s.names if len(n) >= MIN_TOKEN}, key=len, reverse=True)
    id_alts = [_escape(x) for x in ids] + [_word(x) for x in words]
    name_alts = [_word(n) for n in names] + [_word(_json_escaped(n)) for n in names if _json_escaped(n) != n]
    return "|".join(id_alts), "|".join(name_alts)


def _distinctive(token: str) -> bool:
    """Whether a bare account id, handle or e-mail local part is safe to search for as a word:
    `U024BE7LH`, `dscully`, `ada.brook` are; `E03`, `123` or `bob` would hit unrelated text and ids."""
    if token.isdigit() or len(token) < 4:
        return False
    return len(token) >= 6 or any(c in token for c in "._-")


def _word(text: str) -> str:
    """Match `text` as a whole word (where it starts or ends with a word character)."""
    left = r"\b" if re.match(r"\w", text[:1]) else ""
    right = r"\b" if re.match(r"\w", text[-1:]) else ""
    return f"{left}{_escape(text)}{right}"


def _escape(text: str) -> str:
    # Escapes both RE2 (DuckDB) and Python accept: punctuation only.
    return "".join("\\" + c if c in r"\.^$|?*+()[]{}/-" else c for c in text)


def _json_escaped(text: str) -> str:
    return json.dumps(text)[1:-1]


def _store_key(con: duckdb.DuckDBPyConnection) -> str:
    rows = _rows(con, "SELECT key FROM forget_key")
    if rows:
        return rows[0][0]
    key = secrets.token_hex(32)
    con.execute("INSERT INTO forget_key VALUES (?)", [key])
    return key


def _hash(key: str, value: str) -> str:
    return hmac.new(key.encode(), value.encode(), hashlib.sha256).hexdigest()


def _has_table(con: duckdb.DuckDBPyConnection, table: str) -> bool:
    return bool(_rows(con, """SELECT 1 FROM duckdb_tables() WHERE database_name = current_database()
                              AND schema_name = 'main' AND table_name = ?""", [table]))


def _rows(con: duckdb.DuckDBPyConnection, sql: str, params: list | None = None) -> list[tuple]:
    return con.execute(sql, params or []).fetchall()


def _count(con: duckdb.DuckDBPyConnection, sql: str, params: list | None = None) -> int:
    rows = con.execute(sql, params or []).fetchall()
    return int(rows[0][0]) if rows else 0


def _in(values: Iterable[str]) -> str:
    return ", ".join("'" + v.replace("'", "''") + "'" for v in values)
