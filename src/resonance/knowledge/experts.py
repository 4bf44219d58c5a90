"""Expert finding: who can answer this question?

For a question (text and tags, asked at a time, optionally by a known asker)
each person is scored by the contributions they made before that time:

    score = sum over contributions c of
            kind_weight(c) * relevance(question, c) * (1 + appreciation(c)) ** value_exponent * recency(c)

- *relevance* mixes TF-IDF cosine with the share of the question's tags the
  contribution carries (optionally with semantic embeddings);
- *appreciation* is what others valued — accepted answers, votes, bookmarks,
  shares, kudos — counted only from events before the question;
- *recency* halves a contribution's weight every `half_life_days`.

Scores are normalised per question and blended with a recency-weighted
activity prior (people who have been helping lately are around to help).
Personalisation then puts experts close to the asker in the person graph
first among near-equals, and says how to reach them (`personalise`).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

import duckdb
import numpy as np

from resonance.knowledge.corpus import to_micros
from resonance.knowledge.index import KnowledgeIndex, parse_tags


@dataclass(slots=True)
class Question:
    """A question to find experts for."""

    text: str
    tags: list[str] = field(default_factory=list)
    id: str | None = None
    asked_at: datetime | None = None
    """Rank as of this time (default: the index's as-of). Only earlier contributions count."""
    evidence_until: datetime | None = None
    """Appreciation events count only before this (default `asked_at`). The benchmark uses the
    start of the question's day because Stack Exchange dumps date votes by day only."""
    asker: str | None = None
    """person_id of the asker: never recommended to themselves; used for personalisation."""


def question_from_record(record: dict, line: int | None = None) -> Question:
    """A question from a batch record `{"id", "title", "body", "tags"}` (tags: a list, "a,b" or "<a><b>").
    Raises ValueError naming the field when the record cannot be used."""
    if not isinstance(record, dict):
        raise ValueError("record is not a JSON object")
    title, body = record.get("title") or "", record.get("body") or record.get("text") or ""
    if not isinstance(title, str) or not isinstance(body, str):
        raise ValueError("title and body must be strings")
    tags = record.get("tags") or []
    if isinstance(tags, str):
        tags = [t for t in re.split(r"[<>|,;\s]+", tags) if t]
    if not isinstance(tags, list):
        raise ValueError("tags must be a list or a string")
    if not (title.strip() or body.strip() or tags):
        raise ValueError("empty question: no title, body or tags")
    qid = record.get("id", line)
    # The title says what the question is about: it counts twice, as in the benchmark.
    return Question(text=f"{title} {title} {body}".strip(), tags=[str(t) for t in tags],
                    id=None if qid is None else str(qid))


@dataclass(slots=True)
class Expert:
    person: str
    score: float
    rank: int
    evidence: list[dict] = field(default_factory=list)
    matched_tags: list[str] = field(default_factory=list)
    terms: list[str] = field(default_factory=list)
    distance: int | None = None
    path: list[str] | None = None


def query_text(q: Question, tags_in_text: int) -> str:
    """The question's words, with its tags as words too (documents carry theirs the same way)."""
    tags = " ".join(parse_tags(q.tags))
    return " ".join([q.text or "", *([tags] * tags_in_text if tags else [])])


class ExpertFinder:
    """Ranks people for questions against a `KnowledgeIndex`."""

    def __init__(
        self, index: KnowledgeIndex, embedder: object | None = None, prior_weight: float | None = None
    ) -> None:
        self.index = index
        self.embedder = embedder  # resonance.knowledge.embeddings.Embedder, when the extra is used
        # Matching demand to a person's knowledge wants topical fit only: callers may switch the prior off.
        self.prior_weight = index.model.prior_weight if prior_weight is None else prior_weight

    def scores(self, questions: Sequence[Question]) -> tuple[np.ndarray, list[np.ndarray]]:
        """Person scores (questions x persons) and, per question, the per-contribution relevance
        weights behind them (for explanations). Askers get -inf."""
        idx, m = self.index, self.index.model
        n_q, n_p = len(questions), len(idx.persons)
        out = np.zeros((n_q, n_p))
        contrib: list[np.ndarray] = []
        if n_q == 0 or idx.size == 0:
            return out, [np.zeros(idx.size) for _ in questions]
        texts = [query_text(q, m.tags_in_text) for q in questions]
        text_sim = (idx.query_vectors(texts) @ idx.docs_t).toarray()
        if self.embedder is not None and idx.embeddings is not None and m.embedding_weight > 0:
            q_emb = self.embedder.encode(texts)
            semantic = np.clip(q_emb @ idx.embeddings.T, 0, None)
            text_sim = (1 - m.embedding_weight) * text_sim + m.embedding_weight * semantic
        tag_sim = (idx.tag_vectors([parse_tags(q.tags) for q in questions]) @ idx.tags_t).toarray()
        default_us = to_micros(idx.corpus.as_of) + 1
        person_pos = {p: i for i, p in enumerate(idx.persons)}
        for r, q in enumerate(questions):
            when = to_micros(q.asked_at) if q.asked_at else default_us
            evidence = to_micros(q.evidence_until) if q.evidence_until else None
            weights = idx.weights_as_of(when, evidence)
            relevance = (m.text_weight * text_sim[r] + (1 - m.text_weight) * tag_sim[r]) * weights
            person = np.bincount(idx.person_of, weights=relevance, minlength=n_p)
            top = person.max()
            if top > 0:
                person = person / top
            if self.prior_weight:
                person = person + self.prior_weight * idx.activity_prior(when)
            if q.asker in person_pos:
                person[person_pos[q.asker]] = -np.inf
            out[r] = person
            contrib.append(relevance)
        return out, contrib

    def find(self, questions: Sequence[Question], top: int = 10, explain: bool = True) -> list[list[Expert]]:
        """The top experts for each question, best first, with their evidence."""
        scores, contrib = self.scores(questions)
        results: list[list[Expert]] = []
        for r, q in enumerate(questions):
            s = scores[r]
            candidates = np.flatnonzero(np.isfinite(s) & (s > 0))
            order = candidates[np.lexsort((candidates, -s[candidates]))][:top]
            experts = [Expert(person=self.index.persons[p], score=float(s[p]), rank=i + 1) for i, p in enumerate(order)]
            if explain:
                for e, p in zip(experts, order, strict=True):
                    self._explain(e, int(p), q, contrib[r])
            results.append(experts)
        return results

    def explain(self, person_id: str, q: Question, relevance: np.ndarray, score: float = 0.0) -> Expert:
        """An `Expert` for one person with the evidence behind `relevance` (from `scores`)."""
        expert = Expert(person=person_id, score=score, rank=0)
        self._explain(expert, self.index.persons.index(person_id), q, relevance)
        return expert

    def _explain(self, expert: Expert, person: int, q: Question, relevance: np.ndarray) -> None:
        idx = self.index
        mine = np.flatnonzero((idx.person_of == person) & (relevance > 0))
        best = mine[np.argsort(-relevance[mine], kind="stable")][:3]
        c = idx.corpus.contributions
        q_tags = set(parse_tags(q.tags))
        tags_of = c.column("tags")
        matched: dict[str, int] = {}
        for i in mine:
            for t in tags_of[int(i)].as_py() or []:
                if t in q_tags:
                    matched[t] = matched.get(t, 0) + 1
        expert.matched_tags = [t for t, _ in sorted(matched.items(), key=lambda kv: (-kv[1], kv[0]))]
        expert.evidence = [
            {
                "item_id": idx.item_ids[int(i)],
                "kind": c.column("kind")[int(i)].as_py(),
                "title": c.column("title")[int(i)].as_py(),
                "created": c.column("created")[int(i)].as_py(),
                "weight": round(float(relevance[int(i)]), 4),
            }
            for i in best
        ]
        expert.terms = self._shared_terms(q.text or "", mine)

    def _shared_terms(self, text: str, rows: np.ndarray, n: int = 5) -> list[str]:
        """The question's words that weigh most in the person's matching contributions."""
        idx = self.index
        if not len(rows) or not text:
            return []
        qv = idx.vectorizer.transform([text])
        profile = np.asarray(idx.docs[rows].sum(axis=0)).ravel()
        # Only distinctive words explain a match: common ones ("help", "question") say nothing.
        idf = idx.vectorizer.idf_
        profile = np.where(idf >= np.median(idf), profile, 0.0)
        weights = qv.multiply(profile).tocsr()
        if weights.nnz == 0:
            return []
        names = idx.vectorizer.get_feature_names_out()
        order = np.argsort(-weights.data)[:n]
        return [str(names[weights.indices[i]]) for i in order]


def describe(expert: Expert, appreciation: dict[str, dict[str, float]] | None = None) -> str:
    """A one-line reason: what they contributed on this topic and how others valued it."""
    parts = []
    if expert.matched_tags:
        parts.append("contributed on " + ", ".join(expert.matched_tags[:3]))
    if expert.terms:
        parts.append("wrote about " + ", ".join(expert.terms[:4]))
    if expert.evidence:
        first = expert.evidence[0]
        label = first.get("title") or first["item_id"]
        valued = (appreciation or {}).get(first["item_id"], {})
        note = _valued_note(valued)
        parts.append(f"closest: {first['kind']} “{label}”" + (f" ({note})" if note else ""))
    if expert.path and len(expert.path) > 1:
        parts.append(f"{expert.distance} step{'s' if expert.distance != 1 else ''} away")
    return "; ".join(parts) or "active contributor"


def _valued_note(valued: dict[str, float]) -> str:
    notes = []
    if valued.get("Accept"):
        notes.append("accepted")
    votes = valued.get("Vote", 0) + valued.get("Like", 0)
    if votes:
        notes.append(f"{int(votes):+d} votes" if valued.get("Vote") else f"{int(votes)} likes")
    reuse = valued.get("Add", 0) + valued.get("Announce", 0)
    if reuse:
        notes.append(f"reused {int(reuse)}×")
    if valued.get("Kudos"):
        notes.append(f"{int(valued['Kudos'])} kudos")
    return ", ".join(notes)


def appreciation_summary(
    con: duckdb.DuckDBPyConnection, index: KnowledgeIndex, item_ids: list[str], as_of: datetime | None = None
) -> dict[str, dict[str, float]]:
    """Per item, counts of appreciation by verb (votes summed with their sign), as of a time."""
    if not item_ids:
        return {}
    a = index.corpus.appreciation
    con.register("_k_appr", a.select(["item_id", "time", "verb", "weight"]))
    try:
        rows = con.execute(
            """SELECT item_id, verb, sum(CASE WHEN verb = 'Vote' THEN sign(weight) ELSE 1 END)
               FROM _k_appr WHERE item_id IN (SELECT unnest(?)) AND (? IS NULL OR time < ?)
               GROUP BY ALL""",
            [item_ids, as_of, as_of],
        ).fetchall()
    finally:
        con.unregister("_k_appr")
    out: dict[str, dict[str, float]] = {}
    for item, verb, n in rows:
        out.setdefault(item, {})[verb] = float(n)
    return out


# --- personalisation ------------------------------------------------------------------
CLOSENESS_BONUS = {1: 0.15, 2: 0.08, 3: 0.03}
"""Score bonus by hop distance from the asker: enough to reorder near-equals
(within about 15%), never enough to put a weak match above a strong one."""


def personalise(
    experts: list[Expert], graph: object, asker: str, bonus: dict[int, float] | None = None
) -> list[Expert]:
    """Re-rank experts for `asker`: close experts first among near-equals, each with the path to reach them.

    `graph` is a `resonance.knowledge.graph.PersonGraph`. The path uses trusted ties when
    one exists, else any tie.
    """
    bonus = CLOSENESS_BONUS if bonus is None else bonus
    distances = graph.distances_from(asker, cutoff=max(bonus) if bonus else 3)  # type: ignore[attr-defined]
    targets = [e.person for e in experts]
    trusted = graph.paths(asker, targets, trusted=True)  # type: ignore[attr-defined]
    loose = graph.paths(asker, [t for t in targets if t not in trusted], trusted=False)  # type: ignore[attr-defined]
    for e in experts:
        e.distance = distances.get(e.person)
        e.path = trusted.get(e.person) or loose.get(e.person)
        if e.path:
            e.distance = len(e.path) - 1
        e.score = e.score * (1.0 + bonus.get(e.distance or 0, 0.0))
    experts.sort(key=lambda e: (-e.score, e.person))
    for i, e in enumerate(experts):
        e.rank = i + 1
    return experts


# --- the operation the CLI, API and web call ----------------------------------------------
def find_experts(
    con: duckdb.DuckDBPyConnection,
    questions: Sequence[Question],
    top: int = 10,
    index: KnowledgeIndex | None = None,
    as_of: datetime | str | None = None,
    personalise_for: str | None = None,
    graph: object | None = None,
    embedder: object | None = None,
) -> list[list[dict]]:
    """Experts for each question as JSON-ready dicts: person, display name, identities, score, why,
    evidence, matched tags, and (when personalised) distance and path with names."""
    from resonance.knowledge.index import build_index

    index = index or build_index(con, as_of=as_of)
    finder = ExpertFinder(index, embedder)
    # Fetch a few more than asked so personalisation can lift a close near-equal into the top.
    results = finder.find(list(questions), top=top * 2 if personalise_for else top)
    if personalise_for:
        if graph is None:
            from resonance.knowledge.graph import build_graph

            graph = build_graph(con, as_of=index.corpus.as_of)
        results = [personalise(r, graph, personalise_for)[:top] for r in results]
    people = _people_info(con, {e.person for r in results for e in r} | {p for r in results for e in r
                                                                       for p in (e.path or [])})
    items = [ev["item_id"] for r in results for e in r for ev in e.evidence]
    valued = appreciation_summary(con, index, items)
    out = []
    for r in results:
        rows = []
        for e in r:
            info = people.get(e.person, {})
            row = {
                "person": e.person,
                "display_name": info.get("display_name"),
                "department": info.get("department"),
                "identities": info.get("identities") or [e.person],
                "score": round(e.score, 4),
                "rank": e.rank,
                "why": describe(e, valued),
                "matched_tags": e.matched_tags,
                "terms": e.terms,
                "evidence": [ev | {"valued": valued.get(ev["item_id"], {})} for ev in e.evidence],
            }
            if personalise_for:
                row["distance"] = e.distance
                row["path"] = [{"person": p, "display_name": people.get(p, {}).get("display_name")}
                               for p in (e.path or [])]
            rows.append(row)
        out.append(rows)
    return out


def _people_info(con: duckdb.DuckDBPyConnection, persons: set[str]) -> dict[str, dict]:
    if not persons:
        return {}
    cur = con.execute(
        "SELECT person_id, display_name, department, identities FROM people WHERE person_id IN (SELECT unnest(?))",
        [sorted(persons)],
    )
    return {r[0]: {"display_name": r[1], "department": r[2], "identities": r[3]} for r in cur.fetchall()}
