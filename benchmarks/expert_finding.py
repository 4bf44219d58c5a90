"""Expert-finding evaluation on the shared Stack Exchange dumps, split by time.

For each site: ingest the dump into a temporary store with the product's
`stackexchange` connector, learn from everything before a cut-off date, then
for every later question rank the people who could answer it using nothing
newer than the question (contributions made before it; votes and accepts
dated before the question's day, because dumps date votes by day only; the
TF-IDF vocabulary and tag IDF learnt before the cut-off). The asker is never
a candidate, for every method.

Metrics: MRR and P@1 for the accepted answerer and for any answerer. A person
never seen before the question cannot be ranked: that question scores 0.
Baselines: the most active answerers overall, and the most active answerers
in the question's tags (ties broken by overall activity), both as of the
question. Target: beat the best baseline by at least 30% relative MRR.

Tuning (`--tune`) is coordinate ascent over the model's weights on a
validation split that lies wholly before the cut-off (learn before
`val_cutoff`, evaluate questions in [val_cutoff, cutoff)); the test period is
never looked at while tuning. The tuned values are the defaults in
`resonance.knowledge.config`.

Two more rows and one more table, next to (never instead of) the figures
above: "personalised for the asker" is the product's ranking as the API serves
it (`personalise`: closeness bonus by hops from the asker in the person graph
as of the question); the rolling-origin table repeats the evaluation from
several cut-offs (`ROLLING`) as a robustness figure (`--no-rolling` skips it).

    python benchmarks/expert_finding.py                  # evaluate, print, append to RESULTS.md
    python benchmarks/expert_finding.py --embeddings     # also TF-IDF + embeddings, with timings
    python benchmarks/expert_finding.py --tune           # re-tune on the validation split
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from resonance.knowledge.config import KnowledgeModel  # noqa: E402
from resonance.knowledge.corpus import load_corpus, to_micros  # noqa: E402
from resonance.knowledge.experts import ExpertFinder, Question, personalise  # noqa: E402
from resonance.knowledge.graph import build_graph  # noqa: E402
from resonance.knowledge.index import KnowledgeIndex, index_corpus  # noqa: E402
from resonance.store import open_store  # noqa: E402

DATA = Path(os.environ.get("RESONANCE_SHARED_DATA", "/work/shared/data")) / "stackexchange"
RESULTS = Path(__file__).with_name("RESULTS.md")


@dataclass(frozen=True)
class Site:
    folder: str
    val_cutoff: datetime
    cutoff: datetime


SITES = {
    # 2018-03..08: learn Mar-Jun, test Jul-Aug; validation: learn Mar-May, evaluate June.
    "quantumcomputing-2018": Site("quantumcomputing-2018", datetime(2018, 6, 1), datetime(2018, 7, 1)),
    # 2010..2023, a meta site: learn 2010-2016, test 2017-2023; validation: learn 2010-2014, evaluate 2015-2016.
    "bicycles-meta-2023": Site("bicycles-meta-2023", datetime(2015, 1, 1), datetime(2017, 1, 1)),
}


ROLLING = {
    # Extra robustness figure (`--rolling`, on by default): several cut-offs, each fold evaluating the questions up
    # to the next one with the same protocol. Reported next to the fixed split above, never instead of it.
    "quantumcomputing-2018": [datetime(2018, m, 1) for m in (4, 5, 6, 7, 8)],
    "bicycles-meta-2023": [datetime(y, 1, 1) for y in (2012, 2014, 2016, 2018, 2020)],
}


@dataclass
class EvalQuestion:
    id: str
    asker: str | None
    created: datetime
    title: str
    text: str
    tags: list[str]
    answerers: set[str]
    accepted: set[str] = field(default_factory=set)


# ---- data -----------------------------------------------------------------------
def ingest_site(site: Site, workdir: Path) -> Path:
    from resonance.ingest import run_ingest

    db = workdir / f"{site.folder}.duckdb"
    store = open_store(db)
    try:
        run_ingest(store.con, "stackexchange", [DATA / site.folder], {"site": site.folder.rsplit("-", 1)[0]})
    finally:
        store.close()
    return db


def eval_questions(con, start: datetime, end: datetime) -> list[EvalQuestion]:
    """Questions asked in [start, end) that someone other than the asker answered."""
    rows = con.execute(
        """
        WITH q AS (
            SELECT i.item_id, a.person_id AS asker, i.created, coalesce(i.title, '') AS title,
                   coalesce(i.text, '') AS text, coalesce(i.tags, []) AS tags
            FROM items i LEFT JOIN identities a ON a.identity = i.author
            WHERE i.kind = 'question' AND i.created >= ? AND i.created < ?
        ),
        ans AS (
            SELECT i.parent_id, p.person_id, i.item_id,
                   EXISTS (SELECT 1 FROM events e WHERE e.verb = 'Accept' AND e.object = i.item_id) AS accepted
            FROM items i JOIN identities p ON p.identity = i.author
            WHERE i.kind = 'answer'
        )
        SELECT q.item_id, q.asker, q.created, q.title, q.text, q.tags,
               list_distinct(list(ans.person_id)) AS answerers,
               list_distinct(list(ans.person_id) FILTER (WHERE ans.accepted)) AS accepted
        FROM q JOIN ans ON ans.parent_id = q.item_id
        WHERE ans.person_id IS DISTINCT FROM q.asker  -- self-answers are not expert finding
        GROUP BY ALL ORDER BY q.created, q.item_id
        """,
        [start, end],
    ).fetchall()
    return [
        EvalQuestion(r[0], r[1], r[2], r[3], r[4], list(r[5]), set(r[6]), set(r[7] or []))
        for r in rows
    ]


def graph_as_of(q: EvalQuestion) -> datetime:
    """When to build the person graph for a question: the end of the day before it. Dumps date accept and
    favourite votes by day only, so a graph "as of the question's time" would hold the asker accepting an answer
    to this very question later that day (a tie that leaks the answer), as appreciation would."""
    return datetime(q.created.year, q.created.month, q.created.day) - timedelta(microseconds=1)


def as_question(q: EvalQuestion) -> Question:
    day = datetime(q.created.year, q.created.month, q.created.day)
    return Question(text=f"{q.title} {q.title} {q.text}", tags=q.tags, id=q.id, asked_at=q.created,
                    evidence_until=day, asker=q.asker)


# ---- metrics --------------------------------------------------------------------
def reciprocal_rank(order: list[str], relevant: set[str]) -> float:
    for i, person in enumerate(order):
        if person in relevant:
            return 1.0 / (i + 1)
    return 0.0


def summarise(orders: list[list[str]], questions: list[EvalQuestion]) -> dict[str, float]:
    rr_any = [reciprocal_rank(o, q.answerers) for o, q in zip(orders, questions, strict=True)]
    acc = [(o, q) for o, q in zip(orders, questions, strict=True) if q.accepted]
    rr_acc = [reciprocal_rank(o, q.accepted) for o, q in acc]
    return {
        "mrr_any": float(np.mean(rr_any)) if rr_any else 0.0,
        "p1_any": float(np.mean([r == 1.0 for r in rr_any])) if rr_any else 0.0,
        "mrr_accepted": float(np.mean(rr_acc)) if rr_acc else 0.0,
        "p1_accepted": float(np.mean([r == 1.0 for r in rr_acc])) if rr_acc else 0.0,
        "n_any": len(rr_any),
        "n_accepted": len(rr_acc),
    }


def ranked(scores: np.ndarray, tiebreak: np.ndarray, persons: list[str], exclude: str | None) -> list[str]:
    keep = np.flatnonzero(scores > 0)
    order = keep[np.lexsort((tiebreak[keep], -scores[keep]))]
    return [persons[i] for i in order if persons[i] != exclude]


def baselines(index: KnowledgeIndex, questions: list[EvalQuestion]) -> dict[str, list[list[str]]]:
    """Most active answerers overall / in the question's tags, as of each question."""
    c = index.corpus.contributions
    is_answer = np.array([k == "answer" for k in c.column("kind").to_pylist()])
    q_tags = index.tag_vectors([[t.lower() for t in q.tags] for q in questions])
    in_tags = (q_tags @ index.tags_t).toarray() > 0
    overall_orders, tag_orders = [], []
    n_p = len(index.persons)
    for r, q in enumerate(questions):
        before = is_answer & (index.created < to_micros(q.created))
        overall = np.bincount(index.person_of[before], minlength=n_p).astype(float)
        last = np.zeros(n_p)
        np.maximum.at(last, index.person_of[before], index.created[before].astype(float))
        in_q_tags = np.bincount(index.person_of[before & in_tags[r]], minlength=n_p).astype(float)
        overall_orders.append(ranked(overall, -last, index.persons, q.asker))
        tag_orders.append(ranked(in_q_tags + 1e-6 * overall / max(overall.max(), 1), -last, index.persons, q.asker))
    return {"most active overall": overall_orders, "most active in tags": tag_orders}


def model_orders(finder: ExpertFinder, questions: list[EvalQuestion]) -> list[list[str]]:
    scores, _ = finder.scores([as_question(q) for q in questions])
    persons = finder.index.persons
    ids = np.arange(len(persons))
    return [ranked(np.where(np.isfinite(s), s, 0.0), ids, persons, q.asker)
            for s, q in zip(scores, questions, strict=True)]


def personalised_orders(finder: ExpertFinder, questions: list[EvalQuestion], con, head: int = 50) -> list[list[str]]:
    """The product's ranking personalised for each asker, as `find_experts(..., personalise_for=asker)` does: the
    top `head` experts re-ranked by `personalise` over the person graph as of the day before the question
    (`graph_as_of`; closeness bonus by hops, trusted paths first), then everyone else in the product's order."""
    base = model_orders(finder, questions)
    found = finder.find([as_question(q) for q in questions], top=head, explain=False)
    out = []
    for q, experts, order in zip(questions, found, base, strict=True):
        if q.asker:
            graph = build_graph(con, as_of=graph_as_of(q))
            experts = personalise(experts, graph, q.asker)
        first = [e.person for e in experts]
        taken = set(first)
        out.append(first + [p for p in order if p not in taken])
    return out


# ---- tuning ---------------------------------------------------------------------
GRID: dict[str, list] = {
    "text_weight": [0.0, 0.25, 0.5, 0.75, 1.0],
    "value_exponent": [0.0, 0.25, 0.5, 1.0, 1.5],
    "half_life_days": [30.0, 60.0, 120.0, 240.0, 720.0, 3650.0],
    "prior_weight": [0.0, 0.05, 0.1, 0.2, 0.4, 0.8],
    "prior_half_life_days": [7.0, 14.0, 30.0, 90.0, 365.0],
    "kind_weights.question": [0.0, 0.1, 0.3, 0.6],
    "kind_weights.comment": [0.0, 0.1, 0.3, 0.6],
    "tags_in_text": [0, 1, 2, 3],
    "title_repeat": [1, 2, 3],
    "parent_title_repeat": [0, 1, 2, 3],
    "parent_text_repeat": [0, 1],
}
CORPUS_PARAMS = ("tags_in_text", "title_repeat", "parent_title_repeat", "parent_text_repeat")
"""Weights that change the documents themselves: the corpus is re-read for them."""


def with_param(model: KnowledgeModel, name: str, value) -> KnowledgeModel:
    if name.startswith("kind_weights."):
        kinds = dict(model.kind_weights)
        kinds[name.split(".", 1)[1]] = value
        return model.with_(kind_weights=kinds)
    return model.with_(**{name: value})


def objective(results: list[dict[str, float]]) -> float:
    """Macro average over sites of MRR(any) and MRR(accepted)."""
    return float(np.mean([(r["mrr_any"] + r["mrr_accepted"]) / 2 for r in results]))


def tune(setups: list[tuple], model: KnowledgeModel, rounds: int = 2) -> tuple[KnowledgeModel, list[str]]:
    """Coordinate ascent on the validation questions only. `setups`: (db path, val_cutoff, val_questions)."""
    log = []
    corpora: dict[tuple, object] = {}

    def corpus_for(db: Path, m: KnowledgeModel):
        key = (str(db), *(getattr(m, p) for p in CORPUS_PARAMS))
        if key not in corpora:
            store = open_store(db, read_only=True)
            try:
                corpora[key] = load_corpus(store.con, model=m)
            finally:
                store.close()
        return corpora[key]

    def evaluate(m: KnowledgeModel) -> float:
        results = []
        for db, val_cutoff, questions in setups:
            finder = ExpertFinder(index_corpus(corpus_for(db, m), m, fit_until=val_cutoff))
            results.append(summarise(model_orders(finder, questions), questions))
        return objective(results)

    best = evaluate(model)
    log.append(f"start {best:.4f}")
    for _ in range(rounds):
        improved = False
        for name, values in GRID.items():
            for value in values:
                candidate = with_param(model, name, value)
                score = evaluate(candidate)
                if score > best + 1e-4:
                    best, model, improved = score, candidate, True
                    log.append(f"{name}={value}: {score:.4f}")
                    print(f"  tune: {name}={value} -> validation objective {score:.4f}", flush=True)
        if not improved:
            break
    return model, log


# ---- main -----------------------------------------------------------------------
def machine() -> str:
    import duckdb

    cpu = platform.processor() or platform.machine()
    load = f" · load average {os.getloadavg()[0]:.1f}" if hasattr(os, "getloadavg") else ""
    return (f"{platform.node()} · {platform.system()} {platform.release()} · {cpu} · {os.cpu_count()} cores · "
            f"Python {platform.python_version()} · DuckDB {duckdb.__version__}{load}")


def run(args: argparse.Namespace) -> dict:
    stores: dict[str, Path] = {}
    for spec in args.store or []:
        name, path = spec.split("=", 1)
        stores[name] = Path(path)
    workdir = Path(tempfile.mkdtemp(prefix="resonance-ef-"))
    model = KnowledgeModel()
    report: dict = {"sites": {}, "model": {}}
    setups = {}
    for name in args.sites:
        site = SITES[name]
        t0 = time.perf_counter()
        db = stores.get(name) or ingest_site(site, workdir)
        store = open_store(db, read_only=True)
        con = store.con
        corpus = load_corpus(con, model=model)
        end = corpus.as_of + timedelta(seconds=1)
        setups[name] = (
            site, corpus, eval_questions(con, site.val_cutoff, site.cutoff), eval_questions(con, site.cutoff, end), db,
        )
        store.close()
        print(f"{name}: loaded in {time.perf_counter() - t0:.1f}s ({corpus.size} contributions, "
              f"{len(setups[name][2])} validation / {len(setups[name][3])} test questions)", flush=True)

    if args.tune:
        print("tuning on the validation split (questions before the cut-off only)...", flush=True)
        model, log = tune([(s[4], s[0].val_cutoff, s[2]) for s in setups.values()], model)
        report["tuning_log"] = log
        for name, s_ in list(setups.items()):  # re-read the documents with the tuned weights
            store = open_store(s_[4], read_only=True)
            try:
                setups[name] = (s_[0], load_corpus(store.con, model=model), *s_[2:])
            finally:
                store.close()
    report["model"] = _model_dict(model)

    embedder = None
    embeddings: dict[str, np.ndarray] = {}
    if args.embeddings:
        from resonance.knowledge.embeddings import Embedder, available

        if not available():
            sys.exit("--embeddings needs: pip install 'resonance[embeddings]'")
        t0 = time.perf_counter()
        embedder = Embedder()
        report["embedder_load_s"] = round(time.perf_counter() - t0, 2)
        report["embed_s"] = {}
        for name, (_site, corpus, *_rest) in setups.items():
            embeddings[name], report["embed_s"][name] = cached_embeddings(embedder, corpus, name)
        weight = args.embedding_weight
        if weight is None:  # choose it on the validation split, like every other weight
            weight, report["embedding_tuning"] = tune_embedding_weight(setups, model, embedder, embeddings)
        report["embedding_weight"] = weight

    pooled: dict[str, list] = {}
    for name, (site, corpus, _val_q, test_q, _db) in setups.items():
        t0 = time.perf_counter()
        index = index_corpus(corpus, model, fit_until=site.cutoff)
        build_s = time.perf_counter() - t0
        finder = ExpertFinder(index)
        t0 = time.perf_counter()
        orders = {name_: o for name_, o in baselines(index, test_q).items()}
        base_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        orders[MODEL] = model_orders(finder, test_q)
        rank_s = time.perf_counter() - t0
        store = open_store(_db, read_only=True)
        try:
            orders[PERSONAL] = personalised_orders(finder, test_q, store.con)
        finally:
            store.close()
        per_q = 1000 / max(len(test_q), 1)
        timing = {MODEL: {"index_s": round(build_s, 2), "rank_ms_per_question": round(rank_s * per_q, 2)},
                  "most active in tags": {"rank_ms_per_question": round(base_s * per_q, 2)}}
        if embedder is not None:
            index.embeddings = embeddings[name]
            index.model = model.with_(embedding_weight=report["embedding_weight"])
            t0 = time.perf_counter()
            orders[EMB_MODEL] = model_orders(ExpertFinder(index, embedder), test_q)
            rank_s = time.perf_counter() - t0
            timing[EMB_MODEL] = {"index_s": round(build_s + report["embed_s"][name], 2),
                                 "rank_ms_per_question": round(1000 * rank_s / max(len(test_q), 1), 2)}
            index.model = model
        methods = {m: summarise(o, test_q) | timing.get(m, {}) for m, o in orders.items()}
        for m, o in orders.items():
            pooled.setdefault(m, [[], []])
            pooled[m][0].extend(o)
            pooled[m][1].extend(test_q)
        report["sites"][name] = site_summary(methods, {
            "cutoff": site.cutoff.date().isoformat(), "test_questions": len(test_q),
            "with_accepted": sum(1 for q in test_q if q.accepted)})
    if len(setups) > 1:
        methods = {m: summarise(o, qs) for m, (o, qs) in pooled.items()}
        report["sites"]["all sites (pooled)"] = site_summary(methods, {
            "cutoff": "each site's", "test_questions": sum(len(s[3]) for s in setups.values()),
            "with_accepted": sum(1 for s in setups.values() for q in s[3] if q.accepted)})
    if args.rolling:
        report["rolling"] = rolling(setups, model)
    return report


def rolling(setups: dict, model: KnowledgeModel) -> dict:
    """Rolling-origin evaluation: for each cut-off in `ROLLING`, learn before it and test the questions up to the
    next one (the last fold: to the end of the dump), with the same protocol and baselines as the fixed split."""
    out: dict = {}
    for name, (site, corpus, _val_q, _test_q, db) in setups.items():
        origins = ROLLING[name]
        ends = [*origins[1:], corpus.as_of + timedelta(seconds=1)]
        store = open_store(db, read_only=True)
        folds, pooled = [], {}
        try:
            for start, end in zip(origins, ends, strict=True):
                questions = eval_questions(store.con, start, end)
                finder = ExpertFinder(index_corpus(corpus, model, fit_until=start))
                orders = baselines(finder.index, questions)
                orders[MODEL] = model_orders(finder, questions)
                orders[PERSONAL] = personalised_orders(finder, questions, store.con)
                for m, o in orders.items():
                    pooled.setdefault(m, ([], []))
                    pooled[m][0].extend(o)
                    pooled[m][1].extend(questions)
                tuned_on = start < site.cutoff and end > site.val_cutoff
                folds.append(site_summary({m: summarise(o, questions) for m, o in orders.items()}, {
                    "cutoff": start.date().isoformat(), "end": end.date().isoformat(),
                    "test_questions": len(questions), "with_accepted": sum(1 for q in questions if q.accepted),
                    "overlaps_tuning": tuned_on, "overlaps_test": end > site.cutoff}))
        finally:
            store.close()
        all_q = next(iter(pooled.values()))[1]
        out[name] = {"folds": folds, "pooled": site_summary({m: summarise(o, qs) for m, (o, qs) in pooled.items()}, {
            "cutoff": "each fold's", "test_questions": len(all_q),
            "with_accepted": sum(1 for q in all_q if q.accepted)})}
    return out


MODEL = "resonance (TF-IDF + tags)"
PERSONAL = "resonance, personalised for the asker"
EMB_MODEL = "resonance + embeddings"
BASELINES = ("most active overall", "most active in tags")


def site_summary(methods: dict, info: dict) -> dict:
    best_any = max(methods[b]["mrr_any"] for b in BASELINES)
    best_acc = max(methods[b]["mrr_accepted"] for b in BASELINES)

    def lift(method: str, key: str, best: float) -> float | None:
        return methods[method][key] / best - 1 if best and method in methods else None

    return info | {
        "methods": methods,
        "lift_mrr_any": lift(MODEL, "mrr_any", best_any),
        "lift_mrr_accepted": lift(MODEL, "mrr_accepted", best_acc),
        "personal_lift_mrr_any": lift(PERSONAL, "mrr_any", best_any),
        "personal_lift_mrr_accepted": lift(PERSONAL, "mrr_accepted", best_acc),
    }


def cached_embeddings(embedder, corpus, name: str) -> tuple[np.ndarray, float]:
    """Embeddings of every contribution document, cached on disk by content (they take minutes on a CPU).
    Returns them and the seconds it took to compute them (the cached figure when read from the cache)."""
    import hashlib

    docs = corpus.contributions.column("doc").to_pylist()
    digest = hashlib.sha256("\x00".join(d or "" for d in docs).encode()).hexdigest()[:16]
    cache = Path(tempfile.gettempdir()) / "resonance-bench-cache"
    cache.mkdir(exist_ok=True)
    path, took = cache / f"{name}-{digest}.npy", cache / f"{name}-{digest}.seconds"
    if path.exists() and took.exists():
        return np.load(path), float(took.read_text())
    t0 = time.perf_counter()
    vectors = embedder.encode(docs)
    seconds = round(time.perf_counter() - t0, 1)
    np.save(path, vectors)
    took.write_text(str(seconds))
    return vectors, seconds


def tune_embedding_weight(setups: dict, model: KnowledgeModel, embedder, embeddings: dict) -> tuple[float, list]:
    """The share of the semantic cosine in text similarity, chosen on the validation split only."""
    log = []
    best = (-1.0, 0.0)
    for weight in (0.0, 0.25, 0.5, 0.75, 1.0):
        results = []
        for name, (site, corpus, val_q, _test_q, _db) in setups.items():
            index = index_corpus(corpus, model.with_(embedding_weight=weight), fit_until=site.val_cutoff)
            index.embeddings = embeddings[name]
            results.append(summarise(model_orders(ExpertFinder(index, embedder), val_q), val_q))
        score = objective(results)
        log.append(f"embedding_weight={weight}: {score:.4f}")
        print(f"  embeddings: weight {weight} -> validation objective {score:.4f}", flush=True)
        best = max(best, (score, weight))
    return best[1], log


def _model_dict(model: KnowledgeModel) -> dict:
    return {f: getattr(model, f) for f in model.__dataclass_fields__}


def markdown(report: dict, args: argparse.Namespace) -> str:
    lines = [
        f"\n## Expert finding — {datetime.now().strftime('%Y-%m-%d %H:%M')}",
        f"Machine: {machine()}",
        f"Command: `python benchmarks/expert_finding.py {' '.join(sys.argv[1:])}`".rstrip(),
        "",
    ]
    for name, site in report["sites"].items():
        lines += [
            f"**{name}** — learn before {site['cutoff']}, test on {site['test_questions']} later answered "
            f"questions ({site['with_accepted']} with an accepted answer by someone other than the asker)",
            "",
            "| method | MRR accepted | P@1 accepted | MRR any | P@1 any | index s | ms/question |",
            "|---|---|---|---|---|---|---|",
        ]
        for method, m in site["methods"].items():
            lines.append(
                f"| {method} | {m['mrr_accepted']:.3f} | {m['p1_accepted']:.3f} | {m['mrr_any']:.3f} | "
                f"{m['p1_any']:.3f} | {m.get('index_s', '')} | {m.get('rank_ms_per_question', '')} |"
            )
        lines += [
            "",
            f"Relative MRR over the best baseline: accepted {site['lift_mrr_accepted']:+.1%}, "
            f"any answerer {site['lift_mrr_any']:+.1%} (target +30%)"
            + (f"; personalised for the asker: accepted {site['personal_lift_mrr_accepted']:+.1%}, any answerer "
               f"{site['personal_lift_mrr_any']:+.1%}." if site.get("personal_lift_mrr_any") is not None else "."),
            "",
        ]
    if "rolling" in report:
        lines += rolling_markdown(report["rolling"])
    if "embedder_load_s" in report:
        lines.append(
            f"Embeddings: all-MiniLM-L6-v2 on the CPU, model load {report['embedder_load_s']} s, encoding every "
            f"contribution {report['embed_s']} s (cached across runs); weight of the semantic cosine in text "
            f"similarity {report['embedding_weight']} (chosen on the validation split: "
            f"{'; '.join(report.get('embedding_tuning', [])) or 'given'})."
        )
    return "\n".join(lines) + "\n"


def rolling_markdown(rolling_report: dict) -> list[str]:
    lines = [
        "**Rolling origin** (extra robustness figure, same protocol, several cut-offs; the fixed split above is the "
        "reported one). MRR accepted / any; lift = relative MRR over the best baseline of that fold; "
        "'tuning' marks folds overlapping the validation window the weights were tuned on, 'test' folds overlapping "
        "the fixed split's test period.",
        "",
        "| site | fold | questions (accepted) | best baseline | resonance | lift | personalised | lift |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for name, r in rolling_report.items():
        for fold in [*r["folds"], r["pooled"]]:
            m = fold["methods"]
            best_acc = max(m[b]["mrr_accepted"] for b in BASELINES)
            best_any = max(m[b]["mrr_any"] for b in BASELINES)
            label = (f"{fold['cutoff']} to {fold['end']}" + (" (tuning)" if fold["overlaps_tuning"] else "")
                     + (" (test)" if fold["overlaps_test"] else "")) if "end" in fold else "all folds (pooled)"
            lines.append(
                f"| {name} | {label} | {fold['test_questions']} ({fold['with_accepted']}) | "
                f"{best_acc:.3f} / {best_any:.3f} | {m[MODEL]['mrr_accepted']:.3f} / {m[MODEL]['mrr_any']:.3f} | "
                f"{_pct(fold['lift_mrr_accepted'])} / {_pct(fold['lift_mrr_any'])} | "
                f"{m[PERSONAL]['mrr_accepted']:.3f} / {m[PERSONAL]['mrr_any']:.3f} | "
                f"{_pct(fold['personal_lift_mrr_accepted'])} / {_pct(fold['personal_lift_mrr_any'])} |"
            )
    return [*lines, ""]


def _pct(x: float | None) -> str:
    return "n/a" if x is None else f"{x:+.1%}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sites", nargs="+", default=list(SITES), choices=list(SITES))
    parser.add_argument("--store", action="append", help="SITE=PATH: use an already ingested store")
    parser.add_argument("--tune", action="store_true", help="re-tune the weights on the validation split")
    parser.add_argument("--embeddings", action="store_true", help="also measure the embeddings extra")
    parser.add_argument("--embedding-weight", type=float, default=None,
                        help="share of the semantic cosine (default: chosen on the validation split)")
    parser.add_argument("--no-rolling", dest="rolling", action="store_false",
                        help="skip the rolling-origin robustness figure (several cut-offs)")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    parser.add_argument("--no-write", action="store_true", help="do not append to benchmarks/RESULTS.md")
    args = parser.parse_args()
    report = run(args)
    text = markdown(report, args)
    if args.json:
        print(json.dumps(report, indent=2, default=str))
    else:
        print(text)
    if not args.no_write:
        with RESULTS.open("a", encoding="utf-8") as f:
            f.write(text)


if __name__ == "__main__":
    main()
