"""`resonance forget PERSON`: the right to be forgotten (see resonance.privacy.forget)."""

from __future__ import annotations

import getpass
import os
from typing import Annotated

import typer

from resonance.cli.app import DbOption, JsonOption, app, console, fail, print_json, store_for
from resonance.privacy.forget import ForgetError, find_subject, forget_person


@app.command()
def forget(
    person: Annotated[str, typer.Argument(help="Person id, identity key, e-mail address or account name.")],
    yes: Annotated[bool, typer.Option("--yes", help="Really erase (without it, only say what would change).")] = False,
    reason: Annotated[str | None, typer.Option(help="Why, for the audit log (a ticket number, say).")] = None,
    compute: Annotated[bool, typer.Option(help="Recompute the metrics afterwards.")] = True,
    compact: Annotated[bool, typer.Option(help="Rewrite the store file so erased data leaves the disk "
                                               "(not possible while a server runs).")] = True,
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """Erase a person's personal data and content; aggregates stay consistent.

    Their identities, profiles and accounts go; a pseudonym `forgotten:...` takes
    their place in events and metrics; what they wrote is removed; their name and
    addresses are replaced wherever they appear. Audited with a salted hash, never
    the identity. Output never repeats the identity. Backups are not touched."""
    from resonance.jobs.context import job_user, server_store

    in_server = server_store() is not None
    with store_for(db) as store:
        try:
            subject = find_subject(store.con, person)
            if not yes:
                authored = store.con.execute(
                    "SELECT count(*) FROM items WHERE author IN (SELECT unnest(?::VARCHAR[]))",
                    [sorted(subject.identities)]).fetchall()[0][0]
                acted = store.con.execute(
                    "SELECT count(*) FROM events WHERE actor IN (SELECT unnest(?::VARCHAR[]))",
                    [sorted(subject.identities)]).fetchall()[0][0]
                fail(f"this would erase one person ({len(subject.identities)} identities, {authored:,} items "
                     f"written, {acted:,} events, {len(subject.user_ids)} accounts); add --yes to do it", code=1)
            summary = forget_person(store.con, person, done_by=job_user() or _os_user(),
                                    via="server job" if job_user() else "cli", reason=reason, recompute=compute)
        except ForgetError as exc:
            fail(str(exc))
        path = store.path
    if compact and not in_server:
        from resonance.store.compact import compact_store

        compact_store(path)
        summary["compacted"] = True
    else:
        summary["compacted"] = False
        console.print("note: copies of the erased values stay in the store file's free space until "
                      "`resonance compact` runs with the server stopped", soft_wrap=True)
    if as_json:
        print_json(summary)
        return
    changed = sum(summary["changes"].values())
    console.print(f"forgotten: {changed:,} rows changed in {len(summary['changes'])} tables; the person now "
                  f"appears as {summary['pseudonym']}"
                  + ("; metrics recomputed" if summary["metrics_recomputed"] else ""), soft_wrap=True)


def _os_user() -> str:
    try:
        return getpass.getuser()
    except Exception:  # noqa: BLE001 - no user name in some containers
        return f"uid:{os.getuid()}"
