"""A small client of the MLflow tracking server's REST API.

The API process talks to MLflow over HTTP instead of importing the ``mlflow`` package: that
keeps pandas and the MLflow client (hundreds of MB) out of the serving process.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlparse

from serving.lean_imports import import_without

if TYPE_CHECKING:
    import httpx
else:
    httpx = import_without("httpx", "httpx._main")  # the library without its command-line client

BUNDLE_FILE = "artifacts/bundle.json"  # where models.flavor stores the bundle in a model


class RegistryError(RuntimeError):
    """MLflow answered with an error or could not be reached."""


class NotFound(RegistryError):
    pass


@dataclass(frozen=True)
class ModelVersion:
    name: str
    version: str
    run_id: str
    source: str
    aliases: list[str] = field(default_factory=list)
    created_ms: int = 0
    tags: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class RegisteredModel:
    name: str
    aliases: dict[str, str]  # alias -> version
    description: str = ""


class RegistryClient:
    def __init__(self, tracking_uri: str, timeout: float = 10.0) -> None:
        self.base = tracking_uri.rstrip("/")
        self._http = httpx.Client(base_url=self.base, timeout=timeout)

    def close(self) -> None:
        self._http.close()

    def _get(self, path: str, **params: Any) -> dict[str, Any]:
        try:
            response = self._http.get(path, params=params)
        except httpx.HTTPError as exc:
            raise RegistryError(f"MLflow at {self.base} unreachable: {exc.__class__.__name__}") from exc
        if response.status_code == 404 or (
            response.status_code == 400 and "RESOURCE_DOES_NOT_EXIST" in response.text
        ):
            raise NotFound(response.json().get("message", response.text) if response.content else path)
        if response.status_code >= 400:
            raise RegistryError(f"MLflow {path} answered {response.status_code}: {response.text[:200]}")
        return response.json() if response.content else {}

    def _post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        try:
            response = self._http.post(path, json=body)
        except httpx.HTTPError as exc:
            raise RegistryError(f"MLflow at {self.base} unreachable: {exc.__class__.__name__}") from exc
        if response.status_code >= 400:
            if "RESOURCE_DOES_NOT_EXIST" in response.text:
                raise NotFound(response.json().get("message", response.text))
            raise RegistryError(f"MLflow {path} answered {response.status_code}: {response.text[:200]}")
        return response.json() if response.content else {}

    def ping(self) -> None:
        try:
            self._http.get("/health").raise_for_status()
        except httpx.HTTPError as exc:
            raise RegistryError(f"MLflow at {self.base} unreachable: {exc.__class__.__name__}") from exc

    def list_models(self) -> list[RegisteredModel]:
        models: list[RegisteredModel] = []
        token: str | None = None
        while True:
            params: dict[str, Any] = {"max_results": 200}
            if token:
                params["page_token"] = token
            page = self._get("/api/2.0/mlflow/registered-models/search", **params)
            for item in page.get("registered_models", []):
                aliases = {a["alias"]: a["version"] for a in item.get("aliases", [])}
                models.append(RegisteredModel(item["name"], aliases, item.get("description", "")))
            token = page.get("next_page_token")
            if not token:
                return models

    @staticmethod
    def _version(item: dict[str, Any]) -> ModelVersion:
        return ModelVersion(
            name=item["name"],
            version=str(item["version"]),
            run_id=item.get("run_id", ""),
            source=item.get("source", ""),
            aliases=list(item.get("aliases", [])),
            created_ms=int(item.get("creation_timestamp", 0)),
            tags={t["key"]: t["value"] for t in item.get("tags", [])},
        )

    def version(self, name: str, version: str) -> ModelVersion:
        data = self._get("/api/2.0/mlflow/model-versions/get", name=name, version=version)
        return self._version(data["model_version"])

    def version_by_alias(self, name: str, alias: str) -> ModelVersion:
        data = self._get("/api/2.0/mlflow/registered-models/alias", name=name, alias=alias)
        return self._version(data["model_version"])

    def versions(self, name: str) -> list[ModelVersion]:
        escaped = name.replace("'", "\\'")
        data = self._get("/api/2.0/mlflow/model-versions/search", filter=f"name='{escaped}'", max_results=200)
        items = [self._version(v) for v in data.get("model_versions", [])]
        return sorted(items, key=lambda v: int(v.version), reverse=True)

    def run_metrics(self, run_id: str) -> dict[str, float]:
        data = self._get("/api/2.0/mlflow/runs/get", run_id=run_id)
        return {m["key"]: float(m["value"]) for m in data["run"]["data"].get("metrics", [])}

    def run_params(self, run_id: str) -> dict[str, str]:
        data = self._get("/api/2.0/mlflow/runs/get", run_id=run_id)
        return {p["key"]: p["value"] for p in data["run"]["data"].get("params", [])}

    def run_tags(self, run_id: str) -> dict[str, str]:
        data = self._get("/api/2.0/mlflow/runs/get", run_id=run_id)
        return {t["key"]: t["value"] for t in data["run"]["data"].get("tags", [])}

    def set_alias(self, name: str, alias: str, version: str) -> None:
        self._post(
            "/api/2.0/mlflow/registered-models/alias", {"name": name, "alias": alias, "version": version}
        )

    def set_version_tag(self, name: str, version: str, key: str, value: str) -> None:
        self._post(
            "/api/2.0/mlflow/model-versions/set-tag",
            {"name": name, "version": version, "key": key, "value": value},
        )

    def download_bundle(self, name: str, version: str) -> bytes:
        """The bundle file of a model version, through the server's artifact proxy."""
        uri = self._get("/api/2.0/mlflow/model-versions/get-download-uri", name=name, version=version)[
            "artifact_uri"
        ]
        parsed = urlparse(uri)
        if parsed.scheme == "mlflow-artifacts":
            path = f"/api/2.0/mlflow-artifacts/artifacts/{parsed.path.lstrip('/')}/{BUNDLE_FILE}"
            try:
                response = self._http.get(path)
            except httpx.HTTPError as exc:
                raise RegistryError(f"cannot download {uri}: {exc.__class__.__name__}") from exc
            if response.status_code >= 400:
                raise RegistryError(f"cannot download {uri}/{BUNDLE_FILE}: HTTP {response.status_code}")
            return response.content
        if parsed.scheme in ("", "file"):
            return (Path(unquote(parsed.path)) / BUNDLE_FILE).read_bytes()
        raise RegistryError(
            f"artifact store {parsed.scheme!r} is not proxied; run the MLflow server with artifact "
            "serving (the default, `--serve-artifacts`) so the API can fetch models through it"
        )
