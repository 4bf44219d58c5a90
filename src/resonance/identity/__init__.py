"""Identity resolution: one person across sources.

- `normalize`: spellings of one mailbox (case, plus-addressing, domain aliases).
- `matching`: suggestions from weak evidence (names, local parts, handles); never writes.
- `operations`: audited merge / unmerge / list; the CLI, API and web call these.

Strong evidence (a shared identity key) is linked by the store itself
(`resonance.store.people`). See docs/identity.md.
"""
