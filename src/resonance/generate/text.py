"""Titles, texts and tags, built for whole batches at once with Arrow string kernels.

Texts mix topic words (so expertise can be learned from content) with filler
words. A batch of 100k texts costs a few numpy draws and one `binary_join`,
no Python string work per text.
"""

from __future__ import annotations

import math

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from resonance.generate import vocab
from resonance.generate.company import Company


def _join(*parts: object) -> pa.Array:
    return pc.binary_join_element_wise(*parts, "")


def _lists(offsets: np.ndarray, values: pa.Array) -> pa.ListArray:
    return pa.ListArray.from_arrays(pa.array(offsets.astype(np.int32)), values)


class Text:
    """Vocabulary arrays for one company: filler words, then every topic's words and tags."""

    def __init__(self, company: Company) -> None:
        topics = company.topics
        self.filler = len(vocab.FILLER_WORDS)
        words = list(vocab.FILLER_WORDS)
        self.word_off = np.zeros(len(topics), dtype=np.int64)
        self.word_len = np.zeros(len(topics), dtype=np.int64)
        for i, t in enumerate(topics):
            self.word_off[i] = len(words)
            self.word_len[i] = len(t.words)
            words.extend(t.words)
        self.words = pa.array(words)
        tags: list[str] = []
        self.tag_off = np.zeros(len(topics), dtype=np.int64)
        self.tag_len = np.zeros(len(topics), dtype=np.int64)
        for i, t in enumerate(topics):
            self.tag_off[i] = len(tags)
            self.tag_len[i] = len(t.tags)
            tags.extend(t.tags)
        self.tags = tags
        self.quoted_tags = pa.array([f'"{t}"' for t in tags])

    # -- words -------------------------------------------------------------------------
    def word_lists(
        self, rng: np.random.Generator, topic: np.ndarray, lengths: np.ndarray, topic_share: float = 0.45,
    ) -> pa.ListArray:
        total = int(lengths.sum())
        owner = np.repeat(topic.astype(np.int64), lengths)
        from_topic = rng.random(total) < topic_share
        u = rng.random(total)
        idx = np.where(
            from_topic,
            self.word_off[owner] + (u * self.word_len[owner]).astype(np.int64),
            (u * self.filler).astype(np.int64),
        )
        offsets = np.concatenate(([0], np.cumsum(lengths)))
        return _lists(offsets, self.words.take(pa.array(idx)))

    def phrase(self, rng: np.random.Generator, topic: np.ndarray, lengths: np.ndarray,
               topic_share: float = 0.45) -> pa.Array:
        """Space-separated words, `lengths[i]` words for item i."""
        return pc.binary_join(self.word_lists(rng, topic, lengths, topic_share), " ")

    def body(self, rng: np.random.Generator, topic: np.ndarray, mean_words: float | np.ndarray,
             openers: tuple[str, ...] = ("",)) -> pa.Array:
        """A paragraph of variable length (heavy-tailed) starting with an opener."""
        m = len(topic)
        mean = np.broadcast_to(np.asarray(mean_words, dtype=float), (m,))
        lengths = np.clip(rng.lognormal(np.log(mean), 0.5, size=m), 4, mean * 5).astype(np.int64)
        words = self.phrase(rng, topic, lengths)
        spaced = pa.array([f"{o} " if o else "" for o in openers])
        opener = spaced.take(pa.array(rng.integers(len(openers), size=m)))
        return _join(opener, words, ".")

    def title(self, rng: np.random.Generator, topic: np.ndarray, openers: tuple[str, ...],
              suffix: str = "") -> pa.Array:
        """An opener and 2-4 distinct words of the topic, e.g. "Notes on kafka partition lineage"."""
        m = len(topic)
        opener = pa.array(openers).take(pa.array(rng.integers(len(openers), size=m)))
        t = topic.astype(np.int64)
        size = self.word_len[t]
        count = np.minimum(rng.integers(2, 5, size=m), size)
        # Distinct words: a random start and a random stride coprime with the vocabulary size.
        first = rng.integers(0, 1 << 30, size=m) % size
        stride = np.array([_coprime_stride(int(n), int(r)) for n, r in zip(size.tolist(),
                                                                             rng.integers(1, 1 << 30, size=m).tolist(),
                                                                             strict=True)], dtype=np.int64)
        owner = np.repeat(np.arange(m), count)
        step = np.arange(int(count.sum())) - np.repeat(np.cumsum(count) - count, count)
        idx = self.word_off[t[owner]] + (first[owner] + step * stride[owner]) % size[owner]
        lists = _lists(np.concatenate(([0], np.cumsum(count))), self.words.take(pa.array(idx)))
        return _join(opener, " ", pc.binary_join(lists, " "), suffix)

    def tag_json(self, rng: np.random.Generator, topic: np.ndarray) -> pa.Array:
        """A JSON array of 1-3 distinct tags of each item's topic, e.g. `["kafka","etl"]`."""
        m = len(topic)
        t = topic.astype(np.int64)
        count = np.minimum(rng.integers(1, 4, size=m), self.tag_len[t])
        first = rng.integers(0, 1 << 30, size=m) % self.tag_len[t]
        owner = np.repeat(np.arange(m), count)
        step = np.arange(int(count.sum())) - np.repeat(np.cumsum(count) - count, count)
        idx = self.tag_off[t[owner]] + (first[owner] + step) % self.tag_len[t[owner]]
        lists = _lists(np.concatenate(([0], np.cumsum(count))), self.quoted_tags.take(pa.array(idx)))
        return _join("[", pc.binary_join(lists, ","), "]")


def _coprime_stride(n: int, r: int) -> int:
    """A stride in [1, n) coprime with n (so stepping visits distinct words), from a random r."""
    if n <= 2:
        return 1
    for k in range(n - 1):
        s = 1 + (r + k) % (n - 1)
        if math.gcd(s, n) == 1:
            return s
    return 1


def person_strings(company: Company) -> dict[str, pa.Array]:
    """Per-person strings the writers take from by index."""
    return {
        "mailto": pa.array([f"mailto:{e}" for e in company.emails]),
        "email": pa.array(company.emails),
        "id": pa.array(company.ids),
        "name": pa.array(company.names),
    }
