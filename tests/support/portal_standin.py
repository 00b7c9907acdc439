"""A stand-in for routes other issues add to the API, in front of the real API.

Issue 7 adds ``GET /v1/models/{name}/accuracy`` and issue 6 adds ``GET /v1/pipelines/runs`` and
``POST /v1/pipelines/train``. Until they are merged, the portal's tests reach them through this
small real FastAPI app: it answers those three routes in exactly the schema the issues specify
(who may call them is checked by asking the real API who the token belongs to) and forwards
every other request unchanged to the real API. With ``new_routes`` off it answers those paths
the way an API without them does (404 ``Not Found``), whatever the real API behind it has.
With ``prefer_upstream`` on, a route the real API already has is forwarded, not stood in for
(the browser test uses that: once issues 6 and 7 are merged it sees only the real API).
Only these stand-in answers are made up here; the rest is the real platform.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import uvicorn
from fastapi import FastAPI, HTTPException, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from tests.support import free_port, wait_http

NEW_PATHS = ("/v1/pipelines/", "/accuracy")


@dataclass
class StandIn:
    api_url: str
    new_routes: bool = True
    prefect_up: bool = True
    prefer_upstream: bool = False
    runs: list[dict[str, Any]] = field(default_factory=list)
    url: str = ""


class TrainBody(BaseModel):
    dataset: str


def accuracy_points(now: datetime) -> list[dict[str, Any]]:
    """Four weekly evaluations of a served model, in issue 7's schema."""
    points = []
    for week in range(4):
        evaluated = now - timedelta(days=7 * (3 - week))
        points.append(
            {
                "evaluated_at": evaluated.isoformat(),
                "model_version": "1",
                "window_start": (evaluated - timedelta(days=7)).date().isoformat(),
                "window_end": evaluated.date().isoformat(),
                "mase": 0.82 + 0.04 * week,
                "wape": 7.1 + 0.4 * week,  # in percent, as the API reports it
                "coverage": {"80": 0.79 - 0.01 * week, "95": 0.94},
                "n_series": 12,
                "n_points": 84,
            }
        )
    return points


def build_app(state: StandIn) -> FastAPI:
    app = FastAPI()
    upstream = httpx.Client(base_url=state.api_url, timeout=30)
    real_paths = set(upstream.get("/openapi.json").json()["paths"]) if state.prefer_upstream else set()

    def stand_in_for(path: str) -> bool:
        return path not in real_paths

    def role_of(request: Request) -> str:
        answer = upstream.get(
            "/v1/auth/me", headers={"Authorization": request.headers.get("authorization", "")}
        )
        if answer.status_code != 200:
            raise HTTPException(answer.status_code, detail=answer.json().get("detail"))
        return str(answer.json()["role"])

    def not_found() -> JSONResponse:
        return JSONResponse({"detail": "Not Found"}, status_code=404)

    def accuracy(name: str, request: Request) -> dict[str, Any] | JSONResponse:
        if not state.new_routes:
            return not_found()
        role_of(request)
        return {"model": name, "points": accuracy_points(datetime.now(UTC))}

    def runs(request: Request, limit: int = 20) -> list[dict[str, Any]] | JSONResponse:
        if not state.new_routes:
            return not_found()
        role_of(request)
        return state.runs[:limit]

    def train(body: TrainBody, request: Request) -> dict[str, Any] | JSONResponse:
        if not state.new_routes:
            return not_found()
        if role_of(request) not in ("engineer", "admin"):
            raise HTTPException(403, detail="this needs the engineer role")
        if not state.prefect_up:
            raise HTTPException(503, detail="no Prefect server is reachable at http://127.0.0.1:4200/api")
        run_id = str(uuid.uuid4())
        state.runs.insert(
            0,
            {
                "id": run_id,
                "name": f"train-{body.dataset}-{run_id[:6]}",
                "flow": "train",
                "dataset": body.dataset,
                "state": "SCHEDULED",
                "started_at": None,
                "ended_at": None,
                "duration_seconds": None,
            },
        )
        return {"flow_run_id": run_id, "dataset": body.dataset, "state": "SCHEDULED"}

    async def forward(path: str, request: Request) -> Response:
        headers = {
            k: v
            for k, v in request.headers.items()
            if k.lower() in ("authorization", "x-api-key", "content-type")
        }
        answer = upstream.request(
            request.method,
            f"/{path}",
            params=request.query_params,
            content=await request.body(),
            headers=headers,
        )
        kept = {k: v for k, v in answer.headers.items() if k.lower() in ("content-type", "x-model-version")}
        return Response(answer.content, status_code=answer.status_code, headers=kept)

    if stand_in_for("/v1/models/{name}/accuracy"):
        app.add_api_route("/v1/models/{name}/accuracy", accuracy, methods=["GET"], response_model=None)
    if stand_in_for("/v1/pipelines/runs"):
        app.add_api_route("/v1/pipelines/runs", runs, methods=["GET"], response_model=None)
    if stand_in_for("/v1/pipelines/train"):
        app.add_api_route(
            "/v1/pipelines/train", train, methods=["POST"], status_code=202, response_model=None
        )
    app.add_api_route("/{path:path}", forward, methods=["GET", "POST", "PATCH", "DELETE"])
    return app


def finished_run(flow: str, dataset: str, state: str, minutes_ago: int, seconds: float) -> dict[str, Any]:
    started = datetime.now(UTC) - timedelta(minutes=minutes_ago)
    return {
        "id": str(uuid.uuid4()),
        "name": f"{flow}-{dataset}-{minutes_ago}",
        "flow": flow,
        "dataset": dataset,
        "state": state,
        "started_at": started.isoformat(),
        "ended_at": (started + timedelta(seconds=seconds)).isoformat(),
        "duration_seconds": seconds,
    }


@contextmanager
def serve(state: StandIn) -> Iterator[StandIn]:
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(build_app(state), host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{port}"
    try:
        wait_http(f"{state.url}/healthz", 30)
        yield state
    finally:
        server.should_exit = True
        thread.join(10)
