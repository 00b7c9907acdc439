"""`python -m serving`: the API server process alone, without the CLI's imports.

`astralytiq serve` replaces itself with this, so the serving process holds only what serving
needs (no Typer or Rich resident). The app database is migrated first if it is behind, by a
child process, so Alembic never stays resident either.
"""

from __future__ import annotations

import argparse
import logging
import os
import shutil
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType
from typing import Any

from pydantic import ValidationError

from astralytiq.private_files import restrict_new_files, tighten
from astralytiq.settings import get_settings
from serving import memory, metrics_env, warm_start

GRACEFUL_SHUTDOWN_SECONDS = 10  # after the drain: how long requests still running may take
MIGRATE = "import sys; from astralytiq.db import upgrade_database; upgrade_database(sys.argv[1])"


def resolved_workers(asked: int) -> int:
    """Worker processes to run: ``asked``, or one per CPU core for 0."""
    return asked or os.cpu_count() or 1


def ensure_schema(url: str) -> None:
    """Migrate the app database when it is not at the newest revision (a quick check otherwise)."""
    from astralytiq.db import schema_is_current

    if not schema_is_current(url):
        subprocess.run([sys.executable, "-c", MIGRATE, url], check=True)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m serving", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--workers", type=int, default=1, help="Worker processes; 0: one per CPU core.")
    parser.add_argument("--access-log", action="store_true", help="Log every request (costs throughput).")
    args = parser.parse_args(argv)
    # Model loads, swaps and failures are logged by "astralytiq.*" loggers, beside uvicorn's lines.
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(levelname)-9s %(message)s"))
    logging.getLogger("astralytiq").addHandler(handler)
    logging.getLogger("astralytiq").setLevel(logging.INFO)
    restrict_new_files()  # app.db, the secret key, reports: the owner's only
    # Two heap arenas, not one per worker thread: memory freed after a burst of large answers can
    # then go back to the system (serving.memory trims it).
    memory.limit_arenas(2)
    try:
        settings = get_settings()
    except ValidationError as exc:  # a weak secret in production, a bad value: one clear line
        reasons = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'settings'}: {e['msg']}" for e in exc.errors())
        sys.exit(f"error: the API will not start with these settings: {reasons}")
    tighten(settings.data_dir)
    workers = resolved_workers(args.workers)
    if workers == 1:  # worker processes import the app afresh: nothing to hand them
        warm_start.begin(settings.mlflow_tracking_uri, int(settings.forecast_cache_mb * 1024 * 1024))
    ensure_schema(settings.app_database_url)
    import uvicorn  # with the app it imports: the part of start-up the warm start overlaps

    from serving.http_protocol import LimitedHttpToolsProtocol

    options: dict[str, Any] = {
        "factory": True,
        "host": args.host,
        "port": args.port,
        "log_level": "info",
        "access_log": args.access_log,
        "ws": "none",  # no WebSocket routes: do not load a WebSocket library
        # X-Forwarded-For is honoured by the app (serving.forwarded), from ASTRALYTIQ_TRUSTED_PROXIES
        # only; uvicorn's own handling (loopback or FORWARDED_ALLOW_IPS) would be a second rule.
        "proxy_headers": False,
        "timeout_graceful_shutdown": GRACEFUL_SHUTDOWN_SECONDS,
        # Header size and read deadlines (serving.http_protocol), idle keep-alive connections
        # closed after ASTRALYTIQ_HTTP_KEEPALIVE_SECONDS, and 503 past ..._MAX_CONNECTIONS.
        "http": LimitedHttpToolsProtocol,
        "timeout_keep_alive": settings.http_keepalive_seconds,
        "limit_concurrency": settings.http_max_connections,
    }
    if workers > 1:  # uvicorn's supervisor stops the workers (no drain period)
        with shared_metrics():
            uvicorn.run("serving.app:create_app", workers=workers, **options)
        return
    server = _draining_server(uvicorn, settings.shutdown_drain_seconds)(
        uvicorn.Config("serving.app:create_app", **options)
    )
    server.run()


@contextmanager
def shared_metrics() -> Iterator[None]:
    """Prometheus multiprocess mode for the worker processes: each writes its counters and
    histograms to files in a folder of its own run (never a previous one's), and /metrics, in
    whichever worker answers it, sums them all (``serving.metrics.exposition``)."""
    folder = tempfile.mkdtemp(prefix="astralytiq-metrics-")
    os.environ[metrics_env.MULTIPROCESS_DIR] = folder  # read by prometheus_client in each worker
    try:
        yield
    finally:
        os.environ.pop(metrics_env.MULTIPROCESS_DIR, None)
        shutil.rmtree(folder, ignore_errors=True)


def _draining_server(uvicorn: Any, drain_seconds: float) -> Any:
    """uvicorn's server with a drain period before its graceful shutdown.

    uvicorn, told to stop, closes its listener and every connection that has no request under
    way, dropping requests a client has sent but the server has not read yet. Draining first
    answers those with 503 (Connection: close, Retry-After), then stops."""
    from serving.middleware import SHUTTING_DOWN

    class DrainingServer(uvicorn.Server):  # type: ignore[misc,name-defined]
        def handle_exit(self, sig: int, frame: FrameType | None) -> None:
            if SHUTTING_DOWN.is_set() or drain_seconds <= 0:
                super().handle_exit(sig, frame)  # a second signal: stop now
                return
            SHUTTING_DOWN.set()
            logging.getLogger("astralytiq.serving").info(
                "stopping: draining for %.1fs (new requests get 503), then shutting down", drain_seconds
            )
            timer = threading.Timer(drain_seconds, super().handle_exit, (sig, frame))
            timer.daemon = True
            timer.start()

    return DrainingServer


if __name__ == "__main__":
    main()
