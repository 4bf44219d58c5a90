"""Personal metrics: Activity, Reaction, Eminence, Network, Knowledge value, Persona, percentiles.

One module per metric; `pipeline.run_pipeline` orders the stages and writes the
metric tables; `report.person_report` and `evidence.evidence` read them.
Definitions, weights and thresholds: docs/metrics.md and rules.toml.
"""
