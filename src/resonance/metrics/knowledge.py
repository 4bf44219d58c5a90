"""Knowledge value: what each shared item is worth to others, and its sum per author.

Every reaction to an item in the period (including kudos that name the item as
their context, and helpfulness votes) adds

    kw(kind) * E(reactor) * B(reactor, author) * decay(age) * damp(reactor, author)

- kw: `[knowledge.weights]`: reuse (share, bookmark, accepted) above likes;
- E: the reactor's Eminence in the period (1 = average), clamped to
  [eminence_min, eminence_max]; anonymous reactors count 1 (average);
- B: `cross_department` if the reactor's department differs from the author's,
  times `cross_location` if the location differs, times `external` if the
  reactor is external (a customer): knowledge that crosses boundaries;
- decay: max(min_decay, 0.5 ^ (age / half_life_days)), age = days from the
  item's creation to the reaction: fresh knowledge in use counts most, evergreen
  items keep at least min_decay;
- damp: counted / volume of the (reactor, author) pair after anti-gaming (1 for
  anonymous reactions), so that rings do not inflate item values either.

An item's value is never below 0 (down votes can cancel, not subtract).
Knowledge value of a person = the sum of their items' values in the period.
"""

from __future__ import annotations

from typing import Any

import ibis

from resonance.metrics.relations import dbl, rounded

REUSE_KINDS = ("share", "bookmark", "accept")


def static_values(
    reactions: ibis.Table,
    items: ibis.Table,
    identities: ibis.Table,
    people: ibis.Table,
    rules: dict[str, Any],
) -> ibis.Table:
    """The factors of each reaction's value that do not depend on the period (the item, boundaries crossed,
    decay): (event_id, time, reactor_id, author_id, item_id, kind, item_author, item_kind, title, created,
    kw, b_factor, decay). Computed once per reaction, before the rows are repeated for every period."""
    cfg = rules["knowledge"]
    weights = {k: float(v) for k, v in cfg["weights"].items() if float(v) != 0}
    r = reactions.filter(reactions.item_id.notnull() & reactions.kind.isin(sorted(weights)))
    # Answers and comments have no title of their own: show the one they answer.
    parents = items.select(_pid=items.item_id, _ptitle=items.title)
    it = items.left_join(parents, items.parent_id == parents._pid)
    it = it.select(
        _item=it.item_id,
        _author=it.author,
        item_kind=it.kind,
        title=ibis.coalesce(it.title, ibis.literal("Re: ") + it._ptitle),
        created=it.created,
    )
    ids = identities.select(_identity=identities.identity, item_author=identities.person_id)
    r = r.join(it, r.item_id == it._item)
    r = r.join(ids, r._author == ids._identity)
    # The item's author (a kudos names the thanked person, who may not be the item's author).
    r = r.filter(r.reactor_id.isnull() | (r.reactor_id != r.item_author))
    who = people.select(
        _rid=people.person_id,
        _rd=people.department,
        _rl=people.location,
        _rx=people.is_external.fill_null(False),
    )
    auth = people.select(_aid=people.person_id, _ad=people.department, _al=people.location)
    r = r.left_join(who, r.reactor_id == who._rid)
    r = r.left_join(auth, r.item_author == auth._aid)
    b_factor = (
        ibis.ifelse(r._rd.notnull() & r._ad.notnull() & (r._rd != r._ad), dbl(cfg["cross_department"]), dbl(1.0))
        * ibis.ifelse(r._rl.notnull() & r._al.notnull() & (r._rl != r._al), dbl(cfg["cross_location"]), dbl(1.0))
        * ibis.ifelse(r._rx.fill_null(False), dbl(cfg["external"]), dbl(1.0))
    )
    # Whole seconds on every engine (Spark's epoch is whole seconds, DuckDB's has a fraction).
    seconds = r.time.epoch_seconds().floor().cast("int64") - r.created.epoch_seconds().floor().cast("int64")
    age_days = ibis.greatest(seconds.cast("float64") / dbl(86400.0), dbl(0.0)).fill_null(dbl(0.0))
    decay = ibis.greatest(dbl(cfg["min_decay"]), dbl(0.5) ** (age_days / dbl(cfg["half_life_days"])))
    kw = r.kind.substitute({k: dbl(v) for k, v in weights.items()}, else_=dbl(0.0))
    carried = ["period"] if "period" in reactions.columns else []
    return r.select(
        *carried,
        "time",
        "reactor_id",
        "author_id",
        "item_id",
        "kind",
        "item_author",
        "item_kind",
        "title",
        "created",
        kw=kw,
        b_factor=b_factor,
        decay=decay,
    )


def period_values(
    static_p: ibis.Table, pairs_t: ibis.Table, eminence_v: ibis.Table, rules: dict[str, Any]
) -> ibis.Table:
    """The value each reaction adds to an item in a period: (period, item_id, kind, author_id, item_kind,
    title, created, value), from `static_values` assigned to periods, the reactor's Eminence and the
    pair's anti-gaming damping in that period."""
    cfg = rules["knowledge"]
    r = static_p
    em = eminence_v.select(_ep=eminence_v.period, _eid=eminence_v.person_id, _em=eminence_v.value)
    r = r.left_join(em, (r.period == em._ep) & (r.reactor_id == em._eid))
    pr = pairs_t.select(
        _pp=pairs_t.period,
        _pr=pairs_t.reactor_id,
        _pa=pairs_t.author_id,
        _damp=pairs_t.counted / pairs_t.volume,
    )
    r = r.left_join(pr, (r.period == pr._pp) & (r.reactor_id == pr._pr) & (r.author_id == pr._pa))
    e_factor = ibis.ifelse(
        r.reactor_id.isnull(),
        dbl(1.0),
        ibis.greatest(dbl(cfg["eminence_min"]), ibis.least(dbl(cfg["eminence_max"]), r._em.fill_null(dbl(1.0)))),
    )
    return r.select(
        "period",
        "item_id",
        "kind",
        author_id=r.item_author,
        item_kind=r.item_kind,
        title=r.title,
        created=r.created,
        value=r.kw * e_factor * r.b_factor * r.decay * r._damp.fill_null(1.0),
    )


def reaction_values(
    reactions_p: ibis.Table,
    pairs_t: ibis.Table,
    eminence_v: ibis.Table,
    items: ibis.Table,
    identities: ibis.Table,
    people: ibis.Table,
    rules: dict[str, Any],
) -> ibis.Table:
    """The value each reaction adds to an item: (period, item_id, kind, author_id, item_kind, title,
    created, value), from reactions already assigned to periods."""
    return period_values(static_values(reactions_p, items, identities, people, rules), pairs_t, eminence_v, rules)


def summarize(contrib_m: ibis.Table) -> tuple[ibis.Table, ibis.Table]:
    """From the value of each reaction: (item_value rows, breakdown by person and kind)."""
    per_item = contrib_m.group_by(
        ["period", "item_id", "author_id", "item_kind", "title", "created"]
    ).aggregate(
        raw=contrib_m.value.sum(),
        reactions=contrib_m.count(),
        reuse=contrib_m.kind.isin(list(REUSE_KINDS)).cast("int64").sum(),
    )
    item_rows = per_item.select(
        "period",
        "item_id",
        "author_id",
        kind=per_item.item_kind,
        title=per_item.title,
        created=per_item.created,
        value=rounded(ibis.greatest(per_item.raw, dbl(0.0))),
        reactions=per_item.reactions.cast("int64"),
        reuse=per_item.reuse.cast("int64"),
    )
    breakdown = contrib_m.group_by(["period", contrib_m.author_id.name("person_id"), "kind"]).aggregate(
        value=contrib_m.value.sum()
    )
    return item_rows, breakdown


def item_values(
    reactions_p: ibis.Table,
    pairs_t: ibis.Table,
    eminence_v: ibis.Table,
    items: ibis.Table,
    identities: ibis.Table,
    people: ibis.Table,
    rules: dict[str, Any],
) -> tuple[ibis.Table, ibis.Table]:
    """(item_value rows (period, item_id, author_id, kind, title, created, value, reactions, reuse),
    breakdown (period, person_id, kind, value))."""
    return summarize(reaction_values(reactions_p, pairs_t, eminence_v, items, identities, people, rules))


def knowledge_totals(item_rows: ibis.Table) -> ibis.Table:
    """(period, person_id, value): the sum of a person's item values."""
    return item_rows.group_by(["period", item_rows.author_id.name("person_id")]).aggregate(
        value=item_rows.value.sum()
    )
