"""The framework's floor for `benchmarks.serving`: a bare FastAPI app with the API's two forecast
routes, that parses the same JSON bodies into models of the same fields and answers each with a
constant body the size of the API's own answer. Nothing else: no auth, no limits, no metrics.

    SERVING_FLOOR_FORECAST=answer.json SERVING_FLOOR_BATCH=batch.json \\
        python -m uvicorn benchmarks.serving_floor:app --http httptools

Whatever the API costs above this app's requests/s (same uvicorn, same protocol, same process
count, same load generator) is the API's own per-request work.
"""

from __future__ import annotations

import os
from pathlib import Path

from fastapi import FastAPI, Response
from pydantic import BaseModel

FORECAST_ANSWER = Path(os.environ["SERVING_FLOOR_FORECAST"]).read_bytes()
BATCH_ANSWER = Path(os.environ["SERVING_FLOOR_BATCH"]).read_bytes()


class ForecastRequest(BaseModel):
    series_ids: list[str]
    horizon: int
    levels: list[float] = [80.0, 95.0]
    include_history: bool = False


class BatchItem(ForecastRequest):
    model: str


class BatchForecastRequest(BaseModel):
    requests: list[BatchItem]


app = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)


@app.post("/v1/models/{name}/forecast")
async def forecast(name: str, body: ForecastRequest) -> Response:
    return Response(FORECAST_ANSWER, media_type="application/json")


@app.post("/v1/forecasts")
async def batch_forecast(body: BatchForecastRequest) -> Response:
    return Response(BATCH_ANSWER, media_type="application/json")
