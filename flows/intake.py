"""Adding a dataset at run time: read the data, propose what the person left open (frequency,
season length, horizon, contract), check the data against the contract, and only then store it.
`astralytiq datasets add` calls ``add_dataset`` here; the API stages an upload and runs
``add_dataset_flow`` on the worker (the API process has no pandas)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml
from prefect import flow

from astralytiq import dataset_store
from astralytiq.audit import Actor
from astralytiq.settings import Settings, get_settings
from data_contracts.contract import Contract
from data_contracts.propose import propose
from data_contracts.report import ContractViolation
from data_contracts.sources import load_dataset
from data_contracts.spec import DatasetSpec
from data_contracts.validation import run_contract
from flows.outcomes import DatasetAdded


@dataclass(frozen=True)
class DatasetRequest:
    """What a person says about a new dataset; empty or 0 fields are proposed from the data."""

    name: str
    data: Path
    series_id: str = "series_id"
    ds: str = "ds"
    y: str = "y"
    covariates: tuple[str, ...] = ()
    frequency: str = ""
    season_length: int = 0
    horizon: int = 0
    contract: dict | None = None  # a contract as its YAML holds it; None: proposed
    schedule: str = ""


@dataclass(frozen=True)
class CheckedDataset:
    spec_yaml: str
    contract_yaml: str
    outcome: DatasetAdded


def _spec(request: DatasetRequest, kind: str, frequency: str, season: int, horizon: int) -> DatasetSpec:
    body: dict = {
        "name": request.name,
        "source": {"kind": kind, "path": str(request.data.resolve())},
        "columns": {"series_id": request.series_id, "ds": request.ds, "y": request.y},
        "covariates": list(request.covariates),
        "frequency": frequency,
        "season_length": season,
        "horizon": horizon,
    }
    if request.schedule:
        body["schedule"] = request.schedule
    return DatasetSpec.model_validate(body)


def check_dataset(request: DatasetRequest) -> CheckedDataset:
    """The spec and contract to store, once the data passed; raises with the reason otherwise
    (``SpecError``, ``DataSourceError``, ``DatasetStoreError``, ``ContractViolation``, ``ValueError``)."""
    dataset_store.check_name(request.name)
    data_file = dataset_store.data_file_name(request.data)
    kind = "parquet" if data_file.endswith(".parquet") else "csv"
    frame = load_dataset(_spec(request, kind, request.frequency or "D", 1, 1))
    proposal = propose(request.name, frame, list(request.covariates), request.frequency or None)
    spec = _spec(
        request,
        kind,
        proposal.frequency,
        request.season_length or proposal.season_length,
        request.horizon or proposal.horizon,
    )
    contract = Contract.model_validate({**(request.contract or proposal.contract), "dataset": request.name})
    report = run_contract(frame, contract, spec.frequency)
    if not report.success:
        raise ContractViolation(report)
    stored = spec.model_dump(mode="json", exclude_defaults=True, by_alias=True)
    stored["source"] = {"kind": kind, "path": data_file}
    stored["contract"] = dataset_store.CONTRACT_FILE
    outcome = DatasetAdded(
        name=request.name,
        rows=len(frame),
        series=int(frame["series_id"].nunique()),
        frequency=spec.frequency,
        season_length=spec.primary_season_length,
        horizon=spec.horizon,
        rules=len(report.results),
    )
    return CheckedDataset(
        yaml.safe_dump(stored, sort_keys=False),
        yaml.safe_dump(contract.model_dump(mode="json", exclude_defaults=True), sort_keys=False),
        outcome,
    )


def add_dataset(settings: Settings, request: DatasetRequest, actor: Actor) -> DatasetAdded:
    """Check ``request``'s data and store the dataset; nothing is stored if the check fails."""
    checked = check_dataset(request)
    dataset_store.add(settings, request.name, checked.spec_yaml, checked.contract_yaml, request.data, actor)
    return checked.outcome


@flow(name="add-dataset", log_prints=True)
def add_dataset_flow(
    name: str,
    staged: str,
    series_id: str = "series_id",
    ds: str = "ds",
    y: str = "y",
    frequency: str = "",
    season_length: int = 0,
    horizon: int = 0,
    schedule: str = "",
    actor: str = "api",
    actor_kind: str = "user",
) -> DatasetAdded:
    """An upload the API staged in the dataset store: checked, then stored (or refused with the
    reason as the run's failure). The staged file is removed either way."""
    settings = get_settings()
    path = dataset_store.staged_path(settings, staged)
    try:
        request = DatasetRequest(
            name, path, series_id, ds, y, (), frequency, season_length, horizon, None, schedule
        )
        return add_dataset(settings, request, Actor(actor, actor_kind))  # type: ignore[arg-type]
    finally:
        path.unlink(missing_ok=True)
