"""Data contract reports: every checked run kept in MLflow, its rules and its GX Data Docs.

A failed contract leaves an MLflow run tagged ``contract=failed``; a training run whose data
passed is tagged ``contract=passed``. Both keep the report under the ``contract_report``
artifact folder (``report.json``, ``summary.txt``, the Data Docs, ``quarantine.csv``).
"""

from __future__ import annotations

import json
import mimetypes
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import PurePosixPath
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Query, Request, Response, status
from fastapi import Path as PathParam
from fastapi.responses import StreamingResponse
from pydantic import BaseModel

from astralytiq.settings import Settings
from serving import security_headers
from serving.datasets import DatasetModels, dataset_name
from serving.deps import Principal, SettingsDep, Viewer
from serving.registry import NotFound, RegistryClient, RegistryError
from serving.report_streams import CHUNK_BYTES, FreeStream, ReportStreams

router = APIRouter(prefix="/v1/contracts", tags=["contracts"])

REPORT_FOLDER = "contract_report"
DATASET_PATTERN = r"^[a-z][a-z0-9_]{0,62}$"  # the dataset spec's name rule
RunId = Annotated[str, PathParam(pattern=r"^[0-9a-f]{32}$", description="MLflow run id")]


class ContractRunOut(BaseModel):
    run_id: str
    dataset: str
    status: Literal["passed", "failed"]
    stage: str | None
    started_at: datetime
    rules: int | None = None
    failures: int | None = None
    model_version: str | None = None


class RuleOut(BaseModel):
    rule: str
    column: str
    success: bool
    expectation: str
    message: str = ""
    unexpected: int = 0


class ContractReportOut(ContractRunOut):
    summary: str
    rows: int | None = None
    series: int | None = None
    quarantined: int = 0
    quarantine_counts: dict[str, int] = {}
    results: list[RuleOut] = []
    docs_url: str | None = None  # the GX Data Docs page of this check, under this API


class ContractReports(RegistryClient):
    """The MLflow REST calls behind this router: contract runs and their report artifacts."""

    def contract_runs(self, dataset: str | None, status_: str | None, limit: int) -> list[dict[str, Any]]:
        if dataset:
            try:
                experiments = [
                    self._get("/api/2.0/mlflow/experiments/get-by-name", experiment_name=dataset)[
                        "experiment"
                    ]
                ]
            except NotFound:
                return []
        else:
            experiments = self._post("/api/2.0/mlflow/experiments/search", {"max_results": 1000}).get(
                "experiments", []
            )
        if not experiments:
            return []
        body = {
            "experiment_ids": [e["experiment_id"] for e in experiments],
            "filter": f"tags.contract = '{status_}'" if status_ else "tags.contract LIKE '%'",
            "max_results": limit,
            "order_by": ["attributes.start_time DESC"],
        }
        return list(self._post("/api/2.0/mlflow/runs/search", body).get("runs", []))

    def run(self, run_id: str) -> dict[str, Any]:
        return dict(self._get("/api/2.0/mlflow/runs/get", run_id=run_id)["run"])

    def artifact(self, run: dict[str, Any], path: str) -> bytes:
        """A file of the run's ``contract_report`` folder, through the server's artifact proxy."""
        return self.download_artifact(run["info"]["artifact_uri"], f"{REPORT_FOLDER}/{path}")


def get_contract_reports(settings: SettingsDep) -> Iterator[ContractReports]:
    client = ContractReports(settings.mlflow_tracking_uri)
    try:
        yield client
    finally:
        client.close()


ContractReportsDep = Annotated[ContractReports, Depends(get_contract_reports)]


def _registry_down(exc: RegistryError) -> HTTPException:
    return HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, detail=f"model registry unavailable: {exc}")


def _run_out(run: dict[str, Any]) -> ContractRunOut:
    info, data = run["info"], run.get("data", {})
    tags = {t["key"]: t["value"] for t in data.get("tags", [])}
    metrics = {m["key"]: m["value"] for m in data.get("metrics", [])}
    verdict = tags.get("contract", "failed")
    return ContractRunOut(
        run_id=info["run_id"],
        dataset=dataset_name(
            tags.get("dataset") or tags.get("mlflow.runName", "").removeprefix("contract-failed-")
        ),
        status="passed" if verdict == "passed" else "failed",
        stage=tags.get("contract_stage") or tags.get("stage"),
        started_at=datetime.fromtimestamp(int(info["start_time"]) / 1000, tz=UTC),
        rules=int(metrics["contract_rules"]) if "contract_rules" in metrics else None,
        failures=int(metrics["contract_failures"])
        if "contract_failures" in metrics
        else (0 if verdict == "passed" else None),
        model_version=tags.get("model_version"),
    )


def _contract_run(
    client: ContractReports, run_id: str, principal: Principal, settings: Settings
) -> tuple[dict[str, Any], ContractRunOut]:
    missing = HTTPException(status.HTTP_404_NOT_FOUND, detail=f"no contract report in run {run_id}")
    try:
        run = client.run(run_id)
    except NotFound:
        raise missing from None
    except RegistryError as exc:
        raise _registry_down(exc) from None
    tags = {t["key"] for t in run.get("data", {}).get("tags", [])}
    if "contract" not in tags:
        raise missing
    out = _run_out(run)
    if not DatasetModels(settings.datasets_dir).allows(principal, out.dataset):
        raise missing
    return run, out


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
        raise _registry_down(exc) from None
    datasets = DatasetModels(settings.datasets_dir)
    return [out for out in map(_run_out, runs) if datasets.allows(principal, out.dataset)]


@router.get("/reports/{run_id}", response_model=ContractReportOut)
def report_detail(
    run_id: RunId, client: ContractReportsDep, principal: Viewer, settings: SettingsDep
) -> ContractReportOut:
    """One check: every rule with its verdict and one-line reason, and a link to its Data Docs."""
    run, out = _contract_run(client, run_id, principal, settings)
    try:
        summary = client.artifact(run, "summary.txt").decode("utf-8", "replace").strip()
    except NotFound:
        summary = ""
    except RegistryError as exc:
        raise _registry_down(exc) from None
    try:
        report = json.loads(client.artifact(run, "report.json"))
    except (NotFound, ValueError):
        report = {}  # kept before reports carried report.json: the summary is all there is
    except RegistryError as exc:
        raise _registry_down(exc) from None
    page = report.get("validation_page")
    return ContractReportOut(
        **out.model_dump(),
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
    run, _ = _contract_run(client, run_id, principal, settings)
    try:
        chunks = client.stream_artifact(
            run["info"]["artifact_uri"], "/".join((REPORT_FOLDER, *parts)), CHUNK_BYTES
        )
    except NotFound:
        raise HTTPException(
            status.HTTP_404_NOT_FOUND, detail=f"no file {path[:200]!r} in the report"
        ) from None
    except RegistryError as exc:
        raise _registry_down(exc) from None
    media_type = mimetypes.guess_type(parts[-1])[0] or "application/octet-stream"
    docs = StreamingResponse(chunks, media_type=media_type, headers=security_headers.DOCS_HEADERS)
    streams: ReportStreams = request.app.state.report_streams
    return streams.limited(docs)
