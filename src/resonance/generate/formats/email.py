"""E-mail as one mbox file (`mail.mbox`), in time order.

Internal mail between colleagues (mostly within team and department), threads
(`In-Reply-To` and `References`, `Re:` subjects), customer correspondence
between deal teams and customer contacts (external addresses at the
customers' domains), and the planted introduction e-mails of the deal-help
plan. Senders sometimes write from another spelling of their mailbox:
capitalised, plus-addressed (`first.last+crm@`) or the company's legacy
domain alias; every spelling used is recorded in the identity truth table.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from email.utils import format_datetime, formataddr
from pathlib import Path
from typing import Any

import numpy as np

from resonance.generate import vocab
from resonance.generate.activity import day_weights
from resonance.generate.aliases import case_variant
from resonance.generate.company import Company
from resonance.generate.customers import PlannedMail, day_epoch
from resonance.generate.propensity import COL, base_weights, work_times
from resonance.generate.sampling import daily_samplers
from resonance.generate.seeds import stream
from resonance.generate.text import Text

MAIL_PER_PERSON_DAY = 0.02
REPLY_SHARE = 0.35
THREAD_DAYS = 5


def wrap(text: str, width: int = 72) -> str:
    """Fill a paragraph to `width` columns (a lean textwrap.fill: single spaces, no hyphenation)."""
    lines: list[str] = []
    current: list[str] = []
    length = 0
    for word in text.split():
        if current and length + 1 + len(word) > width:
            lines.append(" ".join(current))
            current, length = [word], len(word)
        else:
            length += len(word) + (1 if current else 0)
            current.append(word)
    if current:
        lines.append(" ".join(current))
    return "\n".join(lines)


class _Mailbox:
    """Formats messages and tracks who used which address."""

    def __init__(self, world: Any) -> None:
        self.c: Company = world.company
        self.customers = world.customers
        self.aliases = world.aliases
        self.truth = world.truth
        self.offsets = [loc[2] for loc in self.c.locations]

    def address(self, who: int, rng: np.random.Generator) -> tuple[str, str]:
        """(display name, address as written) of an employee (>= 0) or a contact (-1 - index)."""
        if who >= 0:
            email = self.c.emails[who]
            if self.aliases.mail_style[who] and rng.random() < 0.4:
                email = self.aliases.mail_variant(who)
            self.truth.alias(who, "email", email)
            return self.c.names[who], email
        contact = self.customers.contacts[-1 - who]
        email = case_variant(contact.email) if rng.random() < 0.1 else contact.email
        self.truth.contact_alias(-1 - who, "email", email)
        return contact.name, email

    def tz(self, who: int) -> timezone:
        hours = self.offsets[int(self.c.location[who])] if who >= 0 else 0.0
        return timezone(timedelta(hours=hours))

    def render(self, rng: np.random.Generator, msg: dict[str, Any]) -> str:
        sender_name, sender = self.address(msg["sender"], rng)
        to = [formataddr(self.address(x, rng)) for x in msg["to"]]
        cc = [formataddr(self.address(x, rng)) for x in msg["cc"]]
        when = datetime.fromtimestamp(msg["time"], tz=UTC)
        lines = [
            f"From {sender} {when.strftime('%a %b %d %H:%M:%S %Y')}",
            f"From: {formataddr((sender_name, sender))}",
            "To: " + ",\n ".join(to),
        ]
        if cc:
            lines.append("Cc: " + ",\n ".join(cc))
        lines += [
            f"Subject: {msg['subject']}",
            f"Date: {format_datetime(when.astimezone(self.tz(msg['sender'])))}",
            f"Message-ID: {msg['id']}",
        ]
        if msg.get("in_reply_to"):
            lines.append(f"In-Reply-To: {msg['in_reply_to']}")
            lines.append("References: " + "\n ".join(msg["references"]))
        lines += ["MIME-Version: 1.0", "Content-Type: text/plain; charset=utf-8", "Content-Transfer-Encoding: 8bit",
                  ""]
        body = wrap(msg["body"])
        greeting = self.c.first[msg["sender"]] if msg["sender"] >= 0 else sender_name.split()[0]
        lines += [(">" + line if line.startswith("From ") else line) for line in body.splitlines()]
        lines += ["", f"-- {greeting}", "", ""]
        return "\n".join(lines)


def _planned(mail: PlannedMail) -> dict[str, Any]:
    return {
        "id": mail.message_id, "time": mail.time,
        "sender": mail.sender if mail.sender >= 0 else -1 - mail.sender_contact,
        "to": list(mail.to) + [-1 - x for x in mail.to_contacts],
        "cc": list(mail.cc) + [-1 - x for x in mail.cc_contacts],
        "subject": mail.subject, "body": mail.body, "in_reply_to": mail.in_reply_to,
        "references": [mail.in_reply_to] if mail.in_reply_to else [],
    }


def write(world: Any, out: Path, progress: Any) -> dict[str, Any]:
    c: Company = world.company
    box = _Mailbox(world)
    text = Text(c)
    base = base_weights(c)
    weights = day_weights(c)
    mean_w = weights.mean()
    opps = world.customers.opportunities
    opp_open = np.array([day_epoch(o.created) for o in opps], dtype=np.int64)
    opp_close = np.array([day_epoch(o.close) for o in opps], dtype=np.int64)
    planned = sorted((_planned(m) for m in world.customers.mails), key=lambda m: m["time"])
    planned_i = 0
    recent: list[dict[str, Any]] = []
    stats = {"messages": 0, "replies": 0, "customer": 0}
    with open(out / "mail.mbox", "w", encoding="utf-8", newline="\n") as f:
        for i, day, sampler in daily_samplers(c, base):
            rng = stream(c.seed, "mail", i)
            start = day_epoch(day)
            end = start + 86400
            recent = [m for m in recent if m["time"] >= start - THREAD_DAYS * 86400]
            messages = _internal(c, rng, text, sampler, start, i, int(rng.poisson(
                c.n * MAIL_PER_PERSON_DAY * weights[i] / mean_w)))
            live = np.flatnonzero((opp_open <= start) & (opp_close >= start))
            if day.weekday() < 5:
                messages += _customer(c, world.customers, rng, text, live, start, i, stats)
            replies = _replies(c, rng, text, recent + messages, start, end, i, int(len(messages) * REPLY_SHARE))
            stats["replies"] += len(replies)
            messages += replies
            while planned_i < len(planned) and planned[planned_i]["time"] < end:
                messages.append(planned[planned_i])
                planned_i += 1
            messages.sort(key=lambda m: (m["time"], m["id"]))
            for m in messages:
                f.write(box.render(rng, m))
            stats["messages"] += len(messages)
            recent += [m for m in messages if m["time"] >= start]
            if len(recent) > 5000:
                recent = recent[-5000:]
            if i % 16 == 0 or i == c.days - 1:
                progress("email", i + 1, c.days)
    return {"mail.mbox": {"records": stats["messages"], **stats}}


def _mid(c: Company, i: int, k: int, tag: str = "m") -> str:
    return f"<{tag}{i:04d}.{k:05d}@mail.{c.domain}>"


def _internal(c: Company, rng: np.random.Generator, text: Text, sampler: Any, start: int, i: int,
              count: int) -> list[dict[str, Any]]:
    senders = sampler.draw(rng, count, COL["mail"])
    if not len(senders):
        return []
    n_to = rng.integers(1, 4, size=len(senders))
    to = sampler.near(rng, np.repeat(senders, n_to), COL["mail"], 0.5, 0.3)
    n_cc = np.where(rng.random(len(senders)) < 0.35, rng.integers(1, 3, size=len(senders)), 0)
    cc = sampler.near(rng, np.repeat(senders, n_cc), COL["mail"], 0.4, 0.3)
    topics = c.primary_topic[senders].astype(np.int64)
    subjects = text.title(rng, topics, vocab.POST_OPENERS + vocab.QUESTION_OPENERS).to_pylist()
    bodies = text.body(rng, topics, 45, ("Hi all,", "Hello,", "Team,", "Hi,")).to_pylist()
    times = work_times(c, rng, senders, start)
    out = []
    tp = cp = 0
    for k, s in enumerate(senders.tolist()):
        recipients = [x for x in dict.fromkeys(to[tp:tp + n_to[k]].tolist()) if x != s]
        copies = [x for x in dict.fromkeys(cc[cp:cp + n_cc[k]].tolist()) if x != s and x not in recipients]
        tp += int(n_to[k])
        cp += int(n_cc[k])
        if not recipients:
            recipients = [int(c.manager[s]) if c.manager[s] >= 0 else (s + 1) % c.n]
        out.append({"id": _mid(c, i, k), "time": int(times[k]), "sender": s, "to": recipients, "cc": copies,
                    "subject": subjects[k], "body": bodies[k]})
    return out


def _customer(c: Company, customers: Any, rng: np.random.Generator, text: Text, live: np.ndarray, start: int,
              i: int, stats: dict[str, int]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for k, oi in enumerate(live.tolist()):
        opp = customers.opportunities[oi]
        if not opp.contacts or rng.random() > 0.06:
            continue
        team = [opp.owner] + [p for p, _ in opp.team]
        sender = team[0] if rng.random() < 0.7 else team[int(rng.integers(len(team)))]
        account = customers.accounts[opp.account]
        contacts = [-1 - x for x in opp.contacts[: int(rng.integers(1, 3))]]
        out.append({
            "id": _mid(c, i, k, "c"), "sender": sender, "to": contacts, "cc": [p for p in team if p != sender][:2],
            "subject": f"{account.name}: {opp.name.split(' - ')[-1]} - ",
        })
    if out:
        senders = np.array([m["sender"] for m in out])
        topics = c.primary_topic[senders].astype(np.int64)
        times = work_times(c, rng, senders, start)
        phrases = text.phrase(rng, topics, np.full(len(out), 3), 0.9).to_pylist()
        bodies = text.body(rng, topics, 50, ("Dear", "Hello", "Hi")).to_pylist()
        for m, t, phrase, body in zip(out, times.tolist(), phrases, bodies, strict=True):
            m.update(time=t, body=body)
            m["subject"] += phrase
    stats["customer"] += len(out)
    return out


def _replies(c: Company, rng: np.random.Generator, text: Text, pool: list[dict[str, Any]], start: int, end: int,
             i: int, count: int) -> list[dict[str, Any]]:
    if not pool or count == 0:
        return []
    age = np.array([max(0, start - m["time"]) for m in pool], dtype=float) / 86400.0
    w = np.exp(-age)
    picks = np.minimum(np.searchsorted(np.cumsum(w), rng.random(count) * w.sum(), side="right"), len(pool) - 1)
    out = []
    for k, p in enumerate(picks.tolist()):
        orig = pool[p]
        candidates = orig["to"] + orig["cc"]
        sender = candidates[int(rng.integers(len(candidates)))]
        if orig["time"] >= start:
            t = orig["time"] + int(rng.exponential(2 * 3600)) + 120
        else:
            t = int(work_times(c, rng, np.array([max(sender, 0)]), start)[0])
        t = min(t, end - 1)
        subject = orig["subject"] if orig["subject"].startswith("Re: ") else "Re: " + orig["subject"]
        reply = {
            "id": _mid(c, i, k, "r"), "time": t, "sender": sender, "to": [orig["sender"]],
            "cc": [x for x in candidates if x != sender][:3], "subject": subject,
            "in_reply_to": orig["id"], "references": (orig.get("references") or []) + [orig["id"]],
        }
        if reply["to"] == [sender]:
            continue
        out.append(reply)
    if out:
        topics = np.array([int(c.primary_topic[m["sender"]]) if m["sender"] >= 0 else 0 for m in out])
        bodies = text.body(rng, topics, 25, ("Thanks,", "Sounds good.", "Agreed.", "Quick answer:")).to_pylist()
        for m, body in zip(out, bodies, strict=True):
            m["body"] = body
    return out
