"""`resonance experts | expertise | opportunities | influence | intro`: knowledge and network value.

Thin faces over `resonance.knowledge`: the same operations the API and the
dashboard call. "Now" is the latest time in the store unless `--as-of` says
otherwise, so results are reproducible.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from resonance.cli.app import DbOption, JsonOption, app, console, fail, print_json, store_for
from resonance.knowledge.people import NotFound, resolve_person

AsOfOption = Annotated[
    str | None, typer.Option("--as-of", help="Rank as of this date or time (default: the latest event in the store).")
]
TopOption = Annotated[int, typer.Option("--top", min=1, max=1000, help="How many to show.")]


def _person(con: Any, ref: str) -> str:
    try:
        return resolve_person(con, ref)
    except NotFound as exc:
        fail(str(exc))
        raise  # unreachable: fail() exits


def _embedder(use: bool) -> Any:
    if not use:
        return None
    from resonance.knowledge.embeddings import Embedder, EmbeddingsUnavailable

    try:
        return Embedder()
    except EmbeddingsUnavailable as exc:
        fail(str(exc))


@app.command()
def experts(
    question: Annotated[str | None, typer.Argument(help="The question text.")] = None,
    tags: Annotated[str | None, typer.Option(help="Tags, comma-separated.")] = None,
    top: TopOption = 10,
    asker: Annotated[
        str | None, typer.Option(help="Who asks (person id, identity, e-mail or name): close experts first.")
    ] = None,
    batch: Annotated[
        Path | None,
        typer.Option(help='JSON lines {"id","title","body","tags"}; prints one JSON line per question ("-" = stdin).'),
    ] = None,
    as_of: AsOfOption = None,
    embeddings: Annotated[bool, typer.Option(help="Blend in semantic embeddings (optional extra).")] = False,
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """Who can answer this question? Ranked by content match x how others valued their
    contributions x recency, with the evidence; `--asker` puts close colleagues first among equals."""
    from resonance.knowledge.experts import Question, find_experts
    from resonance.knowledge.index import build_index

    if (question is None) == (batch is None):
        fail('give either a question ("...") or --batch FILE')
    embedder = _embedder(embeddings)
    with store_for(db, read_only=True) as store:
        con = store.con
        index = build_index(con, as_of=as_of)
        if embedder is not None:
            from resonance.knowledge.embeddings import embed_index

            embed_index(index, embedder)
            index.model = index.model.with_(embedding_weight=0.5)
        if batch is not None:
            _experts_batch(con, index, batch, top, embedder)
            return
        asker_id = _person(con, asker) if asker else None
        q = Question(text=question or "", tags=[t for t in (tags or "").split(",") if t.strip()], asker=asker_id)
        result = find_experts(con, [q], top=top, index=index, personalise_for=asker_id, embedder=embedder)[0]
    if as_json:
        print_json({"question": question, "tags": q.tags, "asker": asker_id, "as_of": index.corpus.as_of,
                    "experts": result})
        return
    if not result:
        console.print("[yellow]no one has contributed on this yet[/]")
        return
    table = Table("#", "person", "department", "score", "why", *(["path"] if asker_id else []))
    for e in result:
        path = " → ".join(p["display_name"] or p["person"] for p in e.get("path") or [])
        table.add_row(str(e["rank"]), e["display_name"] or e["person"], e["department"] or "",
                      f"{e['score']:.3f}", e["why"], *([path] if asker_id else []))
    console.print(table)


def _experts_batch(con: Any, index: Any, batch: Path, top: int, embedder: Any) -> None:
    from resonance.knowledge.experts import find_experts, question_from_record

    stream = sys.stdin if str(batch) == "-" else None
    try:
        handle = stream or batch.open(encoding="utf-8")
    except OSError as exc:
        fail(f"cannot read {batch}: {exc.strerror or exc}")
    questions, bad = [], 0
    with handle:
        for n, line in enumerate(handle, 1):
            if not line.strip():
                continue
            try:
                questions.append(question_from_record(json.loads(line), n))
            except (ValueError, json.JSONDecodeError) as exc:
                bad += 1
                sys.stderr.write(f"{batch}:{n}: skipped: {exc}\n")  # one plain line per bad record
    chunk = 256  # bounded memory: questions x contributions scores per chunk
    for start in range(0, len(questions), chunk):
        part = questions[start:start + chunk]
        results = find_experts(con, part, top=top, index=index, embedder=embedder)
        for q, rows in zip(part, results, strict=True):
            out = {"id": q.id, "experts": [
                {"person": r["person"], "identities": r["identities"], "score": r["score"], "why": r["why"]}
                for r in rows]}
            sys.stdout.write(json.dumps(out, ensure_ascii=False, default=str) + "\n")
    sys.stdout.flush()
    if bad and not questions:
        raise typer.Exit(1)


@app.command()
def expertise(
    person: Annotated[str, typer.Argument(help="Person id, identity key, e-mail or full name.")],
    top: TopOption = 10,
    as_of: AsOfOption = None,
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """What PERSON knows: topics (tags, terms) from what they wrote and what others valued, with evidence."""
    from resonance.knowledge.expertise import expertise_profile
    from resonance.knowledge.people import person_info

    with store_for(db, read_only=True) as store:
        pid = _person(store.con, person)
        profile = expertise_profile(store.con, pid, as_of=as_of, top=top)
        profile["person"] = person_info(store.con, pid)
    if as_json:
        print_json(profile)
        return
    p = profile["person"]
    console.print(f"[bold]{p.get('display_name') or pid}[/] — {profile['contributions']} contributions "
                  f"as of {profile['as_of']:%Y-%m-%d}; valued: {profile['valued']}")
    table = Table("tag", "rank", "items", "accepted", "votes", "reuse", "kudos", "best evidence")
    for t in profile["tags"]:
        ev = t["evidence"][0] if t["evidence"] else {}
        table.add_row(t["tag"], f"{t['rank']} of {t['of']}", str(t["items"]), str(t["accepted"]), str(t["votes"]),
                      str(t["reuse"]), str(t["kudos"]), str(ev.get("title") or ev.get("item_id") or ""))
    console.print(table)
    if profile["terms"]:
        console.print("terms: " + ", ".join(t["term"] for t in profile["terms"]))


@app.command()
def opportunities(
    person: Annotated[str, typer.Argument(help="Person id, identity key, e-mail or full name.")],
    top: TopOption = 20,
    as_of: AsOfOption = None,
    crm_visibility: Annotated[
        str, typer.Option(help="What the CRM lets people see: public-read, crm-users or team.")
    ] = "public-read",
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """Opportunities for PERSON to help, ranked, each with why and when: open questions in their areas,
    open deals at customers they know, upcoming customer meetings with their contacts."""
    from resonance.knowledge.demand import DemandPolicy, opportunities_to_help

    if crm_visibility not in ("public-read", "crm-users", "team"):
        fail("--crm-visibility must be public-read, crm-users or team")
    with store_for(db, read_only=True) as store:
        pid = _person(store.con, person)
        result = opportunities_to_help(store.con, pid, as_of=as_of, top=top,
                                       policy=DemandPolicy(crm_visibility=crm_visibility))
    if as_json:
        print_json(result)
        return
    if not result["opportunities"]:
        console.print("[yellow]nothing to offer right now[/]")
        return
    table = Table("#", "kind", "why", "when")
    for i, o in enumerate(result["opportunities"], 1):
        table.add_row(str(i), o["kind"], o["why"], o["when"])
    console.print(table)


@app.command()
def influence(
    person: Annotated[str, typer.Argument(help="Person id, identity key, e-mail or full name.")],
    as_of: AsOfOption = None,
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """PERSON's business influence: won deals they helped (content the deal team used, introductions,
    kudos with the deal as context), their share, and the evidence."""
    from resonance.knowledge.outcomes import business_influence

    with store_for(db, read_only=True) as store:
        pid = _person(store.con, person)
        result = business_influence(store.con, pid, as_of=as_of)
    if as_json:
        print_json(result)
        return
    s = result["summary"]
    console.print(f"helped {s['deals_helped']} of {s['won_deals_in_store']} won deals: "
                  f"${s['influenced_amount']:,.0f} influenced, ${s['attributed_amount']:,.0f} attributed")
    table = Table("deal", "account", "amount", "closed", "how", "share", "evidence")
    for d in result["deals"]:
        table.add_row(d["opportunity"] or d["opportunity_id"], d["account"] or "", f"${d['amount'] or 0:,.0f}",
                      str(d["close_date"]), ", ".join(d["how"]), f"{d['share']:.0%}",
                      "; ".join(e["text"] for e in d["evidence"][:3]))
    console.print(table)


@app.command()
def intro(
    person: Annotated[str, typer.Argument(help="Who wants the introduction (id, identity, e-mail or name).")],
    to: Annotated[str, typer.Option("--to", help="An external contact (id, e-mail, name) or an account (id or name).")],
    alternatives: Annotated[int, typer.Option(min=1, max=20, help="How many paths to show.")] = 3,
    as_of: AsOfOption = None,
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """A warm introduction: the shortest trusted path from PERSON to a contact or an account."""
    from resonance.knowledge.introductions import introduction_paths

    with store_for(db, read_only=True) as store:
        pid = _person(store.con, person)
        try:
            result = introduction_paths(store.con, pid, to, as_of=as_of, alternatives=alternatives)
        except NotFound as exc:
            fail(str(exc))
    if as_json:
        print_json(result)
        return
    if not result["found"]:
        console.print("[yellow]no path found: nobody you are connected to knows them yet[/]")
        raise typer.Exit(1)
    for p in result["paths"]:
        label = "warm" if p["warm"] else "[yellow]weak ties only[/]"
        console.print(f"{p['rank']}. ({p['hops']} hop{'s' if p['hops'] != 1 else ''}, {label}) {p['summary']}")
