"""The embedded store: one DuckDB file holding events, items, people and the quarantine."""

from resonance.store.db import Store, open_store, transaction

__all__ = ["Store", "open_store", "transaction"]
