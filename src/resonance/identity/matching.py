"""Candidate merges from weak evidence. Algorithms only: nothing here writes.

Strong evidence (a shared identity key: the same verified e-mail, a handle the
directory lists, an HR id) is linked by the store as data arrives. What is left are
hints that two persons may be one; they become *suggestions* with a score in (0, 1]
and the evidence behind it, for a person to confirm with `resonance identities merge`:

| evidence | score |
|---|---|
| same full name (case, accents, punctuation, "Last, First" order ignored) | 0.6 |
| same local part at two domains of one name, or one a public mailbox (`dana.scully@acme.com` / `@acme.example`) | 0.5 |
| a chat/CRM handle equal to the other's e-mail local part | 0.4 |
| very similar full names with the same last name (Jaro-Winkler >= 0.92) | 0.4 |
| counter-evidence: an employee and a CRM customer contact, or contacts of two customers | -0.5 |

Scores of different kinds of evidence add up (capped at 0.99). Two persons that
both have an HR directory record are never suggested: the directory, which has
one record per employee, says they are two people (namesakes). A name alone never
reaches an automatic merge, and a shared *first* name is no evidence at all: names
need at least two words to count. Pairs someone already split (an unmerge) are not
suggested again. All blocking and comparisons run in DuckDB.
"""

from __future__ import annotations

from typing import Any

import duckdb

from resonance.identity.normalize import FREEMAIL_DOMAINS

AUTHORITATIVE_SOURCES = ("directory", "hr")
"""Sources with one record per person: two persons that both have one are two people."""

DIFFERENT_ORGANIZATION = -0.5
"""Counter-evidence: one is an employee and the other a customer's contact in the CRM, or
they are CRM contacts at two different customers. (An organisation guessed from an e-mail
domain is no counter-evidence: people write from several addresses.)"""

SCORES = {"same_name": 0.6, "same_local_part": 0.5, "handle_is_local_part": 0.4, "similar_name": 0.4}
SIMILAR_NAME_THRESHOLD = 0.92

_NAME_KEY = """
    list_sort(list_filter(string_split(trim(regexp_replace(
        lower(strip_accents(coalesce(display_name, ''))), '[^a-z ]+', ' ', 'g')), ' '), lambda t: t <> ''))
"""
_LOCAL_PART = "lower(split_part(substr(identity, 7), '@', 1))"


def suggest(con: duckdb.DuckDBPyConnection, min_score: float = 0.4, limit: int | None = 200) -> list[dict[str, Any]]:
    """Pairs of persons that may be one, best first: person ids, names, score, evidence."""
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE _m_people AS
        SELECT person_id, display_name, coalesce(is_external, false) AS is_external, organization,
               {_NAME_KEY} AS name_tokens,
               list_has_any(sources, {list(AUTHORITATIVE_SOURCES)!r}) AS in_directory,
               coalesce(is_external, false) AND list_contains(sources, 'crm') AS customer_contact
        FROM people
        """
    )
    evidence_sql = f"""
        -- 1. the same full name (two words at least: a first name alone is no evidence)
        SELECT a.person_id AS a, b.person_id AS b, 'same_name' AS kind,
               a.display_name || ' = ' || b.display_name AS detail
        FROM _m_people a JOIN _m_people b
          ON a.name_tokens = b.name_tokens AND a.person_id < b.person_id
        WHERE len(a.name_tokens) >= 2
        UNION ALL
        -- 2. the same distinctive local part at two different domains
        SELECT a.person_id, b.person_id, 'same_local_part', a.identity || ' ~ ' || b.identity
        FROM (SELECT person_id, identity, {_LOCAL_PART} AS local FROM identities WHERE identity LIKE 'email:%') a
        JOIN (SELECT person_id, identity, {_LOCAL_PART} AS local FROM identities WHERE identity LIKE 'email:%') b
          ON a.local = b.local AND a.person_id < b.person_id
        WHERE (length(a.local) >= 6 OR a.local LIKE '%.%') AND a.local NOT IN {_GENERIC_LOCAL_PARTS}
          -- first.last@ is a convention: at two different companies it names two people. It counts when
          -- one side is a public mailbox or both domains carry the same name (acme.com / acme.example).
          AND (split_part(a.identity, '@', 2) IN {_FREEMAIL} OR split_part(b.identity, '@', 2) IN {_FREEMAIL}
               OR split_part(split_part(a.identity, '@', 2), '.', -2)
                  = split_part(split_part(b.identity, '@', 2), '.', -2))
        UNION ALL
        -- 3. a handle (chat user name, CRM alias) equal to someone's e-mail local part
        SELECT least(h.person_id, e.person_id), greatest(h.person_id, e.person_id), 'handle_is_local_part',
               'handle ' || h.handle || ' ~ ' || e.identity
        FROM (SELECT person_id, lower(unnest(handles)) AS handle FROM people) h
        JOIN (SELECT person_id, identity, {_LOCAL_PART} AS local FROM identities WHERE identity LIKE 'email:%') e
          ON h.handle = e.local AND h.person_id <> e.person_id
        WHERE length(h.handle) >= 4 AND h.handle NOT IN {_GENERIC_LOCAL_PARTS}
        UNION ALL
        -- 4. very similar full names, same last word (blocking keeps this far from n²)
        SELECT a.person_id, b.person_id, 'similar_name',
               a.display_name || ' ~ ' || b.display_name || ' (' ||
               round(jaro_winkler_similarity(array_to_string(a.name_tokens, ' '),
                                             array_to_string(b.name_tokens, ' ')), 2) || ')'
        FROM _m_people a JOIN _m_people b
          ON a.name_tokens[-1] = b.name_tokens[-1] AND a.person_id < b.person_id
        WHERE len(a.name_tokens) >= 2 AND len(b.name_tokens) >= 2 AND a.name_tokens <> b.name_tokens
          AND a.name_tokens[1][1] = b.name_tokens[1][1]
          AND jaro_winkler_similarity(array_to_string(a.name_tokens, ' '), array_to_string(b.name_tokens, ' '))
              >= {SIMILAR_NAME_THRESHOLD}
    """
    score_cases = " ".join(f"WHEN '{k}' THEN {v}" for k, v in SCORES.items())
    rows = con.execute(
        f"""
        WITH ev AS ({evidence_sql}),
        split AS (  -- pairs a person already said are different
            SELECT least(person_a, person_b) AS a, greatest(person_a, person_b) AS b
            FROM identity_ops WHERE op = 'unmerge'
        ),
        per_kind AS (
            SELECT a, b, kind, min(detail) AS detail, max(CAST(CASE kind {score_cases} END AS DOUBLE)) AS score
            FROM ev GROUP BY a, b, kind
        ),
        pairs AS (
            SELECT a, b, sum(score) AS score,
                   list({{'kind': kind, 'detail': detail, 'score': score}} ORDER BY score DESC, kind) AS evidence
            FROM per_kind GROUP BY a, b
        ),
        judged AS (  -- counter-evidence: the two work for different organisations
            SELECT p.*, pa.display_name AS name_a, pb.display_name AS name_b,
                   pa.in_directory AND pb.in_directory AS both_in_directory,
                   CASE WHEN pa.customer_contact AND NOT pb.is_external
                        THEN 'customer contact at ' || coalesce(pa.organization, '?') || ' vs employee'
                        WHEN pb.customer_contact AND NOT pa.is_external
                        THEN 'employee vs customer contact at ' || coalesce(pb.organization, '?')
                        WHEN pa.customer_contact AND pb.customer_contact AND pa.organization <> pb.organization
                        THEN 'contacts at ' || pa.organization || ' and ' || pb.organization
                   END AS other_org
            FROM pairs p
            JOIN _m_people pa ON pa.person_id = p.a
            JOIN _m_people pb ON pb.person_id = p.b
        ),
        scored AS (
            SELECT a, name_a, b, name_b, both_in_directory,
                   least(score + CASE WHEN other_org IS NOT NULL THEN {DIFFERENT_ORGANIZATION} ELSE 0 END, 0.99)
                       AS score,
                   CASE WHEN other_org IS NULL THEN evidence
                        ELSE list_append(evidence, {{'kind': 'different_organization', 'detail': other_org,
                                                     'score': {DIFFERENT_ORGANIZATION}::DOUBLE}}) END AS evidence
            FROM judged
        )
        SELECT p.a, p.name_a, p.b, p.name_b, round(p.score, 2), p.evidence
        FROM scored p
        WHERE p.score >= ? AND NOT EXISTS (SELECT 1 FROM split s WHERE s.a = p.a AND s.b = p.b)
          AND NOT p.both_in_directory  -- two HR records: the directory says two people
        ORDER BY p.score DESC, p.a, p.b
        {"LIMIT " + str(int(limit)) if limit else ""}
        """,
        [min_score],
    ).fetchall()
    con.execute("DROP TABLE IF EXISTS _m_people")
    return [
        {"person_a": a, "name_a": na, "person_b": b, "name_b": nb, "score": float(score), "evidence": evidence}
        for a, na, b, nb, score, evidence in rows
    ]


_FREEMAIL = "(" + ", ".join(f"'{d}'" for d in sorted(FREEMAIL_DOMAINS)) + ")"

_GENERIC_LOCAL_PARTS = (
    "('info', 'admin', 'sales', 'support', 'contact', 'office', 'noreply', 'no-reply', 'hello', 'team', "
    "'billing', 'help', 'mail', 'marketing', 'hr', 'jobs', 'careers', 'webmaster', 'postmaster', 'security', "
    "'service', 'accounts', 'finance', 'legal', 'press', 'news', 'notifications')"
)
"""Role addresses: the same `support@` at two companies says nothing about a person."""
