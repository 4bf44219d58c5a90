"""`resonance identities suggest | merge A B | unmerge OP_ID | list [PERSON]`."""

from __future__ import annotations

import getpass
from typing import Annotated

import typer
from rich.table import Table

from resonance.cli.app import DbOption, JsonOption, app, console, fail, print_json, store_for
from resonance.identity.matching import suggest as suggest_pairs
from resonance.identity.operations import IdentityError, describe_person, list_ops, merge, unmerge

identities = typer.Typer(help="One person across sources: suggestions, audited merges and their undo.",
                         no_args_is_help=True)
app.add_typer(identities, name="identities")

ByOption = Annotated[str | None, typer.Option("--by", help="Who does it (audit); default: the OS user.")]
ReasonOption = Annotated[str | None, typer.Option("--reason", help="Why (kept in the audit trail).")]


def _who(by: str | None) -> str:
    if by:
        return by
    try:
        return getpass.getuser()
    except Exception:  # noqa: BLE001 - no user name in this environment
        return "cli"


@identities.command("suggest")
def suggest_command(
    db: DbOption = None,
    as_json: JsonOption = False,
    min_score: Annotated[float, typer.Option(help="Lowest score shown (0-1).")] = 0.4,
    limit: Annotated[int, typer.Option(help="Most suggestions shown.")] = 50,
) -> None:
    """Persons that may be one, from weak evidence (names, e-mail local parts, handles).
    Nothing is changed: confirm one with `resonance identities merge A B`."""
    with store_for(db, read_only=True) as store:
        found = suggest_pairs(store.con, min_score=min_score, limit=limit)
    if as_json:
        print_json(found)
        return
    table = Table("score", "person A", "person B", "evidence")
    for s in found:
        table.add_row(f"{s['score']:.2f}", f"{s['name_a']}\n{s['person_a']}", f"{s['name_b']}\n{s['person_b']}",
                      "\n".join(f"{e['kind']}: {e['detail']}" for e in s["evidence"]))
    console.print(table if found else "no suggestions")


@identities.command("merge")
def merge_command(
    a: Annotated[str, typer.Argument(help="Person to keep: a person id or any identity key (email:..., slack:U..).")],
    b: Annotated[str, typer.Argument(help="Person folded into A.")],
    db: DbOption = None,
    as_json: JsonOption = False,
    by: ByOption = None,
    reason: ReasonOption = None,
) -> None:
    """Merge person B into person A (audited; undo with `unmerge OP_ID`)."""
    with store_for(db) as store:
        try:
            result = merge(store.con, a, b, actor=_who(by), reason=reason)
        except IdentityError as exc:
            fail(str(exc))
    if as_json:
        print_json(result.as_dict())
    else:
        console.print(f"operation {result.op_id}: merged {result.person_b} into {result.person_a} "
                      f"({len(result.identities)} identities, {len(result.profiles)} profiles); "
                      f"undo: resonance identities unmerge {result.op_id}")


@identities.command("unmerge")
def unmerge_command(
    op_id: Annotated[int, typer.Argument(help="The merge (or automatic link) operation to undo.")],
    db: DbOption = None,
    as_json: JsonOption = False,
    by: ByOption = None,
    reason: ReasonOption = None,
) -> None:
    """Undo a merge or an automatic link: restore exactly the identities and profiles it moved."""
    with store_for(db) as store:
        try:
            result = unmerge(store.con, op_id, actor=_who(by), reason=reason)
        except IdentityError as exc:
            fail(str(exc))
    if as_json:
        print_json(result.as_dict())
    else:
        console.print(f"operation {result.op_id}: {result.person_b} split from {result.person_a} again "
                      f"({len(result.identities)} identities, {len(result.profiles)} profiles)")


@identities.command("list")
def list_command(
    person: Annotated[str | None, typer.Argument(help="A person id or identity key: its aliases and history.")] = None,
    db: DbOption = None,
    as_json: JsonOption = False,
    limit: Annotated[int, typer.Option(help="Most operations shown.")] = 100,
) -> None:
    """Identity operations (merges, links, unmerges), or one person's identities and history."""
    with store_for(db, read_only=True) as store:
        try:
            result = describe_person(store.con, person) if person else list_ops(store.con, limit=limit)
        except IdentityError as exc:
            fail(str(exc))
    if as_json:
        print_json(result)
        return
    ops = result["operations"] if person else result
    if person:
        console.print(f"[bold]{result['display_name']}[/] {result['person_id']}")
        for identity in result["identities"]:
            console.print(f"  {identity}")
    table = Table("op", "what", "by", "when", "person A", "person B", "reason", "undone by")
    for o in ops:
        table.add_row(str(o["op_id"]), o["op"], o["actor"] or "", str(o["done_at"])[:19], o["person_a"] or "",
                      o["person_b"] or "", o["reason"] or "", str(o["undone_by"] or ""))
    console.print(table)
