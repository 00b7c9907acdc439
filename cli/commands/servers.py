"""The long-running processes: `up` (everything), `serve` (the API), `portal`, `mlflow`, `worker`."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Annotated

import typer

from cli.context import context, fail, refused


def up(
    retrain: Annotated[
        bool, typer.Option(help="Train every dataset even if it already has a champion.")
    ] = False,
) -> None:
    """Bring up the whole platform on this machine and keep it running until Ctrl-C.

    Starts MLflow (:5000), Prefect (:4200), trains each dataset that has no champion yet, checks
    drift, then starts the prediction API (:8000) and the portal (:8501). The admin password is
    ASTRALYTIQ_ADMIN_PASSWORD, or generated and printed once.
    """
    from cli.platform import PlatformError, run_platform

    settings = context()
    with refused(PlatformError):
        run_platform(settings, retrain, typer.echo)


def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on (ASTRALYTIQ_API_PORT).")] = 0,
    workers: Annotated[
        int | None,
        typer.Option(
            min=0,
            help="Worker processes (each loads every champion); 0: one per CPU core. "
            "Default: ASTRALYTIQ_API_WORKERS (1).",
        ),
    ] = None,
    access_log: Annotated[bool, typer.Option(help="Log every request (costs throughput).")] = False,
) -> None:
    """Start the prediction API: loads every champion from MLflow, then serves /v1 and /docs.

    Replaces this process with the bare server (`python -m serving`), which migrates the app
    database if it is behind; nothing of the CLI stays resident in the API.
    """
    settings = context()
    command = [
        sys.executable,
        "-m",
        "serving",
        "--host",
        host,
        "--port",
        str(port or settings.api_port),
        "--workers",
        str(settings.api_workers if workers is None else workers),
    ]
    if access_log:
        command.append("--access-log")
    sys.stdout.flush()
    sys.stderr.flush()
    os.execv(sys.executable, command)


def portal(
    host: Annotated[
        str, typer.Option(help="Interface to listen on; 0.0.0.0 in a container, behind a proxy.")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on (ASTRALYTIQ_PORTAL_PORT).")] = 0,
) -> None:
    """Start the Streamlit portal; it reaches the API at ASTRALYTIQ_API_URL."""
    import portal as portal_pkg

    settings = context()
    # server.py: the portal's pages (app.py) on Streamlit's server, with security headers.
    script = Path(portal_pkg.__file__).parent / "server.py"
    command = [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        str(script),
        "--server.port",
        str(port or settings.portal_port),
        "--server.address",
        host,
        "--server.headless",
        "true",
        "--browser.gatherUsageStats",
        "false",
        "--server.maxUploadSize",
        "10",
        "--client.toolbarMode",
        "viewer",
        "--theme.base",
        "light",
        "--theme.primaryColor",
        "#4f46e5",
    ]
    os.execv(sys.executable, command)


def mlflow(port: Annotated[int, typer.Option(help="Port (ASTRALYTIQ_MLFLOW_PORT).")] = 0) -> None:
    """Start only the embedded MLflow tracking server (SQLite store, artifacts in the data folder)."""
    from cli.platform import mlflow_server_command

    settings = context()
    os.environ.setdefault("MLFLOW_SERVER_ENABLE_JOB_EXECUTION", "false")  # GenAI job runner: unused
    command = mlflow_server_command(settings, "127.0.0.1", port or settings.mlflow_port)
    os.execv(command[0], command)


def worker() -> None:
    """Serve the train and monitor flows of every dataset spec as Prefect deployments.

    Needs a Prefect server (PREFECT_API_URL). Runs come from each spec's `schedule`, the Prefect
    UI, or `prefect deployment run train/<dataset>`; Ctrl-C stops the worker.
    """
    settings = context()
    if not (os.environ.get("PREFECT_API_URL") or settings.prefect_api_url):
        fail(
            "the worker needs a Prefect server: set PREFECT_API_URL (e.g. http://127.0.0.1:4200/api); "
            "`astralytiq up` runs flows without one"
        )
    context(prefect=True, database=True)  # the monitor flow stores drift in the app database
    from data_contracts.spec import SpecError
    from flows.deployments import serve_datasets

    with refused(SpecError):
        serve_datasets(settings.datasets_dir, typer.echo)
