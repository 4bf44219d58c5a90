"""A small synthetic company for metric tests and benchmarks, built with numpy (no per-event loop).

People have departments, locations and roles (an `hr` profile each); they write
questions, answers, posts and comments, react to each other's items (likes,
shares, bookmarks, reads, up votes, accepted answers), thank each other with
kudos, follow and mention each other, e-mail each other and meet. Activity is
heavy-tailed and biased towards one's own department. Optionally a reaction
ring is planted: a few people liking each other's items far above the base rate.

Everything is loaded through the store's own Loader, like any connector's batch.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import duckdb
import numpy as np
import pyarrow as pa

from resonance.model import EVENT_SCHEMA, ITEM_SCHEMA, PROFILE_SCHEMA
from resonance.store.loader import Batch, Loader
from resonance.store.people import refresh_people

DEPARTMENTS = ["Engineering", "Sales", "Support", "Marketing", "Finance"]
LOCATIONS = ["Berlin", "Lyon", "Austin"]
ROLES = ["engineer", "manager", "analyst", "specialist"]
START = datetime(2026, 1, 1)


@dataclass
class Company:
    people: list[str]  # identity keys (hr:E0001)
    emails: list[str]
    departments: list[str]
    ring: list[str]  # identity keys of the planted ring (maybe empty)
    events: int
    items: int


def _times(rng: np.random.Generator, n: int, days: int) -> np.ndarray:
    seconds = rng.integers(0, days * 86400, size=n)
    return (np.datetime64(START, "us") + seconds.astype("timedelta64[s]")).astype("datetime64[us]")


def build_company(
    con: duckdb.DuckDBPyConnection,
    n_people: int = 60,
    n_events: int = 3000,
    days: int = 120,
    seed: int = 7,
    ring_size: int = 0,
    ring_likes: int = 40,
    externals: int = 3,
) -> Company:
    """Generate and load a company; returns what a test needs to know about it."""
    rng = np.random.default_rng(seed)
    ids = np.array([f"hr:E{i:04d}" for i in range(n_people)])
    emails = np.array([f"person{i:04d}@acme.example" for i in range(n_people)])
    dept = rng.choice(DEPARTMENTS, size=n_people)
    loc = rng.choice(LOCATIONS, size=n_people)
    role = rng.choice(ROLES, size=n_people)
    ext_ids = np.array([f"email:buyer{i}@customer{i}.example" for i in range(externals)])
    profiles = pa.table(
        {
            "source": ["hr"] * n_people + ["crm"] * externals,
            "native_id": [f"E{i:04d}" for i in range(n_people)] + [f"C{i}" for i in range(externals)],
            "identities": [[str(ids[i]), f"email:{emails[i]}"] for i in range(n_people)]
            + [[str(x)] for x in ext_ids],
            "display_name": [f"Person {i}" for i in range(n_people)]
            + [f"Buyer {i}" for i in range(externals)],
            "emails": [[str(e)] for e in emails] + [[str(x)[6:]] for x in ext_ids],
            "department": list(dept) + [None] * externals,
            "location": list(loc) + [None] * externals,
            "role": list(role) + [None] * externals,
            "title": [str(r).title() for r in role] + ["Buyer"] * externals,
            "is_external": [False] * n_people + [True] * externals,
            "organization": [None] * n_people + [f"Customer {i}" for i in range(externals)],
        }
    )

    # Heavy-tailed propensity to act.
    propensity = rng.pareto(1.5, size=n_people) + 0.2
    propensity /= propensity.sum()

    n_items = max(n_events // 5, 10)
    kinds = rng.choice(["question", "answer", "post", "comment"], size=n_items, p=[0.2, 0.3, 0.3, 0.2])
    authors = rng.choice(n_people, size=n_items, p=propensity)
    created = np.sort(_times(rng, n_items, days))
    item_ids = np.array([f"synth:item:{i}" for i in range(n_items)])
    parent = np.full(n_items, None, dtype=object)
    questions = np.flatnonzero(kinds == "question")
    for_parent = np.flatnonzero((kinds == "answer") | (kinds == "comment"))
    if len(questions):
        # The parent is an earlier item (a question for answers, anything for comments).
        pick = rng.integers(0, np.maximum(for_parent, 1))
        parent[for_parent] = item_ids[np.minimum(pick, for_parent - 1)]
        answers = np.flatnonzero(kinds == "answer")
        earlier_q = np.searchsorted(questions, answers) - 1
        ok = earlier_q >= 0
        parent[answers[ok]] = item_ids[questions[earlier_q[ok]]]
        parent[answers[~ok]] = None
    items = pa.table(
        {
            "item_id": item_ids,
            "source": ["synth"] * n_items,
            "native_id": item_ids,
            "kind": kinds,
            "author": ids[authors],
            "parent_id": pa.array(parent.tolist(), pa.string()),
            "title": [f"Item {i} about topic {i % 17}" for i in range(n_items)],
            "created": created,
        }
    )
    create_events = {
        "native_id": np.array([f"c{i}" for i in range(n_items)]),
        "time": created,
        "actor": ids[authors],
        "verb": np.array(["Create"] * n_items),
        "object": item_ids,
        "object_type": np.array(["item"] * n_items),
    }

    n_react = n_events - n_items
    verbs = np.array(
        ["Like", "Announce", "Add", "View", "Vote", "Kudos", "Follow", "Mention", "Message", "Accept"]
    )
    probs = np.array([0.30, 0.05, 0.05, 0.25, 0.08, 0.04, 0.03, 0.05, 0.10, 0.05])
    verb = rng.choice(verbs, size=n_react, p=probs)
    actor = rng.choice(n_people, size=n_react, p=propensity)
    # Items reacted to: mostly in the actor's own department (same-dept authors first).
    target_item = rng.integers(0, n_items, size=n_react)
    same = rng.random(n_react) < 0.5
    by_dept = {d: np.flatnonzero(dept[authors] == d) for d in DEPARTMENTS}
    for d, pool in by_dept.items():
        sel = same & (dept[actor] == d)
        if len(pool) and sel.any():
            target_item[sel] = pool[rng.integers(0, len(pool), size=int(sel.sum()))]
    target_person = rng.choice(n_people, size=n_react, p=propensity)
    times = np.maximum(_times(rng, n_react, days), created[target_item])
    actor_key = ids[actor].astype(object)
    obj = item_ids[target_item].astype(object)
    obj_type = np.array(["item"] * n_react, dtype=object)
    person_verbs = np.isin(verb, ["Kudos", "Follow", "Mention"])
    obj[person_verbs] = ids[target_person[person_verbs]]
    obj_type[person_verbs] = "person"
    value = np.full(n_react, np.nan)
    value[verb == "Vote"] = np.where(rng.random(int((verb == "Vote").sum())) < 0.9, 1.0, -1.0)
    actor_key[verb == "Vote"] = None  # anonymous, as in Stack Exchange
    # Accept: the asker accepts an answer to their question.
    acc = np.flatnonzero(verb == "Accept")
    answers = np.flatnonzero(kinds == "answer")
    if len(answers):
        chosen = answers[rng.integers(0, len(answers), size=len(acc))]
        obj[acc] = item_ids[chosen]
        q_of = {str(item_ids[a]): parent[a] for a in chosen}
        q_author = {str(item_ids[i]): str(ids[authors[i]]) for i in questions}
        actor_key[acc] = [
            q_author.get(q_of[str(item_ids[a])], str(ids[actor[j]])) for j, a in zip(acc, chosen, strict=True)
        ]
        times[acc] = np.maximum(times[acc], created[chosen])
    # Messages: e-mail to one or two colleagues (and now and then a customer).
    msg = np.flatnonzero(verb == "Message")
    recipients = np.full(n_react, None, dtype=object)
    if len(msg):
        r1 = rng.choice(n_people, size=len(msg), p=propensity)
        to_ext = rng.random(len(msg)) < 0.1 if externals else np.zeros(len(msg), bool)
        recipients[msg] = [
            [str(ext_ids[i % externals])] if e else [str(ids[r])]
            for i, (r, e) in enumerate(zip(r1, to_ext, strict=True))
        ]
        verb[msg] = "Create"
        obj[msg] = [f"synth:mail:{i}" for i in msg]
        obj_type[msg] = "item"
    ctx_item = np.full(n_react, None, dtype=object)
    kud = np.flatnonzero(verb == "Kudos")
    ctx_item[kud] = item_ids[target_item[kud]]

    events = {
        "native_id": np.array([f"r{i}" for i in range(n_react)]),
        "time": times,
        "actor": actor_key,
        "verb": verb,
        "object": obj,
        "object_type": obj_type,
        "recipients": recipients,
        "value": value,
        "ctx_item": ctx_item,
    }
    ring = []
    if ring_size:
        ring_idx = np.arange(ring_size) * 3 + 1  # spread over departments
        ring = [str(ids[i]) for i in ring_idx]
        ring_items = {i: np.flatnonzero(authors == i) for i in ring_idx}
        rows = []
        for a in ring_idx:
            for b in ring_idx:
                if a == b or not len(ring_items[b]):
                    continue
                picks = ring_items[b][rng.integers(0, len(ring_items[b]), size=ring_likes)]
                rows.append((np.full(ring_likes, a), picks))
        if rows:
            ra = np.concatenate([r[0] for r in rows])
            ri = np.concatenate([r[1] for r in rows])
            n_ring = len(ra)
            ring_events = {
                "native_id": np.array([f"ring{i}" for i in range(n_ring)]),
                "time": np.maximum(_times(rng, n_ring, days), created[ri]),
                "actor": ids[ra].astype(object),
                "verb": np.array(["Like"] * n_ring),
                "object": item_ids[ri].astype(object),
                "object_type": np.array(["item"] * n_ring, object),
            }
            events = _concat(events, ring_events)
    all_events = _concat(create_events, events)
    n_all = len(all_events["native_id"])
    ev = pa.table(
        {
            "source": ["synth"] * n_all,
            "native_id": all_events["native_id"].astype(str),
            "time": pa.array(all_events["time"].astype("datetime64[us]"), pa.timestamp("us")),
            "actor": pa.array(all_events["actor"].tolist(), pa.string()),
            "verb": all_events["verb"].astype(str),
            "object": pa.array(all_events["object"].tolist(), pa.string()),
            "object_type": pa.array(all_events["object_type"].tolist(), pa.string()),
            "recipients": pa.array(
                [r if r is not None else [] for r in all_events["recipients"].tolist()], pa.list_(pa.string())
            ),
            "value": pa.array(all_events["value"].astype(float), pa.float64(), from_pandas=True),
            "ctx_item": pa.array(all_events["ctx_item"].tolist(), pa.string()),
        }
    )
    load(con, Batch(events=ev, items=items, profiles=profiles))
    return Company(
        people=[str(x) for x in ids],
        emails=[str(e) for e in emails],
        departments=list(dept),
        ring=ring,
        events=n_all,
        items=n_items,
    )


def load(con: duckdb.DuckDBPyConnection, batch: Batch) -> None:
    """Load canonical tables like an ingest does (missing columns are NULL), then rebuild people."""
    from resonance.store.loader import conform

    ingest_id = int(con.execute("SELECT nextval('ingest_run_seq')").fetchall()[0][0])
    con.execute(
        "INSERT INTO ingest_runs (ingest_id, kind, started_at, status)"
        " VALUES (?, 'synthetic', now()::TIMESTAMP, 'done')",
        [ingest_id],
    )
    Loader(con, ingest_id).load(
        Batch(
            events=conform(batch.events, EVENT_SCHEMA),
            items=conform(batch.items, ITEM_SCHEMA),
            profiles=conform(batch.profiles, PROFILE_SCHEMA),
        )
    )
    refresh_people(con)


EVENT_KEYS = (
    "native_id",
    "time",
    "actor",
    "verb",
    "object",
    "object_type",
    "recipients",
    "value",
    "ctx_item",
)


def _concat(a: dict[str, np.ndarray], b: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Concatenate two column dicts, filling the columns one of them lacks with NULLs."""

    def col(d: dict[str, np.ndarray], k: str) -> np.ndarray:
        n = len(d["native_id"])
        if k in d:
            return d[k]
        return np.full(n, np.nan) if k == "value" else np.full(n, None, dtype=object)

    return {k: np.concatenate([col(a, k), col(b, k)]) for k in EVENT_KEYS}


def days_after_start(days: float) -> datetime:
    return START + timedelta(days=days)
