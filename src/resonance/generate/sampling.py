"""Vectorised sampling of people: by propensity, and near someone (team, department, company).

Homophily is what gives the synthetic company a realistic network: most
reactions, mentions and meeting invitations stay inside the team or the
department, a minority cross boundaries. All draws are numpy operations on
whole arrays (cumulative sums + searchsorted), never a Python loop per event.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta

import numpy as np

from resonance.generate.company import Company


class PeopleSampler:
    """Draws people with per-column weights (one column per kind of action).

    `weights` is (people × columns); columns are independent propensities, e.g.
    how likely someone is to post, to like, to answer. Call `set_weights` when
    the weights change (people joining during the window).
    """

    def __init__(self, company: Company, weights: np.ndarray) -> None:
        self.company = company
        n = company.n
        self.n = n
        # Teams: a person's peers are the manager's direct reports plus the manager.
        group = np.where(company.manager >= 0, company.manager, 0).astype(np.int64)
        self.group = group
        members_by_group = np.argsort(company.manager.astype(np.int64), kind="stable")
        members_by_group = members_by_group[company.manager[members_by_group] >= 0]
        counts = np.bincount(company.manager[company.manager >= 0], minlength=n)
        starts = np.concatenate(([0], np.cumsum(counts)[:-1]))
        # Each group's slice: [manager, reports...]; flatten as manager followed by its reports.
        size = counts + 1
        flat_start = np.concatenate(([0], np.cumsum(size)[:-1]))
        flat = np.empty(int(size.sum()), dtype=np.int64)
        flat[flat_start] = np.arange(n)
        report_pos = np.repeat(flat_start + 1 - starts, counts) + np.arange(len(members_by_group))
        flat[report_pos] = members_by_group
        self.team_start, self.team_size, self.team_flat = flat_start, size, flat
        # Departments: people ordered by department, cumulative weights per column.
        self.order = np.argsort(company.dept, kind="stable")
        dept_sorted = company.dept[self.order]
        n_depts = int(company.dept.max()) + 1
        self.dept_first = np.searchsorted(dept_sorted, np.arange(n_depts), side="left")
        self.dept_last = np.searchsorted(dept_sorted, np.arange(n_depts), side="right")
        self.set_weights(weights)

    def set_weights(self, weights: np.ndarray) -> None:
        self.weights = weights
        self.cum = np.cumsum(weights[self.order], axis=0)
        zero = np.zeros((1, weights.shape[1]))
        padded = np.concatenate((zero, self.cum), axis=0)
        self.dept_lo = padded[self.dept_first]   # (depts × columns)
        self.dept_hi = padded[self.dept_last]
        self.total = padded[-1]

    def draw(self, rng: np.random.Generator, size: int, col: int) -> np.ndarray:
        """`size` people drawn in proportion to column `col` of the weights."""
        if size == 0 or self.total[col] <= 0:
            return np.zeros(0, dtype=np.int64)
        x = rng.random(size) * self.total[col]
        idx = np.minimum(np.searchsorted(self.cum[:, col], x, side="right"), self.n - 1)
        return self.order[idx]

    def near(
        self, rng: np.random.Generator, anchor: np.ndarray, col: int,
        p_team: float | np.ndarray = 0.2, p_dept: float | np.ndarray = 0.45,
    ) -> np.ndarray:
        """One person near each anchor: a teammate (uniform) with probability p_team,
        someone of the same department (by weight) with p_dept, else anyone (by weight)."""
        m = len(anchor)
        if m == 0:
            return np.zeros(0, dtype=np.int64)
        u = rng.random(m)
        pick = rng.random(m)
        dept = self.company.dept[anchor]
        lo = np.where(u < p_team + p_dept, self.dept_lo[dept, col], 0.0)
        hi = np.where(u < p_team + p_dept, self.dept_hi[dept, col], self.total[col])
        empty = hi <= lo
        lo = np.where(empty, 0.0, lo)
        hi = np.where(empty, self.total[col], hi)
        idx = np.minimum(np.searchsorted(self.cum[:, col], lo + pick * (hi - lo), side="right"), self.n - 1)
        out = self.order[idx]
        team = u < p_team
        if team.any():
            g = self.group[anchor[team]]
            slot = self.team_start[g] + (pick[team] * self.team_size[g]).astype(np.int64)
            mates = self.team_flat[slot]
            # A teammate who has not joined yet (weight 0) is replaced by the weighted draw.
            ok = self.weights[mates, col] > 0
            out[team] = np.where(ok, mates, out[team])
        return out

    def other_than(self, rng: np.random.Generator, people: np.ndarray, avoid: np.ndarray, col: int) -> np.ndarray:
        """Replace entries equal to `avoid` (self-reactions) by a fresh draw; a last clash
        is resolved by taking the next person, so the result never equals `avoid`."""
        clash = people == avoid
        if clash.any():
            people = people.copy()
            people[clash] = self.draw(rng, int(clash.sum()), col) if self.total[col] > 0 else people[clash]
            still = people == avoid
            people[still] = (people[still] + 1) % self.n
        return people


def daily_samplers(company: Company, base: np.ndarray) -> Iterator[tuple[int, date, PeopleSampler]]:
    """(day index, day, sampler) for every day of the window; weights follow who has joined."""
    from resonance.generate.propensity import active_on, weights_on

    sampler: PeopleSampler | None = None
    last: np.ndarray | None = None
    for i in range(company.days):
        day = company.start + timedelta(days=i)
        active = active_on(company, day)
        if sampler is None:
            sampler = PeopleSampler(company, weights_on(base, active))
        elif last is None or not np.array_equal(active, last):
            sampler.set_weights(weights_on(base, active))
        last = active
        yield i, day, sampler
