"""Social activity on the enterprise network, generated slice by slice in constant memory.

The window is cut into slices (a day, or part of a day when the volume is
large). Each slice gets an exact share of the event budget, weighted by
weekday, holidays and adoption growth, and produces columnar frames:
creates (posts, articles, documents, questions, answers, comments),
reactions on items (View, Like, Announce, Add, Vote, Accept), acts on people
(Follow, Mention, Kudos, Invite) and community joins. Only a bounded pool of
recent items (the ones people still react to) and a few dedup key sets
survive from one slice to the next.

Realism comes from: heavy-tailed activity levels and item appeal; behaviour
types; homophily (reactions mostly within team and department, catalysts'
audiences wider); expertise (answers come from people who know the
question's topic, often in another department: cross-department help);
recency (items get most reactions in their first days); local working hours.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np
import pyarrow as pa

from resonance.generate import vocab
from resonance.generate.company import CATALYST, Company
from resonance.generate.customers import Customers, account_item, day_epoch, meeting_item, opportunity_item
from resonance.generate.meetings import day_meetings
from resonance.generate.propensity import COL, active_on, base_weights, weights_on, work_times
from resonance.generate.sampling import PeopleSampler
from resonance.generate.seeds import stream
from resonance.generate.text import Text

# Item kinds, their AS2 types and IRI paths.
NOTE, ARTICLE, DOCUMENT, QUESTION, ANSWER, COMMENT = range(6)
AS2_TYPES = ("Note", "Article", "Document", "Question", "Answer", "Comment")
ITEM_PATHS = ("posts", "articles", "files", "questions", "answers", "comments")

DEFAULT_EVENTS_PER_PERSON_DAY = 0.3
SLICE_MAX_EVENTS = 200_000
POOL_DAYS = 45
POOL_MAX = 400_000
RING_LIKE_P = 0.85

# Share of the (dynamic) event budget per action.
MIX = {
    "post": 0.035, "question": 0.012, "answer": 0.02, "comment": 0.045, "view": 0.42, "like": 0.25,
    "share": 0.03, "bookmark": 0.04, "follow": 0.02, "mention": 0.04, "kudos": 0.02, "accept": 0.006,
    "vote": 0.012,
}
MIX_KEYS = tuple(MIX)
MIX_P = np.array([MIX[k] for k in MIX_KEYS]) / sum(MIX.values())

# How attractive each item kind is for each reaction, and how fast interest decays (days).
KIND_WEIGHT = {
    "view": ((1.0, 1.4, 1.2, 1.0, 0.5, 0.1), 3.0),
    "like": ((1.0, 1.3, 0.8, 0.6, 0.9, 0.3), 2.0),
    "share": ((1.0, 1.6, 1.5, 0.2, 0.3, 0.0), 3.0),
    "bookmark": ((0.4, 1.5, 1.8, 0.8, 1.0, 0.0), 4.0),
    "vote": ((0.0, 0.0, 0.0, 0.6, 1.0, 0.0), 3.0),
    "kudos": ((0.5, 1.0, 1.0, 0.0, 1.5, 0.2), 3.0),
    "comment": ((1.0, 1.3, 0.8, 0.9, 0.0, 0.0), 1.5),
}
REACTION_VERBS = {"view": "View", "like": "Like", "share": "Announce", "bookmark": "Add", "vote": "Vote"}
VERB_CODE = {"View": 0, "Like": 1, "Announce": 2, "Add": 3, "Vote": 4, "Follow": 5}


@dataclass(slots=True)
class Creates:
    """Items created in a slice."""

    no: np.ndarray
    kind: np.ndarray
    author: np.ndarray
    topic: np.ndarray
    time: np.ndarray
    container: np.ndarray
    parent_no: np.ndarray
    parent_kind: np.ndarray
    parent_author: np.ndarray
    quality: np.ndarray
    title: pa.Array | None = None   # for items without a parent
    text: pa.Array | None = None
    tags: pa.Array | None = None    # JSON arrays, for items without a parent


@dataclass(slots=True)
class Reactions:
    """Acts on items: View, Like, Announce, Add, Vote, Accept."""

    verb: str
    actor: np.ndarray
    item_no: np.ndarray
    item_kind: np.ndarray
    author: np.ndarray
    time: np.ndarray
    value: np.ndarray | None = None
    ctx_no: np.ndarray | None = None       # Accept: the question
    ctx_kind: np.ndarray | None = None


@dataclass(slots=True)
class PersonActs:
    """Acts on people: Follow, Mention, Kudos."""

    verb: str
    actor: np.ndarray
    person: np.ndarray
    time: np.ndarray
    ctx_no: np.ndarray | None = None       # the item (Mention, Kudos for an item)
    ctx_kind: np.ndarray | None = None
    ctx_meeting: list[str | None] | None = None
    ctx_opportunity: list[str | None] | None = None
    ctx_account: list[str | None] | None = None
    text: pa.Array | None = None


@dataclass(slots=True)
class Joins:
    actor: np.ndarray
    community: np.ndarray
    time: np.ndarray


@dataclass(slots=True)
class Slice:
    """Everything one slice produced; `planned` are hand-built activities (deal help)."""

    index: int
    creates: list[Creates]
    reactions: list[Reactions]
    people: list[PersonActs]
    joins: Joins | None
    planned: list[tuple[int, dict]]

    def count(self) -> int:
        return (sum(len(c.no) for c in self.creates) + sum(len(r.actor) for r in self.reactions)
                + sum(len(p.actor) for p in self.people) + (len(self.joins.actor) if self.joins else 0)
                + len(self.planned))


class _KeySet:
    """A sorted set of int64 keys: membership by binary search, union by merging sorted runs."""

    def __init__(self) -> None:
        self.keys = np.zeros(0, np.int64)

    def contains(self, keys: np.ndarray) -> np.ndarray:
        if not len(self.keys):
            return np.zeros(len(keys), bool)
        pos = np.minimum(np.searchsorted(self.keys, keys), len(self.keys) - 1)
        return self.keys[pos] == keys

    def add(self, keys: np.ndarray) -> None:
        # Two sorted runs: the stable (tim)sort merges them in linear time.
        self.keys = np.sort(np.concatenate((self.keys, np.sort(keys))), kind="stable")

    def drop_below(self, minimum: int) -> None:
        cut = int(np.searchsorted(self.keys, minimum))
        if cut:
            self.keys = self.keys[cut:]


def first_occurrences(keys: np.ndarray) -> np.ndarray:
    """Mask of the first occurrence of each key (sort-based; faster than np.unique on small arrays)."""
    order = np.argsort(keys, kind="stable")
    ordered = keys[order]
    first = np.ones(len(keys), bool)
    first[1:] = ordered[1:] != ordered[:-1]
    mask = np.zeros(len(keys), bool)
    mask[order[first]] = True
    return mask


class _Pool:
    """Recent items people still react to (bounded)."""

    FIELDS = ("no", "kind", "author", "topic", "time", "quality", "parent_author")

    def __init__(self) -> None:
        self.no = np.zeros(0, np.int64)
        self.kind = np.zeros(0, np.int8)
        self.author = np.zeros(0, np.int64)
        self.topic = np.zeros(0, np.int64)
        self.time = np.zeros(0, np.int64)
        self.quality = np.zeros(0, np.float64)
        self.parent_author = np.zeros(0, np.int64)

    def add(self, c: Creates) -> None:
        for f in self.FIELDS:
            setattr(self, f, np.concatenate((getattr(self, f), getattr(c, f))))

    def prune(self, now: int) -> None:
        keep = self.time >= now - POOL_DAYS * 86400
        if keep.sum() > POOL_MAX:
            keep &= np.arange(len(keep)) >= len(keep) - POOL_MAX
        if not keep.all():
            for f in self.FIELDS:
                setattr(self, f, getattr(self, f)[keep])

    def __len__(self) -> int:
        return len(self.no)


def default_events(people: int, days: int) -> int:
    return int(people * days * DEFAULT_EVENTS_PER_PERSON_DAY)


def pick_ring(company: Company) -> np.ndarray:
    """A small mutual-admiration ring: 5-8 people across departments (the truth for anti-gaming)."""
    rng = stream(company.seed, "ring")
    size = int(np.clip(company.n // 300, 5, 8))
    candidates = np.flatnonzero((company.depth >= 2) & (company.start_date <= np.datetime64(company.start, "D")))
    return np.sort(rng.choice(candidates, size=size, replace=False))


def day_weights(company: Company) -> np.ndarray:
    """Relative activity per day: weekends quiet, year-end holidays slower, adoption growing."""
    days = company.days
    w = np.empty(days)
    for i in range(days):
        d = company.start + timedelta(days=i)
        base = 1.0 if d.weekday() < 5 else 0.12
        if (d.month == 12 and d.day >= 23) or (d.month == 1 and d.day <= 2):
            base *= 0.35
        w[i] = base * (0.85 + 0.3 * i / max(1, days - 1))
    return w


class ActivityGenerator:
    """Iterates the slices of the AS2 activity stream for a company."""

    def __init__(self, company: Company, customers: Customers, events: int) -> None:
        self.c = company
        self.customers = customers
        self.text = Text(company)
        self.rng = stream(company.seed, "activity")
        self.base = base_weights(company)
        self.ring = pick_ring(company)
        self.ring_base = self.base.copy()
        self.ring_base[self.ring, COL["post"]] = np.maximum(self.ring_base[self.ring, COL["post"]], 1.0) * 3
        self.day_w = day_weights(company)
        self.start_epoch = day_epoch(company.start)
        self.n_topics = len(company.topics)
        self.n_depts = len(company.departments) - 1
        self.n_interest = len(company.communities) - self.n_topics - self.n_depts
        self._help_topics()

        self.joins = self._plan_joins(events)
        window_end = self.start_epoch + company.days * 86400
        planned = [(t, e) for t, e in customers.as2_events if self.start_epoch <= t < window_end]
        self.planned = planned
        self.dynamic = events - len(self.joins.actor) - len(planned)
        if self.dynamic < 0:
            raise ValueError(
                f"--events {events} is too small for this company: at least {events - self.dynamic} "
                "planted events (community joins, deal evidence) are needed"
            )
        self.total = events
        # Slices: split days when one day would exceed SLICE_MAX_EVENTS.
        per_day = self.dynamic * self.day_w / self.day_w.sum()
        self.split = int(max(1, np.ceil(per_day.max() / SLICE_MAX_EVENTS)))
        self.opp_arrays()

    # -- planning helpers -----------------------------------------------------------------
    def _help_topics(self) -> None:
        names = self.c.departments
        self.help_topics: list[np.ndarray] = []
        for d in range(len(names)):
            helpers = [i for i, dep in enumerate(vocab.DEPARTMENTS) if names[d] in dep.helps]
            topics = np.flatnonzero(np.isin(self.c.topic_dept, helpers)) if helpers else np.arange(self.n_topics)
            self.help_topics.append(topics)

    def _plan_joins(self, events: int) -> Joins:
        """Each person joins their topic's and department's communities, some an interest one."""
        c = self.c
        rng = stream(c.seed, "joins")
        budget = int(min(1.5 * c.n, 0.03 * events))
        actors = rng.choice(c.n, size=budget, replace=True)
        kind = rng.random(budget)
        dept = c.dept[actors].astype(np.int64)
        community = np.where(
            kind < 0.45, c.primary_topic[actors],
            np.where((kind < 0.75) & (dept < self.n_depts), self.n_topics + dept,
                     self.n_topics + self.n_depts + rng.integers(self.n_interest, size=budget)),
        ).astype(np.int64)
        # Join once per (person, community).
        key = actors.astype(np.int64) * len(c.communities) + community
        _, first = np.unique(key, return_index=True)
        first.sort()
        actors, community = actors[first], community[first]
        start = np.maximum(
            (c.start_date[actors] - np.datetime64(c.start, "D")).astype(np.int64), 0
        )
        day = np.minimum(start + rng.integers(0, max(1, min(60, c.days)), size=len(actors)), c.days - 1)
        t = self.start_epoch + day * 86400 + rng.integers(8 * 3600, 18 * 3600, size=len(actors))
        order = np.argsort(t, kind="stable")
        return Joins(actor=actors[order], community=community[order], time=t[order])

    def opp_arrays(self) -> None:
        opps = self.customers.opportunities
        self.opp_created = np.array([day_epoch(o.created) for o in opps], dtype=np.int64)
        self.opp_close = np.array([day_epoch(o.close) for o in opps], dtype=np.int64)

    # -- time ------------------------------------------------------------------------------
    def worktime(self, rng: np.random.Generator, people: np.ndarray, start: int, length: int) -> np.ndarray:
        """Times inside the slice at plausible local working hours of each person."""
        return work_times(self.c, rng, people, start, length)

    @staticmethod
    def after(rng: np.random.Generator, created: np.ndarray, mean_hours: float, end: int) -> np.ndarray:
        delay = (rng.exponential(mean_hours * 3600, size=len(created))).astype(np.int64) + 60
        return np.minimum(created + delay, np.maximum(created + 1, end - 1))

    # -- the stream -----------------------------------------------------------------------------
    def slices(self) -> Iterator[Slice]:
        c = self.c
        sampler = PeopleSampler(c, weights_on(self.ring_base, active_on(c, c.start)))
        meet_sampler = PeopleSampler(c, weights_on(self.base, active_on(c, c.start)))
        pool = _Pool()
        self.seen = _KeySet()       # (item, verb, actor) keys of reactions on pool items
        self.follows = _KeySet()    # (actor, person) keys
        self.accepted: set[int] = set()
        self.next_item = 0
        remaining = self.dynamic
        weights = np.repeat(self.day_w / self.split, self.split)
        remaining_w = weights.sum()
        planned_i = joins_i = 0
        last_active = None
        n_slices = c.days * self.split
        for s in range(n_slices):
            day_index = s // self.split
            day = c.start + timedelta(days=day_index)
            length = 86400 // self.split
            start = self.start_epoch + day_index * 86400 + (s % self.split) * length
            end = start + length if s % self.split < self.split - 1 else self.start_epoch + (day_index + 1) * 86400
            length = end - start
            active = active_on(c, day)
            if last_active is None or not np.array_equal(active, last_active):
                sampler.set_weights(weights_on(self.ring_base, active))
                meet_sampler.set_weights(weights_on(self.base, active))
                self.experts = self._experts(weights_on(self.base, active))
                last_active = active
            quota = int(round(remaining * weights[s] / remaining_w)) if remaining_w > 0 else remaining
            if s == n_slices - 1:
                quota = remaining
            remaining_w -= weights[s]
            rng = stream(c.seed, "activity", s)
            out = self._slice(rng, s, day, start, end, quota, pool, sampler, meet_sampler, last=s == n_slices - 1)
            remaining -= out.count()
            # Planted events and joins of this slice.
            j0 = joins_i
            while joins_i < len(self.joins.time) and self.joins.time[joins_i] < end:
                joins_i += 1
            if joins_i > j0:
                out.joins = Joins(self.joins.actor[j0:joins_i], self.joins.community[j0:joins_i],
                                  self.joins.time[j0:joins_i])
            p0 = planned_i
            while planned_i < len(self.planned) and self.planned[planned_i][0] < end:
                planned_i += 1
            out.planned = self.planned[p0:planned_i]
            yield out

    def _experts(self, w: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Per topic: the people who know it, weighted by answering propensity (primary topic counts
        double a second topic)."""
        c = self.c
        people = np.concatenate((np.arange(c.n), np.flatnonzero(c.second_topic >= 0)))
        topics = np.concatenate((c.primary_topic, c.second_topic[c.second_topic >= 0])).astype(np.int64)
        strength = np.concatenate((np.ones(c.n), np.full(len(people) - c.n, 0.5)))
        order = np.lexsort((people, topics))
        people, topics, strength = people[order], topics[order], strength[order]
        cum = np.cumsum(w[people, COL["answer"]] * strength)
        first = np.searchsorted(topics, np.arange(self.n_topics), side="left")
        last = np.searchsorted(topics, np.arange(self.n_topics), side="right")
        padded = np.concatenate(([0.0], cum))
        return people, cum, padded[first], padded[last]

    def _expert_for(self, rng: np.random.Generator, topic: np.ndarray) -> np.ndarray:
        people, cum, lo, hi = self.experts
        lo_t, hi_t = lo[topic], hi[topic]
        x = lo_t + rng.random(len(topic)) * (hi_t - lo_t)
        idx = np.minimum(np.searchsorted(cum, x, side="right"), len(people) - 1)
        return people[idx]

    # -- one slice -------------------------------------------------------------------------------
    def _slice(self, rng: np.random.Generator, s: int, day: date, start: int, end: int, quota: int,
               pool: _Pool, sampler: PeopleSampler, meet_sampler: PeopleSampler, last: bool) -> Slice:
        c = self.c
        counts = dict(zip(MIX_KEYS, rng.multinomial(max(quota, 0), MIX_P).tolist(), strict=True))
        out = Slice(s, [], [], [], None, [])
        length = end - start

        # Items with no parent: posts and questions.
        posts = self._posts(rng, counts["post"], start, length, sampler)
        questions = self._questions(rng, counts["question"], start, length, sampler)
        fresh = [x for x in (posts, questions) if x is not None]
        candidates = _concat_items([_pool_items(pool)] + fresh)
        answers = self._answers(rng, counts["answer"], candidates, start, end, sampler)
        comments = self._comments(rng, counts["comment"], candidates, start, end, sampler)
        new = [x for x in (posts, questions, answers, comments) if x is not None and len(x.no)]
        out.creates = new
        everything = _concat_items([_pool_items(pool)] + new)
        recent = start

        # Reactions on items.
        ring_likes = self._ring_likes(rng, new, end)
        if ring_likes is not None:
            counts["like"] = max(0, counts["like"] - len(ring_likes.actor))
            out.reactions.append(ring_likes)
        for key, verb in REACTION_VERBS.items():
            r = self._react(rng, key, verb, counts[key], everything, recent, start, end, sampler)
            if r is not None:
                out.reactions.append(r)
        accepts = self._accepts(rng, counts["accept"], answers, end)
        if accepts is not None:
            out.reactions.append(accepts)

        # Acts on people.
        for acts in (
            self._follows(rng, counts["follow"], start, length, sampler),
            self._mentions(rng, counts["mention"], new, sampler),
            self._kudos(rng, counts["kudos"], everything, day, start, end, sampler, meet_sampler),
        ):
            if acts is not None and len(acts.actor):
                out.people.append(acts)

        # Fill what could not be drawn (no question to answer yet, duplicates) on the last slice.
        if last:
            missing = quota - out.count()
            extra_items = everything if len(everything.no) else None
            if missing > 0 and extra_items is not None:
                out.reactions.append(self._react(rng, "view", "View", missing, extra_items, recent, start, end,
                                                 sampler, dedupe=False, strict=True))
            elif missing > 0:
                out.creates.append(self._posts(rng, missing, start, length, sampler, strict=True))

        for x in new:
            pool.add(x)
        pool.prune(end)
        if len(pool):
            oldest = int(pool.no.min())
            self.seen.drop_below(oldest * 8 * c.n)
            # Questions that left the pool are never answered again: forget whether they were accepted.
            if len(self.accepted) > 4 * len(pool):
                self.accepted = {q for q in self.accepted if q >= oldest}
        return out

    # -- creates -----------------------------------------------------------------------------------
    def _new_numbers(self, m: int) -> np.ndarray:
        no = np.arange(self.next_item, self.next_item + m, dtype=np.int64)
        self.next_item += m
        return no

    def _quality(self, rng: np.random.Generator, author: np.ndarray, kind: np.ndarray) -> np.ndarray:
        appeal = self.base[author, COL["appeal"]]
        boost = np.where(self.c.behaviour[author] == CATALYST, 1.3, 1.0)
        return appeal * boost * rng.lognormal(0.0, 0.8, size=len(author)) * np.where(kind == ARTICLE, 1.3, 1.0)

    def _container(self, rng: np.random.Generator, author: np.ndarray, topic: np.ndarray) -> np.ndarray:
        u = rng.random(len(author))
        dept = self.c.dept[author].astype(np.int64)
        return np.where(
            (u < 0.15) & (dept < self.n_depts), self.n_topics + dept,
            np.where(u > 0.9, self.n_topics + self.n_depts + rng.integers(self.n_interest, size=len(author)), topic),
        ).astype(np.int64)

    def _posts(self, rng: np.random.Generator, m: int, start: int, length: int, sampler: PeopleSampler,
               strict: bool = False) -> Creates | None:
        author = sampler.draw(rng, m, COL["post"])
        if strict and len(author) < m:
            author = rng.integers(self.c.n, size=m)
        m = len(author)
        if m == 0:
            return None
        c = self.c
        kind = rng.choice(np.array([NOTE, ARTICLE, DOCUMENT], dtype=np.int8), size=m, p=(0.6, 0.25, 0.15))
        u = rng.random(m)
        second = c.second_topic[author].astype(np.int64)
        own = self._random_dept_topic(rng, author)
        topic = np.where(u < 0.7, c.primary_topic[author], np.where((u < 0.9) & (second >= 0), second, own))
        topic = topic.astype(np.int64)
        time = self.worktime(rng, author, start, length)
        item = Creates(
            no=self._new_numbers(m), kind=kind, author=author, topic=topic, time=time,
            container=self._container(rng, author, topic), parent_no=np.full(m, -1, np.int64),
            parent_kind=np.full(m, -1, np.int8), parent_author=np.full(m, -1, np.int64),
            quality=self._quality(rng, author, kind),
        )
        item.title = self.text.title(rng, topic, vocab.POST_OPENERS)
        item.tags = self.text.tag_json(rng, topic)
        mean_words = np.where(kind == ARTICLE, 90, np.where(kind == DOCUMENT, 30, 22))
        item.text = self.text.body(rng, topic, mean_words, ("We", "Our team", "This week we", "I"))
        return item

    def _random_dept_topic(self, rng: np.random.Generator, people: np.ndarray) -> np.ndarray:
        dept = self.c.dept[people].astype(np.int64)
        # Topics are stored department by department; pick uniformly inside the department.
        first = np.searchsorted(self.c.topic_dept, np.minimum(dept, self.n_depts - 1), side="left")
        last = np.searchsorted(self.c.topic_dept, np.minimum(dept, self.n_depts - 1), side="right")
        return first + (rng.random(len(people)) * (last - first)).astype(np.int64)

    def _questions(self, rng: np.random.Generator, m: int, start: int, length: int,
                   sampler: PeopleSampler) -> Creates | None:
        asker = sampler.draw(rng, m, COL["question"])
        m = len(asker)
        if m == 0:
            return None
        c = self.c
        u = rng.random(m)
        help_topic = np.array([
            self.help_topics[d][int(x * len(self.help_topics[d]))]
            for d, x in zip(c.dept[asker].tolist(), rng.random(m).tolist(), strict=True)
        ], dtype=np.int64)
        topic = np.where(u < 0.5, c.primary_topic[asker],
                         np.where(u < 0.65, self._random_dept_topic(rng, asker), help_topic)).astype(np.int64)
        kind = np.full(m, QUESTION, np.int8)
        item = Creates(
            no=self._new_numbers(m), kind=kind, author=asker, topic=topic,
            time=self.worktime(rng, asker, start, length), container=topic.copy(),
            parent_no=np.full(m, -1, np.int64), parent_kind=np.full(m, -1, np.int8),
            parent_author=np.full(m, -1, np.int64), quality=self._quality(rng, asker, kind),
        )
        item.title = self.text.title(rng, topic, vocab.QUESTION_OPENERS, "?")
        item.tags = self.text.tag_json(rng, topic)
        item.text = self.text.body(rng, topic, 25, ("We are trying to", "I need to", "Our customer wants to",
                                                    "Does anyone know how to"))
        return item

    def _pick_items(self, rng: np.random.Generator, items: Creates, key: str, m: int, now: int) -> np.ndarray:
        kinds, tau = KIND_WEIGHT[key]
        age = np.maximum(now - items.time, 0) / 86400.0
        w = items.quality * np.array(kinds)[items.kind] * np.exp(-age / tau)
        total = w.sum()
        if m == 0 or total <= 0:
            return np.zeros(0, np.int64)
        cum = np.cumsum(w)
        return np.minimum(np.searchsorted(cum, rng.random(m) * total, side="right"), len(w) - 1)

    def _answers(self, rng: np.random.Generator, m: int, items: Creates, start: int, end: int,
                 sampler: PeopleSampler) -> Creates | None:
        questions = items.kind == QUESTION
        if m == 0 or not questions.any():
            return None
        idx = np.flatnonzero(questions)
        age = np.maximum(start - items.time[idx], 0) / 86400.0
        w = np.exp(-age / 2.0) * (0.5 + items.quality[idx])
        pick = idx[np.minimum(np.searchsorted(np.cumsum(w), rng.random(m) * w.sum(), side="right"), len(idx) - 1)]
        asker = items.author[pick]
        topic = items.topic[pick]
        answerer = np.where(rng.random(m) < 0.75, self._expert_for(rng, topic),
                            sampler.near(rng, asker, COL["answer"], 0.2, 0.4))
        answerer = sampler.other_than(rng, answerer, asker, COL["answer"])
        fresh = items.time[pick] >= start
        time = np.where(fresh, self.after(rng, items.time[pick], 3.0, end),
                        self.worktime(rng, answerer, start, end - start))
        kind = np.full(m, ANSWER, np.int8)
        out = Creates(
            no=self._new_numbers(m), kind=kind, author=answerer, topic=topic, time=time,
            container=topic.copy(),
            parent_no=items.no[pick], parent_kind=items.kind[pick], parent_author=asker,
            quality=self._quality(rng, answerer, kind),
        )
        out.text = self.text.body(rng, topic, 35, vocab.ANSWER_OPENERS)
        return out

    def _comments(self, rng: np.random.Generator, m: int, items: Creates, start: int, end: int,
                  sampler: PeopleSampler) -> Creates | None:
        pick = self._pick_items(rng, items, "comment", m, start)
        if len(pick) == 0:
            return None
        author = items.author[pick]
        catalyst = self.c.behaviour[author] == CATALYST
        commenter = sampler.near(rng, author, COL["comment"], np.where(catalyst, 0.1, 0.25),
                                 np.where(catalyst, 0.3, 0.4))
        commenter = sampler.other_than(rng, commenter, author, COL["comment"])
        fresh = items.time[pick] >= start
        time = np.where(fresh, self.after(rng, items.time[pick], 2.0, end),
                        self.worktime(rng, commenter, start, end - start))
        kind = np.full(len(pick), COMMENT, np.int8)
        out = Creates(
            no=self._new_numbers(len(pick)), kind=kind, author=commenter, topic=items.topic[pick], time=time,
            container=items.topic[pick].copy(), parent_no=items.no[pick], parent_kind=items.kind[pick],
            parent_author=author, quality=self._quality(rng, commenter, kind),
        )
        out.text = self.text.body(rng, items.topic[pick], 14, vocab.COMMENT_OPENERS)
        return out

    # -- reactions -----------------------------------------------------------------------------
    def _react(self, rng: np.random.Generator, key: str, verb: str, m: int, items: Creates, now: int,
               start: int, end: int, sampler: PeopleSampler, dedupe: bool = True,
               strict: bool = False) -> Reactions | None:
        pick = self._pick_items(rng, items, key, m, now)
        if strict and len(pick) < m:
            pick = rng.integers(len(items.no), size=m)
        if len(pick) == 0:
            return None
        author = items.author[pick]
        catalyst = self.c.behaviour[author] == CATALYST
        col = COL[key]
        actor = sampler.near(rng, author, col, np.where(catalyst, 0.1, 0.2), np.where(catalyst, 0.25, 0.45))
        actor = sampler.other_than(rng, actor, author, col)
        item_no = items.no[pick]
        if dedupe and verb != "View":
            keep = self._first_time(VERB_CODE[verb], item_no, actor)
            pick, actor, author, item_no = pick[keep], actor[keep], author[keep], item_no[keep]
        fresh = items.time[pick] >= start
        time = np.where(fresh, self.after(rng, items.time[pick], 2.0, end),
                        self.worktime(rng, actor, start, end - start))
        value = None
        if verb == "Vote":
            value = np.where(rng.random(len(pick)) < 0.9, 1.0, -1.0)
        return Reactions(verb, actor, item_no, items.kind[pick], author, time, value)

    def _first_time(self, code: int, item_no: np.ndarray, actor: np.ndarray) -> np.ndarray:
        """Mask of reactions never seen before (a person likes an item once)."""
        keys = item_no * (8 * self.c.n) + code * self.c.n + actor
        mask = first_occurrences(keys) & ~self.seen.contains(keys)
        self.seen.add(keys[mask])
        return mask

    def _ring_likes(self, rng: np.random.Generator, new: list[Creates], end: int) -> Reactions | None:
        """Ring members like each other's new items far above the base rate."""
        if not new:
            return None
        items = _concat_items(new)
        in_ring = np.isin(items.author, self.ring)
        if not in_ring.any():
            return None
        idx = np.flatnonzero(in_ring)
        r = len(self.ring)
        item_rep = np.repeat(idx, r)
        liker = np.tile(self.ring, len(idx))
        keep = (liker != items.author[item_rep]) & (rng.random(len(liker)) < RING_LIKE_P)
        item_rep, liker = item_rep[keep], liker[keep]
        ok = self._first_time(VERB_CODE["Like"], items.no[item_rep], liker)
        item_rep, liker = item_rep[ok], liker[ok]
        time = self.after(rng, items.time[item_rep], 1.0, end)
        return Reactions("Like", liker, items.no[item_rep], items.kind[item_rep], items.author[item_rep], time)

    def _accepts(self, rng: np.random.Generator, m: int, answers: Creates | None, end: int) -> Reactions | None:
        if m == 0 or answers is None or not len(answers.no):
            return None
        order = rng.permutation(len(answers.no))
        chosen: list[int] = []
        for i in order.tolist():
            q = int(answers.parent_no[i])
            if q in self.accepted:
                continue
            self.accepted.add(q)
            chosen.append(i)
            if len(chosen) == m:
                break
        if not chosen:
            return None
        idx = np.array(chosen, dtype=np.int64)
        time = self.after(rng, answers.time[idx], 4.0, end)
        return Reactions("Accept", answers.parent_author[idx], answers.no[idx], answers.kind[idx],
                         answers.author[idx], time, ctx_no=answers.parent_no[idx],
                         ctx_kind=answers.parent_kind[idx])

    # -- acts on people -------------------------------------------------------------------------
    def _follows(self, rng: np.random.Generator, m: int, start: int, length: int,
                 sampler: PeopleSampler) -> PersonActs | None:
        actor = sampler.draw(rng, m, COL["follow"])
        if len(actor) == 0:
            return None
        person = sampler.near(rng, actor, COL["appeal"], 0.15, 0.45)
        person = sampler.other_than(rng, person, actor, COL["appeal"])
        keys = actor.astype(np.int64) * self.c.n + person
        mask = first_occurrences(keys) & ~self.follows.contains(keys)
        self.follows.add(keys[mask])
        actor, person = actor[mask], person[mask]
        return PersonActs("Follow", actor, person, self.worktime(rng, actor, start, length))

    def _mentions(self, rng: np.random.Generator, m: int, new: list[Creates],
                  sampler: PeopleSampler) -> PersonActs | None:
        if m == 0 or not new:
            return None
        items = _concat_items(new)
        w = self.base[items.author, COL["mention"]] + 1e-9
        pick = np.minimum(np.searchsorted(np.cumsum(w), rng.random(m) * w.sum(), side="right"), len(w) - 1)
        author = items.author[pick]
        person = sampler.near(rng, author, COL["appeal"], 0.35, 0.35)
        person = sampler.other_than(rng, person, author, COL["appeal"])
        keep = first_occurrences(items.no[pick] * self.c.n + person)
        pick, author, person = pick[keep], author[keep], person[keep]
        return PersonActs("Mention", author, person, items.time[pick] + 1, ctx_no=items.no[pick],
                          ctx_kind=items.kind[pick])

    def _kudos(self, rng: np.random.Generator, m: int, items: Creates, day: date, start: int, end: int,
               sampler: PeopleSampler, meet_sampler: PeopleSampler) -> PersonActs | None:
        if m == 0:
            return None
        u = rng.random(m)
        n_meeting = int((u < 0.25).sum())
        n_opp = int(((u >= 0.25) & (u < 0.4)).sum())
        actors: list[np.ndarray] = []
        people: list[np.ndarray] = []
        times: list[np.ndarray] = []
        ctx_no: list[np.ndarray] = []
        ctx_kind: list[np.ndarray] = []
        meetings_ctx: list[str | None] = []
        opp_ctx: list[str | None] = []
        account_ctx: list[str | None] = []
        texts: list[str] = []
        phrases = vocab.KUDOS_PHRASES

        meetings = day_meetings(self.c, meet_sampler, day, COL["meet"]) if n_meeting else []
        meetings = [mt for mt in meetings if start <= mt.start < end] or meetings
        if meetings:
            for k in rng.integers(len(meetings), size=n_meeting).tolist():
                mt = meetings[k]
                everyone = [mt.organizer, *mt.attendees]
                a = everyone[1 + int(rng.integers(len(everyone) - 1))]
                b = mt.organizer if rng.random() < 0.7 else everyone[int(rng.integers(len(everyone)))]
                if a == b:
                    continue
                actors.append(np.array([a]))
                people.append(np.array([b]))
                times.append(np.array([min(max(mt.start + mt.minutes * 60 + int(rng.integers(60, 7200)), start),
                                           end - 1)]))
                ctx_no.append(np.array([-1]))
                ctx_kind.append(np.array([-1]))
                meetings_ctx.append(meeting_item(mt.uid))
                opp_ctx.append(None)
                account_ctx.append(None)
                texts.append(f"{phrases[int(rng.integers(len(phrases)))]} the {mt.summary.lower()}")
        live = np.flatnonzero((self.opp_created <= start) & (self.opp_close >= start))
        opps = self.customers.opportunities
        for k in (rng.choice(live, size=n_opp) if len(live) else []):
            opp = opps[int(k)]
            if not opp.team:
                continue
            mate = opp.team[int(rng.integers(len(opp.team)))][0]
            actors.append(np.array([opp.owner]))
            people.append(np.array([mate]))
            times.append(self.worktime(rng, np.array([opp.owner]), start, end - start))
            ctx_no.append(np.array([-1]))
            ctx_kind.append(np.array([-1]))
            meetings_ctx.append(None)
            opp_ctx.append(opportunity_item(opp.id))
            account_ctx.append(account_item(self.customers.accounts[opp.account].id))
            texts.append(f"{phrases[int(rng.integers(len(phrases)))]} {opp.name}")
        rest = m - len(actors)
        pick = self._pick_items(rng, items, "kudos", rest, start)
        if len(pick):
            author = items.author[pick]
            giver = sampler.other_than(rng, sampler.near(rng, author, COL["kudos"], 0.3, 0.4), author, COL["kudos"])
            fresh = items.time[pick] >= start
            actors.append(giver)
            people.append(author)
            times.append(np.where(fresh, self.after(rng, items.time[pick], 4.0, end),
                                  self.worktime(rng, giver, start, end - start)))
            ctx_no.append(items.no[pick])
            ctx_kind.append(items.kind[pick].astype(np.int64))
            meetings_ctx.extend([None] * len(pick))
            opp_ctx.extend([None] * len(pick))
            account_ctx.extend([None] * len(pick))
            topics = self.c.topics
            texts.extend(
                f"{phrases[p]} {topics[int(t)].name.lower()}"
                for p, t in zip(rng.integers(len(phrases), size=len(pick)).tolist(), items.topic[pick].tolist(),
                                strict=True)
            )
        if not actors:
            return None
        return PersonActs(
            "Kudos", np.concatenate(actors), np.concatenate(people), np.concatenate(times),
            ctx_no=np.concatenate(ctx_no).astype(np.int64), ctx_kind=np.concatenate(ctx_kind).astype(np.int64),
            ctx_meeting=meetings_ctx, ctx_opportunity=opp_ctx, ctx_account=account_ctx, text=pa.array(texts),
        )


def _pool_items(pool: _Pool) -> Creates:
    m = len(pool)
    return Creates(
        no=pool.no, kind=pool.kind, author=pool.author, topic=pool.topic, time=pool.time,
        container=np.zeros(m, np.int64), parent_no=np.full(m, -1, np.int64), parent_kind=np.full(m, -1, np.int8),
        parent_author=pool.parent_author, quality=pool.quality,
    )


def _concat_items(parts: list[Creates]) -> Creates:
    parts = [p for p in parts if p is not None]
    fields = ("no", "kind", "author", "topic", "time", "container", "parent_no", "parent_kind", "parent_author",
              "quality")
    return Creates(**{f: np.concatenate([getattr(p, f) for p in parts]) for f in fields})
