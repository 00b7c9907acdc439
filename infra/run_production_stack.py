"""Run docker-compose.yml's services as processes on this machine, against a local PostgreSQL.

The production shape without a container engine: an MLflow server and a Prefect server on
PostgreSQL, the app database on PostgreSQL, the Prefect worker, the prediction API, the portal,
Prometheus and Alertmanager (alerts to the API's webhook receiver). ``services()`` below is the one table of commands and environment variables;
rendered with ``COMPOSE`` addresses it must equal docker-compose.yml (tests/unit/test_infra.py
checks that), rendered with loopback addresses it is what this script starts. Only addresses
differ: 127.0.0.1 and free ports instead of container names, folders instead of volumes, the
machine's PostgreSQL (databases created here, with a prefix) instead of the ``postgres`` container.

    ASTRALYTIQ_SECRET_KEY=$(python -c 'import secrets; print(secrets.token_urlsafe(48))') \\
      .venv/bin/python infra/run_production_stack.py --workdir /tmp/astralytiq-stack

Then `. /tmp/astralytiq-stack/worker.env && prefect deployment run train/nyc_flights --watch` has
the worker train through it, as `docker compose run --rm worker prefect deployment run ...` does.
"""

from __future__ import annotations

import argparse
import os
import secrets
import shlex
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field, replace
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[1]
ROLE_REQUIREMENTS = REPO / "infra" / "docker" / "requirements"


@dataclass(frozen=True)
class Topology:
    """Where each service listens, how the others reach it, and where state lives."""

    bind_host: str
    hosts: dict[str, str]  # service -> the host name the other services use for it
    ports: dict[str, int]
    postgres: str  # user[:password]@host:port of the PostgreSQL server
    databases: dict[str, str]  # component (app, mlflow, prefect) -> database name
    secret_key: str
    data_dir: str
    datasets_dir: str
    artifacts_dir: str
    prometheus_config: str
    prometheus_storage: str
    alertmanager_config: str
    alertmanager_storage: str
    alert_webhook_token: str  # what the API checks
    alert_token_file: str  # the same token, as the file Alertmanager reads

    def url(self, service: str, path: str = "") -> str:
        return f"http://{self.hosts[service]}:{self.ports[service]}{path}"

    def database_url(self, component: str, driver: str) -> str:
        return f"postgresql+{driver}://{self.postgres}/{self.databases[component]}"


# docker-compose.yml's addresses: container names, fixed ports, volumes, secrets from the
# environment (compose interpolates ${VAR}; the `:?` that makes them required is compose's).
COMPOSE = Topology(
    bind_host="0.0.0.0",
    hosts={
        "mlflow": "mlflow",
        "prefect": "prefect",
        "api": "api",
        "portal": "portal",
        "alertmanager": "alertmanager",
    },
    # The worker's port is its Prefect runner's health endpoint, for health checks only.
    # api-metrics: the API's /metrics without credentials, for Prometheus only (never published).
    ports={
        "mlflow": 5000,
        "prefect": 4200,
        "worker": 8080,
        "api": 8000,
        "api-metrics": 9464,
        "portal": 8501,
        "prometheus": 9090,
        "alertmanager": 9093,
    },
    postgres="astralytiq:${POSTGRES_PASSWORD}@postgres:5432",
    databases={"app": "astralytiq", "mlflow": "mlflow", "prefect": "prefect"},
    secret_key="${ASTRALYTIQ_SECRET_KEY}",
    data_dir="/data",
    datasets_dir="/app/datasets",
    artifacts_dir="/artifacts",
    prometheus_config="/etc/prometheus/prometheus.yml",
    prometheus_storage="/prometheus",
    alertmanager_config="/etc/alertmanager/alertmanager.yml",
    alertmanager_storage="/alertmanager",
    alert_webhook_token="${ASTRALYTIQ_ALERT_WEBHOOK_TOKEN}",
    alert_token_file="/run/secrets/alert_webhook_token",  # a compose secret from that variable
)


@dataclass(frozen=True)
class Service:
    command: tuple[str, ...]
    environment: dict[str, str] = field(default_factory=dict)
    depends_on: tuple[str, ...] = ()
    health: str | None = None  # HTTP path answered once the service is up
    entrypoint: tuple[str, ...] = ()  # the image's ENTRYPOINT, for images that have one


def services(t: Topology) -> dict[str, Service]:
    """Every service but postgres, in start order (a service comes after what it depends on)."""
    app_env = {
        "ASTRALYTIQ_ENVIRONMENT": "production",
        "ASTRALYTIQ_SECRET_KEY": t.secret_key,
        "ASTRALYTIQ_DATA_DIR": t.data_dir,
    }
    platform_env = {
        **app_env,
        "ASTRALYTIQ_DATABASE_URL": t.database_url("app", "psycopg"),
        "ASTRALYTIQ_MLFLOW_TRACKING_URI": t.url("mlflow"),
    }
    prefect_env = {"PREFECT_HOME": f"{t.data_dir}/prefect", "PREFECT_SERVER_ANALYTICS_ENABLED": "false"}
    mlflow_host, mlflow_port = t.hosts["mlflow"], t.ports["mlflow"]
    return {
        "mlflow": Service(
            command=("mlflow", "server", "--host", t.bind_host, "--port", str(mlflow_port), "--workers", "2"),
            environment={
                # In the environment, not argv, so the password does not show in `ps`.
                "MLFLOW_BACKEND_STORE_URI": t.database_url("mlflow", "psycopg"),
                "MLFLOW_ARTIFACTS_DESTINATION": t.artifacts_dir,
                # Host-header check against DNS rebinding: the names clients use for the server.
                "MLFLOW_SERVER_ALLOWED_HOSTS": f"{mlflow_host},{mlflow_host}:{mlflow_port},localhost:{mlflow_port}",
                # The GenAI job runner: unused here, and it costs eight processes.
                "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false",
            },
            depends_on=("postgres",),
            health="/health",
        ),
        "prefect": Service(
            command=("prefect", "server", "start", "--host", t.bind_host, "--port", str(t.ports["prefect"])),
            environment={
                "PREFECT_SERVER_DATABASE_CONNECTION_URL": t.database_url("prefect", "asyncpg"),
                **prefect_env,
            },
            depends_on=("postgres",),
            health="/api/health",
        ),
        "api": Service(
            command=("astralytiq", "serve", "--host", t.bind_host, "--port", str(t.ports["api"])),
            # The Prefect server, for /v1/pipelines (runs, training triggers); without it those
            # routes answer 503. Not a start dependency: forecasts are served without Prefect.
            environment={
                **platform_env,
                "PREFECT_API_URL": t.url("prefect", "/api"),
                "ASTRALYTIQ_METRICS_PORT": str(t.ports["api-metrics"]),
                # The bearer token Alertmanager sends to POST /v1/alerts/webhook.
                "ASTRALYTIQ_ALERT_WEBHOOK_TOKEN": t.alert_webhook_token,
            },
            depends_on=("postgres", "mlflow"),
            health="/healthz",
        ),
        "worker": Service(
            command=("astralytiq", "worker"),
            environment={
                **platform_env,
                "ASTRALYTIQ_DATASETS_DIR": t.datasets_dir,
                "PREFECT_API_URL": t.url("prefect", "/api"),
                **prefect_env,
                # The runner's webserver answers /health while the worker polls for runs.
                "PREFECT_RUNNER_SERVER_ENABLE": "true",
                "PREFECT_RUNNER_SERVER_HOST": t.bind_host,
                "PREFECT_RUNNER_SERVER_PORT": str(t.ports["worker"]),
            },
            depends_on=("postgres", "mlflow", "prefect"),
            health="/health",
        ),
        "portal": Service(
            command=("astralytiq", "portal", "--host", t.bind_host, "--port", str(t.ports["portal"])),
            environment={**app_env, "ASTRALYTIQ_API_URL": t.url("api")},
            depends_on=("api",),
            health="/_stcore/health",
        ),
        "prometheus": Service(
            entrypoint=("prometheus",),
            command=(
                f"--config.file={t.prometheus_config}",
                f"--storage.tsdb.path={t.prometheus_storage}",
                f"--web.listen-address={t.bind_host}:{t.ports['prometheus']}",
            ),
            depends_on=("api",),
            health="/-/ready",
        ),
        "alertmanager": Service(
            entrypoint=("alertmanager",),
            command=(
                f"--config.file={t.alertmanager_config}",
                f"--storage.path={t.alertmanager_storage}",
                f"--web.listen-address={t.bind_host}:{t.ports['alertmanager']}",
                # One Alertmanager, no HA peers: no gossip port (9094) to open or secure.
                "--cluster.listen-address=",
            ),
            depends_on=("api",),
            health="/-/ready",
        ),
    }


def native_topology(
    workdir: Path,
    ports: dict[str, int],
    postgres: str,
    db_prefix: str,
    secret_key: str,
    alert_webhook_token: str = "",
) -> Topology:
    """Loopback addresses, this machine's PostgreSQL, and folders under ``workdir``. Without an
    ``alert_webhook_token`` a random one is made (the API and Alertmanager of this stack share it)."""
    return replace(
        COMPOSE,
        bind_host="127.0.0.1",
        hosts=dict.fromkeys(COMPOSE.hosts, "127.0.0.1"),
        ports=ports,
        postgres=postgres,
        databases={component: f"{db_prefix}_{name}" for component, name in COMPOSE.databases.items()},
        secret_key=secret_key,
        data_dir=str(workdir / "data"),
        datasets_dir=str(REPO / "datasets"),
        artifacts_dir=str(workdir / "artifacts"),
        prometheus_config=str(workdir / "prometheus" / "prometheus.yml"),
        prometheus_storage=str(workdir / "prometheus" / "data"),
        alertmanager_config=str(workdir / "alertmanager" / "alertmanager.yml"),
        alertmanager_storage=str(workdir / "alertmanager" / "data"),
        alert_webhook_token=alert_webhook_token or secrets.token_urlsafe(32),
        alert_token_file=str(workdir / "alertmanager" / "alert_webhook_token"),
    )


def create_databases(t: Topology, admin_url: str) -> None:
    """What the postgres container's init does: one database per component (kept if present)."""
    from sqlalchemy import create_engine, text

    engine = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        existing = set(conn.scalars(text("SELECT datname FROM pg_database")))
        for name in t.databases.values():
            if name not in existing:
                conn.execute(text(f'CREATE DATABASE "{name}"'))
    engine.dispose()


def drop_databases(t: Topology, admin_url: str) -> None:
    from sqlalchemy import create_engine, text

    engine = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        for name in t.databases.values():
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    engine.dispose()


def render_prometheus_config(t: Topology) -> None:
    """infra/prometheus/ with the scrape target and the Alertmanager of this topology.

    The rule files beside prometheus.yml are copied unchanged, so `rule_files` resolves as it
    does in the container, where the whole folder is mounted at /etc/prometheus.
    """
    from monitoring.alerting import PrometheusTargets
    from monitoring.alerting import render_prometheus_config as render

    render(
        Path(t.prometheus_config),
        PrometheusTargets(
            api_metrics=f"{t.hosts['api']}:{t.ports['api-metrics']}",
            alertmanager=f"{t.hosts['alertmanager']}:{t.ports['alertmanager']}",
        ),
    )


def render_alertmanager_config(t: Topology) -> None:
    """infra/alertmanager/alertmanager.yml calling this topology's API, and the token file it
    reads (what compose mounts as the alert_webhook_token secret)."""
    from monitoring.alerting import render_alertmanager_config as render

    token_file = Path(t.alert_token_file)
    token_file.parent.mkdir(parents=True, exist_ok=True)
    token_file.write_text(t.alert_webhook_token)
    token_file.chmod(0o600)
    render(Path(t.alertmanager_config), t.url("api"), token_file)


def build_role_environment(role: str, target: Path, uv: str) -> Path:
    """The api or portal image's virtual environment, built as the Dockerfile builds it.

    Exactly the packages of ``infra/docker/requirements/<role>.in`` and their dependencies, at
    uv.lock's versions and hashes, then the project without dependencies. Returns its bin folder.
    """
    exported = subprocess.run(
        [uv, "export", "--frozen", "--no-dev", "--no-emit-project", "--no-annotate", "--no-header"],
        cwd=REPO,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    subset = subprocess.run(
        [
            sys.executable,
            str(REPO / "infra" / "docker" / "lock_subset.py"),
            str(ROLE_REQUIREMENTS / f"{role}.in"),
        ],
        input=exported,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    target.mkdir(parents=True, exist_ok=True)
    (target / "requirements.txt").write_text(subset)
    python = target / "venv" / "bin" / "python"
    env = {**os.environ, "UV_PYTHON_DOWNLOADS": "never"}
    env.pop("VIRTUAL_ENV", None)
    for command in (
        [uv, "venv", "--quiet", "--python", f"{sys.version_info.major}.{sys.version_info.minor}", str(target / "venv")],
        [uv, "pip", "install", "--quiet", "--python", str(python), "--no-deps", "--require-hashes",
         "-r", str(target / "requirements.txt")],
        [uv, "pip", "install", "--quiet", "--python", str(python), "--no-deps", str(REPO)],
    ):  # fmt: skip
        result = subprocess.run(command, env=env, capture_output=True, text=True)
        if result.returncode != 0:
            raise StackError(
                f"building the {role} environment failed: {' '.join(command[:3])}: {result.stderr[-2000:]}"
            )
    return python.parent


def clean_environment() -> dict[str, str]:
    """This process's environment without platform settings: a service gets only its own, as a
    container does, never a setting leaked from the shell or a test session."""
    prefixes = ("ASTRALYTIQ_", "PREFECT_", "MLFLOW_")
    return {k: v for k, v in os.environ.items() if not k.startswith(prefixes)}


class StackError(RuntimeError):
    pass


@dataclass
class Stack:
    """Processes of one native stack, each in its own process group with a log file."""

    topology: Topology
    log_dir: Path
    bin_dirs: dict[str, Path] = field(default_factory=dict)  # service -> folder of its programs
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    def argv(self, name: str, service: Service) -> list[str]:
        from monitoring.alerting import alertmanager_binary

        program, *rest = [*service.entrypoint, *service.command]
        folder = self.bin_dirs.get(name, Path(sys.executable).parent)
        local = folder / program
        resolved = str(local) if local.exists() else shutil.which(program)
        if resolved is None and program == "alertmanager":
            resolved = alertmanager_binary()  # Debian's package names it prometheus-alertmanager
        if resolved is None:
            raise StackError(f"{name}: program {program!r} not found in {folder} nor on PATH")
        return [resolved, *rest]

    def start(self, name: str, service: Service) -> None:
        self.log_dir.mkdir(parents=True, exist_ok=True)
        log = open(self.log_dir / f"{name}.log", "ab")  # noqa: SIM115 - lives as long as the child
        self.processes[name] = subprocess.Popen(
            self.argv(name, service),
            env={**clean_environment(), "PYTHONUNBUFFERED": "1", **service.environment},
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            cwd=self.topology.data_dir,
        )

    def wait_healthy(self, name: str, service: Service, timeout: float) -> None:
        if service.health is None:
            return
        url = f"http://127.0.0.1:{self.topology.ports[name]}{service.health}"
        process = self.processes[name]
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise StackError(f"{name} exited with {process.returncode}; see {self.log_dir / name}.log")
            with suppress(httpx.HTTPError):
                if httpx.get(url, timeout=2).status_code < 500:
                    return
            time.sleep(0.5)
        raise StackError(f"{name} not healthy at {url} after {timeout:.0f}s; see {self.log_dir / name}.log")

    def stop(self, timeout: float = 20) -> None:
        for process in self.processes.values():
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        for process in reversed(list(self.processes.values())):
            try:
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()


def start_order(table: dict[str, Service], selected: Iterable[str]) -> list[list[str]]:
    """Waves of services whose dependencies are all up; postgres is there before the stack."""
    remaining = [name for name in table if name in set(selected)]
    up = {"postgres"}
    waves = []
    while remaining:
        wave = [n for n in remaining if all(d in up or d not in remaining for d in table[n].depends_on)]
        if not wave:
            raise StackError(f"circular depends_on among {remaining}")
        waves.append(wave)
        up |= set(wave)
        remaining = [n for n in remaining if n not in wave]
    return waves


@contextmanager
def run_stack(
    topology: Topology,
    log_dir: Path,
    selected: Sequence[str] | None = None,
    bin_dirs: dict[str, Path] | None = None,
    echo: Callable[[str], None] = print,
    health_timeout: float = 240,
) -> Iterator[Stack]:
    """Start the selected services (default: all), wave by wave, and stop them all on exit."""
    table = services(topology)
    for folder in (
        topology.data_dir,
        topology.artifacts_dir,
        topology.prometheus_storage,
        topology.alertmanager_storage,
    ):
        Path(folder).mkdir(parents=True, exist_ok=True)
    render_prometheus_config(topology)
    render_alertmanager_config(topology)
    stack = Stack(topology, log_dir, dict(bin_dirs or {}))
    try:
        for wave in start_order(table, selected or list(table)):
            for name in wave:
                echo(f"starting {name}: {' '.join(table[name].command)}")
                stack.start(name, table[name])
            for name in wave:
                stack.wait_healthy(name, table[name], health_timeout)
        yield stack
    finally:
        stack.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Run docker-compose.yml's services natively against a local PostgreSQL.",
    )
    parser.add_argument("--workdir", type=Path, required=True, help="Folder for data, artifacts and logs.")
    parser.add_argument(
        "--postgres",
        default="postgres@127.0.0.1:5432",
        help="user[:password]@host:port of the PostgreSQL server (the services' databases go there).",
    )
    parser.add_argument(
        "--db-prefix", default="astralytiq_stack", help="Prefix of the databases created for the stack."
    )
    parser.add_argument(
        "--services", default="", help="Comma-separated subset to start (default: every service)."
    )
    parser.add_argument(
        "--slim",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="Run api and portal from their image's package set, built with uv (default), or from "
        "this interpreter's environment (--no-slim).",
    )
    for name, port in COMPOSE.ports.items():
        parser.add_argument(f"--{name}-port", type=int, default=port, help=f"Port of {name}.")
    args = parser.parse_args(argv)
    secret_key = os.environ.get("ASTRALYTIQ_SECRET_KEY", "")
    if not secret_key:  # as in compose: no default secret
        parser.error("set ASTRALYTIQ_SECRET_KEY (32+ random bytes), as docker-compose.yml requires")
    workdir = args.workdir.resolve()
    workdir.mkdir(parents=True, exist_ok=True)
    ports = {name: getattr(args, f"{name}_port") for name in COMPOSE.ports}
    # As compose, when ASTRALYTIQ_ALERT_WEBHOOK_TOKEN is set; else one made for this stack.
    alert_token = os.environ.get("ASTRALYTIQ_ALERT_WEBHOOK_TOKEN", "")
    topology = native_topology(workdir, ports, args.postgres, args.db_prefix, secret_key, alert_token)
    table = services(topology)
    selected = [s for s in args.services.split(",") if s] or list(table)
    unknown = set(selected) - set(table)
    if unknown:
        parser.error(f"unknown services {', '.join(sorted(unknown))}; choose from {', '.join(table)}")
    bin_dirs: dict[str, Path] = {}
    if args.slim:
        uv = shutil.which("uv") or str(REPO / ".tools" / "bin" / "uv")
        for role in ("api", "portal"):
            print(f"building the {role} image's environment (uv, from uv.lock)")
            bin_dirs[role] = build_role_environment(role, workdir / f"{role}-env", uv)
    create_databases(topology, f"postgresql+psycopg://{args.postgres}/postgres")
    # One-off commands (`astralytiq train ...`) run with the worker's environment, as
    # `docker compose run --rm worker ...` does.
    worker_env = workdir / "worker.env"
    worker_env.write_text(
        "".join(f"export {k}={shlex.quote(v)}\n" for k, v in table["worker"].environment.items())
    )
    worker_env.chmod(0o600)

    def interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, interrupt)
    try:
        with run_stack(topology, workdir / "logs", selected, bin_dirs) as stack:
            for name in stack.processes:
                where = f"http://127.0.0.1:{topology.ports[name]}" if name in topology.ports else "(no port)"
                print(f"  {name:<11} {where}")
            print(
                f"logs in {workdir / 'logs'}; train with: "
                f". {worker_env} && prefect deployment run train/nyc_flights --watch"
            )
            print("Ctrl-C stops everything.")
            while not any(p.poll() is not None for p in stack.processes.values()):
                time.sleep(1)
            exited = [n for n, p in stack.processes.items() if p.poll() is not None]
            print(f"{', '.join(exited)} stopped; see {workdir / 'logs'}", file=sys.stderr)
            return 1
    except KeyboardInterrupt:
        return 0
    except StackError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
