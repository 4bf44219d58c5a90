"""A Slack workspace export folder: `slack/users.json`, `channels.json`, `<channel>/<YYYY-MM-DD>.json`.

Channels: #general and #random (everyone), one per department, one per topic
(the people who know it), customer channels for the biggest accounts (owner,
customer-success manager, deal teams) and a few interest clubs. Messages are
written day by day: top-level messages with thread replies (`thread_ts`,
`reply_count`, `replies`), reactions with the users who reacted, `<@U…>`
mentions and shared files, plus a deploy bot. User ids alias the directory's
people (the directory lists most of them as `slack:U…` handles); a few
profiles carry the e-mail capitalised, a few none at all.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import orjson

from resonance.generate import vocab
from resonance.generate.activity import day_weights
from resonance.generate.company import Company, _ascii
from resonance.generate.customers import day_epoch
from resonance.generate.propensity import COL, base_weights, work_times
from resonance.generate.sampling import daily_samplers
from resonance.generate.seeds import stream, unique_codes
from resonance.generate.text import Text

CHAT_PER_PERSON_DAY = 0.03
DEPT_SHORT = {"Engineering": "eng", "Product": "product", "Sales": "sales", "Marketing": "mktg", "Support": "support",
              "Customer Success": "cs", "Finance": "finance", "People": "people", "Legal": "legal", "IT": "it"}
MAX_CUSTOMER_CHANNELS = 20
FILE_KINDS = (("pdf", "application/pdf"), ("pptx", "application/vnd.openxmlformats-officedocument.presentationml"
              ".presentation"), ("xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
              ("png", "image/png"))


@dataclass(slots=True)
class Channel:
    id: str
    name: str
    kind: str
    members: np.ndarray
    purpose: str
    topic: int = -1


def _channels(company: Company, customers: Any, rng: np.random.Generator) -> list[Channel]:
    c = company
    everyone = np.arange(c.n)
    specs: list[tuple[str, str, np.ndarray, str, int]] = [
        ("general", "general", everyone, "Company-wide announcements and work-based matters", -1),
        ("random", "random", everyone, "Non-work banter and water cooler conversation", -1),
    ]
    for d, name in enumerate(c.departments[:-1]):
        members = np.union1d(c.dept_members(d), [0])
        specs.append((DEPT_SHORT.get(name, _ascii(name)), "department", members, f"The {name} team", -1))
    for t, topic in enumerate(c.topics):
        members = np.flatnonzero((c.primary_topic == t) | (c.second_topic == t))
        if len(members) == 0:
            continue
        short = DEPT_SHORT.get(c.departments[int(c.topic_dept[t])], "x")
        specs.append((f"{short}-{topic.slug}", "topic", members, topic.name, t))
    by_opps: dict[int, int] = {}
    for o in customers.opportunities:
        by_opps[o.account] = by_opps.get(o.account, 0) + 1
    top = sorted(by_opps, key=lambda a: (-by_opps[a], a))[:MAX_CUSTOMER_CHANNELS]
    for a in top:
        account = customers.accounts[a]
        people = {account.owner} | ({account.csm} if account.csm >= 0 else set())
        for o in customers.opportunities:
            if o.account == a:
                people |= {o.owner} | {p for p, _ in o.team}
        specs.append((f"cust-{_ascii(account.name.replace(' ', '-'))}", "customer", np.array(sorted(people)),
                      f"Everything about {account.name}", -1))
    for slug, name in vocab.INTEREST_COMMUNITIES[:5]:
        members = np.flatnonzero(rng.random(c.n) < 0.05)
        if len(members) >= 2:
            specs.append((f"club-{slug}", "interest", members, name, -1))
    ids = unique_codes(rng, len(specs), 8)
    return [Channel("C" + i, name, kind, members.astype(np.int64), purpose, topic)
            for i, (name, kind, members, purpose, topic) in zip(ids, specs, strict=True)]


class _ChannelSampler:
    """Channel members drawn by chat propensity (people who talk more, react more)."""

    def __init__(self, channels: list[Channel]) -> None:
        self.channels = channels
        self.cum: list[np.ndarray] = []

    def set_weights(self, weights: np.ndarray) -> None:
        self.cum = [np.cumsum(weights[ch.members] + 1e-9) for ch in self.channels]

    def draw(self, rng: np.random.Generator, channel: int, k: int) -> np.ndarray:
        cum = self.cum[channel]
        idx = np.minimum(np.searchsorted(cum, rng.random(k) * cum[-1], side="right"), len(cum) - 1)
        return self.channels[channel].members[idx]


def write(world: Any, out: Path, progress: Any) -> dict[str, Any]:
    """Write the Slack export folder; returns the manifest entry."""
    c: Company = world.company
    aliases = world.aliases
    truth = world.truth
    rng = stream(c.seed, "slack")
    folder = out / "slack"
    folder.mkdir(parents=True, exist_ok=True)
    channels = _channels(c, world.customers, rng)
    team_id = "T" + unique_codes(rng, 1, 8)[0]
    bot_id = "B" + unique_codes(rng, 1, 8)[0]
    bot_user = "U" + unique_codes(rng, 1, 8)[0]

    # users.json
    users = []
    display_first = rng.random(c.n) < 0.3
    for p in range(c.n):
        email = aliases.slack_profile_email(p)
        profile: dict[str, Any] = {
            "title": c.titles[p], "real_name": c.names[p], "first_name": c.first[p], "last_name": c.last[p],
            "display_name": c.first[p] if display_first[p] else c.names[p],
        }
        if email:
            profile["email"] = email
            truth.alias(p, "slack", email)
        users.append({
            "id": c.slack_ids[p], "team_id": team_id, "name": c.emails[p].split("@")[0], "deleted": False,
            "real_name": c.names[p], "tz_offset": int(c.locations[int(c.location[p])][2] * 3600),
            "is_bot": False, "profile": profile,
        })
        truth.alias(p, "slack", c.slack_ids[p], "slack")
    users.append({"id": bot_user, "team_id": team_id, "name": "deploybot", "deleted": False, "real_name": "Deploy Bot",
                  "is_bot": True, "profile": {"real_name": "Deploy Bot", "bot_id": bot_id}})
    (folder / "users.json").write_bytes(orjson.dumps(users, option=orjson.OPT_INDENT_2))
    created = day_epoch(c.start) - 400 * 86400
    (folder / "channels.json").write_bytes(orjson.dumps([
        {"id": ch.id, "name": ch.name, "created": created, "creator": c.slack_ids[0], "is_archived": False,
         "is_general": ch.name == "general", "members": [c.slack_ids[m] for m in ch.members.tolist()],
         "topic": {"value": ch.purpose, "creator": c.slack_ids[0], "last_set": created},
         "purpose": {"value": ch.purpose, "creator": c.slack_ids[0], "last_set": created}}
        for ch in channels
    ], option=orjson.OPT_INDENT_2))

    # Where each person usually talks.
    by_kind: dict[str, int] = {ch.name: i for i, ch in enumerate(channels)}
    topic_ch = np.full(len(c.topics), -1, np.int64)
    for i, ch in enumerate(channels):
        if ch.kind == "topic":
            topic_ch[ch.topic] = i
    dept_ch = np.array([by_kind.get(DEPT_SHORT.get(name, ""), 0) for name in c.departments[:-1]] + [0], np.int64)
    own_topic = topic_ch[c.primary_topic]
    own_dept = dept_ch[c.dept]
    extra_ch = np.full(c.n, -1, np.int64)  # a customer channel or a club someone is in
    for i, ch in enumerate(channels):
        if ch.kind in ("customer", "interest"):
            extra_ch[ch.members] = i
    eng_channel = by_kind.get("eng", 0)

    text = Text(c)
    base = base_weights(c)
    chooser = _ChannelSampler(channels)
    weights = day_weights(c)
    mean_w = weights.mean()
    stats = {"messages": 0, "replies": 0, "reactions": 0, "files": 0, "day_files": 0}
    last_active = None
    for i, day, sampler in daily_samplers(c, base):
        if last_active is not sampler.weights:
            chooser.set_weights(sampler.weights[:, COL["chat"]])
            last_active = sampler.weights
        day_rng = stream(c.seed, "slack", i)
        count = int(day_rng.poisson(c.n * CHAT_PER_PERSON_DAY * weights[i] / mean_w))
        files = _day(c, aliases, day, day_rng, count, sampler, chooser, channels, text, own_topic, own_dept,
                     extra_ch, by_kind, (bot_user, bot_id, eng_channel), stats)
        for ch_index, messages in sorted(files.items()):
            target = folder / channels[ch_index].name
            target.mkdir(exist_ok=True)
            messages.sort(key=lambda m: m["ts"])
            (target / f"{day.isoformat()}.json").write_bytes(orjson.dumps(messages, option=orjson.OPT_INDENT_2))
            stats["day_files"] += 1
        if i % 16 == 0 or i == c.days - 1:
            progress("slack", i + 1, c.days)
    return {"slack": {"records": stats["messages"] + stats["replies"], **stats, "channels": len(channels),
                      "users": len(users)}}


def _ts(t: int, k: int) -> str:
    return f"{t}.{k % 1_000_000:06d}"


def _day(c: Company, aliases: Any, day: date, rng: np.random.Generator, count: int, sampler: Any,
         chooser: _ChannelSampler, channels: list[Channel], text: Text, own_topic: np.ndarray,
         own_dept: np.ndarray, extra_ch: np.ndarray, by_kind: dict[str, int], bot: tuple[str, str, int],
         stats: dict[str, int]) -> dict[int, list[dict[str, Any]]]:
    start = day_epoch(day)
    files: dict[int, list[dict[str, Any]]] = {}
    authors = sampler.draw(rng, count, COL["chat"])
    if len(authors):
        u = rng.random(len(authors))
        channel = np.where(u < 0.4, own_topic[authors], own_dept[authors])
        channel = np.where((u >= 0.75) & (u < 0.8), by_kind["general"], channel)
        channel = np.where((u >= 0.8) & (u < 0.88), by_kind["random"], channel)
        channel = np.where((u >= 0.88) & (extra_ch[authors] >= 0), extra_ch[authors], channel)
        channel = np.where(channel < 0, own_dept[authors], channel)
        topics = np.array([channels[ch].topic for ch in channel.tolist()], np.int64)
        topics = np.where(topics >= 0, topics, c.primary_topic[authors])
        times = work_times(c, rng, authors, start)
        bodies = text.body(rng, topics, 12, ("", "Quick one:", "FYI", "Hey team,", "Heads up:")).to_pylist()
        replies_n = np.where(rng.random(len(authors)) < 0.3, rng.geometric(0.45, size=len(authors)), 0)
        reply_bodies = text.body(rng, np.repeat(topics, replies_n), 8,
                                 ("+1", "Thanks!", "Agreed,", "Good point:", "I think")).to_pylist()
        r_pos = 0
        k = 0
        for j in range(len(authors)):
            a, ch, t = int(authors[j]), int(channel[j]), int(times[j])
            ts = _ts(t, k)
            k += 1
            msg: dict[str, Any] = {"type": "message", "user": c.slack_ids[a], "text": bodies[j], "ts": ts}
            if rng.random() < 0.12:
                other = int(chooser.draw(rng, ch, 1)[0])
                if other != a:
                    msg["text"] = f"<@{c.slack_ids[other]}> {msg['text']}"
            if rng.random() < 0.35:
                msg["reactions"] = _reactions(rng, chooser, ch, a, c)
                stats["reactions"] += sum(len(r["users"]) for r in msg["reactions"])
            if rng.random() < 0.03:
                ext, mime = FILE_KINDS[int(rng.integers(len(FILE_KINDS)))]
                fid = f"F{day.toordinal()}{k:07d}"
                title = f"{c.topics[int(topics[j])].slug} {vocab.DOCUMENT_KINDS[int(rng.integers(6))]}"
                msg["files"] = [{"id": fid, "created": t, "name": f"{title.replace(' ', '-')}.{ext}", "title": title,
                                 "mimetype": mime, "filetype": ext, "user": c.slack_ids[a],
                                 "size": int(rng.integers(20_000, 5_000_000))}]
                stats["files"] += 1
            n_rep = int(replies_n[j])
            thread: list[dict[str, Any]] = []
            if n_rep:
                repliers = chooser.draw(rng, ch, n_rep)
                rt = t
                for r in range(n_rep):
                    rt = min(rt + int(rng.exponential(40 * 60)) + 30, start + 86399)
                    user = int(repliers[r])
                    reply = {"type": "message", "user": c.slack_ids[user], "text": reply_bodies[r_pos + r],
                             "ts": _ts(rt, k), "thread_ts": ts, "parent_user_id": c.slack_ids[a]}
                    k += 1
                    if rng.random() < 0.15:
                        reply["reactions"] = _reactions(rng, chooser, ch, user, c)
                        stats["reactions"] += sum(len(x["users"]) for x in reply["reactions"])
                    thread.append(reply)
                msg.update({"thread_ts": ts, "reply_count": n_rep,
                            "reply_users": sorted({x["user"] for x in thread}),
                            "replies": [{"user": x["user"], "ts": x["ts"]} for x in thread],
                            "latest_reply": thread[-1]["ts"]})
                stats["replies"] += n_rep
            r_pos += n_rep
            files.setdefault(ch, []).append(msg)
            files[ch].extend(thread)
            stats["messages"] += 1
    if day.weekday() < 5 and rng.random() < 0.8:
        bot_user, bot_id, eng = bot
        t = start + int(rng.integers(14 * 3600, 23 * 3600))
        files.setdefault(eng, []).append({
            "type": "message", "subtype": "bot_message", "bot_id": bot_id, "username": "deploybot",
            "text": f"Deployed release {day.strftime('%Y.%m.%d')} to production", "ts": _ts(t, 999_999),
        })
    return files


def _reactions(rng: np.random.Generator, chooser: _ChannelSampler, ch: int, author: int, c: Company) -> list[dict]:
    out = []
    emojis = rng.choice(len(vocab.SLACK_EMOJI), size=int(rng.integers(1, 4)), replace=False)
    for e in emojis.tolist():
        users = [int(x) for x in dict.fromkeys(chooser.draw(rng, ch, int(rng.integers(1, 6))).tolist()) if x != author]
        if users:
            out.append({"name": vocab.SLACK_EMOJI[e], "users": [c.slack_ids[x] for x in users], "count": len(users)})
    return out or [{"name": "thumbsup", "users": [c.slack_ids[(author + 1) % c.n]], "count": 1}]
