"""The `astralytiq` command: every workflow of the platform, each with its own --help."""

from __future__ import annotations

import os
import sys
from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer

from astralytiq.settings import get_settings

app = typer.Typer(
    help="AstralytiQ: time-series forecasting from data contract to served champion.\n\n"
    "Start with `astralytiq up`; every setting is an ASTRALYTIQ_* environment variable.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
users_app = typer.Typer(help="Manage the people who log in to the portal and the API.", no_args_is_help=True)
db_app = typer.Typer(
    help="The app database (users, API keys, drift history, audit log).", no_args_is_help=True
)
datasets_app = typer.Typer(help="Dataset specs found in ASTRALYTIQ_DATASETS_DIR.", no_args_is_help=True)
keys_app = typer.Typer(
    help="API keys for services: hashed at rest, scoped to models, revocable.", no_args_is_help=True
)
app.add_typer(users_app, name="users")
app.add_typer(keys_app, name="keys")
app.add_typer(db_app, name="db")
app.add_typer(datasets_app, name="datasets")
run_app = typer.Typer(
    help="Run a flow on the Prefect server (PREFECT_API_URL) through its deployment, and follow it.",
    no_args_is_help=True,
)
app.add_typer(run_app, name="run")

DatasetArg = Annotated[
    str, typer.Argument(help="Dataset name (a <name>.yaml in the datasets folder) or a spec path.")
]


def fail(message: str, code: int = 1) -> None:
    typer.secho(f"error: {message}", fg=typer.colors.RED, err=True)
    raise typer.Exit(code)


def _settings():  # type: ignore[no-untyped-def]
    from pydantic import ValidationError

    from astralytiq.private_files import tighten

    try:
        settings = get_settings()
    except ValidationError as exc:
        fail(
            "invalid settings: "
            + "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        )
    tighten(settings.data_dir)
    return settings


@app.command()
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
    from astralytiq.platform import PlatformError, run_platform

    try:
        run_platform(_settings(), retrain, typer.echo)
    except PlatformError as exc:
        fail(str(exc))


@app.command()
def train(
    dataset: DatasetArg,
    until: Annotated[
        datetime | None,
        typer.Option(
            formats=["%Y-%m-%d"], help="Use data up to this date only (overrides the spec's training.until)."
        ),
    ] = None,
    jobs: Annotated[int, typer.Option(min=0, help="Worker processes; 0 = one per CPU core.")] = 0,
) -> None:
    """Run the training flow: contract check, backtest of every candidate, per-series selection,
    MLflow run and a registered model version (champion if it beats the current one)."""
    from astralytiq.prefect_env import configure_prefect

    settings = _settings()
    configure_prefect(settings)
    from data_contracts.spec import SpecError
    from data_contracts.validation import ContractViolation
    from flows.train import train_flow
    from models.registry import TrackingUnavailable

    try:
        result = train_flow(dataset=dataset, until=until.date() if until else None, n_jobs=jobs)
    except (SpecError, ContractViolation, TrackingUnavailable, ValueError) as exc:
        fail(str(exc))
    verdict = "now champion" if result["promoted"] else "registered as challenger"
    typer.echo(f"{result['model_name']} v{result['version']}: {verdict} ({result['reason']})")


@app.command()
def monitor(dataset: DatasetArg) -> None:
    """Run the monitoring flow: drift of the newest actuals against the champion's training window."""
    from astralytiq.prefect_env import configure_prefect

    settings = _settings()
    configure_prefect(settings)
    from astralytiq.db import upgrade_database
    from data_contracts.spec import SpecError
    from data_contracts.validation import ContractViolation
    from flows.monitor import monitor_flow
    from models.registry import TrackingUnavailable

    upgrade_database(settings.app_database_url)
    try:
        result = monitor_flow(dataset=dataset)
    except (SpecError, ContractViolation, TrackingUnavailable, ValueError) as exc:
        fail(str(exc))
    if result["status"] == "no new actuals":
        typer.echo(
            f"{result['model_name']} v{result['version']}: no new actuals since training; nothing to check"
        )
    else:
        typer.echo(
            f"{result['model_name']} v{result['version']}: {result['status']} (drifted share {result['drift_share']:.0%})"
        )
        retrain = result.get("retrain")
        if retrain and retrain["how"] == "deployment":
            typer.echo(f"drift above the threshold: training run {retrain['flow_run_id']} triggered")
        elif retrain:
            typer.echo(f"drift above the threshold: retrained, v{retrain['version']} is {retrain['alias']}")


@app.command("simulate-drift")
def simulate_drift(
    dataset: DatasetArg,
    factor: Annotated[
        float, typer.Option(min=0.01, help="Multiply the newest actuals (target and covariates) by this.")
    ] = 1.6,
    api_url: Annotated[
        str,
        typer.Option(
            help="The running API whose /metrics and /readyz are watched (default: ASTRALYTIQ_API_URL)."
        ),
    ] = "",
    prometheus_url: Annotated[
        str, typer.Option(help="A Prometheus loading infra/prometheus/alerts.yml: wait for its drift alert.")
    ] = "",
    wait: Annotated[
        float, typer.Option(min=0, help="Seconds to wait for a triggered retrain to move the champion.")
    ] = 600.0,
) -> None:
    """Shift DATASET's newest actuals and watch the loop: drift detected, alert condition true,
    retrain triggered, new champion served. The committed data is not touched: the shifted copy
    and a spec reading it go to <data dir>/simulated/<dataset>/. Exits 1 if a stage did not happen."""
    from astralytiq.prefect_env import configure_prefect

    settings = _settings()
    configure_prefect(settings)
    from astralytiq.db import upgrade_database
    from astralytiq.drift_demo import run_drift_loop
    from data_contracts.spec import SpecError
    from data_contracts.validation import ContractViolation
    from models.registry import TrackingUnavailable

    upgrade_database(settings.app_database_url)
    try:
        report = run_drift_loop(
            settings,
            dataset,
            factor,
            typer.echo,
            api_url=api_url or settings.resolved_api_url,
            prometheus_url=prometheus_url or None,
            wait_seconds=wait,
        )
    except (SpecError, ContractViolation, TrackingUnavailable, ValueError) as exc:
        fail(str(exc))
    missing = [stage for stage, happened in report.stages.items() if not happened]
    if missing:
        fail(f"the loop stopped short: {', '.join(missing)} did not happen")
    typer.echo("the loop closed: drift detected, alert raised, retrained, new champion served")


@app.command()
def validate(
    dataset: DatasetArg,
    report_dir: Annotated[
        Path | None,
        typer.Option(help="Where to write the GX Data Docs and report.json; default: the reports folder."),
    ] = None,
    quarantine: Annotated[
        bool | None,
        typer.Option(
            "--quarantine/--strict",
            help="Override the contract's mode: set failing rows aside, or refuse on any failure.",
        ),
    ] = None,
) -> None:
    """Check a dataset against its data contract now and print a table of every rule.

    Loads the source the spec names (with its size caps), runs the contract as a Great
    Expectations checkpoint and writes the Data Docs. Exits 0 when the data passes, 1 when the
    contract fails or the source is refused (the reason names the column and the rule).
    """
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")
    from datetime import UTC

    from data_contracts.contract import load_contract_for
    from data_contracts.guards import ReadLimits
    from data_contracts.quarantine import enforce_contract
    from data_contracts.sources import DataSourceError, read_dataset
    from data_contracts.spec import SpecError, load_spec

    settings = _settings()
    try:
        spec = load_spec(dataset, settings.datasets_dir)
        contract = load_contract_for(spec)
        if quarantine is not None:
            contract = contract.model_copy(update={"quarantine": quarantine})
        limits = ReadLimits(
            max_bytes=int(settings.source_max_bytes),
            max_decompressed_bytes=int(settings.source_max_decompressed_bytes),
        )
        rows = read_dataset(spec, limits)
    except (SpecError, DataSourceError) as exc:
        fail(str(exc))
    docs_dir = report_dir or settings.reports_dir / "contracts" / spec.name
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    quarantine_path = settings.reports_dir / "quarantine" / spec.name / f"validate-{stamp}.csv"
    report = enforce_contract(rows, contract, spec.frequency, docs_dir, quarantine_path).report
    _print_report(report)
    raise typer.Exit(0 if report.success else 1)


def _print_report(report) -> None:  # type: ignore[no-untyped-def]
    from rich.console import Console
    from rich.table import Table

    console = Console(highlight=False)
    table = Table(title=f"Data contract {report.dataset!r}: {report.rows:,} rows, {report.series:,} series")
    for name in ("rule", "column", "expects", "result"):
        table.add_column(name, overflow="fold")
    for result in report.results:
        verdict = "[green]pass[/]" if result.success else f"[red]FAIL[/] {result.message}"
        table.add_row(result.rule, result.column, result.expectation, verdict)
    console.print(table)
    if report.quarantined:
        console.print(f"{report.quarantined} row(s) set aside: {report.quarantine_file}")
    console.print(report.summary().splitlines()[0], style="green" if report.success else "red")
    if report.docs_dir and report.validation_page:
        console.print(f"report: {report.docs_dir / report.validation_page}")


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on (ASTRALYTIQ_API_PORT).")] = 0,
    workers: Annotated[int, typer.Option(min=1, help="Worker processes (each loads every champion).")] = 1,
    access_log: Annotated[bool, typer.Option(help="Log every request (costs throughput).")] = False,
) -> None:
    """Start the prediction API: loads every champion from MLflow, then serves /v1 and /docs.

    Replaces this process with the bare server (`python -m serving`), which migrates the app
    database if it is behind; nothing of the CLI stays resident in the API.
    """
    settings = _settings()
    command = [
        sys.executable,
        "-m",
        "serving",
        "--host",
        host,
        "--port",
        str(port or settings.api_port),
        "--workers",
        str(workers),
    ]
    if access_log:
        command.append("--access-log")
    sys.stdout.flush()
    sys.stderr.flush()
    os.execv(sys.executable, command)


@app.command()
def portal(
    host: Annotated[
        str, typer.Option(help="Interface to listen on; 0.0.0.0 in a container, behind a proxy.")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on (ASTRALYTIQ_PORTAL_PORT).")] = 0,
) -> None:
    """Start the Streamlit portal; it reaches the API at ASTRALYTIQ_API_URL."""
    import portal as portal_pkg

    settings = _settings()
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


@app.command()
def mlflow(port: Annotated[int, typer.Option(help="Port (ASTRALYTIQ_MLFLOW_PORT).")] = 0) -> None:
    """Start only the embedded MLflow tracking server (SQLite store, artifacts in the data folder)."""
    settings = _settings()
    Path(settings.mlflow_artifacts_uri).mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("MLFLOW_SERVER_ENABLE_JOB_EXECUTION", "false")  # GenAI job runner: unused
    binary = str(Path(sys.executable).with_name("mlflow"))
    os.execv(
        binary,
        [
            binary,
            "server",
            "--backend-store-uri",
            settings.mlflow_store_uri,
            "--artifacts-destination",
            settings.mlflow_artifacts_uri,
            "--host",
            "127.0.0.1",
            "--port",
            str(port or settings.mlflow_port),
        ],
    )


@app.command()
def worker() -> None:
    """Serve the train and monitor flows of every dataset spec as Prefect deployments.

    Needs a Prefect server (PREFECT_API_URL). Runs come from each spec's `schedule`, the Prefect
    UI, or `prefect deployment run train/<dataset>`; Ctrl-C stops the worker.
    """
    from astralytiq.prefect_env import configure_prefect

    settings = _settings()
    if not (os.environ.get("PREFECT_API_URL") or settings.prefect_api_url):
        fail(
            "the worker needs a Prefect server: set PREFECT_API_URL (e.g. http://127.0.0.1:4200/api); "
            "`astralytiq up` runs flows without one"
        )
    configure_prefect(settings)
    from astralytiq.db import upgrade_database
    from data_contracts.spec import SpecError
    from flows.deployments import serve_datasets

    upgrade_database(settings.app_database_url)  # the monitor flow stores drift there
    try:
        serve_datasets(settings.datasets_dir, typer.echo)
    except SpecError as exc:
        fail(str(exc))


def _run_deployment(flow: str, dataset: str, follow: bool) -> None:
    from flows.prefect_api import (
        DeploymentMissing,
        PrefectAPI,
        PrefectUnavailable,
        api_url,
        follow_to_end,
    )

    settings = _settings()
    try:
        api = PrefectAPI(api_url(settings.prefect_api_url))
        run = api.trigger(flow, dataset)
    except (PrefectUnavailable, DeploymentMissing) as exc:
        fail(str(exc))
    typer.echo(f"flow run {run.name} ({run.id}) of {flow}/{dataset}: {run.state_name}")
    if not follow:
        return
    try:
        final = follow_to_end(api, run.id, typer.echo)
    except KeyboardInterrupt:
        typer.echo(f"stopped following; the run goes on (flow run {run.id})")
        raise typer.Exit(130) from None
    except PrefectUnavailable as exc:
        fail(f"lost the Prefect server while following flow run {run.id}: {exc}")
    if final.state != "COMPLETED":
        fail(f"flow run {run.name} ended {final.state_name}: {final.message or 'see its logs'}")
    typer.echo(f"flow run {run.name} completed in {final.duration_seconds or 0:.1f} s")


RunDatasetArg = Annotated[
    str, typer.Argument(help="Dataset name: its deployments are train/<name> and monitor/<name>.")
]
FollowOption = Annotated[
    bool, typer.Option(help="Print the run's state changes and log lines until it ends.")
]


@run_app.command("train")
def run_train(dataset: RunDatasetArg, follow: FollowOption = True) -> None:
    """Trigger the train/<dataset> deployment (served by `astralytiq worker`) and follow it.

    Exits 0 when the run completes, 1 when it fails or crashes, or when no Prefect server or
    deployment is found.
    """
    _run_deployment("train", dataset, follow)


@run_app.command("monitor")
def run_monitor(dataset: RunDatasetArg, follow: FollowOption = True) -> None:
    """Trigger the monitor/<dataset> deployment (served by `astralytiq worker`) and follow it."""
    _run_deployment("monitor", dataset, follow)


@users_app.command("create")
def users_create(
    username: Annotated[str, typer.Argument(help="Login name: letters, digits, '.', '_' or '-'.")],
    role: Annotated[
        str, typer.Option(help="admin (users, keys), engineer (promote, train) or viewer (read).")
    ] = "viewer",
    password_stdin: Annotated[
        bool,
        typer.Option("--password-stdin", help="Read the password from standard input instead of prompting."),
    ] = False,
) -> None:
    """Create a user who can log in to the portal and the API."""
    from astralytiq.accounts import PasswordPolicyError, UserExists, create_user
    from astralytiq.db import upgrade_database

    settings = _settings()
    password = (
        sys.stdin.readline().rstrip("\n")
        if password_stdin
        else typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    )
    upgrade_database(settings.app_database_url)
    try:
        create_user(settings.app_database_url, username, password, role, _cli_actor())  # type: ignore[arg-type]
    except (PasswordPolicyError, UserExists, ValueError) as exc:
        fail(str(exc))
    typer.echo(f"created {role} {username!r}")


@users_app.command("list")
def users_list() -> None:
    """List users and their roles."""
    from astralytiq.accounts import list_users
    from astralytiq.db import upgrade_database

    settings = _settings()
    upgrade_database(settings.app_database_url)
    for name, role, active in list_users(settings.app_database_url):
        typer.echo(f"{name:<24} {role:<9} {'active' if active else 'disabled'}")


def _set_user(username: str, **change: object) -> None:
    from astralytiq.accounts import UserNotFound, update_user
    from astralytiq.db import session_scope, upgrade_database

    settings = _settings()
    upgrade_database(settings.app_database_url)
    try:
        with session_scope(settings.app_database_url) as session:
            update_user(session, _cli_actor(), username, **change)  # type: ignore[arg-type]
    except (UserNotFound, ValueError) as exc:
        fail(str(exc))


def _cli_actor():  # type: ignore[no-untyped-def]
    """Changes made at the command line are audited under the OS user who made them."""
    import getpass

    from astralytiq.audit import Actor

    return Actor(f"cli:{getpass.getuser()}", "cli")


@users_app.command("disable")
def users_disable(username: Annotated[str, typer.Argument(help="Login name.")]) -> None:
    """Stop a user from logging in; their tokens are refused within seconds."""
    _set_user(username, active=False)
    typer.echo(f"disabled {username!r}")


@users_app.command("enable")
def users_enable(username: Annotated[str, typer.Argument(help="Login name.")]) -> None:
    """Let a disabled user log in again."""
    _set_user(username, active=True)
    typer.echo(f"enabled {username!r}")


@users_app.command("set-role")
def users_set_role(
    username: Annotated[str, typer.Argument(help="Login name.")],
    role: Annotated[str, typer.Argument(help="admin, engineer or viewer.")],
) -> None:
    """Change what a user may do."""
    _set_user(username, role=role)
    typer.echo(f"{username!r} is now {role}")


def _new_password(password_stdin: bool) -> str:
    if password_stdin:
        return sys.stdin.readline().rstrip("\n")
    return str(typer.prompt("New password", hide_input=True, confirmation_prompt=True))


@users_app.command("reset-password")
def users_reset_password(
    username: Annotated[str, typer.Argument(help="Login name (any case).")],
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the new password from standard input.")
    ] = False,
) -> None:
    """Set someone's password (as an admin would, for a forgotten one); their sessions end."""
    from astralytiq.accounts import PasswordPolicyError, UserNotFound, reset_password
    from astralytiq.db import session_scope, upgrade_database

    settings = _settings()
    password = _new_password(password_stdin)
    upgrade_database(settings.app_database_url)
    try:
        with session_scope(settings.app_database_url) as session:
            name = reset_password(session, _cli_actor(), username, password).username
    except (PasswordPolicyError, UserNotFound) as exc:
        fail(str(exc))
    typer.echo(f"{name!r} has a new password; every session they had has ended")


@users_app.command("change-password")
def users_change_password(
    username: Annotated[str, typer.Argument(help="Your login name (any case).")],
    password_stdin: Annotated[
        bool,
        typer.Option(
            "--password-stdin",
            help="Read the current, then the new password from standard input (two lines).",
        ),
    ] = False,
) -> None:
    """Change your own password: the current one is asked first; your other sessions end."""
    from astralytiq.accounts import PasswordPolicyError, UserNotFound, WrongPassword, change_password
    from astralytiq.db import session_scope, upgrade_database

    settings = _settings()
    current = (
        sys.stdin.readline().rstrip("\n")
        if password_stdin
        else str(typer.prompt("Current password", hide_input=True))
    )
    password = _new_password(password_stdin)
    upgrade_database(settings.app_database_url)
    try:
        with session_scope(settings.app_database_url) as session:
            name = change_password(session, _cli_actor(), username, current, password).username
    except (PasswordPolicyError, UserNotFound, WrongPassword) as exc:
        fail(str(exc))
    typer.echo(f"password of {name!r} changed; your other sessions have ended")


@keys_app.command("create")
def keys_create(
    name: Annotated[str, typer.Argument(help="Who uses the key, e.g. 'billing-service'.")],
    role: Annotated[
        str, typer.Option(help="viewer (forecasts) or engineer (also promote/rollback).")
    ] = "viewer",
    model: Annotated[
        list[str] | None,
        typer.Option("--model", "-m", help="A model the key may use; repeat for several. None: every model."),
    ] = None,
    expires_in_days: Annotated[
        int | None, typer.Option(min=1, max=3650, help="Days until the key stops working; default: never.")
    ] = None,
) -> None:
    """Issue an API key for a service. The key is printed once; only its hash is stored."""
    from datetime import UTC, timedelta

    from astralytiq import api_keys
    from astralytiq.db import session_scope, upgrade_database

    settings = _settings()
    upgrade_database(settings.app_database_url)
    expires_at = datetime.now(UTC) + timedelta(days=expires_in_days) if expires_in_days else None
    try:
        with session_scope(settings.app_database_url) as session:
            issued = api_keys.issue(
                session, _cli_actor(), name=name, role=role, models=model or [], expires_at=expires_at
            )
    except api_keys.InvalidKeyRequest as exc:
        fail(str(exc))
    scope = ", ".join(issued.info.models) or "every model"
    typer.echo(
        f"created {issued.info.role} key {issued.info.id} ({name}, prefix {issued.info.prefix}) for {scope}"
    )
    typer.echo("store it now; it is not shown again:", err=True)
    typer.echo(issued.key)


@keys_app.command("list")
def keys_list(
    all_keys: Annotated[bool, typer.Option("--all", help="Also list revoked keys.")] = False,
) -> None:
    """List API keys: id, prefix, name, role, models, last use, expiry. Never the keys."""
    from astralytiq import api_keys
    from astralytiq.db import session_scope, upgrade_database

    settings = _settings()
    upgrade_database(settings.app_database_url)
    with session_scope(settings.app_database_url) as session:
        keys = api_keys.all_keys(session, include_revoked=all_keys)
    typer.echo(f"{'id':>4}  {'prefix':<12}  {'name':<20} {'role':<9} {'state':<8} {'last used':<17} models")
    for k in keys:
        state = "revoked" if k.revoked_at else ("expired" if not k.active else "active")
        used = k.last_used_at.strftime("%Y-%m-%d %H:%M") if k.last_used_at else "never"
        typer.echo(
            f"{k.id:>4}  {k.prefix:<12}  {k.name:<20} {k.role:<9} {state:<8} {used:<17} {', '.join(k.models) or '*'}"
        )


@keys_app.command("revoke")
def keys_revoke(
    key: Annotated[str, typer.Argument(help="The key's id or prefix, as `keys list` shows.")],
) -> None:
    """Revoke an API key; API processes refuse it within ASTRALYTIQ_AUTH_RECHECK_SECONDS."""
    from astralytiq import api_keys
    from astralytiq.db import session_scope, upgrade_database

    settings = _settings()
    upgrade_database(settings.app_database_url)
    try:
        with session_scope(settings.app_database_url) as session:
            info = api_keys.revoke(session, _cli_actor(), key)
    except api_keys.KeyNotFound as exc:
        fail(str(exc))
    typer.echo(f"revoked key {info.id} ({info.name}, prefix {info.prefix})")


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply the database migrations (safe to run repeatedly)."""
    from astralytiq.db import upgrade_database

    settings = _settings()
    upgrade_database(settings.app_database_url)
    typer.echo("app database is at the newest revision")


@datasets_app.command("list")
def datasets_list() -> None:
    """List the datasets, their frequency, horizon and schedule."""
    from data_contracts.spec import SpecError, available_datasets, load_spec

    settings = _settings()
    for name in available_datasets(settings.datasets_dir):
        try:
            spec = load_spec(name, settings.datasets_dir)
            typer.echo(
                f"{name:<20} freq={spec.frequency:<6} horizon={spec.horizon:<4} schedule={spec.schedule or '-'}"
            )
        except SpecError as exc:
            typer.echo(f"{name:<20} INVALID: {exc}")


def main() -> None:
    from astralytiq.private_files import restrict_new_files

    restrict_new_files()  # the data folder's databases, keys and logs: the owner's only
    app()
