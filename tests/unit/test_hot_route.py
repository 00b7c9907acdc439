"""HotRoute answers exactly as FastAPI's own handler: the same route declared twice, once per
route class, gets the same requests (good, unauthenticated, malformed, mistyped) and must give
the same status and body each time. In-process (Starlette's TestClient), no server."""

from __future__ import annotations

from typing import Annotated

import pytest
from fastapi import APIRouter, Depends, FastAPI, HTTPException, Request, Response
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient

from serving import errors
from serving.hot_route import HotRoute
from serving.schemas import ForecastRequest


async def viewer(request: Request) -> str:
    if request.headers.get("x-api-key") != "good":
        raise HTTPException(401, detail="not authenticated")
    return "key:test"


Viewer = Annotated[str, Depends(viewer)]


def forecast_router(route_class: type[APIRoute]) -> APIRouter:
    router = APIRouter(route_class=route_class)

    @router.post("/v1/models/{name}/forecast")
    async def forecast(name: str, body: ForecastRequest, principal: Viewer, request: Request) -> Response:
        return Response(
            f"{name}|{principal}|{body.series_ids}|{body.horizon}|{body.levels}|{request.method}",
            media_type="text/plain",
        )

    return router


def forecast_app(route_class: type[APIRoute]) -> FastAPI:
    app = FastAPI()
    errors.install(app)
    app.include_router(forecast_router(route_class))
    return app


GOOD = {"x-api-key": "good", "content-type": "application/json"}
CASES = [
    ("valid", GOOD, b'{"series_ids": ["A", "A", "B"], "horizon": 3, "levels": [95, 80]}'),
    (
        "no credentials, valid body",
        {"content-type": "application/json"},
        b'{"series_ids": ["A"], "horizon": 3}',
    ),
    ("no credentials, bad body", {"content-type": "application/json"}, b'{"horizon": "x"}'),
    ("no credentials, not JSON", {"content-type": "application/json"}, b"{nope"),
    ("not JSON", GOOD, b'{"series_ids": ['),
    ("not UTF-8", GOOD, b'{"series_ids": ["\xff"], "horizon": 1}'),
    ("too deeply nested", GOOD, b"[" * 100_000 + b"]" * 100_000),
    ("empty body", GOOD, b""),
    ("schema errors", GOOD, b'{"series_ids": [], "horizon": 0, "levels": [100], "extra": 1}'),
    ("string for a number", GOOD, b'{"series_ids": ["A"], "horizon": "3"}'),
    ("a JSON array", GOOD, b'[{"series_ids": ["A"], "horizon": 3}]'),
    (
        "text/plain body",
        {"x-api-key": "good", "content-type": "text/plain"},
        b'{"series_ids": ["A"], "horizon": 3}',
    ),
    ("no content type", {"x-api-key": "good"}, b'{"series_ids": ["A"], "horizon": 3}'),
    (
        "json with parameters",
        {"x-api-key": "good", "content-type": "application/json; charset=utf-8"},
        b'{"series_ids": ["A"], "horizon": 3}',
    ),
    (
        "+json type",
        {"x-api-key": "good", "content-type": "application/vnd.x+json"},
        b'{"series_ids": ["A"], "horizon": 3}',
    ),
]


@pytest.fixture(scope="module")
def clients() -> tuple[TestClient, TestClient]:
    return TestClient(forecast_app(APIRoute)), TestClient(forecast_app(HotRoute))


@pytest.mark.parametrize(("case", "headers", "body"), CASES, ids=[c[0] for c in CASES])
def test_same_answer_as_fastapis_handler(
    clients: tuple[TestClient, TestClient], case: str, headers: dict[str, str], body: bytes
) -> None:
    fastapi_client, hot_client = clients
    path = "/v1/models/m%20%22x/forecast"
    expected = fastapi_client.post(path, content=body, headers=headers)
    answer = hot_client.post(path, content=body, headers=headers)
    assert (answer.status_code, answer.content) == (expected.status_code, expected.content), case


def test_the_hot_handler_is_the_one_answering() -> None:
    """The route is of the covered kind, so its handler is HotRoute's, not FastAPI's fallback."""
    route = forecast_router(HotRoute).routes[0]
    assert isinstance(route, HotRoute)
    assert route.get_route_handler().__qualname__.startswith("HotRoute.")


def test_a_route_it_does_not_cover_keeps_fastapis_handler() -> None:
    router = APIRouter(route_class=HotRoute)

    @router.get("/v1/things")
    async def things(limit: int = 10) -> dict[str, int]:  # a query parameter: not covered
        return {"limit": limit}

    route = router.routes[0]
    assert isinstance(route, HotRoute)
    assert not route.get_route_handler().__qualname__.startswith("HotRoute.")
