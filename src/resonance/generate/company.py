"""The synthetic company: org chart, people, departments, locations, topics, behaviours.

`build_company(options)` returns a `Company`: per-person attributes held in
numpy arrays (index 0 is the CEO) plus the few Python lists the writers need
(names, e-mails). Memory is a few hundred bytes per person, so 100k people is
well under 100 MB; the activity streams are never held here.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field
from datetime import date, timedelta

import numpy as np

from resonance.generate import vocab
from resonance.generate.seeds import BASE62, stream, unique_codes

BEHAVIOURS = ("observer", "engager", "responder", "broadcaster", "catalyst")
"""Behaviour types, as in the personas of DESIGN.md (lurker = observer)."""
OBSERVER, ENGAGER, RESPONDER, BROADCASTER, CATALYST = range(5)

_BEHAVIOUR_MIX_IC = (0.42, 0.20, 0.15, 0.11, 0.12)
_BEHAVIOUR_MIX_MANAGER = (0.25, 0.17, 0.13, 0.25, 0.20)

EXECUTIVE = "Executive"
MIN_PEOPLE = 20


@dataclass(frozen=True, slots=True)
class Community:
    slug: str
    name: str
    kind: str          # topic | department | interest
    topic: int = -1    # index in Company.topics for topic communities
    dept: int = -1


@dataclass(slots=True)
class Company:
    """Everyone in the company and the static facts about them."""

    seed: int
    name: str
    domain: str                 # primary e-mail domain
    alias_domain: str           # a legacy domain that still delivers (an e-mail alias)
    start: date                 # first day of the activity window
    end: date                   # last day of the activity window (inclusive)
    departments: list[str]
    topics: list[vocab.Topic]
    topic_dept: np.ndarray      # topic -> department index
    locations: list[tuple[str, str, float, float]]
    communities: list[Community]
    # --- per person ---
    ids: list[str]              # directory id, E00001...
    first: list[str]
    last: list[str]
    names: list[str]
    emails: list[str]           # canonical, lower case
    manager: np.ndarray         # index of the manager, -1 for the CEO
    depth: np.ndarray
    reports: np.ndarray         # number of direct reports
    subtree: np.ndarray         # number of people below
    dept: np.ndarray            # department index (len(departments)-1 = Executive)
    location: np.ndarray
    titles: list[str]
    roles: list[str]
    start_date: np.ndarray      # datetime64[D]
    behaviour: np.ndarray
    activity: np.ndarray        # heavy-tailed activity level (lognormal, median 1)
    primary_topic: np.ndarray
    second_topic: np.ndarray
    slack_ids: list[str]
    crm_ids: list[str]
    scim_ids: list[str]
    lookalikes: list[tuple[int, int, str]] = field(default_factory=list)  # (a, b, kind)

    @property
    def n(self) -> int:
        return len(self.ids)

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    @property
    def social(self) -> str:
        """Base IRI of the enterprise social network."""
        return f"https://social.{self.domain}"

    def community_iri(self, slug: str) -> str:
        return f"{self.social}/communities/{slug}"

    def dept_members(self, d: int) -> np.ndarray:
        return np.flatnonzero(self.dept == d)


def _ascii(text: str) -> str:
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    folded = folded.replace("Ł", "L").replace("ł", "l")
    return "".join(c for c in folded.lower() if c.isalnum() or c == "-")


def _shares(total: int, weights: np.ndarray) -> np.ndarray:
    """Split `total` by `weights` exactly (largest remainder), at least 1 each when possible."""
    weights = weights / weights.sum()
    raw = weights * total
    counts = np.floor(raw).astype(int)
    for i in np.argsort(-(raw - counts), kind="stable")[: total - counts.sum()]:
        counts[i] += 1
    if total >= len(weights):
        while (counts == 0).any():
            counts[np.argmax(counts)] -= 1
            counts[np.argmax(counts == 0)] += 1
    return counts


def _org_chart(rng: np.random.Generator, dept_sizes: np.ndarray) -> tuple[list[int], list[int]]:
    """Managers and departments, in depth-first order: CEO, then each department's VP and tree.

    Inside a department a leader with more than 10 people below gets 4-10 direct
    reports, some of them managers with at least 4 people each, so every span of
    control is 4-10 except the heads of departments smaller than five.
    """
    managers = [-1]
    depts = [len(dept_sizes)]  # the CEO sits in the Executive pseudo-department
    for d, size in enumerate(dept_sizes):
        if size == 0:
            continue
        vp = len(managers)
        managers.append(0)
        depts.append(d)
        stack = [(vp, int(size) - 1)]
        while stack:
            leader, below = stack.pop()
            if below <= 10:
                managers.extend([leader] * below)
                depts.extend([d] * below)
                continue
            k = int(rng.integers(4, min(10, below - 4) + 1))
            rest = below - k
            j = min(k, rest // 4)
            sizes = 4 + rng.multinomial(rest - 4 * j, np.full(j, 1.0 / j))
            children = []
            for _ in range(k):
                children.append(len(managers))
                managers.append(leader)
                depts.append(d)
            # Later children pushed first so the depth-first order follows the child order.
            for child, sub in reversed(list(zip(children[:j], sizes, strict=True))):
                stack.append((child, int(sub)))
    return managers, depts


def build_company(seed: int, people: int, start: date, end: date) -> Company:
    """The whole company for a seed: deterministic, independent of the activity volume."""
    if people < MIN_PEOPLE:
        raise ValueError(f"a company needs at least {MIN_PEOPLE} people")
    rng = stream(seed, "company")
    depts = list(vocab.DEPARTMENTS)
    dept_names = [d.name for d in depts] + [EXECUTIVE]
    sizes = _shares(people - 1, np.array([d.share for d in depts]))
    managers, dept_of = _org_chart(rng, sizes)
    n = len(managers)
    manager = np.array(managers, dtype=np.int32)
    dept = np.array(dept_of, dtype=np.int16)

    depth = np.zeros(n, dtype=np.int16)
    for i in range(1, n):  # parents precede children in depth-first order
        depth[i] = depth[manager[i]] + 1
    reports = np.bincount(manager[1:], minlength=n).astype(np.int32)
    subtree = np.zeros(n, dtype=np.int32)
    for i in range(n - 1, 0, -1):
        subtree[manager[i]] += subtree[i] + 1

    # Company identity.
    name_rng = stream(seed, "company-name")
    adjective = vocab.CUSTOMER_ADJECTIVES[name_rng.integers(len(vocab.CUSTOMER_ADJECTIVES))]
    noun = ("Robotics", "Software", "Analytics", "Systems", "Cloud", "Networks")[name_rng.integers(6)]
    company_name = f"{adjective} {noun}"
    slug = _ascii(adjective)
    domain = f"{slug}{_ascii(noun)}.example"
    alias_domain = f"{slug}-corp.example"

    # Topics and communities.
    topics: list[vocab.Topic] = []
    topic_dept: list[int] = []
    for d, department in enumerate(depts):
        for topic in department.topics:
            topics.append(topic)
            topic_dept.append(d)
    topic_dept_arr = np.array(topic_dept, dtype=np.int16)
    communities = [Community(t.slug, t.name, "topic", topic=i, dept=topic_dept[i]) for i, t in enumerate(topics)]
    communities += [Community(_ascii(d.name), d.name, "department", dept=i) for i, d in enumerate(depts)]
    communities += [Community(s, nm, "interest") for s, nm in vocab.INTEREST_COMMUNITIES]

    # Locations: departments' heads anywhere, teams mostly where their manager is.
    locations = list(vocab.LOCATIONS)
    loc_weights = np.array([w for *_, w in locations])
    loc_weights /= loc_weights.sum()
    location = np.zeros(n, dtype=np.int16)
    loc_draw = rng.choice(len(locations), size=n, p=loc_weights)
    stay = rng.random(n)
    for i in range(1, n):
        location[i] = location[manager[i]] if (depth[i] > 1 and stay[i] < 0.78) else loc_draw[i]

    # Titles and roles.
    is_manager = reports > 0
    titles: list[str] = []
    roles: list[str] = []
    level_draw = rng.choice(5, size=n, p=(0.18, 0.34, 0.3, 0.12, 0.06))
    special = rng.random(n)
    for i in range(n):
        d = int(dept[i])
        if i == 0:
            titles.append("Chief Executive Officer")
            roles.append("Executive")
            continue
        department = depts[d]
        if depth[i] == 1:
            titles.append(f"VP of {department.name}")
            roles.append("Vice President")
        elif is_manager[i] and subtree[i] >= 300:
            titles.append(f"Senior Director, {department.name}")
            roles.append("Director")
        elif is_manager[i] and subtree[i] >= 40:
            titles.append(f"Director, {department.name}")
            roles.append("Director")
        elif is_manager[i]:
            titles.append(vocab.DEPARTMENT_MANAGER_TITLES[department.name])
            roles.append("Manager")
        elif department.name == "Sales" and special[i] < 0.22:
            titles.append(("Sales Engineer", "Senior Sales Engineer")[int(level_draw[i] >= 2)])
            roles.append("Sales Engineer")
        elif department.name == "Engineering" and special[i] < 0.06:
            titles.append("Solutions Architect")
            roles.append("Solutions Architect")
        elif department.name == "Product" and special[i] < 0.25:
            titles.append(("Product Designer", "Senior Product Designer")[int(level_draw[i] >= 2)])
            roles.append("Designer")
        else:
            titles.append(department.ic_titles[min(int(level_draw[i]), len(department.ic_titles) - 1)])
            roles.append(department.family)

    # Start dates: heavy-tailed tenure; about 8% joined during the window.
    tenure_days = np.minimum(rng.lognormal(np.log(900), 0.8, size=n), 20 * 365).astype(np.int64)
    tenure_days[depth <= 1] = np.maximum(tenure_days[depth <= 1], 1500)
    window = (end - start).days + 1
    new_hire = (rng.random(n) < 0.08) & (depth >= 2)
    start_np = np.datetime64(start, "D")
    end_np = np.datetime64(end, "D")
    start_date = end_np - tenure_days.astype("timedelta64[D]")
    start_date = np.where(start_date > start_np - 30, start_np - 30 - rng.integers(0, 400, size=n), start_date)
    hire_offsets = rng.integers(0, max(1, int(window * 0.9)), size=n).astype("timedelta64[D]")
    start_date = np.where(new_hire, start_np + hire_offsets, start_date).astype("datetime64[D]")

    # Behaviour and heavy-tailed activity.
    behaviour = np.where(
        is_manager,
        rng.choice(5, size=n, p=_BEHAVIOUR_MIX_MANAGER),
        rng.choice(5, size=n, p=_BEHAVIOUR_MIX_IC),
    ).astype(np.int8)
    activity = rng.lognormal(0.0, 1.0, size=n)

    # Expertise: a team shares a focus topic; some people know a topic from another department.
    dept_topics = [np.flatnonzero(topic_dept_arr == d) for d in range(len(depts))]
    team_topic = np.array(
        [rng.choice(dept_topics[d]) if d < len(depts) else 0 for d in dept], dtype=np.int16
    )
    primary = np.zeros(n, dtype=np.int16)
    second = np.full(n, -1, dtype=np.int16)
    u = rng.random((n, 3))
    engineering = dept_names.index("Engineering")
    eng_for_sales = np.array([i for i, t in enumerate(topics) if t.slug in ("api", "security", "platform")])
    for i in range(n):
        d = int(dept[i])
        if d >= len(depts):  # the CEO
            primary[i] = dept_topics[dept_names.index("Product")][0]
            continue
        mine = dept_topics[d]
        lead_topic = team_topic[manager[i]] if depth[i] >= 2 else team_topic[i]
        primary[i] = lead_topic if u[i, 0] < 0.75 else mine[int(u[i, 1] * len(mine))]
        if roles[i] in ("Sales Engineer", "Solutions Architect"):
            second[i] = eng_for_sales[int(u[i, 2] * len(eng_for_sales))]
        elif u[i, 2] < 0.15:
            second[i] = int(u[i, 1] * len(topics) * 0.999)
        elif u[i, 2] < 0.6 and len(mine) > 1:
            second[i] = mine[(list(mine).index(primary[i]) + 1) % len(mine)]
    del engineering

    # Names, with a few planted look-alikes (same name or same first name, different people).
    first = [vocab.FIRST_NAMES[j] for j in rng.integers(len(vocab.FIRST_NAMES), size=n)]
    last = [vocab.LAST_NAMES[j] for j in rng.integers(len(vocab.LAST_NAMES), size=n)]
    for i in np.flatnonzero(rng.random(n) < 0.02):
        first[i] = vocab.FIRST_NAMES_ACCENTED[int(rng.integers(len(vocab.FIRST_NAMES_ACCENTED)))]
    for i in np.flatnonzero(rng.random(n) < 0.015):
        last[i] = vocab.LAST_NAMES_SPECIAL[int(rng.integers(len(vocab.LAST_NAMES_SPECIAL)))]
    lookalikes: list[tuple[int, int, str]] = []
    n_pairs = max(2, n // 400)
    picks = rng.choice(np.arange(1, n), size=min(4 * n_pairs, n - 1), replace=False)
    for a, b in zip(picks[0:2 * n_pairs:2], picks[1:2 * n_pairs:2], strict=True):
        first[b], last[b] = first[a], last[a]
        lookalikes.append((int(min(a, b)), int(max(a, b)), "same_name"))
    teammates = [i for i in range(2, n) if manager[i] == manager[i - 1] and manager[i] >= 0][: 4 * n_pairs]
    for i in teammates[::4][:n_pairs]:
        first[i] = first[i - 1]
        lookalikes.append((i - 1, i, "same_first_name_teammates"))
    names = [f"{f} {ln}" for f, ln in zip(first, last, strict=True)]

    emails: list[str] = []
    used: set[str] = set()
    for f, ln in zip(first, last, strict=True):
        local = f"{_ascii(f)}.{_ascii(ln)}"
        candidate, k = local, 1
        while candidate in used:
            k += 1
            candidate = f"{local}{k}"
        used.add(candidate)
        emails.append(f"{candidate}@{domain}")

    id_rng = stream(seed, "company-ids")
    slack_ids = ["U" + c for c in unique_codes(id_rng, n, 8)]
    crm_ids = ["005" + c for c in unique_codes(id_rng, n, 12, BASE62)]
    halves = id_rng.integers(0, 2**63, size=(n, 2), dtype=np.int64)
    scim_raw = [f"{a:016x}{b:016x}" for a, b in halves.tolist()]
    scim_ids = [f"{h[:8]}-{h[8:12]}-4{h[13:16]}-a{h[17:20]}-{h[20:32]}" for h in scim_raw]

    return Company(
        seed=seed, name=company_name, domain=domain, alias_domain=alias_domain, start=start, end=end,
        departments=dept_names, topics=topics, topic_dept=topic_dept_arr, locations=locations,
        communities=communities, ids=[f"E{i + 1:05d}" for i in range(n)], first=first, last=last,
        names=names, emails=emails, manager=manager, depth=depth, reports=reports, subtree=subtree,
        dept=dept, location=location, titles=titles, roles=roles, start_date=start_date,
        behaviour=behaviour, activity=activity, primary_topic=primary, second_topic=second,
        slack_ids=slack_ids, crm_ids=crm_ids, scim_ids=scim_ids, lookalikes=lookalikes,
    )


def window(end: date, days: int) -> tuple[date, date]:
    """(first day, last day) of a `days`-long window ending on `end`."""
    return end - timedelta(days=days - 1), end
