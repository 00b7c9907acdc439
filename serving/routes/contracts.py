"""Data contract reports: every checked run kept in MLflow, its rules and its GX Data Docs.

The MLflow side (which runs hold a check, where their files are) is ``registry.contract_reports``.
"""

from __future__ import annotations

import json
import mimetypes
from dataclasses import asdict
from pathlib import PurePosixPath
from typing import Annotated, Literal

from fastapi import APIRouter, HTTPException, Query, status
from fastapi import Path as PathParam
from fastapi.responses import Response

from registry.contract_reports import ContractRun
from registry.rest import NotFound, RegistryError
from serving.deps import ContractReportsDep, Principal, Viewer
from serving.errors import registry_unavailable
from serving.schemas import DATASET_PATTERN, ContractReportOut, ContractRunOut, RuleOut

router = APIRouter(prefix="/v1/contracts", tags=["contracts"])

RunId = Annotated[str, PathParam(pattern=r"^[0-9a-f]{32}$", description="MLflow run id")]
# The Data Docs open other pages of the same folder; without same-origin they cannot read
# anything the API's origin holds, even if a value in the data slipped past GX's escaping.
DOCS_POLICY = "sandbox allow-scripts allow-popups"


def _run_out(run: ContractRun) -> ContractRunOut:
    return ContractRunOut(**{k: v for k, v in asdict(run).items() if k != "artifact_uri"})


def _contract_run(client: ContractReportsDep, run_id: str, principal: Principal) -> ContractRun:
    try:
        run = client.contract_run(run_id)
    except NotFound:
        run = None
    except RegistryError as exc:
        raise registry_unavailable(exc) from None
    if run is None or not principal.can_use(run.dataset):
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=f"no contract report in run {run_id}")
    return run


@router.get("/reports", response_model=list[ContractRunOut])
def list_reports(
    client: ContractReportsDep,
    principal: Viewer,
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
    return [_run_out(run) for run in runs if principal.can_use(run.dataset)]


@router.get("/reports/{run_id}", response_model=ContractReportOut)
def report_detail(run_id: RunId, client: ContractReportsDep, principal: Viewer) -> ContractReportOut:
    """One check: every rule with its verdict and one-line reason, and a link to its Data Docs."""
    run = _contract_run(client, run_id, principal)
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


@router.get("/reports/{run_id}/docs/{path:path}", response_class=Response)
def report_docs(run_id: RunId, path: str, client: ContractReportsDep, principal: Viewer) -> Response:
    """A file of the check's GX Data Docs (``index.html``, a validation page, its styles)."""
    parts = PurePosixPath(path).parts
    if not parts or path.startswith("/") or any(p in ("..", ".") for p in parts):
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=f"no file {path!r} in the report")
    run = _contract_run(client, run_id, principal)
    try:
        content = client.report_file(run, "/".join(parts))
    except NotFound:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=f"no file {path!r} in the report") from None
    except RegistryError as exc:
        raise registry_unavailable(exc) from None
    media_type = mimetypes.guess_type(parts[-1])[0] or "application/octet-stream"
    return Response(
        content,
        media_type=media_type,
        headers={"Content-Security-Policy": DOCS_POLICY, "X-Content-Type-Options": "nosniff"},
    )
