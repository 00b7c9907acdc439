"""The JSON Schemas of a dataset spec and a data contract: what editors validate YAML against and
what the portal's dataset form is built from. Served from the files ``data_contracts.json_schema``
writes (this process does not import the data-contract package, which needs pandas)."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any, Literal

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from serving.deps import Viewer

router = APIRouter(prefix="/v1/schemas", tags=["schemas"])

FOLDER = Path(__file__).resolve().parents[1] / "json_schemas"
SchemaName = Literal["dataset-spec", "data-contract"]


@cache
def _schema(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((FOLDER / f"{name}.json").read_text(encoding="utf-8"))
    return loaded


@router.get(
    "/{name}",
    response_class=JSONResponse,
    responses={200: {"content": {"application/schema+json": {}}, "description": "A JSON Schema"}},
)
def json_schema(name: SchemaName, principal: Viewer) -> JSONResponse:
    """The JSON Schema (draft 2020-12) of a dataset spec (``dataset-spec``) or a data contract
    (``data-contract``): every field, its type, default and what it means."""
    return JSONResponse(_schema(name), media_type="application/schema+json")
