"""The portal's only way to the platform: a typed client of the prediction API."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import httpx


class ApiUnavailable(RuntimeError):
    """The API cannot be reached or failed; the message is fit to show a person."""


class SessionExpired(RuntimeError):
    """The token was refused: the person must log in again."""


class ApiRejected(RuntimeError):
    """The API refused the request (4xx); the message is its explanation."""


@dataclass(frozen=True)
class Session:
    token: str
    username: str
    role: str
    expires_at: datetime


class ApiClient:
    def __init__(self, base_url: str, token: str | None = None, timeout: float = 15.0) -> None:
        self.base_url = base_url.rstrip("/")
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self._http = httpx.Client(base_url=self.base_url, headers=headers, timeout=timeout)

    def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        try:
            response = self._http.request(method, path, **kwargs)
        except httpx.HTTPError as exc:
            raise ApiUnavailable(
                f"The API at {self.base_url} is not reachable ({exc.__class__.__name__})."
            ) from None
        if response.status_code == 401:
            raise SessionExpired("Your session has expired or is invalid. Please log in again.")
        if response.status_code >= 500:
            raise ApiUnavailable(f"The API failed ({response.status_code}). Try again in a moment.")
        if response.status_code >= 400:
            detail = (
                response.json().get("detail")
                if response.headers.get("content-type", "").startswith("application/json")
                else response.text
            )
            raise ApiRejected(detail if isinstance(detail, str) else str(detail))
        if response.headers.get("content-type", "").startswith("application/json"):
            return response.json()
        return response.text

    def login(self, username: str, password: str) -> Session:
        try:
            response = self._http.post("/v1/auth/token", data={"username": username, "password": password})
        except httpx.HTTPError as exc:
            raise ApiUnavailable(
                f"The API at {self.base_url} is not reachable ({exc.__class__.__name__})."
            ) from None
        if response.status_code == 401:
            raise ApiRejected("Incorrect username or password.")
        if response.status_code >= 400:
            raise ApiUnavailable(f"Login failed ({response.status_code}).")
        body = response.json()
        return Session(
            body["access_token"], username, body["role"], datetime.fromisoformat(body["expires_at"])
        )

    def models(self) -> list[dict[str, Any]]:
        return self._call("GET", "/v1/models")  # type: ignore[no-any-return]

    def model(self, name: str) -> dict[str, Any]:
        return self._call("GET", f"/v1/models/{name}")  # type: ignore[no-any-return]

    def series(self, model: str) -> list[str]:
        return self._call("GET", f"/v1/models/{model}/series")  # type: ignore[no-any-return]

    def forecast(
        self, model: str, series_ids: list[str], horizon: int, levels: list[float]
    ) -> dict[str, Any]:
        body = {"series_ids": series_ids, "horizon": horizon, "levels": levels, "include_history": True}
        return self._call("POST", f"/v1/models/{model}/forecast", json=body)  # type: ignore[no-any-return]

    def drift(self, model: str) -> dict[str, Any]:
        return self._call("GET", f"/v1/models/{model}/drift")  # type: ignore[no-any-return]

    def drift_report_html(self, model: str, report_id: int) -> str:
        return self._call("GET", f"/v1/models/{model}/drift/{report_id}/html")  # type: ignore[no-any-return]

    def ready(self) -> dict[str, Any]:
        try:
            return self._http.get("/readyz").json()  # type: ignore[no-any-return]
        except (httpx.HTTPError, ValueError):
            return {"status": "unreachable"}
