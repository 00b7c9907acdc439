"""Error responses: every refusal is JSON that says what was wrong, never a 500 for bad input."""

from __future__ import annotations

import logging
import math
import re
import sys
from typing import Any

from fastapi import FastAPI, HTTPException, Request, status
from fastapi.exception_handlers import http_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from serving.schemas import ErrorDetail

log = logging.getLogger("astralytiq.serving")


def _documented(description: str) -> dict[str, Any]:
    return {"model": ErrorDetail, "description": description}


# Answers any /v1 route can give besides its own: documented once, so clients (and schemathesis)
# know every status they may meet. A route's own description of a code wins over these.
COMMON_RESPONSES: dict[int | str, dict[str, Any]] = {
    400: _documented("The body could not be read as JSON (bad UTF-8, too deeply nested)"),
    401: _documented("Not authenticated: no, an invalid or an expired token or API key"),
    403: _documented("Authenticated, but the role or the key's models do not allow this"),
    404: _documented("No such model, version, key, user or report"),
    413: _documented("Body over ASTRALYTIQ_MAX_REQUEST_BYTES"),
    422: _documented("Invalid request: the detail names each field at fault, or says what was wrong"),
    503: _documented(
        "The app database or the model registry is unavailable, or the API is busy (large answers,"
        " reports) or shutting down; retry after Retry-After"
    ),
}
BODY_LIMIT_RESPONSES: dict[int | str, dict[str, Any]] = {413: COMMON_RESPONSES[413]}


def _safe(value: Any) -> Any:
    """Echoed input made JSON-safe: NaN and infinities become strings, big values are cut."""
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) >= 10**30:
        digits = str(abs(value))
        return f"{'-' if value < 0 else ''}{digits[:12]}... ({len(digits)} digits)"
    if isinstance(value, str | bytes) and len(value) > 200:
        return f"{value[:200]!r}... ({len(value)} long)"
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    if isinstance(value, list | tuple):
        return [_safe(v) for v in value[:20]]
    if isinstance(value, dict):
        return {str(k): _safe(v) for k, v in list(value.items())[:20]}
    return value if isinstance(value, int | float | bool | type(None) | str) else repr(value)[:200]


def registry_unavailable(exc: Exception, consequence: str = "") -> HTTPException:
    """The 503 of a route whose MLflow call failed (``consequence``: e.g. "nothing changed")."""
    what = "model registry unavailable" + (f", {consequence}" if consequence else "")
    return HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, detail=f"{what}: {exc}")


JSON_BODY_HINT = "the body must be a JSON object sent with 'Content-Type: application/json'"


def _error(e: dict[str, Any]) -> dict[str, Any]:
    out = {
        "loc": list(e.get("loc", ())),
        "msg": e.get("msg", ""),
        "type": e.get("type", ""),
        "input": _safe(e.get("input")),
    }
    if out["loc"] == ["body"] and isinstance(e.get("input"), str | bytes):
        # A body that was not parsed as JSON at all (wrong content type, form data).
        out["msg"] = f"{out['msg']}; {JSON_BODY_HINT}"
    return out


async def validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
    return JSONResponse(status_code=422, content={"detail": [_error(e) for e in exc.errors()]})


def allowed_methods(request: Request) -> str | None:
    """Every method the API documents for this path (each method of a path is its own route, so
    the route that refused a method knows only its own): what a 405's Allow must list. None for a
    path outside the document (/metrics): its route's own Allow stands."""
    paths: list[tuple[re.Pattern[str], str]] | None = getattr(request.app.state, "allow_by_path", None)
    if paths is None:
        paths = []
        for template, item in request.app.openapi().get("paths", {}).items():
            pattern = re.sub(
                r"\\\{(\w+)(:path)?\\\}", lambda m: ".+" if m.group(2) else "[^/]+", re.escape(template)
            )
            paths.append((re.compile(f"^{pattern}$"), ", ".join(sorted(m.upper() for m in item))))
        request.app.state.allow_by_path = paths
    path = request.scope["path"]
    return next((methods for pattern, methods in paths if pattern.match(path)), None)


async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
    if exc.status_code == 405 and (allowed := allowed_methods(request)) is not None:
        exc.headers = {**(exc.headers or {}), "Allow": allowed}
    cause = exc.__cause__
    if exc.status_code == 400 and cause is not None and not isinstance(cause, StarletteHTTPException):
        # FastAPI's "There was an error parsing the body" hides why: say it (bad UTF-8, nesting).
        reason = _unreadable(cause)
        return JSONResponse(
            status_code=400,
            content={"detail": f"the body could not be read as JSON ({reason}); {JSON_BODY_HINT}"},
        )
    return await http_exception_handler(request, exc)


_ADDRESS = re.compile(r"\b[a-z][a-z0-9+.-]*://\S+|\b(?:\d{1,3}\.){3}\d{1,3}(?::\d+)?\b", re.IGNORECASE)


def public(message: str) -> str:
    """An error text from a client of another server (Prefect, MLflow) without that server's
    address: the API's clients learn what failed, not where the platform's servers live."""
    return _ADDRESS.sub("(address withheld)", message).replace(" at (address withheld)", "")


def _unreadable(cause: BaseException) -> str:
    """Why a body is not JSON, in the client's terms (not Python's advice on its own limits)."""
    if isinstance(cause, RecursionError):
        return "too deeply nested"
    text = str(cause)
    if "integer string conversion" in text:
        return f"a number has more than {sys.get_int_max_str_digits()} digits"
    return text[:200]


async def database_unavailable(request: Request, exc: Exception) -> JSONResponse:
    # Locked past the busy timeout (SQLite) or not answering (PostgreSQL): nothing was written
    # (the session rolls back), so the client may simply try again.
    reason = "busy (locked by another writer)" if "locked" in str(exc) else "unavailable"
    log.warning("app database %s on %s %s: %s", reason, request.method, request.url.path, str(exc)[:200])
    return JSONResponse(
        status_code=503,
        content={"detail": f"the app database is {reason}; nothing was changed, retry shortly"},
        headers={"Retry-After": "1"},
    )


async def unexpected_error(request: Request, exc: Exception) -> JSONResponse:
    # A bug, not bad input: log it whole, answer without internals.
    log.error("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return JSONResponse(status_code=500, content={"detail": "internal error; the API log has the details"})


def install(app: FastAPI) -> None:
    app.add_exception_handler(RequestValidationError, validation_error)  # type: ignore[arg-type]
    app.add_exception_handler(StarletteHTTPException, http_error)  # type: ignore[arg-type]
    app.add_exception_handler(OperationalError, database_unavailable)
    app.add_exception_handler(Exception, unexpected_error)
