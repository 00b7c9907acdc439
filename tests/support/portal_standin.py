"""A stand-in in front of the real API, for the one situation the portal must survive that the
test session's API cannot play: an older API without the newer routes. With ``without_routes``
set, the pipelines and live-accuracy paths answer 404 ``Not Found`` as such an API does; every
other request, and every request while it is unset, goes to the real API unchanged."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import httpx
import uvicorn
from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse

from tests.support import free_port, wait_http

NEWER_PATHS = ("/v1/pipelines/", "/accuracy")  # what an API from before those routes lacks


@dataclass
class StandIn:
    api_url: str
    without_routes: bool = False
    url: str = ""


def build_app(state: StandIn) -> FastAPI:
    app = FastAPI()
    upstream = httpx.Client(base_url=state.api_url, timeout=30)

    async def forward(path: str, request: Request) -> Response:
        if state.without_routes and any(part in f"/{path}" for part in NEWER_PATHS):
            return JSONResponse({"detail": "Not Found"}, status_code=404)
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

    app.add_api_route("/{path:path}", forward, methods=["GET", "POST", "PATCH", "DELETE"])
    return app


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
