"""Pipelines: Prefect flow runs (list, logs, cancel, retry), a training run triggered on the
Prefect server, and the schedules of every dataset's deployments (pause, resume).

The API talks to Prefect's REST API through ``orchestration.prefect_api`` (standard library only): the
``prefect`` package is never imported by the serving process. A training run is started through
the ``train/<dataset>`` deployment that `astralytiq worker` serves, so it runs on the workers,
not in the API; every action (train, cancel, retry, pause, resume) is written to the audit log.
A key scoped to models sees and acts on the runs and schedules of its models' datasets only; a
run it may not see answers 404 like a run that does not exist.
"""

from __future__ import annotations

import logging
from typing import Annotated, Any, Literal
from uuid import UUID

from fastapi import APIRouter, HTTPException, Path, Query, Request, status
from sqlalchemy.orm import Session

from astralytiq import audit
from astralytiq.settings import Settings
from orchestration.prefect_api import (
    TRAIN,
    DeploymentMissing,
    DeploymentSchedule,
    FlowRun,
    PrefectAPI,
    PrefectUnavailable,
    RunRefused,
    api_url,
)
from serving.access import Principal
from serving.datasets import DatasetModels, dataset_name, dataset_names, hide_paths
from serving.deps import Engineer, SessionDep, SettingsDep, Viewer, actor_of, check_model_scope
from serving.errors import public
from serving.schemas import (
    DATASET_PATTERN,
    PipelineRun,
    PipelineSchedule,
    RunLogLine,
    RunLogs,
    TrainRequest,
    TrainTriggered,
)

router = APIRouter(prefix="/v1/pipelines", tags=["pipelines"])

UNAVAILABLE: dict[int | str, dict[str, Any]] = {
    503: {"description": "No Prefect server reachable, or it has no deployment for this dataset"}
}
RUN_ACTION: dict[int | str, dict[str, Any]] = {
    403: {"description": "Needs the engineer role"},
    404: {"description": "No flow run of that id (or not one of the key's models' datasets)"},
    409: {"description": "The run's state does not allow it (cancel a finished run, retry a completed one)"},
    **UNAVAILABLE,
}
MESSAGE_CHARS, LOG_LINE_CHARS = 500, 4000  # a reason and a log line as answers carry them

RunId = Annotated[UUID, Path(description="The flow run's id in Prefect")]
FlowName = Annotated[Literal["train", "monitor", "forecast"], Path(description="The deployment's flow")]
DatasetName = Annotated[str, Path(pattern=DATASET_PATTERN, description="The dataset's name")]


def _prefect(configured: str) -> PrefectAPI:
    try:
        return PrefectAPI(api_url(configured), timeout=5.0)
    except PrefectUnavailable as exc:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, detail=public(str(exc))) from None


def _unavailable(exc: Exception) -> HTTPException:
    return HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, detail=public(str(exc)))


def _ui_link(ui_url: str, path: str) -> str | None:
    return f"{ui_url}/{path}" if ui_url else None


def _run_out(run: FlowRun, ui_url: str) -> PipelineRun:
    return PipelineRun(
        id=run.id,
        name=run.name,
        flow=run.flow,
        dataset=dataset_name(run.dataset) if run.dataset is not None else None,
        state=run.state,
        message=hide_paths(run.message)[:MESSAGE_CHARS] if run.message else None,
        started_at=run.started_at,  # type: ignore[arg-type]  # ISO text, parsed by pydantic
        ended_at=run.ended_at,  # type: ignore[arg-type]
        duration_seconds=run.duration_seconds,
        prefect_url=_ui_link(ui_url, f"runs/flow-run/{run.id}"),
    )


def _schedule_out(schedule: DeploymentSchedule, ui_url: str) -> PipelineSchedule:
    return PipelineSchedule(
        dataset=schedule.dataset,
        flow=schedule.flow,  # type: ignore[arg-type]  # one of DATASET_FLOWS
        schedule=schedule.schedule,
        paused=schedule.paused,
        next_run_at=schedule.next_run_at,  # type: ignore[arg-type]  # ISO text, parsed by pydantic
        prefect_url=_ui_link(ui_url, f"deployments/deployment/{schedule.deployment_id}"),
    )


def _visible_run(prefect: PrefectAPI, run_id: UUID, datasets: DatasetModels, principal: Principal) -> FlowRun:
    """The run, if it exists and the caller may see its dataset (else 404: a scoped key does not
    learn that another model's run exists)."""
    try:
        run = prefect.flow_run(str(run_id))
    except LookupError:
        run = None
    except PrefectUnavailable as exc:
        raise _unavailable(exc) from None
    if run is None or not datasets.allows(principal, run.dataset):
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=f"no flow run {run_id}")
    return run


@router.get("/runs", response_model=list[PipelineRun], responses=UNAVAILABLE)
def recent_runs(
    settings: SettingsDep,
    principal: Viewer,
    limit: Annotated[int, Query(ge=1, le=200, description="How many runs, most recent first")] = 20,
) -> list[PipelineRun]:
    """The most recent flow runs (training, monitoring, forecasting), newest first; future schedules
    left out. A key scoped to models sees only the runs of datasets that train them."""
    try:
        runs = _prefect(settings.prefect_api_url).recent_runs(limit)
    except PrefectUnavailable as exc:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, detail=public(str(exc))) from None
    datasets = DatasetModels(settings.datasets_dir, settings)
    return [_run_out(r, settings.prefect_ui_url) for r in runs if datasets.allows(principal, r.dataset)]


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


@router.get(
    "/runs/{run_id}/logs",
    response_model=RunLogs,
    responses={404: {"description": "No flow run of that id"}, **UNAVAILABLE},
)
def run_logs(
    run_id: RunId,
    settings: SettingsDep,
    principal: Viewer,
    offset: Annotated[int, Query(ge=0, le=1_000_000, description="Lines to skip, oldest first")] = 0,
    limit: Annotated[int, Query(ge=1, le=200, description="Most lines in this page")] = 200,
) -> RunLogs:
    """A page of a run's log lines, oldest first. Lines are plain text as the flow wrote them
    (render them escaped); server paths in them are shown by their last part."""
    prefect = _prefect(settings.prefect_api_url)
    datasets = DatasetModels(settings.datasets_dir, settings)
    _visible_run(prefect, run_id, datasets, principal)
    try:
        found = prefect.logs(str(run_id), limit=limit, offset=offset)
        # A full page: one line past it says whether there is a next page (200 is Prefect's
        # most lines per call, so the page itself cannot ask for one more).
        more = len(found) == limit and bool(prefect.logs(str(run_id), limit=1, offset=offset + limit))
    except PrefectUnavailable as exc:
        raise _unavailable(exc) from None
    lines = [
        RunLogLine(
            timestamp=line.timestamp,  # type: ignore[arg-type]  # ISO text, parsed by pydantic
            level=logging.getLevelName(line.level) if line.level in LEVELS else str(line.level),
            message=hide_paths(line.message[: LOG_LINE_CHARS * 2])[:LOG_LINE_CHARS],
        )
        for line in found
    ]
    return RunLogs(
        flow_run_id=str(run_id), offset=offset, lines=lines, next_offset=offset + limit if more else None
    )


LEVELS = frozenset({logging.DEBUG, logging.INFO, logging.WARNING, logging.ERROR, logging.CRITICAL})


@router.post("/runs/{run_id}/cancel", response_model=PipelineRun, responses=RUN_ACTION)
def cancel_run(
    run_id: RunId, settings: SettingsDep, session: SessionDep, principal: Engineer, request: Request
) -> PipelineRun:
    """Cancel a scheduled, pending or running run: one not yet taken is cancelled at once, a
    running one is stopped by its worker (state CANCELLING, then CANCELLED). Audited."""
    prefect = _prefect(settings.prefect_api_url)
    run = _visible_run(prefect, run_id, DatasetModels(settings.datasets_dir, settings), principal)
    actor = actor_of(principal, request)
    try:
        cancelled = prefect.cancel(run.id, f"cancelled by {actor.name} from AstralytiQ")
    except RunRefused as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, detail=str(exc)) from None
    except LookupError:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=f"no flow run {run_id}") from None
    except PrefectUnavailable as exc:
        raise _unavailable(exc) from None
    target = dataset_name(run.dataset) if run.dataset else run.flow
    audit.record(session, actor, "pipeline.cancel", target, flow_run_id=run.id, flow=run.flow)
    session.commit()
    return _run_out(cancelled, settings.prefect_ui_url)


@router.post(
    "/runs/{run_id}/retry",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=PipelineRun,
    responses=RUN_ACTION,
)
def retry_run(
    run_id: RunId, settings: SettingsDep, session: SessionDep, principal: Engineer, request: Request
) -> PipelineRun:
    """Run a failed, crashed or cancelled run again: a new run of the same deployment with the
    same parameters (training is idempotent, so a retried training gives the same model). The
    new run is the answer; refused with 503 when no worker serves the deployment. Audited."""
    prefect = _prefect(settings.prefect_api_url)
    run = _visible_run(prefect, run_id, DatasetModels(settings.datasets_dir, settings), principal)
    try:
        retried = prefect.retry(run.id)
    except RunRefused as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, detail=str(exc)) from None
    except LookupError:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=f"no flow run {run_id}") from None
    except (PrefectUnavailable, DeploymentMissing) as exc:
        raise _unavailable(exc) from None
    target = dataset_name(run.dataset) if run.dataset else run.flow
    audit.record(
        session,
        actor_of(principal, request),
        "pipeline.retry",
        target,
        flow_run_id=retried.id,
        retry_of=run.id,
    )
    session.commit()
    return _run_out(retried, settings.prefect_ui_url)


@router.get("/schedules", response_model=list[PipelineSchedule], responses=UNAVAILABLE)
def schedules(settings: SettingsDep, principal: Viewer) -> list[PipelineSchedule]:
    """Each dataset's train, monitor and forecast deployments: the schedule in words, paused or
    not, and the next scheduled run. A dataset no worker has served yet is not listed."""
    datasets = DatasetModels(settings.datasets_dir, settings)
    names = [n for n in dataset_names(settings) if datasets.allows(principal, n)]
    try:
        found = _prefect(settings.prefect_api_url).schedules(names)
    except PrefectUnavailable as exc:
        raise _unavailable(exc) from None
    return [_schedule_out(s, settings.prefect_ui_url) for s in found]


def _set_paused(
    flow: str,
    dataset: str,
    paused: bool,
    settings: Settings,
    session: Session,
    principal: Principal,
    request: Request,
) -> PipelineSchedule:
    model = DatasetModels(settings.datasets_dir, settings).model_of(dataset)
    if model is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=f"no dataset named {dataset!r}")
    check_model_scope(principal, model)
    prefect = _prefect(settings.prefect_api_url)
    try:
        changed = prefect.pause(flow, dataset) if paused else prefect.resume(flow, dataset)
    except (PrefectUnavailable, DeploymentMissing) as exc:
        raise _unavailable(exc) from None
    action = "pipeline.pause" if paused else "pipeline.resume"
    audit.record(session, actor_of(principal, request), action, dataset, flow=flow)
    session.commit()
    return _schedule_out(changed, settings.prefect_ui_url)


SCHEDULE_ACTION: dict[int | str, dict[str, Any]] = {
    403: {"description": "Needs the engineer role, or the key is not scoped to the dataset's model"},
    404: {"description": "No dataset of that name"},
    **UNAVAILABLE,
}


@router.post("/schedules/{flow}/{dataset}/pause", response_model=PipelineSchedule, responses=SCHEDULE_ACTION)
def pause_schedule(
    flow: FlowName,
    dataset: DatasetName,
    settings: SettingsDep,
    session: SessionDep,
    principal: Engineer,
    request: Request,
) -> PipelineSchedule:
    """Stop the deployment's schedule: the runs Prefect had scheduled ahead are removed and no new
    ones are made (a run started by hand, or one a worker had already claimed, still runs). Audited."""
    return _set_paused(flow, dataset, True, settings, session, principal, request)


@router.post("/schedules/{flow}/{dataset}/resume", response_model=PipelineSchedule, responses=SCHEDULE_ACTION)
def resume_schedule(
    flow: FlowName,
    dataset: DatasetName,
    settings: SettingsDep,
    session: SessionDep,
    principal: Engineer,
    request: Request,
) -> PipelineSchedule:
    """Run the deployment on its schedule again; Prefect schedules the next runs within seconds.
    Audited."""
    return _set_paused(flow, dataset, False, settings, session, principal, request)
