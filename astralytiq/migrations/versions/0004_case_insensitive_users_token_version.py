"""Usernames unique regardless of case (users.username_folded); a token version per user

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-07 19:30:00

Accounts made before this revision may differ only in case ("Ana" and "ana"). The oldest keeps
its name; each later one is renamed to "<name>-<id>" (audited as user.rename, printed), so no
two accounts answer to one login and nobody's account is merged into another's.
"""

from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op


revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

USERNAME_MAX = 64


def _renamed(username: str, user_id: int, taken: set[str]) -> str:
    suffix = f"-{user_id}"
    candidate = username[: USERNAME_MAX - len(suffix)] + suffix
    while candidate.lower() in taken:  # "<name>-<id>" itself taken: add the id again
        candidate = candidate[: USERNAME_MAX - len(suffix)] + suffix
    return candidate


def upgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("username_folded", sa.String(length=64), nullable=True))
        batch_op.add_column(
            sa.Column("token_version", sa.Integer(), server_default=sa.text("0"), nullable=False)
        )

    connection = op.get_bind()
    users = sa.table(
        "users", sa.column("id", sa.Integer), sa.column("username", sa.String), sa.column("username_folded")
    )
    audit = sa.table(
        "audit_log",
        sa.column("at", sa.DateTime(timezone=True)),
        sa.column("actor", sa.String),
        sa.column("actor_kind", sa.String),
        sa.column("action", sa.String),
        sa.column("target", sa.String),
        sa.column("detail", sa.JSON),
    )
    rows = connection.execute(sa.select(users.c.id, users.c.username).order_by(users.c.id)).all()
    taken = {username.lower() for _, username in rows}
    seen: set[str] = set()
    for user_id, username in rows:
        name = username
        if username.lower() in seen:
            name = _renamed(username, user_id, taken | seen)
            taken.add(name.lower())
            print(f"user {username!r} (id {user_id}) differs only in case from an older account: renamed {name!r}")
            connection.execute(
                sa.insert(audit).values(
                    at=datetime.now(UTC),
                    actor="migration 0004",
                    actor_kind="system",
                    action="user.rename",
                    target=name,
                    detail={"from": username, "reason": "usernames are case-insensitive"},
                )
            )
        seen.add(name.lower())
        connection.execute(
            sa.update(users).where(users.c.id == user_id).values(username=name, username_folded=name.lower())
        )

    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.alter_column("username_folded", existing_type=sa.String(length=64), nullable=False)
        batch_op.create_index(batch_op.f("ix_users_username_folded"), ["username_folded"], unique=True)


def downgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_users_username_folded"))
        batch_op.drop_column("token_version")
        batch_op.drop_column("username_folded")
