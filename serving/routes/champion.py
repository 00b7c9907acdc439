"""Promote a version to champion, or roll back to an earlier one: the alias moves through here.

The target version is loaded and smoke-tested first; only then does the MLflow alias move and
this API serve it. Every change is written to the audit log with its reason.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Header, HTTPException, Request, status
from sqlalchemy.orm import Session

from astralytiq import audit
from registry.names import CHAMPION
from registry.rest import NotFound, RegistryError
from serving import champion_history
from serving.deps import Engineer, ModelStoreDep, SessionDep, actor_of, check_model_scope
from serving.errors import registry_unavailable
from serving.model_store import LoadError, ModelStore
from serving.schemas import ChampionChange, PromotionRequest, RollbackRequest

IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        max_length=128,
        pattern=r"^[A-Za-z0-9._:-]{1,128}$",
        description="Any unique string per rollback: a retried request with the same key answers "
        "what the first did and moves nothing.",
    ),
]

router = APIRouter(prefix="/v1/models", tags=["champion"])

RESPONSES: dict[int | str, dict[str, Any]] = {
    403: {"description": "Needs the engineer role, or the key is not scoped to this model"},
    404: {"description": "Unknown model or version"},
    409: {"description": "Already champion, or no earlier champion to return to"},
    422: {"description": "The version cannot be served (its bundle failed to load or its smoke test)"},
    503: {"description": "The model registry is unreachable; nothing changed"},
}


def _current_champion(store: ModelStore, name: str) -> str | None:
    try:
        return store.registry.version_by_alias(name, CHAMPION).version
    except NotFound:
        if not store.registry.versions(name):
            raise HTTPException(
                status.HTTP_404_NOT_FOUND, detail=f"no registered model named {name!r}"
            ) from None
        return None


def _previous_champion(session: Session, store: ModelStore, name: str, current: str) -> str:
    """The champion before ``current`` in the replayed history (gate promotions, promotions and
    rollbacks): a second rollback goes one step further back, never back to the one undone."""
    previous = champion_history.previous_champion(session, store.registry, name, current)
    if previous is None:
        raise HTTPException(
            status.HTTP_409_CONFLICT,
            detail=f"no champion of {name!r} before v{current} is known; name the version to roll back to "
            '(body {"version": "N", "reason": "..."})',
        )
    return previous


def _switch(
    store: ModelStore,
    session: Session,
    actor: audit.Actor,
    name: str,
    version: str,
    previous: str | None,
    action: str,
    reason: str,
    idempotency_key: str | None = None,
) -> ChampionChange:
    if version == previous:
        raise HTTPException(
            status.HTTP_409_CONFLICT, detail=f"v{version} is already the champion of {name!r}"
        )
    try:
        loaded = store.switch(name, version, lambda: store.registry.set_alias(name, CHAMPION, version))
    except LoadError as exc:
        code = {"missing": 404, "invalid": 422, "unreachable": 503, "crashed": 503}[exc.kind]
        raise HTTPException(code, detail=f"{exc}; the champion is unchanged") from None
    except RegistryError as exc:
        raise registry_unavailable(exc, "nothing changed") from None
    detail: dict[str, Any] = {"from": previous, "to": version, "reason": reason}
    if idempotency_key:
        detail["idempotency_key"] = idempotency_key
    audit.record(session, actor, f"model.{action}", name, **detail)
    session.commit()
    return ChampionChange(
        model=name,
        action=action,  # type: ignore[arg-type]
        previous_version=previous,
        champion_version=version,
        serving_version=loaded.version,
        load_seconds=round(loaded.load_seconds, 3),
    )


@router.post("/{name}/promote", response_model=ChampionChange, responses=RESPONSES)
def promote(
    name: str,
    body: PromotionRequest,
    store: ModelStoreDep,
    session: SessionDep,
    principal: Engineer,
    request: Request,
) -> ChampionChange:
    """Make a registered version the champion: load and smoke-test it, move the alias, serve it."""
    check_model_scope(principal, name)
    try:
        previous = _current_champion(store, name)
    except RegistryError as exc:
        raise registry_unavailable(exc, "nothing changed") from None
    actor = actor_of(principal, request)
    return _switch(store, session, actor, name, body.version, previous, "promote", body.reason)


@router.post("/{name}/rollback", response_model=ChampionChange, responses=RESPONSES)
def rollback(
    name: str,
    body: RollbackRequest,
    store: ModelStoreDep,
    session: SessionDep,
    principal: Engineer,
    request: Request,
    idempotency_key: IdempotencyKey = None,
) -> ChampionChange:
    """Point the champion alias back: to ``version``, or to the champion before the current one
    (rollbacks walk back the history: a second one goes to the version before). A request
    retried with the same ``Idempotency-Key`` header answers what the first did, moving nothing."""
    check_model_scope(principal, name)
    if idempotency_key:
        done = champion_history.replayed_rollback(session, name, idempotency_key)
        if done is not None:
            return ChampionChange(
                model=name,
                action="rollback",
                previous_version=done.detail.get("from"),
                champion_version=str(done.detail["to"]),
                serving_version=served.version if (served := store.get(name)) else str(done.detail["to"]),
                load_seconds=0.0,
            )
    try:
        current = _current_champion(store, name)
        if current is None:
            raise HTTPException(
                status.HTTP_409_CONFLICT, detail=f"{name!r} has no champion to roll back from"
            )
        target = body.version or _previous_champion(session, store, name, current)
    except RegistryError as exc:
        raise registry_unavailable(exc, "nothing changed") from None
    actor = actor_of(principal, request)
    return _switch(store, session, actor, name, target, current, "rollback", body.reason, idempotency_key)
