"""The API as a real server process: ``api_process`` (`python -m serving`) with an app database of
its own, for schemathesis, load, shutdown and outages; ``served_api`` (`astralytiq serve`) on the
session's platform (same app database, same signing key: the session's tokens work), with some
settings changed."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import httpx

from tests.support import BIN, free_port, start, stop, wait_http

if TYPE_CHECKING:
    from tests.conftest import Platform


@dataclass(frozen=True)
class ApiProcess:
    url: str
    process: subprocess.Popen[bytes]
    data_dir: Path
    log: Path
    env: dict[str, str]

    def token(self, username: str, password: str) -> dict[str, str]:
        response = httpx.post(f"{self.url}/v1/auth/token", data={"username": username, "password": password})
        assert response.status_code == 200, response.text
        return {"Authorization": f"Bearer {response.json()['access_token']}"}


def prepare_database(data_dir: Path, database_url: str = "") -> str:
    """A migrated app database with an admin (password ``admin-password-1``); returns its URL."""
    from astralytiq.accounts import create_user
    from astralytiq.db import upgrade_database

    url = database_url or f"sqlite:///{data_dir / 'app.db'}"
    data_dir.mkdir(parents=True, exist_ok=True)
    upgrade_database(url)
    create_user(url, "admin", "admin-password-1", "admin")
    return url


@contextmanager
def api_process(
    platform: Platform, data_dir: Path, extra_env: dict[str, str] | None = None, port: int = 0
) -> Iterator[ApiProcess]:
    port = port or free_port()
    env = {
        **platform.env,
        "ASTRALYTIQ_DATA_DIR": str(data_dir),
        "ASTRALYTIQ_ALIAS_POLL_SECONDS": "0.5",
        **(extra_env or {}),
    }
    log = data_dir / "api.log"
    process = start([str(BIN / "python"), "-m", "serving", "--port", str(port)], log, env)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_http(f"{url}/healthz", 120, process)
        yield ApiProcess(url, process, data_dir, log, env)
    finally:
        stop(process)


@contextmanager
def served_api(platform: Platform, log_dir: Path, extra_env: dict[str, str] | None = None) -> Iterator[str]:
    """`astralytiq serve` on a free port with the session's settings and ``extra_env``; its URL."""
    port = free_port()
    env = {**platform.env, **(extra_env or {})}
    process = start([str(BIN / "astralytiq"), "serve", "--port", str(port)], log_dir / "api.log", env)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_http(f"{url}/readyz", 120, process)
        yield url
    finally:
        stop(process)
