"""Pipelines: recent Prefect flow runs, and a training run triggered on the Prefect server.

The API talks to Prefect's REST API through ``orchestration.prefect_api`` (standard library only): the
``prefect`` package is never imported by the serving process. A training run is started through
the ``train/<dataset>`` deployment that `astralytiq worker` serves, so it runs on the workers,
not in the API; the trigger is written to the audit log.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, Request, status

from astralytiq import audit
from orchestration.prefect_api import TRAIN, DeploymentMissing, PrefectAPI, PrefectUnavailable, api_url
from serving.datasets import DatasetModels, dataset_name
from serving.deps import Engineer, SessionDep, SettingsDep, Viewer, actor_of, check_model_scope
from serving.errors import public
from serving.schemas import PipelineRun, TrainRequest, TrainTriggered

router = APIRouter(prefix="/v1/pipelines", tags=["pipelines"])

UNAVAILABLE: dict[int | str, dict[str, Any]] = {
    503: {"description": "No Prefect server reachable, or it has no deployment for this dataset"}
}


def _prefect(configured: str) -> PrefectAPI:
    try:
        return PrefectAPI(api_url(configured), timeout=5.0)
    except PrefectUnavailable as exc:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, detail=public(str(exc))) from None


@router.get("/runs", response_model=list[PipelineRun], responses=UNAVAILABLE)
def recent_runs(
    settings: SettingsDep,
    principal: Viewer,
    limit: Annotated[int, Query(ge=1, le=200, description="How many runs, most recent first")] = 20,
) -> list[PipelineRun]:
    """The most recent flow runs (training and monitoring), newest first; future schedules left out.
    A key scoped to models sees only the runs of datasets that train them."""
    try:
        runs = _prefect(settings.prefect_api_url).recent_runs(limit)
    except PrefectUnavailable as exc:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, detail=public(str(exc))) from None
    datasets = DatasetModels(settings.datasets_dir, settings)
    return [
        PipelineRun(
            id=r.id,
            name=r.name,
            flow=r.flow,
            dataset=dataset_name(r.dataset) if r.dataset is not None else None,
            state=r.state,
            started_at=r.started_at,  # type: ignore[arg-type]  # ISO text, parsed by pydantic
            ended_at=r.ended_at,  # type: ignore[arg-type]
            duration_seconds=r.duration_seconds,
        )
        for r in runs
        if datasets.allows(principal, r.dataset)
    ]


@router.post(
    "/train",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=TrainTriggered,
    responses={
        403: {"description": "Needs the engineer role, or the key is not scoped to the dataset's model"},
        404: {"description": "No dataset spec of that name"},
        **UNAVAILABLE,
    },
)
def trigger_training(
    body: TrainRequest, settings: SettingsDep, session: SessionDep, principal: Engineer, request: Request
) -> TrainTriggered:
    """Start a run of the dataset's training deployment on the Prefect server; it runs on a worker.
    A key scoped to models may train only the datasets whose model is one of them."""
    model = DatasetModels(settings.datasets_dir, settings).model_of(body.dataset)
    if model is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=f"no dataset spec named {body.dataset!r}")
    check_model_scope(principal, model)
    try:
        run = _prefect(settings.prefect_api_url).trigger(TRAIN, body.dataset)
    except (PrefectUnavailable, DeploymentMissing) as exc:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, detail=public(str(exc))) from None
    audit.record(session, actor_of(principal, request), "pipeline.train", body.dataset, flow_run_id=run.id)
    session.commit()
    return TrainTriggered(flow_run_id=run.id, dataset=body.dataset, state=run.state)
