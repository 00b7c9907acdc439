"""`keys create|list|revoke`: API keys for services."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated

import typer

from cli.context import cli_actor, context, refused

app = typer.Typer(
    help="API keys for services: hashed at rest, scoped to models, revocable.", no_args_is_help=True
)


@app.command("create")
def keys_create(
    name: Annotated[str, typer.Argument(help="Who uses the key, e.g. 'billing-service'.")],
    role: Annotated[
        str, typer.Option(help="viewer (forecasts) or engineer (also promote/rollback).")
    ] = "viewer",
    model: Annotated[
        list[str] | None,
        typer.Option("--model", "-m", help="A model the key may use; repeat for several. None: every model."),
    ] = None,
    expires_in_days: Annotated[
        int | None, typer.Option(min=1, max=3650, help="Days until the key stops working; default: never.")
    ] = None,
) -> None:
    """Issue an API key for a service. The key is printed once; only its hash is stored."""
    from astralytiq import api_keys
    from astralytiq.db import session_scope

    settings = context(database=True)
    expires_at = datetime.now(UTC) + timedelta(days=expires_in_days) if expires_in_days else None
    with refused(api_keys.InvalidKeyRequest), session_scope(settings.app_database_url) as session:
        issued = api_keys.issue(
            session, cli_actor(), name=name, role=role, models=model or [], expires_at=expires_at
        )
    scope = ", ".join(issued.info.models) or "every model"
    typer.echo(
        f"created {issued.info.role} key {issued.info.id} ({name}, prefix {issued.info.prefix}) for {scope}"
    )
    typer.echo("store it now; it is not shown again:", err=True)
    typer.echo(issued.key)


@app.command("list")
def keys_list(
    all_keys: Annotated[bool, typer.Option("--all", help="Also list revoked keys.")] = False,
) -> None:
    """List API keys: id, prefix, name, role, models, last use, expiry. Never the keys."""
    from astralytiq import api_keys
    from astralytiq.db import session_scope

    settings = context(database=True)
    with session_scope(settings.app_database_url) as session:
        keys = api_keys.all_keys(session, include_revoked=all_keys)
    typer.echo(f"{'id':>4}  {'prefix':<12}  {'name':<20} {'role':<9} {'state':<8} {'last used':<17} models")
    for k in keys:
        state = "revoked" if k.revoked_at else ("expired" if not k.active else "active")
        used = k.last_used_at.strftime("%Y-%m-%d %H:%M") if k.last_used_at else "never"
        typer.echo(
            f"{k.id:>4}  {k.prefix:<12}  {k.name:<20} {k.role:<9} {state:<8} {used:<17} {', '.join(k.models) or '*'}"
        )


@app.command("revoke")
def keys_revoke(
    key: Annotated[str, typer.Argument(help="The key's id or prefix, as `keys list` shows.")],
) -> None:
    """Revoke an API key; API processes refuse it within ASTRALYTIQ_AUTH_RECHECK_SECONDS."""
    from astralytiq import api_keys
    from astralytiq.db import session_scope

    settings = context(database=True)
    with refused(api_keys.KeyNotFound), session_scope(settings.app_database_url) as session:
        info = api_keys.revoke(session, cli_actor(), key)
    typer.echo(f"revoked key {info.id} ({info.name}, prefix {info.prefix})")
