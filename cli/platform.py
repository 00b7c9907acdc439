"""`astralytiq up`: bring the whole embedded platform up as child processes, stop it on Ctrl-C.

Order: app database (migrated, admin seeded), MLflow server, Prefect server and a worker serving
every dataset's deployments (schedules active), a training run for every dataset without a
champion, a drift check, the API with Alertmanager and Prometheus beside it (the alert rules of
infra/prometheus, their alerts to the API's webhook receiver; skipped with a note where the two
programs are not installed), the portal. Each child's output goes
to ``<data_dir>/logs/<name>.log``; the console shows progress and the URLs.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from astralytiq.settings import Settings


class PlatformError(RuntimeError):
    pass


def port_in_use(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((host, port)) == 0


def wait_http(url: str, timeout: float, alive: Callable[[], bool] = lambda: True) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not alive():
            raise PlatformError(f"process serving {url} exited during start-up")
        try:
            if httpx.get(url, timeout=2).status_code < 500:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise PlatformError(f"{url} not ready after {timeout:.0f}s")


def wait_deployment(prefect_url: str, dataset: str, timeout: float, alive: Callable[[], bool]) -> None:
    """Wait until the worker has registered ``train/<dataset>`` and polls it for runs."""
    from orchestration.prefect_api import DeploymentMissing, PrefectAPI, PrefectUnavailable, worker_silence

    api = PrefectAPI(prefect_url)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not alive():
            raise PlatformError("the Prefect worker exited during start-up; see logs/worker.log")
        try:
            if worker_silence(api.deployment("train", dataset)) is not None:
                return
        except (DeploymentMissing, PrefectUnavailable):
            pass
        time.sleep(1)
    raise PlatformError(
        f"the worker did not serve train/{dataset} within {timeout:.0f}s; see logs/worker.log"
    )


@dataclass
class Supervisor:
    """Starts children in their own process groups and stops them all, gently then firmly."""

    log_dir: Path
    children: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    def start(self, name: str, command: Sequence[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
        self.log_dir.mkdir(parents=True, exist_ok=True)
        log = open(self.log_dir / f"{name}.log", "ab")  # noqa: SIM115 - lives as long as the child
        process = subprocess.Popen(
            list(command),
            env={**os.environ, **env},
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.children[name] = process
        return process

    def stop_all(self, timeout: float = 15.0) -> None:
        for process in self.children.values():
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        for name, process in reversed(list(self.children.items())):
            try:
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                print(f"  {name} did not stop in {timeout:.0f}s; killing it")
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()

    def first_exited(self) -> str | None:
        return next((name for name, p in self.children.items() if p.poll() is not None), None)


def _bin(name: str) -> str:
    return str(Path(sys.executable).with_name(name))


def mlflow_server_command(settings: Settings, host: str, port: int) -> list[str]:
    """The embedded MLflow tracking server: SQLite store, artifacts in the data folder (created)."""
    Path(settings.mlflow_artifacts_uri).mkdir(parents=True, exist_ok=True)
    return [
        _bin("mlflow"),
        "server",
        "--backend-store-uri",
        settings.mlflow_store_uri,
        "--artifacts-destination",
        settings.mlflow_artifacts_uri,
        "--host",
        host,
        "--port",
        str(port),
    ]


def run_platform(settings: Settings, retrain: bool, echo: Callable[[str], None]) -> None:
    from astralytiq.accounts import ensure_admin
    from astralytiq.db import upgrade_database
    from astralytiq.prefect_env import prefect_environment
    from flows.dataset_specs import all_datasets

    settings.data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    supervisor = Supervisor(settings.data_dir / "logs")
    # Ctrl-C, a terminal closing or `kill` all stop the children. SIGINT is set explicitly
    # because a shell starting `up` in the background hands it down as ignored.
    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, _interrupt)
    host = "127.0.0.1"
    ports = {
        "MLflow": settings.mlflow_port,
        "Prefect": settings.prefect_port,
        "API": settings.api_port,
        "portal": settings.portal_port,
    }
    alerting = alerting_programs()
    if alerting is not None:
        ports |= {"Prometheus": settings.prometheus_port, "Alertmanager": settings.alertmanager_port}
    busy = [f"{name} port {port}" for name, port in ports.items() if port_in_use(host, port)]
    if busy:
        raise PlatformError(
            f"already in use: {', '.join(busy)}. Stop what holds them (another `astralytiq up`?) "
            "or choose other ports with ASTRALYTIQ_API_PORT, ASTRALYTIQ_PORTAL_PORT, "
            "ASTRALYTIQ_MLFLOW_PORT, ASTRALYTIQ_PREFECT_PORT, ASTRALYTIQ_PROMETHEUS_PORT, "
            "ASTRALYTIQ_ALERTMANAGER_PORT."
        )

    echo("1/7 app database: migrating and seeding the admin user")
    upgrade_database(settings.app_database_url)
    generated = ensure_admin(settings.app_database_url, settings.admin_password)
    if generated:
        echo(f"    created user 'admin' with password: {generated}   (shown once; keep it)")

    mlflow_uri = f"http://{host}:{settings.mlflow_port}"
    prefect_url = f"http://{host}:{settings.prefect_port}/api"
    env = {
        "ASTRALYTIQ_DATA_DIR": str(settings.data_dir),
        "ASTRALYTIQ_DATASETS_DIR": str(settings.datasets_dir),
        "ASTRALYTIQ_MLFLOW_TRACKING_URI": mlflow_uri,
        "ASTRALYTIQ_API_PORT": str(settings.api_port),
        "ASTRALYTIQ_SECRET_KEY": settings.signing_key(),
        # The portal started below reaches the API from loopback and forwards each browser's
        # address; only here is loopback a trusted proxy (the API's default trusts nobody).
        "ASTRALYTIQ_TRUSTED_PROXIES": ",".join(map(str, settings.trusted_proxies)) or "127.0.0.1,::1",
        **prefect_environment(settings, prefect_url),
        # The Prefect server started below serves its UI too: the portal links each run there.
        "ASTRALYTIQ_PREFECT_UI_URL": settings.prefect_ui_url or f"http://{host}:{settings.prefect_port}",
        # MLflow's background job runner serves GenAI features we do not use; it costs 8 processes.
        "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false",
        "PREFECT_LOGGING_COLORS": "false",  # plain lines, so `up` can pick out the progress
    }
    try:
        echo(f"2/7 MLflow tracking server on {mlflow_uri} (SQLite store, local artifacts)")
        mlflow = supervisor.start(
            "mlflow", [*mlflow_server_command(settings, host, settings.mlflow_port), "--workers", "1"], env
        )
        wait_http(f"{mlflow_uri}/health", 120, lambda: mlflow.poll() is None)

        echo(f"3/7 Prefect server on http://{host}:{settings.prefect_port}")
        prefect = supervisor.start(
            "prefect",
            [
                _bin("prefect"),
                "server",
                "start",
                "--host",
                host,
                "--port",
                str(settings.prefect_port),
            ],
            env,
        )
        wait_http(f"{prefect_url}/health", 180, lambda: prefect.poll() is None)

        datasets = all_datasets(settings)
        if datasets:
            echo("4/7 Prefect worker: a train and a monitor deployment per dataset, schedules active")
            worker = supervisor.start("worker", [_bin("astralytiq"), "worker"], env)
            wait_deployment(prefect_url, datasets[0], 180, lambda: worker.poll() is None)
        else:
            echo("4/7 Prefect worker: not started, no dataset to serve")

        echo(f"5/7 training: {', '.join(datasets) or 'no datasets found'}")
        for dataset in datasets:
            _train_if_needed(dataset, settings, mlflow_uri, env, retrain, echo)
            _run_child([_bin("astralytiq"), "monitor", dataset], env, echo, prefix="    monitor | ")

        echo(f"6/7 prediction API on {settings.resolved_api_url}")
        api = supervisor.start(
            "api", [_bin("astralytiq"), "serve", "--host", host, "--port", str(settings.api_port)], env
        )
        wait_http(f"http://{host}:{settings.api_port}/readyz", 60, lambda: api.poll() is None)
        alerts_line = start_alerting(supervisor, settings, host, env, alerting, echo)

        echo(f"7/7 portal on http://{host}:{settings.portal_port}")
        portal = supervisor.start(
            "portal",
            [_bin("astralytiq"), "portal", "--port", str(settings.portal_port)],
            {**env, "ASTRALYTIQ_API_URL": f"http://{host}:{settings.api_port}"},
        )
        wait_http(f"http://{host}:{settings.portal_port}/_stcore/health", 90, lambda: portal.poll() is None)

        echo("")
        echo("AstralytiQ is up:")
        echo(f"  portal           http://{host}:{settings.portal_port}   (log in as admin)")
        echo(f"  prediction API   http://{host}:{settings.api_port}/docs")
        echo(f"  MLflow           {mlflow_uri}")
        echo(f"  Prefect          http://{host}:{settings.prefect_port}   (worker: logs/worker.log)")
        echo(f"  alerts           {alerts_line}")
        echo(f"  logs             {supervisor.log_dir}")
        echo("Press Ctrl-C to stop everything.")
        while (exited := supervisor.first_exited()) is None:
            time.sleep(1)
        raise PlatformError(f"{exited} stopped unexpectedly; see {supervisor.log_dir / exited}.log")
    except KeyboardInterrupt:
        echo("\nstopping ...")
    finally:
        shutdown(supervisor)
        echo("stopped.")


@dataclass(frozen=True)
class AlertingPrograms:
    prometheus: str
    alertmanager: str


def alerting_programs() -> AlertingPrograms | None:
    """Prometheus and Alertmanager where both are installed (`make platform-deps`), else None."""
    from monitoring.alerting import alertmanager_binary, prometheus_binary

    prometheus, alertmanager = prometheus_binary(), alertmanager_binary()
    if prometheus is None or alertmanager is None:
        return None
    return AlertingPrograms(prometheus, alertmanager)


def alerting_commands(
    settings: Settings, host: str, programs: AlertingPrograms
) -> tuple[list[str], list[str]] | None:
    """Alertmanager and Prometheus for this platform: infra/'s files with loopback addresses, the
    API's port and the tokens the API itself keeps in the data folder (its /metrics token, its
    alert webhook token). None when the API has no webhook token (production without one)."""
    from monitoring.alerting import PrometheusTargets, render_alertmanager_config, render_prometheus_config

    webhook_token = settings.alert_webhook_bearer()
    if not webhook_token:
        return None
    root = settings.data_dir
    token_file = root / "alertmanager" / "webhook_token"
    token_file.parent.mkdir(parents=True, exist_ok=True)
    token_file.write_text(webhook_token)
    token_file.chmod(0o600)
    api_url = f"http://{host}:{settings.api_port}"
    am_config = render_alertmanager_config(root / "alertmanager" / "alertmanager.yml", api_url, token_file)
    metrics_token = settings.metrics_bearer()
    metrics_file = None
    if metrics_token:  # the API port's /metrics asks for it (`up` opens no unauthenticated port)
        metrics_file = root / "prometheus" / "metrics_token"
        metrics_file.parent.mkdir(parents=True, exist_ok=True)
        metrics_file.write_text(metrics_token)
        metrics_file.chmod(0o600)
    prom_config = render_prometheus_config(
        root / "prometheus" / "prometheus.yml",
        PrometheusTargets(
            api_metrics=f"{host}:{settings.api_port}",
            alertmanager=f"{host}:{settings.alertmanager_port}",
            metrics_credentials_file=metrics_file,
        ),
    )
    alertmanager = [
        programs.alertmanager,
        f"--config.file={am_config}",
        f"--storage.path={root / 'alertmanager' / 'data'}",
        f"--web.listen-address={host}:{settings.alertmanager_port}",
        "--cluster.listen-address=",  # one Alertmanager: no gossip port
    ]
    prometheus = [
        programs.prometheus,
        f"--config.file={prom_config}",
        f"--storage.tsdb.path={root / 'prometheus' / 'data'}",
        f"--web.listen-address={host}:{settings.prometheus_port}",
    ]
    return alertmanager, prometheus


def start_alerting(
    supervisor: Supervisor,
    settings: Settings,
    host: str,
    env: dict[str, str],
    programs: AlertingPrograms | None,
    echo: Callable[[str], None],
) -> str:
    """Start Alertmanager, then Prometheus, beside the API; returns the summary line."""
    if programs is None:
        echo("    alerts: not started, Prometheus or Alertmanager is not installed (`make platform-deps`)")
        return "off: install prometheus and prometheus-alertmanager (`make platform-deps`)"
    commands = alerting_commands(settings, host, programs)
    if commands is None:
        echo("    alerts: not started, set ASTRALYTIQ_ALERT_WEBHOOK_TOKEN for the API's receiver")
        return "off: no ASTRALYTIQ_ALERT_WEBHOOK_TOKEN"
    alertmanager_url = f"http://{host}:{settings.alertmanager_port}"
    prometheus_url = f"http://{host}:{settings.prometheus_port}"
    echo(
        f"    alerts: Prometheus {prometheus_url} (infra/prometheus/alerts.yml) -> Alertmanager {alertmanager_url} -> the API"
    )
    alertmanager = supervisor.start("alertmanager", commands[0], env)
    wait_http(f"{alertmanager_url}/-/ready", 60, lambda: alertmanager.poll() is None)
    prometheus = supervisor.start("prometheus", commands[1], env)
    wait_http(f"{prometheus_url}/-/ready", 60, lambda: prometheus.poll() is None)
    return f"Prometheus {prometheus_url}, Alertmanager {alertmanager_url}   (firing alerts: portal, Model health)"


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def shutdown(supervisor: Supervisor) -> None:
    """Stop every child. A second Ctrl-C (an impatient user, or a wrapper such as `timeout`
    forwarding the signal) must not cut this short and leave servers running on their ports."""
    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, signal.SIG_IGN)
    supervisor.stop_all()


def _run_child(command: list[str], env: dict[str, str], echo: Callable[[str], None], prefix: str) -> None:
    """Run a CLI step in the foreground, showing its progress lines."""
    process = subprocess.Popen(
        command, env={**os.environ, **env}, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    assert process.stdout is not None
    for line in process.stdout:
        line = line.rstrip()
        if any(
            key in line
            for key in ("trained", "contract", "champion", "Error", "error", "drift", "Finished in state")
        ):
            echo(prefix + line[-160:])
    if process.wait() != 0:
        raise PlatformError(f"`{' '.join(command[-3:])}` failed; run it alone to see the full output")


def _train_if_needed(
    dataset: str,
    settings: Settings,
    mlflow_uri: str,
    env: dict[str, str],
    retrain: bool,
    echo: Callable[[str], None],
) -> None:
    from flows.dataset_specs import load_dataset_spec
    from registry.rest import RegistryClient

    spec = load_dataset_spec(dataset, settings)
    version = RegistryClient(mlflow_uri).champion(spec.model_name)
    if version and not retrain:
        echo(f"    {spec.model_name}: champion v{version} already registered (use --retrain to train again)")
        return
    _run_child([_bin("astralytiq"), "train", dataset], env, echo, prefix="    train | ")
