"""`users create|list|disable|enable|set-role`: the people who log in to the portal and the API."""

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
