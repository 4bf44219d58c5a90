"""Stage 0: events and items resolved to people, one row per contribution, reaction or tie.

Events and items name people by identity key; `identities` maps every key to
its person. These event-level tables feed every metric (after assignment to
periods) and are kept in the store so that evidence can show the rows behind
any figure.

- contributions: what a person contributed (an authored item, an edit, a
  kudos given, a reply event), with its Activity weight.
- reactions: a response of someone (or of an anonymous voter) to a person's
  contribution, or a kudos to the person; self-reactions are dropped here, so
  no metric ever sees them.
- endorsements: follows and mentions (person to person), extra Eminence edges.
- ties: who interacted with whom, for Network (reactions, kudos, mentions,
  follows, message recipients, meeting co-attendance).
"""

from __future__ import annotations

from typing import Any

import ibis

from resonance.metrics.relations import dbl

REACTION_VERBS = {
    "Like": "like",
    "Announce": "share",
    "Add": "bookmark",
    "View": "read",
    "Tag": "tag",
    "Accept": "accept",
    "Reply": "reply",
    "Dislike": "dislike",
}
"""Verbs done to an item that are reactions to its author (Vote is split by its sign)."""

CONTRIBUTION_VERBS = {"Update": "edit", "Kudos": "kudos_given", "Reply": "reply", "Create": "other"}
"""Verbs that are contributions of their actor (Create only when its item is not in the store)."""


def _weights(kind: ibis.Value, weights: dict[str, float], default: float) -> ibis.Value:
    return kind.substitute({k: dbl(v) for k, v in weights.items()}, else_=dbl(default))


def _ids(identities: ibis.Table, key: str, person: str) -> ibis.Table:
    return identities.select(**{key: identities.identity, person: identities.person_id})


def contributions(
    events: ibis.Table, items: ibis.Table, identities: ibis.Table, rules: dict[str, Any]
) -> ibis.Table:
    """(event_id, time, person_id, item_id, kind, weight): each contribution with its Activity weight."""
    weights = rules["activity"]["weights"]
    authored = items.filter(items.created.notnull() & items.author.notnull())
    authors = _ids(identities, "_author", "person_id")
    from_items = authored.join(authors, authored.author == authors._author).select(
        event_id=ibis.literal("item:") + authored.item_id,
        time=authored.created,
        person_id=authors.person_id,
        item_id=authored.item_id,
        kind=authored.kind,
    )
    ev = events.filter(events.verb.isin(list(CONTRIBUTION_VERBS)) & events.actor.notnull())
    # A Create whose item is in the store is counted from the item (by its kind), not twice.
    known = items.select(_known=items.item_id)
    ev = ev.left_join(known, ev.object == known._known).filter(
        lambda t: (t.verb != "Create") | t._known.isnull()
    )
    actors = _ids(identities, "_actor", "person_id")
    ev = ev.join(actors, ev.actor == actors._actor)
    # A kudos to oneself is no contribution (nor a reaction): self-reactions never count.
    thanked = _ids(identities, "_thanked", "_thanked_id")
    ev = ev.left_join(thanked, (ev.verb == "Kudos") & (ev.object == thanked._thanked))
    ev = ev.filter(ev._thanked_id.isnull() | (ev._thanked_id != ev.person_id))
    from_events = ev.select(
        event_id=ev.event_id,
        time=ev.time,
        person_id=ev.person_id,
        item_id=ibis.ifelse(ev.object_type == "item", ev.object, ev.ctx_item),
        # A Create of an item the store lacks is a message when it was addressed to someone.
        kind=ibis.ifelse(
            (ev.verb == "Create") & (ev.recipients.length().fill_null(0) > 0),
            "message",
            ev.verb.substitute(CONTRIBUTION_VERBS),
        ),
    )
    both = from_items.union(from_events, distinct=False)
    return both.mutate(weight=_weights(both.kind, weights, rules["activity"]["default_weight"]))


def reactions(
    events: ibis.Table, items: ibis.Table, identities: ibis.Table, rules: dict[str, Any]
) -> ibis.Table:
    """(event_id, time, reactor_id, author_id, item_id, kind, ctx_meeting, ctx_account, ctx_opportunity,
    weight): responses to a person, with the business context of the event (a kudos's meeting, account,
    opportunity).

    reactor_id is NULL for anonymous reactions (Stack Exchange votes). Replies
    and answers stored as items (with a parent) are reactions to the parent's
    author. Kudos are reactions to the person thanked (item_id = the item
    named as its context, if any). Self-reactions are left out."""
    weights = rules["reaction"]["weights"]
    reactors = _ids(identities, "_actor", "reactor_id")
    authors = _ids(identities, "_author", "author_id")

    on_items = events.filter((events.object_type == "item") & (events.verb.isin([*REACTION_VERBS, "Vote"])))
    it = items.select(_item=items.item_id, _item_author=items.author)
    on_items = on_items.join(it, on_items.object == it._item)
    kind = ibis.ifelse(
        on_items.verb == "Vote",
        ibis.ifelse(on_items.value.fill_null(1.0) < 0, "vote_down", "vote_up"),
        on_items.verb.substitute(REACTION_VERBS),
    )
    on_items = on_items.mutate(_kind=kind)
    on_items = on_items.join(authors, on_items._item_author == authors._author)
    on_items = on_items.left_join(reactors, on_items.actor == reactors._actor)
    item_reactions = on_items.select(
        event_id=on_items.event_id,
        time=on_items.time,
        reactor_id=on_items.reactor_id,
        author_id=on_items.author_id,
        item_id=on_items.object,
        kind=on_items._kind,
        ctx_meeting=on_items.ctx_meeting,
        ctx_account=on_items.ctx_account,
        ctx_opportunity=on_items.ctx_opportunity,
    )

    kudos = events.filter(
        (events.verb == "Kudos") & (events.object_type == "person") & events.actor.notnull()
    )
    kudos = kudos.join(authors, kudos.object == authors._author)
    kudos = kudos.join(reactors, kudos.actor == reactors._actor)
    kudos_reactions = kudos.select(
        event_id=kudos.event_id,
        time=kudos.time,
        reactor_id=kudos.reactor_id,
        author_id=kudos.author_id,
        item_id=kudos.ctx_item,
        kind=ibis.literal("kudos"),
        ctx_meeting=kudos.ctx_meeting,
        ctx_account=kudos.ctx_account,
        ctx_opportunity=kudos.ctx_opportunity,
    )

    child = items.filter(items.parent_id.notnull() & items.created.notnull() & items.author.notnull())
    parent = items.select(_parent=items.item_id, _parent_author=items.author)
    child = child.join(parent, child.parent_id == parent._parent)
    child = child.join(authors, child._parent_author == authors._author)
    child = child.join(reactors, child.author == reactors._actor)
    reply_reactions = child.select(
        event_id=ibis.literal("item:") + child.item_id,
        time=child.created,
        reactor_id=child.reactor_id,
        author_id=child.author_id,
        item_id=child.parent_id,
        kind=ibis.ifelse(child.kind == "answer", "answer", "reply"),
        ctx_meeting=ibis.null("string"),
        ctx_account=ibis.null("string"),
        ctx_opportunity=ibis.null("string"),
    )

    allr = item_reactions.union(kudos_reactions, distinct=False).union(reply_reactions, distinct=False)
    allr = allr.filter(allr.reactor_id.isnull() | (allr.reactor_id != allr.author_id))
    return allr.mutate(weight=_weights(allr.kind, weights, 0.0))


def endorsements(events: ibis.Table, identities: ibis.Table) -> ibis.Table:
    """(event_id, time, source_id, target_id, kind): follows and mentions between people."""
    ev = events.filter(
        events.verb.isin(["Follow", "Mention"]) & (events.object_type == "person") & events.actor.notnull()
    )
    src = _ids(identities, "_actor", "source_id")
    dst = _ids(identities, "_object", "target_id")
    ev = ev.join(src, ev.actor == src._actor)
    ev = ev.join(dst, ev.object == dst._object)
    out = ev.select(
        event_id=ev.event_id,
        time=ev.time,
        source_id=ev.source_id,
        target_id=ev.target_id,
        kind=ev.verb.lower(),
    )
    return out.filter(out.source_id != out.target_id)


def ties(
    events: ibis.Table,
    reactions_t: ibis.Table,
    endorsements_t: ibis.Table,
    identities: ibis.Table,
    rules: dict[str, Any],
) -> ibis.Table:
    """(time, a, b, kind): a directed interaction between two people, for Network.

    Reactions and kudos (named only), follows and mentions, each recipient of a
    message, and every pair of attendees of a meeting (up to max_meeting_size)."""
    kinds = set(rules["network"]["kinds"])
    parts = []
    r = reactions_t.filter(reactions_t.reactor_id.notnull() & reactions_t.kind.isin(sorted(kinds)))
    parts.append(r.select(time=r.time, a=r.reactor_id, b=r.author_id, kind=r.kind))
    e = endorsements_t.filter(endorsements_t.kind.isin(sorted(kinds)))
    parts.append(e.select(time=e.time, a=e.source_id, b=e.target_id, kind=e.kind))
    src = _ids(identities, "_actor", "a")
    dst = _ids(identities, "_rcpt", "b")
    if "message" in kinds:
        m = events.filter(events.actor.notnull() & events.recipients.notnull() & (events.verb != "Kudos"))
        m = m.select(time=m.time, actor=m.actor, rcpt=m.recipients.unnest())
        m = m.join(src, m.actor == src._actor)
        m = m.join(dst, m.rcpt == dst._rcpt)
        parts.append(m.select(time=m.time, a=m.a, b=m.b, kind=ibis.literal("message")))
    if "meeting" in kinds:
        att = events.filter((events.verb == "Attend") & events.actor.notnull() & events.object.notnull())
        att = att.join(src, att.actor == src._actor).select(meeting=att.object, time=att.time, person=src.a)
        att = att.group_by(["meeting", "person"]).aggregate(time=att.time.min())
        # One time per meeting (its first attendance), so both directions of a pair land in one period.
        size = att.group_by("meeting").aggregate(_size=att.count(), _time=att.time.min())
        att = att.join(size, "meeting").filter(lambda t: t._size <= int(rules["network"]["max_meeting_size"]))
        att = att.select("meeting", "person", time="_time")
        other = att.select(_meeting=att.meeting, _other=att.person)
        pairs = att.join(other, (att.meeting == other._meeting) & (att.person != other._other))
        parts.append(
            pairs.select(time=pairs.time, a=pairs.person, b=pairs._other, kind=ibis.literal("meeting"))
        )
    out = parts[0]
    for p in parts[1:]:
        out = out.union(p, distinct=False)
    return out.filter(out.a != out.b)
