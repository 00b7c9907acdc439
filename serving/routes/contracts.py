"""Data contract reports: every checked run kept in MLflow, its rules and its GX Data Docs.

The MLflow side (which runs hold a check, where their files are) is ``registry.contract_reports``.
"""

from __future__ import annotations

import json
import mimetypes
from dataclasses import asdict
from pathlib import PurePosixPath
from typing import Annotated, Literal

from fastapi import APIRouter, HTTPException, Query, Request, Response, status
from fastapi import Path as PathParam
from fastapi.responses import StreamingResponse

from registry.contract_reports import ContractRun
from registry.rest import NotFound, RegistryError
from serving import security_headers
from serving.datasets import DatasetModels, dataset_name
from serving.deps import ContractReportsDep, Principal, SettingsDep, Viewer
from serving.errors import registry_unavailable
from serving.report_streams import CHUNK_BYTES, FreeStream, ReportStreams
from serving.schemas import DATASET_PATTERN, ContractReportOut, ContractRunOut, RuleOut

router = APIRouter(prefix="/v1/contracts", tags=["contracts"])

RunId = Annotated[str, PathParam(pattern=r"^[0-9a-f]{32}$", description="MLflow run id")]


def _run_out(run: ContractRun) -> ContractRunOut:
    fields = {k: v for k, v in asdict(run).items() if k != "artifact_uri"}
    # A spec given by path (a simulated copy) is shown by its name, never a path on the server.
    return ContractRunOut(**{**fields, "dataset": dataset_name(run.dataset)})


def _contract_run(
    client: ContractReportsDep, run_id: str, principal: Principal, datasets: DatasetModels
) -> ContractRun:
    """The check, if ``principal`` may see its dataset (a key scoped to other models may not)."""
    try:
        run = client.contract_run(run_id)
    except NotFound:
        run = None
    except RegistryError as exc:
        raise registry_unavailable(exc) from None
    if run is None or not datasets.allows(principal, run.dataset):
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=f"no contract report in run {run_id}")
    return run


@router.get("/reports", response_model=list[ContractRunOut])
def list_reports(
    client: ContractReportsDep,
    principal: Viewer,
    settings: SettingsDep,
    dataset: Annotated[str | None, Query(pattern=DATASET_PATTERN, description="Only this dataset.")] = None,
    status_: Annotated[
        Literal["passed", "failed"] | None, Query(alias="status", description="Only passed or failed checks.")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> list[ContractRunOut]:
    """Contract checks kept in MLflow, newest first: failed ones from any flow, passed ones from training."""
    try:
        runs = client.contract_runs(dataset, status_, limit)
    except RegistryError as exc:
        raise registry_unavailable(exc) from None
    datasets = DatasetModels(settings.datasets_dir, settings)
    return [_run_out(run) for run in runs if datasets.allows(principal, run.dataset)]


@router.get("/reports/{run_id}", response_model=ContractReportOut)
def report_detail(
    run_id: RunId, client: ContractReportsDep, principal: Viewer, settings: SettingsDep
) -> ContractReportOut:
    """One check: every rule with its verdict and one-line reason, and a link to its Data Docs."""
    run = _contract_run(client, run_id, principal, DatasetModels(settings.datasets_dir, settings))
    try:
        summary = client.report_file(run, "summary.txt").decode("utf-8", "replace").strip()
    except NotFound:
        summary = ""
    except RegistryError as exc:
        raise registry_unavailable(exc) from None
    try:
        report = json.loads(client.report_file(run, "report.json"))
    except (NotFound, ValueError):
        report = {}  # kept before reports carried report.json: the summary is all there is
    except RegistryError as exc:
        raise registry_unavailable(exc) from None
    page = report.get("validation_page")
    return ContractReportOut(
        **_run_out(run).model_dump(),
        summary=summary,
        rows=report.get("rows"),
        series=report.get("series"),
        quarantined=report.get("quarantined", 0),
        quarantine_counts=report.get("quarantine_counts", {}),
        results=[RuleOut.model_validate(r) for r in report.get("results", [])],
        docs_url=f"{router.prefix}/reports/{run_id}/docs/{page}" if page else None,
    )


@router.get(
    "/reports/{run_id}/docs/{path:path}",
    response_class=StreamingResponse,
    responses={
        200: {
            "description": "A Data Docs file, sandboxed (Content-Security-Policy: sandbox)",
            "content": {
                "text/html": {"schema": {"type": "string"}},
                "text/css": {"schema": {"type": "string"}},
            },
        }
    },
)
def report_docs(
    _stream: Annotated[None, FreeStream],
    run_id: RunId,
    path: str,
    client: ContractReportsDep,
    principal: Viewer,
    settings: SettingsDep,
    request: Request,
) -> Response:
    """A file of the check's GX Data Docs (``index.html``, a validation page, its styles), streamed."""
    parts = PurePosixPath(path).parts
    if not parts or path.startswith("/") or any(p in ("..", ".") for p in parts) or len(path) > 1024:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=f"no file {path[:200]!r} in the report")
    run = _contract_run(client, run_id, principal, DatasetModels(settings.datasets_dir, settings))
    try:
        chunks = client.report_stream(run, "/".join(parts), CHUNK_BYTES)
    except NotFound:
        raise HTTPException(
            status.HTTP_404_NOT_FOUND, detail=f"no file {path[:200]!r} in the report"
        ) from None
    except RegistryError as exc:
        raise registry_unavailable(exc) from None
    media_type = mimetypes.guess_type(parts[-1])[0] or "application/octet-stream"
    docs = StreamingResponse(chunks, media_type=media_type, headers=security_headers.DOCS_HEADERS)
    streams: ReportStreams = request.app.state.report_streams
    return streams.limited(docs)
