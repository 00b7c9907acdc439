"""The champion's history, replayed: which versions reigned, in order, so a rollback walks back.

A forward move (the training gate, a promotion) pushes a version; a rollback pops the version it
left, so a second rollback goes to the version before, never back to the one the first removed.
Gate promotions come from the registry (the training run's ``promoted`` tag, at the version's
registration time), promotions and rollbacks made here from the audit log.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from astralytiq.db import AuditEvent
from registry.rest import RegistryClient

CHANGES = ("model.promote", "model.rollback")


@dataclass(frozen=True)
class Change:
    at: datetime
    kind: Literal["gate", "promote", "rollback"]
    to: str
    from_: str | None = None


def replay(changes: Iterable[Change], current: str) -> list[str]:
    """The stack of reigning versions after ``changes`` (oldest first), ending at ``current``."""
    stack: list[str] = []
    for change in sorted(changes, key=lambda c: c.at):
        if change.from_ and (not stack or stack[-1] != change.from_):
            stack.append(change.from_)  # the alias was moved outside this API (the MLflow UI)
        if change.kind == "rollback":
            if stack:
                stack.pop()
            if change.to in stack:
                del stack[stack.index(change.to) + 1 :]
            else:
                stack.append(change.to)
        elif not stack or stack[-1] != change.to:
            stack.append(change.to)
    if not stack or stack[-1] != current:
        stack.append(current)
    return stack


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def changes_of(session: Session, registry: RegistryClient, name: str) -> list[Change]:
    """Every champion change of ``name`` this platform knows of, unordered."""
    changes = [
        Change(
            at=_aware(event.at),
            kind="promote" if event.action == "model.promote" else "rollback",
            to=str(event.detail.get("to")),
            from_=str(event.detail["from"]) if event.detail.get("from") else None,
        )
        for event in session.scalars(
            select(AuditEvent).where(AuditEvent.target == name, AuditEvent.action.in_(CHANGES))
        )
        if event.detail.get("to")
    ]
    for version in registry.versions(name):
        if version.run_id and registry.run_tags(version.run_id).get("promoted") == "True":
            at = datetime.fromtimestamp(version.created_ms / 1000, tz=UTC)
            changes.append(Change(at=at, kind="gate", to=version.version))
    return changes


def previous_champion(session: Session, registry: RegistryClient, name: str, current: str) -> str | None:
    """The version that reigned before ``current``; None when none is known."""
    stack = replay(changes_of(session, registry, name), current)
    return stack[-2] if len(stack) >= 2 else None


def replayed_rollback(session: Session, name: str, key: str) -> AuditEvent | None:
    """The rollback of ``name`` already made under idempotency ``key`` (a retried request)."""
    events = session.scalars(
        select(AuditEvent)
        .where(AuditEvent.target == name, AuditEvent.action == "model.rollback")
        .order_by(AuditEvent.id.desc())
        .limit(200)
    )
    return next((event for event in events if event.detail.get("idempotency_key") == key), None)
