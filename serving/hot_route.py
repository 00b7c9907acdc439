"""A leaner request handler for the forecast routes: FastAPI's checks, in FastAPI's order,
without its general machinery.

FastAPI's handler serves every kind of route (forms, streams, yield dependencies, overrides,
response models), and a forecast request paid for all of it: solving the role check as a
sub-dependency (four parameter passes each), reading each endpoint's source for error context,
parsing Content-Type as a MIME message. ``HotRoute`` handles a route of the forecast kind
directly: the body read and parsed as FastAPI parses it (same 400 and 422 answers), the role
check called first (so a caller without credentials learns nothing of the body's schema, as
before), then the body validated by FastAPI's own ``request_body_to_args`` (the same 422
details), and the endpoint called. OpenAPI still describes the route from its dependant, as
for any route. A route this handler does not cover (another kind of dependency, query or
header parameters, dependency overrides when the route is built) falls back to FastAPI's handler.
"""

from __future__ import annotations

import email.message
import inspect
import json
from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import HTTPException, Request, Response
from fastapi.dependencies.models import Dependant
from fastapi.dependencies.utils import request_body_to_args
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from pydantic_core import PydanticUndefined

Undefined = PydanticUndefined


async def json_body(request: Request) -> Any:
    """The body as FastAPI's handler reads it (strict Content-Type): parsed JSON, the raw bytes
    when the type is not JSON, Undefined when empty. Invalid JSON is the 422 FastAPI gives; a
    body that cannot be read at all is its 400 (with the cause, which ``serving.errors`` explains)."""
    try:
        body_bytes = await request.body()
        if not body_bytes:
            return Undefined
        content_type = request.headers.get("content-type")
        if not content_type:
            return body_bytes
        if content_type != "application/json":  # the common case needs no MIME parsing
            message = email.message.Message()
            message["content-type"] = content_type
            subtype = message.get_content_subtype()
            if message.get_content_maintype() != "application" or not (
                subtype == "json" or subtype.endswith("+json")
            ):
                return body_bytes
        return json.loads(body_bytes)
    except json.JSONDecodeError as exc:
        raise RequestValidationError(
            [
                {
                    "type": "json_invalid",
                    "loc": ("body", exc.pos),
                    "msg": "JSON decode error",
                    "input": {},
                    "ctx": {"error": exc.msg},
                }
            ],
            body=exc.doc,
        ) from exc
    except HTTPException:
        raise
    except Exception as exc:
        raise HTTPException(status_code=400, detail="There was an error parsing the body") from exc


def _request_only(dependant: Dependant) -> bool:
    """A dependency that takes the request and nothing else, and is a coroutine (a role check)."""
    return (
        dependant.request_param_name is not None
        and not dependant.dependencies
        and not (dependant.path_params or dependant.query_params or dependant.header_params)
        and not (dependant.cookie_params or dependant.body_params)
        and inspect.iscoroutinefunction(dependant.call)
        and len(inspect.signature(dependant.call).parameters) == 1  # type: ignore[arg-type]
    )


def _covered(dependant: Dependant) -> bool:
    return (
        inspect.iscoroutinefunction(dependant.call)
        and dependant.request_param_name is not None
        and len(dependant.body_params) == 1
        and all(field.field_info.annotation is str for field in dependant.path_params)
        and not (dependant.query_params or dependant.header_params or dependant.cookie_params)
        and not (dependant.background_tasks_param_name or dependant.response_param_name)
        and not (dependant.websocket_param_name or dependant.security_scopes_param_name)
        and all(_request_only(sub) and sub.name for sub in dependant.dependencies)
    )


class HotRoute(APIRoute):
    """An APIRoute whose requests skip FastAPI's general handler when the route allows it."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        dependant = self.dependant
        overrides = getattr(self.dependency_overrides_provider, "dependency_overrides", None)
        if not _covered(dependant) or overrides:
            return super().get_route_handler()
        endpoint: Callable[..., Coroutine[Any, Any, Response]] = dependant.call  # type: ignore[assignment]
        checks: list[tuple[str, Callable[[Request], Coroutine[Any, Any, Any]]]] = [
            (sub.name, sub.call)  # type: ignore[misc]
            for sub in dependant.dependencies
        ]
        body_params = dependant.body_params
        embed = self._embed_body_fields
        request_name: str = dependant.request_param_name  # type: ignore[assignment]

        async def handler(request: Request) -> Response:
            body = await json_body(request)
            values: dict[str, Any] = {}
            for name, check in checks:  # before the body's validation, as FastAPI solves them
                values[name] = await check(request)
            values.update(request.path_params)
            body_values, errors = await request_body_to_args(body_params, body, embed)
            if errors:
                raise RequestValidationError(errors, body=body)
            values.update(body_values)
            values[request_name] = request
            return await endpoint(**values)

        return handler
