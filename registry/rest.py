"""A small client of the MLflow tracking server's REST API, on the standard library.

The API process talks to MLflow over HTTP instead of importing the ``mlflow`` package: that
keeps pandas and the MLflow client (hundreds of MB) out of the serving process. Registry calls
are few (an alias poll, a download per new version), so plain ``urllib`` does: no HTTP client
library to import at start-up or keep resident. Credentials, when MLflow requires them, come
from the tracking URI (``https://user:pass@host``) or MLflow's own variables
(``MLFLOW_TRACKING_USERNAME``/``MLFLOW_TRACKING_PASSWORD``, or ``MLFLOW_TRACKING_TOKEN``).
"""

from __future__ import annotations

import base64
import http.client
import json
import logging
import os
import re
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote, urlencode, urlparse, urlunparse

from registry.names import BUNDLE_FILE, CHAMPION

log = logging.getLogger("astralytiq.registry")


def _chunks(handle: Any, size: int) -> Iterator[bytes]:
    with handle:
        while block := handle.read(size):
            yield block


class RegistryError(RuntimeError):
    """MLflow answered with an error or could not be reached."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status  # MLflow's HTTP status, when it answered


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


def _authorization(parsed: Any) -> str | None:
    if parsed.username:
        pair = f"{unquote(parsed.username)}:{unquote(parsed.password or '')}"
        return "Basic " + base64.b64encode(pair.encode()).decode()
    if os.environ.get("MLFLOW_TRACKING_TOKEN"):
        return f"Bearer {os.environ['MLFLOW_TRACKING_TOKEN']}"
    if os.environ.get("MLFLOW_TRACKING_USERNAME"):
        pair = f"{os.environ['MLFLOW_TRACKING_USERNAME']}:{os.environ.get('MLFLOW_TRACKING_PASSWORD', '')}"
        return "Basic " + base64.b64encode(pair.encode()).decode()
    return None


def _missing_alias(code: int, text: str) -> bool:
    return (
        code == 400
        and "INVALID_PARAMETER_VALUE" in text
        and re.search(r"alias \S+ not found", text) is not None
    )


class RegistryClient:
    def __init__(self, tracking_uri: str, timeout: float = 10.0) -> None:
        parsed = urlparse(tracking_uri.rstrip("/"))
        netloc = parsed.hostname or ""
        if parsed.port:
            netloc = f"{netloc}:{parsed.port}"
        self.base = urlunparse(parsed._replace(netloc=netloc))  # shown in errors: no password
        self.timeout = timeout
        self._headers = {"Accept": "application/json"}
        authorization = _authorization(parsed)
        if authorization:
            self._headers["Authorization"] = authorization

    def close(self) -> None:
        """Nothing to release: each call opens and closes its own connection."""

    def _call(
        self, method: str, path: str, query: dict[str, Any] | None, body: dict[str, Any] | None
    ) -> bytes:
        response = self._open(method, path, query, body)
        try:
            with response:
                return response.read()  # type: ignore[no-any-return]
        except (OSError, http.client.HTTPException) as exc:  # cut short while reading
            log.warning("MLflow at %s: reading %s failed: %r", self.base, path, exc)
            raise RegistryError(f"the model registry is unreachable ({exc.__class__.__name__})") from None

    def _open(self, method: str, path: str, query: dict[str, Any] | None, body: dict[str, Any] | None) -> Any:
        """The open response (the caller reads and closes it); errors as NotFound or RegistryError,
        whose messages name no address: they may reach API clients (the log has the address)."""
        url = self.base + path + (f"?{urlencode(query)}" if query else "")
        data = json.dumps(body).encode() if body is not None else None
        headers = {**self._headers, **({"Content-Type": "application/json"} if data else {})}
        request = urllib.request.Request(url, data=data, headers=headers, method=method)
        try:
            return urllib.request.urlopen(request, timeout=self.timeout)
        except urllib.error.HTTPError as exc:
            text = exc.read().decode("utf-8", "replace")
            # MLflow 3 answers 400 INVALID_PARAMETER_VALUE "Registered model alias champion not
            # found" for an alias not set yet: that is "not there", not a registry fault (a 503).
            if exc.code == 404 or "RESOURCE_DOES_NOT_EXIST" in text or _missing_alias(exc.code, text):
                try:
                    raise NotFound(json.loads(text).get("message", path)) from None
                except ValueError:
                    raise NotFound(path) from None
            log.warning("MLflow at %s answered %s to %s: %s", self.base, exc.code, path, text[:500])
            raise RegistryError(f"the model registry answered {exc.code}", exc.code) from None
        except (OSError, http.client.HTTPException) as exc:  # refused, reset, timed out, cut short
            log.warning("MLflow at %s unreachable: %r", self.base, exc)
            raise RegistryError(f"the model registry is unreachable ({exc.__class__.__name__})") from None

    def _get(self, path: str, **params: Any) -> dict[str, Any]:
        content = self._call("GET", path, params, None)
        return json.loads(content) if content else {}

    def _post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        content = self._call("POST", path, None, body)
        return json.loads(content) if content else {}

    def ping(self) -> None:
        self._call("GET", "/health", None, None)

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

    def champion(self, name: str) -> str | None:
        """The champion's version of ``name``; None when it has none (or there is no such model)."""
        try:
            return self.version_by_alias(name, CHAMPION).version
        except NotFound:
            return None

    def versions(self, name: str) -> list[ModelVersion]:
        escaped = name.replace("'", "\\'")
        data = self._get("/api/2.0/mlflow/model-versions/search", filter=f"name='{escaped}'", max_results=200)
        items = [self._version(v) for v in data.get("model_versions", [])]
        if not items:  # an unknown model has no versions (callers treat [] as "not registered")
            return []
        # MLflow's version search leaves each version's aliases out; the registered model has them.
        by_version: dict[str, list[str]] = {}
        for alias, version in self.aliases(name).items():
            by_version.setdefault(version, []).append(alias)
        items = [
            replace(item, aliases=sorted(set(item.aliases) | set(by_version.get(item.version, []))))
            for item in items
        ]
        return sorted(items, key=lambda v: int(v.version), reverse=True)

    def aliases(self, name: str) -> dict[str, str]:
        """Alias -> version of one registered model."""
        data = self._get("/api/2.0/mlflow/registered-models/get", name=name)
        return {a["alias"]: str(a["version"]) for a in data["registered_model"].get("aliases", [])}

    def run_metrics(self, run_id: str) -> dict[str, float]:
        data = self._get("/api/2.0/mlflow/runs/get", run_id=run_id)
        return {m["key"]: float(m["value"]) for m in data["run"]["data"].get("metrics", [])}

    def run_params(self, run_id: str) -> dict[str, str]:
        data = self._get("/api/2.0/mlflow/runs/get", run_id=run_id)
        return {p["key"]: p["value"] for p in data["run"]["data"].get("params", [])}

    def run_tags(self, run_id: str) -> dict[str, str]:
        data = self._get("/api/2.0/mlflow/runs/get", run_id=run_id)
        return {t["key"]: t["value"] for t in data["run"]["data"].get("tags", [])}

    def run_artifact_uri(self, run_id: str) -> str:
        """Where a run's artifacts live (what ``download_artifact`` takes)."""
        data = self._get("/api/2.0/mlflow/runs/get", run_id=run_id)
        return str(data["run"]["info"]["artifact_uri"])

    def set_alias(self, name: str, alias: str, version: str) -> None:
        self._post(
            "/api/2.0/mlflow/registered-models/alias", {"name": name, "alias": alias, "version": version}
        )

    def download_artifact(self, artifact_uri: str, relative: str) -> bytes:
        """A file under an artifact URI (a run's or a model version's), through the server's
        artifact proxy or from a local artifact folder; NotFound when it is not there."""
        return b"".join(self.stream_artifact(artifact_uri, relative))

    def stream_artifact(self, artifact_uri: str, relative: str, chunk: int = 65536) -> Iterator[bytes]:
        """The file's bytes in chunks; opened (and NotFound raised) before the first chunk is asked
        for, so a caller can still answer 404. The path is percent-encoded on its way to MLflow."""
        parsed = urlparse(artifact_uri)
        if parsed.scheme == "mlflow-artifacts":
            path = quote(f"{unquote(parsed.path).lstrip('/')}/{relative}", safe="/")
            try:
                response = self._open("GET", f"/api/2.0/mlflow-artifacts/artifacts/{path}", None, None)
            except RegistryError as exc:
                if exc.status == 400:  # a path the artifact store refuses holds no file
                    raise NotFound(f"no artifact {relative}") from None
                raise
            return _chunks(response, chunk)
        if parsed.scheme in ("", "file"):
            file = Path(unquote(parsed.path)) / relative
            if not file.is_file():
                raise NotFound(f"no artifact {relative}")
            return _chunks(file.open("rb"), chunk)
        raise RegistryError(
            f"artifact store {parsed.scheme!r} is not proxied; run the MLflow server with artifact "
            "serving (the default, `--serve-artifacts`) so the API can fetch artifacts through it"
        )

    def download_bundle(self, name: str, version: str) -> bytes:
        """The bundle file of a model version."""
        uri = self._get("/api/2.0/mlflow/model-versions/get-download-uri", name=name, version=version)[
            "artifact_uri"
        ]
        try:
            return self.download_artifact(uri, BUNDLE_FILE)
        except NotFound:
            raise NotFound(f"{uri} has no {BUNDLE_FILE}; is it an AstralytiQ model?") from None
