"""A small client of the Prefect server's REST API, on the standard library.

Triggering a deployment, following a flow run and listing recent runs are a handful of JSON
calls; the prediction API (which does not install Prefect) and the CLI share this client, so
neither needs the ``prefect`` package for them. Self-hosted servers with basic auth are reached
with ``PREFECT_API_AUTH_STRING`` (``user:password``), Prefect Cloud with ``PREFECT_API_KEY``.
"""

from __future__ import annotations

import base64
import http.client
import json
import os
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote

LATE_LOGS_SECONDS = 3.0
TRANSIENT_CODES = frozenset({429, 502, 503})
RETRY_WAITS = (0.5, 1.0, 2.0, 4.0)  # seconds before each retry of a transient answer
TERMINAL = frozenset({"COMPLETED", "FAILED", "CRASHED", "CANCELLED"})
TRAIN, MONITOR, FORECAST = "train", "monitor", "forecast"  # flow names: flows/train.py, monitor.py, ...
DATASET_FLOWS = (TRAIN, MONITOR, FORECAST)  # the deployments the worker serves per dataset
# A run in one of these states can still be stopped; one in these others can be run again.
CANCELLABLE = frozenset({"SCHEDULED", "PENDING", "RUNNING", "PAUSED"})
RETRYABLE = frozenset({"FAILED", "CRASHED", "CANCELLED"})


class _Transient(Exception):
    def __init__(self, message: str, retry_after: float | None) -> None:
        super().__init__(message)
        self.message, self.retry_after = message, retry_after


class PrefectUnavailable(RuntimeError):
    """No Prefect server answers at the configured URL (or none is configured)."""


class DeploymentMissing(LookupError):
    """The server answers but has no such deployment (no worker has served it)."""


class NoLiveWorker(DeploymentMissing):
    """The deployment exists but no worker has polled it lately: a run queued now would wait."""


# Prefect marks a deployment NOT_READY after a minute without a poll (its foreman service's
# default); a serving worker polls every 10 s.
WORKER_SILENCE_SECONDS = 60.0


def worker_silence(deployment: dict[str, Any], now: datetime | None = None) -> float | None:
    """Seconds since a worker last polled ``deployment`` (a deployment as the REST API returns
    it); None when none ever did."""
    polled = deployment.get("last_polled")
    if not polled:
        return None
    moment = datetime.fromisoformat(str(polled).replace("Z", "+00:00"))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return max(0.0, ((now or datetime.now(UTC)) - moment).total_seconds())


@dataclass(frozen=True)
class FlowRun:
    id: str
    name: str
    flow: str
    dataset: str | None
    state: str  # the state's type: SCHEDULED, PENDING, RUNNING, COMPLETED, FAILED, ...
    state_name: str  # what the UI shows: "Late", "Retrying", "Completed", ...
    message: str | None
    started_at: str | None
    ended_at: str | None
    duration_seconds: float | None
    deployment_id: str | None = None  # None: run without a deployment (nothing to retry it on)


@dataclass(frozen=True)
class DeploymentSchedule:
    """When a dataset's deployment runs by itself: its schedule in words, whether it is paused,
    and the next run Prefect has scheduled."""

    deployment_id: str
    flow: str
    dataset: str  # the deployment's name: the dataset's name
    schedule: str | None  # None: no schedule, it runs only when started
    paused: bool  # the deployment is paused, or none of its schedules is active
    next_run_at: str | None


class RunRefused(ValueError):
    """The run is in a state the action does not apply to (cancel a completed run, ...)."""


@dataclass(frozen=True)
class LogLine:
    id: str
    timestamp: str
    level: int
    message: str


def api_url(configured: str = "") -> str:
    """The Prefect API URL: ASTRALYTIQ_PREFECT_API_URL's value if given, else PREFECT_API_URL."""
    url = configured or os.environ.get("PREFECT_API_URL", "")
    if not url:
        raise PrefectUnavailable(
            "no Prefect server configured: set PREFECT_API_URL (e.g. http://127.0.0.1:4200/api) "
            "and run `astralytiq worker` to serve the deployments"
        )
    return url.rstrip("/")


def _headers() -> dict[str, str]:
    headers = {"Accept": "application/json", "Content-Type": "application/json"}
    if os.environ.get("PREFECT_API_KEY"):
        headers["Authorization"] = f"Bearer {os.environ['PREFECT_API_KEY']}"
    elif os.environ.get("PREFECT_API_AUTH_STRING"):
        token = base64.b64encode(os.environ["PREFECT_API_AUTH_STRING"].encode()).decode()
        headers["Authorization"] = f"Basic {token}"
    return headers


class PrefectAPI:
    def __init__(self, url: str, timeout: float = 10.0) -> None:
        self.url = url.rstrip("/")
        self.timeout = timeout

    def _call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        # A busy server (its SQLite store locked by a concurrent write) answers 503 for a moment;
        # Prefect's own client retries 429, 502 and 503 too. Seen in the suite: a retrain trigger
        # fell back to training in the monitor's process on one such 503.
        for wait in (*RETRY_WAITS, None):
            try:
                return self._call_once(method, path, body)
            except _Transient as exc:
                if wait is None:
                    raise PrefectUnavailable(exc.message) from None
                time.sleep(exc.retry_after if exc.retry_after is not None else wait)
        raise AssertionError("unreachable")  # the loop returns or raises

    def _call_once(self, method: str, path: str, body: dict[str, Any] | None) -> Any:
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(self.url + path, data=data, headers=_headers(), method=method)
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                content = response.read()
        except urllib.error.HTTPError as exc:
            if exc.code == 404:
                raise LookupError(path) from None
            text = exc.read().decode("utf-8", "replace")[:200]
            message = f"Prefect server at {self.url} answered {exc.code} to {path}: {text}"
            if exc.code in TRANSIENT_CODES:
                retry_after = exc.headers.get("Retry-After", "")
                raise _Transient(
                    message, min(float(retry_after), 10.0) if retry_after.isdigit() else None
                ) from None
            raise PrefectUnavailable(message) from None
        except (OSError, http.client.HTTPException) as exc:
            raise PrefectUnavailable(
                f"no Prefect server reachable at {self.url} ({exc.__class__.__name__}); start one "
                "(`astralytiq up`, or `prefect server start`) or fix PREFECT_API_URL"
            ) from None
        return json.loads(content) if content else None

    def deployment(self, flow: str, dataset: str) -> dict[str, Any]:
        try:
            found = self._call("GET", f"/deployments/name/{quote(flow)}/{quote(dataset)}")
        except LookupError:
            raise DeploymentMissing(
                f"the Prefect server at {self.url} has no deployment {flow}/{dataset}: start "
                "`astralytiq worker` (it serves one per dataset spec) with this dataset's spec"
            ) from None
        return dict(found)

    def deployment_id(self, flow: str, dataset: str) -> str:
        return str(self.deployment(flow, dataset)["id"])

    def trigger(self, flow: str, dataset: str, parameters: dict[str, Any] | None = None) -> FlowRun:
        """A new flow run of ``<flow>/<dataset>``, as the deployment's worker will run it.

        Refused (``NoLiveWorker``) when no worker has polled the deployment within
        ``WORKER_SILENCE_SECONDS``: the run would sit SCHEDULED until someone starts one."""
        return self._create_run(self.deployment(flow, dataset), flow, parameters, ["astralytiq"])

    def _create_run(
        self, deployment: dict[str, Any], flow: str, parameters: dict[str, Any] | None, tags: list[str]
    ) -> FlowRun:
        silence = worker_silence(deployment)
        if silence is None or silence > WORKER_SILENCE_SECONDS:
            when = "never" if silence is None else f"last {silence:.0f} s ago"
            raise NoLiveWorker(
                f"no worker is serving {flow}/{deployment['name']} (polled {when}), so a run would wait; "
                "start `astralytiq worker` (`make up` runs one) and try again"
            )
        body: dict[str, Any] = {"tags": tags}
        if parameters is not None:
            body["parameters"] = parameters
        run = self._call("POST", f"/deployments/{deployment['id']}/create_flow_run", body)
        return self._flow_run(run, {run["flow_id"]: flow})

    def cancel(self, flow_run_id: str, reason: str) -> FlowRun:
        """Stop a scheduled, pending or running run. A running one is asked to stop (CANCELLING:
        its worker ends the process, then marks it CANCELLED); one no worker has taken yet the
        server cancels at once."""
        run = self.flow_run(flow_run_id)
        if run.state not in CANCELLABLE:
            raise RunRefused(
                f"flow run {run.name} is {run.state_name or run.state}: only a scheduled, "
                "pending or running run can be cancelled"
            )
        body = {"state": {"type": "CANCELLING", "message": reason[:200]}, "force": False}
        self._call("POST", f"/flow_runs/{quote(flow_run_id)}/set_state", body)
        return self.flow_run(flow_run_id)

    def retry(self, flow_run_id: str) -> FlowRun:
        """A new run of a failed, crashed or cancelled run's deployment with the same parameters
        (training is idempotent: the same data and spec give the same result)."""
        raw = self._call("GET", f"/flow_runs/{quote(flow_run_id)}")
        run = self._flow_run(raw, self._flow_names([raw["flow_id"]]))
        if run.state not in RETRYABLE:
            raise RunRefused(
                f"flow run {run.name} is {run.state_name or run.state}: only a failed, "
                "crashed or cancelled run can be retried"
            )
        if run.deployment_id is None:
            raise RunRefused(
                f"flow run {run.name} was not started from a deployment: there is nothing to run it again on"
            )
        try:
            deployment = dict(self._call("GET", f"/deployments/{quote(run.deployment_id)}"))
        except LookupError:
            raise DeploymentMissing(
                f"the deployment of flow run {run.name} no longer exists: start `astralytiq worker`"
            ) from None
        return self._create_run(deployment, run.flow, raw.get("parameters") or {}, ["astralytiq", "retry"])

    def schedules(self, datasets: list[str]) -> list[DeploymentSchedule]:
        """The train, monitor and forecast deployments of ``datasets`` with their schedules, by
        dataset then flow; a dataset no worker has served yet has none."""
        if not datasets:
            return []
        found = self._call(
            "POST",
            "/deployments/filter",
            {
                "deployments": {"name": {"any_": datasets}},
                "flows": {"name": {"any_": list(DATASET_FLOWS)}},
                "limit": 200,
            },
        )
        names = self._flow_names(sorted({d["flow_id"] for d in found}))
        listed = []
        for deployment in found:
            flow = names.get(deployment["flow_id"], "")
            if flow not in DATASET_FLOWS:
                continue
            listed.append(self._schedule(deployment, flow))
        order = {name: i for i, name in enumerate(datasets)}
        return sorted(listed, key=lambda s: (order.get(s.dataset, len(order)), DATASET_FLOWS.index(s.flow)))

    def schedule(self, flow: str, dataset: str) -> DeploymentSchedule:
        return self._schedule(self.deployment(flow, dataset), flow)

    def _schedule(self, deployment: dict[str, Any], flow: str) -> DeploymentSchedule:
        from orchestration.schedules import describe

        schedules = deployment.get("schedules") or []
        active = [s for s in schedules if s.get("active", True)]
        paused = bool(deployment.get("paused")) or (bool(schedules) and not active)
        next_run = None
        if active and not paused:
            upcoming = self._call(
                "POST",
                "/flow_runs/filter",
                {
                    "flow_runs": {
                        "deployment_id": {"any_": [deployment["id"]]},
                        "state": {"type": {"any_": ["SCHEDULED"]}},
                    },
                    "sort": "EXPECTED_START_TIME_ASC",
                    "limit": 1,
                },
            )
            next_run = upcoming[0]["expected_start_time"] if upcoming else None
        return DeploymentSchedule(
            deployment_id=str(deployment["id"]),
            flow=flow,
            dataset=str(deployment["name"]),
            schedule="; ".join(describe(s.get("schedule") or {}) for s in schedules) or None,
            paused=paused,
            next_run_at=next_run,
        )

    def pause(self, flow: str, dataset: str) -> DeploymentSchedule:
        """Stop the deployment's schedules: the server deletes the runs it had scheduled ahead and
        schedules no more. Runs started by hand are still taken, and a scheduled run a worker
        has already claimed (workers take runs a few seconds ahead of their time) still runs."""
        deployment = self.deployment(flow, dataset)
        self._call("POST", f"/deployments/{deployment['id']}/pause_deployment")
        return self.schedule(flow, dataset)

    def resume(self, flow: str, dataset: str) -> DeploymentSchedule:
        """Run the deployment on its schedules again (each schedule set active, the deployment
        unpaused); the server schedules the next runs within seconds."""
        deployment = self.deployment(flow, dataset)
        for item in deployment.get("schedules") or []:
            if not item.get("active", True):
                self._call(
                    "PATCH", f"/deployments/{deployment['id']}/schedules/{item['id']}", {"active": True}
                )
        self._call("POST", f"/deployments/{deployment['id']}/resume_deployment")
        return self.schedule(flow, dataset)

    def flow_run(self, flow_run_id: str) -> FlowRun:
        run = self._call("GET", f"/flow_runs/{quote(flow_run_id)}")
        return self._flow_run(run, self._flow_names([run["flow_id"]]))

    def recent_runs(self, limit: int = 20) -> list[FlowRun]:
        """Runs that started or were due to start by now, most recent first (not future schedules)."""
        # A minute's grace: a run triggered just now is listed even if the server's clock is ahead.
        now = (datetime.now(UTC) + timedelta(minutes=1)).isoformat()
        runs = self._call(
            "POST",
            "/flow_runs/filter",
            {
                "flow_runs": {"expected_start_time": {"before_": now}},
                "sort": "EXPECTED_START_TIME_DESC",
                "limit": limit,
            },
        )
        names = self._flow_names(sorted({r["flow_id"] for r in runs}))
        return [self._flow_run(r, names) for r in runs]

    def logs(
        self, flow_run_id: str, after: str | None = None, limit: int = 200, offset: int = 0
    ) -> list[LogLine]:
        query: dict[str, Any] = {"flow_run_id": {"any_": [flow_run_id]}}
        if after:
            query["timestamp"] = {"after_": after}
        body = {"logs": query, "sort": "TIMESTAMP_ASC", "limit": limit, "offset": offset}
        found = self._call("POST", "/logs/filter", body)
        return [
            LogLine(str(item["id"]), item["timestamp"], int(item["level"]), item["message"]) for item in found
        ]

    def _flow_names(self, ids: list[str]) -> dict[str, str]:
        if not ids:
            return {}
        flows = self._call("POST", "/flows/filter", {"flows": {"id": {"any_": ids}}})
        return {f["id"]: f["name"] for f in flows}

    @staticmethod
    def _flow_run(run: dict[str, Any], flow_names: dict[str, str]) -> FlowRun:
        state = run.get("state") or {}
        parameters = run.get("parameters") or {}
        dataset = parameters.get("dataset")
        started, ended = run.get("start_time"), run.get("end_time")
        duration = run.get("total_run_time") if ended else None
        if duration is None and started and ended:
            duration = (datetime.fromisoformat(ended) - datetime.fromisoformat(started)).total_seconds()
        return FlowRun(
            id=str(run["id"]),
            name=run.get("name", ""),
            flow=flow_names.get(run.get("flow_id", ""), ""),
            dataset=str(dataset) if dataset is not None else None,
            state=state.get("type") or run.get("state_type") or "UNKNOWN",
            state_name=state.get("name") or run.get("state_name") or "",
            message=state.get("message"),
            started_at=started,
            ended_at=ended,
            duration_seconds=float(duration) if duration is not None else None,
            deployment_id=str(run["deployment_id"]) if run.get("deployment_id") else None,
        )


def follow(
    api: PrefectAPI, flow_run_id: str, poll_seconds: float = 1.0, quiet_after: float = 30.0
) -> Iterator[FlowRun | LogLine | str]:
    """Every state change and log line of a flow run until it ends (then its final state).

    A hint (a plain string) is given once if the run is still scheduled after ``quiet_after``
    seconds: that means no worker serves the deployment.
    """
    last_state = ""
    last_log: str | None = None
    seen: set[str] = set()  # the timestamp filter is inclusive: the last line comes back again
    waited = 0.0
    hinted = False
    while True:
        run = api.flow_run(flow_run_id)
        for line in api.logs(flow_run_id, after=last_log):
            if line.id not in seen:
                seen.add(line.id)
                last_log = line.timestamp
                yield line
        if run.state in TERMINAL:
            # The run's last log lines reach the server in the next batch (every 2 s by default).
            # Batches can also land out of timestamp order (lines from two threads), which the
            # ``after`` filter above would skip for good; so the whole log is read once more.
            time.sleep(LATE_LOGS_SECONDS)
            for line in _every_log(api, flow_run_id):
                if line.id not in seen:
                    seen.add(line.id)
                    yield line
            yield run
            return
        if run.state_name != last_state:
            last_state = run.state_name
            yield run
        if run.state in {"SCHEDULED", "PENDING"} and waited >= quiet_after and not hinted:
            hinted = True
            yield "still waiting for a worker: is `astralytiq worker` running against this server?"
        time.sleep(poll_seconds)
        waited += poll_seconds


def _every_log(api: PrefectAPI, flow_run_id: str, page: int = 200) -> Iterator[LogLine]:
    offset = 0
    while True:
        lines = api.logs(flow_run_id, limit=page, offset=offset)
        yield from lines
        if len(lines) < page:
            return
        offset += page


def follow_to_end(
    api: PrefectAPI, flow_run_id: str, echo: Callable[[str], None], poll_seconds: float = 1.0
) -> FlowRun:
    """Print the run's progress as it happens; the final state."""
    final: FlowRun | None = None
    for event in follow(api, flow_run_id, poll_seconds):
        if isinstance(event, LogLine):
            echo(f"  {event.timestamp[11:19]}  {event.message}")
        elif isinstance(event, FlowRun):
            final = event
            echo(f"state: {event.state_name}" + (f" ({event.message})" if event.message else ""))
        else:
            echo(event)
    assert final is not None  # follow() yields the run's state before it can end
    return final
