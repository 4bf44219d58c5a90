"""Who does what how often: behaviour profiles times a heavy-tailed activity level.

A person's propensity for an action is `activity level × profile[behaviour, action]`
(zero before their start date). The same weights drive every format (social
posts, chat, e-mail, meetings), so a broadcaster broadcasts everywhere and an
observer mostly reads.
"""

from __future__ import annotations

from datetime import date

import numpy as np

from resonance.generate.company import BROADCASTER, CATALYST, ENGAGER, OBSERVER, RESPONDER, Company

ACTIONS = ("post", "question", "answer", "comment", "view", "like", "share", "bookmark", "follow",
           "mention", "kudos", "vote", "chat", "mail", "meet", "appeal")
COL = {a: i for i, a in enumerate(ACTIONS)}
"""Column of each action in the weight matrix. `appeal` is how much others react to,
follow and mention a person (their standing), not something they do."""

_PROFILE = {
    #              post question answer comment view like share bookmark follow mention kudos vote chat mail meet appeal
    OBSERVER:    (0.15, 0.5, 0.2, 0.3, 3.0, 0.5, 0.2, 1.5, 0.5, 0.2, 0.3, 0.5, 0.5, 0.7, 0.6, 0.6),
    ENGAGER:     (0.6, 1.0, 0.8, 2.5, 1.0, 3.0, 1.5, 1.0, 1.5, 1.0, 2.0, 1.5, 1.5, 1.0, 1.0, 0.9),
    RESPONDER:   (0.4, 0.6, 5.0, 1.2, 1.0, 1.0, 0.6, 0.8, 0.8, 0.6, 0.8, 1.5, 1.2, 1.0, 0.9, 1.2),
    BROADCASTER: (5.0, 0.6, 0.6, 0.6, 0.6, 0.3, 1.5, 0.4, 0.5, 1.0, 0.5, 0.3, 1.2, 1.5, 1.2, 1.3),
    CATALYST:    (1.5, 2.0, 1.0, 2.0, 0.8, 1.2, 3.0, 0.8, 1.5, 4.0, 2.5, 1.0, 1.5, 1.2, 1.5, 1.6),
}
PROFILE = np.array([_PROFILE[b] for b in range(5)])


def base_weights(company: Company) -> np.ndarray:
    """(people × actions) propensities ignoring start dates."""
    w = company.activity[:, None] * PROFILE[company.behaviour]
    # Managers run meetings and write e-mail more; leaders are followed more.
    managers = company.reports > 0
    w[managers, COL["meet"]] *= 3.0
    w[managers, COL["mail"]] *= 1.5
    w[:, COL["appeal"]] = np.sqrt(company.activity) * PROFILE[company.behaviour, COL["appeal"]] * (
        1.0 + 0.6 / (1.0 + company.depth)
    )
    return w


def active_on(company: Company, day: date) -> np.ndarray:
    """Who works here on `day` (joined on or before it)."""
    return company.start_date <= np.datetime64(day, "D")


def weights_on(base: np.ndarray, active: np.ndarray) -> np.ndarray:
    return base * active[:, None]


def work_times(company: Company, rng: np.random.Generator, people: np.ndarray, start: int,
               length: int = 86400) -> np.ndarray:
    """Epoch seconds inside [start, start + length) at plausible local working hours of each person
    (a morning and an afternoon peak); slices shorter than a day are drawn uniformly."""
    m = len(people)
    if length < 86400:
        return start + rng.integers(0, length, size=m)
    hour = np.where(rng.random(m) < 0.5, rng.normal(10.5, 1.6, m), rng.normal(15.0, 1.8, m))
    hour = np.clip(hour, 7.0, 21.5)
    offsets = np.array([loc[2] for loc in company.locations])[company.location[people]]
    secs = ((hour - offsets) * 3600).astype(np.int64) % 86400
    return start + secs
