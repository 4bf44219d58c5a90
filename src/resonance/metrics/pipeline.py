"""The metrics pipeline: orders the stages and writes the metric tables.

    events, items, identities, people
        -> resolve  (contributions, reactions, endorsements, ties: event level, resolved to people)
        -> periods  (each row once per period that holds it)
        -> activity, anti-gaming pairs -> reaction, eminence -> knowledge value, network, persona
        -> person_metrics -> percentiles
        -> the store (per period: delete that period's rows, insert; one transaction)

Every stage is a pure function of Ibis tables, so the same code runs inside
DuckDB (default) or on Spark (`engine="spark"`). Each period is computed from its
own rows only, so recomputing a few periods (`periods=[...]`) leaves the others
as they are: the basis of incremental compute.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

import duckdb
import ibis

from resonance.metrics import activity as activity_mod
from resonance.metrics import (
    antigaming,
    eminence,
    knowledge,
    network,
    percentiles,
    persona,
    reaction,
    resolve,
)
from resonance.metrics import (
    incremental as incr,
)
from resonance.metrics.engine import Engine, make_engine
from resonance.metrics.periods import _ROLLING, CALENDAR_TYPES, Period, assign, periods_table, select_periods
from resonance.metrics.persona import persona_rules
from resonance.metrics.relations import rounded
from resonance.metrics.rules import load_rules, rules_hash
from resonance.metrics.tables import EVENT_TABLES, PERIOD_TABLES, ensure_metric_tables, insert_in_order
from resonance.store.db import transaction

METRICS = ("activity", "reaction", "eminence", "network", "knowledge_value")
"""The metrics every person has per period (keys of person_report's `metrics`)."""

Progress = Callable[[str, int, int], None]
"""progress(stage, done, total): called as each stage starts (done = stages finished)."""

TABLE_COLUMNS = {
    "metric_contributions": ["event_id", "time", "person_id", "item_id", "kind", "weight"],
    "metric_reactions": ["event_id", "time", "reactor_id", "author_id", "item_id", "kind", "weight",
                         "ctx_meeting", "ctx_account", "ctx_opportunity"],
    "person_metrics": ["period", "person_id", "metric", "value"],
    "person_breakdown": ["period", "person_id", "metric", "kind", "value"],
    "person_percentiles": ["period", "person_id", "metric", "peer_group", "peer_key", "peers", "percentile"],
    "person_persona": ["period", "person_id", "persona", "contributions", "given", "received", "reads"],
    "item_value": [
        "period",
        "item_id",
        "author_id",
        "kind",
        "title",
        "created",
        "value",
        "reactions",
        "reuse",
    ],
    "person_network": [
        "period",
        "person_id",
        "partners",
        "reach2",
        "departments",
        "locations",
        "external_contacts",
        "effective_size",
        "burt_constraint",
        "betweenness",
        "community",
        "community_size",
        "value",
    ],
    "person_reach": ["period", "person_id", "dimension", "name", "partners"],
    "person_ties": ["period", "person_id", "partner_id", "interactions"],
    "reaction_pairs": [
        "period",
        "reactor_id",
        "author_id",
        "volume",
        "reciprocal_volume",
        "allowance",
        "counted",
        "damped",
    ],
}

STAGES = (
    "resolve",
    "periods",
    "activity",
    "reaction",
    "eminence",
    "knowledge",
    "network",
    "persona",
    "percentiles",
    "write",
)


def run_pipeline(
    con: duckdb.DuckDBPyConnection,
    engine: str = "duckdb",
    periods: Sequence[str] | None = None,
    rules: dict[str, Any] | None = None,
    progress: Progress | None = None,
    spark_master: str | None = None,
    spark_session: Any = None,
    as_of: datetime | None = None,
    incremental: bool = False,
    memory_limit: str | None = None,
    events_parquet: str | None = None,
) -> dict[str, Any]:
    """Compute every metric for the chosen periods and write the metric tables.

    `periods`: labels (`2026-03`, `r90:2026-03-31`) and/or types (`month`, `week`,
    `r90`, `all`); None = every period of the default types over the data's time
    range. `engine`: 'duckdb' (in the store) or 'spark' (local[2], or
    `spark_master`; `spark_session` reuses an existing session). Returns a summary:
    run_id, engine, periods, people, rows written per table, seconds per stage.
    `as_of`: nothing dated after it counts (default: now, UTC; or `[periods] as_of`
    in the rules) — calendars and CRMs hold future meetings and close dates, which
    must not open periods that have not happened yet.
    `events_parquet` (Spark only): read the events from that Parquet lake (a folder or
    Hadoop URI written by `resonance export-events`, see metrics/lake.py) instead of the store.

    `incremental=True`: when the last compute kept the same period types up to date
    with the same rules, recompute only the periods touched since (new or late
    events, see incremental.py); otherwise (or when identities or people changed)
    compute everything. The summary says which: `mode` is `incremental`, `full`
    (with `full_reason` when an incremental one was asked for) or `periods` (chosen
    labels: the state is cleared, so the next incremental compute is a full one);
    `periods_recomputed` lists the labels computed. `memory_limit` bounds DuckDB's memory during the
    compute (default: Settings' `RESONANCE_MEMORY_LIMIT`, 2GB; beyond it DuckDB spills to disk). With
    `events_parquet` the compute is always full (the lake's events are not tracked).
    """
    rules = rules if rules is not None else load_rules()
    ensure_metric_tables(con)
    run_id = int(con.execute("SELECT nextval('metric_run_seq')").fetchall()[0][0])
    con.execute(
        """INSERT INTO metric_runs (run_id, engine, started_at, status, rules_hash, rules)
           VALUES (?, ?, now()::TIMESTAMP, 'running', ?, ?)""",
        [run_id, engine, rules_hash(rules), json.dumps(rules)],
    )
    timings: dict[str, float] = {}
    started = time.perf_counter()
    summary: dict[str, Any] = {"run_id": run_id, "engine": engine}
    eng: Engine | None = None
    try:
        cutoff = as_of or _rules_as_of(rules) or datetime.now(UTC).replace(tzinfo=None)
        summary["as_of"] = cutoff.isoformat()
        types = _types_only(periods, rules)
        fp = incr.fingerprint(con) if types is not None and not events_parquet else None
        scope: incr.Scope | None = None
        summary["mode"] = "full" if types is not None else "periods"
        if incremental and types is not None and fp is not None:
            try:
                scope = incr.plan(con, types, rules_hash(rules), cutoff, fp)
                summary["mode"] = "incremental"
            except incr.NeedFull as exc:
                summary["full_reason"] = str(exc)
        timings["plan"] = round(time.perf_counter() - started, 3)
        if scope is not None and not scope.windows:
            return _nothing_to_do(con, summary, scope, types or [], rules, cutoff, fp, run_id, started, timings)
        t0 = time.perf_counter()
        eng = make_engine(con, engine, spark_master=spark_master, spark_session=spark_session,
                          events_parquet=events_parquet, memory_limit=memory_limit)
        timings["start_engine"] = round(time.perf_counter() - t0, 3)
        try:
            outputs, chosen, bounds = _compute(eng, periods, rules, progress, timings, cutoff, scope)
        except incr.NeedFull as exc:
            summary["mode"], summary["full_reason"], scope = "full", str(exc), None
            outputs, chosen, bounds = _compute(eng, periods, rules, progress, timings, cutoff, None)
        if scope is not None:
            summary["touched_days"] = scope.touched_days
        summary["periods"] = len(chosen)
        summary["periods_recomputed"] = [p.label for p in chosen]
        summary["period_types"] = sorted({p.type for p in chosen})
        if chosen:
            summary["first_period_start"] = min(p.start for p in chosen).isoformat()
            summary["last_period_end"] = max(p.end for p in chosen).isoformat()
        t0 = time.perf_counter()
        _step(progress, "write")
        state = None
        if types is not None and fp is not None:
            state = (types, rules_hash(rules), cutoff, fp, bounds)
        summary["rows"] = _write(con, eng, outputs, chosen, run_id, rules, scope, state)
        timings["write"] = round(time.perf_counter() - t0, 3)
        summary["people"] = (
            int(
                con.execute(
                    "SELECT count(DISTINCT person_id) FROM person_metrics"
                    " WHERE period IN (SELECT unnest(?::VARCHAR[]))",
                    [[p.label for p in chosen]],
                ).fetchall()[0][0]
            )
            if chosen
            else 0
        )
        summary["seconds"] = timings
        summary["total_seconds"] = round(time.perf_counter() - started, 3)
        con.execute(
            """UPDATE metric_runs
               SET finished_at = now()::TIMESTAMP, status = 'done', periods = ?, summary = ?
               WHERE run_id = ?""",
            [[p.label for p in chosen], json.dumps(summary), run_id],
        )
        return summary
    except BaseException as exc:
        con.execute(
            "UPDATE metric_runs SET finished_at = now()::TIMESTAMP, status = 'failed', error = ?"
            " WHERE run_id = ?",
            [f"{type(exc).__name__}: {exc}", run_id],
        )
        raise
    finally:
        if eng is not None:
            eng.close()


def _types_only(periods: Sequence[str] | None, rules: dict[str, Any]) -> list[str] | None:
    """The period types a compute keeps up to date, or None when it names periods by label."""
    default = list(rules["periods"]["types"])
    types: list[str] = []
    for spec in periods or []:
        for part in str(spec).split(","):
            part = part.strip()
            if not part:
                continue
            if part == "all":
                types.extend(default)
            elif part in CALENDAR_TYPES or _ROLLING.match(part):
                types.append(part)
            else:
                return None
    return sorted(set(types or default))


def _nothing_to_do(
    con: duckdb.DuckDBPyConnection,
    summary: dict[str, Any],
    scope: incr.Scope,
    types: list[str],
    rules: dict[str, Any],
    cutoff: datetime,
    fp: incr.Fingerprint | None,
    run_id: int,
    started: float,
    timings: dict[str, float],
) -> dict[str, Any]:
    """An incremental compute with nothing new: record the state (the as-of moved on) and the run."""
    assert fp is not None
    with transaction(con):
        incr.save_state(con, run_id, types, rules_hash(rules), cutoff, fp, scope.state.first_time,
                        scope.state.last_time)
    summary.update(periods=0, periods_recomputed=[], touched_days=0, period_types=types, rows={}, people=0,
                   seconds=timings, total_seconds=round(time.perf_counter() - started, 3))
    con.execute(
        """UPDATE metric_runs SET finished_at = now()::TIMESTAMP, status = 'done', periods = ?, summary = ?
           WHERE run_id = ?""",
        [[], json.dumps(summary), run_id],
    )
    return summary


def _step(progress: Progress | None, stage: str) -> None:
    if progress is not None:
        progress(stage, STAGES.index(stage), len(STAGES))


def _rules_as_of(rules: dict[str, Any]) -> datetime | None:
    value = rules.get("periods", {}).get("as_of")
    return datetime.fromisoformat(str(value)) if value else None


def _compute(
    eng: Engine,
    period_specs: Sequence[str] | None,
    rules: dict[str, Any],
    progress: Progress | None,
    timings: dict[str, float],
    as_of: datetime,
    scope: incr.Scope | None = None,
) -> tuple[dict[str, ibis.Table], list[Period], tuple[datetime | None, datetime | None]]:
    """Run every stage; returns the materialised output tables by store table name, the periods, and the
    time range of the data. With a scope, only rows inside its windows are resolved and only its
    candidate periods computed."""
    clock = [time.perf_counter()]

    def lap(name: str) -> None:
        now = time.perf_counter()
        timings[name] = round(now - clock[0], 3)
        clock[0] = now

    _step(progress, "resolve")
    events, items, identities, people = (eng.input(n) for n in ("events", "items", "identities", "people"))
    events = events.filter(events.time <= ibis.literal(as_of, type="timestamp"))

    def inside(t: ibis.Table) -> ibis.Table:
        return t if scope is None else t.filter(_in_windows(t.time, scope.windows))

    people = eng.materialize(people, "people")
    if scope is None:
        contrib = eng.materialize(resolve.contributions(events, items, identities, rules), "contrib")
        react = eng.materialize(resolve.reactions(events, items, identities, rules), "react")
        new_contrib, new_react = contrib, react
    else:
        # Rows in the windows, plus every attendance of a meeting attended there (a meeting's ties
        # depend on all its attendees).
        attended = inside(events.filter(events.verb == "Attend"))
        attended = attended.select(_meeting=attended.object)
        events = eng.materialize(
            events.filter(
                _in_windows(events.time, scope.windows)
                | ((events.verb == "Attend") & events.object.isin(attended._meeting))
            ),
            "events_w",
        )
        contrib, new_contrib = _reuse_or_resolve(eng, scope, events, "stored_contributions", "contrib",
                                                 lambda ev: resolve.contributions(ev, items, identities, rules))
        react, new_react = _reuse_or_resolve(eng, scope, events, "stored_reactions", "react",
                                             lambda ev: resolve.reactions(ev, items, identities, rules))
    endorse = eng.materialize(inside(resolve.endorsements(events, identities)), "endorse")
    ties = eng.materialize(inside(resolve.ties(events, react, endorse, identities, rules)), "ties")
    lap("resolve")

    _step(progress, "periods")
    times = (
        contrib.select("time")
        .union(react.select("time"), distinct=False)
        .union(endorse.select("time"), distinct=False)
        .union(ties.select("time"), distinct=False)
    )
    bounds = eng.to_arrow(times.aggregate(first=times.time.min(), last=times.time.max())).to_pylist()[0]
    first, last = _as_datetime(bounds["first"]), _as_datetime(bounds["last"])
    if scope is not None:
        first, last = scope.bounds(first, last)
    chosen = select_periods(period_specs, first, last, rules["periods"]["types"])
    if scope is not None:
        chosen = [p for p in chosen if p.label in scope.candidates]
    outputs: dict[str, ibis.Table] = {"metric_contributions": new_contrib, "metric_reactions": new_react}
    if not chosen:
        lap("periods")
        return outputs, chosen, (first, last)
    ptab = eng.upload(periods_table(chosen), "periods")
    contrib_p = eng.materialize(assign(contrib, ptab), "contrib_p")
    react_p = eng.materialize(assign(react, ptab), "react_p")
    endorse_p = eng.materialize(assign(endorse, ptab), "endorse_p")
    ties_p = eng.materialize(assign(ties, ptab), "ties_p")
    # Intermediates are dropped after their last use: at 10M events each is gigabytes of DuckDB's spill
    # files (its memory limit holds the rest on disk), and together they once filled the disk.
    eng.release(endorse)
    eng.release(ties)
    lap("periods")

    _step(progress, "activity")
    activity_b = eng.materialize(activity_mod.activity(contrib_p, rules), "activity")
    lap("activity")

    _step(progress, "reaction")
    pairs = eng.materialize(antigaming.pairs(react_p, rules), "pairs")
    reaction_b = eng.materialize(reaction.reaction(react_p, pairs, rules), "reaction")
    lap("reaction")

    _step(progress, "eminence")
    participants = (
        contrib_p.select("period", "person_id")
        .union(
            react_p.filter(react_p.reactor_id.notnull()).select("period", person_id=react_p.reactor_id),
            distinct=True,
        )
        .union(react_p.select("period", person_id=react_p.author_id), distinct=True)
    )
    eminence_v, eminence_b = eminence.eminence(eng, react_p, pairs, endorse_p, participants, rules)
    eminence_v = eng.materialize(eminence_v, "eminence_v")
    eminence_b = eng.materialize(eminence_b, "eminence_b")
    eng.release(endorse_p)
    lap("eminence")

    _step(progress, "knowledge")
    # The period-independent factors once per reaction, then repeated for its periods.
    static = eng.materialize(knowledge.static_values(react, items, identities, people, rules), "knowledge_s")
    values = eng.materialize(knowledge.period_values(assign(static, ptab), pairs, eminence_v, rules), "knowledge_r")
    item_rows, knowledge_b = knowledge.summarize(values)
    item_rows = eng.materialize(item_rows, "item_value")
    knowledge_b = eng.materialize(knowledge_b, "knowledge_b")
    eng.release(values)
    eng.release(static)
    lap("knowledge")

    _step(progress, "network")
    network_t, reach_t, network_b, partners_t = network.network(eng, ties_p, people, rules)
    reach_t = eng.materialize(reach_t, "reach")
    network_b = eng.materialize(network_b, "network_b")
    lap("network")

    _step(progress, "persona")
    persona_t = eng.materialize(persona.personas(contrib_p, react_p, rules), "persona")
    lap("persona")

    _step(progress, "percentiles")

    def totals(b: ibis.Table, metric: str) -> ibis.Table:
        s = b.group_by(["period", "person_id"]).aggregate(value=b.value.sum())
        return s.select("period", "person_id", metric=ibis.literal(metric), value=s.value)

    metrics = (
        totals(activity_b, "activity")
        .union(totals(reaction_b, "reaction"), distinct=False)
        .union(
            eminence_v.select("period", "person_id", metric=ibis.literal("eminence"), value=eminence_v.value),
            distinct=False,
        )
        .union(
            network_t.select("period", "person_id", metric=ibis.literal("network"), value=network_t.value),
            distinct=False,
        )
        .union(
            knowledge.knowledge_totals(item_rows).select(
                "period", "person_id", metric=ibis.literal("knowledge_value"), value="value"
            ),
            distinct=False,
        )
    )
    metrics = eng.materialize(metrics.mutate(value=rounded(metrics.value)), "person_metrics")

    def labelled(b: ibis.Table, metric: str) -> ibis.Table:
        return b.select(
            "period",
            "person_id",
            metric=ibis.literal(metric),
            kind=b.kind.cast("string"),
            value=rounded(b.value),
        )

    breakdown = (
        labelled(activity_b, "activity")
        .union(labelled(reaction_b, "reaction"), distinct=False)
        .union(labelled(eminence_b, "eminence"), distinct=False)
        .union(labelled(network_b, "network"), distinct=False)
        .union(labelled(knowledge_b, "knowledge_value"), distinct=False)
    )
    pct = eng.materialize(percentiles.percentiles(metrics, people, rules), "percentiles")
    lap("percentiles")

    p = pairs
    outputs.update(
        {
            "person_metrics": metrics,
            "person_breakdown": breakdown,
            "person_percentiles": pct,
            "person_persona": persona_t,
            "item_value": item_rows,
            "person_network": network_t,
            "person_reach": reach_t,
            "person_ties": partners_t.select(
                "period", "person_id", "partner_id", interactions=partners_t.weight.cast("int64")
            ),
            "reaction_pairs": p.mutate(
                volume=rounded(p.volume),
                reciprocal_volume=rounded(p.reciprocal_volume),
                counted=rounded(p.counted),
            ),
        }
    )
    return outputs, chosen, (first, last)


def _reuse_or_resolve(
    eng: Engine,
    scope: incr.Scope,
    events: ibis.Table,
    stored_name: str,
    name: str,
    resolve_fn: Callable[[ibis.Table], ibis.Table],
) -> tuple[ibis.Table, ibis.Table]:
    """Event-level rows inside the scope's windows: resolved afresh on the touched days, read back from
    the store on the others. Returns (all rows in the windows, the fresh rows)."""
    days = scope.day_windows
    fresh = resolve_fn(events.filter(_in_windows(events.time, days)))
    fresh = eng.materialize(fresh.filter(_in_windows(fresh.time, days)), f"{name}_new")
    old = eng.input(stored_name)
    old = old.filter(_in_windows(old.time, scope.windows) & ~_in_windows(old.time, days))
    old = old.select(*[old[c].cast(t) for c, t in fresh.schema().items()])
    return eng.materialize(old.union(fresh, distinct=False), name), fresh


def _in_windows(t: ibis.TimestampValue, windows: list[tuple[datetime, datetime]]) -> ibis.BooleanValue:
    """t lies in one of the half-open windows."""
    conds = [
        (t >= ibis.literal(lo, type="timestamp")) & (t < ibis.literal(hi, type="timestamp")) for lo, hi in windows
    ]
    out = conds[0]
    for c in conds[1:]:
        out = out | c
    return out


def _as_datetime(value: Any) -> datetime | None:
    if value is None:
        return None
    if hasattr(value, "to_pydatetime"):
        value = value.to_pydatetime()
    if getattr(value, "tzinfo", None) is not None:
        value = value.replace(tzinfo=None)
    return value


def _write(
    con: duckdb.DuckDBPyConnection,
    eng: Engine,
    outputs: dict[str, ibis.Table],
    chosen: list[Period],
    run_id: int,
    rules: dict[str, Any],
    scope: incr.Scope | None = None,
    state: tuple[Any, ...] | None = None,
) -> dict[str, int]:
    """Replace the chosen periods' rows (and the event-level tables: all of them, or those inside the
    scope's windows) and record the compute state, in one transaction."""
    labels = [p.label for p in chosen]
    # Results computed by Spark are collected first, so the store's transaction stays short.
    arrow = {}
    if eng.name != "duckdb":
        arrow = {name: eng.to_arrow(expr.select(*TABLE_COLUMNS[name])) for name, expr in outputs.items()}
    writer = eng.cursor if eng.name == "duckdb" else con.cursor()  # type: ignore[attr-defined]
    counts: dict[str, int] = {}
    try:
        with transaction(writer):
            for name in EVENT_TABLES:
                if scope is None:
                    writer.execute(f"DELETE FROM {name}")
                else:
                    for lo, hi in scope.day_windows:  # only the touched days' rows were resolved afresh
                        writer.execute(f"DELETE FROM {name} WHERE time >= ? AND time < ?", [lo, hi])
            stored = {r[0] for r in writer.execute("SELECT period FROM metric_periods").fetchall()}
            everything = stored <= set(labels)  # a full compute: emptying a table is far cheaper than a filter
            for name in (*PERIOD_TABLES, "metric_periods"):
                if everything:
                    writer.execute(f"DELETE FROM {name}")
                else:
                    writer.execute(f"DELETE FROM {name} WHERE period IN (SELECT unnest(?::VARCHAR[]))", [labels])
            for p in chosen:
                writer.execute(
                    """INSERT INTO metric_periods
                           (period, period_type, period_start, period_end, run_id, computed_at)
                       VALUES (?, ?, ?, ?, ?, now()::TIMESTAMP)""",
                    [p.label, p.type, p.start, p.end, run_id],
                )
            reasons, reason_params = _persona_reason_sql(rules)
            for name, expr in outputs.items():
                cols = ", ".join(TABLE_COLUMNS[name])
                if eng.name == "duckdb":
                    # Straight from the expression (no intermediate copy when it is not materialised yet).
                    name_of = eng.table_name(expr)
                    source = f'"{name_of}"' if name_of else f"({eng.sql(expr)})"
                    is_table = name_of is not None
                else:
                    writer.register("_metric_out", arrow[name])
                    source, is_table = "_metric_out", True
                extra, params = ("", [])
                if name == "person_persona":  # each persona's rule and reason, with the person's own figures
                    extra, params = reasons, reason_params
                insert = f"INSERT INTO {name} ({cols}{', rule, reason' if extra else ''}) SELECT {cols}{extra}"
                counts[name] = insert_in_order(
                    writer, name, insert, source, is_table, params, labels if name in PERIOD_TABLES else None
                )
                if eng.name != "duckdb":
                    writer.unregister("_metric_out")
            for name in EVENT_TABLES:
                if name in outputs and scope is not None:
                    counts[name] = int(writer.execute(f"SELECT count(*) FROM {name}").fetchall()[0][0])
            if state is None:
                incr.clear_state(writer)
            else:
                types, digest, cutoff, fp, (first, last) = state
                incr.save_state(writer, run_id, types, digest, cutoff, fp, first, last)
    finally:
        if eng.name != "duckdb":
            writer.close()
    return counts


PERSONA_REASON_SQL = """\
CASE persona
  WHEN 'Observer' THEN
    CASE WHEN given = 0 AND reads = 0 THEN 'No contributions and no reactions given in this period.'
         ELSE printf('No contributions; you gave %.1f reaction points and read %d items.',
                     given, reads)
    END
  WHEN 'Catalyst' THEN printf('Your %d contributions drew %.1f reaction points while you gave '
                              || '%.1f: others respond to you far more than you respond to them.',
                              contributions, received, given)
  WHEN 'Responder' THEN printf('You gave %.1f reaction points and received %.1f: you respond to '
                               || 'others far more than they respond to you.', given, received)
  WHEN 'Broadcaster' THEN printf('You made %d contributions but gave only %.1f reaction points to '
                                 || 'others.', contributions, given)
  ELSE printf('You gave %.1f reaction points and received %.1f, with %d contributions: '
              || 'a balanced give and take.', given, received, contributions)
END"""
"""Each persona's reason with the person's own figures; `printf` exists in DuckDB and Spark SQL alike
(the Spark lake writer uses the same expression)."""


def _persona_reason_sql(rules: dict[str, Any]) -> tuple[str, list[Any]]:
    """The select-list tail `, rule, reason` for person_persona rows: each persona's rule (with the
    thresholds) and its reason (with the person's own figures), and its parameters."""
    words = persona_rules(rules)
    sql = """,
          CASE persona WHEN 'Observer' THEN ? WHEN 'Catalyst' THEN ? WHEN 'Responder' THEN ?
                       WHEN 'Broadcaster' THEN ? ELSE ? END,
          """ + PERSONA_REASON_SQL
    return sql, [words["Observer"], words["Catalyst"], words["Responder"], words["Broadcaster"], words["Engager"]]
