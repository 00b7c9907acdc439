"""`users create|list|disable|enable|set-role|reset-password|change-password`: the people who log in
to the portal and the API."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from cli.context import cli_actor, context, refused

app = typer.Typer(help="Manage the people who log in to the portal and the API.", no_args_is_help=True)


@app.command("create")
def users_create(
    username: Annotated[str, typer.Argument(help="Login name: letters, digits, '.', '_' or '-'.")],
    role: Annotated[
        str, typer.Option(help="admin (users, keys), engineer (promote, train) or viewer (read).")
    ] = "viewer",
    password_stdin: Annotated[
        bool,
        typer.Option("--password-stdin", help="Read the password from standard input instead of prompting."),
    ] = False,
) -> None:
    """Create a user who can log in to the portal and the API."""
    from astralytiq.accounts import PasswordPolicyError, UserExists, create_user

    context()
    password = (
        sys.stdin.readline().rstrip("\n")
        if password_stdin
        else typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    )
    settings = context(database=True)
    with refused(PasswordPolicyError, UserExists, ValueError):
        create_user(settings.app_database_url, username, password, role, cli_actor())  # type: ignore[arg-type]
    typer.echo(f"created {role} {username!r}")


@app.command("list")
def users_list() -> None:
    """List users and their roles."""
    from astralytiq.accounts import list_users

    settings = context(database=True)
    for name, role, active in list_users(settings.app_database_url):
        typer.echo(f"{name:<24} {role:<9} {'active' if active else 'disabled'}")


def _set_user(username: str, **change: object) -> None:
    from astralytiq.accounts import UserNotFound, update_user
    from astralytiq.db import session_scope

    settings = context(database=True)
    with refused(UserNotFound, ValueError), session_scope(settings.app_database_url) as session:
        update_user(session, cli_actor(), username, **change)  # type: ignore[arg-type]


@app.command("disable")
def users_disable(username: Annotated[str, typer.Argument(help="Login name.")]) -> None:
    """Stop a user from logging in; their tokens are refused within seconds."""
    _set_user(username, active=False)
    typer.echo(f"disabled {username!r}")


@app.command("enable")
def users_enable(username: Annotated[str, typer.Argument(help="Login name.")]) -> None:
    """Let a disabled user log in again."""
    _set_user(username, active=True)
    typer.echo(f"enabled {username!r}")


@app.command("set-role")
def users_set_role(
    username: Annotated[str, typer.Argument(help="Login name.")],
    role: Annotated[str, typer.Argument(help="admin, engineer or viewer.")],
) -> None:
    """Change what a user may do."""
    _set_user(username, role=role)
    typer.echo(f"{username!r} is now {role}")


def _new_password(password_stdin: bool) -> str:
    if password_stdin:
        return sys.stdin.readline().rstrip("\n")
    return str(typer.prompt("New password", hide_input=True, confirmation_prompt=True))


@app.command("reset-password")
def users_reset_password(
    username: Annotated[str, typer.Argument(help="Login name (any case).")],
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the new password from standard input.")
    ] = False,
) -> None:
    """Set someone's password (as an admin would, for a forgotten one); their sessions end."""
    from astralytiq.accounts import PasswordPolicyError, UserNotFound, reset_password
    from astralytiq.db import session_scope

    context()
    password = _new_password(password_stdin)
    settings = context(database=True)
    with refused(PasswordPolicyError, UserNotFound), session_scope(settings.app_database_url) as session:
        name = reset_password(session, cli_actor(), username, password).username
    typer.echo(f"{name!r} has a new password; every session they had has ended")


@app.command("change-password")
def users_change_password(
    username: Annotated[str, typer.Argument(help="Your login name (any case).")],
    password_stdin: Annotated[
        bool,
        typer.Option(
            "--password-stdin",
            help="Read the current, then the new password from standard input (two lines).",
        ),
    ] = False,
) -> None:
    """Change your own password: the current one is asked first; your other sessions end."""
    from astralytiq.accounts import PasswordPolicyError, UserNotFound, WrongPassword, change_password
    from astralytiq.db import session_scope

    context()
    current = (
        sys.stdin.readline().rstrip("\n")
        if password_stdin
        else str(typer.prompt("Current password", hide_input=True))
    )
    password = _new_password(password_stdin)
    settings = context(database=True)
    with (
        refused(PasswordPolicyError, UserNotFound, WrongPassword),
        session_scope(settings.app_database_url) as session,
    ):
        name = change_password(session, cli_actor(), username, current, password).username
    typer.echo(f"password of {name!r} changed; your other sessions have ended")
