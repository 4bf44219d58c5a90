"""How much room is there above the expert finder? Headroom and alternative scorers, on the same split.

Companion of `benchmarks/expert_finding.py` (same sites, cut-offs, questions,
baselines and "nothing newer than the question" rule). It answers two
questions with numbers, and appends them to `benchmarks/RESULTS.md`:

1. **Headroom** per site: how many test questions a ranker could get right at
   all (the answerer had contributed before the question: the MRR upper
   bound), how concentrated answering is (share of questions answered by the
   1 / 3 most active people as of the question), the product's MRR against
   the best baseline with a paired bootstrap 95% interval of the difference,
   and the MRR that +30% would need.
2. **Alternative scorers**, each with its parameters chosen on the validation
   split only (questions before the cut-off; objective as in `--tune`: mean
   over sites of (MRR any + MRR accepted) / 2), then reported on the test
   questions: an answers-only recency prior (half-life x weight grid), BM25
   instead of TF-IDF cosine, candidate restriction to people who answered in
   the question's tags, and a log-linear mixture of eleven features (the product's score among them) fitted by a
   per-question softmax (conditional logit), and the same kind of mixture found by
   coordinate ascent on the validation MRR itself, starting from the product's
   score.
3. **Availability and social distance**, the signals those features lack,
   each added to the product's score with its best non-zero weight chosen on
   validation: the person's share of posts at the question's time of day
   (1-12 h windows from its hour) and on its day of the week, hours since
   their last post, earlier replies between them and the asker, the
   product's own personalisation (hops from the asker in the person graph as
   of the question), rank fusion with the tag baseline, and all of them
   together by coordinate ascent. Also, per site, where the product ranked
   the best answerer of the questions its usual #1 did not answer.

*Oracles* bound the room from above: the mixture fitted on the test
questions themselves, ranking by how many test questions each person will
answer, and the product's top 3 / top 5 reordered so that whoever answered
comes first (what a perfect "which of the usual few takes this one" signal
would add). None is a method; they show the ceiling.

The product scorer is the one `expert_finding.py` reports; nothing here
changes it. Variants that do not beat it on validation stay out of the product.

    python benchmarks/expert_finding_ceiling.py            # print, append to RESULTS.md
    python benchmarks/expert_finding_ceiling.py --store quantumcomputing-2018=/tmp/qc.duckdb --no-write
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
from scipy import sparse
from scipy.optimize import minimize
from sklearn.feature_extraction.text import CountVectorizer

sys.path.insert(0, str(Path(__file__).resolve().parent))
import expert_finding as ef  # noqa: E402

from resonance.knowledge.config import KnowledgeModel  # noqa: E402
from resonance.knowledge.corpus import MICROS_PER_DAY, load_corpus, micros, to_micros  # noqa: E402
from resonance.knowledge.experts import CLOSENESS_BONUS, ExpertFinder, query_text  # noqa: E402
from resonance.knowledge.graph import build_graph  # noqa: E402
from resonance.knowledge.index import KnowledgeIndex, index_corpus, parse_tags  # noqa: E402
from resonance.store import open_store  # noqa: E402

Features = dict[str, np.ndarray]
Scorer = Callable[[Features], np.ndarray]

MIXTURE = ["product", "text", "tag", "rec7", "rec30", "rectag30", "n_tag", "n_ans", "n_acc", "days_since", "prior"]
"""Features of the log-linear mixture (see `design`)."""


# ---- features -------------------------------------------------------------------
def bm25_matrix(index: KnowledgeIndex, k1: float = 1.2, b: float = 0.75) -> sparse.csr_matrix:
    """Contributions x terms BM25 weights over the index's vocabulary and IDF (learnt before the cut-off)."""
    vec = index.vectorizer
    counts = CountVectorizer(vocabulary=vec.vocabulary_, token_pattern=vec.token_pattern, lowercase=True)
    tf = counts.transform([d or "" for d in index.corpus.contributions.column("doc").to_pylist()]).tocoo()
    length = np.bincount(tf.row, weights=tf.data, minlength=index.size)
    avg = length[length > 0].mean() if (length > 0).any() else 1.0
    data = vec.idf_[tf.col] * tf.data * (k1 + 1) / (tf.data + k1 * (1 - b + b * length[tf.row] / avg))
    return sparse.csr_matrix((data, (tf.row, tf.col)), shape=(index.size, len(vec.idf_)))


def features(index: KnowledgeIndex, questions: list[ef.EvalQuestion]) -> list[Features]:
    """Per question, per person: the product's pieces and activity counts, all as of the question."""
    qs = [ef.as_question(q) for q in questions]
    text, _ = ExpertFinder(index, prior_weight=0.0).scores(qs)  # the product's relevance, best = 1
    tag_only = dataclasses.replace(index, model=index.model.with_(text_weight=0.0))
    tag, _ = ExpertFinder(tag_only, prior_weight=0.0).scores(qs)
    bm25 = bm25_matrix(index)
    binary = index.vectorizer.transform([query_text(q, index.model.tags_in_text) for q in qs]).tocsr()
    binary.data[:] = 1.0
    bm25_sim = (binary @ bm25.T).toarray()
    kinds = np.array(index.corpus.contributions.column("kind").to_pylist())
    is_answer = kinds == "answer"
    in_tags = (index.tag_vectors([parse_tags(q.tags) for q in qs]) @ index.tags_t).toarray() > 0
    appr = index.corpus.appreciation
    accept_pos = appr.column("pos").to_numpy()[np.array(appr.column("verb").to_pylist()) == "Accept"] \
        if appr.num_rows else np.zeros(0, np.int64)
    accept_time = micros(appr.column("time"))[np.array(appr.column("verb").to_pylist()) == "Accept"] \
        if appr.num_rows else np.zeros(0, np.int64)
    n_p = len(index.persons)
    out = []
    for r, q in enumerate(qs):
        when, evidence = to_micros(q.asked_at), to_micros(q.evidence_until)
        visible = index.created < when
        answers = visible & is_answer
        age = np.maximum(when - index.created, 0) / MICROS_PER_DAY
        weights = index.weights_as_of(when, evidence)

        def count(mask: np.ndarray, half_life: float | None = None, age: np.ndarray = age) -> np.ndarray:
            w = None if half_life is None else 0.5 ** (age[mask] / half_life)
            return np.bincount(index.person_of[mask], weights=w, minlength=n_p).astype(float)

        last = np.full(n_p, -np.inf)
        np.maximum.at(last, index.person_of[visible], index.created[visible].astype(float))
        f: Features = {
            "text": np.where(np.isfinite(text[r]), text[r], 0.0),
            "tag": np.where(np.isfinite(tag[r]), tag[r], 0.0),
            "bm25": _unit(np.bincount(index.person_of, weights=bm25_sim[r] * weights, minlength=n_p)),
            "prior": index.activity_prior(when),
            "n_ans": count(answers),
            "n_tag": count(answers & in_tags[r]),
            "rectag30": count(answers & in_tags[r], 30),
            "n_acc": np.bincount(index.person_of[accept_pos[accept_time < evidence]], minlength=n_p).astype(float),
            "days_since": np.where(np.isfinite(last), (when - last) / MICROS_PER_DAY, np.inf),
            "seen": np.isfinite(last),
        }
        for h in (3, 7, 14, 30, 90):
            f[f"rec{h}"] = count(answers, h)
        out.append(f)
    return out


HOUR_US = 3_600_000_000
PRESENCE_KINDS = ("answer", "comment", "question")
"""Posts that show someone was around (tag wiki edits are left out: they are not conversation)."""
WINDOWS = (1, 3, 6, 12)
"""Availability windows: the share of a person's posts in the W hours of the day from the question's hour on."""


def availability_and_affinity(index: KnowledgeIndex, questions: list[ef.EvalQuestion], feats: list[Features],
                              hops: list[dict[str, int]], tag_orders: list[list[str]]) -> None:
    """Add, per question and person, the signals the mixtures above lack (all from posts before the question):

    - `avail{W}`: log of (share of the person's posts made in the W hours of the day starting at the
      question's hour, smoothed with 5 pseudo-posts spread evenly) / (W / 24): > 0 means "usually
      around at this time of day", the expert-finding notion of availability;
    - `dow`: the same for the question's day of the week (1 of 7);
    - `since_h`: hours since the person's last post (any kind);
    - `asker`: replies (answers, comments) between the person and the asker, either way;
    - `hops`: distance from the asker in the product's person graph as of the day before the question (0 = farther
      than 3);
    - `tag_rank`: rank in the "most active in tags" baseline (for rank fusion).
    """
    c = index.corpus.contributions
    kinds = np.array(c.column("kind").to_pylist())
    created = index.created
    who = index.person_of
    n_p = len(index.persons)
    pos = {p: i for i, p in enumerate(index.persons)}
    present = np.isin(kinds, PRESENCE_KINDS)
    hour = (created // HOUR_US) % 24
    weekday = (created // (24 * HOUR_US) + 3) % 7  # 1970-01-01 was a Thursday; 0 = Monday
    row_of = {item: i for i, item in enumerate(index.item_ids)}
    parent_person = np.array([who[row_of[p]] if p in row_of else -1 for p in c.column("parent_id").to_pylist()])
    reply = np.isin(kinds, ("answer", "comment")) & (parent_person >= 0) & (parent_person != who)
    alpha = 5.0
    for f, q, near, tag_order in zip(feats, questions, hops, tag_orders, strict=True):
        t = to_micros(q.created)
        seen = present & (created < t)
        n = np.bincount(who[seen], minlength=n_p).astype(float)
        by_hour = np.zeros((n_p, 24))
        np.add.at(by_hour, (who[seen], hour[seen]), 1.0)
        for w in WINDOWS:
            share = by_hour[:, (q.created.hour + np.arange(w)) % 24].sum(axis=1)
            f[f"avail{w}"] = np.log((share + alpha * w / 24) / (n + alpha) * 24 / w)
        by_day = np.bincount(who[seen][weekday[seen] == q.created.weekday()], minlength=n_p).astype(float)
        f["dow"] = np.log((by_day + alpha / 7) / (n + alpha) * 7)
        f["since_h"] = np.where(f["seen"], f["days_since"] * 24, 1e5)
        asker = pos.get(q.asker, -1)
        before = reply & (created < t)
        f["asker"] = (np.bincount(who[before & (parent_person == asker)], minlength=n_p)
                      + np.bincount(parent_person[before & (who == asker)], minlength=n_p)).astype(float) \
            if asker >= 0 else np.zeros(n_p)
        f["hops"] = np.zeros(n_p)
        for person, d in near.items():
            if person in pos and d > 0:
                f["hops"][pos[person]] = d
        f["tag_rank"] = np.full(n_p, 1e6)
        f["tag_rank"][[pos[p] for p in tag_order]] = np.arange(1, len(tag_order) + 1)


def busy_hours(index: KnowledgeIndex, questions: list[ef.EvalQuestion], cutoff: datetime, top: int = 2) -> list[dict]:
    """Does availability at the question's hour matter? For the `top` people who answered most of these questions:
    their busiest 6 hours of the day (from their posts before the cut-off), and the share of the questions asked
    in those hours they answered, against the share of the others (a diagnostic; it reads the answers)."""
    counts = Counter(p for q in questions for p in q.answerers)
    kinds = np.array(index.corpus.contributions.column("kind").to_pylist())
    hour = (index.created // HOUR_US) % 24
    out = []
    for person, _n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:top]:
        mine = (index.person_of == index.persons.index(person)) & np.isin(kinds, PRESENCE_KINDS) \
            & (index.created < to_micros(cutoff))
        by_hour = np.bincount(hour[mine], minlength=24)
        window = [sum(by_hour[(h + k) % 24] for k in range(6)) for h in range(24)]
        start = int(np.argmax(window))
        busy = {(start + k) % 24 for k in range(6)}
        asked = [q for q in questions if q.asker != person]
        inside = [q for q in asked if q.created.hour in busy]
        outside = [q for q in asked if q.created.hour not in busy]
        out.append({"person": person, "start": start, "share": window[start] / max(by_hour.sum(), 1),
                    "inside": (sum(person in q.answerers for q in inside), len(inside)),
                    "outside": (sum(person in q.answerers for q in outside), len(outside))})
    return out


def asker_hops(con, questions: list[ef.EvalQuestion]) -> list[dict[str, int]]:
    """Each asker's hop distance (up to 3) to everyone in the product's person graph as of the day before their
    question."""
    out = []
    for q in questions:
        graph = build_graph(con, as_of=ef.graph_as_of(q))  # votes are dated by day: see ef.graph_as_of
        out.append(graph.distances_from(q.asker, cutoff=3) if q.asker else {})
    return out


def _unit(x: np.ndarray) -> np.ndarray:
    top = x.max() if x.size else 0.0
    return x / top if top > 0 else x


def design(f: Features, names: list[str]) -> np.ndarray:
    """Log-linear design: log of scores (relevance, prior), log1p of counts, log1p of days since last."""
    cols = []
    for n in names:
        if n == "product":  # the product's own score: the mixture can fall back on it
            cols.append(np.log(1e-3 + PRODUCT(f)))
        elif n in ("text", "tag", "bm25", "prior"):
            cols.append(np.log(1e-3 + f[n]))
        elif n.startswith("avail") or n == "dow":  # already log ratios
            cols.append(f[n])
        elif n == "tie":  # a direct tie with the asker in the person graph
            cols.append((f["hops"] == 1).astype(float))
        elif n == "days_since":
            cols.append(np.log1p(np.minimum(f[n], 1e4)))
        else:
            cols.append(np.log1p(f[n]))
    return np.stack(cols, axis=1)


# ---- ranking and metrics ----------------------------------------------------------
def orders(scorer: Scorer, feats: list[Features], questions: list[ef.EvalQuestion],
           persons: list[str]) -> list[list[str]]:
    """Rank everyone who contributed before the question (never the asker); ties by person code."""
    pos = {p: i for i, p in enumerate(persons)}
    out = []
    for f, q in zip(feats, questions, strict=True):
        s = np.asarray(scorer(f), dtype=float)
        keep = f["seen"].copy()
        if q.asker in pos:
            keep[pos[q.asker]] = False
        cand = np.flatnonzero(keep)
        order = cand[np.lexsort((cand, -s[cand]))]
        out.append([persons[i] for i in order])
    return out


def fit_mixture(data: list[tuple[list[Features], list[ef.EvalQuestion], list[str]]], names: list[str],
                target: str, l2: float = 0.01) -> np.ndarray:
    """Weights of a per-question softmax over candidates (conditional logit) that maximise the likelihood of
    the answerers (`target` "any") or accepted answerers ("accepted"); L2-regularised, standardised features."""
    rows = []
    for feats, questions, persons in data:
        pos = {p: i for i, p in enumerate(persons)}
        for f, q in zip(feats, questions, strict=True):
            relevant = q.answerers if target == "any" else q.accepted
            keep = f["seen"].copy()
            if q.asker in pos:
                keep[pos[q.asker]] = False
            y = np.zeros(len(persons), bool)
            y[[pos[p] for p in relevant if p in pos]] = True
            y &= keep
            if y.any():
                rows.append((design(f, names)[keep], y[keep]))
    if not rows:
        return np.zeros(len(names))
    stacked = np.concatenate([x for x, _ in rows])
    mu, sd = stacked.mean(axis=0), stacked.std(axis=0) + 1e-9

    def loss(w: np.ndarray) -> tuple[float, np.ndarray]:
        total, grad = 0.0, np.zeros_like(w)
        for x, y in rows:
            z = (x - mu) / sd
            s = z @ w
            p = np.exp(s - s.max())
            p /= p.sum()
            hit = p[y].sum()
            total -= np.log(hit + 1e-12)
            grad -= z.T @ (np.where(y, p, 0.0) / (hit + 1e-12) - p)
        return total / len(rows) + l2 * w @ w, grad / len(rows) + 2 * l2 * w

    w = minimize(loss, np.zeros(len(names)), jac=True, method="L-BFGS-B").x
    return w / sd  # on the raw design; the constant shift does not change a ranking


ASCENT = ["product", "rec3", "rec30", "rectag30", "n_tag", "n_ans", "n_acc", "days_since", "tag"]
ASCENT_SIGNALS = ["product", "avail1", "avail6", "avail12", "dow", "since_h", "asker", "tie"]


def mrr_ascent(data: dict, names: list[str], steps: tuple[float, ...] = (-0.3, -0.15, -0.05, 0.05, 0.15, 0.3),
               rounds: int = 2) -> tuple[np.ndarray, float]:
    """Weights of `design(f, names)` found by coordinate ascent on the validation objective, starting from
    the first feature alone (weight 1)."""
    cache = {id(f): design(f, names) for splits in data.values() for f in splits["validation"].feats}
    w = np.zeros(len(names))
    w[0] = 1.0
    best = objective(evaluate(data, "validation", lambda f: cache[id(f)] @ w))
    for _ in range(rounds):
        improved = False
        for j in range(1, len(names)):
            for step in steps:
                trial = w.copy()
                trial[j] = step
                score = objective(evaluate(data, "validation", lambda f, t=trial: cache[id(f)] @ t))
                if score > best + 1e-4:
                    best, w, improved = score, trial, True
        if not improved:
            break
    return w, best


def missed_by_first(s: Split) -> dict:
    """The questions the product's most frequent #1 did not answer: where the product ranked their best answerer."""
    first = Counter(o[0] for o in s.product if o).most_common(1)[0][0]
    bands = {"2-3": 0, "4-10": 0, ">10": 0, "not rankable": 0}
    who: Counter = Counter()
    for o, q in zip(s.product, s.questions, strict=True):
        if first in q.answerers:
            continue
        who.update(q.answerers)
        ranks = [o.index(p) + 1 for p in q.answerers if p in o]
        best = min(ranks) if ranks else None
        band = "not rankable" if best is None else "2-3" if best <= 3 else "4-10" if best <= 10 else ">10"
        bands[band] += 1
    return {"person": first, "first_on": sum(1 for o in s.product if o and o[0] == first),
            "missed": sum(bands.values()), "bands": bands,
            "top_answerers": sorted(who.items(), key=lambda kv: (-kv[1], kv[0]))[:5]}


def reorder_oracle(data: dict[str, dict[str, Split]], k: int) -> dict:
    """The product's orders on the test questions with its top `k` reordered by future knowledge: for MRR
    (accepted), the accepted answerer first; for MRR (any), any answerer first. A bound on what any signal that
    only tells the product's top `k` apart could add."""
    out, pooled = {}, {"acc": ([], []), "any": ([], [])}
    for name, splits in data.items():
        s = splits["test"]
        res = {}
        for target in ("acc", "any"):
            orders_ = []
            for o, q in zip(s.product, s.questions, strict=True):
                relevant = q.accepted if target == "acc" and q.accepted else q.answerers
                head = o[:k]
                orders_.append([p for p in head if p in relevant] + [p for p in head if p not in relevant] + o[k:])
            res[target] = ef.summarise(orders_, s.questions)
            pooled[target][0].extend(orders_)
            pooled[target][1].extend(s.questions)
        out[name] = _mix(res)
    out["pooled"] = _mix({t: ef.summarise(*pooled[t]) for t in pooled})
    return out


def _mix(res: dict) -> dict:
    """Accepted-answerer figures from the accepted-first orders, any-answerer figures from the any-first orders."""
    return {"mrr_accepted": res["acc"]["mrr_accepted"], "p1_accepted": res["acc"]["p1_accepted"],
            "mrr_any": res["any"]["mrr_any"], "p1_any": res["any"]["p1_any"],
            "n_any": res["any"]["n_any"], "n_accepted": res["acc"]["n_accepted"]}


def bootstrap_diff(a: list[float], b: list[float], n: int = 2000, seed: int = 7) -> tuple[float, float]:
    """Paired bootstrap 95% interval of mean(a) - mean(b) over questions."""
    if not a:
        return (0.0, 0.0)
    d = np.asarray(a) - np.asarray(b)
    rng = np.random.default_rng(seed)
    means = d[rng.integers(0, len(d), size=(n, len(d)))].mean(axis=1)
    return float(np.quantile(means, 0.025)), float(np.quantile(means, 0.975))


def rr_lists(order_list: list[list[str]], questions: list[ef.EvalQuestion]) -> tuple[list[float], list[float]]:
    """Reciprocal ranks for (accepted, any answerer)."""
    acc = [ef.reciprocal_rank(o, q.accepted) for o, q in zip(order_list, questions, strict=True) if q.accepted]
    anyone = [ef.reciprocal_rank(o, q.answerers) for o, q in zip(order_list, questions, strict=True)]
    return acc, anyone


# ---- the study --------------------------------------------------------------------
@dataclasses.dataclass
class Split:
    persons: list[str]
    feats: list[Features]
    questions: list[ef.EvalQuestion]
    product: list[list[str]]
    baselines: dict[str, list[list[str]]]
    busy_hours: list[dict] = dataclasses.field(default_factory=list)


def prepare(args: argparse.Namespace) -> dict[str, dict[str, Split]]:
    stores = dict(spec.split("=", 1) for spec in (args.store or []))
    workdir = Path(tempfile.mkdtemp(prefix="resonance-efc-"))
    model = KnowledgeModel()
    out: dict[str, dict[str, Split]] = {}
    for name in args.sites:
        site = ef.SITES[name]
        db = Path(stores[name]) if name in stores else ef.ingest_site(site, workdir)
        store = open_store(db, read_only=True)
        try:
            corpus = load_corpus(store.con, model=model)
            val_q = ef.eval_questions(store.con, site.val_cutoff, site.cutoff)
            test_q = ef.eval_questions(store.con, site.cutoff, corpus.as_of + timedelta(seconds=1))
            hops = {"validation": asker_hops(store.con, val_q), "test": asker_hops(store.con, test_q)}
        finally:
            store.close()
        out[name] = {}
        for split, questions, fit_until in (("validation", val_q, site.val_cutoff), ("test", test_q, site.cutoff)):
            index = index_corpus(corpus, model, fit_until=fit_until)
            feats = features(index, questions)
            base = ef.baselines(index, questions)
            availability_and_affinity(index, questions, feats, hops[split], base["most active in tags"])
            out[name][split] = Split(index.persons, feats, questions, ef.model_orders(ExpertFinder(index), questions),
                                     base, busy_hours(index, questions, fit_until))
        print(f"{name}: {len(val_q)} validation / {len(test_q)} test questions", flush=True)
    return out


def evaluate(data: dict[str, dict[str, Split]], split: str, scorer: Scorer | Callable[[str], Scorer]) -> dict:
    """Per site and pooled summaries of a scorer (or a site -> scorer factory) on one split."""
    per_site, pooled_o, pooled_q = {}, [], []
    for name, splits in data.items():
        s = splits[split]
        fn = scorer(name) if getattr(scorer, "per_site", False) else scorer
        # PRODUCT: the product's own ranking, exactly as expert_finding.py reports it
        o = s.product if fn is PRODUCT else orders(fn, s.feats, s.questions, s.persons)
        per_site[name] = ef.summarise(o, s.questions)
        pooled_o += o
        pooled_q += s.questions
    per_site["pooled"] = ef.summarise(pooled_o, pooled_q)
    return per_site


def PRODUCT(f: Features) -> np.ndarray:  # noqa: N802 - a marker: "use the product's ranking"
    """The product scorer, recomputed from its pieces (`evaluate` uses the product's own orders instead)."""
    return f["text"] + KnowledgeModel().prior_weight * f["prior"]


def objective(result: dict) -> float:
    return ef.objective([v for k, v in result.items() if k != "pooled"])


def choose(data: dict, candidates: dict[str, Scorer]) -> tuple[str, float]:
    """The candidate with the best validation objective (first one on ties, so simpler wins)."""
    best = ("", -1.0)
    for label, fn in candidates.items():
        score = objective(evaluate(data, "validation", fn))
        if score > best[1] + 1e-9:
            best = (label, score)
    return best


def choose_for_site(data: dict, name: str, candidates: dict[str, Scorer]) -> tuple[str, float]:
    """The candidate with the best validation objective on one site's questions (first one on ties)."""
    best = ("", -1.0)
    for label, fn in candidates.items():
        m = evaluate({name: data[name]}, "validation", fn)[name]
        score = (m["mrr_any"] + m["mrr_accepted"]) / 2
        if score > best[1] + 1e-9:
            best = (label, score)
    return best


def study(data: dict[str, dict[str, Split]]) -> dict:
    report: dict = {"headroom": {}, "variants": []}
    for name, splits in data.items():
        s = splits["test"]
        acc, anyone = rr_lists(s.product, s.questions)
        base = {b: rr_lists(o, s.questions) for b, o in s.baselines.items()}
        best_acc = max(base, key=lambda b: np.mean(base[b][0]) if base[b][0] else 0.0)
        best_any = max(base, key=lambda b: np.mean(base[b][1]))
        n_acc = sum(1 for q in s.questions if q.accepted)
        top1 = {"acc": 0, "any": 0}
        top3 = {"acc": 0, "any": 0}
        for q, o in zip(s.questions, s.baselines["most active overall"], strict=True):
            top1["any"] += bool(set(o[:1]) & q.answerers)
            top3["any"] += bool(set(o[:3]) & q.answerers)
            top1["acc"] += bool(set(o[:1]) & q.accepted)
            top3["acc"] += bool(set(o[:3]) & q.accepted)
        seen = {"acc": 0, "any": 0}
        pos = {p: i for i, p in enumerate(s.persons)}
        for f, q in zip(s.feats, s.questions, strict=True):
            def known(people: set[str], f: Features = f, q: ef.EvalQuestion = q, pos: dict = pos) -> bool:
                return any(p in pos and f["seen"][pos[p]] and p != q.asker for p in people)
            seen["any"] += known(q.answerers)
            seen["acc"] += bool(q.accepted) and known(q.accepted)
        report["headroom"][name] = {
            "questions": len(s.questions), "accepted": n_acc,
            "seen_any": seen["any"] / len(s.questions), "seen_acc": seen["acc"] / max(n_acc, 1),
            "top1_any": top1["any"] / len(s.questions), "top3_any": top3["any"] / len(s.questions),
            "top1_acc": top1["acc"] / max(n_acc, 1), "top3_acc": top3["acc"] / max(n_acc, 1),
            "model_acc": float(np.mean(acc)), "model_any": float(np.mean(anyone)),
            "base_acc": float(np.mean(base[best_acc][0])), "base_any": float(np.mean(base[best_any][1])),
            "ci_acc": bootstrap_diff(acc, base[best_acc][0]), "ci_any": bootstrap_diff(anyone, base[best_any][1]),
            "missed": missed_by_first(s),
            "busy_hours": s.busy_hours,
        }

    def add(label: str, choice: str, fn: Scorer | Callable, val: float | None) -> None:
        report["variants"].append({"method": label, "chosen": choice, "validation": val,
                                   "test": evaluate(data, "test", fn)})

    add("product scorer (TF-IDF relevance + 0.4 x activity prior, 7-day half-life)", "defaults",
        PRODUCT, objective(evaluate(data, "validation", PRODUCT)))

    grid = {f"half-life {h} d, weight {w}": (lambda f, h=h, w=w: f["text"] + w * _unit(f[f"rec{h}"]))
            for h in (3, 7, 14, 30, 90) for w in (0.2, 0.4, 0.8)}
    label, val = choose(data, grid)
    add("TF-IDF relevance + answers-only recency prior", label, grid[label], val)

    grid = {f"prior weight {w}": (lambda f, w=w: f["bm25"] + w * f["prior"]) for w in (0.0, 0.2, 0.4, 0.8)}
    label, val = choose(data, grid)
    add("BM25 relevance + activity prior", label, grid[label], val)

    grid = {f"bonus {b}": (lambda f, b=b: PRODUCT(f) + b * (f["n_tag"] > 0))
            for b in (0.1, 0.2, 0.4, 10.0)}
    label, val = choose(data, grid)
    add("candidate restriction: answered in the question's tags first", label, grid[label], val)

    val_data = [(s.feats, s.questions, s.persons) for s in (splits["validation"] for splits in data.values())]
    grid = {}
    for target in ("any", "accepted"):
        for l2 in (0.001, 0.01, 0.1):
            w = fit_mixture(val_data, MIXTURE, target, l2)
            grid[f"target {target}, L2 {l2}: " + ", ".join(f"{n} {x:+.2f}" for n, x in zip(MIXTURE, w, strict=True))] \
                = (lambda f, w=w: design(f, MIXTURE) @ w)
    label, val = choose(data, grid)
    add("log-linear mixture fitted on validation (conditional logit)", label, grid[label], val)

    # The same family fitted on the benchmark's own objective: coordinate ascent from the product's score,
    # adding small log-linear weights of activity features while the validation objective improves.
    w, val = mrr_ascent(data, ASCENT)
    add("log-linear mixture, coordinate ascent on validation MRR from the product's score",
        ", ".join(f"{n} {x:+.2f}" for n, x in zip(ASCENT, w, strict=True) if x), lambda f: design(f, ASCENT) @ w, val)

    # Availability and social distance: signals the mixtures above lack, each on top of the product's score, its
    # best non-zero setting chosen on validation. It belongs in the product only if it beats the product's own
    # validation objective (first row).
    signal_grids: dict[str, Scorer] = {"product alone": PRODUCT}
    def on_product(f: Features) -> np.ndarray:
        return np.log(1e-3 + PRODUCT(f))

    grid = {
        f"{w} h from the question's hour, weight {x}": (lambda f, w=w, x=x: on_product(f) + x * f[f"avail{w}"])
        for w in WINDOWS for x in (0.05, 0.1, 0.2, 0.4)}
    label, val = choose(data, grid)
    signal_grids.update(grid)
    add("availability: the person's share of posts at the question's time of day (smoothed)", label, grid[label], val)

    grid = {f"weight {x}": (lambda f, x=x: on_product(f) + x * f["dow"]) for x in (0.05, 0.1, 0.2, 0.4)}
    label, val = choose(data, grid)
    signal_grids.update(grid)
    add("availability: the person's share of posts on the question's day of the week", label, grid[label], val)

    grid = {f"weight {x}": (lambda f, x=x: on_product(f) - x * np.log1p(f["since_h"])) for x in (0.05, 0.1, 0.2, 0.4)}
    label, val = choose(data, grid)
    signal_grids.update(grid)
    add("availability: hours since the person's last post (log, penalty)", label, grid[label], val)

    grid = {f"weight {x}": (lambda f, x=x: on_product(f) + x * np.log1p(f["asker"]))
            for x in (0.05, 0.1, 0.25, 0.5, 1.0)}
    label, val = choose(data, grid)
    signal_grids.update(grid)
    add("asker affinity: earlier replies between the person and the asker, either way (log)", label, grid[label], val)

    def closeness(f: Features, bonus: dict[int, float]) -> np.ndarray:
        return np.array([0.0] + [bonus.get(h, 0.0) for h in (1, 2, 3)])[f["hops"].astype(int)]

    bonuses = [dict(CLOSENESS_BONUS), {1: 0.1}, {1: 0.3}, {1: 0.5}, {1: 1.0}, {1: 0.3, 2: 0.1}]
    grid = {f"bonus {b}": (lambda f, b=b: PRODUCT(f) * (1 + closeness(f, b))) for b in bonuses}
    label, val = choose(data, grid)
    signal_grids.update(grid)
    add("social distance: the product's personalisation (score x (1 + bonus) by hops from the asker)", label,
        grid[label], val)

    def product_rank(f: Features) -> np.ndarray:
        s = PRODUCT(f)
        order = np.lexsort((np.arange(len(s)), -s))
        rank = np.empty(len(s))
        rank[order] = np.arange(1, len(s) + 1)
        return rank

    grid = {f"k {k}, tag weight {x}": (lambda f, k=k, x=x: 1 / (k + product_rank(f)) + x / (k + f["tag_rank"]))
            for k in (1, 5, 20, 60) for x in (0.25, 0.5, 1.0)}
    label, val = choose(data, grid)
    signal_grids.update(grid)
    add("rank fusion (RRF) of the product with the tag baseline", label, grid[label], val)

    w, val = mrr_ascent(data, ASCENT_SIGNALS)
    add("all of these, coordinate ascent on validation MRR from the product's score",
        ", ".join(f"{n} {x:+.2f}" for n, x in zip(ASCENT_SIGNALS, w, strict=True) if x) or "product alone",
        lambda f: design(f, ASCENT_SIGNALS) @ w, val)

    # The most favourable honest choice: every setting above (and the product alone), picked per site on that
    # site's own validation questions, as a product could pick them on each community's past questions.
    picks = {name: choose_for_site(data, name, signal_grids) for name in data}

    def per_site(name: str) -> Scorer:
        return signal_grids[picks[name][0]]
    per_site.per_site = True  # type: ignore[attr-defined]
    add("any one of these settings (or none), chosen per site on that site's validation questions",
        "; ".join(f"{name}: {label}" for name, (label, _) in picks.items()), per_site, None)

    for k in (3, 5):
        report["variants"].append({"method": f"ORACLE: the product's top {k} reordered so that whoever answered "
                                             "comes first", "chosen": "future knowledge", "validation": None,
                                   "test": reorder_oracle(data, k)})

    # Oracles: not methods, ceilings. Per site, fitted on (or counted from) the test questions themselves.
    fitted = {name: fit_mixture([(s.feats, s.questions, s.persons)], MIXTURE, "any", 0.001)
              for name, s in ((n, sp["test"]) for n, sp in data.items())}

    def oracle_mixture(name: str) -> Scorer:
        return lambda f: design(f, MIXTURE) @ fitted[name]
    oracle_mixture.per_site = True  # type: ignore[attr-defined]
    add("ORACLE: the mixture fitted on each site's test questions", "in-sample", oracle_mixture, None)

    wider = MIXTURE + [n for n in ASCENT_SIGNALS if n != "product"]
    fitted_wide = {name: fit_mixture([(s.feats, s.questions, s.persons)], wider, "any", 0.001)
                   for name, s in ((n, sp["test"]) for n, sp in data.items())}

    def oracle_wide(name: str) -> Scorer:
        return lambda f: design(f, wider) @ fitted_wide[name]
    oracle_wide.per_site = True  # type: ignore[attr-defined]
    add("ORACLE: the same with the availability and asker signals added, fitted on each site's test questions",
        "in-sample", oracle_wide, None)

    future = {}
    for name, splits in data.items():
        s = splits["test"]
        counts = np.zeros(len(s.persons))
        pos = {p: i for i, p in enumerate(s.persons)}
        for q in s.questions:
            for p in q.answerers:
                counts[pos[p]] += 1
        future[name] = counts

    def oracle_future(name: str) -> Scorer:
        return lambda f: future[name] + 1e-6 * f["n_ans"]
    oracle_future.per_site = True  # type: ignore[attr-defined]
    add("ORACLE: most answers in the test window (future knowledge)", "in-sample", oracle_future, None)
    return report


def markdown(report: dict, baselines: dict[str, dict[str, float]]) -> str:
    lines = [
        f"\n## Expert finding — headroom and alternative scorers — {datetime.now().strftime('%Y-%m-%d %H:%M')}",
        f"Machine: {ef.machine()}",
        f"Command: `{' '.join(['python benchmarks/expert_finding_ceiling.py', *sys.argv[1:]])}`",
        "",
        "Headroom on the test questions (accepted answerer / any answerer):",
        "",
        "| site | questions | answerer seen before (MRR bound) | answered by the #1 / top-3 most active | "
        "product MRR | best baseline MRR | difference, 95% bootstrap | MRR needed for +30% |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for name, h in report["headroom"].items():
        lines.append(
            f"| {name} | {h['accepted']} / {h['questions']} | {h['seen_acc']:.1%} / {h['seen_any']:.1%} | "
            f"{h['top1_acc']:.1%}, {h['top3_acc']:.1%} / {h['top1_any']:.1%}, {h['top3_any']:.1%} | "
            f"{h['model_acc']:.3f} / {h['model_any']:.3f} | {h['base_acc']:.3f} / {h['base_any']:.3f} | "
            f"[{h['ci_acc'][0]:+.3f}, {h['ci_acc'][1]:+.3f}] / [{h['ci_any'][0]:+.3f}, {h['ci_any'][1]:+.3f}] | "
            f"{1.3 * h['base_acc']:.3f} / {1.3 * h['base_any']:.3f} |"
        )
    lines += ["", "Questions the product's most frequent #1 did not answer, by the product's rank of their best "
              "answerer (the room a signal that tells the regulars apart, or finds the long tail, would have):", ""]
    for name, h in report["headroom"].items():
        m = h["missed"]
        bands = ", ".join(f"{k}: {v}" for k, v in m["bands"].items())
        answered = ", ".join(f"{p.rsplit(':', 1)[-1]} ({n})" for p, n in m["top_answerers"])
        lines.append(f"- {name}: #1 is {m['person']} (first on {m['first_on']} of {h['questions']}); missed "
                     f"{m['missed']}; best answerer at rank {bands}; answered most by {answered}")
    lines += ["", "Availability at the question's hour, for the two people who answered most test questions: their "
              "busiest 6 hours of the day (posts before the cut-off) and how often they answered questions asked "
              "then, against the other hours:", ""]
    for name, h in report["headroom"].items():
        for b in h["busy_hours"]:
            (a_in, n_in), (a_out, n_out) = b["inside"], b["outside"]
            lines.append(f"- {name}: {b['person']}: {b['start']:02d}-{(b['start'] + 6) % 24:02d} UTC hold "
                         f"{b['share']:.0%} of their posts; answered {a_in}/{n_in} = {a_in / max(n_in, 1):.1%} of the "
                         f"test questions asked then, {a_out}/{n_out} = {a_out / max(n_out, 1):.1%} of the others")
    sites = [k for k in next(iter(report["variants"]))["test"]]
    lines += [
        "",
        "Alternative scorers, parameters chosen on the validation split, MRR accepted / any on the test "
        "questions (relative to the best baseline in brackets for pooled):",
        "",
        "| method | chosen on validation | validation objective | " + " | ".join(sites) + " |",
        "|---|---|---|" + "---|" * len(sites),
    ]
    for v in report["variants"]:
        cells = []
        for site in sites:
            m = v["test"][site]
            cell = f"{m['mrr_accepted']:.3f} / {m['mrr_any']:.3f}"
            if site == "pooled" and site in baselines:
                b = baselines[site]
                cell += f" ({m['mrr_accepted'] / b['acc'] - 1:+.1%} / {m['mrr_any'] / b['any'] - 1:+.1%})"
            cells.append(cell)
        val = "" if v["validation"] is None else f"{v['validation']:.4f}"
        lines.append(f"| {v['method']} | {v['chosen']} | {val} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def pooled_baselines(data: dict[str, dict[str, Split]]) -> dict[str, dict[str, float]]:
    """The best baseline's pooled MRR (accepted, any) on the test questions."""
    orders_by: dict[str, list] = {}
    questions: list = []
    for splits in data.values():
        s = splits["test"]
        questions += s.questions
        for b, o in s.baselines.items():
            orders_by.setdefault(b, []).extend(o)
    sums = {b: ef.summarise(o, questions) for b, o in orders_by.items()}
    return {"pooled": {"acc": max(m["mrr_accepted"] for m in sums.values()),
                       "any": max(m["mrr_any"] for m in sums.values())}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sites", nargs="+", default=list(ef.SITES), choices=list(ef.SITES))
    parser.add_argument("--store", action="append", help="SITE=PATH: use an already ingested store")
    parser.add_argument("--no-write", action="store_true", help="do not append to benchmarks/RESULTS.md")
    args = parser.parse_args()
    t0 = time.perf_counter()
    data = prepare(args)
    text = markdown(study(data), pooled_baselines(data))
    print(text)
    print(f"({time.perf_counter() - t0:.0f} s)")
    if not args.no_write:
        with ef.RESULTS.open("a", encoding="utf-8") as f:
            f.write(text)


if __name__ == "__main__":
    main()
