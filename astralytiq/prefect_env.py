"""Point Prefect at AstralytiQ's data folder before Prefect is imported (it reads env at import)."""

from __future__ import annotations

import os

from astralytiq.settings import Settings


def prefect_environment(settings: Settings, api_url: str | None = None) -> dict[str, str]:
    env = {
        "PREFECT_HOME": str(settings.prefect_home),
        # No internet here or in many clusters: never try to send usage telemetry.
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        # The temporary server of a one-off run shares two cores with pandas and friends.
        "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "180",
        "GX_ANALYTICS_ENABLED": "False",
    }
    url = api_url or settings.prefect_api_url
    if url:
        env["PREFECT_API_URL"] = url
    return env


def configure_prefect(settings: Settings, api_url: str | None = None) -> None:
    for key, value in prefect_environment(settings, api_url).items():
        os.environ.setdefault(key, value)
