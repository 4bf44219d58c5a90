"""`resonance users add|list|token|passwd|set`: accounts for the web app and the API."""

from __future__ import annotations

import getpass
import secrets
import sys
from typing import Annotated

import typer
from rich.table import Table

from resonance.cli.app import DbOption, JsonOption, app, console, fail, print_json, store_for
from resonance.privacy.guard import ROLES
from resonance.web.accounts import (
    AccountError,
    create_token,
    create_user,
    ensure_auth_schema,
    list_tokens,
    list_users,
    revoke_token,
    set_password,
    update_user,
)

users_app = typer.Typer(help="Accounts for the web app and the API.", no_args_is_help=True)
app.add_typer(users_app, name="users")

RoleOption = Annotated[str, typer.Option("--role", help=f"One of: {', '.join(ROLES)}.")]


def _password(from_stdin: bool, generate: bool) -> tuple[str, bool]:
    if generate:
        return secrets.token_urlsafe(15), True
    if from_stdin or not sys.stdin.isatty():
        return sys.stdin.readline().rstrip("\n"), False
    first = getpass.getpass("Password (12+ characters): ")
    if first != getpass.getpass("Again: "):
        fail("the passwords differ")
    return first, False


@users_app.command("add")
def add(
    username: Annotated[str, typer.Argument(help="Sign-in name (lower case).")],
    role: RoleOption = "employee",
    person: Annotated[
        str | None, typer.Option(help="Person id, identity key or e-mail (not for admins).")
    ] = None,
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from stdin.")
    ] = False,
    generate: Annotated[
        bool, typer.Option("--generate", help="Generate a password and print it once.")
    ] = False,
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """Create an account. Employees and managers belong to a person; admins to no one."""
    password, generated = _password(password_stdin, generate)
    with store_for(db) as store:
        ensure_auth_schema(store.con)
        try:
            user = create_user(store.con, username, password, role, person, actor="cli")
        except AccountError as exc:
            fail(str(exc))
    result = {**user.as_dict(), **({"password": password} if generated else {})}
    if as_json:
        print_json(result)
    else:
        console.print(
            f"created [bold]{user.username}[/] ({user.role}{', ' + user.person_id if user.person_id else ''})"
        )
        if generated:
            console.print(f"password (shown once): [bold]{password}[/]")


@users_app.command("list")
def list_(db: DbOption = None, as_json: JsonOption = False) -> None:
    """Accounts, their roles and people."""
    with store_for(db) as store:
        ensure_auth_schema(store.con)
        users, _ = list_users(store.con)
    if as_json:
        print_json([u.as_dict() for u in users])
        return
    table = Table("username", "role", "person", "state", "last sign-in")
    for u in users:
        table.add_row(
            u.username,
            u.role,
            u.person_id or "-",
            "disabled" if u.disabled else "active",
            str(u.last_login or "-"),
        )
    console.print(table)


@users_app.command("set")
def set_(
    username: str,
    role: Annotated[str | None, typer.Option("--role", help=f"One of: {', '.join(ROLES)}.")] = None,
    person: Annotated[str | None, typer.Option(help="Person id, identity key or e-mail.")] = None,
    disable: Annotated[bool | None, typer.Option("--disable/--enable", help="Disable or enable.")] = None,
    db: DbOption = None,
) -> None:
    """Change an account's role, person or state (ends its sessions)."""
    with store_for(db) as store:
        ensure_auth_schema(store.con)
        try:
            user = update_user(store.con, username, actor="cli", role=role, person=person, disabled=disable)
        except AccountError as exc:
            fail(str(exc))
    console.print(
        f"{user.username}: {user.role}, {user.person_id or '-'}, {'disabled' if user.disabled else 'active'}"
    )


@users_app.command("passwd")
def passwd(
    username: str,
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from stdin.")
    ] = False,
    db: DbOption = None,
) -> None:
    """Set an account's password (ends its sessions)."""
    password, _ = _password(password_stdin, False)
    with store_for(db) as store:
        ensure_auth_schema(store.con)
        try:
            set_password(store.con, username, password, actor="cli")
        except AccountError as exc:
            fail(str(exc))
    console.print(f"password of {username} changed")


@users_app.command("token")
def token(
    username: str,
    name: Annotated[str, typer.Option(help="What the token is for.")] = "cli",
    revoke: Annotated[int | None, typer.Option(help="Revoke the token with this id instead.")] = None,
    list_only: Annotated[bool, typer.Option("--list", help="List the account's tokens.")] = False,
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """Issue an API token (`Authorization: Bearer ...`), list or revoke tokens. The token is shown once."""
    from resonance.web.accounts import get_user

    with store_for(db) as store:
        ensure_auth_schema(store.con)
        user = get_user(store.con, username)
        if user is None:
            fail(f"no user {username!r}")
        assert user is not None
        if list_only:
            tokens = list_tokens(store.con, user.user_id)
            if as_json:
                print_json(tokens)
            else:
                table = Table("id", "name", "prefix", "created", "last used", "revoked")
                for t in tokens:
                    table.add_row(
                        *(
                            str(t[k] or "-")
                            for k in ("token_id", "name", "prefix", "created_at", "last_used", "revoked_at")
                        )
                    )
                console.print(table)
            return
        if revoke is not None:
            if not revoke_token(store.con, user.user_id, revoke, actor="cli"):
                fail(f"{username} has no live token {revoke}")
            console.print(f"token {revoke} revoked")
            return
        try:
            secret, record = create_token(store.con, username, name, actor="cli")
        except AccountError as exc:
            fail(str(exc))
    if as_json:
        print_json({**record, "token": secret})
    else:
        console.print(f"token {record['token_id']} for {username} (shown once):")
        sys.stdout.write(secret + "\n")
