"""Customers: accounts, contacts, opportunities, deal teams, and who really helped win.

The deal-help plan is the ground truth for business-outcome credit. For each
won opportunity, one to three employees outside the deal team helped:
- `content`: they wrote something the deal team read, bookmarked or shared
  before the close date (planted Create + View/Add/Announce events that carry
  the opportunity as context);
- `introduction`: they introduced the owner to a customer contact (an AS2
  Invite, an introduction e-mail with the contact in Cc, then a meeting);
- `kudos`: after the win, the owner thanked them with the opportunity as context.
Decoys (content the team read only after the close) are planted too, and are
not helpers. Every planted event is recorded with the evidence that proves it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

import numpy as np

from resonance.generate import vocab
from resonance.generate.company import Company, _ascii
from resonance.generate.seeds import BASE62, stream, unique_codes

EPOCH = date(1970, 1, 1)
OPEN_STAGES = ("Prospecting", "Qualification", "Needs Analysis", "Proposal/Price Quote", "Negotiation/Review")
PRODUCTS = ("Platform", "Analytics add-on", "Enterprise support", "Data connectors", "Security pack",
            "Premium seats", "Migration services")
DEAL_KINDS = ("new business", "expansion", "renewal", "pilot")
MEETING_KINDS = ("discovery call", "demo", "technical deep dive", "pricing review", "security review")


def opportunity_item(crm_id: str) -> str:
    """The store's item id of a CRM opportunity (what the `crm` connector names it)."""
    return f"crm-opportunity:{crm_id}"


def account_item(crm_id: str) -> str:
    """The store's item id of a CRM account."""
    return f"crm-account:{crm_id}"


def meeting_item(uid: str) -> str:
    """The store's item id of a (non-recurring) calendar meeting (what the `calendar` connector names it)."""
    return f"ical:{uid}"


def day_epoch(d: date) -> int:
    return (d - EPOCH).days * 86400


def local_time(company: Company, person: int, d: date, hour: float) -> int:
    """Epoch seconds of `hour` o'clock local time of `person` on day `d`."""
    offset = company.locations[int(company.location[person])][2]
    return day_epoch(d) + int((hour - offset) * 3600)


@dataclass(slots=True)
class Account:
    id: str
    name: str
    domain: str
    industry: str
    owner: int
    csm: int


@dataclass(slots=True)
class Contact:
    id: str
    account: int
    name: str
    email: str
    title: str
    truth_id: str


@dataclass(slots=True)
class Opportunity:
    id: str
    account: int
    name: str
    stage: str
    amount: int
    created: date
    close: date
    owner: int
    is_closed: bool
    is_won: bool
    team: list[tuple[int, str]] = field(default_factory=list)   # (person, TeamMemberRole)
    contacts: list[int] = field(default_factory=list)


@dataclass(slots=True)
class Help:
    opportunity: int
    person: int
    how: str            # content | introduction | kudos
    time: int           # epoch seconds of the planted evidence
    evidence: str       # ids of the planted items / events / messages
    contact: int = -1   # the customer contact introduced (introductions)


@dataclass(slots=True)
class PlannedMeeting:
    uid: str
    start: int          # epoch seconds
    minutes: int
    organizer: int
    attendees: list[int]
    contacts: list[int]  # external attendees (Contact indexes)
    summary: str
    opportunity: int = -1


@dataclass(slots=True)
class PlannedMail:
    message_id: str
    time: int
    sender: int          # employee index, or -1 when `sender_contact` is set
    to: list[int]
    cc: list[int]
    to_contacts: list[int]
    cc_contacts: list[int]
    subject: str
    body: str
    in_reply_to: str | None = None
    sender_contact: int = -1


@dataclass(slots=True)
class Customers:
    accounts: list[Account]
    contacts: list[Contact]
    opportunities: list[Opportunity]
    helps: list[Help]
    as2_events: list[tuple[int, dict]]       # (time, AS2 activity without id), sorted by time
    meetings: list[PlannedMeeting]
    mails: list[PlannedMail]
    crm_users: list[int]


def _pick(rng: np.random.Generator, pool: np.ndarray, fallback: np.ndarray) -> int:
    pool = pool if len(pool) else fallback
    return int(pool[rng.integers(len(pool))])


def build_customers(company: Company) -> Customers:
    """Accounts, contacts, opportunities and the deal-help plan for `company`."""
    rng = stream(company.seed, "customers")
    n = company.n
    roles = np.array(company.roles)
    dept_names = company.departments
    sales = company.dept == dept_names.index("Sales")
    cs = company.dept == dept_names.index("Customer Success")
    ics = company.reports == 0
    aes = np.flatnonzero(sales & (roles == "Account Executive"))
    ses = np.flatnonzero(roles == "Sales Engineer")
    architects = np.flatnonzero(roles == "Solutions Architect")
    engineers = np.flatnonzero((company.dept == dept_names.index("Engineering")) & ics)
    csms = np.flatnonzero(cs)
    all_sales = np.flatnonzero(sales)
    vp_sales = np.flatnonzero(sales & (company.depth == 1))
    everyone = np.arange(1, n)

    # Accounts.
    n_accounts = int(np.clip(n // 20, 8, 5000))
    accounts: list[Account] = []
    used: set[str] = set()
    while len(accounts) < n_accounts:
        adj = vocab.CUSTOMER_ADJECTIVES[rng.integers(len(vocab.CUSTOMER_ADJECTIVES))]
        noun = vocab.CUSTOMER_NOUNS[rng.integers(len(vocab.CUSTOMER_NOUNS))]
        name = f"{adj} {noun}"
        if name in used:
            name = f"{name} {('International', 'Group', 'Holdings', 'Partners', 'Co')[len(used) % 5]}"
            if name in used:
                name = f"{adj} {noun} {len(accounts)}"
        used.add(name)
        domain = _ascii(name.replace(" ", "")) + ".example"
        accounts.append(Account(
            id="", name=name, domain=domain,
            industry=vocab.INDUSTRIES[rng.integers(len(vocab.INDUSTRIES))],
            owner=_pick(rng, aes, all_sales), csm=_pick(rng, csms, everyone) if rng.random() < 0.8 else -1,
        ))
    for a, code in zip(accounts, unique_codes(rng, len(accounts), 12, BASE62), strict=True):
        a.id = "001" + code

    # Contacts (external people).
    contacts: list[Contact] = []
    for ai, account in enumerate(accounts):
        taken: set[str] = set()
        for _ in range(2 + int(rng.poisson(2.5))):
            first = vocab.FIRST_NAMES[rng.integers(len(vocab.FIRST_NAMES))]
            last = vocab.LAST_NAMES[rng.integers(len(vocab.LAST_NAMES))]
            local = f"{_ascii(first)}.{_ascii(last)}"
            if local in taken:
                continue
            taken.add(local)
            contacts.append(Contact(
                id="", account=ai, name=f"{first} {last}", email=f"{local}@{account.domain}",
                title=vocab.CONTACT_TITLES[rng.integers(len(vocab.CONTACT_TITLES))],
                truth_id=f"C{len(contacts) + 1:05d}",
            ))
    for c, code in zip(contacts, unique_codes(rng, len(contacts), 12, BASE62), strict=True):
        c.id = "003" + code
    contacts_of: dict[int, list[int]] = {}
    for ci, c in enumerate(contacts):
        contacts_of.setdefault(c.account, []).append(ci)

    # Opportunities: closed ones inside the window, open ones closing in the next six months.
    start, end = company.start, company.end
    window_days = (end - start).days
    opps: list[Opportunity] = []
    for ai, account in enumerate(accounts):
        for _ in range(1 + int(rng.poisson(1.2))):
            u = rng.random()
            is_closed = u < 0.45 and window_days > 40
            is_won = is_closed and u < 0.28
            if is_closed:
                close = start + timedelta(days=int(rng.integers(30, window_days + 1)))
                stage = "Closed Won" if is_won else "Closed Lost"
            else:
                close = end + timedelta(days=int(rng.integers(7, 180)))
                stage = OPEN_STAGES[min(int(rng.integers(0, 5)), 4)]
            created = close - timedelta(days=int(rng.integers(45, 200)))
            amount = int(round(rng.lognormal(np.log(40000), 0.9), -2))
            product = PRODUCTS[rng.integers(len(PRODUCTS))]
            kind = DEAL_KINDS[rng.integers(len(DEAL_KINDS))]
            team: list[tuple[int, str]] = [(_pick(rng, ses, all_sales), "Sales Engineer")]
            if rng.random() < 0.35:
                team.append((_pick(rng, architects, engineers if len(engineers) else everyone), "Solutions Architect"))
            if account.csm >= 0 and rng.random() < 0.6:
                team.append((account.csm, "Customer Success Manager"))
            if rng.random() < 0.2:
                team.append((_pick(rng, vp_sales, np.array([0])), "Executive Sponsor"))
            team = [(p, r) for p, r in dict(team).items() if p != account.owner]
            mine = contacts_of.get(ai, [])
            chosen = list(rng.choice(mine, size=min(len(mine), int(rng.integers(1, 4))), replace=False)) if mine else []
            opps.append(Opportunity(
                id="", account=ai, name=f"{account.name} - {product} {kind}", stage=stage, amount=amount,
                created=created, close=close, owner=account.owner, is_closed=is_closed, is_won=is_won,
                team=team, contacts=[int(c) for c in chosen],
            ))
    for o, code in zip(opps, unique_codes(rng, len(opps), 12, BASE62), strict=True):
        o.id = "006" + code

    plan = _DealPlanner(company, accounts, contacts, opps, rng)
    plan.plan()
    crm_users = sorted(
        {a.owner for a in accounts} | {o.owner for o in opps} | {p for o in opps for p, _ in o.team}
        | set(all_sales.tolist()) | set(csms.tolist()) | {0}
    )
    return Customers(
        accounts=accounts, contacts=contacts, opportunities=opps, helps=plan.helps,
        as2_events=sorted(plan.as2, key=lambda e: e[0]), meetings=plan.meetings, mails=plan.mails,
        crm_users=crm_users,
    )


class _DealPlanner:
    """Plants the evidence of who helped which deal (see the module docstring)."""

    HELPER_DEPTS = ("Engineering", "Product", "Support", "Legal", "Marketing", "Customer Success")

    def __init__(self, company: Company, accounts: list[Account], contacts: list[Contact],
                 opps: list[Opportunity], rng: np.random.Generator) -> None:
        self.c = company
        self.accounts, self.contacts, self.opps, self.rng = accounts, contacts, opps, rng
        self.helps: list[Help] = []
        self.as2: list[tuple[int, dict]] = []
        self.meetings: list[PlannedMeeting] = []
        self.mails: list[PlannedMail] = []
        dept_ok = np.isin(np.array(company.departments)[company.dept], self.HELPER_DEPTS)
        self.helper_pool = np.flatnonzero(dept_ok & (company.depth >= 2))
        weights = company.activity[self.helper_pool]
        self.helper_p = weights / weights.sum() if len(weights) else weights
        self.start_epoch = day_epoch(company.start)
        self.end_epoch = day_epoch(company.end) + 86400 - 1

    # -- helpers ----------------------------------------------------------------------
    def iri(self, path: str) -> str:
        return f"{self.c.social}/{path}"

    def mailto(self, person: int) -> str:
        return f"mailto:{self.c.emails[person]}"

    def at(self, person: int, epoch_day: int, workday: bool = False) -> int:
        """A working-hours time for `person` on the day containing `epoch_day` (moved to the
        next Monday if `workday` and it is a weekend)."""
        d = EPOCH + timedelta(days=epoch_day // 86400)
        while workday and d.weekday() >= 5:
            d += timedelta(days=1)
        return local_time(self.c, person, d, float(self.rng.uniform(9, 17.5)))

    def in_window(self, t: int) -> bool:
        return self.start_epoch <= t <= self.end_epoch

    def event(self, t: int, body: dict) -> None:
        self.as2.append((t, body))

    @staticmethod
    def stamp(t: int) -> str:
        return np.datetime_as_string(np.datetime64(t, "s"), unit="s") + "Z"

    # -- the plan -----------------------------------------------------------------------
    def plan(self) -> None:
        for oi, opp in enumerate(self.opps):
            self._customer_meetings(oi, opp)
            if opp.is_won and len(self.helper_pool):
                self._helpers(oi, opp)

    def _team(self, opp: Opportunity) -> list[int]:
        return [opp.owner] + [p for p, _ in opp.team]

    def _customer_meetings(self, oi: int, opp: Opportunity) -> None:
        lo = max(day_epoch(opp.created), self.start_epoch)
        hi = min(day_epoch(opp.close), self.end_epoch - 86400)
        if hi <= lo or not opp.contacts:
            return
        account = self.accounts[opp.account]
        for k in range(1 + int(self.rng.poisson(1.5))):
            t = self.at(opp.owner, int(self.rng.integers(lo, hi)), workday=True)
            t -= t % 1800
            self.meetings.append(PlannedMeeting(
                uid=f"cust-{oi}-{k}@{self.c.domain}", start=t, minutes=int(self.rng.choice([30, 45, 60])),
                organizer=opp.owner, attendees=self._team(opp)[1:], contacts=list(opp.contacts),
                summary=f"{account.name}: {MEETING_KINDS[k % len(MEETING_KINDS)]}",
                opportunity=oi,
            ))

    def _helpers(self, oi: int, opp: Opportunity) -> None:
        rng = self.rng
        team = set(self._team(opp))
        k = min(int(rng.integers(1, 4)), len(self.helper_pool))
        candidates = rng.choice(self.helper_pool, size=min(len(self.helper_pool), k + len(team) + 2),
                                replace=False, p=self.helper_p)
        helpers = [int(h) for h in candidates if int(h) not in team][:k]
        lo = max(day_epoch(opp.created), self.start_epoch + 86400)
        close_t = day_epoch(opp.close)
        if close_t - lo < 5 * 86400:
            return
        for hi_, helper in enumerate(helpers):
            if opp.contacts and rng.random() < 0.4:
                self._introduction(oi, opp, helper, hi_, lo, close_t)
            else:
                self._content(oi, opp, helper, hi_, lo, close_t)
            if rng.random() < 0.6:
                self._kudos(oi, opp, helper, close_t)
        if rng.random() < 0.5:
            self._decoy(oi, opp, team | set(helpers), close_t)

    def _content_item(self, oi: int, author: int, t: int, slug: str) -> str:
        topic_i = int(self.c.primary_topic[author])
        topic = self.c.topics[topic_i]
        account = self.accounts[self.opps[oi].account]
        item = self.iri(f"articles/{slug}-{oi}")
        words = " ".join(self.rng.choice(topic.words, size=min(len(topic.words), 24)).tolist())
        self.event(t, {
            "type": "Create", "actor": self.mailto(author), "published": self.stamp(t),
            "object": {
                "id": item, "type": "Article",
                "name": f"{topic.name} playbook for {account.industry.lower()} customers",
                "content": f"How we approach {topic.name.lower()} with {account.industry.lower()} customers: {words}.",
                "tag": list(topic.tags[:3]), "context": self.c.community_iri(topic.slug),
                "attributedTo": self.mailto(author), "published": self.stamp(t),
            },
        })
        return item

    def _content(self, oi: int, opp: Opportunity, helper: int, k: int, lo: int, close_t: int) -> None:
        rng = self.rng
        created = self.at(helper, int(rng.integers(lo, close_t - 4 * 86400)))
        item = self._content_item(oi, helper, created, f"deal-playbook-{k}")
        account = self.accounts[opp.account]
        ctx = {"opportunity": opportunity_item(opp.id), "account": account_item(account.id)}
        evidence = [item]
        for reader in self._team(opp):
            if reader != opp.owner and rng.random() < 0.4:
                continue
            t = self.at(reader, int(rng.integers(created + 86400, close_t)))
            self.event(t, {"type": "View", "actor": self.mailto(reader), "object": item,
                           "published": self.stamp(t), "context": ctx})
            evidence.append(f"View by {self.c.ids[reader]}")
            if rng.random() < 0.6:
                verb = "Announce" if rng.random() < 0.5 else "Add"
                t2 = min(t + int(rng.integers(600, 86400)), close_t - 60)
                body = {"type": verb, "actor": self.mailto(reader), "object": item,
                        "published": self.stamp(t2), "context": ctx}
                if verb == "Add":
                    body["target"] = self.iri(f"people/{self.c.ids[reader]}/bookmarks")
                self.event(t2, body)
                evidence.append(f"{verb} by {self.c.ids[reader]}")
        self.helps.append(Help(oi, helper, "content", created, " ".join(evidence)))

    def _introduction(self, oi: int, opp: Opportunity, helper: int, k: int, lo: int, close_t: int) -> None:
        rng = self.rng
        contact_i = int(rng.choice(opp.contacts))
        contact = self.contacts[contact_i]
        account = self.accounts[opp.account]
        t = self.at(helper, int(rng.integers(lo, close_t - 4 * 86400)))
        ctx = {"opportunity": opportunity_item(opp.id), "account": account_item(account.id)}
        self.event(t, {
            "type": "Invite", "actor": self.mailto(helper), "published": self.stamp(t),
            "object": {"type": "Person", "id": f"mailto:{contact.email}", "name": contact.name},
            "target": self.mailto(opp.owner), "context": ctx,
            "content": f"Introducing {contact.name} ({account.name}) to {self.c.names[opp.owner]}",
        })
        mid = f"<intro-{oi}-{k}@{self.c.domain}>"
        self.mails.append(PlannedMail(
            message_id=mid, time=t + 60, sender=helper, to=[opp.owner], cc=[], to_contacts=[],
            cc_contacts=[contact_i],
            subject=f"Introduction: {contact.name} ({account.name}) <> {self.c.names[opp.owner]}",
            body=(f"Hi {contact.name.split()[0]}, meet {self.c.names[opp.owner]}, who looks after "
                  f"{account.name} here. I think a conversation about {opp.name.split(' - ')[-1]} "
                  f"would be worth it. Best, {self.c.first[helper]}"),
        ))
        reply_t = t + int(rng.integers(3600, 2 * 86400))
        self.mails.append(PlannedMail(
            message_id=f"<intro-{oi}-{k}-re@{account.domain}>", time=reply_t, sender=-1, sender_contact=contact_i,
            to=[opp.owner], cc=[helper], to_contacts=[], cc_contacts=[],
            subject=f"Re: Introduction: {contact.name} ({account.name}) <> {self.c.names[opp.owner]}",
            body=f"Thanks {self.c.first[helper]}! {self.c.first[opp.owner]}, happy to talk next week.",
            in_reply_to=mid,
        ))
        meet_t = self.at(opp.owner, min(reply_t + int(rng.integers(2, 8)) * 86400, close_t - 86400), workday=True)
        meet_t -= meet_t % 1800
        uid = f"intro-{oi}-{k}@{self.c.domain}"
        self.meetings.append(PlannedMeeting(
            uid=uid, start=meet_t, minutes=30, organizer=opp.owner, attendees=[helper], contacts=[contact_i],
            summary=f"{account.name} intro with {contact.name}", opportunity=oi,
        ))
        self.helps.append(Help(oi, helper, "introduction", t, f"Invite mail:{mid} meeting:{uid}", contact_i))

    def _kudos(self, oi: int, opp: Opportunity, helper: int, close_t: int) -> None:
        t = self.at(opp.owner, close_t + int(self.rng.integers(1, 10)) * 86400)
        if not self.in_window(t):
            return
        account = self.accounts[opp.account]
        self.event(t, {
            "type": "Kudos", "actor": self.mailto(opp.owner), "object": self.mailto(helper),
            "published": self.stamp(t), "to": [self.mailto(helper)],
            "content": f"Thanks for your help winning {opp.name}!",
            "context": {"opportunity": opportunity_item(opp.id), "account": account_item(account.id)},
        })
        self.helps.append(Help(oi, helper, "kudos", t, f"Kudos from {self.c.ids[opp.owner]}"))

    def _decoy(self, oi: int, opp: Opportunity, exclude: set[int], close_t: int) -> None:
        """Content the deal team read only after the close: not a helper."""
        rng = self.rng
        author = int(rng.choice(self.helper_pool))
        if author in exclude:
            return
        created = self.at(author, close_t + int(rng.integers(1, 20)) * 86400)
        view_t = created + int(rng.integers(3600, 5 * 86400))
        if not self.in_window(view_t):
            return
        item = self._content_item(oi, author, created, "late-notes")
        account = self.accounts[opp.account]
        self.event(view_t, {"type": "View", "actor": self.mailto(opp.owner), "object": item,
                            "published": self.stamp(view_t),
                            "context": {"opportunity": opportunity_item(opp.id), "account": account_item(account.id)}})
