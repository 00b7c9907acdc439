"""What is registered and served: models, versions, aliases, backtest metrics."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi import APIRouter, HTTPException, status

from registry.names import CHAMPION
from registry.rest import NotFound, RegistryError
from serving.deps import ModelStoreDep, Viewer, check_model_scope
from serving.errors import registry_unavailable
from serving.schemas import ModelDetail, ModelSummary, SelectionRow, VersionOut

router = APIRouter(prefix="/v1/models", tags=["models"])


def _summary(store: ModelStoreDep, name: str, aliases: dict[str, str]) -> ModelSummary:
    served = store.get(name)
    bundle = served.bundle if served else None
    champion = aliases.get(CHAMPION)
    return ModelSummary(
        name=name,
        champion_version=champion,
        serving_version=served.version if served else None,
        aliases=aliases,
        series_count=len(bundle.series) if bundle else None,
        max_horizon=bundle.max_horizon if bundle else None,
        frequency=bundle.freq if bundle else None,
        train_start=bundle.train_start if bundle else None,
        train_end=bundle.train_end if bundle else None,
        load_error=store.status.failed.get(f"{name}/{champion}") if champion else None,
    )


@router.get("", response_model=list[ModelSummary])
def list_models(store: ModelStoreDep, principal: Viewer) -> list[ModelSummary]:
    """Every registered model, its aliases and what this API serves of it."""
    try:
        registered = store.registry.list_models()
    except RegistryError as exc:
        # Still say what is served: the registry being down does not stop forecasts.
        if not store.all():
            raise registry_unavailable(exc) from None
        return [
            _summary(store, name, {CHAMPION: m.version})
            for name, m in sorted(store.all().items())
            if principal.can_use(name)
        ]
    return [_summary(store, m.name, m.aliases) for m in registered if principal.can_use(m.name)]


@router.get("/{name}", response_model=ModelDetail, responses={404: {"description": "Unknown model"}})
def model_detail(name: str, store: ModelStoreDep, principal: Viewer) -> ModelDetail:
    """Versions with their backtest metrics, aliases, and the per-series model selection."""
    check_model_scope(principal, name)
    try:
        versions = store.registry.versions(name)
        if not versions:
            raise NotFound(name)
        aliases = {alias: v.version for v in versions for alias in v.aliases}
        out = [
            VersionOut(
                version=v.version,
                aliases=v.aliases,
                run_id=v.run_id,
                created_at=datetime.fromtimestamp(v.created_ms / 1000, UTC),
                metrics=store.registry.run_metrics(v.run_id) if v.run_id else {},
                gate=v.tags.get("gate"),
            )
            for v in versions[:20]
        ]
    except NotFound:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=f"no registered model named {name!r}") from None
    except RegistryError as exc:
        raise registry_unavailable(exc) from None
    served = store.get(name)
    selection = (
        [SelectionRow(series_id=s, model=f.model) for s, f in sorted(served.bundle.series.items())]
        if served
        else []
    )
    return ModelDetail(**_summary(store, name, aliases).model_dump(), versions=out, selection=selection)


@router.get("/{name}/series", response_model=list[str])
def list_series(name: str, store: ModelStoreDep, principal: Viewer) -> list[str]:
    """The series the served champion can forecast."""
    check_model_scope(principal, name)
    served = store.get(name)
    if served is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=f"model {name!r} is not served")
    return sorted(served.bundle.series)
