"""`resonance kudos give | links --meeting ID | list | meetings | vote`: kudos from the command line.

The same operations as the web and the API (`resonance.kudos.operations`), so the same rules
apply and every write is audited (actor `cli`). People are named by e-mail, identity key,
handle or a web account's username (`employee` in the demo).
"""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from typing import Annotated

import typer
from rich.table import Table

from resonance.cli.app import DbOption, JsonOption, app, console, fail, print_json, settings_for, store_for
from resonance.config import Settings
from resonance.kudos.context import resolve_person
from resonance.kudos.directory import my_meetings
from resonance.kudos.links import link_key, meeting_links
from resonance.kudos.operations import give_kudos, list_kudos, utcnow, vote
from resonance.kudos.rules import KudosError, kudos_rules

kudos_app = typer.Typer(help="Kudos: give them, one-click links for a meeting, list them; helpfulness votes.",
                        no_args_is_help=True)
app.add_typer(kudos_app, name="kudos")

PersonOpt = Annotated[str, typer.Option(help="E-mail, identity key (hr:E042, slack:U1), handle or username.")]
RulesOption = Annotated[str | None, typer.Option("--rules", help="Rules file overriding the defaults.")]


@kudos_app.command("give")
def give(
    giver: Annotated[str, typer.Option("--from", help="Who thanks (e-mail, identity key, handle or username).")],
    receiver: Annotated[str, typer.Option("--to", help="Who is thanked.")],
    meeting: Annotated[str | None, typer.Option(help="Meeting id (ical:...).")] = None,
    account: Annotated[str | None, typer.Option(help="Customer account id or exact name.")] = None,
    opportunity: Annotated[str | None, typer.Option(help="CRM opportunity id.")] = None,
    item: Annotated[str | None, typer.Option(help="Item id.")] = None,
    message: Annotated[str | None, typer.Option("--message", "-m", help="What for.")] = None,
    value: Annotated[list[str] | None, typer.Option("--value", help="A company value tag (repeatable).")] = None,
    rules_file: RulesOption = None,
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """Record a kudos (once: the same giver, receiver and context again changes nothing)."""
    rules = kudos_rules(rules_file or settings_for(db).rules_path)
    with store_for(db) as store:
        try:
            result = give_kudos(store.con, giver, receiver, rules, meeting=meeting, account=account,
                                opportunity=opportunity, item=item, message=message, values=value or [],
                                channel="cli", actor="cli")
        except KudosError as exc:
            fail(str(exc))
    k = result.kudos
    if as_json:
        print_json({**k, "created": result.created})
        return
    what = "recorded" if result.created else "already given (nothing changed)"
    ctx = ", ".join(x for x in (k["meeting_title"], k["account_name"], k["opportunity_name"], k["item_title"]) if x)
    console.print(f"kudos {what}: {k['giver_name']} → [bold]{k['receiver_name']}[/]" + (f" ({ctx})" if ctx else ""))


@kudos_app.command("links")
def links(
    meeting: Annotated[str, typer.Option(help="The meeting (ical:...) whose attendees to thank.")],
    giver: Annotated[str | None, typer.Option("--from", help="Who thanks (default: the organiser).")] = None,
    base_url: Annotated[str | None, typer.Option(help="Server address in the links [env RESONANCE_BASE_URL].")] = None,
    rules_file: RulesOption = None,
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """One signed one-click link per colleague on a meeting, for its organiser's follow-up e-mail."""
    settings = settings_for(db)
    rules = kudos_rules(rules_file or settings.rules_path)
    with store_for(db) as store:
        try:
            giver_id = resolve_person(store.con, giver, "giver").person_id if giver else None
            key = link_key(store.con, settings.secret_key)
            found = meeting_links(store.con, key, meeting, base_url or _public_url(settings), rules, giver_id=giver_id)
        except KudosError as exc:
            fail(str(exc))
    expires = datetime.fromtimestamp(found["expires"], UTC)
    if as_json:
        print_json({**found, "expires": expires.isoformat()})
        return
    customer = f" · customer {found['account_name']}" if found["account_name"] else ""
    console.print(f"[bold]{found['title'] or found['meeting']}[/]{customer}")
    console.print(f"links for {found['giver_name'] or found['giver_id']} to thank each colleague "
                  f"(valid until {expires:%Y-%m-%d}):")
    if not found["links"]:
        console.print("no colleague to thank on this meeting")
    for link in found["links"]:
        sys.stdout.write(f"{link['name'] or link['receiver_id']} <{link['email'] or link['receiver_id']}>\t"
                         f"{link['url']}\n")


def _public_url(settings: Settings) -> str:
    """The server's address for links: RESONANCE_BASE_URL, else the address of the server that owns
    the store (a command forwarded to a running server runs inside it), else the default address."""
    if not settings.base_url:
        from resonance.jobs.lockfile import live_server

        running = live_server(settings.db_path)
        if running is not None and running.url:
            return running.url
    return settings.public_url


@kudos_app.command("list")
def list_(
    receiver: Annotated[str | None, typer.Option("--to", help="Only kudos to this person.")] = None,
    giver: Annotated[str | None, typer.Option("--from", help="Only kudos from this person.")] = None,
    limit: Annotated[int, typer.Option(min=1, max=10_000)] = 50,
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """Kudos recorded through Resonance (web, API, links, chat, CLI), newest first."""
    with store_for(db) as store:
        try:
            to_id = resolve_person(store.con, receiver).person_id if receiver else None
            from_id = resolve_person(store.con, giver, "giver").person_id if giver else None
        except KudosError as exc:
            fail(str(exc))
        found = list_kudos(store.con, giver_id=from_id, receiver_id=to_id, limit=limit)
    if as_json:
        print_json(found)
        return
    table = Table("when", "from", "to", "context", "channel", title=f"{found['total']} kudos")
    for k in found["items"]:
        ctx = " · ".join(x for x in (k["meeting_title"], k["account_name"], k["opportunity_name"], k["item_title"],
                                      " ".join("#" + v for v in k["values"])) if x)
        table.add_row(f"{k['given_at']:%Y-%m-%d %H:%M}", k["giver_name"] or k["giver_id"],
                      k["receiver_name"] or k["receiver_id"], ctx, k["channel"])
    console.print(table)


@kudos_app.command("meetings")
def meetings(
    organizer: Annotated[str | None, typer.Option(help="Meetings this person organised.")] = None,
    attendee: Annotated[str | None, typer.Option(
        help="Meetings this person attended or was invited to (with --organizer: that they were in too).")] = None,
    customer: Annotated[bool, typer.Option("--customer", help="Only meetings with a customer account.")] = False,
    limit: Annotated[int, typer.Option(min=1, max=10_000)] = 20,
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """Meetings to thank people from (past ones, newest first): pick an id for `resonance kudos links`.

    With both --organizer and --attendee: the meetings the one organised and the other was in.
    Without either: the meetings of the whole store."""
    with store_for(db, read_only=True) as store:
        con = store.con
        try:
            if organizer:
                who = resolve_person(con, organizer, "organizer").person_id
                other = resolve_person(con, attendee, "attendee").person_id if attendee else None
                found = my_meetings(con, who, limit=limit, customer_only=customer, before=utcnow(),
                                    role="organizer", with_person=other)
            elif attendee:
                who = resolve_person(con, attendee, "attendee").person_id
                found = [m for m in my_meetings(con, who, limit=10_000, customer_only=customer, before=utcnow())
                         if m["role"] != "organizer"][:limit]
            else:
                found = _all_meetings(con, customer, limit)
        except KudosError as exc:
            fail(str(exc))
    if as_json:
        print_json(found)
        return
    if not found:
        console.print("no meetings found")
    # One line per meeting on stdout, the id first: ids are long and meant to be copied.
    for m in found:
        when = f"{m['start']:%Y-%m-%d %H:%M}" if m["start"] else "?"
        about = "; ".join(x for x in (f"customer {m['account_name']}" if m["account_name"] else "",
                                      f"organiser {m['organizer_name']}" if m["organizer_name"] else "") if x)
        sys.stdout.write(f"{m['meeting']}\t{when}\t{m['title'] or ''}" + (f"\t({about})" if about else "") + "\n")


def _all_meetings(con: object, customer: bool, limit: int) -> list[dict]:
    cur = con.execute(  # type: ignore[attr-defined]
        """SELECT it.item_id AS meeting, any_value(it.created) AS start, any_value(it.title) AS title,
                  any_value(json_extract_string(it.extra, '$.account')) AS account,
                  (SELECT any_value(title) FROM items a
                   WHERE a.item_id = any_value(json_extract_string(it.extra, '$.account'))) AS account_name,
                  any_value(p.display_name) AS organizer_name, 'organizer' AS role
           FROM items it LEFT JOIN identities i ON i.identity = it.author
           LEFT JOIN people p ON p.person_id = i.person_id
           WHERE it.kind = 'meeting' AND it.created <= ?
             AND (NOT ? OR json_extract_string(it.extra, '$.account') IS NOT NULL)
           GROUP BY it.item_id ORDER BY any_value(it.created) DESC, it.item_id LIMIT ?""",
        [utcnow(), customer, limit],
    )
    names = [d[0] for d in cur.description]
    return [dict(zip(names, r, strict=True)) for r in cur.fetchall()]


@kudos_app.command("vote")
def vote_command(
    voter: Annotated[str, typer.Option("--by", help="Who votes.")],
    item: Annotated[str, typer.Option(help="The item id.")],
    value: Annotated[str, typer.Option(help="up (useful), down (not useful) or none (withdraw).")],
    rules_file: RulesOption = None,
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """Mark an item useful or not useful for someone (the latest vote of a person on an item counts)."""
    rules = kudos_rules(rules_file or settings_for(db).rules_path)
    with store_for(db) as store:
        try:
            result = vote(store.con, voter, item, value, rules, channel="cli", actor="cli")
        except KudosError as exc:
            fail(str(exc))
    if as_json:
        print_json({"item_id": result.item_id, "voter_id": result.voter_id, "value": result.value,
                    "previous": result.previous, "changed": result.changed})
    else:
        console.print(f"vote {'recorded' if result.changed else 'unchanged'}: {result.value:+d} on {result.item_id}")
