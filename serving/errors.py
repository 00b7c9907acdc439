"""Error responses: every refusal is JSON that says what was wrong, never a 500 for bad input."""

from __future__ import annotations

import logging
import math
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

log = logging.getLogger("astralytiq.serving")


def _safe(value: Any) -> Any:
    """Echoed input made JSON-safe: NaN and infinities become strings, big values are cut."""
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, str | bytes) and len(value) > 200:
        return f"{value[:200]!r}... ({len(value)} long)"
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    if isinstance(value, list | tuple):
        return [_safe(v) for v in value[:20]]
    if isinstance(value, dict):
        return {str(k): _safe(v) for k, v in list(value.items())[:20]}
    return value if isinstance(value, int | float | bool | type(None) | str) else repr(value)[:200]


async def validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
    errors = [
        {
            "loc": list(e.get("loc", ())),
            "msg": e.get("msg", ""),
            "type": e.get("type", ""),
            "input": _safe(e.get("input")),
        }
        for e in exc.errors()
    ]
    return JSONResponse(status_code=422, content={"detail": errors})


async def unexpected_error(request: Request, exc: Exception) -> JSONResponse:
    # A bug, not bad input: log it whole, answer without internals.
    log.error("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return JSONResponse(status_code=500, content={"detail": "internal error; the API log has the details"})


def install(app: FastAPI) -> None:
    app.add_exception_handler(RequestValidationError, validation_error)  # type: ignore[arg-type]
    app.add_exception_handler(Exception, unexpected_error)
