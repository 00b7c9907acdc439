"""Datasets: the YAML specs and those added at run time, and an upload that adds one.

The API process has no pandas: an upload is staged in the dataset store and checked by the
``add-dataset/intake`` deployment on the worker (``flows.intake``), which stores the dataset only
if its data passes the contract; the run's failure says why otherwise.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, Form, HTTPException, Request, UploadFile, status

from astralytiq import audit, dataset_store
from orchestration.prefect_api import DeploymentMissing, PrefectAPI, PrefectUnavailable, api_url
from serving.deps import Engineer, SessionDep, SettingsDep, Viewer, actor_of
from serving.errors import public
from serving.schemas import DATASET_PATTERN, DatasetOut, DatasetSubmitted

router = APIRouter(prefix="/v1/datasets", tags=["datasets"])

INTAKE_FLOW, INTAKE = "add-dataset", "intake"  # flows/intake.py, flows/deployments.py
COLUMN = r"^[^\x00-\x1f]{1,128}$"  # a column name: any text but control characters
CHUNK = 1 << 16


@router.get("", response_model=list[DatasetOut])
def list_datasets(settings: SettingsDep, principal: Viewer) -> list[DatasetOut]:
    """Every dataset by name: the YAML specs, then those added at run time."""
    folder = (
        sorted(p.stem for p in settings.datasets_dir.glob("*.yaml") if dataset_store.NAME.match(p.stem))
        if settings.datasets_dir.is_dir()
        else []
    )
    added = [name for name in dataset_store.names(settings) if name not in folder]
    return [DatasetOut(name=n, kept="yaml") for n in folder] + [
        DatasetOut(name=n, kept="added") for n in added
    ]


@router.post(
    "",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=DatasetSubmitted,
    responses={
        409: {"description": "A dataset of that name exists"},
        413: {"description": "The file is larger than the platform's source limit"},
        503: {"description": "No Prefect server, or no worker to check the upload"},
    },
)
def add_dataset(
    settings: SettingsDep,
    session: SessionDep,
    principal: Engineer,
    request: Request,
    name: Annotated[str, Form(pattern=DATASET_PATTERN, description="Dataset name, e.g. shop_sales")],
    file: Annotated[UploadFile, File(description="The data: CSV (.csv, .csv.gz) or Parquet")],
    series_id: Annotated[str, Form(pattern=COLUMN)] = "series_id",
    ds: Annotated[str, Form(pattern=COLUMN)] = "ds",
    y: Annotated[str, Form(pattern=COLUMN)] = "y",
    frequency: Annotated[str, Form(pattern=r"^[A-Za-z0-9-]{0,16}$", description="empty: from the data")] = "",
    season_length: Annotated[int, Form(ge=0, le=8784, description="0: proposed from the data")] = 0,
    horizon: Annotated[int, Form(ge=0, le=1000, description="0: proposed from the data")] = 0,
) -> DatasetSubmitted:
    """Stage an upload and check it on the worker: the data is read, frequency, season length,
    horizon and contract proposed where not given, and the dataset stored only if the data passes.
    Follow the returned run (``GET /v1/pipelines/runs``); ``GET /v1/datasets`` lists it once added."""
    if (settings.datasets_dir / f"{name}.yaml").is_file() or dataset_store.stored(settings, name):
        raise HTTPException(status.HTTP_409_CONFLICT, detail=f"dataset {name!r} exists already")
    filename = (file.filename or "").lower()
    suffix = next((s for s in (".csv.gz", ".csv", ".parquet") if filename.endswith(s)), "")
    try:
        staged = dataset_store.new_staged_name(suffix)
    except dataset_store.DatasetStoreError as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_ENTITY, detail=str(exc)) from None
    path = dataset_store.staged_path(settings, staged)
    path.parent.mkdir(parents=True, exist_ok=True)
    limit, written = int(settings.source_max_bytes), 0
    try:
        with path.open("wb") as out:
            while chunk := file.file.read(CHUNK):
                written += len(chunk)
                if written > limit:
                    raise HTTPException(
                        status.HTTP_413_REQUEST_ENTITY_TOO_LARGE,
                        detail=f"the file is larger than {limit:,} bytes (ASTRALYTIQ_SOURCE_MAX_BYTES)",
                    )
                out.write(chunk)
        actor = actor_of(principal, request)
        parameters = {
            "name": name,
            "staged": staged,
            "series_id": series_id,
            "ds": ds,
            "y": y,
            "frequency": frequency,
            "season_length": season_length,
            "horizon": horizon,
            "actor": actor.name,
            "actor_kind": actor.kind,
        }
        run = PrefectAPI(api_url(settings.prefect_api_url), timeout=5.0).trigger(
            INTAKE_FLOW, INTAKE, parameters
        )
    except (PrefectUnavailable, DeploymentMissing) as exc:
        path.unlink(missing_ok=True)
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, detail=public(str(exc))) from None
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    audit.record(session, actor, "dataset.submit", name, flow_run_id=run.id, bytes=written)
    session.commit()
    return DatasetSubmitted(dataset=name, flow_run_id=run.id, state=run.state)
