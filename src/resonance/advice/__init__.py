"""Advice: ranked, explainable recommendations for one person, private to them (docs/advice.md).

`recommend(con, person, period=None, peer_group="role")` returns what the person could do next,
each with its evidence, a link to act, and what it would change: the metric change simulated
through the same rules (`metrics/rules.toml`) and the percentile recomputed against the real
distribution of the person's peers (`simulate.py`).
"""

from resonance.advice.recommend import recommend

__all__ = ["recommend"]
