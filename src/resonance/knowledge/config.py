"""Every weight of the knowledge model in one documented place (see docs/knowledge.md).

The defaults were tuned on a validation split of the Stack Exchange dumps that
lies entirely before the benchmark's test period (benchmarks/expert_finding.py).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

DEFAULT_KIND_WEIGHTS: dict[str, float] = {
    # What an item says about its author's knowledge. Answering shows knowledge; asking
    # does not (tuning on the validation split confirmed it: questions at 0 did best).
    "answer": 1.0,
    "post": 0.8,
    "wiki": 0.8,
    "page": 0.6,
    "file": 0.6,
    "link": 0.4,
    "tagwiki": 0.5,
    "comment": 0.3,
    "message": 0.3,
    "question": 0.0,
}
"""Item kinds that count as contributions, and how much. E-mail is left out on
purpose: expertise is visible to colleagues, and private mail must not leak into it."""

DEFAULT_APPRECIATION_WEIGHTS: dict[str, float] = {
    # What others did with a contribution ("what others valued"); self-reactions never count.
    "Accept": 3.0,    # the asker accepted this answer
    "Kudos": 3.0,     # a thank-you naming the item as its context
    "Announce": 2.0,  # shared: reuse
    "Add": 1.5,       # bookmarked: reuse
    "Vote": 1.0,      # times the vote's value (+1 / -1)
    "Like": 1.0,
    "Reply": 0.3,     # someone answered or commented on it
    "Tag": 0.3,
    "View": 0.02,
    "Dislike": -1.0,
}


@dataclass(frozen=True, slots=True)
class KnowledgeModel:
    """Weights of expertise profiles and expert finding.

    score(person, question) = sum over the person's contributions c made before the question of
        kind_weight(c) * relevance(c) * (1 + appreciation(c)) ** value_exponent * 0.5 ** (age(c) / half_life)
    with relevance = text_weight * cosine(question, c) + (1 - text_weight) * tag_overlap(question, c),
    then normalised per question and blended with a recency-weighted activity prior.
    """

    kind_weights: dict[str, float] = field(default_factory=lambda: dict(DEFAULT_KIND_WEIGHTS))
    appreciation_weights: dict[str, float] = field(default_factory=lambda: dict(DEFAULT_APPRECIATION_WEIGHTS))
    reactor_standing: float = 0.5
    """Who valued it: appreciation by a named reactor is weighted from 0.5 (least eminent) to 1.5 (most),
    by their company percentile of Eminence from the metrics engine (0 turns this off)."""
    text_weight: float = 1.0
    """Share of text similarity (TF-IDF cosine) against tag overlap in the relevance of a contribution."""
    value_exponent: float = 0.5
    """How much appreciation multiplies relevance: (1 + appreciation) ** value_exponent."""
    half_life_days: float = 240.0
    """Recency: a contribution's weight halves every this many days."""
    prior_weight: float = 0.4
    """Blend of the recency-weighted activity prior (who contributes a lot, lately) into the score."""
    prior_half_life_days: float = 7.0
    """Half-life of the activity prior: recent activity predicts who is around to help."""
    title_repeat: int = 2
    """Titles say what an item is about; they count this many times in its document."""
    parent_title_repeat: int = 3
    """An answer's or comment's document includes its parent's title this many times."""
    parent_text_repeat: int = 0
    """An answer's or comment's document includes its parent's body this many times."""
    tags_in_text: int = 2
    """Tags also count as words of a contribution's document (and of the question) this many times."""
    min_df: int = 2
    max_df: float = 0.5
    ngram_max: int = 1
    embedding_weight: float = 0.0
    """When the embeddings extra is used: share of the semantic cosine in the text similarity."""

    def with_(self, **changes: Any) -> KnowledgeModel:
        """A copy with some weights changed (used by the benchmark's tuning)."""
        return replace(self, **changes)
