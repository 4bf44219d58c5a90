"""The knowledge index: contributions as TF-IDF and tag vectors, with time-aware appreciation.

Built once from a `Corpus`; then any number of questions are scored against
it, each "as of" its own time: a contribution counts only if it was made
before, and its appreciation only from events before. This is what lets the
benchmark replay history honestly, and the product rank "as of now".

Heavy lifting is sparse linear algebra (scipy) over all contributions at once;
there is no Python loop over items or events.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from scipy import sparse
from sklearn.feature_extraction.text import TfidfVectorizer

from resonance.knowledge.config import KnowledgeModel
from resonance.knowledge.corpus import MICROS_PER_DAY, Corpus, codes, load_corpus, micros, to_micros

TOKEN_PATTERN = r"(?u)\b[a-zA-Z][a-zA-Z0-9+#._-]*[a-zA-Z0-9+#]\b|\b[a-zA-Z]\b"
"""Words, keeping technical tokens whole (c++, c#, node.js, x86-64)."""

_TAG_SPLIT = re.compile(r"[,;\s]+")


def parse_tags(tags: str | list[str] | None) -> list[str]:
    """`"a,b"` or `["a", "b"]` -> lower-case, de-duplicated tags."""
    if tags is None:
        return []
    parts = _TAG_SPLIT.split(tags) if isinstance(tags, str) else [str(t) for t in tags]
    seen: dict[str, None] = {}
    for part in parts:
        tag = part.strip().strip("<>|").lower()
        if tag:
            seen.setdefault(tag, None)
    return list(seen)


@dataclass(slots=True)
class KnowledgeIndex:
    """Vectors of every contribution, their people, times and appreciation events."""

    model: KnowledgeModel
    corpus: Corpus
    item_ids: list[str]
    person_of: np.ndarray         # contribution -> person code
    persons: list[str]            # person code -> person_id
    created: np.ndarray           # contribution -> microseconds since epoch
    kind_weight: np.ndarray       # contribution -> weight of its kind
    vectorizer: TfidfVectorizer
    docs: sparse.csr_matrix       # contributions x terms, rows L2-normalised
    tag_names: list[str]
    tag_index: dict[str, int]
    tag_idf: np.ndarray
    tags: sparse.csr_matrix       # contributions x tags, binary
    membership: sparse.csr_matrix  # contributions x persons, one-hot
    ev_item: np.ndarray           # appreciation event -> contribution
    ev_time: np.ndarray           # sorted ascending
    ev_weight: np.ndarray
    embeddings: np.ndarray | None = None  # contributions x dims, L2-normalised (optional extra)
    docs_t: sparse.csr_matrix | None = None  # terms x contributions: queries multiply by it, built once
    tags_t: sparse.csr_matrix | None = None
    memo: dict = field(default_factory=dict)  # per-time weights and priors, tag expertise: reused across calls

    def _memo(self, key: tuple, build):  # type: ignore[no-untyped-def]
        if key not in self.memo:
            if len(self.memo) > 32:  # replaying history asks for many times: keep memory bounded
                self.memo.clear()
            self.memo[key] = build()
        return self.memo[key]

    @property
    def size(self) -> int:
        return len(self.item_ids)

    # -- time-aware pieces --------------------------------------------------------
    def appreciation_as_of(self, when_us: int) -> np.ndarray:
        """Sum of appreciation weights per contribution from events strictly before `when_us`."""
        n = int(np.searchsorted(self.ev_time, when_us, side="left"))
        return np.bincount(self.ev_item[:n], weights=self.ev_weight[:n], minlength=self.size)

    def weights_as_of(self, when_us: int, evidence_us: int | None = None) -> np.ndarray:
        """Per-contribution weight at a time: kind x appreciation x recency, 0 for later items."""
        key = ("weights", when_us, evidence_us, repr(self.model))
        return self._memo(key, lambda: self._weights(when_us, evidence_us))

    def _weights(self, when_us: int, evidence_us: int | None) -> np.ndarray:
        m = self.model
        visible = self.created < when_us
        value = np.maximum(self.appreciation_as_of(evidence_us if evidence_us is not None else when_us), 0.0)
        age_days = np.maximum(when_us - self.created, 0) / MICROS_PER_DAY
        decay = np.power(0.5, age_days / m.half_life_days)
        return np.where(visible, self.kind_weight * np.power(1.0 + value, m.value_exponent) * decay, 0.0)

    def activity_prior(self, when_us: int) -> np.ndarray:
        """Per-person recency-weighted activity before `when_us`, scaled to max 1."""
        return self._memo(("prior", when_us, repr(self.model)), lambda: self._prior(when_us))

    def _prior(self, when_us: int) -> np.ndarray:
        visible = self.created < when_us
        age_days = np.maximum(when_us - self.created, 0) / MICROS_PER_DAY
        w = np.where(visible, self.kind_weight * np.power(0.5, age_days / self.model.prior_half_life_days), 0.0)
        prior = np.bincount(self.person_of, weights=w, minlength=len(self.persons))
        top = prior.max() if prior.size else 0.0
        return prior / top if top > 0 else prior

    # -- queries ------------------------------------------------------------------
    def query_vectors(self, texts: list[str]) -> sparse.csr_matrix:
        return self.vectorizer.transform(texts).tocsr()

    def tag_vectors(self, tag_lists: list[list[str]]) -> sparse.csr_matrix:
        """Query tags weighted by idf and scaled to sum 1: overlap is then the share of the question's tags."""
        rows, cols, vals = [], [], []
        for r, tags in enumerate(tag_lists):
            known = [self.tag_index[t] for t in tags if t in self.tag_index]
            if not known:
                continue
            w = self.tag_idf[known]
            total = w.sum()
            rows.extend([r] * len(known))
            cols.extend(known)
            vals.extend((w / total).tolist())
        return sparse.csr_matrix((vals, (rows, cols)), shape=(len(tag_lists), len(self.tag_names)))


def build_index(
    con: duckdb.DuckDBPyConnection,
    as_of: datetime | str | None = None,
    model: KnowledgeModel | None = None,
    fit_until: datetime | None = None,
    corpus: Corpus | None = None,
) -> KnowledgeIndex:
    """Index the store's contributions up to `as_of` (default: the latest time in the store).

    The vocabulary and its IDF are learnt only from contributions made up to
    `fit_until` (default `as_of`): the benchmark learns them before its cut-off date.
    """
    model = model or KnowledgeModel()
    corpus = corpus or load_corpus(con, as_of, model)
    return index_corpus(corpus, model, fit_until)


def index_corpus(corpus: Corpus, model: KnowledgeModel, fit_until: datetime | None = None) -> KnowledgeIndex:
    """Vectorise a corpus (see `build_index`)."""
    c = corpus.contributions
    person_of, persons = codes(c.column("person_id")) if c.num_rows else (np.zeros(0, np.int64), [])
    created = micros(c.column("created")) if c.num_rows else np.zeros(0, np.int64)
    kinds = c.column("kind").to_pylist()
    kind_weight = np.array([model.kind_weights.get(k, 0.0) for k in kinds], dtype=np.float64)
    docs_text = [d or "" for d in c.column("doc").to_pylist()]

    fit_us = to_micros(fit_until or corpus.as_of)
    fit_rows = [t for t, when in zip(docs_text, created, strict=True) if when <= fit_us and t]
    vectorizer = _vectorizer(model, len(fit_rows))
    if fit_rows:
        vectorizer.fit(fit_rows)
        docs = vectorizer.transform(docs_text).tocsr()
    else:  # an empty store: nothing to learn from yet
        vectorizer.fit(["empty"])
        docs = sparse.csr_matrix((len(docs_text), 1))

    tag_col = c.column("tags").combine_chunks() if c.num_rows else pa.array([], pa.list_(pa.string()))
    flat_tags = pc.list_flatten(tag_col)
    tag_rows = pc.list_parent_indices(tag_col).to_numpy(zero_copy_only=False).astype(np.int64)
    tag_codes, tag_names = codes(flat_tags) if len(flat_tags) else (np.zeros(0, np.int64), [])
    tag_index = {t: i for i, t in enumerate(tag_names)}
    tags = sparse.csr_matrix(
        (np.ones(len(tag_codes)), (tag_rows, tag_codes)), shape=(c.num_rows, len(tag_names))
    )
    tags.data[:] = 1.0  # a tag repeated on one item counts once
    fit_mask = created <= fit_us
    df = np.asarray(tags[fit_mask].sum(axis=0)).ravel() if len(tag_names) else np.zeros(0)
    n_fit = max(int(fit_mask.sum()), 1)
    tag_idf = np.log((1 + n_fit) / (1 + df)) + 1.0

    membership = sparse.csr_matrix(
        (np.ones(len(person_of)), (np.arange(len(person_of)), person_of)), shape=(len(person_of), len(persons))
    )
    a = corpus.appreciation
    ev_item = a.column("pos").to_numpy().astype(np.int64) if a.num_rows else np.zeros(0, np.int64)
    ev_time = micros(a.column("time")) if a.num_rows else np.zeros(0, np.int64)
    ev_weight = a.column("weight").to_numpy().astype(np.float64) if a.num_rows else np.zeros(0)
    order = np.argsort(ev_time, kind="stable")
    return KnowledgeIndex(
        model=model, corpus=corpus, item_ids=c.column("item_id").to_pylist(), person_of=person_of, persons=persons,
        created=created, kind_weight=kind_weight, vectorizer=vectorizer, docs=docs, tag_names=tag_names,
        tag_index=tag_index, tag_idf=tag_idf, tags=tags, membership=membership,
        ev_item=ev_item[order], ev_time=ev_time[order], ev_weight=ev_weight[order],
        docs_t=docs.T.tocsr(), tags_t=tags.T.tocsr(),
    )


def _vectorizer(model: KnowledgeModel, n_docs: int) -> TfidfVectorizer:
    # On tiny corpora min_df / max_df would remove everything: relax them.
    small = n_docs < 20
    return TfidfVectorizer(
        token_pattern=TOKEN_PATTERN, lowercase=True, stop_words="english", sublinear_tf=True,
        min_df=1 if small else model.min_df, max_df=1.0 if small else model.max_df,
        ngram_range=(1, model.ngram_max), dtype=np.float64,
    )


def column(table: pa.Table, name: str) -> list:
    return table.column(name).to_pylist()
