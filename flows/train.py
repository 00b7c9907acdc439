"""The training flow: load, check the contract, backtest and select per series on Dask, register
once under the run's idempotency key, and let the champion/challenger gate place the alias."""

from __future__ import annotations

import math
import tempfile
from dataclasses import asdict, replace
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any
from uuid import UUID

import pandas as pd
from prefect import flow, get_run_logger, task
from prefect.artifacts import create_markdown_artifact, create_progress_artifact, update_progress_artifact
from prefect.cache_policies import NONE
from prefect.futures import as_completed
from prefect.task_runners import TaskRunner, ThreadPoolTaskRunner

from astralytiq.settings import Settings, get_settings
from data_contracts.spec import DatasetSpec
from flows.checkpoints import SeriesCheckpoints
from flows.outcomes import TrainOutcome
from flows.tasks import check_contract, load_data, load_spec_task
from models import engine
from models.frame import DS, SERIES_ID, Series, fingerprint, iter_series
from registry import registration, tracking
from registry.gate import GATE_METRIC, GateDecision, decide, head_to_head
from registry.names import CONTRACT_TAG

if TYPE_CHECKING:
    from prefect_dask import DaskTaskRunner

CHUNKS_PER_WORKER = 4  # enough to balance uneven series over workers; few enough to keep task overhead low


def training_config(spec: DatasetSpec) -> engine.TrainingConfig:
    return engine.TrainingConfig(
        freq=spec.frequency,
        horizon=spec.horizon,
        season_length=spec.primary_season_length,
        season_lengths=spec.season_lengths,
        candidates=tuple(spec.training.candidates),
        backtest_windows=spec.training.backtest_windows,
        backtest_step=spec.training.backtest_step,
        levels=tuple(spec.training.levels),
        nonnegative=spec.nonnegative,
        time_budget=spec.training.time_budget_seconds,
        covariates=spec.model_covariates,
    )


def series_runner(settings: Settings, workers: int) -> TaskRunner[Any]:
    """Where per-series training runs: the Dask scheduler at ASTRALYTIQ_DASK_ADDRESS; else a local
    Dask cluster of ``workers`` processes; a single worker trains in this process (a cluster of one
    would only add its start-up). The flow submits to each the same way."""
    if settings.dask_address:
        return dask_runner(address=settings.dask_address)
    if workers > 1:
        return dask_runner(workers=workers)
    return ThreadPoolTaskRunner(max_workers=1)


def dask_runner(address: str = "", workers: int = 1) -> DaskTaskRunner:
    from prefect_dask import DaskTaskRunner

    if address:
        return DaskTaskRunner(address=address)
    # One thread per worker process: the statsmodels fits hold the GIL.
    return DaskTaskRunner(
        cluster_kwargs={
            "n_workers": workers,
            "threads_per_worker": 1,
            "processes": True,
            "dashboard_address": None,
        }
    )


def plan_chunks(series: list[Series], workers: int) -> list[list[Series]]:
    size = max(1, math.ceil(len(series) / (max(1, workers) * CHUNKS_PER_WORKER)))
    return [series[i : i + size] for i in range(0, len(series), size)]


def describe(runner: TaskRunner[Any]) -> str:
    address = getattr(runner, "address", None)
    if address:
        return f"the Dask cluster at {address}"
    kwargs = getattr(runner, "cluster_kwargs", None)
    if kwargs is not None:
        return f"a local Dask cluster of {kwargs.get('n_workers')} worker process(es)"
    return "this process"


@task(name="train-series", cache_policy=NONE, persist_result=False)
def train_chunk(
    series: list[Series],
    config: engine.TrainingConfig,
    pooled: dict[str, engine.PooledForecasts] | None = None,
) -> list[engine.SeriesOutcome]:
    """Backtest, select and fit a few series (``engine.train_series`` on each) on one Dask worker;
    ``pooled`` holds the forecasts of global candidates fitted across every series."""
    return [engine.train_series(item, config, (pooled or {}).get(item.series_id)) for item in series]


def train_on_cluster(
    df: pd.DataFrame,
    config: engine.TrainingConfig,
    checkpoints: SeriesCheckpoints,
    runner: TaskRunner[Any],
    workers: int,
) -> tuple[list[engine.SeriesOutcome], int, engine.TrainingConfig]:
    """Every series' outcome, how many came from an earlier attempt's checkpoints, and the
    planned config (candidates that do not apply or fit the time budget dropped, each logged)."""
    logger = get_run_logger()
    series = sorted(iter_series(df, config.freq, config.covariates), key=lambda s: s.series_id)
    config = engine.plan_training(series, config, workers, logger.info)
    saved = checkpoints.load()
    outcomes = {s.series_id: saved[s.series_id] for s in series if s.series_id in saved}
    todo = [s for s in series if s.series_id not in outcomes]
    resumed = len(outcomes)
    if resumed:
        logger.info("resuming: %d of %d series were trained by an earlier attempt", resumed, len(series))
    if not todo:
        return [outcomes[s.series_id] for s in series], resumed, config
    progress_id = create_progress_artifact(
        progress=100.0 * resumed / len(series), description=f"series trained of {len(series)}"
    )
    assert isinstance(progress_id, UUID)  # the sync call inside a sync flow returns the id
    pooled: dict[str, engine.PooledForecasts] = {}
    if len(series) > 1 and any(c in engine.GLOBAL_CANDIDATES for c in config.candidates):
        # Global candidates learn across all series, as engine.train does: fitted once, here,
        # in worker processes (one per pooled fit), a log line as each finishes.
        logger.info("fitting the global candidates across %d series", len(series))
        pooled = engine.pool_forecasts(series, config, workers, logger.info)
    chunks = plan_chunks(todo, workers)
    logger.info("training %d series in %d tasks on %s", len(todo), len(chunks), describe(runner))
    with runner:
        futures = [
            runner.submit(
                train_chunk,
                {
                    "series": chunk,
                    "config": config,
                    "pooled": {s.series_id: pooled[s.series_id] for s in chunk if s.series_id in pooled},
                },
            )
            for chunk in chunks
        ]
        for future in as_completed(futures):
            finished = future.result()
            checkpoints.save(finished)  # before anything else: a crash from here on keeps them
            outcomes.update((o.series_id, o) for o in finished)
            logger.info("trained %d/%d series (last: %s)", len(outcomes), len(series), finished[-1].series_id)
            update_progress_artifact(progress_id, progress=100.0 * len(outcomes) / len(series))
    return [outcomes[s.series_id] for s in series], resumed, config


@task(name="find-registered", retries=2, retry_delay_seconds=[2, 10], cache_policy=NONE)
def find_registered(model_name: str, key: str) -> tuple[registration.Registered | None, GateDecision | None]:
    """The version an earlier run of this key registered, and the gate decision it carries."""
    client = registration.client_for(get_settings().mlflow_tracking_uri)
    found = registration.find_version(client, model_name, key)
    if found is None:
        return None, None
    registered = registration.Registered(model_name, found.version, found.run_id or "", reused=True)
    return registered, registration.recorded_decision(client, model_name, found.version)


@task(name="register-model", retries=2, retry_delay_seconds=[5, 20], cache_policy=NONE)
def register_model(
    result: engine.TrainingResult, spec: DatasetSpec, key: str, data_fingerprint: str, docs_dir: Path
) -> registration.Registered:
    config = training_config(spec)
    return registration.register_once(
        result,
        tracking_uri=get_settings().mlflow_tracking_uri,
        experiment=spec.name,
        key=key,
        params={
            "dataset": spec.name,
            "frequency": spec.frequency,
            "horizon": spec.horizon,
            "season_length": ",".join(map(str, spec.season_lengths)),
            "candidates": ",".join(config.candidates),
            "backtest_windows": config.backtest_windows,
            "backtest_step": config.backtest_step or config.horizon,
            "series": len(result.bundle.series),
            "promotion_margin": spec.training.promotion_margin,
            "code_version": registration.code_version(),
        },
        data_fingerprint=data_fingerprint,
        contract_docs=docs_dir,
        tags={"dataset": spec.name, CONTRACT_TAG: "passed", "contract_stage": "training"},
    )


def _champion_scores(
    df: pd.DataFrame, config: engine.TrainingConfig, scores: pd.DataFrame, wanted: dict[str, str]
) -> pd.DataFrame:
    """Backtest scores, on this run's windows, of champion choices this run did not try."""
    tried = set(zip(scores[SERIES_ID], scores["model"], strict=True)) if len(scores) else set()
    missing = {sid: model for sid, model in wanted.items() if (sid, model) not in tried}
    rows: list[dict[str, Any]] = []
    if not missing:
        return pd.DataFrame(rows)
    for item in iter_series(df[df[SERIES_ID].isin(list(missing))], config.freq, config.covariates):
        try:
            alone = replace(config, candidates=(missing[item.series_id],))
        except ValueError:  # a model this code no longer knows: that series is not compared
            continue
        for score in engine.train_series(item, alone).scores:
            rows.append({k: v for k, v in asdict(score).items() if k != "coverage"})
    return pd.DataFrame(rows)


@task(name="champion-gate", retries=2, retry_delay_seconds=[5, 20], cache_policy=NONE)
def gate(
    result: engine.TrainingResult,
    registered: registration.Registered,
    df: pd.DataFrame,
    config: engine.TrainingConfig,
    margin: float,
) -> GateDecision:
    """Champion or challenger, decided once per version; the alias moves at most once."""
    logger = get_run_logger()
    client = registration.client_for(get_settings().mlflow_tracking_uri)
    name, version = registered.model_name, registered.version
    decision = registration.recorded_decision(client, name, version)
    if decision is not None:
        logger.info("v%s was already judged by an earlier attempt: %s", version, decision.alias)
    else:
        new_score = float(result.summary.get(f"backtest_{GATE_METRIC}", math.inf))
        champion = registration.current_champion(client, name, excluding=version)
        if champion is None:
            decision = decide(new_score, None, None, margin)
        else:
            new_selection = dict(zip(result.selection[SERIES_ID], result.selection["model"], strict=True))
            wanted = {sid: m for sid, m in champion.selection.items() if sid in new_selection}
            extra = _champion_scores(df, config, result.scores, wanted)
            table = pd.concat([result.scores, extra], ignore_index=True) if len(extra) else result.scores
            match = head_to_head(table, new_selection, champion.selection)
            if match is not None:
                decision = decide(
                    match.new_score, match.champion_score, champion.version, margin, match.basis
                )
            else:
                decision = decide(
                    new_score,
                    champion.recorded_score,
                    champion.version,
                    margin,
                    "each version's own backtest (no series in common)",
                )
    moved = registration.apply_decision(client, name, version, registered.run_id, decision)
    logger.info(
        "v%s -> %s%s: %s", version, decision.alias, "" if moved else " (alias unchanged)", decision.reason
    )
    return decision


@flow(name="train", log_prints=True)
def train_flow(dataset: str, until: date | None = None, n_jobs: int = 0) -> TrainOutcome:
    """Train and register a forecaster for ``dataset`` on its data up to ``until``.

    Idempotent: a run whose (data window, configuration, code) was registered already returns
    that version; a run after a crash resumes from the series it had finished.
    """
    settings = get_settings()
    tracking.check_tracking_server(settings.mlflow_tracking_uri)
    logger = get_run_logger()
    spec = load_spec_task(dataset)
    until = until or spec.training.until
    rows = load_data(spec, until)
    config = training_config(spec)
    workers = n_jobs or settings.train_jobs or _cores()
    with tempfile.TemporaryDirectory(prefix="contract-") as tmp:
        docs_dir = Path(tmp) / "data_docs"
        df = check_contract(rows, spec, docs_dir, stage="training")
        data_fingerprint = fingerprint(df)
        key = registration.idempotency_key(
            spec.name,
            data_fingerprint,
            *_window(df),
            config,
            registration.code_version(),
        )
        logger.info("idempotency key %s", key)
        registered, decision = find_registered(spec.model_name, key)  # type: ignore[misc]
        if registered is not None and decision is not None:
            logger.info("v%s already holds this training (key %s): nothing to do", registered.version, key)
            return _outcome(registered, decision, key, skipped=True)
        checkpoints = SeriesCheckpoints(settings.data_dir / "checkpoints" / "train", key)
        runner = series_runner(settings, workers)
        outcomes, resumed, config = train_on_cluster(df, config, checkpoints, runner, workers)
        result = engine.assemble(outcomes, config, spec.model_name, df)
        registered = register_model(result, spec, key, data_fingerprint, docs_dir)
        decision = gate(result, registered, df, config, spec.training.promotion_margin)
    checkpoints.clear()
    counts = {str(model): int(n) for model, n in result.selection["model"].value_counts().items()}
    create_markdown_artifact(
        key=f"training-{spec.name.replace('_', '-')}",
        markdown=(
            f"### {spec.model_name} v{registered.version}: {decision.alias}\n\n"
            f"- gate: {decision.reason}\n"
            f"- backtest MASE {result.summary['backtest_mase']:.3f}, sMAPE {result.summary['backtest_smape']:.2f}\n"
            f"- models chosen: {counts}\n"
            f"- idempotency key `{key}`; {resumed} series resumed from an earlier attempt\n"
        ),
    )
    mase = float(result.summary["backtest_mase"])
    return _outcome(
        registered, decision, key, skipped=False, resumed=resumed, backtest_mase=mase, selection=counts
    )


def _outcome(
    registered: registration.Registered, decision: GateDecision, key: str, **training: Any
) -> TrainOutcome:
    return TrainOutcome(
        registered.model_name,
        registered.version,
        registered.run_id,
        decision.alias,
        decision.reason,
        idempotency_key=key,
        **training,
    )


def _window(df: pd.DataFrame) -> tuple[str, str]:
    return str(df[DS].min().date()), str(df[DS].max().date())


def _cores() -> int:
    import os

    return os.cpu_count() or 1
