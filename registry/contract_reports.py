"""Contract checks kept in MLflow, read over REST for the API: the runs tagged ``contract`` and the
files of their report (``report.json``, ``summary.txt``, the GX Data Docs, ``quarantine.csv``).

A failed contract leaves a run tagged ``contract=failed`` (``registry.tracking``); a training run
whose data passed is tagged ``contract=passed`` (``registry.registration``).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from registry.names import CONTRACT_TAG, REPORT_FOLDER
from registry.rest import NotFound, RegistryClient

Verdict = Literal["passed", "failed"]


@dataclass(frozen=True)
class ContractRun:
    """One contract check as MLflow keeps it."""

    run_id: str
    dataset: str
    status: Verdict
    stage: str | None
    started_at: datetime
    rules: int | None
    failures: int | None
    model_version: str | None  # the version a passed training run registered
    artifact_uri: str


def _contract_run(run: dict[str, Any]) -> ContractRun:
    info, data = run["info"], run.get("data", {})
    tags = {t["key"]: t["value"] for t in data.get("tags", [])}
    metrics = {m["key"]: m["value"] for m in data.get("metrics", [])}
    verdict = tags.get(CONTRACT_TAG, "failed")
    return ContractRun(
        run_id=info["run_id"],
        dataset=tags.get("dataset") or tags.get("mlflow.runName", "").removeprefix("contract-failed-"),
        status="passed" if verdict == "passed" else "failed",
        stage=tags.get("contract_stage") or tags.get("stage"),
        started_at=datetime.fromtimestamp(int(info["start_time"]) / 1000, tz=UTC),
        rules=int(metrics["contract_rules"]) if "contract_rules" in metrics else None,
        failures=int(metrics["contract_failures"])
        if "contract_failures" in metrics
        else (0 if verdict == "passed" else None),
        model_version=tags.get("model_version"),
        artifact_uri=info["artifact_uri"],
    )


class ContractReports(RegistryClient):
    """The MLflow REST calls behind ``/v1/contracts``: contract runs and their report files."""

    def contract_runs(self, dataset: str | None, status: Verdict | None, limit: int) -> list[ContractRun]:
        """Checks of ``dataset`` (every dataset if None), newest first."""
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
            "filter": f"tags.{CONTRACT_TAG} = '{status}'" if status else f"tags.{CONTRACT_TAG} LIKE '%'",
            "max_results": limit,
            "order_by": ["attributes.start_time DESC"],
        }
        return [_contract_run(run) for run in self._post("/api/2.0/mlflow/runs/search", body).get("runs", [])]

    def contract_run(self, run_id: str) -> ContractRun:
        """The check kept in run ``run_id``; NotFound when there is no such run or it checked no contract."""
        run = self._get("/api/2.0/mlflow/runs/get", run_id=run_id)["run"]
        if CONTRACT_TAG not in {t["key"] for t in run.get("data", {}).get("tags", [])}:
            raise NotFound(f"run {run_id} holds no contract report")
        return _contract_run(run)

    def report_file(self, run: ContractRun, path: str) -> bytes:
        """A file of the run's report folder, through the server's artifact proxy."""
        return self.download_artifact(run.artifact_uri, f"{REPORT_FOLDER}/{path}")

    def report_stream(self, run: ContractRun, path: str, chunk: int) -> Iterator[bytes]:
        """The same file in chunks (the Data Docs are megabytes); NotFound before the first."""
        return self.stream_artifact(run.artifact_uri, f"{REPORT_FOLDER}/{path}", chunk)
