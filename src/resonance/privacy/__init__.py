"""Privacy: who may see what (the guard), consent and opt-out, the access log, data export.

Every read of an individual's data goes through `resonance.privacy.guard`.
See docs/privacy.md.
"""
