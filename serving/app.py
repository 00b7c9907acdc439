"""The FastAPI application: built by ``create_app``; champions load in the lifespan."""

from __future__ import annotations

import gc
import logging
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI

from astralytiq.db import session_factory
from astralytiq.settings import Settings, get_settings
from registry.rest import RegistryClient
from serving import errors, memory, metrics, openapi, warm_start
from serving.access import AccessCache
from serving.auth import VerifiedTokens
from serving.backtests import BacktestWindows
from serving.health_gauges import HealthGauges
from serving.login_throttle import LoginThrottle
from serving.middleware import EdgeMiddleware
from serving.model_store import ModelStore
from serving.rendering import Renderer
from serving.report_streams import ReportStreams
from serving.routes import (
    admin,
    alerts,
    auth,
    champion,
    contracts,
    datasets,
    evaluation,
    forecast,
    health,
    models,
    monitoring,
    pipelines,
    spec_schemas,
)
from serving.snapshots import SnapshotFinder

log = logging.getLogger("astralytiq.serving")
MEMORY_TRIM_SECONDS = 5.0  # after a burst of large answers, RSS is back near its start within seconds

DESCRIPTION = """
Forecasts from the champion of every registered AstralytiQ model.

People log in with `POST /v1/auth/token` and send `Authorization: Bearer <token>`;
services send `X-API-Key: <key>` (admins issue keys at `POST /v1/admin/api-keys`).
Every forecast response carries the version that made it in `X-Model-Version`.

Roles: **viewer** reads models and forecasts; **engineer** also promotes and rolls back
champions; **admin** also manages users and API keys and reads the audit log.
"""


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        registry = RegistryClient(settings.mlflow_tracking_uri)
        sessions = session_factory(settings.app_database_url)
        store = ModelStore(
            registry,
            cache_bytes=int(settings.forecast_cache_mb * 1024 * 1024),
            snapshots=SnapshotFinder(sessions),
        )
        app.state.settings = settings
        app.state.signing_key = settings.signing_key()  # read once, not per request
        app.state.tokens = VerifiedTokens(
            key=app.state.signing_key, issuer=settings.jwt_issuer, audience=settings.jwt_audience
        )
        app.state.metrics_bearer = settings.metrics_bearer()
        app.state.alert_webhook_bearer = settings.alert_webhook_bearer()
        app.state.renderer = Renderer(settings.render_concurrency, settings.render_queue)
        app.state.report_streams = ReportStreams(
            settings.report_streams, settings.report_stream_bytes_per_second
        )
        app.state.sessions = sessions
        app.state.access = AccessCache(app.state.sessions, settings.auth_recheck_seconds)
        app.state.store = store
        app.state.backtests = BacktestWindows(registry)
        app.state.login_throttle = LoginThrottle(
            settings.login_max_failures_per_account,
            settings.login_max_failures_per_client,
            settings.login_failure_window_seconds,
        )
        changes = store.refresh(warm_start.collect())
        log.info("serving at start-up: %s", ", ".join(changes) or "no champions yet")
        # The ~100k objects of the libraries and loaded models live as long as the process; a
        # full garbage collection scanning them all stalls every request for ~0.1 s. Frozen,
        # they are skipped (their memory is still freed by reference counting when dropped).
        gc.collect()
        gc.freeze()
        stop = threading.Event()
        watcher = threading.Thread(
            target=store.watch, args=(settings.alias_poll_seconds, stop), name="alias-watch", daemon=True
        )
        watcher.start()
        health = threading.Thread(
            target=HealthGauges(app.state.sessions, store).watch,
            args=(settings.health_refresh_seconds, stop),
            name="health-gauges",
            daemon=True,
        )
        health.start()
        trimmer = threading.Thread(
            target=memory.keep_giving_back, args=(MEMORY_TRIM_SECONDS, stop), name="memory-trim", daemon=True
        )
        trimmer.start()
        metrics_server = _metrics_port(settings)
        try:
            yield
        finally:
            if metrics_server is not None:
                metrics_server.shutdown()
            stop.set()
            watcher.join(timeout=5)
            health.join(timeout=5)
            trimmer.join(timeout=5)
            registry.close()

    docs = settings.docs_enabled  # off in production unless ASTRALYTIQ_API_DOCS=true
    app = FastAPI(
        title="AstralytiQ prediction API",
        version="1",
        description=DESCRIPTION,
        lifespan=lifespan,
        docs_url="/docs" if docs else None,
        redoc_url="/redoc" if docs else None,
        openapi_url="/openapi.json" if docs else None,
    )
    errors.install(app)
    # The portal's logins carry the browser's address (X-Forwarded-For): the throttle counts
    # per person, not per portal, but only a trusted proxy's header is believed.
    app.add_middleware(
        EdgeMiddleware, max_body_bytes=settings.max_request_bytes, trusted=settings.trusted_proxies
    )
    # The forecast routes first: a request is matched against the routers in this order (twice:
    # the router, then its route), and forecasts are nearly all of the traffic.
    for router in (
        forecast.router,
        auth.router,
        models.router,
        evaluation.router,
        champion.router,
        admin.router,
        monitoring.router,
        health.router,
    ):
        app.include_router(
            router,
            responses=errors.BODY_LIMIT_RESPONSES if router is health.router else errors.COMMON_RESPONSES,
        )
    app.include_router(contracts.router, responses=errors.COMMON_RESPONSES)
    app.include_router(pipelines.router, responses=errors.COMMON_RESPONSES)
    app.include_router(spec_schemas.router, responses=errors.COMMON_RESPONSES)
    app.include_router(datasets.router, responses=errors.COMMON_RESPONSES)
    app.include_router(alerts.router, responses=errors.BODY_LIMIT_RESPONSES)
    openapi.document_limits(app, settings)
    return app


def _metrics_port(settings: Settings) -> Any:
    """/metrics without credentials on ASTRALYTIQ_METRICS_PORT (production default 9464), for a
    scraper inside the cluster; the port is not published. None when there is no such port."""
    port = settings.metrics_listen_port
    if not port:
        return None
    from prometheus_client import start_http_server

    host = "0.0.0.0" if settings.environment == "production" else "127.0.0.1"
    try:
        server, _ = start_http_server(port, host, registry=metrics.EXPOSITION)
    except OSError as exc:  # another worker process of this API holds it: that one answers
        log.warning("metrics port %s:%s not opened: %s", host, port, exc)
        return None
    log.info("metrics for the cluster's scraper on %s:%s/metrics", host, port)
    return server
