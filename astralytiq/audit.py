"""The audit log: who changed users, API keys and champions, when, and from where."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from astralytiq.db import AuditEvent

ActorKind = Literal["user", "api_key", "cli", "system"]


@dataclass(frozen=True)
class Actor:
    """Whoever makes a change: a person, a service's key, an OS user at the CLI, or the platform."""

    name: str
    kind: ActorKind
    client: str | None = None  # remote address of an API call


def record(session: Session, actor: Actor, action: str, target: str, **detail: Any) -> AuditEvent:
    """Add one event to the session; it is written with the change it describes (same commit)."""
    event = AuditEvent(
        actor=actor.name[:64],
        actor_kind=actor.kind,
        action=action,
        target=target[:256],
        detail=detail,
        client=actor.client[:64] if actor.client else None,
    )
    session.add(event)
    return event


def events(
    session: Session,
    *,
    action: str | None = None,
    target: str | None = None,
    actor: str | None = None,
    since: datetime | None = None,
    before_id: int | None = None,
    limit: int = 100,
) -> list[AuditEvent]:
    """Events newest first; ``before_id`` pages back through older ones."""
    query = select(AuditEvent).order_by(AuditEvent.id.desc()).limit(limit)
    if action:
        # "model." matches every model action; "model.promote" only that one.
        query = query.where(
            AuditEvent.action.startswith(action) if action.endswith(".") else AuditEvent.action == action
        )
    if target:
        query = query.where(AuditEvent.target == target)
    if actor:
        query = query.where(AuditEvent.actor == actor)
    if since:
        query = query.where(AuditEvent.at >= since)
    if before_id:
        query = query.where(AuditEvent.id < before_id)
    return list(session.scalars(query))
