"""`astralytiq simulate-drift`: shift a dataset's newest actuals, run the monitor flow on them and
watch each stage of the loop (drift detected, alert condition true, retrain triggered, new champion
served), saying plainly which stage did not happen."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import httpx

from astralytiq.settings import Settings

if TYPE_CHECKING:
    from flows.outcomes import Retrained, RetrainTriggered

Say = Callable[[str], None]


@dataclass
class LoopReport:
    stages: dict[str, bool] = field(default_factory=dict)

    def mark(self, stage: str, happened: bool, say: Say, message: str) -> None:
        self.stages[stage] = happened
        say(f"[{'x' if happened else ' '}] {stage}: {message}")

    @property
    def complete(self) -> bool:
        return all(self.stages.values())


def _champion(tracking_uri: str, model: str) -> str | None:
    from registry.rest import RegistryClient, RegistryError

    try:
        return RegistryClient(tracking_uri).champion(model)
    except RegistryError:  # unreachable for now: read as "not known", the loop polls again
        return None


def drift_gauge(api_url: str, model: str, headers: dict[str, str] | None = None) -> float | None:
    """``astralytiq_drift_detected`` for ``model`` on the API's /metrics (None: not exported).
    ``headers``: the metrics token (/metrics is not for anonymous callers)."""
    text = httpx.get(f"{api_url.rstrip('/')}/metrics", timeout=5, headers=headers).text
    pattern = rf'^astralytiq_drift_detected\{{model="{re.escape(model)}"\}} (\S+)$'
    found = re.search(pattern, text, flags=re.MULTILINE)
    return float(found.group(1)) if found else None


def _wait(check: Callable[[], bool], seconds: float, step: float = 0.5) -> bool:
    deadline = time.monotonic() + seconds
    while True:
        try:
            if check():
                return True
        except httpx.HTTPError:
            pass  # not up yet, or restarting: try again until the deadline
        if time.monotonic() >= deadline:
            return False
        time.sleep(step)


def _alert_firing(prometheus_url: str, model: str) -> bool:
    alerts = httpx.get(f"{prometheus_url.rstrip('/')}/api/v1/alerts", timeout=5).json()["data"]["alerts"]
    return any(
        a["labels"].get("alertname") == "ModelDriftDetected" and a["labels"].get("model") == model
        for a in alerts
    )


def _served_version(api_url: str, model: str, headers: dict[str, str]) -> str | None:
    models = httpx.get(f"{api_url.rstrip('/')}/readyz", timeout=5, headers=headers).json().get("models") or {}
    return models.get(model)


def operator_headers(settings: Settings) -> dict[str, str]:
    """The metrics token (ASTRALYTIQ_METRICS_TOKEN; in development the one kept in the data
    folder): it reads /metrics and what /readyz serves."""
    token = settings.metrics_bearer()
    return {"Authorization": f"Bearer {token}"} if token else {}


def describe_retrain(retrain: RetrainTriggered | Retrained) -> str:
    """The monitor flow's retrain outcome (flows.retrain.maybe_retrain) in one line."""
    from flows.outcomes import Retrained

    if isinstance(retrain, Retrained):
        training = retrain.training
        return f"trained v{training.version} here: {training.alias} ({training.reason})"
    return f"training deployment run {retrain.flow_run_id} started; waiting for its verdict"


def run_drift_loop(
    settings: Settings,
    dataset: str,
    factor: float,
    say: Say,
    api_url: str,
    prometheus_url: str | None = None,
    wait_seconds: float = 300.0,
) -> LoopReport:
    from data_contracts.spec import load_spec
    from flows.dataset_specs import load_dataset_spec
    from flows.monitor import monitor_flow
    from monitoring.simulate import write_simulated_dataset
    from registry.tracking import copy_champion

    report = LoopReport()
    real = load_dataset_spec(dataset, settings)
    simulated = write_simulated_dataset(real, settings.data_dir, factor)
    spec = load_spec(simulated.spec_path, settings.datasets_dir)
    # The loop runs on a copy of the champion: the real model's alias and health stay as they are.
    before = copy_champion(settings.mlflow_tracking_uri, real.model_name, spec.model_name)
    say(f"{real.model_name}: champion copied as {spec.model_name} v{before}; the real model is not touched")
    say(
        f"shifted {simulated.shifted_rows} rows ({simulated.first_shifted}..{simulated.last_shifted}) "
        f"by x{factor:g}: {simulated.data_path}"
    )
    say(f"monitoring the shifted copy: {simulated.spec_path}")

    result = monitor_flow(dataset=str(simulated.spec_path))
    drifted = result.status == "drift"
    if result.drift_share is not None:
        detail = f"drifted share {result.drift_share:.0%}, threshold {spec.monitoring.drift_threshold:.0%}"
    else:
        detail = f"monitor status {result.status!r}"
    report.mark("drift detected", drifted, say, detail if drifted else f"NOT detected ({detail})")

    refresh = settings.health_refresh_seconds + 5
    if prometheus_url:
        firing = _wait(lambda: _alert_firing(prometheus_url, spec.model_name), 60 + refresh, step=1)
        report.mark(
            "alert condition true",
            firing,
            say,
            f"ModelDriftDetected firing in Prometheus at {prometheus_url}"
            if firing
            else f"ModelDriftDetected NOT firing in Prometheus at {prometheus_url} after {60 + refresh:.0f}s",
        )
    else:
        seen: list[float | None] = []

        def gauge_is_one() -> bool:
            seen.append(drift_gauge(api_url, spec.model_name, operator_headers(settings)))
            return seen[-1] == 1.0

        alert = _wait(gauge_is_one, refresh)
        where = f'astralytiq_drift_detected{{model="{spec.model_name}"}}'
        report.mark(
            "alert condition true",
            alert,
            say,
            f"{where} = 1 on {api_url}/metrics (the ModelDriftDetected rule's condition)"
            if alert
            else (
                f"{where} is {seen[-1] if seen else 'unreadable'} on {api_url}/metrics"
                + ("" if seen else " (is the API running? `astralytiq serve`)")
            ),
        )

    retrain = result.retrain
    triggered = retrain is not None
    report.mark(
        "retrain triggered",
        triggered,
        say,
        describe_retrain(retrain)
        if retrain is not None
        else "NOT triggered by the monitor flow (drift at or under the threshold, or no retrain step); "
        f"close the loop by hand: astralytiq train {simulated.spec_path}",
    )

    after: str | None = before
    if triggered:

        def moved() -> bool:
            nonlocal after
            after = _champion(settings.mlflow_tracking_uri, spec.model_name)
            return after != before

        _wait(moved, wait_seconds, step=2)
    if after != before:
        served = _wait(
            lambda: _served_version(api_url, spec.model_name, operator_headers(settings)) == after,
            30 + settings.alias_poll_seconds,
        )
        report.mark(
            "new champion served",
            served,
            say,
            f"v{before} -> v{after}, served by {api_url}"
            if served
            else f"v{before} -> v{after} in MLflow, but {api_url} does not serve it yet",
        )
    else:
        report.mark(
            "new champion served",
            False,
            say,
            f"champion still v{before}"
            + (f" after waiting {wait_seconds:.0f}s (the gate may have kept it)" if triggered else ""),
        )
    return report
