"""Expertise profiles: what a person knows, shown with the evidence.

A profile is built from what the person contributed and, above all, from
what others valued in it. Each contribution weighs

    kind_weight x (1 + appreciation) ** value_exponent x 0.5 ** (age / half_life)

(the same weight as in expert finding, see `KnowledgeModel`), so an accepted,
up-voted, bookmarked answer says much more than an unnoticed comment.

- *Tags*: the weighted contributions carrying each tag, with counts (items,
  accepted, net votes, reuse, kudos), the person's rank among everyone who
  contributed on that tag, and the items behind it.
- *Terms*: the TF-IDF terms that weigh most in the person's weighted
  contributions, each with the items that use it most.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa

from resonance.knowledge.config import KnowledgeModel
from resonance.knowledge.corpus import MICROS_PER_DAY, to_micros
from resonance.knowledge.index import KnowledgeIndex, build_index


def contribution_weights(index: KnowledgeIndex) -> np.ndarray:
    """Each contribution's weight as of the index's date (kind x appreciation x recency)."""
    when = to_micros(index.corpus.as_of) + 1
    return index.weights_as_of(when)


def _valued_by_item(con: duckdb.DuckDBPyConnection, index: KnowledgeIndex) -> pa.Table:
    con.register("_k_appr", index.corpus.appreciation.select(["pos", "verb", "weight"]))
    try:
        return con.sql(
            """SELECT pos,
                      count(*) FILTER (WHERE verb = 'Accept') AS accepted,
                      coalesce(sum(sign(weight)) FILTER (WHERE verb IN ('Vote', 'Like', 'Dislike')), 0) AS votes,
                      count(*) FILTER (WHERE verb IN ('Add', 'Announce')) AS reuse,
                      count(*) FILTER (WHERE verb = 'Kudos') AS kudos,
                      count(*) FILTER (WHERE verb = 'Reply') AS replies,
                      count(*) FILTER (WHERE verb = 'View') AS views
               FROM _k_appr GROUP BY pos"""
        ).to_arrow_table()
    finally:
        con.unregister("_k_appr")


def tag_expertise(con: duckdb.DuckDBPyConnection, index: KnowledgeIndex) -> pa.Table:
    """Everyone's weighted expertise per tag, with counts and rank among contributors on the tag.

    Columns: person_id, tag, score, rank, contributors, items, accepted, votes, reuse, kudos.
    Computed once per index.
    """
    return index._memo(("tag_expertise", repr(index.model)), lambda: _tag_expertise(con, index))


def _tag_expertise(con: duckdb.DuckDBPyConnection, index: KnowledgeIndex) -> pa.Table:
    c = index.corpus.contributions
    table = pa.table({
        "pos": c.column("pos"), "person_id": c.column("person_id"), "tags": c.column("tags"),
        "weight": pa.array(contribution_weights(index)),
    })
    con.register("_k_w", table)
    con.register("_k_valued", _valued_by_item(con, index))
    try:
        return con.sql(
            """
            WITH per_tag AS (
                SELECT w.person_id, unnest(w.tags) AS tag, w.weight, v.accepted, v.votes, v.reuse, v.kudos
                FROM _k_w w LEFT JOIN _k_valued v USING (pos)
                WHERE w.weight > 0
            ),
            agg AS (
                SELECT person_id, tag, sum(weight) AS score, count(*) AS items,
                       coalesce(sum(accepted), 0)::BIGINT AS accepted, coalesce(sum(votes), 0)::BIGINT AS votes,
                       coalesce(sum(reuse), 0)::BIGINT AS reuse, coalesce(sum(kudos), 0)::BIGINT AS kudos
                FROM per_tag GROUP BY ALL
            )
            SELECT person_id, tag, score,
                   rank() OVER (PARTITION BY tag ORDER BY score DESC) AS rank,
                   count(*) OVER (PARTITION BY tag) AS contributors,
                   items, accepted, votes, reuse, kudos
            FROM agg
            """
        ).to_arrow_table()
    finally:
        con.unregister("_k_w")
        con.unregister("_k_valued")


def expertise_profile(
    con: duckdb.DuckDBPyConnection,
    person_id: str,
    index: KnowledgeIndex | None = None,
    as_of: datetime | str | None = None,
    model: KnowledgeModel | None = None,
    top: int = 10,
    evidence_per_topic: int = 3,
) -> dict[str, Any]:
    """A person's expertise: top tags and terms, each with its evidence and how others valued it."""
    index = index or build_index(con, as_of=as_of, model=model)
    known = person_id in index.persons
    mine = np.flatnonzero(index.person_of == index.persons.index(person_id)) if known else np.zeros(0, np.int64)
    weights = contribution_weights(index)
    valued_all = index._memo(("valued", repr(index.model)), lambda: _valued_by_item(con, index))
    positions = valued_all.column("pos").to_numpy()
    valued = valued_all.filter(pa.array(np.isin(positions, mine))).to_pylist()
    valued_by_pos = {v["pos"]: v for v in valued}
    c = index.corpus.contributions

    def item(pos: int) -> dict[str, Any]:
        v = valued_by_pos.get(pos, {})
        return {
            "item_id": index.item_ids[pos],
            "kind": c.column("kind")[pos].as_py(),
            "title": c.column("title")[pos].as_py(),
            "created": c.column("created")[pos].as_py(),
            "weight": round(float(weights[pos]), 4),
            "accepted": int(v.get("accepted") or 0),
            "votes": int(v.get("votes") or 0),
            "reuse": int(v.get("reuse") or 0),
            "kudos": int(v.get("kudos") or 0),
        }

    tags_table = tag_expertise(con, index)
    con.register("_k_tags", tags_table)
    try:
        tag_rows = con.execute(
            "SELECT * FROM _k_tags WHERE person_id = ? ORDER BY score DESC, tag LIMIT ?", [person_id, top]
        ).fetchall()
        names = [d[0] for d in con.execute("SELECT * FROM _k_tags LIMIT 0").description]
    finally:
        con.unregister("_k_tags")
    tag_lists = dict(zip(mine.tolist(), c.column("tags").take(pa.array(mine)).to_pylist(), strict=True))
    tags = []
    for row in tag_rows:
        rec = dict(zip(names, row, strict=True))
        with_tag = [p for p in mine.tolist() if rec["tag"] in (tag_lists[p] or [])]
        best = sorted(with_tag, key=lambda p: (-weights[p], index.item_ids[p]))[:evidence_per_topic]
        tags.append({
            "tag": rec["tag"], "score": round(float(rec["score"]), 3), "rank": int(rec["rank"]),
            "of": int(rec["contributors"]), "items": int(rec["items"]), "accepted": int(rec["accepted"]),
            "votes": int(rec["votes"]), "reuse": int(rec["reuse"]), "kudos": int(rec["kudos"]),
            "evidence": [item(int(p)) for p in best],
        })

    terms = _top_terms(index, mine, weights, top, evidence_per_topic, item)
    valued_total = {k: sum(int(valued_by_pos.get(int(p), {}).get(k) or 0) for p in mine)
                    for k in ("accepted", "votes", "reuse", "kudos", "replies")}
    kinds: dict[str, int] = {}
    for k in c.column("kind").take(pa.array(mine)).to_pylist():
        kinds[k] = kinds.get(k, 0) + 1
    return {
        "person_id": person_id,
        "as_of": index.corpus.as_of,
        "contributions": int(len(mine)),
        "by_kind": kinds,
        "valued": valued_total,
        "tags": tags,
        "terms": terms,
        "method": (
            f"Each contribution weighs kind x (1 + appreciation)^{index.model.value_exponent}"
            f" x 0.5^(age / {int(index.model.half_life_days)} days); appreciation counts "
            "accepted answers, votes, reuse (bookmarks, shares) and kudos by others, never by yourself."
        ),
    }


def _top_terms(index: KnowledgeIndex, rows: np.ndarray, weights: np.ndarray, top: int, per: int, item) -> list:
    if not len(rows) or index.docs.shape[1] <= 1:
        return []
    sub = index.docs[rows]
    profile = np.asarray(sub.T @ weights[rows]).ravel()
    order = np.argsort(-profile)[:top]
    names = index.vectorizer.get_feature_names_out()
    out = []
    for j in order:
        if profile[j] <= 0:
            break
        col = np.asarray(sub[:, j].todense()).ravel() * weights[rows]
        best = rows[np.argsort(-col, kind="stable")[:per]]
        out.append({
            "term": str(names[j]), "score": round(float(profile[j]), 3),
            "evidence": [item(int(p)) for p in best if col[list(rows).index(p)] > 0],
        })
    return out


def recency_days(index: KnowledgeIndex, pos: int) -> float:
    """Age in days of a contribution at the index's date."""
    return (to_micros(index.corpus.as_of) - int(index.created[pos])) / MICROS_PER_DAY
