"""The JSON Schemas of a dataset spec and a data contract, as the API publishes them
(``GET /v1/schemas/{name}``) and editors and the portal's form use them.

The API process does not import this package: it serves the files ``write`` keeps in
``serving/json_schemas/`` (run ``python -m data_contracts.json_schema`` after changing a spec or
contract field; a unit test fails while they differ)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from data_contracts.contract import Contract
from data_contracts.spec import DatasetSpec

SCHEMAS: dict[str, type[BaseModel]] = {"dataset-spec": DatasetSpec, "data-contract": Contract}
FOLDER = Path(__file__).resolve().parents[1] / "serving" / "json_schemas"


def schema(name: str) -> dict[str, Any]:
    model = SCHEMAS[name]
    document = model.model_json_schema(mode="validation")
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": f"/v1/schemas/{name}",
        **document,
    }


def render(name: str) -> str:
    return json.dumps(schema(name), indent=2, sort_keys=True) + "\n"


def write(folder: Path = FOLDER) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name in SCHEMAS:
        path = folder / f"{name}.json"
        path.write_text(render(name), encoding="utf-8")
        written.append(path)
    return written


if __name__ == "__main__":
    for path in write():
        print(path)
